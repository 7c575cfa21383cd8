# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: kubespan_patches
short_description: The machine config patches that enable KubeSpan and discovery on a home node
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Strategic-merge patches in the layout of the home cluster's Talos version. Talos 1.11 and 1.12 -
    C(machine.network.kubespan) and C(cluster.discovery) (the Kubernetes registry disabled). Talos 1.13 -
    a C(KubeSpanConfig) document and C(cluster.discovery). Talos 1.14 - a C(KubeSpanConfig) document, the
    C(DiscoveryServiceConfig) document C(default), and the deletion of a C(cluster.discovery) an upgrade
    left behind (Talos 1.14 rejects it next to that document).
  - Used by the C(talos.autoextender.kubespan) role.
options:
  _input:
    description: The home cluster's Talos version, such as V(v1.14.1).
    type: str
    required: true
  kubespan:
    description:
      - KubeSpan settings with the option names of M(talos.autoextender.talos_machine_config) O(talos.autoextender.talos_machine_config#module:kubespan)
        (C(enabled), C(mtu), C(advertise_kubernetes_networks), C(endpoint_filters), ...).
    type: dict
    required: true
  discovery_endpoint:
    description: URL of a self-hosted discovery service; when not set, Talos' default C(https://discovery.talos.dev/).
    type: str
"""

EXAMPLES = r"""
- name: The patches for a Talos 1.14 home node
  ansible.builtin.debug:
    msg: "{{ 'v1.14.1' | talos.autoextender.kubespan_patches({'enabled': true, 'mtu': 1412}) }}"
"""

RETURN = r"""
_value:
  description: The patch documents.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._talos_machine_config import home_kubespan_patches


def kubespan_patches(talos_version, kubespan, discovery_endpoint=None):
    """See DOCUMENTATION."""
    try:
        return home_kubespan_patches(talos_version, kubespan, discovery_endpoint)
    except AutoextenderError as e:
        raise AnsibleFilterError("kubespan_patches: %s" % e.msg)


class FilterModule:
    def filters(self):
        return {"kubespan_patches": kubespan_patches}
