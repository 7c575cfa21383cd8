# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: edge_node_info
short_description: Read the Kubernetes Nodes of an edge pool, and wait until they are Ready
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Lists the Nodes labelled C(autoextender.io/pool=<pool>) and says which are Ready, which are not, which of
    O(names) do not exist yet, and which labels or taints their Talos config asked for are missing.
  - With O(wait=true) it polls the API server (backing off from 1 to 5 seconds) until every Node of O(names),
    or O(count) Nodes of the pool, are Ready, and records one event per state change (a Node registers, turns
    Ready, stops being Ready) in RV(edge_node_info.events), instead of one line per poll. On timeout the task
    fails with the Ready, not Ready and missing Nodes, and the events so far.
  - Changes nothing.
extends_documentation_fragment:
  - talos.autoextender.k8s
options:
  pool:
    description: The edge pool (the value of the Node label C(autoextender.io/pool)).
    type: str
    required: true
  names:
    description: The Nodes that count; every one of them must be Ready. Empty - any O(count) Nodes of the pool.
    type: list
    elements: str
    default: []
  count:
    description: How many Ready Nodes of the pool the wait needs when O(names) is empty.
    type: int
    default: 1
  labels:
    description: Labels every counted Node must carry (reported in RV(edge_node_info.problems) when missing).
    type: dict
    default: {}
  taints:
    description: Taints every counted Node must carry (reported in RV(edge_node_info.problems) when missing).
    type: list
    elements: dict
    default: []
    suboptions:
      key:
        description: Taint key.
        type: str
        required: true
      value:
        description: Taint value.
        type: str
      effect:
        description: Taint effect.
        type: str
        required: true
        choices: [NoSchedule, PreferNoSchedule, NoExecute]
  wait:
    description: Wait until the Nodes are Ready.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait (one deadline for the whole task).
    type: int
    default: 600
attributes:
  check_mode:
    support: full
    description: Reads only; in check mode it reads and waits as in a normal run.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to compare.
  idempotent:
    support: full
    description: Never changes anything.
seealso:
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: Wait up to 10 minutes for the two Nodes of pool hel1-a
  talos.autoextender.edge_node_info:
    pool: hel1-a
    names: [home-hel1-a-1, home-hel1-a-2]
    labels: {topology.kubernetes.io/zone: hetzner-hel1}
    taints: [{key: autoextender.io/edge, value: "true", effect: NoSchedule}]
    wait: true
    wait_timeout: 600
  register: nodes

- name: Say how the wait went, one line per state change
  ansible.builtin.debug:
    msg: "{{ nodes.edge_node_info.events }}"
"""

RETURN = r"""
edge_node_info:
  description: The pool's Nodes as the last read saw them. On a timeout, the same keys with what was seen last.
  returned: always
  type: dict
  contains:
    pool:
      description: The pool.
      type: str
      returned: always
      sample: hel1-a
    nodes:
      description: Every Node of the pool (O(names) only, when given), with its Ready condition.
      type: list
      elements: dict
      returned: always
      sample: [{name: home-hel1-a-1, ready: true, reason: KubeletReady, message: kubelet is posting ready status}]
    ready:
      description: The counted Nodes that are Ready.
      type: list
      elements: str
      returned: always
      sample: [home-hel1-a-1]
    not_ready:
      description: The counted Nodes that exist but are not Ready.
      type: list
      elements: str
      returned: always
      sample: []
    missing:
      description: Names of O(names) without a Node.
      type: list
      elements: str
      returned: always
      sample: [home-hel1-a-2]
    problems:
      description: One sentence per missing label or taint of a counted Node, and per Node of O(names) that does not exist.
      type: list
      elements: str
      returned: always
      sample: ["home-hel1-a-1: taint autoextender.io/edge=true:NoSchedule missing"]
    events:
      description: With O(wait=true), one line per state change seen while waiting, C(<seconds>s) first.
      type: list
      elements: str
      returned: always
      sample: ["0s: home-hel1-a-1: registered, not Ready (KubeletNotReady)", "7s: home-hel1-a-1: Ready"]
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _k8s_client as kc
from ansible_collections.talos.autoextender.plugins.module_utils import _k8s_nodes as kn
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._validate import Range, ValidatedModule
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline, WaitTimeout

POOL_LABEL = "autoextender.io/pool"


def report(params, nodes, summary, events):
    names = params["names"]
    counted = [n for n in nodes if not names or n["metadata"]["name"] in names]
    return {"pool": params["pool"], "nodes": [kn.node_state(n) for n in counted],
            "ready": summary["ready"], "not_ready": summary["not_ready"], "missing": summary["missing"],
            "problems": kn.problems(counted, names, params["labels"], params["taints"]), "events": events}


def main():
    module = ValidatedModule(
        rules={"count": Range(0, unit="Nodes")},
        argument_spec=kc.k8s_argument_spec(
            pool=dict(type="str", required=True),
            names=dict(type="list", elements="str", default=[]),
            count=dict(type="int", default=1),
            labels=dict(type="dict", default={}),
            taints=dict(type="list", elements="dict", default=[], options=dict(
                key=dict(type="str", required=True, no_log=False),
                value=dict(type="str"),
                effect=dict(type="str", required=True, choices=["NoSchedule", "PreferNoSchedule", "NoExecute"]))),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
    )
    params = module.params
    kc.require_kubernetes(module)
    selector = "%s=%s" % (POOL_LABEL, params["pool"])
    try:
        core = kc.core_api(module)

        def read():
            listing = kc.call("list the Nodes of pool %s" % params["pool"], core.list_node, label_selector=selector)
            return kc.to_dict(core, listing).get("items") or []

        if params["wait"]:
            nodes, summary, events = kn.wait_ready(read, params["names"], params["count"],
                                                   Deadline(params["wait_timeout"]))
        else:
            nodes = read()
            summary, events = kn.summarize(nodes, params["names"], params["count"]), []
    except WaitTimeout as e:
        seen = e.partial
        summary = seen["summary"] or kn.summarize([], params["names"], params["count"])
        module.fail_json(
            msg="Timed out after %ds waiting for %d Ready node(s) of pool %s (%s)%s. Ready: %s; not Ready: %s; "
                "missing: %s." % (params["wait_timeout"], summary["wanted"], params["pool"], selector,
                                  ": " + ", ".join(params["names"]) if params["names"] else "",
                                  ", ".join(summary["ready"]) or "none", ", ".join(summary["not_ready"]) or "none",
                                  ", ".join(summary["missing"]) or "none"),
            failure=e.failure(), edge_node_info=report(params, seen["nodes"], summary, seen["events"]))
    except AutoextenderError as e:
        module.fail_json(msg=e.msg, failure=e.failure())
    module.exit_json(changed=False, edge_node_info=report(params, nodes, summary, events))


if __name__ == "__main__":
    main()
