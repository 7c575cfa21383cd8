# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: pools_sharing_image
short_description: The other pools of the desired state that boot the same Talos image as a pool
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - A pool's Talos image is identified by its provider, C(arch) (default V(amd64)) and C(schematic) (default the
    schematic without extensions); the Talos version is the cluster's. Returns the names of the other pools with
    the same identity, sorted.
  - Used by the C(talos.autoextender.edge_pool_decommission) role to keep an image another pool would need.
  - Pools named in O(leaving) are removed in the same run (C(decommission.yml -e expired=true) removes every
    expired pool), so they do not count; the servers still running the image keep it until they are gone.
options:
  _input:
    description: The pools, C(autoextender_pools).
    type: list
    elements: dict
    required: true
  pool:
    description: The pool, with at least C(name) and C(provider).
    type: dict
    required: true
  leaving:
    description: Names of pools removed in the same run; they do not keep the image.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Which pools keep the image of pool lab-b
  ansible.builtin.debug:
    msg: "{{ autoextender_pools | talos.autoextender.pools_sharing_image({'name': 'lab-b', 'provider': 'lab'}) }}"
"""

RETURN = r"""
_value:
  description: Pool names.
  type: list
  elements: str
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _desired_state


def pools_sharing_image(pools, pool, leaving=None):
    """See DOCUMENTATION."""
    return _desired_state.pools_sharing_image(pools, pool, leaving or ())


class FilterModule:
    def filters(self):
        return {"pools_sharing_image": pools_sharing_image}
