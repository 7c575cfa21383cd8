"""The status_report filter: the join of pools, servers, Nodes, KubeSpan peers, DNS and probes."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.talos.autoextender.plugins.filter.status_report import FilterModule, status_report

CLUSTER = {"name": "home", "endpoint": "https://192.168.1.10:6443"}
POOL_A = {"name": "hel1-a", "provider": "hetzner", "location": "hel1", "server_type": "cx22", "count": 2,
          "active": True}
POOL_B = {"name": "fr-par-b", "provider": "linode", "location": "fr-par", "server_type": "g6-standard-1", "count": 1,
          "active": False}


def server(name, ipv4, pool="hel1-a", status="running", ipv6=None, provider="hetzner"):
    """A server as edge_pool_info returns it."""
    return {"id": "id-" + name, "name": name, "provider": provider, "location": "hel1", "server_type": "cx22",
            "status": status, "public_ipv4": ipv4, "public_ipv6": ipv6, "image": "1",
            "labels": {"managed-by": "talos-autoextender", "autoextender-cluster": "home", "autoextender-pool": pool}}


def node(name, *addresses, ready="True", pool=None, role=None, reason=None):
    """A Kubernetes Node as kubernetes.core.k8s_info returns it."""
    labels = {"kubernetes.io/hostname": name}
    if pool:
        labels["autoextender.io/pool"] = pool
    if role:
        labels["node-role.kubernetes.io/" + role] = ""
    conditions = [{"type": "MemoryPressure", "status": "False"}]
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready, "reason": reason or "KubeletReady",
                           "message": "kubelet says " + (reason or "ready")})
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels, "annotations": {"secret-ish": "do-not-copy"}},
            "spec": {"taints": [{"key": "autoextender.io/edge", "value": "true", "effect": "NoSchedule"}] if pool else []},
            "status": {"conditions": conditions, "nodeInfo": {"kubeletVersion": "v1.36.3"},
                       "addresses": [{"type": "Hostname", "address": name}]
                       + [{"type": "ExternalIP", "address": a} for a in addresses]}}


def peer(label, endpoint, state="up", observer="192.168.1.10", rx=100, tx=200, handshake="2026-11-24T05:01:58Z"):
    """A KubeSpan peer status as talos_info returns it."""
    return {"id": "key-" + label, "label": label, "endpoint": endpoint, "state": state, "node": observer,
            "last_handshake": handshake, "rx_bytes": rx, "tx_bytes": tx}


def rrset(*values, rtype="A", owner="home"):
    return {"name": "edge.example.org.", "type": rtype, "ttl": 60, "rdata": list(values), "owner": owner}


def probe(ip, healthy=True, error=None, latency_ms=12.5):
    return {"ip": ip, "healthy": healthy, "error": error, "latency_ms": latency_ms}


def healthy_world(**overrides):
    """Two healthy servers of one active pool, both Ready, KubeSpan up, published and probed healthy."""
    args = dict(
        pools=[POOL_A],
        servers=[server("hel1-a-1", "203.0.113.7"), server("hel1-a-2", "203.0.113.8")],
        nodes=[node("cp-1", "192.168.1.10", role="control-plane"), node("hel1-a-1", "203.0.113.7", pool="hel1-a"),
               node("hel1-a-2", "203.0.113.8", pool="hel1-a")],
        kubespan=[peer("hel1-a-1", "203.0.113.7:51820"), peer("hel1-a-2", "203.0.113.8:51820")],
        dns=[rrset("203.0.113.7", "203.0.113.8")],
        probes=[probe("203.0.113.7"), probe("203.0.113.8")],
    )
    args.update(overrides)
    return status_report(dict(CLUSTER), **args)


def codes(report):
    return sorted((w["code"], w["subject"]) for w in report["warnings"])


def row(report, name):
    return next(r for r in report["servers"] if r["name"] == name)


def test_a_healthy_world_has_no_warning_and_joins_everything():
    report = healthy_world()
    assert report["ok"] is True and report["warnings"] == []
    first = row(report, "hel1-a-1")
    assert (first["node"], first["ready"], first["kubespan"], first["published"], first["health"], first["state"]) == (
        "hel1-a-1", True, "up", ["203.0.113.7"], "healthy", "ok")
    assert first["taints"] == ["autoextender.io/edge=true:NoSchedule"]
    assert first["kubespan_endpoint"] == "203.0.113.7:51820" and first["latency_ms"] == 12.5
    assert [n["name"] for n in report["nodes"]] == ["cp-1"]
    assert report["nodes"][0]["roles"] == ["control-plane"] and report["nodes"][0]["version"] == "v1.36.3"
    assert report["pools"][0]["servers"] == ["hel1-a-1", "hel1-a-2"]
    assert [v["server"] for v in report["dns"][0]["rdata"]] == ["hel1-a-1", "hel1-a-2"]
    assert report["summary"] == {"pools": 1, "active_pools": 1, "servers": 2, "running": 2, "nodes": 3, "ready": 3,
                                 "peers": 2, "peers_up": 2, "dns_values": 2, "probes": 2, "healthy": 2,
                                 "warnings": 0, "cost": None}


def test_a_running_server_without_a_node_is_flagged():
    report = healthy_world(nodes=[node("cp-1", "192.168.1.10", role="control-plane"),
                                  node("hel1-a-1", "203.0.113.7", pool="hel1-a")])
    assert ("server_no_node", "hel1-a-2") in codes(report)
    assert row(report, "hel1-a-2")["node"] is None and row(report, "hel1-a-2")["state"] == "warning"


def test_a_server_that_is_not_running_needs_no_node():
    servers = [server("hel1-a-1", "203.0.113.7"), server("hel1-a-2", "203.0.113.8", status="starting")]
    report = healthy_world(servers=servers, nodes=[node("hel1-a-1", "203.0.113.7", pool="hel1-a")],
                           dns=[rrset("203.0.113.7")])
    assert codes(report) == []
    assert row(report, "hel1-a-2")["state"] == "down"


def test_a_node_is_found_by_address_when_its_name_differs():
    report = healthy_world(nodes=[node("talos-xyz", "203.0.113.7", pool="hel1-a"),
                                  node("hel1-a-2", "203.0.113.8", pool="hel1-a")])
    assert row(report, "hel1-a-1")["node"] == "talos-xyz"
    assert report["warnings"] == [] and report["nodes"] == []


def test_ipv6_addresses_match_in_any_spelling():
    servers = [server("hel1-a-1", None, ipv6="2001:db8::7"), server("hel1-a-2", "203.0.113.8")]
    report = healthy_world(servers=servers,
                           nodes=[node("other", "2001:0db8:0000::0007", pool="hel1-a"),
                                  node("hel1-a-2", "203.0.113.8", pool="hel1-a")],
                           kubespan=[peer("x", "[2001:DB8::7]:51820"), peer("hel1-a-2", "203.0.113.8:51820")],
                           dns=[rrset("203.0.113.8"), rrset("2001:0db8::0007", rtype="AAAA")],
                           probes=[probe("2001:db8:0::7"), probe("203.0.113.8")])
    first = row(report, "hel1-a-1")
    expected = ("other", "up", ["2001:db8::7"], "healthy")
    assert (first["node"], first["kubespan"], first["published"], first["health"]) == expected
    assert report["warnings"] == []


def test_a_node_that_is_not_ready_is_flagged_with_its_reason():
    nodes = [node("hel1-a-1", "203.0.113.7", pool="hel1-a", ready="False", reason="KubeletNotReady"),
             node("hel1-a-2", "203.0.113.8", pool="hel1-a")]
    report = healthy_world(nodes=nodes)
    warning = next(w for w in report["warnings"] if w["code"] == "node_not_ready")
    assert warning["subject"] == "hel1-a-1" and "kubelet says KubeletNotReady" in warning["message"]
    assert row(report, "hel1-a-1")["ready"] is False and row(report, "hel1-a-1")["state"] == "down"


def test_a_node_without_a_ready_condition_counts_as_not_ready():
    report = healthy_world(nodes=[node("hel1-a-1", "203.0.113.7", pool="hel1-a", ready=None),
                                  node("hel1-a-2", "203.0.113.8", pool="hel1-a")])
    assert ("node_not_ready", "hel1-a-1") in codes(report)
    assert "no Ready condition" in report["warnings"][0]["message"]


def test_kubespan_down_when_any_observer_sees_the_peer_down():
    kubespan = [peer("hel1-a-1", "203.0.113.7:51820", observer="192.168.1.10"),
                peer("hel1-a-1", "203.0.113.7:51820", state="down", observer="192.168.1.11", rx=1, tx=2,
                     handshake="2026-11-24T06:00:00Z"),
                peer("hel1-a-2", "203.0.113.8:51820")]
    report = healthy_world(kubespan=kubespan)
    assert ("kubespan_down", "hel1-a-1") in codes(report)
    assert "192.168.1.10, 192.168.1.11" in report["warnings"][0]["message"]
    merged = next(p for p in report["kubespan"] if p["label"] == "hel1-a-1")
    assert merged["state"] == "down" and merged["bytes_received"] == 101 and merged["bytes_sent"] == 202
    assert merged["last_handshake"] == "2026-11-24T06:00:00Z"
    assert row(report, "hel1-a-1")["state"] == "down"


def test_kubespan_peer_matched_by_endpoint_and_long_names_for_bytes():
    kubespan = [{"label": "", "endpoint": "203.0.113.7:51820", "state": "up", "bytes_received": 5, "bytes_sent": 6},
                peer("hel1-a-2", "203.0.113.8:51820")]
    report = healthy_world(kubespan=kubespan)
    assert row(report, "hel1-a-1")["kubespan"] == "up" and report["warnings"] == []
    assert next(p for p in report["kubespan"] if p["endpoint"] == "203.0.113.7:51820")["bytes_sent"] == 6


def test_a_peer_in_an_unknown_state_is_not_up():
    report = healthy_world(kubespan=[peer("hel1-a-1", "203.0.113.7:51820", state="unknown"),
                                     peer("hel1-a-2", "203.0.113.8:51820")])
    assert row(report, "hel1-a-1")["kubespan"] == "unknown" and report["summary"]["peers_up"] == 1


def test_a_ready_server_without_a_kubespan_peer_is_flagged():
    report = healthy_world(kubespan=[peer("hel1-a-2", "203.0.113.8:51820")])
    assert codes(report) == [("kubespan_missing", "hel1-a-1")]
    assert row(report, "hel1-a-1")["kubespan"] == "missing"


def test_an_ip_in_dns_that_is_unhealthy_is_flagged():
    report = healthy_world(probes=[probe("203.0.113.7", healthy=False, error="TCP 203.0.113.7 port 443: refused"),
                                   probe("203.0.113.8")])
    warning = next(w for w in report["warnings"] if w["code"] == "dns_unhealthy")
    assert warning["subject"] == "203.0.113.7" and "port 443: refused" in warning["message"]
    assert row(report, "hel1-a-1")["health"] == "unhealthy" and row(report, "hel1-a-1")["state"] == "down"
    assert row(report, "hel1-a-1")["probe_error"] == "TCP 203.0.113.7 port 443: refused"
    assert report["dns"][0]["rdata"][0]["health"] == "unhealthy"


def test_an_unhealthy_server_out_of_dns_is_not_a_warning():
    report = healthy_world(dns=[rrset("203.0.113.8")],
                           probes=[probe("203.0.113.7", healthy=False, error="down"), probe("203.0.113.8")])
    assert codes(report) == []


def test_a_dns_value_of_no_known_server_is_flagged():
    report = healthy_world(dns=[rrset("203.0.113.7", "203.0.113.8", "198.51.100.99")])
    assert codes(report) == [("dns_unknown_value", "198.51.100.99")]
    unknown = report["dns"][0]["rdata"][0]
    assert unknown == {"value": "198.51.100.99", "server": None, "pool": None, "health": None}


def test_a_dns_value_of_a_stopped_server_is_flagged():
    servers = [server("hel1-a-1", "203.0.113.7", status="off"), server("hel1-a-2", "203.0.113.8")]
    report = healthy_world(servers=servers)
    assert ("dns_not_running", "203.0.113.7") in codes(report)
    assert "which is off" in next(w["message"] for w in report["warnings"] if w["code"] == "dns_not_running")


def test_a_dns_value_of_an_inactive_pool_is_flagged():
    servers = [server("hel1-a-1", "203.0.113.7"), server("hel1-a-2", "203.0.113.8"),
               server("fr-par-b-1", "198.51.100.1", pool="fr-par-b", provider="linode")]
    report = healthy_world(pools=[POOL_A, POOL_B], servers=servers,
                           nodes=None, kubespan=None, probes=None,
                           dns=[rrset("203.0.113.7", "203.0.113.8", "198.51.100.1")])
    assert codes(report) == [("dns_inactive_pool", "198.51.100.1")]
    assert [p["name"] for p in report["pools"]] == ["hel1-a", "fr-par-b"]
    assert report["pools"][1]["active"] is False and row(report, "fr-par-b-1")["provider"] == "linode"


def test_a_healthy_server_of_an_active_pool_missing_from_dns_is_flagged():
    report = healthy_world(dns=[rrset("203.0.113.7")])
    assert codes(report) == [("dns_missing", "hel1-a-2")]
    assert "203.0.113.8" in report["warnings"][0]["message"]


def test_a_healthy_server_failover_holds_out_is_named_with_why():
    targets = [{"ip": "203.0.113.7", "reason": "healthy", "error": None},
               {"ip": "203.0.113.8", "reason": "recovering", "error": "1 of 2 consecutive successful probes"}]
    report = healthy_world(dns=[rrset("203.0.113.7")], probes=targets)
    assert codes(report) == [("held_out", "hel1-a-2")]
    assert report["warnings"][0]["message"] == (
        "Server hel1-a-2 passes its probe but failover holds 203.0.113.8 out of DNS: recovering "
        "(1 of 2 consecutive successful probes)")
    assert row(report, "hel1-a-2")["health"] == "healthy"


def test_no_dns_missing_for_an_inactive_pool():
    servers = [server("fr-par-b-1", "198.51.100.1", pool="fr-par-b")]
    report = status_report(CLUSTER, pools=[dict(POOL_B, count=1)], servers=servers, dns=[rrset("203.0.113.7")])
    assert ("dns_missing", "fr-par-b-1") not in codes(report)


def test_an_empty_edge_set_is_flagged_but_unknown_dns_is_not():
    assert ("dns_empty", "dns") in codes(healthy_world(dns=[]))
    assert ("dns_empty", "dns") in codes(healthy_world(dns=[rrset(rtype="A")]))
    report = healthy_world(dns=None)
    assert report["warnings"] == [] and report["dns"] is None and report["gathered"]["dns"] is False
    assert row(report, "hel1-a-1")["published"] == []


@pytest.mark.parametrize("owner, text", [("someone-else", "owned by someone-else"),
                                         (None, "not owned (no ownership record)")])
def test_an_edge_set_owned_by_another_cluster_is_flagged(owner, text):
    report = healthy_world(dns=[rrset("203.0.113.7", "203.0.113.8", owner=owner)])
    assert codes(report) == [("dns_foreign_owner", "edge.example.org.")]
    assert text in report["warnings"][0]["message"]


def test_non_address_record_sets_are_listed_but_not_joined():
    report = healthy_world(dns=[rrset("203.0.113.7", "203.0.113.8"),
                                {"name": "www.example.org.", "type": "CNAME", "ttl": 300,
                                 "rdata": ["edge.example.org."], "owner": None}])
    assert report["warnings"] == [] and report["summary"]["dns_values"] == 2
    assert report["dns"][1]["rdata"] == [{"value": "edge.example.org.", "server": None, "pool": None,
                                          "health": None}]


def test_one_record_set_dict_is_taken_as_a_list():
    report = healthy_world(dns=rrset("203.0.113.7", "203.0.113.8"))
    assert report["warnings"] == [] and len(report["dns"]) == 1


def test_pool_size_and_unknown_pools_are_flagged():
    servers = [server("hel1-a-1", "203.0.113.7"), server("stray-1", "192.0.2.50", pool="stray")]
    report = status_report(CLUSTER, pools=[POOL_A], servers=servers)
    assert codes(report) == [("pool_size", "hel1-a"), ("pool_unknown", "stray")]
    assert "has 1 server(s), wants 2" in report["warnings"][0]["message"]
    stray = report["pools"][1]
    assert (stray["name"], stray["desired"], stray["active"], stray["servers"]) == ("stray", False, False, ["stray-1"])


def test_a_server_without_a_pool_label_goes_to_a_none_pool():
    bare = dict(server("lost", "192.0.2.9"), labels={})
    report = status_report(CLUSTER, pools=[], servers=[bare])
    assert row(report, "lost")["pool"] == "(none)" and codes(report) == [("pool_unknown", "(none)")]


def test_servers_nested_in_pools_and_duplicates_are_joined_once():
    nested = dict(POOL_A, servers=[dict(server("hel1-a-1", "203.0.113.7"), labels={})])
    report = status_report(CLUSTER, pools=[nested],
                           servers=[server("hel1-a-1", "203.0.113.7"), server("hel1-a-2", "203.0.113.8")])
    assert [r["name"] for r in report["servers"]] == ["hel1-a-1", "hel1-a-2"]
    assert row(report, "hel1-a-1")["pool"] == "hel1-a" and report["warnings"] == []


def test_an_edge_node_whose_server_is_gone_is_an_orphan():
    nodes = [node("hel1-a-1", "203.0.113.7", pool="hel1-a"), node("hel1-a-2", "203.0.113.8", pool="hel1-a"),
             node("hel1-a-9", "203.0.113.99", pool="hel1-a", ready="Unknown")]
    report = healthy_world(nodes=nodes)
    assert codes(report) == [("node_orphan", "hel1-a-9")]
    orphan = report["nodes"][0]
    assert (orphan["name"], orphan["pool"], orphan["roles"], orphan["ready"]) == ("hel1-a-9", "hel1-a", ["edge"], False)


def test_home_nodes_get_their_kubespan_state_and_no_warning():
    kubespan = [peer("hel1-a-1", "203.0.113.7:51820"), peer("hel1-a-2", "203.0.113.8:51820"),
                peer("cp-1", "198.51.100.200:51820", state="down", observer="203.0.113.7")]
    report = healthy_world(kubespan=kubespan)
    assert report["nodes"][0]["kubespan"] == "down" and report["warnings"] == []


def test_nothing_gathered_but_the_servers_says_nothing_it_cannot_know():
    report = status_report(CLUSTER, pools=[POOL_A],
                           servers=[server("hel1-a-1", "203.0.113.7"), server("hel1-a-2", "203.0.113.8")])
    assert report["warnings"] == [] and report["ok"] is True
    first = row(report, "hel1-a-1")
    assert (first["node"], first["ready"], first["kubespan"], first["health"], first["state"]) == (
        None, None, None, None, "ok")
    assert report["nodes"] is None and report["kubespan"] is None and report["dns"] is None
    assert report["gathered"] == {"pools": True, "servers": True, "nodes": False, "kubespan": False, "dns": False,
                                  "probes": False}


def test_probes_as_a_dict_by_address_with_check_durations():
    probes = {"203.0.113.7": {"healthy": True, "error": None, "checks": [{"seconds": 0.01}, {"seconds": 0.0205}]},
              "203.0.113.8": {"ip": "203.0.113.8", "healthy": True, "error": None, "checks": []}}
    report = healthy_world(probes=probes)
    assert row(report, "hel1-a-1")["latency_ms"] == 30.5 and row(report, "hel1-a-2")["latency_ms"] is None
    assert report["warnings"] == []


def test_edge_dns_targets_count_as_probes_by_their_reason():
    targets = [{"ip": "203.0.113.7", "type": "A", "node": "hel1-a-1", "pool": "hel1-a", "published": True,
                "reason": "healthy", "error": None},
               {"ip": "203.0.113.8", "type": "A", "node": "hel1-a-2", "pool": "hel1-a", "published": True,
                "reason": "probe_failed", "error": "TCP 203.0.113.8 port 443: Connection refused"},
               {"ip": "198.51.100.1", "type": "A", "node": "fr-par-b-1", "pool": "fr-par-b", "published": False,
                "reason": "inactive_pool", "error": None}]
    report = healthy_world(probes=targets)
    assert (row(report, "hel1-a-1")["health"], row(report, "hel1-a-2")["health"]) == ("healthy", "unhealthy")
    assert codes(report) == [("dns_unhealthy", "203.0.113.8")]
    assert report["summary"]["probes"] == 2


def test_only_the_listed_fields_reach_the_report():
    cluster = dict(CLUSTER, secrets={"source": "bundle", "path": "/secret/path"}, token="tok-123")
    report = status_report(cluster, pools=[dict(POOL_A, api_token="tok-456")],
                           servers=[dict(server("hel1-a-1", "203.0.113.7"), root_pass="pw-789")],
                           nodes=[node("hel1-a-1", "203.0.113.7", pool="hel1-a")])
    text = repr(report)
    for secret in ("/secret/path", "tok-123", "tok-456", "pw-789", "do-not-copy"):
        assert secret not in text


def test_warnings_always_carry_code_subject_and_message():
    report = healthy_world(dns=[rrset("203.0.113.7", "198.51.100.99", owner="x")], kubespan=[],
                           probes=[probe("203.0.113.7", healthy=False, error="boom")])
    assert report["warnings"] and all(sorted(w) == ["code", "message", "subject"] for w in report["warnings"])
    assert report["summary"]["warnings"] == len(report["warnings"]) and report["ok"] is False


@pytest.mark.parametrize("cluster", [None, {}, {"endpoint": "https://x"}, "home"])
def test_the_cluster_needs_a_name(cluster):
    with pytest.raises(AnsibleFilterError, match="cluster, a dict with a name"):
        status_report(cluster)


@pytest.mark.parametrize("kwargs, match", [
    ({"pools": [{"provider": "hetzner"}]}, "every pool needs a name"),
    ({"servers": [{"status": "running"}]}, "every server needs a name"),
    ({"nodes": "node-1"}, "nodes must be a list of dicts, got str"),
    ({"kubespan": [1, 2]}, "kubespan must be a list of dicts"),
    ({"dns": ["1.2.3.4"]}, "dns must be a list of dicts"),
    ({"dns": [{"name": "edge.example.org.", "type": "A", "values": ["192.0.2.1"]}]}, "has 'values' but no 'rdata'"),
])
def test_bad_inputs_fail_clearly(kwargs, match):
    with pytest.raises(AnsibleFilterError, match=match):
        status_report(CLUSTER, **kwargs)


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"status_report": status_report}


# --- narrowed to the edge nodes of a --limit ---------------------------------------------------------------

def limited_world(limit, **overrides):
    """Pool hel1-a (two servers) and pool fr-par-b (one), the home node, an orphan Node, and one edge record set."""
    args = dict(
        pools=[POOL_A, dict(POOL_B, active=True)],
        servers=[server("hel1-a-1", "203.0.113.7"), server("hel1-a-2", "203.0.113.8", ipv6="2001:db8::8"),
                 server("fr-par-b-1", "198.51.100.1", pool="fr-par-b", provider="linode")],
        nodes=[node("cp-1", "192.168.1.10", role="control-plane"), node("hel1-a-1", "203.0.113.7", pool="hel1-a"),
               node("hel1-a-2", "203.0.113.8", pool="hel1-a", ready="False", reason="KubeletNotReady"),
               node("fr-par-b-1", "198.51.100.1", pool="fr-par-b"), node("gone-1", "198.51.100.50", pool="fr-par-b")],
        kubespan=[peer("hel1-a-1", "203.0.113.7:51820"), peer("x", "203.0.113.8:51820", state="down"),
                  peer("fr-par-b-1", "198.51.100.1:51820")],
        dns=[rrset("203.0.113.7", "203.0.113.8", "198.51.100.1", "192.0.2.250"),
             rrset("2001:db8::8", rtype="AAAA"),
             {"name": "edge.example.org.", "type": "TXT", "ttl": 60, "rdata": ["owner=home"], "owner": "home"}],
        probes=[probe("203.0.113.7"), probe("203.0.113.8", healthy=False, error="refused"), probe("198.51.100.1")],
        limit=limit,
    )
    args.update(overrides)
    return status_report(dict(CLUSTER), **args)


@pytest.mark.parametrize("limit", [None, []])
def test_no_limit_reports_everything(limit):
    report = limited_world(limit)
    assert report["limit"] is None
    assert [r["name"] for r in report["servers"]] == ["fr-par-b-1", "hel1-a-1", "hel1-a-2"]
    assert [n["name"] for n in report["nodes"]] == ["cp-1", "gone-1"]
    assert ("dns_unknown_value", "192.0.2.250") in codes(report) and ("node_orphan", "gone-1") in codes(report)


def test_a_limit_of_one_node_reports_only_it():
    report = limited_world(["hel1-a-1"])
    assert report["limit"] == ["hel1-a-1"]
    assert [r["name"] for r in report["servers"]] == ["hel1-a-1"]
    assert [(p["name"], p["servers"], p["count"]) for p in report["pools"]] == [("hel1-a", ["hel1-a-1"], 2)]
    assert report["nodes"] == []
    assert [p["label"] for p in report["kubespan"]] == ["hel1-a-1"]
    dns = [(rs["type"], [v["value"] for v in rs["rdata"]]) for rs in report["dns"]]
    assert dns == [("A", ["203.0.113.7"]), ("AAAA", [])]
    assert report["warnings"] == [] and report["ok"] is True
    assert report["summary"] == {"pools": 1, "active_pools": 1, "servers": 1, "running": 1, "nodes": 1, "ready": 1,
                                 "peers": 1, "peers_up": 1, "dns_values": 1, "probes": 1, "healthy": 1,
                                 "warnings": 0, "cost": None}


def test_a_limit_keeps_the_warnings_about_its_nodes_and_their_addresses():
    report = limited_world(["hel1-a-2"])
    assert codes(report) == [("dns_unhealthy", "203.0.113.8"), ("kubespan_down", "hel1-a-2"),
                             ("node_not_ready", "hel1-a-2")]
    assert row(report, "hel1-a-2")["state"] == "down"
    assert [p["label"] for p in report["kubespan"]] == ["x"]  # matched by its endpoint's address
    assert [[v["value"] for v in rs["rdata"]] for rs in report["dns"]] == [["203.0.113.8"], ["2001:db8::8"]]
    assert report["ok"] is False


def test_pool_warnings_stay_only_for_pools_wholly_in_the_limit():
    short = dict(POOL_A, count=3)
    assert codes(limited_world(["hel1-a-1"], pools=[short, POOL_B])) == []
    whole = limited_world(["hel1-a-1", "hel1-a-2"], pools=[short, POOL_B])
    assert ("pool_size", "hel1-a") in codes(whole)
    assert [(p["name"], p["servers"]) for p in whole["pools"]] == [("hel1-a", ["hel1-a-1", "hel1-a-2"])]


def test_a_limit_spanning_pools_lists_each_pool_with_its_limited_servers():
    report = limited_world(["hel1-a-1", "fr-par-b-1"])
    pools = [(p["name"], p["servers"]) for p in report["pools"]]
    assert pools == [("hel1-a", ["hel1-a-1"]), ("fr-par-b", ["fr-par-b-1"])]
    assert sorted(v["value"] for v in report["dns"][0]["rdata"]) == ["198.51.100.1", "203.0.113.7"]


def test_a_name_of_the_limit_that_is_no_server_is_flagged():
    report = limited_world(["hel1-a-1", "hel1-a-9"])
    assert codes(report) == [("limit_unknown", "hel1-a-9")]
    assert [r["name"] for r in report["servers"]] == ["hel1-a-1"]


def test_a_limit_keeps_not_gathered_as_not_gathered():
    report = limited_world(["hel1-a-1"], nodes=None, kubespan=None, dns=None, probes=None)
    assert report["nodes"] is None and report["kubespan"] is None and report["dns"] is None
    assert row(report, "hel1-a-1")["ready"] is None


@pytest.mark.parametrize("limit", ["hel1-a-1", [1], {"hel1-a-1": 1}])
def test_a_limit_must_be_a_list_of_names(limit):
    with pytest.raises(AnsibleFilterError, match="limit must be a list of server names"):
        limited_world(limit)


# --- what each pool costs per month ------------------------------------------------------------------------

def price(net, gross=None):
    return {"net": net, "gross": gross}


#: cloud_price_info's prices: Hetzner with VAT and a Primary IPv4 apart, Linode in USD without tax, addresses included
HETZNER = {"provider": "hetzner", "currency": "EUR", "vat_rate": 19.0, "locations": ["fsn1", "hel1"],
           "server_types": {"cx22": {"cores": 2, "memory_gb": 4.0, "arch": ["amd64"], "deprecated": False,
                                     "locations": ["hel1"], "monthly": {"hel1": price(3.79, 4.5101)}}},
           "addresses": {"ipv4": {"hel1": price(0.5, 0.595)}, "ipv6": {"hel1": price(0.0, 0.0)}}}
LINODE = {"provider": "linode", "currency": "USD", "vat_rate": None, "locations": ["fr-par", "hel1"], "addresses": {},
          "server_types": {"cx22": {"cores": 1, "memory_gb": 2.0, "arch": ["amd64"], "deprecated": False,
                                    "locations": None, "monthly": {"*": price(12.0)}}}}
PRICES = {"hetzner": HETZNER, "linode": LINODE}
EACH = 4.5101 + 0.595  # a cx22 in hel1 with its IPv4 address, gross


def test_without_prices_there_is_no_cost():
    report = healthy_world(budget={"monthly": 1, "currency": "EUR"})
    assert [p["cost"] for p in report["pools"]] == [None] and report["summary"]["cost"] is None
    assert report["warnings"] == []


def test_each_pool_costs_the_servers_it_has_with_their_addresses():
    report = healthy_world(pools=[dict(POOL_A, count=3)], prices=PRICES)
    cost = report["pools"][0]["cost"]
    assert (cost["monthly"], cost["currency"], cost["basis"], cost["servers"], cost["unpriced"]) == (
        pytest.approx(2 * EACH), "EUR", "gross", 2, [])
    assert cost["text"] == "10.21 EUR/month (gross)" and cost["detail"] == "2 x (cx22 4.51 EUR + IPv4 0.60 EUR)"
    assert [(e["server"], e["monthly"], e["parts"]) for e in cost["each"]] == [
        ("hel1-a-1", pytest.approx(EACH), ["cx22 4.51 EUR", "IPv4 0.60 EUR"]),
        ("hel1-a-2", pytest.approx(EACH), ["cx22 4.51 EUR", "IPv4 0.60 EUR"])]
    total = report["summary"]["cost"]
    assert total["by_currency"] == {"EUR": pytest.approx(2 * EACH)} and total["text"] == "10.21 EUR/month (gross)"
    assert (total["limited"], total["budget"], total["servers"]) == (False, None, 2) and "each" not in total
    assert codes(report) == [("pool_size", "hel1-a")]  # the third server does not exist, so it costs nothing


def test_a_server_pays_for_the_public_addresses_it_has_whatever_its_status():
    priced_v6 = dict(HETZNER, addresses=dict(HETZNER["addresses"], ipv6={"hel1": price(0.1, 0.119)}))
    servers = [server("hel1-a-1", None, ipv6="2001:db8::7"), server("hel1-a-2", "203.0.113.8", status="off")]
    report = status_report(dict(CLUSTER), pools=[POOL_A], servers=servers, prices={"hetzner": priced_v6})
    each = report["pools"][0]["cost"]["each"]
    assert [(e["monthly"], e["parts"]) for e in each] == [
        (pytest.approx(4.5101 + 0.119), ["cx22 4.51 EUR", "IPv6 0.12 EUR"]),
        (pytest.approx(EACH), ["cx22 4.51 EUR", "IPv4 0.60 EUR"])]


def test_net_prices_with_a_budget_that_asks_for_them():
    report = healthy_world(prices=PRICES, budget={"monthly": 25, "currency": "EUR", "prices": "net"})
    cost = report["pools"][0]["cost"]
    assert cost["monthly"] == pytest.approx(2 * 4.29) and cost["text"] == "8.58 EUR/month (net)"
    assert report["summary"]["cost"]["budget"]["basis"] == "net"


def test_a_pool_without_servers_costs_nothing_in_its_providers_currency():
    report = status_report(dict(CLUSTER), pools=[POOL_A, POOL_B], servers=[], prices=PRICES)
    assert [p["cost"]["text"] for p in report["pools"]] == ["0.00 EUR/month (gross)", "0.00 USD/month (gross)"]
    assert report["summary"]["cost"]["text"] == "0.00 EUR + 0.00 USD/month (gross)"


def test_a_server_without_a_price_is_warned_and_left_out():
    servers = [server("hel1-a-1", "203.0.113.7"), dict(server("hel1-a-2", "203.0.113.8"), server_type="cx99"),
               server("x-1", "198.51.100.9", pool="x", provider="vultr")]
    report = healthy_world(servers=servers, prices=PRICES)
    assert [w for w in report["warnings"] if w["code"] == "price_unknown"] == [
        {"code": "price_unknown", "subject": "hel1-a-2", "message": "Server hel1-a-2 has no monthly price: the "
         "hetzner price list has no price for server type cx99 in hel1 (left out of the costs)"},
        {"code": "price_unknown", "subject": "x-1", "message": "Server x-1 has no monthly price: no price list was "
         "read for provider vultr (left out of the costs)"}]
    pool_a, pool_x = report["pools"]
    assert pool_a["cost"]["unpriced"] == ["hel1-a-2"] and pool_a["cost"]["monthly"] == pytest.approx(EACH)
    assert pool_a["cost"]["text"] == "5.11 EUR/month (gross); 1 server(s) without a price"
    assert pool_x["cost"]["text"] == "no price; 1 server(s) without a price" and pool_x["cost"]["monthly"] is None
    assert report["summary"]["cost"]["unpriced"] == ["hel1-a-2", "x-1"]
    assert row(report, "hel1-a-2")["state"] == "ok"  # a price is nothing wrong with the server


def test_within_the_budget_there_is_no_warning():
    report = healthy_world(prices=PRICES, budget={"monthly": 25, "currency": "EUR"})
    budget = report["summary"]["cost"]["budget"]
    assert report["ok"] is True
    assert (budget["monthly"], budget["currency"], budget["total"], budget["over"], budget["no_rate"]) == (
        25.0, "EUR", pytest.approx(2 * EACH), 0.0, [])
    assert budget["text"] == "within autoextender_budget 25.00 EUR"


def test_over_the_budget_is_a_warning_naming_the_total_and_the_cap():
    report = healthy_world(prices=PRICES, budget={"monthly": 10, "currency": "EUR"})
    assert report["warnings"] == [{"code": "over_budget", "subject": "budget", "message": "The edge servers cost "
                                   "10.21 EUR/month (gross prices), over autoextender_budget.monthly 10.00 EUR by 0.21 EUR"}]
    assert report["ok"] is False and report["summary"]["warnings"] == 1
    assert report["summary"]["cost"]["budget"]["over"] == pytest.approx(2 * EACH - 10)
    assert [row(report, n)["state"] for n in ("hel1-a-1", "hel1-a-2")] == ["ok", "ok"]


def test_other_currencies_are_converted_with_the_budgets_rates():
    budget = {"monthly": 20, "currency": "EUR", "exchange_rates": {"USD": 0.5}}
    report = limited_world(None, prices=PRICES, budget=budget)
    assert [(p["name"], p["cost"]["text"]) for p in report["pools"]] == [
        ("hel1-a", "10.21 EUR/month (gross)"), ("fr-par-b", "12.00 USD/month (gross)")]
    total = report["summary"]["cost"]
    assert total["by_currency"] == {"EUR": pytest.approx(2 * EACH), "USD": 12.0}
    assert (total["monthly"], total["currency"]) == (None, None)
    assert total["text"] == "10.21 EUR + 12.00 USD/month (gross)"
    assert total["budget"]["total"] == pytest.approx(2 * EACH + 6.0)
    assert total["budget"]["text"] == "= 16.21 EUR, within autoextender_budget 20.00 EUR"
    assert "over_budget" not in [c for c, _s in codes(report)]
    over = limited_world(None, prices=PRICES, budget=dict(budget, monthly=16))
    assert ("over_budget", "budget") in codes(over)


def test_a_currency_without_a_rate_is_warned_and_not_compared():
    report = limited_world(None, prices=PRICES, budget={"monthly": 1, "currency": "EUR"})
    budget_codes = [w for w in report["warnings"] if w["subject"] == "budget"]
    assert budget_codes == [{"code": "budget_no_rate", "subject": "budget", "message": "The edge servers cannot be "
                             "compared with autoextender_budget.monthly 1.00 EUR: give "
                             "autoextender_budget.exchange_rates.USD (1 USD = how many EUR)"}]
    assert report["summary"]["cost"]["budget"]["total"] is None


def test_a_limited_report_costs_the_limits_servers_only():
    budget = {"monthly": 20, "currency": "EUR", "exchange_rates": {"USD": 0.5}}
    report = limited_world(["hel1-a-1"], prices=PRICES, budget=budget)
    [pool] = report["pools"]
    assert [e["server"] for e in pool["cost"]["each"]] == ["hel1-a-1"]
    assert pool["cost"]["text"] == "5.11 EUR/month (gross)"
    total = report["summary"]["cost"]
    assert total["limited"] is True and total["by_currency"] == {"EUR": pytest.approx(EACH)}
    assert total["budget"]["text"] == "within autoextender_budget 20.00 EUR"
    # The whole edge is over a cap of 6 EUR, the limit's one server is not: only a whole report says so.
    assert "over_budget" not in [c for c, _s in codes(limited_world(["hel1-a-1"], prices=PRICES,
                                                                    budget=dict(budget, monthly=6)))]
    assert ("over_budget", "budget") in codes(limited_world(None, prices=PRICES, budget=dict(budget, monthly=6)))
    over = limited_world(["hel1-a-1"], prices=PRICES, budget=dict(budget, monthly=5))
    assert [w["message"] for w in over["warnings"] if w["code"] == "over_budget"] == [
        "The servers of the limit cost 5.11 EUR/month (gross prices), over autoextender_budget.monthly 5.00 EUR by "
        "0.11 EUR"]


def test_the_costs_of_a_limit_of_unknown_names_only_are_empty():
    report = limited_world(["nope"], prices=PRICES)
    assert report["pools"] == [] and report["summary"]["cost"]["by_currency"] == {}
    assert report["summary"]["cost"]["text"] == "no price"


@pytest.mark.parametrize("prices", [[{"item": "hetzner", "prices": HETZNER}], {"hetzner": "EUR"}, {"hetzner": {}}])
def test_prices_must_be_catalogs_by_provider(prices):
    with pytest.raises(AnsibleFilterError, match="prices must be a dict of provider: price catalog .* items2dict"):
        healthy_world(prices=prices)


def test_a_bad_budget_fails_naming_the_key():
    with pytest.raises(AnsibleFilterError, match="autoextender_budget.currency = 'euro'"):
        healthy_world(prices=PRICES, budget={"monthly": 10, "currency": "euro"})
