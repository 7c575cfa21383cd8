"""Real certificates: the cert_manager role's ClusterIssuer, the real cert-manager controller, Pebble.

Per DNS server (tests/support/fixtures_tls.py: PowerDNS with a TSIG key, BIND): the role
points a ClusterIssuer at Pebble (trusting Pebble's CA through cert_manager_acme_ca_bundle)
with DNS-01 through RFC 2136; the controller registers an ACME account, answers the DNS-01
challenge with a TSIG-signed update, Pebble reads the TXT record from that server and issues.
The Secret's certificate must chain to Pebble's root and name the host. cert-manager waits
60 s after it sees the record (upstream, not configurable), so each issuance takes a minute.
"""
import base64
import os
import time
import uuid

import pytest

from tests.conftest import spec_path
from tests.support.ansible import run_playbook
from tests.support.fixtures_dns import dns_answers
from tests.support.fixtures_tls import wait_condition

PLAYBOOKS = os.path.join(os.path.dirname(__file__), "playbooks")
CERT = ("cert-manager.io/v1", "Certificate")
ISSUER = ("cert-manager.io/v1", "ClusterIssuer")


@pytest.fixture
def namespace(kube):
    name = kube.namespace("ae-tls-" + uuid.uuid4().hex[:6])
    yield name
    kube.delete_namespace(name)


def apply_role(acme_bed, kube_cluster, **overrides):
    extra = dict(acme_bed.role_vars(kube_cluster.kubeconfig), **overrides)
    return run_playbook(os.path.join(PLAYBOOKS, "k8s_cert_manager.yml"), extra)


def ready_issuer(kube, acme_bed, kube_cluster):
    proc = apply_role(acme_bed, kube_cluster)
    assert proc.returncode == 0, proc.stdout[-3000:]
    name = "pebble-" + acme_bed.label
    issuer = wait_condition(kube, *ISSUER, name, timeout=60, log=acme_bed.controller_log)
    # cert-manager registered an account at Pebble over HTTPS it trusted through the bundle
    assert issuer["status"]["acme"]["uri"].startswith(acme_bed.pebble.directory.rsplit("/", 1)[0])
    return name


def test_a_certificate_is_issued_through_dns01(kube, kube_cluster, acme_bed, namespace, record_property):
    issuer = ready_issuer(kube, acme_bed, kube_cluster)
    spec = kube.get(*ISSUER, issuer)["spec"]["acme"]
    assert base64.b64decode(spec["caBundle"]).decode() == acme_bed.pebble.tls_ca_pem
    assert spec["solvers"][0]["dns01"]["rfc2136"]["nameserver"] == acme_bed.nameserver

    host = acme_bed.unique()
    certificate = {"apiVersion": CERT[0], "kind": CERT[1], "metadata": {"name": "www", "namespace": namespace},
                   "spec": {"secretName": "www-tls", "dnsNames": [host],
                            "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer}}}
    start = time.monotonic()
    kube.dyn.resources.get(api_version=CERT[0], kind=CERT[1]).create(body=certificate, namespace=namespace)
    wait_condition(kube, *CERT, "www", namespace, timeout=240, log=acme_bed.controller_log)
    elapsed = time.monotonic() - start
    record_property("certificate_ready_seconds_" + acme_bed.label, round(elapsed, 1))
    print("%s: Certificate Ready %.1f s after it was created" % (acme_bed.label, elapsed))

    secret = kube.core.read_namespaced_secret("www-tls", namespace).to_dict()
    leaf = acme_bed.verify(secret, host)
    assert leaf.issuer != leaf.subject and "Pebble" in leaf.issuer.rfc4514_string()
    # the challenge's TXT record was removed once the order was valid
    ns_host, ns_port = acme_bed.nameserver.rsplit(":", 1)
    deadline = time.monotonic() + 30
    while dns_answers(ns_host, int(ns_port), "_acme-challenge.%s." % host, "TXT") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert dns_answers(ns_host, int(ns_port), "_acme-challenge.%s." % host, "TXT") == []


@pytest.mark.parametrize("acme_bed", ["powerdns"], indirect=True)
def test_expose_tls_ends_in_an_issued_secret(kube, kube_cluster, acme_bed, namespace, tmp_path):
    issuer = ready_issuer(kube, acme_bed, kube_cluster)
    kube.service(namespace, "app", 8080)
    host = acme_bed.unique("app")
    name = "edge-" + host.replace(".", "-")

    def expose(entries):
        return run_playbook(os.path.join(PLAYBOOKS, "k8s_expose.yml"), {
            "expose_kubeconfig": kube_cluster.kubeconfig,
            "expose_manifests_dir": spec_path("crds", "external-dns", "v0.21.0"),
            "expose_cache_dir": str(tmp_path / "cache"),
            "expose_cluster_issuer": issuer,
            "autoextender_dns": {"provider": "powerdns", "zone": acme_bed.zone + ".", "edge_name": "edge", "ttl": 30},
            "autoextender_expose": entries,
        })

    proc = expose([{"host": host, "namespace": namespace, "service": "app", "port": 8080, "protocol": "http",
                    "tls": True}])
    try:
        assert proc.returncode == 0, proc.stdout[-3000:]
        wait_condition(kube, *CERT, name, namespace, timeout=240, log=acme_bed.controller_log)
        ingress = kube.get("networking.k8s.io/v1", "Ingress", name, namespace)
        secret_name = ingress["spec"]["tls"][0]["secretName"]
        secret = kube.core.read_namespaced_secret(secret_name, namespace).to_dict()
        acme_bed.verify(secret, host)  # the Secret the Ingress names holds the issued certificate
        assert secret["metadata"]["labels"]["autoextender.io/expose"] == name  # secretTemplate
    finally:
        assert expose([]).returncode == 0  # the role removes what it made


@pytest.mark.parametrize("acme_bed", ["powerdns"], indirect=True)
def test_without_the_ca_bundle_cert_manager_does_not_trust_the_acme_server(kube, kube_cluster, acme_bed):
    proc = apply_role(acme_bed, kube_cluster, cert_manager_acme_ca_bundle="", cert_manager_issuer_prefix="untrusted")
    assert proc.returncode == 0, proc.stdout[-3000:]
    name = "untrusted-" + acme_bed.label
    deadline = time.monotonic() + 60
    message = ""
    while "x509" not in message and time.monotonic() < deadline:
        conditions = (kube.get(*ISSUER, name).get("status") or {}).get("conditions") or []
        message = " ".join(c["message"] for c in conditions if c["type"] == "Ready" and c["status"] == "False")
        time.sleep(0.5)
    assert "certificate signed by unknown authority" in message, message


@pytest.mark.parametrize("acme_bed", ["powerdns"], indirect=True)
def test_a_ca_bundle_that_is_not_pem_is_refused(kube, kube_cluster, acme_bed):
    proc = apply_role(acme_bed, kube_cluster, cert_manager_acme_ca_bundle="MIIB-not-a-pem",
                      cert_manager_issuer_prefix="badbundle")
    assert proc.returncode != 0
    assert ("cert_manager_acme_ca_bundle must be empty or PEM certificates (-----BEGIN CERTIFICATE----- ... "
            "-----END CERTIFICATE-----); got 14 characters starting with \\\"MIIB-not-a-pem\\\"") in proc.stdout
    assert kube.get(*ISSUER, "badbundle-" + acme_bed.label) is None
