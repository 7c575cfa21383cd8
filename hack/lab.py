#!/usr/bin/env python3
"""Start, stop and show the local lab (docs/lab.md) outside of pytest.

    hack/lab.py up     [--dir .lab] [--talos-version V]
                                      the home cluster (etcd, kube-apiserver, kube-controller-manager,
                                      kube-scheduler, kwok), PowerDNS with the lab zone,
                                      Pebble and cert-manager, the lab cloud API, ExternalDNS
                                      (hack/lab_external_dns.py), and (as root) the real data path
    hack/lab.py status [--dir .lab]   which parts run and answer, and each server's Talos API
    hack/lab.py down   [--dir .lab] [--purge]
    hack/lab.py kill-edge NAME [--dir .lab]   power one lab server off, as if its machine died

The servers are the same ones the tests start (tests/support), detached so
that playbooks can run against them. Everything listens on loopback only.
``DIR/lab.json`` (mode 0600) tells the lab inventory where each part is; it
holds the lab's throwaway credentials. ``down`` stops every process whose
command line names the lab directory, so it also cleans up after a crash.

The lab keeps its data in DIR between runs: etcd's data (the Nodes and every
object of the "home cluster"), PowerDNS's database (the zone and its records)
and the lab cloud's servers. So ``up`` after ``down``, after a crash (a part
killed, ``kill -9``) or after a reboot brings back the same lab: it stops what
is left, starts every part again on its data (new ports and throwaway
credentials, a new lab.json), and the lab cloud's machines boot again from their
disks and register their Nodes again, as kubelets do when they start.

Every lab server is a Talos machine (one talos-api-sim, tests/support/sim/node_api.py),
and one more machine plays the home cluster's node: a controlplane config of the lab's
secrets bundle, so the lab's talosconfig gets in over mTLS. ``lab.json`` names its address
(``home.talos_api``) and the control node's address as the servers see it
(``control.source``, the source the firewalls let in to the Talos API). ``certificates`` names the
lab's ACME server (Pebble: ``acme_directory``, the CA of its HTTPS ``acme_ca``, and ``root``, the root
its certificates chain to, for ``curl --cacert``), the TSIG key cert-manager's RFC 2136 updates of the
lab zone are signed with, and the cert-manager controller's log. Pebble keeps nothing: after ``up``
again its root and ACME accounts are new, so run the cert_manager role again (its ClusterIssuers
name the new URL) and delete the Secrets of certificates issued before (cert-manager issues them
again). When the kept data cannot be started,
``up`` says so and refuses: ``down --purge`` then ``up`` starts an empty lab.
"""
import argparse
import contextlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import checkout_env  # noqa: E402 - hack/ is this script's folder

checkout_env.use_venv()  # `python3 hack/lab.py` from any shell runs in the checkout's venv

REPO = checkout_env.REPO
sys.path.insert(0, REPO)

from tests.support.cert_manager import install_crds, start_cert_manager  # noqa: E402
from tests.support.kube import start_cluster  # noqa: E402
from tests.support.pdns import start_powerdns  # noqa: E402
from tests.support.pebble import start_pebble  # noqa: E402
from tests.support.process import ServerFailed  # noqa: E402
from tests.support.specs import specs_dir  # noqa: E402
from tests.support.tools import version as tool_version  # noqa: E402

STATE = "lab.json"


def _write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)


def lab_processes(lab_dir, exclude=()):
    """PIDs of processes whose command line mentions ``lab_dir`` (and none of ``exclude``)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if lab_dir in cmdline and "hack/lab.py" not in cmdline and not any(e in cmdline for e in exclude):
            pids.append(int(entry))
    return pids


def load_state(lab_dir):
    path = os.path.join(lab_dir, STATE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _optional_part(script, args, lab_dir):
    """Run a part's own runner (hack/<script>) if it exists; return its JSON answer."""
    path = os.path.join(REPO, "hack", script)
    if not os.path.exists(path):
        return {"enabled": False, "reason": "hack/%s is not part of this checkout" % script}
    out = subprocess.run([sys.executable, path] + args, capture_output=True, text=True, check=False,
                         cwd=REPO, timeout=300)
    if out.returncode != 0:
        raise SystemExit("lab: %s %s failed:\n%s%s" % (script, " ".join(args), out.stdout, out.stderr))
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"enabled": True, "output": out.stdout.strip()}


#: what a lab keeps between runs (see the docstring)
KEPT = (os.path.join("kube", "etcd"), os.path.join("pdns", "pdns.sqlite3"), os.path.join("cloud", "lab-state.json"))


def _start_servers(lab_dir, zone, stack):
    """The home cluster's control plane and PowerDNS on the data ``lab_dir`` keeps (new ports and credentials)."""
    for part in ("kube", "pdns"):
        os.makedirs(os.path.join(lab_dir, part), mode=0o700, exist_ok=True)
    kube = start_cluster(os.path.join(lab_dir, "kube"), stack)
    pdns = start_powerdns(os.path.join(lab_dir, "pdns"), stack)
    if zone not in [z["name"] for z in pdns.api("GET", "/zones")]:
        pdns.create_zone(zone)
    return kube, pdns


#: the TSIG key cert-manager signs its RFC 2136 updates of the lab zone with
TSIG_KEY = "lab-cert-manager"


def _start_certificates(lab_dir, kube, pdns, zone, stack):
    """The lab's certificate authority and issuer: Pebble (validating DNS-01 against the lab's
    PowerDNS) and the cert-manager controller, with cert-manager's CRDs and controller RBAC,
    and the TSIG key PowerDNS then requires for updates of the zone. Off when a tool is missing."""
    missing = [tool for tool in ("pebble", "cert-manager") if not tool_version(tool)]
    crds = os.path.join(specs_dir() or "", "crds", "cert-manager")
    if missing or not os.path.isdir(crds):
        return {"enabled": False, "reason": "%s missing (make tools; the specs' crds/cert-manager)"
                % ", ".join(missing or [crds])}
    secret = pdns.require_tsig(zone, TSIG_KEY)
    nameserver = "%s:%d" % (pdns.host, pdns.dns_port)
    pebble = start_pebble(os.path.join(lab_dir, "pebble"), stack, nameserver)
    install_crds(kube, crds)
    start_cert_manager(os.path.join(lab_dir, "cert-manager"), stack, kube, [nameserver])
    return {"enabled": True, "acme_directory": pebble.directory, "acme_ca": pebble.tls_ca, "root": pebble.root_path,
            "nameserver": nameserver, "tsig": {"key_name": TSIG_KEY, "algorithm": "HMACSHA256", "secret": secret},
            "log": os.path.join(lab_dir, "cert-manager", "cert-manager.log")}


def up(lab_dir, zone, talos_version=None):
    state = load_state(lab_dir)
    if state and all(_alive(p) for p in state.get("pids", [])) and state.get("pids"):
        print("lab: already up (%s)" % os.path.join(lab_dir, STATE))
        return state
    kept = [k for k in KEPT if os.path.exists(os.path.join(lab_dir, k))]
    # A crash, a reboot or a part that died: stop whatever is left, then start every part on its data
    # (the data path on its slot, so the servers keep their addresses).
    down(lab_dir, purge=False, quiet=True, keep_slot=True)
    if kept:
        print("lab: starting the lab in %s again on its kept data (%s)" % (lab_dir, ", ".join(kept)))
    os.makedirs(lab_dir, mode=0o700, exist_ok=True)
    state = {"dir": lab_dir, "zone": zone.rstrip(".") + "."}
    try:
        with contextlib.ExitStack() as stack:
            kube, pdns = _start_servers(lab_dir, state["zone"], stack)
            state["certificates"] = _start_certificates(lab_dir, kube, pdns, state["zone"], stack)
            stack.pop_all()  # keep them running after this process exits
    except (ServerFailed, OSError, ValueError) as e:
        if not kept:
            raise
        raise SystemExit("lab: the lab's kept data in %s does not start again (%s).\nStart an empty lab instead: "
                         "python3 hack/lab.py down --purge --dir %s && python3 hack/lab.py up --dir %s"
                         % (lab_dir, str(e).splitlines()[0], lab_dir, lab_dir))
    state["kube"] = {"url": kube.url, "kubeconfig": kube.kubeconfig, "ca": kube.ca_path}
    state["powerdns"] = {"api_url": pdns.api_url, "api_key": pdns.api_key, "server": pdns.host,
                         "dns_port": pdns.dns_port}
    # The home node's Talos line (default: the lab inventory's autoextender_lab_talos_version).
    home_version = ["--talos-version", talos_version] if talos_version else []
    state["home"] = _optional_part("lab_home.py", ["up", "--dir", lab_dir, "--kubeconfig", kube.kubeconfig]
                                   + home_version, lab_dir)
    if os.geteuid() == 0:
        state["datapath"] = _optional_part("labnet.py", ["up", "--state-dir", os.path.join(lab_dir, "net")],
                                           lab_dir)
    else:
        state["datapath"] = {"enabled": False, "reason": "not root: the lab runs on loopback only"}
    # With the data path, every lab server becomes one of its edges (tests/support/sim/lab_edges.py);
    # on kept data, the lab cloud registers the Nodes of its running servers again (hack/lab_cloud.py).
    labnet = ["--labnet", os.path.join(lab_dir, "net")] if state["datapath"].get("enabled") else []
    home = ["--home-config", state["home"]["controlplane"], "--trustd", state["home"]["secrets"]] \
        if state["home"].get("controlplane") else []
    state["cloud"] = _optional_part("lab_cloud.py", ["start", "--state-dir", os.path.join(lab_dir, "cloud"),
                                                      "--kubeconfig", kube.kubeconfig] + labnet + home, lab_dir)
    if state["cloud"].get("home_talos_api"):
        state["home"]["talos_api"] = state["cloud"]["home_talos_api"]
        _optional_part("lab_home.py", ["endpoint", "--dir", lab_dir, "--address", state["home"]["talos_api"]]
                       + home_version, lab_dir)
    state["control"] = {"source": state["cloud"].get("control_source") or "127.0.0.1/32"}
    # ExternalDNS runs continuously once the external_dns role applied its Deployment (hack/lab_external_dns.py).
    state["external_dns"] = _optional_part("lab_external_dns.py", ["start", "--dir", lab_dir, "--kubeconfig",
                                                                   kube.kubeconfig], lab_dir)
    # The data path has its own status (hack/labnet.py status), the machines come and go with their
    # servers (status lists them): count the servers only.
    state["pids"] = lab_processes(lab_dir, exclude=(os.path.join(lab_dir, "net") + os.sep,
                                                    os.path.join(lab_dir, "cloud", "machines") + os.sep,
                                                    os.path.join(lab_dir, "external-dns") + os.sep))
    _write_private(os.path.join(lab_dir, STATE), state)
    return state


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def down(lab_dir, purge, quiet=False, keep_slot=False):
    if os.path.exists(os.path.join(REPO, "hack", "labnet.py")) and os.geteuid() == 0:
        subprocess.run([sys.executable, os.path.join(REPO, "hack", "labnet.py"), "down", "--state-dir",
                        os.path.join(lab_dir, "net")] + (["--keep-slot"] if keep_slot else []),
                       capture_output=True, check=False, timeout=120)
    pids = lab_processes(lab_dir)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.2)
        pids = [p for p in pids if _alive(p)]
        if not pids:
            break
    if purge:
        shutil.rmtree(lab_dir, ignore_errors=True)
    elif os.path.exists(os.path.join(lab_dir, STATE)):
        os.unlink(os.path.join(lab_dir, STATE))
    if not quiet:
        print("lab: down%s" % (" and removed %s" % lab_dir if purge else ""))


def _answers(url, headers=None, ca=None):
    """An empty string when ``url`` answers 200 within 2 s, else why not."""
    context = ssl.create_default_context(cafile=ca) if ca else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2,
                                    context=context) as answer:
            return "" if answer.status == 200 else "HTTP %d" % answer.status
    except (OSError, ValueError) as e:  # URLError, refused, timeout, TLS
        return str(getattr(e, "reason", None) or e)


def endpoints(state):
    """``[(part, url, why not)]`` for the kube-apiserver, PowerDNS's API and the lab cloud's API."""
    cloud_config = {}
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        with open(state["cloud"]["config"]) as f:
            cloud_config = json.load(f)
    kube, pdns = state["kube"], state["powerdns"]
    out = [("kube-apiserver", kube["url"], _answers(kube["url"] + "/readyz", ca=kube.get("ca"))),
           ("PowerDNS", pdns["api_url"], _answers(pdns["api_url"] + "/api/v1/servers/localhost",
                                                  {"X-API-Key": pdns["api_key"]}))]
    certificates = state.get("certificates") or {}
    if certificates.get("enabled"):
        out.append(("Pebble (ACME)", certificates["acme_directory"],
                    _answers(certificates["acme_directory"], ca=certificates["acme_ca"])))
    if cloud_config.get("url"):
        out.append(("lab cloud", cloud_config["url"], _answers(cloud_config["url"] + "/info",
                                                               {"Authorization": "Bearer " + cloud_config["token"]})))
    else:
        out.append(("lab cloud", "-", "no cloud.json"))
    return out


def status(lab_dir):
    state = load_state(lab_dir)
    if not state:
        print("lab: not running (no %s); start it with: python3 hack/lab.py up --dir %s"
              % (os.path.join(lab_dir, STATE), lab_dir))
        return 1
    running = [p for p in state.get("pids", []) if _alive(p)]
    answers = endpoints(state)
    print("lab: %d of %d processes running" % (len(running), len(state.get("pids", []))))
    for part, url, why in answers:
        print("  %-15s %s  %s" % (part, url, "answers" if not why else "DOES NOT ANSWER: " + why))
    print("  DNS             127.0.0.1:%s  zone %s  (kubeconfig %s)"
          % (state["powerdns"]["dns_port"], state["zone"], state["kube"]["kubeconfig"]))
    certificates = state.get("certificates") or {}
    print("  %-15s %s" % ("certificates", "cert-manager; the root to trust: " + certificates["root"]
                          if certificates.get("enabled") else certificates.get("reason", "off")))
    external_dns = state.get("external_dns") or {}
    print("  %-15s %s" % ("external-dns", "runs the Deployment %s once the external_dns role applied it; log %s"
                          % (external_dns["deployment"], external_dns["log"]) if external_dns.get("enabled")
                          else external_dns.get("reason", "off")))
    datapath = state.get("datapath") or {}
    print("  %-15s %s" % ("datapath", datapath.get("reason") or ("up" if datapath.get("enabled") else "off")))
    for line in machines(state):
        print(line)
    if len(running) == len(state.get("pids", [])) and not any(why for dummy, dummy, why in answers):
        return 0
    print("lab: not all of the lab runs; bring it back with: python3 hack/lab.py up --dir %s" % lab_dir)
    return 1


def cloud_api(state, method, path):
    with open(state["cloud"]["config"]) as f:
        cloud = json.load(f)
    request = urllib.request.Request(cloud["url"] + path, method=method,
                                     headers={"Authorization": "Bearer " + cloud["token"]})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def _stage(state_dir):
    with contextlib.suppress(OSError, ValueError):
        with open(os.path.join(state_dir, "status.json")) as f:
            return json.load(f).get("stage") or "?"
    return "not running"


def machines(state):
    """One line per Talos machine: the home node, then every lab server (its API address and stage)."""
    lines = []
    home = state.get("home") or {}
    if home.get("talos_api"):
        lines.append("  %-15s %s:50000  %s (the home cluster's node; talosconfig %s)"
                     % ("home node", home["talos_api"], _stage(os.path.join(state["dir"], "cloud", "machines", "home")),
                        home.get("talosconfig")))
    try:
        servers = cloud_api(state, "GET", "/servers?per_page=50")["servers"]
    except (OSError, ValueError, KeyError, TypeError):
        return lines
    for srv in servers:
        talos = srv.get("talos") or {}
        lines.append("  %-15s %s  %s, stage %s%s" % (
            "server", talos.get("api") or srv["public_net"]["ipv4"] or "-", srv["name"] + " " + srv["status"],
            talos.get("stage"), (", Node " + talos["node"]) if talos.get("node") else ""))
    return lines


def kill_edge(lab_dir, name):
    """Power the lab server ``name`` off through the lab cloud's API: its health endpoint (and, as root,
    its edge) goes away and its Node turns Ready=Unknown, as when a cloud VM dies (docs/failover.md)."""
    state = load_state(lab_dir)
    if not state:
        print("lab: not running (no %s)" % os.path.join(lab_dir, STATE))
        return 1
    def api(method, path):
        return cloud_api(state, method, path)

    servers = api("GET", "/servers?per_page=50&name=" + urllib.parse.quote(name))["servers"]
    if not servers:
        names = sorted(s["name"] for s in api("GET", "/servers?per_page=50")["servers"])
        print("lab: no server named %s (servers: %s)" % (name, ", ".join(names) or "none"))
        return 1
    api("POST", "/servers/%s/actions/poweroff" % servers[0]["id"])
    print("lab: %s (%s) is off" % (name, servers[0]["public_net"]["ipv4"]))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "down", "status", "kill-edge"))
    parser.add_argument("name", nargs="?", help="with kill-edge: the lab server to power off (e.g. lab-lab-a-1)")
    parser.add_argument("--dir", default=os.path.join(REPO, ".lab"))
    parser.add_argument("--zone", default="lab.test")
    parser.add_argument("--purge", action="store_true", help="with down: also remove the lab directory")
    parser.add_argument("--talos-version", help="with up: the home cluster's Talos version (default: the lab "
                                                "inventory's autoextender_lab_talos_version)")
    args = parser.parse_args(argv)
    lab_dir = os.path.abspath(args.dir)
    if args.action == "up":
        up(lab_dir, args.zone, args.talos_version)
        return status(lab_dir)
    if args.action == "down":
        down(lab_dir, args.purge)
        return 0
    if args.action == "kill-edge":
        if not args.name:
            parser.error("kill-edge needs the name of a lab server, e.g. lab-lab-a-1")
        return kill_edge(lab_dir, args.name)
    return status(lab_dir)


if __name__ == "__main__":
    sys.exit(main())
