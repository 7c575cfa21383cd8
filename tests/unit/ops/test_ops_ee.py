"""The execution environment: the tool installer refuses files whose SHA-256 sum does not match (run
for real against release files served on loopback), and ansible-builder accepts the definitions."""
import functools
import hashlib
import http.server
import importlib.util
import io
import os
import re
import shutil
import subprocess
import tarfile
import threading

import pytest
import yaml

from tests.unit.ops.recipes import REPO

INSTALL = os.path.join(REPO, "extras", "ee", "install_tools.sh")
EE = os.path.join(REPO, "extras", "ee", "execution-environment.yml")


def _pins():
    spec = importlib.util.spec_from_file_location("build_go_tools", os.path.join(REPO, "hack", "build_go_tools.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TOOLS["talosctl"]["version"], module.TOOLS["talosctl-1.13"]["version"], module.TOOLS["helm"]["version"]


class Releases:
    """Release files laid out as the Talos and Helm projects publish them, served on 127.0.0.1."""

    def __init__(self, root):
        self.root = root
        self.talosctls = {v: b"#!/bin/sh\necho 'Client: Talos %s'\n" % v.encode() for v in ("v1.14.1", "v1.13.9")}
        self.talosctl = self.talosctls["v1.14.1"]
        self.helm = b"#!/bin/sh\necho v4.3.1\n"
        for version, exe in self.talosctls.items():
            talos_dir = os.path.join(root, "talos", version)
            os.makedirs(talos_dir)
            self.write(os.path.join(talos_dir, "talosctl-linux-amd64"), exe)
            self.write(os.path.join(talos_dir, "sha256sum.txt"), (
                "%s  talosctl-darwin-amd64\n%s  talosctl-linux-amd64\n"
                % ("0" * 64, hashlib.sha256(exe).hexdigest())).encode())
        os.makedirs(os.path.join(root, "helm"))
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            info = tarfile.TarInfo("linux-amd64/helm")
            info.size, info.mode = len(self.helm), 0o755
            tar.addfile(info, io.BytesIO(self.helm))
        self.helm_tgz = buf.getvalue()
        self.write(os.path.join(root, "helm", "helm-v4.3.1-linux-amd64.tar.gz"), self.helm_tgz)
        self.write(os.path.join(root, "helm", "helm-v4.3.1-linux-amd64.tar.gz.sha256sum"),
                   ("%s  helm-v4.3.1-linux-amd64.tar.gz\n" % hashlib.sha256(self.helm_tgz).hexdigest()).encode())

    @staticmethod
    def write(path, data):
        with open(path, "wb") as f:
            f.write(data)


@pytest.fixture
def releases(tmp_path):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed (install_tools.sh downloads with curl)")
    rel = Releases(str(tmp_path / "www"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=rel.root)
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    rel.url = "http://127.0.0.1:%d" % server.server_address[1]
    yield rel
    server.shutdown()
    server.server_close()


def install(releases, dest, **env):
    full = {"PATH": os.environ["PATH"], "ARCH": "amd64", "TALOS_RELEASES_URL": releases.url + "/talos",
            "HELM_RELEASES_URL": releases.url + "/helm"}
    full.update(env)
    return subprocess.run(["sh", INSTALL, str(dest)], env=full, capture_output=True, text=True, timeout=60, check=False)


def test_installs_both_tools_when_the_published_sums_match(releases, tmp_path):
    proc = install(releases, tmp_path / "bin")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "bin" / "talosctl").read_bytes() == releases.talosctls["v1.14.1"]
    assert (tmp_path / "bin" / "talosctl-1.13").read_bytes() == releases.talosctls["v1.13.9"]
    assert (tmp_path / "bin" / "helm").read_bytes() == releases.helm
    assert os.access(tmp_path / "bin" / "talosctl", os.X_OK)
    assert "no pin set" in proc.stdout


def test_a_tampered_download_is_refused_and_nothing_is_installed(releases, tmp_path):
    Releases.write(os.path.join(releases.root, "talos", "v1.13.9", "talosctl-linux-amd64"), b"evil")  # the 1.13 one
    proc = install(releases, tmp_path / "bin")
    assert proc.returncode != 0
    assert "the release publishes" in proc.stderr
    assert not (tmp_path / "bin").exists()


def test_a_pinned_sum_must_match_too(releases, tmp_path):
    proc = install(releases, tmp_path / "bin", TALOSCTL_SHA256="1" * 64)
    assert proc.returncode != 0 and "pinned" in proc.stderr
    good = hashlib.sha256(releases.talosctl).hexdigest()
    helm = hashlib.sha256(releases.helm_tgz).hexdigest()
    old = hashlib.sha256(releases.talosctls["v1.13.9"]).hexdigest()
    proc = install(releases, tmp_path / "bin", TALOSCTL_SHA256=good, TALOSCTL_1_13_SHA256=old, HELM_SHA256=helm)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("matches the pinned sum") == 3


def test_a_file_missing_from_the_checksum_list_is_refused(releases, tmp_path):
    Releases.write(os.path.join(releases.root, "talos", "v1.13.9", "sha256sum.txt"), b"%s  other\n" % (b"0" * 64))
    proc = install(releases, tmp_path / "bin")
    assert proc.returncode != 0 and "not in the published checksum list" in proc.stderr


def test_a_missing_release_fails_clearly(releases, tmp_path):
    proc = install(releases, tmp_path / "bin", TALOSCTL_VERSION="v9.9.9")
    assert proc.returncode != 0 and "cannot download" in proc.stderr


def test_versions_match_what_the_tests_run_with():
    with open(EE) as f:
        ee = yaml.safe_load(f)
    talos, talos_1_13, helm = _pins()
    steps = "\n".join(ee["additional_build_steps"]["append_final"])
    assert "ARG TALOSCTL_VERSION=%s\n" % talos in steps + "\n"
    assert "ARG TALOSCTL_1_13_VERSION=%s\n" % talos_1_13 in steps + "\n"
    assert "ARG HELM_VERSION=%s\n" % helm in steps + "\n"
    with open(INSTALL) as f:
        script = f.read()
    assert "TALOSCTL_VERSION:-%s}" % talos in script and "HELM_VERSION:-%s}" % helm in script
    assert "TALOSCTL_1_13_VERSION-%s}" % talos_1_13 in script
    with open(os.path.join(REPO, "requirements-dev.txt")) as f:
        core = re.search(r"^ansible-core==\S+", f.read(), re.M).group(0)
    assert ee["dependencies"]["ansible_core"]["package_pip"] == core


def test_collection_metadata_names_the_runtime_requirements():
    """meta/execution-environment.yml is what ansible-builder's introspection reads from an installed collection."""
    with open(os.path.join(REPO, "meta", "execution-environment.yml")) as f:
        meta = yaml.safe_load(f)
    for key, name in (("python", "requirements.txt"), ("system", "bindep.txt")):
        assert meta["dependencies"][key] == name
        assert os.path.isfile(os.path.join(REPO, name))


def _ansible_builder():
    found = os.environ.get("ANSIBLE_BUILDER") or shutil.which("ansible-builder")
    if not found:
        pytest.skip("ansible-builder is not installed (pip install ansible-builder; see docs/operations.md)")
    return found


def test_ansible_builder_accepts_the_definition_and_writes_the_tool_step(tmp_path):
    builder = _ansible_builder()
    env = dict(os.environ, ONLY_CREATE="1", WORK_DIR=str(tmp_path),
               PATH=os.path.dirname(builder) + os.pathsep + os.environ["PATH"])
    proc = subprocess.run(["sh", os.path.join(REPO, "extras", "ee", "build.sh")], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Found USER directive" not in proc.stdout + proc.stderr
    context = tmp_path / "context"
    with open(context / "Dockerfile") as f:
        dockerfile = f.read()
    final = dockerfile.split("FROM base AS final")[1]
    assert "install_tools.sh /usr/local/bin" in final
    assert final.index("install_tools.sh /usr/local/bin") < final.index("USER 1000")
    assert (context / "_build" / "collection" / "talos-autoextender.tar.gz").is_file()
    assert (context / "_build" / "tools" / "install_tools.sh").is_file()
    with open(context / "_build" / "requirements.yml") as f:
        galaxy = yaml.safe_load(f)
    assert {"name": "/build/collection/talos-autoextender.tar.gz", "type": "file"} in galaxy["collections"]


def test_ansible_builder_introspection_finds_our_requirements(tmp_path):
    builder = _ansible_builder()
    proc = subprocess.run([builder, "introspect", "--sanitize", os.path.join(REPO, ".cache", "collections")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(REPO, "requirements.txt")) as f:
        wanted = [line.split("==")[0] for line in f if line.strip() and not line.startswith("#")]
    for name in wanted:
        if name.lower() == "pyyaml":
            continue  # ansible-builder leaves it to ansible-core
        assert re.search(r"^- '%s==" % re.escape(name), proc.stdout, re.M), name
    assert "bind9-dnsutils [platform:dpkg]" in proc.stdout
