# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Waiting until the servers of a pool run, with one event per state change.

A wait written as an Ansible ``until`` loop prints a ``FAILED - RETRYING`` line
per poll (dozens on a real cloud, where a boot takes 30 to 90 seconds); this
wait runs inside the module and returns what changed, once per change.
"""

from __future__ import annotations

import time

from ansible_collections.talos.autoextender.plugins.module_utils._wait import WaitTimeout, wait_for

#: statuses a new server does not leave by itself: waiting longer cannot help
BROKEN = ("error", "off", "unknown")


def progress(servers, names):
    """``{running, pending, broken, done}`` of the servers named ``names`` among ``servers``.

    ``pending`` lists every name not running (missing ones included); ``broken``
    the ``{name, status}`` of those in a status of ``BROKEN``. The wait is done
    when nothing is pending, or as soon as one server is broken.
    """
    status = dict((s["name"], s.get("status")) for s in servers)
    running = [n for n in names if status.get(n) == "running"]
    broken = [{"name": n, "status": status[n]} for n in names if status.get(n) in BROKEN]
    pending = [n for n in names if n not in running]
    return {"running": running, "pending": pending, "broken": broken, "done": not pending or bool(broken)}


def changes(before, after):
    """``"<name>: <status>"`` for every server whose status changed between two ``{name: status}`` maps."""
    out = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            out.append("%s: %s" % (name, after.get(name) or "not found"))
    return out


def wait_running(read, names, deadline, clock=time.monotonic, sleep=time.sleep):
    """Poll ``read()`` (the pool's server dicts) until ``progress(...)["done"]`` or the deadline.

    Returns ``(servers, progress, events)``; ``events`` holds ``"<seconds>s: <change>"``.
    A timeout is not an error here: the caller reports ``pending`` (``timed_out`` is set).
    """
    start = clock()
    seen = {"status": {}, "events": [], "servers": [], "progress": None}

    def probe():
        servers = read()
        status = dict((s["name"], s.get("status")) for s in servers if s["name"] in names)
        seen["events"] += ["%ds: %s" % (int(clock() - start), c) for c in changes(seen["status"], status)]
        seen.update(status=status, servers=servers, progress=progress(servers, names))
        return seen["progress"]["done"], seen

    try:
        wait_for(probe, deadline, "running servers", initial=1.0, maximum=5.0, sleep=sleep)
        timed_out = False
    except WaitTimeout:
        timed_out = True
    return seen["servers"], dict(seen["progress"] or progress([], names), timed_out=timed_out), seen["events"]
