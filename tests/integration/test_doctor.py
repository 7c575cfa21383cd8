"""playbooks/doctor.yml as a user runs it, in a shell without the Go tool cache on PATH.

- On the lab, right after ``make tools``: it passes, and picks the talosctl of the lab's
  Talos line in the tool cache, exactly as the Talos modules do, and says why.
- On a real-provider inventory (provider hetzner, pointed at the Hetzner API simulator,
  which checks every request against the official spec): a missing token and a refused
  token each fail with the fix; the right token passes.
"""
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import require_tool
from tests.support.fixtures_hetzner import TOKEN
from tests.support.talos import lab_talos_version

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.dirname(sys.executable)
TOOLS = os.environ.get("AUTOEXTENDER_TOOLS") or os.path.expanduser("~/.cache/talos-autoextender/bin")
ZONE = "example.org"


def shell_env(**extra):
    """A new shell after `make tools` and `. hack/activate`, minus the tool cache on PATH: the modules' own lookup."""
    env = {"HOME": os.environ["HOME"], "PATH": os.pathsep.join([VENV_BIN, "/usr/bin", "/bin"]),
           "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".cache", "collections"), "ANSIBLE_NOCOLOR": "1",
           "LANG": "C.UTF-8"}
    if os.environ.get("AUTOEXTENDER_TOOLS"):
        env["AUTOEXTENDER_TOOLS"] = os.environ["AUTOEXTENDER_TOOLS"]
    env.update(extra)
    return env


def doctor(inventory, env):
    return subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory, "playbooks/doctor.yml"],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_tool("etcd", "kube-apiserver", "pdns", "talosctl")
    lab_dir = str(tmp_path_factory.mktemp("doctor-lab"))
    lab_py = os.path.join(REPO, "hack", "lab.py")
    up = subprocess.run([sys.executable, lab_py, "up", "--dir", lab_dir], capture_output=True, text=True, cwd=REPO,
                        timeout=600, check=False)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield lab_dir
    finally:
        subprocess.run([sys.executable, lab_py, "down", "--purge", "--dir", lab_dir], capture_output=True,
                       cwd=REPO, timeout=300, check=False)


def test_the_doctor_passes_on_the_lab_and_finds_talosctl_where_the_modules_do(lab):
    assert not any(os.path.exists(os.path.join(p, "talosctl")) for p in shell_env()["PATH"].split(os.pathsep))
    proc = doctor("inventories/lab", shell_env(AUTOEXTENDER_LAB_DIR=lab))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    out = proc.stdout
    # The talosctl of the lab's Talos line: talosctl-<major>.<minor>, else talosctl (the newest line's).
    version = lab_talos_version()
    line = ".".join(version.lstrip("v").split(".")[:2])
    versioned = os.path.join(TOOLS, "talosctl-" + line)
    if os.path.exists(versioned):
        picked, why = versioned, "talosctl-%s is of the home cluster's Talos line (talos_version %s)" % (line, version)
    else:
        picked, why = os.path.join(TOOLS, "talosctl"), ("talosctl is of the home cluster's Talos line (talos_version "
                                                        "%s); no talosctl-%s found" % (version, line))
    assert re.search(r"ok    talosctl: talosctl v%s\.\d+ at %s: %s" % (re.escape(line), re.escape(picked), re.escape(why)),
                     out), out[-3000:]
    for line in ("ok    cloud provider lab: the API accepted the credential", "ok    dns powerdns zone lab.test",
                 "ok    kubernetes api: Kubernetes v1.37.0 answers", "ok    python library requests"):
        assert line in out
    assert "helm" not in out and "FAIL" not in out


@pytest.fixture
def hetzner_inventory(tmp_path, hetzner_sim, kube_cluster):
    """A real-provider inventory: one Hetzner pool and the Hetzner DNS zone, both on the simulator."""
    hetzner_sim.add_zone(ZONE)

    def write(credentials):
        group_vars = tmp_path / "group_vars"
        group_vars.mkdir(exist_ok=True)
        (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
        (group_vars / "all.yml").write_text(yaml.safe_dump({
            "autoextender_cluster": {"name": "home", "endpoint": "https://192.0.2.10:6443",
                                     "talos_version": "v1.13.9", "kubeconfig": kube_cluster.kubeconfig,
                                     "secrets": {"source": "bundle", "path": str(tmp_path / "secrets.yaml")}},
            "autoextender_pools": [{"name": "hel1-a", "provider": "hetzner", "location": "hel1",
                                    "server_type": "cx23", "count": 1}],
            "autoextender_dns": {"provider": "hetzner", "zone": ZONE, "options": {"api_url": hetzner_sim.url}},
            "autoextender_expose": [],
            "autoextender_credentials": credentials,
        }))
        return str(tmp_path)
    return write


def checks(out):
    """``{check name: "ok    <name>: <detail>" or "FAIL  <name>: <detail>"}`` of the doctor's report."""
    found = {}
    for match in re.finditer(r'"msg": "((?:ok    |FAIL  )([^:]+): .*)"$', out, re.M):
        found[match.group(2)] = match.group(1)
    return found


def test_a_missing_token_fails_with_where_to_put_one(hetzner_inventory, hetzner_sim):
    inventory = hetzner_inventory({"hetzner": {"api_url": hetzner_sim.url}})
    proc = doctor(inventory, shell_env())
    assert proc.returncode != 0
    report = checks(proc.stdout)
    assert report["cloud provider hetzner"].startswith("FAIL  cloud provider hetzner: no credential: "
                                                       "autoextender_credentials.hetzner.api_token (or HCLOUD_TOKEN)")
    assert report["dns hetzner zone %s" % ZONE].startswith("FAIL  ")
    assert report["talosctl"].startswith("ok    ") and report["kubernetes api"].startswith("ok    ")
    fix = ("cloud provider hetzner: set autoextender_credentials.hetzner.api_token (or HCLOUD_TOKEN) to a Hetzner "
           "Cloud API token with Read & Write")
    assert fix in proc.stdout and "fix them and run it again" in proc.stdout
    assert hetzner_sim.calls("GET", "/servers") == []  # nothing asked without a token


def test_a_refused_token_fails_with_how_to_replace_it(hetzner_inventory, hetzner_sim):
    wrong = "wrong-token-0123456789abcdef0123456789abcdef0123456789abcdef01"
    inventory = hetzner_inventory({"hetzner": {"api_url": hetzner_sim.url, "api_token": wrong}})
    proc = doctor(inventory, shell_env())
    assert proc.returncode != 0
    report = checks(proc.stdout)
    assert report["cloud provider hetzner"].startswith("FAIL  ")
    assert "the API refused the credential: replace autoextender_credentials.hetzner.api_token (or HCLOUD_TOKEN) " \
           "with a Hetzner Cloud API token" in proc.stdout
    assert wrong not in proc.stdout + proc.stderr
    assert hetzner_sim.calls("GET", "/servers")  # the read-only call was made, and refused


def test_the_right_token_passes(hetzner_inventory, hetzner_sim):
    inventory = hetzner_inventory({"hetzner": {"api_url": hetzner_sim.url, "api_token": TOKEN}})
    proc = doctor(inventory, shell_env())
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = checks(proc.stdout)
    assert report["cloud provider hetzner"] == "ok    cloud provider hetzner: the API accepted the credential " \
                                               "(0 servers of ours)"
    assert report["dns hetzner zone %s" % ZONE] == ("ok    dns hetzner zone %s: the zone answers (edge set: empty)"
                                                    % ZONE)
    assert TOKEN not in proc.stdout + proc.stderr
    assert json.dumps(TOKEN) not in proc.stdout
