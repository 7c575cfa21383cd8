# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: floating_dns_nodes
short_description: Edge nodes plus one node per floating address, for the edge record set
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Given the edge nodes (as M(talos.autoextender.edge_pool_info) returns them), adds one node per floating address
    (named as the address, in its pool) so that M(talos.autoextender.edge_dns) probes it and publishes it while it
    answers. An address without a value (check mode before creation) is skipped.
  - A pure function.
options:
  _input:
    description: The edge nodes.
    type: list
    elements: dict
    required: true
  addresses:
    description: The floating addresses, as M(talos.autoextender.cloud_floating_ip) returns them.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: The nodes to publish
  ansible.builtin.debug:
    msg: "{{ nodes | talos.autoextender.floating_dns_nodes(floating) }}"
"""

RETURN = r"""
_value:
  description: The nodes, then one per address.
  type: list
  elements: dict
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _floating


def floating_dns_nodes(nodes, addresses):
    """See DOCUMENTATION."""
    return _floating.dns_nodes(nodes, addresses)


class FilterModule:
    def filters(self):
        return {"floating_dns_nodes": floating_dns_nodes}
