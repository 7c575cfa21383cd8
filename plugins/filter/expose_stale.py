# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: expose_stale
short_description: The exposed objects that no entry owns any more
version_added: 0.3.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - From the objects found by our labels (C(kubernetes.core.k8s_info) looped over kinds, C(item) the kind), the ones
    whose C(<kind>/<namespace>/<name>) is not among the keys the entries own; the C(talos.autoextender.expose) role
    deletes them.
  - A pure function.
options:
  _input:
    description: The C(results) of the looped C(kubernetes.core.k8s_info) task; C(item) has C(kind) and C(api_version).
    type: list
    elements: dict
    required: true
  desired_keys:
    description: The C(<kind>/<namespace>/<name>) keys of the objects the entries own.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Delete the objects of removed entries
  kubernetes.core.k8s:
    api_version: "{{ item.api_version }}"
    kind: "{{ item.kind }}"
    namespace: "{{ item.namespace }}"
    name: "{{ item.name }}"
    state: absent
  loop: "{{ found.results | talos.autoextender.expose_stale(desired_keys) }}"
"""

RETURN = r"""
_value:
  description: The objects, each with C(key), C(api_version), C(kind), C(namespace) and C(name).
  type: list
  elements: dict
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _expose


class FilterModule:
    def filters(self):
        return {"expose_stale": _expose.stale}
