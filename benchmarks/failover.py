"""Seconds until a killed edge node's address is out of DNS, with failover run in a loop as a schedule would.

    python3 benchmarks/failover.py [--count 3] [--kills 2] [--interval 0] [--keep]
    python3 benchmarks/failover.py --floating [--count 3] [--clients 4] [--interval 0]   (root: the lab data path)
    python3 benchmarks/failover.py --floating --watch [--interval 120]   (the floating watch back to back as well)
    python3 benchmarks/failover.py --floating --watch --watch-seconds 60   (each watch one task of 60 s)

With --floating, pool lab-a has a floating IPv4 address (docs/failover.md). Clients that keep one cached answer
(the floating address; they never resolve again) request the home app through it 10 times a second; the node the
address is routed to is killed, and the benchmark prints the failed requests and the seconds from the kill to the
first successful request after it, with when the address moved and when the node's own address left DNS.
With --watch, the floating watch (failover.yml -e failover_floating_only=true, docs/failover.md) also runs back to
back, next to the full runs every --interval seconds: the deployment the docs recommend for floating addresses.
With --watch-seconds N, each floating watch is one task of N seconds that probes every second
(-e failover_watch_seconds=N); the kill comes N/2 seconds into the second run, inside its watch.

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

    def __init__(self, lab, pools, interval, extra=None):
        super().__init__(daemon=True)
        self.lab, self.pools, self.interval, self.extra = lab, pools, interval, extra or {}
        self.runs, self.stop = [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            start = time.monotonic()
            seconds, proc = self.lab.playbook("failover", dict(self.extra, autoextender_pools=self.pools))
            changed = [line for line in proc.stdout.splitlines() if line.startswith("localhost") and "changed=" in line]
            self.runs.append((start, seconds, changed[-1].split("changed=")[1].split()[0] if changed else "?",
                              proc.returncode))
            if proc.returncode != 0:
                print(proc.stdout[-3000:])
            self.stop.wait(self.interval)


class Clients:
    """``count`` clients, each requesting ``url`` (Host ``host``) again ``pause`` seconds after each answer (1 s
    timeout); records (monotonic time at the end, ok) of every request. They never resolve a name."""

    def __init__(self, url, host, count, pause=0.1):
        self.url, self.host, self.count, self.pause = url, host, count, pause
        self.results, self.stop, self.lock = [], threading.Event(), threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for dummy in range(count)]

    def request(self):
        import urllib.error
        import urllib.request
        req = urllib.request.Request(self.url, headers={"Host": self.host} if self.host else {})
        try:
            with urllib.request.urlopen(req, timeout=1.0) as answer:
                answer.read()
                return answer.status < 500
        except urllib.error.HTTPError as e:
            return e.code < 500
        except OSError:
            return False

    def run(self):
        while not self.stop.is_set():
            ok = self.request()
            with self.lock:
                self.results.append((time.monotonic(), ok))
            self.stop.wait(self.pause)  # 10 requests a second per client: the 2-core machine also runs the lab

    def start(self):
        for thread in self.threads:
            thread.start()

    def close(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(5)


def floating(args, lab, pools):
    """The --floating mode: see the module docstring."""
    found = lab.api("GET", "/floating_ips?label_selector=autoextender-pool%3Dlab-a")["floating_ips"]
    if not found or not found[0]["server"]:
        raise SystemExit("pool lab-a has no routed floating address after provision: %s" % found)
    fip = found[0]
    servers = dict((s["id"], s) for s in lab.servers("lab-a"))
    victim = servers[fip["server"]]
    url, host = lab.target(fip["ip"])
    clients = Clients(url, host, args.clients)
    clients.start()
    loop = Loop(lab, pools, args.interval)
    loop.start()
    extra = dict({"failover_floating_only": True}, **({"failover_watch_seconds": args.watch_seconds}
                                                      if args.watch_seconds else {}))
    watch = Loop(lab, pools, 0, extra) if args.watch else None
    if watch:
        watch.start()
    quiet = 1 if args.watch_seconds else args.quiet_runs
    while len(loop.runs) < args.quiet_runs or (watch and len(watch.runs) < quiet):
        time.sleep(0.2)
    if watch and args.watch_seconds:
        # Half a watch into the next run: past ansible-playbook's start-up and the watch's first listing (a kill
        # in that gap waits for them; docs/failover.md gives both cases).
        time.sleep(args.watch_seconds / 2)
    before = list(clients.results)
    print("floating address %s on %s; %d clients; requests before the kill: %d, failed %d"
          % (fip["ip"], victim["name"], args.clients, len(before), sum(1 for r in before if not r[1])))
    killed = time.monotonic()
    lab.poweroff(victim)
    moved = out_of_dns = first_ok = None
    while time.monotonic() - killed < 600 and None in (moved, out_of_dns, first_ok):
        now = time.monotonic()
        if moved is None and lab.api("GET", "/floating_ips/%s" % fip["id"])["floating_ip"]["server"] != victim["id"]:
            moved = now - killed
        if out_of_dns is None and victim["public_net"]["ipv4"] not in lab.resolve()[0]:
            out_of_dns = now - killed
        with clients.lock:
            first_ok = recovered(clients.results, killed)
        time.sleep(0.1)
    time.sleep(2)  # the requests in flight at the first success end
    clients.close()
    for each in (loop, watch):
        if each:
            each.stop.set()
            each.join(120)
    after = [r for r in clients.results if r[0] > killed]
    failed = [r for r in after if not r[1]]
    target = lab.api("GET", "/floating_ips/%s" % fip["id"])["floating_ip"]["server"]
    print("failover runs: %d, seconds each: median %.1f, max %.1f; failed runs: %d"
          % (len(loop.runs), statistics.median(r[1] for r in loop.runs), max(r[1] for r in loop.runs),
             sum(1 for r in loop.runs if r[3] != 0)))
    if watch:
        print("floating watch runs: %d, seconds each: median %.1f, max %.1f; failed runs: %d"
              % (len(watch.runs), statistics.median(r[1] for r in watch.runs), max(r[1] for r in watch.runs),
                 sum(1 for r in watch.runs if r[3] != 0)))
    print("killed %s: address moved to %s after %s s; first successful request after the outage %s s after the kill; "
          "node address out of DNS "
          "after %s s" % (victim["name"], servers.get(target, {}).get("name", target), _s(moved), _s(first_ok),
                          _s(out_of_dns)))
    print("requests after the kill: %d, failed: %d (the last failure %s s after the kill); clients never re-resolved"
          % (len(after), len(failed), _s(max(r[0] for r in failed) - killed if failed else None)))
    runs = loop.runs + (watch.runs if watch else [])
    return 0 if first_ok is not None and all(r[3] == 0 for r in runs) else 1


def recovered(results, killed):
    """Seconds from ``killed`` to the first successful request after the first failed one (requests that were
    answered before the node was gone do not count); 0 when no request failed after the kill; None while none
    succeeded yet."""
    after = [(t, ok) for t, ok in results if t > killed]
    first_fail = next((t for t, ok in after if not ok), None)
    if first_fail is None:
        return 0.0 if after and any(ok for t, ok in after if t > killed + 5) else None
    return next((t - killed for t, ok in after if ok and t > first_fail), None)


def _s(seconds):
    return "never" if seconds is None else "%.1f" % seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3, help="nodes in the pool")
    parser.add_argument("--kills", type=int, default=2, help="nodes to kill, one after the other (< count)")
    parser.add_argument("--interval", type=float, default=0.0, help="seconds between the end of a run and the next")
    parser.add_argument("--quiet-runs", type=int, default=3, help="runs with all well before the first kill")
    parser.add_argument("--keep", action="store_true", help="leave the lab running")
    parser.add_argument("--floating", action="store_true", help="a floating address and clients that keep it (root)")
    parser.add_argument("--clients", type=int, default=4, help="with --floating: clients requesting without pause")
    parser.add_argument("--watch", action="store_true",
                        help="with --floating: the floating watch back to back too (the full runs every --interval)")
    parser.add_argument("--watch-seconds", type=int, default=0,
                        help="with --watch: each floating watch one task of this many seconds (failover_watch_seconds)")
    args = parser.parse_args()
    pools = [pool("lab-a", "loopback", args.count, True)]
    if args.floating:
        pools[0]["floating"] = {"ipv4": True}
    with BenchLab(keep=args.keep) as lab:
        print("lab in %s; data path: %s" % (lab.dir, "real edges (root)" if lab.datapath else "loopback health endpoints"))
        if args.floating and not lab.datapath:
            raise SystemExit("--floating needs the lab data path (root): the address is routed between namespaces")
        print("provision lab-a (%d nodes): %.1f s" % (args.count, lab.must("provision", {"autoextender_pools": pools})))
        if args.floating:
            return floating(args, lab, pools)
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
