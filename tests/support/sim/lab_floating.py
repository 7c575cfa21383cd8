"""The lab cloud's floating IPs (docs/lab.md): an address of the lab, owned by a label set, routed to one server.

Shaped like Hetzner's Floating IPs: ``POST /floating_ips`` {name, type (ipv4), location, labels, server}
makes one in ``location`` (or the server's); ``POST /floating_ips/{id}/actions/assign`` {server: id or null}
routes it to a server (a move is one assign) or nowhere; ``DELETE`` refuses an assigned address
(``must_be_unassigned``), as Hetzner does since May 2026; a deleted server's address is unassigned.

Without the lab network the address is a value only (from 192.0.2.0/24, never routed); with it (root) it
is a free edge address of the lab network, reserved so no server gets it, and ``on_floating_change``
(LabCloud) makes the move real.
"""
import ipaddress
import time

from .base import ApiError, route

#: where the lab's floating addresses come from when it has no lab network (TEST-NET-1: never routed)
UNROUTED = ipaddress.IPv4Network("192.0.2.0/24")


class FloatingIpsMixin:
    """State: ``self.state["floating_ips"]`` {id: record}."""

    def show_floating_ip(self, fip):
        return {"id": fip["id"], "name": fip["name"], "type": fip["type"], "ip": fip["ip"],
                "location": fip["location"], "server": fip["server"], "labels": dict(fip["labels"]),
                "created": fip["created"]}

    def floating_addresses(self):
        return set(f["ip"] for f in self.state.get("floating_ips", {}).values())

    def new_floating_address(self):
        taken = self.floating_addresses()
        if self.edges:
            reserved = [{"public_net": {"ipv4": ip}} for ip in taken]
            return self.edges.address(list(self.state["servers"].values()) + reserved)
        for host in UNROUTED.hosts():
            if str(host) not in taken:
                return str(host)
        raise ApiError(422, "resource_limit_exceeded", "no free floating address left in %s" % UNROUTED)

    def floating_target(self, ident, field="server"):
        srv = self.state["servers"].get(str(ident))
        if srv is None or srv["status"] == "deleting":
            raise ApiError(422, "invalid_input", "server %r does not exist" % (ident,), field=field)
        return srv

    def pool_floating_addresses(self, srv):
        """The floating addresses of the pool of server ``srv`` (the same ownership labels)."""
        keys = ("managed-by", "autoextender-cluster", "autoextender-pool")
        mine = dict((k, srv["labels"].get(k)) for k in keys)
        if None in mine.values():
            return []
        return sorted(f["ip"] for f in self.state.get("floating_ips", {}).values()
                      if all(f["labels"].get(k) == v for k, v in mine.items()))

    def on_floating_change(self, fip, before):
        """The address ``fip`` moved from server id ``before`` (None: from nowhere) to ``fip["server"]``: with the lab
        network, the host's route to it changes, and every server of its pool holds it (Talos: the join config)."""
        if not self.edges:
            return
        from ..labnet import LabnetError
        srv = self.state["servers"].get(fip["server"]) if fip["server"] else None
        try:
            for other in self.state["servers"].values():
                if other["status"] in ("starting", "running") and fip["ip"] in self.pool_floating_addresses(other):
                    self.edges.hold_floating(other, [fip["ip"]])
            self.edges.route_floating(fip["ip"], srv["public_net"]["ipv4"] if srv else None)
        except LabnetError as e:
            raise ApiError(500, "unavailable", "the lab could not route floating IP %s: %s" % (fip["name"], e))

    def unassign_floating_of(self, srv):
        """A server is deleted: every address routed to it is routed nowhere."""
        for fip in self.state.get("floating_ips", {}).values():
            if fip["server"] == srv["id"]:
                fip["server"] = None
                self.on_floating_change(fip, srv["id"])

    @route("GET", "/floating_ips")
    def list_floating_ips(self, request):
        from .lab import filtered, listing
        return listing(request, "floating_ips", [self.show_floating_ip(f) for f in
                                                 filtered(request, self.state["floating_ips"].values())])

    @route("GET", "/floating_ips/{id}")
    def get_floating_ip(self, request):
        return {"floating_ip": self.show_floating_ip(self.find("floating_ips", request.params["id"]))}

    @route("POST", "/floating_ips")
    def create_floating_ip(self, request):
        from .lab import LOCATIONS, NAME_RE, check_labels, iso
        body = request.json() or {}
        name = body.get("name") or ""
        if not NAME_RE.match(name):
            raise ApiError(422, "invalid_input", "invalid floating IP name %r" % name, field="name")
        if body.get("type", "ipv4") != "ipv4":
            raise ApiError(422, "invalid_input", "the lab has IPv4 floating addresses only", field="type")
        with self.lock:
            if any(f["name"] == name for f in self.state["floating_ips"].values()):
                raise ApiError(409, "uniqueness_error", "a floating IP named %s already exists" % name, field="name")
            srv = self.floating_target(body["server"]) if body.get("server") is not None else None
            location = body.get("location") or (srv["location"] if srv else None)
            if location not in LOCATIONS:
                raise ApiError(422, "invalid_input", "unknown location %r; valid locations: %s"
                               % (location, ", ".join(sorted(LOCATIONS))), field="location")
            fip = {"id": str(self.next_id("floating_ip")), "name": name, "type": "ipv4",
                   "ip": self.new_floating_address(), "location": location, "server": srv["id"] if srv else None,
                   "labels": check_labels(body.get("labels") or {}), "created": iso(time.time())}
            self.state["floating_ips"][fip["id"]] = fip
            if srv is not None:
                self.on_floating_change(fip, None)
            self.save()
        return 201, {"floating_ip": self.show_floating_ip(fip)}

    @route("PUT", "/floating_ips/{id}")
    def update_floating_ip(self, request):
        from .lab import check_labels
        fip = self.find("floating_ips", request.params["id"])
        body = request.json() or {}
        if "labels" in body:
            fip["labels"] = check_labels(body["labels"])
        self.save()
        return {"floating_ip": self.show_floating_ip(fip)}

    @route("POST", "/floating_ips/{id}/actions/assign")
    def assign_floating_ip(self, request):
        """Route the address to ``server`` (a move from another server is this one call), or nowhere (null)."""
        body = request.json() or {}
        with self.lock:
            fip = self.find("floating_ips", request.params["id"])
            srv = self.floating_target(body["server"]) if body.get("server") is not None else None
            before = fip["server"]
            fip["server"] = srv["id"] if srv else None
            if before != fip["server"]:
                self.on_floating_change(fip, before)
            self.save()
        resources = [{"id": fip["id"], "type": "floating_ip"}] + ([{"id": srv["id"], "type": "server"}] if srv else [])
        return 201, {"action": self.new_action("assign_floating_ip", resources, 0)}

    @route("DELETE", "/floating_ips/{id}")
    def delete_floating_ip(self, request):
        with self.lock:
            fip = self.find("floating_ips", request.params["id"])
            if fip["server"] is not None:
                raise ApiError(422, "must_be_unassigned", "floating IP %s is still assigned to server %s"
                               % (fip["name"], fip["server"]))
            del self.state["floating_ips"][fip["id"]]
            if self.edges:
                from ..labnet import LabnetError
                try:
                    self.edges.release_floating(fip["ip"])
                except LabnetError as e:
                    raise ApiError(500, "unavailable", "the lab could not release floating IP %s: %s" % (fip["name"], e))
            self.save()
        return 204, None
