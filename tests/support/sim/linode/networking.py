"""IP addresses: the account's addresses, allocation of more IPv4 to a Linode, and IP sharing (failover).

A Linode owns the addresses in its ``ipv4`` list (the first one it got at creation, then those allocated
through ``POST /networking/ips``) and its SLAAC IPv6. IP sharing lets other Linodes bring an owned address
up too: ``POST /networking/ips/share`` (post-share-ips; ``POST /networking/ipv4/share``, post-share-ipv4s,
is the document's "equivalent" older path and is served by the same handler) sets the whole list of
addresses shared *with* ``linode_id`` (an empty list removes them). The document's rules: the caller must
have access to every address, and every address must be in the primary Linode's region; the simulator also
refuses to share an address with the Linode that owns it. IPv6 ranges can be shared on the real API; the
simulator has none to share, so an IPv6 address is refused like an unknown one.

Addresses: allocated public IPv4 come from 198.51.100.0/24 and private ones from 192.168.128.0/17 (first
addresses are in 203.0.113.0/24, see instances.py). ``sim.additional_ipv4 = False`` plays an account that
was not granted additional addresses ("please open a support ticket", as the document says).
Moving addresses: ``POST /networking/ips/assign`` (post-assign-ips; the deprecated ``/networking/ipv4/assign``,
post-assign-ipv4s, is served by the same handler) applies a list of ``{address, linode_id}`` in one ``region``,
all or nothing. The document's rules: every address and every Linode must exist in that region, every Linode
involved ends with at least one public IPv4 and at most one private IPv4; the address leaves its previous
Linode. The simulator also refuses IPv6 (it has no ranges), an address given twice, and moving an address that
is shared with another Linode ("shared IP addresses cannot be swapped"). A moved address goes to the end of its
new Linode's ``ipv4`` list. ``DELETE /linode/instances/{linodeId}/ips/{address}`` (delete-linode-ip) removes an
address from its Linode, refusing the last public IPv4.
Not modelled: rDNS updates, IPv6 ranges and pools, reserved IPs, VPC addresses.
"""
import ipaddress

from tests.support.sim.base import route
from tests.support.sim.linode._common import invalid, listing, not_found

PUBLIC_POOL = ipaddress.IPv4Network("198.51.100.0/24")
PRIVATE_POOL = ipaddress.IPv4Network("192.168.128.0/17")
FILTERABLE = ("address", "prefix", "rdns", "region", "type")


def _record(inst, address):
    """The API's IP address object of ``address``, which ``inst`` owns."""
    if ":" in address:  # SLAAC or link-local; no rDNS (the document types it as a non-null string here)
        return {"address": address, "gateway": "fe80::1", "linode_id": inst["id"], "prefix": 64,
                "public": not address.startswith("fe80:"), "region": inst["region"],
                "subnet_mask": "ffff:ffff:ffff:ffff::", "type": "ipv6"}
    if ipaddress.ip_address(address) in PRIVATE_POOL:  # the document types gateway and rdns as non-null here
        return {"address": address, "linode_id": inst["id"], "prefix": 17, "public": False,
                "region": inst["region"], "subnet_mask": "255.255.128.0", "type": "ipv4"}
    network = ipaddress.ip_network(address + "/24", strict=False)
    return {"address": address, "gateway": str(network.network_address + 1), "linode_id": inst["id"],
            "prefix": 24, "public": True, "rdns": "%s.ip.linodeusercontent.com" % address.replace(".", "-"),
            "region": inst["region"], "subnet_mask": "255.255.255.0", "type": "ipv4"}


def _slaac(inst):
    return inst["ipv6"].split("/")[0] if inst.get("ipv6") else None


def _private(address):
    return ipaddress.ip_address(address) in PRIVATE_POOL


class NetworkingMixin:
    """State: ``self.ip_shares`` {linode id: [addresses shared with it]}; ``self.additional_ipv4``."""

    # -- lookups and test helpers ------------------------------------------------------------------
    def owner_of(self, address):
        """The Linode (stored object) that owns ``address``, or None."""
        for inst in self.instances.values():
            if address in inst["ipv4"] or address == _slaac(inst):
                return inst
        return None

    def holders_of(self, address):
        """Test helper: ``(owner label, sorted labels of the Linodes it is shared with)`` of ``address``;
        ``(None, [])`` when no Linode owns it."""
        with self.lock:
            owner = self.owner_of(address)
            shared = sorted(self.instances[lid]["label"] for lid, ips in self.ip_shares.items()
                            if address in ips and lid in self.instances)
            return (owner["label"] if owner else None, shared)

    def forget_ips_of(self, inst):
        """Linode deletion: its addresses are no longer shared with anyone, nor anything with it."""
        self.ip_shares.pop(inst["id"], None)
        owned = set(inst["ipv4"]) | {_slaac(inst)}
        for lid in list(self.ip_shares):
            self.ip_shares[lid] = [a for a in self.ip_shares[lid] if a not in owned]

    def _records(self):
        """Every owned address's record, in the order of the Linodes and their addresses."""
        out = []
        for inst in self.instances.values():
            out += [_record(inst, a) for a in inst["ipv4"]]
            if _slaac(inst):
                out.append(_record(inst, _slaac(inst)))
        return out

    def _allocate(self, pool, kind):
        n = self.next_id(kind)
        if n >= pool.num_addresses - 1:
            raise invalid("No IPv4 addresses available in this region", "type")
        return str(pool.network_address + n)

    # -- endpoints ----------------------------------------------------------------------------------
    @route("GET", "/networking/ips")
    def list_ips(self, request):
        """Every address of the account "excluding private addresses"."""
        return listing(request, [r for r in self._records() if r["public"]], FILTERABLE)

    @route("GET", "/networking/ips/{address}")
    def get_ip(self, request):
        address = request.params["address"]
        owner = self.owner_of(address)
        if owner is None:
            raise not_found()
        return _record(owner, address)

    @route("POST", "/networking/ips")
    def allocate_ip(self, request):
        body = request.json() or {}
        if body.get("type") != "ipv4":
            raise invalid("Only IPv4 addresses may be allocated", "type")
        if not isinstance(body.get("public"), bool):
            raise invalid("public is required", "public")
        inst = self.instances.get(body.get("linode_id")) if isinstance(body.get("linode_id"), int) else None
        if inst is None:
            raise invalid("Linode not found", "linode_id")
        if body["public"]:
            if not self.additional_ipv4:
                raise invalid("Additional IPv4 addresses require technical justification. Please open a "
                              "Support Ticket describing your requirement", "type")
            address = self._allocate(PUBLIC_POOL, "public_ipv4")
        else:
            if any(_private(a) for a in inst["ipv4"]):
                raise invalid("Linodes may have no more than one assigned private IPv4 address", "public")
            address = self._allocate(PRIVATE_POOL, "private_ipv4")
        inst["ipv4"].append(address)
        return _record(inst, address)

    @route("POST", "/networking/ips/share")
    def share_ips(self, request):
        body = request.json() or {}
        target = self.instances.get(body.get("linode_id")) if isinstance(body.get("linode_id"), int) else None
        if target is None:
            raise invalid("Linode not found", "linode_id")
        ips = body.get("ips")
        if not isinstance(ips, list):
            raise invalid("ips must be a list of addresses", "ips")
        for address in ips:
            owner = self.owner_of(address) if isinstance(address, str) else None
            if owner is None or ":" in address:
                raise invalid("%s is not an address on your account" % (address,), "ips")
            if owner["id"] == target["id"]:
                raise invalid("%s is an address of Linode %d itself" % (address, target["id"]), "ips")
            if owner["region"] != target["region"]:
                raise invalid("%s is in region %s; shared addresses must be in the primary Linode's region %s"
                              % (address, owner["region"], target["region"]), "ips")
        if ips:
            self.ip_shares[target["id"]] = list(dict.fromkeys(ips))
        else:
            self.ip_shares.pop(target["id"], None)
        return {}

    @route("POST", "/networking/ipv4/share")
    def share_ipv4s(self, request):
        """post-share-ipv4s: "equivalent to Share IP addresses" in the document."""
        return self.share_ips(request)

    @route("POST", "/networking/ips/assign")
    def assign_ips(self, request):
        body = request.json() or {}
        region = body.get("region")
        if not isinstance(region, str) or self.region(region) is None:
            raise invalid("Region not found", "region")
        assignments = body.get("assignments")
        if not isinstance(assignments, list) or not assignments:
            raise invalid("assignments must be a non-empty list", "assignments")
        moves = {}
        for n, item in enumerate(assignments):
            field = "assignments[%d]" % n
            address = item.get("address") if isinstance(item, dict) else None
            linode_id = item.get("linode_id") if isinstance(item, dict) else None
            if not isinstance(address, str) or ":" in address:
                raise invalid("%s is not an IPv4 address on your account" % (address,), field + ".address")
            owner = self.owner_of(address)
            if owner is None:
                raise invalid("%s is not an IPv4 address on your account" % address, field + ".address")
            target = self.instances.get(linode_id) if isinstance(linode_id, int) else None
            if target is None:
                raise invalid("Linode %s not found" % (linode_id,), field + ".linode_id")
            for inst, what in ((owner, "address %s" % address), (target, "Linode %d" % target["id"])):
                if inst["region"] != region:
                    raise invalid("%s is in region %s, not %s: all IPs and Linodes must exist in the region"
                                  % (what, inst["region"], region), field)
            if address in moves:
                raise invalid("%s is assigned twice" % address, field + ".address")
            if owner["id"] != target["id"] and any(address in ips for ips in self.ip_shares.values()):
                raise invalid("%s is shared; shared IP addresses cannot be swapped between Linodes" % address,
                              field + ".address")
            moves[address] = (owner, target)
        after = dict((inst["id"], list(inst["ipv4"])) for pair in moves.values() for inst in pair)
        for address, (owner, target) in moves.items():
            if owner["id"] != target["id"]:
                after[owner["id"]].remove(address)
                after[target["id"]].append(address)
        for linode_id, addresses in sorted(after.items()):
            if not [a for a in addresses if not _private(a)]:
                raise invalid("Linode %d would have no public IPv4 address left" % linode_id, "assignments")
            if len([a for a in addresses if _private(a)]) > 1:
                raise invalid("Linode %d would have more than one private IPv4 address" % linode_id, "assignments")
        for linode_id, addresses in after.items():
            self.instances[linode_id]["ipv4"] = addresses
        return {}

    @route("POST", "/networking/ipv4/assign")
    def assign_ipv4s(self, request):
        """post-assign-ipv4s: the deprecated path of the same operation."""
        return self.assign_ips(request)

    @route("DELETE", "/linode/instances/{linodeId}/ips/{address}")
    def delete_instance_ip(self, request):
        inst = self.instance(request.params["linodeId"])
        address = request.params["address"]
        if address not in inst["ipv4"]:
            raise not_found()
        if not _private(address) and len([a for a in inst["ipv4"] if not _private(a)]) == 1:
            raise invalid("%s is the last public IPv4 address of Linode %d" % (address, inst["id"]), "address")
        inst["ipv4"].remove(address)
        self.forget_shares_of(address)
        return {}

    def forget_shares_of(self, address):
        for lid in list(self.ip_shares):
            self.ip_shares[lid] = [a for a in self.ip_shares[lid] if a != address]
            if not self.ip_shares[lid]:
                del self.ip_shares[lid]

    @route("GET", "/linode/instances/{linodeId}/ips")
    def list_instance_ips(self, request):
        inst = self.instance(request.params["linodeId"])
        shared = []
        for address in self.ip_shares.get(inst["id"], ()):
            owner = self.owner_of(address)
            if owner is not None:
                shared.append(_record(owner, address))
        slaac = _slaac(inst)
        return {
            "ipv4": {"public": [_record(inst, a) for a in inst["ipv4"] if not _private(a)],
                     "private": [_record(inst, a) for a in inst["ipv4"] if _private(a)],
                     "shared": shared, "reserved": [], "vpc": []},
            "ipv6": {"slaac": _record(inst, slaac),
                     "link_local": _record(inst, "fe80::%x" % (inst["id"] % 0xffff)),
                     "global": []},
        }
