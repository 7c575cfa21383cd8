"""The staged edge-set rules of _edge_dns.decide (DESIGN.md section 4)."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._edge_dns import decide, no_active_nodes
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError

NODES = [
    {"name": "a1", "pool": "a", "public_ipv4": "192.0.2.1", "public_ipv6": "2001:db8::1"},
    {"name": "a2", "pool": "a", "public_ipv4": "192.0.2.2"},
    {"name": "b1", "pool": "b", "public_ipv4": "198.51.100.1"},
    {"name": "b2", "pool": "b", "public_ipv4": "198.51.100.2"},
]


def probes(*down):
    ips = ["192.0.2.1", "192.0.2.2", "198.51.100.1", "198.51.100.2", "2001:db8::1", "203.0.113.9"]
    return dict((ip, {"healthy": ip not in down, "error": "refused" if ip in down else None}) for ip in ips)


def why(report):
    return dict((e["ip"], (e["reason"], e["published"])) for e in report)


def test_publish_is_exactly_the_healthy_active_nodes():
    values, report = decide("A", NODES, ["a"], probes("192.0.2.2"), ["203.0.113.9"], "publish", 1)
    assert values == ["192.0.2.1"]
    assert why(report) == {
        "192.0.2.1": ("healthy", True), "192.0.2.2": ("probe_failed", False),
        "198.51.100.1": ("inactive_pool", False), "198.51.100.2": ("inactive_pool", False),
        "203.0.113.9": ("unlisted", False)}
    assert [e["error"] for e in report if e["ip"] == "192.0.2.2"] == ["refused"]


def test_migration_stages_a_to_b():
    current = ["192.0.2.1", "192.0.2.2"]
    values, report = decide("A", NODES, ["b"], probes(), current, "add", 1)
    assert values == ["192.0.2.1", "192.0.2.2", "198.51.100.1", "198.51.100.2"]
    assert why(report)["192.0.2.1"] == ("published_before_add", True)
    values, report = decide("A", NODES, ["b"], probes("198.51.100.2"), values, "remove", 1)
    assert values == ["198.51.100.1"]
    assert why(report)["198.51.100.2"] == ("probe_failed", False)
    assert why(report)["192.0.2.1"] == ("inactive_pool", False)


def test_remove_never_adds_and_keeps_unlisted():
    values, report = decide("A", NODES, ["a", "b"], probes(), ["192.0.2.1", "203.0.113.9"], "remove", 1)
    assert values == ["192.0.2.1", "203.0.113.9"]
    assert why(report)["198.51.100.1"] == ("not_added_in_remove_stage", False)
    assert why(report)["203.0.113.9"] == ("unlisted_kept", True)


def test_min_values_keeps_the_last_healthy_first():
    current = ["192.0.2.1", "192.0.2.2", "198.51.100.1"]
    values, report = decide("A", NODES, ["b"], probes("198.51.100.1", "198.51.100.2", "192.0.2.1"), current,
                            "publish", 2)
    # nothing of b is healthy: keep two of the published, the healthy 192.0.2.2 first
    assert values == ["192.0.2.1", "192.0.2.2"]
    assert why(report)["192.0.2.2"] == ("kept_min_values", True)
    assert why(report)["192.0.2.1"] == ("kept_min_values", True)
    assert why(report)["198.51.100.1"] == ("probe_failed", False)


def test_never_empty_even_with_min_values_zero():
    values, report = decide("A", NODES, ["b"], probes("198.51.100.1", "198.51.100.2"), ["192.0.2.1"], "publish", 0)
    assert values == ["192.0.2.1"]


def test_nothing_healthy_and_nothing_published_fails():
    with pytest.raises(AutoextenderError) as e:
        decide("A", NODES, ["b"], probes("198.51.100.1", "198.51.100.2"), None, "publish", 1)
    assert e.value.kind == "no_healthy_targets"
    assert len(e.value.details["targets"]) == 4


def test_aaaa_uses_ipv6_addresses_only():
    values, report = decide("AAAA", NODES, ["a"], probes(), None, "publish", 1)
    assert values == ["2001:db8::1"] and [e["ip"] for e in report] == ["2001:db8::1"]


def test_unknown_stage():
    with pytest.raises(AutoextenderError, match="stage must be one of"):
        decide("A", NODES, ["a"], probes(), None, "swap", 1)


# -- input that cannot say what the set should be (issue 11): keep the set as it is, say why -----------------
@pytest.mark.parametrize("nodes,active,why", [
    ([], ["a"], "nodes is empty: it has no node of the active pools a"),
    (NODES, ["c"], "nodes (of pools a, b) has no node of the active pools c"),
    (NODES, [], "nodes (of pools a, b) has no node of the active pools (none)"),
    (NODES, ["b", "c"], None),
])
def test_why_nodes_cannot_say_what_to_publish(nodes, active, why):
    assert no_active_nodes(nodes, active) == why


@pytest.mark.parametrize("nodes,active", [([], ["a"]), (NODES, ["a-typo"]), (NODES, [])])
@pytest.mark.parametrize("stage", ["publish", "remove"])
def test_no_active_node_keeps_the_live_set_whole(nodes, active, stage):
    # This used to shrink the set to one arbitrary old address (kept_min_values of one).
    current = ["192.0.2.1", "192.0.2.2", "203.0.113.9"]
    values, report = decide("A", nodes, active, probes("192.0.2.1"), current, stage, 1)
    assert values == current
    assert set(why(report)[ip] for ip in current) == {("kept_no_active_address", True)}


def test_no_active_node_and_nothing_published_still_fails():
    with pytest.raises(AutoextenderError) as e:
        decide("A", [], ["a"], probes(), None, "publish", 1)
    assert e.value.kind == "no_healthy_targets"


@pytest.mark.parametrize("stage", ["publish", "remove"])
def test_no_active_node_with_an_address_of_the_type_keeps_that_set(stage):
    # Pool b has no IPv6: the published AAAA set stays whole (it used to shrink to one old address).
    current = ["2001:db8::1", "2001:db8::7"]
    values, report = decide("AAAA", NODES, ["b"], probes("2001:db8::1"), current, stage, 1)
    assert values == current
    assert why(report) == {"2001:db8::1": ("kept_no_active_address", True),
                           "2001:db8::7": ("kept_no_active_address", True)}
    assert report[0]["error"] == "no node of the active pools has an AAAA address"


def test_add_stage_keeps_its_own_reasons():
    values, report = decide("AAAA", NODES, ["b"], probes(), ["2001:db8::1"], "add", 1)
    assert values == ["2001:db8::1"] and why(report) == {"2001:db8::1": ("published_before_add", True)}


def test_all_active_nodes_down_still_keeps_the_healthy_first():
    # Active nodes exist but fail: the designed fallback (kept_min_values), not the no-input rule.
    values, report = decide("A", NODES, ["b"], probes("198.51.100.1", "198.51.100.2", "192.0.2.1"),
                            ["192.0.2.1", "192.0.2.2"], "publish", 1)
    assert values == ["192.0.2.2"] and why(report)["192.0.2.2"] == ("kept_min_values", True)


def test_update_changes_only_the_listed_nodes():
    """A failover narrowed with --limit lists only its nodes: each goes in or out by its probe, the rest stays."""
    current = ["192.0.2.1", "192.0.2.2", "198.51.100.1"]
    only_a2_b2 = [NODES[1], NODES[3]]
    values, report = decide("A", only_a2_b2, ["a", "b"], probes("192.0.2.2"), current, "update", 1)
    assert values == ["192.0.2.1", "198.51.100.1", "198.51.100.2"]
    assert why(report) == {
        "192.0.2.2": ("probe_failed", False), "198.51.100.2": ("healthy", True),
        "192.0.2.1": ("unlisted_kept", True), "198.51.100.1": ("unlisted_kept", True)}


def test_update_keeps_a_listed_node_of_an_inactive_pool_as_it_is():
    values, report = decide("A", NODES[2:], ["a"], probes(), ["198.51.100.1"], "update", 1)
    assert values == ["198.51.100.1"]
    assert why(report)["198.51.100.1"] == ("kept_no_active_address", True)
    values, report = decide("A", NODES, ["a"], probes(), ["198.51.100.1"], "update", 1)
    assert why(report)["198.51.100.1"] == ("inactive_kept", True) and why(report)["198.51.100.2"] == (
        "inactive_pool", False)


def test_update_never_shrinks_below_min_values():
    values, report = decide("A", [NODES[0]], ["a"], probes("192.0.2.1"), ["192.0.2.1"], "update", 1)
    assert values == ["192.0.2.1"] and why(report)["192.0.2.1"] == ("kept_min_values", True)
