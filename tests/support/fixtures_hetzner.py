"""Fixtures of the Hetzner area: the API simulator, a real sshd playing the rescue
system, and a loopback stand-in for the Image Factory download."""
import functools
import http.server
import lzma
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from tests.conftest import require_tool, spec_path
from tests.support.openapi import load_spec
from tests.support.sim.hetzner import KNOWN_DEFECTS, SPEC, HetznerSim

TOKEN = "hcloud-test-token-0123456789abcdef"
SCHEMATIC = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"
TALOS_VERSION = "v1.13.9"


@pytest.fixture
def hetzner_sim():
    """A fresh simulator per test; any request or response off the spec fails the test at teardown."""
    spec = load_spec(spec_path(*SPEC), "/v1", KNOWN_DEFECTS)
    with HetznerSim(spec, token=TOKEN, action_delay=0.05) as sim:
        yield sim
    sim.assert_clean()


@pytest.fixture
def hetzner_provider(hetzner_sim):
    from ansible_collections.talos.autoextender.plugins.module_utils._providers.hetzner import HetznerProvider
    return HetznerProvider({"api_token": TOKEN}, {"api_url": hetzner_sim.url, "api_timeout": 20, "cleanup_timeout": 20})


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RescueSshd:
    """A real OpenSSH server on loopback that accepts exactly the keys the
    simulator injected at the last rescue boot (like the Hetzner rescue system)."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.port = _free_port()
        self.authorized_keys = os.path.join(workdir, "authorized_keys")
        self.host_key = os.path.join(workdir, "ssh_host_ed25519_key")
        self.user = os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True, text=True,
                                                             check=True).stdout.strip()
        self.proc = None

    def start(self):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.host_key], check=True)
        open(self.authorized_keys, "w").close()
        config = os.path.join(self.workdir, "sshd_config")
        with open(config, "w") as f:
            f.write("\n".join([
                "Port %d" % self.port, "ListenAddress 127.0.0.1", "HostKey " + self.host_key,
                "AuthorizedKeysFile " + self.authorized_keys, "PidFile " + os.path.join(self.workdir, "sshd.pid"),
                "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password", "PubkeyAuthentication yes", "LogLevel VERBOSE", ""]))
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        self.log = open(os.path.join(self.workdir, "sshd.log"), "w")
        self.proc = subprocess.Popen([shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-e", "-f", config],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sshd exited: %s" % open(self.log.name).read())
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("sshd did not listen: %s" % open(self.log.name).read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()

    def on_boot(self, server, rescue, public_keys):
        """Simulator hook: a rescue boot accepts the injected keys; any other boot ends the rescue system."""
        with open(self.authorized_keys, "w") as f:
            f.write("".join(k + "\n" for k in public_keys) if rescue else "")


@pytest.fixture
def rescue_sshd(hetzner_sim):
    """Servers of the simulator get 127.0.0.1 as public IPv4; their rescue system is this sshd."""
    require_tool("sshd")
    workdir = tempfile.mkdtemp(prefix="autoextender-sshd-")
    sshd = RescueSshd(workdir).start()
    hetzner_sim.ipv4_override = "127.0.0.1"
    hetzner_sim.on_boot.append(sshd.on_boot)
    try:
        yield sshd
    finally:
        sshd.stop()
        shutil.rmtree(workdir, ignore_errors=True)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def image_factory(tmp_path):
    """A loopback stand-in for factory.talos.dev serving one small hcloud-amd64.raw.xz."""
    raw = b"".join(b"talos-disk-block-%08d\n" % i for i in range(40000))  # ~1 MiB, not all zeros
    target = tmp_path / "factory" / "image" / SCHEMATIC / TALOS_VERSION
    target.mkdir(parents=True)
    (target / "hcloud-amd64.raw.xz").write_bytes(lzma.compress(raw, format=lzma.FORMAT_XZ))
    handler = functools.partial(_Quiet, directory=str(tmp_path / "factory"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/image/%s/%s/hcloud-amd64.raw.xz" % (server.server_address[1], SCHEMATIC, TALOS_VERSION)
    try:
        yield {"url": url, "raw": raw}
    finally:
        server.shutdown()
        server.server_close()
