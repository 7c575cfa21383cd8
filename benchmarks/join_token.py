"""Seconds a worker join token rotation takes on the lab, by the number of edge nodes.

    python3 benchmarks/join_token.py [--count 3] [--keep]

Starts a lab of its own (hack/lab.py), provisions pool lab-a with --count nodes (join: maintenance, the
product's default), then runs playbooks/rotate_credentials.yml -e credential_rotation_join_token=<new>:
the lab's home node, the secrets bundle and its copy, then every edge node (the lab's machines take a token
change with a reboot, as Talos 1.13 does; 1.14 applies it without one). Prints the rotation's seconds, the
seconds per node, and a second run's (nothing to switch: each node's dry run, the pool's firewall opened and
closed).
"""
import argparse
import re
import secrets
import string

import _venv  # noqa: E402,F401  # pylint: disable=unused-import

from _lab_bench import BenchLab, pool  # noqa: E402


def new_token():
    alphabet = string.ascii_lowercase + string.digits
    first, second = ("".join(secrets.choice(alphabet) for dummy in range(n)) for n in (6, 16))
    return first + "." + second


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=3, help="edge nodes in pool lab-a")
    p.add_argument("--keep", action="store_true", help="keep the lab afterwards")
    args = p.parse_args()
    pools = [dict(pool("lab-a", "loopback", args.count, True), join="maintenance")]
    with BenchLab(keep=args.keep) as lab:
        print("provision lab-a (%d nodes): %.1f s" % (args.count, lab.must("provision", {"autoextender_pools": pools})))
        token = new_token()
        extra = {"autoextender_pools": pools, "credential_rotation_join_token": token}
        rotation = lab.must("rotate_credentials", extra)
        seconds, proc = lab.playbook("rotate_credentials", extra)
        if proc.returncode != 0:
            raise SystemExit("the second rotation failed:\n" + proc.stdout[-4000:])
        switched = re.search(r"edge nodes switched: none; already on it: ([^\"]*)\"", proc.stdout)
        nodes = args.count + 1  # and the home node
        print("rotation, %d nodes (home + %d edge): %.1f s, %.1f s a node"
              % (nodes, args.count, rotation, rotation / nodes))
        print("second run (nothing to switch%s): %.1f s" % (
            ", already on it: " + switched.group(1) if switched else "", seconds))


if __name__ == "__main__":
    main()
