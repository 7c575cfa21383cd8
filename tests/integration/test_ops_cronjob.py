"""extras/cronjob against the real kube-apiserver: accepted as written, Pod Security restricted, and the
job's ServiceAccount can do what failover does in Kubernetes and nothing more (RBAC + admission policy)."""
import copy
import os
import time
import uuid

import pytest
import yaml

from tests.support.ansible import run_playbook
from tests.support.fixtures_ops import EDGE_NAMESPACE, object_path, server_side_apply
from tests.support.k8s_objects import EDGE_TAINT, Kube, wait_for

SA_GROUPS = ["system:serviceaccounts", "system:authenticated"]

# What playbooks/failover.yml does in Kubernetes (k8s_info on Nodes and the ingress DaemonSet, k8s_node_drain):
# (verb, resource, subresource, group)
NEEDED = [
    ("get", "nodes", "", ""), ("list", "nodes", "", ""), ("watch", "nodes", "", ""),
    ("patch", "nodes", "", ""), ("delete", "nodes", "", ""),
    ("list", "pods", "", ""), ("get", "pods", "", ""), ("delete", "pods", "", ""),
    ("create", "pods", "eviction", ""), ("list", "poddisruptionbudgets", "", "policy"),
    ("get", "daemonsets", "", "apps"),
]
# What it must never be able to do: read credentials, run code on nodes, change workloads or RBAC.
FORBIDDEN = [
    ("get", "secrets", "", ""), ("list", "secrets", "", ""), ("watch", "secrets", "", ""),
    ("create", "nodes", "", ""), ("update", "nodes", "status", ""), ("get", "nodes", "proxy", ""),
    ("create", "pods", "", ""), ("create", "pods", "exec", ""), ("update", "pods", "", ""),
    ("create", "serviceaccounts", "token", ""), ("update", "configmaps", "", ""),
    ("create", "deployments", "", "apps"), ("patch", "daemonsets", "", "apps"),
    ("create", "clusterrolebindings", "", "rbac.authorization.k8s.io"),
    ("escalate", "clusterroles", "", "rbac.authorization.k8s.io"),
    ("delete", "validatingadmissionpolicies", "", "admissionregistration.k8s.io"),
]


def access_review(ops, verb, resource, subresource, group, namespace=None, name=None):
    """SubjectAccessReview for the job's ServiceAccount (what `kubectl auth can-i --as` asks)."""
    sa_namespace, sa_name = ops.service_account()
    attrs = {"verb": verb, "resource": resource, "group": group}
    if name:
        attrs["name"] = name
    if subresource:
        attrs["subresource"] = subresource
    if namespace:
        attrs["namespace"] = namespace
    res = ops.admin.call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": "system:serviceaccount:%s:%s" % (sa_namespace, sa_name),
                 "groups": SA_GROUPS + ["system:serviceaccounts:" + sa_namespace], "resourceAttributes": attrs}})
    assert res.status == 201, res
    return res.body["status"].get("allowed", False)


def test_every_manifest_is_accepted_strictly_and_without_warnings(ops_cronjob):
    for name, obj, res in ops_cronjob.applied:
        assert res.status in (200, 201), "%s: %r" % (name, res)
        assert res.warnings == [], "%s: %s" % (name, res.warnings)
    cronjob = ops_cronjob.admin.call("GET", object_path(ops_cronjob.manifest("CronJob"))).body["spec"]
    assert cronjob["concurrencyPolicy"] == "Forbid"
    assert cronjob["startingDeadlineSeconds"] < 120  # less than the interval of */2
    job = cronjob["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0 and job["activeDeadlineSeconds"] == 1200
    pod = job["template"]["spec"]
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert {"name": "home", "mountPath": "/runner"} in container["volumeMounts"]
    assert container["args"][0] == "talos.autoextender.failover"
    # Credentials only by reference: no env var carries a literal value except non-secret settings.
    literal = {e["name"] for e in container["env"] if "value" in e}
    assert literal == {"HOME", "ANSIBLE_LOCAL_TEMP", "ANSIBLE_FORCE_COLOR", "TALOSCONFIG"}


def test_strict_validation_really_rejects_a_typo(ops_cronjob):
    """The check above can fail: the same CronJob with a misspelt field is refused by the API server."""
    broken = copy.deepcopy(ops_cronjob.manifest("CronJob"))
    broken["spec"]["concurencyPolicy"] = broken["spec"].pop("concurrencyPolicy")
    res = server_side_apply(ops_cronjob.admin, broken, dry_run=True)
    # kube-apiserver answers an unknown field in an apply patch with 500 ("field not declared in schema").
    assert res.status >= 400, res
    assert "concurencyPolicy" in res.body["message"]


def test_the_job_pod_passes_the_restricted_pod_security_level(ops_cronjob):
    """A Pod made from the CronJob's template is admitted (dry run) in the namespace that enforces restricted."""
    cronjob = ops_cronjob.manifest("CronJob")
    template = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    pod = {"apiVersion": "v1", "kind": "Pod", "spec": template["spec"],
           "metadata": {"name": "failover-dry-run", "namespace": cronjob["metadata"]["namespace"]}}
    res = ops_cronjob.admin.call("POST", object_path(pod, name=False), pod, query={"dryRun": "All"})
    assert res.status == 201, res
    assert res.warnings == []
    # And the control: the same pod as root is refused by Pod Security.
    root = copy.deepcopy(pod)
    root["spec"]["securityContext"] = {"runAsUser": 0}
    root["spec"]["containers"][0]["securityContext"] = {}
    res = ops_cronjob.admin.call("POST", object_path(root, name=False), root, query={"dryRun": "All"})
    assert res.status == 403 and "restricted" in res.body["message"], res


@pytest.mark.parametrize("verb,resource,subresource,group", NEEDED)
def test_rbac_allows_what_failover_needs(ops_cronjob, verb, resource, subresource, group):
    namespace = None if resource == "nodes" else "default"
    assert access_review(ops_cronjob, verb, resource, subresource, group, namespace)


# What it keeps between runs in the edge namespace: the failover and floating watch Leases and the health history
# ConfigMap.
NEEDED_IN_EDGE = [
    ("create", "leases", "coordination.k8s.io", None), ("get", "leases", "coordination.k8s.io", "autoextender-failover"),
    ("update", "leases", "coordination.k8s.io", "autoextender-failover"),
    ("delete", "leases", "coordination.k8s.io", "autoextender-failover"),
    ("get", "leases", "coordination.k8s.io", "autoextender-failover-floating"),
    ("update", "leases", "coordination.k8s.io", "autoextender-failover-floating"),
    ("delete", "leases", "coordination.k8s.io", "autoextender-failover-floating"),
    ("create", "configmaps", "", None), ("get", "configmaps", "", "autoextender-edge-health"),
    ("patch", "configmaps", "", "autoextender-edge-health"), ("get", "namespaces", "", "autoextender-edge"),
]


@pytest.mark.parametrize("verb,resource,group,name", NEEDED_IN_EDGE)
def test_rbac_allows_the_lease_and_the_health_state_in_the_edge_namespace_only(ops_cronjob, verb, resource, group,
                                                                               name):
    assert access_review(ops_cronjob, verb, resource, "", group, EDGE_NAMESPACE, name)
    if name:  # another object of the kind, or the same name in another namespace: no
        assert not access_review(ops_cronjob, verb, resource, "", group, EDGE_NAMESPACE, name + "-other")
    own = ops_cronjob.service_account()[0]
    assert not access_review(ops_cronjob, verb, resource, "", group, own, name)


@pytest.mark.parametrize("verb,resource,subresource,group", FORBIDDEN)
def test_rbac_denies_everything_else(ops_cronjob, verb, resource, subresource, group):
    own = ops_cronjob.service_account()[0]
    namespaced = resource not in ("nodes", "clusterrolebindings", "clusterroles", "validatingadmissionpolicies")
    for namespace in ([None, "default", own] if namespaced else [None]):
        assert not access_review(ops_cronjob, verb, resource, subresource, group, namespace), namespace


def test_a_real_token_of_the_account_lists_nodes_but_not_secrets(ops_cronjob):
    sa = ops_cronjob.as_service_account()
    own = ops_cronjob.service_account()[0]
    assert sa.call("GET", "/api/v1/nodes").status == 200
    assert sa.call("GET", "/api/v1/pods").status == 200
    assert sa.call("GET", "/api/v1/secrets").status == 403
    assert sa.call("GET", "/api/v1/namespaces/%s/secrets" % own).status == 403
    assert sa.call("GET", "/api/v1/namespaces/%s/configmaps" % own).status == 403


def _until_denied(call, timeout=20):
    """The admission policy is loaded asynchronously after it is created: retry until it answers."""
    deadline = time.monotonic() + timeout
    while True:
        res = call()
        if res.status in (403, 422) or time.monotonic() > deadline:
            return res
        time.sleep(0.5)


@pytest.fixture
def ops_nodes(ops_cronjob):
    """An edge node (labelled autoextender.io/pool) and a home node, registered as kubelets do."""
    kube = Kube(ops_cronjob.kube_cluster.kubeconfig)
    suffix = uuid.uuid4().hex[:6]
    edge, home = "ops-edge-" + suffix, "ops-home-" + suffix
    kube.register_node(edge, {"autoextender.io/pool": "hel1-a"},
                       [{"key": "autoextender.io/edge", "value": "true", "effect": "NoSchedule"}])
    kube.register_node(home, {}, [])
    yield kube, edge, home
    kube.delete_node(edge)
    kube.delete_node(home)


def test_admission_policy_keeps_the_job_to_edge_nodes(ops_cronjob, ops_nodes):
    kube, edge, home = ops_nodes
    sa = ops_cronjob.as_service_account()
    cordon = '{"spec": {"unschedulable": true}}'
    res = _until_denied(lambda: sa.call("PATCH", "/api/v1/nodes/" + home, cordon, "application/merge-patch+json"))
    assert res.status in (403, 422) and "edge nodes only" in res.body["message"], res
    assert not kube.core.read_node(home).spec.unschedulable
    assert sa.call("DELETE", "/api/v1/nodes/" + home).status in (403, 422)
    assert kube.core.read_node(home).metadata.name == home

    res = sa.call("PATCH", "/api/v1/nodes/" + edge, cordon, "application/merge-patch+json")
    assert res.status == 200, res
    assert kube.core.read_node(edge).spec.unschedulable is True
    unlabel = '{"metadata": {"labels": {"autoextender.io/pool": null}}}'
    res = sa.call("PATCH", "/api/v1/nodes/" + edge, unlabel, "application/merge-patch+json")
    assert res.status in (403, 422) and "label" in res.body["message"], res
    assert sa.call("DELETE", "/api/v1/nodes/" + edge).status == 200
    assert edge not in [n.metadata.name for n in kube.core.list_node().items]


def test_admission_policy_lets_the_job_delete_only_finished_pods(ops_cronjob, ops_nodes):
    kube, edge, dummy = ops_nodes
    sa = ops_cronjob.as_service_account()
    namespace = kube.namespace("ops-drain-" + uuid.uuid4().hex[:6])
    try:
        # A running pod (no controller, so nothing brings it back) and a Job's finished pod, both on the
        # edge node: the scheduler places them, kwok runs them (and finishes the Job's).
        on_edge = {"nodeSelector": {"kubernetes.io/hostname": edge}, "terminationGracePeriodSeconds": 0,
                   "tolerations": [dict(EDGE_TAINT, operator="Equal")],
                   "containers": [{"name": "app", "image": "registry.invalid/app:1"}]}
        kube.core.create_namespaced_pod(namespace, {"metadata": {"name": "running", "labels": {"app": "a"}},
                                                    "spec": on_edge})
        kube.batch.create_namespaced_job(namespace, {"metadata": {"name": "finished"}, "spec": {
            "backoffLimit": 0, "template": {"metadata": {"labels": {"app": "b"}},
                                            "spec": dict(on_edge, restartPolicy="Never")}}})
        kube.running_pods(namespace, {"app": "a"}, 1)
        finished = wait_for(lambda: [p.metadata.name for p in kube.pods(namespace, "app=b")
                                     if p.status.phase == "Succeeded"], 90, "the Job's pod to finish")[0]
        pods = "/api/v1/namespaces/%s/pods/" % namespace
        res = _until_denied(lambda: sa.call("DELETE", pods + "running"))
        assert res.status in (403, 422) and "finished pods only" in res.body["message"], res
        assert sa.call("DELETE", pods + finished).status == 200
        # A running pod leaves through the eviction API, which the account may use.
        res = sa.call("POST", pods + "running/eviction", {
            "apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "running", "namespace": namespace}})
        assert res.status == 201, res
        wait_for(lambda: kube.pod_names(namespace) == [], 60, "both pods to be gone")
    finally:
        kube.delete_namespace(namespace)


def test_the_inventory_in_the_configmap_passes_the_preflight_schema(ops_cronjob, tmp_path):
    """The ConfigMap's desired state is valid for the roles (checked by the preflight role itself)."""
    data = ops_cronjob.manifest("ConfigMap")["data"]
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(data["hosts.yml"])
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Check the CronJob inventory", "hosts": "localhost",
                                         "gather_facts": False,
                                         # The schema and rules only: placement would ask the real Hetzner API.
                                         "roles": [{"role": "talos.autoextender.preflight",
                                                    "vars": {"preflight_placement": False}}]}]))
    proc = run_playbook(str(playbook), inventory=str(inventory))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    hosts_vars = yaml.safe_load(data["hosts.yml"])["all"]["vars"]
    # The files the job mounts are the paths the desired state names.
    mounts = {m["name"]: m["mountPath"] for m in
              ops_cronjob.manifest("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert os.path.dirname(hosts_vars["autoextender_cluster"]["talosconfig"]) == mounts["talos"]
    assert os.path.dirname(hosts_vars["autoextender_cluster"]["secrets"]["path"]) == mounts["talos"]
    assert "kubeconfig" not in hosts_vars["autoextender_cluster"]  # in-cluster: the service account
