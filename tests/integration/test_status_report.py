"""The status_report role through the real ansible-playbook: the screen, the HTML report, its escaping.

The sample facts have the shapes edge_pool_info, kubernetes.core.k8s_info, talos_info and
dns_record_set_info return; the last test takes the Nodes from the real kube-apiserver and the
edge set from the real PowerDNS instead; another takes the servers and the prices from each cloud simulator.
"""
import html.parser
import json
import os
import re
import stat
import uuid
import xml.etree.ElementTree as ET

import pytest

from tests.support.ansible import run_playbook

HERE = os.path.join(os.path.dirname(__file__), "playbooks")
PLAYBOOK = os.path.join(HERE, "status_report.yml")
LIVE_PLAYBOOK = os.path.join(HERE, "status_report_live.yml")
LIVE_PRICES_PLAYBOOK = os.path.join(HERE, "status_report_prices.yml")
SVG = "{http://www.w3.org/2000/svg}"
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}


def hostile(tag):
    """A string that breaks out of HTML, attributes and SVG if it is not escaped."""
    return "<script>alert('%s')</script>\"'&<b" % tag


def server(name, ipv4, pool, status="running", ipv6=None):
    return {"id": "id-" + name, "name": name, "provider": "hetzner", "location": "hel1", "server_type": "cx22",
            "status": status, "public_ipv4": ipv4, "public_ipv6": ipv6, "image": "1",
            "labels": {"managed-by": "talos-autoextender", "autoextender-cluster": "home", "autoextender-pool": pool}}


def node(name, address, pool=None, ready=True, role=None):
    labels = {"kubernetes.io/hostname": name}
    if pool:
        labels["autoextender.io/pool"] = pool
    if role:
        labels["node-role.kubernetes.io/" + role] = ""
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
            "spec": {"taints": [{"key": "autoextender.io/edge", "value": "true", "effect": "NoSchedule"}] if pool else []},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "reason": "KubeletReady" if ready else "KubeletNotReady"}],
                       "addresses": [{"type": "ExternalIP", "address": address}],
                       "nodeInfo": {"kubeletVersion": "v1.36.3"}}}


def peer(label, endpoint, state="up"):
    return {"id": "k-" + label, "label": label, "endpoint": endpoint, "state": state, "node": "192.168.1.10",
            "last_handshake": "2026-11-24T05:01:58Z", "rx_bytes": 1000, "tx_bytes": 2000}


def sample_facts(tmp_path, **overrides):
    """Two pools; every server joined, except the cases each test adds."""
    facts = {
        "status_report_cluster": {"name": "home", "endpoint": "https://192.168.1.10:6443",
                                  "secrets": {"source": "bundle", "path": "/srv/SECRET-BUNDLE-PATH"}},
        "status_report_pools": [
            {"name": "hel1-a", "provider": "hetzner", "location": "hel1", "server_type": "cx22", "count": 2,
             "active": True, "schematic": "abc"},
            {"name": "fsn1-b", "provider": "hetzner", "location": "fsn1", "server_type": "cx22", "count": 1,
             "active": False}],
        "status_report_servers": [server("hel1-a-1", "203.0.113.7", "hel1-a", ipv6="2001:db8::7"),
                                  server("hel1-a-2", "203.0.113.8", "hel1-a"),
                                  server("fsn1-b-1", "198.51.100.1", "fsn1-b")],
        "status_report_nodes": [node("cp-1", "192.168.1.10", role="control-plane"),
                                node("hel1-a-1", "203.0.113.7", "hel1-a"), node("hel1-a-2", "203.0.113.8", "hel1-a"),
                                node("fsn1-b-1", "198.51.100.1", "fsn1-b")],
        "status_report_kubespan": [peer("hel1-a-1", "203.0.113.7:51820"), peer("hel1-a-2", "203.0.113.8:51820"),
                                   peer("fsn1-b-1", "198.51.100.1:51820")],
        "status_report_dns": [{"name": "edge.example.org.", "type": "A", "ttl": 60,
                               "rdata": ["203.0.113.7", "203.0.113.8"], "owner": "home"},
                              {"name": "edge.example.org.", "type": "AAAA", "ttl": 60, "rdata": ["2001:db8::7"],
                               "owner": "home"}],
        "status_report_probes": [{"ip": ip, "healthy": True, "error": None, "latency_ms": 3.5}
                                 for ip in ("203.0.113.7", "203.0.113.8", "2001:db8::7", "198.51.100.1")],
        "status_report_path": str(tmp_path / "report" / "status.html"),
    }
    facts.update(overrides)
    return facts


def run(facts, playbook=PLAYBOOK):
    proc = run_playbook(playbook, facts)
    assert proc.stdout.strip().startswith("{"), proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def results(proc):
    """``{task name without the role prefix: result}``."""
    data = json.loads(proc.stdout)
    return dict((t["task"]["name"].split(" : ", 1)[-1], r) for play in data["plays"] for t in play["tasks"]
                for r in t["hosts"].values())


def report_fact(proc):
    return results(proc)["Join the gathered facts into one report"]["ansible_facts"]["status_report_result"]


def screen(proc):
    return results(proc)["Show the status"]["msg"]


class Page(html.parser.HTMLParser):
    """Checks that tags balance and records every tag, attribute and text of the page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.attrs, self.text, self.errors = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes %s" % (tag, self.stack[-1:] or "nothing"))
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(path):
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    page = Page()
    page.feed(raw)
    page.close()
    assert page.errors == [] and page.stack == [], (page.errors, page.stack)
    svg = ET.fromstring(re.search(r"<svg\b.*</svg>", raw, re.S).group(0))
    svg_text = [e.text or "" for e in svg.iter() if e.tag in (SVG + "text", SVG + "title", SVG + "tspan")]
    return raw, page, svg, svg_text


def assert_self_contained(raw, page):
    """Nothing is fetched and nothing runs: no script, no link, no src/href, no CSS url()."""
    assert not set(page.tags) & {"script", "link", "img", "iframe", "object", "embed", "base", "form"}
    assert not [name for name, dummy in page.attrs if name in ("src", "href", "xlink:href", "action")
                or name.startswith("on")]
    assert "url(" not in raw and "@import" not in raw


def test_the_report_escapes_every_string_from_an_api_and_lists_everything(tmp_path):
    h = hostile
    facts = sample_facts(
        tmp_path,
        status_report_cluster={"name": h("cluster"), "endpoint": h("endpoint"), "token": "TOKEN-NOT-IN-REPORT"},
        status_report_pools=[{"name": h("pool"), "provider": h("provider"), "location": h("location"),
                              "server_type": h("type"), "count": 1, "active": True}],
        status_report_servers=[dict(server(h("server"), "203.0.113.7", h("pool")), status=h("status"),
                                    provider=h("provider")),
                               server("plain-1", "203.0.113.9", h("pool"))],
        status_report_nodes=[node(h("server"), "203.0.113.7", h("pool"), ready=False),
                             node(h("home-node"), "192.168.1.10", role=h("role")),
                             node("plain-1", "203.0.113.9", h("pool"))],
        status_report_kubespan=[peer(h("server"), h("endpoint-peer"), state=h("state")),
                                dict(peer(h("home-node"), "192.168.1.10:51820"), node=h("observer"),
                                     last_handshake=h("handshake"))],
        status_report_dns=[{"name": h("dns-name"), "type": "A", "ttl": 60, "owner": h("owner"),
                            "rdata": ["203.0.113.7", h("value")]},
                           {"name": h("dns-name"), "type": "TXT", "ttl": 60, "owner": None, "rdata": [h("txt")]}],
        status_report_probes=[{"ip": "203.0.113.7", "healthy": False, "error": h("probe-error"), "latency_ms": 1}],
    )
    proc = run(facts)
    assert proc.returncode == 0, proc.stdout[-3000:]
    path = facts["status_report_path"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    raw, page, svg, svg_text = parse(path)
    assert_self_contained(raw, page)
    assert "<script" not in raw.lower() and "&<b" not in raw and "TOKEN-NOT-IN-REPORT" not in raw
    text = "".join(page.text)
    for tag in ("cluster", "endpoint", "pool", "provider", "location", "type", "server", "status", "home-node",
                "role", "endpoint-peer", "observer", "handshake", "dns-name", "owner", "value", "txt",
                "probe-error"):
        assert h(tag) in text, tag  # shown as text, once unescaped: escaped, not dropped
    every = " ".join(svg_text)
    for name in (h("server"), "plain-1", h("home-node")):
        assert name in every or name[:20] in every, name
    assert any(t.startswith("Server " + h("server")) for t in svg_text)


def test_the_screen_and_the_report_show_pools_servers_nodes_peers_and_dns(tmp_path):
    facts = sample_facts(tmp_path)
    proc = run(facts)
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = report_fact(proc)
    assert report["ok"] is True and report["warnings"] == []
    assert [(s["name"], s["state"]) for s in report["servers"]] == [
        ("fsn1-b-1", "ok"), ("hel1-a-1", "ok"), ("hel1-a-2", "ok")]
    lines = screen(proc)
    assert lines[0] == "home (https://192.168.1.10:6443): 2 pool(s), 1 active; 3 server(s), 3 running"
    assert "Nodes Ready: 4/4; KubeSpan peers up: 3/3; DNS values: 3; healthy: 3/3" in lines[1]
    header = next(line for line in lines if line.startswith("SERVER"))
    row = next(line for line in lines if line.startswith("hel1-a-1 "))
    assert header.index("KUBESPAN") == row.index("up"), (header, row)  # columns line up
    assert row.split() == ["hel1-a-1", "hel1-a", "running", "203.0.113.7", "2001:db8::7", "hel1-a-1", "yes", "up",
                           "yes", "healthy", "OK"]
    assert any(line.startswith("cp-1 ") and "control-plane" in line for line in lines)
    assert "No warnings: everything adds up." in lines
    assert lines[-1] == "Topology report: " + facts["status_report_path"]

    raw, page, svg, svg_text = parse(facts["status_report_path"])
    assert_self_contained(raw, page)
    servers = [g for g in svg.iter(SVG + "g") if (g.get("class") or "").startswith("server ")]
    assert sorted(g.find(SVG + "title").text.split(" ")[1] for g in servers) == ["fsn1-b-1", "hel1-a-1", "hel1-a-2"]
    assert all(g.get("class") == "server state-ok" for g in servers)
    assert "cp-1" in " ".join(svg_text)
    kubespan = [line for line in svg.iter(SVG + "line") if line.get("class") == "kubespan"]
    dns = [line for line in svg.iter(SVG + "line") if line.get("class") == "dns"]
    assert len(kubespan) == 3 and len(dns) == 3  # a link per server; a DNS link per published address
    assert set(line.get("stroke") for line in kubespan) == {"#2e7d32"}
    text = "".join(page.text)
    assert "2001:db8::7" in text and "edge.example.org." in text and "None: everything adds up." in text


def test_inconsistencies_are_warned_on_the_screen_and_in_the_report(tmp_path):
    facts = sample_facts(
        tmp_path,
        # hel1-a-2 runs but registered no Node; fsn1-b-1 (inactive pool) has one.
        status_report_nodes=[node("cp-1", "192.168.1.10", role="control-plane"),
                             node("hel1-a-1", "203.0.113.7", "hel1-a"), node("fsn1-b-1", "198.51.100.1", "fsn1-b")],
        # 203.0.113.7 is published but fails its probe; 192.0.2.250 belongs to no server.
        status_report_dns=[{"name": "edge.example.org.", "type": "A", "ttl": 60, "owner": "home",
                            "rdata": ["203.0.113.7", "203.0.113.8", "192.0.2.250"]}],
        status_report_probes=[{"ip": "203.0.113.7", "healthy": False,
                               "error": "TCP 203.0.113.7 port 443: Connection refused", "latency_ms": 0.4},
                              {"ip": "203.0.113.8", "healthy": True, "error": None, "latency_ms": 2}],
    )
    proc = run(facts)
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = report_fact(proc)
    assert sorted((w["code"], w["subject"]) for w in report["warnings"]) == [
        ("dns_unhealthy", "203.0.113.7"), ("dns_unknown_value", "192.0.2.250"), ("server_no_node", "hel1-a-2")]
    lines = screen(proc)
    assert "WARNINGS (3):" in lines
    assert "- [server_no_node] Server hel1-a-2 is running but no Kubernetes Node matches it (by name or address)" in lines
    assert ("- [dns_unhealthy] DNS value 203.0.113.7 is published but unhealthy: "
            "TCP 203.0.113.7 port 443: Connection refused") in lines
    assert "- [dns_unknown_value] DNS value 192.0.2.250 belongs to no known server" in lines

    raw, page, svg, svg_text = parse(facts["status_report_path"])
    warnings = re.search(r'<ul id="warnings">(.*?)</ul>', raw, re.S).group(1)
    assert warnings.count("<li") == 3 and "server_no_node" in warnings and "192.0.2.250" in warnings
    states = dict((g.find(SVG + "title").text.split(" ")[1], g.get("class")) for g in svg.iter(SVG + "g")
                  if (g.get("class") or "").startswith("server "))
    assert states == {"hel1-a-1": "server state-down", "hel1-a-2": "server state-warning",
                      "fsn1-b-1": "server state-ok"}


def test_fail_on_warnings_fails_after_the_report_and_only_then(tmp_path):
    facts = sample_facts(tmp_path, status_report_fail_on_warnings=True,
                         status_report_dns=[{"name": "edge.example.org.", "type": "A", "ttl": 60, "owner": "home",
                                             "rdata": ["203.0.113.7", "203.0.113.8", "192.0.2.250"]}])
    proc = run(facts)
    assert proc.returncode != 0
    failed = results(proc)["Fail when something does not add up"]
    assert failed.get("failed") and "DNS value 192.0.2.250 belongs to no known server" in failed["msg"]
    assert os.path.exists(facts["status_report_path"]) and screen(proc)  # reported before failing

    ok = run(sample_facts(tmp_path, status_report_fail_on_warnings=True))
    assert ok.returncode == 0 and results(ok)["Fail when something does not add up"].get("failed") is not True


def test_mode_no_timestamp_and_a_second_run_that_changes_nothing(tmp_path):
    facts = sample_facts(tmp_path, status_report_mode="0600", status_report_timestamp=False)
    first = run(facts)
    assert first.returncode == 0 and results(first)["Render the report"]["changed"] is True
    assert stat.S_IMODE(os.stat(facts["status_report_path"]).st_mode) == 0o600
    with open(facts["status_report_path"]) as f:
        assert "generated" not in f.read()
    second = run(facts)
    assert second.returncode == 0 and results(second)["Render the report"]["changed"] is False


def test_the_screen_alone_writes_nothing_and_unknown_facts_say_so(tmp_path):
    facts = sample_facts(tmp_path, status_report_write=False)
    for key in ("status_report_nodes", "status_report_kubespan", "status_report_dns", "status_report_probes"):
        del facts[key]
    proc = run(facts)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not os.path.exists(os.path.dirname(facts["status_report_path"]))
    lines = screen(proc)
    assert ("Nodes Ready: not gathered; KubeSpan peers up: not gathered; DNS values: not gathered; "
            "healthy: not probed") == lines[1]
    assert "No warnings: everything adds up." in lines and not any("Topology report" in line for line in lines)


def test_check_mode_prints_the_screen_and_writes_nothing(tmp_path):
    facts = sample_facts(tmp_path)
    proc = run_playbook(PLAYBOOK, facts, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert results(proc)["Render the report"]["changed"] is True  # predicted
    assert not os.path.exists(os.path.dirname(facts["status_report_path"]))
    assert "No warnings: everything adds up." in screen(proc)


def test_a_bad_input_fails_at_the_argument_spec(tmp_path):
    proc = run(sample_facts(tmp_path, status_report_nodes="not-a-list-of-nodes"))
    assert proc.returncode != 0
    assert "status_report_nodes" in proc.stdout
    assert not os.path.exists(os.path.dirname(sample_facts(tmp_path)["status_report_path"]))


def test_real_nodes_and_a_real_edge_set(tmp_path, kube, kube_cluster, talos_edge_nodes, dns_bed_powerdns):
    """Nodes from the real kube-apiserver (registered from a real Talos worker config), the edge set from PowerDNS."""
    run_id = uuid.uuid4().hex[:6]
    pool = {"name": "st-" + run_id, "provider": "hetzner", "location": "hel1", "server_type": "cx22", "count": 2,
            "active": True}
    names = [pool["name"] + "-1", pool["name"] + "-2"]
    talos_edge_nodes(pool, names[:1])
    talos_edge_nodes(pool, names[1:], ready=False)
    home = "home-" + run_id
    kube.register_node(home, {"node-role.kubernetes.io/control-plane": "", "status-test": run_id}, [])
    try:
        bed = dns_bed_powerdns
        edge = bed.unique("edge")
        facts = sample_facts(
            tmp_path, status_report_pools=[pool],
            status_report_servers=[server(names[0], "192.0.2.31", pool["name"]),
                                   server(names[1], "192.0.2.32", pool["name"])],
            status_report_kubespan=[peer(names[0], "192.0.2.31:51820"), peer(names[1], "192.0.2.32:51820", "down")],
            status_report_probes=[{"ip": "192.0.2.31", "healthy": True, "error": None, "latency_ms": 1},
                                  {"ip": "192.0.2.32", "healthy": True, "error": None, "latency_ms": 1}],
            kubeconfig=kube_cluster.kubeconfig, pool_selector="autoextender.io/pool=" + pool["name"],
            home_selector="status-test=" + run_id, dns=dict(bed.params, name=edge, values=["192.0.2.31", "192.0.2.99"]))
        for key in ("status_report_nodes", "status_report_dns"):
            del facts[key]
        proc = run(facts, LIVE_PLAYBOOK)
        assert proc.returncode == 0, proc.stdout[-4000:]
        report = report_fact(proc)
        rows = dict((s["name"], s) for s in report["servers"])
        assert (rows[names[0]]["node"], rows[names[0]]["ready"], rows[names[0]]["state"]) == (names[0], True, "ok")
        # The edge taint comes from the Talos config; the apiserver adds node.kubernetes.io/not-ready on create.
        assert "autoextender.io/edge=true:NoSchedule" in rows[names[0]]["taints"]
        assert rows[names[1]]["ready"] is False and rows[names[1]]["state"] == "down"
        assert [(n["name"], n["roles"]) for n in report["nodes"]] == [(home, ["control-plane"])]
        assert report["dns"][0]["name"] == edge and report["dns"][0]["owner"] == "home"
        assert sorted((w["code"], w["subject"]) for w in report["warnings"]) == [
            ("dns_unknown_value", "192.0.2.99"), ("kubespan_down", names[1]), ("node_not_ready", names[1])]
        raw, page, svg, svg_text = parse(facts["status_report_path"])
        assert bed.params["api_token"] not in raw and edge in raw
        assert all(name in " ".join(svg_text) for name in names + [home])
    finally:
        kube.delete_node(home)


def test_a_report_that_differs_only_by_its_timestamp_is_not_a_change(tmp_path):
    facts = sample_facts(tmp_path)
    first = run(facts)
    assert first.returncode == 0 and results(first)["Render the report"]["changed"] is True
    with open(facts["status_report_path"]) as f:
        before = f.read()
    stamp = re.compile(r'<span class="generated">; generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</span>')
    assert stamp.search(before)
    os.utime(facts["status_report_path"], (0, 0))
    second = run(facts)
    assert second.returncode == 0 and results(second)["Render the report"]["changed"] is False
    assert json.loads(second.stdout)["stats"]["localhost"]["changed"] == 0
    with open(facts["status_report_path"]) as f:
        after = f.read()
    assert stamp.search(after) and os.stat(facts["status_report_path"]).st_mtime > 0  # written with this run's time
    assert stamp.sub("", after) == stamp.sub("", before)

    # Different facts are a change, and so is another file mode.
    third = run(sample_facts(tmp_path, status_report_servers=sample_facts(tmp_path)["status_report_servers"][:2]))
    assert results(third)["Render the report"]["changed"] is True
    fourth = run(sample_facts(tmp_path, status_report_servers=sample_facts(tmp_path)["status_report_servers"][:2],
                              status_report_mode="0600"))
    assert results(fourth)["Render the report"]["changed"] is True
    assert stat.S_IMODE(os.stat(facts["status_report_path"]).st_mode) == 0o600


# --- what each pool costs ------------------------------------------------------------------------------------

def catalog(location_prices):
    """cloud_price_info's prices of a Hetzner-like provider: cx22 and the Primary IPv4 apart, with VAT."""
    return {"provider": "hetzner", "currency": "EUR", "vat_rate": 19.0, "locations": sorted(location_prices),
            "server_types": {"cx22": {"cores": 2, "memory_gb": 4.0, "arch": ["amd64"], "deprecated": False,
                                      "locations": sorted(location_prices),
                                      "monthly": dict((loc, {"net": net, "gross": gross})
                                                      for loc, (net, gross) in location_prices.items())}},
            "addresses": {"ipv4": {"*": {"net": 0.5, "gross": 0.595}}, "ipv6": {"*": {"net": 0.0, "gross": 0.0}}}}


PRICES = {"hetzner": catalog({"hel1": (3.79, 4.5101), "fsn1": (3.79, 4.5101)})}


def test_the_screen_and_the_report_show_what_each_pool_costs(tmp_path):
    facts = sample_facts(tmp_path, status_report_prices=PRICES, status_report_budget={"monthly": 25, "currency": "EUR"})
    proc = run(facts)
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = report_fact(proc)
    assert report["ok"] is True
    assert [p["cost"]["text"] for p in report["pools"]] == ["10.21 EUR/month (gross)", "5.11 EUR/month (gross)"]
    lines = screen(proc)
    assert "Pool hel1-a cost: 10.21 EUR/month (gross): 2 x (cx22 4.51 EUR + IPv4 0.60 EUR)" in lines
    assert "Pool fsn1-b cost: 5.11 EUR/month (gross): 1 x (cx22 4.51 EUR + IPv4 0.60 EUR)" in lines
    assert "Total cost: 15.32 EUR/month (gross); within autoextender_budget 25.00 EUR" in lines
    raw, page, svg, svg_text = parse(facts["status_report_path"])
    assert_self_contained(raw, page)
    assert re.search(r'<p id="cost">Total cost: 15.32 EUR/month \(gross\); within autoextender_budget 25.00 EUR.</p>',
                     raw)
    pools = re.search(r'<table id="pools">(.*?)</table>', raw, re.S).group(1)
    assert "<th>Cost</th>" in pools and '<td class="cost">10.21 EUR/month (gross)<br>' in pools

    # Without prices (the role's default: status_gather_prices is not there) no cost is shown at all.
    plain = run(sample_facts(tmp_path))
    assert report_fact(plain)["summary"]["cost"] is None
    assert not any("cost" in line.lower() for line in screen(plain))
    with open(facts["status_report_path"]) as f:
        assert 'id="cost"' not in f.read()


def test_over_the_budget_is_a_warning_and_fails_when_asked(tmp_path):
    facts = sample_facts(tmp_path, status_report_prices=PRICES, status_report_budget={"monthly": 12, "currency": "EUR"},
                         status_report_fail_on_warnings=True)
    proc = run(facts)
    assert proc.returncode != 0
    message = ("The edge servers cost 15.32 EUR/month (gross prices), over autoextender_budget.monthly 12.00 EUR by "
               "3.32 EUR")
    assert "- [over_budget] " + message in screen(proc)
    assert "Total cost: 15.32 EUR/month (gross); over autoextender_budget 12.00 EUR by 3.32 EUR" in screen(proc)
    assert message in results(proc)["Fail when something does not add up"]["msg"]
    with open(facts["status_report_path"]) as f:
        raw = f.read()
    assert '<p id="cost" class="warning">' in raw and "<code>over_budget</code>" in raw


def test_a_limited_report_says_whose_cost_it_shows(tmp_path):
    facts = sample_facts(tmp_path, status_report_prices=PRICES, status_report_limit=["hel1-a-2"])
    proc = run(facts)
    assert proc.returncode == 0, proc.stdout[-3000:]
    lines = screen(proc)
    assert "Pool hel1-a cost: 5.11 EUR/month (gross): 1 x (cx22 4.51 EUR + IPv4 0.60 EUR)" in lines
    assert "Cost of the 1 server(s) of the limit: 5.11 EUR/month (gross)" in lines
    assert not any(line.startswith("Pool fsn1-b") for line in lines)


def test_a_report_with_costs_is_unchanged_on_a_second_run(tmp_path):
    facts = sample_facts(tmp_path, status_report_prices=PRICES, status_report_budget={"monthly": 25, "currency": "EUR"})
    first = run(facts)
    assert first.returncode == 0 and results(first)["Render the report"]["changed"] is True
    second = run(facts)
    assert second.returncode == 0 and results(second)["Render the report"]["changed"] is False
    # A new price is news.
    dearer = {"hetzner": catalog({"hel1": (4.79, 5.7001), "fsn1": (3.79, 4.5101)})}
    third = run(dict(facts, status_report_prices=dearer))
    assert results(third)["Render the report"]["changed"] is True
    assert "Pool hel1-a cost: 12.59 EUR/month (gross): 2 x (cx22 5.70 EUR + IPv4 0.60 EUR)" in screen(third)


def test_costs_of_the_servers_and_prices_a_cloud_api_returns(tmp_path, cloud):
    """edge_pool_info and cloud_price_info against a cloud simulator (the real API shapes), as status_gather reads them."""
    from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
    pool = {"name": "px", "provider": cloud.provider, "location": cloud.location, "server_type": cloud.server_type,
            "count": 2, "active": True}
    for name in ("px-1", "px-2"):
        cloud.seed_server(name, base.ownership_labels("home", "px"))
    cloud.seed_server("px-foreign", {"autoextender-pool": "px"})  # not ours: not listed, not counted
    facts = {"status_report_cluster": {"name": "home"}, "status_report_pools": [pool],
             "status_report_path": str(tmp_path / "status.html"), "api_url": cloud.url,
             "status_report_budget": {"monthly": 1, "currency": "EUR", "exchange_rates": {"USD": 0.5}}}
    proc = run_playbook(LIVE_PRICES_PLAYBOOK, facts, env=cloud.env())
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    report = report_fact(proc)
    [priced] = report["pools"]
    catalog_ = results(proc)["Read the price list of each provider"]["results"][0]["prices"]
    rows = dict((s["name"], s) for s in report["servers"])
    assert sorted(rows) == ["px-1", "px-2"]

    # What each server costs, from the price list the API gave and the addresses the server has.
    def gross(prices, location):
        price = prices.get(location) or prices["*"]
        return price["gross"] if price["gross"] is not None else price["net"]

    expected = 0.0
    for name in ("px-1", "px-2"):
        row = rows[name]
        expected += gross(catalog_["server_types"][row["server_type"]]["monthly"], row["location"])
        if row["public_ipv4"] and catalog_["addresses"].get("ipv4"):
            expected += gross(catalog_["addresses"]["ipv4"], row["location"])
    assert expected > 0
    assert priced["cost"]["monthly"] == pytest.approx(expected) and priced["cost"]["currency"] == catalog_["currency"]
    assert [e["server"] for e in priced["cost"]["each"]] == ["px-1", "px-2"]
    if cloud.provider == "lab":  # lab-small 4.1531 + IPv4 0.595, gross, twice
        assert priced["cost"]["text"] == "9.50 EUR/month (gross)"
    assert report["summary"]["cost"]["unpriced"] == []
    # The cap of 1 EUR is below any server: over_budget, converted from USD on Linode.
    assert [w["code"] for w in report["warnings"] if w["subject"] == "budget"] == ["over_budget"]
    assert any(line.startswith("Pool px cost: %s: 2 x (" % priced["cost"]["text"]) for line in screen(proc))
    assert [c for c in cloud.calls() if c[0] != "GET"] == []
