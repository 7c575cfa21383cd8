"""Run ``ip``, ``wg`` and friends, start detached processes in a namespace, stop them by pid."""
import os
import shutil
import signal
import subprocess
import time

from ..tools import search_path

TOOLS = ("ip", "wg", "wireguard-go", "traefik", "nft")


class LabnetError(RuntimeError):
    """A lab network step failed; the message names the command and its output."""


def which(name):
    return shutil.which(name, path=search_path())


def missing():
    """Why the real data path cannot be built here (an empty list when it can)."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("needs root (network namespaces, veth, a bridge): running as uid %d" % os.geteuid())
    if not os.path.exists("/dev/net/tun"):
        reasons.append("/dev/net/tun is missing (wireguard-go needs a TUN device)")
    reasons.extend("%s is not installed" % name for name in TOOLS if not which(name))
    return reasons


def run(argv, check=True, input_text=None, timeout=60):
    """Run one command (argv list); return its stdout. Errors carry the command, rc and stderr."""
    exe = which(argv[0]) or argv[0]
    try:
        proc = subprocess.run([exe] + list(argv[1:]), capture_output=True, text=True, input=input_text,
                              timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabnetError("%s: %s" % (" ".join(argv), exc))
    if check and proc.returncode != 0:
        output = (proc.stderr or proc.stdout).strip()[-2000:]
        raise LabnetError("%s failed (rc=%d): %s" % (" ".join(argv), proc.returncode, output))
    return proc.stdout


def ns_argv(netns, argv):
    """The argv that runs ``argv`` inside network namespace ``netns``."""
    return ["ip", "netns", "exec", netns] + list(argv)


def spawn(netns, argv, log_path, env=None):
    """Start a long-lived process inside ``netns``, detached (own session), output to ``log_path``."""
    full = [which("ip"), "netns", "exec", netns] + [which(argv[0]) or argv[0]] + list(argv[1:])
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(full, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=dict(os.environ, **(env or {})), start_new_session=True)
    return proc.pid


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return False


def reap(pid):
    """Collect an exited child of ours (no zombie); harmless for other processes."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop_pids(pids, grace=5.0):
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL what is left."""
    pids = [p for p in pids if p != os.getpid()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while pids and time.monotonic() < deadline:
            for pid in pids:
                reap(pid)
            pids = [p for p in pids if alive(p)]
            time.sleep(0.05)
        if not pids:
            return
    for pid in pids:
        reap(pid)


def wait_for(check, timeout, what, log_path=None):
    """Poll ``check()`` until it returns a true value; raise LabnetError naming ``what`` (and the log)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = "; log %s:\n%s" % (log_path, log_tail(log_path)) if log_path else ""
            raise LabnetError("timed out after %.0fs waiting for %s%s" % (timeout, what, tail))
        time.sleep(0.05)


def log_tail(path, size=2000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"


def write_private(path, text):
    """Write ``path`` (0600) atomically: a reader (the lab cloud attaching to the state) never sees half of it."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
