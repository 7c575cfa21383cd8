#!/usr/bin/env python3
"""Run the lab cloud (tests/support/sim/lab.py, docs/lab.md) as a background process.

    hack/lab_cloud.py start  --state-dir DIR [--kubeconfig FILE] [--labnet NETDIR] [--home-config FILE]
                             [--trustd SECRETS] [--talos-sim PATH] [--reboot-seconds S]
    hack/lab_cloud.py status --state-dir DIR
    hack/lab_cloud.py stop   --state-dir DIR

``start`` launches ``serve`` detached and returns once the API answers. The
API URL, the token, the health port and the pid go to ``DIR/cloud.json``
(mode 0600): point ``LAB_CLOUD_CONFIG`` at it and the lab provider and the
edge_nodes inventory find the lab. The cloud's state (servers, images,
firewalls) is kept in ``DIR/lab-state.json`` (0600: it holds user data), so a
restart keeps it, and the token and health port stay the same. Every server is a
Talos machine (one talos-api-sim, tests/support/sim/node_api.py) whose disk is
``DIR/machines/<id>``: a restart boots the machines that ran again, and they
register their Nodes again as kubelets do. With ``--labnet`` (the state directory
of a running ``hack/labnet.py up``, root only) every server becomes an edge of
that lab network: public IP 10.250.N.x, health on port 80
(tests/support/sim/lab_edges.py). With ``--home-config`` (a controlplane config
of the home cluster) one more machine plays the home cluster's node; its address
is ``home_talos_api`` in cloud.json.
``start`` and ``status`` print one JSON line (without the token) last.
"""
import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

CONFIG = "cloud.json"


def read_config(state_dir):
    try:
        with open(os.path.join(state_dir, CONFIG)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_config(state_dir, data):
    path = os.path.join(state_dir, CONFIG)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except (OSError, TypeError):
        return False


def answers(config):
    """True when the API at ``config["url"]`` accepts the token."""
    request = urllib.request.Request(config["url"] + "/info", headers={"Authorization": "Bearer " + config["token"]})
    try:
        with urllib.request.urlopen(request, timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def public(config, state_dir):
    """What start/status print: everything but the token."""
    out = dict((k, v) for k, v in config.items() if k != "token")
    out.update(enabled=True, config=os.path.join(state_dir, CONFIG))
    return out


def serve(args):
    from tests.support import tools
    from tests.support.sim.lab import LabCloud

    previous = read_config(args.state_dir) or {}
    talos_sim = args.talos_sim or tools.which("talos-api-sim")
    if not talos_sim:
        raise SystemExit("lab_cloud: talos-api-sim not found (run `make tools` or pass --talos-sim)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *dummy: stop.set())
    signal.signal(signal.SIGINT, lambda *dummy: stop.set())
    lab = LabCloud(token=previous.get("token") or "lab-" + secrets.token_hex(16), state_dir=args.state_dir,
                   talos_sim=talos_sim, kubeconfig=args.kubeconfig, health_port=previous.get("health_port") or 0,
                   labnet_dir=args.labnet, reboot_seconds=args.reboot_seconds, home_config=args.home_config,
                   trustd=args.trustd)
    with lab:
        write_config(args.state_dir, {"url": lab.url, "token": lab.token, "pid": os.getpid(),
                                      "health_port": lab.health_port, "kubeconfig": args.kubeconfig,
                                      "talos_sim": talos_sim, "state_dir": args.state_dir, "labnet": args.labnet,
                                      "home_talos_api": lab.home_talos_api, "control_source": lab.control_source,
                                      "loopback_block": str(lab.block.network) if lab.block else None})
        stop.wait()
    return 0


def start(args):
    config = read_config(args.state_dir)
    if config and alive(config.get("pid")) and answers(config):
        print(json.dumps(public(config, args.state_dir)))
        return 0
    argv = [sys.executable, os.path.abspath(__file__), "serve", "--state-dir", args.state_dir]
    for flag in ("kubeconfig", "talos_sim", "labnet", "home_config", "trustd", "reboot_seconds"):
        if getattr(args, flag):
            argv += ["--" + flag.replace("_", "-"), str(getattr(args, flag))]
    with open(os.path.join(args.state_dir, "lab_cloud.log"), "ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=REPO)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        config = read_config(args.state_dir)
        if config and config.get("pid") == proc.pid and answers(config):
            print(json.dumps(public(config, args.state_dir)))
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    with open(os.path.join(args.state_dir, "lab_cloud.log")) as f:
        tail = f.read()[-3000:]
    raise SystemExit("lab_cloud: the lab cloud did not start; its log:\n" + tail)


def status(args):
    config = read_config(args.state_dir)
    if not config or not alive(config.get("pid")) or not answers(config):
        print(json.dumps({"enabled": False, "reason": "the lab cloud is not running (%s)" % args.state_dir}))
        return 1
    print(json.dumps(public(config, args.state_dir)))
    return 0


def stop(args):
    config = read_config(args.state_dir)
    pid = (config or {}).get("pid")
    if pid and alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    print(json.dumps({"enabled": False, "stopped": bool(pid)}))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "stop", "status", "serve"))
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--kubeconfig", help="register booted lab servers as Nodes in this cluster")
    parser.add_argument("--talos-sim", help="the lab machines' Talos API (default: found like the tests' tools)")
    parser.add_argument("--home-config", help="a controlplane config: one more machine plays the home cluster's node")
    parser.add_argument("--trustd", help="the home cluster's secrets bundle: signs its workers' API certificates")
    parser.add_argument("--reboot-seconds", type=float, default=2.0,
                        help="how long a machine's Talos API stays closed in a reboot (default 2)")
    parser.add_argument("--labnet", help="state dir of a running lab network: servers become its edges (root)")
    args = parser.parse_args(argv)
    args.state_dir = os.path.abspath(args.state_dir)
    args.labnet = os.path.abspath(args.labnet) if args.labnet else None
    args.home_config = os.path.abspath(args.home_config) if args.home_config else None
    args.trustd = os.path.abspath(args.trustd) if args.trustd else None
    os.makedirs(args.state_dir, mode=0o700, exist_ok=True)
    return {"start": start, "stop": stop, "status": status, "serve": serve}[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
