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
    and adds nothing. V(update) puts each listed node of the active pools in or takes it out by its probe and leaves
    the addresses of nodes not listed as they are (a failover narrowed to some nodes with C(--limit)).
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
  - talos.autoextender.edge_dns
  - talos.autoextender.probe
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
  - module: talos.autoextender.edge_dns_info
    description: The same decision, read-only.
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
          C(inactive_kept) (a listed node of an inactive pool, published before, kept by V(update)),
          C(not_added_in_remove_stage), C(unlisted) (published before, not a listed node), C(unlisted_kept),
          C(kept_min_values), C(kept_no_active_address) (no node of the active pools has an address of this type,
          so the set is kept as it is), C(recovering) and C(flapping) (its probe passed, the thresholds of
          O(health) hold it out).
        - C(health) is C(healthy), C(failing), C(recovering) or C(flapping) for an address of an active pool, null
          otherwise; a failover replaces only C(failing) ones.
      returned: success
      type: list
      elements: dict
      sample:
        - {"ip": "192.0.2.10", "type": "A", "node": "hel1-a-1", "pool": "hel1-a", "published": true,
           "reason": "healthy", "error": null, "health": "healthy"}
        - {"ip": "192.0.2.11", "type": "A", "node": "hel1-a-2", "pool": "hel1-a", "published": false,
           "reason": "probe_failed", "error": "TCP 192.0.2.11 port 443: Connection refused", "health": "failing"}
"""

from ansible_collections.talos.autoextender.plugins.module_utils._edge_dns_module import RULES, EdgeSet, write_spec
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule


def main():
    module = ValidatedModule(rules=RULES, argument_spec=write_spec(), supports_check_mode=True)
    EdgeSet(module).run()


if __name__ == "__main__":
    main()
