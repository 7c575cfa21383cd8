"""The lab's real data path: host -> edge public IP -> Traefik -> WireGuard (wireguard-go) -> home app.

The first tests check the pure parts (address plan, ``wg show dump`` parser) and run
anywhere. The rest need root and the
tools (tests/support/fixtures_labnet.py) and assert on the outside world: HTTP answers
from the home app, WireGuard transfer counters and handshakes, namespaces, links and
processes that exist or not.
"""
import http.client
import ipaddress
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.support import labnet
from tests.support.labnet import netns, traefik, wireguard
from tests.support.labnet._run import alive, run
from tests.support.labnet.addressing import LAST_EDGE, Plan, check_name, overlaps_host_route

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# `wg show ae-l1-wh dump` of a lab home with one edge (wireguard-tools v1.0.20210914,
# wireguard-go v0.0.20220316); the keys are of a lab that no longer exists.
WG_DUMP_HOME = (
    "wK7CN/1DEcfIN0a5B/ofU2u4BFi8ByOL6uhImr0qPlM=\tj+qvCxWX5gM+aU8svNPm0duYXrWNr45UNOhuV9chRX8=\t51820\toff\n"
    "AH6sfjwhjr4jvpalOWuXSCeQsehjk9wttbx0IhN5UDI=\t(none)\t10.250.1.2:51820\t10.251.0.2/32\t1795497620\t764\t692\t25\n"
)


# -- pure parts (no root needed)

def test_wg_dump_parser_reads_real_output():
    parsed = wireguard.parse_dump(WG_DUMP_HOME)
    assert parsed["public_key"] == "j+qvCxWX5gM+aU8svNPm0duYXrWNr45UNOhuV9chRX8="
    assert parsed["listen_port"] == 51820 and parsed["has_private_key"]
    peer = parsed["peers"]["AH6sfjwhjr4jvpalOWuXSCeQsehjk9wttbx0IhN5UDI="]
    assert peer == {"endpoint": "10.250.1.2:51820", "allowed_ips": ["10.251.0.2/32"], "latest_handshake": 1795497620,
                    "rx_bytes": 764, "tx_bytes": 692, "persistent_keepalive": 25}


def test_wg_dump_parser_rejects_garbage():
    with pytest.raises(labnet.LabnetError):
        wireguard.parse_dump("interface: ae-l1-wh\n  public key: x\n")


@pytest.mark.parametrize("slot", [1, 255])
def test_plan_names_fit_linux_limits_and_carry_the_prefix(slot):
    plan = Plan(slot, "10.250.0.0/16")
    links = [plan.bridge, plan.home_veth, plan.home_wg, plan.edge_veth(LAST_EDGE), plan.edge_wg(LAST_EDGE)]
    assert all(len(name) <= 15 and name.startswith("ae-l%d-" % slot) for name in links), links
    assert plan.subnet == ipaddress.ip_network("10.250.%d.0/24" % slot)
    assert plan.host_ip() == "10.250.%d.1" % slot and plan.home_uplink_ip() == "10.250.%d.254" % slot
    assert plan.index_of("10.250.%d.7" % slot) == 7 and plan.public_ip(7) == "10.250.%d.7" % slot


@pytest.mark.parametrize("address", ["10.250.1.1", "10.250.1.254", "10.250.1.255", "10.250.2.5", "127.0.10.5"])
def test_plan_refuses_reserved_and_foreign_public_ips(address):
    with pytest.raises(ValueError):
        Plan(1, "10.250.0.0/16").index_of(address)


@pytest.mark.parametrize("name,ok", [("hel1-a-1", True), ("e", True), ("Edge", False), ("-a", False), ("a/b", False),
                                     ("a" * 33, False), ("", False)])
def test_edge_names(name, ok):
    if ok:
        assert check_name(name) == name
    else:
        with pytest.raises(ValueError):
            check_name(name)


@pytest.mark.parametrize("routes,overlap", [
    ([{"dst": "default", "dev": "eth0"}, {"dst": "192.0.2.0/24", "dev": "eth0"}], False),
    ([{"dst": "10.250.0.0/16", "dev": "tun0"}], True),
    ([{"dst": "10.250.3.0/24", "dev": "ae-l3-br"}], False),
    ([{"dst": "10.250.3.7", "dev": "wg0"}], True),
])
def test_slot_refused_when_a_host_route_overlaps(routes, overlap):
    assert overlaps_host_route(ipaddress.ip_network("10.250.3.0/24"), routes) is overlap


# -- the real data path (root)

def _get(edge, path="/", headers=None):
    answer = labnet.get(edge.public_ip, path, headers=headers)
    assert answer.status == 200, (answer.status, answer.body)
    return answer


def _peer(lab, edge):
    return lab.home.wg_show()["peers"][edge.public_key]


def _wait(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture(scope="module")
def edges(lab_network):
    made = [lab_network.add_edge("edge-a"), lab_network.add_edge("edge-b")]
    yield made
    for edge in made:
        lab_network.remove_edge(edge.name)


def test_get_through_each_edge_reaches_the_home_app_over_the_tunnel(lab_network, edges):
    for edge in edges:
        answer = _get(edge, "/hello")
        body = answer.json()
        assert body["identity"] == "home" and body["path"] == "/hello"
        # the app saw the request come from this edge's tunnel address: it crossed this edge's WireGuard link
        assert body["peer"] == edge.tunnel_ip
        assert ipaddress.ip_address(edge.public_ip) in lab_network.plan.subnet
        # the edge's proxy is the real Traefik, one process, with its ping answering inside the namespace
        state = edge.state()
        assert state["traefik_pids"] == [state["proxy_pid"]]
        assert netns.http_get(edge.netns, "127.0.0.1", traefik.PING_PORT, "/ping") == (200, "OK")


def test_the_home_app_is_reachable_only_through_the_tunnel(lab_network, edges):
    # the home namespace is on the bridge too, but the app listens on the tunnel address only
    with pytest.raises(OSError):
        labnet.get(lab_network.plan.home_uplink_ip(), "/", port=8080, timeout=2)
    edge = edges[0]
    lab_network.home.remove_peer(edge.public_key)
    try:
        # the proxy still answers, but cannot reach the app: 504 after the 2 s upstream timeout
        answer = labnet.get(edge.public_ip, "/healthz", timeout=15)
        assert answer.status in (502, 504), (answer.status, answer.body)
        assert not labnet.healthy(edge.public_ip)[0]
    finally:
        lab_network.home.add_peer(edge.public_key, edge.tunnel_ip, edge.endpoint)
    assert _wait(lambda: labnet.healthy(edge.public_ip)[0]), "edge did not recover after the peer came back"


def test_bytes_really_go_through_wireguard(lab_network, edges):
    edge = edges[0]
    home_before, edge_before = _peer(lab_network, edge), edge.wg_show()["peers"][lab_network.home.public_key]
    first = _get(edge, "/count").json()["count"]
    path = "/payload/" + "x" * 4000
    for dummy in range(20):
        _get(edge, path)
    last = _get(edge, "/count").json()["count"]
    home_after, edge_after = _peer(lab_network, edge), edge.wg_show()["peers"][lab_network.home.public_key]
    assert last - first == 21  # every request reached the app once
    # 20 requests of > 4 KB each: the home received them through this peer, the edge sent them
    assert home_after["rx_bytes"] - home_before["rx_bytes"] > 20 * 4000
    assert edge_after["tx_bytes"] - edge_before["tx_bytes"] > 20 * 4000
    assert home_after["tx_bytes"] > home_before["tx_bytes"] and edge_after["rx_bytes"] > edge_before["rx_bytes"]
    for peer in (home_after, edge_after):
        assert peer["latest_handshake"] > 0 and abs(time.time() - peer["latest_handshake"]) < 300
        assert peer["persistent_keepalive"] == 25
    assert home_after["endpoint"] == edge.endpoint
    assert edge_after["endpoint"] == lab_network.home.endpoint
    mtu = run(["ip", "-n", edge.netns, "-o", "link", "show", edge.ifname])
    assert " mtu 1420 " in mtu


def test_x_forwarded_for_carries_the_client_address(lab_network, edges):
    edge = edges[1]
    conn = http.client.HTTPConnection(edge.public_ip, 80, timeout=5)
    try:
        conn.connect()
        client_ip = conn.sock.getsockname()[0]
        conn.request("GET", "/xff")
        body = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    assert client_ip == lab_network.plan.host_ip()
    assert body["x_forwarded_for"] == client_ip and body["x_real_ip"] == client_ip
    # Traefik trusts no client's forwarded headers (as the edge_ingress role, unless told): a
    # client cannot make the app believe it comes from elsewhere
    spoofed = _get(edge, "/xff", headers={"X-Forwarded-For": "203.0.113.7", "X-Real-IP": "203.0.113.7"}).json()
    assert spoofed["x_forwarded_for"] == client_ip and spoofed["x_real_ip"] == client_ip


def test_two_edges_serve_at_once(lab_network, edges):
    start = _get(edges[0], "/count").json()["count"]
    results, errors = [], []

    def client(edge):
        for dummy in range(25):
            try:
                results.append((edge.tunnel_ip, _get(edge, "/both").json()["peer"]))
            except (OSError, AssertionError) as exc:
                errors.append("%s: %s" % (edge.name, exc))

    threads = [threading.Thread(target=client, args=(e,)) for e in edges for dummy in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(results) == 100 and all(sent == seen for sent, seen in results)
    assert _get(edges[1], "/count").json()["count"] - start == 101


@pytest.mark.parametrize("how", ["proxy", "link"])
def test_killing_an_edge_fails_its_probe_while_the_other_serves(lab_network, edges, how):
    dead, alive = edges
    assert labnet.healthy(dead.public_ip)[0] and labnet.healthy(alive.public_ip)[0]
    if how == "proxy":
        dead.stop_proxy()
    else:
        dead.link_down()
    try:
        ok, detail = labnet.healthy(dead.public_ip, timeout=2)
        assert not ok, detail
        assert labnet.healthy(alive.public_ip)[0]
        assert _get(alive, "/still-here").json()["peer"] == alive.tunnel_ip
        assert dead.state()["proxy_pid" if how == "proxy" else "link_up"] in (None, False)
        if how == "proxy":
            assert dead.state()["traefik_pids"] == []
    finally:
        dead.link_up()
        dead.start_proxy(lab_network.home)
    assert _wait(lambda: labnet.healthy(dead.public_ip)[0]), "edge did not come back after revive"


def _lab_processes(lab):
    return [p for name in netns.list_netns(lab.plan.prefix) for p in netns.pids(name)]


def _gone(pids):
    return _wait(lambda: not any(alive(p) for p in pids), 10)


def test_teardown_leaves_no_namespace_link_socket_or_process(lab_network, tmp_path):
    lab = labnet.LabNetwork(str(tmp_path / "net"), owner_pid=os.getpid()).up()
    try:
        edge = lab.add_edge("short-lived")
        assert lab.plan.slot != lab_network.plan.slot
        _get(edge, "/")
        pids = _lab_processes(lab)
        assert len(pids) >= 4  # home: wireguard-go + app; edge: wireguard-go + traefik
        # an unassigned floating address: a blackhole with no device, which the bridge does not take with it
        floating = lab.plan.public_ip(200)
        run(["ip", "route", "replace", "blackhole", "%s/32" % floating])
    finally:
        lab.down()
    assert lab.leftovers() == []
    assert not [s for s in os.listdir(wireguard.SOCKET_DIR) if s.startswith(lab.plan.prefix)]
    assert _gone(pids)
    assert not os.path.exists(os.path.join(lab.state_dir, "state.json"))
    # the address is gone from the host (only the lab range's blackhole guard is left while
    # the session lab runs), so nothing is sent there, and certainly not off the machine
    routes = [r for r in json.loads(run(["ip", "-j", "route", "show", "match", edge.public_ip])) if r["dst"] != "default"]
    assert routes and all(r.get("type") == "blackhole" for r in routes), routes
    routes = json.loads(run(["ip", "-j", "route", "show", "match", floating]))
    assert [r["dst"] for r in routes if r["dst"] not in ("default", str(lab.plan.base))] == [], routes
    lab.down()  # a second down is harmless


def test_leftovers_of_a_crashed_run_are_swept(lab_network, tmp_path):
    # a separate process builds a lab it owns, then dies without cleaning up
    code = ("import os, sys, time; sys.path.insert(0, %r); from tests.support import labnet; "
            "lab = labnet.LabNetwork(%r, owner_pid=os.getpid()).up(); lab.add_edge('orphan'); "
            "print(lab.plan.slot, flush=True); time.sleep(600)" % (REPO, str(tmp_path / "crashed")))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        slot = int(child.stdout.readline().strip() or 0)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert slot, "the child did not build its lab"
    crashed = labnet.LabNetwork(str(tmp_path / "crashed")).attach()
    pids = _lab_processes(crashed)
    assert pids and crashed.leftovers()  # its processes outlived it
    reclaimed = labnet.reclaim_stale()
    assert "owner (pid %d) is gone" % child.pid in reclaimed.get(slot, "")
    assert crashed.leftovers() == [] and _gone(pids)
    assert lab_network.plan.slot not in reclaimed and lab_network.home.running()
    # Its slot waits for it: another lab starting meanwhile takes another one, the crashed lab's up takes it back.
    other = labnet.LabNetwork(str(tmp_path / "other")).up()
    try:
        assert other.plan.slot != slot
        back = labnet.LabNetwork(str(tmp_path / "crashed")).up()
        assert back.plan.slot == slot
        back.down()
    finally:
        other.down()


def test_a_restart_keeps_the_slot_while_another_lab_starts(lab_network, tmp_path):
    # hack/lab.py up of a lab that died stops what is left (down --keep-slot), starts its servers, then the data path
    # again: a lab starting in between must not take its slot, or the lab's servers lose their addresses.
    lab = labnet.LabNetwork(str(tmp_path / "restarting")).up()
    slot = lab.plan.slot
    lab.down(keep_slot=True)
    assert lab.leftovers() == [] and os.path.exists(lab.state_file)
    other = labnet.LabNetwork(str(tmp_path / "meanwhile")).up()
    try:
        assert other.plan.slot != slot
        back = labnet.LabNetwork(str(tmp_path / "restarting")).up()
        assert back.plan.slot == slot
        back.down()
        assert not os.path.exists(back.state_file)
    finally:
        other.down()
