# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: edge_dns_info
short_description: Probe the edge nodes and report the edge record set that would be published, writing nothing
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Reads the published edge record set (O(name)), probes every address as M(talos.autoextender.edge_dns) does and
    makes the same decision for O(stage), then reports it. Never writes; C(changed) is always V(false).
  - What the status report, a decommission (would removing a pool leave the set without it?) and a probe-only
    migration step ask before anything is changed.
extends_documentation_fragment:
  - talos.autoextender.dns
  - talos.autoextender.edge_dns
  - talos.autoextender.probe
options:
  owner:
    description:
      - The owner id of the edge set, normally the cluster name. A set that another owner claims, or that has no
        ownership record, fails the task as it would fail M(talos.autoextender.edge_dns), unless
        O(take_ownership=true).
    type: str
    required: true
  take_ownership:
    description:
      - Decide as M(talos.autoextender.edge_dns) with O(take_ownership=true) would.
    type: bool
    default: false
  min_values:
    description:
      - The fewest addresses the decision may leave in a set that has more now; see M(talos.autoextender.edge_dns).
    type: int
    default: 1
  wait_timeout:
    description:
      - Seconds for the whole task, shared by the API retries (HTTP 429 and 5xx) and the probes.
    type: int
    default: 120
attributes:
  check_mode:
    support: full
    description:
      - Runs the same in check mode.
seealso:
  - module: talos.autoextender.edge_dns
"""

EXAMPLES = r"""
- name: Would removing pool hel1-a leave the edge set without its addresses?
  talos.autoextender.edge_dns_info:
    provider: powerdns
    api_url: http://127.0.0.1:8081
    zone: example.org
    owner: home
    nodes: "{{ edge_nodes }}"
    active_pools: [fr-par-b]
    stage: remove
  register: plan

- name: Refuse while the pool still holds the last healthy addresses
  ansible.builtin.assert:
    that: plan.edge_dns_info.targets | selectattr('published') | selectattr('pool', 'eq', 'hel1-a') | list | length == 0
"""

RETURN = r"""
edge_dns_info:
  description: The decision of M(talos.autoextender.edge_dns) for the same options, and what is published now.
  returned: success
  type: dict
  contains:
    name:
      description: The absolute name of the edge set.
      returned: success
      type: str
      sample: edge.example.org.
    stage:
      description: The stage decided.
      returned: success
      type: str
      sample: remove
    record_sets:
      description: Per record type, the set that would be published (C(ttl), C(rdata), C(owner)).
      returned: success
      type: dict
      sample: {"A": {"ttl": 60, "rdata": ["192.0.2.10"], "owner": "home"}}
    published:
      description: Per record type, the set published now.
      returned: success
      type: dict
      sample: {"A": {"ttl": 60, "rdata": ["192.0.2.10", "192.0.2.11"], "owner": "home"}}
    would_change:
      description: Whether M(talos.autoextender.edge_dns) would write.
      returned: success
      type: bool
      sample: true
    targets:
      description: One entry per address seen, with why it is in or out (RV(talos.autoextender.edge_dns#module:edge_dns.targets)).
      returned: success
      type: list
      elements: dict
      sample:
        - {"ip": "192.0.2.11", "type": "A", "node": "hel1-a-2", "pool": "hel1-a", "published": false,
           "reason": "inactive_pool", "error": null}
"""

from ansible_collections.talos.autoextender.plugins.module_utils._edge_dns_module import RULES, EdgeSetPlan, plan_spec
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule


def main():
    module = ValidatedModule(rules=RULES, argument_spec=plan_spec(), supports_check_mode=True)
    EdgeSetPlan(module).run()


if __name__ == "__main__":
    main()
