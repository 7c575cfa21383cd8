# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: ingress_pools
short_description: The pools the edge ingress must select at one step of a workflow
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Says which pools the Traefik DaemonSet of the C(talos.autoextender.edge_ingress) role must select
    (C(autoextender.io/pool In [...])) at one step of a workflow that changes the pools DNS serves, so that every
    address DNS may hand out runs the ingress.
  - "The rule: the ingress grows (to the union of what it selects now and what DNS is about to publish) before DNS
    publishes a pool, and shrinks only after DNS stopped serving a pool (and resolvers let go of it)."
  - "Steps: V(publish) (before DNS publishes the active pools: provision, failover): what it selects now and the
    active pools; V(published) (after that publish): the active pools; V(migrate_add) (before DNS publishes the new
    pool of a migration, before its gates probe it): what it selects now, the new pool, and the old pool while it
    has Nodes; V(migrate_switch) (after DNS serves only the new pool): the new pool; V(migrate_rollback) (after DNS
    went back to the old pool): the old pool; V(decommission) (after the pool left DNS, before its nodes are
    drained): what it selects now without that pool."
  - A pure function; used by the C(follow) entry point of the C(talos.autoextender.edge_ingress) role.
options:
  _input:
    description:
      - The desired pools (C(autoextender_pools) fits as it is); keys used are C(name) and C(active) (default V(true)).
    type: list
    elements: dict
    required: true
  step:
    description: The step of the workflow (see the description).
    type: str
    required: true
    choices: [publish, published, migrate_add, migrate_switch, migrate_rollback, decommission]
  current:
    description:
      - What the ingress selects now. The C(resources) of C(kubernetes.core.k8s_info) for the DaemonSet (V([]) when
        it does not exist), or a list of pool names.
      - V(null) or V([]) count as "no ingress".
    type: list
  nodes:
    description:
      - The edge Nodes (the C(resources) of C(kubernetes.core.k8s_info)); the C(autoextender.io/pool) label names their
        pool. Used by V(migrate_add) only; V(null) counts as "the old pool has Nodes".
    type: list
    elements: dict
  from_pool:
    description: The pool a migration moves away from. Required by V(migrate_add) and V(migrate_rollback).
    type: str
  to_pool:
    description: The pool a migration moves to. Required by V(migrate_add) and V(migrate_switch).
    type: str
  pool:
    description: The pool that is decommissioned. Required by V(decommission).
    type: str
  converge:
    description: At the steps before a publish, apply the ingress even when its pools do not change.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Grow the ingress to the new pool before DNS publishes it
  ansible.builtin.set_fact:
    plan: >-
      {{ autoextender_pools | talos.autoextender.ingress_pools('migrate_add', current=ds.resources,
           nodes=nodes.resources, from_pool='hel1-a', to_pool='fr-par-b') }}
# plan.pools == ['fr-par-b', 'hel1-a'], plan.added == ['fr-par-b'], plan.apply == true
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    pools:
      description: The pools the ingress must select, sorted.
      type: list
      elements: str
    current:
      description: The pools it selects now, sorted; V(null) when there is no ingress.
      type: list
      elements: str
    added:
      description: Pools in RV(_value.pools) that it does not select now.
      type: list
      elements: str
    removed:
      description: Pools it selects now that are not in RV(_value.pools).
      type: list
      elements: str
    changed:
      description: Whether RV(_value.pools) differs from RV(_value.current).
      type: bool
    apply:
      description:
        - Whether to apply (write) the ingress at this step.
        - When its pools must change and at least one pool is left (a DaemonSet cannot select an empty set).
          A missing ingress is created only at the steps before a publish (V(publish), V(migrate_add)); the others
          never create one.
        - With O(converge), at the steps before a publish also when its pools do not change (provision applies every
          setting of the ingress).
      type: bool
    wait:
      description:
        - Whether to wait for the ingress rollout before going on, V(true) at the steps before a publish, so that the
          pools about to be published run a ready ingress first. Waiting only reads the DaemonSet.
      type: bool
    message:
      description: One line saying what the ingress runs on, and why.
      type: str
"""

from ansible.errors import AnsibleFilterError

POOL_LABEL = "autoextender.io/pool"
# Steps before a DNS publish: a missing ingress is created, and its rollout is waited for.
GROW_STEPS = ("publish", "migrate_add")
STEPS = GROW_STEPS + ("published", "migrate_switch", "migrate_rollback", "decommission")
NEEDS = {"migrate_add": ("from_pool", "to_pool"), "migrate_switch": ("to_pool",),
         "migrate_rollback": ("from_pool",), "decommission": ("pool",)}


def _names(pools):
    """``(all pool names, active pool names)`` of the desired pools."""
    if not isinstance(pools, (list, tuple)) or not all(isinstance(p, dict) for p in pools):
        raise AnsibleFilterError("ingress_pools: the input must be the list of pools (autoextender_pools), got %s"
                                 % type(pools).__name__)
    names, active = [], []
    for pool in pools:
        name = pool.get("name")
        if not name or not isinstance(name, str):
            raise AnsibleFilterError("ingress_pools: every pool needs a name, got %r" % dict(pool))
        names.append(name)
        if pool.get("active", True) is not False:
            active.append(name)
    return names, active


def _daemonset_pools(daemonset):
    """The values of every ``autoextender.io/pool In`` term of the DaemonSet's required node affinity."""
    spec = ((daemonset.get("spec") or {}).get("template") or {}).get("spec") or {}
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    out = set()
    for term in required.get("nodeSelectorTerms") or []:
        for expr in term.get("matchExpressions") or []:
            if expr.get("key") == POOL_LABEL and expr.get("operator") == "In":
                out.update(str(v) for v in expr.get("values") or [])
    return out


def _current(current):
    """The pools the ingress selects now, or ``None`` when there is no ingress."""
    if current is None or (isinstance(current, (list, tuple)) and not current):
        return None
    if isinstance(current, (list, tuple)) and all(isinstance(c, str) for c in current):
        return set(current)
    if isinstance(current, (list, tuple)) and all(isinstance(c, dict) for c in current):
        if len(current) > 1:
            raise AnsibleFilterError("ingress_pools: current must hold at most one DaemonSet, got %d" % len(current))
        return _daemonset_pools(current[0])
    raise AnsibleFilterError("ingress_pools: current must be the DaemonSet as k8s_info returns it (its resources) "
                             "or a list of pool names, got %r" % (current,))


def _has_nodes(pool, nodes):
    if nodes is None:
        return True
    if not isinstance(nodes, (list, tuple)) or not all(isinstance(n, dict) for n in nodes):
        raise AnsibleFilterError("ingress_pools: nodes must be a list of Node objects, got %s" % type(nodes).__name__)
    return any(((n.get("metadata") or {}).get("labels") or {}).get(POOL_LABEL) == pool for n in nodes)


def _target(step, active, now, nodes, args):
    """``(pools, why)`` for the step."""
    keep = now or set()
    if step == "publish":
        return keep | set(active), "the active pools, and those it runs on until DNS lets them go"
    if step == "published":
        return set(active), "the active pools, the ones DNS publishes"
    if step == "migrate_add":
        old = args["from_pool"]
        pools = keep | {args["to_pool"]} | ({old} if _has_nodes(old, nodes) else set())
        return pools, "new pool %s next to the old pool before DNS publishes it" % args["to_pool"]
    if step == "migrate_switch":
        return {args["to_pool"]}, "only the new pool %s, the only one DNS serves" % args["to_pool"]
    if step == "migrate_rollback":
        return {args["from_pool"]}, "only the old pool %s again, the only one DNS serves" % args["from_pool"]
    return keep - {args["pool"]}, "pool %s is out of DNS and goes" % args["pool"]


def ingress_pools(pools, step, current=None, nodes=None, from_pool=None, to_pool=None, pool=None, converge=False):
    """The plan; see RETURN."""
    names, active = _names(pools)
    if step not in STEPS:
        raise AnsibleFilterError("ingress_pools: step must be one of %s, got %r" % (", ".join(STEPS), step))
    args = {"from_pool": from_pool, "to_pool": to_pool, "pool": pool}
    for key in NEEDS.get(step, ()):
        if not args[key] or not isinstance(args[key], str):
            raise AnsibleFilterError("ingress_pools: step %s needs %s, a pool name, got %r" % (step, key, args[key]))
        if key != "pool" and args[key] not in names:
            raise AnsibleFilterError("ingress_pools: %s=%s is not a pool of the input (%s)"
                                     % (key, args[key], ", ".join(names) or "none"))
    now = _current(current)
    target, why = _target(step, active, now, nodes, args)
    if step in GROW_STEPS and not target:
        raise AnsibleFilterError("ingress_pools: step %s leaves the ingress no pool: at least one pool of the input "
                                 "must be active (%s)" % (step, ", ".join(names) or "no pool"))
    changed = bool(target) if now is None else target != now
    grow = step in GROW_STEPS
    apply = bool(target) and (grow or now is not None) and (changed or (grow and bool(converge)))
    pools_out, now_out = sorted(target), None if now is None else sorted(now)
    if now is None and not apply:
        message = "there is no ingress to change (%s)" % why
    elif not target:
        message = "the ingress keeps selecting %s: no pool would be left for it (%s)" % (
            ", ".join(now_out or []) or "no pool", why)
    elif changed:
        message = "the ingress runs on %s (was %s): %s" % (
            ", ".join(pools_out), "no ingress" if now is None else ", ".join(now_out) or "no pool", why)
    else:
        message = "the ingress stays on %s: %s" % (", ".join(pools_out), why)
    return {"pools": pools_out, "current": now_out, "added": sorted(target - (now or set())),
            "removed": sorted((now or set()) - target), "changed": changed, "apply": apply,
            "wait": grow and bool(target), "message": message}


class FilterModule(object):
    """The ingress_pools filter."""

    def filters(self):
        return {"ingress_pools": ingress_pools}
