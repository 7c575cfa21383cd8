"""The Talos machine API of lab servers: one ``talos-api-sim`` process per machine (docs/lab.md).

The simulator (hack/talos-api-sim, the contract in docs/lab.md) is a Talos node as
talosctl sees it: maintenance mode, apply-config, reboot, mTLS, reset; it registers
its Node and keeps it Ready itself. This module only starts, watches and stops it:

- ``Machine(binary, state_dir, ...)``: one machine whose "disk" is ``state_dir`` (0700):
  ``config.yaml`` (written by apply-config; present => it boots configured),
  ``status.json`` (its stage, rewritten by the simulator), ``server.log`` (its output),
  ``user-data.yaml`` (0600, the cloud user data it boots from) and ``pid``;
- a worker's API certificate is signed by trustd on the control plane: the lab's
  stand-in is the cluster's secrets bundle (``trustd``), which the simulator uses only
  for a config of that cluster (its CA and token);
- as root with the lab network, it runs inside the server's namespace
  (``ip netns exec``), so it listens on the server's public address and ``wg show`` sees
  the server's WireGuard link;
- without it, it listens on a loopback address of the lab's own block
  (``LoopbackBlock``): the port is always 50000 (talosctl's), so every lab cloud
  claims a /20 of 127.0.0.0/8 of its own.

Loopback blocks: block ``n`` (0 .. 3839) is ``127.(16 + n // 16).(16 * (n % 16)).0/20``,
from 127.16.0.0/20 on (127.0-15.x.x, with 127.0.0.1 and Debian's 127.0.1.1, are never
used); servers get its addresses from .1 on (4093 of them), the lab's home node the last
one. A lab claims the first block
whose lock file (``/run/lock/autoextender-lab-loopback-<n>.lock``, else in the temp
dir) it can ``flock``; the lock goes to every simulator it starts (an inherited file
descriptor), so the block stays claimed while anything still listens on it, and the
kernel releases it when the last of them exits: no collision between pytest-xdist
workers or labs, and nothing to clean up after a crash.
"""
import contextlib
import fcntl
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from ..labnet import _run
from ..labnet import netns as labnet_netns

PORT = 50000
BLOCKS = 240 * 16


def lock_dir():
    return "/run/lock" if os.access("/run/lock", os.W_OK) else tempfile.gettempdir()


def block_network(number):
    return ipaddress.ip_network("127.%d.%d.0/20" % (16 + number // 16, 16 * (number % 16)))


class LoopbackBlock:
    """A /20 of loopback addresses held by a ``flock`` (see the module docstring)."""

    def __init__(self, number, fd):
        self.number = number
        self.fd = fd
        self.network = block_network(number)

    @classmethod
    def claim(cls, preferred=None):
        """The block ``preferred`` (a lab restarting on its kept servers) or the first free one."""
        order = ([preferred] if preferred is not None else []) + [n for n in range(BLOCKS) if n != preferred]
        for number in order:
            path = os.path.join(lock_dir(), "autoextender-lab-loopback-%d.lock" % number)
            fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                if number == preferred:
                    raise RuntimeError("the lab's loopback block %s is claimed by another lab (or by machines of "
                                       "this one left running); stop them first" % block_network(number))
                continue
            return cls(number, fd)
        raise RuntimeError("no free loopback block left (%d labs run on this machine)" % BLOCKS)

    @property
    def servers(self):
        """How many server addresses the block has (hosts 1 .. servers)."""
        return self.network.num_addresses - 3

    def address(self, host):
        """Server address number ``host`` (1 .. servers) of the block."""
        if not 1 <= host <= self.servers:
            raise ValueError("host %d outside 1..%d of %s" % (host, self.servers, self.network))
        return str(self.network.network_address + host)

    def home_address(self):
        """The lab's home node: the block's last address."""
        return str(self.network.broadcast_address - 1)

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def alive(pid):
    """True while ``pid`` runs (a zombie child of ours counts as gone; it is reaped)."""
    _run.reap(pid)
    return _run.alive(pid)


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().decode("utf-8", "replace").split("\0")
    except OSError:
        return []


def write_private(path, text):
    """Write ``text`` to ``path`` (0600) atomically."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def log_tail(path, lines=8, size=4000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:]) or "(empty log)"


class Machine:
    """One talos-api-sim. Nothing runs until ``start()``; ``state_dir`` is the machine's disk."""

    def __init__(self, binary, state_dir, addresses, hostname, netns=None, kubeconfig=None, reboot_seconds=1.0,
                 wg_interface=None, peers=None, trustd=None, keep_fds=()):
        self.binary = binary
        self.state_dir = state_dir
        self.addresses = [a for a in addresses if a]
        self.hostname = hostname
        self.netns = netns
        self.kubeconfig = kubeconfig
        self.reboot_seconds = reboot_seconds
        self.wg_interface = wg_interface
        self.peers = peers
        self.trustd = trustd
        self.keep_fds = tuple(fd for fd in keep_fds if fd is not None)
        self.proc = None  # the simulator this object started (a leftover is found through the pid file)

    @property
    def log(self):
        return os.path.join(self.state_dir, "server.log")

    @property
    def pid_file(self):
        return os.path.join(self.state_dir, "pid")

    @property
    def user_data_file(self):
        return os.path.join(self.state_dir, "user-data.yaml")

    def argv(self, user_data):
        argv = [self.binary, "--state-dir", self.state_dir, "--port", str(PORT), "--hostname", self.hostname,
                "--reboot-seconds", str(self.reboot_seconds)]
        for address in self.addresses:
            argv += ["--listen", address]
        if user_data is not None:
            argv += ["--user-data", self.user_data_file]
        for flag, value in (("--kubeconfig", self.kubeconfig), ("--wg-interface", self.wg_interface),
                            ("--peers", self.peers), ("--trustd", self.trustd)):
            if value:
                argv += [flag, value]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns] + argv
        return argv

    def start(self, user_data=None):
        """Power on: start the simulator (after stopping one a crashed lab left running); returns its pid."""
        if not self.binary:
            raise RuntimeError("talos-api-sim is not installed (run `make tools`): the lab has no machine API")
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        os.chmod(self.state_dir, 0o700)
        self.stop(keep_disk=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.state_dir, "status.json"))  # a status of the previous boot
        if user_data is not None:
            write_private(self.user_data_file, user_data)
        with open(self.log, "ab") as log:
            log.write(b"--- power on %s\n" % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()).encode())
            proc = subprocess.Popen(self.argv(user_data), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, pass_fds=self.keep_fds)
        write_private(self.pid_file, str(proc.pid))
        self.proc = proc
        return proc.pid

    def pid(self):
        """The pid of this machine's simulator while it runs, else None.

        One of ours: from its Popen; a leftover of a crashed lab: from the pid file, checked
        against its command line (a pid can be reused)."""
        if self.proc is not None:
            return self.proc.pid if self.proc.poll() is None else None
        try:
            with open(self.pid_file) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        return pid if alive(pid) and self.state_dir in _cmdline(pid) else None

    def status(self):
        """The simulator's status.json (a dict), or None before it wrote one."""
        try:
            with open(os.path.join(self.state_dir, "status.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def stop(self, keep_disk=True, grace=10.0):
        """Power off (SIGTERM, then SIGKILL after ``grace`` s); without ``keep_disk`` the disk goes too."""
        pid = self.pid()
        if pid is not None:
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, sig)  # ip netns exec execs the simulator: one process group either way
                deadline = time.monotonic() + wait
                while self.pid() is not None and time.monotonic() < deadline:
                    time.sleep(0.05)
                if self.pid() is None:
                    break
        if self.proc is not None:
            self.proc.poll()
            self.proc = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.pid_file)
        if not keep_disk:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def kill(self):
        """SIGKILL the simulator (a machine that hangs or loses power without the cloud knowing)."""
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while self.pid() is not None and time.monotonic() < deadline:
                time.sleep(0.02)
        return pid

    def tail(self):
        return log_tail(self.log)


class LoopbackRelay:
    """The host's ``127.0.0.1:port`` (the lab's kube-apiserver) inside network namespaces.

    A machine in a server's namespace (root lab) registers its Node with a kubeconfig that
    names ``https://127.0.0.1:PORT``, but 127.0.0.1 in its namespace is its own. ``add(netns)``
    opens a listening socket on 127.0.0.1:PORT inside ``netns`` (from a thread that ``setns``
    into it: a socket stays in the namespace it was made in) and relays each connection to the
    host's 127.0.0.1:PORT. TLS passes through untouched, so the apiserver's certificate holds.
    """

    def __init__(self, port):
        self.port = port
        self.listeners = {}  # netns -> listening socket

    def _listen_in(self, netns):
        def listen():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            sock.listen(16)
            return sock
        return labnet_netns.socket_in(netns, listen)

    def add(self, netns):
        if netns in self.listeners:
            return
        sock = self.listeners[netns] = self._listen_in(netns)
        threading.Thread(target=self._accept, args=(sock,), name="relay-" + netns, daemon=True).start()

    def remove(self, netns):
        sock = self.listeners.pop(netns, None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self):
        for netns in list(self.listeners):
            self.remove(netns)

    def _accept(self, sock):
        while True:
            try:
                conn, dummy = sock.accept()
            except OSError:
                return  # removed
            try:
                upstream = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            except OSError:
                conn.close()
                continue
            upstream.settimeout(None)
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
