"""The real cert-manager controller (hack/gotools/cert-manager-controller), out of cluster.

It runs as the ServiceAccount cert-manager/cert-manager with the controller RBAC of
cert-manager's own manifest (tests/support/cert_manager_rbac.yaml; the cert_manager role
installs that manifest, which cannot be downloaded here), against the test's or the lab's
apiserver. Its DNS-01 self-checks ask only ``nameservers`` (the test's PowerDNS or BIND):
cert-manager insists on seeing the TXT record in every one it is given, so one controller
serves one DNS server. Only one may run per apiserver (no leader election).
"""
import glob
import json
import os
import ssl
import time
import urllib.request

import yaml

from .kube import write_kubeconfig
from .process import ManagedProcess
from .tools import which

NAMESPACE = "cert-manager"
SERVICE_ACCOUNT = "cert-manager"
RBAC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cert_manager_rbac.yaml")
MANAGER = "autoextender-cert-manager"
#: the controller's token: a lab lives for days, and nothing renews it for a process
TOKEN_SECONDS = 30 * 24 * 3600


class _Api:
    """Just enough of the apiserver's REST API, as the cluster admin."""

    def __init__(self, url, token, ca_path):
        self.url, self.token = url, token
        self.ctx = ssl.create_default_context(cafile=ca_path)

    def call(self, method, path, body=None, content_type="application/json"):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": "Bearer " + self.token, "Content-Type": content_type})
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def apply(self, collection, obj):
        """Server-side apply ``obj`` (the same on a lab's kept data)."""
        return self.call("PATCH", "%s/%s?fieldManager=%s&force=true" % (collection, obj["metadata"]["name"], MANAGER),
                         obj, content_type="application/apply-patch+yaml")


def controller_rbac():
    """The ClusterRoles of RBAC and, for each, its ClusterRoleBinding to the ServiceAccount."""
    with open(RBAC) as f:
        roles = yaml.safe_load(f)["items"]  # a Kubernetes List: one YAML document
    bindings = [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                 "metadata": {"name": role["metadata"]["name"]},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                             "name": role["metadata"]["name"]},
                 "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}]}
                for role in roles]
    return roles, bindings


def install_crds(cluster, crd_dir, timeout=60):
    """Apply cert-manager's CRDs (the files of ``crd_dir``), as its manifest would, and wait until they serve."""
    api = _Api(cluster.url, cluster.token, cluster.ca_path)
    names = []
    for path in sorted(glob.glob(os.path.join(crd_dir, "*.yaml"))):
        with open(path) as f:
            for crd in yaml.safe_load_all(f):
                if crd and crd.get("kind") == "CustomResourceDefinition":
                    api.apply("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
                    names.append(crd["metadata"]["name"])

    def established(name):
        crd = api.call("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + name)
        return any(c["type"] == "Established" and c["status"] == "True"
                   for c in (crd.get("status") or {}).get("conditions") or [])

    deadline = time.monotonic() + timeout
    for name in names:
        while not established(name):
            if time.monotonic() > deadline:
                raise RuntimeError("CRD %s not Established after %ds" % (name, timeout))
            time.sleep(0.2)
    return names


def service_account_kubeconfig(cluster, path):
    """The namespace, the ServiceAccount and its RBAC; a kubeconfig (0600) with a token of that account."""
    api = _Api(cluster.url, cluster.token, cluster.ca_path)
    api.apply("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    api.apply("/api/v1/namespaces/%s/serviceaccounts" % NAMESPACE,
              {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": SERVICE_ACCOUNT}})
    roles, bindings = controller_rbac()
    for role in roles:
        api.apply("/apis/rbac.authorization.k8s.io/v1/clusterroles", role)
    for binding in bindings:
        api.apply("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", binding)
    answer = api.call("POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (NAMESPACE, SERVICE_ACCOUNT),
                      {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                       "spec": {"expirationSeconds": TOKEN_SECONDS}})
    write_kubeconfig(path, cluster.url, cluster.ca_path, answer["status"]["token"],
                     user="system:serviceaccount:%s:%s" % (NAMESPACE, SERVICE_ACCOUNT))
    return path


def start_cert_manager(workdir, stack, cluster, nameservers, extra_args=()):
    """Start the controller under ``stack``; ``nameservers`` are the "host:port" its DNS-01 checks ask."""
    os.makedirs(workdir, mode=0o700, exist_ok=True)
    kubeconfig = service_account_kubeconfig(cluster, os.path.join(workdir, "cert-manager.kubeconfig"))
    log = os.path.join(workdir, "cert-manager.log")
    proc = stack.enter_context(ManagedProcess("cert-manager-controller", [
        which("cert-manager"), "--kubeconfig", kubeconfig,
        # upstream's manifest: --cluster-resource-namespace=$(POD_NAMESPACE), --v=2
        "--cluster-resource-namespace", NAMESPACE, "--v", "2",
        "--dns01-recursive-nameservers", ",".join(nameservers), "--dns01-recursive-nameservers-only",
        # the propagation check every 2 s instead of 10 s: the tests wait for it
        "--dns01-check-retry-period", "2s",
        *extra_args,
    ], log))

    def started():
        with open(log, errors="replace") as f:
            return any("starting controller" in line and 'controller="challenges"' in line for line in f)

    proc.wait_ready(started, timeout=60)
    return proc
