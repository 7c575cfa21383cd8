# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""What every DNS module shares: the options, the backend they select, input checks, guarded writes.

- ``dns_argument_spec()`` / ``write_argument_spec()``: the options of the doc
  fragments ``talos.autoextender.dns`` and ``talos.autoextender.dns.write``;
  ``DNS_RULES`` / ``WRITE_RULES``: their value checks (``_validate``).
- ``dns_backend(module, deadline)``: the DnsProvider the options ask for, with
  its credentials (``api_token`` falls back to the provider's environment
  variables, ``_api_token``).
- ``validate(...)``: every check of a record set before anything is written,
  so bad input leaves the zone unchanged.
- ``RecordSetManager``: read a set with its ownership, refuse what must be
  refused, write the claim and the set in a safe order, wait for read-back.
"""

from __future__ import annotations

import ipaddress
import re

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.talos.autoextender.plugins.module_utils import _api_token
from ansible_collections.talos.autoextender.plugins.module_utils._dns import ownership
from ansible_collections.talos.autoextender.plugins.module_utils._dns import registry
from ansible_collections.talos.autoextender.plugins.module_utils._dns.base import RECORD_TYPES, fqdn, in_zone, record_set
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import MISSING_LIBRARY, VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._resource import Resource
from ansible_collections.talos.autoextender.plugins.module_utils._validate import PORT, Range
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline, wait_for

#: provider -> (Python module, pip name) it needs
LIBRARIES = {"powerdns": ("requests", "requests"), "cloudflare": ("requests", "requests"),
             "rfc2136": ("dns.update", "dnspython"), "hetzner": ("hcloud", "hcloud"),
             "linode": ("linode_api4", "linode_api4")}
TSIG_ALGORITHMS = ["hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5"]
LABEL_RE = re.compile(r"^(\*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)$")
MAX_TTL = 2 ** 31 - 1
#: Value checks of the shared options (the provider's own minimum TTL is checked once it is known).
DNS_RULES = {"port": PORT}
WRITE_RULES = dict(DNS_RULES, min_values=Range(0, unit="values"), ttl=Range(1, MAX_TTL, "seconds"))


def dns_argument_spec(**extra):
    spec = dict(
        provider=dict(type="str", required=True, choices=registry.names()),
        zone=dict(type="str", required=True),
        api_url=dict(type="str"),
        api_token=dict(type="str", no_log=True),
        server_id=dict(type="str", default="localhost"),
        server=dict(type="str"),
        port=dict(type="int", default=53),
        tsig_key_name=dict(type="str", fallback=(env_fallback, ["RFC2136_TSIG_KEY_NAME"])),
        tsig_key_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["RFC2136_TSIG_SECRET"])),
        tsig_algorithm=dict(type="str", default="hmac-sha256", choices=TSIG_ALGORITHMS),
    )
    spec.update(extra)
    return spec


def write_argument_spec(**extra):
    return dns_argument_spec(
        owner=dict(type="str", required=True),
        take_ownership=dict(type="bool", default=False),
        min_values=dict(type="int", default=1),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=120),
        **extra
    )


def dns_backend(module, deadline):
    """The backend of ``module.params`` (fails the module when its library is missing)."""
    params = module.params
    provider = params["provider"]
    import_name, pip_name = LIBRARIES.get(provider, (None, None))
    if import_name:
        try:
            __import__(import_name)
        except ImportError:
            module.fail_json(msg=missing_required_lib(pip_name), failure={"kind": MISSING_LIBRARY})
    return backend_from_params(params, deadline)


def backend_from_params(params, deadline):
    provider = params["provider"]
    if provider == "rfc2136":
        credentials = {"tsig_key_secret": params.get("tsig_key_secret")}
    else:
        token = _api_token.lookup(provider, params)
        if not token:
            raise AutoextenderError("The %s provider needs api_token (or the environment variable %s)"
                                    % (provider, " or ".join(_api_token.env_names(provider))), kind=VALIDATION)
        credentials = {_api_token.KEY: token}
    keys = ("api_url", "server_id", "server", "port", "tsig_key_name", "tsig_algorithm")
    options = dict((k, params[k]) for k in keys if params.get(k) is not None)
    options["deadline"] = deadline
    return registry.backend(provider, params["zone"], dict((k, v) for k, v in credentials.items() if v), options)


# -- input checks -----------------------------------------------------------------
def validate_name(name, zone, rtype):
    """The absolute name; refuses names outside the zone, our registry names, a CNAME at the apex."""
    absolute = fqdn(name, zone)
    zone = fqdn("@", zone)
    if not in_zone(absolute, zone):
        raise AutoextenderError("%s is outside the zone %s" % (absolute, zone), kind=VALIDATION)
    labels = absolute.rstrip(".").split(".")
    if len(absolute) > 254 or not all(LABEL_RE.match(label) for label in labels):
        raise AutoextenderError("%r is not a valid DNS name" % name, kind=VALIDATION)
    if ownership.is_registry_name(absolute):
        raise AutoextenderError("%s is an ownership record of the collection; it cannot be managed directly"
                                % absolute, kind=VALIDATION)
    if rtype == "CNAME" and absolute == zone:
        raise AutoextenderError("A CNAME cannot be at the zone apex %s (it would hide the SOA and NS records); "
                                "use A/AAAA records there" % zone, kind=VALIDATION)
    return absolute


def validate_value(rtype, value):
    """One value in canonical presentation form, or a validation error."""
    value = (value or "").strip()
    try:
        if rtype == "A":
            return str(ipaddress.IPv4Address(value))
        if rtype == "AAAA":
            return ipaddress.IPv6Address(value).compressed
    except ValueError:
        raise AutoextenderError("%r is not a valid IPv%s address for an %s record"
                                % (value, 4 if rtype == "A" else 6, rtype), kind=VALIDATION)
    if rtype == "CNAME":
        target = value.lower().rstrip(".") + "."
        if target == "." or not all(LABEL_RE.match(label) for label in target.rstrip(".").split(".")):
            raise AutoextenderError("%r is not a valid CNAME target (a fully qualified name)" % value, kind=VALIDATION)
        return target
    if len(value.encode("utf-8")) > 255:
        raise AutoextenderError("A TXT value is limited to 255 bytes here (got %d)" % len(value.encode("utf-8")),
                                kind=VALIDATION)
    return value


def validate(provider, name, rtype, values, ttl, state):
    """``(absolute name, canonical values)``; raises before any write."""
    rtype = (rtype or "").upper()
    if rtype not in RECORD_TYPES:
        raise AutoextenderError("type must be one of %s" % ", ".join(RECORD_TYPES), kind=VALIDATION)
    absolute = validate_name(name, provider.zone, rtype)
    if state == "absent":
        return absolute, None
    if not values:
        raise AutoextenderError("values is empty: an empty record set is never published; use state=absent "
                                "to delete %s %s" % (absolute, rtype), kind=VALIDATION)
    canonical = sorted(set(validate_value(rtype, v) for v in values))
    if rtype == "CNAME" and len(canonical) != 1:
        raise AutoextenderError("A CNAME record set holds exactly one value", kind=VALIDATION)
    if ttl is None or not provider.min_ttl <= ttl <= MAX_TTL:
        raise AutoextenderError("ttl %s is out of range: the %s provider accepts %d to %d"
                                % (ttl, provider.name, provider.min_ttl, MAX_TTL), kind=VALIDATION)
    return absolute, canonical


def shrink_refused(current_values, new_values, min_values):
    """True when going from ``current_values`` to ``new_values`` drops below ``min_values``."""
    return len(new_values) < min_values and len(new_values) < len(current_values or [])


class RecordSetManager(object):
    """Ownership-aware reads and writes of record sets through one DnsProvider."""

    def __init__(self, provider, owner, take_ownership=False):
        self.provider = provider
        self.owner = ownership.validate_owner(owner)
        self.take_ownership = take_ownership
        self.registry = ownership.Registry(provider)
        self._claims = {}

    def read(self, name, rtype, for_write=True):
        """The set with its ``owner`` or None; refuses foreign sets and CNAME clashes before any write."""
        current = self.provider.get(name, rtype)
        if current is None and for_write:
            self._refuse_cname_clash(name, rtype)
        claims = self._claims[name] = self.registry.read(name)
        state = ownership.status(claims, rtype, self.owner)
        ownership.guard(state, current is not None, self.take_ownership, name, rtype, claims)
        owners = ownership.owners_by_type(claims).get(rtype, [])
        if current is None:
            # A claim of ours without its set (a run stopped in between): report it so absent removes it.
            return dict(record_set(name, rtype, 0, []), owner=self.owner) if state == ownership.OWNED else None
        current["owner"] = self.owner if state == ownership.OWNED else (owners[0] if owners else None)
        return current

    def _refuse_cname_clash(self, name, rtype):
        """A CNAME cannot share its name with other data (RFC 1034 3.6.2); some servers drop such adds silently."""
        others = [t for t in RECORD_TYPES if t != "CNAME"] if rtype == "CNAME" else ["CNAME"]
        for other in others:
            if self.provider.get(name, other) is not None:
                raise AutoextenderError("Cannot add %s %s: the name already holds %s records, and a CNAME cannot "
                                        "share its name with other records" % (name, rtype, other),
                                        kind=VALIDATION, details={"name": name, "existing_type": other})

    def write(self, name, rtype, ttl, values, current=None):
        """Claim, then replace the set (claim first: a crash never leaves an unowned set of ours)."""
        self._claims[name] = self.registry.claim(name, rtype, self.owner, ttl, self._claims.get(name))
        wanted = record_set(name, rtype, ttl, values)
        if current is None or current.get("ttl") != wanted["ttl"] or sorted(current.get("values", [])) != wanted["values"]:
            self.provider.replace(wanted)
        return dict(wanted, owner=self.owner)

    def remove(self, name, rtype):
        """Delete the set, then release our claim."""
        self.provider.delete(name, rtype)
        self.registry.release(name, rtype, self.owner, self._claims.get(name))

    def wait_visible(self, state, deadline):
        """Poll the provider until it reads back ``state``'s values and TTL (one deadline)."""
        def probe():
            seen = self.provider.get(state["name"], state["type"])
            done = seen is not None and seen["values"] == state["values"] and seen["ttl"] == state["ttl"]
            return done, seen
        wait_for(probe, deadline, "%s %s to read back as written" % (state["name"], state["type"]), initial=0.2)
        return state


class DnsResource(Resource):
    """Base of the modules that write record sets: one deadline, the backend, the manager."""

    provider = None
    manager = None
    deadline = None

    def secrets(self):
        return self.provider.secrets() if self.provider else []

    def connect(self):
        """Called first in fetch(): the task's one deadline (wait_timeout) covers every API call and wait."""
        p = self.params
        self.deadline = Deadline(p["wait_timeout"])
        self.provider = dns_backend(self.module, self.deadline)
        self.manager = RecordSetManager(self.provider, p["owner"], p["take_ownership"])
