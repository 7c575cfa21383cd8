# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: placement_problems
short_description: The messages of the bad placements among cloud_placement_info loop results
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Takes the C(results) of a looped M(talos.autoextender.cloud_placement_info) task whose C(item) is a pool and
    returns one message per problem, naming the pool; an empty list when every pool can be placed.
  - Skipped loop items count as placeable. Used by the C(talos.autoextender.preflight) role.
options:
  _input:
    description: The C(results) of the looped task.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Stop on a bad placement
  ansible.builtin.assert:
    that: bad | length == 0
    fail_msg: "{{ bad | join('; ') }}"
  vars:
    bad: "{{ placement.results | talos.autoextender.placement_problems }}"
"""

RETURN = r"""
_value:
  description: "Messages such as C(autoextender_pools [pool lab-a]: Unknown lab cloud location 'mars' ...)."
  type: list
  elements: str
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _desired_state


def placement_problems(results):
    """See DOCUMENTATION."""
    return _desired_state.placement_messages(results)


class FilterModule:
    def filters(self):
        return {"placement_problems": placement_problems}
