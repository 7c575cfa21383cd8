# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Credential rotation: which places hold which credential, and what a switch changes.

A *place* is one spot of the home cluster where the collection (or its
documented CronJob) put a credential::

    {api_version, kind, namespace, name, path, provider, field, encoding, prefix, restart}

``path`` is a dotted path into the object (``data.pdns-api-key``,
``spec.template.spec.containers.0.args``); ``encoding`` is ``base64`` (Secret
``data``) or ``plain``; with ``prefix`` the path names a list of strings and the
place is its item that starts with ``prefix`` (a container argument such as
``--rfc2136-tsig-keyname=``). ``restart`` names a Deployment (``namespace/name``)
to roll when the place switched, so its pods read the new value.

Every comparison is constant-time and nothing here returns or raises a value:
a place is reported by where it is and by its state only:

- ``current``: it holds the new credential;
- ``switch``: it holds the old one (or, when the old one is not known, any other value): the rotation writes
  the new one;
- ``absent``: the object, the key or the argument is not there (nothing to switch).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac

from ansible_collections.talos.autoextender.plugins.module_utils import _credentials, _credentials_retired
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION

NEW_VARIABLE = "autoextender_credentials_new"
CURRENT, SWITCH, ABSENT = "current", "switch", "absent"
ENCODINGS = ("base64", "plain")
#: the annotation of a Deployment's pod template that rolls its pods after a switch (a digest, never a value)
RESTART_ANNOTATION = "autoextender.io/credentials-rotated"


def validate_new(mapping):
    """``autoextender_credentials_new`` checked with the rules of ``autoextender_credentials``; at least one entry."""
    clean = _credentials.validate(mapping, variable=NEW_VARIABLE)
    clean = dict((name, entry) for name, entry in clean.items() if entry)
    if not clean:
        raise AutoextenderError("%s names no credential to rotate: give the entries to rotate, shaped like %s "
                                "(docs/security.md)" % (NEW_VARIABLE, _credentials.VARIABLE), kind=VALIDATION)
    return clean


def same(a, b):
    """Constant-time equality of two strings (None equals nothing)."""
    if a is None or b is None:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def describe(place):
    """Where a place is, for a report: ``Secret external-dns/external-dns-credentials data.pdns-api-key``."""
    where = "%s/%s" % (place["namespace"], place["name"]) if place.get("namespace") else place["name"]
    what = place["path"] + ("[%s*]" % place["prefix"] if place.get("prefix") else "")
    return "%s %s %s" % (place["kind"], where, what)


def normalise_place(place):
    """A place with its defaults; a clear error (naming the option, never a value) on a bad one."""
    out = dict(place)
    for key in ("kind", "name", "path", "provider", "field"):
        if not out.get(key):
            raise AutoextenderError("places: each place needs %s (got one for %s)" % (key, out.get("name") or "?"),
                                    kind=VALIDATION)
    out.setdefault("api_version", "v1")
    out["api_version"] = out.get("api_version") or "v1"
    out["encoding"] = out.get("encoding") or ("base64" if out["kind"] == "Secret" else "plain")
    if out["encoding"] not in ENCODINGS:
        raise AutoextenderError("places: encoding of %s must be one of %s" % (describe(out), ", ".join(ENCODINGS)),
                                kind=VALIDATION)
    out["prefix"] = out.get("prefix") or None
    out["restart"] = out.get("restart") or None
    out["namespace"] = out.get("namespace") or None
    return out


def _walk(obj, parts):
    """``(container, last key)`` of a dotted path, or ``(None, None)`` when a step is missing."""
    node = obj
    for part in parts[:-1]:
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return None, None
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                return None, None
            node = node[part]
        else:
            return None, None
    return node, parts[-1]


def _decode(raw, encoding):
    if not isinstance(raw, str):
        return None
    if encoding == "plain":
        return raw
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _encode(value, encoding):
    return value if encoding == "plain" else base64.b64encode(value.encode("utf-8")).decode("ascii")


def read(obj, place):
    """The value a place holds in ``obj`` (decoded), or None when it is not there."""
    if not obj:
        return None
    container, last = _walk(obj, place["path"].split("."))
    if container is None:
        return None
    if isinstance(container, list):
        if not last.isdigit() or int(last) >= len(container):
            return None
        raw = container[int(last)]
    elif isinstance(container, dict):
        raw = container.get(last)
    else:
        return None
    if place.get("prefix"):
        if not isinstance(raw, list):
            return None
        for item in raw:
            if isinstance(item, str) and item.startswith(place["prefix"]):
                return item[len(place["prefix"]):]
        return None
    return _decode(raw, place["encoding"])


def write(obj, place, value):
    """A copy of ``obj`` whose place holds ``value``; the place must be there (see ``read``)."""
    out = copy.deepcopy(obj)
    container, last = _walk(out, place["path"].split("."))
    key = int(last) if isinstance(container, list) else last
    if place.get("prefix"):
        container[key] = [place["prefix"] + value if isinstance(item, str) and item.startswith(place["prefix"])
                          else item for item in container[key]]
    else:
        container[key] = _encode(value, place["encoding"])
    return out


def state(held, new):
    """The state of a place that holds ``held`` (None: absent), given the new value."""
    if held is None:
        return ABSENT
    if same(held, new):
        return CURRENT
    return SWITCH


def holds_old(held, old, new):
    """Does a place still hold the old credential? Unknown old: anything but the new value counts as old."""
    if held is None or same(held, new):
        return False
    return True if old is None else same(held, old)


def plan(places, objects, old, new):
    """One row per place: where it is, its provider and field, its state, and whether it holds the old value.

    ``objects``: ``{(api_version, kind, namespace, name): object or None}``; ``old``/``new``: credential mappings
    (``{provider: {field: value}}``). Places of a provider that is not rotated are left out.
    """
    rows = []
    for place in places:
        new_value = (new.get(place["provider"]) or {}).get(place["field"])
        if new_value is None:
            continue
        old_value = (old.get(place["provider"]) or {}).get(place["field"])
        held = read(objects.get(object_key(place)), place)
        rows.append(dict(place=describe(place), provider=place["provider"], field=place["field"],
                         state=state(held, new_value), holds_old=holds_old(held, old_value, new_value),
                         restart=place["restart"]))
    return rows


def object_key(place):
    return (place["api_version"], place["kind"], place["namespace"], place["name"])


def switched_objects(places, objects, new):
    """``{object key: the object with every place of it that must switch holding the new value}``; a Secret also
    records the value it held as retired (``_credentials_retired``)."""
    out = {}
    for place in places:
        new_value = (new.get(place["provider"]) or {}).get(place["field"])
        key = object_key(place)
        obj = out.get(key, objects.get(key))
        if new_value is None or obj is None:
            continue
        held = read(obj, place)
        if held is not None and not same(held, new_value):
            out[key] = write(obj, place, new_value)
            if place["kind"] == "Secret" and place["path"].startswith("data.") and "." not in place["path"][5:]:
                # the roles that write this Secret refuse the retired value from now on (_credentials_retired)
                out[key] = _credentials_retired.record(out[key], place["path"][5:], held, new_value)
    return out


def restarts(places, rows):
    """The Deployments (``namespace/name``) to roll: those named by a place that switched, each once, in order."""
    out = []
    for row in rows:
        if row["state"] == SWITCH and row["restart"] and row["restart"] not in out:
            out.append(row["restart"])
    return out


def digest(new, providers=None):
    """A digest of the new credentials (for the restart annotation): not reversible, stable between runs."""
    h = hashlib.sha256()
    for name in sorted(new):
        if providers is not None and name not in providers:
            continue
        for field in sorted(new[name]):
            h.update(("%s.%s=" % (name, field)).encode("utf-8"))
            h.update(hashlib.sha256(new[name][field].encode("utf-8")).digest())
    return h.hexdigest()[:16]


def unchanged(old, new):
    """The providers whose new entry is the one in use already (every field equal): nothing to revoke."""
    return sorted(name for name, entry in new.items()
                  if entry and all(same((old.get(name) or {}).get(k), v) for k, v in entry.items()))


def summary(before, after, verified, in_use=()):
    """The report: per provider, what was verified, which places switched (``before`` the switch) and which still
    hold the old value (``after`` it, read again or predicted in check mode); ``in_use``: see ``unchanged``."""
    providers = sorted(set(row["provider"] for row in before) | set(verified))
    out = []
    for provider in providers:
        mine = [row for row in before if row["provider"] == provider]
        switched = [row["place"] for row in mine if row["state"] == SWITCH]
        still = [row["place"] for row in after if row["provider"] == provider and row["holds_old"]]
        if provider in in_use and not still:
            advice = ("the new %s credential is the one in use already (%s): there is no old one to revoke"
                      % (provider, _credentials.VARIABLE))
        elif not still:
            advice = ("the old %s credential is held by no place of the collection any more: revoke it at the "
                      "provider (or remove the old key from the DNS server) and replace the entry of %s in your "
                      "vault with the new one" % (provider, _credentials.VARIABLE))
        else:
            advice = None
        out.append(dict(provider=provider, verified=verified.get(provider, "not verified"), switched=switched,
                        current=[row["place"] for row in mine if row["state"] == CURRENT],
                        absent=[row["place"] for row in mine if row["state"] == ABSENT],
                        old_in_use=still,
                        revoke=advice))
    return out


# -- the steps that talk to the outside world --------------------------------------------------------------------
PROBE_NAME = "_autoextender-rotation"


def merged(old, new):
    """The credentials after the rotation: each rotated entry is its old one (``api_url``, ...) updated with the new."""
    return dict((name, dict(old.get(name) or {}, **entry)) for name, entry in new.items())


def secret_values(*mappings):
    """Every secret value of credential mappings (not ``api_url``): what an error must never carry."""
    return [v for mapping in mappings if isinstance(mapping, dict) for entry in mapping.values()
            if isinstance(entry, dict) for k, v in entry.items() if k != "api_url" and isinstance(v, str) and v]


def verify(name, credentials, dns, check_mode, timeout=30, environ=None):
    """Check that the new credentials of ``name`` work with a read-only call (a signed update of a throwaway TXT
    record for rfc2136, a signed read in check mode); returns what was checked, raises AutoextenderError."""
    from ansible_collections.talos.autoextender.plugins.module_utils import _doctor
    from ansible_collections.talos.autoextender.plugins.module_utils._dns import registry as dns_registry
    from ansible_collections.talos.autoextender.plugins.module_utils._providers import registry as cloud_registry
    done = []
    if name in cloud_registry.names():
        res = _doctor.check_cloud(name, _credentials.module_options(credentials, "cloud", name), timeout, environ)
        if not res["ok"]:
            raise AutoextenderError("The new %s credential does not work (%s); nothing was switched. %s"
                                    % (name, res["detail"], res.get("fix") or ""), kind=res.get("kind") or VALIDATION)
        done.append("cloud: " + res["detail"])
    if dns and dns.get("provider") == name:
        options = _credentials.module_options(credentials, "dns", name)
        if name == "rfc2136":
            done.append(verify_tsig(dns, options, write=not check_mode, timeout=timeout))
        else:
            res = _doctor.check_dns(dns, options, timeout, environ)
            if not res["ok"]:
                raise AutoextenderError("The new %s credential does not work (%s); nothing was switched. %s"
                                        % (name, res["detail"], res.get("fix") or ""),
                                        kind=res.get("kind") or VALIDATION)
            done.append("dns: " + res["detail"])
    if not done:
        known = name in dns_registry.names() or name in cloud_registry.names()
        raise AutoextenderError(
            "%s.%s: nothing to verify it against (%s); rotate a cloud provider, or the DNS backend of "
            "autoextender_dns (%s)" % (NEW_VARIABLE, name, "a DNS backend other than autoextender_dns.provider"
                                       if known else "unknown", (dns or {}).get("provider") or "not set"),
            kind=VALIDATION)
    return "; ".join(done)


def verify_tsig(dns, options, write, timeout=30):
    """The new TSIG key signs: a signed update of a throwaway TXT record, then its removal (``write``), or a
    signed SOA read. A server that does not know the key answers NOTAUTH/BADKEY: an error."""
    from ansible_collections.talos.autoextender.plugins.module_utils._dns.base import fqdn, record_set
    from ansible_collections.talos.autoextender.plugins.module_utils._dns_module import backend_from_params
    from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
    settings = dict(dns.get("options") or {})
    params = dict((k, settings.get(k)) for k in ("server", "port", "tsig_algorithm", "tsig_key_name"))
    params.update(provider="rfc2136", zone=dns["zone"], tsig_key_secret=options.get("tsig_key_secret"),
                  api_url=None, server_id=None)
    if options.get("tsig_key_name"):
        params["tsig_key_name"] = options["tsig_key_name"]
    if not params["tsig_key_secret"] or not params["tsig_key_name"]:
        raise AutoextenderError("%s.rfc2136 needs tsig_key_name and tsig_key_secret" % NEW_VARIABLE, kind=VALIDATION)
    try:
        backend = backend_from_params(params, Deadline(timeout))
        if not write:
            backend.get(fqdn("@", dns["zone"]), "SOA")
            return "dns: the server accepted a query signed with key %s" % params["tsig_key_name"]
        name = fqdn(PROBE_NAME, dns["zone"])
        backend.replace(record_set(name, "TXT", 60, ["autoextender credential rotation check"]))
        backend.delete(name, "TXT")
    except AutoextenderError as e:
        e = e.redacted([params["tsig_key_secret"]])
        raise AutoextenderError("The new rfc2136 TSIG key %s does not work (%s); nothing was switched. Add the key "
                                "to the DNS server next to the old one first (docs/security.md)"
                                % (params["tsig_key_name"], e.msg), kind=e.kind, details=e.details)
    return "dns: the server accepted an update signed with key %s" % params["tsig_key_name"]


def rolled_out(deployment):
    """Has a Deployment rolled its pods out (the ``kubectl rollout status`` rule)?"""
    if not deployment:
        return True
    meta, spec, status = deployment.get("metadata") or {}, deployment.get("spec") or {}, deployment.get("status") or {}
    replicas = spec.get("replicas", 1)
    return (status.get("observedGeneration", 0) >= meta.get("generation", 0)
            and status.get("updatedReplicas", 0) >= replicas
            and status.get("availableReplicas", 0) >= replicas
            and status.get("replicas", 0) <= replicas)


def with_restart(deployment, value):
    """A copy of ``deployment`` whose pod template carries the restart annotation ``value`` (None: unchanged)."""
    template_meta = deployment.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
    if (template_meta.get("annotations") or {}).get(RESTART_ANNOTATION) == value:
        return None
    out = copy.deepcopy(deployment)
    out["spec"]["template"]["metadata"].setdefault("annotations", {})
    out["spec"]["template"]["metadata"]["annotations"] = dict(out["spec"]["template"]["metadata"]["annotations"] or {},
                                                              **{RESTART_ANNOTATION: value})
    return out
