"""credentials_retired: a value a rotation replaced is recorded on its Secret, and the roles refuse to write it back."""
import base64
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.talos.autoextender.plugins.filter import credentials_retired as plugin
from ansible_collections.talos.autoextender.plugins.module_utils import _credential_rotation as rot
from ansible_collections.talos.autoextender.plugins.module_utils import _credentials_retired as retired

OLD, NEW, NEWER = "old-token-0123456789", "new-token-9876543210", "newer-token-5555555555"
PLACE = rot.normalise_place({"kind": "Secret", "namespace": "external-dns", "name": "external-dns-credentials",
                             "path": "data.pdns-api-key", "provider": "powerdns", "field": "api_token"})
KEY = ("v1", "Secret", "external-dns", "external-dns-credentials")


def secret(**data):
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"namespace": "external-dns", "name": "external-dns-credentials",
                         "annotations": {"keep": "me"}},
            "data": dict((k, base64.b64encode(v.encode()).decode()) for k, v in data.items())}


def rotated(obj, value):
    return rot.switched_objects([PLACE], {KEY: obj}, {"powerdns": {"api_token": value}})[KEY]


def test_the_filter_is_registered():
    assert plugin.FilterModule().filters() == {"credentials_retired": plugin.credentials_retired}


def test_a_switch_records_the_old_value_and_the_filter_refuses_it_only():
    obj = rotated(secret(**{"pdns-api-key": OLD}), NEW)
    annotations = obj["metadata"]["annotations"]
    assert annotations["keep"] == "me"
    key, mark, date = annotations[retired.ANNOTATION].split(":")
    assert key == "pdns-api-key" and len(mark) == 16 and date == retired.today()
    text = json.dumps(obj["metadata"])
    assert OLD not in text and NEW not in text
    assert plugin.credentials_retired(obj, {"pdns-api-key": OLD}) == [{"key": "pdns-api-key", "retired": date}]
    assert plugin.credentials_retired(obj, {"pdns-api-key": NEW}) == []
    # the record is per data key: the same value under another key is not refused
    assert plugin.credentials_retired(obj, {"tsig-secret": OLD}) == []


def test_nothing_to_refuse_without_a_secret_or_a_record():
    assert plugin.credentials_retired(None, {"pdns-api-key": OLD}) == []
    assert plugin.credentials_retired({}, {"pdns-api-key": OLD}) == []
    assert plugin.credentials_retired(secret(**{"pdns-api-key": OLD}), {"pdns-api-key": OLD}) == []
    assert plugin.credentials_retired(rotated(secret(**{"pdns-api-key": OLD}), NEW), {"pdns-api-key": None}) == []


def test_a_second_rotation_keeps_both_and_a_rotation_back_clears_the_record():
    obj = rotated(rotated(secret(**{"pdns-api-key": OLD}), NEW), NEWER)
    assert [r["key"] for r in plugin.credentials_retired(obj, {"pdns-api-key": OLD})] == ["pdns-api-key"]
    assert [r["key"] for r in plugin.credentials_retired(obj, {"pdns-api-key": NEW})] == ["pdns-api-key"]
    back = rotated(obj, OLD)
    assert plugin.credentials_retired(back, {"pdns-api-key": OLD}) == []
    assert plugin.credentials_retired(back, {"pdns-api-key": NEWER}) != []


def test_at_most_three_records_per_key_the_newest_kept():
    obj = secret(**{"pdns-api-key": "v0", "other": "x"})
    obj = retired.record(obj, "other", "x0", "x")
    for n in range(5):
        obj = retired.record(obj, "pdns-api-key", "v%d" % n, "v%d" % (n + 1), date="2026-12-0%d" % (n + 1))
    items = obj["metadata"]["annotations"][retired.ANNOTATION].split()
    dates = [i.split(":")[2] for i in items if i.startswith("pdns-api-key:")]
    assert dates == ["2026-12-03", "2026-12-04", "2026-12-05"]
    assert any(i.startswith("other:") for i in items)
    assert plugin.credentials_retired(obj, {"pdns-api-key": "v1"}) == []
    newest = {"key": "pdns-api-key", "retired": "2026-12-05"}
    assert plugin.credentials_retired(obj, {"pdns-api-key": "v4"}) == [newest]


def test_a_malformed_record_is_ignored():
    obj = secret()
    obj["metadata"]["annotations"][retired.ANNOTATION] = "garbage ::: pdns-api-key:%s:2026-12-01" % (
        retired.fingerprint(OLD))
    found = plugin.credentials_retired(obj, {"pdns-api-key": OLD})
    assert found == [{"key": "pdns-api-key", "retired": "2026-12-01"}]


def test_non_secret_places_record_nothing():
    issuer = {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "le-staging"},
              "spec": {"acme": {"solvers": [{"dns01": {"rfc2136": {"tsigKeyName": "old-key."}}}]}}}
    place = rot.normalise_place({"api_version": "cert-manager.io/v1", "kind": "ClusterIssuer", "name": "le-staging",
                                 "path": "spec.acme.solvers.0.dns01.rfc2136.tsigKeyName", "provider": "rfc2136",
                                 "field": "tsig_key_name"})
    key = ("cert-manager.io/v1", "ClusterIssuer", None, "le-staging")
    out = rot.switched_objects([place], {key: issuer}, {"rfc2136": {"tsig_key_name": "new-key."}})[key]
    assert "annotations" not in out["metadata"]


@pytest.mark.parametrize("secret_in,values,message", [
    ([], {}, "the input must be the Secret"),
    ({}, ["pdns-api-key"], "values must be"),
])
def test_bad_input_is_named(secret_in, values, message):
    with pytest.raises(AnsibleFilterError, match=message):
        plugin.credentials_retired(secret_in, values)
