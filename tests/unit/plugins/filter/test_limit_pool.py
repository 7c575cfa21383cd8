"""limit_pool: the one whole pool the edge nodes of a --limit name (the decommission under --limit)."""
import pytest

from ansible_collections.talos.autoextender.plugins.filter.limit_pool import FilterModule
from ansible_collections.talos.autoextender.plugins.module_utils import _edge_decisions as d


def host(name, pool, provider="lab"):
    """The hostvars the edge_nodes inventory gives a server (the keys limit_pool reads, and some it does not)."""
    return {"server_name": name, "pool": pool, "provider": provider, "ansible_host": "192.0.2.1", "status": "running",
            "labels": {"autoextender-cluster": "lab", "autoextender-pool": pool} if pool else {}}


INVENTORY = [host("lab-a-1", "lab-a"), host("lab-b-1", "lab-b"), host("lab-b-2", "lab-b"),
             host("hel1-1", "hel1", provider="hetzner"), {"ansible_connection": "local"}]


def test_the_filter_is_the_module_utils_function():
    assert FilterModule().filters() == {"limit_pool": d.limit_pool}


@pytest.mark.parametrize("limited, pool, provider", [
    ([host("lab-b-1", "lab-b"), host("lab-b-2", "lab-b")], "lab-b", "lab"),
    ([host("lab-b-2", "lab-b"), host("lab-b-1", "lab-b"), {"ansible_connection": "local"}], "lab-b", "lab"),
    ([host("lab-a-1", "lab-a")], "lab-a", "lab"),
    ([host("hel1-1", "hel1", provider="hetzner")], "hel1", "hetzner"),
])
def test_every_node_of_one_pool_names_that_pool(limited, pool, provider):
    out = d.limit_pool(limited, INVENTORY)
    assert out == {"pool": pool, "provider": provider, "problem": "",
                   "servers": sorted(h["server_name"] for h in limited if "server_name" in h)}


def test_the_same_pool_named_with_e_pool_is_fine():
    assert d.limit_pool([host("lab-a-1", "lab-a")], INVENTORY, pool="lab-a")["pool"] == "lab-a"


def test_some_nodes_of_a_pool_are_refused_naming_those_left_out():
    out = d.limit_pool([host("lab-b-2", "lab-b")], INVENTORY)
    assert out["pool"] == "" and out["provider"] == ""
    assert out["problem"].startswith("The limit names lab-b-2 of pool lab-b but not lab-b-1: a decommission "
                                     "removes whole pools, never some nodes of one")
    assert "failover.yml --limit <node> -e failover_replace=true" in out["problem"]


def test_a_limit_spanning_pools_is_refused():
    out = d.limit_pool([host("lab-a-1", "lab-a"), host("lab-b-1", "lab-b"), host("lab-b-2", "lab-b")], INVENTORY)
    assert out["pool"] == ""
    assert out["problem"].startswith("The limit spans the pools lab-a, lab-b: a decommission removes one whole pool.")


def test_a_pool_other_than_e_pool_is_refused():
    out = d.limit_pool([host("lab-a-1", "lab-a")], INVENTORY, pool="lab-b")
    assert out["pool"] == "" and out["problem"] == "The limit names pool lab-a, but -e pool=lab-b: name one pool."


@pytest.mark.parametrize("limited", [[], [{"ansible_connection": "local"}], [{"server_name": ""}]])
def test_a_limit_without_edge_nodes_is_refused(limited):
    out = d.limit_pool(limited, INVENTORY)
    assert out["pool"] == "" and out["problem"] == "The limit names no edge node of the edge_nodes inventory."


def test_a_node_without_a_pool_is_refused():
    out = d.limit_pool([host("stray-1", "")], INVENTORY + [host("stray-1", "")])
    assert out["problem"] == "stray-1 belong(s) to no pool (no autoextender-pool label)."


@pytest.mark.parametrize("shadow", ["", "lab-a"])
def test_the_pool_comes_from_the_label_not_the_pool_hostvar_an_extra_var_overrides(shadow):
    """With -e pool=..., every host's hostvar pool is that extra var."""
    def shadowed(hosts):
        return [dict(h, pool=shadow) for h in hosts]
    out = d.limit_pool(shadowed([host("lab-b-1", "lab-b"), host("lab-b-2", "lab-b")]), shadowed(INVENTORY))
    assert (out["pool"], out["problem"]) == ("lab-b", "")
    assert d.limit_pool(shadowed([host("lab-b-2", "lab-b")]), shadowed(INVENTORY))["problem"].startswith(
        "The limit names lab-b-2 of pool lab-b but not lab-b-1")


def test_a_host_without_labels_falls_back_to_its_pool_hostvar():
    assert d.limit_pool([{"server_name": "x-1", "pool": "x", "provider": "lab"}], [])["pool"] == "x"
