# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""When a standby pool expires (the pool key ``expires``), and which pools have.

``expires`` is ISO 8601, one of two forms:

- a date, ``2026-12-31``: the START of that day in UTC, 00:00Z. Of the
  readings of "expires on the 31st" it is the early one (no server runs into
  a day it was not meant for), and it does not depend on the control node's
  zone;
- a date-time with a zone, ``2026-12-31T18:00:00Z`` or ``...+01:00`` (minutes,
  seconds and a fraction of a second optional; ``T`` or a space between). A
  date-time without a zone is refused: the control node's zone is not the
  inventory's.

YAML turns an unquoted date into a ``date`` and a date-time into a ``datetime``;
both are taken as the string they came from would be.

A pool has expired once its expiry is reached (``expiry <= now``). ``now`` is
injectable everywhere (tests, and a playbook that decides once for a whole
run); it defaults to the current time in UTC. Pure functions, no I/O.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION

UTC = datetime.timezone.utc
DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
DATE_TIME = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?"
                       r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))?\Z")
RULE = ("must be a date YYYY-MM-DD (00:00 UTC of that day) or a date-time with a zone, such as "
        "2026-12-31T18:00:00Z or 2026-12-31T18:00:00+01:00")
NO_ZONE = ("is a date-time without a zone: add Z (UTC) or an offset such as +01:00, or give a date alone "
           "(00:00 UTC of that day)")


def text(moment):
    """``moment`` (an aware datetime) in UTC as ``YYYY-MM-DDTHH:MM:SSZ`` (a fraction of a second is cut)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shown(value):
    """``value`` as the user wrote it: a YAML date or date-time in ISO form, anything else unchanged."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def _moment(value):
    """``(aware UTC datetime, None)`` or ``(None, rule)``."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return None, NO_ZONE
        return value.astimezone(UTC), None
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=UTC), None
    if not isinstance(value, str):
        return None, RULE
    match = DATE.match(value)
    try:
        if match:
            year, month, day = (int(part) for part in match.groups())
            return datetime.datetime(year, month, day, tzinfo=UTC), None
        match = DATE_TIME.match(value)
        if not match:
            return None, RULE
        year, month, day, hour, minute, second, fraction, zulu, sign, zone_h, zone_m = match.groups()
        if not zulu and not sign:
            return None, NO_ZONE
        zone = UTC
        if sign:
            if int(zone_h) > 23 or int(zone_m) > 59:
                return None, RULE
            offset = datetime.timedelta(hours=int(zone_h), minutes=int(zone_m))
            zone = datetime.timezone(-offset if sign == "-" else offset)
        micro = int((fraction or "0").ljust(6, "0")[:6])
        moment = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro,
                                   tzinfo=zone)
    except ValueError:  # a month 13, a February 30, an hour 24: the numbers fit the form but name no moment
        return None, RULE
    return moment.astimezone(UTC), None


def problem(value):
    """Why ``value`` is no valid ``expires``; None when it is one."""
    return _moment(value)[1]


def parse(value, what="expires"):
    """The moment ``value`` names, an aware datetime in UTC; AutoextenderError (validation) when it names none."""
    moment, rule = _moment(value)
    if rule:
        raise AutoextenderError("%s = %r: %s" % (what, shown(value), rule), kind=VALIDATION,
                                details={"option": what, "value": shown(value), "rule": rule})
    return moment


def current(now=None):
    """``now`` as an aware UTC datetime: the current time when None, else parsed as ``expires`` is."""
    if now is None:
        return datetime.datetime.now(UTC)
    return parse(now, what="now")


def expired(pools, now=None):
    """The pools of ``pools`` whose ``expires`` is reached at ``now``, in the order given.

    Each is ``{"name", "expires" (as written), "expired_at" (UTC, YYYY-MM-DDTHH:MM:SSZ), "pool" (the entry of
    ``pools``, unchanged)}``. Pools without ``expires`` (or with ``expires: null``) never expire. A pool whose
    ``expires`` is not valid raises AutoextenderError naming the pool; preflight refuses it before this runs.
    """
    moment = current(now)
    out = []
    for index, pool in enumerate(pools or ()):
        if not isinstance(pool, dict):
            raise AutoextenderError("autoextender_pools[%d] = %r: must be a pool (a dict)" % (index, pool),
                                    kind=VALIDATION)
        value = pool.get("expires")
        if value is None:
            continue
        expiry = parse(value, what="autoextender_pools[%d] (pool %s).expires" % (index, pool.get("name")))
        if expiry <= moment:
            out.append({"name": pool.get("name"), "expires": shown(value), "expired_at": text(expiry), "pool": pool})
    return out
