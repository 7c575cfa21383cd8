# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: edge_pool_info
short_description: The servers of an edge pool, with their status and addresses
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Lists the servers of one edge pool (or of every pool of O(cluster)) of one provider.
  - Only servers carrying the ownership labels are listed; the provider filters by labels where its API can.
  - Read-only.
extends_documentation_fragment:
  - talos.autoextender.cloud
  - talos.autoextender.attributes.info_module
options:
  pool:
    description:
      - The edge pool. Every pool of O(cluster) when not set.
    type: str
  firewall:
    description:
      - Also look up the firewall of this name (the pool's firewall is C(<cluster>-<pool>)), returned in RV(firewall).
    type: str
    version_added: 0.2.0
  floating:
    description:
      - Also list the floating addresses of the pool (or of every pool of O(cluster)), returned in RV(floating_ips).
    type: bool
    default: false
    version_added: 0.2.0
  running:
    description:
      - Wait until each server of these names runs, one of them is in a status it does not leave by itself
        (C(error), C(off), C(unknown)), or O(wait_timeout) passes; RV(progress) says which.
      - The wait polls with backoff and returns one event per status change instead of a line per poll.
      - Reading the status only, this is the same in check mode.
    type: list
    elements: str
    version_added: 0.2.0
  wait_timeout:
    description:
      - How many seconds the API calls may take, retries included, and with O(running), the wait as well.
      - A wait that times out does not fail the module; RV(progress.timed_out) is set.
    type: int
    default: 60
seealso:
  - module: talos.autoextender.cloud_server
  - plugin: talos.autoextender.edge_nodes
    plugin_type: inventory
"""

EXAMPLES = r"""
- name: The servers of pool hel1-a
  talos.autoextender.edge_pool_info:
    provider: hetzner
    cluster: home
    pool: hel1-a
  register: pool

- name: Their public addresses
  ansible.builtin.debug:
    msg: "{{ pool.servers | map(attribute='public_ipv4') | list }}"

- name: Wait up to 5 minutes until two servers run
  talos.autoextender.edge_pool_info:
    provider: hetzner
    cluster: home
    pool: hel1-a
    running: [home-hel1-a-1, home-hel1-a-2]
    wait_timeout: 300
  register: boot

- name: Stop unless both run
  ansible.builtin.assert:
    that: boot.progress.pending | length == 0
    fail_msg: "not running: {{ boot.progress.pending }}; failed: {{ boot.progress.broken }}"
"""

RETURN = r"""
servers:
  description:
    - The servers, sorted by name. Each has the keys of RV(talos.autoextender.cloud_server#module:cloud_server)
      (C(id), C(name), C(provider), C(location), C(server_type), C(status), C(public_ipv4), C(public_ipv6),
      C(image), C(labels), C(created)); C(labels) holds the pool in C(autoextender-pool).
  returned: always
  type: list
  elements: dict
  sample:
    - id: "4711"
      name: home-hel1-a-1
      provider: hetzner
      location: hel1
      server_type: cx23
      status: running
      public_ipv4: 203.0.113.7
      public_ipv6: 2001:db8::1
      image: "1234"
      labels: {managed-by: talos-autoextender, autoextender-cluster: home, autoextender-pool: hel1-a}
      created: "2026-04-01T10:00:00Z"
nodes:
  description:
    - The same servers as edge nodes, the shape the C(edge_nodes) inventory gives its hosts and
      M(talos.autoextender.edge_dns) takes as O(talos.autoextender.edge_dns#module:nodes) - C(name),
      C(pool), C(cluster), C(provider), C(location), C(server_type), C(status), C(server_id), C(public_ipv4),
      C(public_ipv6), C(address) (the IPv4 address, else the IPv6 one), C(labels) and C(talos_version) (from the
      C(talos-version) label, when set).
  returned: always
  type: list
  elements: dict
  sample:
    - name: home-hel1-a-1
      pool: hel1-a
      cluster: home
      provider: hetzner
      location: hel1
      server_type: cx23
      status: running
      server_id: "4711"
      public_ipv4: 203.0.113.7
      public_ipv6: 2001:db8::1
      address: 203.0.113.7
      labels: {managed-by: talos-autoextender, autoextender-cluster: home, autoextender-pool: hel1-a}
      talos_version: null
firewall:
  description:
    - The firewall named O(firewall) with the keys of RV(talos.autoextender.cloud_firewall#module:cloud_firewall),
      plus C(owned), whether it carries the ownership labels of O(cluster) and O(pool) (only then is it ever
      changed or deleted); an empty dict when there is none.
  returned: when O(firewall) is set
  type: dict
  sample: {id: "38", name: home-hel1-a, owned: true, labels: {managed-by: talos-autoextender}}
  version_added: 0.2.0
floating_ips:
  description:
    - The floating addresses carrying the ownership labels, sorted by name, each with the keys of
      RV(talos.autoextender.cloud_floating_ip#module:cloud_floating_ip).
  returned: when O(floating=true)
  type: list
  elements: dict
  sample:
    - {id: "7", name: home-hel1-a-ipv4, provider: hetzner, family: ipv4, address: 203.0.113.7, location: hel1,
       server: "4711", labels: {managed-by: talos-autoextender, autoextender-cluster: home, autoextender-pool: hel1-a}}
  version_added: 0.2.0
progress:
  description: How the wait for O(running) ended.
  returned: when O(running) is set
  type: dict
  version_added: 0.2.0
  contains:
    running:
      description: The names that run.
      type: list
      elements: str
    pending:
      description: The names that do not run (missing ones included).
      type: list
      elements: str
    broken:
      description: C(name) and C(status) of each server in C(error), C(off) or C(unknown).
      type: list
      elements: dict
    timed_out:
      description: Whether O(wait_timeout) passed before the wait was done.
      type: bool
    events:
      description: "One line per status change: C(<seconds>s: <name>: <status>)."
      type: list
      elements: str
  sample:
    running: [home-hel1-a-1]
    pending: [home-hel1-a-2]
    broken: []
    timed_out: true
    events: ["0s: home-hel1-a-1: starting", "0s: home-hel1-a-2: starting", "41s: home-hel1-a-1: running"]
"""

from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import (
    check_owned,
    connection_argument_spec,
    make_provider,
    owned_floating_ips,
    owned_servers,
)
from ansible_collections.talos.autoextender.plugins.module_utils._edge_node import edge_node
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError, redact
from ansible_collections.talos.autoextender.plugins.module_utils._pool_wait import wait_running
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline


def is_ours(found, cluster, pool):
    """Whether cloud_firewall (and cloud_server) would change ``found``: the same ownership rule."""
    try:
        check_owned(found, "firewall", cluster, pool)
    except AutoextenderError:
        return False
    return True


def main():
    module = ValidatedModule(
        argument_spec=connection_argument_spec(pool=dict(type="str"), firewall=dict(type="str"),
                                               floating=dict(type="bool", default=False),
                                               running=dict(type="list", elements="str"),
                                               wait_timeout=dict(type="int", default=60)),
        supports_check_mode=True,
    )
    params = module.params
    provider = None
    try:
        deadline = Deadline(params["wait_timeout"])
        provider = make_provider(params["provider"], params["api_token"], params["api_url"], deadline)
        extra = {}
        if params["running"]:
            servers, progress, events = wait_running(
                lambda: owned_servers(provider, params["cluster"], params["pool"]), params["running"], deadline)
            extra["progress"] = dict((k, v) for k, v in progress.items() if k != "done")
            extra["progress"]["events"] = events
        else:
            servers = owned_servers(provider, params["cluster"], params["pool"])
        if params["floating"]:
            extra["floating_ips"] = owned_floating_ips(provider, params["cluster"], params["pool"])
        if params["firewall"]:
            found = provider.get_firewall(params["firewall"])
            extra["firewall"] = dict(found, owned=is_ours(found, params["cluster"], params["pool"])) if found else {}
    except AutoextenderError as e:
        e = e.redacted([params["api_token"]] + (provider.secrets() if provider else []))
        module.fail_json(msg=e.msg, failure=e.failure())
    servers = redact(servers, provider.secrets())
    module.exit_json(changed=False, servers=servers, nodes=[edge_node(s) for s in servers],
                     **redact(extra, provider.secrets()))


if __name__ == "__main__":
    main()
