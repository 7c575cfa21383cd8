"""A tiny fault-injecting reverse proxy in front of a REAL HTTP API (PowerDNS in the DNS tests).

Requests are forwarded unchanged to ``upstream`` unless a fault is armed with
``fail_next`` (the same knobs and the same ``Fault`` matching as the
simulators in tests/support/sim/base.py):

- ``rate_limit``: answer 429 with ``Retry-After`` (never forwarded);
- ``server_error``: answer ``status`` (default 503), never forwarded;
- ``drop``: close the connection without forwarding;
- ``commit_then_drop``: forward (the change is made) then close without an answer.

``log`` holds ``(method, path, outcome)`` of every request, for call counting.
"""
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .sim.base import Fault

HOP_HEADERS = ("connection", "keep-alive", "transfer-encoding", "content-length", "host")


class FaultProxy:
    def __init__(self, upstream):
        self.upstream = urlsplit(upstream)
        self.lock = threading.Lock()
        self.faults = []
        self.log = []
        self._server = None

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return "http://%s:%d" % (host, port)

    def fail_next(self, kind, **kw):
        if kind not in ("rate_limit", "server_error", "drop", "commit_then_drop"):
            raise ValueError("unknown fault %r" % kind)
        with self.lock:
            self.faults.append(Fault(kind, **kw))

    def calls(self, method=None, outcome=None):
        return [c for c in self.log if (method is None or c[0] == method) and (outcome is None or c[2] == outcome)]

    def _take(self, method, path):
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    return fault
        return None

    def _forward(self, handler, body):
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        headers = dict((k, v) for k, v in handler.headers.items() if k.lower() not in HOP_HEADERS)
        try:
            conn.request(handler.command, handler.path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def _handle(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        method, path = handler.command, urlsplit(handler.path).path
        fault = self._take(method, path)
        kind = fault.kind if fault else None
        if kind == "drop":
            self.log.append((method, path, "dropped"))
            handler.close_connection = True
            return
        if kind in ("rate_limit", "server_error"):
            status = 429 if kind == "rate_limit" else fault.status
            payload = json.dumps({"error": "injected %s" % kind}).encode()
            headers = [("Content-Type", "application/json")]
            if kind == "rate_limit":
                headers.append(("Retry-After", str(fault.retry_after)))
            self.log.append((method, path, status))
            self._reply(handler, status, headers, payload)
            return
        status, headers, payload = self._forward(handler, body)
        if kind == "commit_then_drop":
            self.log.append((method, path, "committed-dropped"))
            handler.close_connection = True
            return
        self.log.append((method, path, status))
        self._reply(handler, status, [(k, v) for k, v in headers if k.lower() not in HOP_HEADERS], payload)

    @staticmethod
    def _reply(handler, status, headers, payload):
        handler.send_response(status)
        for key, value in headers:
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def __enter__(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                proxy._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
