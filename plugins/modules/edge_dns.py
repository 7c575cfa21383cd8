# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: edge_dns
short_description: Publish the healthy edge nodes of the active pools as the edge record set, in safe stages
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Computes the edge record set (O(name), by default C(edge.<zone>)) from the nodes of the active pools and a health
    probe of each address, and publishes it as A (IPv4) and AAAA (IPv6) record sets with the ownership rules of
    M(talos.autoextender.dns_record_set).
  - The probe of each address is a TCP connect to each of O(probe.tcp_ports), then an HTTP or HTTPS C(GET) of
    O(probe.http.path) with the C(Host) header (and TLS SNI) of O(probe.http.host); every address is probed at once,
    in parallel threads, each step limited to O(probe.timeout) seconds.
  - O(stage) gives the migration steps of a blue/green move from pool A to pool B without DNS weights
    (C({A} -> {A+B} -> wait 2xTTL -> {B})). V(publish) makes the set exactly the healthy addresses of the active
    pools. V(add) adds them to what is published now and removes nothing. V(remove) removes from what is
    published now the addresses of listed nodes of inactive pools and the addresses that fail their probe,
    and adds nothing.
  - Never publishes an empty set. When a change would leave fewer than O(min_values) addresses in a set that has
    more now, the last published addresses are kept (healthy ones first) and RV(edge_dns.targets) says so
    (reason C(kept_min_values)). When no address is healthy and nothing is published yet, the task fails and
    nothing is written.
  - A record type for which no listed node has an address is left alone. A published set of a type for which no
    listed node of O(active_pools) has an address (an empty O(nodes), a typo in a pool name, an IPv4-only pool for
    the AAAA set) is kept as it is, with a warning that says why and the reason C(kept_no_active_address); it is
    never shrunk to an arbitrary old address.
extends_documentation_fragment:
  - talos.autoextender.dns
  - talos.autoextender.dns.write
options:
  name:
    description:
      - The name of the edge record set, relative to O(zone) or absolute.
    type: str
    default: edge
  nodes:
    description:
      - The edge nodes, as M(talos.autoextender.edge_pool_info) or the C(edge_nodes) inventory give them.
      - Nodes of pools not in O(active_pools) are probed too, so the last healthy ones can be kept.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Node name.
        type: str
        required: true
      pool:
        description: The pool the node belongs to.
        type: str
        required: true
      public_ipv4:
        description: Public IPv4 address (goes into the A set).
        type: str
      public_ipv6:
        description: Public IPv6 address (goes into the AAAA set).
        type: str
  active_pools:
    description:
      - The pools whose healthy nodes are published.
    type: list
    elements: str
    required: true
  stage:
    description:
      - The publishing step, see the description.
    type: str
    choices: [publish, add, remove]
    default: publish
  record_types:
    description:
      - Which record sets to manage.
    type: list
    elements: str
    choices: [A, AAAA]
    default: [A, AAAA]
  ttl:
    description:
      - Time to live of the edge set. Short, so that a migration or failover takes effect quickly.
    type: int
    default: 60
  probe:
    description:
      - The health probe of each address.
    type: dict
    default: {}
    suboptions:
      enabled:
        description:
          - With V(false), every address counts as healthy.
        type: bool
        default: true
      tcp_ports:
        description:
          - Ports that must accept a TCP connection.
        type: list
        elements: int
        default: [443]
      http:
        description:
          - The HTTP(S) check. Without it (V(null)), only the TCP check runs.
        type: dict
        suboptions:
          scheme:
            description: V(http) or V(https).
            type: str
            choices: [http, https]
            default: http
          port:
            description: The port, V(80) for V(http) and V(443) for V(https) when not set.
            type: int
          path:
            description: The path to get.
            type: str
            default: /
          host:
            description:
              - The C(Host) header (and the TLS server name) of the request, so the ingress routes it like
                real traffic. Default is the record name without its final dot.
            type: str
          expected_status:
            description:
              - HTTP status codes that mean healthy. Empty means any status below 500 (a C(404) from the
                ingress still proves it serves).
            type: list
            elements: int
            default: []
          validate_certs:
            description:
              - Verify the TLS certificate. Off by default, because a new edge node serves a self-signed
                certificate until cert-manager has issued the real one, which needs the node in DNS first.
            type: bool
            default: false
      timeout:
        description:
          - Seconds for each connect and each HTTP exchange.
        type: float
        default: 3
attributes:
  check_mode:
    support: full
    description:
      - Reads the zone and probes the nodes (probes change nothing), then reports the set it would publish.
  diff_mode:
    support: full
    description:
      - The record sets before and after.
  idempotent:
    support: full
    description:
      - When the healthy addresses do not change, nothing is written.
notes:
  - C(min_values) here never fails a task; it keeps addresses instead. M(talos.autoextender.dns_record_set)
    refuses instead.
seealso:
  - module: talos.autoextender.dns_record_set
"""

EXAMPLES = r"""
- name: Publish the healthy nodes of pool hel1-a
  talos.autoextender.edge_dns:
    provider: powerdns
    api_url: http://127.0.0.1:8081
    zone: example.org
    owner: home
    nodes: "{{ edge_nodes }}"
    active_pools: [hel1-a]
    probe:
      tcp_ports: [443]
      http: {scheme: https, host: whoami.example.org}

- name: Migration, step 1 of 2 - add pool fr-par-b next to hel1-a
  talos.autoextender.edge_dns:
    provider: powerdns
    api_url: http://127.0.0.1:8081
    zone: example.org
    owner: home
    nodes: "{{ edge_nodes }}"
    active_pools: [fr-par-b]
    stage: add

- name: Migration, step 2 of 2 (after 2 x TTL) - only fr-par-b
  talos.autoextender.edge_dns:
    provider: powerdns
    api_url: http://127.0.0.1:8081
    zone: example.org
    owner: home
    nodes: "{{ edge_nodes }}"
    active_pools: [fr-par-b]
    stage: publish
"""

RETURN = r"""
edge_dns:
  description: The edge set after the task (as it would be, in check mode), and why each address is in or out.
  returned: success
  type: dict
  contains:
    name:
      description: The absolute name of the edge set.
      returned: success
      type: str
      sample: edge.example.org.
    stage:
      description: The stage that ran.
      returned: success
      type: str
      sample: publish
    record_sets:
      description: Per record type, the published set (C(ttl), C(rdata) its values, C(owner)).
      returned: success
      type: dict
      sample: {"A": {"ttl": 60, "rdata": ["192.0.2.10"], "owner": "home"}}
    targets:
      description:
        - One entry per address seen (listed nodes and addresses published before).
        - C(reason) is one of C(healthy), C(probe_failed), C(inactive_pool), C(published_before_add),
          C(not_added_in_remove_stage), C(unlisted) (published before, not a listed node), C(unlisted_kept),
          C(kept_min_values), C(kept_no_active_address) (no node of the active pools has an address of this type,
          so the set is kept as it is).
      returned: success
      type: list
      elements: dict
      sample:
        - {"ip": "192.0.2.10", "type": "A", "node": "hel1-a-1", "pool": "hel1-a", "published": true,
           "reason": "healthy", "error": null}
        - {"ip": "192.0.2.11", "type": "A", "node": "hel1-a-2", "pool": "hel1-a", "published": false,
           "reason": "probe_failed", "error": "TCP 192.0.2.11 port 443: Connection refused"}
"""

from ansible_collections.talos.autoextender.plugins.module_utils._dns.base import returned
from ansible_collections.talos.autoextender.plugins.module_utils._dns_module import (
    DnsResource,
    validate,
    validate_name,
    validate_value,
    WRITE_RULES,
    write_argument_spec,
)
from ansible_collections.talos.autoextender.plugins.module_utils._edge_dns import (
    FAMILIES,
    addresses,
    no_active_nodes,
    decide,
)
from ansible_collections.talos.autoextender.plugins.module_utils._probe import probe_all
from ansible_collections.talos.autoextender.plugins.module_utils._validate import PORT, Address, Range, ValidatedModule


class EdgeSet(DnsResource):
    """The A and AAAA sets of one name; the probes and decisions happen in fetch(), before any write."""

    return_key = "edge_dns"
    name = None
    _targets = None  # (sets to publish, report), computed in fetch()

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


RULES = dict(WRITE_RULES, **{"nodes.public_ipv4": Address(4), "nodes.public_ipv6": Address(6), "probe.tcp_ports": PORT,
                             "probe.http.port": PORT, "probe.http.expected_status": Range(100, 599, "an HTTP status"),
                             "probe.timeout": Range(0.1, 3600, "seconds", number=float)})


def main():
    module = ValidatedModule(
        rules=RULES,
        argument_spec=write_argument_spec(
            name=dict(type="str", default="edge"),
            nodes=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                pool=dict(type="str", required=True),
                public_ipv4=dict(type="str"),
                public_ipv6=dict(type="str"),
            )),
            active_pools=dict(type="list", elements="str", required=True),
            stage=dict(type="str", default="publish", choices=["publish", "add", "remove"]),
            record_types=dict(type="list", elements="str", default=["A", "AAAA"], choices=["A", "AAAA"]),
            ttl=dict(type="int", default=60),
            probe=dict(type="dict", default={}, options=dict(
                enabled=dict(type="bool", default=True),
                tcp_ports=dict(type="list", elements="int", default=[443]),
                http=dict(type="dict", options=dict(
                    scheme=dict(type="str", default="http", choices=["http", "https"]),
                    port=dict(type="int"),
                    path=dict(type="str", default="/"),
                    host=dict(type="str"),
                    expected_status=dict(type="list", elements="int", default=[]),
                    validate_certs=dict(type="bool", default=False),
                )),
                timeout=dict(type="float", default=3),
            )),
        ),
        supports_check_mode=True,
    )
    EdgeSet(module).run()


if __name__ == "__main__":
    main()
