"""What the real control loop does with the product's objects (kube-controller-manager, kube-scheduler, kwok).

Nothing here writes a status: the DaemonSet, Deployment, disruption and node lifecycle controllers,
the scheduler and kwok (the kubelet, tests/support/kwok/) do, and the tests read what they did.
"""
import datetime
import os
import uuid

import pytest

from tests.conftest import spec_path
from tests.support.ansible import run_playbook
from tests.support.fixtures_k8s import edge_pool
from tests.support.k8s_objects import EDGE_TAINT, wait_for
from tests.support.kube import NODE_MONITOR_GRACE_SECONDS

HERE = os.path.dirname(__file__)
INGRESS = os.path.join(HERE, "playbooks", "k8s_edge_ingress.yml")
DRAIN = os.path.join(HERE, "playbooks", "k8s_node_drain.yml")


def pod_nodes(kube, namespace, selector=None):
    """Node name of every pod (not leaving) in ``namespace``, sorted."""
    return sorted(p.spec.node_name or "" for p in kube.pods(namespace, selector) if not p.metadata.deletion_timestamp)


@pytest.fixture
def ingress_on(kube, kube_cluster, tmp_path):
    """``apply(pools)``: the edge_ingress role with these pools (wait off: the test waits for the controllers)."""
    sfx = uuid.uuid4().hex[:6]
    base = {
        "edge_ingress_kubeconfig": kube_cluster.kubeconfig, "edge_ingress_namespace": "ae-ctl-" + sfx,
        "edge_ingress_class": "ctl-" + sfx, "edge_ingress_priority_class": "ae-ctl-" + sfx,
        "edge_ingress_manifests_dir": spec_path("crds", "traefik", "v3.6.24"),
        "edge_ingress_cache_dir": str(tmp_path / "cache"), "edge_ingress_wait": False,
        "autoextender_dns": {"zone": "example.com.", "edge_name": "edge"}, "autoextender_expose": [],
    }

    def apply(pools):
        proc = run_playbook(INGRESS, dict(base, autoextender_pools=pools))
        assert proc.returncode == 0, proc.stdout[-3000:]
        return base["edge_ingress_namespace"]

    yield apply
    ns = base["edge_ingress_namespace"]
    kube.delete("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", ns + "-traefik-edge")
    kube.delete("rbac.authorization.k8s.io/v1", "ClusterRole", ns + "-traefik-edge")
    kube.delete("networking.k8s.io/v1", "IngressClass", base["edge_ingress_class"])
    kube.delete("scheduling.k8s.io/v1", "PriorityClass", base["edge_ingress_priority_class"])
    kube.delete_namespace(ns)


def test_traefik_runs_only_on_ready_tainted_edge_nodes_of_active_pools(kube, ingress_on, talos_edge_nodes):
    sfx = uuid.uuid4().hex[:6]
    active, inactive = edge_pool("on-" + sfx), edge_pool("off-" + sfx)
    talos_edge_nodes(active, ["on-%s-1" % sfx, "on-%s-2" % sfx])
    talos_edge_nodes(active, ["on-%s-3" % sfx], ready=False)  # its kubelet says NotReady
    talos_edge_nodes(inactive, ["off-%s-1" % sfx])
    home = "home-" + sfx
    kube.register_node(home, {}, [])  # a home node: no pool, no edge taint
    try:
        ns = ingress_on([{"name": active["name"], "active": True}, {"name": inactive["name"], "active": False}])
        want = ["on-%s-1" % sfx, "on-%s-2" % sfx]
        wait_for(lambda: pod_nodes(kube, ns) == want, 180, "Traefik pods on %s" % want)

        # A new node of the active pool gets its pod; the NotReady one gets one once Ready.
        talos_edge_nodes(active, ["on-%s-4" % sfx])
        kube.set_node_ready("on-%s-3" % sfx, True)
        want = ["on-%s-%d" % (sfx, i) for i in (1, 2, 3, 4)]
        wait_for(lambda: pod_nodes(kube, ns) == want, 180, "Traefik pods on %s" % want)
        # The DaemonSet controller's own count agrees: four nodes should run it, none runs it wrongly.
        # (Availability is kwok's pace, not the controllers' decision: not asserted here.)

        def counted():
            status = kube.get("apps/v1", "DaemonSet", "traefik-edge", ns)["status"]
            return status.get("desiredNumberScheduled") == status.get("currentNumberScheduled") == 4 and status
        assert wait_for(counted, 180, "the DaemonSet controller to count 4 nodes")["numberMisscheduled"] == 0
    finally:
        kube.delete_node(home)


def test_a_deployment_rolls_to_a_new_replicaset(kube, k8s_namespace, talos_edge_nodes):
    node = "roll-" + uuid.uuid4().hex[:6]
    talos_edge_nodes(edge_pool("roll-" + node[-6:]), [node])
    app = {"app": "roll"}
    kube.deployment(k8s_namespace, "roll", app, replicas=2, node=node)
    first = {p.metadata.name for p in kube.running_pods(k8s_namespace, app, 2)}
    kube.apps.patch_namespaced_deployment("roll", k8s_namespace, {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "registry.invalid/app:2"}]}}}})

    def rolled():
        sets = kube.apps.list_namespaced_replica_set(k8s_namespace, label_selector="app=roll").items
        new = [s for s in sets if s.spec.template.spec.containers[0].image.endswith(":2")]
        old = [s for s in sets if s not in new]
        return (len(new) == 1 and (new[0].status.ready_replicas or 0) == 2 and len(old) == 1
                and old[0].spec.replicas == 0 and (old[0].status.replicas or 0) == 0)

    wait_for(rolled, 120, "the Deployment rolled to a new ReplicaSet")
    second = {p.metadata.name for p in kube.running_pods(k8s_namespace, app, 2)}
    assert not first & second
    assert all(p.spec.containers[0].image.endswith(":2") for p in kube.pods(k8s_namespace, "app=roll"))


def test_the_pods_of_a_node_that_stops_heartbeating_are_evicted_daemonset_pods_stay(
        kube, k8s_namespace, talos_edge_nodes):
    sfx = uuid.uuid4().hex[:6]
    pool = edge_pool("lost-" + sfx)
    lost, alive = "lost-%s-1" % sfx, "lost-%s-2" % sfx
    talos_edge_nodes(pool, [lost, alive])
    # Short tolerations for the web pods (the apiserver's default is 30 s here, 300 s in a real cluster).
    tolerate = [dict(EDGE_TAINT, operator="Equal")] + [
        {"key": "node.kubernetes.io/" + k, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}
        for k in ("unreachable", "not-ready")]
    kube.deployment(k8s_namespace, "web", {"app": "web"}, nodeSelector={"kubernetes.io/hostname": lost},
                    tolerations=tolerate)
    kube.daemonset(k8s_namespace, "agent", {"app": "agent"}, {"autoextender.io/pool": pool["name"]})
    web = kube.running_pods(k8s_namespace, {"app": "web"}, 1)[0].metadata.name
    kube.running_pods(k8s_namespace, {"app": "agent"}, 2)

    kube.stop_kubelet(lost)  # kwok stops its heartbeats, as when the machine dies
    kube.wait_node_ready(lost, "Unknown", timeout=NODE_MONITOR_GRACE_SECONDS + 60)
    ready = next(c for c in kube.core.read_node(lost).status.conditions if c.type == "Ready")
    assert ready.reason == "NodeStatusUnknown"
    # not before the controller's grace period after the last heartbeat (times in whole seconds)
    assert (ready.last_transition_time - ready.last_heartbeat_time).total_seconds() >= NODE_MONITOR_GRACE_SECONDS - 1
    wait_for(lambda: "node.kubernetes.io/unreachable" in [
        t.key for t in kube.core.read_node(lost).spec.taints or [] if t.effect == "NoExecute"], 120,
        "the unreachable NoExecute taint on %s" % lost)
    # The web pod is evicted once its toleration ran out; the DaemonSet's pod tolerates for ever.
    wait_for(lambda: web not in kube.pod_names(k8s_namespace), 120, "the evicted pod %s to be gone" % web)
    agents = kube.pods(k8s_namespace, "app=agent")
    assert sorted(p.spec.node_name for p in agents) == sorted([lost, alive])
    assert all(p.metadata.deletion_timestamp is None for p in agents)
    assert kube.node_ready(alive) == "True"


def test_the_drain_waits_for_the_budget_the_disruption_controller_computes(
        kube, kube_cluster, k8s_namespace, talos_edge_nodes):
    sfx = uuid.uuid4().hex[:6]
    pool = edge_pool("pdb-" + sfx)
    edge, spare = "pdb-%s-1" % sfx, "pdb-%s-2" % sfx
    talos_edge_nodes(pool, [edge, spare])
    # Two pods on the edge node, a budget that keeps both: no eviction is allowed.
    kube.deployment(k8s_namespace, "db", {"app": "db"}, replicas=2,
                    nodeSelector={"autoextender.io/pool": pool["name"]}, tolerations=[dict(EDGE_TAINT, operator="Equal")],
                    affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 100, "preference": {"matchExpressions": [
                            {"key": "kubernetes.io/hostname", "operator": "In", "values": [edge]}]}}]}})
    kube.running_pods(k8s_namespace, {"app": "db"}, 2)
    kube.budget(k8s_namespace, "db", {"app": "db"}, min_available=2, disruptions_allowed=0)
    on_edge = [p.metadata.name for p in kube.pods(k8s_namespace, "app=db") if p.spec.node_name == edge]
    assert on_edge, "the scheduler put no db pod on %s" % edge

    proc = run_playbook(DRAIN, {"kubeconfig": kube_cluster.kubeconfig, "node": edge, "wait_timeout": 5})
    assert proc.returncode != 0 and "disruptionsAllowed=0" in proc.stdout
    assert sorted(on_edge) == sorted(p.metadata.name for p in kube.pods(k8s_namespace, "app=db")
                                     if p.spec.node_name == edge)

    # The budget lets both go now: the disruption controller recomputes disruptionsAllowed from the spec
    # (a spec change, never a status write), the drain evicts, and the ReplicaSet puts the replacements on
    # the spare node. (Waiting for a replacement to turn Ready first would test kwok's pace, not the drain.)
    kube.policy.patch_namespaced_pod_disruption_budget("db", k8s_namespace, {"spec": {"minAvailable": 0}})
    kube.wait_budget(k8s_namespace, "db", 2)
    proc = run_playbook(DRAIN, {"kubeconfig": kube_cluster.kubeconfig, "node": edge, "wait_timeout": 180})
    assert proc.returncode == 0, proc.stdout[-3000:]
    pods = kube.pods(k8s_namespace, "app=db")
    assert not [p for p in pods if p.spec.node_name == edge]
    assert not set(on_edge) & {p.metadata.name for p in pods}
    wait_for(lambda: pod_nodes(kube, k8s_namespace, "app=db") == [spare] * 2, 180, "2 db pods on %s" % spare)


def test_kwok_runs_a_lab_run_pod_by_its_annotations(kube, k8s_namespace, talos_edge_nodes):
    """The lab's own processes (tests/support/kwok/pods.yaml): Ready only while the lab's probe says so,
    gone once the lab stopped the process or the grace period is over."""
    node = "labrun-" + uuid.uuid4().hex[:6]
    talos_edge_nodes(edge_pool(node), [node])

    def create(name, grace):
        kube.core.create_namespaced_pod(k8s_namespace, {
            "metadata": {"name": name, "annotations": {"lab.autoextender.io/run": "process"}},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": node}, "terminationGracePeriodSeconds": grace,
                     "tolerations": [dict(EDGE_TAINT, operator="Equal")],
                     "containers": [{"name": "app", "image": "registry.invalid/app:1"}]}})

    def annotate(name, **values):
        kube.core.patch_namespaced_pod(name, k8s_namespace, {"metadata": {"annotations": {
            "lab.autoextender.io/" + k: v for k, v in values.items()}}})

    def ready(name):
        pod = kube.core.read_namespaced_pod(name, k8s_namespace)
        cond = next((c for c in pod.status.conditions or [] if c.type == "Ready"), None)
        return pod.status.phase, cond and cond.status

    create("proc", 3600)
    wait_for(lambda: ready("proc") == ("Running", "False"), 120, "the lab-run pod running, not Ready")
    annotate("proc", ready="true")
    wait_for(lambda: ready("proc") == ("Running", "True"), 120, "the lab-run pod Ready")
    annotate("proc", ready="false")  # the probe fails
    wait_for(lambda: ready("proc") == ("Running", "False"), 120, "the lab-run pod not Ready again")

    # Deleted: it stays (terminating) until the lab says it stopped the process.
    kube.core.delete_namespaced_pod("proc", k8s_namespace)
    wait_for(lambda: kube.core.read_namespaced_pod("proc", k8s_namespace).metadata.deletion_timestamp, 30,
             "the deletion")
    assert "proc" in kube.pod_names(k8s_namespace)
    annotate("proc", stopped="true")
    wait_for(lambda: "proc" not in kube.pod_names(k8s_namespace), 120, "the stopped pod to be gone")

    # Not stopped by the lab: gone once its grace period is over, not before.
    create("hung", 8)
    wait_for(lambda: ready("hung") == ("Running", "False"), 120, "the second lab-run pod running")
    kube.core.delete_namespaced_pod("hung", k8s_namespace)
    until = kube.core.read_namespaced_pod("hung", k8s_namespace).metadata.deletion_timestamp
    wait_for(lambda: "hung" not in kube.pod_names(k8s_namespace), 120, "the hung pod to be gone")
    assert datetime.datetime.now(datetime.timezone.utc) >= until - datetime.timedelta(seconds=1)
