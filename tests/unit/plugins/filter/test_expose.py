"""The decisions of exposing services without a cluster: entries, planned objects, problems and stale objects."""
import hashlib

from ansible_collections.talos.autoextender.plugins.filter.expose_entries import FilterModule as Entries
from ansible_collections.talos.autoextender.plugins.module_utils import _expose

ALL_CRDS = {"IngressRouteTCP": True, "IngressRouteUDP": True, "Certificate": True, "DNSEndpoint": True}
RESERVED = [80, 443, 50000, 50001, 51820, 8082]
ZONE = "example.com"
EDGE = "edge.example.com"


def named(*services):
    return _expose.entries(list(services))


def problems(items, crds=None, **lookups):
    return _expose.problems(items, ZONE, EDGE, RESERVED, ALL_CRDS if crds is None else crds, **lookups)


def test_the_filter_is_the_module_utils_function():
    assert Entries().filters() == {"expose_entries": _expose.entries}


def test_entries_get_defaults_and_a_name():
    app, game = named({"host": "App.Example.com.", "namespace": "web", "service": "app", "port": 80},
                      {"host": "mc.example.com", "protocol": "tcp", "edge_port": 25565, "tls": False})
    assert app == {"host": "app.example.com", "name": "edge-app-example-com", "namespace": "web", "service": "app",
                   "port": 80, "protocol": "http", "tls": True, "entrypoint": "http-"}
    assert (game["name"], game["protocol"], game["tls"], game["entrypoint"]) == ("edge-mc-example-com", "tcp", False,
                                                                                 "tcp-25565")


def test_a_long_host_gets_a_name_that_fits_a_label_value():
    host = "a-very-long-service-name-that-goes-on.and-on.and-on.example.com"
    name = named({"host": host})[0]["name"]
    full = "edge-" + host.replace(".", "-")
    assert len(full) > 63 and len(name) == 63
    assert name == full[:54] + "-" + hashlib.sha1(full.encode()).hexdigest()[:8]


def test_a_missing_host_is_reported_not_named_none():
    assert named({"host": None})[0]["host"] == ""
    assert problems(named({"namespace": "web", "service": "s", "port": 80}))[0] == "(entry without host): host is required"


def test_planned_objects_per_protocol():
    items = named({"host": "a.example.com", "namespace": "n"}, {"host": "b.example.com", "namespace": "n", "tls": False},
                  {"host": "c.example.com", "namespace": "n", "protocol": "udp", "edge_port": 9987},
                  {"host": "d.example.com"})
    crds = dict(ALL_CRDS, Certificate=False)
    assert [(o["kind"], o["name"], o["crd_present"]) for o in _expose.planned(items, crds)] == [
        ("Ingress", "edge-a-example-com", True), ("Certificate", "edge-a-example-com", False),
        ("Ingress", "edge-b-example-com", True),
        ("IngressRouteUDP", "edge-c-example-com", True), ("DNSEndpoint", "edge-c-example-com", True)]


def test_every_problem_of_the_entries_at_once_in_order():
    items = named(
        {"host": "app.example.org", "namespace": "n", "service": "s", "port": 80},
        {"host": "example.com", "namespace": "n", "service": "s", "port": 80},
        {"host": "edge.example.com", "namespace": "n", "service": "s", "port": 80},
        {"host": "dup.example.com", "namespace": "n", "service": "s", "port": 0},
        {"host": "dup.example.com", "namespace": "n", "service": "s", "port": "70000", "protocol": "ftp"},
        {"host": "mc.example.com", "namespace": "n", "service": "s", "port": 25565, "protocol": "tcp", "edge_port": 443},
        {"host": "v.example.com", "namespace": "n", "service": "s", "port": 9987, "protocol": "udp"},
        {"host": "t1.example.com", "namespace": "n", "service": "s", "port": 1, "protocol": "tcp", "edge_port": 7000},
        {"host": "t2.example.com", "namespace": "n", "service": "s", "port": 1, "protocol": "tcp", "edge_port": "7000"},
    )
    assert problems(items) == [
        "app.example.org: host is outside the DNS zone example.com",
        "example.com: host is outside the DNS zone example.com (the zone apex belongs to the edge record set)",
        "edge.example.com: host is the edge record set itself",
        "dup.example.com: port is required",
        "dup.example.com: duplicate host (2 entries)",
        "dup.example.com: port must be between 1 and 65535",
        "dup.example.com: protocol must be http, tcp or udp, not ftp",
        "dup.example.com: port must be between 1 and 65535",
        "mc.example.com: edge_port 443 clashes with a port of the edge itself [80, 443, 50000, 50001, 51820, 8082]",
        "v.example.com: a udp service needs an edge_port between 1 and 65535",
        "t2.example.com: edge_port tcp/7000 is already used by another entry",
    ]


def test_missing_crds_are_named_per_entry():
    items = named({"host": "a.example.com", "namespace": "n", "service": "s", "port": 80},
                  {"host": "b.example.com", "namespace": "n", "service": "s", "port": 1, "protocol": "tcp", "edge_port": 7000})
    assert problems(items, crds={}) == [
        "a.example.com: tls needs cert-manager, which is not installed (run the cert_manager role first)",
        "b.example.com: the Traefik CRD of IngressRouteTCP is not installed (run the edge_ingress role first)"]


def test_services_must_exist_with_the_port_and_protocol():
    web, voice, gone = named({"host": "web.example.com", "namespace": "n", "service": "web", "port": "9999"},
                             {"host": "v.example.com", "namespace": "n", "service": "voice", "port": 9987,
                              "protocol": "tcp", "edge_port": 9987},
                             {"host": "g.example.com", "namespace": "n", "service": "gone", "port": 80})
    found = [(web, {"spec": {"ports": [{"port": 8080, "protocol": "TCP"}]}}),
             (voice, {"spec": {"ports": [{"port": 9987, "protocol": "UDP"}]}}),
             (gone, None)]
    assert _expose.problems([], ZONE, EDGE, RESERVED, ALL_CRDS, services=found) == [
        "web.example.com: Service n/web has no TCP port 9999 (it has TCP/8080)",
        "v.example.com: Service n/voice has no TCP port 9987 (it has UDP/9987)",
        "g.example.com: Service n/gone does not exist"]


def test_objects_of_our_names_that_are_not_ours_are_refused():
    item = {"kind": "Ingress", "namespace": "n", "name": "edge-a-example-com"}
    ours = {"metadata": {"labels": {"app.kubernetes.io/managed-by": "talos-autoextender"}}}
    theirs = {"metadata": {"labels": {"app": "other"}}}
    found = [(item, ours), (item, theirs), (item, None)]
    assert _expose.problems([], ZONE, EDGE, RESERVED, ALL_CRDS, taken=found) == [
        "Ingress n/edge-a-example-com already exists and is not managed by talos-autoextender; it is never taken over"]


def test_stale_objects_are_those_no_entry_owns():
    found = [{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"namespace": "n", "name": "keep"}},
             {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"namespace": "n", "name": "old"}},
             {"apiVersion": "v1", "kind": "Secret", "metadata": {"namespace": "n", "name": "keep-tls"}}]
    desired = [{"kind": "Ingress", "metadata": {"namespace": "n", "name": "keep"}},
               {"kind": "Certificate", "metadata": {"namespace": "n", "name": "keep"}, "spec": {"secretName": "keep-tls"}}]
    assert _expose.owned_keys(desired) == ["Ingress/n/keep", "Certificate/n/keep", "Secret/n/keep-tls"]
    assert _expose.stale(found, _expose.owned_keys(desired)) == [
        {"key": "Ingress/n/old", "api_version": "networking.k8s.io/v1", "kind": "Ingress", "namespace": "n", "name": "old"}]
