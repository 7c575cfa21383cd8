# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: server_node_names
short_description: The Kubernetes Nodes that are one cloud server
version_added: 0.3.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - The names of the Nodes (C(resources) of C(kubernetes.core.k8s_info)) that have one of the server's public
    addresses, or its name. A Node is named by its machine config, not by the server, so the addresses decide.
  - A pure function; the failover uses it to delete the Node of a server it replaces.
options:
  _input:
    description: The server (C(public_ipv4), C(public_ipv6), C(name)).
    type: dict
    required: true
  k8s_nodes:
    description: The Nodes.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Find the Node of a failed server
  ansible.builtin.set_fact:
    names: "{{ victim | talos.autoextender.server_node_names(nodes.resources) }}"
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
        return {"server_node_names": _edge_decisions.server_node_names}
