"""One edge node shape: what edge_pool_info returns, the inventory's hostvars and edge_dns's nodes."""
from ansible_collections.talos.autoextender.plugins.module_utils._edge_dns_module import edge_options
from ansible_collections.talos.autoextender.plugins.module_utils._edge_node import FIELDS, edge_node

SERVER = {"id": "42", "name": "home-hel1-a-1", "provider": "hetzner", "location": "hel1", "server_type": "cx23",
          "status": "running", "public_ipv4": "203.0.113.7", "public_ipv6": "2001:db8::1", "image": "9",
          "labels": {"managed-by": "talos-autoextender", "autoextender-cluster": "home", "autoextender-pool": "hel1-a"},
          "created": "2026-04-01T10:00:00Z"}


def test_a_server_becomes_an_edge_node():
    node = edge_node(SERVER, {"9": "v1.14.1"})
    assert tuple(sorted(node)) == tuple(sorted(FIELDS))
    assert (node["name"], node["pool"], node["cluster"], node["server_id"], node["address"], node["talos_version"]) == (
        "home-hel1-a-1", "hel1-a", "home", "42", "203.0.113.7", "v1.14.1")
    assert node["labels"] == SERVER["labels"] and node["labels"] is not SERVER["labels"]


def test_an_ipv6_only_server_is_addressed_by_ipv6_and_a_label_gives_the_version():
    node = edge_node(dict(SERVER, public_ipv4=None, labels=dict(SERVER["labels"], **{"talos-version": "v1.13.9"})))
    assert node["address"] == "2001:db8::1" and node["talos_version"] == "v1.13.9"


def test_edge_dns_takes_every_field_of_an_edge_node():
    assert set(edge_options()["nodes"]["options"]) == set(FIELDS)
