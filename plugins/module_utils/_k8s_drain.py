# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Drain a Node through the eviction API, as ``kubectl drain`` does, with a report.

* ``classify()`` sorts the pods bound to a node (plain dicts) into: evict,
  delete (finished pods), skip (DaemonSet and mirror pods) and refuse (pods
  that would be lost for good unless the caller allows it). A refusal is
  decided before anything changes.
* ``Drainer`` cordons, then asks for an eviction of every pod until all are
  gone or the deadline passes. A ``429`` answer means a PodDisruptionBudget
  blocks the pod right now: it is retried, as ``kubectl drain`` does, and
  reported with the budgets that select it if the deadline passes.
* Check mode asks the API server for dry-run evictions, so it predicts the
  budgets that would block.
"""

from __future__ import annotations

import time

from ansible_collections.talos.autoextender.plugins.module_utils import _k8s_client as kc
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import BLOCKED, TIMEOUT
from ansible_collections.talos.autoextender.plugins.module_utils._wait import backoff_delays

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def pod_key(pod):
    return "%s/%s" % (pod["metadata"]["namespace"], pod["metadata"]["name"])


def _controller_kind(pod):
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("kind")
    return None


def classify(pods, force=False, ignore_daemonsets=True, delete_emptydir_data=False):
    """``{"evict": [...], "delete": [...], "skip": [...], "refuse": [...]}``; skip/refuse hold (pod, reason)."""
    plan = {"evict": [], "delete": [], "skip": [], "refuse": []}
    for pod in pods:
        meta, spec = pod["metadata"], pod.get("spec") or {}
        kind = _controller_kind(pod)
        if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
            plan["skip"].append((pod, "mirror (static) pod: the API server cannot delete it"))
        elif (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            plan["delete"].append(pod)
        elif kind == "DaemonSet":
            bucket = "skip" if ignore_daemonsets else "refuse"
            plan[bucket].append((pod, "DaemonSet pod (the DaemonSet controller owns it)"))
        elif kind is None and not force:
            plan["refuse"].append((pod, "no controller would recreate it elsewhere (set force to evict it anyway)"))
        elif any("emptyDir" in v for v in spec.get("volumes") or []) and not delete_emptydir_data:
            plan["refuse"].append((pod, "it has emptyDir data that would be lost (set delete_emptydir_data)"))
        else:
            plan["evict"].append(pod)
    return plan


def _expression_matches(expr, labels):
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False


def selector_matches(selector, labels):
    """policy/v1 semantics: a null selector matches nothing, an empty one every pod."""
    if selector is None:
        return False
    labels = labels or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_expression_matches(e, labels) for e in selector.get("matchExpressions") or [])


def describe_budget(pdb):
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    rule = "minAvailable=%s" % spec["minAvailable"] if "minAvailable" in spec else "maxUnavailable=%s" % spec.get(
        "maxUnavailable")
    return {
        "name": "%s/%s" % (pdb["metadata"]["namespace"], pdb["metadata"]["name"]),
        "rule": rule,
        "disruptions_allowed": status.get("disruptionsAllowed"),
        "current_healthy": status.get("currentHealthy"),
        "desired_healthy": status.get("desiredHealthy"),
    }


class Drainer:
    """Cordon, evict and wait for one node. ``core`` is a CoreV1Api."""

    def __init__(self, core, node, grace_period=None, sleep=time.sleep):
        self.core = core
        self.policy = kc.policy_api(core)
        self.node = node
        self.grace_period = grace_period
        self.sleep = sleep

    # -- reads ------------------------------------------------------------------
    def read_node(self):
        node = kc.call("read Node %s" % self.node, self.core.read_node, self.node)
        return None if node is None else kc.to_dict(self.core, node)

    def pods(self):
        pods = kc.call("list the pods of Node %s" % self.node, self.core.list_pod_for_all_namespaces,
                       field_selector="spec.nodeName=%s" % self.node)
        return [kc.to_dict(self.core, p) for p in pods.items]

    def budgets_for(self, pod):
        ns = pod["metadata"]["namespace"]
        found = kc.call("list the PodDisruptionBudgets of namespace %s" % ns,
                        self.policy.list_namespaced_pod_disruption_budget, ns)
        budgets = [kc.to_dict(self.core, b) for b in found.items] if found else []
        return [describe_budget(b) for b in budgets
                if selector_matches((b.get("spec") or {}).get("selector"), pod["metadata"].get("labels"))]

    def gone(self, pod):
        """True once the pod no longer exists on this node (deleted, or recreated elsewhere)."""
        meta = pod["metadata"]
        now = kc.call("read Pod %s" % pod_key(pod), self.core.read_namespaced_pod, meta["name"], meta["namespace"])
        return now is None or now.metadata.uid != meta.get("uid") or now.spec.node_name != self.node

    # -- writes -----------------------------------------------------------------
    def cordon(self):
        kc.call("cordon Node %s" % self.node, self.core.patch_node, self.node, {"spec": {"unschedulable": True}})

    def delete_node(self):
        kc.call("delete Node %s" % self.node, self.core.delete_node, self.node)

    def delete_pod(self, pod):
        meta = pod["metadata"]
        kc.call("delete finished Pod %s" % pod_key(pod), self.core.delete_namespaced_pod, meta["name"],
                meta["namespace"])

    def evict(self, pod, dry_run=False):
        """None when the eviction was accepted (or the pod is gone); else the API's reason it was refused."""
        meta = pod["metadata"]
        options = {"gracePeriodSeconds": self.grace_period} if self.grace_period is not None else {}
        if dry_run:
            options["dryRun"] = ["All"]
        body = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"]}}
        if options:
            body["deleteOptions"] = options
        kwargs = {"dry_run": "All"} if dry_run else {}
        try:
            self.core.create_namespaced_pod_eviction(meta["name"], meta["namespace"], body, **kwargs)
        except kc.ApiException as e:
            if e.status == 404:
                return None
            if e.status == 429:
                return " ".join([kc.api_message(e)] + kc.api_causes(e))
            raise kc.api_error("evict Pod %s" % pod_key(pod), e)
        except (kc.Urllib3Error, OSError) as e:
            raise kc.api_error("evict Pod %s" % pod_key(pod), e)
        return None

    # -- the flow -----------------------------------------------------------------
    def blocked_report(self, pod, reason):
        return {"pod": pod_key(pod), "reason": reason, "budgets": self.budgets_for(pod)}

    def predict(self, plan):
        """Dry-run every eviction: the list of pods a budget would block right now."""
        blocked = []
        for pod in plan["evict"]:
            reason = self.evict(pod, dry_run=True)
            if reason:
                blocked.append(self.blocked_report(pod, reason))
        return blocked

    def drain(self, plan, deadline, wait=True):
        """Evict until every pod is gone; raise a ``timeout`` error naming what blocked.

        Returns the keys of the pods evicted or deleted.
        """
        for pod in plan["delete"]:
            self.delete_pod(pod)
        pending = list(plan["evict"])
        accepted, blocked = [], {}
        delays = backoff_delays(initial=1.0, maximum=5.0)
        while True:
            for pod in list(pending):
                reason = self.evict(pod)
                if reason:
                    blocked[pod_key(pod)] = (pod, reason)
                else:
                    blocked.pop(pod_key(pod), None)
                    pending.remove(pod)
                    accepted.append(pod)
            if wait:
                accepted = [p for p in accepted if not self.gone(p)]
            else:
                accepted = []
            if not pending and not accepted:
                return [pod_key(p) for p in plan["evict"] + plan["delete"]]
            if deadline.expired() or (not wait and pending):
                raise self._stuck(plan, pending, accepted, blocked, deadline, wait)
            self.sleep(min(next(delays), max(deadline.remaining(), 0.1)))

    def _stuck(self, plan, pending, accepted, blocked, deadline, wait):
        reports = [self.blocked_report(pod, reason) for pod, reason in blocked.values()]
        terminating = [pod_key(p) for p in accepted]
        parts = ["%s (%s)" % (r["pod"], ", ".join(
            "PodDisruptionBudget %s %s, disruptionsAllowed=%s" % (b["name"], b["rule"], b["disruptions_allowed"])
            for b in r["budgets"]) or r["reason"]) for r in reports]
        if terminating:
            parts.append("still terminating: %s" % ", ".join(terminating))
        why = "after %.0fs" % deadline.timeout if wait else "(wait=false, no retry)"
        done = [pod_key(p) for p in plan["evict"] + plan["delete"]
                if pod_key(p) not in blocked and pod_key(p) not in terminating]
        return AutoextenderError(
            "Drain of Node %s did not finish %s; the node stays cordoned. Blocked: %s"
            % (self.node, why, "; ".join(parts)),
            kind=TIMEOUT if wait else BLOCKED,
            details={"node": self.node, "blocked": reports, "terminating": terminating},
            partial={"name": self.node, "unschedulable": True, "evicted": done,
                     "blocked": reports, "terminating": terminating})
