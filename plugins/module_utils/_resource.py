# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The base class every stateful module extends.

``run()`` is the only entry point: fetch -> compare -> act or predict -> wait
-> exit. Subclasses work on plain dicts and declare what the resource is; the
base class does check mode, diff, secret redaction and error reporting once,
so every module behaves the same way.
"""

from __future__ import annotations

import copy

from ansible_collections.talos.autoextender.plugins.module_utils._errors import (
    REDACTED,
    AutoextenderError,
    redact,
)
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import IMMUTABLE
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline


def normalise(value, unordered=False):
    """Make ``value`` comparable: lists become sorted when order is meaningless."""
    if isinstance(value, dict):
        return dict((k, normalise(v, unordered)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        items = [normalise(v, unordered) for v in value]
        return sorted(items, key=repr) if unordered else items
    return value


def differences(current, desired, unordered=(), purge=()):
    """Return ``{key: (before, after)}`` for each managed key that differs.

    A ``None`` in ``desired`` means "not managed". Dicts are compared only on
    the keys given, unless their key is in ``purge``. Keys in ``unordered``
    hold lists compared as sets.
    """
    changes = {}
    current = current or {}
    for key, want in desired.items():
        if want is None:
            continue
        have = current.get(key)
        if isinstance(want, dict) and isinstance(have, dict) and key not in purge:
            have = dict((k, have.get(k)) for k in want)
        if normalise(have, key in unordered) != normalise(want, key in unordered):
            changes[key] = (current.get(key), want)
    return changes


class Resource:
    """Subclass and set the class attributes; implement the hooks.

    Hooks (plain dicts in, plain dicts out):
      fetch()                    -> current state or None when absent
      desired()                  -> the state the options ask for (None = unmanaged)
      create(desired)            -> state after creation
      update(current, changes)   -> state after update
      delete(current)            -> None
      wait(state, deadline)      -> state once settled (default: unchanged)
      immutable                  -> keys that cannot change in place
    """

    return_key = "resource"
    unordered = ()
    purge = ()
    immutable = ()
    secret_fields = ()

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.diff_mode = getattr(module, "_diff", False)

    # -- hooks ---------------------------------------------------------------
    def fetch(self):
        raise NotImplementedError

    def desired(self):
        raise NotImplementedError

    def create(self, desired):
        raise NotImplementedError

    def update(self, current, changes):
        raise NotImplementedError

    def delete(self, current):
        raise NotImplementedError

    def wait(self, state, deadline):
        return state

    def secrets(self):
        """Secret strings (tokens, keys) to remove from anything returned."""
        return []

    def notices(self):
        """Lines to warn the user with: what was repaired on the way (an adopted create, ...)."""
        return []

    def output(self, state):
        """``state`` (a copy) as the module returns it, in the result and the diff: its documented RETURN keys."""
        return state

    # -- predictions used in check mode -------------------------------------
    def predict_create(self, desired):
        return dict((k, v) for k, v in desired.items() if v is not None)

    def predict_update(self, current, changes):
        after = copy.deepcopy(current)
        for key, (_before, want) in changes.items():
            if isinstance(want, dict) and isinstance(after.get(key), dict) and key not in self.purge:
                after[key].update(want)
            else:
                after[key] = want
        return after

    # -- the flow -------------------------------------------------------------
    def compare(self, current, desired):
        changes = differences(current, desired, self.unordered, self.purge)
        frozen = sorted(k for k in changes if k in self.immutable)
        if frozen:
            raise AutoextenderError(
                "Cannot change %s of an existing %s in place; delete and recreate it"
                % (", ".join(frozen), self.return_key),
                kind=IMMUTABLE,
                details={"fields": frozen},
            )
        return changes

    def ensure(self):
        """Return ``(changed, before, after)``; acts unless in check mode."""
        state = self.params.get("state", "present")
        current = self.fetch()
        if state == "absent":
            if current is None:
                return False, None, None
            if not self.check_mode:
                self.delete(current)
            return True, current, None
        desired = self.desired()
        if current is None:
            after = self.predict_create(desired) if self.check_mode else self.create(desired)
            return True, None, after
        changes = self.compare(current, desired)
        if not changes:
            return False, current, current
        after = self.predict_update(current, changes) if self.check_mode else self.update(current, changes)
        return True, current, after

    def redacted(self, state):
        if state is None:
            return None
        out = self.output(copy.deepcopy(state))
        if isinstance(out, dict):
            for key in self.secret_fields:
                if out.get(key) is not None:
                    out[key] = REDACTED
        return redact(out, self.secrets())

    def warn(self):
        for line in self.notices():
            self.module.warn(redact(line, self.secrets()))

    def run(self):
        try:
            changed, before, after = self.ensure()
            if changed and after is not None and not self.check_mode and self.params.get("wait", True):
                after = self.wait(after, Deadline(self.params.get("wait_timeout") or 0))
        except AutoextenderError as e:
            e = e.redacted(self.secrets())
            result = {"msg": e.msg, "failure": e.failure()}
            if e.partial is not None:
                result[self.return_key] = self.redacted(e.partial)
            self.warn()
            self.module.fail_json(**result)
            return
        self.warn()
        result = {"changed": changed, self.return_key: self.redacted(after) or {}}
        if self.diff_mode:
            result["diff"] = {"before": self.redacted(before) or {}, "after": self.redacted(after) or {}}
        self.module.exit_json(**result)
