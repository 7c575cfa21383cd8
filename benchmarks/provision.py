"""Wall time of playbooks/provision.yml on the lab for 1, 5 and 20 nodes, with a fixed API latency.

    python3 benchmarks/provision.py [--counts 1,5,20] [--latency 0.05] [--keep DIR]

For each node count a fresh lab (real kube-apiserver + etcd, real PowerDNS, the lab
cloud in this process, so its latency knob and request log are at hand) runs
provision twice through the lab inventory, as a user runs it:

- ``first``: the wall time of the run that creates everything;
- ``rerun``: the wall time of the idempotent second run (it must change nothing);
- ``calls/node``: lab cloud API requests of the first run divided by the node count,
  then the same for the re-run.

Every request to the lab cloud waits ``--latency`` seconds first, like a remote API.
The exposed services are the lab's, without TLS: this lab has no Pebble and cert-manager.
The data path (netns edges) is left out: this measures the control plane, and 20
WireGuard edges on 2 cores measure the machine, not the workflow. Prints a table.
"""
import argparse
import contextlib
import glob
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

# First: the checkout's venv, tools and collection.
import _venv  # noqa: E402,F401  # pylint: disable=unused-import

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import yaml  # noqa: E402

from tests.support import tools  # noqa: E402
from tests.support.kube import start_cluster  # noqa: E402
from tests.support.pdns import start_powerdns  # noqa: E402
from tests.support.sim.lab import LabCloud  # noqa: E402

import lab_home  # noqa: E402 - hack/ (on the path through _venv): the home cluster's files


def write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)


def start_lab(lab_dir, stack, latency):
    """The parts hack/lab.py starts, with the cloud in this process; writes lab.json like hack/lab.py."""
    for part in ("kube", "pdns", "cloud"):
        os.makedirs(os.path.join(lab_dir, part), mode=0o700)
    kube = start_cluster(os.path.join(lab_dir, "kube"), stack)
    pdns = start_powerdns(os.path.join(lab_dir, "pdns"), stack)
    pdns.create_zone("lab.test.")
    home = subprocess.run([sys.executable, os.path.join(REPO, "hack", "lab_home.py"), "up", "--dir", lab_dir,
                           "--kubeconfig", kube.kubeconfig], capture_output=True, text=True, check=True)
    home = json.loads(home.stdout.strip().splitlines()[-1])
    # Every server is a Talos machine; the home node boots from the home cluster's controlplane
    # config, and its secrets bundle signs the workers' API certificates (trustd), as hack/lab_cloud.py does.
    lab = stack.enter_context(LabCloud(token="lab-" + secrets.token_hex(16), kubeconfig=kube.kubeconfig,
                                       state_dir=os.path.join(lab_dir, "cloud"),
                                       talos_sim=tools.which("talos-api-sim"), home_config=home["controlplane"],
                                       trustd=home["secrets"]))
    lab.latency = latency
    home["talos_api"] = lab.home_talos_api
    lab_home.point_talosconfig(home["talosconfig"], home["talos_api"],
                               lab_home.talosctl_path(None, lab_home.lab_talos_version()))
    cloud_json = os.path.join(lab_dir, "cloud", "cloud.json")
    write_private(cloud_json, {"url": lab.url, "token": lab.token, "health_port": lab.health_port,
                               "state_dir": lab.state_dir})
    write_private(os.path.join(lab_dir, "lab.json"), {
        "dir": lab_dir, "zone": "lab.test.",
        "kube": {"url": kube.url, "kubeconfig": kube.kubeconfig, "ca": kube.ca_path},
        "powerdns": {"api_url": pdns.api_url, "api_key": pdns.api_key, "server": pdns.host, "dns_port": pdns.dns_port},
        "home": home,
        "cloud": {"enabled": True, "url": lab.url, "config": cloud_json, "health_port": lab.health_port},
        "control": {"source": lab.control_source},
        "datapath": {"enabled": False, "reason": "left out of the benchmark"},
    })
    return lab


def exposed():
    """The lab's exposed services without TLS (no cert-manager here)."""
    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all.yml")) as f:
        services = yaml.safe_load(f)["autoextender_expose"]
    return [dict(svc, tls=False) for svc in services]


def provision(lab_dir, count):
    """Run provision once; return (seconds, changed count)."""
    pools = [{"name": "bench", "provider": "lab", "location": "loopback", "server_type": "lab-small",
              "count": count, "active": True, "join": "maintenance"}]
    env = dict(os.environ, AUTOEXTENDER_LAB_DIR=lab_dir, ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "inventories/lab",
            "playbooks/provision.yml", "-e", json.dumps({"autoextender_pools": pools, "autoextender_expose": exposed()})]
    log = os.path.join(lab_dir, "provision-%d.log" % len(glob.glob(os.path.join(lab_dir, "provision-*.log"))))
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env, check=False, timeout=3600)
    seconds = time.monotonic() - start
    with open(log) as f:
        output = f.read()
    if proc.returncode != 0:
        raise SystemExit("provision of %d node(s) failed (%s):\n%s" % (count, log, output[-4000:]))
    changed = int(re.findall(r"changed=(\d+)", output)[-1])
    return seconds, changed


def measure(count, latency, keep):
    lab_dir = tempfile.mkdtemp(prefix="bench-provision-%d-" % count, dir=keep)
    try:
        with contextlib.ExitStack() as stack:
            lab = start_lab(lab_dir, stack, latency)
            first, changed = provision(lab_dir, count)
            first_calls = len(lab.log)
            rerun, rerun_changed = provision(lab_dir, count)
            rerun_calls = len(lab.log) - first_calls
        return {"nodes": count, "first": first, "changed": changed, "rerun": rerun, "rerun_changed": rerun_changed,
                "calls": first_calls, "rerun_calls": rerun_calls}
    finally:
        if not keep:
            shutil.rmtree(lab_dir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,5,20")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every lab cloud request")
    parser.add_argument("--keep", help="keep the labs' folders under this directory")
    args = parser.parse_args(argv)
    rows = []
    for count in [int(c) for c in args.counts.split(",")]:
        rows.append(measure(count, args.latency, args.keep))
        print("measured %d node(s): %s" % (count, json.dumps(rows[-1])), flush=True)
    print("\nprovision.yml on the lab, lab cloud latency %.0f ms per request (%d CPUs)\n" % (args.latency * 1000,
                                                                                             os.cpu_count()))
    print("| nodes | first run | changed | re-run | re-run changed | API calls/node (first) | API calls/node (re-run) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %d | %.1f s | %d | %.1f s | %d | %.1f | %.1f |" % (
            r["nodes"], r["first"], r["changed"], r["rerun"], r["rerun_changed"],
            r["calls"] / float(r["nodes"]), r["rerun_calls"] / float(r["nodes"])))
    return 0 if all(r["rerun_changed"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
