"""Cloudflare zones: GET /zones (filters name, status; page/per_page) and GET /zones/{zone_id}."""
from ..base import ApiError, paginate, route
from .ids import new_id, now


class ZonesMixin:

    def add_zone(self, name, account_id="0123456789abcdef0123456789abcdef"):
        """Seed an active zone (the API cannot create one without a registrar dance); returns it."""
        stamp = now()
        zone = {
            "id": new_id(), "name": name.rstrip(".").lower(), "status": "active", "paused": False, "type": "full",
            "development_mode": 0, "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
            "original_name_servers": None, "original_registrar": None, "original_dnshost": None,
            "created_on": stamp, "modified_on": stamp, "activated_on": stamp,
            "owner": {"id": account_id, "type": "user", "name": "autoextender"},
            "account": {"id": account_id, "name": "Autoextender test account"},
            "meta": {"step": 4, "custom_certificate_quota": 0, "page_rule_quota": 3, "phishing_detected": False},
            "permissions": ["#dns_records:edit", "#dns_records:read", "#zone:read"],
            "plan": {"id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Free Website", "price": 0, "currency": "USD",
                     "frequency": "", "is_subscribed": False, "can_subscribe": False, "legacy_id": "free",
                     "legacy_discount": False, "externally_managed": False},
        }
        self.zones[zone["id"]] = zone
        self.records[zone["id"]] = {}
        return zone

    def zone(self, zone_id):
        if zone_id not in self.zones:
            raise ApiError(404, 7003, "Could not route to /zones/%s, perhaps your object identifier is invalid?" % zone_id)
        return self.zones[zone_id]

    @route("GET", "/zones")
    def list_zones(self, request):
        name = request.arg("name")
        status = request.arg("status")
        page, per_page = request.arg("page", 1, int), request.arg("per_page", 20, int)
        if not 5 <= per_page <= 50 or page < 1:
            raise ApiError(400, 1001, "Invalid pagination: per_page must be between 5 and 50")
        zones = sorted(self.zones.values(), key=lambda z: z["name"])
        if name is not None:
            zones = [z for z in zones if z["name"] == name.lower()]
        if status is not None:
            zones = [z for z in zones if z["status"] == status]
        items, page, last = paginate(zones, page, per_page)
        return self.envelope(items, {"page": page, "per_page": per_page, "count": len(items),
                                     "total_count": len(zones), "total_pages": last})

    @route("GET", "/zones/{zone_id}")
    def get_zone(self, request):
        return self.envelope(self.zone(request.params["zone_id"]))
