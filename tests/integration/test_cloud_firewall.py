"""cloud_firewall through ansible-playbook, against the cloud simulators."""
import requests

from tests.support.fixtures_cloud import LabBed, failure_summary, play

OWNED = {"managed-by": "talos-autoextender", "autoextender-cluster": "home", "autoextender-pool": "edge-a"}
ALL_STEPS = ("Check", "Apply", "Check again", "Apply again")
EVERYONE = ("0.0.0.0/0", "::/0")


def ok(proc):
    assert proc.returncode == 0, failure_summary(proc)


def test_four_steps_then_update_then_delete(cloud):
    proc, res = play(cloud, "cloud_firewall", talos_api_sources=["198.51.100.7"])
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    fw = cloud.firewalls()["home-edge-a"]
    assert fw["rules"] == sorted([("udp", "51820", EVERYONE), ("tcp", "80", EVERYONE), ("tcp", "443", EVERYONE),
                                  ("tcp", "50000", ("198.51.100.7/32",))])
    assert fw["applies_to"] == OWNED
    assert dict((k, fw["labels"].get(k)) for k in OWNED) == OWNED
    assert res["Apply"]["cloud_firewall"]["id"] == fw["id"]
    assert res["Check"]["cloud_firewall"]["rules"] == res["Apply"]["cloud_firewall"]["rules"] or cloud.provider != "lab"

    # Close the Talos API, add a NodePort range: an update in place, in the same four steps.
    extra = [{"protocol": "tcp", "port": "30000-32767", "sources": ["10.0.0.0/8"], "description": "NodePorts"}]
    proc, res = play(cloud, "cloud_firewall", extra_rules=extra)
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    after = cloud.firewalls()["home-edge-a"]
    assert after["id"] == fw["id"]
    assert ("tcp", "50000", ("198.51.100.7/32",)) not in after["rules"]
    assert ("tcp", "30000-32767", ("10.0.0.0/8",)) in after["rules"] and len(after["rules"]) == 4
    diff = res["Apply"]["diff"]
    assert len(diff["before"]["rules"]) == 4 and any(r["port"] == "50000" for r in diff["before"]["rules"])

    proc, res = play(cloud, "cloud_firewall", state="absent")
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    assert "home-edge-a" not in cloud.firewalls()


def test_a_foreign_firewall_with_our_name_is_left_alone(lab_cloud):
    cloud = LabBed(lab_cloud)
    foreign = {"name": "home-edge-a", "labels": {"team": "web"}, "apply_to": {"team": "web"},
               "rules": [{"protocol": "tcp", "port": "22", "sources": ["0.0.0.0/0"]}]}
    r = requests.post(lab_cloud.url + "/firewalls", json=foreign, timeout=5,
                      headers={"Authorization": "Bearer " + lab_cloud.token})
    assert r.status_code == 201, r.text
    before = cloud.firewalls()
    for state in ("present", "absent"):
        proc, res = play(cloud, "cloud_firewall", steps=["apply"], state=state)
        assert proc.returncode != 0
        assert res["Apply"]["failure"]["kind"] == "conflict" and "team=web" in res["Apply"]["msg"]
    assert cloud.firewalls() == before


def test_bad_source_fails_before_any_change(lab_cloud):
    cloud = LabBed(lab_cloud)
    proc, res = play(cloud, "cloud_firewall", steps=["check", "apply"], talos_api_sources=["not-an-address"])
    assert proc.returncode != 0
    assert res["Check"]["failure"]["kind"] == "validation" and "not-an-address" in res["Check"]["msg"]
    assert not cloud.firewalls() and not lab_cloud.calls("POST", "/firewalls")
