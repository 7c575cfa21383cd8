"""HetznerProvider with the real hcloud SDK against the Hetzner Cloud API simulator.

The image build runs the real ``ssh`` client against a real ``sshd`` on
loopback (the fixture ``rescue_sshd`` plays the rescue system); fault tests
that do not need a shell use ``RecordingRunner``, which records the exact call
and succeeds or fails as told.
"""
import time

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base, registry
from ansible_collections.talos.autoextender.plugins.module_utils._providers.hetzner import label_value
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
from tests.support.fixtures_hetzner import SCHEMATIC, TALOS_VERSION, TOKEN
from tests.support.sim.rate_limit import Bucket

OURS = base.ownership_labels("home", "hel1-a")
RULES = [
    {"protocol": "udp", "port": "51820", "sources": ["0.0.0.0/0", "::/0"], "description": "KubeSpan"},
    {"protocol": "tcp", "port": "443", "sources": ["0.0.0.0/0", "::/0"], "description": "ingress"},
    {"protocol": "tcp", "port": "50000", "sources": ["203.0.113.10"], "description": "talos api from the control node"},
]


def provider(sim, **options):
    opts = {"api_url": sim.url, "api_timeout": 20, "cleanup_timeout": 20}
    opts.update(options)
    return registry.provider("hetzner", {"api_token": TOKEN}, opts)


def server_spec(name="edge-hel1-a-1", **extra):
    spec = {"name": name, "location": "hel1", "server_type": "cx23", "image": "debian-12", "user_data": "#talos\n",
            "labels": dict(OURS), "firewall": None, "ipv4": True, "ipv6": True}
    spec.update(extra)
    return spec


def image_spec(url="https://factory.talos.dev/image/%s/%s/hcloud-amd64.raw.xz" % (SCHEMATIC, TALOS_VERSION)):
    return {"name": "talos", "talos_version": TALOS_VERSION, "schematic": SCHEMATIC, "arch": "amd64",
            "labels": base.ownership_labels("home"), "source_url": url}


class RecordingRunner:
    """A rescue runner that records what it was asked and succeeds or fails on demand."""

    def __init__(self, fail=None):
        self.fail = fail
        self.calls = []

    def prepare(self, workdir):
        self.calls.append(("prepare", workdir))
        return "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGl0J3Mgbm90IGEgcmVhbCBrZXkgYnV0IGl0IHBhcnNlcw== rec"

    def write_image(self, host, source_url, deadline):
        self.calls.append(("write_image", host, source_url))
        if self.fail:
            raise AutoextenderError("Failed to write the Talos image on the rescue system %s: %s" % (host, self.fail),
                                    kind="command")


def leftovers(sim):
    sim.settle()
    return {"servers": sorted(s["name"] for s in sim.servers.values()),
            "ssh_keys": sorted(k["name"] for k in sim.ssh_keys.values()),
            "snapshots": sorted(i["id"] for i in sim.images.values() if i["type"] == "snapshot")}


# -- servers -----------------------------------------------------------------------------------------
def test_server_create_list_wait_delete(hetzner_sim, hetzner_provider):
    hetzner_sim.seed_server("edge-hel1-a-9", {"autoextender-pool": "hel1-a"})  # similar, but not ours
    created = hetzner_provider.create_server(server_spec(), Deadline(20))
    assert created["status"] == "starting" and created["public_ipv4"] and created["public_ipv6"].endswith("::1")
    stored = [s for s in hetzner_sim.servers.values() if s["name"] == "edge-hel1-a-1"][0]
    assert stored["_user_data"] == "#talos\n" and stored["labels"] == OURS
    assert stored["location"]["name"] == "hel1" and stored["server_type"]["name"] == "cx23"

    running = hetzner_provider.wait_server(created, Deadline(20))
    assert running["status"] == "running" and hetzner_sim.servers[int(created["id"])]["status"] == "running"

    listed = hetzner_provider.list_servers(OURS)
    assert [s["name"] for s in listed] == ["edge-hel1-a-1"]
    assert hetzner_provider.get_server("edge-hel1-a-1")["id"] == created["id"]
    assert hetzner_provider.get_server("nope") is None

    relabelled = hetzner_provider.update_server_labels(running, dict(OURS, role="edge"), Deadline(10))
    assert hetzner_sim.servers[int(created["id"])]["labels"]["role"] == "edge" and relabelled["labels"]["role"] == "edge"

    assert hetzner_provider.delete_server(running, Deadline(20)) is True
    assert leftovers(hetzner_sim)["servers"] == ["edge-hel1-a-9"]
    assert hetzner_provider.delete_server(running, Deadline(20)) is False


def test_list_filters_server_side(hetzner_sim, hetzner_provider):
    for i in range(60):  # more than one page of 50
        hetzner_sim.seed_server("edge-%02d" % i, dict(OURS) if i % 2 else {"autoextender-pool": "hel1-a"})
    listed = hetzner_provider.list_servers(OURS)
    assert len(listed) == 30 and all(base.is_owned(s["labels"], "home") for s in listed)
    gets = hetzner_sim.calls("GET", "/servers$")
    assert len(gets) == 1, "30 matches fit one page: the filter ran on the server, not the client"


def test_wait_times_out_with_partial_state(hetzner_sim, hetzner_provider):
    created = hetzner_provider.create_server(server_spec(), Deadline(10))
    hetzner_sim.action_delay = 60  # nothing finishes from now on
    srv = hetzner_sim.servers[int(created["id"])]
    srv["status"] = "initializing"
    hetzner_sim._pending = []
    started = time.monotonic()
    with pytest.raises(AutoextenderError) as err:
        hetzner_provider.wait_server(created, Deadline(1.5))
    assert err.value.kind == "timeout" and err.value.partial["status"] == "starting"
    assert time.monotonic() - started < 4


def test_user_data_over_32_kib_refused_before_any_call(hetzner_sim, hetzner_provider):
    with pytest.raises(AutoextenderError, match="32768") as err:
        hetzner_provider.create_server(server_spec(user_data="x" * 32769), Deadline(10))
    assert err.value.kind == "validation"
    assert hetzner_sim.log == [], "no API call at all"
    # exactly 32 KiB is accepted, by us and by the API
    hetzner_provider.create_server(server_spec(user_data="x" * 32768), Deadline(10))
    assert len(hetzner_sim.servers) == 1


def test_api_refuses_oversized_user_data_too(hetzner_sim):
    import requests
    body = {"name": "raw", "server_type": "cx23", "image": "debian-12", "location": "fsn1", "user_data": "x" * 40000}
    answer = requests.post(hetzner_sim.url + "/servers", json=body, headers={"Authorization": "Bearer " + TOKEN}, timeout=5)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_input"


def test_unknown_placement_lists_the_valid_choices(hetzner_provider):
    with pytest.raises(AutoextenderError) as err:
        hetzner_provider.check_placement("mars1", "cx23")
    assert err.value.kind == "validation" and "fsn1, hel1" in err.value.msg and "nbg1" in err.value.msg
    with pytest.raises(AutoextenderError) as err:
        hetzner_provider.check_placement("hel1", "cx999")
    assert "cax11, ccx13, cpx22, cx23" in err.value.msg
    with pytest.raises(AutoextenderError, match="available in: fsn1, hel1, nbg1"):
        hetzner_provider.check_placement("sin", "cx23")
    hetzner_provider.check_placement("hel1", "cx23")


def test_placement_checks_the_architecture_of_the_image(hetzner_sim, hetzner_provider):
    with pytest.raises(AutoextenderError, match="Server type cx23 runs amd64 only, not arch arm64; Hetzner server "
                                                "types for arm64: cax11"):
        hetzner_provider.check_placement("hel1", "cx23", "arm64")
    hetzner_provider.check_placement("hel1", "cax11", "arm64", "user_data")
    catalog = hetzner_provider.placement_catalog()
    assert catalog["server_types"]["cax11"] == {"arch": ["arm64"], "locations": ["fsn1", "hel1", "nbg1"]}
    assert catalog["locations"]["sin"] == {"user_data": True}
    assert [c[0] for c in hetzner_sim.calls()] == ["GET"] * len(hetzner_sim.calls())


def test_invalid_token_is_a_clear_auth_error(hetzner_sim):
    bad = registry.provider("hetzner", {"api_token": "not-the-token"}, {"api_url": hetzner_sim.url})
    with pytest.raises(AutoextenderError) as err:
        bad.list_servers(OURS)
    assert err.value.kind == "auth" and err.value.details["status"] == 401
    assert err.value.msg == "Failed to list servers: unable to authenticate"
    assert len(hetzner_sim.log) == 1, "401 is not retried"


def test_missing_token_names_the_variable(hetzner_sim, monkeypatch):
    monkeypatch.delenv("HCLOUD_TOKEN", raising=False)
    with pytest.raises(AutoextenderError, match="HCLOUD_TOKEN") as err:
        registry.provider("hetzner", {}, {"api_url": hetzner_sim.url}).list_servers(OURS)
    assert err.value.kind == "auth"
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    assert registry.provider("hetzner", {}, {"api_url": hetzner_sim.url}).list_servers(OURS) == []


# -- retries ---------------------------------------------------------------------------------------
def test_429_burst_waits_for_the_next_request_not_the_full_bucket(hetzner_sim, hetzner_provider):
    # Hetzner's 429 carries RateLimit-* and no Retry-After; its RateLimit-Reset is an hour away (the bucket full
    # again), one request comes back every 3600 / RateLimit-Limit = 1 s.
    hetzner_sim.fail_next("rate_limit", count=3, method="GET", path="/servers$", retry_after=0.4)
    started = time.monotonic()
    assert hetzner_provider.list_servers(OURS) == []
    elapsed = time.monotonic() - started
    assert [c[2] for c in hetzner_sim.calls("GET", "/servers$")] == [429, 429, 429, 200]
    assert 2.9 <= elapsed < 5, "waited 1 s per 429 (3600 / RateLimit-Limit), not until RateLimit-Reset"


def test_429_wait_follows_the_accounts_rate_limit(hetzner_sim, hetzner_provider):
    hetzner_sim.bucket = Bucket(limit=7200, period=3600.0)  # a raised limit: one request every 0.5 s
    hetzner_sim.fail_next("rate_limit", count=2, method="GET", path="/servers$", retry_after=0.2)
    started = time.monotonic()
    assert hetzner_provider.list_servers(OURS) == []
    assert 0.9 <= time.monotonic() - started < 1.9


def test_429_storm_fails_at_the_deadline_not_later(hetzner_sim):
    hetzner_sim.fail_next("rate_limit", count=1000, retry_after=0.5)
    quick = provider(hetzner_sim, api_timeout=3)
    started = time.monotonic()
    with pytest.raises(AutoextenderError) as err:
        quick.list_servers(OURS)
    assert err.value.kind == "rate_limited" and err.value.details["attempts"] >= 3
    assert time.monotonic() - started < 4


def test_an_action_that_ends_in_error_fails_clearly_and_a_rerun_converges(hetzner_sim, hetzner_provider):
    srv = hetzner_sim.seed_server("edge-hel1-a-1", dict(OURS), status="off")
    hetzner_sim.fail_next_action("start_server", code="action_failed", message="Action failed")
    current = {"id": str(srv["id"]), "name": srv["name"], "labels": dict(OURS)}
    with pytest.raises(AutoextenderError) as err:
        hetzner_provider.start_server(current, Deadline(20))
    assert err.value.msg == "Failed to start server edge-hel1-a-1: Action failed"
    assert err.value.details == {"action": "start_server", "code": "action_failed"}
    assert srv["status"] == "off" and srv["locked"] is False
    assert hetzner_provider.start_server(current, Deadline(20))["status"] == "running"


def test_a_server_locked_by_a_running_action_is_retried_until_it_ends(hetzner_sim, hetzner_provider):
    srv = hetzner_sim.seed_server("edge-hel1-a-1", dict(OURS), status="off")
    with hetzner_sim.lock:  # another runner's action holds the server for 1.5 s
        srv["locked"] = True
        hetzner_sim.later(1.5, lambda: srv.update(locked=False))
    current = {"id": str(srv["id"]), "name": srv["name"], "labels": dict(OURS)}
    assert hetzner_provider.start_server(current, Deadline(20))["status"] == "running"
    outcomes = [c[2] for c in hetzner_sim.calls("POST", "/actions/poweron$")]
    assert outcomes[0] == 423 and outcomes[-1] == 201 and set(outcomes[:-1]) == {423}


def test_5xx_is_retried(hetzner_sim, hetzner_provider):
    hetzner_sim.fail_next("server_error", count=2, status=503, method="POST", path="/servers$")
    created = hetzner_provider.create_server(server_spec(), Deadline(20))
    assert [c[2] for c in hetzner_sim.calls("POST", "/servers$")] == [503, 503, 201]
    assert len(hetzner_sim.servers) == 1 and created["name"] == "edge-hel1-a-1"


def test_dropped_create_is_adopted_not_repeated(hetzner_sim, hetzner_provider):
    hetzner_sim.fail_next("commit_then_drop", method="POST", path="/servers$")
    adopted = hetzner_provider.create_server(server_spec(), Deadline(20))
    assert len(hetzner_sim.calls("POST", "/servers$")) == 1, "the create was not sent twice"
    assert [s["name"] for s in hetzner_sim.servers.values()] == ["edge-hel1-a-1"]
    assert adopted["id"] == str(list(hetzner_sim.servers)[0])
    # a re-run of the whole task finds the same server instead of making a second one
    again = hetzner_provider.create_server(server_spec(), Deadline(20))
    assert again["id"] == adopted["id"] and len(hetzner_sim.servers) == 1


def test_dropped_create_that_did_not_commit_is_sent_again_after_a_look(hetzner_sim, hetzner_provider):
    hetzner_sim.fail_next("drop", method="POST", path="/servers$")
    created = hetzner_provider.create_server(server_spec(), Deadline(20))
    assert [c[2] for c in hetzner_sim.calls("POST", "/servers$")] == ["dropped", 201]
    dropped = hetzner_sim.log.index(("POST", "/v1/servers", "dropped"))
    assert ("GET", "/v1/servers", 200) in hetzner_sim.log[dropped:], "looked by name before sending again"
    assert [s["name"] for s in hetzner_sim.servers.values()] == ["edge-hel1-a-1"] and created["id"]


def test_create_answered_5xx_after_commit_is_adopted(hetzner_sim, hetzner_provider):
    hetzner_sim.fail_next("commit_then_error", status=500, method="POST", path="/servers$")
    adopted = hetzner_provider.create_server(server_spec(), Deadline(20))
    assert [c[2] for c in hetzner_sim.calls("POST", "/servers$")] == ["committed-500"]
    assert [s["name"] for s in hetzner_sim.servers.values()] == ["edge-hel1-a-1"]
    assert adopted["labels"] == OURS and any("adopted" in n for n in hetzner_provider.notices)


@pytest.mark.parametrize("fault", ["commit_then_drop", "commit_then_error"])
def test_lost_delete_answer_is_a_delete(hetzner_sim, hetzner_provider, fault):
    srv = hetzner_provider.create_server(server_spec(), Deadline(20))
    hetzner_sim.settle()
    hetzner_sim.fail_next(fault, status=500, method="DELETE", path=r"/servers/\d+$")
    assert hetzner_provider.delete_server(srv, Deadline(20)) is True
    hetzner_sim.settle()
    assert hetzner_sim.servers == {}
    assert hetzner_sim.calls("DELETE", "/servers/")[0][2] in ("committed-dropped", "committed-500")

    fw = hetzner_provider.create_firewall({"name": "fw", "labels": dict(OURS), "rules": RULES, "applies_to": {}},
                                          Deadline(10))
    hetzner_sim.fail_next(fault, status=500, method="DELETE", path=r"/firewalls/\d+$")
    assert hetzner_provider.delete_firewall(fw, Deadline(20)) is True and hetzner_sim.firewalls == {}
    assert [c[2] for c in hetzner_sim.calls("DELETE", "/firewalls/")] == [
        "committed-dropped" if fault == "commit_then_drop" else "committed-500"], "gone: not sent again"


@pytest.mark.parametrize("fault", ["commit_then_drop", "commit_then_error"])
def test_lost_image_delete_answer_is_a_delete(hetzner_sim, hetzner_provider, fault):
    builder = hetzner_sim.seed_server("builder", {})
    with hetzner_sim.lock:
        made = hetzner_sim.snapshot(builder, {"labels": base.ownership_labels("home"), "description": "talos"})["image"]
        hetzner_sim.servers.pop(builder["id"])
    hetzner_sim.settle()
    hetzner_sim.fail_next(fault, status=500, method="DELETE", path=r"/images/\d+$")
    assert hetzner_provider.delete_image({"id": str(made["id"]), "name": "talos"}, Deadline(20)) is True
    assert made["id"] not in hetzner_sim.images and len(hetzner_sim.calls("DELETE", "/images/")) == 1


@pytest.mark.parametrize("fault", ["commit_then_drop", "commit_then_error"])
def test_lost_firewall_create_answer_is_adopted(hetzner_sim, hetzner_provider, fault):
    hetzner_sim.fail_next(fault, status=502, method="POST", path="/firewalls$")
    spec = {"name": "autoextender-home-hel1-a", "labels": dict(OURS), "rules": RULES, "applies_to": dict(OURS)}
    made = hetzner_provider.create_firewall(spec, Deadline(20))
    assert len(hetzner_sim.calls("POST", "/firewalls$")) == 1 and len(hetzner_sim.firewalls) == 1
    assert made["id"] == str(list(hetzner_sim.firewalls)[0]) and made["applies_to"] == OURS


@pytest.mark.parametrize("status", ["off", "stopping"])
def test_start_server_powers_on_a_server_that_is_not_running(hetzner_sim, hetzner_provider, status):
    srv = hetzner_provider.create_server(server_spec(), Deadline(20))
    hetzner_sim.settle()
    stored = hetzner_sim.power_off(srv["name"], status)
    if status == "stopping":  # the shutdown ends a moment later
        hetzner_sim.later(0.3, lambda: stored.update(status="off"))
    assert hetzner_provider.get_server(srv["name"])["status"] == status
    started = hetzner_provider.start_server(srv, Deadline(20))
    assert started["status"] in ("starting", "running")
    assert hetzner_provider.wait_server(started, Deadline(20))["status"] == "running"
    assert stored["status"] == "running" and len(hetzner_sim.calls("POST", "/actions/poweron$")) == 1
    foreign = hetzner_sim.seed_server("foreign-1", {"team": "web"}, status="off")
    with pytest.raises(AutoextenderError, match="Refusing to change server foreign-1"):
        hetzner_provider.start_server({"id": str(foreign["id"]), "name": "foreign-1"}, Deadline(5))
    assert foreign["status"] == "off"


# -- ownership -------------------------------------------------------------------------------------
def test_never_touches_resources_without_our_labels(hetzner_sim, hetzner_provider):
    foreign = hetzner_sim.seed_server("edge-hel1-a-1", {"autoextender-pool": "hel1-a", "autoextender-cluster": "home"})
    view = {"id": str(foreign["id"]), "name": foreign["name"]}
    with pytest.raises(AutoextenderError, match="name is taken by a resource without our labels") as err:
        hetzner_provider.create_server(server_spec(), Deadline(10))
    assert err.value.kind == "conflict"
    for call in (lambda: hetzner_provider.delete_server(view, Deadline(10)),
                 lambda: hetzner_provider.update_server_labels(view, dict(OURS), Deadline(10))):
        with pytest.raises(AutoextenderError, match="Refusing to change server edge-hel1-a-1"):
            call()
    assert hetzner_sim.servers[foreign["id"]]["labels"] == {"autoextender-pool": "hel1-a", "autoextender-cluster": "home"}
    assert hetzner_sim.servers[foreign["id"]]["status"] == "running"

    import requests
    headers = {"Authorization": "Bearer " + TOKEN}
    fw = requests.post(hetzner_sim.url + "/firewalls", json={"name": "edge-fw", "labels": {}}, headers=headers,
                       timeout=5).json()["firewall"]
    with pytest.raises(AutoextenderError, match="Refusing to change firewall edge-fw"):
        hetzner_provider.delete_firewall({"id": str(fw["id"]), "name": "edge-fw"}, Deadline(10))
    with pytest.raises(AutoextenderError, match="Refusing"):
        hetzner_provider.update_firewall({"id": str(fw["id"]), "name": "edge-fw"}, {"rules": RULES}, Deadline(10))
    with pytest.raises(AutoextenderError, match="Refusing to change image"):
        hetzner_provider.delete_image({"id": "114690387"}, Deadline(10))  # a system image: not ours
    assert fw["id"] in hetzner_sim.firewalls and hetzner_sim.firewalls[fw["id"]]["rules"] == []
    assert not [c for c in hetzner_sim.log if c[0] in ("DELETE", "PUT")]


# -- firewalls ---------------------------------------------------------------------------------------
def test_firewall_create_update_delete(hetzner_sim, hetzner_provider):
    spec = {"name": "autoextender-home-hel1-a", "labels": dict(OURS), "rules": RULES, "applies_to": dict(OURS)}
    created = hetzner_provider.create_firewall(spec, Deadline(20))
    stored = hetzner_sim.firewalls[int(created["id"])]
    assert sorted((r["protocol"], r["port"], tuple(r["source_ips"])) for r in stored["rules"]) == [
        ("tcp", "443", ("0.0.0.0/0", "::/0")), ("tcp", "50000", ("203.0.113.10/32",)),
        ("udp", "51820", ("0.0.0.0/0", "::/0"))]
    assert all(r["direction"] == "in" for r in stored["rules"])
    assert stored["_apply"] == [{"type": "label_selector", "label_selector": {
        "selector": "autoextender-cluster=home,autoextender-pool=hel1-a,managed-by=talos-autoextender"}}]
    assert created["applies_to"] == OURS and hetzner_provider.get_firewall(spec["name"])["id"] == created["id"]

    # a server of the pool gets the firewall through the selector
    srv = hetzner_provider.create_server(server_spec(), Deadline(10))
    assert hetzner_sim.server_view(hetzner_sim.servers[int(srv["id"])])["public_net"]["firewalls"] == [
        {"id": int(created["id"]), "status": "applied"}]

    posts = len(hetzner_sim.calls("POST"))
    same = hetzner_provider.update_firewall(created, dict(spec, rules=list(reversed(RULES))), Deadline(10))
    assert len(hetzner_sim.calls("POST")) == posts and same["rules"] == created["rules"], "no change, no call"

    changed = dict(spec, rules=RULES[:2], applies_to={"autoextender-pool": "hel1-b"})
    updated = hetzner_provider.update_firewall(created, changed, Deadline(10))
    assert len(stored["rules"]) == 2 and updated["applies_to"] == {"autoextender-pool": "hel1-b"}
    assert stored["_apply"] == [{"type": "label_selector", "label_selector": {"selector": "autoextender-pool=hel1-b"}}]

    assert hetzner_provider.delete_firewall(updated, Deadline(10)) is True
    assert int(created["id"]) not in hetzner_sim.firewalls
    assert hetzner_provider.delete_firewall(updated, Deadline(10)) is False


def test_server_created_with_a_firewall(hetzner_sim, hetzner_provider):
    fw = hetzner_provider.create_firewall({"name": "fw", "labels": dict(OURS), "rules": RULES, "applies_to": {}},
                                          Deadline(10))
    srv = hetzner_provider.create_server(server_spec(firewall=fw["id"], ipv6=False), Deadline(10))
    stored = hetzner_sim.servers[int(srv["id"])]
    assert stored["_firewall_ids"] == [int(fw["id"])] and srv["public_ipv6"] is None and stored["_ipv6"] is None


def test_invalid_labels_are_refused_before_any_call(hetzner_sim, hetzner_provider):
    with pytest.raises(AutoextenderError, match="Invalid Hetzner label value") as err:
        hetzner_provider.create_server(server_spec(labels=dict(OURS, note="has spaces")), Deadline(10))
    assert err.value.kind == "validation" and hetzner_sim.log == []


# -- Talos image ------------------------------------------------------------------------------------
@pytest.fixture
def ansible_module():
    """A real AnsibleModule: the rescue runner's ssh goes through its run_command, as in talos_image."""
    with patch_module_args({}):
        yield AnsibleModule(argument_spec={})


def test_image_build_over_real_ssh_then_reuse(hetzner_sim, rescue_sshd, image_factory, tmp_path, ansible_module):
    disk = tmp_path / "sda"
    prov = provider(hetzner_sim, rescue={"user": rescue_sshd.user, "port": rescue_sshd.port, "device": str(disk)},
                    module=ansible_module)
    image = prov.create_talos_image(image_spec(image_factory["url"]), Deadline(90))

    assert disk.read_bytes() == image_factory["raw"], "the rescue system wrote the factory image to the disk"
    assert image["status"] == "available" and image["schematic"] == SCHEMATIC and image["arch"] == "amd64"
    stored = hetzner_sim.images[int(image["id"])]
    assert stored["type"] == "snapshot" and SCHEMATIC in stored["description"]
    assert stored["labels"] == dict(base.ownership_labels("home"), **{
        "talos-version": TALOS_VERSION, "talos-schematic": label_value(SCHEMATIC), "talos-arch": "amd64"})
    assert len(stored["labels"]["talos-schematic"]) <= 63
    assert stored["created_from"]["name"].startswith("autoextender-image-")
    assert leftovers(hetzner_sim) == {"servers": [], "ssh_keys": [], "snapshots": [int(image["id"])]}
    assert [c for c in hetzner_sim.calls("POST", "/actions/") if "poweroff" in c[1]], "powered off before the snapshot"

    posts = len(hetzner_sim.calls("POST"))
    again = prov.create_talos_image(image_spec(image_factory["url"]), Deadline(10))
    assert again["id"] == image["id"] and len(hetzner_sim.calls("POST")) == posts, "reused by labels, nothing built"
    selector = {"talos-version": TALOS_VERSION, "talos-schematic": SCHEMATIC, "talos-arch": "amd64"}
    assert [i["id"] for i in prov.list_images(selector)] == [image["id"]]

    assert prov.delete_image(image, Deadline(10)) is True and int(image["id"]) not in hetzner_sim.images
    assert prov.delete_image(image, Deadline(10)) is False


def test_image_build_failure_on_the_rescue_system_cleans_up(hetzner_sim, rescue_sshd, image_factory, tmp_path,
                                                            ansible_module):
    prov = provider(hetzner_sim, rescue={"user": rescue_sshd.user, "port": rescue_sshd.port,
                                         "device": str(tmp_path / "sda")}, module=ansible_module)
    missing = image_factory["url"].replace("hcloud-amd64", "hcloud-arm64")
    with pytest.raises(AutoextenderError) as err:
        prov.create_talos_image(image_spec(missing), Deadline(60))
    assert err.value.kind == "command" and "404" in err.value.msg
    assert "temporary server and SSH key were deleted" in err.value.msg and err.value.details["leftovers"] == []
    assert leftovers(hetzner_sim) == {"servers": [], "ssh_keys": [], "snapshots": []}


@pytest.mark.parametrize("fault", [
    dict(kind="server_error", count=100, status=500, method="POST", path="/actions/create_image$"),
    dict(kind="commit_then_drop", method="POST", path="/servers$"),
    dict(kind="commit_then_drop", method="POST", path="/actions/create_image$"),
    dict(kind="server_error", count=100, status=503, method="POST", path="/actions/enable_rescue$"),
])
def test_image_build_faults_leave_nothing_behind(hetzner_sim, fault):
    runner = RecordingRunner()
    prov = provider(hetzner_sim, rescue_runner=runner, api_timeout=5)
    hetzner_sim.fail_next(fault.pop("kind"), **fault)
    with pytest.raises(AutoextenderError) as err:
        prov.create_talos_image(image_spec(), Deadline(4))
    assert err.value.details["leftovers"] == []
    assert leftovers(hetzner_sim) == {"servers": [], "ssh_keys": [], "snapshots": []}


def test_image_build_runner_failure_and_exact_call(hetzner_sim):
    runner = RecordingRunner(fail="curl: (22) The requested URL returned error: 404")
    prov = provider(hetzner_sim, rescue_runner=runner)
    with pytest.raises(AutoextenderError, match="error: 404"):
        prov.create_talos_image(image_spec(), Deadline(20))
    host = [c for c in runner.calls if c[0] == "write_image"][0]
    assert host[1:] == ("198.18.0.1", image_spec()["source_url"])
    assert leftovers(hetzner_sim) == {"servers": [], "ssh_keys": [], "snapshots": []}
