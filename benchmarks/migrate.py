"""Failed requests and latency of DNS-following clients while the edge migrates from one pool to another.

    python3 benchmarks/migrate.py [--count 2] [--rate 20] [--clients 4] [--keep]

Starts a lab of its own (hack/lab.py), provisions pool lab-a (playbooks/provision.yml),
then runs playbooks/migrate.yml lab-a -> lab-b while clients send requests at a fixed
total rate. Each client resolves edge.lab.test through the lab's PowerDNS, keeps the
answer for its TTL (as a caching resolver does), and sends each request to a random
address of the answer. As root the requests go through the real data path (the edge's
Traefik, WireGuard, the home app: `GET /` with Host hello.lab.test); without root, to
the lab servers' health endpoints. Prints the failed requests (goal: 0), latency
percentiles, the DNS answers the clients saw and the migration's wall time.
"""
import argparse
import collections
import http.client
import random
import sys
import threading
import time
import urllib.parse

# First: the checkout's venv, tools and collection.
import _venv  # noqa: E402,F401  # pylint: disable=unused-import

from dns.exception import DNSException  # noqa: E402

from _lab_bench import BenchLab, percentile, pool  # noqa: E402


class Client(threading.Thread):
    """Sends one request every ``interval`` seconds to an address of the cached DNS answer."""

    def __init__(self, lab, interval, stop, results, seen):
        super().__init__(daemon=True)
        self.lab, self.interval, self.stop, self.results, self.seen = lab, interval, stop, results, seen
        self.answer, self.expires = [], 0.0

    def addresses(self):
        now = time.monotonic()
        if now >= self.expires or not self.answer:
            answer, ttl = self.lab.resolve()
            self.answer, self.expires = answer, now + ttl
            self.seen.setdefault(tuple(answer), time.monotonic())
        return self.answer

    def request(self):
        start = time.perf_counter()
        try:
            ip = random.choice(self.addresses())
            url, host = self.lab.target(ip)
            parts = urllib.parse.urlsplit(url)
            conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=2)
            try:
                conn.request("GET", parts.path, headers={"Host": host} if host else {})
                status = conn.getresponse().status
            finally:
                conn.close()
            error = None if status == 200 else "HTTP %d from %s" % (status, ip)
        except (OSError, http.client.HTTPException, IndexError, DNSException) as exc:
            error = "%s: %s" % (exc.__class__.__name__, exc)
        self.results.append((time.perf_counter() - start, error))

    def run(self):
        next_at = time.monotonic() + random.random() * self.interval
        while not self.stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0 and self.stop.wait(delay):
                break
            self.request()
            next_at += self.interval


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2, help="nodes per pool")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second, all clients together")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="leave the lab running")
    args = parser.parse_args()
    pools = [pool("lab-a", "loopback", args.count, True), pool("lab-b", "loopback-b", args.count, False)]
    with BenchLab(keep=args.keep) as lab:
        path = "real (root: edge Traefik + WireGuard + home app)" if lab.datapath else "off (lab health endpoints)"
        print("lab in %s; data path: %s" % (lab.dir, path))
        print("provision lab-a (%d nodes): %.1f s" % (args.count, lab.must("provision", {"autoextender_pools": pools[:1]})))
        results, seen, stop = [], collections.OrderedDict(), threading.Event()
        clients = [Client(lab, args.clients / args.rate, stop, results, seen) for dummy in range(args.clients)]
        for c in clients:
            c.start()
        time.sleep(2)
        started = time.monotonic()
        seconds, proc = lab.playbook("migrate", {"autoextender_pools": pools, "from_pool": "lab-a", "to_pool": "lab-b"})
        time.sleep(2)
        stop.set()
        for c in clients:
            c.join(5)
        if proc.returncode != 0:
            print(proc.stdout[-4000:])
            raise SystemExit("migrate.yml failed (rc %d)" % proc.returncode)
        latencies = sorted(t for t, e in results if e is None)
        errors = collections.Counter(e for t, e in results if e is not None)
        print("migrate lab-a -> lab-b: %.1f s (TTL %d s, waits 2 x TTL after each DNS change)"
              % (seconds, lab.resolve()[1]))
        failed = sum(errors.values())
        print("requests: %d at %.0f/s from %d clients, failed: %d" % (len(results), args.rate, args.clients, failed))
        for error, n in errors.most_common(5):
            print("  %5d x %s" % (n, error))
        print("latency ms: p50 %.1f  p95 %.1f  p99 %.1f  max %.1f" % tuple(
            1000 * v for v in (percentile(latencies, 50), percentile(latencies, 95), percentile(latencies, 99),
                               latencies[-1] if latencies else float("nan"))))
        print("DNS answers seen by the clients (seconds after the migration started):")
        for answer, at in seen.items():
            print("  %+7.1f  %s" % (at - started, " ".join(answer) or "(empty)"))
        return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
