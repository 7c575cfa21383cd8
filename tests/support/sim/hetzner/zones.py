"""DNS zones and RRSets of the Cloud API (/zones, /zones/{id_or_name}/rrsets ...)."""
import re

from tests.support.sim.base import ApiError, route
from tests.support.sim.hetzner import labels
from tests.support.sim.hetzner._util import field_error, not_found, now_iso, page, sort_items, valid_ip

_TXT = re.compile(r'^"(?:[^"\\]|\\.){0,255}"(?: "(?:[^"\\]|\\.){0,255}")*$')
_HOST = re.compile(r"^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.?$")
NAMESERVERS = ["hydrogen.ns.hetzner.com.", "oxygen.ns.hetzner.com.", "helium.ns.hetzner.de."]


def _check_records(zone, name, rtype, records, others):
    if not records:
        raise field_error("records", "an RRSet needs at least one record")
    for record in records:
        value = record.get("value") or ""
        ok = {"A": lambda v: valid_ip(v, 4), "AAAA": lambda v: valid_ip(v, 6), "TXT": _TXT.match,
              "CNAME": _HOST.match, "NS": _HOST.match}.get(rtype, lambda v: True)(value)
        if not ok:
            raise field_error("records", "invalid %s record value %r" % (rtype, value))
    if rtype == "CNAME":
        if name == "@":
            raise field_error("type", "CNAME records are not allowed at the zone apex")
        if len(records) > 1:
            raise field_error("records", "a CNAME RRSet has exactly one record")
    if (rtype == "CNAME" and others) or (rtype != "CNAME" and "CNAME" in others):
        raise ApiError(422, "invalid_input", "a CNAME cannot coexist with other records at %s" % name)


class ZonesMixin:
    """State: ``self.zones`` {id: zone}; rrsets in ``zone["_rrsets"]`` keyed by (name, type)."""

    def add_zone(self, name, ttl=3600, zone_labels=None):
        """Test helper: a primary zone with its SOA and NS sets (what creating one through the API gives)."""
        zid = self.next_id("zone")
        zone = {"id": zid, "name": name, "created": now_iso(), "mode": "primary", "ttl": ttl,
                "labels": dict(zone_labels or {}), "protection": {"delete": False}, "status": "ok",
                "registrar": "other", "_rrsets": {}}
        soa = '%s dns.hetzner.com. 2026010100 86400 10800 3600000 3600' % NAMESERVERS[0]
        self._put_rrset(zone, "@", "SOA", 3600, [{"value": soa}])
        self._put_rrset(zone, "@", "NS", 3600, [{"value": ns} for ns in NAMESERVERS])
        self.zones[zid] = zone
        return zone

    def zone_view(self, zone):
        return {"id": zone["id"], "name": zone["name"], "created": zone["created"], "mode": zone["mode"],
                "ttl": zone["ttl"], "labels": dict(zone["labels"]), "protection": dict(zone["protection"]),
                "status": zone["status"], "registrar": zone["registrar"], "record_count": sum(
                    len(r["records"]) for r in zone["_rrsets"].values()),
                "authoritative_nameservers": {"assigned": list(NAMESERVERS), "delegated": [],
                                              "delegation_last_check": None, "delegation_status": "unknown"}}

    @staticmethod
    def rrset_view(zone, rrset):
        return {"id": "%s/%s" % (rrset["name"], rrset["type"]), "name": rrset["name"], "type": rrset["type"],
                "ttl": rrset["ttl"], "labels": dict(rrset["labels"]), "protection": dict(rrset["protection"]),
                "records": [dict(r) for r in rrset["records"]], "zone": zone["id"]}

    def _put_rrset(self, zone, name, rtype, ttl, records, rr_labels=None):
        zone["_rrsets"][(name, rtype)] = {"name": name, "type": rtype, "ttl": ttl, "labels": dict(rr_labels or {}),
                                          "protection": {"change": False}, "records": [dict(r) for r in records]}
        return zone["_rrsets"][(name, rtype)]

    def find_zone(self, request):
        ref = request.params["id_or_name"]
        for zone in self.zones.values():
            if str(zone["id"]) == ref or zone["name"] == ref:
                return zone
        raise not_found("zone")

    def find_rrset(self, request):
        zone = self.find_zone(request)
        rrset = zone["_rrsets"].get((request.params["rr_name"], request.params["rr_type"]))
        if rrset is None:
            raise not_found("rrset")
        return zone, rrset

    def _zone_action(self, zone, command):
        return self.start_action(command, [("zone", zone["id"])])

    def _check_name(self, zone, name):
        if name != "@" and (name != name.lower() or name.endswith(".") or name.endswith(zone["name"])
                            or not _HOST.match(name)):
            raise field_error("name", "name must be lower case and relative to the zone (or @)")

    def _others(self, zone, name, rtype):
        return [t for (n, t) in zone["_rrsets"] if n == name and t != rtype]

    @route("GET", "/zones")
    def list_zones(self, request):
        name, selector = request.arg("name"), request.arg("label_selector")
        items = [self.zone_view(z) for z in self.zones.values()
                 if name in (None, z["name"]) and labels.matches(z["labels"], selector)]
        return page(request, "zones", sort_items(request, items))

    @route("GET", "/zones/{id_or_name}")
    def get_zone(self, request):
        return {"zone": self.zone_view(self.find_zone(request))}

    @route("GET", "/zones/{id_or_name}/rrsets")
    def list_rrsets(self, request):
        zone = self.find_zone(request)
        name, types, selector = request.arg("name"), request.query.get("type"), request.arg("label_selector")
        items = [self.rrset_view(zone, r) for r in zone["_rrsets"].values()
                 if name in (None, r["name"]) and (not types or r["type"] in types) and labels.matches(r["labels"], selector)]
        return page(request, "rrsets", sort_items(request, items))

    @route("POST", "/zones/{id_or_name}/rrsets")
    def create_rrset(self, request):
        zone = self.find_zone(request)
        body = request.json() or {}
        name, rtype = body.get("name", ""), body.get("type")
        self._check_name(zone, name)
        labels.check(body.get("labels"))
        if (name, rtype) in zone["_rrsets"]:
            raise ApiError(409, "uniqueness_error", "an RRSet with this name and type already exists")
        _check_records(zone, name, rtype, body.get("records") or [], self._others(zone, name, rtype))
        rrset = self._put_rrset(zone, name, rtype, body.get("ttl"), body.get("records"), body.get("labels"))
        return 201, {"rrset": self.rrset_view(zone, rrset), "action": self._zone_action(zone, "create_rrset")}

    @route("GET", "/zones/{id_or_name}/rrsets/{rr_name}/{rr_type}")
    def get_rrset(self, request):
        zone, rrset = self.find_rrset(request)
        return {"rrset": self.rrset_view(zone, rrset)}

    @route("PUT", "/zones/{id_or_name}/rrsets/{rr_name}/{rr_type}")
    def update_rrset(self, request):
        zone, rrset = self.find_rrset(request)
        body = request.json() or {}
        if "labels" in body:
            labels.check(body["labels"])
            rrset["labels"] = dict(body["labels"])
        return {"rrset": self.rrset_view(zone, rrset)}

    @route("DELETE", "/zones/{id_or_name}/rrsets/{rr_name}/{rr_type}")
    def delete_rrset(self, request):
        zone, rrset = self.find_rrset(request)
        if rrset["type"] in ("SOA",) or (rrset["type"] == "NS" and rrset["name"] == "@"):
            raise ApiError(422, "invalid_input", "the apex SOA and NS records cannot be deleted")
        del zone["_rrsets"][(rrset["name"], rrset["type"])]
        return 201, {"action": self._zone_action(zone, "delete_rrset")}

    @route("POST", "/zones/{id_or_name}/rrsets/{rr_name}/{rr_type}/actions/{action}")
    def rrset_actions(self, request):
        zone, rrset = self.find_rrset(request)
        body = request.json() or {}
        name = request.params["action"]
        records = body.get("records") or []
        if name == "set_records":
            _check_records(zone, rrset["name"], rrset["type"], records, self._others(zone, rrset["name"], rrset["type"]))
            rrset["records"] = [dict(r) for r in records]
        elif name == "add_records":
            merged = rrset["records"] + [r for r in records if r["value"] not in [x["value"] for x in rrset["records"]]]
            _check_records(zone, rrset["name"], rrset["type"], merged, self._others(zone, rrset["name"], rrset["type"]))
            rrset["records"] = merged
        elif name == "remove_records":
            values = [r["value"] for r in records]
            rrset["records"] = [r for r in rrset["records"] if r["value"] not in values]
            if not rrset["records"]:
                del zone["_rrsets"][(rrset["name"], rrset["type"])]
        elif name == "change_ttl":
            rrset["ttl"] = body.get("ttl")
        else:
            raise ApiError(404, "not_found", "action %s not supported by the simulator" % name)
        return 201, {"action": self._zone_action(zone, name)}
