# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The TXT ownership registry (the ExternalDNS registry idea, in our own namespace).

The owner of the record set ``<name>``/``<type>`` is written in a TXT record
set at ``_autoextender.<name>``, one value per owned type::

    _autoextender.edge.example.org. 60 IN TXT
        "heritage=talos-autoextender,talos-autoextender/owner=home,talos-autoextender/record-type=A"

It never collides with ExternalDNS: ExternalDNS writes ``heritage=external-dns``
values at names made of its own ``--txt-prefix`` (the external_dns role uses
``extdns-%{record_type}.``), never at ``_autoextender.*``; values of another
format found at our name are kept untouched. Works through any DnsProvider.
"""

from __future__ import annotations

import re

from ansible_collections.talos.autoextender.plugins.module_utils._dns.base import record_set
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import CONFLICT, VALIDATION

HERITAGE = "talos-autoextender"
LABEL = "_autoextender"
OWNER_RE = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")
VALUE_RE = re.compile(r"^heritage=talos-autoextender,talos-autoextender/owner=([^,=]+),"
                      r"talos-autoextender/record-type=([A-Z0-9]+)$")

OWNED, FOREIGN, UNOWNED = "owned", "foreign", "unowned"


def claim_name(name):
    """Where the claims for ``name`` (absolute) live."""
    return "%s.%s" % (LABEL, name)


def is_registry_name(name):
    return name.lower().startswith(LABEL + ".")


def claim_value(owner, rtype):
    return "heritage=%s,%s/owner=%s,%s/record-type=%s" % (HERITAGE, HERITAGE, owner, HERITAGE, rtype.upper())


def parse_claim(value):
    """``(owner, type)`` of one of our TXT values, or None for anything else."""
    m = VALUE_RE.match(value or "")
    return (m.group(1), m.group(2)) if m else None


def validate_owner(owner):
    if not owner or not OWNER_RE.match(owner):
        raise AutoextenderError(
            "owner %r is not valid: use 1-63 lower-case letters, digits, '.', '_' or '-' (the cluster name)" % (owner,),
            kind=VALIDATION)
    return owner


def owners_by_type(claims):
    """``{type: [owners]}`` from the claim record set (None = no claims)."""
    out = {}
    for value in (claims or {}).get("values", []):
        parsed = parse_claim(value)
        if parsed:
            out.setdefault(parsed[1], []).append(parsed[0])
    return out


def status(claims, rtype, owner):
    """OWNED when ``owner`` claims ``rtype``; FOREIGN when someone else does; UNOWNED otherwise."""
    owners = owners_by_type(claims).get(rtype.upper(), [])
    if owner in owners:
        return OWNED
    return FOREIGN if owners else UNOWNED


def guard(state, exists, take_ownership, name, rtype, claims):
    """Refuse (conflict) to touch a set we do not own, unless ``take_ownership``."""
    if state == OWNED or take_ownership or (state == UNOWNED and not exists):
        return
    others = sorted(set(owners_by_type(claims).get(rtype.upper(), [])))
    why = ("it is claimed by owner %s in %s" % (", ".join(others), claim_name(name)) if others
           else "it exists and has no ownership record %s (another tool or a person made it)" % claim_name(name))
    raise AutoextenderError(
        "Refusing to change %s %s: %s. Set take_ownership=true to take it over." % (name, rtype, why),
        kind=CONFLICT, details={"name": name, "type": rtype, "owners": others})


def with_claim(claims, name, rtype, owner, ttl):
    """The claim record set after ``owner`` claims ``rtype`` (others' claims of that type are replaced)."""
    keep = [v for v in (claims or {}).get("values", []) if (parse_claim(v) or (None, None))[1] != rtype.upper()]
    return record_set(claim_name(name), "TXT", ttl, keep + [claim_value(owner, rtype)])


def without_claim(claims, rtype, owner):
    """The claim values left after ``owner`` releases ``rtype`` (may be empty)."""
    return [v for v in (claims or {}).get("values", []) if parse_claim(v) != (owner, rtype.upper())]


class Registry(object):
    """Read, write and verify claims through any DnsProvider."""

    def __init__(self, provider):
        self.provider = provider

    def read(self, name):
        return self.provider.get(claim_name(name), "TXT")

    def claim(self, name, rtype, owner, ttl, claims=None):
        """Write our claim (before the record set is written: a crash leaves a claim, never an unowned set)."""
        wanted = with_claim(claims, name, rtype, owner, ttl)
        if claims is None or sorted(claims["values"]) != wanted["values"]:
            self.provider.replace(wanted)
        return wanted

    def release(self, name, rtype, owner, claims):
        """Remove our claim (after the record set is deleted); drops the TXT set when nothing is left."""
        left = without_claim(claims, rtype, owner)
        if claims is None or len(left) == len(claims["values"]):
            return
        if left:
            self.provider.replace(record_set(claims["name"], "TXT", claims["ttl"], left))
        else:
            self.provider.delete(claims["name"], "TXT")
