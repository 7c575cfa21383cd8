"""The edge_ingress role against the real control plane with the real Traefik and Gateway API CRDs."""
import glob
import os
import shutil
import uuid

import pytest

from tests.conftest import spec_path
from tests.support.ansible import run_playbook
from tests.support.fixtures_k8s import edge_pool
from tests.support.fixtures_k8s import role_results as task_results
from tests.support.k8s_objects import EDGE_TAINT, wait_for

PLAYBOOK = os.path.join(os.path.dirname(__file__), "playbooks", "k8s_edge_ingress.yml")
FOLLOW = os.path.join(os.path.dirname(__file__), "playbooks", "k8s_edge_ingress_follow.yml")
APPLY = "Apply the Traefik objects"


@pytest.fixture
def ingress(kube, kube_cluster, tmp_path):
    """Role variables with unique names, and cleanup of every object the role made."""
    sfx = uuid.uuid4().hex[:6]
    base = {
        "edge_ingress_kubeconfig": kube_cluster.kubeconfig,
        "edge_ingress_namespace": "ae-edge-" + sfx,
        "edge_ingress_class": "edge-" + sfx,
        "edge_ingress_priority_class": "ae-edge-" + sfx,
        "edge_ingress_manifests_dir": spec_path("crds", "traefik", "v3.6.24"),
        "edge_ingress_cache_dir": str(tmp_path / "cache"),
        "edge_ingress_wait": False,
        "autoextender_pools": [{"name": "hel1-a", "active": True}, {"name": "fr-par-b", "active": False},
                               {"name": "nbg1-c"}],
        "autoextender_dns": {"zone": "example.com.", "edge_name": "edge"},
        "autoextender_expose": [
            {"host": "app.example.com", "namespace": "default", "service": "app", "port": 80},
            {"host": "mc.example.com", "namespace": "games", "service": "mc", "port": 25565, "protocol": "tcp",
             "edge_port": 25565},
            {"host": "voice.example.com", "namespace": "games", "service": "ts", "port": 9987, "protocol": "udp",
             "edge_port": 9987},
        ],
    }

    def run(check=False, playbook=PLAYBOOK, **extra):
        return run_playbook(playbook, dict(base, **extra), check=check)

    run.vars = base
    yield run
    ns = base["edge_ingress_namespace"]
    kube.delete("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", ns + "-traefik-edge")
    kube.delete("rbac.authorization.k8s.io/v1", "ClusterRole", ns + "-traefik-edge")
    kube.delete("networking.k8s.io/v1", "IngressClass", base["edge_ingress_class"])
    kube.delete("gateway.networking.k8s.io/v1", "GatewayClass", base["edge_ingress_class"])
    kube.delete("scheduling.k8s.io/v1", "PriorityClass", base["edge_ingress_priority_class"])
    kube.delete_namespace(ns)


def applied(proc, what="applied"):
    """``Kind/namespace/name`` of the ingress objects the run changed (or, in check mode, ``predicted``)."""
    return task_results(proc)[APPLY]["k8s_apply"][what]


def test_check_create_repeat(kube, ingress):
    ns = ingress.vars["edge_ingress_namespace"]
    proc = ingress(check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    # The namespace does not exist: what sits in it cannot be dry-run, and is predicted as created.
    assert task_results(proc)[APPLY]["changed"] is True
    assert {"ServiceAccount/%s/traefik-edge" % ns, "DaemonSet/%s/traefik-edge" % ns} <= set(applied(proc, "predicted"))
    # Server-side dry-run created nothing.
    assert kube.get("v1", "Namespace", ns) is None
    assert kube.get("networking.k8s.io/v1", "IngressClass", ingress.vars["edge_ingress_class"]) is None

    proc = ingress()
    assert proc.returncode == 0, proc.stdout[-3000:]
    # Everything is created, the cluster-wide objects first.
    assert applied(proc) == task_results(proc)[APPLY]["k8s_apply"]["objects"]
    assert applied(proc)[0] == "Namespace/None/%s" % ns and applied(proc)[-1] == "DaemonSet/%s/traefik-edge" % ns

    ds = kube.get("apps/v1", "DaemonSet", "traefik-edge", ns)
    spec = ds["spec"]["template"]["spec"]
    assert spec["hostNetwork"] is True
    assert spec["priorityClassName"] == ingress.vars["edge_ingress_priority_class"]
    term = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    # Active pools only (fr-par-b is a standby pool).
    assert term["matchExpressions"] == [{"key": "autoextender.io/pool", "operator": "In", "values": ["hel1-a", "nbg1-c"]}]
    assert {"key": "autoextender.io/edge", "operator": "Equal", "value": "true", "effect": "NoSchedule"} in spec["tolerations"]
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    container = spec["containers"][0]
    args = container["args"]
    for ep, addr in [("web", ":80/tcp"), ("websecure", ":443/tcp"), ("ping", ":8082/tcp"),
                     ("tcp-25565", ":25565/tcp"), ("udp-9987", ":9987/udp")]:
        assert "--entryPoints.%s.address=%s" % (ep, addr) in args
        assert "--entryPoints.%s.reusePort=true" % ep in args
    assert "--providers.kubernetesingress.ingressClass=%s" % ingress.vars["edge_ingress_class"] in args
    assert "--providers.kubernetesingress.ingressEndpoint.hostname=edge.example.com" in args
    # No declared ports: the scheduler's host-port check would block the surge pod.
    assert "ports" not in container
    assert container["readinessProbe"]["httpGet"] == {"path": "/ping", "port": 8082, "scheme": "HTTP"}
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "64Mi"}

    nsobj = kube.get("v1", "Namespace", ns)
    assert nsobj["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    ic = kube.get("networking.k8s.io/v1", "IngressClass", ingress.vars["edge_ingress_class"])
    assert ic["spec"]["controller"] == "traefik.io/ingress-controller"
    role = kube.get("rbac.authorization.k8s.io/v1", "ClusterRole", ns + "-traefik-edge")
    crd_rule = [r for r in role["rules"] if r.get("apiGroups") == ["traefik.io"]][0]
    assert {"ingressroutetcps", "ingressrouteudps", "middlewares"} <= set(crd_rule["resources"])
    assert kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "ingressroutetcps.traefik.io")

    proc = ingress()
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert all(not r.get("changed") for r in task_results(proc).values())
    proc = ingress(check=True)
    assert proc.returncode == 0
    assert all(not r.get("changed") for r in task_results(proc).values())

    # An update: a pool becomes active; only the DaemonSet changes.
    pools = [dict(p, active=True) for p in ingress.vars["autoextender_pools"]]
    proc = ingress(autoextender_pools=pools)
    assert applied(proc) == ["DaemonSet/%s/traefik-edge" % ns]
    ds = kube.get("apps/v1", "DaemonSet", "traefik-edge", ns)
    values = ds["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchExpressions"][0]["values"]
    assert values == ["fr-par-b", "hel1-a", "nbg1-c"]


def test_gateway_api_crds_and_class_are_accepted(kube, ingress, tmp_path):
    # An air-gapped folder holding the upstream files under their names: the
    # pinned checksums of the role defaults must match them.
    local = tmp_path / "manifests"
    local.mkdir()
    shutil.copy(spec_path("crds", "traefik", "v3.6.24", "kubernetes-crd-definition-v1.yml"), local)
    for path in glob.glob(os.path.join(spec_path("crds", "gateway-api"), "gateway.networking.k8s.io_*.yaml")):
        shutil.copy(path, local)
    proc = ingress(edge_ingress_gateway_api=True, edge_ingress_manifests_dir=str(local))
    assert proc.returncode == 0, proc.stdout[-3000:]
    for name in ["gateways", "httproutes", "grpcroutes", "tcproutes", "udproutes", "tlsroutes", "listenersets"]:
        assert kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name + ".gateway.networking.k8s.io")
    gc = kube.get("gateway.networking.k8s.io/v1", "GatewayClass", ingress.vars["edge_ingress_class"])
    assert gc["spec"]["controllerName"] == "traefik.io/gateway-controller"
    args = kube.get("apps/v1", "DaemonSet", "traefik-edge", ingress.vars["edge_ingress_namespace"])[
        "spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--providers.kubernetesgateway=true" in args
    again = ingress(edge_ingress_gateway_api=True, edge_ingress_manifests_dir=str(local))
    assert all(not r.get("changed") for r in task_results(again).values())


def test_a_wrong_checksum_stops_before_anything_is_applied(kube, ingress, tmp_path):
    bad = [{"name": "kubernetes-crd-definition-v1.yml", "url": "unused",
            "checksum": "sha256:" + "0" * 64}]
    proc = ingress(edge_ingress_traefik_crds=bad)
    assert proc.returncode != 0 and "did not match" in proc.stdout
    assert kube.get("v1", "Namespace", ingress.vars["edge_ingress_namespace"]) is None


def test_bad_entrypoints_fail_before_anything_is_applied(kube, ingress):
    proc = ingress(edge_ingress_entrypoints=[{"name": "kubespan", "port": 51820, "protocol": "udp"}])
    assert proc.returncode != 0 and "kubespan" in proc.stdout
    proc = ingress(autoextender_pools=[{"name": "hel1-a", "active": False}])
    assert proc.returncode != 0 and "at least one active pool" in proc.stdout
    assert kube.get("v1", "Namespace", ingress.vars["edge_ingress_namespace"]) is None


def test_wait_follows_the_daemonset_rollout(kube, ingress, talos_edge_nodes):
    """The wait reads what the DaemonSet controller reports of the pods kwok runs on two edge nodes."""
    ns = ingress.vars["edge_ingress_namespace"]
    pool = edge_pool("wait-" + ns[-6:])
    names = [pool["name"] + "-1", pool["name"] + "-2"]
    talos_edge_nodes(pool, names)
    # Pods the lab runs itself: Ready only once the lab's probe says so (tests/support/kwok/pods.yaml).
    extra = {"autoextender_pools": [{"name": pool["name"], "active": True}],
             "edge_ingress_pod_annotations": {"lab.autoextender.io/run": "process"}, "edge_ingress_wait": True}
    proc = ingress(edge_ingress_wait_timeout=5, **extra)
    assert proc.returncode != 0
    assert "Wait until every edge node runs the updated, ready ingress" in proc.stdout

    def started():
        pods = [p for p in kube.pods(ns) if p.status.phase == "Running"]
        return pods if len(pods) == 2 else None

    pods = wait_for(started, 90, "two Traefik pods running")
    assert sorted(p.spec.node_name for p in pods) == names
    for pod in pods:  # the probe passes
        kube.core.patch_namespaced_pod(pod.metadata.name, ns,
                                       {"metadata": {"annotations": {"lab.autoextender.io/ready": "true"}}})
    proc = ingress(edge_ingress_wait_timeout=90, **extra)
    assert proc.returncode == 0, proc.stdout[-3000:]
    status = kube.get("apps/v1", "DaemonSet", "traefik-edge", ns)["status"]
    assert (status["desiredNumberScheduled"], status["numberReady"], status["numberAvailable"]) == (2, 2, 2)


def selected_pools(kube, ns):
    ds = kube.get("apps/v1", "DaemonSet", "traefik-edge", ns)
    if ds is None:
        return None
    terms = ds["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"]
    return sorted(v for t in terms for e in t["matchExpressions"] if e["key"] == "autoextender.io/pool"
                  for v in e["values"])


def test_follow_grows_before_a_publish_and_shrinks_after(kube, ingress):
    """The steps of a migration, a rollback and a decommission, as the workflows run them."""
    ns = ingress.vars["edge_ingress_namespace"]
    old, new = "old-" + ns[-6:], "new-" + ns[-6:]
    pools = [{"name": old, "active": True}, {"name": new, "active": False}]
    node = "ae-follow-" + ns[-6:]

    def step(name, check=False, **extra):
        proc = ingress(check=check, playbook=FOLLOW, autoextender_pools=pools, edge_ingress_step=name,
                       edge_ingress_from_pool=old, edge_ingress_to_pool=new, **extra)
        assert proc.returncode == 0, proc.stdout[-3000:]
        results = task_results(proc)
        plan = next(r for n, r in results.items() if n.startswith("Plan the ingress pools"))
        return plan["ansible_facts"]["edge_ingress_plan"], results

    kube.register_node(node, {"autoextender.io/pool": old}, [EDGE_TAINT])
    try:
        # A decommission never creates an ingress.
        plan = step("decommission", edge_ingress_pool=old)[0]
        assert plan["current"] is None and plan["apply"] is False
        assert selected_pools(kube, ns) is None

        plan = step("publish")[0]
        assert selected_pools(kube, ns) == [old] and plan["message"].startswith("the ingress runs on " + old)

        # Check mode predicts the union and the API server's dry-run writes nothing.
        plan, results = step("migrate_add", check=True)
        assert plan["pools"] == sorted([old, new]) and plan["added"] == [new]
        assert selected_pools(kube, ns) == [old]

        plan, results = step("migrate_add")
        assert selected_pools(kube, ns) == sorted([old, new])
        assert results[APPLY]["changed"] is True

        plan = step("migrate_switch")[0]
        assert (plan["removed"], selected_pools(kube, ns)) == ([old], [new])
        # Again: nothing to change, the ingress is not even applied.
        plan, results = step("migrate_switch")
        assert plan["apply"] is False and all(not r.get("changed") for r in results.values())

        plan = step("migrate_rollback")[0]
        assert selected_pools(kube, ns) == [old]

        # The old pool's Node is gone: a re-run of the finished migration keeps only the new pool.
        step("migrate_add")
        step("migrate_switch")
        kube.delete_node(node)
        plan = step("migrate_add")[0]
        assert plan["pools"] == [new] and plan["changed"] is False and selected_pools(kube, ns) == [new]

        # The last pool is never taken out: a DaemonSet cannot select nothing.
        plan = step("decommission", edge_ingress_pool=new)[0]
        assert plan["apply"] is False and selected_pools(kube, ns) == [new]
        assert "no pool would be left" in plan["message"]
    finally:
        kube.delete_node(node)


def test_follow_refuses_a_step_it_does_not_know(kube, ingress):
    proc = ingress(playbook=FOLLOW, edge_ingress_step="shrink")
    assert proc.returncode != 0
    assert "edge_ingress_step" in proc.stdout and "shrink" in proc.stdout
    assert kube.get("v1", "Namespace", ingress.vars["edge_ingress_namespace"]) is None
