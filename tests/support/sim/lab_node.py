"""What the lab does for its machines besides their Talos API (tests/support/sim/node_api.py).

A machine registers its Node and keeps it Ready itself (talos-api-sim with ``--kubeconfig``);
when it stops, kube-controller-manager marks the Node Unknown. Besides:

- ``HealthServer`` answers ``GET /healthz`` on the server's "public IP" (a loopback
  address of the lab's block) and a port shared by the lab.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HealthServer:
    """``GET /healthz`` on (address, port): 200 when the node is healthy, 503 otherwise."""

    def __init__(self, address, port, info):
        self.address = address
        self.port = port
        self.info = dict(info)
        self.healthy = True
        self.stage = None  # the machine's stage the lab last set ``healthy`` from
        self._server = None

    def start(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - the http.server API
                ok = owner.healthy and self.path.split("?")[0] in ("/healthz", "/")
                body = json.dumps(dict(owner.info, status="ok" if ok else "unhealthy")).encode()
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer((self.address, self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="lab-health-" + self.address, daemon=True).start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
