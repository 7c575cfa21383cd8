"""The failover's and the migration's decisions without a lab: node health, short pools, a server's Nodes."""
import pytest

from ansible_collections.talos.autoextender.plugins.filter.edge_health import FilterModule as Health
from ansible_collections.talos.autoextender.plugins.filter.pools_short import FilterModule as Short
from ansible_collections.talos.autoextender.plugins.filter.nodes_not_in import FilterModule as NotIn
from ansible_collections.talos.autoextender.plugins.filter.server_node_names import FilterModule as NodeNames
from ansible_collections.talos.autoextender.plugins.module_utils import _edge_decisions as d

MIGRATION_OK = ["healthy", "not_added_in_remove_stage"]


def test_the_filters_are_the_module_utils_functions():
    assert Health().filters() == {"edge_health": d.edge_health}
    assert Short().filters() == {"pools_short": d.pools_short}
    assert NodeNames().filters() == {"server_node_names": d.server_node_names}
    assert NotIn().filters() == {"nodes_not_in": d.nodes_not_in}


@pytest.mark.parametrize("node, targets, error", [
    ({"name": "b-1", "public_ipv4": "192.0.2.1", "public_ipv6": "2001:db8::1"},
     [{"ip": "192.0.2.1", "reason": "healthy"}, {"ip": "2001:db8::1", "reason": "not_added_in_remove_stage"}], ""),
    ({"name": "b-1", "public_ipv4": "192.0.2.1", "public_ipv6": None},
     [{"ip": "192.0.2.1", "reason": "unhealthy", "error": "connection refused"}], "192.0.2.1: connection refused"),
    ({"name": "b-1", "public_ipv4": "192.0.2.1", "public_ipv6": "2001:db8::1"},
     [{"ip": "192.0.2.1", "reason": "healthy"}, {"ip": "2001:db8::1", "reason": "unhealthy", "error": ""}],
     "2001:db8::1: failed"),
    ({"name": "b-1", "public_ipv4": "192.0.2.1", "public_ipv6": "2001:db8::1"},
     [{"ip": "192.0.2.1", "reason": "healthy"}], "not probed"),
    ({"name": "b-1", "public_ipv4": None, "public_ipv6": None}, [], "no public address"),
])
def test_a_node_is_healthy_when_every_address_passed(node, targets, error):
    assert d.edge_health([node], targets + [{"ip": "198.51.100.9", "reason": "unhealthy"}], MIGRATION_OK) == [
        {"name": "b-1", "error": error}]


def test_by_default_only_healthy_counts():
    node = {"name": "a-1", "public_ipv4": "192.0.2.1"}
    assert d.edge_health([node], [{"ip": "192.0.2.1", "reason": "not_added_in_remove_stage"}])[0]["error"] == (
        "192.0.2.1: failed")


def test_active_pools_with_missing_servers():
    pools = [{"name": "a", "count": 2}, {"name": "b"}, {"name": "c", "count": "1"}, {"name": "standby", "count": 3}]
    servers = [{"labels": {"autoextender-pool": "a"}}, {"labels": {"autoextender-pool": "b"}},
               {"labels": {"autoextender-pool": "b"}}, {"labels": {}}]
    assert d.pools_short(pools, servers, ["a", "b", "c"]) == [{"name": "a", "count": 2}, {"name": "c", "count": "1"}]


def test_the_nodes_of_a_server_by_address_or_name():
    server = {"name": "edge-a-1", "public_ipv4": "192.0.2.1", "public_ipv6": "2001:db8::1"}
    nodes = [{"metadata": {"name": "talos-xyz"}, "status": {"addresses": [{"type": "ExternalIP", "address": "2001:db8::1"}]}},
             {"metadata": {"name": "edge-a-1"}, "status": {}},
             {"metadata": {"name": "other"}, "status": {"addresses": [{"address": "192.0.2.2"}]}}]
    assert d.server_node_names(server, nodes) == ["talos-xyz", "edge-a-1"]
    assert d.server_node_names({"name": "gone", "public_ipv4": None}, nodes) == []


def test_the_nodes_a_run_did_not_reach_by_address_or_name():
    nodes = [{"metadata": {"name": "home-cp"}, "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.2"}]}},
             {"metadata": {"name": "edge-a-1"}, "status": {}},
             {"metadata": {"name": "home-w"}, "status": {"addresses": [{"address": "10.0.0.3"}]}},
             {"metadata": {"name": "edge-b-1"}, "status": {"addresses": [{"address": "192.0.2.9"}]}}]
    assert d.nodes_not_in(nodes, ["10.0.0.2", "edge-a-1", "192.0.2.9"]) == ["home-w"]
    assert d.nodes_not_in(nodes, []) == ["home-cp", "edge-a-1", "home-w", "edge-b-1"]
    assert d.nodes_not_in([], ["10.0.0.2"]) == []
