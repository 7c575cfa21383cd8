# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Floating addresses of edge pools (docs/failover.md): the pool option, the names, the Talos patch, the DNS nodes.

A pool asks for them with ``floating: {ipv4: true, ipv6: false}``. Each family asked for is one address of the
provider (``cloud_floating_ip``) named ``<cluster>-<pool>-<family>``, routed to one server of the pool; every
server of the pool has it on its loopback interface (the join config's patch, ``talos_patch``), so moving it is
only the provider's route change. Pure functions; no I/O.
"""

from __future__ import annotations

FAMILIES = ("ipv4", "ipv6")
#: what each pool can float through the workflows. Linode: cloud_floating_ip floats an additional IPv4 between
#: existing Linodes of a pool, but provisioning creates the address before the servers (the join configs carry it)
#: and a Linode address exists only on a Linode, so a pool cannot ask for one yet
SUPPORTED = {"hetzner": ("ipv4", "ipv6"), "lab": ("ipv4",)}
DEFAULTS = {"ipv4": True, "ipv6": False}
LINODE_WHY = ("a Linode address exists only on a Linode, and provisioning needs it before the servers (the join "
              "configs carry it); use DNS failover")


def families(pool):
    """The families ``pool`` floats, in order (``[]`` without ``floating``); the option is assumed valid."""
    floating = pool.get("floating")
    if not isinstance(floating, dict):
        return []
    return [f for f in FAMILIES if _true(floating.get(f, DEFAULTS[f]))]


def _true(value):
    return str(value).lower() in ("true", "yes", "on", "1")


def problems(pool):
    """``[(option suffix, value, rule)]`` of the ``floating`` option of ``pool`` (empty when valid or not set)."""
    floating = pool.get("floating")
    if floating is None:
        return []
    if not isinstance(floating, dict):
        return [("floating", floating, "must be a mapping such as {ipv4: true, ipv6: false}")]
    out = []
    unknown = sorted(str(k) for k in floating if k not in FAMILIES)
    if unknown:
        out.append(("floating", floating, "has unknown keys %s; the keys are ipv4 and ipv6" % ", ".join(unknown)))
    for family in FAMILIES:
        if family in floating and str(floating[family]).lower() not in ("true", "false", "yes", "no", "on", "off",
                                                                        "1", "0"):
            out.append(("floating.%s" % family, floating[family], "must be true or false"))
    if out:
        return out
    wanted = families(pool)
    if not wanted:
        out.append(("floating", floating, "asks for no address; set ipv4 or ipv6 to true, or remove floating"))
    provider = pool.get("provider")
    can = SUPPORTED.get(provider, ())
    for family in wanted:
        if family not in can:
            why = (LINODE_WHY if provider == "linode" else "%s floats %s only" % (provider, " and ".join(can)))
            out.append(("floating.%s" % family, True, "is not possible on %s: %s" % (provider, why)))
    return out


def name(cluster, pool, family):
    """The floating address's name at the provider."""
    return "%s-%s-%s" % (cluster, pool, family)


def wanted(cluster, pools):
    """``[{name, pool, provider, location, family}]`` of every floating address of ``pools``."""
    return [{"name": name(cluster, p["name"], family), "pool": p["name"], "provider": p["provider"],
             "location": p["location"], "family": family} for p in pools or () for family in families(p)]


def talos_patch(addresses):
    """The machine config patch that puts ``addresses`` on the loopback interface (a /32 or /128 each): a
    ``LinkConfig`` document (Talos 1.12 and newer; ``machine.network`` is gone from the 1.13 schema); None when
    there are none. On ``lo``, a node answers on the address once the cloud routes it there, and never answers ARP or
    neighbour discovery for it, so every node of the pool can have it."""
    addresses = [a for a in addresses or () if a]
    if not addresses:
        return None
    cidrs = ["%s/%d" % (a, 128 if ":" in a else 32) for a in sorted(set(addresses))]
    return {"apiVersion": "v1alpha1", "kind": "LinkConfig", "name": "lo", "addresses": [{"address": c} for c in cidrs]}


def dns_nodes(nodes, addresses):
    """``nodes`` (edge_dns nodes) plus one per floating address (``cloud_floating_ip`` results: name, family,
    address, labels), in its pool, so that the edge set publishes it while it answers its probe."""
    out = list(nodes or ())
    for fip in addresses or ():
        if not fip.get("address"):
            continue
        key = "public_ipv4" if fip.get("family", "ipv4") == "ipv4" else "public_ipv6"
        out.append({"name": fip["name"], "pool": (fip.get("labels") or {}).get("autoextender-pool"),
                    key: fip["address"]})
    return out


def healthy_nodes(targets):
    """Names of the nodes whose probed addresses passed and none failed (edge_dns targets)."""
    good = set(t["node"] for t in targets or () if t.get("node") and t.get("health") == "healthy")
    bad = set(t["node"] for t in targets or () if t.get("node") and t.get("health") == "failing")
    return good - bad


def moves(addresses, servers, targets):
    """Where failover routes each floating address: ``[{name, family, location, pool, provider, servers}]`` with
    ``servers`` the healthy servers of its pool (sorted; ``cloud_floating_ip`` keeps the address on one of them, or
    moves it to the first). An address whose pool has no healthy server is left out (nowhere better to go).

    ``addresses``: cloud_floating_ip/edge_pool_info floating_ips; ``servers``: edge_pool_info servers;
    ``targets``: edge_dns targets of a probe of the pool's nodes.
    """
    healthy = healthy_nodes(targets)
    out = []
    for fip in addresses or ():
        pool = (fip.get("labels") or {}).get("autoextender-pool")
        names = sorted(s["name"] for s in servers or () if (s.get("labels") or {}).get("autoextender-pool") == pool
                       and s["name"] in healthy)
        if names:
            out.append({"name": fip["name"], "family": fip.get("family") or "ipv4", "location": fip.get("location"),
                        "pool": pool, "provider": fip.get("provider"), "servers": names})
    return out
