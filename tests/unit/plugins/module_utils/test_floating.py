"""Floating addresses of pools (_floating.py): the option's rules, the names, the Talos patch, the DNS nodes;
and the preflight's desired-state check naming each problem with its option and value."""
import copy

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _desired_state, _floating

LAB = {"name": "lab-a", "provider": "lab", "location": "loopback", "server_type": "lab-small"}
HEL = {"name": "hel1-a", "provider": "hetzner", "location": "hel1", "server_type": "cx23"}
PAR = {"name": "fr-par-b", "provider": "linode", "location": "fr-par", "server_type": "g6-nanode-1"}


def pool(base, floating):
    return dict(copy.deepcopy(base), floating=floating)


@pytest.mark.parametrize("base, floating, families", [
    (LAB, None, []), (LAB, {}, ["ipv4"]), (LAB, {"ipv4": True}, ["ipv4"]), (HEL, {"ipv6": True}, ["ipv4", "ipv6"]),
    (HEL, {"ipv4": False, "ipv6": "true"}, ["ipv6"]), (HEL, {"ipv4": "no"}, []),
])
def test_families(base, floating, families):
    assert _floating.families(pool(base, floating)) == families


@pytest.mark.parametrize("base, floating", [
    (LAB, None), (LAB, {"ipv4": True}), (LAB, {}), (HEL, {"ipv4": True, "ipv6": True}), (HEL, {"ipv4": False, "ipv6": True}),
    (PAR, None),
])
def test_valid_options(base, floating):
    assert _floating.problems(pool(base, floating)) == []


@pytest.mark.parametrize("base, floating, expected", [
    (LAB, True, ("floating", True, "must be a mapping such as {ipv4: true, ipv6: false}")),
    (LAB, {"ipv4": True, "public": True}, ("floating", {"ipv4": True, "public": True},
                                           "has unknown keys public; the keys are ipv4 and ipv6")),
    (LAB, {"ipv4": "maybe"}, ("floating.ipv4", "maybe", "must be true or false")),
    (LAB, {"ipv4": False}, ("floating", {"ipv4": False}, "asks for no address; set ipv4 or ipv6 to true, or remove "
                                                         "floating")),
    (LAB, {"ipv6": True}, ("floating.ipv6", True, "is not possible on lab: lab floats ipv4 only")),
    (PAR, {"ipv4": True}, ("floating.ipv4", True, "is not possible on linode: a Linode address exists only on a "
                                                  "Linode, and provisioning needs it before the servers (the join "
                                                  "configs carry it); use DNS failover")),
])
def test_bad_options_name_the_option_value_and_rule(base, floating, expected):
    assert _floating.problems(pool(base, floating)) == [expected]


def test_the_preflight_names_the_pool():
    pools = [pool(PAR, {"ipv4": True})]
    found = _desired_state.problems({"name": "home", "endpoint": "https://192.168.1.10:6443",
                                     "talos_version": "v1.13.9"}, pools, {"provider": "powerdns", "zone": "lab.test"})
    assert found == ["autoextender_pools[0] (pool fr-par-b).floating.ipv4 = True: is not possible on linode: a Linode "
                     "address exists only on a Linode, and provisioning needs it before the servers (the join configs "
                     "carry it); use DNS failover"]


def test_wanted_names_each_address():
    pools = [pool(HEL, {"ipv4": True, "ipv6": True}), LAB]
    assert _floating.wanted("home", pools) == [
        {"name": "home-hel1-a-ipv4", "pool": "hel1-a", "provider": "hetzner", "location": "hel1", "family": "ipv4"},
        {"name": "home-hel1-a-ipv6", "pool": "hel1-a", "provider": "hetzner", "location": "hel1", "family": "ipv6"}]


def test_talos_patch_puts_the_addresses_on_lo():
    assert _floating.talos_patch([]) is None
    assert _floating.talos_patch(["2001:db8::1", "203.0.113.7", None, "203.0.113.7"]) == {
        "apiVersion": "v1alpha1", "kind": "LinkConfig", "name": "lo",
        "addresses": [{"address": "2001:db8::1/128"}, {"address": "203.0.113.7/32"}]}


def test_dns_nodes_add_one_node_per_address():
    nodes = [{"name": "home-lab-a-1", "pool": "lab-a", "public_ipv4": "10.250.1.2"}]
    fips = [{"name": "home-lab-a-ipv4", "family": "ipv4", "address": "10.250.1.9",
             "labels": {"autoextender-pool": "lab-a"}},
            {"name": "home-hel1-a-ipv6", "family": "ipv6", "address": "2001:db8::1",
             "labels": {"autoextender-pool": "hel1-a"}},
            {"name": "predicted", "family": "ipv4", "address": None, "labels": {}}]
    assert _floating.dns_nodes(nodes, fips) == nodes + [
        {"name": "home-lab-a-ipv4", "pool": "lab-a", "public_ipv4": "10.250.1.9"},
        {"name": "home-hel1-a-ipv6", "pool": "hel1-a", "public_ipv6": "2001:db8::1"}]


def test_the_filters_are_registered():
    from ansible_collections.talos.autoextender.plugins.filter import (floating_addresses, floating_dns_nodes,
                                                                       floating_patch)
    filters = {}
    for plugin in (floating_addresses, floating_dns_nodes, floating_patch):
        filters.update(plugin.FilterModule().filters())
    assert filters["floating_addresses"]([pool(LAB, {})], "home")[0]["name"] == "home-lab-a-ipv4"
    assert filters["floating_patch"]([]) == [] and len(filters["floating_patch"](["192.0.2.1"])) == 1
    assert filters["floating_dns_nodes"]([], []) == []


def server(name, pool):
    return {"name": name, "labels": {"autoextender-pool": pool}}


def target(node, health, ip="192.0.2.1"):
    return {"node": node, "health": health, "ip": ip}


def test_healthy_nodes_need_every_address_to_pass():
    targets = [target("a-1", "healthy"), target("a-2", "healthy"), target("a-2", "failing", "2001:db8::2"),
               target("a-3", "recovering"), target(None, "healthy")]
    assert _floating.healthy_nodes(targets) == {"a-1"}


def test_moves_offer_the_healthy_servers_of_the_pool():
    fips = [{"name": "home-a-ipv4", "family": "ipv4", "location": "loopback", "provider": "lab", "server": "1",
             "labels": {"autoextender-pool": "a"}},
            {"name": "home-b-ipv4", "family": "ipv4", "location": "loopback", "provider": "lab", "server": "9",
             "labels": {"autoextender-pool": "b"}}]
    servers = [server("a-2", "a"), server("a-1", "a"), server("a-3", "a"), server("b-1", "b")]
    targets = [target("a-1", "failing"), target("a-2", "healthy"), target("a-3", "healthy"), target("b-1", "failing")]
    assert _floating.moves(fips, servers, targets) == [
        {"name": "home-a-ipv4", "family": "ipv4", "location": "loopback", "pool": "a", "provider": "lab",
         "servers": ["a-2", "a-3"]}]  # pool b has no healthy server: its address stays where it is
