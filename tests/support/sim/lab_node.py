"""What a booted lab machine does: check its config, join the cluster, answer health probes.

A lab server "boots" the way a Talos node would (DESIGN.md section 5):

- ``validate(talosctl, config)`` runs the real ``talosctl validate --mode cloud``
  on the machine config (user data, or a config applied in maintenance mode);
- ``node_spec(config, fallback_name, ipv4, ipv6)`` reads what the config asks
  the node to be: its name (``HostnameConfig.hostname``, else
  ``machine.network.hostname`` of Talos <= 1.12, else the server name), its
  labels (``machine.nodeLabels``), taints (``machine.nodeTaints``) and addresses;
- ``NodeRegistrar`` creates that Node in a kube-apiserver with the kubernetes
  Python client (status Ready, addresses), and marks it NotReady when the
  machine stops, as the node lifecycle controller would;
- ``HealthServer`` answers ``GET /healthz`` on the server's "public IP"
  (127.0.10.N) and a port shared by the lab.
"""
import json
import os
import shutil
import subprocess
import tempfile
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml


def validate(talosctl, config):
    """``(ok, message)`` from ``talosctl validate --mode cloud`` on ``config`` (a str)."""
    if not talosctl:
        return False, "talosctl is not available to the lab, so no config can be validated"
    workdir = tempfile.mkdtemp(prefix="lab-validate-")
    try:
        path = os.path.join(workdir, "config.yaml")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(config)
        proc = subprocess.run([talosctl, "validate", "--config", path, "--mode", "cloud"], capture_output=True,
                              text=True, timeout=60, check=False, env=dict(os.environ, HOME=workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    message = " ".join((proc.stderr or proc.stdout).replace("\t", " ").split())
    return proc.returncode == 0, message or "valid"


def _documents(config):
    try:
        return [d for d in yaml.safe_load_all(config) if isinstance(d, dict)]
    except yaml.YAMLError:
        return []


def _taint(key, value):
    """``machine.nodeTaints`` values look like ``value:Effect`` or ``:Effect``."""
    value, dummy, effect = str(value).rpartition(":")
    out = {"key": key, "effect": effect or "NoSchedule"}
    if value:
        out["value"] = value
    return out


def node_spec(config, fallback_name, ipv4=None, ipv6=None):
    """The Node a (validated) machine config asks for."""
    docs = _documents(config)
    main = next((d for d in docs if d.get("version") == "v1alpha1" and "machine" in d), {})
    machine = main.get("machine") or {}
    hostname = next((d.get("hostname") for d in docs if d.get("kind") == "HostnameConfig" and d.get("hostname")),
                    None) or (machine.get("network") or {}).get("hostname") or fallback_name
    addresses = [{"type": "Hostname", "address": hostname}]
    for address in (ipv4, ipv6):
        if address:
            addresses += [{"type": "InternalIP", "address": address}, {"type": "ExternalIP", "address": address}]
    return {
        "name": hostname,
        "machine_type": machine.get("type"),
        "labels": dict((str(k), str(v)) for k, v in (machine.get("nodeLabels") or {}).items()),
        "taints": [_taint(k, v) for k, v in sorted((machine.get("nodeTaints") or {}).items())],
        "addresses": addresses,
        "cluster": (main.get("cluster") or {}).get("clusterName"),
    }


def _now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class NodeRegistrar:
    """Registers lab nodes in a kube-apiserver, through the kubernetes Python client."""

    def __init__(self, kubeconfig):
        from kubernetes import client, config
        from kubernetes.client.exceptions import ApiException

        self._api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
        self._not_found = ApiException

    def _ready(self, status, reason, message):
        now = _now()
        return {"type": "Ready", "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": now, "lastTransitionTime": now}

    def register(self, spec):
        """Create (or replace the labels, taints and status of) the Node ``spec`` describes."""
        labels = dict(spec["labels"], **{"kubernetes.io/hostname": spec["name"], "kubernetes.io/os": "linux"})
        body = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": spec["name"], "labels": labels},
                "spec": {"taints": spec["taints"]}}
        try:
            self._api.create_node(body)
        except self._not_found as e:
            if e.status != 409:
                raise
            self._api.patch_node(spec["name"], {"metadata": {"labels": labels}, "spec": {"taints": spec["taints"]}})
        status = {"status": {
            "addresses": spec["addresses"],
            "conditions": [self._ready("True", "KubeletReady", "lab node booted from its machine config")],
            "nodeInfo": {"osImage": "Talos (lab)", "kubeletVersion": "lab", "operatingSystem": "linux",
                         "architecture": "amd64", "machineID": "", "systemUUID": "", "bootID": "",
                         "kernelVersion": "", "containerRuntimeVersion": "", "kubeProxyVersion": ""},
        }}
        self._api.patch_node_status(spec["name"], status)
        # What the node lifecycle controller does once a node is Ready (there is none in the test bed):
        # take off the not-ready taint the API server put on at registration.
        self._api.patch_node(spec["name"], {"spec": {"taints": spec["taints"]}})

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
