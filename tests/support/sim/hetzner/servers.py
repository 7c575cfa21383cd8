"""Servers: create (labels, user_data, firewalls, public_net), status over time, actions, delete.

A server's public addresses are Primary IPs (primary_ips.py) and the floating IPs routed to it
(floating_ips.py); deleting it unassigns its floating IPs and releases its Primary IPs."""
import ipaddress
import re
import secrets

from tests.support.sim.base import ApiError, route
from tests.support.sim.hetzner import labels
from tests.support.sim.hetzner._util import field_error, int_id, not_found, now_iso, page, sort_items, update_named

USER_DATA_LIMIT = 32 * 1024
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")
_PUBLIC = ("id", "name", "status", "created", "labels", "locked", "rescue_enabled", "backup_window", "included_traffic",
           "ingoing_traffic", "outgoing_traffic", "iso", "primary_disk_size", "private_net", "protection",
           "load_balancers", "volumes", "server_type", "datacenter", "location", "image")


class ServersMixin:
    """State: ``self.servers`` {id: server}; keys starting with ``_`` are internal.

    ``self.on_boot`` holds callbacks ``fn(server, rescue, public_keys)`` run when
    a server boots; tests use it to play the rescue system (see fixtures_hetzner).
    ``self.ipv4_override`` gives every new server that public IPv4 (loopback in tests).
    """

    # -- views and lookups -------------------------------------------------------------
    def server_view(self, srv):
        view = dict((k, srv[k]) for k in _PUBLIC)
        view["labels"] = dict(srv["labels"])
        view["public_net"] = {"ipv4": srv["_ipv4"], "ipv6": srv["_ipv6"], "floating_ips": self.floating_ips_of(srv),
                              "firewalls": [{"id": fid, "status": "applied"} for fid in self.firewalls_of(srv)]}
        return view

    def find_server(self, request):
        srv = self.servers.get(int_id(request))
        if srv is None:
            raise not_found("server")
        return srv

    def _image_for(self, ref, arch):
        candidates = [i for i in self.images.values()
                      if (str(i["id"]) == str(ref) or i["name"] == ref) and i["status"] == "available"]
        by_arch = [i for i in candidates if i["architecture"] == arch]
        if not by_arch:
            if candidates:
                raise field_error("image", "image %s has architecture %s, server type needs %s"
                                  % (ref, candidates[0]["architecture"], arch))
            raise field_error("image", "image %s not found" % ref)
        return by_arch[0]

    def _ssh_keys(self, refs):
        found = []
        for ref in refs or ():
            keys = [k for k in self.ssh_keys.values() if str(k["id"]) == str(ref) or k["name"] == ref]
            if not keys:
                raise field_error("ssh_keys", "SSH key %s not found" % ref)
            found.append(keys[0])
        return found

    # -- boot and actions ---------------------------------------------------------------
    def boot(self, srv):
        srv["status"] = "running"
        rescue = srv["rescue_enabled"]
        keys = [k["public_key"] for k in srv["_rescue_keys"]] if rescue else []
        srv["rescue_enabled"] = False  # the rescue system is active for one boot only
        for callback in list(self.on_boot):
            callback(self.server_view(srv), rescue, keys)

    def server_action(self, srv, command, on_done=None, extra=(), delay=None, on_error=None):
        """Start ``command`` on ``srv``, which stays locked until it ends; ``on_error`` undoes what the request
        changed at once when the action fails."""
        if srv["locked"]:
            raise ApiError(423, "locked", "server is locked by a running action")
        srv["locked"] = True

        def unlock():
            srv["locked"] = False

        def failed():
            unlock()
            if on_error:
                on_error()

        def done():
            unlock()
            if on_done:
                on_done()
        return self.start_action(command, [("server", srv["id"])] + list(extra), done, delay=delay, on_error=failed)

    # -- endpoints ---------------------------------------------------------------------------
    @route("GET", "/servers")
    def list_servers(self, request):
        name, selector = request.arg("name"), request.arg("label_selector")
        statuses = request.query.get("status") or None
        items = [s for s in self.servers.values()
                 if name in (None, s["name"]) and labels.matches(s["labels"], selector)
                 and (statuses is None or s["status"] in statuses)]
        return page(request, "servers", sort_items(request, items), self.server_view)

    @route("GET", "/servers/{id}")
    def get_server(self, request):
        return {"server": self.server_view(self.find_server(request))}

    @route("POST", "/servers")
    def create_server(self, request):
        body = request.json() or {}
        name = body.get("name") or ""
        if not _HOSTNAME.match(name):
            raise field_error("name", "name must be a valid hostname")
        labels.check(body.get("labels"))
        stype = self.server_type(body.get("server_type"))
        if stype is None:
            raise field_error("server_type", "server type %s not found" % body.get("server_type"))
        location_name = body.get("location") or (body.get("datacenter") or "fsn1-").split("-")[0]
        location = self.location(location_name)
        if location is None:
            raise field_error("location", "location %s not found" % location_name)
        location_name = location["name"]  # it may have been given by ID
        if location_name not in [loc["name"] for loc in stype["locations"]]:
            raise ApiError(422, "unsupported_location_for_server_type",
                           "server type %s is not available in location %s" % (stype["name"], location_name))
        image = self._image_for(body.get("image"), stype["architecture"])
        user_data = body.get("user_data")
        if user_data is not None and len(user_data.encode("utf-8")) > USER_DATA_LIMIT:
            raise field_error("user_data", "user_data must not exceed %d bytes" % USER_DATA_LIMIT)
        keys = self._ssh_keys(body.get("ssh_keys"))
        firewall_ids = [f.get("firewall") for f in body.get("firewalls") or ()]
        for fid in firewall_ids:
            if fid not in self.firewalls:
                raise field_error("firewalls", "firewall %s not found" % fid)
        public_net = body.get("public_net") or {}
        if any(s["name"] == name for s in self.servers.values()):
            raise ApiError(409, "uniqueness_error", "server name is already used",
                           details={"fields": [{"name": "name"}]})
        primary_ips = self.primary_ips_for(public_net, location_name)
        sid = self.next_id("server")
        ipv4 = self.ipv4_override or str(ipaddress.IPv4Address("198.18.0.0") + sid)
        srv = {
            "id": sid, "name": name, "status": "initializing", "created": now_iso(), "labels": dict(body.get("labels") or {}),
            "locked": False, "rescue_enabled": False, "backup_window": None, "included_traffic": 21990232555520,
            "ingoing_traffic": 0, "outgoing_traffic": 0, "iso": None, "primary_disk_size": stype["disk"],
            "private_net": [], "protection": {"delete": False, "rebuild": False}, "load_balancers": [], "volumes": [],
            "server_type": stype, "datacenter": self.datacenter(location_name), "location": location, "image": dict(image),
            "_ipv4": None, "_ipv6": None,  # mirrors of its Primary IPs (primary_ips.py)
            "_user_data": user_data, "_ssh_keys": keys, "_rescue_keys": [], "_firewall_ids": firewall_ids,
        }
        self.servers[sid] = srv
        self.give_primary_ips(srv, public_net, primary_ips, ipv4, "2a01:4f8:c0c:%x::/64" % sid)
        start = body.get("start_after_create", True)

        def created():
            srv["status"] = "starting" if start else "off"
        action = self.server_action(srv, "create_server", created)
        next_actions = []
        if start:
            next_actions.append(self.start_action("start_server", [("server", sid)], lambda: self.boot(srv),
                                                  delay=2 * self.action_delay))
        password = None if keys else secrets.token_urlsafe(12)
        return 201, {"server": self.server_view(srv), "action": action, "next_actions": next_actions,
                     "root_password": password}

    @route("PUT", "/servers/{id}")
    def update_server(self, request):
        srv = self.find_server(request)
        update_named(srv, request.json() or {}, self.servers.values(), "server")
        return {"server": self.server_view(srv)}

    @route("DELETE", "/servers/{id}")
    def delete_server(self, request):
        srv = self.find_server(request)
        if srv["protection"]["delete"]:
            raise ApiError(403, "protected", "server is delete protected")
        srv["status"] = "deleting"

        def gone():
            self.servers.pop(srv["id"], None)
            self.unassign_floating_ips(srv)
            self.release_primary_ips(srv)
        return {"action": self.start_action("delete_server", [("server", srv["id"])], gone)}

    @route("POST", "/servers/{id}/actions/{action}")
    def server_actions(self, request):
        srv = self.find_server(request)
        body = request.json() or {}
        name = request.params["action"]
        if srv["status"] == "deleting":
            raise ApiError(409, "conflict", "server is being deleted")
        if name == "poweron":
            before = srv["status"]
            action = self.server_action(srv, "start_server", lambda: self.boot(srv),
                                        on_error=lambda: srv.update(status=before))
            if before == "off":
                srv["status"] = "starting"
            return 201, {"action": action}
        if name in ("poweroff", "shutdown"):
            def off():
                srv["status"] = "off"
            return 201, {"action": self.server_action(srv, "stop_server" if name == "poweroff" else "shutdown_server", off)}
        if name in ("reboot", "reset"):
            return 201, {"action": self.server_action(srv, "%s_server" % ("soft_reboot" if name == "reboot" else "reset"),
                                                      lambda: self.boot(srv))}
        if name == "enable_rescue":
            if body.get("type", "linux64") != "linux64":
                raise field_error("type", "unknown rescue type")
            keys = self._ssh_keys(body.get("ssh_keys"))

            def enabled():
                srv["rescue_enabled"] = True
                srv["_rescue_keys"] = keys
            return 201, {"action": self.server_action(srv, "enable_rescue", enabled),
                         "root_password": secrets.token_urlsafe(12)}
        if name == "disable_rescue":
            def disabled():
                srv["rescue_enabled"] = False
            return 201, {"action": self.server_action(srv, "disable_rescue", disabled)}
        if name == "create_image":
            return 201, self.snapshot(srv, body)
        raise ApiError(404, "not_found", "action %s not supported by the simulator" % name)
