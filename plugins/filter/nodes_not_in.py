# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: nodes_not_in
short_description: The Kubernetes Nodes a list of addresses and names does not cover
version_added: 0.3.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - The names of the Nodes (C(resources) of C(kubernetes.core.k8s_info)) none of whose addresses, nor its name, is
    in O(known).
  - A pure function; the join token rotation uses it to name the members of the cluster it did not switch.
options:
  _input:
    description: The Nodes.
    type: list
    elements: dict
    required: true
  known:
    description: Addresses and names of the nodes reached.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Name the Nodes the rotation did not reach
  ansible.builtin.debug:
    msg: "{{ nodes.resources | talos.autoextender.nodes_not_in(['192.0.2.10', 'edge-1']) }}"
"""

RETURN = r"""
_value:
  description: The Node names.
  type: list
  elements: str
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _edge_decisions


class FilterModule:
    def filters(self):
        return {"nodes_not_in": _edge_decisions.nodes_not_in}
