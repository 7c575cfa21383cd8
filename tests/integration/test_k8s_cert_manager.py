"""The cert_manager role on a kube-apiserver of its own, with the real cert-manager v1.21.1 CRDs.

The real cert-manager.yaml cannot be fetched here (no internet), and its
controllers could not run anyway. The install path is tested with a local
stand-in "manifest": the cert-manager namespace and the six real CRDs, with
its own checksum, given through the air-gapped override; the "already
present" path then sees those CRDs and installs nothing.
"""
import glob
import hashlib
import os

import pytest
import yaml

from tests.conftest import spec_path
from tests.support.ansible import run_playbook
from tests.support.fixtures_k8s import role_results
from tests.support.k8s_objects import Kube

PLAYBOOK = os.path.join(os.path.dirname(__file__), "playbooks", "k8s_cert_manager.yml")
ACME = {"staging": "https://acme.invalid/staging/directory", "production": "https://acme.invalid/production/directory"}
TOKEN = "cf-token-9b1e4c7d2a"


@pytest.fixture(scope="module")
def bed(private_kube, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cert-manager")
    bundle = tmp / "cert-manager-standin.yaml"
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cert-manager"}}]
    for path in sorted(glob.glob(os.path.join(spec_path("crds", "cert-manager"), "*.yaml"))):
        with open(path) as f:
            docs.extend(d for d in yaml.safe_load_all(f) if d)
    bundle.write_text(yaml.safe_dump_all(docs))
    checksum = "sha256:" + hashlib.sha256(bundle.read_bytes()).hexdigest()

    def run(check=False, env=None, **extra):
        extra_vars = dict({
            "cert_manager_kubeconfig": private_kube.kubeconfig,
            "cert_manager_acme_servers": ACME,
            "cert_manager_acme_email": "ops@example.com",
            "cert_manager_manifest": {"name": "cert-manager-standin.yaml", "url": "https://unused.invalid/",
                                      "checksum": checksum},
            "cert_manager_manifest_src": str(bundle),
            "cert_manager_cache_dir": str(tmp / "cache"),
            "autoextender_dns": {"provider": "cloudflare", "zone": "example.com"},
        }, **extra)
        return run_playbook(PLAYBOOK, extra_vars, check=check, env=env)

    return run, Kube(private_kube.kubeconfig)


def fact(proc):
    return role_results(proc)["Report what cert-manager looks like"]["ansible_facts"]["cert_manager_result"]


def test_install_when_absent_then_detect_it_as_present(bed):
    run, kube = bed
    crd = ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "certificates.cert-manager.io")

    # A manifest whose checksum does not match is never applied.
    proc = run(cert_manager_manifest={"name": "x.yaml", "url": "unused", "checksum": "sha256:" + "0" * 64})
    assert proc.returncode != 0 and "did not match" in proc.stdout
    assert kube.get(*crd) is None

    proc = run(check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert role_results(proc)["Say what check mode could not dry-run"]["changed"] is True
    assert kube.get(*crd) is None  # check mode installed nothing

    proc = run()
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert fact(proc)["installed"] is True and fact(proc)["present_before"] is False
    for name in ["certificates", "clusterissuers", "issuers", "certificaterequests"]:
        assert kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name + ".cert-manager.io")
    for key, url in ACME.items():
        issuer = kube.get("cert-manager.io/v1", "ClusterIssuer", "letsencrypt-" + key)
        acme = issuer["spec"]["acme"]
        assert acme["server"] == url and acme["email"] == "ops@example.com"
        assert acme["privateKeySecretRef"]["name"] == "letsencrypt-%s-account-key" % key
        assert acme["solvers"] == [{"http01": {"ingress": {"ingressClassName": "edge", "serviceType": "ClusterIP"}}}]

    # Present now: nothing is fetched (the source does not even exist) and nothing changes.
    proc = run(cert_manager_manifest_src="/nonexistent/cert-manager.yaml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert fact(proc)["present_before"] is True and fact(proc)["installed"] is False
    assert not any(r.get("changed") for r in role_results(proc).values())
    proc = run(check=True)
    assert proc.returncode == 0 and not any(r.get("changed") for r in role_results(proc).values())

    # The ACME URL is a variable: changing it updates the issuer in place.
    proc = run(cert_manager_acme_servers={"staging": "https://acme.invalid/v2/staging"})
    assert proc.returncode == 0
    assert kube.get("cert-manager.io/v1", "ClusterIssuer", "letsencrypt-staging")["spec"]["acme"]["server"] == \
        "https://acme.invalid/v2/staging"


def test_dns01_with_cloudflare_keeps_the_token_secret(bed):
    run, kube = bed
    proc = run(cert_manager_solver="dns01", env={"CLOUDFLARE_API_TOKEN": TOKEN})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert TOKEN not in proc.stdout + proc.stderr
    secret = kube.core.read_namespaced_secret("autoextender-dns01", "cert-manager")
    import base64
    assert base64.b64decode(secret.data["api-token"]).decode() == TOKEN
    solver = kube.get("cert-manager.io/v1", "ClusterIssuer", "letsencrypt-production")["spec"]["acme"]["solvers"][0]
    assert solver["selector"] == {"dnsZones": ["example.com"]}
    assert solver["dns01"]["cloudflare"]["apiTokenSecretRef"] == {"name": "autoextender-dns01", "key": "api-token"}


def test_dns01_with_rfc2136_and_without_a_secret(bed):
    run, kube = bed
    settings = {"nameserver": "192.0.2.53:53", "tsig_key_name": "acme-key", "tsig_algorithm": "HMACSHA512"}
    proc = run(cert_manager_solver="dns01", cert_manager_dns01=settings, cert_manager_dns01_secret_name="no-such-secret",
               autoextender_dns={"provider": "rfc2136", "zone": "example.com"}, env={"RFC2136_TSIG_SECRET": ""})
    assert proc.returncode != 0
    assert kube.get("cert-manager.io/v1", "ClusterIssuer", "letsencrypt-production")["spec"]["acme"]["solvers"][0].get(
        "dns01", {}).get("rfc2136") is None  # the missing Secret stopped it before the issuers changed
    proc = run(cert_manager_solver="dns01", cert_manager_dns01=settings,
               autoextender_dns={"provider": "rfc2136", "zone": "example.com"},
               env={"RFC2136_TSIG_SECRET": "c2VjcmV0LXRzaWc="})
    assert proc.returncode == 0, proc.stdout[-3000:]
    rfc = kube.get("cert-manager.io/v1", "ClusterIssuer", "letsencrypt-staging")["spec"]["acme"]["solvers"][0]["dns01"]["rfc2136"]
    assert rfc == {"nameserver": "192.0.2.53:53", "tsigKeyName": "acme-key", "tsigAlgorithm": "HMACSHA512",
                   "tsigSecretSecretRef": {"name": "autoextender-dns01", "key": "tsig-secret"}}


def test_dns01_for_a_provider_without_native_support_needs_a_webhook(bed):
    run, kube = bed
    before = kube.get("cert-manager.io/v1", "ClusterIssuer", "letsencrypt-production")["metadata"]["resourceVersion"]
    proc = run(cert_manager_solver="dns01", autoextender_dns={"provider": "hetzner", "zone": "example.com"})
    assert proc.returncode != 0
    assert "install a cert-manager DNS01 webhook" in proc.stdout
    assert kube.get("cert-manager.io/v1", "ClusterIssuer", "letsencrypt-production")["metadata"]["resourceVersion"] == before

    webhook = {"webhook": {"group_name": "acme.example.org", "solver_name": "hetzner", "config": {"zone": "example.com"}}}
    proc = run(cert_manager_solver="dns01", cert_manager_dns01=webhook,
               autoextender_dns={"provider": "hetzner", "zone": "example.com"})
    assert proc.returncode == 0, proc.stdout[-3000:]
    hook = kube.get("cert-manager.io/v1", "ClusterIssuer", "letsencrypt-production")["spec"]["acme"]["solvers"][0]["dns01"]
    assert hook == {"webhook": {"groupName": "acme.example.org", "solverName": "hetzner", "config": {"zone": "example.com"}}}
