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
from tests.support.sim.hetzner.floating_ips import FloatingIPsMixin, in_address
from tests.support.sim.hetzner.images import ImagesMixin
from tests.support.sim.hetzner.primary_ips import PrimaryIPsMixin
from tests.support.sim.hetzner.servers import ServersMixin
from tests.support.sim.hetzner.zones import ZonesMixin

SPEC = ("hetzner", "hcloud-openapi-unofficial.json")
#: (regex, why) for defects of the document itself; keep tiny, list in docs/providers/hetzner.md
KNOWN_DEFECTS = (
    (r"^POST /servers: request image: \d+ is not of type 'string'$",
     "the document types a server's image as a string ('ID or name of the Image'), while the official hcloud "
     "SDK sends an image ID as an integer, which the API accepts"),
    (r"^POST /primary_ips: request \(body\): 'assignee_type' is a required property$",
     "the mirrored document predates the API change of 2026-04-27 (Hetzner's changelog, 'Primary IPs: make "
     "assignee_type optional'; hcloud-python PR #647): a create request needs assignee_type only with an "
     "assignee_id, and the official hcloud SDK sends it only then"),
    (r"^\w+ /primary_ips(/\{id\})? -> 20[01]: primary_ips?(/\d+)?/assignee_type: 'unassigned' is not one of "
     r"\['server'\]$",
     "the mirrored document predates the API change announced on 2026-04-27 (Hetzner's changelog, 'Primary IPs "
     "will return unassigned'): since 1 August 2026 an unassigned Primary IP has assignee_type 'unassigned', "
     "which the document's enum ['server'] does not list yet"),
)


class HetznerSim(ActionsMixin, CatalogMixin, ServersMixin, ImagesMixin, FirewallsMixin, FloatingIPsMixin,
                 PrimaryIPsMixin, ZonesMixin, Simulator):
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
        self.floating_ips = {}
        self.primary_ips = {}
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

    def finish_actions(self):
        """Test helper: every running action ends now (as it would when its time comes)."""
        with self.lock:
            self._pending = [(0, fn) for dummy, fn in self._pending]
            self.tick()

    def server_of(self, address):
        """Test helper: the name of the server ``address`` (an IPv4 address, or one in an IPv6 /64) is routed
        to, through a Primary IP or a floating IP; None when it is on no server."""
        with self.lock:
            for ip in list(self.primary_ips.values()) + list(self.floating_ips.values()):
                sid = ip.get("assignee_id", ip.get("server"))
                if sid in self.servers and in_address(address, ip["type"], ip["ip"]):
                    return self.servers[sid]["name"]
            return None
