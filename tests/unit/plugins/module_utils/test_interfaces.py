"""The provider interfaces' shared helpers and registries."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._dns import base as dns
from ansible_collections.talos.autoextender.plugins.module_utils._dns import registry as dns_registry
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base, registry


def test_ownership_labels_and_is_owned():
    labels = base.ownership_labels("home", "hel1-a")
    assert labels == {"managed-by": "talos-autoextender", "autoextender-cluster": "home", "autoextender-pool": "hel1-a"}
    assert base.is_owned(labels) and base.is_owned(labels, "home")
    assert not base.is_owned(labels, "other")
    assert not base.is_owned({"autoextender-cluster": "home"})
    assert not base.is_owned(None)


def test_shapes_have_every_key():
    assert set(base.server(name="a")) >= {"id", "status", "public_ipv4", "labels"}
    assert base.firewall(name="f")["rules"] == []
    assert base.image(id="1")["labels"] == {}


@pytest.mark.parametrize("name, expected", [
    ("edge", "edge.example.org."), ("@", "example.org."), ("Edge.Example.org", "edge.example.org."),
    ("edge.example.org.", "edge.example.org."), ("example.org", "example.org."),
])
def test_fqdn(name, expected):
    assert dns.fqdn(name, "example.org") == expected


def test_in_zone_and_record_set():
    assert dns.in_zone("a.example.org.", "example.org")
    assert not dns.in_zone("a.badexample.org.", "example.org")
    assert dns.record_set("E.example.org.", "a", "60", ["2", "1", "1"]) == {
        "name": "e.example.org.", "type": "A", "ttl": 60, "values": ["1", "2"]}


def test_modules_return_the_values_as_rdata():
    """A returned key ``values`` would be the dict method in Jinja (validate-modules' bad-return-value-key)."""
    internal = dict(dns.record_set("e.example.org.", "A", 60, ["192.0.2.1"]), owner="home")
    assert dns.returned(internal) == {"name": "e.example.org.", "type": "A", "ttl": 60, "rdata": ["192.0.2.1"],
                                      "owner": "home"}
    assert "values" in internal


def test_unknown_names_fail_clearly():
    with pytest.raises(AutoextenderError, match="choose one of hetzner, lab, linode"):
        registry.provider_class("aws")
    with pytest.raises(AutoextenderError, match="Unknown DNS provider"):
        dns_registry.backend("route53", "example.org", {})
