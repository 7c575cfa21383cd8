# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: talos_info
short_description: Read the version, cluster members and KubeSpan peer status of Talos nodes
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Reads, from the nodes in O(nodes) (or the talosconfig context), the Talos version (C(talosctl version)), the
    machine type, the cluster members (C(talosctl get members)) and the KubeSpan peer statuses
    (C(talosctl get kubespanpeerstatuses)), and sums them up in a health summary.
  - Never changes anything.
extends_documentation_fragment:
  - talos.autoextender.attributes.info_module
  - talos.autoextender.talosctl
options:
  gather:
    description: What to read.
    type: list
    elements: str
    choices: [version, machine_type, members, kubespan_peers]
    default: [version, machine_type, members, kubespan_peers]
notes:
  - An unreachable node fails with C(failure.kind=unreachable) and the cmd, rc and stderr of C(talosctl).
seealso:
  - module: talos.autoextender.talos_apply_config
"""

EXAMPLES = r"""
- name: How is the KubeSpan mesh seen from a home control plane?
  talos.autoextender.talos_info:
    talosconfig: "{{ autoextender_cluster.talosconfig }}"
    nodes: [192.168.1.10]
  register: home

- name: Fail when a KubeSpan peer is down
  ansible.builtin.assert:
    that: home.talos_info.health.healthy
    fail_msg: "KubeSpan peers down: {{ home.talos_info.health.peers_down }}"
"""

RETURN = r"""
talos_info:
  description: What the nodes reported.
  returned: success
  type: dict
  contains:
    versions:
      description: The Talos version of each node.
      type: list
      elements: dict
      returned: when V(version) is in O(gather)
      sample: [{"node": "192.168.1.10", "tag": "v1.13.9", "platform": "metal", "arch": "amd64", "rbac": true}]
    machine_types:
      description: Machine type (C(controlplane), C(worker)) by node.
      type: dict
      returned: when V(machine_type) is in O(gather)
      sample: {"192.168.1.10": "controlplane"}
    members:
      description: The cluster members as the nodes see them (from discovery).
      type: list
      elements: dict
      returned: when V(members) is in O(gather)
      sample: [{"id": "edge-hel1-1", "hostname": "edge-hel1-1", "addresses": ["203.0.113.7"],
                "machine_type": "worker", "operating_system": "Talos (v1.13.9)", "node": "192.168.1.10"}]
    kubespan_peers:
      description: KubeSpan peer statuses (state V(up), V(down) or V(unknown); bytes received and sent).
      type: list
      elements: dict
      returned: when V(kubespan_peers) is in O(gather)
      sample: [{"id": "06D9QQOydzKrOL7oeLiqHy9OWE8KtmJzZII2A5/FLFI=", "label": "edge-hel1-1", "state": "up",
                "endpoint": "203.0.113.7:51820", "last_handshake": "2026-11-24T05:01:58.418262153Z",
                "rx_bytes": 15043220, "tx_bytes": 17869488, "node": "192.168.1.10"}]
    health:
      description: Counts of members and peers by state, the peers not up, and C(healthy) (every peer up).
      type: dict
      returned: success
      sample: {"members": 3, "control_planes": 2, "workers": 1, "kubespan_peers": 2, "kubespan_peers_up": 2,
               "kubespan_peers_down": 0, "kubespan_peers_unknown": 0, "peers_down": [], "healthy": true}
"""

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._talos_node import (
    as_unreachable,
    health_summary,
    parse_machine_types,
    parse_members,
    parse_peer_statuses,
    parse_versions,
)
from ansible_collections.talos.autoextender.plugins.module_utils._talosctl import TalosCLI, talosctl_argument_spec
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule

GATHER = ("version", "machine_type", "members", "kubespan_peers")
# what -> (args, parser, return key)
READS = {
    "version": (["version", "--json"], parse_versions, "versions"),
    "machine_type": (["get", "machinetype", "--output=json"], parse_machine_types, "machine_types"),
    "members": (["get", "members", "--output=json"], parse_members, "members"),
    "kubespan_peers": (["get", "kubespanpeerstatuses", "--output=json"], parse_peer_statuses, "kubespan_peers"),
}


def gather(cli, what):
    """``{return key: parsed}`` for each item of ``what``, plus the health summary."""
    target = ",".join(cli.nodes) or "the talosconfig context's nodes"
    info = {}
    for item in what:
        args, parser, key = READS[item]
        try:
            info[key] = parser(cli.run_json(args, connect=True, what="read %s from %s" % (item, target)))
        except AutoextenderError as e:
            raise as_unreachable(e, target)
    info["health"] = health_summary(info.get("members"), info.get("kubespan_peers"))
    return info


def main(runner=None):
    module = ValidatedModule(
        argument_spec=talosctl_argument_spec(
            gather=dict(type="list", elements="str", choices=list(GATHER), default=list(GATHER)),
        ),
        supports_check_mode=True,
    )
    try:
        info = gather(TalosCLI.from_module(module, runner=runner), [g for g in GATHER if g in module.params["gather"]])
    except AutoextenderError as e:
        module.fail_json(msg=e.msg, failure=e.failure())
        return
    module.exit_json(changed=False, talos_info=info)


if __name__ == "__main__":
    main()
