"""Firewalls: rules, apply_to by label selector or server, actions set_rules / apply / remove."""
import ipaddress
import re

from tests.support.sim.base import ApiError, route
from tests.support.sim.hetzner import labels
from tests.support.sim.hetzner._util import field_error, int_id, not_found, now_iso, page, sort_items, update_named

_PORT = re.compile(r"^(\d{1,5})(-(\d{1,5}))?$")


def _check_rules(rules):
    for rule in rules:
        if rule.get("direction") == "in":
            ips, other = rule.get("source_ips") or [], rule.get("destination_ips") or []
        else:
            ips, other = rule.get("destination_ips") or [], rule.get("source_ips") or []
        if not ips or other:
            raise field_error("rules", "%s rules need %s and no %s" % (
                rule.get("direction"), "source_ips" if rule.get("direction") == "in" else "destination_ips",
                "destination_ips" if rule.get("direction") == "in" else "source_ips"))
        for cidr in ips:
            try:
                net = ipaddress.ip_network(cidr, strict=True)
            except ValueError:
                raise field_error("rules", "invalid CIDR %r" % cidr)
            if "/" not in cidr:
                raise field_error("rules", "%s is not in CIDR notation" % net)
        port = rule.get("port")
        if rule.get("protocol") in ("tcp", "udp"):
            m = _PORT.match(port or "")
            if not m or not 1 <= int(m.group(1)) <= 65535 or (m.group(3) and not int(m.group(1)) < int(m.group(3)) <= 65535):
                raise field_error("rules", "tcp and udp rules need a port or port range, got %r" % port)
        elif port is not None:
            raise field_error("rules", "port is only allowed for tcp and udp")
    if len(rules) > 50:
        raise field_error("rules", "a firewall has at most 50 rules")


def _rule_view(rule):
    return {"direction": rule["direction"], "protocol": rule["protocol"], "port": rule.get("port"),
            "source_ips": list(rule.get("source_ips") or []), "destination_ips": list(rule.get("destination_ips") or []),
            "description": rule.get("description")}


class FirewallsMixin:
    """State: ``self.firewalls`` {id: firewall}; ``_apply`` holds the apply_to entries."""

    def firewalls_of(self, srv):
        """Ids of the firewalls that apply to ``srv`` (directly or by label selector)."""
        out = list(srv.get("_firewall_ids") or [])
        for fw in self.firewalls.values():
            for entry in fw["_apply"]:
                if entry["type"] == "server" and entry["server"]["id"] == srv["id"] and fw["id"] not in out:
                    out.append(fw["id"])
                if entry["type"] == "label_selector" and labels.matches(srv["labels"], entry["label_selector"]["selector"]) \
                        and fw["id"] not in out:
                    out.append(fw["id"])
        return out

    def firewall_view(self, fw):
        applied = []
        for entry in fw["_apply"]:
            if entry["type"] == "server":
                applied.append({"type": "server", "server": {"id": entry["server"]["id"]}})
            else:
                selector = entry["label_selector"]["selector"]
                applied.append({"type": "label_selector", "label_selector": {"selector": selector},
                                "applied_to_resources": [{"type": "server", "server": {"id": s["id"]}}
                                                         for s in self.servers.values()
                                                         if labels.matches(s["labels"], selector)]})
        for srv in self.servers.values():
            if fw["id"] in (srv.get("_firewall_ids") or []):
                applied.append({"type": "server", "server": {"id": srv["id"]}})
        return {"id": fw["id"], "name": fw["name"], "labels": dict(fw["labels"]), "created": fw["created"],
                "rules": [_rule_view(r) for r in fw["rules"]], "applied_to": applied}

    def _by_selector(self, fw, server_id):
        """True when one of ``fw``'s label selectors covers the server."""
        srv = self.servers.get(server_id)
        return srv is not None and any(
            e["type"] == "label_selector" and labels.matches(srv["labels"], e["label_selector"]["selector"])
            for e in fw["_apply"])

    def find_firewall(self, request):
        fw = self.firewalls.get(int_id(request))
        if fw is None:
            raise not_found("firewall")
        return fw

    def _entries(self, items, missing=(422, "apply_to")):
        """The resources of an ``apply_to``/``remove_from`` list; an unknown server is the operation's
        ``firewall_resource_not_found`` (422 on create, 404 on the actions) and a repeated one is
        ``server_already_added``, as the document's "Operation specific errors" name them."""
        out = []
        for entry in items or ():
            if entry.get("type") == "label_selector":
                selector = (entry.get("label_selector") or {}).get("selector")
                labels.parse(selector)
                out.append({"type": "label_selector", "label_selector": {"selector": selector}})
            elif entry.get("type") == "server":
                sid = (entry.get("server") or {}).get("id")
                if sid not in self.servers:
                    raise ApiError(missing[0], "firewall_resource_not_found", "server %s not found" % sid,
                                   details={"fields": [{"name": missing[1], "messages": ["server not found"]}]})
                if {"type": "server", "server": {"id": sid}} in out:
                    raise ApiError(422, "server_already_added", "server %s is listed more than once" % sid)
                out.append({"type": "server", "server": {"id": sid}})
            else:
                raise field_error(missing[1], "unknown resource type %r" % entry.get("type"))
        return out

    def _fw_action(self, fw, command):
        return self.start_action(command, [("firewall", fw["id"])])

    @route("GET", "/firewalls")
    def list_firewalls(self, request):
        name, selector = request.arg("name"), request.arg("label_selector")
        items = [f for f in self.firewalls.values()
                 if name in (None, f["name"]) and labels.matches(f["labels"], selector)]
        return page(request, "firewalls", sort_items(request, items), self.firewall_view)

    @route("POST", "/firewalls")
    def create_firewall(self, request):
        body = request.json() or {}
        labels.check(body.get("labels"))
        if not body.get("name"):
            raise field_error("name", "name is required")
        if any(f["name"] == body["name"] for f in self.firewalls.values()):
            raise ApiError(409, "uniqueness_error", "firewall name is already used")
        rules = [dict(r) for r in body.get("rules") or ()]
        _check_rules(rules)
        fw = {"id": self.next_id("firewall"), "name": body["name"], "labels": dict(body.get("labels") or {}),
              "created": now_iso(), "rules": rules, "_apply": self._entries(body.get("apply_to"))}
        self.firewalls[fw["id"]] = fw
        actions = [self._fw_action(fw, "set_firewall_rules")]
        if fw["_apply"]:
            actions.append(self._fw_action(fw, "apply_firewall"))
        return 201, {"firewall": self.firewall_view(fw), "actions": actions}

    @route("GET", "/firewalls/{id}")
    def get_firewall(self, request):
        return {"firewall": self.firewall_view(self.find_firewall(request))}

    @route("PUT", "/firewalls/{id}")
    def update_firewall(self, request):
        fw = self.find_firewall(request)
        update_named(fw, request.json() or {}, self.firewalls.values(), "firewall")
        return {"firewall": self.firewall_view(fw)}

    @route("DELETE", "/firewalls/{id}")
    def delete_firewall(self, request):
        fw = self.find_firewall(request)
        if self.firewall_view(fw)["applied_to"]:
            raise ApiError(422, "resource_in_use", "firewall is still applied to resources")
        del self.firewalls[fw["id"]]
        return 204, None

    @route("POST", "/firewalls/{id}/actions/set_rules")
    def set_rules(self, request):
        fw = self.find_firewall(request)
        rules = [dict(r) for r in (request.json() or {}).get("rules") or ()]
        _check_rules(rules)
        fw["rules"] = rules
        return 201, {"actions": [self._fw_action(fw, "set_firewall_rules")]}

    @route("POST", "/firewalls/{id}/actions/apply_to_resources")
    def apply_to(self, request):
        fw = self.find_firewall(request)
        entries = self._entries((request.json() or {}).get("apply_to"), (404, "apply_to"))
        for entry in entries:
            if entry in fw["_apply"]:
                raise ApiError(422, "firewall_already_applied", "firewall is already applied to this resource")
        fw["_apply"] += entries
        return 201, {"actions": [self._fw_action(fw, "apply_firewall") for dummy in entries]}

    @route("POST", "/firewalls/{id}/actions/remove_from_resources")
    def remove_from(self, request):
        fw = self.find_firewall(request)
        entries = self._entries((request.json() or {}).get("remove_from"), (404, "remove_from"))
        for entry in entries:
            srv = self.servers.get(entry["server"]["id"]) if entry["type"] == "server" else None
            if entry in fw["_apply"]:
                fw["_apply"].remove(entry)
            elif srv is not None and fw["id"] in (srv.get("_firewall_ids") or []):  # applied at server create
                srv["_firewall_ids"].remove(fw["id"])
            elif entry["type"] == "server" and self._by_selector(fw, entry["server"]["id"]):
                raise ApiError(422, "firewall_managed_by_label_selector",
                               "firewall is applied to this server through a label selector")
            else:  # the document names no other error; a resource the firewall is not on is "not found" to it
                raise ApiError(404, "firewall_resource_not_found", "firewall is not applied to this resource")
        return 201, {"actions": [self._fw_action(fw, "remove_firewall") for dummy in entries]}
