"""ExternalDNS fixtures: apply the external_dns role to the test kube-apiserver, then run the
real external-dns binary out of cluster with the flags the role rendered into its Deployment.

Helpers here talk to the kube-apiserver over plain HTTPS with the admin token
(no kubectl on these machines) and run external-dns as the role's
ServiceAccount, so the role's RBAC is what is tested, not the admin's rights.
"""
import base64
import json
import os
import secrets
import ssl
import subprocess
import textwrap
import urllib.error
import urllib.request

import pytest

from .ansible import REPO, run_playbook, task_results
from .kube import write_kubeconfig
from .process import free_port
from .tools import which

ROLE_PLAYBOOK = textwrap.dedent("""\
    - name: Apply the external_dns role
      hosts: localhost
      gather_facts: false
      roles:
        - role: talos.autoextender.external_dns
""")


class Kube:
    """Minimal API client with the admin token of the ``kube_cluster`` fixture."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.ctx = ssl.create_default_context(cafile=cluster.ca_path)

    def request(self, method, path, body=None, missing_ok=False):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.cluster.url + path, data=data, method=method, headers={
            "Authorization": "Bearer " + self.cluster.token, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=15) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            if missing_ok and e.code == 404:
                return None
            raise AssertionError("%s %s -> %s: %s" % (method, path, e.code, e.read()[:2000].decode("utf-8", "replace")))
        return json.loads(raw) if raw else None

    def get(self, path, missing_ok=False):
        return self.request("GET", path, missing_ok=missing_ok)

    def ensure_namespace(self, name):
        if self.get("/api/v1/namespaces/" + name, missing_ok=True) is None:
            self.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def service_account_kubeconfig(self, namespace, name, path):
        """A 0600 kubeconfig that authenticates as the ServiceAccount (a TokenRequest)."""
        review = self.request("POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (namespace, name), {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}})
        write_kubeconfig(path, self.cluster.url, self.cluster.ca_path, review["status"]["token"],
                         user="system:serviceaccount:%s:%s" % (namespace, name))
        return path


def apply_role(tmp_path, role_vars, check=False):
    """Run the role as a user does; returns ``(CompletedProcess, {task name without the role prefix: result})``."""
    playbook = tmp_path / "external_dns.yml"
    playbook.write_text(ROLE_PLAYBOOK)
    proc = run_playbook(str(playbook), role_vars, check=check)
    results = task_results(proc) if proc.stdout.strip().startswith("{") else {}
    return proc, dict((name.split(" : ", 1)[-1], res) for name, res in results.items())


def deployed_command(kube, namespace, name):
    """``(args, env)`` of the Deployment the role applied: its container args, and its env with every
    ``secretKeyRef`` resolved from the Secret in the API server (what the kubelet would do)."""
    deployment = kube.get("/apis/apps/v1/namespaces/%s/deployments/%s" % (namespace, name))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {}
    for item in container.get("env", []):
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref is None:
            env[item["name"]] = item.get("value", "")
            continue
        secret = kube.get("/api/v1/namespaces/%s/secrets/%s" % (namespace, ref["name"]))
        env[item["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode()
    return list(container["args"]), env, deployment


def out_of_cluster(args, kubeconfig, metrics_port):
    """The pod's flags for a run on this host: its own kubeconfig, one sync, and a free metrics port
    (the pod has its own network namespace; this host may already use :7979)."""
    kept = [a for a in args if not a.startswith("--metrics-address=")]
    return kept + ["--kubeconfig=" + kubeconfig, "--once", "--metrics-address=127.0.0.1:%d" % metrics_port]


def run_external_dns(args, env, log_path, timeout=120):
    """Run the real external-dns binary once; returns the CompletedProcess (its log is also written to log_path)."""
    full_env = {"PATH": os.environ.get("PATH", ""), "HOME": os.path.dirname(log_path)}
    full_env.update(env)
    proc = subprocess.run([which("external-dns")] + loopback_only(args), capture_output=True, text=True,
                          env=full_env, timeout=timeout, check=False, cwd=REPO)
    with open(log_path, "a") as f:
        f.write(proc.stdout + proc.stderr)
    return proc


def loopback_only(args):
    """Never let a run reach anything but loopback: every URL flag must point at 127.0.0.1."""
    for arg in args:
        if "://" in arg and "://127.0.0.1" not in arg:
            raise AssertionError("external-dns flag %s would leave loopback" % arg)
    return args


@pytest.fixture
def extdns_kube(kube_cluster):
    return Kube(kube_cluster)


@pytest.fixture
def extdns_zone(powerdns):
    """A fresh zone in the real PowerDNS (``extdns-<random>.test.``)."""
    zone = "extdns-%s.test." % secrets.token_hex(4)
    powerdns.create_zone(zone)
    return zone


@pytest.fixture
def external_dns_bin():
    from tests.conftest import require_tool
    require_tool("external-dns")
    return which("external-dns")


@pytest.fixture
def free_metrics_port():
    return free_port()
