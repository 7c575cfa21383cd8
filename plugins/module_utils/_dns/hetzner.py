# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Hetzner DNS through the zones and RRSets of the Hetzner Cloud API (hcloud SDK).

The old DNS API (dns.hetzner.com) shuts down in May 2026; this backend uses
``/v1/zones/{zone}/rrsets`` with the same token as the cloud provider
(``HCLOUD_TOKEN``). ``replace`` swaps the values of an existing set in one
``set_records`` action (atomic for the values; a TTL change is a second
action). TXT values are quoted in the API (``"v=..."``, 255-character
strings); the interface uses them unquoted.
"""

from __future__ import annotations

from ansible_collections.talos.autoextender.plugins.module_utils._dns import base
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import NOT_FOUND, VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._clients.hetzner import (
    HAS_HCLOUD,
    api_for,
    short_deadline,
)

if HAS_HCLOUD:
    from hcloud.zones.domain import Zone, ZoneRecord, ZoneRRSet

MIN_TTL = 60
TXT_CHUNK = 255


def quote_txt(value):
    """A TXT value in the API's form: quoted strings of at most 255 characters, ``"`` and ``\\`` escaped."""
    escaped = [c.replace("\\", "\\\\").replace('"', '\\"') for c in value]
    chunks, current, size = [], "", 0
    for raw, esc in zip(value, escaped):
        if size == TXT_CHUNK:
            chunks.append(current)
            current, size = "", 0
        current += esc
        size += len(raw.encode("utf-8"))
    chunks.append(current)
    return " ".join('"%s"' % c for c in chunks)


def unquote_txt(value):
    """The inverse of ``quote_txt`` (unquoted input is returned as is)."""
    value = value.strip()
    if not value.startswith('"'):
        return value
    out, inside, escape = [], False, False
    for char in value:
        if escape:
            out.append(char)
            escape = False
        elif char == "\\" and inside:
            escape = True
        elif char == '"':
            inside = not inside
        elif inside:
            out.append(char)
    return "".join(out)


class HetznerDnsProvider(base.DnsProvider):
    """``credentials``: {"api_token"} (else ``HCLOUD_TOKEN``); ``options``: ``api_url``, ``api_timeout``."""

    name = "hetzner"
    atomic_replace = True
    min_ttl = MIN_TTL

    def __init__(self, zone, credentials, options=None):
        super().__init__(zone, credentials, options)
        self._api = None
        self._zone = None

    @property
    def api(self):
        if self._api is None:
            self._api = api_for(self.credentials, self.options)
        return self._api

    def _what(self, verb, name, rtype):
        return "%s %s %s in %s" % (verb, name, rtype, self.zone)

    def _hzone(self, deadline):
        if self._zone is None:
            zone_name = self.zone.rstrip(".")
            found = self.api.read(lambda: self.api.client.zones.get(zone_name), "read zone %s" % zone_name, deadline)
            if found is None:
                raise AutoextenderError("Failed to find zone %s in Hetzner DNS (check the zone name and that the token's "
                                        "project holds it)" % zone_name, kind=NOT_FOUND)
            self._zone = found
        return self._zone

    def _relative(self, name):
        absolute = base.fqdn(name, self.zone)
        if not base.in_zone(absolute, self.zone):
            raise AutoextenderError("Failed to use %s: it is not in zone %s" % (absolute, self.zone), kind=VALIDATION)
        return "@" if absolute == self.zone else absolute[:-len(self.zone) - 1]

    def _to_api(self, rtype, value):
        if rtype == "TXT":
            return quote_txt(value)
        if rtype == "CNAME":
            return base.fqdn(value, self.zone)
        return value

    def _from_api(self, rtype, value):
        if rtype == "TXT":
            return unquote_txt(value)
        if rtype in ("CNAME", "NS"):
            return base.fqdn(value, self.zone)
        return value

    def _normalise(self, rrset, zone):
        absolute = self.zone if rrset.name == "@" else "%s.%s" % (rrset.name, self.zone)
        ttl = rrset.ttl if rrset.ttl is not None else zone.ttl
        return base.record_set(absolute, rrset.type, ttl, [self._from_api(rrset.type, r.value) for r in rrset.records or ()])

    def _rrset(self, zone, name, rtype):
        return ZoneRRSet(name=self._relative(name), type=rtype.upper(), zone=Zone(id=zone.id, name=zone.name))

    def get(self, name, rtype):
        deadline = short_deadline(self.options)
        zone = self._hzone(deadline)
        relative = self._relative(name)
        found = self.api.read(lambda: self.api.client.zones.get_rrset(zone, relative, rtype.upper()),
                              self._what("read", name, rtype), deadline)
        return self._normalise(found, zone) if found is not None else None

    def _validate(self, rrset):
        rtype = rrset["type"].upper()
        if rtype not in base.RECORD_TYPES:
            raise AutoextenderError("Failed to replace %s %s: type must be one of %s" % (rrset["name"], rtype,
                                    ", ".join(base.RECORD_TYPES)), kind=VALIDATION)
        if not rrset.get("values"):
            raise AutoextenderError("Failed to replace %s %s: refusing to publish an empty record set"
                                    % (rrset["name"], rtype), kind=VALIDATION)
        if int(rrset["ttl"]) < MIN_TTL:
            raise AutoextenderError("Failed to replace %s %s: Hetzner DNS accepts a TTL of at least %d seconds, got %s"
                                    % (rrset["name"], rtype, MIN_TTL, rrset["ttl"]), kind=VALIDATION)
        if rtype == "CNAME" and self._relative(rrset["name"]) == "@":
            raise AutoextenderError("Failed to replace %s CNAME: a CNAME cannot be at the zone apex" % rrset["name"],
                                    kind=VALIDATION)

    def replace(self, rrset):
        self._validate(rrset)
        deadline = short_deadline(self.options)
        zone = self._hzone(deadline)
        rtype, name, ttl = rrset["type"].upper(), rrset["name"], int(rrset["ttl"])
        records = [ZoneRecord(value=self._to_api(rtype, v)) for v in sorted(set(rrset["values"]))]
        current = self.get(name, rtype)
        what = self._what("replace", name, rtype)
        if current is None:
            try:
                created = self.api.call(lambda: self.api.client.zones.create_rrset(
                    zone, name=self._relative(name), type=rtype, ttl=ttl, records=records), what, deadline, idempotent=False)
            except AutoextenderError:
                # A create whose answer was lost may have been made: adopt it if it is exactly what was asked.
                found = self.get(name, rtype)
                if found is not None and found == base.record_set(found["name"], rtype, ttl, rrset["values"]):
                    return found
                raise
            self.api.wait_actions([created.action], deadline, what)
            return self.get(name, rtype)
        target = self._rrset(zone, name, rtype)
        actions = []
        if current["values"] != base.record_set(name, rtype, ttl, rrset["values"])["values"]:
            actions.append(self.api.call(lambda: self.api.client.zones.set_rrset_records(target, records), what, deadline))
        if current["ttl"] != ttl:
            actions.append(self.api.call(lambda: self.api.client.zones.change_rrset_ttl(target, ttl), what, deadline))
        self.api.wait_actions(actions, deadline, what)
        return self.get(name, rtype)

    def delete(self, name, rtype):
        deadline = short_deadline(self.options)
        zone = self._hzone(deadline)
        target = self._rrset(zone, name, rtype)
        what = self._what("delete", name, rtype)
        response = self.api.read(lambda: self.api.client.zones.delete_rrset(target), what, deadline)
        if response is None:
            return False
        self.api.wait_actions([response.action], deadline, what)
        return True

    def list(self):
        deadline = short_deadline(self.options)
        zone = self._hzone(deadline)
        found = self.api.call(lambda: self.api.client.zones.get_rrset_all(zone), "list the record sets of %s" % self.zone,
                              deadline)
        return [self._normalise(r, zone) for r in found]
