"""Cloud Firewalls: rules (inbound/outbound with policies, versioned), tags and devices."""
import hashlib
import json
import re

from tests.support.sim.base import route
from tests.support.sim.linode._common import apply_update, check_tags, invalid, listing, listing_of, lookup, not_found, now, public

LABEL_RX = re.compile(r"^[a-zA-Z]((?!--|__|\.\.)[a-zA-Z0-9-_.])+$")
FILTERABLE = ("id", "label", "tags", "status")


def _check_rules(rules):
    if not isinstance(rules, dict) or "inbound_policy" not in rules or "outbound_policy" not in rules:
        raise invalid("inbound_policy and outbound_policy are required", "rules")
    for direction in ("inbound", "outbound"):
        for i, rule in enumerate(rules.get(direction) or ()):
            where = "rules.%s[%d]" % (direction, i)
            if rule.get("protocol") not in ("TCP", "UDP", "ICMP", "IPENCAP"):
                raise invalid("protocol must be one of TCP, UDP, ICMP, IPENCAP", where + ".protocol")
            if rule.get("protocol") in ("ICMP", "IPENCAP") and rule.get("ports"):
                raise invalid("Ports are not allowed for ICMP and IPENCAP protocols", where + ".ports")
            addresses = rule.get("addresses") or {}
            if not (addresses.get("ipv4") or addresses.get("ipv6")):
                raise invalid("At least one address is required", where + ".addresses")
            if rule.get("label") is not None and not 3 <= len(rule["label"]) <= 32:
                raise invalid("Label must be 3-32 characters", where + ".label")
            if rule.get("description") is not None and not 1 <= len(rule["description"]) <= 100:
                raise invalid("Description must be 1-100 characters", where + ".description")


class FirewallsMixin:
    def _firewall(self, request):
        return lookup(self.firewalls, request.params["firewallId"])

    def _set_rules(self, firewall, rules):
        version = firewall.get("rules", {}).get("version", 0) + 1
        stored = dict((k, rules.get(k, [])) for k in ("inbound", "outbound"))
        stored.update(inbound_policy=rules["inbound_policy"], outbound_policy=rules["outbound_policy"], version=version)
        stored["fingerprint"] = hashlib.sha256(json.dumps(stored, sort_keys=True).encode()).hexdigest()[:16]
        firewall["rules"] = stored
        firewall["updated"] = now()

    def attach_device(self, firewall, kind, entity_id):
        if any(d["entity"]["id"] == entity_id and d["entity"]["type"] == kind for d in firewall["_devices"]):
            raise invalid("This %s is already assigned to this firewall" % kind)
        label = self.instances[entity_id]["label"] if kind == "linode" else str(entity_id)
        device = {"id": self.next_id("fwdevice") + 5000000, "created": now(), "updated": now(),
                  "entity": {"id": entity_id, "type": kind, "label": label,
                             "url": "/v4/linode/instances/%d" % entity_id}}
        firewall["_devices"].append(device)
        return device

    def detach_entity(self, firewall, kind, entity_id):
        firewall["_devices"] = [d for d in firewall["_devices"]
                                if not (d["entity"]["id"] == entity_id and d["entity"]["type"] == kind)]

    @route("GET", "/networking/firewalls")
    def list_firewalls(self, request):
        return listing_of(request, self.firewalls, FILTERABLE)

    @route("POST", "/networking/firewalls")
    def create_firewall(self, request):
        body = request.json() or {}
        label = body.get("label") or ""
        if not 3 <= len(label) <= 32 or not LABEL_RX.match(label):
            raise invalid("Label must be 3-32 characters, start with a letter and contain only letters, numbers, "
                          "hyphens, underscores and periods", "label")
        if any(f["label"] == label for f in self.firewalls.values()):
            raise invalid("Label must be unique", "label")
        _check_rules(body.get("rules"))
        check_tags(body.get("tags"))
        linodes = (body.get("devices") or {}).get("linodes") or []
        for linode_id in linodes:
            if linode_id not in self.instances:
                raise invalid("Linode %s not found" % linode_id, "devices.linodes")
        firewall = {"id": self.next_id("firewall") + 600000, "label": label, "status": "enabled",
                    "tags": sorted(set(body.get("tags") or [])), "created": now(), "updated": now(), "_devices": []}
        self._set_rules(firewall, body["rules"])
        self.firewalls[firewall["id"]] = firewall
        for linode_id in linodes:
            self.attach_device(firewall, "linode", linode_id)
        return public(firewall)

    @route("GET", "/networking/firewalls/{firewallId}")
    def get_firewall(self, request):
        return public(self._firewall(request))

    @route("PUT", "/networking/firewalls/{firewallId}")
    def update_firewall(self, request):
        return public(apply_update(self._firewall(request), request.json() or {}, ("label", "status")))

    @route("DELETE", "/networking/firewalls/{firewallId}")
    def delete_firewall(self, request):
        firewall = self._firewall(request)
        del self.firewalls[firewall["id"]]
        return {}

    @route("GET", "/networking/firewalls/{firewallId}/rules")
    def get_rules(self, request):
        return self._firewall(request)["rules"]

    @route("PUT", "/networking/firewalls/{firewallId}/rules")
    def put_rules(self, request):
        firewall = self._firewall(request)
        rules = request.json() or {}
        _check_rules(rules)
        self._set_rules(firewall, rules)
        return firewall["rules"]

    @route("GET", "/networking/firewalls/{firewallId}/devices")
    def list_devices(self, request):
        return listing(request, list(self._firewall(request)["_devices"]))

    @route("POST", "/networking/firewalls/{firewallId}/devices")
    def create_device(self, request):
        firewall = self._firewall(request)
        body = request.json() or {}
        if body.get("type") != "linode" or body.get("id") not in self.instances:
            raise invalid("Linode not found", "id")
        return self.attach_device(firewall, "linode", body["id"])

    @route("DELETE", "/networking/firewalls/{firewallId}/devices/{deviceId}")
    def delete_device(self, request):
        firewall = self._firewall(request)
        before = len(firewall["_devices"])
        firewall["_devices"] = [d for d in firewall["_devices"] if str(d["id"]) != request.params["deviceId"]]
        if len(firewall["_devices"]) == before:
            raise not_found()
        return {}
