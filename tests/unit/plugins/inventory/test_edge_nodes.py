"""edge_nodes: hostvars and group names from normalised servers."""
import pytest

from ansible_collections.talos.autoextender.plugins.inventory.edge_nodes import group_name, host_vars
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base


def server(**extra):
    fields = dict(id="7", name="edge-a-1", provider="hetzner", location="hel1", server_type="cx23", status="running",
                  public_ipv4="203.0.113.7", public_ipv6="2001:db8::1", image="42",
                  labels=base.ownership_labels("home", "hel1-a"), created="2026-04-01T10:00:00Z")
    fields.update(extra)
    return base.server(**fields)


def test_host_vars():
    out = host_vars(server(), {"42": "v1.13.9"})
    assert out == {"public_ipv4": "203.0.113.7", "public_ipv6": "2001:db8::1", "provider": "hetzner",
                   "location": "hel1", "server_type": "cx23", "status": "running",
                   "labels": base.ownership_labels("home", "hel1-a"), "pool": "hel1-a", "cluster": "home",
                   "server_id": "7", "server_name": "edge-a-1", "talos_version": "v1.13.9",
                   "ansible_host": "203.0.113.7"}


def test_ipv6_only_and_unknown_image():
    out = host_vars(server(public_ipv4=None, image="99"), {"42": "v1.13.9"})
    assert out["ansible_host"] == "2001:db8::1" and out["talos_version"] is None


@pytest.mark.parametrize("prefix, value, expected", [
    ("pool_", "hel1-a", "pool_hel1_a"), ("location_", "fr-par", "location_fr_par"), ("", "a.b c", "a_b_c"),
])
def test_group_name(prefix, value, expected):
    assert group_name(prefix, value) == expected
