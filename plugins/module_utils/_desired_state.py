# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The rules of the desired state that a schema cannot express, checked before anything is created.

``problems()`` takes the ``autoextender_*`` variables as they are (defaults of
the preflight schema applied here, since role argument specs do not set them)
and returns one message per problem, each naming the option, the value and the
rule. Names the collection derives (server, firewall and label names from the
cluster and pool names, the DNS ownership names) are checked against the limits
of every provider the pools use (``CloudProvider.name_problems``, no I/O) and
of DNS. Placement against the provider's catalog needs the API: that is
``cloud_placement_info``; ``placement_messages()`` words its results.
"""

from __future__ import annotations

import re

from ansible_collections.talos.autoextender.plugins.module_utils import _floating, _names, _pool_expiry
from ansible_collections.talos.autoextender.plugins.module_utils._dns import ownership
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base, registry

DEFAULT_SCHEMATIC = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"
#: ports an exposed tcp/udp service may not take on an edge node: ingress, Talos API, trustd, KubeSpan
RESERVED_PORTS = (80, 443, 50000, 50001, 51820)
POOL_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
SCHEMATIC = re.compile(r"^[0-9a-f]{64}$")
VERSION = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$")
ENDPOINT = re.compile(r"^https://(\[[0-9A-Fa-f:.]+\]|[^/:\[\]\s]+):([0-9]+)/?$")
#: the longest name ExternalDNS's registry (external_dns role, extdns-%{record_type}.) puts before a host
EXTERNAL_DNS_PREFIX = "extdns-cname"
MTU_MIN, MTU_MAX = 1280, 9000
DECOMMISSION_HINT = "to remove a pool, run playbooks/decommission.yml -e pool=%s"
EXPIRES_ACTIVE = ("only a standby pool may expire (an active pool serves traffic, and a pool is active unless it says "
                  "active: false): set active: false first, or move the traffic to another pool with "
                  "playbooks/migrate.yml")


def _int(value):
    """An int from an int or a string of digits (values from -e are strings); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.match(r"^\s*-?[0-9]+\s*$", value):
        return int(value)
    return None


class _Found:
    """Collects messages ``<option> = <value>: <rule>``."""

    def __init__(self):
        self.messages = []

    def add(self, option, value, rule):
        if rule:
            self.messages.append("%s = %r: %s" % (option, value, rule))

    def number(self, option, value, rule_of):
        """Check an integer option; returns the int or None."""
        number = _int(value)
        self.add(option, value, rule_of(number) if number is not None else "must be a whole number")
        return number


def _name_text(value, what):
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty %s" % what
    if value != value.strip() or re.search(r"\s", value):
        return "must be a %s without spaces" % what
    return None


def _cluster(found, cluster):
    name = cluster.get("name")
    try:
        ownership.validate_owner(name)
    except AutoextenderError:
        found.add("autoextender_cluster.name", name, "must be 1 to 63 lower-case letters, digits, '.', '_' or '-', "
                  "starting and ending with a letter or digit (it is the owner id in DNS and in every cloud label)")
    endpoint = cluster.get("endpoint")
    match = ENDPOINT.match(endpoint) if isinstance(endpoint, str) else None
    if not match:
        found.add("autoextender_cluster.endpoint", endpoint, "must look like https://host:6443")
    elif _names.port_problem(int(match.group(2))):
        found.add("autoextender_cluster.endpoint", endpoint, "has a port that " + _names.port_problem(int(match.group(2))))
    for key in ("talos_version", "kubernetes_version"):
        value = cluster.get(key)
        if (value is not None or key == "talos_version") and not (isinstance(value, str) and VERSION.match(value)):
            found.add("autoextender_cluster.%s" % key, value, "must be a version like v1.13.9")
    mtu = (cluster.get("kubespan") or {}).get("mtu")
    if mtu is not None:
        found.number("autoextender_cluster.kubespan.mtu", mtu,
                     lambda n: _names.int_range_problem(n, MTU_MIN, MTU_MAX))


def _pool(found, index, pool, cluster_name, providers):
    name = pool.get("name")
    where = "autoextender_pools[%d]" % index + (" (pool %s)" % name if isinstance(name, str) else "")
    if not (isinstance(name, str) and POOL_NAME.match(name)):
        found.add("autoextender_pools[%d].name" % index, name, "must be 1 to 40 lower-case letters, digits or dashes, "
                  "starting and ending with a letter or digit")
    for key, what in (("location", "provider location"), ("server_type", "provider server type")):
        found.add("%s.%s" % (where, key), pool.get(key), _name_text(pool.get(key), what))
    count = found.number("%s.count" % where, pool.get("count", 1), lambda n: _names.int_range_problem(n, 1) and (
        "must be at least 1 (a pool of 0 servers would stay published); " + DECOMMISSION_HINT % (name or "<name>")))
    schematic = pool.get("schematic", DEFAULT_SCHEMATIC)
    if not (isinstance(schematic, str) and SCHEMATIC.match(schematic)):
        found.add("%s.schematic" % where, schematic, "must be an Image Factory schematic ID (64 lower-case hex digits)")
    _expires(found, where, pool)
    for option, value, rule in _floating.problems(pool):
        found.add("%s.%s" % (where, option), value, rule)
    provider = pool.get("provider")
    if provider not in providers or not POOL_NAME.match(str(name)) or not ownership.OWNER_RE.match(str(cluster_name)):
        return  # derived names are checked once their parts are valid: one message per root cause
    # The names the roles derive from the cluster and pool names (edge_pool: <cluster>-<pool>-<n>, <cluster>-<pool>);
    # the last server name is the longest.
    last = "%s-%s-%d" % (cluster_name, name, max(count or 1, 1))
    rule = _names.hostname_problem(last)
    found.add("%s: server name" % where, last, rule and rule + " (it is the Talos hostname and the Kubernetes Node "
              "name; shorten autoextender_cluster.name or the pool name)")
    zone_label = "%s-%s" % (provider, pool.get("location"))
    if not _name_text(pool.get("location"), ""):
        found.add("%s: Node label topology.kubernetes.io/zone" % where, zone_label,
                  _names.k8s_label_value_problem(zone_label))
    labels = dict(base.ownership_labels(cluster_name, name))
    for message in providers[provider].name_problems([last], ["%s-%s" % (cluster_name, name)], labels):
        found.messages.append("%s on %s: %s (from autoextender_cluster.name and the pool name)"
                              % (where, provider, message))


def _expires(found, where, pool):
    """``expires`` (plugins/module_utils/_pool_expiry.py): a date or a date-time with a zone, on a standby pool."""
    value = pool.get("expires")
    if value is None:
        return
    shown = _pool_expiry.shown(value)
    found.add("%s.expires" % where, shown, _pool_expiry.problem(value))
    if str(pool.get("active", True)).lower() in ("true", "yes", "on", "1"):
        found.add("%s.expires" % where, shown, EXPIRES_ACTIVE)


def _dns(found, dns):
    zone = dns.get("zone")
    found.add("autoextender_dns.zone", zone, _names.dns_name_problem(zone))
    edge = dns.get("edge_name", "edge")
    edge_rule = _names.dns_name_problem(edge)
    if not edge_rule and edge.endswith("."):
        edge_rule = "must be relative to autoextender_dns.zone (no trailing dot)"
    found.add("autoextender_dns.edge_name", edge, edge_rule and edge_rule + " (use apex: true for the zone itself)")
    found.number("autoextender_dns.ttl", dns.get("ttl", 60), _names.ttl_problem)
    found.number("autoextender_dns.min_values", dns.get("min_values", 1), lambda n: _names.int_range_problem(n, 1) and
                 _names.int_range_problem(n, 1) + " (the edge set is never published empty)")
    if isinstance(zone, str) and not edge_rule and not _names.dns_name_problem(zone):
        names = [(edge, ".".join((edge, zone.rstrip("."))))]
        if dns.get("apex"):
            names.append(("apex", zone.rstrip(".")))
        for label, name in names:
            found.add("autoextender_dns.edge_name" if label == edge else "autoextender_dns.apex", label,
                      _names.joined_name_problem(ownership.LABEL, name) and "its ownership record " +
                      _names.joined_name_problem(ownership.LABEL, name))
    return edge


def _expose(found, expose, dns, edge, reserved):
    zone = (dns.get("zone") or "").rstrip(".").lower() if isinstance(dns.get("zone"), str) else ""
    edge_fqdn = "%s.%s" % (edge, zone) if isinstance(edge, str) else None
    hosts, ports = [], {}
    for index, svc in enumerate(expose):
        where = "autoextender_expose[%d]" % index
        host = svc.get("host")
        rule = _names.dns_name_problem(host)
        name = host.rstrip(".").lower() if isinstance(host, str) else host
        if not rule and zone and not name.endswith("." + zone):
            rule = "must be inside the zone %s" % zone
        if not rule and name in hosts:
            rule = "must be unique: another service already uses it"
        if not rule and (name == edge_fqdn or (dns.get("apex") and name == zone)):
            rule = "must not be the edge record set's own name (it is a CNAME to it)"
        if not rule:
            rule = _names.joined_name_problem(EXTERNAL_DNS_PREFIX, name)
            rule = rule and "its ExternalDNS registry record " + rule
        found.add("%s.host" % where, host, rule)
        hosts.append(name)
        found.add("%s.namespace" % where, svc.get("namespace"), _names.k8s_namespace_problem(svc.get("namespace")))
        found.add("%s.service" % where, svc.get("service"), _names.k8s_service_problem(svc.get("service")))
        found.number("%s.port" % where, svc.get("port"), _names.port_problem)
        protocol = svc.get("protocol", "http")
        if protocol not in ("tcp", "udp"):
            continue
        port = found.number("%s.edge_port" % where, svc.get("edge_port"), _names.port_problem)
        if port is None or _names.port_problem(port):
            continue
        if port in reserved:
            found.add("%s.edge_port" % where, port, "must not be one of %s (ingress, Talos API, trustd, KubeSpan)"
                      % ", ".join(str(p) for p in reserved))
        elif (protocol, port) in ports:
            found.add("%s.edge_port" % where, port, "must be unique per protocol: %s/%d is taken by %s"
                      % (protocol, port, ports[(protocol, port)]))
        ports.setdefault((protocol, port), host)


def problems(cluster, pools, dns, expose=None, reserved_ports=RESERVED_PORTS):
    """Every problem of the desired state, as messages ``<option> = <value>: <rule>`` (empty when valid)."""
    found = _Found()
    cluster, dns = cluster or {}, dns or {}
    pools = list(pools or [])
    _cluster(found, cluster)
    used = sorted(set(p.get("provider") for p in pools if p.get("provider") in registry.names()))
    providers = dict((name, registry.provider_class(name)({})) for name in used)
    names = [p.get("name") for p in pools]
    for dup in sorted(set(n for n in names if isinstance(n, str) and names.count(n) > 1)):
        found.add("autoextender_pools[].name", dup, "must be unique: %d pools have it" % names.count(dup))
    for index, pool in enumerate(pools):
        _pool(found, index, pool, cluster.get("name"), providers)
    if not [p for p in pools if str(p.get("active", True)).lower() in ("true", "yes", "on", "1")]:
        found.add("autoextender_pools[].active", [p.get("active", True) for p in pools],
                  "at least one pool must be active, or DNS has nothing to publish")
    edge = _dns(found, dns)
    reserved = [int(p) for p in reserved_ports]
    _expose(found, list(expose or []), dns, edge, reserved)
    return found.messages


def placement_messages(results):
    """Messages for the bad placements among ``cloud_placement_info`` loop results (each with ``item``, a pool)."""
    out = []
    for result in results or ():
        pool = result.get("item") or {}
        for message in (result.get("placement") or {}).get("problems") or ():
            out.append("autoextender_pools (pool %s): %s" % (pool.get("name"), message))
    return out


def pools_sharing_image(pools, pool, leaving=()):
    """Names of the other pools of the desired state that boot the same Talos image as ``pool``.

    Pools named in ``leaving`` go in the same run (decommission -e expired=true): they do not keep the image.
    """
    def identity(p):
        return (p.get("provider"), p.get("arch") or "amd64", p.get("schematic") or DEFAULT_SCHEMATIC)
    gone = set(leaving or ()) | {pool.get("name")}
    return sorted(p["name"] for p in pools or () if p.get("name") not in gone and identity(p) == identity(pool))
