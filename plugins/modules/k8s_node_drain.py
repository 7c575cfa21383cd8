# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_node_drain
short_description: Cordon and drain a Kubernetes Node through the eviction API, and optionally delete it
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Marks the Node unschedulable, then evicts every pod bound to it through the eviction API, so
    PodDisruptionBudgets are respected, and waits until the pods are gone.
  - An eviction refused because of a PodDisruptionBudget (HTTP 429) is retried until O(wait_timeout), as
    C(kubectl drain) does. If the deadline passes, the task fails and names every blocked pod with the
    budgets that select it (rule, disruptions allowed, healthy counts); the Node stays cordoned.
  - Pods that no controller would recreate, or that hold C(emptyDir) data, are refused before anything
    changes unless O(force) or O(delete_emptydir_data) allow them. DaemonSet pods are left alone by default;
    finished pods are deleted; mirror (static) pods are skipped.
  - With O(state=absent) the Node object is deleted once it is drained; a Node that does not exist is then
    not an error.
  - Used by the C(edge_nodes) role to decommission edge workers. C(kubernetes.core.k8s_drain) fails at the
    first eviction a budget refuses, without retrying or saying which budget blocked, hence this module.
extends_documentation_fragment:
  - talos.autoextender.k8s
options:
  name:
    description: Name of the Node.
    type: str
    required: true
  state:
    description:
      - V(drained) cordons and drains the Node.
      - V(absent) drains it, then deletes the Node object.
    type: str
    choices: [drained, absent]
    default: drained
  force:
    description: Also evict pods that no controller (ReplicaSet, StatefulSet, Job, ...) owns. They are lost.
    type: bool
    default: false
  ignore_daemonsets:
    description:
      - Leave DaemonSet pods on the Node (their controller owns them; they go away with the Node).
      - With V(false), a DaemonSet pod makes the drain fail before anything changes.
    type: bool
    default: true
  delete_emptydir_data:
    description: Also evict pods with C(emptyDir) volumes; their data is lost.
    type: bool
    default: false
  grace_period:
    description:
      - Seconds each pod gets to terminate. When not set, each pod's own C(terminationGracePeriodSeconds) is used.
    type: int
  wait:
    description:
      - Retry evictions that a PodDisruptionBudget refuses and wait until the evicted pods are gone.
      - With V(false), one round of evictions is made; a refused eviction fails the task at once.
    type: bool
    default: true
  wait_timeout:
    description: Seconds for the whole drain (one deadline for every retry and wait of the task).
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    description:
      - Cordons and evicts nothing. Evictions are sent as server-side dry runs, so RV(k8s_node_drain.blocked)
        lists the pods a PodDisruptionBudget would block right now.
  diff_mode:
    support: full
    description: Shows the Node's C(unschedulable) flag and the pods on it before and after.
  idempotent:
    support: full
    description: A cordoned Node without evictable pods (or an absent Node with O(state=absent)) is left unchanged.
seealso:
  - name: API-initiated eviction
    description: How the eviction API respects PodDisruptionBudgets.
    link: https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/
  - module: kubernetes.core.k8s_drain
"""

EXAMPLES = r"""
- name: Drain an edge node, waiting up to 10 minutes for its budgets
  talos.autoextender.k8s_node_drain:
    name: hel1-a-1
    wait_timeout: 600

- name: Decommission it (drain, then delete the Node object)
  talos.autoextender.k8s_node_drain:
    name: hel1-a-1
    state: absent
    force: true
    delete_emptydir_data: true
"""

RETURN = r"""
k8s_node_drain:
  description: What the drain did (in check mode, would do). On a timeout, the same keys describe the partial result.
  returned: always
  type: dict
  contains:
    name:
      description: The Node.
      type: str
      returned: always
      sample: hel1-a-1
    unschedulable:
      description: Whether the Node is cordoned afterwards.
      type: bool
      returned: always
      sample: true
    evicted:
      description: Pods (C(namespace/name)) evicted or, when finished, deleted.
      type: list
      elements: str
      returned: always
      sample: [default/web-7d9c-abcde]
    skipped:
      description: Pods left on the Node, with the reason (DaemonSet or mirror pods).
      type: list
      elements: dict
      returned: always
      sample: [{pod: autoextender-edge/traefik-edge-x2x4k, reason: DaemonSet pod (the DaemonSet controller owns it)}]
    blocked:
      description:
        - Pods whose eviction a PodDisruptionBudget refuses, with the API's reason and the budgets that select them.
        - In check mode, from dry-run evictions; after a successful drain, empty.
      type: list
      elements: dict
      returned: always
      sample:
        - pod: default/db-0
          reason: Cannot evict pod as it would violate the pod's disruption budget.
          budgets: [{name: default/db, rule: minAvailable=2, disruptions_allowed: 0, current_healthy: 2, desired_healthy: 2}]
    deleted:
      description: Whether the Node object was deleted (O(state=absent)).
      type: bool
      returned: always
      sample: false
    pods:
      description: Pods (C(namespace/name)) still to be evicted from the Node; empty once it is drained.
      type: list
      elements: str
      returned: always
      sample: []
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _k8s_client as kc
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import NOT_FOUND, VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._k8s_drain import Drainer, classify, pod_key
from ansible_collections.talos.autoextender.plugins.module_utils._resource import Resource
from ansible_collections.talos.autoextender.plugins.module_utils._validate import Range, ValidatedModule
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline


class NodeDrain(Resource):
    """A Node and its pods: drained means cordoned with no evictable pod left."""

    return_key = "k8s_node_drain"
    drainer = None
    plan = None

    def fetch(self):
        self.drainer = Drainer(kc.core_api(self.module), self.params["name"], self.params["grace_period"])
        node = self.drainer.read_node()
        if node is None:
            return None
        plan = classify(self.drainer.pods(), self.params["force"], self.params["ignore_daemonsets"],
                        self.params["delete_emptydir_data"])
        if plan["refuse"]:
            raise AutoextenderError(
                "Node %s cannot be drained; nothing was changed: %s" % (self.params["name"], "; ".join(
                    "%s: %s" % (pod_key(p), why) for p, why in plan["refuse"])),
                kind=VALIDATION, details={"refused": [{"pod": pod_key(p), "reason": why} for p, why in plan["refuse"]]})
        self.plan = plan
        return {"name": self.params["name"], "unschedulable": bool(node["spec"].get("unschedulable")),
                "pods": sorted(pod_key(p) for p in plan["evict"] + plan["delete"])}

    def result(self, unschedulable, evicted, blocked=(), deleted=False):
        return {"name": self.params["name"], "unschedulable": unschedulable, "evicted": sorted(evicted),
                "skipped": [{"pod": pod_key(p), "reason": why} for p, why in self.plan["skip"]],
                "blocked": list(blocked), "deleted": deleted}

    def ensure(self):
        absent = self.params["state"] == "absent"
        current = self.fetch()
        if current is None:
            if absent:
                return False, None, {"name": self.params["name"], "unschedulable": False, "evicted": [],
                                     "skipped": [], "blocked": [], "deleted": False, "pods": []}
            raise AutoextenderError("Node %s not found" % self.params["name"], kind=NOT_FOUND)
        if current["unschedulable"] and not current["pods"] and not absent:
            return False, current, dict(self.result(True, []), pods=[])
        if self.check_mode:
            after = self.result(True, current["pods"], self.drainer.predict(self.plan), deleted=absent)
        else:
            deadline = Deadline(self.params["wait_timeout"])
            if not current["unschedulable"]:
                self.drainer.cordon()
            evicted = self.drainer.drain(self.plan, deadline, wait=self.params["wait"])
            if absent:
                self.drainer.delete_node()
            after = self.result(True, evicted, deleted=absent)
        return True, current, dict(after, pods=[])


def main():
    module = ValidatedModule(
        rules={"grace_period": Range(0, unit="seconds")},
        argument_spec=kc.k8s_argument_spec(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["drained", "absent"], default="drained"),
            force=dict(type="bool", default=False),
            ignore_daemonsets=dict(type="bool", default=True),
            delete_emptydir_data=dict(type="bool", default=False),
            grace_period=dict(type="int"),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=300),
        ),
        supports_check_mode=True,
    )
    kc.require_kubernetes(module)
    NodeDrain(module).run()


if __name__ == "__main__":
    main()
