# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: edge_health
short_description: Whether every address of each edge node passed its probe
version_added: 0.3.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - For each edge node (the C(nodes) of M(talos.autoextender.edge_pool_info)), C(error) is empty when each of its
    public addresses has a probe target whose C(reason) is one of O(ok_reasons); otherwise it says why not
    (C(no public address), the failing addresses with their errors, or C(not probed)).
  - A pure function; the migration's gates use it on the targets of M(talos.autoextender.edge_dns_info).
options:
  _input:
    description: The edge nodes.
    type: list
    elements: dict
    required: true
  targets:
    description: The probe targets (C(targets) of M(talos.autoextender.edge_dns_info)); C(ip), C(reason), C(error).
    type: list
    elements: dict
    required: true
  ok_reasons:
    description: The reasons that count as a passed probe.
    type: list
    elements: str
    default: [healthy]
"""

EXAMPLES = r"""
- name: Sort the new pool's nodes
  ansible.builtin.set_fact:
    health: "{{ pool.nodes | talos.autoextender.edge_health(report.targets, ['healthy', 'not_added_in_remove_stage']) }}"
# [{name: edge-b-1, error: ""}, {name: edge-b-2, error: "203.0.113.7: connection refused"}]
"""

RETURN = r"""
_value:
  description: One entry per node, C(name) and C(error).
  type: list
  elements: dict
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _edge_decisions


class FilterModule:
    def filters(self):
        return {"edge_health": _edge_decisions.edge_health}
