"""A lab killed with ``kill -9`` comes back with one documented command (docs/lab.md), and a play
against the dead lab fails within seconds with "the lab is not running: ...".

The lab is the one of ``hack/lab.py`` (real etcd + kube-apiserver, real PowerDNS, the lab cloud
with its Talos machines and, as root, the real data path), in a folder of the test's own. A lab
server joins from its user data (a worker config of the lab's secrets bundle; its machine
registers the Node) and an edge record set points at it: what a provision leaves behind. After
``kill -9`` the machine boots again from its disk and registers its Node again.
"""
import json
import os
import signal
import subprocess
import sys
import time

import dns.message
import dns.query
import dns.rdatatype
import pytest
import requests

from tests.conftest import require_tool
from tests.integration.test_cloud_lab_boot import worker_config
from tests.integration.test_workflow_lab_edges import wait_for
from tests.support import labnet

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_PY = os.path.join(REPO, "hack", "lab.py")
NAME = "lab-recovery-edge-1"
sys.path.insert(0, os.path.join(REPO, "hack"))
import lab as hack_lab  # noqa: E402 - hack/lab.py: lab_processes finds every process of a lab


def new_shell(**extra):
    """What a user's new shell has: no venv on PATH, no ANSIBLE_COLLECTIONS_PATH."""
    return dict({"HOME": os.environ["HOME"], "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}, **extra)


def sh(command, env, timeout=600):
    """Run ``command`` as printed, in a fresh ``bash -c`` from the top of the checkout."""
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=timeout, check=False)


class Lab:
    def __init__(self, path):
        self.dir = path

    @property
    def state(self):
        with open(os.path.join(self.dir, "lab.json")) as f:
            return json.load(f)

    def cloud(self, method, path, **kw):
        with open(self.state["cloud"]["config"]) as f:
            cloud = json.load(f)
        answer = requests.request(method, cloud["url"] + path, headers={"Authorization": "Bearer " + cloud["token"]},
                                  timeout=30, **kw)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def kube(self, path):
        kube = self.state["kube"]
        with open(os.path.join(self.dir, "kube", "tokens.csv")) as f:
            token = f.read().split(",")[0]
        answer = requests.get(kube["url"] + path, headers={"Authorization": "Bearer " + token}, verify=kube["ca"],
                              timeout=10)
        return answer.json() if answer.status_code == 200 else None

    def pdns(self, method, path, **kw):
        pdns = self.state["powerdns"]
        answer = requests.request(method, pdns["api_url"] + "/api/v1/servers/localhost" + path,
                                  headers={"X-API-Key": pdns["api_key"]}, timeout=10, **kw)
        answer.raise_for_status()
        return answer

    def edge_set(self):
        pdns = self.state["powerdns"]
        answer = dns.query.udp(dns.message.make_query("edge.lab.test.", dns.rdatatype.A), pdns["server"],
                               port=int(pdns["dns_port"]), timeout=3)
        return sorted(r.address for rrset in answer.answer for r in rrset)

    def node_ready(self, name):
        node = self.kube("/api/v1/nodes/" + name) or {}
        return [c["status"] for c in (node.get("status") or {}).get("conditions", []) if c["type"] == "Ready"]

    def server(self, name):
        return next((s for s in self.cloud("GET", "/servers?per_page=50")["servers"] if s["name"] == name), None)

    def kill_9(self):
        """``kill -9`` every process of the lab (the data path's included), as a crash or a power cut does."""
        pids = hack_lab.lab_processes(self.dir)
        assert pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not any(hack_lab._alive(p) for p in pids), "the lab's processes to die", 30)


@pytest.fixture
def lab(tmp_path, talosctl):
    require_tool("etcd", "kube-apiserver", "pdns", "talosctl", "talos-api-sim")
    path = str(tmp_path / "lab")
    up = sh("python3 hack/lab.py up --dir " + path, new_shell())
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield Lab(path)
    finally:
        sh("python3 hack/lab.py down --purge --dir " + path, new_shell())


def test_a_lab_killed_with_kill_9_comes_back_with_up(lab, talosctl):
    # What a provision leaves: a server joined from its user data, its Node, and the edge set.
    image = lab.cloud("POST", "/images", json={"name": "talos", "source_url": "https://factory.example/x.raw.xz",
                                               "talos_version": "v1.13.9", "arch": "amd64"})["image"]
    wait_for(lambda: lab.cloud("GET", "/images/" + image["id"])["image"]["status"] == "available", "the image")
    lab.cloud("POST", "/servers", json={"name": NAME, "location": "loopback", "server_type": "lab-small",
                                        "image": image["id"], "ipv6": False,
                                        "user_data": worker_config(talosctl, hostname=NAME,
                                                                   secrets=os.path.join(lab.dir, "secrets.yaml"))})
    server = wait_for(lambda: (lab.server(NAME) or {}).get("status") == "running" and lab.server(NAME),
                      "the boot", 120)
    address = server["public_net"]["ipv4"]
    wait_for(lambda: lab.node_ready(NAME) == ["True"], "the Node", 120)
    rrset = {"name": "edge.lab.test.", "type": "A", "ttl": 5, "changetype": "REPLACE",
             "records": [{"content": address, "disabled": False}]}
    lab.pdns("PATCH", "/zones/lab.test.", json={"rrsets": [rrset]})
    assert lab.edge_set() == [address]
    before = lab.state

    lab.kill_9()

    # Every play on the lab fails fast, and says so (status.yml retried 33 s and printed a ConnectionError).
    started = time.monotonic()
    play = sh(". hack/activate && ansible-playbook -i inventories/lab playbooks/status.yml",
              new_shell(AUTOEXTENDER_LAB_DIR=lab.dir, ANSIBLE_NOCOLOR="1"))
    elapsed = time.monotonic() - started
    assert play.returncode != 0
    assert "the lab is not running: " in play.stdout and "hack/lab.py up" in play.stdout, play.stdout[-3000:]
    assert "no answer from" in play.stdout and "Traceback" not in play.stdout + play.stderr
    assert elapsed < 30, "a play against the dead lab took %.1f s" % elapsed
    assert sh("python3 hack/lab.py status --dir " + lab.dir, new_shell()).returncode == 1

    # The one documented command brings back the same lab: its servers, Nodes and records.
    up = sh("python3 hack/lab.py up --dir " + lab.dir, new_shell())
    assert up.returncode == 0, up.stdout + up.stderr
    assert "again on its kept data" in up.stdout
    assert lab.state["kube"]["url"] != before["kube"]["url"] or lab.state["pids"] != before["pids"]
    server = lab.server(NAME)
    assert server["status"] == "running", server["talos"]  # its message says why a machine did not come back
    wait_for(lambda: lab.server(NAME)["talos"]["stage"] == "configured", "the machine to boot from its disk", 60)
    wait_for(lambda: lab.node_ready(NAME) == ["True"], "the Node", 60)
    assert lab.edge_set() == [address]
    if lab.state["datapath"].get("enabled"):
        # As root the server is an edge of the lab network again: its namespace at its
        # address and its WireGuard link to home. (Serving needs the edge ingress
        # DaemonSet's pod, which this test never creates: test_lab_traefik covers it.)
        net = labnet.LabNetwork(os.path.join(lab.dir, "net"))
        assert wait_for(lambda: any(e.public_ip == address and e.connected() for e in net.attach().edges.values()),
                        "the edge's tunnel to home", 60)
    status = sh("python3 hack/lab.py status --dir " + lab.dir, new_shell())
    # kube-apiserver, PowerDNS, the lab cloud, and Pebble when the lab runs certificates
    parts = 3 + bool(lab.state["certificates"].get("enabled"))
    assert status.returncode == 0 and status.stdout.count("answers") == parts, status.stdout
    doctor = sh(". hack/activate && ansible-playbook -i inventories/lab playbooks/doctor.yml",
                new_shell(AUTOEXTENDER_LAB_DIR=lab.dir, ANSIBLE_NOCOLOR="1"))
    assert doctor.returncode == 0, doctor.stdout[-3000:]

    # A home cluster that lost its data: the lab's running servers register their Nodes again.
    lab.kill_9()
    subprocess.run(["rm", "-rf", os.path.join(lab.dir, "kube", "etcd")], check=True)
    up = sh("python3 hack/lab.py up --dir " + lab.dir, new_shell())
    assert up.returncode == 0, up.stdout + up.stderr
    wait_for(lambda: lab.node_ready(NAME) == ["True"], "the machine to register its Node again", 60)
    assert lab.kube("/api/v1/nodes/" + NAME)["metadata"]["labels"]["kubernetes.io/hostname"] == NAME


def test_up_refuses_kept_data_that_does_not_start_and_says_how_to_start_afresh(lab):
    lab.kill_9()
    with open(os.path.join(lab.dir, "pdns", "pdns.sqlite3"), "wb") as f:
        f.write(b"this is not a database")
    up = sh("python3 hack/lab.py up --dir " + lab.dir, new_shell())
    assert up.returncode != 0
    assert "does not start again" in up.stderr and "hack/lab.py down --purge --dir %s" % lab.dir in up.stderr
    assert "Traceback" not in up.stderr
    assert hack_lab.lab_processes(lab.dir) == []  # nothing half-started is left running
