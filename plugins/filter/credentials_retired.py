# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: credentials_retired
short_description: The values about to be written to a Secret that a credential rotation retired
version_added: 0.3.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - C(playbooks/rotate_credentials.yml) (module C(talos.autoextender.credential_rotation)) records on each Secret
    it switched a fingerprint of the value it replaced, in the annotation C(autoextender.io/credentials-retired)
    (a truncated SHA-256, never the value; at most three per data key).
  - Given that Secret as read from the cluster and the values a role is about to write to it, this filter returns
    the data keys whose value is one the rotation retired. The roles C(talos.autoextender.external_dns) and
    C(talos.autoextender.cert_manager) refuse to write then, so a run with an C(autoextender_credentials) that was
    not updated after a rotation does not put the old credential back.
  - The result names data keys and dates only, never a value. A pure function.
options:
  _input:
    description: The Secret as read (a C(kubernetes.core.k8s_info) resource); V({}) or V(null) when there is none.
    type: dict
    required: true
  values:
    description: The values about to be written, by data key, as plain strings (not base64).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Read the Secret the role writes
  kubernetes.core.k8s_info:
    api_version: v1
    kind: Secret
    namespace: external-dns
    name: external-dns-credentials
  register: found
  no_log: true

- name: Refuse to write a credential that a rotation retired
  ansible.builtin.assert:
    that: retired | length == 0
    fail_msg: "{{ retired | map(attribute='key') | join(', ') }}: retired by a rotation; update autoextender_credentials"
    quiet: true
  vars:
    retired: "{{ found.resources | first | default({}) | talos.autoextender.credentials_retired({'pdns-api-key': key}) }}"
"""

RETURN = r"""
_value:
  description: One entry per data key whose value is retired, sorted by key; empty when none is.
  type: list
  elements: dict
  contains:
    key:
      description: The data key of the Secret.
      type: str
      sample: pdns-api-key
    retired:
      description: The UTC date of the rotation that retired the value.
      type: str
      sample: "2026-12-07"
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.talos.autoextender.plugins.module_utils import _credentials_retired


def credentials_retired(secret, values):
    """See DOCUMENTATION."""
    if secret is not None and not isinstance(secret, dict):
        raise AnsibleFilterError("credentials_retired: the input must be the Secret as read (a dict), got %s"
                                 % type(secret).__name__)
    if not isinstance(values, dict):
        raise AnsibleFilterError("credentials_retired: values must be {data key: value}, got %s"
                                 % type(values).__name__)
    plain = dict((str(k), None if v is None else str(v)) for k, v in values.items())
    return _credentials_retired.retired(secret or {}, plain)


class FilterModule:
    def filters(self):
        return {"credentials_retired": credentials_retired}
