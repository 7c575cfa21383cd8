#!/usr/bin/env python3
"""Start, stop and show the lab's real data path (root only; see docs/lab-datapath.md).

    hack/labnet.py up          --state-dir DIR [--edge NAME[=IP]]...   bridge, home (+ edges)
    hack/labnet.py status      --state-dir DIR [--json]               probes every edge
    hack/labnet.py down        --state-dir DIR | --all                 removes everything
    hack/labnet.py add-edge    --state-dir DIR NAME [--public-ip IP]
    hack/labnet.py remove-edge --state-dir DIR NAME
    hack/labnet.py kill        --state-dir DIR NAME [--how proxy|link] (failure injection)
    hack/labnet.py revive      --state-dir DIR NAME

``up`` and ``add-edge`` end with one JSON line (hack/lab.py reads it). When the data
path cannot run here (not root, a tool missing), ``up`` says why in that JSON line
(``"enabled": false``) and exits 0, so the rest of the lab still runs on loopback.
"""
import argparse
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.support import labnet  # noqa: E402


def _edge_specs(values):
    specs = []
    for value in values or []:
        name, dummy, ip = value.partition("=")
        specs.append((name, ip or None))
    return specs


def cmd_up(lab, args):
    reasons = labnet.missing()
    if reasons:
        print(json.dumps({"enabled": False, "reason": "; ".join(reasons)}))
        return 0
    lab.up()
    for name, ip in _edge_specs(args.edge):
        if name not in lab.edges:
            lab.add_edge(name, ip)
    report = labnet.report(lab)
    _print_human(report)
    print(json.dumps(report, sort_keys=True))
    return 0


def cmd_status(lab, args):
    report = labnet.report(lab.attach())
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        _print_human(report)
    healthy = report["home"]["running"] and all(e["healthy"] for e in report["edges"].values())
    return 0 if healthy else 1


def cmd_down(lab, args):
    if args.all:
        removed = labnet.down_all()
        print("labnet: removed %d leftover(s)%s" % (len(removed), "".join("\n  " + r for r in removed)))
    else:
        lab.down(keep_slot=args.keep_slot)
        print("labnet: down (%s)%s" % (lab.state_dir, ", its slot kept for its next up" if args.keep_slot else ""))
    return 0


def cmd_add_edge(lab, args):
    edge = lab.attach().add_edge(args.name, args.public_ip)
    print(json.dumps({"name": edge.name, "public_ip": edge.public_ip, "url": edge.url}))
    return 0


def cmd_remove_edge(lab, args):
    lab.attach().remove_edge(args.name)
    print("labnet: removed edge %s" % args.name)
    return 0


def cmd_kill(lab, args):
    edge = lab.attach().edge(args.name)
    if args.how == "proxy":
        edge.stop_proxy()
    else:
        edge.link_down()
    print("labnet: edge %s killed (%s)" % (args.name, args.how))
    return 0


def cmd_revive(lab, args):
    edge = lab.attach().edge(args.name)
    edge.link_up()
    edge.start_proxy(lab.home)
    print("labnet: edge %s revived" % args.name)
    return 0


def _print_human(report):
    home = report["home"]
    print("labnet: slot %s, public range %s (host %s), state %s"
          % (report["slot"], report["subnet"], report["host_ip"], report["state_dir"]))
    print("  home   netns %-22s app %s (tunnel only)  %s"
          % (home["netns"], home["app"], "running" if home["running"] else "NOT RUNNING"))
    for name, edge in sorted(report["edges"].items()):
        print("  edge   %-12s %-15s %s  wg rx/tx %s/%s  probe: %s"
              % (name, edge["public_ip"], "healthy  " if edge["healthy"] else "UNHEALTHY",
                 edge["rx_bytes"], edge["tx_bytes"], edge["probe"]))
    if not report["edges"]:
        print("  (no edges; add one: hack/labnet.py add-edge --state-dir %s NAME)" % report["state_dir"])


COMMANDS = {"up": cmd_up, "status": cmd_status, "down": cmd_down, "add-edge": cmd_add_edge,
            "remove-edge": cmd_remove_edge, "kill": cmd_kill, "revive": cmd_revive}


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=sorted(COMMANDS))
    parser.add_argument("name", nargs="?", help="edge name (add-edge, remove-edge, kill, revive)")
    parser.add_argument("--state-dir", default=os.path.join(REPO, ".lab", "net"))
    parser.add_argument("--edge", action="append", metavar="NAME[=IP]", help="with up: also create this edge")
    parser.add_argument("--public-ip", help="with add-edge: the edge's address in the lab range")
    parser.add_argument("--how", choices=("proxy", "link"), default="proxy", help="with kill: stop Traefik or cut the link")
    parser.add_argument("--json", action="store_true", help="with status: JSON output")
    parser.add_argument("--all", action="store_true", help="with down: remove every ae- namespace and link")
    parser.add_argument("--keep-slot", action="store_true",
                        help="with down: keep the state and reserve the slot, so the next up takes the same addresses")
    args = parser.parse_intermixed_args(argv)
    if args.action in ("add-edge", "remove-edge", "kill", "revive") and not args.name:
        parser.error("%s needs an edge NAME" % args.action)
    return args


def main(argv=None):
    args = parse(argv)
    lab = labnet.LabNetwork(args.state_dir)
    try:
        return COMMANDS[args.action](lab, args)
    except labnet.LabnetError as exc:
        print("labnet: %s" % exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
