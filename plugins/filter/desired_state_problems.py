# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: desired_state_problems
short_description: What is wrong with the desired state (the autoextender variables) before anything is created
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Checks the rules of the desired state that a schema cannot express, and returns one message per problem, each
    naming the option, the value and the rule; an empty list when everything is valid.
  - "Ranges: a pool's C(count) of at least 1 (removing a pool is the decommission playbook's job), a DNS C(ttl) and
    C(min_values) of at least 1, ports between 1 and 65535, a KubeSpan C(mtu) between 1280 and 9000."
  - "Names: unique pool names; no empty or blank C(location) and C(server_type); a 64-hex-digit C(schematic); a cluster
    name that can be the DNS owner id; DNS names for the zone, C(edge_name) and each exposed C(host), with room for
    their ownership records (C(_autoextender.<edge>), C(extdns-cname.<host>)); Kubernetes names for namespaces and
    Services."
  - "Derived names: the server names C(<cluster>-<pool>-<n>), the firewall name C(<cluster>-<pool>) and the ownership
    labels are checked against the limits of each provider the pools use (Hetzner labels, Linode tags and labels,
    the lab's names) and of Kubernetes; no API is called."
  - Used by the C(talos.autoextender.preflight) role; placement against a provider's catalog is
    M(talos.autoextender.cloud_placement_info).
options:
  _input:
    description: The cluster, C(autoextender_cluster).
    type: dict
    required: true
  pools:
    description: The pools, C(autoextender_pools).
    type: list
    elements: dict
    required: true
  dns:
    description: The DNS settings, C(autoextender_dns).
    type: dict
    required: true
  expose:
    description: The exposed services, C(autoextender_expose).
    type: list
    elements: dict
    default: []
  reserved_ports:
    description: Edge ports a tcp or udp service may not take.
    type: list
    elements: int
    default: [80, 443, 50000, 50001, 51820]
"""

EXAMPLES = r"""
- name: Check the desired state
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: >-
      {{ autoextender_cluster | talos.autoextender.desired_state_problems(autoextender_pools, autoextender_dns,
         autoextender_expose) }}
"""

RETURN = r"""
_value:
  description: 'The problems, for example C(autoextender_dns.ttl = -5: must be between 1 and 2147483647).'
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.talos.autoextender.plugins.module_utils import _desired_state


def desired_state_problems(cluster, pools, dns, expose=None, reserved_ports=None):
    if not isinstance(cluster, dict) or not isinstance(dns, dict) or not isinstance(pools, list):
        raise AnsibleFilterError("desired_state_problems takes autoextender_cluster (a dict), autoextender_pools "
                                 "(a list) and autoextender_dns (a dict)")
    return _desired_state.problems(cluster, pools, dns, expose or [],
                                   _desired_state.RESERVED_PORTS if reserved_ports is None else reserved_ports)


class FilterModule:
    def filters(self):
        return {
            "desired_state_problems": desired_state_problems,
        }
