"""The lab cloud's firewalls are enforced: nftables in each server's namespace (docs/lab.md).

The first tests check the rendering of a ruleset and run anywhere. The rest need root
and the data path tools (tests/support/fixtures_labnet.py): two edges of a real lab
network, a lab cloud that knows them as servers, a plain TCP listener on each edge's
<public IP>:50000 and the edge's Traefik on :80; every assertion is a real connection
from the host (the control node, 10.250.N.1), from home (10.250.N.254) or from the
other edge, made through the lab cloud's API (create, update, delete a firewall,
change a server's labels). The last test runs the join's firewall dance against a real
lab machine (talos-api-sim in maintenance mode) and the real talosctl.
"""
import os
import socket
import struct
import sys
import time

import pytest
import requests

from tests.support import labnet
from tests.support.fixtures_labnet import require_datapath
from tests.support.labnet import netns, nft
from tests.support.labnet._run import ns_argv, run, spawn, wait_for
from tests.support.sim import lab_firewall
from tests.support.sim.lab import LabCloud

API_PORT = 50000
# A closed port drops the SYN: a probe of it takes this long, an open one a few ms.
TIMEOUT = 2.0

LISTENER = """
import socket, sys
server = socket.create_server((sys.argv[1], int(sys.argv[2])), backlog=64)
while True:
    conn, peer = server.accept()
    conn.sendall(("hello from %s to %s\\n" % (sys.argv[3], peer[0])).encode())
    conn.close()
"""

PROBE = """
import socket, sys
try:
    conn = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
else:
    conn.settimeout(0.5)
    try:
        said = conn.recv(200).decode() if sys.argv[2] != "80" else ""
    except socket.timeout:
        said = ""  # a server that waits for the client to speak first (TLS)
    print(("open " + said).strip())
    conn.close()
"""


# -- the ruleset (no root needed)

def test_no_firewall_renders_only_the_removal_of_the_table():
    assert nft.render(None) == "table inet autoextender_fw\ndelete table inet autoextender_fw\n"


def test_a_firewall_without_rules_drops_all_inbound_on_the_uplink_only():
    text = nft.render([])
    assert 'iifname "ae-uplink" jump public' in text and "policy accept" in text
    assert "ct state established,related accept" in text
    public = text.split("chain public {")[1]
    assert "saddr" not in public and public.strip().splitlines()[-3].strip().startswith("counter drop")


def test_rules_render_ports_ranges_icmp_and_both_families():
    text = nft.render([
        {"protocol": "tcp", "port": "80", "sources": ["0.0.0.0/0", "::/0"], "comment": 'fw "web": Ingress'},
        {"protocol": "udp", "port": "30000-32767", "sources": ["10.0.0.0/8", "10.1.0.0/16", "192.0.2.7"]},
        {"protocol": "tcp", "port": "50000", "sources": ["2001:db8::7/128", "2001:db8::/32"]},
        {"protocol": "icmp", "port": None, "sources": ["198.51.100.0/24", "fd00::/8"]},
    ])
    lines = [line.strip() for line in text.splitlines()]
    assert 'ip saddr { 0.0.0.0/0 } tcp dport 80 counter accept comment "fw ?web?: Ingress"' in lines
    assert 'ip6 saddr { ::/0 } tcp dport 80 counter accept comment "fw ?web?: Ingress"' in lines
    # overlapping sources merge (nft refuses overlapping intervals in one set)
    assert "ip saddr { 10.0.0.0/8, 192.0.2.7/32 } udp dport 30000-32767 counter accept" in lines
    assert "ip6 saddr { 2001:db8::/32 } tcp dport 50000 counter accept" in lines
    assert "ip saddr { 198.51.100.0/24 } meta l4proto icmp counter accept" in lines
    assert "ip6 saddr { fd00::/8 } meta l4proto ipv6-icmp counter accept" in lines
    # the old table goes in the same transaction as the new one comes
    assert lines[:3] == ["table inet autoextender_fw", "delete table inet autoextender_fw",
                         "table inet autoextender_fw {"]
    assert text == nft.render([
        {"protocol": "tcp", "port": "80", "sources": ["0.0.0.0/0", "::/0"], "comment": 'fw "web": Ingress'},
        {"protocol": "udp", "port": "30000-32767", "sources": ["10.0.0.0/8", "10.1.0.0/16", "192.0.2.7"]},
        {"protocol": "tcp", "port": "50000", "sources": ["2001:db8::7/128", "2001:db8::/32"]},
        {"protocol": "icmp", "port": None, "sources": ["198.51.100.0/24", "fd00::/8"]},
    ])


@pytest.mark.parametrize("rule,message", [
    ({"protocol": "tcp", "port": "0", "sources": ["0.0.0.0/0"]}, "ports are 1-65535"),
    ({"protocol": "udp", "port": "65536", "sources": ["0.0.0.0/0"]}, "ports are 1-65535"),
    ({"protocol": "tcp", "port": "2000-1000", "sources": ["0.0.0.0/0"]}, "from low to high"),
    ({"protocol": "tcp", "port": None, "sources": ["0.0.0.0/0"]}, "give a port or a range"),
    ({"protocol": "sctp", "port": "1", "sources": ["0.0.0.0/0"]}, "one of tcp, udp, icmp"),
])
def test_rules_nft_would_refuse_are_refused_first(rule, message):
    with pytest.raises(ValueError, match=message):
        nft.render([rule])


def test_the_rules_of_a_server_are_the_union_of_its_firewalls():
    web = {"name": "web", "rules": [{"protocol": "tcp", "port": "80", "sources": ["0.0.0.0/0"], "description": "Ingress"}]}
    api = {"name": "api", "rules": [{"protocol": "tcp", "port": "50000", "sources": ["10.250.1.1/32"],
                                     "description": None}]}
    empty = {"name": "closed", "rules": []}
    assert lab_firewall.rules([]) is None
    assert lab_firewall.rules([empty]) == []
    assert lab_firewall.rules([web, empty, api]) == [
        {"protocol": "tcp", "port": "80", "sources": ["0.0.0.0/0"], "comment": "firewall web: Ingress"},
        {"protocol": "tcp", "port": "50000", "sources": ["10.250.1.1/32"], "comment": "firewall api: tcp"}]


def test_the_lab_api_refuses_ports_outside_1_to_65535():
    with LabCloud(token="t") as lab:
        for port in ("0", "70000", "90-80"):
            answer = requests.post(lab.url + "/firewalls", headers={"Authorization": "Bearer t"}, timeout=10,
                                   json={"name": "bad", "rules": [{"protocol": "tcp", "port": port,
                                                                   "sources": ["0.0.0.0/0"]}]})
            assert answer.status_code == 422 and port in answer.json()["error"]["message"], answer.text


def test_without_a_lab_network_nothing_is_enforced():
    with LabCloud(token="t") as lab:
        lab.seed_server("plain", {"pool": "a"})
        assert lab.enforce_firewalls() == [] and lab.firewall_ruleset("plain") is None


# -- the real thing (root)

def probe_from_host(address, port, timeout=TIMEOUT):
    try:
        conn = socket.create_connection((address, port), timeout=timeout)
    except socket.timeout:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    with conn:
        conn.settimeout(0.5)
        try:
            said = conn.recv(200).decode() if port != 80 else ""
        except socket.timeout:
            said = ""  # a server that waits for the client to speak first (TLS)
        return ("open " + said).strip()


def probe_from(namespace, address, port, timeout=TIMEOUT):
    return run(ns_argv(namespace, [sys.executable, "-c", PROBE, address, str(port), str(timeout)])).strip()


def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def ping(address, timeout=TIMEOUT):
    """True when ``address`` answers one ICMP echo from the host (a raw socket: root)."""
    ident = os.getpid() & 0xFFFF
    body = struct.pack("!HH", ident, 1) + b"lab-firewall"
    packet = struct.pack("!BBH", 8, 0, checksum(struct.pack("!BBH", 8, 0, 0) + body)) + body
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, (address, 0))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, peer = sock.recvfrom(1024)
            except socket.timeout:
                return False
            icmp = data[(data[0] & 0x0F) * 4:]
            if peer[0] == address and icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
                return True
    return False


class Lab:
    """Two edges of the lab network, known to a lab cloud as servers ``fw-a`` (pool a) and ``fw-b`` (pool b)."""

    def __init__(self, network, cloud, edges):
        self.network = network
        self.cloud = cloud
        self.edges = edges
        self.host = network.plan.host_ip()
        self.home_ns = network.home.netns

    def api(self, method, path, **kw):
        answer = requests.request(method, self.cloud.url + path, headers={"Authorization": "Bearer t"},
                                  timeout=30, **kw)
        assert answer.ok, answer.text
        return answer.json() if answer.content else None

    def server(self, name):
        return self.api("GET", "/servers/" + self.cloud.server_by_name(name)["id"])["server"]

    def firewall(self, name, rules, apply_to):
        return self.api("POST", "/firewalls", json={"name": name, "rules": rules, "apply_to": apply_to})["firewall"]

    def a(self):
        return self.edges["fw-a"].public_ip

    def reach(self, port):
        """How port ``port`` of fw-a looks from the host, from home and from fw-b: 'open ...' or 'timeout'."""
        address = self.a()
        return {"host": probe_from_host(address, port), "home": probe_from(self.home_ns, address, port),
                "fw-b": probe_from(self.edges["fw-b"].netns, address, port)}


def tcp(port, *sources, description=None):
    return {"protocol": "tcp", "port": str(port), "sources": list(sources), "description": description}


@pytest.fixture(scope="module")
def fw_lab(lab_network):
    require_datapath()
    edges = {}
    try:
        for name in ("fw-a", "fw-b"):
            edge = edges[name] = lab_network.add_edge(name)
            spawn(edge.netns, [sys.executable, "-c", LISTENER, edge.public_ip, str(API_PORT), name],
                  os.path.join(edge.workdir, "listener.log"))
        for edge in edges.values():
            wait_for(lambda edge=edge: probe_from_host(edge.public_ip, API_PORT).startswith("open"), 15,
                     "the listener of %s" % edge.name)
        with LabCloud(token="t", labnet_dir=lab_network.state_dir) as cloud:
            cloud.seed_server("fw-a", {"pool": "a", "role": "edge"})
            cloud.seed_server("fw-b", {"pool": "b", "role": "edge"})
            yield Lab(lab_network, cloud, edges)
    finally:
        for name in edges:
            lab_network.remove_edge(name)


@pytest.fixture
def lab(fw_lab):
    """The shared lab, with no firewall left behind by a test."""
    yield fw_lab
    for fw in fw_lab.api("GET", "/firewalls")["firewalls"]:
        fw_lab.api("DELETE", "/firewalls/" + fw["id"])
    for name, pool in (("fw-a", "a"), ("fw-b", "b")):
        fw_lab.api("PUT", "/servers/" + fw_lab.cloud.server_by_name(name)["id"],
                   json={"labels": {"pool": pool, "role": "edge"}})


def test_without_a_firewall_a_server_accepts_everything(lab):
    assert lab.server("fw-a")["firewalls"] == []
    reach = lab.reach(API_PORT)
    assert reach == {"host": "open hello from fw-a to %s" % lab.host,
                     "home": "open hello from fw-a to %s" % lab.network.plan.home_uplink_ip(),
                     "fw-b": "open hello from fw-a to %s" % lab.edges["fw-b"].public_ip}
    assert ping(lab.a())
    assert lab.cloud.firewall_ruleset("fw-a") == ""


def test_a_firewall_lets_in_only_what_its_rules_allow(lab):
    fw = lab.firewall("fw-join", [tcp(80, "0.0.0.0/0"), tcp(API_PORT, lab.host + "/32", description="control node")],
                      {"pool": "a"})
    assert lab.server("fw-a")["firewalls"] == [fw["id"]] and lab.server("fw-b")["firewalls"] == []
    ruleset = lab.cloud.firewall_ruleset("fw-a")
    assert "ip saddr %s tcp dport 50000" % lab.host in ruleset and 'comment "firewall fw-join: control node"' in ruleset
    # the Talos API port: the control node only
    assert lab.reach(API_PORT) == {"host": "open hello from fw-a to %s" % lab.host, "home": "timeout",
                                   "fw-b": "timeout"}
    # port 80 from everywhere, and Traefik still reaches home through WireGuard (replies pass as established)
    assert lab.reach(80) == {"host": "open", "home": "open", "fw-b": "open"}
    answer = labnet.get(lab.a(), "/").json()
    assert answer["identity"] == "home" and answer["peer"] == lab.edges["fw-a"].tunnel_ip
    assert not ping(lab.a())  # no icmp rule
    # fw-b has no firewall; fw-a's outbound traffic is never filtered
    assert probe_from(lab.edges["fw-a"].netns, lab.edges["fw-b"].public_ip, API_PORT).startswith("open")

    # the rule goes: closed to the control node too
    lab.api("PUT", "/firewalls/" + fw["id"], json={"rules": [tcp(80, "0.0.0.0/0")]})
    assert lab.reach(API_PORT) == {"host": "timeout", "home": "timeout", "fw-b": "timeout"}
    assert lab.reach(80) == {"host": "open", "home": "open", "fw-b": "open"}

    # the server's labels no longer match: no firewall, open again; and back
    lab.api("PUT", "/servers/" + lab.cloud.server_by_name("fw-a")["id"], json={"labels": {"pool": "elsewhere"}})
    assert lab.server("fw-a")["firewalls"] == []
    assert probe_from(lab.home_ns, lab.a(), API_PORT).startswith("open")
    assert lab.cloud.firewall_ruleset("fw-a") == ""
    lab.api("PUT", "/servers/" + lab.cloud.server_by_name("fw-a")["id"], json={"labels": {"pool": "a"}})
    assert probe_from(lab.home_ns, lab.a(), API_PORT) == "timeout"

    # the firewall is deleted: open again
    lab.api("DELETE", "/firewalls/" + fw["id"])
    assert lab.reach(API_PORT)["home"].startswith("open") and lab.cloud.firewall_ruleset("fw-a") == ""


def test_firewalls_that_apply_together_allow_the_union_of_their_rules(lab):
    # the product's pool firewall (tests nothing about 50000) and a second one that opens it to home
    lab.firewall("fw-pool", [tcp(80, "0.0.0.0/0", "::/0"), tcp(443, "0.0.0.0/0", "::/0"),
                             {"protocol": "udp", "port": "51820", "sources": ["0.0.0.0/0", "::/0"]}], {"pool": "a"})
    lab.firewall("fw-home-api", [tcp(API_PORT, lab.network.plan.home_uplink_ip() + "/32")], {"role": "edge"})
    lab.firewall("fw-nothing", [], {"pool": "a"})
    lab.firewall("fw-ping", [{"protocol": "icmp", "sources": [lab.host + "/32", "::/0"]}], {"pool": "a"})
    assert len(lab.server("fw-a")["firewalls"]) == 4
    reach = lab.reach(API_PORT)
    assert reach["host"] == "timeout" and reach["fw-b"] == "timeout" and reach["home"].startswith("open")
    assert lab.reach(80) == {"host": "open", "home": "open", "fw-b": "open"}
    assert ping(lab.a())
    answer = labnet.get(lab.a(), "/").json()
    assert answer["peer"] == lab.edges["fw-a"].tunnel_ip


def test_a_firewall_without_rules_drops_all_inbound_but_no_outbound(lab):
    lab.firewall("fw-closed", [], {"pool": "a"})
    assert lab.reach(80) == {"host": "timeout", "home": "timeout", "fw-b": "timeout"}
    assert probe_from_host(lab.a(), API_PORT) == "timeout"
    # what fw-a opens itself gets its answers
    assert probe_from(lab.edges["fw-a"].netns, lab.edges["fw-b"].public_ip, API_PORT).startswith("open")
    assert probe_from(lab.edges["fw-a"].netns, lab.host, 1) == "refused"  # the host's RST is a reply too


def test_enforcing_is_idempotent_and_skips_servers_without_a_namespace(lab):
    lab.firewall("fw-web", [tcp(80, "0.0.0.0/0")], {"role": "edge"})
    lab.cloud.seed_server("fw-no-namespace", {"role": "edge"})
    try:
        first = [line for line in lab.cloud.firewall_ruleset("fw-a").splitlines() if "counter" not in line]
        assert sorted(lab.cloud.enforce_firewalls()) == ["fw-a", "fw-b"]
        assert lab.cloud.enforce_firewalls([lab.cloud.server_by_name("fw-no-namespace")]) == []
        again = [line for line in lab.cloud.firewall_ruleset("fw-a").splitlines() if "counter" not in line]
        assert again == first and any("tcp dport 80" in line for line in
                                      lab.cloud.firewall_ruleset("fw-a").splitlines())
        assert netns.exists(lab.edges["fw-a"].netns) and lab.cloud.firewall_ruleset("fw-no-namespace") is None
    finally:
        with lab.cloud.lock:
            del lab.cloud.state["servers"][lab.cloud.server_by_name("fw-no-namespace")["id"]]


def test_the_real_nft_takes_every_kind_of_rule_atomically(lab):
    scratch = "autoextender-fwcheck-%d" % os.getpid()
    run(["ip", "netns", "add", scratch])
    try:
        rules = [{"protocol": "tcp", "port": "1000-2000", "sources": ["10.0.0.0/8", "2001:db8::/32"], "comment": "x"},
                 {"protocol": "udp", "port": "51820", "sources": ["0.0.0.0/0", "::/0"]},
                 {"protocol": "icmp", "sources": ["192.0.2.0/24", "fd00::/8"]}]
        nft.apply(scratch, nft.render(rules))
        nft.apply(scratch, nft.render(rules))
        listed = nft.ruleset(scratch)
        assert listed.count("table inet autoextender_fw") == 1
        for needle in ("tcp dport 1000-2000", "ip6 saddr 2001:db8::/32", "udp dport 51820", "meta l4proto icmp",
                       "meta l4proto ipv6-icmp", "ip saddr 10.0.0.0/8"):
            assert needle in listed, (needle, listed)
        # a script nft refuses changes nothing (one transaction)
        with pytest.raises(labnet.LabnetError):
            nft.apply(scratch, nft.render(None) + "table inet autoextender_fw { chain broken { nonsense; } }\n")
        assert nft.ruleset(scratch) == listed
        nft.apply(scratch, nft.render(None))
        nft.apply(scratch, nft.render(None))
        assert nft.ruleset(scratch) == ""
    finally:
        run(["ip", "netns", "delete", scratch], check=False)


def test_the_talos_api_of_a_joining_server_is_open_to_the_control_node_only(lab_network, talosctl):
    """The pool firewall's join dance, against a real lab machine (talos-api-sim) in maintenance mode."""
    from tests.conftest import require_tool
    require_datapath()
    require_tool("talos-api-sim")
    pool = [tcp(80, "0.0.0.0/0", "::/0"), tcp(443, "0.0.0.0/0", "::/0"),
            {"protocol": "udp", "port": "51820", "sources": ["0.0.0.0/0", "::/0"], "description": "KubeSpan"}]
    with LabCloud(token="t", labnet_dir=lab_network.state_dir) as cloud:
        lab = Lab(lab_network, cloud, {})
        fw = lab.firewall("fw-join-pool", pool, {"pool": "fw-join"})
        image = lab.api("POST", "/images", json={"name": "talos", "source_url": "https://factory.example/x.raw.xz",
                                                 "talos_version": "v1.13.9", "arch": "amd64"})["image"]
        wait_for(lambda: lab.api("GET", "/images/" + image["id"])["image"]["status"] == "available", 30, "the image")
        srv = lab.api("POST", "/servers", json={"name": "fw-join-1", "location": "loopback", "server_type": "lab-small",
                                                "image": image["id"], "labels": {"pool": "fw-join"},
                                                "ipv6": False})["server"]
        try:
            wait_for(lambda: lab.server("fw-join-1")["talos"]["stage"] == "maintenance", 60, "maintenance mode")
            address = srv["public_net"]["ipv4"]
            namespace = lab_network.plan.edge_netns("fw-join-1")
            # before: the machine listens (seen from inside), but the cloud lets nobody in
            assert probe_from(namespace, address, API_PORT) == "open"
            assert probe_from_host(address, API_PORT) == "timeout"
            assert probe_from(lab.home_ns, address, API_PORT) == "timeout"
            # during: TCP 50000 open to the control node only; the real talosctl gets in from there
            lab.api("PUT", "/firewalls/" + fw["id"], json={"rules": pool + [tcp(API_PORT, lab.host + "/32")]})
            version = talosctl.run("version", "--insecure", "-n", address, "-e", address)
            assert "Server:" in version.stdout, version.stdout
            assert probe_from(lab.home_ns, address, API_PORT) == "timeout"
            # after: closed again
            lab.api("PUT", "/firewalls/" + fw["id"], json={"rules": pool})
            assert probe_from_host(address, API_PORT) == "timeout"
            assert talosctl.run("version", "--insecure", "-n", address, "-e", address, "--timeout", "3s",
                                check=False).returncode != 0
        finally:
            lab.api("DELETE", "/servers/" + srv["id"])
            lab.api("DELETE", "/firewalls/" + fw["id"])
