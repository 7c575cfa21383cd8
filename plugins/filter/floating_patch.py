# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: floating_patch
short_description: The Talos machine config patches that put a pool's floating addresses on its nodes
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Given the floating addresses of a pool, returns a list with one machine config patch that adds them to the
    loopback interface C(lo) of the node (a C(/32) or C(/128) each), or an empty list when there are none.
  - The patch is a C(LinkConfig) document (Talos 1.12 and newer).
  - On C(lo), every node of the pool has the address and answers on it once the cloud routes it to that node, and
    none answers ARP or neighbour discovery for it; moving the address is then only the cloud's route change.
  - A pure function.
options:
  _input:
    description: The addresses (strings; empty ones are skipped).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: The patch of a pool with one floating IPv4 address
  ansible.builtin.debug:
    msg: "{{ ['203.0.113.7'] | talos.autoextender.floating_patch }}"
"""

RETURN = r"""
_value:
  description: Zero or one patch (a dict).
  type: list
  elements: dict
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _floating


def floating_patch(addresses):
    """See DOCUMENTATION."""
    patch = _floating.talos_patch(addresses)
    return [patch] if patch else []


class FilterModule:
    def filters(self):
        return {"floating_patch": floating_patch}
