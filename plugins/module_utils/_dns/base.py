# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The DnsProvider interface every DNS backend implements (docs/dns.md).

Record sets are plain dicts; names are absolute and lower-case with a
trailing dot, values are in presentation format (TXT values unquoted)::

    {"name": "edge.example.org.", "type": "A", "ttl": 60,
     "values": ["192.0.2.1", "198.51.100.7"]}

Errors: every method raises ``AutoextenderError`` ("Failed to <verb> <name>
<type> in <zone>: <reason>", kinds ``auth``, ``not_found``, ``conflict``,
``validation``, ``rate_limited``, ``api``). ``get`` returns None when the set
does not exist. Constructors do no I/O.
"""

from __future__ import annotations

RECORD_TYPES = ("A", "AAAA", "CNAME", "TXT")


def fqdn(name, zone):
    """``name`` (relative to ``zone``, ``@`` for the apex, or absolute) as an absolute lower-case name."""
    zone = zone.rstrip(".").lower() + "."
    name = (name or "@").strip().lower()
    if name in ("@", zone, zone.rstrip(".")):
        return zone
    if name.endswith("."):
        return name
    if name.endswith("." + zone.rstrip(".")):
        return name + "."
    return "%s.%s" % (name, zone)


def in_zone(name, zone):
    """True when the absolute ``name`` is the zone apex or below it."""
    zone = zone.rstrip(".").lower() + "."
    name = name.lower()
    return name == zone or name.endswith("." + zone)


def record_set(name, rtype, ttl, values):
    """A normalised record set: values de-duplicated and sorted (sets, not lists)."""
    return {"name": name.lower(), "type": rtype.upper(), "ttl": int(ttl), "values": sorted(set(values))}


def returned(rrset):
    """``rrset`` as the modules return it: its values under ``rdata``.

    A returned key ``values`` would shadow the dict method of that name in a
    Jinja expression (``result.record_set.values`` is the method), so
    ansible-core 2.21's validate-modules refuses it.
    """
    out = dict(rrset)
    if "values" in out:
        out["rdata"] = out.pop("values")
    return out


class DnsProvider(object):
    """Subclass per backend; one instance per task, bound to one zone."""

    name = None
    #: True when replace() swaps the whole set in one API call (no partial state)
    atomic_replace = False
    #: smallest TTL the provider accepts
    min_ttl = 1

    def __init__(self, zone, credentials, options=None):
        self.zone = zone.rstrip(".").lower() + "."
        self.credentials = dict(credentials or {})
        self.options = dict(options or {})

    def secrets(self):
        """Strings to redact from anything the module returns."""
        return [v for v in self.credentials.values() if isinstance(v, str)]

    def get(self, name, rtype):
        """The record set ``name``/``rtype`` or None."""
        raise NotImplementedError

    def replace(self, rrset):
        """Make ``rrset`` the whole set at its name and type (atomically where possible)."""
        raise NotImplementedError

    def delete(self, name, rtype):
        """Remove the set; return False when there was none."""
        raise NotImplementedError

    def list(self):
        """Every record set of the zone (for info and ownership checks)."""
        raise NotImplementedError
