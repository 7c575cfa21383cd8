"""Run a lab pod's process with its ServiceAccount where a pod finds it (root; lab_pods.py uses it).

    ip netns exec NETNS python3 pod_exec.py -- COMMAND [ARGS...]   (stdin: {"token": ..., "ca.crt": ..., "namespace": ...})

A kubelet mounts the ServiceAccount token, the cluster CA and the namespace at
``/var/run/secrets/kubernetes.io/serviceaccount``; client-go's in-cluster config reads
them there (with ``KUBERNETES_SERVICE_HOST``/``_PORT`` from the environment). This does
the same for a process on the lab host, without a file anyone else can read: it enters a
mount namespace of its own (private: nothing propagates back to the host), mounts an
empty tmpfs over ``/run`` (``/var/run``), writes the files read from stdin (0600) there,
then execs COMMAND. Only this process sees them (and root, through ``/proc/PID/root``,
which is how lab_pods.py puts a refreshed token in place). Stdlib only.
"""
import ctypes
import json
import os
import sys

CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE = 0x4000, 1 << 18
SECRETS = "/var/run/secrets/kubernetes.io/serviceaccount"
RUN = os.path.realpath("/var/run")  # /run: the tmpfs goes there
#: SECRETS without the /var/run symlink: through /proc/PID/root an absolute symlink would lead back to the host
REAL_SECRETS = os.path.join(RUN, os.path.relpath(SECRETS, "/var/run"))
FILES = ("token", "ca.crt", "namespace")


def _check(rc, what):
    if rc != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "%s: %s" % (what, os.strerror(errno)))


def private_secrets(files):
    """A private mount namespace whose /run holds only the ServiceAccount folder with ``files``."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    _check(libc.mount(b"tmpfs", RUN.encode(), b"tmpfs", 0, b"mode=0755,size=1m"), "mount a tmpfs on " + RUN)
    os.makedirs(SECRETS, mode=0o700)
    for name in FILES:
        fd = os.open(os.path.join(SECRETS, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(files[name])


def main(argv):
    if len(argv) < 2 or argv[0] != "--":
        raise SystemExit("usage: pod_exec.py -- COMMAND [ARGS...]  (the ServiceAccount files as JSON on stdin)")
    files = json.loads(sys.stdin.read())
    missing = [name for name in FILES if not isinstance(files.get(name), str)]
    if missing:
        raise SystemExit("pod_exec: stdin lacks %s" % ", ".join(missing))
    private_secrets(files)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.execv(argv[1], argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
