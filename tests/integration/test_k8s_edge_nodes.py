"""The edge_nodes role: wait for Talos-registered nodes, check labels/taints, decommission them."""
import os
import uuid

from tests.support.ansible import run_playbook
from tests.support.fixtures_k8s import edge_pool
from tests.support.k8s_objects import EDGE_TAINT

PLAYBOOK = os.path.join(os.path.dirname(__file__), "playbooks", "k8s_edge_nodes.yml")


def run(kube_cluster, entry_point, pool, check=False, **extra):
    extra_vars = dict({"edge_nodes_kubeconfig": kube_cluster.kubeconfig, "edge_nodes_entry_point": entry_point,
                       "edge_nodes_pool": pool, "edge_nodes_wait_delay": 1}, **extra)
    return run_playbook(PLAYBOOK, extra_vars, check=check)


def facts(proc):
    import json
    data = json.loads(proc.stdout)
    for play in data["plays"]:
        for task in play["tasks"]:
            res = task["hosts"].get("localhost", {})
            if "edge_nodes_result" in res.get("ansible_facts", {}):
                return res["ansible_facts"]["edge_nodes_result"]
    return None


def unique_pool():
    return edge_pool("pool-" + uuid.uuid4().hex[:6])


def test_waits_for_ready_nodes_with_the_talos_labels_and_taint(kube, kube_cluster, talos_edge_nodes):
    pool = unique_pool()
    names = [pool["name"] + "-1", pool["name"] + "-2"]
    labels, taints = talos_edge_nodes(pool, names)
    # The registration really came from the Talos config the Talos layer writes.
    assert labels["topology.kubernetes.io/zone"] == "hetzner-hel1"
    assert taints == [{"key": "autoextender.io/edge", "value": "true", "effect": "NoSchedule"}]

    proc = run(kube_cluster, "main", pool)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert sorted(facts(proc)["ready"]) == names


def test_a_node_that_stays_not_ready_times_out_with_its_name(kube, kube_cluster, talos_edge_nodes):
    pool = unique_pool()
    talos_edge_nodes(pool, [pool["name"] + "-1"])
    talos_edge_nodes(pool, [pool["name"] + "-2"], ready=False)
    proc = run(kube_cluster, "main", pool, edge_nodes_wait_timeout=2)
    assert proc.returncode != 0
    assert "Timed out after 2s waiting for 2 Ready node(s)" in proc.stdout
    assert "not Ready: %s-2" % pool["name"] in proc.stdout

    # Named nodes: a missing one is reported as missing.
    proc = run(kube_cluster, "main", pool, edge_nodes_wait_timeout=1,
               edge_nodes_names=[pool["name"] + "-1", pool["name"] + "-9"])
    assert proc.returncode != 0 and "missing: %s-9" % pool["name"] in proc.stdout


def test_wrong_labels_or_a_missing_taint_fail_clearly(kube, kube_cluster):
    pool = unique_pool()
    name = pool["name"] + "-bad"
    kube.register_node(name, {"autoextender.io/pool": pool["name"], "topology.kubernetes.io/zone": "linode-fr-par"},
                       taints=[])
    try:
        proc = run(kube_cluster, "main", dict(pool, count=1))
        assert proc.returncode != 0
        out = proc.stdout
        assert "%s: label topology.kubernetes.io/zone=hetzner-hel1 expected, found linode-fr-par" % name in out
        assert "%s: label node.kubernetes.io/instance-type=cx22 expected, found nothing" % name in out
        assert "%s: taint autoextender.io/edge=true:NoSchedule missing" % name in out
    finally:
        kube.delete_node(name)


def test_decommission_drains_through_budgets_then_deletes(kube, kube_cluster, k8s_namespace, talos_edge_nodes):
    pool = unique_pool()
    names = [pool["name"] + "-1", pool["name"] + "-2"]
    talos_edge_nodes(pool, names)
    # One "web" pod on each node of the pool (the scheduler spreads them), a budget that allows none to go.
    web = {"app": "web"}
    kube.deployment(k8s_namespace, "web", web, replicas=2,
                    nodeSelector={"autoextender.io/pool": pool["name"]}, tolerations=[dict(EDGE_TAINT, operator="Equal")],
                    affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": web}, "topologyKey": "kubernetes.io/hostname"}]}})
    assert sorted(p.spec.node_name for p in kube.running_pods(k8s_namespace, web, 2)) == names
    kube.budget(k8s_namespace, "web", web, min_available=2, disruptions_allowed=0)

    # A node outside the pool is refused before anything changes.
    proc = run(kube_cluster, "decommission", pool, edge_nodes_names=["some-home-node"])
    assert proc.returncode != 0 and "only nodes of the pool" in proc.stdout

    # The budget blocks: clear report, nothing deleted.
    proc = run(kube_cluster, "decommission", pool, edge_nodes_drain_timeout=3)
    assert proc.returncode != 0
    assert "PodDisruptionBudget %s/web minAvailable=2, disruptionsAllowed=0" % k8s_namespace in proc.stdout
    assert all(kube.get("v1", "Node", n) is not None for n in names)

    # The owner relaxes the budget; the disruption controller allows both pods to go.
    kube.policy.patch_namespaced_pod_disruption_budget("web", k8s_namespace, {"spec": {"minAvailable": 0}})
    kube.wait_budget(k8s_namespace, "web", 2)
    # Check mode predicts, changes nothing.
    proc = run(kube_cluster, "decommission", pool, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert all(kube.get("v1", "Node", n) is not None for n in names)

    proc = run(kube_cluster, "decommission", pool)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert sorted(facts(proc)["deleted"]) == names
    assert all(kube.get("v1", "Node", n) is None for n in names)
    # The evicted pods are gone; their replacements wait for a node of the pool.
    assert all(p.spec.node_name is None for p in kube.pods(k8s_namespace))

    proc = run(kube_cluster, "decommission", pool)
    assert proc.returncode == 0 and facts(proc)["deleted"] == []
