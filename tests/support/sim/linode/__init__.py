"""A stateful simulator of the Linode API v4 endpoints the collection uses.

``LinodeSim(spec, token)`` serves ``/v4/...`` on loopback (``sim.url`` is the
``base_url`` for ``linode_api4.LinodeClient``): linodes with disks and config
profiles (instances.py), custom image upload (images.py), Cloud Firewalls
(firewalls.py), regions and types (regions.py), DNS domains (domains.py) and IP
addresses: allocation and sharing (networking.py).
Errors use Linode's format ``{"errors": [{"reason", "field"}]}`` (validation
errors are HTTP 400, as on the real API), lists are paginated as ``{data, page,
pages, results}`` and honour the ``X-Filter`` header. Every request and
response is checked against the official OpenAPI document
(../shared/specs/linode/openapi-v4.189.0.yaml); see KNOWN_DEFECTS for the
document's own mistakes and why each is ignored.

Outside the document: the image upload URL (``/upload/<token>``, a pre-signed
object-storage URL on the real service) and ``/files/<name>`` (a stand-in for
the Image Factory, serving bytes a test registered in ``sim.files``).
"""
from tests.support.sim.base import Simulator
from tests.support.sim.linode.domains import DomainsMixin
from tests.support.sim.linode.firewalls import FirewallsMixin
from tests.support.sim.linode.images import UPLOAD_PREFIX, ImagesMixin, default_images
from tests.support.sim.linode.instances import InstancesMixin
from tests.support.sim.linode.networking import NetworkingMixin
from tests.support.sim.linode.regions import RegionsMixin, default_regions, default_types
from tests.support.sim.rate_limit import Window

SPEC = ("linode", "openapi-v4.189.0.yaml")
FILES_PREFIX = "/files/"

#: (regex, why) pairs: mistakes of the API document itself, not of the simulator.
KNOWN_DEFECTS = (
    (r"/domains/\{domainId\}/records.* -> 200: (data/\d+/)?name: '' (is too short|should be non-empty)",
     "records at the zone apex come back with the name \"\" from the real API (the document itself says \"\" "
     "means the apex for CAA and MX records) while the response schema sets minLength 1; requests omit the name"),
    (r"networking/firewalls.*rules: Additional properties are not allowed \('inbound_policy', 'outbound_policy' were",
     "the request schema of the firewall rules (an allOf) requires inbound_policy and outbound_policy in a member "
     "that also sets additionalProperties: false without listing them; the API requires both fields"),
    (r"root_device: '[^']*' does not match 'a-z, A-Z, 0-9, /, _, -'",
     "the 'pattern' of a config profile's root_device is a prose list of allowed characters, not a regular "
     "expression; the API's own default /dev/sda does not match it"),
    (r"header X-Filter=.* is valid under each of ",
     "the X-Filter schema is a oneOf whose first member, \"Simple filter\", is any object (\"type: object\" and "
     "nothing else), so every object valid under the second, \"Filter and sort criteria\" (+and, +or, +order_by), "
     "is valid under both and oneOf rejects it; read as the anyOf it means, such a filter is valid"),
    (r"GET /\{apiVersion\}/(regions|linode/types|networking/ips): query parameter page(_size)? is not documented",
     "these answer \"an envelope for paginated response\" (data, page, pages, results; \"See Pagination\") but, "
     "unlike the other listings, do not list the page and page_size parameters that fetch its pages; the SDK "
     "sends them on every listing"),
)

#: Path parameters whose values hold one "/": an image ID is "private/123" or "linode/debian12", and the SDK
#: (``parse.quote`` keeps "/") and the CLI (``linode-cli images update private/12345``, in the document's own
#: description of put-image) send it as two path segments, which the document's ``/{apiVersion}/images/{imageId}``
#: (``example: linode/debian11``) cannot express. A defect of the document, so the check lets these span two.
SLASH_PARAMS = ("imageId",)


class LinodeSim(InstancesMixin, NetworkingMixin, ImagesMixin, FirewallsMixin, RegionsMixin, DomainsMixin, Simulator):
    name = "linode"
    base_path = "/v4"
    slash_params = SLASH_PARAMS

    def __init__(self, spec=None, token=None, step=0.05):
        super().__init__(spec, token)
        #: seconds between two status transitions (provisioning -> offline, ...)
        self.step = step
        self.instances = {}
        self.images = default_images()
        for image in self.images.values():
            image["_timeline"] = _Still(image)
        self.firewalls = {}
        self.domains = {}
        #: {linode id: [addresses shared with it]} (networking.py)
        self.ip_shares = {}
        #: False: the account was not granted additional IPv4 addresses (POST /networking/ips refuses them)
        self.additional_ipv4 = True
        self.regions = default_regions()
        self.types = default_types()
        self.files = {}
        #: (image id, bytes received) of every upload, for assertions
        self.uploads = []
        # The OpenAPI document states no limit; 800 requests a minute is an assumption of the simulator.
        self.window = Window(limit=800, period=60.0)

    def error_body(self, error):
        reason = "Invalid Token" if error.status == 401 else error.message
        entry = {"reason": reason}
        if error.extra.get("field"):
            entry["field"] = error.extra["field"]
        return {"errors": [entry]}

    def rate_limit_headers(self, fault):
        """Linode's X-RateLimit-* on every answer, the 429 included (no Retry-After): the reset is the window's end."""
        limit, remaining, reset = self.window.spend(fault)
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(reset)}

    def _check_request(self, request):
        if not request.path.startswith(UPLOAD_PREFIX):  # the pre-signed upload URL is no API operation
            super()._check_request(request)

    def _dispatch(self, request):
        if request.path.startswith(UPLOAD_PREFIX):
            return self.upload(request)
        return super()._dispatch(request)

    def _handle(self, handler):
        if not handler.path.startswith(FILES_PREFIX):
            path, mark, query = handler.path.partition("?")
            if len(path) > 1 and path.endswith("/"):  # the API takes a trailing slash (linode_api4's ip_allocate
                handler.path = path.rstrip("/") + mark + query  # posts to /networking/ips/); the document has none
            return super()._handle(handler)
        data = self.files.get(handler.path[len(FILES_PREFIX):])
        self.log.append((handler.command, handler.path, 200 if data is not None else 404))
        handler.send_response(200 if data is not None else 404)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(len(data or b"")))
        handler.end_headers()
        handler.wfile.write(data or b"")
        return None


class _Still:
    """Timeline of an object whose status never moves (public images)."""

    def __init__(self, obj):
        self.obj = obj

    def advance(self):
        return self.obj
