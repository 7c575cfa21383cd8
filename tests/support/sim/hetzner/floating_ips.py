"""Floating IPs: create (in a home location or on a server), assign (a move is one assign), unassign,
protection, reverse DNS, update, delete.

A change is made when the request is answered and its action then runs; while it runs the address is
locked (423 ``locked`` for the next change), and an action that ends in ``error`` (``fail_next_action``)
undoes the change. Addresses come from documentation ranges that servers never get: IPv4 203.0.113.0/24,
IPv6 /64s of 2001:db8:0::/48 (servers have 198.18.0.0/15 and 2a01:4f8:c0c::/48, see servers.py).
"""
import ipaddress

from tests.support.sim.base import ApiError, route
from tests.support.sim.hetzner import labels
from tests.support.sim.hetzner._util import field_error, int_id, not_found, now_iso, page, sort_items, update_named

FLOATING_IPV4 = ipaddress.IPv4Network("203.0.113.0/24")
FLOATING_IPV6 = "2001:db8:0:%x::/64"
_PUBLIC = ("id", "name", "description", "ip", "type", "server", "home_location", "blocked", "created")


def default_ptr(ip):
    """The reverse DNS name Hetzner gives an IPv4 address (IPv6 ones have none until set)."""
    return "static.%s.clients.your-server.de" % ".".join(reversed(ip.split(".")))


def refuse_delete(sim, obj, what, assigned_to):
    """The API's refusals of deleting a floating or primary IP: protected, still assigned (``must_be_unassigned``,
    since 1 May 2026), locked by a running action."""
    if obj["protection"]["delete"]:
        raise ApiError(403, "protected", "%s is delete protected" % what)
    if assigned_to is not None:
        raise ApiError(422, "must_be_unassigned", "%s is still assigned to server %s" % (what, assigned_to))
    busy = sim.actions.get(obj["_action"])
    if busy is not None and busy["status"] == "running":
        raise ApiError(423, "locked", "%s is locked by a running action" % what)


def locked_action(sim, obj, command, resources, undo=None):
    """Start ``command`` on ``obj`` (a floating or primary IP), which stays locked until the action ends;
    ``undo`` takes back the change the request made when the action ends in error."""
    busy = sim.actions.get(obj.get("_action"))
    if busy is not None and busy["status"] == "running":
        raise ApiError(423, "locked", "%s %s is locked by a running action" % (resources[-1][0], obj["id"]))

    def failed():
        if undo is not None:
            undo()
    action = sim.start_action(command, resources, on_error=failed)
    obj["_action"] = action["id"]
    return action


def in_address(ip, family, address):
    """True when ``ip`` is the IPv4 ``address`` or lies in the IPv6 ``address`` (a /64)."""
    try:
        if family == "ipv4":
            return ipaddress.ip_address(ip) == ipaddress.ip_address(address)
        return ipaddress.ip_address(ip) in ipaddress.ip_network(address)
    except ValueError:
        return False


class FloatingIPsMixin:
    """State: ``self.floating_ips`` {id: floating ip}; ``server`` is the id of the server the address is
    routed to, None when unassigned."""

    # -- views and lookups -------------------------------------------------------------------
    def floating_ip_view(self, fip):
        view = dict((k, fip[k]) for k in _PUBLIC)
        view.update(labels=dict(fip["labels"]), protection=dict(fip["protection"]),
                    dns_ptr=[dict(p) for p in fip["dns_ptr"]])
        return view

    def floating_ips_of(self, srv):
        """Ids of the floating IPs routed to ``srv`` (its ``public_net.floating_ips``)."""
        return sorted(fid for fid, fip in self.floating_ips.items() if fip["server"] == srv["id"])

    def unassign_floating_ips(self, srv):
        """Server deletion: its floating IPs stay in the project, unassigned."""
        for fip in self.floating_ips.values():
            if fip["server"] == srv["id"]:
                fip["server"] = None

    def find_floating_ip(self, request):
        fip = self.floating_ips.get(int_id(request))
        if fip is None:
            raise not_found("floating IP")
        return fip

    def _target_server(self, sid):
        """The server a floating IP is to be routed to: 404 ``not_found`` for one that does not exist."""
        srv = self.servers.get(sid) if isinstance(sid, int) and not isinstance(sid, bool) else None
        if srv is None:
            if not isinstance(sid, int) or isinstance(sid, bool):
                raise field_error("server", "server must be a server ID")
            raise not_found("server %s" % sid)
        return srv

    def _floating_address(self, family):
        n = self.next_id("floating_" + family)
        if family == "ipv6":
            return FLOATING_IPV6 % n
        if n >= FLOATING_IPV4.num_addresses - 1:
            raise ApiError(403, "resource_limit_exceeded", "no floating IPv4 address left in the simulator's range")
        return str(FLOATING_IPV4.network_address + n)

    # -- endpoints -------------------------------------------------------------------------------
    @route("GET", "/floating_ips")
    def list_floating_ips(self, request):
        name, selector = request.arg("name"), request.arg("label_selector")
        items = [f for f in self.floating_ips.values()
                 if name in (None, f["name"]) and labels.matches(f["labels"], selector)]
        return page(request, "floating_ips", sort_items(request, items), self.floating_ip_view)

    @route("POST", "/floating_ips")
    def create_floating_ip(self, request):
        body = request.json() or {}
        family = body.get("type")
        if family not in ("ipv4", "ipv6"):
            raise field_error("type", "type must be ipv4 or ipv6")
        labels.check(body.get("labels"))
        has_server, has_home = body.get("server") is not None, body.get("home_location") is not None
        if has_server and has_home:
            raise field_error("home_location", "home_location and server are mutually exclusive")
        if not has_server and not has_home:
            raise field_error("home_location", "home_location is required when no server is given")
        srv = self._target_server(body["server"]) if has_server else None
        location = srv["location"] if srv else self.location(body["home_location"])
        if location is None:
            raise field_error("home_location", "location %s not found" % body["home_location"])
        if body.get("name") and any(f["name"] == body["name"] for f in self.floating_ips.values()):
            raise ApiError(409, "uniqueness_error", "floating IP name is already used",
                           details={"fields": [{"name": "name"}]})
        ip = self._floating_address(family)
        fip = {"id": self.next_id("floating_ip"), "name": body.get("name") or ip, "description": body.get("description"),
               "ip": ip, "type": family, "server": srv["id"] if srv else None, "home_location": dict(location),
               "blocked": False, "created": now_iso(), "labels": dict(body.get("labels") or {}),
               "protection": {"delete": False},
               "dns_ptr": [{"ip": ip, "dns_ptr": default_ptr(ip)}] if family == "ipv4" else [], "_action": None}
        self.floating_ips[fip["id"]] = fip
        answer = {"floating_ip": self.floating_ip_view(fip)}
        if srv is not None:  # routed at once, as the document's example shows, with the assign action running
            answer["action"] = locked_action(self, fip, "assign_floating_ip",
                                             [("server", srv["id"]), ("floating_ip", fip["id"])],
                                             undo=lambda: fip.update(server=None))
        return 201, answer

    @route("GET", "/floating_ips/{id}")
    def get_floating_ip(self, request):
        return {"floating_ip": self.floating_ip_view(self.find_floating_ip(request))}

    @route("PUT", "/floating_ips/{id}")
    def update_floating_ip(self, request):
        fip = self.find_floating_ip(request)
        body = request.json() or {}
        update_named(fip, body, self.floating_ips.values(), "floating IP")
        if "description" in body:
            fip["description"] = body["description"]
        return {"floating_ip": self.floating_ip_view(fip)}

    @route("DELETE", "/floating_ips/{id}")
    def delete_floating_ip(self, request):
        """Since 1 May 2026 an assigned Floating IP must be unassigned first (``must_be_unassigned``)."""
        fip = self.find_floating_ip(request)
        refuse_delete(self, fip, "floating IP", fip["server"])
        del self.floating_ips[fip["id"]]
        return 204, None

    @route("POST", "/floating_ips/{id}/actions/assign")
    def assign_floating_ip(self, request):
        """Route the address to ``server``; from another server this is a move, made in one step."""
        fip = self.find_floating_ip(request)
        body = request.json() or {}
        if body.get("server") is None:
            raise field_error("server", "server is required")
        srv = self._target_server(body["server"])
        if fip["server"] == srv["id"]:
            raise ApiError(422, "floating_ip_assigned", "floating IP is already assigned to server %s" % srv["id"])
        before = fip["server"]

        def undo():
            fip["server"] = before if before in self.servers else None
        action = locked_action(self, fip, "assign_floating_ip", [("server", srv["id"]), ("floating_ip", fip["id"])],
                               undo)
        fip["server"] = srv["id"]
        return 201, {"action": action}

    @route("POST", "/floating_ips/{id}/actions/unassign")
    def unassign_floating_ip(self, request):
        fip = self.find_floating_ip(request)
        before = fip["server"]
        resources = ([("server", before)] if before is not None else []) + [("floating_ip", fip["id"])]

        def undo():
            fip["server"] = before if before in self.servers else None
        action = locked_action(self, fip, "unassign_floating_ip", resources, undo)
        fip["server"] = None
        return 201, {"action": action}

    @route("POST", "/floating_ips/{id}/actions/change_protection")
    def change_floating_ip_protection(self, request):
        fip = self.find_floating_ip(request)
        body = request.json() or {}
        if not isinstance(body.get("delete"), bool):
            raise field_error("delete", "delete must be a boolean")
        before = fip["protection"]["delete"]
        action = locked_action(self, fip, "change_protection", [("floating_ip", fip["id"])],
                               lambda: fip["protection"].update(delete=before))
        fip["protection"]["delete"] = body["delete"]
        return 201, {"action": action}

    @route("POST", "/floating_ips/{id}/actions/change_dns_ptr")
    def change_floating_ip_dns_ptr(self, request):
        fip = self.find_floating_ip(request)
        return 201, {"action": self.change_ptr(fip, request.json() or {}, "floating_ip")}

    def change_ptr(self, obj, body, kind, after=None):
        """``change_dns_ptr`` of a floating or primary IP: the exact IPv4 address, or one address in the IPv6
        /64; a null ``dns_ptr`` resets an IPv4 address to its default and removes an IPv6 entry. ``after``
        runs when the entries changed (and again when a failed action puts them back)."""
        ip, name = body.get("ip"), body.get("dns_ptr")
        if not isinstance(ip, str) or not in_address(ip, obj["type"], obj["ip"]):
            raise field_error("ip", "ip must be %s" % ("the address" if obj["type"] == "ipv4" else "in the /64"))
        if name is not None and (not isinstance(name, str) or not name or name.endswith(".")):
            raise field_error("dns_ptr", "dns_ptr must be a fully qualified domain name without trailing dot")
        before = [dict(p) for p in obj["dns_ptr"]]
        entries = [p for p in obj["dns_ptr"] if p["ip"] != ip]
        if name is not None:
            entries.append({"ip": ip, "dns_ptr": name})
        elif obj["type"] == "ipv4":
            entries.append({"ip": ip, "dns_ptr": default_ptr(ip)})
        if obj["type"] == "ipv6" and len(entries) > 100:
            raise field_error("ip", "at most 100 reverse DNS entries per IPv6 address")

        def put(value):
            obj["dns_ptr"] = value
            if after is not None:
                after()
        action = locked_action(self, obj, "change_dns_ptr", [(kind, obj["id"])], lambda: put(before))
        put(entries)
        return action
