"""The ingress_pools filter: which pools the edge ingress selects at each step of a workflow."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.talos.autoextender.plugins.filter.ingress_pools import FilterModule, ingress_pools

A = {"name": "hel1-a", "provider": "hetzner", "active": True}
B = {"name": "fr-par-b", "provider": "linode", "active": False}
C = {"name": "nbg1-c", "provider": "hetzner"}  # active by default


def daemonset(*pools, extra_terms=()):
    """The Traefik DaemonSet as kubernetes.core.k8s_info returns it."""
    terms = [{"matchExpressions": [{"key": "autoextender.io/pool", "operator": "In", "values": list(pools)}]}]
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "traefik-edge"},
            "spec": {"template": {"spec": {"affinity": {"nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms + list(extra_terms)}}}}}}}


def node(name, pool):
    return {"metadata": {"name": name, "labels": {"autoextender.io/pool": pool}}}


def test_publish_is_the_union_of_what_runs_now_and_the_active_pools():
    plan = ingress_pools([A, B, C], "publish", current=[daemonset("old-pool")])
    assert plan["pools"] == ["hel1-a", "nbg1-c", "old-pool"]
    assert (plan["current"], plan["added"], plan["removed"]) == (["old-pool"], ["hel1-a", "nbg1-c"], [])
    assert plan["changed"] is True and plan["apply"] is True
    assert plan["message"].startswith("the ingress runs on hel1-a, nbg1-c, old-pool (was old-pool)")


def test_publish_without_an_ingress_creates_it_on_the_active_pools():
    plan = ingress_pools([A, B], "publish", current=[])
    assert plan["pools"] == ["hel1-a"] and plan["current"] is None
    assert plan["changed"] is True and plan["apply"] is True and plan["wait"] is True
    assert "(was no ingress)" in plan["message"]


def test_publish_unchanged_writes_nothing_but_waits_for_the_rollout():
    plan = ingress_pools([A], "publish", current=[daemonset("hel1-a")])
    assert plan["changed"] is False and plan["apply"] is False and plan["wait"] is True
    assert plan["message"].startswith("the ingress stays on hel1-a")


def test_converge_applies_before_a_publish_even_unchanged():
    # provision applies every setting of the ingress, not only its pools.
    plan = ingress_pools([A], "publish", current=[daemonset("hel1-a")], converge=True)
    assert plan["changed"] is False and plan["apply"] is True
    # A shrink step has nothing to converge.
    plan = ingress_pools([A], "published", current=[daemonset("hel1-a")], converge=True)
    assert plan["apply"] is False and plan["wait"] is False


def test_publish_without_any_active_pool_is_refused():
    with pytest.raises(AnsibleFilterError, match="step publish leaves the ingress no pool: at least one pool"):
        ingress_pools([B], "publish", current=[])


def test_published_shrinks_to_exactly_the_active_pools():
    plan = ingress_pools([A, B, C], "published", current=[daemonset("fr-par-b", "hel1-a", "nbg1-c")])
    assert plan["pools"] == ["hel1-a", "nbg1-c"] and plan["removed"] == ["fr-par-b"]
    assert plan["changed"] is True and plan["apply"] is True


def test_published_when_nothing_changes_is_not_applied():
    plan = ingress_pools([A, C], "published", current=["nbg1-c", "hel1-a"])
    assert plan["changed"] is False and plan["apply"] is False


def test_migrate_add_keeps_the_old_pool_and_adds_the_new_one():
    plan = ingress_pools([A, B], "migrate_add", current=[daemonset("hel1-a")], nodes=[node("a1", "hel1-a")],
                         from_pool="hel1-a", to_pool="fr-par-b")
    assert plan["pools"] == ["fr-par-b", "hel1-a"] and plan["added"] == ["fr-par-b"] and plan["removed"] == []
    assert plan["apply"] is True and plan["wait"] is True


def test_migrate_add_repairs_an_ingress_left_on_another_pool():
    # The defect of issue 12: the ingress still selects B while DNS serves D; migrating D -> E must cover D and E.
    plan = ingress_pools([{"name": "D"}, {"name": "E", "active": False}], "migrate_add", current=[daemonset("B")],
                         nodes=[node("d1", "D")], from_pool="D", to_pool="E")
    assert plan["pools"] == ["B", "D", "E"] and plan["added"] == ["D", "E"]


def test_migrate_add_of_a_finished_migration_changes_nothing():
    # A re-run: the old pool has no Node left and the ingress already runs on the new one.
    plan = ingress_pools([A, B], "migrate_add", current=[daemonset("fr-par-b")], nodes=[node("b1", "fr-par-b")],
                         from_pool="hel1-a", to_pool="fr-par-b")
    assert plan["pools"] == ["fr-par-b"] and plan["changed"] is False and plan["apply"] is False


def test_migrate_add_without_node_data_keeps_the_old_pool():
    plan = ingress_pools([A, B], "migrate_add", current=None, from_pool="hel1-a", to_pool="fr-par-b")
    assert plan["pools"] == ["fr-par-b", "hel1-a"] and plan["apply"] is True


def test_migrate_switch_and_rollback_follow_the_one_pool_dns_serves():
    both = [daemonset("fr-par-b", "hel1-a")]
    switch = ingress_pools([A, B, C], "migrate_switch", current=both, to_pool="fr-par-b")
    assert switch["pools"] == ["fr-par-b"] and switch["removed"] == ["hel1-a"] and switch["apply"] is True
    assert switch["wait"] is False
    back = ingress_pools([A, B], "migrate_rollback", current=both, from_pool="hel1-a")
    assert back["pools"] == ["hel1-a"] and back["removed"] == ["fr-par-b"] and back["apply"] is True
    # A rollback before the ingress grew changes nothing.
    early = ingress_pools([A, B], "migrate_rollback", current=[daemonset("hel1-a")], from_pool="hel1-a")
    assert early["changed"] is False and early["apply"] is False


def test_decommission_takes_out_only_that_pool():
    plan = ingress_pools([A, C], "decommission", current=[daemonset("hel1-a", "nbg1-c")], pool="nbg1-c")
    assert plan["pools"] == ["hel1-a"] and plan["removed"] == ["nbg1-c"] and plan["apply"] is True
    # A pool already removed from the desired state is named by the caller only.
    gone = ingress_pools([A], "decommission", current=[daemonset("hel1-a", "old")], pool="old")
    assert gone["pools"] == ["hel1-a"] and gone["apply"] is True
    again = ingress_pools([A], "decommission", current=[daemonset("hel1-a")], pool="old")
    assert again["changed"] is False and again["apply"] is False


def test_decommission_never_empties_or_creates_the_ingress():
    last = ingress_pools([A], "decommission", current=[daemonset("hel1-a")], pool="hel1-a")
    assert last["pools"] == [] and last["apply"] is False
    assert "keeps selecting hel1-a: no pool would be left" in last["message"]
    none = ingress_pools([A], "decommission", current=[], pool="hel1-a")
    assert none["apply"] is False and none["current"] is None
    assert none["message"].startswith("there is no ingress to change")


def test_every_pool_in_term_counts_and_other_selectors_are_ignored():
    ds = daemonset("hel1-a", extra_terms=[{"matchExpressions": [
        {"key": "autoextender.io/pool", "operator": "In", "values": ["nbg1-c"]},
        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}])
    plan = ingress_pools([A, C], "published", current=[ds])
    assert plan["current"] == ["hel1-a", "nbg1-c"] and plan["changed"] is False


@pytest.mark.parametrize("pools, step, kwargs, words", [
    ("hel1-a", "publish", {}, "the input must be the list of pools"),
    ([{"active": True}], "publish", {}, "every pool needs a name"),
    ([A], "grow", {}, "step must be one of publish, migrate_add"),
    ([A, B], "migrate_add", {"to_pool": "fr-par-b"}, "step migrate_add needs from_pool"),
    ([A, B], "migrate_add", {"from_pool": "hel1-a", "to_pool": "nope"}, "to_pool=nope is not a pool of the input"),
    ([A], "migrate_switch", {}, "step migrate_switch needs to_pool"),
    ([A], "decommission", {}, "step decommission needs pool"),
    ([A], "publish", {"current": [daemonset("a"), daemonset("b")]}, "at most one DaemonSet, got 2"),
    ([A], "publish", {"current": "hel1-a"}, "current must be the DaemonSet"),
    ([A, B], "migrate_add", {"from_pool": "hel1-a", "to_pool": "fr-par-b", "nodes": "x"}, "nodes must be a list"),
])
def test_wrong_input_is_refused_with_a_message_naming_it(pools, step, kwargs, words):
    with pytest.raises(AnsibleFilterError, match=words):
        ingress_pools(pools, step, **kwargs)


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"ingress_pools": ingress_pools}
