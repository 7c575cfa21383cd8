"""The Cloudflare DNS backend against the Cloudflare simulator (checked against the official document).

Every test asserts on the simulator's zone state (what Cloudflare would serve),
not only on what the backend returns.
"""
import time

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._dns.cloudflare import CloudflareProvider
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline

EDGE = "edge.example.org."


def backend(bed, token=None, timeout=20, **options):
    options.setdefault("api_url", bed.url)
    options["deadline"] = Deadline(timeout)
    return CloudflareProvider("example.org", {"api_token": token or bed.token}, options)


def edge(values, ttl=60, name=EDGE, rtype="A"):
    return {"name": name, "type": rtype, "ttl": ttl, "values": values}


def writes(bed):
    return [c for c in bed.sim.log if c[0] in ("POST", "PUT", "PATCH", "DELETE")]


def test_replace_get_list_delete_round_trip(cloudflare_sim):
    cf = backend(cloudflare_sim)
    assert cf.get(EDGE, "A") is None

    assert cf.replace(edge(["192.0.2.1", "192.0.2.2"])) is True
    assert cloudflare_sim.records()[("edge.example.org", "A")] == ["192.0.2.1", "192.0.2.2"]
    assert all(r["proxied"] is False and r["ttl"] == 60 for r in cloudflare_sim.sim.zone_records(cloudflare_sim.zone["id"]))
    assert cf.get(EDGE, "A") == edge(["192.0.2.1", "192.0.2.2"])

    # The same set again: no write call at all.
    before = len(writes(cloudflare_sim))
    assert cf.replace(edge(["192.0.2.2", "192.0.2.1"])) is False
    assert len(writes(cloudflare_sim)) == before

    cf.replace(edge(["app.example.org."], name="www.example.org.", rtype="CNAME"))
    cf.replace(edge(["owner=home"], name="_autoextender.example.org.", rtype="TXT", ttl=1))
    listed = dict(((s["name"], s["type"]), s) for s in cf.list())
    assert listed[("www.example.org.", "CNAME")]["values"] == ["app.example.org."]
    assert listed[("_autoextender.example.org.", "TXT")] == edge(["owner=home"], name="_autoextender.example.org.",
                                                                 rtype="TXT", ttl=1)
    assert cloudflare_sim.records()[("www.example.org", "CNAME")] == ["app.example.org"]

    assert cf.delete(EDGE, "A") is True
    assert ("edge.example.org", "A") not in cloudflare_sim.records()
    assert cf.delete(EDGE, "A") is False
    assert ("www.example.org", "CNAME") in cloudflare_sim.records()


def test_migration_steps_never_leave_the_set_empty(cloudflare_sim):
    """{A} -> {A, B} -> {B}: each step only adds or removes; an in-place swap reuses the record."""
    cf = backend(cloudflare_sim)
    cf.replace(edge(["192.0.2.1"]))
    cf.replace(edge(["192.0.2.1", "198.51.100.7"]))
    assert cloudflare_sim.records()[("edge.example.org", "A")] == ["192.0.2.1", "198.51.100.7"]
    cf.replace(edge(["198.51.100.7"], ttl=120))
    records = cloudflare_sim.sim.zone_records(cloudflare_sim.zone["id"])
    assert [(r["content"], r["ttl"]) for r in records] == [("198.51.100.7", 120)]

    # A full swap overwrites the stale record in place (one PUT, no delete): never empty.
    count = len(writes(cloudflare_sim))
    cf.replace(edge(["203.0.113.9"], ttl=120))
    assert [c[0] for c in writes(cloudflare_sim)[count:]] == ["PUT"]
    assert cloudflare_sim.records()[("edge.example.org", "A")] == ["203.0.113.9"]

    # A CNAME changes target in place too (Cloudflare refuses a second CNAME at one name).
    cf.replace(edge(["a.example.org."], name="svc.example.org.", rtype="CNAME"))
    cf.replace(edge(["b.example.org."], name="svc.example.org.", rtype="CNAME"))
    assert cloudflare_sim.records()[("svc.example.org", "CNAME")] == ["b.example.org"]


def test_pagination_reads_every_page(cloudflare_sim):
    cf = backend(cloudflare_sim, per_page=2)
    values = ["192.0.2.%d" % i for i in range(1, 8)]
    cf.replace(edge(values))
    assert cf.get(EDGE, "A")["values"] == sorted(values)
    pages = cloudflare_sim.sim.calls("GET", r"/dns_records$")
    assert len(pages) >= 4


def test_rate_limit_is_retried_after_retry_after(cloudflare_sim):
    cf = backend(cloudflare_sim)
    cloudflare_sim.sim.fail_next("rate_limit", count=2, method="POST", retry_after=1)
    started = time.monotonic()
    cf.replace(edge(["192.0.2.1"]))
    assert time.monotonic() - started >= 2.0
    assert [c[2] for c in cloudflare_sim.sim.calls("POST")] == [429, 429, 200]
    assert cloudflare_sim.records()[("edge.example.org", "A")] == ["192.0.2.1"]


def test_server_errors_are_retried(cloudflare_sim):
    cf = backend(cloudflare_sim)
    cloudflare_sim.sim.fail_next("server_error", count=1, method="GET", status=502)
    cf.replace(edge(["192.0.2.1"]))
    assert cloudflare_sim.records()[("edge.example.org", "A")] == ["192.0.2.1"]
    assert 502 in [c[2] for c in cloudflare_sim.sim.calls("GET")]


def test_wrong_token_fails_clearly_and_changes_nothing(cloudflare_sim):
    backend(cloudflare_sim).replace(edge(["192.0.2.1"]))
    before = cloudflare_sim.records()
    cf = backend(cloudflare_sim, token="not-the-token-0123456789")
    with pytest.raises(AutoextenderError) as err:
        cf.replace(edge(["198.51.100.7"]))
    assert err.value.kind == "auth"
    assert "Authentication error" in err.value.msg and "not-the-token" not in err.value.msg
    assert err.value.details["attempts"] == 1
    assert cloudflare_sim.records() == before


@pytest.mark.parametrize("fault, options, kind, status", [
    # a Retry-After beyond the deadline fails at once
    ("rate_limit", {"method": "PUT", "retry_after": 30}, "rate_limited", 429),
    # 5xx is retried with backoff until the deadline, then fails
    ("server_error", {"method": "POST", "status": 503}, "api", 503),
])
def test_persistent_failure_ends_within_the_deadline_and_changes_nothing(cloudflare_sim, fault, options, kind, status):
    backend(cloudflare_sim).replace(edge(["192.0.2.1"]))
    before = cloudflare_sim.records()
    cloudflare_sim.sim.fail_next(fault, count=100, **options)
    started = time.monotonic()
    with pytest.raises(AutoextenderError) as err:
        backend(cloudflare_sim, timeout=4).replace(edge(["198.51.100.7"] if fault == "rate_limit" else
                                                        ["192.0.2.1", "198.51.100.7"]))
    assert time.monotonic() - started < 5
    assert err.value.kind == kind and err.value.details["status"] == status
    assert cloudflare_sim.records() == before


@pytest.mark.parametrize("rrset, message", [
    (edge(["192.0.2.300"]), "not a valid A value"),
    (edge(["192.0.2.1"], ttl=30), r"TTL of 1 \(automatic\) or 60\.\.86400"),
    (edge(["192.0.2.1"], name="edge.example.net."), "not in the zone"),
    (edge(["a.example.org.", "b.example.org."], name="svc.example.org.", rtype="CNAME"), "exactly one value"),
    (edge([]), "at least one value"),
])
def test_bad_input_is_refused_before_any_call(cloudflare_sim, rrset, message):
    with pytest.raises(AutoextenderError, match=message) as err:
        backend(cloudflare_sim).replace(rrset)
    assert err.value.kind == "validation"
    assert writes(cloudflare_sim) == []


def test_api_validation_error_is_reported_with_cloudflare_code(cloudflare_sim):
    """A CNAME where an A set exists: Cloudflare refuses (81053); the A set stays."""
    cf = backend(cloudflare_sim)
    cf.replace(edge(["192.0.2.1"]))
    with pytest.raises(AutoextenderError, match="81053") as err:
        cf.replace(edge(["other.example.org."], rtype="CNAME"))
    assert err.value.kind == "api" and err.value.details["status"] == 400
    assert cloudflare_sim.records() == {("edge.example.org", "A"): ["192.0.2.1"]}


def test_dropped_create_is_adopted_not_repeated(cloudflare_sim):
    cf = backend(cloudflare_sim)
    cloudflare_sim.sim.fail_next("commit_then_drop", count=1, method="POST")
    cf.replace(edge(["192.0.2.1"]))
    assert cloudflare_sim.records()[("edge.example.org", "A")] == ["192.0.2.1"]
    assert len(cloudflare_sim.sim.calls("POST")) == 1


def test_dropped_create_that_did_not_commit_is_made_again(cloudflare_sim):
    cf = backend(cloudflare_sim)
    cloudflare_sim.sim.fail_next("drop", count=1, method="POST")
    cf.replace(edge(["192.0.2.1"]))
    assert cloudflare_sim.records()[("edge.example.org", "A")] == ["192.0.2.1"]
    assert [c[2] for c in cloudflare_sim.sim.calls("POST")] == ["dropped", 200]


def test_unknown_zone_is_not_found(cloudflare_sim):
    cf = CloudflareProvider("missing.example", {"api_token": cloudflare_sim.token},
                            {"api_url": cloudflare_sim.url, "deadline": Deadline(5)})
    with pytest.raises(AutoextenderError, match=r"zone missing\.example\.: not found") as err:
        cf.get("edge.missing.example.", "A")
    assert err.value.kind == "not_found"


def test_foreign_records_are_left_alone(cloudflare_sim):
    """Records at other names or types are never touched by replace/delete of one set."""
    cf = backend(cloudflare_sim)
    cf.replace(edge(["192.0.2.50"], name="mail.example.org."))
    cf.replace(edge(["v=spf1 -all"], name="edge.example.org.", rtype="TXT"))
    cf.replace(edge(["192.0.2.1"]))
    cf.delete(EDGE, "A")
    assert cloudflare_sim.records() == {("mail.example.org", "A"): ["192.0.2.50"],
                                        ("edge.example.org", "TXT"): ["v=spf1 -all"]}


def test_dns_record_set_module_through_cloudflare(cloudflare_sim, tmp_path):
    """The module users call, with provider cloudflare: the edge set and its ownership claim land in the zone."""
    from tests.support.ansible import run_playbook
    playbook = tmp_path / "cf.yml"
    playbook.write_text(
        "- name: Cloudflare\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Edge record set\n      talos.autoextender.dns_record_set:\n"
        "        provider: cloudflare\n        zone: example.org\n        api_url: %s\n        owner: home\n"
        "        name: edge\n        type: A\n        ttl: 60\n        values: [192.0.2.1, 192.0.2.2]\n"
        % cloudflare_sim.url)
    env = {"CLOUDFLARE_API_TOKEN": cloudflare_sim.token}
    proc = run_playbook(str(playbook), env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert cloudflare_sim.token not in proc.stdout
    records = cloudflare_sim.records()
    assert records[("edge.example.org", "A")] == ["192.0.2.1", "192.0.2.2"]
    assert any("owner=home" in v for v in records[("_autoextender.edge.example.org", "TXT")])
    count = len(writes(cloudflare_sim))
    assert run_playbook(str(playbook), env=env).returncode == 0
    assert len(writes(cloudflare_sim)) == count, "a second run must not write"
