# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: credentials_migration
short_description: What to do with the old autoextender_environment variable
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Earlier versions passed credentials to the modules through the C(environment:) of the workflow plays,
    filled from C(autoextender_environment). ansible-core prints a task's environment at C(-vvv), so every
    credential given that way leaked into the output and into C(ANSIBLE_LOG_PATH).
  - Returns an empty string when C(autoextender_environment) is unset or empty, else a message that says where
    each of its variables belongs now (C(autoextender_credentials.<provider>.<key>), C(autoextender_cluster),
    or the controller's environment). It names the variables, never their values.
  - The C(talos.autoextender.preflight) role fails with this message.
options:
  _input:
    description: The old C(autoextender_environment) (a mapping of environment variable names to values), or null.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse the old credential variable
  ansible.builtin.assert:
    that: _message | length == 0
    fail_msg: "{{ _message }}"
  vars:
    _message: "{{ autoextender_environment | default({}) | talos.autoextender.credentials_migration }}"
"""

RETURN = r"""
_value:
  description: The message, or an empty string.
  type: str
"""

from ansible_collections.talos.autoextender.plugins.module_utils._credentials import environment_migration


def credentials_migration(environment):
    """See DOCUMENTATION."""
    return environment_migration(environment) or ""


class FilterModule(object):
    """The credentials_migration filter."""

    def filters(self):
        return {"credentials_migration": credentials_migration}
