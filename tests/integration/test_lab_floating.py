"""The lab cloud's floating addresses move for real (root): the host's route to the address changes, and every
server of the pool holds the address (docs/lab.md), so a client that keeps connecting to the same address reaches
the server the cloud routes it to. Two edges of a real lab network, a TCP listener on each that says its name."""
import sys

import pytest
import requests

from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from tests.support.fixtures_labnet import require_datapath
from tests.support.labnet._run import run, spawn, wait_for
from tests.support.sim.lab import LabCloud

PORT = 8081
OWNED = base.ownership_labels("home", "fl")
LISTENER = """
import socket, sys
server = socket.create_server(("0.0.0.0", int(sys.argv[1])), backlog=64)
while True:
    conn, peer = server.accept()
    conn.sendall(("hello from %s" % sys.argv[2]).encode())
    conn.close()
"""


def hello(address, timeout=1.0):
    import socket
    try:
        with socket.create_connection((address, PORT), timeout=timeout) as conn:
            conn.settimeout(timeout)
            return conn.recv(100).decode()
    except OSError as e:
        return type(e).__name__


@pytest.fixture(scope="module")
def floating_lab(lab_network):
    require_datapath()
    edges = {}
    try:
        for name in ("fl-a", "fl-b", "fl-c"):
            edge = edges[name] = lab_network.add_edge(name)
            spawn(edge.netns, [sys.executable, "-c", LISTENER, str(PORT), name], edge.workdir + "/floating.log")
        for edge in edges.values():
            wait_for(lambda edge=edge: hello(edge.public_ip).startswith("hello"), 15, "the listener of %s" % edge.name)
        with LabCloud(token="t", labnet_dir=lab_network.state_dir) as cloud:
            for name, edge in edges.items():
                srv = cloud.seed_server(name, OWNED if name != "fl-c" else base.ownership_labels("home", "other"))
                srv["public_net"]["ipv4"] = edge.public_ip  # the seeded server is this edge
            yield cloud, edges
    finally:
        for name in edges:
            lab_network.remove_edge(name)


def api(cloud, method, path, **kw):
    answer = requests.request(method, cloud.url + path, headers={"Authorization": "Bearer t"}, timeout=30, **kw)
    assert answer.ok, answer.text
    return answer.json() if answer.content else None


def test_a_move_is_a_route_change_and_every_pool_node_holds_the_address(floating_lab):
    cloud, edges = floating_lab
    a, b = cloud.server_by_name("fl-a"), cloud.server_by_name("fl-b")
    fip = api(cloud, "POST", "/floating_ips", json={"name": "fl-ipv4", "location": "loopback", "labels": OWNED,
                                                    "server": a["id"]})["floating_ip"]
    address = fip["ip"]
    try:
        assert address not in [e.public_ip for e in edges.values()]
        assert hello(address) == "hello from fl-a"
        held = dict((name, address in run(["ip", "-n", e.netns, "-4", "address", "show", "dev", "lo"]))
                    for name, e in edges.items())
        assert held == {"fl-a": True, "fl-b": True, "fl-c": False}  # fl-c is of another pool
        api(cloud, "POST", "/floating_ips/%s/actions/assign" % fip["id"], json={"server": b["id"]})
        assert hello(address) == "hello from fl-b"
        # a new server of the lab never gets the floating address
        assert cloud.new_address(0) != address
        api(cloud, "POST", "/floating_ips/%s/actions/assign" % fip["id"], json={"server": None})
        assert not hello(address, timeout=0.5).startswith("hello")
        assert "blackhole %s" % address in run(["ip", "route", "show"])
    finally:
        api(cloud, "POST", "/floating_ips/%s/actions/assign" % fip["id"], json={"server": None})
        api(cloud, "DELETE", "/floating_ips/%s" % fip["id"])


def test_deleting_the_server_routes_the_address_nowhere(floating_lab):
    cloud, edges = floating_lab
    a = cloud.server_by_name("fl-a")
    fip = api(cloud, "POST", "/floating_ips", json={"name": "fl-ipv4-2", "labels": OWNED, "server": a["id"]})["floating_ip"]
    assert fip["location"] == "loopback" and hello(fip["ip"]) == "hello from fl-a"
    with cloud.lock:
        cloud.unassign_floating_of(a)
    assert cloud.state["floating_ips"][fip["id"]]["server"] is None
    assert "blackhole %s" % fip["ip"] in run(["ip", "route", "show"])
    api(cloud, "DELETE", "/floating_ips/%s" % fip["id"])
    assert fip["ip"] not in run(["ip", "route", "show"])
    assert fip["ip"] not in run(["ip", "-n", edges["fl-a"].netns, "address", "show", "dev", "lo"])
