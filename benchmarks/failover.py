"""Seconds until a killed edge node's address is out of DNS, with failover run in a loop as a schedule would.

    python3 benchmarks/failover.py [--count 3] [--kills 2] [--interval 0] [--keep]

Starts a lab of its own (hack/lab.py), provisions pool lab-a with --count nodes, then
runs playbooks/failover.yml in a loop (a new run --interval seconds after the last
one ended: 0 is back to back, 120 is the shipped schedule). It first measures runs
where all is well (the cost of the schedule), then kills nodes one at a time (power
off through the lab cloud's API; as root that also removes the node's real edge) and
polls the lab's PowerDNS every 0.1 s until the address is gone. Prints, per kill,
the seconds until the address left DNS, and the run times.
"""
import argparse
import statistics
import sys
import threading
import time

# First: the checkout's venv, tools and collection.
import _venv  # noqa: E402,F401  # pylint: disable=unused-import

from _lab_bench import BenchLab, pool  # noqa: E402


class Loop(threading.Thread):
    """Runs failover.yml until stopped; records (start, seconds, changed, rc) per run."""

    def __init__(self, lab, pools, interval):
        super().__init__(daemon=True)
        self.lab, self.pools, self.interval = lab, pools, interval
        self.runs, self.stop = [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            start = time.monotonic()
            seconds, proc = self.lab.playbook("failover", {"autoextender_pools": self.pools})
            changed = [line for line in proc.stdout.splitlines() if line.startswith("localhost") and "changed=" in line]
            self.runs.append((start, seconds, changed[-1].split("changed=")[1].split()[0] if changed else "?",
                              proc.returncode))
            if proc.returncode != 0:
                print(proc.stdout[-3000:])
            self.stop.wait(self.interval)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3, help="nodes in the pool")
    parser.add_argument("--kills", type=int, default=2, help="nodes to kill, one after the other (< count)")
    parser.add_argument("--interval", type=float, default=0.0, help="seconds between the end of a run and the next")
    parser.add_argument("--quiet-runs", type=int, default=3, help="runs with all well before the first kill")
    parser.add_argument("--keep", action="store_true", help="leave the lab running")
    args = parser.parse_args()
    pools = [pool("lab-a", "loopback", args.count, True)]
    with BenchLab(keep=args.keep) as lab:
        print("lab in %s; data path: %s" % (lab.dir, "real edges (root)" if lab.datapath else "loopback health endpoints"))
        print("provision lab-a (%d nodes): %.1f s" % (args.count, lab.must("provision", {"autoextender_pools": pools})))
        loop = Loop(lab, pools, args.interval)
        loop.start()
        while len(loop.runs) < args.quiet_runs:
            time.sleep(0.2)
        quiet = [r[1] for r in loop.runs[:args.quiet_runs]]
        detections = []
        for server in lab.servers("lab-a")[:min(args.kills, args.count - 1)]:
            ip = server["public_net"]["ipv4"]
            killed = time.monotonic()
            lab.poweroff(server)
            while ip in lab.resolve()[0]:
                if time.monotonic() - killed > 600:
                    raise SystemExit("%s still in DNS after 600 s" % ip)
                time.sleep(0.1)
            detections.append((server["name"], ip, time.monotonic() - killed))
        loop.stop.set()
        loop.join(120)
        ttl = lab.resolve()[1]
        print("failover runs with all well: %d, seconds each: median %.1f, min %.1f, max %.1f (changed=%s)"
              % (len(quiet), statistics.median(quiet), min(quiet), max(quiet),
                 ",".join(r[2] for r in loop.runs[:args.quiet_runs])))
        print("all runs: %d, seconds each: median %.1f, max %.1f; failed runs: %d"
              % (len(loop.runs), statistics.median(r[1] for r in loop.runs), max(r[1] for r in loop.runs),
                 sum(1 for r in loop.runs if r[3] != 0)))
        for name, ip, seconds in detections:
            print("killed %s (%s): out of DNS after %.1f s (loop interval %.0f s)" % (name, ip, seconds, args.interval))
        print("left in DNS: %s (TTL %d s; a resolver may keep a removed address up to one TTL longer)"
              % (" ".join(lab.resolve()[0]), ttl))
        worst = max(r[1] for r in loop.runs)
        print("with the shipped 2-minute schedule: out of DNS within about 120 + %.0f s, clients within + %d s" % (worst, ttl))
        return 0 if all(r[3] == 0 for r in loop.runs) else 1


if __name__ == "__main__":
    sys.exit(main())
