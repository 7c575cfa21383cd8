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
  wait_for_peers:
    description:
      - KubeSpan peer labels (node names) that every node in O(nodes) must report V(up); the module reads the
        peers again until they are, or fails with C(failure.kind=timeout) naming each peer that is not up and
        its last state. Implies V(kubespan_peers) in O(gather).
      - Empty (the default) waits for nothing.
    type: list
    elements: str
    default: []
  wait_timeout:
    description:
      - Seconds, in total, to ask again a node that does not answer (rebooting, so connection refused or
        unavailable) and to wait for O(wait_for_peers).
    type: int
    default: 30
notes:
  - A node still unreachable after O(wait_timeout) fails with C(failure.kind=unreachable) and the cmd, rc and
    stderr of C(talosctl).
  - A node that does not trust the talosconfig (another cluster's, or a node in maintenance mode) fails at once
    with C(failure.kind=tls) and a one-line message.
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
failure:
  description: Why the task failed; C(kind) is V(unreachable), V(tls), V(timeout), V(command) or V(parse).
  returned: failure
  type: dict
  sample: {"kind": "timeout", "peers_not_up": {"192.168.1.10": ["edge-hel1-1"]}, "timeout": 30}
"""

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._talos_info import GATHER, gather, wait_for_peers
from ansible_collections.talos.autoextender.plugins.module_utils._talos_node import health_summary
from ansible_collections.talos.autoextender.plugins.module_utils._talosctl import TalosCLI, talosctl_argument_spec
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline


def main(runner=None):
    module = ValidatedModule(
        argument_spec=talosctl_argument_spec(
            gather=dict(type="list", elements="str", choices=list(GATHER), default=list(GATHER)),
            wait_for_peers=dict(type="list", elements="str", default=[]),
            wait_timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    p = module.params
    what = [g for g in GATHER if g in p["gather"] or (g == "kubespan_peers" and p["wait_for_peers"])]
    deadline = Deadline(p["wait_timeout"])
    cli = TalosCLI.from_module(module, runner=runner)
    try:
        info = gather(cli, what, deadline)
        if p["wait_for_peers"]:
            info["kubespan_peers"] = wait_for_peers(cli, p["wait_for_peers"], deadline, info["kubespan_peers"])
            info["health"] = health_summary(info.get("members"), info["kubespan_peers"])
    except AutoextenderError as e:
        result = {"msg": e.msg, "failure": e.failure()}
        if e.partial is not None:
            result["talos_info"] = e.partial
        module.fail_json(**result)
        return
    module.exit_json(changed=False, talos_info=info)


if __name__ == "__main__":
    main()
