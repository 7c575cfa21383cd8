# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The edge record set as a resource: what edge_dns writes and edge_dns_info reports.

``EdgeSet`` reads the published sets, probes every address and decides (``_edge_dns.decide``) in ``fetch()``,
before anything is written; ``EdgeSetPlan`` stops there and reports the decision, so asking "what would be
published" never runs a writer in check mode. ``edge_options()`` and ``RULES`` are the two modules' options
(documented once, in doc_fragments/edge_dns.py).
"""

from __future__ import annotations

import time

from ansible_collections.talos.autoextender.plugins.module_utils import _edge_health
from ansible_collections.talos.autoextender.plugins.module_utils._dns.base import returned
from ansible_collections.talos.autoextender.plugins.module_utils._dns_module import (
    DnsResource,
    dns_argument_spec,
    validate,
    validate_name,
    validate_value,
    WRITE_RULES,
    write_argument_spec,
)
from ansible_collections.talos.autoextender.plugins.module_utils._edge_node import FIELDS
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._edge_dns import (
    FAMILIES,
    STAGES,
    addresses,
    no_active_nodes,
    decide,
)
from ansible_collections.talos.autoextender.plugins.module_utils._edge_health_store import HealthStore
from ansible_collections.talos.autoextender.plugins.module_utils import _probe
from ansible_collections.talos.autoextender.plugins.module_utils._probe import probe_all
from ansible_collections.talos.autoextender.plugins.module_utils._validate import Address, Range


class EdgeSet(DnsResource):
    """The A and AAAA sets of one name; the probes and decisions happen in fetch(), before any write."""

    return_key = "edge_dns"
    name = None
    _targets = None  # (sets to publish, report), computed in fetch()
    _store = None  # the HealthStore when health.state is given
    _health = None  # what _save_health needs, from _thresholds()
    _flapping = ()
    #: reads the history without writing it (edge_dns_info)
    read_only = False

    def fetch(self):
        self.connect()
        p = self.params
        self.name = validate_name(p["name"], self.provider.zone, "A")
        for node in p["nodes"]:
            for rtype, key in FAMILIES.items():
                if node.get(key):
                    node[key] = validate_value(rtype, node[key])
        current = {}
        for rtype in p["record_types"]:
            found = self.manager.read(self.name, rtype)
            if found and found["values"]:
                current[rtype] = {"ttl": found["ttl"], "values": found["values"], "owner": found["owner"]}
        self._targets = self._decide(current)
        kept = sorted(set(t["type"] for t in self._targets[1] if t["reason"] == "kept_no_active_address"))
        if kept:
            why = no_active_nodes(p["nodes"], p["active_pools"]) or "no node of the active pools %s has an %s address" % (
                ", ".join(p["active_pools"]), " or ".join(kept))
            self.module.warn("%s: the %s set of %s is kept as it is" % (why, " and ".join(kept), self.name))
        return {"name": self.name, "stage": p["stage"], "record_sets": current, "targets": self._targets[1]}

    def _decide(self, current):
        p = self.params
        probe = p["probe"]
        http = probe.get("http")
        if http is not None:
            http = dict(http, host=http.get("host") or self.name.rstrip("."),
                        port=http.get("port") or (443 if http.get("scheme") == "https" else 80))
        ips = set()
        for rtype in p["record_types"]:
            ips.update(addresses(p["nodes"], rtype))
            ips.update(current.get(rtype, {}).get("values", []))
        if probe.get("enabled", True):
            probes = probe_all(ips, probe.get("tcp_ports") or (), http, probe.get("timeout") or 3)
            probes = self._thresholds(probes, current, lambda again: probe_all(
                again, probe.get("tcp_ports") or (), http, probe.get("timeout") or 3))
        else:
            probes = dict((ip, {"healthy": True}) for ip in ips)
        sets, report = {}, []
        for rtype in p["record_types"]:
            if not addresses(p["nodes"], rtype) and rtype not in current:
                continue
            values, entries = decide(rtype, p["nodes"], p["active_pools"], probes,
                                     current.get(rtype, {}).get("values"), p["stage"], p["min_values"])
            validate(self.provider, self.name, rtype, values, p["ttl"], "present")
            sets[rtype] = {"ttl": p["ttl"], "values": values, "owner": p["owner"]}
            report.extend(entries)
        return sets, report

    def _thresholds(self, probes, current, probe_again):
        """``probes`` with the thresholds applied (``_edge_health``): failing published addresses and new healthy
        ones probed again within the run, healthy addresses held out while recovering or flapping."""
        p = self.params
        conf = _edge_health.settings(p["health"])
        state = p["health"].get("state")
        self._store = HealthStore(state, self.name, must_exist=not self.read_only) if state else None
        stored = self._store.load() if self._store else {}
        active = {}
        for rtype in p["record_types"]:
            active.update((ip, node) for ip, node in addresses(p["nodes"], rtype).items()
                          if node.get("pool") in p["active_pools"])
        # An entry of another server at the same address (a replacement) is not this one's history.
        history = dict((ip, e) for ip, e in stored.items()
                       if ip in active and e.get("server") == active[ip].get("server_id"))
        published = set(v for rrset in current.values() for v in rrset["values"])
        results = dict((ip, [probes[ip]["healthy"]]) for ip in active)
        for _round in range(max(conf["fail_after"], conf["recover_after"]) - 1):
            again = [ip for ip, seen in results.items()
                     if _edge_health.needs_probe(ip, _edge_health.streak_of(seen), ip in published, history, conf)]
            if not again:
                break
            time.sleep(conf["retry_delay"])
            for ip, result in probe_again(again).items():
                results[ip].append(result["healthy"])
                probes[ip] = result
        now = time.time()
        for ip, seen in results.items():
            in_set, held, why = _edge_health.verdict(ip, seen, ip in published, history, conf, now)
            probes[ip] = dict(probes[ip], probes=len(seen))
            if in_set is False:
                probes[ip].update(healthy=False, held=held, error=why)
        self._health = (conf, stored, history, results, published, now, active)
        return probes

    def _save_health(self):
        """Write the history after this run's decision (not in check mode, nor from edge_dns_info).

        A run narrowed to some nodes (stage ``update``) keeps the other addresses' entries; a full run keeps only
        the listed nodes' (a server that is gone leaves the history).
        """
        conf, stored, history, results, published, now, active = self._health
        after = set(v for rrset in self._targets[0].values() for v in rrset["values"])
        advanced = _edge_health.advance(history, results, published, after, conf, now)
        for ip, entry in advanced.items():
            entry["server"] = active[ip].get("server_id")
        if self.params["stage"] == "update":
            advanced = dict(dict((ip, e) for ip, e in stored.items() if ip not in active), **advanced)
        if advanced != stored:
            self._store.save(advanced)
        self._flapping = _edge_health.flapping(advanced, conf, now)

    def ensure(self):
        outcome = super().ensure()
        if self._store is not None and not self.check_mode:
            self._save_health()
        return outcome

    def notices(self):
        conf = self._health[0] if self._health else None
        return super().notices() + [
            "edge node address %s is flapping (went in or out %d times within %d s): held out of %s until it is "
            "stable" % (ip, conf["flap_changes"], conf["flap_window"], self.name) for ip in self._flapping]

    def desired(self):
        return {"name": self.name, "stage": self.params["stage"], "record_sets": self._targets[0],
                "targets": self._targets[1]}

    def create(self, desired):
        return self.update({"record_sets": {}}, {"record_sets": (None, desired["record_sets"])})

    def update(self, current, changes):
        after = self.predict_update(current, changes)
        for rtype, wanted in sorted(after["record_sets"].items()):
            before = current["record_sets"].get(rtype)
            if before != wanted:
                self.manager.write(self.name, rtype, wanted["ttl"], wanted["values"],
                                   dict(before, type=rtype) if before else None)
        return after

    def predict_update(self, current, changes):
        after = dict(current)
        after.update((key, want) for key, (dummy, want) in changes.items())
        return after

    def output(self, state):
        if "record_sets" in state:
            state["record_sets"] = dict((rtype, returned(rrset)) for rtype, rrset in state["record_sets"].items())
        return state

    def wait(self, state, deadline):
        for rtype, rrset in sorted(state["record_sets"].items()):
            self.manager.wait_visible({"name": self.name, "type": rtype, "ttl": rrset["ttl"], "values": rrset["values"]},
                                      self.deadline)
        return state


class EdgeSetPlan(EdgeSet):
    """Read-only: the published sets, the probes and the decision; nothing is written, nothing changed."""

    return_key = "edge_dns_info"
    read_only = True

    def run(self):
        try:
            published = self.fetch()
            planned = self.desired()
        except AutoextenderError as e:
            e = e.redacted(self.secrets())
            self.warn()
            self.module.fail_json(msg=e.msg, failure=e.failure())
            return
        self.warn()
        report = self.redacted(planned)
        report["published"] = self.redacted(published)["record_sets"]
        report["would_change"] = _plain(published["record_sets"]) != _plain(planned["record_sets"])
        self.module.exit_json(changed=False, **{self.return_key: report})


def _plain(sets):
    return dict((rtype, (s["ttl"], sorted(s["values"]), s["owner"])) for rtype, s in sets.items())


RULES = dict(WRITE_RULES, **_probe.RULES)
RULES.update({"nodes.public_ipv4": Address(4), "nodes.public_ipv6": Address(6),
              "health.fail_after": Range(1, 10, "probes"), "health.recover_after": Range(1, 100, "probes"),
              "health.retry_delay": Range(0, 60, "seconds", number=float),
              "health.flap_changes": Range(2, 1000, "changes"),
              "health.flap_window": Range(60, 7 * 86400, "seconds")})


# The rest of an edge node, accepted so that nodes pass as edge_pool_info and the inventory give them; not used.
_OTHER_NODE_FIELDS = dict((field, dict(type="dict" if field == "labels" else "str")) for field in FIELDS
                          if field not in ("name", "pool", "public_ipv4", "public_ipv6"))


def edge_options():
    """The options of the edge set (doc_fragments/edge_dns.py)."""
    return dict(
        name=dict(type="str", default="edge"),
        nodes=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            pool=dict(type="str", required=True),
            public_ipv4=dict(type="str"),
            public_ipv6=dict(type="str"),
            **_OTHER_NODE_FIELDS
        )),
        active_pools=dict(type="list", elements="str", required=True),
        stage=dict(type="str", default="publish", choices=list(STAGES)),
        record_types=dict(type="list", elements="str", default=["A", "AAAA"], choices=["A", "AAAA"]),
        ttl=dict(type="int", default=60),
        probe=_probe.argument_spec(),
        health=dict(type="dict", default={}, options=dict(
            fail_after=dict(type="int", default=_edge_health.DEFAULTS["fail_after"]),
            recover_after=dict(type="int", default=_edge_health.DEFAULTS["recover_after"]),
            retry_delay=dict(type="float", default=_edge_health.DEFAULTS["retry_delay"]),
            flap_changes=dict(type="int", default=_edge_health.DEFAULTS["flap_changes"]),
            flap_window=dict(type="int", default=_edge_health.DEFAULTS["flap_window"]),
            state=dict(type="dict", options=dict(
                kubeconfig=dict(type="path"),
                context=dict(type="str"),
                namespace=dict(type="str", default="autoextender-edge"),
                name=dict(type="str", default="autoextender-edge-health"),
            )),
        )),
    )


def write_spec():
    """edge_dns: the DNS connection, the write options and the edge set."""
    return write_argument_spec(**edge_options())


def plan_spec():
    """edge_dns_info: the DNS connection, what decides the set (owner, min_values) and the edge set."""
    return dns_argument_spec(
        owner=dict(type="str", required=True),
        take_ownership=dict(type="bool", default=False),
        min_values=dict(type="int", default=1),
        wait_timeout=dict(type="int", default=120),
        **edge_options()
    )
