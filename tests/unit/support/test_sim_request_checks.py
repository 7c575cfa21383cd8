"""Each kind of bad request is a violation, whether it meets a normal answer or an injected fault."""
import pytest
import requests

from tests.conftest import spec_path
from tests.support.openapi import load_spec
from tests.support.sim import hetzner, linode

FAULTS = [None, "rate_limit", "server_error", "drop", "commit_then_error"]


def hetzner_sim():
    return hetzner.HetznerSim(load_spec(spec_path(*hetzner.SPEC), "/v1", hetzner.KNOWN_DEFECTS), token="t0k")


def linode_sim():
    spec = load_spec(spec_path(*linode.SPEC), "", linode.KNOWN_DEFECTS, linode.SLASH_PARAMS)
    return linode.LinodeSim(spec, token="t0k")


BAD = {
    # kind: (simulator, method, path, request keywords, the violation)
    "undocumented query parameter": (hetzner_sim, "GET", "/servers", {"params": {"limit": "5"}},
                                     "GET /servers: query parameter limit is not documented"),
    "wrong header": (linode_sim, "GET", "/linode/instances", {"headers": {"X-Filter": "{not json"}},
                     "GET /{apiVersion}/linode/instances: header X-Filter='{not json': not a valid JSON object"),
    "malformed body": (hetzner_sim, "POST", "/servers", {"data": "{not json",
                                                         "headers": {"Content-Type": "application/json"}},
                       "POST /v1/servers: the request body is not valid JSON"),
}


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f or "no fault")
@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_request_is_a_violation_on_any_answer(kind, fault):
    make, method, path, kwargs, violation = BAD[kind]
    kwargs = dict(kwargs)
    with make() as sim:
        if fault:
            sim.fail_next(fault, method=method)
        headers = dict(kwargs.pop("headers", {}), Authorization="Bearer t0k")
        try:
            answer = requests.request(method, sim.url + path, headers=headers, timeout=5, **kwargs)
        except requests.ConnectionError:
            assert fault == "drop"
        else:
            assert answer.status_code >= 400 or not fault
        assert sim.violations == [violation]
