"""What the simulators answer: rate-limit headers, malformed bodies, IDs where the API takes IDs or names."""
import requests

from tests.conftest import spec_path
from tests.support.openapi import load_spec
from tests.support.sim.base import Fault
from tests.support.sim.hetzner import KNOWN_DEFECTS, SPEC, HetznerSim
from tests.support.sim.rate_limit import Bucket


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_every_answer_spends_one_and_the_bucket_refills():
    clock = Clock()
    bucket = Bucket(limit=10, period=10.0, clock=clock)
    assert bucket.spend() == (10, 9, 1001)
    assert bucket.spend() == (10, 8, 1002)
    clock.now += 1.5
    assert bucket.spend() == (10, 8, 1003)  # 9.5 left before this answer, 8.5 after: full again 1.5 s from now


def test_a_rate_limit_fault_empties_the_bucket_until_its_retry_after():
    clock = Clock()
    bucket = Bucket(limit=10, period=10.0, clock=clock)
    assert bucket.spend(Fault("rate_limit", retry_after=4)) == (10, 0, 1010)
    clock.now += 1
    assert bucket.spend()[1] == 1  # refilled by one, not spent: the client was told to wait


def test_hetzner_sends_its_three_headers_on_every_answer_and_no_retry_after_on_a_429():
    spec = load_spec(spec_path(*SPEC), "/v1", KNOWN_DEFECTS)
    with HetznerSim(spec, token="t0k") as sim:
        auth = {"Authorization": "Bearer t0k"}
        ok = requests.get(sim.url + "/servers", headers=auth, timeout=5)
        assert ok.status_code == 200 and ok.headers["RateLimit-Limit"] == "3600"
        assert int(ok.headers["RateLimit-Remaining"]) == 3599
        sim.fail_next("rate_limit", retry_after=3)
        limited = requests.get(sim.url + "/servers", headers=auth, timeout=5)
        assert limited.status_code == 429 and "Retry-After" not in limited.headers
        assert limited.headers["RateLimit-Remaining"] == "0"
        assert int(limited.headers["RateLimit-Reset"]) >= int(ok.headers["RateLimit-Reset"])
        assert requests.get(sim.url + "/servers/99", headers=auth, timeout=5).headers["RateLimit-Limit"] == "3600"
        sim.assert_clean()


def test_a_malformed_body_is_a_violation_and_hetzners_json_error():
    spec = load_spec(spec_path(*SPEC), "/v1", KNOWN_DEFECTS)
    with HetznerSim(spec, token="t0k") as sim:
        r = requests.post(sim.url + "/servers", data="{not json", timeout=5,
                          headers={"Authorization": "Bearer t0k", "Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "json_error"
        assert sim.violations == ["POST /v1/servers: the request body is not valid JSON"]


def test_hetzner_takes_ids_as_well_as_names_on_server_create():
    spec = load_spec(spec_path(*SPEC), "/v1", KNOWN_DEFECTS)
    with HetznerSim(spec, token="t0k") as sim:
        auth = {"Authorization": "Bearer t0k"}
        key = requests.post(sim.url + "/ssh_keys", headers=auth, timeout=5, json={
            "name": "ops", "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0dGVzdGtleWZvcnRoZXNpbXVsYXRvcg== ops"})
        assert key.status_code == 201, key.text
        by_id = requests.post(sim.url + "/servers", headers=auth, timeout=5, json={
            "name": "edge-1", "location": "1", "server_type": "114", "image": "114690387",
            "ssh_keys": [str(key.json()["ssh_key"]["id"])]})
        assert by_id.status_code == 201, by_id.text
        server = by_id.json()["server"]
        assert (server["location"]["name"], server["server_type"]["name"], server["image"]["name"]) == (
            "fsn1", "cx23", "debian-12")
        assert server["datacenter"]["name"] == "fsn1-dc14"
        sim.assert_clean()


def test_an_armed_action_failure_ends_the_action_in_error_and_a_second_action_meets_a_lock():
    spec = load_spec(spec_path(*SPEC), "/v1", KNOWN_DEFECTS)
    with HetznerSim(spec, token="t0k", action_delay=0.3) as sim:
        auth = {"Authorization": "Bearer t0k"}
        server = sim.seed_server("edge-1", {})
        sim.fail_next_action("stop_server", code="server_error", message="could not power off")
        action = requests.post(sim.url + "/servers/%d/actions/poweroff" % server["id"], headers=auth, timeout=5)
        assert action.status_code == 201, action.text
        locked = requests.post(sim.url + "/servers/%d/actions/poweron" % server["id"], headers=auth, timeout=5)
        assert locked.status_code == 423 and locked.json()["error"]["code"] == "locked"
        sim.settle()
        done = requests.get(sim.url + "/actions/%d" % action.json()["action"]["id"], headers=auth, timeout=5).json()
        assert done["action"]["status"] == "error" and done["action"]["error"]["code"] == "server_error"
        assert requests.get(sim.url + "/servers/%d" % server["id"], headers=auth,
                            timeout=5).json()["server"]["status"] == "running"
        sim.assert_clean()
        # the lock is gone with the failed action: the next action is taken
        again = requests.post(sim.url + "/servers/%d/actions/poweroff" % server["id"], headers=auth, timeout=5)
        assert again.status_code == 201


def test_firewall_errors_carry_the_codes_the_document_names():
    spec = load_spec(spec_path(*SPEC), "/v1", KNOWN_DEFECTS)
    with HetznerSim(spec, token="t0k") as sim:
        auth = {"Authorization": "Bearer t0k"}
        srv = sim.seed_server("edge-1", {"pool": "a"})
        other = sim.seed_server("edge-2", {})

        def post(path, body):
            r = requests.post(sim.url + path, headers=auth, json=body, timeout=5)
            return r.status_code, (r.json().get("error") or {}).get("code") if r.content else None

        def server(sid):
            return {"type": "server", "server": {"id": sid}}
        assert post("/firewalls", {"name": "fw", "apply_to": [server(999)]}) == (422, "firewall_resource_not_found")
        assert post("/firewalls", {"name": "fw", "apply_to": [server(srv["id"])] * 2}) == (422, "server_already_added")
        selector = {"type": "label_selector", "label_selector": {"selector": "pool=a"}}
        created = requests.post(sim.url + "/firewalls", headers=auth, timeout=5,
                                json={"name": "fw", "apply_to": [selector]}).json()["firewall"]
        actions = "/firewalls/%d/actions/" % created["id"]
        assert post(actions + "apply_to_resources", {"apply_to": [server(999)]}) == (404, "firewall_resource_not_found")
        assert post(actions + "apply_to_resources", {"apply_to": [server(other["id"])]})[0] == 201
        assert post(actions + "apply_to_resources", {"apply_to": [server(other["id"])]}) == (
            422, "firewall_already_applied")
        assert post(actions + "remove_from_resources", {"remove_from": [server(srv["id"])]}) == (
            422, "firewall_managed_by_label_selector")
        assert post(actions + "remove_from_resources", {"remove_from": [server(other["id"])]})[0] == 201
        assert post(actions + "remove_from_resources", {"remove_from": [server(other["id"])]}) == (
            404, "firewall_resource_not_found")
        sim.assert_clean()
