"""_join_token: the join token found and replaced on its own line of a bundle or a controlplane config."""
import pytest
import yaml

from ansible_collections.talos.autoextender.plugins.module_utils import _join_token as jt
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError

OLD, NEW = "q1w2e3.r4t5y6u7i8o9p0a1", "z9x8c7.v6b5n4m3l2k1j0h9"
BUNDLE = """cluster:
    id: nM5B_WVaQd9csF-ZfpBSAGJf7CufR4lYY1vvLHANtBA=
    secret: mZnDleQtg1mEc2lENUAYTcqoVttAuZt17mkMk6vqg4Y=
secrets:
    bootstraptoken: abcdef.0123456789abcdef
    secretboxencryptionsecret: c2VjcmV0Ym94c2VjcmV0Ym94c2VjcmV0Ym94c2VjcmU=
trustdinfo:
    token: %s
certs:
    etcd: {crt: Y3J0, key: a2V5}
    k8s: {crt: Y3J0, key: a2V5}
    k8saggregator: {crt: Y3J0, key: a2V5}
    k8sserviceaccount: {key: a2V5}
    os: {crt: Y3J0, key: a2V5}
""" % OLD
CONTROLPLANE = """# the home cluster's first control plane
version: v1alpha1
machine:
    type: controlplane
    token: "%s" # trustd's token
    ca: {crt: Y3J0, key: a2V5}
cluster:
    token: abcdef.0123456789abcdef
---
apiVersion: v1alpha1
kind: HostnameConfig
hostname: home-cp-1
""" % OLD


def test_a_bundle_changes_only_on_the_token_line():
    kind, old, out = jt.replace(BUNDLE, "secrets.yaml", NEW)
    assert (kind, old) == (jt.BUNDLE, OLD)
    assert out == BUNDLE.replace(OLD, NEW)


def test_a_controlplane_config_keeps_comments_quotes_and_other_documents():
    kind, old, out = jt.replace(CONTROLPLANE, "cp.yaml", NEW)
    assert (kind, old) == (jt.CONTROLPLANE_CONFIG, OLD)
    assert out == CONTROLPLANE.replace(OLD, NEW)
    assert "# trustd's token" in out and "kind: HostnameConfig" in out
    # the bootstrap token stays
    assert list(yaml.safe_load_all(out))[0]["cluster"]["token"] == "abcdef.0123456789abcdef"


def test_a_file_that_holds_the_token_is_returned_as_it_is():
    assert jt.replace(BUNDLE.replace(OLD, NEW), "secrets.yaml", NEW) == (jt.BUNDLE, NEW, BUNDLE.replace(OLD, NEW))


def test_the_token_on_two_lines_is_refused_without_the_value():
    text = BUNDLE + "extra:\n    token: %s\n" % OLD
    with pytest.raises(AutoextenderError) as e:
        jt.replace(text, "secrets.yaml", NEW)
    assert "on 2 'token:' lines" in e.value.msg and OLD not in e.value.msg


def test_a_worker_config_is_not_a_source_of_the_token():
    with pytest.raises(AutoextenderError, match="not a controlplane config"):
        jt.replace(CONTROLPLANE.replace("type: controlplane", "type: worker"), "w.yaml", NEW)


def test_a_token_in_a_flow_mapping_cannot_be_replaced_on_its_own_line():
    text = BUNDLE.replace("trustdinfo:\n    token: %s\n" % OLD, "trustdinfo: {token: %s}\n" % OLD)
    with pytest.raises(AutoextenderError) as e:
        jt.replace(text, "secrets.yaml", NEW)
    assert "on 0 'token:' lines" in e.value.msg and "by hand" in e.value.msg


@pytest.mark.parametrize("token", ["", "abc.def", "ABCDEF.0123456789abcdef", "abcdef0123456789abcdefg",
                                   "abcdef.0123456789abcde!", " abcdef.0123456789abcdef"])
def test_badly_shaped_tokens_are_refused_without_echoing_them(token):
    with pytest.raises(AutoextenderError) as e:
        jt.check_token(token)
    assert e.value.details == {"option": "token"} and (not token.strip() or token.strip() not in e.value.msg)


def test_fingerprints_tell_tokens_apart_without_showing_them():
    assert jt.fingerprint(OLD) != jt.fingerprint(NEW) and OLD not in jt.fingerprint(OLD)
    assert jt.fingerprint(OLD).startswith("sha256:") and len(jt.fingerprint(OLD)) == 19
