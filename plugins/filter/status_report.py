# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: status_report
short_description: Join the facts about an edge deployment into one status report with its inconsistencies
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Joins the desired pools, the servers the clouds report, the Kubernetes Nodes, the KubeSpan peer statuses,
    the edge DNS record sets and the health probes into one report, server by server.
  - For each server it finds its Node (by name, then by address), its KubeSpan peer (by label, then by endpoint
    address), whether its addresses are published in DNS, and whether they answered their probe.
  - Lists as warnings what does not add up, each with a stable C(code) (see RV(_value.warnings)).
  - An input left at V(null) counts as not gathered; the report then says nothing about it and warns about
    nothing that needs it. An empty list counts as gathered and empty.
  - Only the fields listed here are copied into the report, so tokens or other data the inputs carry never
    reach it.
  - A pure function; used by the C(talos.autoextender.status_report) role.
options:
  _input:
    description:
      - The cluster, a dict with C(name) (required) and C(endpoint); C(autoextender_cluster) fits as it is.
    type: dict
    required: true
  pools:
    description:
      - The desired pools (C(autoextender_pools) fits as it is); keys used are C(name), C(provider), C(location),
        C(server_type), C(count) and C(active) (default V(true)).
      - A pool may carry its servers in C(servers).
    type: list
    elements: dict
  servers:
    description:
      - Servers as M(talos.autoextender.edge_pool_info) returns them (RV(talos.autoextender.edge_pool_info#module:servers)),
        of any number of pools and providers; the label C(autoextender-pool) names the pool.
    type: list
    elements: dict
  nodes:
    description:
      - Kubernetes Node objects, as C(kubernetes.core.k8s_info) returns them in C(resources).
    type: list
    elements: dict
  kubespan:
    description:
      - KubeSpan peer statuses, as M(talos.autoextender.talos_info) returns them in C(kubespan_peers),
        with C(label), C(endpoint), C(state), C(last_handshake), C(rx_bytes) and C(tx_bytes) (or C(bytes_received) and
        C(bytes_sent)), and C(node), the node that reported the peer.
    type: list
    elements: dict
  dns:
    description:
      - The edge record sets, as M(talos.autoextender.dns_record_set_info) returns them in C(record_sets)
        (C(name), C(type), C(ttl), C(rdata), C(owner)); one dict is taken as a list of one.
      - Only C(A) and C(AAAA) values are matched with servers.
    type: raw
  probes:
    description:
      - Health probes of the edge addresses, a list of C(ip), C(healthy), C(error) and C(latency_ms) (or C(checks)
        with their C(seconds)), or a dict of such results by address.
      - The C(targets) of M(talos.autoextender.edge_dns) fit too; an entry without C(healthy) counts by its C(reason)
        (V(healthy) or V(probe_failed)) and is skipped for other reasons.
    type: raw
  limit:
    description:
      - Server names (the edge nodes of a C(--limit)); the report is narrowed to them. Everything is joined first,
        so a DNS value or a Node is still matched with the right server; then only these servers, their pools
        (with only these servers), their Nodes, KubeSpan peers, DNS values and probes, and the warnings about them
        are kept.
      - A pool's own warnings (C(pool_size)) are kept when every server of the pool is in the limit. Warnings
        about the record set as a whole (C(dns_empty), C(dns_foreign_owner)) and Nodes that are no server's (home
        nodes, C(node_orphan)) are left to a report that is not narrowed.
      - A name that is no server's gives the warning C(limit_unknown).
      - Empty or V(null) (the default) reports everything.
      - The costs (O(prices)) are of the limit's servers only, and so is their total.
    type: list
    elements: str
    version_added: 0.3.0
  prices:
    description:
      - >-
        The price list of each provider, a dict C({provider: catalog}) with the
        RV(talos.autoextender.cloud_price_info#module:prices) of a M(talos.autoextender.cloud_price_info) task as the
        catalog. From the C(results) of such a task looped over the providers,
        V(results | items2dict\(key_name='item', value_name='prices'\)) makes it.
      - Each pool then gets its C(cost), what the servers it has now cost per month at their provider's own prices,
        each server at its C(server_type) in its C(location), with its public IPv4 address when it has one and its
        public IPv6 address when it has one (where the provider charges for them apart). Every server counts,
        whatever its C(status) (providers bill stopped servers too); servers still to be created do not count.
      - A server whose provider, type or location has no price gives the warning C(price_unknown) and is left out
        of the sums.
      - V(null) (the default) computes no cost.
    type: dict
    version_added: 0.2.0
  budget:
    description:
      - C(autoextender_budget) (C(monthly), C(currency), C(prices), C(exchange_rates)); used with O(prices) only.
      - C(prices) (V(gross), the default, or V(net)) chooses the amounts of every cost in the report, with the
        budget or without (then V(gross)).
      - The total is compared with C(monthly), in C(currency), with C(exchange_rates) for servers priced in
        another currency. Over the cap gives the warning C(over_budget); a currency without a rate gives
        C(budget_no_rate) and no comparison.
      - Under O(limit) the total is that of the limit's servers, so C(over_budget) is warned only when they alone
        cost more than the cap; run without a limit for the whole edge.
    type: dict
    version_added: 0.2.0
"""

EXAMPLES = r"""
- name: Join what was gathered
  ansible.builtin.set_fact:
    report: >-
      {{ autoextender_cluster | talos.autoextender.status_report(
           pools=autoextender_pools, servers=pool_info.servers, nodes=node_info.resources,
           kubespan=talos.talos_info.kubespan_peers, dns=edge.record_sets, probes=probes) }}

- name: Say what does not add up
  ansible.builtin.debug:
    msg: "{{ report.warnings | map(attribute='message') | list }}"

- name: What each pool costs per month (prices read by cloud_price_info, looped over the providers)
  ansible.builtin.debug:
    msg: "{{ report.pools | map(attribute='cost.text') | list }}; total {{ report.summary.cost.text }}"
  vars:
    report: >-
      {{ autoextender_cluster | talos.autoextender.status_report(
           pools=autoextender_pools, servers=pool_info.servers, budget=autoextender_budget,
           prices=price_info.results | items2dict(key_name='item', value_name='prices')) }}
"""

RETURN = r"""
_value:
  description: The report.
  type: dict
  contains:
    cluster:
      description: C(name) and C(endpoint) of the cluster.
      type: dict
    limit:
      description: The server names the report is narrowed to (sorted), or V(null) when it is not narrowed.
      type: list
      elements: str
      version_added: 0.3.0
    gathered:
      description: For each input (C(pools), C(servers), C(nodes), C(kubespan), C(dns), C(probes)), whether it was given.
      type: dict
    pools:
      description:
        - One entry per pool, desired pools first in their order, then pools only servers name.
        - C(name), C(provider), C(location), C(server_type), C(active), C(count) (desired, or V(null)),
          C(desired) (whether the pool is in the desired state) and C(servers) (their names).
        - >-
          C(cost) (V(null) without O(prices)): what the pool's servers cost per month, with C(monthly) and
          C(currency) (V(null) if its servers are priced in several currencies), C(by_currency) (C({currency: amount})),
          C(basis) (V(gross) or V(net)), C(servers) (how many are priced), C(unpriced) (names of the servers without a
          price), C(detail) (as V(2 x \(cx23 4.15 EUR + IPv4 0.60 EUR\))), C(text) (as V(9.50 EUR/month \(gross\)))
          and C(each), per server: C(server), C(provider), C(server_type), C(location), C(monthly), C(currency),
          C(parts) and C(problem) (why it has no price, or V(null)).
      type: list
      elements: dict
    servers:
      description:
        - One row per server, sorted by pool and name, with C(name), C(pool), C(provider), C(location),
          C(server_type), C(status), C(public_ipv4), C(public_ipv6), C(node) (the Node's name or V(null)),
          C(ready) (V(true), V(false), or V(null) when unknown), C(ready_reason), C(taints),
          C(kubespan) (V(up), V(down), V(unknown), V(missing), or V(null) when not gathered), C(kubespan_endpoint),
          C(published) (its addresses in DNS), C(health) (V(healthy), V(unhealthy), or V(null) when not probed),
          C(probe_error), C(latency_ms), and C(state) (V(ok), V(warning) or V(down)).
      type: list
      elements: dict
    nodes:
      description:
        - Nodes that are no server's (the home nodes, and edge nodes whose server is gone), with C(name), C(ready),
          C(roles), C(pool) (the C(autoextender.io/pool) label or V(null)), C(addresses), C(version) and C(kubespan).
      type: list
      elements: dict
    kubespan:
      description:
        - KubeSpan peers, one per peer however many nodes reported it, with C(label), C(endpoint), C(state)
          (V(down) when any node sees it down), C(observers), C(last_handshake), C(bytes_received), C(bytes_sent).
      type: list
      elements: dict
    dns:
      description:
        - The record sets with C(name), C(type), C(ttl), C(owner) and C(rdata); each value has C(value),
          C(server), C(pool) and C(health).
      type: list
      elements: dict
    warnings:
      description:
        - What does not add up, each with C(code), C(subject) and C(message).
        - "Codes: C(pool_size), C(pool_unknown), C(server_no_node), C(node_not_ready), C(kubespan_down),
          C(kubespan_missing), C(node_orphan), C(dns_empty), C(dns_foreign_owner), C(dns_unknown_value),
          C(dns_not_running), C(dns_unhealthy), C(dns_inactive_pool), C(dns_missing), C(held_out),
          C(limit_unknown), C(price_unknown), C(over_budget), C(budget_no_rate)."
        - C(price_unknown), C(over_budget) and C(budget_no_rate) do not change a server's C(state).
      type: list
      elements: dict
    summary:
      description:
        - Counts for the headline (pools, servers, running, nodes, ready, peers, peers up, DNS values, probes, healthy,
          warnings).
        - >-
          C(cost) (V(null) without O(prices)): the total of the pools' costs, with the keys of a pool's C(cost) but
          C(each) and C(detail), C(limited) (V(true) when it is the total of the servers of O(limit) only), and
          C(budget) (V(null) without O(budget)): C(monthly) (the cap), C(currency), C(basis), C(total) (in the
          budget's currency; V(null) when a currency has no rate), C(no_rate) (those currencies), C(over) (by how
          much the total is over the cap; V(0) when it is not) and C(text) (as
          V(within autoextender_budget 25.00 EUR)).
      type: dict
    ok:
      description: V(true) when there is no warning.
      type: bool
"""

import ipaddress

from ansible.errors import AnsibleFilterError

from ansible_collections.talos.autoextender.plugins.module_utils import _costs

POOL_LABEL = "autoextender-pool"
NODE_POOL_LABEL = "autoextender.io/pool"
ROLE_PREFIX = "node-role.kubernetes.io/"
ADDRESS_TYPES = ("A", "AAAA")
# The reasons of edge_dns targets that tell the probe result.
PROBE_REASONS = {"healthy": True, "probe_failed": False, "recovering": True, "flapping": True}
#: reasons of a healthy address that failover's thresholds hold out of DNS (edge_dns ``health``)
HELD_REASONS = ("recovering", "flapping")


def _ip(value):
    """An address in its canonical text form (IPv6 compressed, lower case); other strings unchanged."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return text.lower()


def _endpoint_ip(endpoint):
    """The address of ``host:port`` or ``[v6]:port``."""
    text = str(endpoint or "").strip()
    if text.startswith("["):
        return _ip(text[1:].split("]", 1)[0])
    if text.count(":") == 1:
        return _ip(text.split(":", 1)[0])
    return _ip(text) if text else None


def _dicts(value, what):
    """``None`` stays ``None`` (not gathered); otherwise a list of dicts, or a clear error."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(i, dict) for i in value):
        raise AnsibleFilterError("status_report: %s must be a list of dicts, got %s" % (what, type(value).__name__))
    return list(value)


def _warn(warnings, code, subject, message):
    warnings.append({"code": code, "subject": subject, "message": message})


# --- inputs -------------------------------------------------------------------------------------------------

def _pools(pools, servers):
    """``(pools by name in order, server dicts with their pool)`` from the desired pools and the servers."""
    by_name, rows = {}, []
    for pool in _dicts(pools, "pools") or []:
        name = pool.get("name")
        if not name:
            raise AnsibleFilterError("status_report: every pool needs a name, got %r" % dict(pool))
        count = pool.get("count")
        by_name[name] = {"name": name, "provider": pool.get("provider"), "location": pool.get("location"),
                         "server_type": pool.get("server_type"), "active": pool.get("active", True) is not False,
                         "count": int(count) if count is not None else None, "desired": True, "servers": []}
        rows += [(s, name) for s in _dicts(pool.get("servers"), "servers of pool %s" % name) or []]
    rows += [(s, None) for s in _dicts(servers, "servers") or []]
    seen, out = set(), []
    for server, pool_name in rows:
        name = server.get("name")
        if not name:
            raise AnsibleFilterError("status_report: every server needs a name, got %r" % dict(server))
        key = (server.get("provider"), server.get("id") or name)
        if key in seen:
            continue
        seen.add(key)
        pool_name = (server.get("labels") or {}).get(POOL_LABEL) or pool_name or "(none)"
        if pool_name not in by_name:
            by_name[pool_name] = {"name": pool_name, "provider": server.get("provider"),
                                  "location": server.get("location"), "server_type": server.get("server_type"),
                                  "active": False, "count": None, "desired": False, "servers": []}
        out.append((server, by_name[pool_name]))
    return by_name, out


def _node(obj):
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    labels = meta.get("labels") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    roles = sorted(k[len(ROLE_PREFIX):] for k in labels if k.startswith(ROLE_PREFIX) and k[len(ROLE_PREFIX):])
    taints = ["%s%s:%s" % (t.get("key"), "=%s" % t["value"] if t.get("value") else "", t.get("effect"))
              for t in spec.get("taints") or []]
    return {
        "name": meta.get("name"),
        "ready": None if ready is None else ready.get("status") == "True",
        "ready_reason": None if ready is None or ready.get("status") == "True" else (
            ready.get("message") or ready.get("reason") or "status %s" % ready.get("status")),
        "roles": roles or (["edge"] if labels.get(NODE_POOL_LABEL) else ["worker"]),
        "pool": labels.get(NODE_POOL_LABEL),
        "taints": taints,
        "addresses": sorted(set(_ip(a.get("address")) for a in status.get("addresses") or []
                                if a.get("address") and a.get("type") != "Hostname")),
        "version": (status.get("nodeInfo") or {}).get("kubeletVersion"),
        "kubespan": None,
    }


def _peers(kubespan):
    """KubeSpan peers grouped by label (or endpoint): down if any observer sees them down."""
    groups = {}
    for peer in _dicts(kubespan, "kubespan") or []:
        label = peer.get("label") or peer.get("id") or peer.get("endpoint") or "?"
        group = groups.setdefault(label, {"label": label, "endpoint": peer.get("endpoint"), "states": [],
                                          "observers": [], "last_handshake": None, "bytes_received": 0,
                                          "bytes_sent": 0})
        group["states"].append(str(peer.get("state") or "unknown").lower())
        if peer.get("node"):
            group["observers"].append(str(peer["node"]))
        group["endpoint"] = group["endpoint"] or peer.get("endpoint")
        handshake = peer.get("last_handshake")
        if handshake and (group["last_handshake"] is None or str(handshake) > group["last_handshake"]):
            group["last_handshake"] = str(handshake)
        group["bytes_received"] += int(peer.get("rx_bytes", peer.get("bytes_received")) or 0)
        group["bytes_sent"] += int(peer.get("tx_bytes", peer.get("bytes_sent")) or 0)
    out = []
    for group in groups.values():
        states = group.pop("states")
        group["state"] = "down" if "down" in states else "up" if all(s == "up" for s in states) else "unknown"
        group["endpoint_ip"] = _endpoint_ip(group["endpoint"])
        group["observers"] = sorted(set(group["observers"]))
        out.append(group)
    return sorted(out, key=lambda p: p["label"])


def _probes(probes):
    if probes is None:
        return None
    items = [dict(v, ip=v.get("ip") or k) for k, v in probes.items()] if isinstance(probes, dict) else probes
    out = {}
    for probe in _dicts(items, "probes"):
        if "healthy" not in probe:
            if probe.get("reason") not in PROBE_REASONS:
                continue  # an edge_dns target whose probe result it does not tell (inactive pool, unlisted)
            probe = dict(probe, healthy=PROBE_REASONS[probe["reason"]])
        latency = probe.get("latency_ms")
        if latency is None and probe.get("checks"):
            latency = round(sum(float(c.get("seconds") or 0) for c in probe["checks"]) * 1000, 1)
        held = probe.get("reason") if probe.get("reason") in HELD_REASONS else None
        out[_ip(probe.get("ip"))] = {"healthy": bool(probe.get("healthy")), "error": probe.get("error"),
                                     "latency_ms": latency, "held": held}
    return out


def _record_sets(dns):
    out = []
    for rrset in _dicts(dns, "dns") or []:
        rtype = str(rrset.get("type") or "").upper()
        if "values" in rrset and "rdata" not in rrset:
            raise AnsibleFilterError("status_report: the record set %s %s has 'values' but no 'rdata': pass the "
                                     "record sets as dns_record_set_info returns them" % (rrset.get("name"), rtype))
        values = [_ip(v) if rtype in ADDRESS_TYPES else str(v) for v in rrset.get("rdata") or []]
        out.append({"name": rrset.get("name"), "type": rtype, "ttl": rrset.get("ttl"), "owner": rrset.get("owner"),
                    "rdata": sorted(set(values))})
    return out


# --- the join -----------------------------------------------------------------------------------------------

def _match_node(server, ips, nodes, used):
    for node in nodes:
        if node["name"] == server.get("name") and node["name"] not in used:
            return node
    for node in nodes:
        if node["name"] not in used and ips & set(node["addresses"]):
            return node
    return None


def _match_peer(names, ips, peers):
    for peer in peers:
        if peer["label"] in names:
            return peer
    for peer in peers:
        if peer["endpoint_ip"] and peer["endpoint_ip"] in ips:
            return peer
    return None


def _server_row(server, pool, ctx):
    """One server joined with its Node, KubeSpan peer, DNS values and probes; warnings go to ctx."""
    name, status = server["name"], str(server.get("status") or "unknown")
    ips = [_ip(server.get(k)) for k in ("public_ipv4", "public_ipv6") if server.get(k)]
    row = {"name": name, "pool": pool["name"], "provider": server.get("provider") or pool["provider"],
           "location": server.get("location") or pool["location"],
           "server_type": server.get("server_type") or pool["server_type"], "status": status,
           "public_ipv4": _ip(server.get("public_ipv4")), "public_ipv6": _ip(server.get("public_ipv6")),
           "node": None, "ready": None, "ready_reason": None, "taints": [], "kubespan": None,
           "kubespan_endpoint": None, "published": [], "health": None, "probe_error": None, "latency_ms": None}
    running, warnings = status == "running", ctx["warnings"]
    if ctx["nodes"] is not None:
        node = _match_node(server, set(ips), ctx["nodes"], ctx["used_nodes"])
        if node:
            ctx["used_nodes"].add(node["name"])
            row.update(node=node["name"], ready=node["ready"] is True, ready_reason=node["ready_reason"],
                       taints=node["taints"])
            if node["ready"] is not True:
                _warn(warnings, "node_not_ready", name, "Node %s of server %s is not Ready: %s"
                      % (node["name"], name, node["ready_reason"] or "no Ready condition"))
        elif running:
            _warn(warnings, "server_no_node", name, "Server %s is running but no Kubernetes Node matches it "
                  "(by name or address)" % name)
    if ctx["peers"] is not None:
        peer = _match_peer({name, row["node"]}, set(ips), ctx["peers"])
        if peer:
            ctx["used_peers"].add(peer["label"])
            row.update(kubespan=peer["state"], kubespan_endpoint=peer["endpoint"])
            if peer["state"] == "down":
                _warn(warnings, "kubespan_down", name, "KubeSpan peer %s is down (seen by %s)"
                      % (peer["label"], ", ".join(peer["observers"]) or "a node"))
        else:
            row["kubespan"] = "missing"
            if running and row["node"]:
                _warn(warnings, "kubespan_missing", name, "No node reports a KubeSpan peer for server %s" % name)
    if ctx["probes"] is not None:
        probed = [ctx["probes"][ip] for ip in ips if ip in ctx["probes"]]
        if probed:
            bad = [p for p in probed if not p["healthy"]]
            row.update(health="unhealthy" if bad else "healthy", probe_error=bad[0]["error"] if bad else None,
                       latency_ms=max((p["latency_ms"] for p in probed if p["latency_ms"] is not None), default=None))
    row["published"] = [ip for ip in ips if ip in ctx["published"]]
    held = [(ip, ctx["probes"][ip]) for ip in ips if ctx["probes"] and ip in ctx["probes"] and ctx["probes"][ip].get("held")]
    if ctx["dns"] is not None and running and pool["active"] and held and not row["published"]:
        _warn(warnings, "held_out", name, "Server %s passes its probe but failover holds %s out of DNS: %s (%s)"
              % (name, held[0][0], held[0][1]["held"], held[0][1]["error"]))
    elif ctx["dns"] is not None and running and pool["active"] and ips and not row["published"] and _can_serve(row, ctx):
        _warn(warnings, "dns_missing", name, "Server %s of active pool %s can serve but none of its addresses "
              "(%s) is in DNS" % (name, pool["name"], ", ".join(ips)))
    return row


def _can_serve(row, ctx):
    """Every gathered fact says the server can serve: Ready, KubeSpan not down or missing, probed healthy."""
    return ((ctx["nodes"] is None or row["ready"] is True) and (ctx["peers"] is None or row["kubespan"] == "up")
            and (ctx["probes"] is None or row["health"] == "healthy"))


def _state(row, warnings):
    """``down`` when it cannot serve, ``warning`` when a warning is about it (its name or address), else ``ok``."""
    if row["status"] != "running" or row["ready"] is False or row["health"] == "unhealthy" or row["kubespan"] == "down":
        return "down"
    subjects = set([row["name"], row["public_ipv4"], row["public_ipv6"]])
    return "warning" if any(w["subject"] in subjects for w in warnings) else "ok"


def _dns_rows(record_sets, owners, ctx):
    """Each DNS value with the server it belongs to; warnings for values that should not be there."""
    warnings, cluster = ctx["warnings"], ctx["cluster"]["name"]
    if not [v for rs in record_sets if rs["type"] in ADDRESS_TYPES for v in rs["rdata"]]:
        _warn(warnings, "dns_empty", "dns", "The edge record set has no A or AAAA value: nothing is published")
    for rrset in record_sets:
        if rrset["type"] in ADDRESS_TYPES and rrset["owner"] != cluster:
            _warn(warnings, "dns_foreign_owner", rrset["name"], "%s %s is %s, so cluster %s will not change it"
                  % (rrset["name"], rrset["type"], "owned by %s" % rrset["owner"] if rrset["owner"]
                     else "not owned (no ownership record)", cluster))
        values = []
        for value in rrset["rdata"]:
            entry = {"value": value, "server": None, "pool": None, "health": None}
            if rrset["type"] in ADDRESS_TYPES:
                server, pool = owners.get(value, (None, None))
                probe = (ctx["probes"] or {}).get(value)
                entry.update(server=server and server["name"], pool=pool and pool["name"],
                             health=None if probe is None else "healthy" if probe["healthy"] else "unhealthy")
                _check_value(value, server, pool, probe, warnings)
            values.append(entry)
        rrset["rdata"] = values
    return record_sets


def _check_value(value, server, pool, probe, warnings):
    if server is None:
        _warn(warnings, "dns_unknown_value", value, "DNS value %s belongs to no known server" % value)
    elif str(server.get("status") or "unknown") != "running":
        _warn(warnings, "dns_not_running", value, "DNS value %s belongs to server %s, which is %s"
              % (value, server["name"], server.get("status") or "unknown"))
    elif not pool["active"]:
        _warn(warnings, "dns_inactive_pool", value, "DNS value %s belongs to server %s of pool %s, which is not active"
              % (value, server["name"], pool["name"]))
    if probe is not None and not probe["healthy"]:
        _warn(warnings, "dns_unhealthy", value, "DNS value %s is published but unhealthy: %s"
              % (value, probe["error"] or "probe failed"))


def _pool_warnings(pools, warnings):
    for pool in pools:
        if not pool["desired"]:
            _warn(warnings, "pool_unknown", pool["name"], "Servers %s are in pool %s, which is not in the desired pools"
                  % (", ".join(pool["servers"]), pool["name"]))
        elif pool["count"] is not None and pool["count"] != len(pool["servers"]):
            _warn(warnings, "pool_size", pool["name"], "Pool %s has %d server(s), wants %d"
                  % (pool["name"], len(pool["servers"]), pool["count"]))


def _summary(report):
    servers, peers = report["servers"], report["kubespan"] or []
    probed = [s for s in servers if s["health"]]
    return {
        "pools": len(report["pools"]), "active_pools": len([p for p in report["pools"] if p["active"]]),
        "servers": len(servers), "running": len([s for s in servers if s["status"] == "running"]),
        "nodes": len([s for s in servers if s["node"]]) + len(report["nodes"] or []),
        "ready": len([s for s in servers if s["ready"]]) + len([n for n in report["nodes"] or [] if n["ready"]]),
        "peers": len(peers), "peers_up": len([p for p in peers if p["state"] == "up"]),
        "dns_values": len([v for rs in report["dns"] or [] if rs["type"] in ADDRESS_TYPES for v in rs["rdata"]]),
        "probes": len(probed), "healthy": len([s for s in probed if s["health"] == "healthy"]),
        "warnings": len(report["warnings"]),
    }


def _narrow(report, limit):
    """The report of the servers named in ``limit`` only (see the option ``limit``); the join is already done."""
    names = set(limit)
    servers = [row for row in report["servers"] if row["name"] in names]
    addresses = set(row[k] for row in servers for k in ("public_ipv4", "public_ipv6") if row[k])
    kept_pools = set(row["pool"] for row in servers)
    whole = set(p["name"] for p in report["pools"] if p["name"] in kept_pools and set(p["servers"]) <= names)
    subjects = names | addresses | whole
    warnings = [w for w in report["warnings"] if w["subject"] in subjects]
    for name in sorted(names - set(row["name"] for row in report["servers"])):
        _warn(warnings, "limit_unknown", name, "%s is in the limit but is no server of the cluster (deleted since the "
              "inventory was read?)" % name)
    peers = None
    if report["kubespan"] is not None:
        labels = names | set(row["node"] for row in servers if row["node"])
        peers = [p for p in report["kubespan"] if p["label"] in labels or _endpoint_ip(p["endpoint"]) in addresses]
    dns = None
    if report["dns"] is not None:
        dns = [dict(rs, rdata=[v for v in rs["rdata"] if v["server"] in names]) for rs in report["dns"]
               if rs["type"] in ADDRESS_TYPES]
    narrowed = dict(report, limit=sorted(names), servers=servers, warnings=warnings, kubespan=peers, dns=dns,
                    nodes=None if report["nodes"] is None else [],
                    pools=[dict(p, servers=[s for s in p["servers"] if s in names]) for p in report["pools"]
                           if p["name"] in kept_pools])
    return narrowed


def _catalogs(prices):
    """``None`` (no cost), or ``{provider: price catalog}`` checked enough to be priced from."""
    if prices is None:
        return None
    if not isinstance(prices, dict) or not all(isinstance(c, dict) and c.get("currency") for c in prices.values()):
        raise AnsibleFilterError("status_report: prices must be a dict of provider: price catalog (the prices "
                                 "cloud_price_info returns); from the results of a task looped over the providers, "
                                 "results | items2dict(key_name='item', value_name='prices') makes it")
    return prices


def _budget(budget, catalogs):
    """``None``, or ``autoextender_budget`` when it is valid (a clear error when not)."""
    if budget is None or catalogs is None:
        return None
    problems = _costs.budget_settings_problems(budget)
    if problems:
        raise AnsibleFilterError("status_report: %s" % "; ".join(problems))
    return budget


def _add_costs(report, catalogs, budget):
    """Each pool's ``cost`` and the summary's, from the servers the (narrowed) report holds; their warnings."""
    basis, warnings = (budget or {}).get("prices", "gross"), report["warnings"]
    entries = _costs.servers_costs(catalogs, report["servers"], basis)
    for entry in entries:
        if entry["problem"]:
            _warn(warnings, "price_unknown", entry["server"], "Server %s has no monthly price: %s (left out of the "
                  "costs)" % (entry["server"], entry["problem"]))
    currencies = []
    for pool in report["pools"]:
        catalog = catalogs.get(pool["provider"])
        own = [catalog["currency"]] if catalog else []
        currencies += own
        each = [e for row, e in zip(report["servers"], entries) if row["pool"] == pool["name"]]
        pool["cost"] = dict(_costs.cost_total(each, basis, own), each=each)
    total = _costs.cost_total(entries, basis, currencies)
    del total["detail"]
    total.update(limited=bool(report["limit"]), budget=None)
    if budget:
        total["budget"] = check = _costs.budget_check(total["by_currency"], budget)
        whose = "The servers of the limit" if report["limit"] else "The edge servers"
        if check["no_rate"]:
            _warn(warnings, "budget_no_rate", "budget", "%s cannot be compared with autoextender_budget.monthly %s: "
                  "give %s" % (whose, _costs.money(check["monthly"], check["currency"]), "; ".join(
                      "autoextender_budget.exchange_rates.%s (1 %s = how many %s)" % (code, code, check["currency"])
                      for code in check["no_rate"])))
        elif check["over"]:
            _warn(warnings, "over_budget", "budget", "%s cost %s/month (%s prices), over autoextender_budget.monthly "
                  "%s by %s" % (whose, _costs.money(check["total"], check["currency"]), basis,
                                _costs.money(check["monthly"], check["currency"]),
                                _costs.money(check["over"], check["currency"])))
    return total


def status_report(cluster, pools=None, servers=None, nodes=None, kubespan=None, dns=None, probes=None, limit=None,
                  prices=None, budget=None):
    """The joined report; see RETURN."""
    if not isinstance(cluster, dict) or not cluster.get("name"):
        raise AnsibleFilterError("status_report: the input must be the cluster, a dict with a name")
    catalogs = _catalogs(prices)
    budget = _budget(budget, catalogs)
    pool_map, server_rows = _pools(pools, servers)
    node_objs = _dicts(nodes, "nodes")
    record_sets = None if dns is None else _record_sets(dns)
    ctx = {"cluster": {"name": cluster["name"], "endpoint": cluster.get("endpoint")}, "warnings": [],
           "nodes": None if node_objs is None else sorted((_node(n) for n in node_objs), key=lambda n: n["name"] or ""),
           "peers": None if kubespan is None else _peers(kubespan), "probes": _probes(probes),
           "dns": record_sets, "used_nodes": set(), "used_peers": set(),
           "published": set(v for rs in record_sets or [] if rs["type"] in ADDRESS_TYPES for v in rs["rdata"])}
    owners, rows = {}, []
    for server, pool in sorted(server_rows, key=lambda sp: (sp[1]["name"], sp[0]["name"])):
        pool["servers"].append(server["name"])
        rows.append(_server_row(server, pool, ctx))
        for key in ("public_ipv4", "public_ipv6"):
            if server.get(key):
                owners[_ip(server[key])] = (server, pool)
    other = None
    if ctx["nodes"] is not None:
        other = [n for n in ctx["nodes"] if n["name"] not in ctx["used_nodes"]]
        for node in other:
            peer = _match_peer({node["name"]}, set(node["addresses"]), ctx["peers"] or [])
            node["kubespan"] = peer["state"] if peer else None
            if node["pool"]:
                _warn(ctx["warnings"], "node_orphan", node["name"], "Node %s is labelled for pool %s but no server "
                      "of that pool matches it (a leftover of a deleted server?)" % (node["name"], node["pool"]))
    _pool_warnings(pool_map.values(), ctx["warnings"])
    record_sets = None if record_sets is None else _dns_rows(record_sets, owners, ctx)
    for row in rows:
        row["state"] = _state(row, ctx["warnings"])
    report = {
        "cluster": ctx["cluster"],
        "limit": None,
        "gathered": {"pools": pools is not None, "servers": servers is not None or bool(server_rows),
                     "nodes": nodes is not None, "kubespan": kubespan is not None, "dns": dns is not None,
                     "probes": probes is not None},
        "pools": list(pool_map.values()),
        "servers": rows,
        "nodes": other,
        "kubespan": None if ctx["peers"] is None else [dict((k, v) for k, v in p.items() if k != "endpoint_ip")
                                                       for p in ctx["peers"]],
        "dns": record_sets,
        "warnings": ctx["warnings"],
    }
    if limit:
        if not isinstance(limit, (list, tuple)) or not all(isinstance(n, str) for n in limit):
            raise AnsibleFilterError("status_report: limit must be a list of server names, got %r" % (limit,))
        report = _narrow(report, limit)
    cost = None
    for pool in report["pools"]:
        pool["cost"] = None
    if catalogs is not None:
        cost = _add_costs(report, catalogs, budget)
    report["summary"] = _summary(report)
    report["summary"]["cost"] = cost
    report["ok"] = not report["warnings"]
    return report


class FilterModule(object):
    """The status report filter."""

    def filters(self):
        return {"status_report": status_report}
