"""The talosconfig client certificate: read, decide, merge; never a key in what is reported."""
import base64
import datetime

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from ansible_collections.talos.autoextender.plugins.module_utils import _talos_client_config as tcc
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError

NOW = datetime.datetime(2026, 12, 7, 9, 0, tzinfo=datetime.timezone.utc)


def pem_cert(not_before):
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "os:admin")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(0xabc).not_valid_before(not_before).not_valid_after(not_before + datetime.timedelta(days=365))
            .sign(key, None))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode(), base64.b64encode(key_pem).decode()


def talosconfig(crt, key, ca="Q0E=", name="home"):
    return {"context": name, "contexts": {name: {"endpoints": ["192.0.2.1"], "nodes": ["192.0.2.1"],
                                                 "ca": ca, "crt": crt, "key": key}}}


def test_reads_the_certificate_and_reports_no_key():
    crt, key = pem_cert(NOW - datetime.timedelta(days=2))
    name, ctx = tcc.context_of(talosconfig(crt, key), "tc")
    cert = tcc.certificate(ctx)
    assert name == "home" and cert["subject"] == "O=os:admin" and cert["serial"] == "abc"
    shown = tcc.report(cert)
    assert shown["expires"] == "2027-12-05T09:00:00+00:00" and key not in str(shown) and crt not in str(shown)


@pytest.mark.parametrize("age_hours,max_age,renew", [(48, 24, True), (2, 24, False), (2, 0, True)])
def test_re_issued_only_when_older_than_max_age(age_hours, max_age, renew):
    crt, key = pem_cert(NOW - datetime.timedelta(hours=age_hours))
    cert = tcc.certificate(tcc.context_of(talosconfig(crt, key), "tc")[1])
    assert tcc.needs_new(cert, max_age, now=NOW) is renew


def test_merge_keeps_endpoints_nodes_and_name():
    old = talosconfig("b2xk", "b2xkLWtleQ==")
    generated = talosconfig("bmV3", "bmV3LWtleQ==", ca="Q0E=", name="cluster")
    merged = tcc.merged(old, "home", generated)
    assert merged["contexts"]["home"] == dict(old["contexts"]["home"], crt="bmV3", key="bmV3LWtleQ==")
    assert old["contexts"]["home"]["crt"] == "b2xk"  # input untouched
    assert yaml.safe_load(tcc.dump(merged)) == merged


def test_same_ca():
    ctx = talosconfig("x", "y", ca="Q0E=")["contexts"]["home"]
    assert tcc.same_ca(ctx, {"certs": {"os": {"crt": "Q0E=\n"}}})
    assert not tcc.same_ca(ctx, {"certs": {"os": {"crt": "T1RIRVI="}}})
    assert not tcc.same_ca(ctx, {})


@pytest.mark.parametrize("text,error", [
    ("{", "is not YAML"), ("contexts: {}", "is not a talosconfig"), ("[1]", "is not a talosconfig")])
def test_bad_files(text, error):
    with pytest.raises(AutoextenderError, match=error):
        tcc.load(text, "/x/talosconfig")


def test_a_context_without_a_certificate():
    config = {"context": "a", "contexts": {"a": {"endpoints": ["192.0.2.1"]}}}
    with pytest.raises(AutoextenderError, match="no context 'a' with ca, crt and key"):
        tcc.context_of(config, "tc")
    with pytest.raises(AutoextenderError, match="cannot be read"):
        tcc.certificate({"crt": "bm90IGEgY2VydA=="})
