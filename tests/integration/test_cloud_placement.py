"""Placement before anything is created (cloud_placement_info), and the image-in-use rule (talos_image), through
ansible-playbook against every cloud simulator (the Hetzner and Linode ones are checked against the official specs)."""
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
from tests.support.fixtures_cloud import failure_summary, make_image, play, provider_for

#: per provider: a location that cannot deliver user data (None: all can), an arm64 server type (None: none),
#: and whether the maintenance-mode join exists
TRAITS = {"lab": (None, None, True), "hetzner": (None, "cax11", True), "linode": ("eu-central", None, True)}


def ok(proc):
    assert proc.returncode == 0, failure_summary(proc)


def source(cloud):
    return {"source_url": cloud.disk_url()} if cloud.provider == "linode" else {}


def placements(cloud, *cases):
    proc, res = play(cloud, "cloud_placement_info", cases=list(cases))
    ok(proc)
    assert res["Placement in check mode"]["changed"] is False
    return [r["placement"] for r in res["Placement"]["results"]]


def test_placement_is_checked_read_only(cloud):
    no_user_data, arm_type, maintenance = TRAITS[cloud.provider]
    join = "maintenance" if maintenance else "user_data"
    good, bad_location, bad_type, other_join = placements(
        cloud,
        {"location": cloud.location, "server_type": cloud.server_type, "join": join},
        {"location": "mars1", "server_type": cloud.server_type},
        {"location": cloud.location, "server_type": "huge-9000", "join": join},
        {"location": cloud.location, "server_type": cloud.server_type,
         "join": "user_data" if maintenance else "maintenance"})
    assert good["valid"] and good["problems"] == [] and cloud.location in good["locations"]
    assert cloud.server_type in good["server_types"]
    assert not bad_location["valid"] and "location 'mars1'; valid locations:" in bad_location["problems"][0]
    assert cloud.location in bad_location["problems"][0]
    title = "lab cloud" if cloud.provider == "lab" else cloud.provider.capitalize()
    assert not bad_type["valid"] and len(bad_type["problems"]) == 1
    assert bad_type["problems"][0].startswith("Unknown %s server type 'huge-9000'; valid server types: " % title)
    assert set(good["server_types"]) <= set(bad_type["problems"][0].split(": ")[1].split(", "))
    # Every cloud here offers both joins (the lab since its servers run a Talos API).
    assert maintenance and other_join["valid"] and other_join["problems"] == []
    # Read-only: the provider saw no write.
    assert [c for c in cloud.calls() if c[0] != "GET"] == []


def test_placement_checks_architecture_and_user_data(cloud):
    no_user_data, arm_type, maintenance = TRAITS[cloud.provider]
    cases = [{"location": cloud.location, "server_type": cloud.server_type, "arch": "arm64"}]
    if arm_type:
        cases.append({"location": cloud.location, "server_type": arm_type, "arch": "arm64"})
    if no_user_data:
        cases.append({"location": no_user_data, "server_type": cloud.server_type, "join": "user_data"})
    found = placements(cloud, *cases)
    if cloud.provider == "lab":  # lab server types have no architecture of their own
        assert found[0]["valid"] and found[0]["problems"] == []
    else:  # Hetzner's cx23 and every Linode plan are amd64 only
        assert "Server type %s runs amd64 only, not arch arm64" % cloud.server_type in found[0]["problems"][0]
    if arm_type:
        assert found[1]["valid"] and found[0]["server_types"] == [arm_type]
    if no_user_data:
        assert found[-1]["problems"] == [
            "Linode location eu-central cannot deliver user data (join: user_data); use join: maintenance, or one of: "
            "fr-par, us-ord"]


def test_an_image_another_cluster_uses_is_never_deleted(cloud):
    image = make_image(cloud)
    provider = provider_for(cloud)
    other = provider.create_server({
        "name": "other-edge-1", "location": cloud.location, "server_type": cloud.server_type, "image": image,
        "user_data": None, "labels": base.ownership_labels("other", "x"), "firewall": None, "ipv4": True,
        "ipv6": False}, Deadline(60))

    proc, res = play(cloud, "cloud_image", steps=["check", "apply"], state="absent", **source(cloud))
    ok(proc)
    assert [res[t]["changed"] for t in ("Check", "Apply")] == [False, False]
    assert res["Apply"]["talos_image"]["id"] == image and res["Apply"]["talos_image"]["used_by"] == ["other-edge-1"]
    assert any("still used by server(s) other-edge-1" in w for w in res["Apply"]["warnings"])
    assert [str(i["id"]) for i in cloud.images()] == [image]

    provider.delete_server(other, Deadline(60))
    proc, res = play(cloud, "cloud_image", steps=["check", "apply"], state="absent", **source(cloud))
    ok(proc)
    assert [res[t]["changed"] for t in ("Check", "Apply")] == [True, True]
    assert cloud.images() == []
