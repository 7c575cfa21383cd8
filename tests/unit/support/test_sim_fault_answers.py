"""Fault answers are checked like any other: a status beyond the document only with a stated reason, and its
body as the operation's documented error answer."""
import requests

from tests.conftest import spec_path
from tests.support.sim.cloudflare import CloudflareSim, load_spec


class BadErrorsSim(CloudflareSim):
    def error_body(self, error):
        return {"oops": error.message}


def cloudflare(cls=CloudflareSim):
    return cls(load_spec(spec_path("cloudflare", "openapi-2024-08-06.json")), "t0k")


def list_records(sim, zone):
    return requests.get(sim.url + "/zones/%s/dns_records" % zone, headers={"Authorization": "Bearer t0k"},
                        timeout=5)


def test_a_5xx_the_document_omits_is_checked_as_its_documented_error_answer():
    with cloudflare() as sim:
        zone = sim.add_zone("example.org")["id"]
        sim.fail_next("server_error", status=502)
        assert list_records(sim, zone).status_code == 502
        sim.fail_next("rate_limit")
        assert list_records(sim, zone).status_code == 429
        assert list_records(sim, zone).status_code == 200
        sim.assert_clean()


def test_a_fault_answer_in_the_wrong_form_is_a_violation():
    with cloudflare(BadErrorsSim) as sim:
        zone = sim.add_zone("example.org")["id"]
        sim.fail_next("server_error", status=503)
        assert list_records(sim, zone).status_code == 503
        assert sim.violations and all("-> 503" in v for v in sim.violations), sim.violations


def test_without_a_stated_reason_an_undocumented_fault_status_is_a_violation():
    with cloudflare() as sim:
        sim.faults_beyond_the_document = ()
        zone = sim.add_zone("example.org")["id"]
        sim.fail_next("server_error", status=502)
        list_records(sim, zone)
        assert sim.violations == ["GET /zones/{zone_id}/dns_records: status 502 is not documented (documented: "
                                  "['200', '4xx'])"]
