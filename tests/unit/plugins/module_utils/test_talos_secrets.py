"""Secrets bundle helpers against the recorded real talosctl v1.13.9 config and bundle."""
import os

import pytest
import yaml

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._talos_secrets import (
    parse_bundle,
    secret_values,
    v1alpha1_document,
    write_private_file,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "talosctl", "v1.13.9")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def test_v1alpha1_document_is_sliced_from_a_multi_document_config():
    text = fixture("controlplane.yaml.txt")
    doc, data = v1alpha1_document(text, "cp.yaml")
    assert "kind: HostnameConfig" in text and "HostnameConfig" not in doc
    assert doc == text[:len(doc) - 1] + "\n"  # the exact original text of the first document
    assert data == list(yaml.safe_load_all(text))[0]


def test_v1alpha1_document_found_when_it_is_not_first():
    first, second = fixture("controlplane.yaml.txt").split("\n---\n")
    doc, data = v1alpha1_document("# leading comment\n---\n" + second + "\n---\n" + first, "cp.yaml")
    assert data["machine"]["type"] == "controlplane" and "HostnameConfig" not in doc


@pytest.mark.parametrize("text,match", [
    ("apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: a\n", "found 0"),
    ("version: v1alpha1\nmachine: {type: controlplane}\n---\nversion: v1alpha1\nmachine: {type: controlplane}\n",
     "found 2"),
    ("version: v1alpha1\nmachine:\n  type: worker\n  token: SECRET-abcdefgh\n", "not a controlplane config"),
    ("version: v1alpha1\nmachine:\n  token: [SECRET-abcdefgh\n", "not valid YAML: .* at line"),
])
def test_bad_controlplane_configs_fail_without_echoing_content(text, match):
    with pytest.raises(AutoextenderError, match=match) as exc:
        v1alpha1_document(text, "cp.yaml")
    assert exc.value.kind == "validation"
    assert "SECRET-abcdefgh" not in repr((exc.value.msg, exc.value.details))


def test_real_bundle_is_valid_and_an_incomplete_one_names_missing_fields():
    data = parse_bundle(fixture("secrets_bundle.yaml.txt"), "s.yaml")
    assert data["cluster"]["id"]
    broken = dict(data, certs=dict(data["certs"], os={"crt": data["certs"]["os"]["crt"], "key": ""}))
    del broken["trustdinfo"]
    with pytest.raises(AutoextenderError) as exc:
        parse_bundle(yaml.safe_dump(broken), "s.yaml")
    assert exc.value.details["missing"] == ["trustdinfo.token", "certs.os.key"]
    assert data["certs"]["os"]["crt"] not in exc.value.msg
    with pytest.raises(AutoextenderError, match="not a YAML mapping"):
        parse_bundle("- a\n", "s.yaml")


def test_secret_values_of_a_config_and_of_a_bundle():
    _doc, data = v1alpha1_document(fixture("controlplane.yaml.txt"), "cp.yaml")
    found = secret_values(data)
    assert data["machine"]["token"] in found and data["cluster"]["secret"] in found
    assert data["machine"]["ca"]["key"] in found and "controlplane" not in found
    bundle = parse_bundle(fixture("secrets_bundle.yaml.txt"), "s.yaml")
    assert bundle["secrets"]["bootstraptoken"] in secret_values(bundle, all_strings=True)


def test_write_private_file_is_0600_and_replaces_atomically(tmp_path):
    dest = tmp_path / "secrets.yaml"
    dest.write_text("old")
    dest.chmod(0o644)
    write_private_file(str(dest), b"new")
    assert dest.read_bytes() == b"new" and dest.stat().st_mode & 0o777 == 0o600
    assert os.listdir(str(tmp_path)) == ["secrets.yaml"]
    with pytest.raises(AutoextenderError) as exc:
        write_private_file(str(tmp_path / "missing" / "s.yaml"), b"x")
    assert exc.value.kind == "io"
