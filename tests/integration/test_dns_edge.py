"""edge_dns through ansible-playbook: real HTTP servers on 127.0.0.x stand in for edge nodes' ingress,
the set is published on the real PowerDNS / BIND and checked with real DNS queries."""
import time

from tests.support.fixtures_dns import run_dns_tasks

MODULE = "talos.autoextender.edge_dns"


def edge_task(bed, title, name, nodes, active, port, check=False, **args):
    params = dict(bed.params, owner="home", name=name, nodes=nodes, active_pools=active, ttl=30,
                  probe={"tcp_ports": [port], "http": {"port": port}, "timeout": 1})
    params.update(args)
    out = {"name": title, MODULE: params}
    if check:
        out["check_mode"] = True
    return out


def reasons(result):
    return dict((t["ip"], (t["reason"], t["published"])) for t in result["edge_dns"]["targets"])


NODES = [
    {"name": "a-1", "pool": "a", "public_ipv4": "127.0.0.2", "public_ipv6": "::1"},
    {"name": "a-2", "pool": "a", "public_ipv4": "127.0.0.3"},
    {"name": "b-1", "pool": "b", "public_ipv4": "127.0.0.4"},
    {"name": "b-2", "pool": "b", "public_ipv4": "127.0.0.5"},
]


def test_staged_migration_from_pool_a_to_pool_b(dns_bed, edge_nodes, tmp_path):
    name = dns_bed.unique("edge")
    edge_nodes.host = name.rstrip(".")
    # a-2 (127.0.0.3) is dead: nothing listens there.
    edge_nodes.start(healthy=["127.0.0.2", "::1", "127.0.0.4", "127.0.0.5"], extra_ips=["127.0.0.3"])
    port = edge_nodes.port

    def step(title, active, **args):
        return edge_task(dns_bed, title, name, NODES, active, port, **args)

    proc, r = run_dns_tasks(tmp_path, [step("check publish a", ["a"], check=True)])
    assert r["check publish a"]["changed"] is True
    assert r["check publish a"]["edge_dns"]["record_sets"]["A"]["rdata"] == ["127.0.0.2"]
    assert dns_bed.answers(name, "A") == []

    proc, r = run_dns_tasks(tmp_path, [step("publish a", ["a"]), step("publish a again", ["a"])])
    assert r["publish a"]["changed"] is True and r["publish a again"]["changed"] is False
    assert dns_bed.answers(name, "A") == ["127.0.0.2"]
    assert dns_bed.answers(name, "AAAA") == ["::1"]
    why = reasons(r["publish a"])
    assert why["127.0.0.2"] == ("healthy", True) and why["::1"] == ("healthy", True)
    assert why["127.0.0.3"] == ("probe_failed", False)
    assert why["127.0.0.4"] == ("inactive_pool", False) and why["127.0.0.5"] == ("inactive_pool", False)
    failed = [t for t in r["publish a"]["edge_dns"]["targets"] if t["ip"] == "127.0.0.3"][0]
    assert "TCP 127.0.0.3 port %d" % port in failed["error"] and "refused" in failed["error"].lower()

    proc, r = run_dns_tasks(tmp_path, [step("add b", ["b"], stage="add")])
    assert dns_bed.answers(name, "A") == ["127.0.0.2", "127.0.0.4", "127.0.0.5"]
    assert reasons(r["add b"])["127.0.0.2"] == ("published_before_add", True)
    # AAAA: pool b has no IPv6, a's ::1 was published before: add keeps it.
    assert dns_bed.answers(name, "AAAA") == ["::1"]

    proc, r = run_dns_tasks(tmp_path, [step("remove a", ["b"], stage="remove", record_types=["A"])])
    assert dns_bed.answers(name, "A") == ["127.0.0.4", "127.0.0.5"]
    assert reasons(r["remove a"])["127.0.0.2"] == ("inactive_pool", False)

    # b-1 dies; b-2 stays: publish drops b-1 but keeps one (min_values 1 is met).
    edge_nodes.stop("127.0.0.4")
    proc, r = run_dns_tasks(tmp_path, [step("publish b", ["b"], record_types=["A"])])
    assert dns_bed.answers(name, "A") == ["127.0.0.5"]
    assert reasons(r["publish b"])["127.0.0.4"] == ("probe_failed", False)


def test_last_targets_are_kept_and_empty_is_never_published(dns_bed, edge_nodes, tmp_path):
    name = dns_bed.unique("edge")
    edge_nodes.host = name.rstrip(".")
    edge_nodes.start(healthy=["127.0.0.2", "127.0.0.4"], hang=["127.0.0.5"], extra_ips=["127.0.0.3"])
    port = edge_nodes.port
    nodes = [n for n in NODES if "public_ipv6" not in n]
    nodes.append({"name": "a-1", "pool": "a", "public_ipv4": "127.0.0.2"})

    proc, r = run_dns_tasks(tmp_path, [
        edge_task(dns_bed, "nothing healthy", name, [n for n in nodes if n["name"] == "a-2"], ["a"], port,
                  probe={"tcp_ports": [port], "timeout": 1}),
    ])
    assert r["nothing healthy"]["failed"] and r["nothing healthy"]["failure"]["kind"] == "no_healthy_targets"
    assert "refusing to publish an empty set" in r["nothing healthy"]["msg"]
    assert dns_bed.answers(name, "A") == []

    proc, r = run_dns_tasks(tmp_path, [edge_task(dns_bed, "publish a and b", name, nodes, ["a", "b"], port)])
    assert dns_bed.answers(name, "A") == ["127.0.0.2", "127.0.0.4"]
    assert reasons(r["publish a and b"])["127.0.0.5"] == ("probe_failed", False)

    # Both published nodes die; pool b-2 hangs: nothing healthy, so the last published are kept.
    edge_nodes.stop("127.0.0.2")
    edge_nodes.stop("127.0.0.4")
    start = time.monotonic()
    proc, r = run_dns_tasks(tmp_path, [
        edge_task(dns_bed, "all down", name, nodes, ["b"], port, min_values=2),
    ])
    assert time.monotonic() - start < 30
    assert r["all down"]["changed"] is False
    assert dns_bed.answers(name, "A") == ["127.0.0.2", "127.0.0.4"]
    why = reasons(r["all down"])
    assert why["127.0.0.2"] == ("kept_min_values", True) and why["127.0.0.4"] == ("kept_min_values", True)
    hung = [t for t in r["all down"]["edge_dns"]["targets"] if t["ip"] == "127.0.0.5"][0]
    assert "no answer within 1s" in hung["error"]


def test_input_without_active_nodes_leaves_the_live_set_unchanged(dns_bed, edge_nodes, tmp_path):
    """Issue 11: an empty node list, or no node of an active pool, used to shrink the live set to one old address."""
    name = dns_bed.unique("edge")
    edge_nodes.host = name.rstrip(".")
    edge_nodes.start(healthy=["127.0.0.2", "127.0.0.3", "::1", "127.0.0.4", "127.0.0.5"])
    port = edge_nodes.port
    proc, r = run_dns_tasks(tmp_path, [edge_task(dns_bed, "publish a", name, NODES, ["a"], port)])
    assert dns_bed.answers(name, "A") == ["127.0.0.2", "127.0.0.3"] and dns_bed.answers(name, "AAAA") == ["::1"]
    before = dns_bed.snapshot()

    proc, r = run_dns_tasks(tmp_path, [
        edge_task(dns_bed, "no nodes", name, [], ["a"], port),
        edge_task(dns_bed, "typo in the pool", name, NODES, ["a-typo"], port),
        edge_task(dns_bed, "remove, no nodes", name, [], ["a"], port, stage="remove"),
    ])
    for title in ("no nodes", "typo in the pool", "remove, no nodes"):
        assert not r[title].get("failed") and r[title]["changed"] is False, r[title]
        assert r[title]["edge_dns"]["record_sets"]["A"]["rdata"] == ["127.0.0.2", "127.0.0.3"]
        assert set(reason for reason, published in reasons(r[title]).values() if published) == {"kept_no_active_address"}
    assert ("nodes is empty: it has no node of the active pools a: the A and AAAA set of %s is kept as it is" % name
            in r["no nodes"]["warnings"])
    assert any("(of pools a, b) has no node of the active pools a-typo" in w for w in r["typo in the pool"]["warnings"])
    assert dns_bed.snapshot() == before

    # Pool b has IPv4 only: publishing b replaces the A set and keeps the AAAA set whole, with a warning.
    proc, r = run_dns_tasks(tmp_path, [edge_task(dns_bed, "publish b", name, NODES, ["b"], port)])
    assert dns_bed.answers(name, "A") == ["127.0.0.4", "127.0.0.5"] and dns_bed.answers(name, "AAAA") == ["::1"]
    assert reasons(r["publish b"])["::1"] == ("kept_no_active_address", True)
    assert ("no node of the active pools b has an AAAA address: the AAAA set of %s is kept as it is" % name
            in r["publish b"]["warnings"])


def test_edge_dns_info_reports_the_decision_and_writes_nothing(dns_bed, edge_nodes, tmp_path):
    name = dns_bed.unique("edge")
    edge_nodes.host = name.rstrip(".")
    edge_nodes.start(healthy=["127.0.0.2", "127.0.0.4", "127.0.0.5"], extra_ips=["127.0.0.3"])
    port = edge_nodes.port
    nodes = NODES

    def info(title, active, **args):
        task = edge_task(dns_bed, title, name, nodes, active, port, record_types=["A"], **args)
        task["talos.autoextender.edge_dns_info"] = task.pop(MODULE)
        return task

    proc, r = run_dns_tasks(tmp_path, [info("nothing published yet", ["a"])])
    plan = r["nothing published yet"]
    assert plan["changed"] is False and plan["edge_dns_info"]["would_change"] is True
    assert plan["edge_dns_info"]["record_sets"]["A"]["rdata"] == ["127.0.0.2"] and plan["edge_dns_info"]["published"] == {}
    assert dns_bed.answers(name, "A") == []

    run_dns_tasks(tmp_path, [edge_task(dns_bed, "publish a+b", name, nodes, ["a", "b"], port, record_types=["A"])])
    proc, r = run_dns_tasks(tmp_path, [info("same", ["a", "b"]), info("remove a", ["b"], stage="remove")])
    proc, r2 = run_dns_tasks(tmp_path, [info("remove a", ["b"], stage="remove")], check=True)
    assert r["same"]["edge_dns_info"]["would_change"] is False and r["same"]["changed"] is False
    removal = r["remove a"]["edge_dns_info"]
    assert removal["would_change"] is True and r["remove a"]["changed"] is False
    assert removal["published"]["A"]["rdata"] == ["127.0.0.2", "127.0.0.4", "127.0.0.5"]
    assert removal["record_sets"]["A"]["rdata"] == ["127.0.0.4", "127.0.0.5"]
    assert reasons({"edge_dns": removal})["127.0.0.2"] == ("inactive_pool", False)
    assert r2["remove a"]["edge_dns_info"] == removal, "the same answer in check mode"
    assert dns_bed.answers(name, "A") == ["127.0.0.2", "127.0.0.4", "127.0.0.5"], "nothing was written"
