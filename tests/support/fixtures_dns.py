"""DNS test beds: one zone on a real DNS backend, the module options to reach it, and outside-world checks.

Tests that take the ``dns_bed`` fixture run once per entry of ``DNS_BEDS``
(name -> fixture that returns a ``DnsBed``). Other areas add their backend by
registering a fixture from their own fixtures file, for example::

    from tests.support.fixtures_dns import DNS_BEDS
    DNS_BEDS["cloudflare"] = "dns_bed_cloudflare"   # a fixture returning a DnsBed

A bed's ``answers()`` must ask the authoritative side, not our code: a real DNS
query for PowerDNS and BIND, the simulator's own state for a simulated API.
"""
import uuid

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import dns.update
import dns.zone
import pytest

from tests.support.http_faults import FaultProxy

DNS_BEDS = {"powerdns": "dns_bed_powerdns", "bind": "dns_bed_bind"}


def pytest_generate_tests(metafunc):
    if "dns_bed" in metafunc.fixturenames:
        metafunc.parametrize("dns_bed", sorted(DNS_BEDS), indirect=True)


@pytest.fixture
def dns_bed(request):
    return request.getfixturevalue(DNS_BEDS[request.param])


class DnsBed:
    """What a test needs of one backend; subclass per backend."""

    label = None

    def __init__(self, zone, params):
        self.zone = zone
        self.params = dict(params, zone=zone)

    def unique(self, prefix="r"):
        """A fresh absolute name in the zone."""
        return "%s-%s.%s" % (prefix, uuid.uuid4().hex[:8], self.zone)

    def provider(self, timeout=30, **overrides):
        """Our backend for this zone (as the modules build it), with one deadline of ``timeout`` seconds."""
        from ansible_collections.talos.autoextender.plugins.module_utils._dns_module import backend_from_params
        from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
        return backend_from_params(dict(self.params, **overrides), Deadline(timeout))

    def answers(self, name, rdtype):
        raise NotImplementedError

    def snapshot(self):
        """The whole zone as text, to compare before/after a refused change."""
        raise NotImplementedError

    def seed(self, name, rdtype, ttl, values):
        """Create a record set WITHOUT our code (a foreign record)."""
        raise NotImplementedError


def dns_answers(host, port, name, rdtype):
    """Sorted values the server answers over UDP (TXT unquoted and joined); [] for none."""
    response = dns.query.udp(dns.message.make_query(name, rdtype), host, port=port, timeout=3)
    out = []
    for rrset in response.answer:
        if rrset.name.to_text().lower() == name.lower() and dns.rdatatype.to_text(rrset.rdtype) == rdtype:
            for rdata in rrset:
                out.append(b"".join(rdata.strings).decode() if rdtype == "TXT" else rdata.to_text().lower())
    return sorted(out)


def axfr_text(host, port, zone, **key):
    return dns.zone.from_xfr(dns.query.xfr(host, zone, port=port, timeout=5, **key)).to_text(sorted=True)


class PowerDnsBed(DnsBed):
    label = "powerdns"

    def __init__(self, server, zone, api_url=None):
        super().__init__(zone, {"provider": "powerdns", "api_url": api_url or server.api_url,
                                "api_token": server.api_key})
        self.server = server

    def answers(self, name, rdtype):
        return dns_answers(self.server.host, self.server.dns_port, name, rdtype)

    def snapshot(self):
        return axfr_text(self.server.host, self.server.dns_port, self.zone)

    def seed(self, name, rdtype, ttl, values):
        content = ['"%s"' % v if rdtype == "TXT" else v for v in values]
        self.server.api("PATCH", "/zones/" + self.zone, {"rrsets": [{
            "name": name, "type": rdtype, "ttl": ttl, "changetype": "REPLACE",
            "records": [{"content": c, "disabled": False} for c in content]}]})


class BindBed(DnsBed):
    label = "bind"

    def __init__(self, server):
        super().__init__(server.zone, {"provider": "rfc2136", "server": server.host, "port": server.port,
                                       "tsig_key_name": server.key_name, "tsig_key_secret": server.key_secret,
                                       "tsig_algorithm": server.key_algorithm})
        self.server = server
        self.keyring = dns.tsigkeyring.from_text({server.key_name: server.key_secret})

    def answers(self, name, rdtype):
        return dns_answers(self.server.host, self.server.port, name, rdtype)

    def snapshot(self):
        return axfr_text(self.server.host, self.server.port, self.zone, keyring=self.keyring,
                         keyname=self.server.key_name)

    def seed(self, name, rdtype, ttl, values):
        update = dns.update.UpdateMessage(self.zone, keyring=self.keyring, keyname=self.server.key_name)
        update.delete(name, rdtype)
        for value in values:
            update.add(name, ttl, rdtype, '"%s"' % value if rdtype == "TXT" else value)
        response = dns.query.tcp(update, self.server.host, port=self.server.port, timeout=5)
        assert response.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(response.rcode())


@pytest.fixture
def pdns_zone(powerdns):
    """A fresh zone on the real PowerDNS, deleted afterwards."""
    zone = "t%s.pdns.test." % uuid.uuid4().hex[:8]
    powerdns.create_zone(zone)
    yield zone
    powerdns.api("DELETE", "/zones/" + zone)


@pytest.fixture
def dns_bed_powerdns(powerdns, pdns_zone):
    return PowerDnsBed(powerdns, pdns_zone)


@pytest.fixture
def dns_bed_bind(bind_server):
    return BindBed(bind_server)


@pytest.fixture
def pdns_faults(powerdns):
    """A fault-injecting proxy in front of the real PowerDNS API."""
    with FaultProxy(powerdns.api_url) as proxy:
        yield proxy


@pytest.fixture
def pdns_faulty_bed(powerdns, pdns_zone, pdns_faults):
    """A PowerDNS bed whose API calls go through ``pdns_faults``."""
    return PowerDnsBed(powerdns, pdns_zone, api_url=pdns_faults.url)


def run_dns_tasks(tmp_path, tasks, check=False, diff=False):
    """Run ``tasks`` (list of task dicts) in one play through ansible-playbook; ``(proc, {task name: result})``.

    Every task gets ``ignore_errors: true`` so a refusal is reported and the play goes on.
    """
    import yaml
    from tests.support.ansible import run_playbook, task_results
    play = [{"name": "DNS tasks", "hosts": "localhost", "gather_facts": False,
             "tasks": [dict(task, ignore_errors=True) for task in tasks]}]
    path = tmp_path / ("play-%s.yml" % uuid.uuid4().hex[:8])
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    proc = run_playbook(str(path), check=check, diff=diff)
    if not proc.stdout.strip().startswith("{"):
        raise AssertionError("ansible-playbook failed:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc, task_results(proc)


class EdgeNodes:
    """Stand-ins for edge nodes' ingress: real HTTP servers on loopback addresses, one port for all.

    ``healthy``: answers 200 when the Host header is ``host``, 503 otherwise (so a probe that does not
    send the Host header fails); ``hang``: accepts TCP but never answers; an address not started is dead.
    """

    def __init__(self, host):
        self.host = host
        self.port = None
        self._servers = []
        self._sockets = []

    def _bind_port(self, ips):
        import socket
        from tests.support.process import free_port
        for dummy in range(20):
            port = free_port()
            try:
                for ip in ips:
                    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
                    with socket.socket(family, socket.SOCK_STREAM) as s:
                        s.bind((ip, port))
                return port
            except OSError:
                continue
        raise RuntimeError("no port free on all of %s" % ips)

    def start(self, healthy=(), hang=(), extra_ips=(), port=None):
        """Start servers (on ``port``, else one free on every address); ``extra_ips`` only reserve the port on
        addresses left dead."""
        import socket
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.port = port or self._bind_port(list(healthy) + list(hang) + list(extra_ips))
        expected = self.host

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                ok = self.headers.get("Host") == expected
                self.send_response(200 if ok else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

        for ip in healthy:
            server_class = type("Server", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6 if ":" in ip else socket.AF_INET})
            server = server_class((ip, self.port), Handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._servers.append(server)
        for ip in hang:
            s = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM)
            s.bind((ip, self.port))
            s.listen(16)
            self._sockets.append(s)
        return self

    def revive(self, ip):
        """Serve again on ``ip`` (a dead node comes back), on the same port."""
        return self.start(healthy=[ip], port=self.port)

    def stop(self, ip=None):
        """Stop every server, or only the one on ``ip`` (the node dies)."""
        for server in list(self._servers):
            if ip is None or server.server_address[0] == ip:
                server.shutdown()
                server.server_close()
                self._servers.remove(server)
        for s in list(self._sockets):
            if ip is None or s.getsockname()[0] == ip:
                s.close()
                self._sockets.remove(s)


@pytest.fixture
def edge_nodes(dns_bed):
    """HTTP servers for edge_dns tests; the Host they expect is the edge name of the bed's zone."""
    nodes = EdgeNodes("edge-nodes." + dns_bed.zone.rstrip("."))
    yield nodes
    nodes.stop()
