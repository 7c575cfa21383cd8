"""ExternalDNS for real: the external_dns role's manifests on the real kube-apiserver, and the real
external-dns binary run with the flags of the Deployment the role applied, against the real PowerDNS.

One writer per name (DESIGN.md section 4): the collection's dns_record_set owns edge.<zone>;
ExternalDNS makes each exposed hostname a CNAME to it and never touches it.
"""
import hashlib
import os

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.support.ansible import run_playbook
from tests.support.fixtures_externaldns import apply_role, deployed_command, out_of_cluster, run_external_dns

OWNER = "home"
EDGE_IPS = ["192.0.2.10", "192.0.2.11"]
TARGET = "external-dns.alpha.kubernetes.io/target"


def answer(powerdns, name, rdtype):
    """``(rcode, sorted answer texts)`` of a real DNS query to PowerDNS."""
    resp = dns.query.udp(dns.message.make_query(name, rdtype), powerdns.host, port=powerdns.dns_port, timeout=3)
    return resp.rcode(), sorted(rr.to_text() for rrset in resp.answer for rr in rrset if rrset.rdtype == rdtype)


def zone_rrsets(powerdns, zone):
    """``{(name, type): sorted contents}`` of the whole zone, from the PowerDNS API."""
    data = powerdns.api("GET", "/zones/" + zone)
    return dict(((r["name"], r["type"]), sorted(x["content"] for x in r["records"])) for r in data["rrsets"])


def publish_edge(tmp_path, powerdns, zone):
    """The edge A set, written the way the collection writes it: dns_record_set with owner ``home``."""
    playbook = tmp_path / "edge.yml"
    playbook.write_text(
        "- name: Publish the edge set\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Edge record set\n      talos.autoextender.dns_record_set:\n"
        "        provider: powerdns\n        zone: %s\n        api_url: %s\n        owner: %s\n"
        "        name: edge\n        type: A\n        ttl: 60\n        values: %s\n"
        % (zone, powerdns.api_url, OWNER, EDGE_IPS))
    proc = run_playbook(str(playbook), env={"PDNS_API_KEY": powerdns.api_key})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def role_vars(kube_cluster, powerdns, zone, namespace, **extra):
    out = {
        "external_dns_kubeconfig": kube_cluster.kubeconfig,
        "external_dns_namespace": namespace,
        "external_dns_provider": "powerdns",
        "external_dns_zone": zone.rstrip("."),
        "external_dns_owner_id": OWNER,
        "external_dns_pdns_server": powerdns.api_url,
        "external_dns_pdns_api_key": powerdns.api_key,
        "external_dns_interval": "10s",
        "external_dns_wait": False,  # no kubelet here: the pod never runs in this API server
    }
    out.update(extra)
    return out


def ingress(name, host, target):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "annotations": {TARGET: target}},
            "spec": {"rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                "service": {"name": "web", "port": {"number": 80}}}}]}}]}}


def test_shipped_crd_is_the_official_v0_21_0_file():
    from tests.conftest import REPO, spec_path
    shipped = os.path.join(REPO, "roles", "external_dns", "files", "dnsendpoints.externaldns.k8s.io.yaml.txt")
    with open(shipped, "rb") as a, open(spec_path("crds", "external-dns", "v0.21.0",
                                                  "dnsendpoints.externaldns.k8s.io.yaml"), "rb") as b:
        assert hashlib.sha256(a.read()).hexdigest() == hashlib.sha256(b.read()).hexdigest()


def test_role_refuses_an_unsupported_provider(tmp_path, kube_cluster, powerdns):
    proc, dummy = apply_role(tmp_path, role_vars(kube_cluster, powerdns, "x.test.", "extdns-bad",
                                                 external_dns_provider="hetzner"))
    assert proc.returncode != 0
    assert "webhook" in proc.stdout and "value of external_dns_provider must be one of" in proc.stdout


def test_role_refuses_missing_credentials(tmp_path, kube_cluster, powerdns):
    proc, dummy = apply_role(tmp_path, role_vars(kube_cluster, powerdns, "x.test.", "extdns-bad",
                                                 external_dns_pdns_api_key=""))
    assert proc.returncode != 0
    assert "these settings: external_dns_pdns_api_key." in proc.stdout
    assert powerdns.api_key not in proc.stdout


def test_external_dns_publishes_cnames_and_leaves_the_edge_set_alone(
        tmp_path, extdns_kube, kube_cluster, powerdns, extdns_zone, external_dns_bin, free_metrics_port):
    kube, zone = extdns_kube, extdns_zone
    namespace = "extdns-" + zone.split(".")[0].split("-")[1]
    publish_edge(tmp_path, powerdns, zone)
    edge_before = zone_rrsets(powerdns, zone)
    assert edge_before[("edge." + zone, "A")] == EDGE_IPS

    # The role: check mode first (nothing exists yet), then apply, then apply again (no change).
    proc, dummy = apply_role(tmp_path, role_vars(kube_cluster, powerdns, zone, namespace), check=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert kube.get("/api/v1/namespaces/%s/secrets/external-dns-credentials" % namespace, missing_ok=True) is None
    proc, results = apply_role(tmp_path, role_vars(kube_cluster, powerdns, zone, namespace))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert powerdns.api_key not in proc.stdout, "the API key leaked into the output"
    assert results["Apply the credentials Secret"].get("censored"), "the Secret task must run with no_log"
    proc, results = apply_role(tmp_path, role_vars(kube_cluster, powerdns, zone, namespace))
    assert proc.returncode == 0
    assert [name for name, res in results.items() if res.get("changed")] == []

    # What the API server holds: the CRD, the RBAC objects, a Deployment whose secret comes by reference.
    assert kube.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/dnsendpoints.externaldns.k8s.io")
    args, env, deployment = deployed_command(kube, namespace, "external-dns")
    assert powerdns.api_key not in str(deployment), "the API key must not be in the Deployment spec"
    assert env == {"EXTERNAL_DNS_PDNS_API_KEY": powerdns.api_key}
    for flag in ("--provider=pdns", "--policy=sync", "--registry=txt", "--txt-owner-id=home",
                 "--txt-prefix=extdns-%{record_type}.", "--domain-filter=" + zone.rstrip("."),
                 "--exclude-domains=edge." + zone.rstrip("."), "--managed-record-types=CNAME",
                 "--source=ingress", "--source=crd", "--pdns-server=" + powerdns.api_url):
        assert flag in args

    # Run ExternalDNS as the role's ServiceAccount (its RBAC, not the admin's).
    kubeconfig = kube.service_account_kubeconfig(namespace, "external-dns", str(tmp_path / "sa.kubeconfig"))
    argv = out_of_cluster(args, kubeconfig, free_metrics_port)
    log = str(tmp_path / "external-dns.log")

    apps = namespace + "-apps"
    kube.ensure_namespace(apps)
    edge = "edge." + zone.rstrip(".")
    kube.request("POST", "/apis/networking.k8s.io/v1/namespaces/%s/ingresses" % apps,
                 ingress("web", "app." + zone.rstrip("."), edge))
    # Someone asks ExternalDNS for the edge name itself: it must not act on it.
    kube.request("POST", "/apis/networking.k8s.io/v1/namespaces/%s/ingresses" % apps,
                 ingress("greedy", edge, "elsewhere.example.net"))
    kube.request("POST", "/apis/externaldns.k8s.io/v1alpha1/namespaces/%s/dnsendpoints" % apps, {
        "apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint", "metadata": {"name": "tcp"},
        "spec": {"endpoints": [{"dnsName": "tcp." + zone.rstrip("."), "recordType": "CNAME", "recordTTL": 60,
                                "targets": [edge]}]}})

    proc = run_external_dns(argv, env, log)
    assert proc.returncode == 0, open(log).read()[-4000:]

    assert answer(powerdns, "app." + zone, dns.rdatatype.CNAME) == (dns.rcode.NOERROR, [edge + "."])
    assert answer(powerdns, "tcp." + zone, dns.rdatatype.CNAME) == (dns.rcode.NOERROR, [edge + "."])
    rcode, txt = answer(powerdns, "extdns-cname.app." + zone, dns.rdatatype.TXT)
    assert rcode == dns.rcode.NOERROR and "external-dns/owner=home" in txt[0]
    after = zone_rrsets(powerdns, zone)
    # The edge set and our ownership claim are exactly as dns_record_set left them.
    for key in [k for k in edge_before if k[0].endswith("edge." + zone)]:
        assert after[key] == edge_before[key], key
    assert answer(powerdns, "edge." + zone, dns.rdatatype.A) == (dns.rcode.NOERROR, EDGE_IPS)
    assert answer(powerdns, "edge." + zone, dns.rdatatype.CNAME)[1] == []
    assert set(after) - set(edge_before) == {("app." + zone, "CNAME"), ("tcp." + zone, "CNAME"),
                                             ("extdns-cname.app." + zone, "TXT"), ("extdns-cname.tcp." + zone, "TXT")}

    # The Ingress goes away: its CNAME and registry record go too; the edge set stays.
    kube.request("DELETE", "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/web" % apps)
    proc = run_external_dns(argv, env, log)
    assert proc.returncode == 0, open(log).read()[-4000:]
    assert answer(powerdns, "app." + zone, dns.rdatatype.CNAME) == (dns.rcode.NXDOMAIN, [])
    final = zone_rrsets(powerdns, zone)
    assert ("extdns-cname.app." + zone, "TXT") not in final
    assert ("tcp." + zone, "CNAME") in final
    for key in [k for k in edge_before if k[0].endswith("edge." + zone)]:
        assert final[key] == edge_before[key], key
    assert answer(powerdns, "edge." + zone, dns.rdatatype.A) == (dns.rcode.NOERROR, EDGE_IPS)

    # state=absent removes what the role made; the CRD stays for other users of DNSEndpoint.
    proc, dummy = apply_role(tmp_path, role_vars(kube_cluster, powerdns, zone, namespace, external_dns_state="absent"))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert kube.get("/apis/apps/v1/namespaces/%s/deployments/external-dns" % namespace, missing_ok=True) is None
    assert kube.get("/api/v1/namespaces/%s/secrets/external-dns-credentials" % namespace, missing_ok=True) is None
    assert kube.get("/apis/rbac.authorization.k8s.io/v1/clusterroles/%s-external-dns" % namespace, missing_ok=True) is None
    assert kube.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/dnsendpoints.externaldns.k8s.io")


@pytest.fixture(autouse=True)
def _no_cloud_tokens(monkeypatch):
    """The role reads credentials from the environment by default; keep real ones out of the tests."""
    for name in ("PDNS_API_KEY", "CLOUDFLARE_API_TOKEN", "LINODE_TOKEN", "RFC2136_TSIG_SECRET"):
        monkeypatch.delenv(name, raising=False)
