"""What a user reads on the lab (issue 12): honest `changed`, one line per state change, no noise.

A private lab (hack/lab.py up) with the lab inventory as shipped (pools lab-a and standby). The
playbooks run as the docs print them, with ansible-playbook's normal output:

- provision: the Node wait prints one line per state change, no ``FAILED - RETRYING``, no
  "Unknown error."; the standby pool is built but not published;
- status.yml, twice: the second run reports ``changed=0``; its DNS probe says it is a read-only check;
- no ``CryptographyDeprecationWarning`` in any run;
- ``ansible-inventory -i inventories/lab/edge_nodes.yml --graph`` lists the lab's servers by pool;
- the pools join in maintenance mode (the default): ``hack/lab.py status`` then shows every
  server's Talos API configured, with its Node, and the home node;
- docs/failover.md on the lab: ``hack/lab.py kill-edge`` then failover.yml takes the address out of DNS.
"""
import json
import os
import re
import subprocess
import sys

import dns.message
import dns.query
import dns.rdatatype
import pytest

from tests.conftest import require_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
RECAP = re.compile(r"localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)")


def edge_set(lab):
    query = dns.message.make_query("edge." + lab["zone"], dns.rdatatype.A)
    answer = dns.query.udp(query, "127.0.0.1", port=int(lab["powerdns"]["dns_port"]), timeout=5)
    return sorted(r.address for rrset in answer.answer if rrset.rdtype == dns.rdatatype.A for r in rrset)


@pytest.fixture(scope="module")
def lab_runs(tmp_path_factory):
    """``{name: CompletedProcess}`` of the documented commands, in order, on one private lab."""
    for tool in ("talosctl", "talos-api-sim", "kube-apiserver", "etcd", "pdns"):
        require_tool(tool)
    lab_dir = str(tmp_path_factory.mktemp("h7lab") / "lab")
    env = dict(os.environ, AUTOEXTENDER_LAB_DIR=lab_dir, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, PATH=BIN + os.pathsep + os.environ["PATH"])
    for name in ("ANSIBLE_STDOUT_CALLBACK", "LAB_CLOUD_CONFIG", "LAB_CLOUD_URL", "LAB_CLOUD_TOKEN"):
        env.pop(name, None)
    hack = [sys.executable, os.path.join(REPO, "hack", "lab.py")]

    def run(argv, timeout=900):
        return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env, timeout=timeout, check=False)

    up = run(hack + ["up", "--dir", lab_dir])
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        with open(os.path.join(lab_dir, "lab.json")) as f:
            lab = json.load(f)
        play = [os.path.join(BIN, "ansible-playbook"), "-i", "inventories/lab"]
        runs = {"provision": run(play + ["playbooks/provision.yml"])}
        assert runs["provision"].returncode == 0, runs["provision"].stdout[-4000:] + runs["provision"].stderr
        runs["lab status"] = run(hack + ["status", "--dir", lab_dir])
        runs["status 1"] = run(play + ["playbooks/status.yml"])
        runs["status 2"] = run(play + ["playbooks/status.yml"])
        runs["inventory"] = run([os.path.join(BIN, "ansible-inventory"), "-i", "inventories/lab/edge_nodes.yml",
                                 "--graph"])
        before = edge_set(lab)
        runs["kill-edge"] = run(hack + ["kill-edge", "lab-lab-a-1", "--dir", lab_dir])
        runs["failover"] = run(play + ["playbooks/failover.yml"])
        yield runs, lab, before, edge_set(lab)
    finally:
        run(hack + ["down", "--dir", lab_dir, "--purge"], timeout=300)


def recap(proc):
    found = RECAP.findall(proc.stdout)
    assert found, proc.stdout[-3000:]
    return int(found[-1][0]), int(found[-1][1])


def test_the_node_wait_prints_state_changes_not_retries(lab_runs):
    out = lab_runs[0]["provision"].stdout
    # (The edge ingress rollout wait, which the lab runs now that kwok and the pod runner make
    # its pods Ready, still polls with one line per try: see roles/edge_ingress/tasks/wait.yml.)
    retries = [line for line in out.splitlines() if "FAILED - RETRYING" in line
               and "Wait until every edge node runs the updated, ready ingress" not in line]
    assert not retries and "Unknown error" not in out, retries[:5]
    for name in ("lab-lab-a-1", "lab-lab-a-2", "lab-standby-1"):
        assert re.search(r'"\d+s: %s: (registered, )?Ready"' % name, out), name


def test_every_server_joined_through_its_talos_api(lab_runs):
    status = lab_runs[0]["lab status"]
    assert status.returncode == 0, status.stdout + status.stderr
    for name in ("lab-lab-a-1", "lab-lab-a-2", "lab-standby-1"):
        line = r"server\s+[\d.]+:50000  %s running, stage configured, Node %s" % (name, name)
        assert re.search(line, status.stdout), status.stdout
    assert re.search(r"home node\s+[\d.]+:50000  configured", status.stdout), status.stdout


def test_the_standby_pool_is_provisioned_but_not_published(lab_runs):
    runs, lab, before, dummy = lab_runs
    graph = runs["inventory"]
    assert graph.returncode == 0, graph.stderr
    groups, group = {}, None
    for line in graph.stdout.splitlines():
        name = line.rsplit("|--", 1)[-1].strip()
        if name.startswith("@"):
            group = groups.setdefault(name.strip("@:"), [])
        elif group is not None and name:
            group.append(name)
    assert sorted(groups["pool_lab_a"]) == ["lab-lab-a-1", "lab-lab-a-2"], graph.stdout
    assert groups["pool_standby"] == ["lab-standby-1"], graph.stdout
    assert len(before) == 2  # lab-a's two addresses, not the standby's


def test_a_second_status_run_reports_changed_0_and_a_read_only_dns_check(lab_runs):
    runs = lab_runs[0]
    for name in ("status 1", "status 2"):
        assert runs[name].returncode == 0, runs[name].stdout[-3000:]
    assert recap(runs["status 2"]) == (0, 0), runs["status 2"].stdout[-3000:]
    out = runs["status 2"].stdout
    assert "read-only check, nothing written; it would hold: A " in out
    assert "(publish)" not in out and "inactive_pool" not in out
    assert "lab-standby-1, pool standby: not one of the published pools (lab-a)" in out


def test_no_cryptography_deprecation_warning_in_any_run(lab_runs):
    for name, proc in lab_runs[0].items():
        assert "CryptographyDeprecationWarning" not in proc.stdout + proc.stderr, name


def test_kill_edge_then_failover_takes_the_address_out_of_dns(lab_runs):
    runs, dummy, before, after = lab_runs
    assert runs["kill-edge"].returncode == 0, runs["kill-edge"].stdout + runs["kill-edge"].stderr
    killed = re.search(r"lab: lab-lab-a-1 \(([\d.]+)\) is off", runs["kill-edge"].stdout).group(1)
    assert runs["failover"].returncode == 0, runs["failover"].stdout[-3000:]
    assert killed in before and after == [ip for ip in before if ip != killed]
