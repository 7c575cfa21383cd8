"""Requests through the edge set while its Traefik rolls and while an edge pool is drained (root only).

    sudo python3 benchmarks/ingress_rollout.py [--concurrency 4] [--lab-dir DIR --keep] [--skip-drain]

Needs the lab's data path (root): every Traefik pod of the edge DaemonSet is a real
traefik process on its lab edge (docs/lab-datapath.md). With --lab-dir it uses that lab
(started with hack/lab.py up; it runs hack/lab_addons.yml and provision.yml there if the
edge is not serving yet), else it starts one of its own and always stops it. Three phases:

1. expose -> certificate: the expose role publishes one more host with TLS
   (benchmarks/playbooks/expose.yml); seconds from the start of that run until every edge
   serves it with a certificate that verifies against the lab's Pebble root.
2. rolling update: clients send HTTPS requests (new TCP and TLS connection each, the
   Pebble root, SNI hello.lab.test) to every edge address in turn while the edge_ingress
   role changes Traefik's log level (a new pod template: the DaemonSet rolls, one node at
   a time, maxSurge 1); the rollout's seconds from the role's start until every pod is
   updated and available.
3. drain: one more active pool (bench-b, one server) is provisioned and published, then
   decommissioned (playbooks/decommission.yml: out of DNS, 2 x TTL, drain, delete) while
   clients resolve edge.lab.test at the lab's PowerDNS (honouring its TTL) and send each
   request to one of the addresses it returned.

Prints, per phase: requests sent, failed (with the reasons), p50/p99/max latency.
"""
import argparse
import collections
import json
import os
import random
import socket
import ssl
import sys
import threading
import time
import http.client

# First: the checkout's venv, tools and collection.
import _venv  # noqa: E402,F401  # pylint: disable=unused-import

from _lab_bench import REPO, BenchLab, percentile  # noqa: E402

HOST = "hello.lab.test"
PLAYBOOKS = os.path.join(REPO, "benchmarks", "playbooks")
LAB_POOLS = [
    {"name": "lab-a", "provider": "lab", "location": "loopback", "server_type": "lab-small", "count": 2,
     "arch": "amd64", "active": True, "join": "maintenance"},
    {"name": "standby", "provider": "lab", "location": "loopback-b", "server_type": "lab-small", "count": 1,
     "arch": "amd64", "active": False, "join": "maintenance"},
]
DRAIN_POOL = {"name": "bench-b", "provider": "lab", "location": "loopback", "server_type": "lab-small", "count": 1,
              "arch": "amd64", "active": True, "join": "maintenance"}


def https_get(ip, host, context, timeout=5.0):
    """GET / for ``host`` on ip:443 over a new connection (SNI and Host = host); return the JSON body."""
    raw = socket.create_connection((ip, 443), timeout=timeout)
    try:
        conn = http.client.HTTPSConnection(host, 443, timeout=timeout, context=context)
        conn.sock = context.wrap_socket(raw, server_hostname=host)
        conn.request("GET", "/", headers={"Host": host, "Connection": "close"})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise http.client.HTTPException("HTTP %d" % resp.status)
        return json.loads(body)
    finally:
        raw.close()


class Clients:
    """``concurrency`` threads sending requests until stopped; ``pick()`` names the address of each one."""

    def __init__(self, context, pick, concurrency, pause=0.02):
        self.context, self.pick, self.pause = context, pick, pause
        self.latencies, self.errors = [], collections.Counter()
        self.sent = 0
        self.lock, self.stop = threading.Lock(), threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _thread in range(concurrency)]

    def run(self):
        while not self.stop.is_set():
            ip = self.pick()
            start = time.perf_counter()
            try:
                body = https_get(ip, HOST, self.context)
                ok = body.get("identity") == "home"
                error = None if ok else "not the home app"
            except (OSError, ssl.SSLError, http.client.HTTPException, ValueError) as exc:
                error = "%s via %s: %s" % (exc.__class__.__name__, ip, str(exc)[:80])
            with self.lock:
                self.sent += 1
                if error:
                    self.errors[error] += 1
                else:
                    self.latencies.append(time.perf_counter() - start)
            time.sleep(self.pause)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)
        return False

    def report(self, what, seconds):
        lat = sorted(self.latencies)
        failed = sum(self.errors.values())
        print("%s: %.1f s; requests sent %d, failed %d; latency ms p50 %.1f, p99 %.1f, max %.1f"
              % (what, seconds, self.sent, failed, 1000 * percentile(lat, 50), 1000 * percentile(lat, 99),
                 1000 * (lat[-1] if lat else float("nan"))))
        for error, count in self.errors.most_common(5):
            print("  failed %d x %s" % (count, error))
        return failed


class Resolver:
    """edge.lab.test from the lab's PowerDNS, asked again once its TTL has passed, as a stub resolver does."""

    def __init__(self, lab):
        self.lab, self.lock = lab, threading.Lock()
        self.addresses, self.expires = [], 0.0

    def pick(self):
        with self.lock:
            if time.monotonic() >= self.expires or not self.addresses:
                addresses, ttl = self.lab.resolve()
                self.addresses, self.expires = addresses or self.addresses, time.monotonic() + max(ttl, 1)
            return random.choice(self.addresses)


def kube(lab):
    from kubernetes import client, config
    return client.AppsV1Api(config.new_client_from_config(config_file=lab.state["kube"]["kubeconfig"]))


def rolled(apps, generation):
    """True once the edge DaemonSet's template newer than ``generation`` runs, updated and available, everywhere."""
    ds = apps.read_namespaced_daemon_set("traefik-edge", "autoextender-edge")
    st = ds.status
    return (ds.metadata.generation > generation and (st.observed_generation or 0) >= ds.metadata.generation
            and st.updated_number_scheduled == st.desired_number_scheduled
            and (st.number_available or 0) == st.desired_number_scheduled and not st.number_unavailable)


def edges(lab):
    return lab.resolve()[0]


def ensure_serving(lab, context):
    """The lab's ClusterIssuer and provision.yml, unless the edges already serve hello.lab.test over HTTPS."""
    try:
        if edges(lab):
            for ip in edges(lab):
                https_get(ip, HOST, context)
            return
    except (OSError, ssl.SSLError, http.client.HTTPException, ValueError):
        pass
    print("cert-manager issuer and ExternalDNS: %.1f s" % lab.must(os.path.join(REPO, "hack", "lab_addons.yml")))
    print("provision: %.1f s" % lab.must("provision"))
    wait_valid(lab, context, HOST, edges(lab), time.monotonic(), 300)


def wait_valid(lab, context, host, ips, start, timeout):
    """Seconds since ``start`` until every one of ``ips`` serves ``host`` with a certificate the Pebble root verifies."""
    pending = set(ips)
    while pending:
        for ip in sorted(pending):
            try:
                if https_get(ip, host, context, timeout=2).get("identity") == "home":
                    pending.discard(ip)
            except (OSError, ssl.SSLError, http.client.HTTPException, ValueError):
                pass
        if pending and time.monotonic() - start > timeout:
            raise SystemExit("%s: no valid certificate on %s after %d s (cert-manager's log: %s)"
                             % (host, sorted(pending), timeout, lab.state["certificates"]["log"]))
        time.sleep(0.5)
    return time.monotonic() - start


def wait_cname(lab, host, start, timeout):
    """Seconds since ``start`` until the lab's PowerDNS answers ``host`` with a CNAME (ExternalDNS writes it)."""
    import dns.message
    import dns.query
    import dns.rdatatype
    while time.monotonic() - start < timeout:
        answer = dns.query.udp(dns.message.make_query(host, dns.rdatatype.CNAME), lab.state["powerdns"]["server"],
                               timeout=2, port=int(lab.state["powerdns"]["dns_port"]))
        if any(r.rdtype == dns.rdatatype.CNAME for r in answer.answer):
            return time.monotonic() - start
        time.sleep(0.5)
    raise SystemExit("%s: no CNAME after %d s (ExternalDNS's log: %s)" % (host, timeout, lab.state["external_dns"]["log"]))


def expose_to_certificate(lab, context):
    host = "bench-%d.lab.test" % int(time.time())
    entry = {"host": host, "namespace": "default", "service": "hello", "port": 8080, "protocol": "http", "tls": True}
    start = time.monotonic()
    role = lab.must(os.path.join(PLAYBOOKS, "expose.yml"), {"bench_expose": [entry]})
    cname = wait_cname(lab, host, start, 120) if (lab.state.get("external_dns") or {}).get("enabled") else None
    seconds = wait_valid(lab, context, host, edges(lab), start, 600)
    if cname is not None:
        print("expose -> CNAME %s in the lab's PowerDNS, written by ExternalDNS: %.1f s" % (host, cname))
    print("expose -> certificate served at every edge (%s): %.1f s (the expose run itself: %.1f s)" % (host, seconds, role))
    lab.must(os.path.join(PLAYBOOKS, "expose.yml"), {"bench_expose": []})


def rollout(lab, context, concurrency, level):
    ips = edges(lab)
    lock = threading.Lock()
    state = {"i": 0}

    def pick():
        with lock:
            state["i"] += 1
            return ips[state["i"] % len(ips)]

    apps = kube(lab)
    generation = apps.read_namespaced_daemon_set("traefik-edge", "autoextender-edge").metadata.generation
    with Clients(context, pick, concurrency) as clients:
        time.sleep(3)  # a baseline before the change
        start = time.monotonic()
        role = lab.must(os.path.join(PLAYBOOKS, "edge_ingress.yml"), {"edge_ingress_log_level": level})
        while not rolled(apps, generation):
            if time.monotonic() - start > 600:
                raise SystemExit("the edge DaemonSet did not roll within 600 s")
            time.sleep(0.5)
        took = time.monotonic() - start
        time.sleep(3)  # and after it
    print("rolling update (log level %s) of %d edges: rolled in %.1f s (the role's run: %.1f s)"
          % (level, len(ips), took, role))
    return clients.report("  requests during the rollout", took + 6)


def drain(lab, context, concurrency):
    pools = LAB_POOLS + [DRAIN_POOL]
    print("provision with pool bench-b (1 server, active): %.1f s" % lab.must("provision", {"autoextender_pools": pools}))
    resolver = Resolver(lab)
    with Clients(context, resolver.pick, concurrency) as clients:
        time.sleep(3)
        start = time.monotonic()
        role = lab.must("decommission", {"autoextender_pools": pools, "pool": "bench-b"})
        took = time.monotonic() - start
        time.sleep(3)
    print("decommission of pool bench-b (out of DNS, 2 x TTL, drain, delete): %.1f s" % role)
    return clients.report("  requests resolved through DNS meanwhile", took + 6)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--lab-dir", help="use this lab (hack/lab.py up --dir) instead of one of its own")
    parser.add_argument("--keep", action="store_true", help="leave the lab running")
    parser.add_argument("--skip-drain", action="store_true", help="only the certificate and the rolling update")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("ingress_rollout: skipped: needs root (the lab's data path runs Traefik on real edges)")
        return 0
    with BenchLab(args.lab_dir, keep=args.keep or bool(args.lab_dir)) as lab:
        if not lab.datapath:
            raise SystemExit("ingress_rollout: the lab runs no data path: %s" % lab.state.get("datapath"))
        context = ssl.create_default_context(cafile=lab.state["certificates"]["root"])
        print("lab in %s; clients: %d, HTTPS with the Pebble root" % (lab.dir, args.concurrency))
        ensure_serving(lab, context)
        expose_to_certificate(lab, context)
        failed = rollout(lab, context, args.concurrency, "DEBUG")
        failed += rollout(lab, context, args.concurrency, "INFO")
        if not args.skip_drain:
            failed += drain(lab, context, args.concurrency)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
