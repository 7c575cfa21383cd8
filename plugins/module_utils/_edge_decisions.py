# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""What the failover and migrate workflows decide from probe results, servers and Nodes, in Python.

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


def server_node_names(server, k8s_nodes):
    """The names of the Nodes (``k8s_info`` resources) that are ``server``: one of its addresses, or its name (a
    Node's name comes from the machine config, not from the server)."""
    ips = set(_addresses(server))
    out = []
    for node in k8s_nodes:
        meta = node.get("metadata") or {}
        addresses = {a.get("address") for a in (node.get("status") or {}).get("addresses") or ()}
        if addresses & ips or meta.get("name") == server.get("name"):
            out.append(meta.get("name"))
    return out
