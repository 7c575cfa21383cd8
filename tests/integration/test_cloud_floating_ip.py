"""cloud_floating_ip through ansible-playbook, against the lab cloud and the Hetzner and Linode simulators (real
hcloud and linode_api4 SDKs, requests checked against the providers' documents); the provider layer's floating
addresses directly."""
import pytest
import requests

from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import owned_floating_ips
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from ansible_collections.talos.autoextender.plugins.module_utils._providers.linode import decode_tags
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
from tests.support.fixtures_cloud import HetznerBed, LabBed, LinodeBed, failure_summary, play, provider_for

OWNED = base.ownership_labels("home", "edge-a")
ALL_STEPS = ("Check", "Apply", "Check again", "Apply again")


@pytest.fixture(params=["lab", "hetzner", "linode"])
def bed(request):
    if request.param == "lab":
        return LabBed(request.getfixturevalue("lab_cloud"))
    if request.param == "linode":
        return LinodeBed(request.getfixturevalue("linode_sim"))
    return HetznerBed(request.getfixturevalue("hetzner_sim"))


def addresses(bed):
    """{name: (address, server id or None, labels)} as the cloud has it (Linode: every public IPv4 of a Linode with
    a cluster tag after its first, named after the Linode's cluster and pool tags)."""
    if bed.provider == "linode":
        out = {}
        with bed.sim.lock:
            for inst in bed.sim.instances.values():
                tags = decode_tags(inst["tags"])
                if base.CLUSTER_LABEL not in tags:
                    continue
                for extra in [a for a in inst["ipv4"] if not a.startswith("192.168.")][1:]:
                    out["%s-%s-ipv4" % (tags.get(base.CLUSTER_LABEL), tags.get(base.POOL_LABEL))] = \
                        (extra, str(inst["id"]), tags)
        return out
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
    own = dict((s["id"], s["public_ipv4"]) for s in bed.servers().values())
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

    if bed.provider == "linode":  # the pool's Linodes keep the address they were created with, first
        assert [bed.sim.instances[int(i)]["ipv4"] for i in (one, two)] == [[own[one], address], [own[two]]]

    # without server: the routing is left as it is
    proc, res = play(bed, "cloud_floating_ip", steps=["check", "apply"])
    ok(proc)
    assert [res[t]["changed"] for t in ("Check", "Apply")] == [False, False]

    # absent: unassigned, then deleted (the cloud refuses to delete an assigned address)
    proc, res = play(bed, "cloud_floating_ip", state="absent")
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    assert addresses(bed) == {}


def test_labels_change_in_place_and_the_address_stays(bed):
    one = seed(bed, "edge-a-1", OWNED)
    ok(play(bed, "cloud_floating_ip", steps=["apply"], server="edge-a-1", location=bed.location)[0])
    address = addresses(bed)["home-edge-a-ipv4"][0]
    proc, res = play(bed, "cloud_floating_ip", steps=["check", "apply"], labels={"role": "ingress"})
    if bed.provider == "linode":  # the address is known by its Linode's tags; nothing of it changes
        assert proc.returncode != 0
        assert res["Check"]["failure"]["kind"] == "validation" and "no labels of its own" in res["Check"]["msg"]
        assert addresses(bed)["home-edge-a-ipv4"][:2] == (address, one)
        return
    ok(proc)
    assert [res[t]["changed"] for t in ("Check", "Apply")] == [True, True]
    diff = res["Apply"]["diff"]
    assert "role" not in diff["before"]["labels"] and diff["after"]["labels"]["role"] == "ingress"
    # labels not listed are kept; the ownership labels stay; the address and its routing do not change
    proc, res = play(bed, "cloud_floating_ip", labels={"tier": "edge"})
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    now, server, labels = addresses(bed)["home-edge-a-ipv4"]
    assert (now, server) == (address, one)
    assert (labels["role"], labels["tier"]) == ("ingress", "edge") and base.carries(labels, OWNED)


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


def test_ipv6_on_linode_is_refused_with_the_reason(linode_sim):
    proc, res = play(LinodeBed(linode_sim), "cloud_floating_ip", steps=["check"], location="fr-par", family="ipv6")
    assert proc.returncode != 0
    assert res["Check"]["failure"]["kind"] == "validation" and "IPv4 only" in res["Check"]["msg"]


def test_linode_address_needs_a_linode_of_its_pool(linode_sim):
    bed = LinodeBed(linode_sim)
    proc, res = play(bed, "cloud_floating_ip", steps=["apply"], location=bed.location)
    assert proc.returncode != 0
    assert res["Apply"]["failure"]["kind"] == "validation" and "only on a Linode" in res["Apply"]["msg"]
    assert addresses(bed) == {} and linode_sim.calls("POST", "/v4/networking/ips") == []


def test_linode_provider_layer_derives_ownership_from_the_linodes(linode_sim):
    bed = LinodeBed(linode_sim)
    one, two = seed(bed, "edge-a-1", OWNED), seed(bed, "edge-a-2", OWNED)
    b1 = seed(bed, "edge-b-1", base.ownership_labels("home", "edge-b"))
    foreign = linode_sim.seed_instance("web-1", ["team=web"], region=bed.location)
    provider = provider_for(bed)
    spec = {"name": "home-edge-a-ipv4", "family": "ipv4", "location": None, "labels": OWNED, "server": one}
    for bad, words in ((dict(spec, name="home-edge-a-v4"), "must be home-edge-a-ipv4"),
                       (dict(spec, server=None), "only on a Linode"), (dict(spec, server=b1), "edge-b"),
                       (dict(spec, labels=dict(OWNED, team="web")), "team"),
                       (dict(spec, location="us-ord"), "us-ord")):
        with pytest.raises(AutoextenderError) as caught:
            provider.create_floating_ip(bad, Deadline(60))
        assert words in caught.value.msg
    assert addresses(bed) == {}
    made = provider.create_floating_ip(spec, Deadline(60))
    assert (made["server"], made["location"], made["labels"], made["id"]) == (one, bed.location, OWNED, made["address"])
    other = provider.create_floating_ip(dict(spec, name="home-edge-b-ipv4", server=b1,
                                             labels=base.ownership_labels("home", "edge-b")), Deadline(60))
    # an extra address of someone else's Linode, and the first address of ours, are not ours
    linode_sim.instances[foreign["id"]]["ipv4"].append("198.51.100.200")
    assert [f["name"] for f in provider.list_floating_ips(OWNED)] == ["home-edge-a-ipv4"]
    assert [f["name"] for f in owned_floating_ips(provider, "home")] == ["home-edge-a-ipv4", "home-edge-b-ipv4"]
    assert owned_floating_ips(provider, "other") == []
    assert provider.get_floating_ip("home-edge-a-ipv4") == made
    moved = provider.assign_floating_ip(made, two, Deadline(60))
    assert (moved["address"], moved["server"]) == (made["address"], two)
    assert linode_sim.calls("POST", "/v4/networking/ips/assign")[-1][2] == 200
    assert provider.assign_floating_ip(moved, two, Deadline(60))["server"] == two  # already there: no call
    assert len(linode_sim.calls("POST", "/v4/networking/ips/assign")) == 1
    for target, words in ((b1, "edge-b"), (None, "delete it instead"), (str(foreign["id"]), "managed-by")):
        with pytest.raises(AutoextenderError) as caught:
            provider.assign_floating_ip(moved, target, Deadline(60))
        assert words in caught.value.msg
    # a server's own first address is never taken for a floating one, even by its name
    first = dict(moved, address=bed.sim.instances[int(two)]["ipv4"][0], id=None)
    with pytest.raises(AutoextenderError) as caught:
        provider.delete_floating_ip(first, Deadline(60))
    assert caught.value.kind == "conflict"
    assert provider.delete_floating_ip(moved, Deadline(60)) is True
    assert provider.delete_floating_ip(moved, Deadline(60)) is False
    assert provider.delete_floating_ip(other, Deadline(60)) is True
    assert addresses(bed) == {} and [len(linode_sim.instances[int(i)]["ipv4"]) for i in (one, two, b1)] == [1, 1, 1]


def test_provider_layer_lists_by_owner_and_moves(bed):
    if bed.provider == "linode":
        pytest.skip("a Linode address exists only on a Linode: the Linode test above")
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
