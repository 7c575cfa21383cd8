# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Linode DNS (the Domains API) through linode_api4 (see docs/providers/linode.md).

Credentials: ``{"api_token": ...}``; ``LINODE_TOKEN`` (or ``LINODE_API_TOKEN``)
from the environment when absent. Options: as ``LinodeApi`` (``api_url``,
``timeout``, ``deadline``), plus ``domain_id`` (skips the lookup by name).

Not atomic: the API has one record per value and no batch call. ``replace``
keeps records whose value stays, creates the new values, fixes TTLs, and only
then deletes the stale values, so the set is never empty and never lacks a
value that is in both the old and the new set; while it runs, resolvers may see
old and new values together. A CNAME (one value) is changed in place. A
failure part-way leaves that union; running the task again completes it.

TTLs: the API rounds any TTL to the nearest of ``VALID_TTLS`` (0 means the
domain's default). ``replace`` refuses other values instead of letting the
API round them, so a task stays idempotent.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.talos.autoextender.plugins.module_utils._dns.base import (
    RECORD_TYPES, DnsProvider, in_zone, record_set)
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import NOT_FOUND, VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._clients.linode import LinodeApi

VALID_TTLS = (300, 3600, 7200, 14400, 28800, 57600, 86400, 172800, 345600, 604800, 1209600, 2419200)
#: what "0" (domain default) means when the domain has no default either
DEFAULT_TTL = 86400


class LinodeDnsProvider(DnsProvider):
    name = "linode"
    atomic_replace = False
    min_ttl = VALID_TTLS[0]

    def __init__(self, zone, credentials, options=None):
        super().__init__(zone, credentials, options)
        self.api = LinodeApi(self.credentials, self.options)
        self._domain = None

    # -- helpers ---------------------------------------------------------------------------------
    def _fail(self, verb, name, rtype, reason, kind=VALIDATION):
        return AutoextenderError("Failed to %s %s %s in %s: %s" % (verb, name, rtype, self.zone, reason), kind=kind)

    def _domain_info(self, deadline):
        if self._domain is None:
            if self.options.get("domain_id"):
                self._domain = self.api.call("read the Linode domain %s" % self.zone, deadline, "get",
                                             "/domains/%d" % int(self.options["domain_id"]))
            else:
                found = self.api.collect("find the Linode domain %s" % self.zone, deadline, "/domains",
                                         {"domain": self.zone.rstrip(".")})
                if not found:
                    raise AutoextenderError("Failed to find the zone %s in Linode DNS: no such domain on this account"
                                            % self.zone, kind=NOT_FOUND)
                self._domain = found[0]
        return self._domain

    def _path(self, deadline, record_id=None):
        path = "/domains/%d/records" % self._domain_info(deadline)["id"]
        return path if record_id is None else "%s/%d" % (path, record_id)

    def _relative(self, name):
        return "" if name == self.zone else name[:-len(self.zone) - 1]

    def _absolute(self, relative):
        return self.zone if not relative else "%s.%s" % (relative.lower().rstrip("."), self.zone)

    def _ttl(self, record, deadline):
        return record.get("ttl_sec") or self._domain_info(deadline).get("ttl_sec") or DEFAULT_TTL

    @staticmethod
    def _value_out(rtype, target):
        return target.rstrip(".").lower() + "." if rtype == "CNAME" else target

    @staticmethod
    def _value_in(rtype, value):
        return value.rstrip(".") if rtype == "CNAME" else value

    def _records(self, deadline, name=None, rtype=None):
        flt = {}
        if name is not None:
            flt["name"] = self._relative(name)
        if rtype is not None:
            flt["type"] = rtype
        found = self.api.collect("list the records of %s" % self.zone, deadline, self._path(deadline), flt or None)
        return [r for r in found if (name is None or self._absolute(r.get("name")) == name)
                and (rtype is None or r.get("type") == rtype)]

    def _set(self, name, rtype, records, deadline):
        if not records:
            return None
        return record_set(name, rtype, min(self._ttl(r, deadline) for r in records),
                          [self._value_out(rtype, r["target"]) for r in records])

    # -- the interface -----------------------------------------------------------------------------
    def get(self, name, rtype):
        deadline = self.api.deadline()
        rtype = rtype.upper()
        return self._set(name.lower(), rtype, self._records(deadline, name.lower(), rtype), deadline)

    def _check(self, rrset):
        name, rtype = rrset["name"].lower(), rrset["type"].upper()
        if rtype not in RECORD_TYPES:
            raise self._fail("replace", name, rtype, "type must be one of %s" % ", ".join(RECORD_TYPES))
        if not in_zone(name, self.zone):
            raise self._fail("replace", name, rtype, "the name is not in the zone")
        if int(rrset["ttl"]) not in VALID_TTLS:
            raise self._fail("replace", name, rtype, "Linode only accepts the TTLs %s (it would round %s)"
                             % (", ".join(str(t) for t in VALID_TTLS), rrset["ttl"]))
        values = sorted(set(rrset.get("values") or ()))
        if not values:
            raise self._fail("replace", name, rtype, "a record set needs at least one value")
        for value in values:
            try:
                {"A": ipaddress.IPv4Address, "AAAA": ipaddress.IPv6Address}.get(rtype, str)(value)
            except ValueError:
                raise self._fail("replace", name, rtype, "%r is not a valid %s value" % (value, rtype))
        if rtype == "CNAME" and (len(values) > 1 or name == self.zone):
            raise self._fail("replace", name, rtype, "a CNAME has exactly one value and cannot be at the zone apex")
        return name, rtype, int(rrset["ttl"]), values

    def replace(self, rrset):
        name, rtype, ttl, values = self._check(rrset)
        deadline = self.api.deadline()
        what = "replace %s %s in %s" % (name, rtype, self.zone)
        current = self._records(deadline, name, rtype)
        wanted = dict((self._value_in(rtype, v), v) for v in values)
        stale = [r for r in current if r["target"] not in wanted]
        have = set(r["target"] for r in current) - set(r["target"] for r in stale)
        if rtype == "CNAME" and stale and not have:
            record = stale.pop(0)
            self.api.call(what, deadline, "put", self._path(deadline, record["id"]),
                          data={"target": list(wanted)[0], "ttl_sec": ttl})
            have.add(list(wanted)[0])
            record["ttl_sec"] = ttl
        for target in sorted(set(wanted) - have):
            data = {"type": rtype, "target": target, "ttl_sec": ttl}
            if name != self.zone:
                data["name"] = self._relative(name)  # the apex: no name (the document forbids "")
            self.api.call(what, deadline, "post", self._path(deadline), data=data, idempotent=False)
        for record in current:
            if record not in stale and record["target"] in wanted and record.get("ttl_sec") != ttl:
                self.api.call(what, deadline, "put", self._path(deadline, record["id"]), data={"ttl_sec": ttl})
        for record in stale:
            self.api.remove(what, deadline, self._path(deadline, record["id"]))
        return record_set(name, rtype, ttl, values)

    def delete(self, name, rtype):
        deadline = self.api.deadline()
        name, rtype = name.lower(), rtype.upper()
        current = self._records(deadline, name, rtype)
        for record in current:
            self.api.remove("delete %s %s in %s" % (name, rtype, self.zone), deadline, self._path(deadline, record["id"]))
        return bool(current)

    def list(self):
        deadline = self.api.deadline()
        groups = {}
        for record in self._records(deadline):
            groups.setdefault((self._absolute(record.get("name")), record["type"]), []).append(record)
        return [self._set(name, rtype, records, deadline) for (name, rtype), records in sorted(groups.items())]
