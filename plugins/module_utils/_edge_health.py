# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Failure thresholds and hysteresis of the edge set (docs/failover.md, "Thresholds"). Pure: no I/O, no clock.

A published address leaves after ``fail_after`` consecutive failed probes. The
module probes a failing one again, ``retry_delay`` apart, within the same run,
so a dead node still leaves in one run and one lost packet removes nothing.

An address that is out comes back after ``recover_after`` consecutive
successful probes. One the edge set has never held (a new node) is probed again
within the run; one that was taken out gets one probe per run, counted in the
history, so it comes back only after ``recover_after`` healthy runs.

An address whose membership changed ``flap_changes`` times within
``flap_window`` seconds is flapping: it is reported and not put back until the
window has passed without that many changes. A failing one still leaves.

The history lives in the home cluster (the edge_dns ``health.state`` option) so
that the CronJob, AWX and a laptop share it. Per address::

    {"ok": consecutive successful runs while out (at most recover_after),
     "changes": [epoch seconds of each time it went in or out, within the window]}

An address with no entry is new. Entries of addresses no node has any more are dropped.
"""

from __future__ import annotations

DEFAULTS = {"fail_after": 2, "recover_after": 2, "retry_delay": 1.0, "flap_changes": 4, "flap_window": 3600}
#: the reasons an address of an active pool is out although its last probe passed
RECOVERING, FLAPPING = "recovering", "flapping"


def settings(given):
    """``given`` (the module option, None values left out) over the defaults."""
    out = dict(DEFAULTS)
    out.update((k, v) for k, v in (given or {}).items() if k in DEFAULTS and v is not None)
    return out


def _recent(changes, now, window):
    return [t for t in changes or () if now - t < window]


def needs_probe(ip, streak, published, history, conf):
    """Whether the run probes ``ip`` again: ``streak`` is its in-run run of results (+n successes, -n failures)."""
    if published:
        return -conf["fail_after"] < streak < 0
    new = ip not in history
    return new and 0 < streak < conf["recover_after"]


def streak_of(results):
    """The run of equal results at the end of ``results`` (booleans, oldest first): +n successes, -n failures."""
    if not results:
        return 0
    last, count = results[-1], 0
    for result in reversed(results):
        if result != last:
            break
        count += 1
    return count if last else -count


def verdict(ip, results, published, history, conf, now):
    """``(in_set, reason, error)`` of one address of an active pool after this run's probes.

    ``in_set`` None: its probes say nothing the thresholds would override (the plain probe decides);
    False with ``reason`` ``recovering`` or ``flapping``: healthy now, held out.
    """
    streak = streak_of(results)
    entry = history.get(ip) or {}
    if streak < 0:
        if published and -streak < conf["fail_after"]:
            return True, None, None  # cannot happen after needs_probe, kept for a caller that probed less
        return None, None, None
    if published:
        return None, None, None
    flaps = len(_recent(entry.get("changes"), now, conf["flap_window"]))
    if ip in history and flaps >= conf["flap_changes"]:
        return False, FLAPPING, ("went in or out %d times in the last %ds (flap_changes %d): held out until the "
                                 "window passes" % (flaps, conf["flap_window"], conf["flap_changes"]))
    ok = (entry.get("ok", 0) + 1) if ip in history else streak
    if ok < conf["recover_after"]:
        return False, RECOVERING, "%d of %d consecutive successful probes (recover_after)" % (ok, conf["recover_after"])
    return None, None, None


def advance(history, results, published_before, published_after, conf, now):
    """The history after this run: ``results`` {ip: [bool, ...]} of the active pools' listed addresses."""
    out = {}
    for ip, probes in sorted(results.items()):
        entry = history.get(ip)
        healthy = bool(probes) and probes[-1]
        changes = _recent((entry or {}).get("changes"), now, conf["flap_window"])
        was, now_in = ip in published_before, ip in published_after
        if entry is not None and was != now_in:
            changes.append(int(now))
        ok = 0
        if healthy and not now_in:
            ok = min(((entry or {}).get("ok", 0) + 1) if entry is not None else streak_of(probes), conf["recover_after"])
        out[ip] = {"ok": ok, "changes": changes}
    return out


def flapping(history, conf, now):
    """Addresses flapping now, for the warnings."""
    return sorted(ip for ip, entry in history.items()
                  if len(_recent(entry.get("changes"), now, conf["flap_window"])) >= conf["flap_changes"])
