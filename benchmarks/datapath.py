"""Requests/s and p50/p99 latency through one lab edge over the WireGuard tunnel (root only).

    sudo python3 benchmarks/datapath.py [--duration 5] [--concurrency 8]

Builds its own lab data path (tests/support/labnet: host -> edge Traefik -> wireguard-go
-> home app), runs HTTP clients on the host against the edge's public IP, first with
keep-alive connections, then with a new TCP connection per request, prints the figures
and the WireGuard bytes the home peer counted, and always tears the lab down.
"""
import argparse
import http.client
import math
import os
import sys
import tempfile
import threading
import time

# First: the checkout's venv, tools and collection.
import _venv  # noqa: E402,F401  # pylint: disable=unused-import

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.support import labnet  # noqa: E402


def percentile(sorted_values, pct):
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(pct / 100.0 * len(sorted_values)) - 1)]


def client(host, deadline, keepalive, latencies, errors):
    conn = None
    while time.monotonic() < deadline:
        start = time.perf_counter()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, 80, timeout=10)
            conn.request("GET", "/bench")
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors.append("HTTP %d" % resp.status)
            else:
                latencies.append(time.perf_counter() - start)
        except (OSError, http.client.HTTPException) as exc:
            errors.append(exc.__class__.__name__)
            conn.close()
            conn = None
            continue
        if not keepalive:
            conn.close()
            conn = None
    if conn is not None:
        conn.close()


def run(lab, edge, mode, duration, concurrency):
    latencies, errors = [], []
    before = lab.home.wg_show()["peers"][edge.public_key]
    deadline = time.monotonic() + duration
    threads = [threading.Thread(target=client, args=(edge.public_ip, deadline, mode == "keep-alive", latencies, errors))
               for dummy in range(concurrency)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    after = lab.home.wg_show()["peers"][edge.public_key]
    lat = sorted(latencies)
    wg_bytes = (after["rx_bytes"] - before["rx_bytes"]) + (after["tx_bytes"] - before["tx_bytes"])
    print("%-10s  %6d ok  %4d errors  %8.1f req/s  p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms  max %7.2f ms  "
          "wireguard %5.1f MB (%d B/request)"
          % (mode, len(lat), len(errors), len(lat) / elapsed, percentile(lat, 50) * 1e3, percentile(lat, 90) * 1e3,
             percentile(lat, 99) * 1e3, (lat[-1] if lat else float("nan")) * 1e3, wg_bytes / 1e6,
             wg_bytes // max(1, len(lat))))
    return len(errors)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run (default 5)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    args = parser.parse_args(argv)
    reasons = labnet.missing()
    if reasons:
        print("datapath benchmark not run: " + "; ".join(reasons))
        return 2
    with tempfile.TemporaryDirectory(prefix="autoextender-bench-") as state_dir:
        lab = labnet.LabNetwork(state_dir, owner_pid=os.getpid())
        try:
            lab.up()
            edge = lab.add_edge("bench")
            for dummy in range(20):  # warm up: handshake done, upstream keep-alive pool filled
                labnet.get(edge.public_ip, "/warmup")
            print("datapath: host -> %s (Traefik in %s) -> wireguard-go MTU 1420 -> %s (home app); "
                  "%d clients, %.0fs per run, %d CPUs"
                  % (edge.public_ip, edge.netns, lab.home.upstream, args.concurrency, args.duration, os.cpu_count()))
            failed = sum(run(lab, edge, mode, args.duration, args.concurrency) for mode in ("keep-alive", "new-conn"))
        finally:
            lab.down()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
