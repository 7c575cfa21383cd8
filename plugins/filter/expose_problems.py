# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: expose_problems
short_description: Every reason to refuse the exposed entries, before anything is applied
version_added: 0.3.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Checks the named entries (C(talos.autoextender.expose_entries)) all at once and returns one message per problem,
    an empty list when they can be applied. In order - each entry's own checks (required keys, protocol, host in the
    zone and not the edge name, duplicate hosts, ports, edge ports against the edge's own ports and each other, the
    CRDs it needs); then the Services the entries name (present, with the port and protocol); then objects of the
    names the entries would own that exist and are not ours.
  - A pure function; the C(talos.autoextender.expose) role does the lookups and passes their results.
options:
  _input:
    description: The named entries.
    type: list
    elements: dict
    required: true
  zone:
    description: The DNS zone the hosts must be in, without a trailing dot.
    type: str
    required: true
  edge_hostname:
    description: The name of the edge record set, which no entry may take.
    type: str
    required: true
  reserved_ports:
    description: The edge's own ports, which no tcp/udp C(edge_port) may take.
    type: list
    elements: int
    required: true
  crds:
    description: Which CRDs exist, by kind.
    type: dict
    required: true
  service_results:
    description: The C(results) of C(kubernetes.core.k8s_info) looped over the entries' Services (C(item) the entry).
    type: list
    elements: dict
    default: []
  name_results:
    description: The C(results) of C(kubernetes.core.k8s_info) looped over C(talos.autoextender.expose_planned).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Refuse bad entries
  ansible.builtin.assert:
    that: errors | length == 0
    fail_msg: "{{ errors | join('; ') }}"
  vars:
    errors: >-
      {{ entries | talos.autoextender.expose_problems('example.com', 'edge.example.com', [80, 443], crds,
           service_results=services.results, name_results=names.results) }}
"""

RETURN = r"""
_value:
  description: "Messages such as C(app.example.org: host is outside the DNS zone example.com)."
  type: list
  elements: str
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _expose


class FilterModule:
    def filters(self):
        return {"expose_problems": _expose.problems}
