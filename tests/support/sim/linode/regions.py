"""Regions (with and without the Metadata capability) and Linode types."""
from tests.support.sim.base import route
from tests.support.sim.linode._common import listing, lookup

_BASE_CAPS = ["Linodes", "Block Storage", "Cloud Firewall", "Vlans", "NodeBalancers"]


def _region(rid, label, country, metadata):
    return {"id": rid, "label": label, "country": country, "status": "ok", "site-type": "core",
            "capabilities": _BASE_CAPS + (["Metadata"] if metadata else []),
            "resolvers": {"ipv4": "192.0.2.53", "ipv6": "2001:db8::53"},
            "placement_group_limits": {"maximum_linodes_per_pg": 5, "maximum_pgs_per_customer": None}}


def _type(tid, label, cls, vcpus, memory, disk, monthly, region_prices=()):
    return {"id": tid, "label": label, "class": cls, "vcpus": vcpus, "memory": memory, "disk": disk, "gpus": 0,
            "transfer": 1000 * vcpus, "network_out": 1000 * vcpus, "successor": None,
            "price": {"hourly": round(monthly / 730.0, 4), "monthly": float(monthly)},
            "region_prices": [{"id": rid, "hourly": round(price / 730.0, 4), "monthly": float(price)}
                              for rid, price in region_prices],
            "addons": {"backups": {"price": {"hourly": 0.003, "monthly": 2.0}, "region_prices": []}}}


def default_regions():
    """A few regions modelled on real ones: two with Metadata, two without."""
    return [_region("us-ord", "Chicago, IL", "us", True), _region("fr-par", "Paris, FR", "fr", True),
            _region("eu-central", "Frankfurt, DE", "de", False), _region("ap-south", "Singapore, SG", "sg", False)]


def default_types():
    # Singapore costs more here, as Jakarta and Sao Paulo do on the real API (region_prices).
    return [_type("g6-nanode-1", "Nanode 1GB", "nanode", 1, 1024, 25600, 5, [("ap-south", 6)]),
            _type("g6-standard-1", "Linode 2GB", "standard", 1, 2048, 51200, 12),
            _type("g6-standard-2", "Linode 4GB", "standard", 2, 4096, 81920, 24),
            _type("g6-dedicated-2", "Dedicated 4GB", "dedicated", 2, 4096, 81920, 36)]


class RegionsMixin:
    def region(self, rid):
        return next((r for r in self.regions if r["id"] == rid), None)

    def linode_type(self, tid):
        return next((t for t in self.types if t["id"] == tid), None)

    @route("GET", "/regions")
    def list_regions(self, request):
        return listing(request, list(self.regions), ("id", "country", "capabilities"))

    @route("GET", "/regions/{regionId}")
    def get_region(self, request):
        return lookup(dict((r["id"], r) for r in self.regions), request.params["regionId"], cast=str)

    @route("GET", "/linode/types")
    def list_types(self, request):
        return listing(request, list(self.types), ("class", "vcpus", "memory", "disk", "label"))

    @route("GET", "/linode/types/{typeId}")
    def get_type(self, request):
        return lookup(dict((t["id"], t) for t in self.types), request.params["typeId"], cast=str)
