# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: credentials
short_description: The credential options of one cloud provider or DNS backend, from autoextender_credentials
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Picks from C(autoextender_credentials) the module options that carry the secrets of one provider, for the
    C(cloud) or the C(dns) action group. The workflow roles and playbooks pass them through C(module_defaults);
    every such option is C(no_log), so its value is never printed, at any verbosity.
  - A provider missing from the mapping gives an empty mapping; the modules then read the controller's own
    environment (E(HCLOUD_TOKEN), E(PDNS_API_KEY), ...), which ansible-core never prints either.
  - The whole mapping is checked on every call; an unknown provider, an unknown key or a value that is not a
    string fails with a message that names the key, never the value.
  - Why not C(environment:) - ansible-core prints a task's environment at C(-vvv) (see C(docs/security.md)).
options:
  _input:
    description:
      - C(autoextender_credentials), a mapping of provider names to their credentials.
      - Cloud providers V(hetzner), V(linode) and V(lab) take C(api_token) and C(api_url);
        DNS backends V(powerdns) and V(cloudflare) take C(api_token); V(rfc2136) takes C(tsig_key_name) and
        C(tsig_key_secret). The V(hetzner) and V(linode) entries serve their DNS backends too (C(api_token)).
    type: dict
    required: true
  kind:
    description: The action group the options are for.
    type: str
    choices: [cloud, dns]
    required: true
  name:
    description: The provider (C(cloud)) or the DNS backend (C(dns)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: A play whose DNS modules get the backend's credentials
  hosts: localhost
  module_defaults:
    group/talos.autoextender.dns: >-
      {{ autoextender_credentials | default({}) | talos.autoextender.credentials('dns', autoextender_dns.provider) }}
  tasks:
    - name: List the servers of a pool, with the token of its provider
      talos.autoextender.edge_pool_info:
        provider: "{{ pool.provider }}"
        cluster: home
      module_defaults:
        group/talos.autoextender.cloud: >-
          {{ autoextender_credentials | default({}) | talos.autoextender.credentials('cloud', pool.provider) }}
"""

RETURN = r"""
_value:
  description:
    - The options, only those given - C(api_token) and C(api_url) for C(cloud); C(api_token), or
      C(tsig_key_name) and C(tsig_key_secret) for V(rfc2136), for C(dns).
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.talos.autoextender.plugins.module_utils._credentials import module_options
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError


def credentials(mapping, kind, name):
    """See DOCUMENTATION."""
    try:
        return module_options(mapping, kind, name)
    except AutoextenderError as e:
        raise AnsibleFilterError(e.msg)


class FilterModule(object):
    """The credentials filter."""

    def filters(self):
        return {"credentials": credentials}
