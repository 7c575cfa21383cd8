"""Placement against a provider catalog, provider name limits, and the image-in-use rule (lab cloud simulator)."""
import pytest
import requests

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base, registry
from ansible_collections.talos.autoextender.plugins.module_utils._providers.lab import LabProvider
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
from ansible_collections.talos.autoextender.plugins.modules.cloud_placement_info import verdict
from tests.support.sim.lab import LabCloud

CATALOG = {
    "locations": {"fsn1": {"user_data": True}, "hel1": {"user_data": True}, "sin": {"user_data": False}},
    "server_types": {"cx23": {"arch": ["amd64"], "locations": ["fsn1", "hel1"]},
                     "cax11": {"arch": ["arm64"], "locations": ["fsn1"]},
                     "any": {"arch": None, "locations": None}},
    "joins": ["maintenance", "user_data"],
}


@pytest.mark.parametrize("location, server_type, arch, join, expected", [
    ("hel1", "cx23", "amd64", "maintenance", []),
    ("hel1", "cx23", None, None, []),
    ("sin", "any", "arm64", "maintenance", []),
    ("mars1", "cx23", "amd64", None, ["Unknown Hetzner location 'mars1'; valid locations: fsn1, hel1, sin"]),
    ("hel1", "cx999", "amd64", None, ["Unknown Hetzner server type 'cx999'; valid server types: any, cax11, cx23"]),
    ("mars1", "cx999", None, None, ["Unknown Hetzner location 'mars1'; valid locations: fsn1, hel1, sin",
                                    "Unknown Hetzner server type 'cx999'; valid server types: any, cax11, cx23"]),
    ("sin", "cx23", None, None, ["Server type cx23 is not available in sin; it is available in: fsn1, hel1"]),
    ("hel1", "cx23", "arm64", None, ["Server type cx23 runs amd64 only, not arch arm64; Hetzner server types for "
                                     "arm64: any, cax11"]),
    ("sin", "any", "amd64", "user_data", ["Hetzner location sin cannot deliver user data (join: user_data); use join: "
                                          "maintenance, or one of: fsn1, hel1"]),
    ("hel1", "cx23", "amd64", "pxe", ["join 'pxe' is not possible on the Hetzner; it supports: maintenance, user_data"]),
])
def test_placement_problems(location, server_type, arch, join, expected):
    assert base.placement_problems(CATALOG, "hetzner", location, server_type, arch, join) == expected


def test_verdict_lists_what_would_work():
    out = verdict(CATALOG, "hetzner", "fsn1", "cx23", "arm64", "maintenance")
    assert out["valid"] is False and out["server_types"] == ["any", "cax11"] and out["locations"] == ["fsn1", "hel1", "sin"]
    assert verdict(CATALOG, "hetzner", "hel1", "cx23", "amd64", "user_data") == {
        "valid": True, "problems": [], "locations": ["fsn1", "hel1", "sin"], "server_types": ["any", "cx23"]}


@pytest.mark.parametrize("provider, servers, firewalls, labels, expected", [
    ("hetzner", ["home-hel1-a-1"], ["home-hel1-a"], base.ownership_labels("home", "hel1-a"), []),
    ("hetzner", ["home lab-1"], [], {}, ["server name 'home lab-1' must be dot-separated DNS labels"]),
    ("hetzner", [], ["f" * 129], {}, ["firewall name '%s' must be at most 128 characters on Hetzner" % ("f" * 129)]),
    ("hetzner", [], [], {"autoextender-cluster": "h" * 64}, ["Invalid Hetzner label value '%s'" % ("h" * 64)]),
    ("hetzner", [], [], {"autoextender-cluster": "Home Lab"}, ["Invalid Hetzner label value 'Home Lab'"]),
    ("linode", ["home-par-a-1"], ["home-par-a"], base.ownership_labels("home", "par-a"), []),
    ("linode", ["1home-par-a-1"], [], {}, ["Linode label '1home-par-a-1' must be 3 to 64"]),
    ("linode", ["a--b"], [], {}, ["Linode label 'a--b' must be 3 to 64"]),
    ("linode", [], ["f" * 33], {}, ["Linode firewall label '%s' must be 3 to 32" % ("f" * 33)]),
    ("linode", [], [], {"autoextender-cluster": "c" * 30}, ["Label autoextender-cluster=%s does not fit in a Linode tag"
                                                            % ("c" * 30)]),
    ("lab", ["lab-lab-a-1"], ["lab-lab-a"], base.ownership_labels("lab", "lab-a"), []),
    ("lab", ["Lab-1"], ["x" * 64], {}, ["lab server name 'Lab-1' must be 1 to 63", "lab firewall name '%s'" % ("x" * 64)]),
    ("lab", [], [], {"k": "v" * 256}, ["lab label k=%s must have" % ("v" * 256)]),
])
def test_name_problems_of_each_provider(provider, servers, firewalls, labels, expected):
    found = registry.provider_class(provider)({}).name_problems(servers, firewalls, labels)
    assert len(found) == len(expected) and all(e in f for e, f in zip(expected, found)), found


@pytest.fixture
def lab():
    with LabCloud(token="t0ken-lab", boot_seconds=0.05, action_seconds=0.05, image_seconds=0.05) as sim:
        yield sim


def provider(lab):
    return LabProvider({"api_token": "t0ken-lab"}, {"api_url": lab.url})


def test_lab_catalog_and_placement(lab):
    catalog = provider(lab).placement_catalog()
    assert sorted(catalog["locations"]) == ["loopback", "loopback-b"]
    assert sorted(catalog["server_types"]) == ["lab-medium", "lab-small"] and catalog["joins"] == ["maintenance", "user_data"]
    provider(lab).check_placement("loopback", "lab-small", "arm64", "user_data")
    provider(lab).check_placement("loopback", "lab-small", "arm64", "maintenance")
    with pytest.raises(AutoextenderError) as err:
        provider(lab).check_placement("mars", "lab-huge", "amd64", "user_data")
    assert err.value.kind == "validation" and err.value.details["problems"] == [
        "Unknown lab cloud location 'mars'; valid locations: loopback, loopback-b",
        "Unknown lab cloud server type 'lab-huge'; valid server types: lab-medium, lab-small"]
    with pytest.raises(AutoextenderError, match="join 'pxe' is not possible on the lab cloud; it supports: "
                                                "maintenance, user_data"):
        provider(lab).check_placement("loopback", "lab-small", None, "pxe")
    assert [c[0] for c in lab.calls()] == ["GET"] * len(lab.calls())  # read-only


def test_an_image_in_use_is_never_deleted_by_anyone(lab):
    spec = {"name": "talos", "talos_version": "v1.13.9", "schematic": "s", "arch": "amd64",
            "labels": base.ownership_labels("home"), "source_url": "https://factory.talos.dev/x/nocloud-amd64.raw.xz"}
    image = provider(lab).create_talos_image(spec, Deadline(10))
    # Someone else's server (no managed-by label) made from our image, through the lab's API.
    answer = requests.post(lab.url + "/servers", headers={"Authorization": "Bearer t0ken-lab"}, timeout=10,
                           json={"name": "other-cluster-1", "location": "loopback", "server_type": "lab-small",
                                 "image": image["id"], "ipv4": False, "labels": {"autoextender-cluster": "other"}})
    assert answer.status_code == 201, answer.text
    other = answer.json()["server"]
    assert provider(lab).image_users(image) == ["other-cluster-1"]
    with pytest.raises(AutoextenderError) as err:
        provider(lab).delete_image(image, Deadline(10))
    assert err.value.kind == "in_use" and err.value.details["used_by"] == ["other-cluster-1"]
    assert image["id"] in lab.state["images"]
    # A server on its way out does not hold the image.
    assert requests.delete(lab.url + "/servers/" + other["id"], headers={"Authorization": "Bearer t0ken-lab"},
                           timeout=10).status_code == 200
    assert provider(lab).image_users(image) == [] and provider(lab).delete_image(image, Deadline(10)) is True
    assert image["id"] not in lab.state["images"]
