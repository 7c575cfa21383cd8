# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: talos_reset
short_description: Gracefully reset an edge worker so that it leaves the cluster
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Runs C(talosctl reset --graceful --reboot=false) on the one node in O(nodes); the node cordons and drains
    itself, wipes its disks, leaves discovery and powers off. The Kubernetes Node object must still be deleted.
  - Refuses a control-plane node (machine type C(controlplane) or C(init)) unless O(force=true).
  - "Idempotent: a node that is already gone is not changed. RV(talos_reset.gone) says why it is gone:
    V(not_a_member) (O(members_from) does not list it), V(maintenance) (its API answers only in maintenance mode:
    it has no config) or V(unreachable) (its Talos API did not answer for O(wait_timeout) seconds, with
    O(gone_if_unreachable=true))."
  - A node that does not answer is asked again until O(wait_timeout) (it may be rebooting); only then does it
    count as unreachable. A node that is still a member but unreachable fails clearly; a dead node cannot reset
    itself (delete the VM and the Kubernetes Node instead).
  - A node that refuses the talosconfig in the TLS handshake and does not answer the maintenance API either
    fails with C(failure.kind=tls) (another cluster's node).
extends_documentation_fragment:
  - talos.autoextender.talosctl
options:
  members_from:
    description:
      - A node of the home cluster (address) to read the cluster members from (C(talosctl get members)),
        through the same talosconfig and O(endpoints). Strongly recommended.
      - Without it, a node is gone when its Talos API is unreachable (see O(gone_if_unreachable)).
    type: str
  hostname:
    description:
      - The node's hostname (member id), to find it among the members when O(nodes) holds an address the members do
        not list.
      - Also a guard, checked before the reset; the node that answers must report this node name
        (C(talosctl get nodename)), else the module refuses with C(failure.kind=conflict) (an address now used by
        another machine, or an endpoint that answers for itself instead of proxying to the node).
    type: str
  gone_if_unreachable:
    description:
      - Treat a node whose Talos API does not answer (connection refused, no route, timeout) for O(wait_timeout)
        seconds as gone, unless O(members_from) lists it as a member.
      - With V(false), an unreachable node is an error.
    type: bool
    default: true
  force:
    description: Reset a control-plane node too.
    type: bool
    default: false
  graceful:
    description: Cordon and drain the node, and leave etcd if it is a member, before wiping (C(--graceful)).
    type: bool
    default: true
  reboot:
    description: Reboot into maintenance mode after the reset instead of powering off (C(--reboot)).
    type: bool
    default: false
  wipe_mode:
    description: What to wipe (C(--wipe-mode)).
    type: str
    choices: [all, system-disk, user-disks]
    default: all
  wait:
    description: Wait until the node is gone (not a member any more, back in maintenance mode, or unreachable).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait, in total (for a node that does not answer, and for the node to be gone).
    type: int
    default: 600
attributes:
  check_mode:
    support: full
    description: Reads the node's machine type and membership; reports whether it would be reset.
  diff_mode:
    support: none
    description: Not supported.
  idempotent:
    support: full
    description: A node that is gone is left alone.
seealso:
  - module: talos.autoextender.talos_info
  - name: talosctl reset
    description: The reference of the command this module wraps.
    link: https://www.talos.dev/latest/reference/cli/#talosctl-reset
"""

EXAMPLES = r"""
- name: Remove an edge worker from the cluster
  talos.autoextender.talos_reset:
    talosconfig: "{{ autoextender_cluster.talosconfig }}"
    nodes: [203.0.113.7]
    endpoints: [192.168.1.10]
    members_from: 192.168.1.10
    hostname: hel1-a-1
"""

RETURN = r"""
talos_reset:
  description: The node and what was found.
  returned: success
  type: dict
  contains:
    node:
      description: The node.
      type: str
      returned: success
      sample: 203.0.113.7
    state:
      description: V(gone) when there was nothing to do, V(reset) when the node was (or in check mode, would be) reset.
      type: str
      returned: success
      sample: reset
    reachable:
      description: Whether the node's Talos API answered.
      type: bool
      returned: success
    member:
      description: Whether O(members_from) listed the node as a cluster member (null without O(members_from)).
      type: bool
      returned: success
    machine_type:
      description: The node's machine type, when known.
      type: str
      returned: success
      sample: worker
    gone:
      description:
        - Why the node counts as gone (before the reset, or after it when O(wait=true)), null while it is not.
        - V(not_a_member), V(maintenance) or V(unreachable) (see the description).
      type: str
      returned: success
      sample: unreachable
    detail:
      description: One line that says what was seen, for example how long the node did not answer.
      type: str
      returned: success
      sample: "The Talos API of 203.0.113.7 is unreachable: ... (tried 9 times in 120s)"
failure:
  description:
    - Why the task failed; C(kind) is V(unreachable), V(tls), V(timeout), V(refused), V(conflict) (the node answers
      under another name than O(hostname)), V(command) or V(validation).
  returned: failure
  type: dict
  sample: {"kind": "unreachable", "node": "203.0.113.7", "rc": 1}
"""

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import CONFLICT, REFUSED, VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._resource import Resource
from ansible_collections.talos.autoextender.plugins.module_utils._talos_node import (
    CONTROL_PLANE_TYPES,
    REBOOTING,
    TLS,
    UNREACHABLE,
    as_node_error,
    find_member,
    parse_machine_types,
    parse_members,
    retry_unreachable,
)
from ansible_collections.talos.autoextender.plugins.module_utils._talosctl import TalosCLI, talosctl_argument_spec
from ansible_collections.talos.autoextender.plugins.module_utils._validate import Hostname, ValidatedModule
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline, wait_for


class NodeMembership(Resource):
    """The node as a cluster member; "absent" is the only state this module drives it to."""

    return_key = "talos_reset"
    runner = None  # unit tests inject a fake talosctl runner

    def node(self):
        nodes = self.params.get("nodes") or []
        if len(nodes) != 1:
            raise AutoextenderError("nodes must name exactly one node, got %d" % len(nodes), kind=VALIDATION)
        return nodes[0]

    def cli(self, nodes=None):
        cli = TalosCLI.from_module(self.module, runner=self.runner)
        if nodes is not None:
            cli.nodes = list(nodes)
        return cli

    def member(self, node, deadline=None):
        """True/False from ``members_from``; None without it."""
        via = self.params["members_from"]
        if not via:
            return None

        def read():
            try:
                return self.cli([via]).run_json(["get", "members", "--output=json"], connect=True,
                                                what="read the cluster members from %s" % via)
            except AutoextenderError as e:
                raise as_node_error(e, via)
        items = retry_unreachable(read, via, deadline) if deadline else read()
        return find_member(parse_members(items), node, self.params["hostname"]) is not None

    def machine_type(self, node):
        try:
            items = self.cli([node]).run_json(["get", "machinetype", "--output=json"], connect=True,
                                              what="read the machine type of %s" % node)
        except AutoextenderError as e:
            raise as_node_error(e, node)
        types = parse_machine_types(items)
        return types.get(node) or next(iter(types.values()), None)

    def check_identity(self, node):
        """Refuse to reset a machine that is not ``hostname`` (reused address, endpoint not proxying)."""
        expected = self.params["hostname"]
        if not expected:
            return
        try:
            items = self.cli([node]).run_json(["get", "nodename", "--output=json"], connect=True,
                                              what="read the node name of %s" % node)
        except AutoextenderError as e:
            raise as_node_error(e, node)
        names = [(item.get("spec") or {}).get("nodename") for item in items if isinstance(item, dict)]
        if names and expected not in names:
            raise AutoextenderError("%s answers as node %s, not %s: refusing to reset it (the address belongs to another "
                                    "machine, or the Talos endpoint answered for itself)" % (node, names[0], expected),
                                    kind=CONFLICT, details={"node": node, "nodename": names[0], "hostname": expected})

    def in_maintenance(self, node):
        """True when the node answers the maintenance API (``version --insecure``): it has no config."""
        try:
            self.cli([node]).run(["version", "--insecure"], connect=True, what="ask %s for its version" % node)
        except AutoextenderError:
            return False
        return True

    def fetch(self):
        node = self.node()
        deadline = self._deadline
        member = self.member(node, deadline)
        self._gone = {"node": node, "state": "gone", "reachable": None, "member": member, "machine_type": None,
                      "gone": None, "detail": None}
        if member is False:
            self._gone.update(gone="not_a_member", detail="%s does not list %s among the cluster members"
                              % (self.params["members_from"], node))
            return None
        try:
            machine_type = retry_unreachable(lambda: self.machine_type(node), node, deadline)
        except AutoextenderError as e:
            if e.kind == TLS and self.in_maintenance(node):
                self._gone.update(reachable=True, gone="maintenance",
                                  detail="%s answers only in maintenance mode: it has no config" % node)
                return None
            if e.kind != UNREACHABLE:
                raise
            if member:
                e.msg += ("; the node is still a cluster member: a dead node cannot reset itself, delete the VM "
                          "and its Kubernetes Node instead")
                raise e
            if not self.params["gone_if_unreachable"]:
                raise e
            self._gone.update(reachable=False, gone="unreachable", detail=e.msg)
            return None
        self.check_identity(node)
        return {"node": node, "reachable": True, "member": member, "machine_type": machine_type,
                "gone": None, "detail": None}

    def delete(self, current):
        if current["machine_type"] in CONTROL_PLANE_TYPES and not self.params["force"]:
            raise AutoextenderError("%s is a %s node; talos_reset resets control-plane nodes only with force=true"
                                    % (current["node"], current["machine_type"]), kind=REFUSED,
                                    details={"node": current["node"], "machine_type": current["machine_type"]})
        if self.check_mode:
            return
        p = self.params
        args = ["reset", "--graceful=%s" % str(p["graceful"]).lower(), "--reboot=%s" % str(p["reboot"]).lower(),
                "--wipe-mode=%s" % p["wipe_mode"], "--wait=false"]
        try:
            self.cli([current["node"]]).run(args, connect=True, what="reset %s" % current["node"])
        except AutoextenderError as e:
            raise as_node_error(e, current["node"])

    def gone(self, node):
        """``(reason, detail)`` once the node is gone, else None.

        With members_from: not a member any more. Else the node's API refuses the talosconfig and answers in
        maintenance mode (reset with reboot: not answering is the reboot), or does not answer at all
        (reset without reboot: powered off).
        """
        if self.params["members_from"]:
            if not self.member(node):
                return "not_a_member", "%s no longer lists %s" % (self.params["members_from"], node)
            return None
        try:
            self.machine_type(node)
        except AutoextenderError as e:
            if e.kind == REBOOTING:
                return None
            if e.kind == UNREACHABLE:
                return None if self.params["reboot"] else ("unreachable", "its Talos API stopped answering (powered off): " + e.msg)
            if e.kind == TLS and self.in_maintenance(node):
                return "maintenance", "%s answers only in maintenance mode: it has no config" % node
            raise
        return None

    def ensure(self):
        self._deadline = Deadline(self.params["wait_timeout"])
        current = self.fetch()
        if current is None:
            return False, self._gone
        self.delete(current)
        after = dict(current, state="reset")
        if not self.check_mode and self.params["wait"]:
            node = current["node"]

            def probe():
                found = self.gone(node)
                if found:
                    after.update(gone=found[0], detail=found[1])
                return bool(found), after
            try:
                wait_for(probe, self._deadline, "%s to leave the cluster" % node, initial=1.0, maximum=10.0)
            except AutoextenderError as e:
                e.partial = after
                raise
        return True, after

    def run(self):
        try:
            changed, state = self.ensure()
        except AutoextenderError as e:
            result = {"msg": e.msg, "failure": e.failure()}
            if e.partial is not None:
                result[self.return_key] = e.partial
            self.module.fail_json(**result)
            return
        self.module.exit_json(changed=changed, **{self.return_key: state})


def main():
    module = ValidatedModule(
        rules={"hostname": Hostname()},
        argument_spec=talosctl_argument_spec(
            members_from=dict(type="str"),
            hostname=dict(type="str"),
            gone_if_unreachable=dict(type="bool", default=True),
            force=dict(type="bool", default=False),
            graceful=dict(type="bool", default=True),
            reboot=dict(type="bool", default=False),
            wipe_mode=dict(type="str", choices=["all", "system-disk", "user-disks"], default="all"),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
    )
    NodeMembership(module).run()


if __name__ == "__main__":
    main()
