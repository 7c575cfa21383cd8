"""LinodeProvider with the real linode_api4 SDK against the Linode API simulator (checked against the official
document: a request or response that does not match it fails the test at teardown)."""
import base64
import gzip
import os
import time

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers.base import ownership_labels
from ansible_collections.talos.autoextender.plugins.module_utils._providers.linode import (
    DIRECT_DISK, USER_DATA_LIMIT, LinodeProvider)
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline

SCHEMATIC = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"
POOL = ownership_labels("home", "par-a")


def image_spec(source, name="talos-v1.13.9-amd64"):
    return {"name": name, "talos_version": "v1.13.9", "schematic": SCHEMATIC, "arch": "amd64",
            "labels": ownership_labels("home"), "source_url": source}


def server_spec(image_id, name="edge-par-a-1", location="fr-par", user_data=None, firewall=None):
    return {"name": name, "location": location, "server_type": "g6-standard-1", "image": image_id,
            "user_data": user_data, "labels": POOL, "firewall": firewall, "ipv4": True, "ipv6": True}


FIREWALL = {"name": "home-par-a", "labels": POOL, "applies_to": POOL, "rules": [
    {"protocol": "udp", "port": "51820", "sources": ["0.0.0.0/0", "::/0"], "description": "KubeSpan"},
    {"protocol": "tcp", "port": "443", "sources": ["0.0.0.0/0", "::/0"], "description": None},
    {"protocol": "tcp", "port": "50000", "sources": ["198.51.100.7/32"], "description": "talos apid from control"},
]}


def private_images(sim):
    return [i for i in sim.images.values() if not i["is_public"]]


@pytest.fixture
def image(linode_provider, talos_disk):
    return linode_provider.create_talos_image(image_spec(talos_disk), Deadline(30))


# -- images ---------------------------------------------------------------------------------------
def test_image_upload_then_reuse_by_labels(linode_sim, linode_provider, talos_disk):
    made = linode_provider.create_talos_image(image_spec(talos_disk), Deadline(30))
    stored = linode_sim.images[made["id"]]
    assert stored["status"] == "available" and made["status"] == "available"
    assert "managed-by=talos-autoextender" in stored["tags"] and "talos-schematic=" + SCHEMATIC in stored["tags"]
    assert linode_sim.uploads == [(made["id"], len(open(talos_disk, "rb").read()))]
    assert (made["talos_version"], made["schematic"], made["arch"]) == ("v1.13.9", SCHEMATIC, "amd64")
    assert made["size_bytes"] == 3 * 1048576
    found = linode_provider.list_images({"talos-version": "v1.13.9", "managed-by": "talos-autoextender"})
    assert [i["id"] for i in found] == [made["id"]]
    assert linode_provider.list_images({"talos-version": "v1.12.0"}) == []
    assert len(linode_sim.calls("POST", "/images/upload$")) == 1


def test_image_from_url(linode_sim, linode_provider, talos_disk):
    linode_sim.files["akamai-amd64.raw.gz"] = open(talos_disk, "rb").read()
    url = linode_sim.url.replace("/v4", "/files/akamai-amd64.raw.gz")
    made = linode_provider.create_talos_image(image_spec(url), Deadline(30))
    assert linode_sim.images[made["id"]]["status"] == "available"
    assert linode_sim.calls("GET", "^/files/")


def test_image_not_gzip_is_refused_before_any_call(linode_sim, linode_provider, tmp_path):
    raw = tmp_path / "akamai-amd64.raw"
    raw.write_bytes(b"\0" * 4096)
    with pytest.raises(AutoextenderError) as err:
        linode_provider.create_talos_image(image_spec(str(raw)), Deadline(10))
    assert err.value.kind == "validation" and "gzip" in err.value.msg
    assert linode_sim.log == []


def test_image_dropped_upload_leaves_no_image(linode_sim, linode_provider, talos_disk):
    linode_sim.fail_next("drop", path="^/upload/")
    with pytest.raises(AutoextenderError) as err:
        linode_provider.create_talos_image(image_spec(talos_disk), Deadline(20))
    assert "upload" in err.value.msg
    assert private_images(linode_sim) == []
    assert linode_sim.calls("DELETE", "/images/private")


def test_image_rejected_by_processing_leaves_no_image(linode_sim, linode_provider, tmp_path):
    broken = tmp_path / "broken.raw.gz"
    broken.write_bytes(gzip.compress(os.urandom(100000))[:300])  # gzip magic, truncated body
    with pytest.raises(AutoextenderError) as err:
        linode_provider.create_talos_image(image_spec(str(broken)), Deadline(20))
    assert "not accepted" in err.value.msg
    assert private_images(linode_sim) == []


@pytest.mark.parametrize("fault", ["commit_then_drop", "commit_then_error"])
def test_image_create_answer_lost_deletes_the_half_made_image_and_sends_again(linode_sim, linode_provider, talos_disk,
                                                                              fault):
    """The upload URL of a create whose answer was lost is gone with it: that image cannot be adopted."""
    linode_sim.fail_next(fault, status=500, method="POST", path="/images/upload$")
    made = linode_provider.create_talos_image(image_spec(talos_disk), Deadline(30))
    assert [c[2] for c in linode_sim.calls("POST", "/images/upload$")][1:] == [200]
    assert len(linode_sim.calls("DELETE", "/images/private")) == 1, "the half-made image was deleted"
    assert [i["id"] for i in private_images(linode_sim)] == [made["id"]] and made["status"] == "available"
    assert [u[0] for u in linode_sim.uploads] == [made["id"]]


def test_image_arm64_refused(linode_sim, linode_provider, talos_disk):
    with pytest.raises(AutoextenderError, match="amd64"):
        linode_provider.create_talos_image(dict(image_spec(talos_disk), arch="arm64"), Deadline(10))
    assert linode_sim.log == []


# -- firewalls ---------------------------------------------------------------------------------------
def test_firewall_create_update_delete(linode_sim, linode_provider, image):
    ours = linode_provider.create_server(server_spec(image["id"]), Deadline(30))
    foreign = linode_sim.seed_instance("edge-par-a-9", ["autoextender-pool=par-a", "autoextender-cluster=home"])
    made = linode_provider.create_firewall(FIREWALL, Deadline(30))
    stored = linode_sim.firewalls[int(made["id"])]
    assert stored["rules"]["inbound_policy"] == "DROP" and stored["rules"]["outbound_policy"] == "ACCEPT"
    assert [(r["protocol"], r.get("ports"), r["addresses"]) for r in stored["rules"]["inbound"]] == [
        ("UDP", "51820", {"ipv4": ["0.0.0.0/0"], "ipv6": ["::/0"]}),
        ("TCP", "443", {"ipv4": ["0.0.0.0/0"], "ipv6": ["::/0"]}),
        ("TCP", "50000", {"ipv4": ["198.51.100.7/32"]})]
    assert [d["entity"]["id"] for d in stored["_devices"]] == [int(ours["id"])]  # never the untagged one
    assert made["applies_to"] == POOL and [r["description"] for r in made["rules"]] == [
        "KubeSpan", None, "talos apid from control"]
    assert linode_provider.get_firewall("home-par-a") == made

    puts = len(linode_sim.calls("PUT"))
    again = linode_provider.update_firewall(made, FIREWALL, Deadline(30))
    assert again == made and len(linode_sim.calls("PUT")) == puts  # nothing to change: no writes

    narrower = dict(FIREWALL, rules=FIREWALL["rules"][:2])
    updated = linode_provider.update_firewall(made, narrower, Deadline(30))
    assert len(updated["rules"]) == 2 and stored["rules"]["version"] == 2
    assert [r.get("ports") for r in linode_sim.firewalls[int(made["id"])]["rules"]["inbound"]] == ["51820", "443"]

    assert linode_provider.delete_firewall(made, Deadline(30)) is True
    assert int(made["id"]) not in linode_sim.firewalls
    assert linode_provider.delete_firewall(made, Deadline(30)) is False
    assert foreign["id"] in linode_sim.instances


def test_firewall_attaches_servers_created_later(linode_sim, linode_provider, image):
    made = linode_provider.create_firewall(FIREWALL, Deadline(30))
    server = linode_provider.create_server(server_spec(image["id"], firewall=made["id"]), Deadline(30))
    devices = linode_sim.firewalls[int(made["id"])]["_devices"]
    assert [d["entity"]["id"] for d in devices] == [int(server["id"])]
    linode_provider.update_firewall(made, FIREWALL, Deadline(30))  # already attached: no second device
    assert len(linode_sim.firewalls[int(made["id"])]["_devices"]) == 1


def test_firewall_bad_names_refused_before_any_call(linode_sim, linode_provider):
    with pytest.raises(AutoextenderError, match="3 to 32"):
        linode_provider.create_firewall(dict(FIREWALL, name="x" * 40), Deadline(10))
    assert linode_sim.log == []


# -- servers ---------------------------------------------------------------------------------------
def test_server_with_user_data_in_a_metadata_region(linode_sim, linode_provider, image):
    config = "version: v1alpha1\nmachine:\n  type: worker\n"
    created = linode_provider.create_server(server_spec(image["id"], user_data=config), Deadline(30))
    inst = linode_sim.instances[int(created["id"])]
    assert inst["_user_data"] == config.encode() and inst["has_user_data"] is True
    assert [c["kernel"] for c in inst["_configs"].values()] == [DIRECT_DISK]
    assert created["status"] in ("starting", "running")
    running = linode_provider.wait_server(created, Deadline(30))
    assert running["status"] == "running" and inst["_boot_kernel"] == DIRECT_DISK
    assert running["public_ipv4"] == inst["ipv4"][0] and running["public_ipv6"] == inst["ipv6"].split("/")[0]
    assert running["labels"] == POOL and running["location"] == "fr-par" and running["image"] == image["id"]
    assert linode_provider.get_server("edge-par-a-1")["id"] == created["id"]
    assert [s["id"] for s in linode_provider.list_servers(POOL)] == [created["id"]]

    relabelled = linode_provider.update_server_labels(running, dict(POOL, role="edge"), Deadline(30))
    assert relabelled["labels"]["role"] == "edge" and "role=edge" in inst["tags"]

    assert linode_provider.delete_server(running, Deadline(30)) is True
    assert int(created["id"]) not in linode_sim.instances
    assert linode_provider.delete_server(running, Deadline(30)) is False
    assert linode_provider.get_server("edge-par-a-1") is None


def test_user_data_refused_where_there_is_no_metadata(linode_sim, linode_provider, image):
    with pytest.raises(AutoextenderError) as err:
        linode_provider.create_server(server_spec(image["id"], location="eu-central", user_data="x"), Deadline(30))
    assert err.value.kind == "validation" and "maintenance-mode join" in err.value.msg
    assert linode_sim.instances == {} and not linode_sim.calls("POST", "/linode/instances$")


def test_maintenance_join_without_user_data_in_any_region(linode_sim, linode_provider, image):
    created = linode_provider.create_server(server_spec(image["id"], location="eu-central"), Deadline(30))
    running = linode_provider.wait_server(created, Deadline(30))
    inst = linode_sim.instances[int(created["id"])]
    assert running["status"] == "running" and inst["has_user_data"] is False and inst["_boot_kernel"] == DIRECT_DISK


def test_oversize_user_data_refused_before_any_call(linode_sim, linode_provider):
    with pytest.raises(AutoextenderError) as err:
        linode_provider.create_server(server_spec("private/1", user_data="x" * (USER_DATA_LIMIT + 1)), Deadline(10))
    assert err.value.kind == "validation" and str(USER_DATA_LIMIT) in err.value.msg
    assert linode_sim.log == []


def test_user_data_at_the_limit_is_accepted(linode_sim, linode_provider, image):
    data = "#" * USER_DATA_LIMIT
    created = linode_provider.create_server(server_spec(image["id"], user_data=data), Deadline(30))
    assert linode_sim.instances[int(created["id"])]["_user_data"] == data.encode()
    body = [c for c in linode_sim.log if c[0] == "POST" and c[1].endswith("/linode/instances")]
    assert len(body) == 1 and len(base64.b64encode(data.encode())) > USER_DATA_LIMIT


def test_crash_between_create_and_boot_then_wait_boots_it(linode_sim, linode_provider, image):
    """A run cut short after the create: the Linode stays offline; the next run's wait fixes the kernel and boots."""
    body = {"label": "edge-par-a-2", "region": "fr-par", "type": "g6-nanode-1", "image": image["id"],
            "root_pass": "Ta1!not-used-by-talos", "booted": False, "tags": sorted("%s=%s" % kv for kv in POOL.items())}
    inst = linode_sim.make_instance(body)
    found = linode_provider.get_server("edge-par-a-2")
    assert found["labels"] == POOL
    running = linode_provider.wait_server(found, Deadline(30))
    assert running["status"] == "running" and inst["_boot_kernel"] == DIRECT_DISK


def test_dropped_create_adopts_the_server_instead_of_a_second_one(linode_sim, linode_provider, image):
    linode_sim.fail_next("commit_then_drop", method="POST", path="/linode/instances$")
    created = linode_provider.create_server(server_spec(image["id"]), Deadline(30))
    assert [c[2] for c in linode_sim.calls("POST", "/linode/instances$")] == ["committed-dropped"]
    assert [i["label"] for i in linode_sim.instances.values()] == ["edge-par-a-1"]
    # the re-run looks the server up by name and labels and finds the one server
    again = linode_provider.get_server("edge-par-a-1")
    assert again["id"] == created["id"] and again["labels"] == POOL
    assert linode_provider.wait_server(again, Deadline(30))["status"] == "running"
    assert linode_sim.instances[int(created["id"])]["_boot_kernel"] == DIRECT_DISK
    assert len(linode_provider.list_servers(POOL)) == 1


def test_create_answered_500_after_it_was_made_is_adopted_not_label_must_be_unique(linode_sim, linode_provider, image):
    """The defect of issue 11: the retry of such a create failed with "Label must be unique"."""
    linode_sim.fail_next("commit_then_error", status=500, method="POST", path="/linode/instances$")
    created = linode_provider.create_server(server_spec(image["id"]), Deadline(30))
    assert [c[2] for c in linode_sim.calls("POST", "/linode/instances$")] == ["committed-500"]
    assert [i["label"] for i in linode_sim.instances.values()] == ["edge-par-a-1"]
    inst = linode_sim.instances[int(created["id"])]
    assert linode_provider.wait_server(created, Deadline(30))["status"] == "running"
    assert inst["_boot_kernel"] == DIRECT_DISK, "the adopted Linode got the kernel and was booted"
    assert any("adopted" in n for n in linode_provider.notices)


@pytest.mark.parametrize("fault", ["commit_then_drop", "commit_then_error"])
def test_lost_delete_answers_count_as_deleted(linode_sim, linode_provider, image, fault):
    created = linode_provider.create_server(server_spec(image["id"]), Deadline(30))
    linode_sim.fail_next(fault, status=500, method="DELETE", path=r"/linode/instances/\d+$")
    assert linode_provider.delete_server(created, Deadline(30)) is True
    assert linode_sim.instances == {} and len(linode_sim.calls("DELETE", "/linode/instances/")) == 1
    made = linode_provider.create_firewall(FIREWALL, Deadline(30))
    linode_sim.fail_next(fault, status=500, method="DELETE", path=r"/networking/firewalls/\d+$")
    assert linode_provider.delete_firewall(made, Deadline(30)) is True
    assert linode_sim.firewalls == {} and len(linode_sim.calls("DELETE", "/networking/firewalls/")) == 1


@pytest.mark.parametrize("fault", ["commit_then_drop", "commit_then_error"])
def test_lost_firewall_create_answer_is_adopted(linode_sim, linode_provider, fault):
    linode_sim.fail_next(fault, status=500, method="POST", path="/networking/firewalls$")
    made = linode_provider.create_firewall(FIREWALL, Deadline(30))
    assert len(linode_sim.calls("POST", "/networking/firewalls$")) == 1 and list(linode_sim.firewalls) == [int(made["id"])]


def test_offline_linode_with_the_wrong_kernel_is_fixed_and_booted(linode_sim, linode_provider, image):
    created = linode_provider.create_server(server_spec(image["id"]), Deadline(30))
    linode_provider.wait_server(created, Deadline(30))
    inst = linode_sim.power_off("edge-par-a-1", kernel="linode/latest-64bit")
    found = linode_provider.get_server("edge-par-a-1")
    assert found["status"] == "off"
    assert linode_provider.boot_drift(found) == {"kernel": ("linode/latest-64bit", DIRECT_DISK)}
    started = linode_provider.start_server(found, Deadline(30))
    assert linode_provider.boot_drift(started) == {} and len(linode_sim.calls("POST", "/boot$")) == 2
    assert linode_provider.wait_server(started, Deadline(30))["status"] == "running"
    assert inst["_boot_kernel"] == DIRECT_DISK


def test_running_linode_with_the_wrong_kernel_is_rebooted_with_direct_disk(linode_sim, linode_provider, image):
    created = linode_provider.wait_server(linode_provider.create_server(server_spec(image["id"]), Deadline(30)),
                                          Deadline(30))
    inst = linode_sim.instances[int(created["id"])]
    for config in inst["_configs"].values():
        config["kernel"] = "linode/latest-64bit"
    inst["_boot_kernel"] = "linode/latest-64bit"
    assert linode_provider.boot_drift(created) == {"kernel": ("linode/latest-64bit", DIRECT_DISK)}
    linode_provider.start_server(created, Deadline(30))
    assert len(linode_sim.calls("POST", "/reboot$")) == 1 and len(linode_sim.calls("POST", "/boot$")) == 1
    assert linode_provider.wait_server(created, Deadline(30))["status"] == "running"
    assert inst["_boot_kernel"] == DIRECT_DISK and linode_provider.boot_drift(created) == {}
    # nothing to fix: nothing is sent
    posts = len(linode_sim.calls("POST"))
    linode_provider.start_server(created, Deadline(30))
    assert len(linode_sim.calls("POST")) == posts


def test_rate_limit_burst_is_honoured(linode_sim, linode_provider):
    linode_sim.seed_instance("edge-par-a-1", sorted("%s=%s" % kv for kv in POOL.items()))
    linode_sim.fail_next("rate_limit", count=2, method="GET", path="/linode/instances$", retry_after=1)
    started = time.monotonic()
    found = linode_provider.list_servers(POOL)
    elapsed = time.monotonic() - started
    assert [s["name"] for s in found] == ["edge-par-a-1"]
    assert [c[2] for c in linode_sim.calls("GET", "/linode/instances$")] == [429, 429, 200]
    # Linode's 429 has no Retry-After: each waits until X-RateLimit-Reset, the window's end (1-2 s away here)
    assert 1.8 <= elapsed < 6


def test_rate_limit_longer_than_the_deadline_fails_clearly(linode_sim):
    provider = LinodeProvider({"api_token": linode_sim.token}, {"api_url": linode_sim.url, "deadline": Deadline(2)})
    linode_sim.fail_next("rate_limit", count=5, method="GET", retry_after=30)
    with pytest.raises(AutoextenderError) as err:
        provider.list_servers(POOL)
    assert err.value.kind == "rate_limited" and len(linode_sim.log) == 1


def test_server_errors_are_retried(linode_sim, linode_provider, image):
    linode_sim.fail_next("server_error", count=2, status=503, method="POST", path="/linode/instances$")
    created = linode_provider.create_server(server_spec(image["id"]), Deadline(30))
    assert [c[2] for c in linode_sim.calls("POST", "/linode/instances$")] == [503, 503, 200]
    assert len(linode_sim.instances) == 1 and created["name"] == "edge-par-a-1"


def test_invalid_token_is_a_clear_auth_error(linode_sim):
    provider = LinodeProvider({"api_token": "wrong-token-123"}, {"api_url": linode_sim.url})
    with pytest.raises(AutoextenderError) as err:
        provider.list_servers(POOL)
    assert err.value.kind == "auth" and "Invalid Token" in err.value.msg and "401" in err.value.msg
    assert "wrong-token-123" not in err.value.msg and len(linode_sim.log) == 1


def test_missing_token_is_a_clear_auth_error(linode_sim, monkeypatch):
    for env in ("LINODE_TOKEN", "LINODE_API_TOKEN"):
        monkeypatch.delenv(env, raising=False)
    with pytest.raises(AutoextenderError, match="LINODE_TOKEN") as err:
        LinodeProvider({}, {"api_url": linode_sim.url}).get_server("x")
    assert err.value.kind == "auth" and linode_sim.log == []


def test_token_from_the_environment(linode_sim, monkeypatch):
    monkeypatch.setenv("LINODE_TOKEN", linode_sim.token)
    provider = LinodeProvider({}, {"api_url": linode_sim.url})
    assert provider.get_server("nothing") is None and linode_sim.token in provider.secrets()


def test_unknown_region_or_type_lists_the_valid_ones(linode_sim, linode_provider):
    with pytest.raises(AutoextenderError) as err:
        linode_provider.check_placement("xx-nowhere", "g6-standard-1")
    assert err.value.kind == "validation" and "ap-south, eu-central, fr-par, us-ord" in err.value.msg
    with pytest.raises(AutoextenderError) as err:
        linode_provider.check_placement("fr-par", "g9-huge")
    assert "g6-dedicated-2, g6-nanode-1, g6-standard-1, g6-standard-2" in err.value.msg
    assert linode_provider.check_placement("fr-par", "g6-nanode-1") is None
    with pytest.raises(AutoextenderError, match="Server type g6-nanode-1 runs amd64 only, not arch arm64"):
        linode_provider.check_placement("fr-par", "g6-nanode-1", "arm64")
    with pytest.raises(AutoextenderError, match="Linode location eu-central cannot deliver user data"):
        linode_provider.check_placement("eu-central", "g6-nanode-1", "amd64", "user_data")
    assert linode_provider.check_placement("eu-central", "g6-nanode-1", "amd64", "maintenance") is None
    assert [c[0] for c in linode_sim.calls()] == ["GET"] * len(linode_sim.calls())


def test_api_rejects_unknown_type_on_create(linode_sim, linode_provider, image):
    with pytest.raises(AutoextenderError) as err:
        linode_provider.create_server(dict(server_spec(image["id"]), server_type="g9-huge"), Deadline(10))
    assert err.value.kind == "validation" and "type:" in err.value.msg and linode_sim.instances == {}


def test_untagged_resources_are_never_touched(linode_sim, linode_provider, image):
    similar = linode_sim.seed_instance("edge-par-a-1", ["autoextender-pool=par-a", "autoextender-cluster=home"])
    plain = linode_sim.seed_instance("edge-par-a-3", ["production"])
    assert linode_provider.list_servers(POOL) == []
    foreign = linode_provider.get_server("edge-par-a-1")
    assert foreign is not None and "managed-by" not in foreign["labels"]
    for action in (lambda: linode_provider.delete_server(foreign, Deadline(10)),
                   lambda: linode_provider.update_server_labels(foreign, POOL, Deadline(10))):
        with pytest.raises(AutoextenderError) as err:
            action()
        assert err.value.kind == "conflict" and "not created by talos-autoextender" in err.value.msg
    assert linode_sim.instances[similar["id"]]["tags"] == ["autoextender-cluster=home", "autoextender-pool=par-a"]
    assert plain["id"] in linode_sim.instances

    fw = linode_sim.firewalls
    client_fw = {"id": 999, "label": "home-par-a", "status": "enabled", "tags": ["autoextender-pool=par-a"],
                 "created": "2026-01-01T00:00:00", "updated": "2026-01-01T00:00:00", "_devices": []}
    linode_sim._set_rules(client_fw, {"inbound_policy": "ACCEPT", "outbound_policy": "ACCEPT"})
    fw[999] = client_fw
    found = linode_provider.get_firewall("home-par-a")
    with pytest.raises(AutoextenderError, match="not created by"):
        linode_provider.update_firewall(found, FIREWALL, Deadline(10))
    with pytest.raises(AutoextenderError, match="not created by"):
        linode_provider.delete_firewall(found, Deadline(10))
    assert fw[999]["rules"]["inbound_policy"] == "ACCEPT" and fw[999]["rules"]["version"] == 1

    public = {"id": "linode/debian12", "name": "Debian 12"}
    with pytest.raises(AutoextenderError):
        linode_provider.delete_image(public, Deadline(10))
    assert "linode/debian12" in linode_sim.images
    assert not linode_sim.calls("DELETE") and not linode_sim.calls("PUT", "/linode/instances/")


def test_list_servers_reads_every_page(linode_sim, linode_provider):
    tags = sorted("%s=%s" % kv for kv in POOL.items())
    for i in range(620):
        linode_sim.seed_instance("edge-par-a-%d" % i, tags)
    linode_sim.seed_instance("other", ["managed-by=talos-autoextender", "autoextender-pool=other"])
    found = linode_provider.list_servers(POOL)
    assert len(found) == 620
    assert [c[2] for c in linode_sim.calls("GET", "/linode/instances$")] == [200, 200]
