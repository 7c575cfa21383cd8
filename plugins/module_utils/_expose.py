# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The decisions of exposing services, in Python: the entries, their checks, what they own.

``entries`` fills in the defaults of ``autoextender_expose`` and names each
entry (the role's template renders them; the ``expose_entries`` filter);
``planned`` lists the objects an entry will own, so the module can look for
objects of the same names that are not ours; ``problems`` is every reason to
refuse the list, all at once, before anything is applied; ``owned_keys`` and
``stale`` pick the objects found by our labels that no entry owns any more.
The ``k8s_expose`` module does the lookups and the applies.
"""

from __future__ import annotations

import hashlib

MANAGED_BY = ("app.kubernetes.io/managed-by", "talos-autoextender")
PROTOCOLS = ("http", "tcp", "udp")
#: protocol -> the Traefik route kind that serves it
ROUTE_KIND = {"tcp": "IngressRouteTCP", "udp": "IngressRouteUDP"}
#: the longest Kubernetes label value (the entry's name is one)
NAME_MAX = 63


def _int(value):
    """Jinja's ``int`` filter: a number, else 0."""
    for convert in (int, lambda v: int(float(v))):
        try:
            return convert(value)
        except (TypeError, ValueError):
            pass
    return 0


def entry_name(host):
    """``edge-<host with dots as dashes>``, shortened with a hash when longer than a label value."""
    name = "edge-" + host.replace(".", "-")
    if len(name) > NAME_MAX:
        name = "%s-%s" % (name[:54], hashlib.sha1(name.encode("utf-8")).hexdigest()[:8])
    return name


def entries(services):
    """``autoextender_expose`` with defaults filled in, each entry named."""
    out = []
    for svc in services or ():
        svc = dict(svc)
        host = str(svc.get("host") or "").lower()
        host = host[:-1] if host.endswith(".") else host
        protocol = svc.get("protocol", "http")
        out.append(dict(svc, host=host, name=entry_name(host), protocol=protocol, tls=svc.get("tls", True),
                        entrypoint="%s-%s" % (protocol, svc.get("edge_port", ""))))
    return out


def planned(items, crds):
    """The objects the entries will own (``api_version``, ``kind``, ``namespace``, ``name``, ``crd_present``)."""
    out = []
    for svc in items:
        if "namespace" not in svc:
            continue
        at = {"namespace": svc["namespace"], "name": svc["name"]}
        if svc["protocol"] == "http":
            out.append(dict(at, api_version="networking.k8s.io/v1", kind="Ingress", crd_present=True))
            if svc["tls"]:
                out.append(dict(at, api_version="cert-manager.io/v1", kind="Certificate",
                                crd_present=bool(crds.get("Certificate"))))
        elif svc["protocol"] in ROUTE_KIND:
            kind = ROUTE_KIND[svc["protocol"]]
            out.append(dict(at, api_version="traefik.io/v1alpha1", kind=kind, crd_present=bool(crds.get(kind))))
            out.append(dict(at, api_version="externaldns.k8s.io/v1alpha1", kind="DNSEndpoint",
                            crd_present=bool(crds.get("DNSEndpoint"))))
    return out


def _entry_problems(items, zone, edge_hostname, reserved_ports, crds):
    errors, seen_entrypoints = [], []
    hosts = [svc["host"] for svc in items]
    reserved = [_int(p) for p in reserved_ports]
    for index, svc in enumerate(items):
        what = svc["host"] or "(entry without host)"
        protocol = svc["protocol"]
        errors += ["%s: %s is required" % (what, key) for key in ("host", "namespace", "service", "port")
                   if not svc.get(key)]
        if protocol not in PROTOCOLS:
            errors.append("%s: protocol must be http, tcp or udp, not %s" % (what, protocol))
        if svc["host"] and not svc["host"].endswith("." + zone):
            errors.append("%s: host is outside the DNS zone %s%s" % (
                what, zone, " (the zone apex belongs to the edge record set)" if svc["host"] == zone else ""))
        elif svc["host"] == edge_hostname:
            errors.append("%s: host is the edge record set itself" % what)
        if svc["host"] and hosts.count(svc["host"]) > 1 and svc["host"] not in hosts[:index]:
            errors.append("%s: duplicate host (%d entries)" % (what, hosts.count(svc["host"])))
        if not 1 <= _int(svc.get("port", 0)) <= 65535:
            errors.append("%s: port must be between 1 and 65535" % what)
        if protocol in ROUTE_KIND:
            edge_port = _int(svc.get("edge_port", 0))
            if not 1 <= edge_port <= 65535:
                errors.append("%s: a %s service needs an edge_port between 1 and 65535" % (what, protocol))
            elif edge_port in reserved:
                errors.append("%s: edge_port %d clashes with a port of the edge itself %s" % (what, edge_port, reserved))
            elif svc["entrypoint"] in seen_entrypoints:
                errors.append("%s: edge_port %s/%d is already used by another entry" % (what, protocol, edge_port))
            seen_entrypoints.append(svc["entrypoint"])
            if not crds.get(ROUTE_KIND[protocol]):
                errors.append("%s: the Traefik CRD of %s is not installed (run the edge_ingress role first)"
                              % (what, ROUTE_KIND[protocol]))
        elif protocol == "http" and svc["tls"] and not crds.get("Certificate"):
            errors.append("%s: tls needs cert-manager, which is not installed (run the cert_manager role first)" % what)
    return errors


def _service_problems(services):
    errors = []
    for svc, found in services:
        want = "UDP" if svc["protocol"] == "udp" else "TCP"
        where = "%s: Service %s/%s" % (svc["host"], svc["namespace"], svc["service"])
        if not found:
            errors.append("%s does not exist" % where)
            continue
        ports = (found.get("spec") or {}).get("ports") or []
        if not any(p.get("port") == _int(svc["port"]) and p.get("protocol") == want for p in ports):
            errors.append("%s has no %s port %s (it has %s)" % (
                where, want, svc["port"], ", ".join("%s/%s" % (p.get("protocol"), p.get("port")) for p in ports)))
    return errors


def _name_problems(taken):
    errors = []
    for item, found in taken:
        if not found:
            continue
        labels = (found.get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY[0], "") != MANAGED_BY[1]:
            errors.append("%s %s/%s already exists and is not managed by talos-autoextender; it is never taken over"
                          % (item["kind"], item["namespace"], item["name"]))
    return errors


def problems(items, zone, edge_hostname, reserved_ports, crds, services=(), taken=()):
    """Every reason to refuse the entries: their own checks, then the Services they name (``(entry, Service or
    None)`` pairs), then objects of the names they would own that are not ours (``(planned, object or None)``)."""
    return (_entry_problems(items, zone, edge_hostname, reserved_ports, crds) + _service_problems(services)
            + _name_problems(taken))


def ours(obj):
    """Whether ``obj`` carries both labels by which the objects of the entries are found again."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY[0]) == MANAGED_BY[1] and "autoextender.io/expose" in labels


def owned_keys(objects):
    """``Kind/namespace/name`` of every rendered object and of the TLS Secret each Certificate makes
    (cert-manager writes it with our labels, through ``secretTemplate``)."""
    keys = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        keys.append("%s/%s/%s" % (obj.get("kind"), meta.get("namespace"), meta.get("name")))
        if obj.get("kind") == "Certificate":
            keys.append("Secret/%s/%s" % (meta.get("namespace"), (obj.get("spec") or {}).get("secretName")))
    return keys


def stale(found, desired_keys):
    """The objects found by our labels (each with ``apiVersion`` and ``kind``) that no entry owns any more."""
    out = []
    for obj in found:
        meta = obj.get("metadata") or {}
        key = "%s/%s/%s" % (obj.get("kind"), meta.get("namespace"), meta.get("name"))
        if key not in desired_keys:
            out.append({"key": key, "api_version": obj.get("apiVersion"), "kind": obj.get("kind"),
                        "namespace": meta.get("namespace"), "name": meta.get("name")})
    return out
