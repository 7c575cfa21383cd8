# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""What the failover, migrate and decommission workflows decide from probe results, servers and Nodes, in Python.

The roles look things up (``edge_dns_info``, ``edge_pool_info``, ``k8s_info``)
and act; these functions, behind filters of the same names, say what the
findings mean, so the decisions are unit-tested without a lab.
"""

from __future__ import annotations

POOL_LABEL = "autoextender-pool"


def _addresses(node):
    return [ip for ip in (node.get("public_ipv4"), node.get("public_ipv6")) if ip]


def edge_health(nodes, targets, ok_reasons=("healthy",)):
    """``[{name, error}]`` of each edge node (``_edge_node`` shape): ``error`` is empty when every one of its
    addresses was probed and passed (its target's ``reason`` is one of ``ok_reasons``), else says why not."""
    out = []
    for node in nodes:
        ips = _addresses(node)
        seen = [t for t in targets if t.get("ip") in ips]
        bad = [t for t in seen if t.get("reason") not in ok_reasons]
        if not ips:
            error = "no public address"
        elif bad:
            error = ", ".join("%s: %s" % (t["ip"], t.get("error") or "failed") for t in bad)
        elif len(seen) < len(ips):
            error = "not probed"
        else:
            error = ""
        out.append({"name": node.get("name"), "error": error})
    return out


def pools_short(pools, servers, active):
    """The pools among ``active`` with fewer servers than their ``count`` (default 1): a server is missing."""
    have = {}
    for server in servers:
        pool = (server.get("labels") or {}).get(POOL_LABEL)
        have[pool] = have.get(pool, 0) + 1
    return [pool for pool in pools if pool["name"] in active and have.get(pool["name"], 0) < int(pool.get("count", 1))]


def _node_identities(node):
    """``(name, {name and addresses})`` of a Node (a ``k8s_info`` resource)."""
    name = (node.get("metadata") or {}).get("name")
    return name, {a.get("address") for a in (node.get("status") or {}).get("addresses") or ()} | {name}


def server_node_names(server, k8s_nodes):
    """The names of the Nodes (``k8s_info`` resources) that are ``server``: one of its addresses, or its name (a
    Node's name comes from the machine config, not from the server)."""
    ips = set(_addresses(server))
    out = []
    for node in k8s_nodes:
        name, identities = _node_identities(node)
        if identities & ips or name == server.get("name"):
            out.append(name)
    return out


def nodes_not_in(k8s_nodes, known):
    """The names of the Nodes none of whose addresses, nor its name, is in ``known`` (addresses and names): the
    members of a cluster a run did not reach."""
    known = set(known)
    return [name for name, identities in map(_node_identities, k8s_nodes) if not identities & known]


def _host_pool(hostvars):
    """The pool of an edge host: its label (the hostvar ``pool`` only for a host without ``labels``)."""
    labels = hostvars.get("labels")
    return str((labels or {}).get(POOL_LABEL) or "") if labels is not None else str(hostvars.get("pool") or "")


def limit_pool(limited, hosts, pool=""):
    """The one whole pool the edge nodes of a ``--limit`` name, for a workflow that removes whole pools.

    ``limited`` are the edge nodes of the limit and ``hosts`` every edge node of the inventory (the ``edge_nodes``
    hostvars: ``server_name``, ``labels``, ``provider``; other hosts are skipped). The pool is read from the
    ``autoextender-pool`` label: the hostvar ``pool`` loses to an extra var ``-e pool=`` of the same name. ``pool`` is a pool also named with
    ``-e pool=`` (empty: none). Returns ``{pool, provider, servers, problem}``: ``problem`` is empty when the limit
    is every node of exactly one pool (and that pool is ``pool`` when one is named), else says why not, and
    ``pool`` and ``provider`` are then empty.
    """
    nodes = [h for h in limited if h.get("server_name")]
    pool_of = _host_pool
    out = {"pool": "", "provider": "", "servers": sorted(str(h["server_name"]) for h in nodes), "problem": ""}
    unpooled = sorted(str(h["server_name"]) for h in nodes if not pool_of(h))
    pools = sorted(set(pool_of(h) for h in nodes if pool_of(h)))
    if not nodes:
        out["problem"] = "The limit names no edge node of the edge_nodes inventory."
    elif unpooled:
        out["problem"] = "%s belong(s) to no pool (no autoextender-pool label)." % ", ".join(unpooled)
    elif len(pools) > 1:
        out["problem"] = ("The limit spans the pools %s: a decommission removes one whole pool. Limit it to one "
                          "pool's group (pool_<name>) or all of one pool's nodes." % ", ".join(pools))
    elif pool and pool != pools[0]:
        out["problem"] = "The limit names pool %s, but -e pool=%s: name one pool." % (pools[0], pool)
    else:
        members = sorted(str(h["server_name"]) for h in hosts if h.get("server_name") and pool_of(h) == pools[0])
        left_out = [name for name in members if name not in out["servers"]]
        if left_out:
            out["problem"] = (
                "The limit names %s of pool %s but not %s: a decommission removes whole pools, never some nodes "
                "of one (the next provision would create them again). Limit it to the pool (pool_<name>) to "
                "remove the pool; to replace a failed node, run playbooks/failover.yml --limit <node> "
                "-e failover_replace=true; for a smaller pool, migrate to a new one and remove the old one." % (
                    ", ".join(out["servers"]), pools[0], ", ".join(left_out)))
    if not out["problem"]:
        out["pool"] = pools[0]
        out["provider"] = str(next(h.get("provider") or "" for h in nodes))
    return out
