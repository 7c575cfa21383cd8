# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Where the edge set's health history (``_edge_health``) lives between runs: one ConfigMap of the home cluster.

One data key per record name (``edge.example.org``), each written by a field manager of its own, so the runs
for the edge name and the apex never undo each other's key with a server-side apply. The CronJob, AWX and a
laptop read and write the same object; the failover lease (``k8s_lease``) keeps two runs from doing so at once.
"""

from __future__ import annotations

import json

from ansible_collections.talos.autoextender.plugins.module_utils import _k8s_client as kc
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import NOT_FOUND, VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._k8s_objects import Objects
from ansible_collections.talos.autoextender.plugins.module_utils._providers.base import MANAGED_BY, MANAGED_BY_VALUE

FIELD_MANAGER = "talos-autoextender-health"


class HealthStore:
    """The history of one record name, in ``state["namespace"]/state["name"]``."""

    def __init__(self, state, record_name, must_exist=True):
        self.key = record_name.rstrip(".")
        self.must_exist = must_exist
        self.namespace, self.name = state["namespace"], state["name"]
        client = kc.api_client(state.get("kubeconfig"), state.get("context"))
        self.objects = Objects(client, "%s/%s" % (FIELD_MANAGER, self.key[:100]))

    def where(self):
        return "ConfigMap %s/%s key %s" % (self.namespace, self.name, self.key)

    def load(self):
        """The history, ``{}`` when there is none yet. A namespace that does not exist is refused where the history
        is to be written (``must_exist``) and read as no history where it is only read (a status report)."""
        if not self.objects.namespace_exists(self.namespace):
            if not self.must_exist:
                return {}
            raise AutoextenderError(
                "The namespace %s for the edge health state does not exist in the home cluster (provision.yml creates "
                "it with the edge ingress; or set health.state.namespace)" % self.namespace, kind=NOT_FOUND)
        found = self.objects.get("v1", "ConfigMap", self.namespace, self.name) or {}
        raw = (found.get("data") or {}).get(self.key)
        if not raw:
            return {}
        try:
            history = json.loads(raw)
        except ValueError as exc:
            raise AutoextenderError("The edge health state in %s is not JSON (%s): delete the key to start afresh"
                                    % (self.where(), exc), kind=VALIDATION)
        if not isinstance(history, dict):
            raise AutoextenderError("The edge health state in %s is not a mapping: delete the key to start afresh"
                                    % self.where(), kind=VALIDATION)
        return history

    def save(self, history):
        self.objects.apply({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": {MANAGED_BY: MANAGED_BY_VALUE}},
            "data": {self.key: json.dumps(history, sort_keys=True, separators=(",", ":"))}})
