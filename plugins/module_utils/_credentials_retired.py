# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Credentials a rotation retired, recorded on the Secret that held them.

After ``rotate_credentials.yml`` the user still has to replace the old entry of ``autoextender_credentials``
in the vault. A role that writes a Secret (``external_dns``, ``cert_manager``) run before that would put the
old credential back, and once the old one is revoked the cluster breaks silently. The rotation therefore
records what it retired on the Secret itself, and those roles refuse to write a retired value back.

The record is the annotation ``autoextender.io/credentials-retired`` of the Secret: space-separated items
``<data key>:<fingerprint>:<UTC date>``, the newest last, at most ``KEEP`` per data key. A fingerprint is 16 hex
digits of a SHA-256 of the value after a fixed prefix: not the value, and it sits on the Secret, so whoever
can read it can read the value in use anyway.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import hmac

ANNOTATION = "autoextender.io/credentials-retired"
KEEP = 3
_PREFIX = b"talos-autoextender retired credential\x00"


def fingerprint(value):
    return hashlib.sha256(_PREFIX + value.encode("utf-8")).hexdigest()[:16]


def _items(obj):
    """``[(data key, fingerprint, date)]`` of the annotation of ``obj``, in order; malformed items are skipped."""
    annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(ANNOTATION)
    out = []
    for item in raw.split() if isinstance(raw, str) else []:
        parts = item.rsplit(":", 2)
        if len(parts) == 3 and all(parts):
            out.append(tuple(parts))
    return out


def today():
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


def record(obj, key, value, current, date=None):
    """A copy of the Secret ``obj`` whose annotation lists ``value`` as retired from its data key ``key`` and no
    longer lists ``current``, the value written there now (a rotation back to an earlier value)."""
    date = date or today()
    mark, back = fingerprint(value), fingerprint(current)
    items = [item for item in _items(obj) if not (item[0] == key and item[1] in (mark, back))] + [(key, mark, date)]
    mine = [item for item in items if item[0] == key]
    items = [item for item in items if item[0] != key or item in mine[-KEEP:]]
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    meta["annotations"] = dict(meta.get("annotations") or {}, **{ANNOTATION: " ".join(":".join(i) for i in items)})
    return out


def retired(obj, values):
    """The data keys of ``values`` (``{data key: value to write}``) whose value the Secret ``obj`` lists as
    retired: ``[{key, retired}]`` sorted by key, the date of the newest record. Never a value."""
    found = {}
    for key, mark, date in _items(obj):
        value = values.get(key)
        if isinstance(value, str) and value and hmac.compare_digest(fingerprint(value), mark):
            found[key] = date
    return [dict(key=key, retired=found[key]) for key in sorted(found)]
