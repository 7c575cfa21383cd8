# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloud_firewall
short_description: The inbound firewall of Talos edge servers
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Creates, updates or deletes a cloud firewall for the edge servers of a cluster (or of one edge pool).
  - "It lets in exactly: UDP 51820 for KubeSpan, TCP 80 and 443 for the ingress, TCP 50000 (the Talos API)
    only from O(talos_api_sources) (the control node, during the join), and O(extra_rules). Everything else
    inbound is dropped."
  - The firewall applies to every server carrying the ownership labels of O(cluster) (and O(pool) when set),
    so new servers of the pool are covered without another run.
  - A firewall with the same name but without our labels is never changed or deleted.
extends_documentation_fragment:
  - talos.autoextender.cloud
  - talos.autoextender.cloud.wait
options:
  state:
    description:
      - V(present) creates or updates the firewall; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - The firewall's name.
    type: str
    required: true
  pool:
    description:
      - Apply the firewall to the servers of this edge pool only. All edge servers of O(cluster) when not set.
    type: str
  talos_api_sources:
    description:
      - Addresses or networks (CIDR) allowed to reach the Talos API, TCP 50000. Usually the control node's
        public address, while servers join; remove it afterwards.
      - Empty closes TCP 50000.
    type: list
    elements: str
    default: []
  kubespan:
    description:
      - Open UDP 51820 to everyone, for KubeSpan (WireGuard).
    type: bool
    default: true
  ingress_ports:
    description:
      - TCP ports of the ingress, open to O(ingress_sources).
    type: list
    elements: int
    default: [80, 443]
  ingress_sources:
    description:
      - Who may reach O(ingress_ports) (and O(kubespan)).
    type: list
    elements: str
    default: [0.0.0.0/0, "::/0"]
  extra_rules:
    description:
      - More inbound rules.
    type: list
    elements: dict
    default: []
    suboptions:
      protocol:
        description: The protocol.
        type: str
        choices: [tcp, udp, icmp]
        required: true
      port:
        description: A port or a range such as V(30000-32767); not for V(icmp).
        type: str
      sources:
        description: Addresses or networks (CIDR).
        type: list
        elements: str
        required: true
      description:
        description: What the rule is for.
        type: str
  labels:
    description:
      - More labels for the firewall. The ownership labels are always set. Labels not listed are kept.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description:
      - Predicts the firewall and the same C(changed) as a real run.
  diff_mode:
    support: full
    description:
      - The firewall (rules, labels, selector) before and after.
  idempotent:
    support: full
    description:
      - Rules are compared as a set (order and address notation do not matter).
"""

EXAMPLES = r"""
- name: The firewall of the edge pool hel1-a, the Talos API open to the control node
  talos.autoextender.cloud_firewall:
    provider: hetzner
    cluster: home
    pool: hel1-a
    name: home-hel1-a
    talos_api_sources: ["{{ control_node_ip }}/32"]

- name: Close the Talos API once the servers joined
  talos.autoextender.cloud_firewall:
    provider: hetzner
    cluster: home
    pool: hel1-a
    name: home-hel1-a
    talos_api_sources: []
"""

RETURN = r"""
cloud_firewall:
  description:
    - The firewall. In check mode, as it would be. With O(state=absent), an empty dict.
  returned: always
  type: dict
  contains:
    id:
      description: The provider's id (V(null) in check mode before creation).
      type: str
      sample: "38"
    name:
      description: Its name.
      type: str
      sample: home-hel1-a
    provider:
      description: The provider.
      type: str
      sample: hetzner
    labels:
      description: Its labels.
      type: dict
      sample: {managed-by: talos-autoextender, autoextender-cluster: home, autoextender-pool: hel1-a}
    rules:
      description: Inbound rules (protocol, port, sources, description).
      type: list
      elements: dict
      sample: [{protocol: udp, port: "51820", sources: [0.0.0.0/0, "::/0"], description: KubeSpan}]
    applies_to:
      description: The labels a server must carry for the firewall to apply.
      type: dict
      sample: {managed-by: talos-autoextender, autoextender-cluster: home, autoextender-pool: hel1-a}
"""

import ipaddress

from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import CloudResource, cloud_argument_spec
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from ansible_collections.talos.autoextender.plugins.module_utils._resource import differences
from ansible_collections.talos.autoextender.plugins.module_utils._validate import PORT, Address, PortSpec, ValidatedModule


def cidr(value):
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError as e:
        raise AutoextenderError("Invalid firewall source %r: %s" % (value, e), kind=VALIDATION)


def rule(protocol, port, sources, description=None):
    """A Rule dict in its normal form: the port a string, sources as sorted CIDRs."""
    return {"protocol": protocol, "port": None if protocol == "icmp" or port is None else str(port),
            "sources": sorted(set(cidr(s) for s in sources)), "description": description or None}


def edge_rules(params):
    """The rules the options ask for (DESIGN.md section 7)."""
    rules = []
    if params["kubespan"]:
        rules.append(rule("udp", 51820, params["ingress_sources"], "KubeSpan (WireGuard)"))
    for port in params["ingress_ports"]:
        rules.append(rule("tcp", port, params["ingress_sources"], "Ingress"))
    if params["talos_api_sources"]:
        rules.append(rule("tcp", 50000, params["talos_api_sources"], "Talos API (apid), control node only"))
    for extra in params["extra_rules"]:
        rules.append(rule(extra["protocol"], extra.get("port"), extra["sources"], extra.get("description")))
    return rules


class CloudFirewall(CloudResource):
    return_key = "cloud_firewall"
    unordered = ("rules",)
    purge = ("applies_to",)

    def fetch(self):
        found = self.provider.get_firewall(self.params["name"])
        return self.check_owned(found, "firewall") if found else None

    def desired(self):
        return {"name": self.params["name"], "labels": self.labels(), "rules": edge_rules(self.params),
                "applies_to": self.ownership}

    def compare(self, current, desired):
        current = dict(current, rules=[rule(r["protocol"], r.get("port"), r.get("sources") or [], r.get("description"))
                                       for r in current["rules"]])
        return differences(current, desired, self.unordered, self.purge)

    def predict_create(self, desired):
        return base.firewall(provider=self.params["provider"], **desired)

    def create(self, desired):
        return self.provider.create_firewall(desired, self.deadline)

    def update(self, current, changes):
        spec = {"name": current["name"], "rules": current["rules"], "applies_to": current["applies_to"],
                "labels": dict(current["labels"])}
        for key, (dummy, want) in changes.items():
            if key == "labels":
                spec["labels"].update(want)
            else:
                spec[key] = want
        return self.provider.update_firewall(current, spec, self.deadline)

    def delete(self, current):
        self.provider.delete_firewall(current, self.deadline)


NETWORK = Address(network=True)
RULES = {"ingress_ports": PORT, "extra_rules.port": PortSpec(), "talos_api_sources": NETWORK,
         "ingress_sources": NETWORK, "extra_rules.sources": NETWORK}


def main():
    module = ValidatedModule(
        rules=RULES,
        argument_spec=cloud_argument_spec(
            name=dict(type="str", required=True),
            pool=dict(type="str"),
            talos_api_sources=dict(type="list", elements="str", default=[]),
            kubespan=dict(type="bool", default=True),
            ingress_ports=dict(type="list", elements="int", default=[80, 443]),
            ingress_sources=dict(type="list", elements="str", default=["0.0.0.0/0", "::/0"]),
            extra_rules=dict(type="list", elements="dict", default=[], options=dict(
                protocol=dict(type="str", required=True, choices=["tcp", "udp", "icmp"]),
                port=dict(type="str"),
                sources=dict(type="list", elements="str", required=True),
                description=dict(type="str"),
            )),
        ),
        supports_check_mode=True,
    )
    CloudFirewall(module).run()


if __name__ == "__main__":
    main()
