"""Health probes against real sockets on loopback: TCP, HTTP with Host header, HTTPS with SNI, timeouts."""
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _probe
from tests.support.process import free_port


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        status = {"good.example": 200, "broken.example": 502}.get(self.headers.get("Host"), 404)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def tls_server(tmp_path):
    from tests.support.pki import make_pki
    paths = make_pki(str(tmp_path))  # a throwaway CA no system trusts
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(paths["apiserver.crt"], paths["apiserver.key"])
    seen = []
    context.sni_callback = lambda sock, name, ctx: seen.append(name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


HANGING = ["127.0.0.%d" % i for i in range(1, 9)]


@pytest.fixture
def hanging_port():
    """One port on 8 loopback addresses that accepts TCP and never answers."""
    port = free_port()
    sockets = []
    for ip in HANGING:
        s = socket.socket()
        s.bind((ip, port))
        s.listen(8)
        sockets.append(s)
    yield port
    for s in sockets:
        s.close()


def test_tcp_open_and_refused(http_server):
    assert _probe.check_tcp("127.0.0.1", http_server, 1) is None
    error = _probe.check_tcp("127.0.0.1", free_port(), 1)
    assert "refused" in error.lower()


def test_http_sends_the_host_header(http_server):
    spec = {"port": http_server, "host": "good.example"}
    assert _probe.check_http("127.0.0.1", spec, 2) is None
    assert _probe.check_http("127.0.0.1", dict(spec, host="other.example"), 2) is None  # 404 < 500: serving
    assert "HTTP 404" in _probe.check_http("127.0.0.1", dict(spec, host="other.example", expected_status=[200]), 2)
    # no host: the request carries the address (cloud_floating_watch's probe of a node)
    assert _probe.check_http("127.0.0.1", dict(spec, host=None), 2) is None
    assert "HTTP 502 (expected below 500)" in _probe.check_http("127.0.0.1", dict(spec, host="broken.example"), 2)


def test_https_uses_sni_of_the_host(tls_server):
    port, seen = tls_server
    spec = {"scheme": "https", "port": port, "host": "good.example", "expected_status": [200]}
    assert _probe.check_http("127.0.0.1", spec, 2) is None
    assert seen == ["good.example"]
    error = _probe.check_http("127.0.0.1", dict(spec, validate_certs=True), 2)
    assert "TLS error" in error  # signed by a CA the system does not trust


def test_timeouts_are_bounded_and_parallel(hanging_port):
    http = {"port": hanging_port, "host": "good.example"}
    start = time.monotonic()
    results = _probe.probe_all(HANGING, tcp_ports=[hanging_port], http=http, timeout=1)
    elapsed = time.monotonic() - start
    assert elapsed < 3, "8 hanging targets probed in parallel, about one timeout (took %.1fs)" % elapsed
    assert sorted(results) == HANGING
    assert all(not r["healthy"] and "no answer within 1s" in r["error"] for r in results.values())
    assert all(r["checks"][0]["ok"] for r in results.values()), "TCP connects; only HTTP hangs"


def test_probe_one_reports_every_check(http_server):
    result = _probe.probe_one("127.0.0.1", tcp_ports=[http_server], http={"port": http_server, "host": "good.example"})
    assert result["healthy"]
    assert [c["check"] for c in result["checks"]] == ["tcp:%d" % http_server, "http:%d" % http_server]
    dead = free_port()
    result = _probe.probe_one("127.0.0.1", tcp_ports=[dead], http={"port": http_server, "host": "good.example"})
    assert not result["healthy"] and len(result["checks"]) == 1 and "port %d" % dead in result["error"]
