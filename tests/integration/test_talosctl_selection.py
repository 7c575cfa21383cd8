"""Which talosctl: the modules run the talosctl of the home cluster's Talos line (select_talosctl).

With the real talosctl v1.14.1 (``talosctl``) and v1.13.9 (``talosctl-1.13``) of ``make tools``:
why a newer talosctl is not used for an older line (it renders and validates differently), that a
module without ``talosctl_path`` picks the talosctl of each line, and that a missing one fails
with the talosctl to install.
"""
import os
import re
import sys

import pytest

from tests.conftest import require_tool
from tests.support.ansible import run_playbook, task_results
from tests.support.talos import Talosctl

PLAYBOOK = os.path.join(os.path.dirname(__file__), "playbooks", "talos_machine_config.yml")
# What `talosctl gen config` of each line writes by default (constants.DefaultKubernetesVersion).
DEFAULT_KUBERNETES = {"v1.13.9": "v1.36.3", "v1.14.1": "v1.37.0"}


@pytest.fixture
def both(tmp_path):
    """The talosctl of the 1.13 line and the one of the 1.14 line, sharing a work dir and a secrets bundle."""
    require_tool("talosctl", "talosctl-1.13")
    old, new = Talosctl(str(tmp_path), "v1.13.9"), Talosctl(str(tmp_path), "v1.14.1")
    assert os.path.basename(old.path) == "talosctl-1.13" and os.path.basename(new.path) == "talosctl"
    old.run("gen", "secrets", "--output-file", "secrets.yaml")
    return old, new, str(tmp_path / "secrets.yaml")


def kubelet_images(text):
    return sorted(set(re.findall(r"ghcr\.io/siderolabs/kubelet:(v[\d.]+)", text)))


def read(path):
    with open(path) as f:
        return f.read()


def test_talosctl_1_14_with_talos_version_1_13_is_not_talosctl_1_13(both):
    """The reason select_talosctl refuses a newer talosctl: same bundle, same --talos-version, other config."""
    old, new, secrets = both
    for cli, out in ((old, "w13.yaml"), (new, "w14.yaml")):
        cli.run("gen", "config", "home", "https://192.168.1.10:6443", "--with-secrets", secrets, "--output-types",
                "worker", "--with-docs=false", "--with-examples=false", "--talos-version", "v1.13", "--output", out)
    w13, w14 = read(os.path.join(old.workdir, "w13.yaml")), read(os.path.join(old.workdir, "w14.yaml"))
    # Kubernetes 1.37, past Talos 1.13's maximum (1.36.x), and the installer of Talos 1.14.
    assert kubelet_images(w13) == ["v1.36.3"] and kubelet_images(w14) == ["v1.37.0"]
    assert "installer:v1.13.9" in w13 and "installer:v1.13.9" not in w14 and ":v1.14.1" in w14
    # Validation is the newer line's too: a 1.14 document in a 1.13 config passes talosctl v1.14, which a
    # Talos 1.13 node (and talosctl v1.13) refuses.
    with open(os.path.join(old.workdir, "w13.yaml"), "a") as f:
        f.write("---\napiVersion: v1alpha1\nkind: KubeNodeConfig\nlabels:\n  a: b\n")
    assert new.run("validate", "--config", "w13.yaml", "--mode", "cloud", check=False).returncode == 0
    refused = old.run("validate", "--config", "w13.yaml", "--mode", "cloud", check=False)
    assert refused.returncode != 0 and '"KubeNodeConfig" "v1alpha1": not registered' in refused.stderr


@pytest.mark.parametrize("version", ["v1.13.9", "v1.14.1"])
def test_without_talosctl_path_the_module_runs_the_talosctl_of_the_line(both, tmp_path, version):
    dummy, dummy, secrets = both
    dest = str(tmp_path / "edge.yaml")
    proc = run_playbook(PLAYBOOK, {"talosctl_path": "", "secrets_bundle": secrets, "dest": dest,
                                   "talos_version": version})
    result = task_results(proc)["Config"]
    assert proc.returncode == 0 and not result.get("failed"), proc.stdout[-3000:]
    # Only the talosctl of that line writes its own default Kubernetes version.
    assert kubelet_images(read(dest)) == [DEFAULT_KUBERNETES[version]]


def test_without_a_talosctl_of_the_line_the_module_names_the_one_to_install(both, tmp_path):
    dummy, new, secrets = both
    tools = tmp_path / "tools"
    tools.mkdir()
    os.symlink(new.path, str(tools / "talosctl"))  # only the 1.14 one
    dest = str(tmp_path / "edge.yaml")
    env = {"PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/bin", "/bin"]),
           "AUTOEXTENDER_TOOLS": str(tools)}
    proc = run_playbook(PLAYBOOK, {"talosctl_path": "", "secrets_bundle": secrets, "dest": dest,
                                   "talos_version": "v1.13.9"}, env=env)
    result = task_results(proc)["Config"]
    assert proc.returncode != 0 and result["failure"]["kind"] == "missing_tool"
    assert result["msg"] == (
        "No talosctl of the Talos v1.13 line for talos_version v1.13.9: talosctl at %s is v1.14.1, of another line. "
        "Install talosctl v1.13.x as talosctl-1.13 (or as talosctl) in PATH or $AUTOEXTENDER_TOOLS "
        "(`make tools` builds v1.13.9), or set talosctl_path" % (tools / "talosctl"))
    assert not os.path.exists(dest)
    # The same talosctl is used when the user says so.
    proc = run_playbook(PLAYBOOK, {"talosctl_path": str(tools / "talosctl"), "secrets_bundle": secrets,
                                   "dest": dest, "talos_version": "v1.13.9"}, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert kubelet_images(read(dest)) == ["v1.37.0"]
