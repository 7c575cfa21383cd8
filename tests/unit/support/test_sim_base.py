"""The simulator base: routing, spec checks, faults, against a real HTTP client."""
import pytest
import requests

from tests.conftest import spec_path
from tests.support.openapi import load_spec
from tests.support.sim.base import ApiError, Simulator, paginate, route


class TinySim(Simulator):
    name = "tiny"
    base_path = "/v1"

    def error_body(self, error):
        return {"error": {"code": error.code, "message": error.message, "details": None}}

    served = 0

    @route("GET", "/servers")
    def servers(self, request):
        self.served += 1
        items, page, last = paginate([], request.arg("page", 1, int), request.arg("per_page", 25, int))
        return {"servers": items, "meta": {"pagination": {
            "page": page, "per_page": 25, "previous_page": None, "next_page": None, "last_page": last,
            "total_entries": 0}}}

    @route("GET", "/servers/{id}")
    def server(self, request):
        if request.params["id"] == "bad":
            return {"server": "not a dict"}
        raise ApiError(404, "not_found", "server not found")


@pytest.fixture
def sim():
    with TinySim(load_spec(spec_path("hetzner", "hcloud-openapi-unofficial.json"), "/v1"), token="t0k") as s:
        yield s


def get(sim, path, token="t0k", **kw):
    return requests.get(sim.url + path, headers={"Authorization": "Bearer " + token}, timeout=5, **kw)


def test_routes_auth_and_errors(sim):
    assert get(sim, "/servers").status_code == 200
    assert get(sim, "/servers/7").json()["error"]["code"] == "not_found"
    assert get(sim, "/servers", token="wrong").status_code == 401
    sim.assert_clean()


def test_an_operation_the_api_lacks_is_refused_and_a_violation(sim):
    r = requests.delete(sim.url + "/servers", headers={"Authorization": "Bearer t0k"}, timeout=5)
    assert r.status_code == 405
    assert sim.violations == ["DELETE /v1/servers is not an operation of %s" % sim.spec.path]


def test_a_response_outside_the_spec_is_a_violation(sim):
    get(sim, "/servers/bad")
    with pytest.raises(AssertionError, match="spec violation"):
        sim.assert_clean()


def test_faults(sim):
    sim.fail_next("rate_limit", retry_after=7)
    r = get(sim, "/servers")
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    sim.fail_next("server_error", status=502, path="/servers$")
    assert get(sim, "/servers").status_code == 502
    sim.fail_next("drop")
    with pytest.raises(requests.ConnectionError):
        get(sim, "/servers")
    assert get(sim, "/servers").status_code == 200
    assert [c[2] for c in sim.calls("GET", "/servers$")] == [429, 502, "dropped", 200]
    sim.assert_clean()


def test_commit_then_error_makes_the_change_and_answers_a_checked_5xx(sim):
    sim.fail_next("commit_then_error", status=500, path="/servers$")
    r = get(sim, "/servers")
    assert r.status_code == 500 and r.json()["error"]["code"] == "unavailable" and sim.served == 1
    assert get(sim, "/servers").status_code == 200 and sim.served == 2
    assert [c[2] for c in sim.calls("GET", "/servers$")] == ["committed-500", 200]
    sim.assert_clean()
    with pytest.raises(ValueError):
        sim.fail_next("commit_then_explode")


def test_paginate():
    assert paginate(list(range(5)), 2, 2) == ([2, 3], 2, 3)
    assert paginate([], 1, 25) == ([], 1, 1)


class CrashingSim(TinySim):
    @route("GET", "/servers/{id}/actions")
    def broken(self, request):
        return {"actions": [1 / 0]}


def test_a_handler_crash_is_a_500_with_its_traceback_and_a_violation():
    with CrashingSim(load_spec(spec_path("hetzner", "hcloud-openapi-unofficial.json"), "/v1"), token="t0k") as sim:
        r = get(sim, "/servers/7/actions")
        assert r.status_code == 500 and "ZeroDivisionError" in r.json()["simulator_crash"]
        assert get(sim, "/servers").status_code == 200  # the simulator keeps serving
        with pytest.raises(AssertionError, match=r"(?s)the tiny simulator crashed:.*ZeroDivisionError"):
            sim.assert_clean()


@pytest.mark.parametrize("fault", ["rate_limit", "server_error", "drop", "commit_then_drop", "commit_then_error"])
def test_a_request_that_meets_a_fault_is_checked_too(sim, fault):
    sim.fail_next(fault, path="/servers$")
    try:
        get(sim, "/servers", params={"limit": "5"})
    except requests.ConnectionError:
        assert fault in ("drop", "commit_then_drop")
    assert sim.violations == ["GET /servers: query parameter limit is not documented"]
