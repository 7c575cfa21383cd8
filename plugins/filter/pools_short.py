# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: pools_short
short_description: The active pools with fewer servers than their count
version_added: 0.3.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - The pools among O(active) that have fewer servers (by their C(autoextender-pool) label) than their C(count)
    (default 1); the failover replaces what is missing.
  - A pure function.
options:
  _input:
    description: The desired pools (C(autoextender_pools)).
    type: list
    elements: dict
    required: true
  servers:
    description: The servers (C(servers) of M(talos.autoextender.edge_pool_info)).
    type: list
    elements: dict
    required: true
  active:
    description: The names of the active pools.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Find the pools that lost a server
  ansible.builtin.set_fact:
    short: "{{ autoextender_pools | talos.autoextender.pools_short(info.servers, ['hel1-a']) }}"
"""

RETURN = r"""
_value:
  description: The pools (as given) that miss servers.
  type: list
  elements: dict
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _edge_decisions


class FilterModule:
    def filters(self):
        return {"pools_short": _edge_decisions.pools_short}
