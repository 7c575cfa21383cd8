"""The expose role against the real kube-apiserver with the real Traefik, cert-manager and DNSEndpoint CRDs.

The role owns every object labelled app.kubernetes.io/managed-by=talos-autoextender
and autoextender.io/expose in the cluster (like one autoextender_expose list per
cluster), so these tests run one after the other in this file only.
"""
import os
import uuid

import pytest

from tests.conftest import spec_path
from tests.support.ansible import run_playbook
from tests.support.fixtures_k8s import role_results

PLAYBOOK = os.path.join(os.path.dirname(__file__), "playbooks", "k8s_expose.yml")
SELECTOR = "app.kubernetes.io/managed-by=talos-autoextender,autoextender.io/expose"
KINDS = [("networking.k8s.io/v1", "Ingress"), ("cert-manager.io/v1", "Certificate"),
         ("traefik.io/v1alpha1", "IngressRouteTCP"), ("traefik.io/v1alpha1", "IngressRouteUDP"),
         ("externaldns.k8s.io/v1alpha1", "DNSEndpoint")]


@pytest.fixture
def bed(kube, kube_cluster, tmp_path):
    ns = kube.namespace("ae-expose-" + uuid.uuid4().hex[:6])
    kube.service(ns, "app", 8080)
    kube.service(ns, "minecraft", 25565)
    kube.service(ns, "voice", 9987, protocol="UDP")
    zone = "example.com"
    entries = [
        {"host": "app.%s" % zone, "namespace": ns, "service": "app", "port": 8080, "protocol": "http", "tls": True},
        {"host": "mc.%s" % zone, "namespace": ns, "service": "minecraft", "port": 25565, "protocol": "tcp",
         "edge_port": 25565},
        {"host": "voice.%s" % zone, "namespace": ns, "service": "voice", "port": 9987, "protocol": "udp",
         "edge_port": 9987},
    ]

    def run(expose, check=False, diff=False, **extra):
        extra_vars = dict({
            "expose_kubeconfig": kube_cluster.kubeconfig,
            "expose_manifests_dir": spec_path("crds", "external-dns", "v0.21.0"),
            "expose_cache_dir": str(tmp_path / "cache"),
            "autoextender_dns": {"provider": "powerdns", "zone": zone + ".", "edge_name": "edge", "ttl": 30},
            "autoextender_expose": expose,
        }, **extra)
        return run_playbook(PLAYBOOK, extra_vars, check=check, diff=diff)

    yield run, ns, entries
    if ours(kube, ns):
        run([])  # remove everything the role made
    kube.delete_namespace(ns)


def ours(kube, ns):
    """``kind/name`` of every object in ``ns`` carrying our labels."""
    found = []
    for api_version, kind in KINDS:
        found += ["%s/%s" % (kind, o["metadata"]["name"]) for o in kube.list(api_version, kind, ns, SELECTOR)]
    return sorted(found)


def changed(proc):
    return [name for name, res in role_results(proc).items() if res.get("changed")]


ALL = ["Certificate/edge-app-example-com", "DNSEndpoint/edge-mc-example-com", "DNSEndpoint/edge-voice-example-com",
       "Ingress/edge-app-example-com", "IngressRouteTCP/edge-mc-example-com", "IngressRouteUDP/edge-voice-example-com"]


def test_check_create_repeat_then_remove_an_entry(kube, bed):
    run, ns, entries = bed
    proc = run(entries, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Apply the objects of every entry" in changed(proc)
    assert ours(kube, ns) == []  # server-side dry run only

    proc = run(entries)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert ours(kube, ns) == ALL

    ing = kube.get("networking.k8s.io/v1", "Ingress", "edge-app-example-com", ns)
    assert ing["spec"]["ingressClassName"] == "edge"
    assert ing["metadata"]["annotations"]["external-dns.alpha.kubernetes.io/target"] == "edge.example.com"
    assert ing["metadata"]["labels"]["autoextender.io/expose"] == "edge-app-example-com"
    assert ing["spec"]["tls"] == [{"hosts": ["app.example.com"], "secretName": "edge-app-example-com-tls"}]
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "app", "port": {"number": 8080}}
    cert = kube.get("cert-manager.io/v1", "Certificate", "edge-app-example-com", ns)
    assert cert["spec"]["dnsNames"] == ["app.example.com"]
    assert cert["spec"]["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt-production"}
    assert cert["spec"]["secretTemplate"]["labels"]["app.kubernetes.io/managed-by"] == "talos-autoextender"
    tcp = kube.get("traefik.io/v1alpha1", "IngressRouteTCP", "edge-mc-example-com", ns)
    assert tcp["spec"]["entryPoints"] == ["tcp-25565"]
    assert tcp["spec"]["routes"][0]["services"] == [{"name": "minecraft", "port": 25565}]
    assert tcp["metadata"]["annotations"]["kubernetes.io/ingress.class"] == "edge"
    udp = kube.get("traefik.io/v1alpha1", "IngressRouteUDP", "edge-voice-example-com", ns)
    assert udp["spec"]["entryPoints"] == ["udp-9987"]
    dnsep = kube.get("externaldns.k8s.io/v1alpha1", "DNSEndpoint", "edge-mc-example-com", ns)
    assert dnsep["spec"]["endpoints"] == [{"dnsName": "mc.example.com", "recordType": "CNAME", "recordTTL": 30,
                                           "targets": ["edge.example.com"]}]

    proc = run(entries)
    assert proc.returncode == 0 and changed(proc) == [], changed(proc)
    proc = run(entries, check=True)
    assert proc.returncode == 0 and changed(proc) == [], changed(proc)

    # Objects that are not ours survive a removal, even with one of our labels.
    kube.dyn.resources.get(api_version="networking.k8s.io/v1", kind="Ingress").create(namespace=ns, body={
        "metadata": {"name": "users-own", "labels": {"autoextender.io/expose": "edge-mc-example-com"}},
        "spec": {"ingressClassName": "edge", "defaultBackend": {"service": {"name": "app", "port": {"number": 8080}}}}})

    # A changed entry: the diff holds the object before and after, nothing else.
    moved = [dict(entries[0], service="app2", port=8081)] + entries[1:]
    kube.service(ns, "app2", 8081)
    proc = run(moved, diff=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    applied = role_results(proc)["Apply the objects of every entry"]
    assert applied["k8s_expose"]["applied"] == ["Ingress/%s/edge-app-example-com" % ns]
    assert applied["k8s_expose"]["removed"] == []
    assert applied["k8s_expose"]["published"] == ["app.example.com", "mc.example.com", "voice.example.com"]
    diff = applied["diff"]
    key = "Ingress/%s/edge-app-example-com" % ns
    assert list(diff["after"]) == [key]

    def backend(obj):
        return obj["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]

    assert backend(diff["before"][key]) == {"name": "app", "port": {"number": 8080}}
    assert backend(diff["after"][key]) == {"name": "app2", "port": {"number": 8081}}
    assert "managedFields" not in diff["after"][key]["metadata"]

    proc = run(entries[:1], diff=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    removed = role_results(proc)["Apply the objects of every entry"]
    assert sorted(removed["k8s_expose"]["removed"]) == sorted(
        "%s/%s/%s" % (kind, ns, name) for kind, name in [
            ("IngressRouteTCP", "edge-mc-example-com"), ("IngressRouteUDP", "edge-voice-example-com"),
            ("DNSEndpoint", "edge-mc-example-com"), ("DNSEndpoint", "edge-voice-example-com")])
    assert ours(kube, ns) == ["Certificate/edge-app-example-com", "Ingress/edge-app-example-com"]
    assert kube.get("networking.k8s.io/v1", "Ingress", "users-own", ns) is not None
    proc = run(entries[:1])
    assert changed(proc) == []


def test_an_object_of_the_same_name_that_is_not_ours_is_never_taken_over(kube, bed):
    run, ns, entries = bed
    kube.dyn.resources.get(api_version="networking.k8s.io/v1", kind="Ingress").create(namespace=ns, body={
        "metadata": {"name": "edge-app-example-com"},
        "spec": {"defaultBackend": {"service": {"name": "app", "port": {"number": 8080}}}}})
    proc = run(entries)
    assert proc.returncode != 0
    assert "Ingress %s/edge-app-example-com already exists and is not managed by talos-autoextender" % ns in proc.stdout
    assert ours(kube, ns) == []
    assert "ingressClassName" not in kube.get("networking.k8s.io/v1", "Ingress", "edge-app-example-com", ns)["spec"]


BAD = [
    # (what to change, the message that must appear)
    (lambda e: e[0].update(service="nope"), ["Service {ns}/nope does not exist"]),
    (lambda e: e[0].update(host="app.example.org"), ["app.example.org: host is outside the DNS zone example.com"]),
    (lambda e: (e[1].update(edge_port=443), e[2].update(edge_port=51820), e.append(dict(e[1], host="mc2.example.com", edge_port=50000))),
     ["mc.example.com: edge_port 443 clashes with a port of the edge itself",
      "voice.example.com: edge_port 51820 clashes", "mc2.example.com: edge_port 50000 clashes"]),
    (lambda e: e[1].update(host="app.example.com"), ["app.example.com: duplicate host (2 entries)"]),
    (lambda e: (e[0].update(port=9999), e[2].update(protocol="tcp"), e[1].pop("edge_port"),
                e.append(dict(e[0], host="example.com", port=8080))),
     ["Service {ns}/app has no TCP port 9999 (it has TCP/8080)", "Service {ns}/voice has no TCP port 9987 (it has UDP/9987)",
      "mc.example.com: a tcp service needs an edge_port", "the zone apex belongs to the edge record set"]),
]


def test_bad_input_is_refused_and_nothing_is_applied(kube, bed):
    run, ns, entries = bed
    for mutate, messages in BAD:
        bad = [dict(e) for e in entries]
        mutate(bad)
        proc = run(bad)
        assert proc.returncode != 0
        assert "nothing was applied" in proc.stdout
        for message in messages:
            assert message.format(ns=ns) in proc.stdout
        assert ours(kube, ns) == []
