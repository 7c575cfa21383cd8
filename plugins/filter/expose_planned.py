# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: expose_planned
short_description: The Kubernetes objects the exposed entries will own
version_added: 0.3.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - For each entry of M(talos.autoextender.expose_entries) output with a namespace, the objects it will own, so the
    C(talos.autoextender.expose) role can look for objects of the same names that are not ours before it applies
    anything. An http entry owns an Ingress (and a Certificate with C(tls)); a tcp or udp entry owns a Traefik
    IngressRouteTCP or IngressRouteUDP and a DNSEndpoint.
  - A pure function.
options:
  _input:
    description: The named entries (the output of C(talos.autoextender.expose_entries)).
    type: list
    elements: dict
    required: true
  crds:
    description: Which CRDs exist, by kind (C(IngressRouteTCP), C(IngressRouteUDP), C(Certificate), C(DNSEndpoint)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Look for objects of the same names
  kubernetes.core.k8s_info:
    api_version: "{{ item.api_version }}"
    kind: "{{ item.kind }}"
    namespace: "{{ item.namespace }}"
    name: "{{ item.name }}"
  loop: "{{ entries | talos.autoextender.expose_planned(crds) | selectattr('crd_present') | list }}"
"""

RETURN = r"""
_value:
  description: The objects, each with C(api_version), C(kind), C(namespace), C(name) and C(crd_present).
  type: list
  elements: dict
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _expose


class FilterModule:
    def filters(self):
        return {"expose_planned": _expose.planned}
