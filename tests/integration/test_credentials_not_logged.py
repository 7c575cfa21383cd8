"""No credential reaches the output or the log of any workflow playbook, even at -vvvv (issue 11).

A private lab (hack/lab.py up, as the Molecule scenarios start it) with its own throwaway
credentials: the lab cloud's token, PowerDNS's API key, the kube-apiserver's admin token and the
home cluster's Talos secrets. The lab inventory gives them the documented way
(``autoextender_credentials``, docs/security.md); the controller's environment carries none of
them, so the runs also prove that the documented way reaches every module. Each workflow playbook
runs as a user runs it, at -vvvv with ANSIBLE_LOG_PATH set, and every byte of stdout, stderr and
the log file is searched for every credential.

The control case shows the search can fail: a task that sets ``environment:`` (the old way) prints
its value at -vvv.
"""
import json
import os
import subprocess
import sys

import pytest
import requests
import yaml

from tests.conftest import require_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, ".cache", "collections")
# The credential variables the modules read from the controller's environment; scrubbed, so only the
# documented variable can deliver them.
CREDENTIAL_ENV = ("HCLOUD_TOKEN", "HCLOUD_ENDPOINT", "LINODE_TOKEN", "LINODE_API_TOKEN", "LINODE_API_URL",
                  "LAB_CLOUD_TOKEN", "LAB_CLOUD_URL", "LAB_CLOUD_CONFIG", "PDNS_API_KEY", "CLOUDFLARE_API_TOKEN",
                  "RFC2136_TSIG_KEY_NAME", "RFC2136_TSIG_SECRET", "K8S_AUTH_KUBECONFIG", "K8S_AUTH_API_KEY",
                  "KUBECONFIG", "TALOSCONFIG")
# Two small pools: lab-a live, lab-b standby (the decommission and migrate runs use it).
POOLS = [
    {"name": "lab-a", "provider": "lab", "location": "loopback", "server_type": "lab-small", "count": 2,
     "active": True, "join": "user_data"},
    {"name": "lab-b", "provider": "lab", "location": "loopback", "server_type": "lab-small", "count": 1,
     "active": False, "join": "user_data"},
]
# The workflows in an order that exercises each one's credential paths on one lab:
# (name, playbook, extra -e arguments, the pool whose first edge is killed before).
WORKFLOWS = [
    ("doctor", "doctor.yml", [], None),
    ("provision", "provision.yml", [], None),
    ("status", "status.yml", [], None),
    ("failover", "failover.yml", ["-e", "failover_replace=true"], "lab-a"),
    ("decommission", "decommission.yml", ["-e", "pool=lab-b"], None),
    ("migrate", "migrate.yml", ["-e", "from_pool=lab-a", "-e", "to_pool=lab-b"], None),
    # The lab has one token per server: "rotate" to the same credentials (verified, every place current), given
    # as autoextender_credentials_new by reference, so that the run reads and compares them at -vvvv.
    ("rotate_credentials", "rotate_credentials.yml",
     ["-e", '{"autoextender_credentials_new": "{{ autoextender_credentials }}"}'], None),
]
PLAYBOOKS = sorted(f for f in os.listdir(os.path.join(REPO, "playbooks")) if f.endswith(".yml"))


def clean_env(**extra):
    env = dict((k, v) for k, v in os.environ.items() if k not in CREDENTIAL_ENV and not k.startswith("K8S_AUTH_"))
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    env.update(extra)
    return env


def ansible_playbook(argv, log_path, env, timeout=1500):
    """Run ansible-playbook at -vvvv with ANSIBLE_LOG_PATH; return (rc, stdout + stderr + the log)."""
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    proc = subprocess.run([exe, "-vvvv"] + argv, capture_output=True, text=True, cwd=REPO, timeout=timeout,
                          env=dict(env, ANSIBLE_LOG_PATH=log_path), check=False)
    with open(log_path) as f:
        log = f.read()
    return proc.returncode, proc.stdout, proc.stderr, log


def leaks(secrets, *texts):
    """The names of the secrets found in any of ``texts``."""
    return sorted(name for name, value in secrets.items() for text in texts if value in text)


def lab_secrets(lab_dir):
    """Every credential of the lab, by name: what must never be printed."""
    with open(os.path.join(lab_dir, "lab.json")) as f:
        lab = json.load(f)
    with open(lab["cloud"]["config"]) as f:
        cloud = json.load(f)
    with open(lab["kube"]["kubeconfig"]) as f:
        kubeconfig = yaml.safe_load(f)
    with open(lab["home"]["secrets"]) as f:
        bundle = yaml.safe_load(f)
    secrets = {"lab cloud token": cloud["token"], "PowerDNS API key": lab["powerdns"]["api_key"],
               "Talos cluster secret": bundle["cluster"]["secret"],
               "Talos bootstrap token": bundle["secrets"]["bootstraptoken"],
               "Talos trustd token": bundle["trustdinfo"]["token"],
               "Talos OS CA key": bundle["certs"]["os"]["key"], "Kubernetes CA key": bundle["certs"]["k8s"]["key"]}
    for user in kubeconfig.get("users") or []:
        for key in ("token", "client-key-data"):
            if (user.get("user") or {}).get(key):
                secrets["kubeconfig %s of %s" % (key, user["name"])] = user["user"][key]
    assert any(name.startswith("kubeconfig token") for name in secrets), "the lab kubeconfig has no token"
    for name, value in secrets.items():
        assert isinstance(value, str) and len(value) >= 16, "%s is too short to search for" % name
    return lab, cloud, secrets


def poweroff(cloud, pool):
    """Kill the first edge of ``pool`` the way a crashed VM looks: powered off through the lab cloud's API."""
    headers = {"Authorization": "Bearer " + cloud["token"]}
    servers = requests.get(cloud["url"] + "/servers", params={"label_selector": "autoextender-pool=" + pool},
                           headers=headers, timeout=30).json()["servers"]
    victim = sorted((s for s in servers if s["labels"].get("autoextender-pool") == pool), key=lambda s: s["name"])[0]
    answer = requests.post("%s/servers/%s/actions/poweroff" % (cloud["url"], victim["id"]), headers=headers, timeout=30)
    assert answer.status_code == 201, answer.text


@pytest.fixture(scope="module")
def workflow_runs(tmp_path_factory):
    """Every workflow run once on a private lab; ``{name: (argv, rc, stdout, stderr, log)}`` and the secrets."""
    for tool in ("talosctl", "kube-apiserver", "etcd", "pdns"):
        require_tool(tool)
    base = tmp_path_factory.mktemp("credentials")
    lab_dir = str(base / "lab")
    hack = [sys.executable, os.path.join(REPO, "hack", "lab.py")]
    env = clean_env(AUTOEXTENDER_LAB_DIR=lab_dir)
    up = subprocess.run(hack + ["up", "--dir", lab_dir], capture_output=True, text=True, cwd=REPO, env=env,
                        timeout=900, check=False)
    try:
        assert up.returncode == 0, "hack/lab.py up failed:\n%s%s" % (up.stdout, up.stderr)
        dummy, cloud, secrets = lab_secrets(lab_dir)
        extra = base / "pools.yml"
        extra.write_text(yaml.safe_dump({"autoextender_pools": POOLS}))
        runs = {}
        for name, playbook, args, before in WORKFLOWS:
            if before:
                poweroff(cloud, before)
            argv = ["-i", os.path.join(REPO, "inventories", "lab"), os.path.join(REPO, "playbooks", playbook),
                    "-e", "@%s" % extra] + args
            runs[name] = (argv,) + ansible_playbook(argv, str(base / (name + ".log")), env)
        yield runs, secrets
    finally:
        subprocess.run(hack + ["down", "--dir", lab_dir, "--purge"], capture_output=True, cwd=REPO, env=env,
                       timeout=300, check=False)


def test_every_workflow_playbook_is_covered():
    assert sorted(playbook for dummy, playbook, dummy2, dummy3 in WORKFLOWS) == PLAYBOOKS


@pytest.mark.parametrize("name", [w[0] for w in WORKFLOWS])
def test_no_credential_in_the_output_or_the_log_at_vvvv(workflow_runs, name):
    runs, secrets = workflow_runs
    argv, rc, stdout, stderr, log = runs[name]
    tail = (stdout + stderr)[-6000:]
    # The run did its work with the credentials of autoextender_credentials alone...
    assert rc == 0, "ansible-playbook %s failed (rc %s):\n%s" % (" ".join(argv), rc, tail)
    # ...at full verbosity, into both places...
    assert "EXEC /bin/sh -c" in stdout and "EXEC /bin/sh -c" in log, "not run at -vvv or no log written"
    # ...and printed none of them.
    assert leaks(secrets, stdout, stderr, log) == []


def test_the_old_way_leaks_so_the_search_can_fail(tmp_path):
    """Control: a task environment is printed at -vvv, whatever no_log says (why the collection never uses it)."""
    secret = "control-secret-" + os.urandom(8).hex()
    playbook = tmp_path / "old_way.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "The old way", "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "A module with a credential in its environment", "ansible.builtin.command": "true",
                   "environment": {"HCLOUD_TOKEN": secret}, "no_log": True, "changed_when": False}]}]))
    rc, stdout, stderr, log = ansible_playbook(["-i", "localhost,", "-c", "local", str(playbook)],
                                               str(tmp_path / "old.log"), clean_env())
    assert rc == 0, stdout + stderr
    assert leaks({"control": secret}, stdout) == ["control"] and leaks({"control": secret}, log) == ["control"]
