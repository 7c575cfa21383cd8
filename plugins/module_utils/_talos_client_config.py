# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The talosconfig client certificate the automation uses: read it, decide whether to re-issue it, merge a new one.

A new ``os:admin`` certificate comes from ``talosctl gen config --with-secrets <bundle> --output-types
talosconfig`` (signed by the cluster's OS CA in the bundle); only ``ca``/``crt``/``key`` of the context are taken
from it, the endpoints, nodes and context name of the file stay. Nothing here returns a key.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import MISSING_LIBRARY, PARSE, VALIDATION

CERT_KEYS = ("ca", "crt", "key")


def load(text, path):
    """The talosconfig as a dict; a clear error (without its content) when it is not one."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise AutoextenderError("%s is not YAML (%s)" % (path, type(e).__name__), kind=PARSE, details={"path": path})
    if not isinstance(data, dict) or not isinstance(data.get("contexts"), dict) or not data["contexts"]:
        raise AutoextenderError("%s is not a talosconfig (no contexts)" % path, kind=PARSE, details={"path": path})
    return data


def context_of(config, path, name=None):
    """``(name, context)``: the named context, else the file's current one."""
    name = name or config.get("context") or sorted(config["contexts"])[0]
    ctx = config["contexts"].get(name)
    if not isinstance(ctx, dict) or not all(ctx.get(k) for k in CERT_KEYS):
        raise AutoextenderError("%s has no context %r with ca, crt and key" % (path, name), kind=VALIDATION,
                                details={"path": path, "context": name})
    return name, ctx


def certificate(ctx):
    """``{subject, serial, not_before, not_after}`` of the context's client certificate (datetimes, UTC)."""
    try:
        from cryptography import x509
    except ImportError:
        raise AutoextenderError("Reading the client certificate needs the Python library cryptography "
                                "(pip install cryptography)", kind=MISSING_LIBRARY)
    try:
        cert = x509.load_pem_x509_certificate(base64.b64decode(ctx["crt"]))
    except (ValueError, TypeError, binascii.Error) as e:
        raise AutoextenderError("The talosconfig's client certificate cannot be read (%s)" % type(e).__name__,
                                kind=PARSE)
    return {"subject": cert.subject.rfc4514_string(), "serial": "%x" % cert.serial_number,
            "not_before": cert.not_valid_before_utc, "not_after": cert.not_valid_after_utc}


def needs_new(cert, max_age_hours, now=None):
    """Re-issue when the certificate in use is older than ``max_age_hours`` (0: always)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return max_age_hours <= 0 or now - cert["not_before"] > datetime.timedelta(hours=max_age_hours)


def same_ca(ctx, bundle):
    """Is the talosconfig's CA the bundle's OS CA? (Else a certificate from the bundle would not be trusted.)"""
    ca = ((bundle.get("certs") or {}).get("os") or {}).get("crt")
    return bool(ca) and ca.strip() == str(ctx.get("ca") or "").strip()


def merged(config, name, generated):
    """A copy of ``config`` whose context ``name`` carries the client certificate of the ``generated`` talosconfig."""
    gname, gctx = context_of(generated, "the generated talosconfig")
    out = copy.deepcopy(config)
    for key in CERT_KEYS:
        out["contexts"][name][key] = gctx[key]
    return out


def report(cert):
    """What may be shown of a certificate: who, which serial and when it expires (ISO 8601)."""
    return {"subject": cert["subject"], "serial": cert["serial"], "not_before": cert["not_before"].isoformat(),
            "expires": cert["not_after"].isoformat()}


def dump(config):
    """The talosconfig as YAML (the order of its keys kept)."""
    return yaml.safe_dump(config, default_flow_style=False, sort_keys=False)
