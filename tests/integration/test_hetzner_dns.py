"""HetznerDnsProvider with the real hcloud SDK against the Hetzner Cloud API simulator (zones/rrsets)."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._dns import registry
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from tests.support.fixtures_hetzner import TOKEN

ZONE = "example.org"


@pytest.fixture
def dns(hetzner_sim):
    hetzner_sim.add_zone(ZONE)
    return registry.backend("hetzner", ZONE, {"api_token": TOKEN}, {"api_url": hetzner_sim.url, "api_timeout": 10})


def stored(sim, name, rtype):
    """The RRSet as the simulated API holds it (the outside world, not the backend's view)."""
    zone = [z for z in sim.zones.values() if z["name"] == ZONE][0]
    rrset = zone["_rrsets"].get((name, rtype))
    return None if rrset is None else (rrset["ttl"], sorted(r["value"] for r in rrset["records"]))


def test_create_replace_delete_a_set(dns, hetzner_sim):
    assert dns.get("edge", "A") is None
    out = dns.replace({"name": "edge.example.org.", "type": "A", "ttl": 60, "values": ["192.0.2.1", "198.51.100.7"]})
    assert out == {"name": "edge.example.org.", "type": "A", "ttl": 60, "values": ["192.0.2.1", "198.51.100.7"]}
    assert stored(hetzner_sim, "edge", "A") == (60, ["192.0.2.1", "198.51.100.7"])

    posts = len(hetzner_sim.calls("POST"))
    dns.replace({"name": "edge.example.org.", "type": "A", "ttl": 60, "values": ["198.51.100.7", "192.0.2.1"]})
    assert len(hetzner_sim.calls("POST")) == posts, "an unchanged set must not be written"

    dns.replace({"name": "edge.example.org.", "type": "A", "ttl": 120, "values": ["203.0.113.9"]})
    assert stored(hetzner_sim, "edge", "A") == (120, ["203.0.113.9"])
    assert len(hetzner_sim.calls("POST", r"/rrsets/edge/A/actions/set_records$")) == 1, "values swapped in one call"

    assert dns.delete("edge.example.org.", "A") is True
    assert stored(hetzner_sim, "edge", "A") is None
    assert dns.delete("edge.example.org.", "A") is False


def test_txt_is_quoted_in_the_api_and_plain_in_the_interface(dns, hetzner_sim):
    owner = 'heritage=external-dns,external-dns/owner=home,note="quoted"'
    long_value = "v" * 300
    dns.replace({"name": "_owner.edge", "type": "TXT", "ttl": 300, "values": [owner, long_value]})
    ttl, values = stored(hetzner_sim, "_owner.edge", "TXT")
    assert '"heritage=external-dns,external-dns/owner=home,note=\\"quoted\\""' in values
    assert '"%s" "%s"' % ("v" * 255, "v" * 45) in values
    assert sorted(dns.get("_owner.edge.example.org.", "TXT")["values"]) == sorted([owner, long_value])


def test_cname_and_apex(dns, hetzner_sim):
    dns.replace({"name": "app", "type": "CNAME", "ttl": 300, "values": ["edge"]})
    assert stored(hetzner_sim, "app", "CNAME") == (300, ["edge.example.org."])
    assert dns.get("app", "CNAME")["values"] == ["edge.example.org."]
    with pytest.raises(AutoextenderError, match="apex") as err:
        dns.replace({"name": "@", "type": "CNAME", "ttl": 300, "values": ["edge.example.org."]})
    assert err.value.kind == "validation"
    dns.replace({"name": "@", "type": "A", "ttl": 300, "values": ["192.0.2.10"]})
    assert stored(hetzner_sim, "@", "A") == (300, ["192.0.2.10"])


def test_list_shows_every_set(dns):
    dns.replace({"name": "edge", "type": "AAAA", "ttl": 60, "values": ["2001:db8::1"]})
    sets = dict(((r["name"], r["type"]), r) for r in dns.list())
    assert sets[("edge.example.org.", "AAAA")]["values"] == ["2001:db8::1"]
    assert ("example.org.", "SOA") in sets and ("example.org.", "NS") in sets


def test_bad_input_leaves_the_zone_unchanged(dns, hetzner_sim):
    dns.replace({"name": "edge", "type": "A", "ttl": 60, "values": ["192.0.2.1"]})
    with pytest.raises(AutoextenderError) as err:
        dns.replace({"name": "edge", "type": "A", "ttl": 60, "values": ["not-an-ip"]})
    assert err.value.kind == "validation" and "invalid input" in err.value.msg
    with pytest.raises(AutoextenderError, match="not in zone"):
        dns.replace({"name": "www.example.com.", "type": "A", "ttl": 60, "values": ["192.0.2.1"]})
    with pytest.raises(AutoextenderError, match="at least 60"):
        dns.replace({"name": "edge", "type": "A", "ttl": 30, "values": ["192.0.2.1"]})
    with pytest.raises(AutoextenderError, match="empty"):
        dns.replace({"name": "edge", "type": "A", "ttl": 60, "values": []})
    assert stored(hetzner_sim, "edge", "A") == (60, ["192.0.2.1"])


def test_api_errors(hetzner_sim, dns):
    bad = registry.backend("hetzner", ZONE, {"api_token": "wrong-token-000"}, {"api_url": hetzner_sim.url, "api_timeout": 5})
    with pytest.raises(AutoextenderError) as err:
        bad.get("edge", "A")
    assert err.value.kind == "auth" and "unable to authenticate" in err.value.msg

    missing = registry.backend("hetzner", "nowhere.test", {"api_token": TOKEN}, {"api_url": hetzner_sim.url})
    with pytest.raises(AutoextenderError, match="Failed to find zone nowhere.test") as err:
        missing.get("edge", "A")
    assert err.value.kind == "not_found"

    hetzner_sim.fail_next("rate_limit", count=2, retry_after=0.2, method="POST")
    hetzner_sim.fail_next("server_error", count=1, status=503, method="GET", path="/rrsets/edge/A$")
    dns.replace({"name": "edge", "type": "A", "ttl": 60, "values": ["192.0.2.1"]})
    assert stored(hetzner_sim, "edge", "A") == (60, ["192.0.2.1"])
    assert [c[2] for c in hetzner_sim.calls("POST", r"/rrsets$")] == [429, 429, 201]

    hetzner_sim.fail_next("server_error", count=50, status=502, method="POST")
    slow = registry.backend("hetzner", ZONE, {"api_token": TOKEN}, {"api_url": hetzner_sim.url, "api_timeout": 2})
    with pytest.raises(AutoextenderError) as err:
        slow.replace({"name": "edge", "type": "A", "ttl": 60, "values": ["192.0.2.99"]})
    assert err.value.kind == "api" and err.value.details["status"] == 502
    assert stored(hetzner_sim, "edge", "A") == (60, ["192.0.2.1"])


def test_lost_create_answer_is_adopted_not_repeated(dns, hetzner_sim):
    hetzner_sim.fail_next("commit_then_drop", method="POST", path="/rrsets$")
    out = dns.replace({"name": "edge", "type": "A", "ttl": 60, "values": ["192.0.2.1"]})
    assert out["values"] == ["192.0.2.1"] and stored(hetzner_sim, "edge", "A") == (60, ["192.0.2.1"])
    assert len(hetzner_sim.calls("POST", r"/rrsets$")) == 1
