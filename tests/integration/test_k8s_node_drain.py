"""k8s_node_drain against the real control plane: eviction API, PodDisruptionBudgets, Node deletion.

The pods are the controllers' (Deployments, a DaemonSet, placed by kube-scheduler, run by kwok),
the budgets' status the disruption controller's.
"""
import json
import os
import uuid

import pytest

from tests.support.ansible import run_playbook, task_results
from tests.support.fixtures_k8s import edge_pool
from tests.support.k8s_objects import EDGE_TAINT

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


@pytest.fixture
def home_node(kube):
    """An untainted Node of the home cluster, for the pods that are not on the edge node."""
    name = "home-drain-" + uuid.uuid4().hex[:6]
    kube.register_node(name, {}, [])
    yield name
    kube.delete_node(name)


def names(pods):
    return sorted(p.metadata.name for p in pods)


def test_drain_respects_an_allowing_budget_and_is_idempotent(kube, kube_cluster, k8s_namespace, edge_node, home_node):
    ns = k8s_namespace
    # Two "web" pods, one on the edge node, one at home: a budget of minAvailable=1 allows one eviction.
    kube.deployment(ns, "web-edge", {"app": "web", "at": "edge"}, node=edge_node)
    kube.deployment(ns, "web-home", {"app": "web", "at": "home"}, node=home_node)
    kube.daemonset(ns, "proxy", {"app": "proxy"}, {"kubernetes.io/hostname": edge_node})
    web = kube.running_pods(ns, {"app": "web", "at": "edge"}, 1)[0].metadata.name
    kube.running_pods(ns, {"app": "web", "at": "home"}, 1)
    proxy = kube.running_pods(ns, {"app": "proxy"}, 1)[0].metadata.name
    kube.budget(ns, "web", {"app": "web"}, min_available=1, disruptions_allowed=1)
    before = kube.pod_names(ns)

    proc, res = drain(kube_cluster, edge_node, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert res["changed"] is True
    assert res["k8s_node_drain"]["blocked"] == []
    assert res["k8s_node_drain"]["evicted"] == ["%s/%s" % (ns, web)]
    # Check mode changed nothing: not cordoned, pods still there.
    assert node(kube, edge_node) is False
    assert kube.pod_names(ns) == before

    proc, res = drain(kube_cluster, edge_node)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert res["changed"] is True
    assert res["k8s_node_drain"]["evicted"] == ["%s/%s" % (ns, web)]
    assert res["k8s_node_drain"]["skipped"][0]["pod"] == "%s/%s" % (ns, proxy)
    assert res["diff"]["before"]["unschedulable"] is False
    # The outside world: cordoned, the pod evicted (the budget allowed it), the DaemonSet pod left;
    # the Deployment's new pod cannot go back to the cordoned node.
    assert node(kube, edge_node) is True
    on_node = [p for p in kube.pods(ns) if p.spec.node_name == edge_node]
    assert names(on_node) == [proxy]
    replacement = [p for p in kube.pods(ns, "at=edge") if p.metadata.name != web]
    assert len(replacement) == 1 and replacement[0].spec.node_name is None
    # The disruption controller counts what is left: one healthy pod, none may go.
    kube.wait_budget(ns, "web", 0)

    proc, res = drain(kube_cluster, edge_node)
    assert proc.returncode == 0 and res["changed"] is False
    proc, res = drain(kube_cluster, edge_node, check=True)
    assert proc.returncode == 0 and res["changed"] is False


def test_a_blocking_budget_is_retried_then_reported(kube, kube_cluster, k8s_namespace, edge_node):
    ns = k8s_namespace
    kube.deployment(ns, "db", {"app": "db"}, replicas=2, node=edge_node)
    db = names(kube.running_pods(ns, {"app": "db"}, 2))
    kube.budget(ns, "db", {"app": "db"}, min_available=2, disruptions_allowed=0)

    proc, res = drain(kube_cluster, edge_node, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    blocked = res["k8s_node_drain"]["blocked"]
    assert sorted(b["pod"] for b in blocked) == ["%s/%s" % (ns, n) for n in db]
    assert blocked[0]["budgets"] == [{"name": "%s/db" % ns, "rule": "minAvailable=2", "disruptions_allowed": 0,
                                      "current_healthy": 2, "desired_healthy": 2}]
    assert "disruption budget" in blocked[0]["reason"]
    assert node(kube, edge_node) is False

    proc, res = drain(kube_cluster, edge_node, state="absent", wait_timeout=4)
    assert proc.returncode != 0
    assert res["failure"]["kind"] == "timeout"
    assert "PodDisruptionBudget %s/db minAvailable=2, disruptionsAllowed=0" % ns in res["msg"]
    assert "%s/%s" % (ns, db[0]) in res["msg"] and "stays cordoned" in res["msg"]
    assert len(res["failure"]["blocked"]) == 2
    # Nothing was evicted, the node is cordoned and NOT deleted.
    assert kube.pod_names(ns) == db
    assert node(kube, edge_node) is True

    # wait=false: one round, a refused eviction fails at once.
    proc, res = drain(kube_cluster, edge_node, wait=False)
    assert proc.returncode != 0 and res["failure"]["kind"] == "blocked"


def test_pods_that_would_be_lost_are_refused_before_any_change(kube, kube_cluster, k8s_namespace, edge_node):
    ns = k8s_namespace
    # A bare pod (no controller; the scheduler places it) and a Deployment's pod with emptyDir data.
    kube.core.create_namespaced_pod(ns, {"metadata": {"name": "bare", "labels": {"app": "bare"}}, "spec": {
        "nodeSelector": {"kubernetes.io/hostname": edge_node}, "terminationGracePeriodSeconds": 0,
        "tolerations": [dict(EDGE_TAINT, operator="Equal")],
        "containers": [{"name": "app", "image": "registry.invalid/app:1"}]}})
    kube.deployment(ns, "cache", {"app": "cache"}, node=edge_node, volumes=[{"name": "d", "emptyDir": {}}])
    kube.running_pods(ns, {"app": "bare"}, 1)
    cache = kube.running_pods(ns, {"app": "cache"}, 1)[0].metadata.name

    proc, res = drain(kube_cluster, edge_node)
    assert proc.returncode != 0
    assert res["failure"]["kind"] == "validation"
    assert "%s/bare: no controller" % ns in res["msg"] and "%s/%s: it has emptyDir" % (ns, cache) in res["msg"]
    assert node(kube, edge_node) is False  # not even cordoned
    assert kube.pod_names(ns) == sorted(["bare", cache])

    proc, res = drain(kube_cluster, edge_node, state="absent", force=True, delete_emptydir_data=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert res["k8s_node_drain"]["deleted"] is True
    # Both pods are gone; the Deployment's replacement waits for a node (none is left for it).
    assert "bare" not in kube.pod_names(ns) and cache not in kube.pod_names(ns)
    assert all(p.spec.node_name is None for p in kube.pods(ns))
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
