"""Catalog: locations, datacenters, server types, system images, SSH keys."""
import base64
import hashlib

from tests.support.sim.base import ApiError, route
from tests.support.sim.hetzner import labels
from tests.support.sim.hetzner._util import field_error, int_id, not_found, now_iso, page, sort_items

LOCATIONS = [
    # id, name, description, country, city, lat, lon, network zone, datacenter
    (1, "fsn1", "Falkenstein DC Park 1", "DE", "Falkenstein", 50.47612, 12.370071, "eu-central", "fsn1-dc14"),
    (2, "nbg1", "Nuremberg DC Park 1", "DE", "Nuremberg", 49.452102, 11.076665, "eu-central", "nbg1-dc3"),
    (3, "hel1", "Helsinki DC Park 1", "FI", "Helsinki", 60.169855, 24.938379, "eu-central", "hel1-dc2"),
    (4, "ash", "Ashburn, VA", "US", "Ashburn, VA", 39.045821, -77.487073, "us-east", "ash-dc1"),
    (5, "hil", "Hillsboro, OR", "US", "Hillsboro, OR", 45.54222, -122.951924, "us-west", "hil-dc1"),
    (6, "sin", "Singapore", "SG", "Singapore", 1.283333, 103.833333, "ap-southeast", "sin-dc1"),
]
SERVER_TYPES = [
    # id, name, architecture, cpu type, cores, memory GB, disk GB, monthly net EUR, locations
    (114, "cx23", "x86", "shared", 2, 4.0, 40, "3.49", ("fsn1", "nbg1", "hel1")),
    (115, "cpx22", "x86", "shared", 2, 4.0, 80, "5.99", ("fsn1", "nbg1", "hel1", "ash", "hil", "sin")),
    (45, "cax11", "arm", "shared", 2, 4.0, 40, "3.79", ("fsn1", "nbg1", "hel1")),
    (96, "ccx13", "x86", "dedicated", 2, 8.0, 80, "12.49", ("fsn1", "nbg1", "hel1", "ash", "hil", "sin")),
]
#: a Primary IPv4 address per month, net (IPv6 ones are free)
PRIMARY_IPV4_MONTHLY = "0.5000"
SYSTEM_IMAGES = [
    # id, name, architecture, os flavor, os version
    (114690387, "debian-12", "x86", "debian", "12"),
    (114690389, "debian-12", "arm", "debian", "12"),
    (161547269, "ubuntu-24.04", "x86", "ubuntu", "24.04"),
    (161547270, "ubuntu-24.04", "arm", "ubuntu", "24.04"),
]


def _gross(net):
    return "%.4f" % (float(net) * 1.19)


def _price(location, monthly):
    hourly = "%.4f" % (float(monthly) / 730)
    return {"location": location, "included_traffic": 21990232555520,
            "price_hourly": {"net": hourly, "gross": _gross(hourly)},
            "price_monthly": {"net": monthly, "gross": _gross(monthly)},
            "price_per_tb_traffic": {"net": "1.00", "gross": "1.19"}}


def _location(row):
    return {"id": row[0], "name": row[1], "description": row[2], "country": row[3], "city": row[4],
            "latitude": row[5], "longitude": row[6], "network_zone": row[7]}


def _server_type(row):
    ids = dict((loc[1], loc[0]) for loc in LOCATIONS)
    return {"id": row[0], "name": row[1], "description": row[1].upper(), "architecture": row[2], "cpu_type": row[3],
            "cores": row[4], "memory": row[5], "disk": row[6], "storage_type": "local", "category": "regular_purpose",
            "deprecated": False, "deprecation": None,
            "locations": [{"id": ids[n], "name": n, "deprecation": None, "available": True, "recommended": n != "sin"}
                          for n in row[8]],
            "prices": [_price(n, row[7]) for n in row[8]]}


def _fingerprint(public_key):
    try:
        blob = base64.b64decode(public_key.split()[1])
    except (IndexError, ValueError):
        raise field_error("public_key", "invalid public key")
    digest = hashlib.md5(blob).hexdigest()  # what the API shows (MD5, colon separated)
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


class CatalogMixin:
    """State: ``self.ssh_keys`` {id: key}; the fixed catalog above."""

    def location(self, name):
        """A location by name or ID (the API takes either wherever it takes a location)."""
        for row in LOCATIONS:
            if row[1] == name or str(row[0]) == str(name):
                return _location(row)
        return None

    def datacenter(self, location_name):
        row = [r for r in LOCATIONS if r[1] == location_name][0]
        ids = [t[0] for t in SERVER_TYPES if location_name in t[8]]
        return {"id": row[0], "name": row[8], "description": "%s virtual DC" % row[4], "location": _location(row),
                "server_types": {"available": ids, "supported": ids, "available_for_migration": ids}}

    def server_type(self, name):
        for row in SERVER_TYPES:
            if row[1] == name or str(row[0]) == str(name):
                return _server_type(row)
        return None

    def seed_system_images(self):
        for image_id, name, arch, flavor, version in SYSTEM_IMAGES:
            self.images[image_id] = {
                "id": image_id, "name": name, "description": "%s %s" % (flavor.capitalize(), version), "type": "system",
                "status": "available", "architecture": arch, "os_flavor": flavor, "os_version": version,
                "image_size": None, "disk_size": 5, "created": now_iso(), "created_from": None, "bound_to": None,
                "deleted": None, "deprecated": None, "labels": {}, "protection": {"delete": False}, "rapid_deploy": True}

    @route("GET", "/locations")
    def list_locations(self, request):
        name = request.arg("name")
        return page(request, "locations", [_location(r) for r in LOCATIONS if name in (None, r[1])])

    @route("GET", "/locations/{id}")
    def get_location(self, request):
        for row in LOCATIONS:
            if row[0] == int_id(request):
                return {"location": _location(row)}
        raise not_found("location")

    @route("GET", "/server_types")
    def list_server_types(self, request):
        name = request.arg("name")
        return page(request, "server_types", [_server_type(r) for r in SERVER_TYPES if name in (None, r[1])])

    @route("GET", "/server_types/{id}")
    def get_server_type(self, request):
        for row in SERVER_TYPES:
            if row[0] == int_id(request):
                return {"server_type": _server_type(row)}
        raise not_found("server type")

    @route("GET", "/pricing")
    def list_prices(self, request):
        """The project's prices (EUR, 19 % VAT) built from the same catalog as the server types, so the two agree."""
        def monthly(location, net):
            return {"location": location, "price_monthly": {"net": net, "gross": _gross(net)}}

        def per_location(net):
            return [monthly(row[1], net) for row in LOCATIONS]
        return {"pricing": {
            "currency": "EUR", "vat_rate": "19.00",
            "floating_ip": {"price_monthly": {"net": "3.00", "gross": _gross("3.00")}},
            "floating_ips": [{"type": "ipv4", "prices": per_location("3.00")},
                             {"type": "ipv6", "prices": per_location("3.00")}],
            "primary_ips": [dict(type=family, prices=[dict(monthly(row[1], net), price_hourly={
                "net": "%.4f" % (float(net) / 730), "gross": _gross("%.4f" % (float(net) / 730))}) for row in LOCATIONS])
                for family, net in (("ipv4", PRIMARY_IPV4_MONTHLY), ("ipv6", "0.0000"))],
            "image": {"price_per_gb_month": {"net": "0.0110", "gross": _gross("0.0110")}},
            "volume": {"price_per_gb_month": {"net": "0.0440", "gross": _gross("0.0440")}},
            "server_backup": {"percentage": "20.00"},
            "load_balancer_types": [],
            "server_types": [{"id": row[0], "name": row[1], "prices": _server_type(row)["prices"]}
                             for row in SERVER_TYPES]}}

    # -- SSH keys ------------------------------------------------------------------------
    @route("GET", "/ssh_keys")
    def list_ssh_keys(self, request):
        name, selector = request.arg("name"), request.arg("label_selector")
        items = [dict(k) for k in self.ssh_keys.values()
                 if name in (None, k["name"]) and labels.matches(k["labels"], selector)]
        return page(request, "ssh_keys", sort_items(request, items))

    @route("POST", "/ssh_keys")
    def create_ssh_key(self, request):
        body = request.json() or {}
        labels.check(body.get("labels"))
        fingerprint = _fingerprint(body.get("public_key") or "")
        for key in self.ssh_keys.values():
            if key["name"] == body.get("name") or key["fingerprint"] == fingerprint:
                raise ApiError(409, "uniqueness_error", "SSH key with the same name or fingerprint already exists")
        key = {"id": self.next_id("ssh_key"), "name": body.get("name"), "public_key": body["public_key"].strip(),
               "fingerprint": fingerprint, "labels": dict(body.get("labels") or {}), "created": now_iso()}
        self.ssh_keys[key["id"]] = key
        return 201, {"ssh_key": dict(key)}

    @route("GET", "/ssh_keys/{id}")
    def get_ssh_key(self, request):
        key = self.ssh_keys.get(int_id(request))
        if key is None:
            raise not_found("SSH key")
        return {"ssh_key": dict(key)}

    @route("DELETE", "/ssh_keys/{id}")
    def delete_ssh_key(self, request):
        if self.ssh_keys.pop(int_id(request), None) is None:
            raise not_found("SSH key")
        return 204, None
