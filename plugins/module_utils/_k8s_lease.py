# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""A ``coordination.k8s.io/v1`` Lease as a lock between runs of the same workflow (the failover CronJob, AWX, a
laptop): taken with a create or a replace at the version read, so two runs never both hold it; given back with a
delete at the version read. A holder that dies leaves a lease the next run takes once ``duration`` has passed.
"""

from __future__ import annotations

import datetime

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers.base import MANAGED_BY, MANAGED_BY_VALUE
from ansible_collections.talos.autoextender.plugins.module_utils._wait import WaitTimeout, wait_for

API_VERSION, KIND = "coordination.k8s.io/v1", "Lease"
#: the status of an answer that says "someone else changed it first"
CONFLICT_STATUSES = (409,)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _micro(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)


def expires(lease):
    """When the lease ends (renewTime + leaseDurationSeconds), or None when nobody holds it."""
    spec = (lease or {}).get("spec") or {}
    if not spec.get("holderIdentity") or not spec.get("renewTime"):
        return None
    return _parse(spec["renewTime"]) + datetime.timedelta(seconds=int(spec.get("leaseDurationSeconds") or 0))


def describe(lease):
    """``{holder, expires}`` of a lease as the module returns it."""
    end = expires(lease)
    return {"holder": ((lease or {}).get("spec") or {}).get("holderIdentity") if end else None,
            "expires": end.isoformat() if end else None}


def _conflict(exc):
    return (exc.details or {}).get("status") in CONFLICT_STATUSES


class Lease:
    def __init__(self, objects, namespace, name, holder, duration):
        self.objects, self.namespace, self.name = objects, namespace, name
        self.holder, self.duration = holder, int(duration)

    def read(self):
        return self.objects.get(API_VERSION, KIND, self.namespace, self.name)

    def _take(self, current, moment):
        spec = (current or {}).get("spec") or {}
        mine = spec.get("holderIdentity") == self.holder
        lease = {"apiVersion": API_VERSION, "kind": KIND,
                 "metadata": {"name": self.name, "namespace": self.namespace, "labels": {MANAGED_BY: MANAGED_BY_VALUE}},
                 "spec": {"holderIdentity": self.holder, "leaseDurationSeconds": self.duration,
                          "acquireTime": spec.get("acquireTime") if mine else _micro(moment),
                          "renewTime": _micro(moment),
                          "leaseTransitions": int(spec.get("leaseTransitions") or 0) + (0 if mine else 1)}}
        if current is None:
            return self.objects.create(lease)
        lease["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self.objects.replace(lease)

    def try_acquire(self, dry_run=False):
        """``(acquired, lease)``: taken (or renewed) when free, expired or ours; the other holder's lease if not."""
        current = self.read()
        moment = _now()
        end = expires(current)
        held = end is not None and end > moment and current["spec"]["holderIdentity"] != self.holder
        if held:
            return False, current
        if dry_run:
            return True, current
        try:
            return True, self._take(current, moment)
        except AutoextenderError as exc:
            if _conflict(exc):  # another run took it between the read and the write
                return False, self.read()
            raise

    def acquire(self, deadline, dry_run=False):
        """Wait (until ``deadline``) for the lease; ``(acquired, lease)`` as ``try_acquire`` at the end."""
        outcome = []

        def attempt():
            outcome[:] = [self.try_acquire(dry_run)]
            return outcome[0][0], outcome[0]
        try:
            return wait_for(attempt, deadline, "the lease %s/%s" % (self.namespace, self.name), initial=0.5,
                            maximum=5.0)
        except WaitTimeout:
            return outcome[0]

    def release(self):
        """Give the lease back; False when it was not ours (any more) or already gone."""
        current = self.read()
        if current is None or ((current.get("spec") or {}).get("holderIdentity") != self.holder):
            return False
        try:
            return self.objects.delete(API_VERSION, KIND, self.namespace, self.name,
                                       resource_version=current["metadata"]["resourceVersion"])
        except AutoextenderError as exc:
            if _conflict(exc):
                return False
            raise
