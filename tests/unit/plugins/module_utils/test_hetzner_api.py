"""hcloud error classification, and proof that the simulator's answers are really checked against the spec."""
import hcloud
import pytest
import requests

from ansible_collections.talos.autoextender.plugins.module_utils._clients.hetzner import HcloudApi
from tests.conftest import spec_path
from tests.support.openapi import load_spec
from tests.support.sim.hetzner import KNOWN_DEFECTS, SPEC, HetznerSim


@pytest.fixture
def api():
    return HcloudApi("t0ken", "http://127.0.0.1:9/v1", clock=lambda: 1000.0)


@pytest.mark.parametrize("code, status, kind, retryable", [
    ("unauthorized", 401, "auth", False), ("not_found", 404, "not_found", False),
    ("uniqueness_error", 409, "conflict", False), ("invalid_input", 422, "validation", False),
    ("rate_limit_exceeded", 429, "rate_limited", True), ("server_error", 500, "api", True),
    ("unavailable", 503, "api", True), ("timeout", 504, "api", True),
])
def test_codes_map_to_statuses(api, code, status, kind, retryable):
    failure = api.classify(hcloud.APIException(code, "msg", None))
    assert (failure.status, failure.kind, failure.retryable) == (status, kind, retryable)


def test_recorded_status_and_retry_headers_win(api):
    response = requests.Response()
    response.status_code = 429
    response.headers["RateLimit-Reset"] = "1007"
    api._record(response)
    failure = api.classify(hcloud.APIException("rate_limit_exceeded", "slow down", None))
    assert failure.retry_after == 7.0 and failure.status == 429
    response.headers["Retry-After"] = "2"
    api._record(response)
    assert api.classify(hcloud.APIException("x", "y", None)).retry_after == 2.0


def test_a_429_with_rate_limit_headers_waits_for_the_next_request_not_the_full_bucket(api):
    response = requests.Response()
    response.status_code = 429
    response.headers.update({"RateLimit-Limit": "3600", "RateLimit-Remaining": "0", "RateLimit-Reset": "4600"})
    api._record(response)  # the bucket is full again in an hour; one request comes back in a second
    assert api.classify(hcloud.APIException("rate_limit_exceeded", "slow down", None)).retry_after == 1.0
    response.headers.update({"RateLimit-Limit": "360", "RateLimit-Reset": "1004"})
    api._record(response)
    assert api.classify(hcloud.APIException("rate_limit_exceeded", "slow down", None)).retry_after == 4.0


def test_connection_errors_are_marked(api):
    failure = api.classify(requests.ConnectionError("reset by peer"))
    assert failure.connection and failure.retryable and "reset by peer" in failure.message


def test_sdk_retry_loop_is_off(api):
    assert api.client._client._retry_max_retries == 0


def test_simulator_answers_are_checked_against_the_spec():
    spec = load_spec(spec_path(*SPEC), "/v1", KNOWN_DEFECTS)
    with HetznerSim(spec, token="t") as sim:
        srv = sim.seed_server("a", {})
        headers = {"Authorization": "Bearer t"}
        assert requests.get(sim.url + "/servers/%d" % srv["id"], headers=headers, timeout=5).status_code == 200
        assert sim.violations == []
        srv["status"] = "exploded"  # not a status the API knows
        requests.get(sim.url + "/servers/%d" % srv["id"], headers=headers, timeout=5)
        requests.post(sim.url + "/ssh_keys", json={"name": "k"}, headers=headers, timeout=5)
    assert any("status" in v and "exploded" in v for v in sim.violations)
    assert any("public_key" in v for v in sim.violations)
    with pytest.raises(AssertionError, match="spec violation"):
        sim.assert_clean()


def test_missing_sdk_is_a_clear_error(monkeypatch):
    from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
    from ansible_collections.talos.autoextender.plugins.module_utils._clients import hetzner as hetzner_api
    from ansible_collections.talos.autoextender.plugins.module_utils._providers import registry
    monkeypatch.setattr(hetzner_api, "HAS_HCLOUD", False)
    prov = registry.provider("hetzner", {"api_token": "t0ken"})
    for call in (lambda: prov.list_servers({}),
                 lambda: prov.create_firewall({"name": "fw", "labels": {}, "rules": []}, None),
                 lambda: prov.create_server({"name": "s", "labels": {"managed-by": "talos-autoextender"}}, None)):
        with pytest.raises(AutoextenderError, match="pip install hcloud") as err:
            call()
        assert err.value.kind == "missing_library"
