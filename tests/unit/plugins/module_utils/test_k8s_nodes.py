"""_k8s_nodes: Ready/missing summaries, label and taint problems, and one event per state change."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _k8s_nodes as kn
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline, WaitTimeout
from tests.support.clock import FakeClock

EDGE_TAINT = {"key": "autoextender.io/edge", "value": "true", "effect": "NoSchedule"}


def node(name, ready=True, labels=None, taints=(EDGE_TAINT,), reason=None):
    conditions = [] if ready is None else [{"type": "Ready", "status": "True" if ready else "False",
                                            "reason": reason or ("KubeletReady" if ready else "KubeletNotReady")}]
    return {"metadata": {"name": name, "labels": dict({"autoextender.io/pool": "p"}, **(labels or {}))},
            "spec": {"taints": list(taints)}, "status": {"conditions": conditions}}


@pytest.mark.parametrize("nodes, names, count, ready, not_ready, missing, done", [
    ([node("a"), node("b")], [], 2, ["a", "b"], [], [], True),
    ([node("a"), node("b", ready=False)], [], 2, ["a"], ["b"], [], False),
    ([node("a"), node("b", ready=None)], [], 1, ["a"], ["b"], [], True),
    ([node("a"), node("x")], ["a", "c"], 1, ["a"], [], ["c"], False),  # names win over count
    ([node("a"), node("c")], ["a", "c"], 5, ["a", "c"], [], [], True),
    ([], [], 0, [], [], [], True),
])
def test_summarize(nodes, names, count, ready, not_ready, missing, done):
    got = kn.summarize(nodes, names, count)
    assert (got["ready"], got["not_ready"], got["missing"], got["done"]) == (ready, not_ready, missing, done)


def test_problems_name_each_missing_label_taint_and_node():
    nodes = [node("a", labels={"zone": "hel1"}), node("b", labels={"zone": "fsn1"}, taints=()), node("other")]
    got = kn.problems(nodes, ["a", "b", "c"], {"zone": "hel1", "type": "cx22"}, [EDGE_TAINT])
    assert got == [
        "a: label type=cx22 expected, found nothing",
        "b: label type=cx22 expected, found nothing",
        "b: label zone=hel1 expected, found fsn1",
        "b: taint autoextender.io/edge=true:NoSchedule missing",
        "c: no Node of that name in the pool",
    ]
    assert kn.problems([node("a", taints=[dict(EDGE_TAINT, value="false")])], [], {}, [EDGE_TAINT]) == [
        "a: taint autoextender.io/edge=true:NoSchedule missing"]


def test_changes_say_only_what_changed():
    before = {"a": kn.node_state(node("a", ready=False))}
    after = {"a": kn.node_state(node("a")), "b": kn.node_state(node("b", ready=None))}
    assert kn.changes(before, after) == ["a: Ready", "b: registered, not Ready (no Ready condition yet)"]
    assert kn.changes(after, after) == []
    assert kn.changes(after, {}) == ["a: gone", "b: gone"]


def test_wait_records_one_event_per_state_change_not_per_poll():
    clock = FakeClock()
    # 30 polls: nothing, then a not-Ready node for a while, then Ready.
    script = [[]] * 5 + [[node("a", ready=False)]] * 20 + [[node("a")]]
    reads = iter(script)
    nodes, summary, events = kn.wait_ready(lambda: next(reads), ["a"], 1, Deadline(600, clock=clock), clock=clock,
                                           sleep=clock.sleep)
    assert summary["done"] and summary["ready"] == ["a"] and nodes == script[-1]
    assert len(events) == 2
    assert events[0].endswith("a: registered, not Ready (KubeletNotReady)")
    assert events[1].endswith("a: Ready") and int(events[1].split("s:")[0]) > int(events[0].split("s:")[0])


def test_wait_timeout_keeps_what_it_saw():
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as caught:
        kn.wait_ready(lambda: [node("a"), node("b", ready=False)], [], 2, Deadline(30, clock=clock), clock=clock,
                      sleep=clock.sleep)
    partial = caught.value.partial
    assert partial["summary"]["ready"] == ["a"] and partial["summary"]["not_ready"] == ["b"]
    assert [e.split(": ", 1)[1] for e in partial["events"]] == [
        "a: registered, Ready", "b: registered, not Ready (KubeletNotReady)"]
    assert clock.now >= 30
