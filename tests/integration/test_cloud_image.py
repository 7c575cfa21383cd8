"""talos_image through ansible-playbook, against the cloud simulators."""
import pytest

from tests.support.fixtures_cloud import SCHEMATIC, LabBed, failure_summary, make_image, play

ALL_STEPS = ("Check", "Apply", "Check again", "Apply again")


def ok(proc):
    assert proc.returncode == 0, failure_summary(proc)


def source(cloud):
    return {"source_url": cloud.disk_url()} if cloud.provider == "linode" else {}


# Building a Hetzner snapshot needs the rescue-system sshd: tests/integration/test_hetzner_provider.py
# builds one over real ssh; the module's reuse and delete paths on Hetzner are tested below.
@pytest.mark.parametrize("cloud", ["lab", "linode"], indirect=True)
def test_four_steps_then_delete(cloud):
    proc, res = play(cloud, "cloud_image", **source(cloud))
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    images = cloud.images()
    assert len(images) == 1
    made = res["Apply"]["talos_image"]
    assert made["status"] == "available" and made["id"] == str(images[0]["id"])
    assert (made["talos_version"], made["schematic"], made["arch"]) == ("v1.13.9", SCHEMATIC, "amd64")
    assert made["labels"]["managed-by"] == "talos-autoextender" and made["labels"]["autoextender-cluster"] == "home"
    assert res["Check"]["talos_image"]["id"] is None and res["Check"]["talos_image"]["name"] == made["name"]
    assert res["Apply again"]["talos_image"]["id"] == made["id"]
    if cloud.provider == "lab":
        assert images[0]["source_url"] == ("https://factory.talos.dev/image/%s/v1.13.9/nocloud-amd64.raw.xz"
                                           % SCHEMATIC)

    # Another version is another image; this one stays.
    proc, res = play(cloud, "cloud_image", steps=["apply"], talos_version="v1.13.8", **source(cloud))
    ok(proc)
    assert res["Apply"]["changed"] is True and len(cloud.images()) == 2

    proc, res = play(cloud, "cloud_image", state="absent")
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    assert [i["talos_version"] if "talos_version" in i else None for i in cloud.images()] in (["v1.13.8"], [None])
    assert len(cloud.images()) == 1


def test_an_existing_image_is_reused_and_deleted(cloud):
    image = make_image(cloud)
    proc, res = play(cloud, "cloud_image", **source(cloud))
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [False, False, False, False]
    assert res["Apply"]["talos_image"]["id"] == image
    proc, res = play(cloud, "cloud_image", steps=["check", "apply"], state="absent")
    ok(proc)
    assert res["Check"]["changed"] is True and res["Apply"]["changed"] is True
    assert cloud.images() == []


def test_a_failed_image_leaves_nothing_behind(lab_cloud):
    cloud = LabBed(lab_cloud)
    lab_cloud.image_failure = "the disk image could not be read"
    proc, res = play(cloud, "cloud_image", steps=["apply"])
    assert proc.returncode != 0
    assert "failed and was deleted" in res["Apply"]["msg"]
    assert cloud.images() == []
