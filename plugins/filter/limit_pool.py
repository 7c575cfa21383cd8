# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: limit_pool
short_description: The one whole edge pool the hosts of a --limit name
version_added: 0.3.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - For a workflow that works on whole pools (the decommission) - given the edge nodes of a C(--limit) and every
    edge node of the inventory (hostvars of the C(talos.autoextender.edge_nodes) inventory), says which pool the
    limit names, or why it names none.
  - The limit names a pool when its edge nodes are all the nodes of that pool in the inventory (a pool's group
    C(pool_<name>), or every one of its nodes by name). A limit that spans several pools, names only some nodes
    of a pool, names nodes without a pool, or names a pool other than O(pool), names none; RV(_value.problem)
    says why.
  - Hosts without C(server_name) (not edge nodes) are skipped.
  - A pure function.
options:
  _input:
    description:
      - The edge nodes of the limit, their hostvars (C(server_name), C(labels), C(provider)).
      - The pool is read from the C(autoextender-pool) label, not from the hostvar C(pool), which an extra var
        C(-e pool=) of the same name overrides for every host.
    type: list
    elements: dict
    required: true
  hosts:
    description: Every edge node of the inventory, their hostvars (C(server_name), C(labels)).
    type: list
    elements: dict
    required: true
  pool:
    description: A pool also named otherwise (C(-e pool=)); empty for none.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Find the pool of the limit
  ansible.builtin.set_fact:
    limited: >-
      {{ ansible_play_hosts_all | map('extract', hostvars) | selectattr('server_name', 'defined') | list
         | talos.autoextender.limit_pool(groups['all'] | map('extract', hostvars) | selectattr('server_name', 'defined')
                                         | list, pool=pool | default('')) }}

- name: Refuse a limit that is not one whole pool
  ansible.builtin.assert:
    that: limited.problem | length == 0
    fail_msg: "{{ limited.problem }}"
"""

RETURN = r"""
_value:
  description: The pool of the limit.
  type: dict
  contains:
    pool:
      description: The pool's name; empty when the limit names no one whole pool.
      type: str
    provider:
      description: The pool's provider (the C(provider) hostvar of its nodes); empty with RV(_value.pool).
      type: str
    servers:
      description: The server names of the limit, sorted.
      type: list
      elements: str
    problem:
      description: Why the limit names no one whole pool; empty when it does.
      type: str
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _edge_decisions


class FilterModule:
    def filters(self):
        return {"limit_pool": _edge_decisions.limit_pool}
