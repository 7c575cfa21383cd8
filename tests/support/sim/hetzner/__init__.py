"""A stateful simulator of the Hetzner Cloud API (https://api.hetzner.cloud/v1) on loopback.

Checked against the community mirror of the official OpenAPI document
(../shared/specs/hetzner/hcloud-openapi-unofficial.json). One mixin per
resource kind; ``tick()`` runs due action completions before each request, so
statuses move (``initializing`` -> ``starting`` -> ``running``, images
``creating`` -> ``available``) the way the real API's do.
"""
import json

from tests.support.sim.base import Request, Simulator
from tests.support.sim.rate_limit import Bucket
from tests.support.sim.hetzner.actions import ActionsMixin
from tests.support.sim.hetzner.catalog import CatalogMixin
from tests.support.sim.hetzner.firewalls import FirewallsMixin
from tests.support.sim.hetzner.images import ImagesMixin
from tests.support.sim.hetzner.servers import ServersMixin
from tests.support.sim.hetzner.zones import ZonesMixin

SPEC = ("hetzner", "hcloud-openapi-unofficial.json")
#: (regex, why) for defects of the document itself; keep tiny, list in docs/providers/hetzner.md
KNOWN_DEFECTS = (
    (r"^POST /servers: request image: \d+ is not of type 'string'$",
     "the document types a server's image as a string ('ID or name of the Image'), while the official hcloud "
     "SDK sends an image ID as an integer, which the API accepts"),
)


class HetznerSim(ActionsMixin, CatalogMixin, ServersMixin, ImagesMixin, FirewallsMixin, ZonesMixin, Simulator):
    name = "hetzner"
    base_path = "/v1"

    def __init__(self, spec=None, token=None, action_delay=0.2):
        super().__init__(spec, token)
        self.action_delay = action_delay
        self.actions = {}
        self.action_failures = []
        self._pending = []
        self.servers = {}
        self.images = {}
        self.firewalls = {}
        self.ssh_keys = {}
        self.zones = {}
        self.on_boot = []
        self.ipv4_override = None
        self.bucket = Bucket(limit=3600, period=3600.0)
        self.seed_system_images()

    def error_body(self, error):
        return {"error": {"code": error.code, "message": error.message, "details": error.extra.get("details")}}

    def rate_limit_headers(self, fault):
        """Hetzner's headers on every answer, the 429 included, which carries no Retry-After."""
        limit, remaining, reset = self.bucket.spend(fault)
        return {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(remaining), "RateLimit-Reset": str(reset)}

    def _dispatch(self, request):
        with self.lock:
            self.tick()
        return super()._dispatch(request)

    # -- test helpers -----------------------------------------------------------------------
    def seed_server(self, name, labels, location="fsn1", server_type="cx23", status="running"):
        """Put a server in place without going through the API (a foreign or pre-existing one);
        its create actions complete at once."""
        body = json.dumps({"name": name, "labels": labels, "location": location, "server_type": server_type,
                           "image": "debian-12"}).encode()
        with self.lock:
            dummy, result = self.create_server(Request("POST", "/v1/servers", {}, {}, body))
            pending, self._pending = self._pending, []
            for dummy2, fn in pending:
                fn()
            srv = self.servers[result["server"]["id"]]
            srv["status"] = status
            return srv

    def power_off(self, name, status="off"):
        """Test helper: the server ``name`` is off (or ``stopping``) without an API call."""
        with self.lock:
            srv = next(s for s in self.servers.values() if s["name"] == name)
            srv["status"] = status
            return srv
