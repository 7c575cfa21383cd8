"""etcd + a real kube-apiserver on loopback, with TLS, a token and a kubeconfig."""
import base64
import os
import secrets
import ssl
import urllib.request

import yaml

from .pki import make_pki
from .process import ManagedProcess, free_port, tcp_open
from .tools import which


class KubeCluster:
    """What the fixture yields: where the API is and how to log in."""

    def __init__(self, url, token, ca_path, kubeconfig):
        self.url = url
        self.token = token
        self.ca_path = ca_path
        self.kubeconfig = kubeconfig

    def get(self, path):
        """GET an API path with the admin token; returns the decoded JSON."""
        import json
        ctx = ssl.create_default_context(cafile=self.ca_path)
        req = urllib.request.Request(self.url + path, headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return json.loads(r.read())


def write_kubeconfig(path, url, ca_path, token, user="autoextender-admin"):
    with open(ca_path, "rb") as f:
        ca_data = base64.b64encode(f.read()).decode()
    cfg = {
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {"server": url, "certificate-authority-data": ca_data}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": user}}],
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(cfg, f)


def start_cluster(workdir, stack):
    """Start etcd and kube-apiserver under ``stack`` (an ExitStack); return a KubeCluster."""
    pki = make_pki(workdir)
    etcd_port, etcd_peer, api_port = free_port(), free_port(), free_port()
    etcd = stack.enter_context(ManagedProcess("etcd", [
        which("etcd"), "--name", "test", "--data-dir", os.path.join(workdir, "etcd"),
        "--listen-client-urls", "http://127.0.0.1:%d" % etcd_port,
        "--advertise-client-urls", "http://127.0.0.1:%d" % etcd_port,
        "--listen-peer-urls", "http://127.0.0.1:%d" % etcd_peer,
        "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % etcd_peer,
        "--initial-cluster", "test=http://127.0.0.1:%d" % etcd_peer,
        "--quota-backend-bytes", str(512 * 1024 * 1024),
    ], os.path.join(workdir, "etcd.log")))
    etcd.wait_ready(lambda: tcp_open("127.0.0.1", etcd_port), timeout=30)

    token = secrets.token_hex(16)
    tokens = os.path.join(workdir, "tokens.csv")
    fd = os.open(tokens, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write('%s,autoextender-admin,1000,"system:masters"\n' % token)
    url = "https://127.0.0.1:%d" % api_port
    api = stack.enter_context(ManagedProcess("kube-apiserver", [
        which("kube-apiserver"),
        "--etcd-servers", "http://127.0.0.1:%d" % etcd_port,
        "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
        "--secure-port", str(api_port),
        "--tls-cert-file", pki["apiserver.crt"], "--tls-private-key-file", pki["apiserver.key"],
        "--client-ca-file", pki["ca.crt"],
        "--token-auth-file", tokens,
        "--authorization-mode", "Node,RBAC",
        "--service-account-issuer", "https://kubernetes.default.svc",
        "--service-account-key-file", pki["sa.pub"],
        "--service-account-signing-key-file", pki["sa.key"],
        "--service-cluster-ip-range", "10.96.0.0/16",
        "--cert-dir", os.path.join(workdir, "certs"),
        # No kubelets and no controller-manager here: keep admission to what
        # works without them (ServiceAccount tokens are never mounted).
        "--disable-admission-plugins", "ServiceAccount",
        "--enable-priority-and-fairness=false",
        "--storage-media-type", "application/json",
    ], os.path.join(workdir, "kube-apiserver.log")))
    ctx = ssl.create_default_context(cafile=pki["ca.crt"])

    def ready():
        req = urllib.request.Request(url + "/readyz", headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(req, context=ctx, timeout=2) as r:
            return r.status == 200

    api.wait_ready(ready, timeout=120)
    kubeconfig = os.path.join(workdir, "kubeconfig")
    write_kubeconfig(kubeconfig, url, pki["ca.crt"], token)
    return KubeCluster(url, token, pki["ca.crt"], kubeconfig)
