"""cloud_floating_watch through ansible-playbook: against the lab cloud and the Hetzner simulator (real hcloud SDK,
requests checked against the document), with a server that stops; on the lab, with real TCP probes of the servers'
loopback addresses and a node that stops answering during the watch."""
import socket
import threading

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from tests.integration.test_cloud_floating_ip import addresses, ok, seed
from tests.support.fixtures_cloud import HetznerBed, LabBed, play

OWNED = base.ownership_labels("home", "edge-a")
STEPS = ("Check", "Apply", "Apply again")


@pytest.fixture(params=["lab", "hetzner"])
def bed(request):
    if request.param == "lab":
        return LabBed(request.getfixturevalue("lab_cloud"))
    return HetznerBed(request.getfixturevalue("hetzner_sim"))


def stop(bed, server_id):
    """The server is off, as a crash the cloud noticed leaves it."""
    if bed.provider == "lab":
        with bed.sim.lock:
            bed.sim.state["servers"][server_id]["status"] = "off"
    else:
        with bed.sim.lock:
            bed.sim.servers[int(server_id)]["status"] = "off"


def test_an_address_leaves_a_stopped_server_once_and_check_mode_only_plans(bed):
    one, two = seed(bed, "edge-a-1", OWNED), seed(bed, "edge-a-2", OWNED)
    ok(play(bed, "cloud_floating_ip", steps=["apply"], server="edge-a-1", location=bed.location)[0])
    address = addresses(bed)["home-edge-a-ipv4"][0]
    proc, res = play(bed, "cloud_floating_watch")
    ok(proc)
    assert [res[t]["changed"] for t in STEPS] == [False, False, False]  # all well: nothing moves
    assert res["Apply"]["cloud_floating_watch"]["addresses"] == [
        {"name": "home-edge-a-ipv4", "address": address, "pool": "edge-a", "server": "edge-a-1"}]

    stop(bed, one)
    proc, res = play(bed, "cloud_floating_watch", duration=3, interval=1)
    ok(proc)
    assert [res[t]["changed"] for t in STEPS] == [True, True, False]
    check, watch = res["Check"]["cloud_floating_watch"], res["Apply"]["cloud_floating_watch"]
    assert check["passes"] == 1 and [(m["from"], m["to"]) for m in check["moves"]] == [("edge-a-1", "edge-a-2")]
    # a stopped server fails every pass: the address moves in the second one, and only once
    assert [(m["from"], m["to"], m["failed_probes"]) for m in watch["moves"]] == [("edge-a-1", "edge-a-2", 2)]
    assert watch["passes"] >= 3 and addresses(bed)["home-edge-a-ipv4"][:2] == (address, two)
    assert res["Apply again"]["cloud_floating_watch"]["moves"] == []


def test_another_pool_is_left_alone_and_a_pool_without_a_healthy_server_keeps_its_address(lab_cloud):
    bed = LabBed(lab_cloud)
    other = base.ownership_labels("home", "edge-b")
    one = seed(bed, "edge-a-1", OWNED)
    b1, b2 = seed(bed, "edge-b-1", other), seed(bed, "edge-b-2", other)
    ok(play(bed, "cloud_floating_ip", steps=["apply"], server="edge-a-1", location=bed.location)[0])
    ok(play(bed, "cloud_floating_ip", steps=["apply"], server="edge-b-1", pool="edge-b", fip_name="home-edge-b-ipv4",
            location=bed.location)[0])
    stop(bed, one)
    stop(bed, b1)
    proc, res = play(bed, "cloud_floating_watch", steps=["apply"], pools=["edge-b"], duration=2, fail_after=1)
    ok(proc)
    assert [m["name"] for m in res["Apply"]["cloud_floating_watch"]["moves"]] == ["home-edge-b-ipv4"]
    assert addresses(bed)["home-edge-b-ipv4"][1] == b2 and addresses(bed)["home-edge-a-ipv4"][1] == one
    # pool edge-a has no healthy server: its address stays where it is
    proc, res = play(bed, "cloud_floating_watch", steps=["apply"], duration=2, fail_after=1)
    ok(proc)
    assert res["Apply"]["cloud_floating_watch"]["moves"] == [] and addresses(bed)["home-edge-a-ipv4"][1] == one


def listen(ip):
    s = socket.socket()
    s.bind((ip, 0))
    s.listen(16)
    return s


def test_real_probes_move_the_address_within_fail_after_intervals_of_the_node_going_quiet(lab_cloud):
    bed = LabBed(lab_cloud)
    seed(bed, "edge-a-1", OWNED)
    two = seed(bed, "edge-a-2", OWNED)
    ips = dict((name, s["public_ipv4"]) for name, s in bed.servers().items())
    first = listen(ips["edge-a-1"])
    port = first.getsockname()[1]
    second = socket.socket()
    second.bind((ips["edge-a-2"], port))
    second.listen(16)
    ok(play(bed, "cloud_floating_ip", steps=["apply"], server="edge-a-1", location=bed.location)[0])
    # edge-a-1 stops answering 3 s into the watch (its port closes: connection refused)
    threading.Timer(3.0, first.close).start()
    try:
        proc, res = play(bed, "cloud_floating_watch", steps=["apply"], duration=8, interval=0.5, fail_after=2,
                         probe={"tcp_ports": [port], "timeout": 0.4})
    finally:
        first.close()
        second.close()
    ok(proc)
    watch = res["Apply"]["cloud_floating_watch"]
    assert [(m["from"], m["to"], m["failed_probes"]) for m in watch["moves"]] == [("edge-a-1", "edge-a-2", 2)]
    # module start-up comes before the watch's clock: the close lands 0-3 s into it; the move two passes later
    assert watch["moves"][0]["after_seconds"] <= 4.5
    assert addresses(bed)["home-edge-a-ipv4"][1] == two and watch["passes"] >= 14
