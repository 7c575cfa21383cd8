"""The DnsProvider backends against the real servers: PowerDNS (HTTP API) and BIND (RFC 2136 + TSIG).

Every write is checked with a real DNS query to the authoritative server. API
failures (401, 429, 5xx, a dropped connection, a wrong URL or TSIG key) come
from the real server or from a fault-injecting proxy in front of the real
PowerDNS API (tests/support/http_faults.py).
"""
import base64
import time

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._dns.base import record_set
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from tests.support.process import free_port


def test_get_replace_delete_list_are_seen_by_dns(dns_bed):
    backend = dns_bed.provider()
    name = dns_bed.unique("edge")
    assert backend.get(name, "A") is None
    backend.replace(record_set(name, "A", 60, ["192.0.2.1", "192.0.2.2", "192.0.2.3"]))
    assert dns_bed.answers(name, "A") == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    backend.replace(record_set(name, "A", 30, ["192.0.2.3", "198.51.100.1"]))
    assert dns_bed.answers(name, "A") == ["192.0.2.3", "198.51.100.1"]
    assert backend.get(name, "A") == {"name": name, "type": "A", "ttl": 30, "values": ["192.0.2.3", "198.51.100.1"]}
    txt = ['heritage=x,"quoted"', "back\\slash", "semi;colon and spaces"]
    backend.replace(record_set(name, "TXT", 60, txt))
    assert dns_bed.answers(name, "TXT") == sorted(txt)
    assert backend.get(name, "TXT")["values"] == sorted(txt)
    listed = dict(((s["name"], s["type"]), s) for s in backend.list())
    assert listed[(name, "A")]["values"] == ["192.0.2.3", "198.51.100.1"]
    assert listed[(name, "TXT")]["values"] == sorted(txt)
    assert (dns_bed.zone, "SOA") in listed
    assert backend.delete(name, "A") is True
    assert backend.delete(name, "A") is False
    assert dns_bed.answers(name, "A") == []
    assert dns_bed.answers(name, "TXT") == sorted(txt)


def test_cname_and_aaaa(dns_bed):
    backend = dns_bed.provider()
    name = dns_bed.unique("v6")
    backend.replace(record_set(name, "AAAA", 60, ["2001:db8::1"]))
    backend.replace(record_set("www-" + name, "CNAME", 60, [name]))
    assert dns_bed.answers(name, "AAAA") == ["2001:db8::1"]
    assert dns_bed.answers("www-" + name, "CNAME") == [name]
    assert backend.get("www-" + name, "CNAME")["values"] == [name]


def test_powerdns_wrong_api_key_is_an_auth_error(dns_bed_powerdns):
    bed = dns_bed_powerdns
    before = bed.snapshot()
    backend = bed.provider(api_token="not-the-key")
    with pytest.raises(AutoextenderError) as e:
        backend.replace(record_set("edge." + bed.zone, "A", 60, ["192.0.2.1"]))
    assert e.value.kind == "auth" and "HTTP 401" in e.value.msg
    assert e.value.details["attempts"] == 1
    assert bed.snapshot() == before


def test_powerdns_unknown_zone_and_wrong_url(dns_bed_powerdns):
    bed = dns_bed_powerdns
    with pytest.raises(AutoextenderError) as e:
        bed.provider(zone="missing.test").get("edge.missing.test.", "A")
    assert e.value.kind == "not_found" and "HTTP 404" in e.value.msg and "serve the zone missing.test." in str(e.value)
    start = time.monotonic()
    with pytest.raises(AutoextenderError) as e:
        bed.provider(timeout=3, api_url="http://127.0.0.1:%d" % free_port()).get("edge." + bed.zone, "A")
    assert "cannot reach the PowerDNS API" in e.value.msg
    assert time.monotonic() - start < 6, "the deadline bounds the retries"


def test_powerdns_429_is_retried_after_retry_after(pdns_faulty_bed, pdns_faults):
    bed = pdns_faulty_bed
    name = bed.unique("rl")
    pdns_faults.fail_next("rate_limit", count=2, method="PATCH", retry_after=1)
    start = time.monotonic()
    bed.provider().replace(record_set(name, "A", 60, ["192.0.2.5"]))
    assert time.monotonic() - start >= 2.0, "Retry-After: 1 was honoured twice"
    assert [c[2] for c in pdns_faults.calls("PATCH")] == [429, 429, 204]
    assert bed.answers(name, "A") == ["192.0.2.5"]


def test_powerdns_5xx_until_the_deadline_fails_and_leaves_the_zone(pdns_faulty_bed, pdns_faults):
    bed = pdns_faulty_bed
    before = bed.snapshot()
    pdns_faults.fail_next("server_error", count=1000, method="PATCH", status=503)
    start = time.monotonic()
    with pytest.raises(AutoextenderError) as e:
        bed.provider(timeout=4).replace(record_set(bed.unique("down"), "A", 60, ["192.0.2.5"]))
    assert e.value.kind == "api" and "HTTP 503" in e.value.msg
    assert e.value.details["attempts"] >= 2
    assert time.monotonic() - start < 6
    assert bed.snapshot() == before


def test_powerdns_dropped_answer_after_commit_is_retried_safely(pdns_faulty_bed, pdns_faults):
    bed = pdns_faulty_bed
    name = bed.unique("drop")
    pdns_faults.fail_next("commit_then_drop", method="PATCH")
    bed.provider().replace(record_set(name, "A", 60, ["192.0.2.6", "192.0.2.7"]))
    assert [c[2] for c in pdns_faults.calls("PATCH")] == ["committed-dropped", 204]
    assert bed.answers(name, "A") == ["192.0.2.6", "192.0.2.7"]


def test_bind_wrong_tsig_key_is_an_auth_error(dns_bed_bind):
    bed = dns_bed_bind
    before = bed.snapshot()
    wrong = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    with pytest.raises(AutoextenderError) as e:
        bed.provider(tsig_key_secret=wrong).replace(record_set(bed.unique("x"), "A", 60, ["192.0.2.1"]))
    assert e.value.kind == "auth" and "rejected the TSIG key" in e.value.msg
    assert wrong not in str(e.value.details)
    with pytest.raises(AutoextenderError) as e:
        bed.provider(tsig_key_name="unknown-key.").replace(record_set(bed.unique("x"), "A", 60, ["192.0.2.1"]))
    assert e.value.kind == "auth"
    assert bed.snapshot() == before


def test_bind_unsigned_update_is_refused_and_bad_port_is_clear(dns_bed_bind):
    bed = dns_bed_bind
    before = bed.snapshot()
    with pytest.raises(AutoextenderError) as e:
        bed.provider(tsig_key_secret=None).replace(record_set(bed.unique("x"), "A", 60, ["192.0.2.1"]))
    assert e.value.kind == "auth" and "REFUSED" in e.value.msg
    with pytest.raises(AutoextenderError) as e:
        bed.provider(timeout=3, port=free_port()).get("edge." + bed.zone, "A")
    assert "cannot reach the DNS server" in e.value.msg
    assert bed.snapshot() == before
