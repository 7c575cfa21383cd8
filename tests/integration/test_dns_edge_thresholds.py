"""Failure thresholds, hysteresis and flapping of the edge set (edge_dns ``health``) run after run, with the history
in a ConfigMap of the real kube-apiserver and the set on the real PowerDNS / BIND; and the failover lease
(k8s_lease) taken, refused and given back on the same apiserver."""
import json
import time
import uuid

import pytest

from tests.integration.test_dns_edge import edge_task, reasons
from tests.support.fixtures_dns import EdgeNodes, run_dns_tasks
from tests.support.k8s_objects import Kube


# The thresholds are the same on every DNS backend (test_dns_edge.py runs the stages on each): PowerDNS only.
@pytest.fixture
def pdns_bed(dns_bed_powerdns):
    return dns_bed_powerdns


@pytest.fixture
def pdns_edge_nodes(pdns_bed):
    nodes = EdgeNodes("edge-nodes." + pdns_bed.zone.rstrip("."))
    yield nodes
    nodes.stop()


NODES = [{"name": "a-1", "pool": "a", "public_ipv4": "127.0.0.2", "server_id": "1"},
         {"name": "a-2", "pool": "a", "public_ipv4": "127.0.0.3", "server_id": "2"}]


def test_a_node_leaves_at_once_comes_back_after_recover_after_runs_and_is_held_out_when_flapping(
        pdns_bed, pdns_edge_nodes, kube_cluster, tmp_path):
    kube = Kube(kube_cluster.kubeconfig)
    namespace = kube.namespace("ae-health-" + uuid.uuid4().hex[:8])
    name = pdns_bed.unique("edge")
    key = name.rstrip(".")
    pdns_edge_nodes.host = key
    pdns_edge_nodes.start(healthy=["127.0.0.2", "127.0.0.3"])
    health = {"fail_after": 2, "recover_after": 2, "retry_delay": 0.2, "flap_changes": 3, "flap_window": 600,
              "state": {"kubeconfig": kube_cluster.kubeconfig, "namespace": namespace, "name": "health"}}

    def run(title, check=False, **extra):
        task = edge_task(pdns_bed, title, name, NODES, ["a"], pdns_edge_nodes.port, record_types=["A"], health=health,
                         **extra)
        proc, res = run_dns_tasks(tmp_path, [task], check=check)
        assert not res[title].get("failed"), res[title]
        return res[title]

    def stored():
        found = kube.get("v1", "ConfigMap", "health", namespace)
        return json.loads(found["data"][key]), found["metadata"]["resourceVersion"]

    try:
        first = run("both healthy")
        assert pdns_bed.answers(name, "A") == ["127.0.0.2", "127.0.0.3"]
        assert [t["health"] for t in first["edge_dns"]["targets"]] == ["healthy", "healthy"]
        state, version = stored()
        assert state == {"127.0.0.2": {"changes": [], "ok": 0, "server": "1"},
                         "127.0.0.3": {"changes": [], "ok": 0, "server": "2"}}
        again = run("both healthy again")
        assert again["changed"] is False and stored()[1] == version  # steady state: nothing written

        pdns_edge_nodes.stop("127.0.0.3")
        dead = run("a-2 dies")
        assert pdns_bed.answers(name, "A") == ["127.0.0.2"]
        assert reasons(dead)["127.0.0.3"] == ("probe_failed", False)
        assert [t["health"] for t in dead["edge_dns"]["targets"] if t["ip"] == "127.0.0.3"] == ["failing"]
        assert len(stored()[0]["127.0.0.3"]["changes"]) == 1

        pdns_edge_nodes.revive("127.0.0.3")
        # A read-only plan (check mode) of the next run writes no history.
        version = stored()[1]
        planned = run("plan while recovering", check=True)
        assert reasons(planned)["127.0.0.3"] == ("recovering", False) and stored()[1] == version
        back1 = run("a-2 healthy once")
        assert reasons(back1)["127.0.0.3"] == ("recovering", False) and back1["changed"] is False
        assert "1 of 2 consecutive successful probes" in [
            t for t in back1["edge_dns"]["targets"] if t["ip"] == "127.0.0.3"][0]["error"]
        assert pdns_bed.answers(name, "A") == ["127.0.0.2"] and stored()[0]["127.0.0.3"]["ok"] == 1
        back2 = run("a-2 healthy twice")
        assert reasons(back2)["127.0.0.3"] == ("healthy", True)
        assert pdns_bed.answers(name, "A") == ["127.0.0.2", "127.0.0.3"]

        # Third change within the window: out again, and when it answers again it is flapping, held out.
        pdns_edge_nodes.stop("127.0.0.3")
        run("a-2 dies again")
        pdns_edge_nodes.revive("127.0.0.3")
        held = run("a-2 flapping")
        assert reasons(held)["127.0.0.3"] == ("flapping", False)
        assert any("127.0.0.3 is flapping" in w for w in held.get("warnings", []))
        assert pdns_bed.answers(name, "A") == ["127.0.0.2"]
        # A replacement server at the same address starts with no history: confirmed within the run.
        nodes = [NODES[0], dict(NODES[1], server_id="3")]
        task = edge_task(pdns_bed, "replacement", name, nodes, ["a"], pdns_edge_nodes.port, record_types=["A"],
                         health=health)
        proc, res = run_dns_tasks(tmp_path, [task])
        assert reasons(res["replacement"])["127.0.0.3"] == ("healthy", True)
        assert stored()[0]["127.0.0.3"] == {"changes": [], "ok": 0, "server": "3"}
    finally:
        kube.delete_namespace(namespace)


def test_a_missing_namespace_for_the_state_is_named(pdns_bed, pdns_edge_nodes, kube_cluster, tmp_path):
    name = pdns_bed.unique("edge")
    pdns_edge_nodes.host = name.rstrip(".")
    pdns_edge_nodes.start(healthy=["127.0.0.2"])
    task = edge_task(pdns_bed, "no namespace", name, NODES[:1], ["a"], pdns_edge_nodes.port, record_types=["A"],
                     health={"state": {"kubeconfig": kube_cluster.kubeconfig, "namespace": "ae-nowhere"}})
    proc, res = run_dns_tasks(tmp_path, [task])
    assert res["no namespace"]["failed"] and res["no namespace"]["failure"]["kind"] == "not_found"
    assert "The namespace ae-nowhere for the edge health state does not exist" in res["no namespace"]["msg"]
    assert pdns_bed.answers(name, "A") == []


def lease_task(title, kubeconfig, namespace, holder, check=False, **args):
    options = dict(kubeconfig=kubeconfig, namespace=namespace, holder=holder, **args)
    task = {"name": title, "talos.autoextender.k8s_lease": options}
    if check:
        task["check_mode"] = True
    return task


def test_the_lease_is_held_by_one_run_at_a_time(kube_cluster, tmp_path):
    kube = Kube(kube_cluster.kubeconfig)
    namespace = kube.namespace("ae-lease-" + uuid.uuid4().hex[:8])
    config = kube_cluster.kubeconfig
    try:
        proc, res = run_dns_tasks(tmp_path, [
            lease_task("A takes it", config, namespace, "run-a"),
            lease_task("B is refused", config, namespace, "run-b"),
            lease_task("C in check mode is refused", config, namespace, "run-c", check=True),
            lease_task("B cannot give back A's lease", config, namespace, "run-b", state="absent"),
            lease_task("A renews it", config, namespace, "run-a"),
            lease_task("A gives it back", config, namespace, "run-a", state="absent"),
            lease_task("B takes it", config, namespace, "run-b", duration=10),
        ])
        assert res["A takes it"]["acquired"] is True and res["A takes it"]["holder"] == "run-a"
        assert res["A takes it"]["changed"] is False
        assert res["B is refused"]["acquired"] is False and res["B is refused"]["holder"] == "run-a"
        assert res["B is refused"]["expires"] and not res["B is refused"].get("failed")
        assert res["C in check mode is refused"]["acquired"] is False
        assert res["B cannot give back A's lease"]["released"] is False
        assert res["A renews it"]["acquired"] is True
        assert res["A gives it back"]["released"] is True and res["A gives it back"]["holder"] is None
        assert res["B takes it"]["acquired"] is True
        lease = kube.get("coordination.k8s.io/v1", "Lease", "autoextender-failover", namespace)
        assert lease["spec"]["holderIdentity"] == "run-b" and lease["spec"]["leaseTransitions"] == 1
        # B dies without giving it back: after its duration, the next run takes it; waiting covers the rest.
        time.sleep(10.5)
        proc, res = run_dns_tasks(tmp_path, [lease_task("A after B's time ran out", config, namespace, "run-a"),
                                             lease_task("B waits 2 s and is refused", config, namespace, "run-b",
                                                        wait_timeout=2)])
        assert res["A after B's time ran out"]["acquired"] is True
        assert res["B waits 2 s and is refused"]["acquired"] is False
    finally:
        kube.delete_namespace(namespace)
