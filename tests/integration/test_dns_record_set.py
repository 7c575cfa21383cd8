"""dns_record_set and dns_record_set_info through ansible-playbook, on every DNS bed (real PowerDNS and BIND).

Results are checked with real DNS queries to the authoritative server and,
for refusals, with a zone transfer before and after (the zone must be
byte-identical).
"""
from tests.support.fixtures_dns import run_dns_tasks

MODULE = "talos.autoextender.dns_record_set"
INFO = "talos.autoextender.dns_record_set_info"


def claim(owner, rtype):
    """The documented ownership TXT value (docs/dns.md), written out here on purpose."""
    return "heritage=talos-autoextender,talos-autoextender/owner=%s,talos-autoextender/record-type=%s" % (owner, rtype)


def task(bed, title, check=False, diff=False, module=MODULE, **args):
    params = dict(bed.params)
    if module == MODULE:
        params.setdefault("owner", "home")
    params.update(args)
    out = {"name": title, module: params}
    if check:
        out["check_mode"] = True
    if diff:
        out["diff"] = True
    return out


def assert_failed(result, *fragments):
    assert result.get("failed"), result
    for fragment in fragments:
        assert fragment in result["msg"], result["msg"]


def test_lifecycle_check_create_repeat_update_delete(dns_bed, tmp_path):
    name = dns_bed.unique("edge")
    a = dict(name=name, type="A", ttl=60)
    proc, r = run_dns_tasks(tmp_path, [task(dns_bed, "check create", check=True, values=["192.0.2.1", "192.0.2.2"], **a)])
    assert r["check create"]["changed"] is True
    assert r["check create"]["record_set"]["rdata"] == ["192.0.2.1", "192.0.2.2"]
    assert dns_bed.answers(name, "A") == [] and dns_bed.answers("_autoextender." + name, "TXT") == []

    proc, r = run_dns_tasks(tmp_path, [
        task(dns_bed, "create", values=["192.0.2.2", "192.0.2.1", "192.0.2.1"], **a),
        task(dns_bed, "check repeat", check=True, values=["192.0.2.1", "192.0.2.2"], **a),
        task(dns_bed, "repeat", values=["192.0.2.1", "192.0.2.2"], **a),
    ])
    assert [r[t]["changed"] for t in ("create", "check repeat", "repeat")] == [True, False, False]
    assert r["create"]["record_set"] == {"name": name, "type": "A", "ttl": 60, "rdata": ["192.0.2.1", "192.0.2.2"],
                                         "owner": "home"}
    assert dns_bed.answers(name, "A") == ["192.0.2.1", "192.0.2.2"]
    assert dns_bed.answers("_autoextender." + name, "TXT") == [claim("home", "A")]

    proc, r = run_dns_tasks(tmp_path, [task(dns_bed, "check update", check=True, diff=True,
                                            values=["192.0.2.1", "192.0.2.3"], **a)])
    assert r["check update"]["changed"] is True
    assert r["check update"]["diff"]["before"]["rdata"] == ["192.0.2.1", "192.0.2.2"]
    assert r["check update"]["diff"]["after"]["rdata"] == ["192.0.2.1", "192.0.2.3"]
    assert dns_bed.answers(name, "A") == ["192.0.2.1", "192.0.2.2"]

    proc, r = run_dns_tasks(tmp_path, [
        task(dns_bed, "update", values=["192.0.2.1", "192.0.2.3", "192.0.2.4"], name=name, type="A", ttl=120),
        task(dns_bed, "shrink below min_values", values=["192.0.2.1"], name=name, type="A", ttl=120, min_values=2),
    ])
    assert r["update"]["changed"] is True
    assert_failed(r["shrink below min_values"], "from 3 to 1 values", "min_values=2")
    assert r["shrink below min_values"]["failure"]["kind"] == "min_values"
    assert dns_bed.answers(name, "A") == ["192.0.2.1", "192.0.2.3", "192.0.2.4"]

    proc, r = run_dns_tasks(tmp_path, [
        task(dns_bed, "forced shrink", values=["192.0.2.4"], name=name, type="A", ttl=120, min_values=2, force=True),
    ])
    assert r["forced shrink"]["changed"] is True
    assert dns_bed.answers(name, "A") == ["192.0.2.4"]

    proc, r = run_dns_tasks(tmp_path, [
        task(dns_bed, "check delete", check=True, name=name, type="A", state="absent"),
        task(dns_bed, "delete", name=name, type="A", state="absent"),
        task(dns_bed, "delete again", name=name, type="A", state="absent"),
    ])
    assert [r[t]["changed"] for t in ("check delete", "delete", "delete again")] == [True, True, False]
    assert dns_bed.answers(name, "A") == []
    assert dns_bed.answers("_autoextender." + name, "TXT") == []
    assert dns_bed.params.get("api_token", "never-there") not in proc.stdout
    assert dns_bed.params.get("tsig_key_secret", "never-there") not in proc.stdout


def test_record_types_and_info(dns_bed, tmp_path):
    name = dns_bed.unique("svc")
    foreign = dns_bed.unique("foreign")
    dns_bed.seed(foreign, "A", 300, ["203.0.113.9"])
    proc, r = run_dns_tasks(tmp_path, [
        task(dns_bed, "aaaa", name=name, type="AAAA", values=["2001:DB8:0:0::1", "2001:db8::2"]),
        task(dns_bed, "txt", name=name, type="TXT", values=['v=1; "quoted" \\ slash', "plain"]),
        task(dns_bed, "cname", name="www-" + name, type="CNAME", values=[name.rstrip(".")]),
        task(dns_bed, "info one name", module=INFO, name=name),
        task(dns_bed, "info by owner", module=INFO, owner="home"),
        task(dns_bed, "info foreign", module=INFO, name=foreign, type="A"),
    ])
    assert dns_bed.answers(name, "AAAA") == ["2001:db8::1", "2001:db8::2"]
    assert dns_bed.answers(name, "TXT") == ['plain', 'v=1; "quoted" \\ slash']
    assert dns_bed.answers("www-" + name, "CNAME") == [name]
    assert dns_bed.answers("_autoextender." + name, "TXT") == sorted([claim("home", "AAAA"), claim("home", "TXT")])
    sets = r["info one name"]["record_sets"]
    assert [(s["type"], s["owner"]) for s in sets] == [("AAAA", "home"), ("TXT", "home")]
    owned = dict(((s["name"], s["type"]), s) for s in r["info by owner"]["record_sets"])
    assert set(owned) >= {(name, "AAAA"), (name, "TXT"), ("www-" + name, "CNAME")}
    assert (foreign, "A") not in owned
    assert not any(n.startswith("_autoextender.") for n, dummy in owned)
    assert r["info foreign"]["record_sets"] == [{"name": foreign, "type": "A", "ttl": 300, "rdata": ["203.0.113.9"],
                                                 "owner": None}]
    assert r["info one name"]["changed"] is False


def test_foreign_record_is_left_untouched_until_taken_over(dns_bed, tmp_path):
    name = dns_bed.unique("hand")
    dns_bed.seed(name, "A", 300, ["203.0.113.5"])
    before = dns_bed.snapshot()
    proc, r = run_dns_tasks(tmp_path, [
        task(dns_bed, "change", name=name, type="A", values=["192.0.2.1"]),
        task(dns_bed, "check change", check=True, name=name, type="A", values=["192.0.2.1"]),
        task(dns_bed, "delete", name=name, type="A", state="absent"),
    ])
    for t in ("change", "check change", "delete"):
        assert_failed(r[t], "Refusing to change %s A" % name, "has no ownership record", "take_ownership")
        assert r[t]["failure"]["kind"] == "conflict"
    assert dns_bed.snapshot() == before
    assert dns_bed.answers(name, "A") == ["203.0.113.5"]

    proc, r = run_dns_tasks(tmp_path, [
        task(dns_bed, "take over", name=name, type="A", values=["192.0.2.1"], take_ownership=True),
        task(dns_bed, "now ours", name=name, type="A", values=["192.0.2.1"]),
    ])
    assert r["take over"]["changed"] is True and r["now ours"]["changed"] is False
    assert dns_bed.answers(name, "A") == ["192.0.2.1"]
    assert dns_bed.answers("_autoextender." + name, "TXT") == [claim("home", "A")]


def test_another_owner_is_refused(dns_bed, tmp_path):
    name = dns_bed.unique("shared")
    proc, r = run_dns_tasks(tmp_path, [
        task(dns_bed, "home creates", name=name, type="A", values=["192.0.2.1"]),
        task(dns_bed, "lab tries", name=name, type="A", values=["192.0.2.9"], owner="lab"),
        task(dns_bed, "lab tries to create AAAA", name=name, type="AAAA", values=["2001:db8::9"], owner="lab"),
    ])
    assert r["home creates"]["changed"] is True
    assert_failed(r["lab tries"], "claimed by owner home")
    assert dns_bed.answers(name, "A") == ["192.0.2.1"]
    # AAAA is not claimed by anybody: lab may create it; the claim set then holds both owners' values.
    assert r["lab tries to create AAAA"]["changed"] is True
    assert dns_bed.answers("_autoextender." + name, "TXT") == sorted([claim("home", "A"), claim("lab", "AAAA")])

    proc, r = run_dns_tasks(tmp_path, [
        task(dns_bed, "lab takes over", name=name, type="A", values=["192.0.2.9"], owner="lab", take_ownership=True),
        task(dns_bed, "home is refused now", name=name, type="A", state="absent"),
    ])
    assert r["lab takes over"]["changed"] is True
    assert_failed(r["home is refused now"], "claimed by owner lab")
    assert dns_bed.answers(name, "A") == ["192.0.2.9"]
    assert dns_bed.answers("_autoextender." + name, "TXT") == sorted([claim("lab", "A"), claim("lab", "AAAA")])


def test_bad_input_fails_clearly_and_leaves_the_zone_unchanged(dns_bed, tmp_path):
    existing = dns_bed.unique("keep")
    run_dns_tasks(tmp_path, [task(dns_bed, "seed ours", name=existing, type="A", values=["192.0.2.1"])])
    alias = dns_bed.unique("alias")
    dns_bed.seed(alias, "CNAME", 300, [existing])
    before = dns_bed.snapshot()
    zone = dns_bed.zone
    cases = {
        "invalid ip": (dict(name=existing, type="A", values=["192.0.2.7", "192.0.2.300"]), "'192.0.2.300' is not a valid IPv4"),
        "ipv4 in aaaa": (dict(name=existing, type="AAAA", values=["192.0.2.7"]), "not a valid IPv6"),
        "cname at apex": (dict(name="@", type="CNAME", values=["edge." + zone]), "A CNAME cannot be at the zone apex"),
        "outside the zone": (dict(name="edge.elsewhere.example.", type="A", values=["192.0.2.7"]), "is outside the zone"),
        "empty set": (dict(name=existing, type="A", values=[]), "an empty record set is never published"),
        "two cnames": (dict(name=dns_bed.unique("c"), type="CNAME", values=["a.example.", "b.example."]), "exactly one value"),
        "registry name": (dict(name="_autoextender." + existing, type="TXT", values=["x"]), "is an ownership record"),
        "bad owner": (dict(name=existing, type="A", values=["192.0.2.7"], owner="Home Cluster"), "owner 'Home Cluster' is not valid"),
        "ttl out of range": (dict(name=existing, type="A", values=["192.0.2.7"], ttl=-5), "ttl -5 is invalid: must be an integer from 1"),
        "txt too long": (dict(name=existing, type="TXT", values=["x" * 300]), "limited to 255 bytes"),
        "a next to a cname": (dict(name=alias, type="A", values=["192.0.2.7"]), "already holds CNAME records"),
        "cname next to an a": (dict(name=existing, type="CNAME", values=[alias]), "already holds A records"),
    }
    proc, r = run_dns_tasks(tmp_path, [task(dns_bed, case, **args) for case, (args, dummy) in cases.items()])
    for case, (dummy, message) in cases.items():
        assert_failed(r[case], message)
        assert r[case]["failure"]["kind"] == "validation", (case, r[case])
    assert dns_bed.snapshot() == before
    assert dns_bed.answers(existing, "A") == ["192.0.2.1"]


def test_rate_limits_are_retried_and_5xx_fails_cleanly(pdns_faulty_bed, pdns_faults, tmp_path):
    bed = pdns_faulty_bed
    name = bed.unique("edge")
    pdns_faults.fail_next("rate_limit", count=2, method="PATCH", retry_after=1)
    proc, r = run_dns_tasks(tmp_path, [task(bed, "through 429", name=name, type="A", values=["192.0.2.1"])])
    assert r["through 429"]["changed"] is True
    assert [c[2] for c in pdns_faults.calls("PATCH")][:3] == [429, 429, 204]
    assert bed.answers(name, "A") == ["192.0.2.1"]

    before = bed.snapshot()
    pdns_faults.fail_next("server_error", count=1000, method="PATCH", status=502)
    proc, r = run_dns_tasks(tmp_path, [task(bed, "through 502", name=name, type="A", values=["192.0.2.2"],
                                            wait_timeout=3)])
    assert_failed(r["through 502"], "Failed to replace", "HTTP 502")
    assert r["through 502"]["failure"]["kind"] == "api" and r["through 502"]["failure"]["attempts"] >= 2
    assert bed.snapshot() == before


def test_wrong_credentials_fail_clearly_without_leaking(dns_bed, tmp_path):
    name = dns_bed.unique("edge")
    before = dns_bed.snapshot()
    if dns_bed.params["provider"] == "powerdns":
        wrong = {"api_token": "wrong-key-0123456789"}
        unreachable = {"api_url": "http://127.0.0.1:9"}
        messages = ("HTTP 401", "cannot reach the PowerDNS API")
    else:
        wrong = {"tsig_key_secret": "d3Jvbmctc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY="}
        unreachable = {"port": 9}
        messages = ("rejected the TSIG key", "cannot reach the DNS server")
    proc, r = run_dns_tasks(tmp_path, [
        task(dns_bed, "wrong key", name=name, type="A", values=["192.0.2.1"], **wrong),
        task(dns_bed, "unreachable", name=name, type="A", values=["192.0.2.1"], wait_timeout=2, **unreachable),
    ])
    assert_failed(r["wrong key"], messages[0])
    assert r["wrong key"]["failure"]["kind"] == "auth"
    assert_failed(r["unreachable"], messages[1])
    secret = list(wrong.values())[0]
    assert secret not in proc.stdout and secret not in proc.stderr
    assert dns_bed.snapshot() == before
