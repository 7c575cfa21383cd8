# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The Nodes of an edge pool: which are Ready, which are missing, how they differ from their Talos config.

Pure functions over the Node dicts the API server returns (camelCase keys), so every
rule is unit-tested without an API server, and one wait loop that records one event
per state change (a Node appears, turns Ready, stops being Ready) instead of one line
per poll.
"""

from __future__ import annotations

import time

from ansible_collections.talos.autoextender.plugins.module_utils._wait import WaitTimeout, wait_for


def node_state(node):
    """``{name, ready, reason, message}`` of one Node dict."""
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None) or {}
    return {"name": node["metadata"]["name"], "ready": ready.get("status") == "True",
            "reason": ready.get("reason"), "message": ready.get("message")}


def summarize(nodes, names, count):
    """What the wait looks at: ``{wanted, ready, not_ready, missing, done}``.

    With ``names`` only those Nodes count (each must be Ready); else ``count`` Ready Nodes of the pool.
    """
    states = dict((s["name"], s) for s in (node_state(n) for n in nodes))
    found = [n for n in sorted(states) if not names or n in names]
    ready = [n for n in found if states[n]["ready"]]
    wanted = len(names) if names else count
    return {"wanted": wanted, "ready": ready, "not_ready": [n for n in found if n not in ready],
            "missing": [n for n in names if n not in states], "done": len(ready) >= wanted}


def problems(nodes, names, labels, taints):
    """One sentence per label or taint a Node lacks, and per named Node that does not exist."""
    out = []
    present = set()
    for node in sorted(nodes, key=lambda n: n["metadata"]["name"]):
        name = node["metadata"]["name"]
        if names and name not in names:
            continue
        present.add(name)
        have = node["metadata"].get("labels") or {}
        for key, value in sorted(labels.items()):
            if have.get(key) != value:
                out.append("%s: label %s=%s expected, found %s" % (name, key, value, have.get(key, "nothing")))
        have_taints = (node.get("spec") or {}).get("taints") or []
        for taint in taints:
            if not any(t.get("key") == taint["key"] and t.get("effect") == taint["effect"]
                       and t.get("value") == taint.get("value") for t in have_taints):
                out.append("%s: taint %s=%s:%s missing" % (name, taint["key"], taint.get("value"), taint["effect"]))
    return out + ["%s: no Node of that name in the pool" % n for n in names if n not in present]


def changes(before, after):
    """Sentences for what changed between two ``{name: node_state}`` maps."""
    out = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if new is None:
            out.append("%s: gone" % name)
        elif old is None or old["ready"] != new["ready"]:
            verb = "registered, " if old is None else ""
            out.append("%s: %s%s" % (name, verb, "Ready" if new["ready"] else "not Ready (%s)" % (
                new["reason"] or "no Ready condition yet")))
    return out


def wait_ready(read, names, count, deadline, clock=time.monotonic, sleep=time.sleep):
    """Poll ``read()`` (the pool's Node dicts) until the summary is done.

    Returns ``(nodes, summary, events)``; ``events`` holds ``"<seconds>s: <change>"`` once per
    state change. On timeout raises ``WaitTimeout`` whose ``partial`` has the same three keys.
    """
    start = clock()
    seen = {"states": {}, "events": [], "nodes": [], "summary": None}

    def probe():
        nodes = read()
        states = dict((s["name"], s) for s in (node_state(n) for n in nodes)
                      if not names or s["name"] in names)
        seen["events"] += ["%ds: %s" % (int(clock() - start), c) for c in changes(seen["states"], states)]
        seen.update(states=states, nodes=nodes, summary=summarize(nodes, names, count))
        return seen["summary"]["done"], seen

    try:
        wait_for(probe, deadline, "Ready nodes", initial=1.0, maximum=5.0, sleep=sleep)
    except WaitTimeout as e:
        raise WaitTimeout(e.msg, partial={"nodes": seen["nodes"], "summary": seen["summary"], "events": seen["events"]},
                          details=e.details)
    return seen["nodes"], seen["summary"], seen["events"]
