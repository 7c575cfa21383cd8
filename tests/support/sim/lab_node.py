"""What the lab does for its machines besides their Talos API (tests/support/sim/node_api.py).

- ``NodeRegistrar.set_not_ready(name)``: a machine that stopped (power off, delete,
  killed) gets its Node marked Ready=Unknown, as the node lifecycle controller would
  (the test bed runs none); registering the Node and keeping it Ready is the
  machine's own job (talos-api-sim with ``--kubeconfig``);
- ``HealthServer`` answers ``GET /healthz`` on the server's "public IP" (a loopback
  address of the lab's block) and a port shared by the lab.
"""
import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class NodeRegistrar:
    """Marks the Nodes of stopped lab machines NotReady, through the kubernetes Python client."""

    def __init__(self, kubeconfig):
        from kubernetes import client, config
        from kubernetes.client.exceptions import ApiException

        self._api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
        self._not_found = ApiException

    def _ready(self, status, reason, message):
        now = _now()
        return {"type": "Ready", "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": now, "lastTransitionTime": now}

    def set_not_ready(self, name):
        """The machine is gone or off: Ready=Unknown, as the node lifecycle controller reports it."""
        try:
            self._api.patch_node_status(name, {"status": {"conditions": [
                self._ready("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")]}})
        except self._not_found as e:
            if e.status != 404:
                raise


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
