"""A stateful simulator of the Cloudflare API v4 (zones and DNS records).

Checked against the official document (../shared/specs/cloudflare/openapi-2024-08-06.json)
on every request and response. What it reproduces of the real API:

- the envelope ``{success, errors: [{code, message}], messages, result, result_info}``;
- API-token authentication (``Authorization: Bearer <token>``): a malformed header
  is a 400 (code 6003, chain 6111), an unknown token a 401 (code 10000);
- page/per_page pagination with ``result_info`` (page, per_page, count, total_count, total_pages);
- the DNS record rules the edge records meet: TTL 1 (automatic) or 60..86400,
  content checked per type, no CNAME beside other data, no identical duplicates,
  TXT cannot be proxied (codes 9005/9006/9021/9004/81053/81054/81058);
- 429 answers with Retry-After and 5xx answers through the fault knobs of the base class.

The 2024-08-06 document has no ``/dns_records/batch`` operation, so neither has the simulator.
"""
from ..base import ApiError, Simulator
from .dns_records import DnsRecordsMixin
from .spec import FAULTS_BEYOND_THE_DOCUMENT, KNOWN_DEFECTS, load as load_spec  # noqa: F401 - re-exported
from .zones import ZonesMixin

#: Cloudflare's numeric error codes for the generic errors the base class raises.
GENERIC_CODES = {
    "rate_limit_exceeded": (971, "Please wait and consider throttling your request speed"),
    "unavailable": (1000, "Service unavailable, please try again later"),
    "unauthorized": (10000, "Authentication error"),
    "not_found": (7003, "Could not route to the requested URI, perhaps your object identifier is invalid?"),
    "method_not_allowed": (10405, "Method not allowed for this endpoint"),
    "invalid_input": (1004, "DNS Validation Error"),
}


class CloudflareSim(DnsRecordsMixin, ZonesMixin, Simulator):
    """``with CloudflareSim(spec, token) as sim:``; ``sim.add_zone("example.org")`` seeds a zone."""

    name = "cloudflare"
    base_path = "/client/v4"
    faults_beyond_the_document = FAULTS_BEYOND_THE_DOCUMENT

    def __init__(self, spec=None, token=None):
        super().__init__(spec, token)
        self.zones = {}
        self.records = {}

    def authorised(self, request):
        if self.token is None:
            return True
        header = request.headers.get("Authorization") or ""
        if not header.startswith("Bearer ") or not header[7:].strip():
            raise ApiError(400, 6003, "Invalid request headers", chain=[(6111, "Invalid format for Authorization header")])
        return header[7:] == self.token

    def error_body(self, error):
        code, message = error.code, error.message
        if not isinstance(code, int):
            code, default = GENERIC_CODES.get(code, (1000, message))
            message = default if error.code in ("rate_limit_exceeded", "unauthorized") else message
        entry = {"code": code, "message": message}
        if error.extra.get("chain"):
            entry["error_chain"] = [{"code": c, "message": m} for c, m in error.extra["chain"]]
        return {"success": False, "errors": [entry], "messages": [], "result": None}

    @staticmethod
    def envelope(result, result_info=None):
        body = {"success": True, "errors": [], "messages": [], "result": result}
        if result_info is not None:
            body["result_info"] = result_info
        return body
