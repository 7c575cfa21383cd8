"""Start a real server as a child process, wait for it, and always stop it.

A server that does not become ready in time fails the test with the tail of
its log, so a broken fixture says why instead of timing out silently.
"""
import os
import signal
import socket
import subprocess
import time


def free_port(host="127.0.0.1", kind=socket.SOCK_STREAM):
    """A port that is free for both TCP and UDP right now (DNS servers use both)."""
    for dummy in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind((host, 0))
            port = t.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")


def tcp_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class ServerFailed(RuntimeError):
    pass


class ManagedProcess:
    """One server process with its log file; a context manager."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.proc = None

    def start(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=self.env, cwd=self.cwd, start_new_session=True)
        return self

    def log_tail(self, lines=60):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def wait_ready(self, probe, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerFailed("%s exited with %s during start; its log:\n%s"
                                   % (self.name, self.proc.returncode, self.log_tail()))
            try:
                if probe():
                    return
            except Exception:  # noqa: BLE001 - a probe error only means "not yet"
                pass
            time.sleep(0.2)
        raise ServerFailed("%s not ready after %.0fs; its log:\n%s" % (self.name, timeout, self.log_tail()))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
