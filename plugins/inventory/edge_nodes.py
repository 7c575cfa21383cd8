# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: edge_nodes
short_description: The edge servers of talos-autoextender, from every cloud provider at once
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Lists the cloud servers that carry the ownership labels of talos-autoextender (C(managed-by=talos-autoextender)),
    from one or more providers (Hetzner, Linode, the lab), in one inventory. Servers without these labels are never
    listed. Providers filter by labels on their side where their API can.
  - Groups hosts by edge pool, provider and location (see the C(*_group_prefix) options), and supports
    C(keyed_groups), C(groups) and C(compose) like every constructed inventory.
  - The file name must end with C(edge_nodes.yml) or C(edge_nodes.yaml).
  - Every value that comes from a cloud API is marked unsafe, so a server label cannot inject a template.
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: Marks the file as an inventory of this plugin.
    type: str
    required: true
    choices: [talos.autoextender.edge_nodes]
  providers:
    description:
      - The clouds to list servers from.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The provider.
        type: str
        required: true
        choices: [hetzner, lab, linode]
      api_token:
        description:
          - The API token; may be a template, for example C({{ lookup('ansible.builtin.env', 'MY_TOKEN') }}).
          - When not set, E(HCLOUD_TOKEN), E(LINODE_TOKEN) or E(LAB_CLOUD_TOKEN), by provider
            (for the lab also the C(cloud.json) named by E(LAB_CLOUD_CONFIG)).
        type: str
      api_url:
        description:
          - The API base URL (simulators, the lab); may be a template. The public API when not set
            (E(HCLOUD_ENDPOINT), E(LINODE_API_URL), E(LAB_CLOUD_URL) by provider).
        type: str
  cluster:
    description:
      - List only the servers of this cluster (label C(autoextender-cluster)). All clusters when not set.
    type: str
  pool_group_prefix:
    description: Prefix of the group of each edge pool.
    type: str
    default: pool_
  provider_group_prefix:
    description: Prefix of the group of each provider.
    type: str
    default: provider_
  location_group_prefix:
    description: Prefix of the group of each location.
    type: str
    default: location_
  status_group_prefix:
    description:
      - Prefix of the group of each cloud status (C(status_running), C(status_off), C(status_starting), ...), so a
        play can skip or target the servers that are not running.
    type: str
    default: status_
  active_pools:
    description:
      - The pools that serve the edge record set (those of C(autoextender_pools) with C(active) not V(false)). When
        set, each host is also in the group C(edge_active) or C(edge_standby). May be a template.
    type: list
    elements: str
  talos_version:
    description:
      - Look up the Talos version of each server from the image it was created from (one more API call per provider).
    type: bool
    default: true
  timeout:
    description: How many seconds the API calls of one provider may take, retries included.
    type: int
    default: 60
"""

EXAMPLES = r"""
# inventories/edge/edge_nodes.yml: both clouds, tokens from HCLOUD_TOKEN and LINODE_TOKEN
plugin: talos.autoextender.edge_nodes
cluster: home
providers:
  - name: hetzner
  - name: linode
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/talos-autoextender/inventory
cache_timeout: 300
keyed_groups:
  - key: labels['autoextender-pool']
    prefix: active
    separator: "_"
compose:
  ansible_connection: "'local'"

---
# The lab cloud of `make demo`, the token taken from another variable
plugin: talos.autoextender.edge_nodes
providers:
  - name: lab
    api_token: "{{ lookup('ansible.builtin.env', 'LAB_TOKEN') }}"
"""

import re

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var
from ansible_collections.talos.autoextender.plugins.module_utils._edge_node import edge_node
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError, redact
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline


def group_name(prefix, value):
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", str(value))


def host_vars(server, versions):
    """The hostvars of one server (before they are marked unsafe): its edge node, named ``server_name``."""
    node = edge_node(server, versions)
    out = dict((k, v) for k, v in node.items() if k not in ("name", "address"))
    out.update(server_name=node["name"], ansible_host=node["address"])
    return out


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "talos.autoextender.edge_nodes"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("edge_nodes.yml", "edge_nodes.yaml"))

    def _template(self, value):
        return self.templar.template(value) if value and "{" in str(value) else value

    def fetch(self):
        """``[hostvars]`` of every owned server of every configured provider."""
        # Imported here: the cloud SDKs take longer to import than a cached inventory takes to load.
        from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import (
            image_versions,
            make_provider,
            owned_servers,
        )

        hosts = []
        for entry in self.get_option("providers"):
            name = entry.get("name")
            token = self._template(entry.get("api_token"))
            provider = None
            try:
                provider = make_provider(name, token, self._template(entry.get("api_url")),
                                         Deadline(self.get_option("timeout")))
                servers = owned_servers(provider, self.get_option("cluster"))
                versions = image_versions(provider, self.get_option("cluster")) if self.get_option("talos_version") \
                    else {}
            except AutoextenderError as e:
                raise AnsibleParserError("edge_nodes: provider %s: %s" % (
                    name, redact(e.msg, [token] + (provider.secrets() if provider else []))))
            hosts += [host_vars(s, versions) for s in servers]
        return hosts

    def populate(self, hosts):
        strict = self.get_option("strict")
        for hostvars in hosts:
            name = hostvars["server_name"]
            self.inventory.add_host(name)
            for key, value in hostvars.items():
                self.inventory.set_variable(name, key, wrap_var(value))
            for group in self._groups(hostvars):
                self.inventory.add_child(self.inventory.add_group(group), name)
            variables = self.inventory.get_host(name).get_vars()
            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)

    def _groups(self, hostvars):
        """The plugin's own groups of one host: pool, provider, location, status, and active or standby."""
        out = [group_name(self.get_option(option), hostvars[key])
               for option, key in (("pool_group_prefix", "pool"), ("provider_group_prefix", "provider"),
                                   ("location_group_prefix", "location"), ("status_group_prefix", "status"))
               if hostvars[key]]
        active = self.get_option("active_pools")
        if active is not None:
            active = self._template(active)
            out.append("edge_active" if hostvars["pool"] in active else "edge_standby")
        return out

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache")
        hosts = None
        update_cache = use_cache and not cache
        if use_cache and cache:
            try:
                hosts = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if hosts is None:
            hosts = self.fetch()
        if update_cache:
            self._cache[cache_key] = hosts
        self.populate(hosts)
