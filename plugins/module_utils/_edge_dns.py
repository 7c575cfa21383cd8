# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Which addresses the edge record set holds: the staged publishing of DESIGN.md section 4.

Pure functions over plain data (the nodes, the active pools, the probe
results and the sets published now), so every rule is unit-tested:

- ``publish``: exactly the healthy addresses of the nodes of the active pools;
- ``add``: what is published now, plus the healthy addresses of the active
  pools (migration step {A} -> {A u B}; nothing is removed);
- ``remove``: what is published now, minus the addresses of listed nodes of
  inactive pools and the addresses that failed their probe (step {A u B} -> {B}
  without adding anything);
- ``update``: what is published now, with each listed node of the active pools
  put in or taken out by its probe; addresses of nodes not listed stay (a run
  narrowed to some nodes with ``--limit`` changes only those).

An active address out of the set is ``probe_failed``, or ``recovering`` or
``flapping`` when its probe passed but the thresholds of ``_edge_health`` hold
it out; each entry's ``health`` says which (``healthy``, ``failing``,
``recovering``, ``flapping``; None for addresses of no active pool).

Never empty, never below ``min_values`` when it would shrink: the last
published addresses are kept (healthy ones first) and the report says so.

Never computed from input that cannot say what the set should be: a
published set of a type that no listed node of an active pool has an
address of (an empty node list, a typo in a pool name, an IPv4-only active
pool for the AAAA set) is kept as it is, with the reason
``kept_no_active_address``; ``no_active_nodes`` says why for the warning.
It used to shrink to one arbitrary old address. Keeping it, rather than
failing, lets a decommission of the last pool report that the pool still
serves DNS, and a failover run keep what is published.
"""

from __future__ import annotations

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import NO_HEALTHY_TARGETS, VALIDATION

FAMILIES = {"A": "public_ipv4", "AAAA": "public_ipv6"}
STAGES = ("publish", "add", "remove", "update")


def addresses(nodes, rtype):
    """``{ip: node}`` of the nodes that have an address of this type."""
    key = FAMILIES[rtype]
    return dict((node[key], node) for node in nodes if node.get(key))


def no_active_nodes(nodes, active_pools):
    """Why ``nodes`` cannot say what to publish (no node of ``active_pools``), or None when they can."""
    if any(node.get("pool") in active_pools for node in nodes):
        return None
    pools = sorted(set(str(node.get("pool")) for node in nodes))
    return "nodes %s no node of the active pools %s" % (
        "is empty: it has" if not nodes else "(of pools %s) has" % ", ".join(pools), ", ".join(active_pools) or "(none)")


def _entry(ip, rtype, node, published, reason, error=None, health=None):
    return {"ip": ip, "type": rtype, "node": (node or {}).get("name"), "pool": (node or {}).get("pool"),
            "published": published, "reason": reason, "error": error, "health": health}


def decide(rtype, nodes, active_pools, probes, current, stage, min_values):
    """``(values, report)`` for one record type; ``current`` is the list published now (or None)."""
    if stage not in STAGES:
        raise AutoextenderError("stage must be one of %s" % ", ".join(STAGES), kind=VALIDATION)
    listed = addresses(nodes, rtype)
    current = list(current or [])
    report = {}
    for ip, node in listed.items():
        probe = probes.get(ip) or {"healthy": False, "error": "not probed"}
        active = node.get("pool") in active_pools
        if active and probe["healthy"]:
            report[ip] = _entry(ip, rtype, node, True, "healthy", health="healthy")
        elif active:
            # A healthy address the thresholds hold out says why (recovering, flapping: _edge_health).
            held = probe.get("held")
            report[ip] = _entry(ip, rtype, node, False, held or "probe_failed", probe.get("error"),
                                health=held or "failing")
        elif stage == "add" and ip in current:
            report[ip] = _entry(ip, rtype, node, True, "published_before_add")
        elif stage == "update" and ip in current:
            report[ip] = _entry(ip, rtype, node, True, "inactive_kept")
        else:
            report[ip] = _entry(ip, rtype, node, False, "inactive_pool")
        if stage == "remove" and report[ip]["published"] and ip not in current:
            report[ip].update(published=False, reason="not_added_in_remove_stage")
    for ip in current:
        if ip not in listed:
            keep = stage != "publish"
            report[ip] = _entry(ip, rtype, None, keep, "unlisted_kept" if keep else "unlisted",
                                None if keep else "not an address of any listed node")
    if stage != "add" and current and not any(node.get("pool") in active_pools for node in listed.values()):
        # Nothing of the active pools to publish for this type: keep the set as it is, say why.
        for ip in current:
            report[ip].update(published=True, reason="kept_no_active_address",
                              error="no node of the active pools has an %s address" % rtype)
    _keep_minimum(report, current, probes, max(1, min_values))
    values = sorted(ip for ip, e in report.items() if e["published"])
    if not values:
        raise AutoextenderError(
            "No healthy %s target for the edge set, and nothing is published yet: refusing to publish an empty "
            "set" % rtype, kind=NO_HEALTHY_TARGETS, details={"targets": sorted(report.values(), key=_order)})
    return values, sorted(report.values(), key=_order)


def _keep_minimum(report, current, probes, minimum):
    """Put back published addresses (healthy first) when the new set would shrink below ``minimum``."""
    chosen = [ip for ip, e in report.items() if e["published"]]
    if len(chosen) >= minimum or len(chosen) >= len(current):
        return
    spare = [ip for ip in current if ip not in chosen]
    spare.sort(key=lambda ip: (not (probes.get(ip) or {}).get("healthy"), ip))
    for ip in spare[:minimum - len(chosen)]:
        entry = report[ip]
        entry["error"] = entry["error"] or entry["reason"]
        entry.update(published=True, reason="kept_min_values")


def _order(entry):
    return (not entry["published"], entry["pool"] or "", entry["ip"])
