"""Fixtures of the ops area: the failover CronJob manifests (extras/cronjob) applied to the real kube-apiserver."""
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CRONJOB_DIR = os.path.join(REPO, "extras", "cronjob")
FIELD_MANAGER = "autoextender-ops-tests"


#: where the failover job keeps its lease and health history (extras/cronjob/role-edge-state.yaml)
EDGE_NAMESPACE = "autoextender-edge"


def cronjob_manifests():
    """``[(file name, object)]`` in the order of extras/cronjob/kustomization.yaml."""
    with open(os.path.join(CRONJOB_DIR, "kustomization.yaml")) as f:
        kustomization = yaml.safe_load(f)
    out = []
    for name in kustomization["resources"]:
        with open(os.path.join(CRONJOB_DIR, name)) as f:
            out.append((name, yaml.safe_load(f)))
    return out


class Response:
    def __init__(self, status, warnings, body):
        self.status = status
        self.warnings = warnings
        self.body = body

    def __repr__(self):
        return "<%s %s warnings=%s>" % (self.status, json.dumps(self.body)[:600], self.warnings)


class RestClient:
    """Raw HTTPS calls to the API server as one identity (a bearer token).

    Raw, not through the Python client, to see what the client hides: the
    status code of a denial and the ``Warning`` headers (Pod Security, field
    validation) of an accepted request.
    """

    def __init__(self, url, ca_path, token):
        self.url = url
        self.token = token
        self.ctx = ssl.create_default_context(cafile=ca_path)

    def call(self, method, path, body=None, content_type="application/json", query=None):
        url = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": "Bearer " + self.token, "Content-Type": content_type, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                return Response(r.status, r.headers.get_all("Warning") or [], json.loads(r.read() or b"{}"))
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = {"raw": raw.decode(errors="replace")}
            return Response(e.code, e.headers.get_all("Warning") or [], payload)


def object_path(obj, name=True):
    """The REST path of a manifest (core and named groups, namespaced or not)."""
    group_version = obj["apiVersion"]
    base = "/api/" + group_version if "/" not in group_version else "/apis/" + group_version
    plural = {"Namespace": "namespaces", "ServiceAccount": "serviceaccounts", "ClusterRole": "clusterroles",
              "ClusterRoleBinding": "clusterrolebindings", "ConfigMap": "configmaps", "CronJob": "cronjobs",
              "ValidatingAdmissionPolicy": "validatingadmissionpolicies", "Pod": "pods", "Node": "nodes",
              "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings", "Role": "roles",
              "RoleBinding": "rolebindings"}[obj["kind"]]
    namespace = obj["metadata"].get("namespace")
    path = base + ("/namespaces/%s" % namespace if namespace else "") + "/" + plural
    return path + "/" + obj["metadata"]["name"] if name else path


def server_side_apply(rest, obj, dry_run=False):
    """Server-side apply one object with strict field validation (unknown or duplicate fields are errors)."""
    query = {"fieldManager": FIELD_MANAGER, "fieldValidation": "Strict", "force": "true"}
    if dry_run:
        query["dryRun"] = "All"
    return rest.call("PATCH", object_path(obj), json.dumps(obj), "application/apply-patch+yaml", query)


class OpsCluster:
    """What ``ops_cronjob`` yields: the API as admin, the apply results, and a way to act as the job's account."""

    def __init__(self, kube_cluster, applied):
        self.admin = RestClient(kube_cluster.url, kube_cluster.ca_path, kube_cluster.token)
        self.kube_cluster = kube_cluster
        self.applied = applied

    def manifest(self, kind):
        return next(obj for dummy, obj in cronjob_manifests() if obj["kind"] == kind)

    def service_account(self):
        sa = self.manifest("ServiceAccount")["metadata"]
        return sa["namespace"], sa["name"]

    def as_service_account(self):
        """A RestClient holding a real token of the job's ServiceAccount (TokenRequest API)."""
        namespace, name = self.service_account()
        res = self.admin.call("POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (namespace, name),
                              {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                               "spec": {"expirationSeconds": 3600}})
        assert res.status == 201, res
        return RestClient(self.kube_cluster.url, self.kube_cluster.ca_path, res.body["status"]["token"])


@pytest.fixture(scope="module")
def ops_cronjob(kube_cluster):
    """extras/cronjob applied (server-side, strict) to the shared kube-apiserver; removed afterwards."""
    admin = RestClient(kube_cluster.url, kube_cluster.ca_path, kube_cluster.token)
    manifests = cronjob_manifests()
    own = [obj["metadata"]["name"] for dummy, obj in manifests if obj["kind"] == "Namespace"]
    # The edge namespace is provision.yml's (the edge ingress's), not the kustomization's: made here if missing.
    edge = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": EDGE_NAMESPACE}}
    made_edge = admin.call("GET", object_path(edge)).status == 404 and server_side_apply(admin, edge)
    applied = []
    try:
        for name, obj in manifests:
            applied.append((name, obj, server_side_apply(admin, obj)))
        yield OpsCluster(kube_cluster, applied)
    finally:
        for dummy, obj in reversed(manifests):
            if obj["kind"] != "Namespace" and obj["metadata"].get("namespace") in own:
                continue  # deleted with the namespace
            admin.call("DELETE", object_path(obj))
        if made_edge:
            admin.call("DELETE", object_path(edge))
