"""Labels <-> Linode tags, rule conversion, error classification and DNS input checks (no network)."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._dns.linode import VALID_TTLS, LinodeDnsProvider
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._clients import linode as linode_client
from ansible_collections.talos.autoextender.plugins.module_utils._providers import linode
from ansible_collections.talos.autoextender.plugins.module_utils._providers.base import ownership_labels

LABELS = ownership_labels("home", "par-a")


def test_labels_round_trip_through_tags():
    tags = linode.encode_tags(LABELS)
    assert tags == ["autoextender-cluster=home", "autoextender-pool=par-a", "managed-by=talos-autoextender"]
    assert linode.decode_tags(tags + ["production", "applies-to:role=edge"]) == LABELS


@pytest.mark.parametrize("labels, maximum, ok", [
    ({"autoextender-cluster": "c" * 29}, 50, True),   # 21 + 29 = 50 characters: the longest cluster name
    ({"autoextender-cluster": "c" * 30}, 50, False),
    ({"talos-schematic": "a" * 64}, 50, False),       # only image tags (100) can carry a schematic
    ({"talos-schematic": "a" * 64}, 100, True),
    ({"a": ""}, 50, False),                            # "a=" is shorter than 3 characters
    ({"bad=key": "x"}, 50, False),
    ({"applies-to:x": "y"}, 50, False),
])
def test_tag_limits(labels, maximum, ok):
    if ok:
        assert linode.decode_tags(linode.encode_tags(labels, maximum=maximum)) == labels
    else:
        with pytest.raises(AutoextenderError) as err:
            linode.encode_tags(labels, maximum=maximum)
        assert err.value.kind == "validation"


def test_selector_tags_and_foreign_tags():
    tags = linode.encode_tags(LABELS) + linode.encode_tags({"autoextender-pool": "par-a"}, prefix="applies-to:")
    assert linode.decode_tags(tags, "applies-to:") == {"autoextender-pool": "par-a"}
    assert linode.foreign_tags(tags + ["production", "team blue"]) == ["production", "team blue"]


def test_tag_filter_shapes():
    assert linode.tag_filter({}) is None
    assert linode.tag_filter({"managed-by": "talos-autoextender"}) == {"tags": "managed-by=talos-autoextender"}
    assert linode.tag_filter(LABELS) == {"+and": [{"tags": t} for t in linode.encode_tags(LABELS)]}


def test_has_labels():
    assert linode.has_labels(LABELS, {"autoextender-pool": "par-a"})
    assert not linode.has_labels({"autoextender-pool": "par-a"}, LABELS)


@pytest.mark.parametrize("rule, linode_rule", [
    ({"protocol": "udp", "port": "51820", "sources": ["0.0.0.0/0", "::/0"], "description": "KubeSpan"},
     {"action": "ACCEPT", "protocol": "UDP", "label": "ae-udp-51820", "ports": "51820", "description": "KubeSpan",
      "addresses": {"ipv4": ["0.0.0.0/0"], "ipv6": ["::/0"]}}),
    ({"protocol": "tcp", "port": "80,443", "sources": ["198.51.100.7/32"], "description": None},
     {"action": "ACCEPT", "protocol": "TCP", "label": "ae-tcp-80-443", "ports": "80,443",
      "addresses": {"ipv4": ["198.51.100.7/32"]}}),
    ({"protocol": "icmp", "port": "1", "sources": ["2001:db8::/32"], "description": None},
     {"action": "ACCEPT", "protocol": "ICMP", "label": "ae-icmp-all", "addresses": {"ipv6": ["2001:db8::/32"]}}),
])
def test_firewall_rules_round_trip(rule, linode_rule):
    out = linode.LinodeProvider._rule_out(rule)
    assert out == linode_rule
    back = linode.LinodeProvider._rule_in(out)
    assert back == dict(rule, sources=sorted(rule["sources"]), port=None if rule["protocol"] == "icmp" else rule["port"])


def test_rule_description_limit():
    with pytest.raises(AutoextenderError, match="1 to 100"):
        linode.LinodeProvider._rule_out({"protocol": "tcp", "port": "443", "sources": ["0.0.0.0/0"],
                                         "description": "x" * 101})


def test_public_ipv4_skips_private_addresses():
    assert linode._public_ipv4(["192.168.130.4", "203.0.113.9"]) == "203.0.113.9"
    assert linode._public_ipv4(["192.168.130.4"]) is None


def test_server_normalisation():
    data = {"id": 7, "label": "edge-1", "region": "fr-par", "type": "g6-nanode-1", "status": "provisioning",
            "ipv4": ["203.0.113.9"], "ipv6": "2001:db8::9/128", "image": "private/1", "tags": ["managed-by=x"],
            "created": "2026-01-01T00:00:00"}
    server = linode.LinodeProvider({"api_token": "t"})._server(data)
    assert server["id"] == "7" and server["status"] == "starting" and server["public_ipv6"] == "2001:db8::9"
    assert linode.LinodeProvider({"api_token": "t"})._server(dict(data, status="offline"))["status"] == "off"
    assert linode.LinodeProvider({"api_token": "t"})._server(dict(data, status="weird"))["status"] == "unknown"


def test_classify_linode_errors():
    import requests
    from linode_api4.errors import ApiError
    response = requests.Response()
    response.status_code = 429
    response.headers["Retry-After"] = "7"
    failure = linode_client.classify(ApiError("x", status=429, json={"errors": [{"reason": "Too many requests"}]},
                                              response=response))
    assert (failure.kind, failure.retry_after, failure.retryable) == ("rate_limited", 7.0, True)
    invalid = linode_client.classify(ApiError("x", status=400, json={"errors": [{"field": "label", "reason": "taken"}]}))
    assert invalid.kind == "validation" and invalid.message == "label: taken (HTTP 400)" and not invalid.retryable
    assert linode_client._retry_after(429, {"X-RateLimit-Reset": "1030"}, clock=lambda: 1000.5) == 29.5
    assert linode_client._retry_after(429, {"X-RateLimit-Reset": "1000"}, clock=lambda: 1000.5) == 0.0
    assert linode_client._retry_after(503, {"X-RateLimit-Reset": "1030"}, clock=lambda: 1000.5) is None
    dropped = linode_client.classify(requests.ConnectionError("reset"))
    assert dropped.connection and dropped.retryable


def test_no_io_in_constructors_and_secrets():
    provider = linode.LinodeProvider({"api_token": "secret-token"}, {"api_url": "http://127.0.0.1:9"})
    assert provider.api._client is None and "secret-token" in provider.secrets()


@pytest.mark.parametrize("ttl, ok", [(60, False), (300, True), (3600, True), (1000, False)])
def test_dns_ttl_check(ttl, ok):
    dns = LinodeDnsProvider("example.org", {"api_token": "t"})
    rrset = {"name": "edge.example.org.", "type": "A", "ttl": ttl, "values": ["192.0.2.1"]}
    if ok:
        assert dns._check(rrset)[2] == ttl and ttl in VALID_TTLS
    else:
        with pytest.raises(AutoextenderError, match="only accepts the TTLs"):
            dns._check(rrset)
    assert dns.min_ttl == 300 and dns.atomic_replace is False
