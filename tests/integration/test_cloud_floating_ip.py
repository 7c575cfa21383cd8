"""cloud_floating_ip through ansible-playbook, against the lab cloud and the Hetzner simulator (real hcloud SDK,
requests checked against the Hetzner document); the provider layer's floating addresses directly."""
import pytest
import requests

from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import owned_floating_ips
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
from tests.support.fixtures_cloud import HetznerBed, LabBed, failure_summary, play, provider_for

OWNED = base.ownership_labels("home", "edge-a")
ALL_STEPS = ("Check", "Apply", "Check again", "Apply again")


@pytest.fixture(params=["lab", "hetzner"])
def bed(request):
    if request.param == "lab":
        return LabBed(request.getfixturevalue("lab_cloud"))
    return HetznerBed(request.getfixturevalue("hetzner_sim"))


def addresses(bed):
    """{name: (address, server id or None, labels)} as the cloud has it."""
    if bed.provider == "lab":
        items = list(bed.sim.state["floating_ips"].values())
        return dict((f["name"], (f["ip"], f["server"], dict(f["labels"]))) for f in items)
    with bed.sim.lock:
        items = list(bed.sim.floating_ips.values())
    return dict((f["name"], (f["ip"], None if f["server"] is None else str(f["server"]), dict(f["labels"])))
                for f in items)


def seed(bed, name, labels):
    return str(bed.seed_server(name, labels)["id"])


def ok(proc):
    assert proc.returncode == 0, failure_summary(proc)


def test_create_move_delete_in_four_steps(bed):
    one, two = seed(bed, "edge-a-1", OWNED), seed(bed, "edge-a-2", OWNED)
    proc, res = play(bed, "cloud_floating_ip", server="edge-a-1", location=bed.location)
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    address, server, labels = addresses(bed)["home-edge-a-ipv4"]
    assert server == one and dict((k, labels.get(k)) for k in OWNED) == OWNED
    made = res["Apply"]["cloud_floating_ip"]
    assert (made["address"], made["server"], made["location"], made["family"]) == (address, one, bed.location, "ipv4")
    assert res["Check"]["cloud_floating_ip"]["address"] is None and res["Check"]["cloud_floating_ip"]["server"] == one
    assert res["Apply"]["diff"]["before"] == {} and res["Apply"]["diff"]["after"]["server"] == one

    # a move: one assign, the same address
    proc, res = play(bed, "cloud_floating_ip", server="edge-a-2")
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    assert addresses(bed)["home-edge-a-ipv4"][:2] == (address, two)
    assert res["Check"]["cloud_floating_ip"]["server"] == two
    assert (res["Apply"]["diff"]["before"]["server"], res["Apply"]["diff"]["after"]["server"]) == (one, two)

    # candidates: it stays on a candidate, else goes to the first candidate that is a server of the pool
    proc, res = play(bed, "cloud_floating_ip", steps=["check", "apply"], servers=["edge-a-1", "edge-a-2"])
    ok(proc)
    assert [res[t]["changed"] for t in ("Check", "Apply")] == [False, False]
    proc, res = play(bed, "cloud_floating_ip", servers=["nowhere", "edge-a-1"])
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    assert addresses(bed)["home-edge-a-ipv4"][:2] == (address, one)
    proc, res = play(bed, "cloud_floating_ip", steps=["check"], servers=["nowhere"])
    assert proc.returncode != 0 and res["Check"]["failure"]["kind"] == "not_found"

    # without server: the routing is left as it is
    proc, res = play(bed, "cloud_floating_ip", steps=["check", "apply"])
    ok(proc)
    assert [res[t]["changed"] for t in ("Check", "Apply")] == [False, False]

    # absent: unassigned, then deleted (the cloud refuses to delete an assigned address)
    proc, res = play(bed, "cloud_floating_ip", state="absent")
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    assert addresses(bed) == {}


def test_a_server_of_another_pool_is_refused(bed):
    seed(bed, "edge-b-1", base.ownership_labels("home", "edge-b"))
    proc, res = play(bed, "cloud_floating_ip", steps=["check", "apply"], server="edge-b-1", location=bed.location)
    assert proc.returncode != 0
    assert res["Check"]["failure"]["kind"] == "conflict" and "edge-b" in res["Check"]["msg"]
    assert addresses(bed) == {}


def test_a_missing_server_fails_before_any_change(bed):
    proc, res = play(bed, "cloud_floating_ip", steps=["apply"], server="nowhere", location=bed.location)
    assert proc.returncode != 0
    assert res["Apply"]["failure"]["kind"] == "not_found" and "nowhere" in res["Apply"]["msg"]
    assert addresses(bed) == {}


def test_a_foreign_address_with_our_name_is_left_alone(lab_cloud):
    bed = LabBed(lab_cloud)
    r = requests.post(lab_cloud.url + "/floating_ips", json={"name": "home-edge-a-ipv4", "location": "loopback",
                                                             "labels": {"team": "web"}},
                      headers={"Authorization": "Bearer " + lab_cloud.token}, timeout=5)
    assert r.status_code == 201, r.text
    before = addresses(bed)
    for state in ("present", "absent"):
        proc, res = play(bed, "cloud_floating_ip", steps=["apply"], state=state, location="loopback")
        assert proc.returncode != 0
        assert res["Apply"]["failure"]["kind"] == "conflict" and "team=web" in res["Apply"]["msg"]
    assert addresses(bed) == before


def test_ipv6_on_the_lab_is_refused_with_the_reason(lab_cloud):
    proc, res = play(LabBed(lab_cloud), "cloud_floating_ip", steps=["check"], location="loopback", family="ipv6")
    assert proc.returncode != 0
    assert res["Check"]["failure"]["kind"] == "validation" and "IPv4 floating addresses only" in res["Check"]["msg"]


def test_linode_is_refused_with_the_reason(lab_cloud):
    bed = LabBed(lab_cloud)
    bed.provider = "linode"
    proc, res = play(bed, "cloud_floating_ip", steps=["check"], location="fr-par")
    assert proc.returncode != 0
    assert res["Check"]["failure"]["kind"] == "validation" and "IP sharing" in res["Check"]["msg"]


def test_provider_layer_lists_by_owner_and_moves(bed):
    one, two = seed(bed, "edge-a-1", OWNED), seed(bed, "edge-a-2", OWNED)
    provider = provider_for(bed)
    made = provider.create_floating_ip({"name": "home-edge-a-ipv4", "family": "ipv4", "location": bed.location,
                                        "labels": OWNED, "server": None}, Deadline(60))
    assert made["server"] is None and made["address"]
    other = provider.create_floating_ip({"name": "home-edge-b-ipv4", "family": "ipv4", "location": None,
                                         "labels": base.ownership_labels("home", "edge-b"), "server": one},
                                        Deadline(60))
    assert other["server"] == one and other["location"] == bed.location
    assert [f["name"] for f in provider.list_floating_ips(OWNED)] == ["home-edge-a-ipv4"]
    assert [f["name"] for f in owned_floating_ips(provider, "home")] == ["home-edge-a-ipv4", "home-edge-b-ipv4"]
    assert owned_floating_ips(provider, "other") == []
    moved = provider.assign_floating_ip(made, two, Deadline(60))
    assert (moved["address"], moved["server"]) == (made["address"], two)
    assert provider.assign_floating_ip(moved, two, Deadline(60))["server"] == two  # already there: no call
    assert provider.delete_floating_ip(moved, Deadline(60)) is True
    assert provider.delete_floating_ip(moved, Deadline(60)) is False
    assert provider.delete_floating_ip(other, Deadline(60)) is True
    assert addresses(bed) == {}
