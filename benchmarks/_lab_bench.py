"""What the workflow benchmarks share: a lab of their own, playbooks run as a user runs them, DNS and the lab API.

Used by benchmarks/migrate.py and benchmarks/failover.py. The lab is the one of
``hack/lab.py`` (docs/lab.md) in a directory of the benchmark's own;
playbooks run with ``ansible-playbook -i inventories/lab`` and extra vars for
the pools; DNS answers come from the lab's real PowerDNS (dnspython); servers
are killed through the lab cloud's HTTP API.
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import dns.message
import dns.query
import dns.rdatatype

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def percentile(sorted_values, pct):
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(pct / 100.0 * len(sorted_values)) - 1)]


class BenchLab:
    """``with BenchLab() as lab:`` starts a lab in a new temporary directory and always stops it (unless ``keep``).

    The directory must not appear on the benchmark's own command line: ``hack/lab.py`` stops every process
    whose command line names the lab directory.
    """

    def __init__(self, lab_dir=None, keep=False):
        self.dir = os.path.abspath(lab_dir or tempfile.mkdtemp(prefix="ae-bench-"))
        self.keep = keep
        self.state = None
        self.cloud = None

    def __enter__(self):
        subprocess.run([sys.executable, os.path.join(REPO, "hack", "lab.py"), "up", "--dir", self.dir],
                       check=True, cwd=REPO, stdout=subprocess.DEVNULL, timeout=600)
        with open(os.path.join(self.dir, "lab.json")) as f:
            self.state = json.load(f)
        with open(self.state["cloud"]["config"]) as f:
            self.cloud = json.load(f)
        return self

    def __exit__(self, *exc):
        if not self.keep:
            subprocess.run([sys.executable, os.path.join(REPO, "hack", "lab.py"), "down", "--purge", "--dir", self.dir],
                           check=False, cwd=REPO, stdout=subprocess.DEVNULL, timeout=600)
        return False

    # -- the data path ---------------------------------------------------------------------------
    @property
    def datapath(self):
        return bool((self.state.get("datapath") or {}).get("enabled"))

    def target(self, ip):
        """(url, host header) a client requests on an edge address: the home app through the real edge
        proxy when the data path runs (root), else the lab server's health endpoint."""
        if self.datapath:
            return "http://%s/" % ip, "hello.lab.test"
        return "http://%s:%s/healthz" % (ip, self.cloud["health_port"]), None

    # -- playbooks -------------------------------------------------------------------------------
    def playbook(self, name, extra_vars=None, timeout=1800):
        """Run playbooks/<name>.yml (or the playbook file ``name``, ending in .yml) on the lab inventory;
        return (seconds, CompletedProcess)."""
        path = name if name.endswith(".yml") else os.path.join(REPO, "playbooks", name + ".yml")
        argv = [os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(REPO, "inventories", "lab"), path]
        for key, value in (extra_vars or {}).items():
            argv += ["-e", json.dumps({key: value})]
        env = dict(os.environ, AUTOEXTENDER_LAB_DIR=self.dir, ANSIBLE_NOCOLOR="1",
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"),
                   PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
        start = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout, check=False)
        return time.monotonic() - start, proc

    def must(self, name, extra_vars=None):
        seconds, proc = self.playbook(name, extra_vars)
        if proc.returncode != 0:
            raise SystemExit("%s.yml failed (rc %d):\n%s" % (name, proc.returncode, proc.stdout[-4000:]))
        return seconds

    # -- DNS ---------------------------------------------------------------------------------------
    def resolve(self, name="edge.lab.test", timeout=2.0):
        """(addresses, ttl) of the A set, asked from the lab's PowerDNS over UDP."""
        query = dns.message.make_query(name, dns.rdatatype.A)
        answer = dns.query.udp(query, self.state["powerdns"]["server"], timeout=timeout,
                               port=int(self.state["powerdns"]["dns_port"]))
        for rrset in answer.answer:
            if rrset.rdtype == dns.rdatatype.A:
                return sorted(r.address for r in rrset), rrset.ttl
        return [], 0

    # -- the lab cloud ------------------------------------------------------------------------------
    def api(self, method, path):
        request = urllib.request.Request(self.cloud["url"] + path, method=method,
                                         headers={"Authorization": "Bearer " + self.cloud["token"]})
        with urllib.request.urlopen(request, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def servers(self, pool):
        return sorted(self.api("GET", "/servers?per_page=50&label_selector=autoextender-pool%3D" + pool)["servers"],
                      key=lambda s: s["name"])

    def poweroff(self, server):
        self.api("POST", "/servers/%s/actions/poweroff" % server["id"])


def pool(name, location, count, active, server_type="lab-small"):
    return {"name": name, "provider": "lab", "location": location, "server_type": server_type, "count": count,
            "active": active, "join": "user_data"}
