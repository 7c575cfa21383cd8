# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: floating_addresses
short_description: The floating addresses the edge pools ask for
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Given pools of the desired state (C(autoextender_pools)), returns one entry per floating address a pool's
    C(floating) option asks for (C(ipv4), default V(true); C(ipv6), default V(false)), named
    C(<cluster>-<pool>-<family>), in the order of the pools.
  - The entries are what M(talos.autoextender.cloud_floating_ip) needs. A pure function.
options:
  _input:
    description: The pools.
    type: list
    elements: dict
    required: true
  cluster:
    description: The home cluster's name (C(autoextender_cluster.name)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The floating addresses of pool hel1-a
  ansible.builtin.debug:
    msg: "{{ [pool] | talos.autoextender.floating_addresses(autoextender_cluster.name) }}"
"""

RETURN = r"""
_value:
  description: One dict per address, with C(name), C(pool), C(provider), C(location) and C(family).
  type: list
  elements: dict
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _floating


def floating_addresses(pools, cluster):
    """See DOCUMENTATION."""
    return _floating.wanted(cluster, pools)


class FilterModule:
    def filters(self):
        return {"floating_addresses": floating_addresses}
