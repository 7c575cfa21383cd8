"""LabProvider over HTTP against the lab cloud simulator: pagination, selectors, retries, errors."""
import time

import pytest
import requests

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from ansible_collections.talos.autoextender.plugins.module_utils._providers.lab import LabProvider
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
from tests.support.sim.lab import LabCloud, parse_selector, selected

OURS = base.ownership_labels("home", "a")


@pytest.fixture
def lab():
    with LabCloud(token="t0ken-lab", boot_seconds=0.05, action_seconds=0.05, image_seconds=0.05) as sim:
        yield sim


def provider(lab, **options):
    return LabProvider({"api_token": "t0ken-lab"}, dict({"api_url": lab.url}, **options))


def image(lab):
    spec = {"name": "talos", "talos_version": "v1.13.9", "schematic": "s", "arch": "amd64", "labels": OURS,
            "source_url": "https://factory.talos.dev/image/s/v1.13.9/nocloud-amd64.raw.xz"}
    return provider(lab).create_talos_image(spec, Deadline(10))


def test_selectors():
    terms = parse_selector("a=1,b!=2,c,!d")
    assert selected({"a": "1", "c": "x"}, terms)
    assert not selected({"a": "1", "b": "2", "c": "x"}, terms)
    assert not selected({"a": "1", "c": "x", "d": ""}, terms)


def test_list_follows_pages_and_filters_by_labels(lab):
    for i in range(120):
        lab.seed_server("s%03d" % i, OURS if i % 2 else {"team": "web"})
    found = provider(lab).list_servers(OURS)
    assert len(found) == 60 and all(base.is_owned(s["labels"]) for s in found)
    assert len(lab.calls("GET", "/servers$")) == 2  # 50 per page
    assert found[0]["public_ipv4"] in [str(a) for a in lab.block.network] and found[0]["status"] == "running"


def test_retry_after_is_honoured_within_the_deadline(lab):
    lab.fail_next("rate_limit", count=2, retry_after=1)
    start = time.monotonic()
    assert provider(lab).get_server("nope") is None
    assert time.monotonic() - start >= 2
    assert [c[2] for c in lab.calls("GET")] == [429, 429, 200]


def test_a_rate_limit_longer_than_the_deadline_fails_at_once(lab):
    lab.fail_next("rate_limit", retry_after=30)
    with pytest.raises(AutoextenderError) as e:
        provider(lab, deadline=Deadline(2)).get_server("x")
    assert e.value.kind == "rate_limited" and e.value.details["status"] == 429


def test_errors(lab):
    with pytest.raises(AutoextenderError) as e:
        LabProvider({"api_token": "wrong-token"}, {"api_url": lab.url}).list_servers({})
    assert e.value.kind == "auth" and "unable to authenticate" in e.value.msg
    with pytest.raises(AutoextenderError) as e:
        LabProvider({}, {}).endpoint()
    assert e.value.kind == "auth" and "LAB_CLOUD_CONFIG" in e.value.msg
    spec = {"name": "x", "location": "moon", "server_type": "lab-small", "image": "1", "labels": OURS}
    with pytest.raises(AutoextenderError) as e:
        provider(lab).create_server(spec, Deadline(5))
    assert e.value.kind == "validation" and "valid locations: loopback, loopback-b" in e.value.msg


def test_server_lifecycle_and_a_second_create_adopts_ours_or_conflicts(lab):
    img = image(lab)
    p = provider(lab)
    spec = {"name": "edge-a-1", "location": "loopback", "server_type": "lab-small", "image": img["id"],
            "labels": OURS}
    created = p.create_server(spec, Deadline(5))
    assert created["status"] == "starting"
    assert p.wait_server(created, Deadline(5))["status"] == "running"
    again = p.create_server(spec, Deadline(5))  # 409: the name is ours already (an earlier run): adopted
    assert again["id"] == created["id"] and len(lab.state["servers"]) == 1
    assert "a name conflict" in p.notices[-1]
    with pytest.raises(AutoextenderError) as e:
        p.create_server(dict(spec, labels=base.ownership_labels("home", "b")), Deadline(5))
    assert e.value.kind == "conflict" and "without our labels" in e.value.msg
    updated = p.update_server_labels(created, dict(OURS, role="x"), Deadline(5))
    assert updated["labels"]["role"] == "x"
    assert p.delete_server(created, Deadline(5)) is True
    assert p.get_server("edge-a-1") is None
    assert p.delete_server(created, Deadline(5)) is False


LOST = ["commit_then_drop", "commit_then_error"]


@pytest.mark.parametrize("fault", LOST)
def test_lost_create_answers_are_adopted_for_servers_firewalls_and_images(lab, fault):
    lab.fail_next(fault, method="POST", path="/images$")
    img = image(lab)
    assert len(lab.state["images"]) == 1 and img["status"] == "available"
    p = provider(lab)
    lab.fail_next(fault, method="POST", path="/servers$")
    spec = {"name": "edge-a-1", "location": "loopback", "server_type": "lab-small", "image": img["id"],
            "labels": OURS}
    created = p.create_server(spec, Deadline(10))
    assert [s["name"] for s in lab.state["servers"].values()] == ["edge-a-1"] and created["labels"] == OURS
    lab.fail_next(fault, method="POST", path="/firewalls$")
    fw = p.create_firewall({"name": "fw-a", "labels": OURS, "rules": [], "applies_to": OURS}, Deadline(10))
    assert list(lab.state["firewalls"]) == [fw["id"]]
    for path in ("/images$", "/servers$", "/firewalls$"):
        assert len(lab.calls("POST", path)) == 1, path
    assert len(p.notices) == 2 and all("was lost" in n for n in p.notices)


@pytest.mark.parametrize("fault", LOST)
def test_lost_delete_answers_count_as_deleted(lab, fault):
    img = image(lab)
    p = provider(lab)
    created = p.create_server({"name": "edge-a-1", "location": "loopback", "server_type": "lab-small",
                               "image": img["id"], "labels": OURS}, Deadline(10))
    fw = p.create_firewall({"name": "fw-a", "labels": OURS, "rules": [], "applies_to": OURS}, Deadline(10))
    lab.fail_next(fault, method="DELETE", path=r"/servers/\d+$")
    lab.fail_next(fault, method="DELETE", path=r"/firewalls/\d+$")
    assert p.delete_server(created, Deadline(10)) is True and lab.state["servers"] == {}
    assert p.delete_firewall(fw, Deadline(10)) is True and lab.state["firewalls"] == {}
    assert len(lab.calls("DELETE", "/firewalls/")) == 1, "gone after the lost answer: not sent again"
    lab.fail_next(fault, method="DELETE", path=r"/images/\d+$")
    assert p.delete_image(img, Deadline(10)) is True and lab.state["images"] == {}
    assert len(lab.calls("DELETE", "/images/")) == 1


def test_a_server_that_is_off_is_started(lab):
    img = image(lab)
    p = provider(lab)
    created = p.wait_server(p.create_server({"name": "edge-a-1", "location": "loopback", "server_type": "lab-small",
                                             "image": img["id"], "labels": OURS}, Deadline(10)), Deadline(10))
    lab.power_off("edge-a-1")
    assert p.get_server("edge-a-1")["status"] == "off"
    assert p.start_server(created, Deadline(10))["status"] == "starting"
    assert p.wait_server(created, Deadline(10))["status"] == "running"
    assert len(lab.calls("POST", "/poweron$")) == 1
    p.start_server(created, Deadline(10))  # running: nothing to do
    assert len(lab.calls("POST", "/poweron$")) == 1
    foreign = lab.seed_server("foreign-1", {"team": "web"}, status="off")
    with pytest.raises(AutoextenderError) as e:
        p.start_server({"id": foreign["id"], "name": "foreign-1"}, Deadline(5))
    assert e.value.kind == "conflict" and foreign["status"] == "off"


def test_a_failed_image_is_deleted(lab):
    lab.image_failure = "bad disk"
    with pytest.raises(AutoextenderError, match="failed and was deleted"):
        image(lab)
    assert lab.state["images"] == {}


def test_a_wait_timeout_keeps_the_partial_server(lab):
    img = image(lab)
    lab.boot_seconds = 60
    p = provider(lab)
    created = p.create_server({"name": "slow", "location": "loopback", "server_type": "lab-small",
                               "image": img["id"], "labels": OURS}, Deadline(5))
    with pytest.raises(AutoextenderError) as e:
        p.wait_server(created, Deadline(0.5))
    assert e.value.kind == "timeout" and e.value.partial["status"] == "starting"


def test_the_token_is_a_secret(lab):
    p = provider(lab)
    p.endpoint()
    assert "t0ken-lab" in p.secrets()
    r = requests.get(lab.url + "/info", headers={"Authorization": "Bearer t0ken-lab"}, timeout=5)
    assert r.json()["locations"] == ["loopback", "loopback-b"]


class _Answer:
    """Just enough of a requests.Response for HttpError: any JSON body a proxy may send."""

    def __init__(self, status, body):
        self.status_code, self.reason, self.headers, self._body = status, "Unauthorized", {}, body

    def json(self):
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


@pytest.mark.parametrize("body, message, code", [
    ({"error": {"code": "unauthorized", "message": "bad token"}}, "bad token", "unauthorized"),
    ({"error": "denied by proxy"}, "denied by proxy", None),
    ({"error": None}, "Unauthorized", None),
    (["not", "a", "dict"], "Unauthorized", None),
    ("plain text", "Unauthorized", None),
    (ValueError("no JSON"), "Unauthorized", None),
])
def test_http_error_reads_any_error_body(body, message, code):
    from ansible_collections.talos.autoextender.plugins.module_utils._providers.lab import HttpError
    err = HttpError(_Answer(401, body))
    assert (err.status, err.message, err.code) == (401, message, code)
