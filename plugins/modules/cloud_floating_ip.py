# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloud_floating_ip
short_description: A floating public address of an edge pool, routed to one of its servers
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Creates, moves or deletes a public address that is not tied to one server, for an edge pool. It is a Floating IP
    on V(hetzner), a floating address of the lab cloud on V(lab) (IPv4 only), an additional public IPv4 of a
    Linode of the pool on V(linode) (IPv4 only).
  - The address is routed to one server of the pool at a time (O(server)); moving it to another server is one
    API call, so clients that keep a cached DNS answer keep reaching the pool when a server fails.
  - Every server of the pool must have the address configured on its interface to answer on it; the
    C(talos_join_config) role renders that into the join config of a pool with a floating address.
  - The address carries the ownership labels of O(cluster) and O(pool); one with the same name but without
    them is never changed or deleted.
  - On V(linode) an address has no labels and always sits on a Linode. It is ours when it is a public IPv4 of a
    Linode with the ownership tags of O(cluster) and O(pool) other than that Linode's first one; O(name) must be
    C(<cluster>-<pool>-ipv4), O(labels) cannot add labels, O(server) or O(servers) is needed to create it (on that
    Linode), it cannot be routed nowhere, and moves stay within its region. One per pool.
  - The module refuses V(ipv6) on V(lab) and V(linode) with the reason.
extends_documentation_fragment:
  - talos.autoextender.cloud
  - talos.autoextender.cloud.wait
options:
  state:
    description:
      - V(present) creates the address (and routes it to O(server)); V(absent) unassigns and deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - The address's name, unique per provider account.
    type: str
    required: true
  pool:
    description:
      - The edge pool the address belongs to; O(server) must be a server of this pool.
    type: str
    required: true
  family:
    description:
      - V(ipv4) or V(ipv6) (V(hetzner) only; the address is then the first of a /64).
      - It cannot change in place.
    type: str
    choices: [ipv4, ipv6]
    default: ipv4
  location:
    description:
      - The location the address lives in (the pool's). When not set, the location of O(server).
      - It cannot change in place.
    type: str
  server:
    description:
      - The name of the server of O(pool) the address is routed to. A different server than the current one
        moves the address.
      - Not set, the routing is not managed (a new address is created in O(location), routed nowhere).
    type: str
  servers:
    description:
      - Candidates, in order of preference (for failover, the healthy servers of the pool). The address stays on the
        server it is routed to when that is one of them, and is moved to the first of them that exists otherwise.
      - Names that are not servers of O(pool) are skipped; none left fails.
    type: list
    elements: str
  labels:
    description:
      - More labels for the address. The ownership labels are always set. Labels not listed are kept.
      - A change of labels updates the address in place (it keeps its address and routing); on V(linode), where an
        address has no labels of its own, it fails with that reason.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description:
      - Predicts the address (its value unknown before creation) and the same C(changed) as a real run.
  diff_mode:
    support: full
    description:
      - The address (server, labels) before and after.
  idempotent:
    support: full
    description:
      - An address routed to O(server) already is left alone.
"""

EXAMPLES = r"""
- name: The floating address of pool hel1-a, on its first server
  talos.autoextender.cloud_floating_ip:
    provider: hetzner
    cluster: home
    pool: hel1-a
    name: home-hel1-a-ipv4
    location: hel1
    server: home-hel1-a-1

- name: Move it to a healthy server
  talos.autoextender.cloud_floating_ip:
    provider: hetzner
    cluster: home
    pool: hel1-a
    name: home-hel1-a-ipv4
    server: home-hel1-a-2

- name: Keep it on a healthy server, moving it only when its server is not one
  talos.autoextender.cloud_floating_ip:
    provider: hetzner
    cluster: home
    pool: hel1-a
    name: home-hel1-a-ipv4
    servers: [home-hel1-a-2, home-hel1-a-3]

- name: Delete it with the pool
  talos.autoextender.cloud_floating_ip:
    provider: hetzner
    cluster: home
    pool: hel1-a
    name: home-hel1-a-ipv4
    state: absent
"""

RETURN = r"""
cloud_floating_ip:
  description:
    - The address. In check mode, as it would be. With O(state=absent), an empty dict.
  returned: always
  type: dict
  contains:
    id:
      description: The provider's id (V(null) in check mode before creation).
      type: str
      sample: "4711"
    name:
      description: Its name.
      type: str
      sample: home-hel1-a-ipv4
    provider:
      description: The provider.
      type: str
      sample: hetzner
    family:
      description: V(ipv4) or V(ipv6).
      type: str
      sample: ipv4
    address:
      description: The address (V(null) in check mode before creation).
      type: str
      sample: 203.0.113.7
    location:
      description: The location it lives in.
      type: str
      sample: hel1
    server:
      description: The id of the server it is routed to; V(null) when routed nowhere.
      type: str
      sample: "42"
    labels:
      description: Its labels.
      type: dict
      sample: {managed-by: talos-autoextender, autoextender-cluster: home, autoextender-pool: hel1-a}
"""

from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import (
    CloudResource,
    cloud_argument_spec,
    owned_servers,
)
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import NOT_FOUND, VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule


class CloudFloatingIp(CloudResource):
    return_key = "cloud_floating_ip"
    immutable = ("family", "location")

    _found = None

    def fetch(self):
        if self.params["family"] not in self.provider.floating_families:
            raise AutoextenderError("Floating IP %s: no %s floating address on %s: %s"
                                    % (self.params["name"], self.params["family"], self.params["provider"],
                                       self.provider.no_floating), kind=VALIDATION)
        found = self.provider.get_floating_ip(self.params["name"])
        self._found = self.check_owned(found, "floating IP") if found else None
        return self._found

    def target(self):
        """The id of the server the address should be routed to; None when not managed."""
        name = self.params.get("server")
        if name:
            found = self.provider.get_server(name)
            if found is None or found["status"] == "deleting":
                raise AutoextenderError("Failed to route floating IP %s: server %s does not exist"
                                        % (self.params["name"], name), kind=NOT_FOUND)
            return self.check_owned(found, "server")["id"]
        if self.params.get("servers") is None:
            return None
        ours = dict((s["name"], s) for s in owned_servers(self.provider, self.params["cluster"], self.params["pool"])
                    if s["status"] != "deleting")
        candidates = [ours[n]["id"] for n in self.params["servers"] if n in ours]
        if not candidates:
            raise AutoextenderError("Failed to route floating IP %s: none of the servers %s is a server of pool %s"
                                    % (self.params["name"], ", ".join(self.params["servers"]) or "(none given)",
                                       self.params["pool"]), kind=NOT_FOUND)
        routed = self._found["server"] if self._found else None
        return routed if routed in candidates else candidates[0]

    def desired(self):
        return {"name": self.params["name"], "family": self.params["family"], "location": self.params.get("location"),
                "labels": self.labels(), "server": self.target()}

    def predict_create(self, desired):
        location = desired["location"]
        if location is None and desired["server"] is not None:
            location = next(s["location"] for s in owned_servers(self.provider, self.params["cluster"],
                                                                 self.params["pool"]) if s["id"] == desired["server"])
        return base.floating_ip(provider=self.params["provider"], **dict(desired, location=location))

    def create(self, desired):
        if desired["location"] is None and desired["server"] is None:
            raise AutoextenderError("Failed to create floating IP %s: give its location or a server to route it to"
                                    % desired["name"], kind=VALIDATION)
        return self.provider.create_floating_ip(desired, self.deadline)

    def compare(self, current, desired):
        if desired["location"] is None:
            desired = dict(desired, location=current["location"])
        changes = super().compare(current, desired)
        if "labels" in changes and self.provider.no_floating_labels:
            # refused in check mode too, rather than promising a change the run cannot make
            raise AutoextenderError("Failed to update the labels of floating IP %s: %s"
                                    % (current["name"], self.provider.no_floating_labels), kind=VALIDATION)
        return changes

    def update(self, current, changes):
        state = current
        if "labels" in changes:
            # labels not listed are kept (as on servers); the address stays what it is
            state = self.provider.update_floating_ip_labels(current, dict(current["labels"], **changes["labels"][1]),
                                                            self.deadline)
        if "server" in changes:
            state = self.provider.assign_floating_ip(state, changes["server"][1], self.deadline)
        return state

    def delete(self, current):
        self.provider.delete_floating_ip(current, self.deadline)


def main():
    module = ValidatedModule(
        argument_spec=cloud_argument_spec(
            name=dict(type="str", required=True),
            pool=dict(type="str", required=True),
            family=dict(type="str", default="ipv4", choices=["ipv4", "ipv6"]),
            location=dict(type="str"),
            server=dict(type="str"),
            servers=dict(type="list", elements="str"),
        ),
        mutually_exclusive=[("server", "servers")],
        supports_check_mode=True,
    )
    CloudFloatingIp(module).run()


if __name__ == "__main__":
    main()
