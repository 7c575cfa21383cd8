"""Credential rotation: which places switch, what a switch writes, and that no value is ever reported."""
import base64
import json

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _credential_rotation as rot
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError

OLD, NEW, OTHER = "old-token-0123456789", "new-token-9876543210", "someone-elses-token"


def b64(value):
    return base64.b64encode(value.encode()).decode()


def secret(ns, name, **data):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"namespace": ns, "name": name, "resourceVersion": "7"},
            "data": dict((k, b64(v)) for k, v in data.items())}


def deployment(args, annotations=None):
    template = {"metadata": {"annotations": annotations or {}},
                "spec": {"containers": [{"name": "x", "args": list(args)}]}}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"namespace": "external-dns", "name": "external-dns", "generation": 2},
            "spec": {"replicas": 1, "template": template}}


EXTDNS = rot.normalise_place({"kind": "Secret", "namespace": "external-dns", "name": "external-dns-credentials",
                              "path": "data.pdns-api-key", "provider": "powerdns", "field": "api_token",
                              "restart": "external-dns/external-dns"})
CRON = rot.normalise_place({"kind": "Secret", "namespace": "autoextender", "name": "autoextender-credentials",
                            "path": "data.PDNS_API_KEY", "provider": "powerdns", "field": "api_token"})
KEYNAME = rot.normalise_place({"api_version": "apps/v1", "kind": "Deployment", "namespace": "external-dns",
                               "name": "external-dns", "path": "spec.template.spec.containers.0.args",
                               "prefix": "--rfc2136-tsig-keyname=", "provider": "rfc2136", "field": "tsig_key_name"})
ISSUER = rot.normalise_place({"api_version": "cert-manager.io/v1", "kind": "ClusterIssuer", "name": "le-staging",
                              "path": "spec.acme.solvers.0.dns01.rfc2136.tsigKeyName", "provider": "rfc2136",
                              "field": "tsig_key_name"})


def objects(*objs):
    return dict(((o["apiVersion"], o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]), o) for o in objs)


def test_validate_new_uses_the_rules_of_autoextender_credentials_and_names_keys_only():
    assert rot.validate_new({"powerdns": {"api_token": NEW}, "lab": None}) == {"powerdns": {"api_token": NEW}}
    with pytest.raises(AutoextenderError) as e:
        rot.validate_new({"powerdns": {"api_key": NEW}})
    assert "autoextender_credentials_new.powerdns has an unknown key 'api_key'" in e.value.msg
    assert NEW not in e.value.msg
    with pytest.raises(AutoextenderError) as e:
        rot.validate_new({"powerdns": {"api_token": 12345}})
    assert "autoextender_credentials_new.powerdns.api_token must be a string, not int" in e.value.msg
    assert "12345" not in e.value.msg
    with pytest.raises(AutoextenderError, match="names no credential to rotate"):
        rot.validate_new({})
    with pytest.raises(AutoextenderError, match="unknown provider 'route53'"):
        rot.validate_new({"route53": {"api_token": NEW}})


@pytest.mark.parametrize("held,old,state,holds_old", [
    (OLD, OLD, rot.SWITCH, True),
    (NEW, OLD, rot.CURRENT, False),
    (OTHER, OLD, rot.SWITCH, False),   # neither: switched, but it is not the old value that was in use
    (OTHER, None, rot.SWITCH, True),   # old not known: anything but the new one counts as old
    (None, OLD, rot.ABSENT, False),
])
def test_state_of_a_place(held, old, state, holds_old):
    assert rot.state(held, NEW) == state
    assert rot.holds_old(held, old, NEW) is holds_old


def test_plan_switch_and_prove_a_secret_and_an_absent_one():
    objs = objects(secret("external-dns", "external-dns-credentials", **{"pdns-api-key": OLD}))
    old, new = {"powerdns": {"api_token": OLD}}, {"powerdns": {"api_token": NEW}}
    before = rot.plan([EXTDNS, CRON], objs, old, new)
    assert [(r["place"], r["state"], r["holds_old"]) for r in before] == [
        ("Secret external-dns/external-dns-credentials data.pdns-api-key", "switch", True),
        ("Secret autoextender/autoextender-credentials data.PDNS_API_KEY", "absent", False)]
    switched = rot.switched_objects([EXTDNS, CRON], objs, new)
    assert list(switched) == [("v1", "Secret", "external-dns", "external-dns-credentials")]
    obj = next(iter(switched.values()))
    assert base64.b64decode(obj["data"]["pdns-api-key"]).decode() == NEW
    assert obj["metadata"]["resourceVersion"] == "7"  # a replace at the version read
    assert base64.b64decode(objs[next(iter(switched))]["data"]["pdns-api-key"]).decode() == OLD  # input untouched
    assert rot.restarts([EXTDNS, CRON], before) == ["external-dns/external-dns"]
    after = rot.plan([EXTDNS, CRON], {**objs, **switched}, old, new)
    assert [r["state"] for r in after] == ["current", "absent"]
    report = rot.summary(before, after, {"powerdns": "dns: the zone answers"})
    assert report[0]["switched"] == ["Secret external-dns/external-dns-credentials data.pdns-api-key"]
    assert report[0]["old_in_use"] == [] and "revoke it" in report[0]["revoke"]
    for text in (json.dumps(before), json.dumps(after), json.dumps(report)):
        assert OLD not in text and NEW not in text and b64(OLD) not in text and b64(NEW) not in text


def test_second_run_switches_nothing():
    objs = objects(secret("external-dns", "external-dns-credentials", **{"pdns-api-key": NEW}))
    new = {"powerdns": {"api_token": NEW}}
    before = rot.plan([EXTDNS], objs, {"powerdns": {"api_token": OLD}}, new)
    assert [r["state"] for r in before] == ["current"]
    assert rot.switched_objects([EXTDNS], objs, new) == {}
    assert rot.restarts([EXTDNS], before) == []


def test_old_still_in_use_is_named_and_no_revoke_advice():
    before = [dict(place="Secret a/b data.k", provider="powerdns", field="api_token", state="switch", holds_old=True,
                   restart=None)]
    report = rot.summary(before, before, {})
    assert report[0]["old_in_use"] == ["Secret a/b data.k"] and report[0]["revoke"] is None
    assert report[0]["verified"] == "not verified"


def test_container_argument_and_plain_path():
    dep = deployment(["--provider=rfc2136", "--rfc2136-tsig-keyname=old-key.", "--rfc2136-tsig-axfr"])
    issuer = {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "le-staging"},
              "spec": {"acme": {"solvers": [{"dns01": {"rfc2136": {"tsigKeyName": "old-key."}}}]}}}
    objs = objects(dep, issuer)
    new = {"rfc2136": {"tsig_key_name": "new-key.", "tsig_key_secret": NEW}}
    assert rot.read(dep, KEYNAME) == "old-key."
    switched = rot.switched_objects([KEYNAME, ISSUER], objs, new)
    args = switched[("apps/v1", "Deployment", "external-dns", "external-dns")]["spec"]["template"]["spec"][
        "containers"][0]["args"]
    assert args == ["--provider=rfc2136", "--rfc2136-tsig-keyname=new-key.", "--rfc2136-tsig-axfr"]
    assert rot.read(switched[("cert-manager.io/v1", "ClusterIssuer", None, "le-staging")], ISSUER) == "new-key."
    assert rot.read(deployment(["--provider=pdns"]), KEYNAME) is None  # no such argument: absent


def test_two_places_in_one_object_are_both_written():
    a = dict(EXTDNS, path="data.a", restart=None)
    b = dict(EXTDNS, path="data.b", restart=None)
    objs = objects(secret("external-dns", "external-dns-credentials", a=OLD, b=OLD))
    switched = rot.switched_objects([a, b], objs, {"powerdns": {"api_token": NEW}})
    obj = next(iter(switched.values()))
    assert rot.read(obj, a) == NEW and rot.read(obj, b) == NEW


@pytest.mark.parametrize("raw", ["%%%not-base64", 17, None])
def test_unreadable_values_are_absent(raw):
    obj = secret("external-dns", "external-dns-credentials")
    obj["data"]["pdns-api-key"] = raw
    assert rot.read(obj, EXTDNS) is None


def test_bad_place_names_the_option():
    with pytest.raises(AutoextenderError, match="places: each place needs path"):
        rot.normalise_place({"kind": "Secret", "name": "x", "provider": "powerdns", "field": "api_token"})


def test_restart_annotation_is_a_stable_digest_and_idempotent():
    new = {"powerdns": {"api_token": NEW}}
    value = rot.digest(new)
    assert value == rot.digest(new) and NEW not in value and value != rot.digest({"powerdns": {"api_token": OLD}})
    dep = deployment([])
    patched = rot.with_restart(dep, value)
    assert patched["spec"]["template"]["metadata"]["annotations"][rot.RESTART_ANNOTATION] == value
    assert rot.with_restart(patched, value) is None


@pytest.mark.parametrize("status,done", [
    ({"observedGeneration": 2, "updatedReplicas": 1, "availableReplicas": 1, "replicas": 1}, True),
    ({"observedGeneration": 1, "updatedReplicas": 1, "availableReplicas": 1, "replicas": 1}, False),
    ({"observedGeneration": 2, "updatedReplicas": 1, "availableReplicas": 1, "replicas": 2}, False),  # old pod left
    ({"observedGeneration": 2, "updatedReplicas": 0, "availableReplicas": 1, "replicas": 1}, False),
])
def test_rolled_out(status, done):
    dep = deployment([])
    dep["status"] = status
    assert rot.rolled_out(dep) is done


def test_merged_keeps_the_api_url_and_secret_values_skip_it():
    old = {"lab": {"api_token": OLD, "api_url": "http://127.0.0.1:1"}}
    assert rot.merged(old, {"lab": {"api_token": NEW}}) == {"lab": {"api_token": NEW, "api_url": "http://127.0.0.1:1"}}
    assert sorted(rot.secret_values(old, {"lab": {"api_token": NEW}}, {"x": None}, None)) == sorted([OLD, NEW])


def test_verify_refuses_a_backend_it_cannot_check(monkeypatch):
    with pytest.raises(AutoextenderError, match="nothing to verify it against"):
        rot.verify("cloudflare", {"cloudflare": {"api_token": NEW}}, {"provider": "powerdns", "zone": "x.test"}, True)


def test_verify_cloud_failure_says_nothing_switched_and_hides_the_token(monkeypatch):
    from ansible_collections.talos.autoextender.plugins.module_utils import _doctor
    monkeypatch.setattr(_doctor, "check_cloud", lambda *a, **k: {"ok": False, "detail": "401 Unauthorized",
                                                                 "fix": "replace it", "kind": "auth"})
    with pytest.raises(AutoextenderError) as e:
        rot.verify("lab", {"lab": {"api_token": NEW}}, None, False)
    assert "nothing was switched" in e.value.msg and NEW not in e.value.msg and e.value.kind == "auth"


def test_rotating_to_the_credential_in_use_says_there_is_nothing_to_revoke():
    old = {"powerdns": {"api_token": OLD}, "lab": {"api_token": OLD, "api_url": "http://127.0.0.1:1"}}
    assert rot.unchanged(old, {"powerdns": {"api_token": OLD}, "lab": {"api_token": NEW}}) == ["powerdns"]
    report = rot.summary([], [], {"powerdns": "dns: ok"}, in_use=["powerdns"])
    assert "no old one to revoke" in report[0]["revoke"]


def test_a_conflict_reads_the_object_again_and_writes_on_the_fresh_version():
    from ansible_collections.talos.autoextender.plugins.modules.credential_rotation import replace

    class Api:
        def __init__(self):
            self.version, self.written = 1, []

        def get(self, *key):
            self.version += 1  # a controller wrote the status in between
            return {"metadata": {"resourceVersion": str(self.version)}}

        def replace(self, obj):
            self.written.append(obj["metadata"]["resourceVersion"])
            if len(self.written) < 3:
                raise AutoextenderError("Failed to replace: conflict", kind="api", details={"status": 409})

    api = Api()
    assert replace(api, ("apps/v1", "Deployment", "n", "d"), lambda key, obj: obj) is True
    assert api.written == ["2", "3", "4"]
    assert replace(api, ("apps/v1", "Deployment", "n", "d"), lambda key, obj: None) is False
    with pytest.raises(AutoextenderError):
        replace(Api(), ("v1", "Secret", "n", "s"), lambda key, obj: obj, attempts=2)
