"""LinodeDnsProvider with the real linode_api4 SDK against the Linode API simulator (Domains API, checked
against the official document). Answers are read back from the simulator's zone state, not only from the backend."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._dns.linode import LinodeDnsProvider
from ansible_collections.talos.autoextender.plugins.module_utils._dns.registry import backend
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError

EDGE = "edge.example.org."


@pytest.fixture
def zone(linode_sim):
    domain = linode_sim.add_domain("example.org", ttl_sec=3600)
    linode_sim.add_domain("other.example")
    for name, rtype, target in (("www", "CNAME", "example.net"), ("", "TXT", "v=spf1 -all"), ("mail", "A", "192.0.2.25")):
        record_id = linode_sim.next_id("record") + 20000000
        domain["_records"][record_id] = {"id": record_id, "type": rtype, "name": name, "target": target, "ttl_sec": 0,
                                         "priority": 0, "weight": 0, "port": 0, "service": None, "protocol": None,
                                         "tag": None, "created": "2026-01-01T00:00:00", "updated": "2026-01-01T00:00:00"}
    return domain


@pytest.fixture
def dns(linode_sim, zone):
    return backend("linode", "example.org", {"api_token": linode_sim.token}, {"api_url": linode_sim.url})


def answers(domain, name, rtype):
    """What the zone holds (the simulator's state): sorted (target, ttl) pairs."""
    return sorted((r["target"], r["ttl_sec"]) for r in domain["_records"].values()
                  if r["name"] == name and r["type"] == rtype)


def writes(sim):
    return [(c[0], c[2]) for c in sim.log if c[0] in ("POST", "PUT", "DELETE")]


def test_replace_creates_reads_and_is_idempotent(linode_sim, zone, dns):
    assert isinstance(dns, LinodeDnsProvider) and dns.get(EDGE, "A") is None
    out = dns.replace({"name": EDGE, "type": "A", "ttl": 300, "values": ["198.51.100.7", "192.0.2.1"]})
    assert out == {"name": EDGE, "type": "A", "ttl": 300, "values": ["192.0.2.1", "198.51.100.7"]}
    assert answers(zone, "edge", "A") == [("192.0.2.1", 300), ("198.51.100.7", 300)]
    assert dns.get(EDGE, "A") == out
    before = len(writes(linode_sim))
    dns.replace({"name": EDGE, "type": "A", "ttl": 300, "values": ["192.0.2.1", "198.51.100.7"]})
    assert len(writes(linode_sim)) == before


def test_migration_adds_new_values_before_removing_old_ones(linode_sim, zone, dns):
    dns.replace({"name": EDGE, "type": "A", "ttl": 300, "values": ["192.0.2.1", "192.0.2.2"]})
    del linode_sim.log[:]
    dns.replace({"name": EDGE, "type": "A", "ttl": 300, "values": ["192.0.2.2", "203.0.113.5"]})
    assert [c[0] for c in linode_sim.log if c[0] in ("POST", "DELETE")] == ["POST", "DELETE"]
    assert answers(zone, "edge", "A") == [("192.0.2.2", 300), ("203.0.113.5", 300)]


def test_ttl_change_updates_in_place(linode_sim, zone, dns):
    dns.replace({"name": EDGE, "type": "A", "ttl": 300, "values": ["192.0.2.1"]})
    ids = set(zone["_records"])
    dns.replace({"name": EDGE, "type": "A", "ttl": 3600, "values": ["192.0.2.1"]})
    assert set(zone["_records"]) == ids and answers(zone, "edge", "A") == [("192.0.2.1", 3600)]


def test_cname_changes_in_place_and_zone_default_ttl(linode_sim, zone, dns):
    before = {"name": "www.example.org.", "type": "CNAME", "ttl": 3600, "values": ["example.net."]}
    assert dns.get("www.example.org.", "CNAME") == before
    dns.replace({"name": "www.example.org.", "type": "CNAME", "ttl": 300, "values": [EDGE]})
    assert answers(zone, "www", "CNAME") == [("edge.example.org", 300)]
    assert [c[0] for c in writes(linode_sim)] == ["PUT"]


def test_txt_apex_and_list(zone, dns):
    dns.replace({"name": "example.org.", "type": "TXT", "ttl": 300,
                 "values": ["v=spf1 -all", "heritage=talos-autoextender,owner=home"]})
    assert answers(zone, "", "TXT") == [("heritage=talos-autoextender,owner=home", 300), ("v=spf1 -all", 300)]
    listed = dict(((s["name"], s["type"]), s["values"]) for s in dns.list())
    assert listed[("example.org.", "TXT")] == ["heritage=talos-autoextender,owner=home", "v=spf1 -all"]
    assert listed[("mail.example.org.", "A")] == ["192.0.2.25"] and ("www.example.org.", "CNAME") in listed


def test_delete(linode_sim, zone, dns):
    dns.replace({"name": EDGE, "type": "AAAA", "ttl": 300, "values": ["2001:db8::1", "2001:db8::2"]})
    assert dns.delete(EDGE, "AAAA") is True and answers(zone, "edge", "AAAA") == []
    assert dns.delete(EDGE, "AAAA") is False
    assert answers(zone, "mail", "A") == [("192.0.2.25", 0)]  # a foreign record is left alone


@pytest.mark.parametrize("rrset, reason", [
    ({"name": EDGE, "type": "A", "ttl": 60, "values": ["192.0.2.1"]}, "TTLs 300, 3600"),
    ({"name": EDGE, "type": "A", "ttl": 300, "values": ["192.0.2.1", "not-an-ip"]}, "not a valid A value"),
    ({"name": EDGE, "type": "AAAA", "ttl": 300, "values": ["192.0.2.1"]}, "not a valid AAAA value"),
    ({"name": "example.org.", "type": "CNAME", "ttl": 300, "values": [EDGE]}, "zone apex"),
    ({"name": "edge.elsewhere.net.", "type": "A", "ttl": 300, "values": ["192.0.2.1"]}, "not in the zone"),
    ({"name": EDGE, "type": "A", "ttl": 300, "values": []}, "at least one value"),
    ({"name": EDGE, "type": "MX", "ttl": 300, "values": ["mail.example.org."]}, "type must be one of"),
])
def test_bad_input_is_refused_and_the_zone_is_unchanged(linode_sim, zone, dns, rrset, reason):
    before = dict((k, dict(v)) for k, v in zone["_records"].items())
    with pytest.raises(AutoextenderError) as err:
        dns.replace(rrset)
    assert err.value.kind == "validation" and reason in err.value.msg and err.value.msg.startswith("Failed to replace")
    assert zone["_records"] == before and writes(linode_sim) == []


def test_api_rejection_is_a_validation_error(linode_sim, zone, dns):
    dns.replace({"name": "www2.example.org.", "type": "A", "ttl": 300, "values": ["192.0.2.9"]})
    with pytest.raises(AutoextenderError) as err:  # the API refuses a CNAME next to other records
        dns.replace({"name": "www2.example.org.", "type": "CNAME", "ttl": 300, "values": [EDGE]})
    assert err.value.kind == "validation" and "CNAME" in err.value.msg and "(HTTP 400)" in err.value.msg
    assert answers(zone, "www2", "A") == [("192.0.2.9", 300)]


def test_unknown_zone(linode_sim, zone):
    dns = backend("linode", "missing.example", {"api_token": linode_sim.token}, {"api_url": linode_sim.url})
    with pytest.raises(AutoextenderError) as err:
        dns.get("edge.missing.example.", "A")
    assert err.value.kind == "not_found" and "missing.example" in err.value.msg


def test_invalid_token(linode_sim, zone):
    dns = backend("linode", "example.org", {"api_token": "bad-token-456"}, {"api_url": linode_sim.url})
    with pytest.raises(AutoextenderError) as err:
        dns.list()
    assert err.value.kind == "auth" and "Invalid Token" in err.value.msg and "bad-token-456" not in err.value.msg


def test_429_and_5xx_are_retried(linode_sim, zone, dns):
    linode_sim.fail_next("rate_limit", count=1, method="GET", path="/domains$", retry_after=1)
    linode_sim.fail_next("server_error", count=1, method="POST", path="/records$", status=502)
    dns.replace({"name": EDGE, "type": "A", "ttl": 300, "values": ["192.0.2.1"]})
    assert answers(zone, "edge", "A") == [("192.0.2.1", 300)]
    assert [c[2] for c in linode_sim.calls("POST", "/records$")] == [502, 200]
    assert [c[2] for c in linode_sim.calls("GET", "/domains$")] == [429, 200]


def test_5xx_storm_fails_with_the_zone_unchanged(linode_sim, zone):
    from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
    dns = backend("linode", "example.org", {"api_token": linode_sim.token},
                  {"api_url": linode_sim.url, "deadline": Deadline(3)})
    linode_sim.fail_next("server_error", count=50, method="GET", status=503)
    with pytest.raises(AutoextenderError) as err:
        dns.replace({"name": EDGE, "type": "A", "ttl": 300, "values": ["192.0.2.1"]})
    assert err.value.kind == "api" and err.value.details["status"] == 503
    assert answers(zone, "edge", "A") == [] and writes(linode_sim) == []
