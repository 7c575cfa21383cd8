"""How long from a record-set write returning to the authoritative server answering the new set.

Starts its own real servers with the test-bed code (PowerDNS with its HTTP API
and RFC 2136, BIND with TSIG), then for each backend, N times: replace the
edge A set with new values through the collection's DnsProvider, note when the
call returns, and query the server over UDP every millisecond until it answers
exactly the new set. Prints the write time and the "returned -> answered" time
(median, p95, max).

    python3 benchmarks/bench_dns.py [--runs 30]        (or: make bench BENCH=bench_dns)

The simulated HTTP APIs (Cloudflare, Hetzner, Linode) have no DNS server to
ask, so they are not measured here.
"""
import argparse
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

# First: the checkout's venv, tools and collection.
import _venv  # noqa: E402,F401  # pylint: disable=unused-import

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, ".cache", "collections"))
sys.path.insert(0, REPO)

import dns.message  # noqa: E402
import dns.query  # noqa: E402

from ansible_collections.talos.autoextender.plugins.module_utils._dns import registry  # noqa: E402
from ansible_collections.talos.autoextender.plugins.module_utils._dns.base import record_set  # noqa: E402
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline  # noqa: E402
from tests.support import tools  # noqa: E402


def answered(host, port, name):
    response = dns.query.udp(dns.message.make_query(name, "A"), host, port=port, timeout=1)
    return sorted(rd.to_text() for rrset in response.answer for rd in rrset)


def measure(backend, host, port, runs, limit=10.0):
    name = "edge." + backend.zone
    writes, visible = [], []
    for run in range(runs):
        values = sorted("192.0.2." + str(octet) for octet in random.sample(range(1, 255), 3))
        start = time.monotonic()
        backend.replace(record_set(name, "A", 60, values))
        returned = time.monotonic()
        while answered(host, port, name) != values:
            if time.monotonic() - returned > limit:
                raise RuntimeError("%s: run %d not answered after %.0fs" % (backend.name, run, limit))
            time.sleep(0.001)
        visible.append(time.monotonic() - returned)
        writes.append(returned - start)
    return writes, visible


def p95(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def line(label, values):
    ms = [v * 1000 for v in values]
    return "%-44s median %7.1f ms   p95 %7.1f ms   max %7.1f ms" % (label, statistics.median(ms), p95(ms), max(ms))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    results = []
    with contextlib.ExitStack() as stack:
        workdir = tempfile.mkdtemp(prefix="autoextender-dns-bench-")
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        beds = []
        if tools.version("pdns"):
            from tests.support.pdns import start_powerdns
            os.mkdir(os.path.join(workdir, "pdns"))
            pdns = start_powerdns(os.path.join(workdir, "pdns"), stack)
            pdns.create_zone("bench.test.")
            beds.append(("powerdns (HTTP API)", registry.backend(
                "powerdns", "bench.test", {"api_token": pdns.api_key}, {"api_url": pdns.api_url}), pdns.host, pdns.dns_port))
            pdns.create_zone("bench2.test.")
            beds.append(("rfc2136 -> PowerDNS (no TSIG)", registry.backend(
                "rfc2136", "bench2.test", {}, {"server": pdns.host, "port": pdns.dns_port}), pdns.host, pdns.dns_port))
        else:
            print("PowerDNS: not installed (make tools), skipped")
        if tools.version("bind"):
            from tests.support.bind import start_bind
            os.mkdir(os.path.join(workdir, "bind"))
            bind = start_bind(os.path.join(workdir, "bind"), stack)
            beds.append(("rfc2136 -> BIND (TSIG)", registry.backend(
                "rfc2136", bind.zone, {"tsig_key_secret": bind.key_secret},
                {"server": bind.host, "port": bind.port, "tsig_key_name": bind.key_name}), bind.host, bind.port))
        else:
            print("BIND: not installed (make tools), skipped")
        for label, backend, host, port in beds:
            backend.options["deadline"] = Deadline(600)
            writes, visible = measure(backend, host, port, args.runs)
            results.append((label, writes, visible))
    print("DNS benchmark: %d runs per backend (%s)" % (args.runs, python_line()))
    for label, writes, visible in results:
        print(line(label + " write", writes))
        print(line(label + " returned->answered", visible))
    return 0 if results else 1


def python_line():
    return "pdns %s, bind %s" % (tools.version("pdns") or "missing", tools.version("bind") or "missing")


if __name__ == "__main__":
    sys.exit(main())
