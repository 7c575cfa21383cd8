"""k8s_node_drain against the real kube-apiserver: eviction API, PodDisruptionBudgets, Node deletion."""
import json
import os
import uuid

import pytest

from tests.support.ansible import run_playbook, task_results
from tests.support.fixtures_k8s import edge_pool

PLAYBOOK = os.path.join(os.path.dirname(__file__), "playbooks", "k8s_node_drain.yml")


def drain(kube_cluster, name, check=False, **options):
    proc = run_playbook(PLAYBOOK, dict({"kubeconfig": kube_cluster.kubeconfig, "node": name}, **options),
                        check=check, diff=True)
    result = task_results(proc)["Drain the node"] if proc.stdout.startswith("{") else {}
    return proc, result


@pytest.fixture
def edge_node(talos_edge_nodes):
    name = "edge-drain-" + uuid.uuid4().hex[:6]
    talos_edge_nodes(edge_pool("hel1-a"), [name])
    return name


def node(kube, name):
    found = kube.get("v1", "Node", name)
    return found and found["spec"].get("unschedulable", False)


def test_drain_respects_an_allowing_budget_and_is_idempotent(kube, kube_cluster, k8s_namespace, edge_node):
    ns = k8s_namespace
    kube.bind_pod(ns, "web-0", edge_node, {"app": "web"})
    kube.bind_pod(ns, "proxy-x1", edge_node, {"app": "proxy"}, owner="DaemonSet")
    kube.budget(ns, "web", {"app": "web"}, min_available=1, healthy=2, disruptions_allowed=1)

    proc, res = drain(kube_cluster, edge_node, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert res["changed"] is True
    assert res["k8s_node_drain"]["blocked"] == []
    assert res["k8s_node_drain"]["evicted"] == ["%s/web-0" % ns]
    # Check mode changed nothing: not cordoned, pods still there.
    assert node(kube, edge_node) is False
    assert kube.pod_names(ns) == ["proxy-x1", "web-0"]

    proc, res = drain(kube_cluster, edge_node)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert res["changed"] is True
    assert res["k8s_node_drain"]["evicted"] == ["%s/web-0" % ns]
    assert res["k8s_node_drain"]["skipped"][0]["pod"] == "%s/proxy-x1" % ns
    assert res["diff"]["before"]["unschedulable"] is False
    # The outside world: cordoned, the pod evicted (the budget allowed it), the DaemonSet pod left.
    assert node(kube, edge_node) is True
    assert kube.pod_names(ns) == ["proxy-x1"]
    pdb = kube.policy.read_namespaced_pod_disruption_budget("web", ns)
    assert pdb.status.disruptions_allowed == 0  # the API server counted the eviction against the budget

    proc, res = drain(kube_cluster, edge_node)
    assert proc.returncode == 0 and res["changed"] is False
    proc, res = drain(kube_cluster, edge_node, check=True)
    assert proc.returncode == 0 and res["changed"] is False


def test_a_blocking_budget_is_retried_then_reported(kube, kube_cluster, k8s_namespace, edge_node):
    ns = k8s_namespace
    kube.bind_pod(ns, "db-0", edge_node, {"app": "db"})
    kube.bind_pod(ns, "db-1", edge_node, {"app": "db"})
    kube.budget(ns, "db", {"app": "db"}, min_available=2, healthy=2, disruptions_allowed=0)

    proc, res = drain(kube_cluster, edge_node, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    blocked = res["k8s_node_drain"]["blocked"]
    assert sorted(b["pod"] for b in blocked) == ["%s/db-0" % ns, "%s/db-1" % ns]
    assert blocked[0]["budgets"] == [{"name": "%s/db" % ns, "rule": "minAvailable=2", "disruptions_allowed": 0,
                                      "current_healthy": 2, "desired_healthy": 2}]
    assert "disruption budget" in blocked[0]["reason"]
    assert node(kube, edge_node) is False

    proc, res = drain(kube_cluster, edge_node, state="absent", wait_timeout=4)
    assert proc.returncode != 0
    assert res["failure"]["kind"] == "timeout"
    assert "PodDisruptionBudget %s/db minAvailable=2, disruptionsAllowed=0" % ns in res["msg"]
    assert "%s/db-0" % ns in res["msg"] and "stays cordoned" in res["msg"]
    assert len(res["failure"]["blocked"]) == 2
    # Nothing was evicted, the node is cordoned and NOT deleted.
    assert kube.pod_names(ns) == ["db-0", "db-1"]
    assert node(kube, edge_node) is True

    # wait=false: one round, a refused eviction fails at once.
    proc, res = drain(kube_cluster, edge_node, wait=False)
    assert proc.returncode != 0 and res["failure"]["kind"] == "blocked"


def test_pods_that_would_be_lost_are_refused_before_any_change(kube, kube_cluster, k8s_namespace, edge_node):
    ns = k8s_namespace
    kube.bind_pod(ns, "bare", edge_node, {"app": "bare"}, owner=None)
    kube.bind_pod(ns, "cache-0", edge_node, {"app": "cache"}, volumes=[{"name": "d", "emptyDir": {}}])

    proc, res = drain(kube_cluster, edge_node)
    assert proc.returncode != 0
    assert res["failure"]["kind"] == "validation"
    assert "%s/bare: no controller" % ns in res["msg"] and "%s/cache-0: it has emptyDir" % ns in res["msg"]
    assert node(kube, edge_node) is False  # not even cordoned
    assert kube.pod_names(ns) == ["bare", "cache-0"]

    proc, res = drain(kube_cluster, edge_node, state="absent", force=True, delete_emptydir_data=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert res["k8s_node_drain"]["deleted"] is True
    assert kube.pod_names(ns) == []
    assert kube.get("v1", "Node", edge_node) is None

    proc, res = drain(kube_cluster, edge_node, state="absent")
    assert proc.returncode == 0 and res["changed"] is False


def test_a_missing_node_is_an_error_unless_absent_is_wanted(kube_cluster, kube):
    proc, res = drain(kube_cluster, "no-such-node-" + uuid.uuid4().hex[:6])
    assert proc.returncode != 0 and res["failure"]["kind"] == "not_found"
    assert "not found" in res["msg"]


def test_selector_semantics_match_policy_v1():
    from ansible_collections.talos.autoextender.plugins.module_utils._k8s_drain import classify, selector_matches
    assert selector_matches({}, {"a": "b"}) is True
    assert selector_matches(None, {"a": "b"}) is False
    sel = {"matchLabels": {"app": "db"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["x", "y"]}, {"key": "canary", "operator": "DoesNotExist"}]}
    assert selector_matches(sel, {"app": "db", "tier": "x"}) is True
    assert selector_matches(sel, {"app": "db", "tier": "z"}) is False
    assert selector_matches(sel, {"app": "db", "tier": "x", "canary": "1"}) is False
    pods = [
        {"metadata": {"namespace": "n", "name": "m", "annotations": {"kubernetes.io/config.mirror": "x"}}},
        {"metadata": {"namespace": "n", "name": "done"}, "status": {"phase": "Succeeded"}},
        {"metadata": {"namespace": "n", "name": "rs", "ownerReferences": [{"kind": "ReplicaSet", "controller": True}]}},
    ]
    plan = classify(pods)
    assert [p["metadata"]["name"] for p in plan["evict"]] == ["rs"]
    assert [p["metadata"]["name"] for p in plan["delete"]] == ["done"]
    assert [p["metadata"]["name"] for p, dummy in plan["skip"]] == ["m"]
    json.dumps(plan)  # plain data only
