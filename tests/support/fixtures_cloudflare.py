"""Cloudflare fixtures: a fresh simulator per test, checked against the official document."""
import secrets

import pytest

ZONE = "example.org"


class CloudflareBed:
    """What ``cloudflare_sim`` yields: the simulator, its token and the seeded zone."""

    def __init__(self, sim, token, zone):
        self.sim = sim
        self.token = token
        self.zone = zone

    @property
    def url(self):
        return self.sim.url

    def records(self):
        """The zone's records as ``{(name, type): sorted contents}`` straight from the simulator's state."""
        out = {}
        for record in self.sim.zone_records(self.zone["id"]):
            out.setdefault((record["name"], record["type"]), []).append(record["content"])
        return dict((k, sorted(v)) for k, v in out.items())


@pytest.fixture
def cloudflare_sim():
    from tests.conftest import spec_path
    from tests.support.sim.cloudflare import CloudflareSim, load_spec
    spec = load_spec(spec_path("cloudflare", "openapi-2024-08-06.json"))
    token = secrets.token_urlsafe(30)
    with CloudflareSim(spec, token) as sim:
        sim.add_zone("other.example")
        bed = CloudflareBed(sim, token, sim.add_zone(ZONE))
        yield bed
    sim.assert_clean()
