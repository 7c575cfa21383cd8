"""Primary IPs: the public IPv4 and IPv6 of servers, as objects of their own.

Every server address is one: a server created without ``public_net.ipv4``/``ipv6`` gets new ones
(``auto_delete`` true, deleted with the server, as the real API does); one created with a Primary IP's ID
takes that one, in the same location, of the right family, unassigned (the document's
``primary_ip_assigned``, ``primary_ip_datacenter_mismatch``, ``primary_ip_version_mismatch``). Assign and
unassign need the server ``off`` (``server_not_stopped``); a server holds one Primary IP per family
(``server_has_ipv4``/``server_has_ipv6``). A Primary IP with ``auto_delete`` false outlives its server and
can be given to the next one: that is how an address is kept across a server's replacement.

The server's ``_ipv4``/``_ipv6`` (its ``public_net``) mirror the Primary IPs assigned to it (``_mirror``).
Changes are made when the request is answered and locked while their action runs, as for floating IPs.
Addresses of Primary IPs made through this API: IPv4 198.19.0.0/16 (servers' own start at 198.18.0.1),
IPv6 /64s of 2001:db8:1::/48.
"""
import ipaddress

from tests.support.sim.base import ApiError, route
from tests.support.sim.hetzner import labels
from tests.support.sim.hetzner._util import field_error, int_id, not_found, now_iso, page, sort_items, update_named
from tests.support.sim.hetzner.floating_ips import default_ptr, locked_action, refuse_delete

PRIMARY_IPV4 = ipaddress.IPv4Address("198.19.0.0")
PRIMARY_IPV6 = "2001:db8:1:%x::/64"
_PUBLIC = ("id", "name", "ip", "type", "assignee_id", "auto_delete", "blocked", "created")
#: ``assignee_type`` of an unassigned Primary IP since 1 August 2026 (Hetzner's changelog of 2026-04-27; the
#: mirrored document still lists only ``server``: KNOWN_DEFECTS)
UNASSIGNED = "unassigned"


class PrimaryIPsMixin:
    """State: ``self.primary_ips`` {id: primary ip}; ``assignee_id`` is the server's id or None."""

    # -- views and lookups -------------------------------------------------------------------
    def primary_ip_view(self, pip):
        view = dict((k, pip[k]) for k in _PUBLIC)
        view.update(assignee_type="server" if pip["assignee_id"] is not None else UNASSIGNED,
                    labels=dict(pip["labels"]), protection=dict(pip["protection"]),
                    dns_ptr=[dict(p) for p in pip["dns_ptr"]], location=self.location(pip["_location"]),
                    datacenter=self.datacenter(pip["_location"]))
        return view

    def find_primary_ip(self, request):
        pip = self.primary_ips.get(int_id(request))
        if pip is None:
            raise not_found("primary IP")
        return pip

    def make_primary_ip(self, family, ip, location_name, name=None, auto_delete=False, labels_=None):
        pid = self.next_id("primary_ip")
        pip = {"id": pid, "name": name or "primary_ip-%d" % pid, "ip": ip, "type": family, "assignee_id": None,
               "auto_delete": bool(auto_delete), "blocked": False, "created": now_iso(),
               "labels": dict(labels_ or {}), "protection": {"delete": False},
               "dns_ptr": [{"ip": ip, "dns_ptr": default_ptr(ip)}] if family == "ipv4" else [],
               "_location": location_name, "_action": None}
        self.primary_ips[pid] = pip
        return pip

    def _mirror(self, pip):
        """Write the server's ``public_net`` entry of ``pip``'s family from ``pip``."""
        srv = self.servers.get(pip["assignee_id"])
        if srv is None:
            return
        if pip["type"] == "ipv4":
            ptr = next((p["dns_ptr"] for p in pip["dns_ptr"] if p["ip"] == pip["ip"]), default_ptr(pip["ip"]))
            srv["_ipv4"] = {"id": pip["id"], "ip": pip["ip"], "blocked": pip["blocked"], "dns_ptr": ptr}
        else:
            srv["_ipv6"] = {"id": pip["id"], "ip": pip["ip"], "blocked": pip["blocked"],
                            "dns_ptr": [dict(p) for p in pip["dns_ptr"]]}

    def _bind(self, pip, srv):
        pip["assignee_id"] = srv["id"]
        self._mirror(pip)

    def _unbind(self, pip):
        srv = self.servers.get(pip["assignee_id"])
        if srv is not None:
            srv["_" + pip["type"]] = None
        pip["assignee_id"] = None

    # -- servers.py calls these -------------------------------------------------------------------
    def primary_ips_for(self, public_net, location_name):
        """The Primary IPs a new server is to take (``public_net.ipv4``/``ipv6`` IDs), checked before anything
        is made: ``{family: primary ip}``."""
        chosen = {}
        for family in ("ipv4", "ipv6"):
            pid = public_net.get(family)
            if pid is None:
                continue
            if public_net.get("enable_" + family) is False:
                raise field_error("public_net", "%s is given while enable_%s is false" % (family, family))
            pip = self.primary_ips.get(pid)
            if pip is None:
                raise field_error("public_net", "primary IP %s not found" % pid)
            if pip["type"] != family:
                raise ApiError(422, "primary_ip_version_mismatch", "primary IP %s is %s, not %s"
                               % (pid, pip["type"], family))
            if pip["assignee_id"] is not None:
                raise ApiError(422, "primary_ip_assigned", "primary IP %s is already assigned to server %s"
                               % (pid, pip["assignee_id"]))
            if pip["_location"] != location_name:
                raise ApiError(422, "primary_ip_datacenter_mismatch", "primary IP %s is in %s, the server in %s"
                               % (pid, pip["_location"], location_name))
            chosen[family] = pip
        return chosen

    def give_primary_ips(self, srv, public_net, chosen, ipv4, ipv6):
        """A new server's addresses: the chosen Primary IPs, else new ones (``ipv4``/``ipv6``, auto_delete)
        for each family that is enabled."""
        for family, address in (("ipv4", ipv4), ("ipv6", ipv6)):
            pip = chosen.get(family)
            if pip is None and public_net.get("enable_" + family, True):
                pip = self.make_primary_ip(family, address, srv["location"]["name"], auto_delete=True)
            if pip is not None:
                self._bind(pip, srv)

    def release_primary_ips(self, srv):
        """Server deletion: its Primary IPs with ``auto_delete`` go with it, the others stay unassigned."""
        for pip in [p for p in self.primary_ips.values() if p["assignee_id"] == srv["id"]]:
            if pip["auto_delete"]:
                del self.primary_ips[pip["id"]]
            pip["assignee_id"] = None

    def _assignable_to(self, sid, family):
        """The server ``sid``, if a Primary IP of ``family`` may be assigned to it now."""
        srv = self.servers.get(sid)
        if srv is None:
            raise not_found("server %s" % sid)
        if srv["status"] != "off":
            raise ApiError(422, "server_not_stopped", "server %s is %s, it needs to be powered off"
                           % (sid, srv["status"]))
        if srv["_" + family] is not None:
            raise ApiError(422, "server_has_" + family, "server %s already has an %s address" % (sid, family))
        return srv

    # -- endpoints -------------------------------------------------------------------------------
    @route("GET", "/primary_ips")
    def list_primary_ips(self, request):
        name, selector, ip = request.arg("name"), request.arg("label_selector"), request.arg("ip")
        items = [p for p in self.primary_ips.values()
                 if name in (None, p["name"]) and ip in (None, p["ip"]) and labels.matches(p["labels"], selector)]
        return page(request, "primary_ips", sort_items(request, items), self.primary_ip_view)

    @route("POST", "/primary_ips")
    def create_primary_ip(self, request):
        body = request.json() or {}
        family = body.get("type")
        if family not in ("ipv4", "ipv6"):
            raise field_error("type", "type must be ipv4 or ipv6")
        if not body.get("name"):
            raise field_error("name", "name is required")
        labels.check(body.get("labels"))
        if body.get("assignee_type", "server") != "server":
            raise field_error("assignee_type", "assignee_type must be server")
        places = [k for k in ("assignee_id", "location", "datacenter") if body.get(k) is not None]
        if len(places) > 1:
            raise field_error(places[1], "location, datacenter and assignee_id are mutually exclusive")
        if not places:
            raise field_error("location", "location is required when no assignee_id is given")
        srv = None
        if places[0] == "assignee_id":
            srv = self._assignable_to(body["assignee_id"], family)
            location = srv["location"]
        elif places[0] == "location":
            location = self.location(body["location"])
        else:
            location = self.location(str(body["datacenter"]).split("-", maxsplit=1)[0])
        if location is None:
            raise field_error(places[0], "%s %s not found" % (places[0], body[places[0]]))
        if any(p["name"] == body["name"] for p in self.primary_ips.values()):
            raise ApiError(409, "uniqueness_error", "primary IP name is already used",
                           details={"fields": [{"name": "name"}]})
        n = self.next_id("primary_" + family)
        ip = str(PRIMARY_IPV4 + n) if family == "ipv4" else PRIMARY_IPV6 % n
        pip = self.make_primary_ip(family, ip, location["name"], body["name"], body.get("auto_delete", False),
                                   body.get("labels"))
        resources = [("primary_ip", pip["id"])]
        if srv is not None:
            self._bind(pip, srv)
            resources.insert(0, ("server", srv["id"]))
        action = locked_action(self, pip, "create_primary_ip", resources)
        return 201, {"primary_ip": self.primary_ip_view(pip), "action": action}

    @route("GET", "/primary_ips/{id}")
    def get_primary_ip(self, request):
        return {"primary_ip": self.primary_ip_view(self.find_primary_ip(request))}

    @route("PUT", "/primary_ips/{id}")
    def update_primary_ip(self, request):
        pip = self.find_primary_ip(request)
        body = request.json() or {}
        update_named(pip, body, self.primary_ips.values(), "primary IP")
        if "auto_delete" in body:
            pip["auto_delete"] = bool(body["auto_delete"])
        return {"primary_ip": self.primary_ip_view(pip)}

    @route("DELETE", "/primary_ips/{id}")
    def delete_primary_ip(self, request):
        """Since 1 May 2026 an assigned Primary IP must be unassigned first (``must_be_unassigned``)."""
        pip = self.find_primary_ip(request)
        refuse_delete(self, pip, "primary IP", pip["assignee_id"])
        del self.primary_ips[pip["id"]]
        return 204, None

    @route("POST", "/primary_ips/{id}/actions/assign")
    def assign_primary_ip(self, request):
        pip = self.find_primary_ip(request)
        body = request.json() or {}
        if body.get("assignee_type") != "server":
            raise field_error("assignee_type", "assignee_type must be server")
        if not isinstance(body.get("assignee_id"), int) or isinstance(body.get("assignee_id"), bool):
            raise field_error("assignee_id", "assignee_id must be a server ID")
        if pip["assignee_id"] is not None:
            raise ApiError(422, "primary_ip_already_assigned", "primary IP is already assigned to server %s"
                           % pip["assignee_id"])
        srv = self._assignable_to(body["assignee_id"], pip["type"])
        if srv["location"]["name"] != pip["_location"]:  # "can only be assigned to resource in the same Location"
            raise ApiError(422, "primary_ip_datacenter_mismatch", "primary IP is in %s, the server in %s"
                           % (pip["_location"], srv["location"]["name"]))
        action = locked_action(self, pip, "assign_primary_ip", [("server", srv["id"]), ("primary_ip", pip["id"])],
                               lambda: self._unbind(pip))
        self._bind(pip, srv)
        return 201, {"action": action}

    @route("POST", "/primary_ips/{id}/actions/unassign")
    def unassign_primary_ip(self, request):
        pip = self.find_primary_ip(request)
        srv = self.servers.get(pip["assignee_id"])
        if srv is not None and srv["status"] != "off":
            raise ApiError(422, "server_not_stopped", "server %s is %s, it needs to be powered off"
                           % (srv["id"], srv["status"]))
        resources = ([("server", srv["id"])] if srv is not None else []) + [("primary_ip", pip["id"])]

        def undo():
            if srv is not None and srv["id"] in self.servers and srv["_" + pip["type"]] is None:
                self._bind(pip, srv)
        action = locked_action(self, pip, "unassign_primary_ip", resources, undo)
        self._unbind(pip)
        return 201, {"action": action}

    @route("POST", "/primary_ips/{id}/actions/change_protection")
    def change_primary_ip_protection(self, request):
        pip = self.find_primary_ip(request)
        body = request.json() or {}
        if not isinstance(body.get("delete"), bool):
            raise field_error("delete", "delete must be a boolean")
        if body["delete"] and pip["auto_delete"]:
            raise field_error("delete", "delete protection needs auto_delete to be false")
        before = pip["protection"]["delete"]
        action = locked_action(self, pip, "change_protection", [("primary_ip", pip["id"])],
                               lambda: pip["protection"].update(delete=before))
        pip["protection"]["delete"] = body["delete"]
        return 201, {"action": action}

    @route("POST", "/primary_ips/{id}/actions/change_dns_ptr")
    def change_primary_ip_dns_ptr(self, request):
        pip = self.find_primary_ip(request)
        return 201, {"action": self.change_ptr(pip, request.json() or {}, "primary_ip", lambda: self._mirror(pip))}
