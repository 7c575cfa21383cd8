# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: floating_moves
short_description: Where failover routes each floating address
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Given the floating addresses, the servers and a probe of the nodes, returns one entry per address whose pool has
    a healthy server, with C(servers) the healthy servers of its pool, sorted by name.
  - M(talos.autoextender.cloud_floating_ip) with O(talos.autoextender.cloud_floating_ip#module:servers) keeps the
    address on one of them, or moves it to the first; an address whose pool has no healthy server is left out.
  - A node is healthy when one of its addresses passed its probe and none failed.
  - A pure function.
options:
  _input:
    description: The floating addresses, RV(talos.autoextender.edge_pool_info#module:floating_ips).
    type: list
    elements: dict
    required: true
  servers:
    description: The servers, RV(talos.autoextender.edge_pool_info#module:servers).
    type: list
    elements: dict
    required: true
  targets:
    description: The probed addresses, C(targets) of M(talos.autoextender.edge_dns) or M(talos.autoextender.edge_dns_info).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Where the floating addresses go
  ansible.builtin.debug:
    msg: "{{ info.floating_ips | talos.autoextender.floating_moves(info.servers, probe.edge_dns_info.targets) }}"
"""

RETURN = r"""
_value:
  description: One dict per address, with C(name), C(family), C(location), C(pool), C(provider) and C(servers).
  type: list
  elements: dict
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _floating


def floating_moves(addresses, servers, targets):
    """See DOCUMENTATION."""
    return _floating.moves(addresses, servers, targets)


class FilterModule:
    def filters(self):
        return {"floating_moves": floating_moves}
