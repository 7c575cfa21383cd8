"""Cloudflare DNS records: list (every documented filter and order, record_filter.py; pagination), get, create,
PUT, PATCH, delete.

Validation follows what the API enforces for the record types the collection
writes (A, AAAA, CNAME, TXT); error codes are the API's.
"""
import ipaddress

from ..base import ApiError, paginate, route
from .ids import new_id, now
from .record_filter import select

TYPES = ("A", "AAAA", "CNAME", "TXT")
PROXIABLE = ("A", "AAAA", "CNAME")


def _validation(code, message):
    return ApiError(400, code, message)


class DnsRecordsMixin:

    # -- helpers ----------------------------------------------------------------------
    def zone_records(self, zone_id):
        """The records of a zone (for tests: ``sim.zone_records(zone["id"])``), as a list."""
        self.zone(zone_id)
        return sorted(self.records[zone_id].values(), key=lambda r: (r["name"], r["type"], r["content"]))

    def _record(self, zone_id, record_id):
        self.zone(zone_id)
        record = self.records[zone_id].get(record_id)
        if record is None:
            raise ApiError(404, 81044, "Record does not exist.")
        return record

    def _absolute(self, zone, name):
        """Cloudflare accepts ``@``, relative and absolute names; it stores the absolute name without the dot."""
        name = (name or "").strip().rstrip(".").lower()
        if name in ("@", ""):
            return zone["name"]
        if name == zone["name"] or name.endswith("." + zone["name"]):
            return name
        return name + "." + zone["name"]

    def _validate(self, zone, record, exclude_id=None):
        rtype = record.get("type")
        if rtype not in TYPES:
            raise _validation(1004, "DNS Validation Error: unsupported record type %r in this simulator" % (rtype,))
        content = record.get("content")
        if not isinstance(content, str) or not content:
            raise _validation(9000, "DNS name is invalid: content is required")
        if rtype == "A":
            try:
                ipaddress.IPv4Address(content)
            except ValueError:
                raise _validation(9005, "Content for A record is invalid. Must be a valid IPv4 address")
        if rtype == "AAAA":
            try:
                ipaddress.IPv6Address(content)
            except ValueError:
                raise _validation(9006, "Content for AAAA record is invalid. Must be a valid IPv6 address")
        if rtype == "CNAME" and content.rstrip(".").lower() == record["name"]:
            raise _validation(9039, "CNAME content cannot reference itself.")
        ttl = record.get("ttl", 1)
        if ttl != 1 and not 60 <= ttl <= 86400:
            raise _validation(9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.")
        if record.get("proxied") and rtype not in PROXIABLE:
            raise _validation(9004, "This record type cannot be proxied.")
        others = [r for r in self.records[zone["id"]].values() if r["name"] == record["name"] and r["id"] != exclude_id]
        if rtype == "CNAME" and others:
            raise _validation(81053, "An A, AAAA, or CNAME record with that host already exists.")
        if any(r["type"] == "CNAME" for r in others):
            raise _validation(81054, "A CNAME record with that host already exists.")
        if any(r["type"] == rtype and r["content"] == content for r in others):
            raise _validation(81058, "An identical record already exists.")

    def _build(self, zone, body, base=None):
        if not isinstance(body, dict):
            raise _validation(1004, "DNS Validation Error: body must be an object")
        record = dict(base or {})
        for key in ("type", "content", "ttl", "proxied", "comment", "tags"):
            if key in body:
                record[key] = body[key]
        record["name"] = self._absolute(zone, body.get("name", record.get("name")))
        if not isinstance(record.get("ttl", 1), (int, float)) or isinstance(record.get("ttl"), bool):
            raise _validation(9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.")
        self._validate(zone, record, exclude_id=record.get("id"))
        stamp = now()
        record.setdefault("id", new_id())
        record.setdefault("created_on", stamp)
        record.update({
            "zone_id": zone["id"], "zone_name": zone["name"], "modified_on": stamp,
            "ttl": int(record.get("ttl", 1)), "proxied": bool(record.get("proxied", False)),
            "proxiable": record["type"] in PROXIABLE, "locked": False,
            "tags": list(record.get("tags") or []), "settings": {},
            "meta": {"auto_added": False, "managed_by_apps": False, "managed_by_argo_tunnel": False, "source": "primary"},
        })
        if record.get("comment") is None:
            record.pop("comment", None)
        return record

    # -- routes ------------------------------------------------------------------------
    @route("GET", "/zones/{zone_id}/dns_records")
    def list_records(self, request):
        zone = self.zone(request.params["zone_id"])
        page, per_page = request.arg("page", 1, int), request.arg("per_page", 100, int)
        if page < 1 or per_page < 1:
            raise _validation(1004, "DNS Validation Error: invalid pagination")
        found = select(self.records[zone["id"]].values(), request.arg)
        items, page, last = paginate(found, page, per_page)
        return self.envelope(items, {"page": page, "per_page": per_page, "count": len(items),
                                     "total_count": len(found), "total_pages": last})

    @route("GET", "/zones/{zone_id}/dns_records/{dns_record_id}")
    def get_record(self, request):
        return self.envelope(self._record(request.params["zone_id"], request.params["dns_record_id"]))

    @route("POST", "/zones/{zone_id}/dns_records")
    def create_record(self, request):
        zone = self.zone(request.params["zone_id"])
        body = request.json()
        for key in ("type", "name", "content"):
            if not isinstance(body, dict) or key not in body:
                raise _validation(9000 if key != "type" else 9003, "DNS Validation Error: %s is required" % key)
        record = self._build(zone, body)
        self.records[zone["id"]][record["id"]] = record
        return self.envelope(record)

    def _rewrite(self, request, overwrite):
        """PUT replaces every field (TTL and proxying back to their defaults); PATCH merges."""
        zone = self.zone(request.params["zone_id"])
        old = self._record(zone["id"], request.params["dns_record_id"])
        if overwrite:
            body, base = dict({"ttl": 1, "proxied": False}, **(request.json() or {})), dict((k, old[k]) for k in ("id", "created_on"))
        else:
            body, base = request.json(), old
        record = self._build(zone, body, base=base)
        self.records[zone["id"]][record["id"]] = record
        return self.envelope(record)

    @route("PUT", "/zones/{zone_id}/dns_records/{dns_record_id}")
    def overwrite_record(self, request):
        return self._rewrite(request, overwrite=True)

    @route("PATCH", "/zones/{zone_id}/dns_records/{dns_record_id}")
    def patch_record(self, request):
        return self._rewrite(request, overwrite=False)

    @route("DELETE", "/zones/{zone_id}/dns_records/{dns_record_id}")
    def delete_record(self, request):
        zone = self.zone(request.params["zone_id"])
        record = self._record(zone["id"], request.params["dns_record_id"])
        del self.records[zone["id"]][record["id"]]
        return self.envelope({"id": record["id"]})
