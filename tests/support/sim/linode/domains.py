"""DNS: /domains and /domains/{id}/records, with the API's TTL rounding and record checks."""
import ipaddress

from tests.support.sim.base import route
from tests.support.sim.linode._common import invalid, listing, lookup, not_found, now

FILTERABLE = ("id", "domain", "tags", "type", "status", "group")
RECORD_FILTERABLE = ("name", "type", "target", "tag")
#: "Valid values are 300, 3600, ... any other value will be rounded to the nearest valid value." (0 = domain default)
VALID_TTLS = (300, 3600, 7200, 14400, 28800, 57600, 86400, 172800, 345600, 604800, 1209600, 2419200)


def round_ttl(ttl):
    ttl = int(ttl or 0)
    if ttl == 0:
        return 0
    return min(VALID_TTLS, key=lambda v: (abs(v - ttl), v))


def _check_target(rtype, target):
    if target is None or target == "":
        raise invalid("target is required", "target")
    try:
        if rtype == "A":
            ipaddress.IPv4Address(target)
        elif rtype == "AAAA":
            ipaddress.IPv6Address(target)
    except ValueError:
        raise invalid("Invalid %s address" % ("IPv4" if rtype == "A" else "IPv6"), "target")


class DomainsMixin:
    def _domain(self, request):
        return lookup(self.domains, request.params["domainId"])

    def add_domain(self, domain, **fields):
        """Seed helper for tests (a domain made outside the collection)."""
        out = {"id": self.next_id("domain") + 1000000, "domain": domain, "type": "master", "status": "active",
               "soa_email": "hostmaster@" + domain, "tags": [], "ttl_sec": 0,
               "refresh_sec": 0, "retry_sec": 0, "expire_sec": 0, "master_ips": [], "axfr_ips": [], "_records": {}}
        out.update(fields)
        self.domains[out["id"]] = out
        return out

    @route("GET", "/domains")
    def list_domains(self, request):
        return listing(request, [self._view(d) for d in self.domains.values()], FILTERABLE)

    @route("POST", "/domains")
    def create_domain(self, request):
        body = request.json() or {}
        if not body.get("domain"):
            raise invalid("domain is required", "domain")
        if any(d["domain"] == body["domain"].lower() for d in self.domains.values()):
            raise invalid("Domain is already in use", "domain")
        if body.get("type", "master") == "master" and not body.get("soa_email"):
            raise invalid("soa_email required when type=master", "soa_email")
        fields = dict((k, v) for k, v in body.items() if k not in ("domain", "id"))
        return self._view(self.add_domain(body["domain"].lower(), **fields))

    @route("GET", "/domains/{domainId}")
    def get_domain(self, request):
        return self._view(self._domain(request))

    @route("DELETE", "/domains/{domainId}")
    def delete_domain(self, request):
        del self.domains[self._domain(request)["id"]]
        return {}

    @staticmethod
    def _view(domain):
        return dict((k, v) for k, v in domain.items() if not k.startswith("_"))

    # -- records ---------------------------------------------------------------------
    def _record(self, request):
        domain = self._domain(request)
        try:
            return domain, domain["_records"][int(request.params["recordId"])]
        except (KeyError, ValueError):
            raise not_found()

    @staticmethod
    def _relative(domain, name):
        name = (name or "").rstrip(".").lower()
        if name == domain["domain"]:
            return ""
        if name.endswith("." + domain["domain"]):
            return name[:-len(domain["domain"]) - 1]
        return name

    @staticmethod
    def _check_cname(domain, record, rtype, name):
        for other in domain["_records"].values():
            if other is record or other["name"] != name:
                continue
            if rtype == "CNAME" or other["type"] == "CNAME":
                raise invalid("A CNAME record must be the only record with its name", "name")

    @route("GET", "/domains/{domainId}/records")
    def list_records(self, request):
        return listing(request, list(self._domain(request)["_records"].values()), RECORD_FILTERABLE)

    @route("POST", "/domains/{domainId}/records")
    def create_record(self, request):
        domain = self._domain(request)
        body = request.json() or {}
        rtype = body.get("type")
        if rtype not in ("A", "AAAA", "NS", "MX", "CNAME", "TXT", "SRV", "PTR", "CAA"):
            raise invalid("type is required", "type")
        name = self._relative(domain, body.get("name"))
        _check_target(rtype, body.get("target"))
        self._check_cname(domain, None, rtype, name)
        record = {"id": self.next_id("record") + 20000000, "type": rtype, "name": name, "target": body["target"],
                  "ttl_sec": round_ttl(body.get("ttl_sec")), "priority": body.get("priority", 0),
                  "weight": body.get("weight", 0), "port": body.get("port", 0), "service": body.get("service"),
                  "protocol": body.get("protocol"), "tag": body.get("tag"), "created": now(), "updated": now()}
        domain["_records"][record["id"]] = record
        return record

    @route("GET", "/domains/{domainId}/records/{recordId}")
    def get_record(self, request):
        return self._record(request)[1]

    @route("PUT", "/domains/{domainId}/records/{recordId}")
    def update_record(self, request):
        domain, record = self._record(request)
        body = request.json() or {}
        if "target" in body:
            _check_target(record["type"], body["target"])
        if "name" in body:
            body["name"] = self._relative(domain, body["name"])
            self._check_cname(domain, record, record["type"], body["name"])
        if "ttl_sec" in body:
            body["ttl_sec"] = round_ttl(body["ttl_sec"])
        for key in ("name", "target", "ttl_sec", "priority", "weight", "port", "service", "protocol", "tag"):
            if key in body:
                record[key] = body[key]
        record["updated"] = now()
        return record

    @route("DELETE", "/domains/{domainId}/records/{recordId}")
    def delete_record(self, request):
        domain, record = self._record(request)
        del domain["_records"][record["id"]]
        return {}
