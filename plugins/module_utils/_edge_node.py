# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The edge node: one shape for a cloud server of ours, wherever the collection speaks of one.

``edge_pool_info`` returns its servers as ``nodes`` in this shape, the ``edge_nodes`` inventory makes each
host's variables of it, and ``edge_dns`` / ``edge_dns_info`` take it as their ``nodes`` as it is. Written
once so that a field added here reaches every workflow.
"""

from __future__ import annotations

from ansible_collections.talos.autoextender.plugins.module_utils._providers.base import CLUSTER_LABEL, POOL_LABEL

#: Every field of an edge node (the ``nodes`` options of the edge_dns modules accept them all).
FIELDS = ("name", "pool", "cluster", "provider", "location", "server_type", "status", "server_id",
          "public_ipv4", "public_ipv6", "address", "labels", "talos_version")


def edge_node(server, versions=None):
    """The edge node of ``server`` (a provider's server dict); ``versions`` maps image IDs to Talos versions."""
    labels = dict(server.get("labels") or {})
    ipv4, ipv6 = server.get("public_ipv4"), server.get("public_ipv6")
    return {
        "name": server["name"],
        "pool": labels.get(POOL_LABEL) or "",
        "cluster": labels.get(CLUSTER_LABEL),
        "provider": server.get("provider"),
        "location": server.get("location"),
        "server_type": server.get("server_type"),
        "status": server.get("status"),
        "server_id": server.get("id"),
        "public_ipv4": ipv4,
        "public_ipv6": ipv6,
        # What talosctl and the probes address: IPv4 when there is one.
        "address": ipv4 or ipv6,
        "labels": labels,
        "talos_version": (versions or {}).get(server.get("image")) or labels.get("talos-version"),
    }
