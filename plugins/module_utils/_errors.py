# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The one exception type that crosses module_utils -> module.

Everything below the module boundary raises ``AutoextenderError``; the module
turns it into ``fail_json(msg=..., failure=...)``. The ``failure`` dict is
structured so playbooks can branch on it (``failure.kind``), and every string
in it has known secrets removed before it leaves the process.
"""

from __future__ import annotations

from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import ERROR, KINDS

REDACTED = "********"


def redact(value, secrets):
    """Return ``value`` with every secret string replaced, recursing into containers."""
    secrets = [s for s in (secrets or ()) if isinstance(s, str) and len(s) >= 4]
    if not secrets:
        return value
    if isinstance(value, str):
        # Longest first, so a secret containing another is removed whole.
        for secret in sorted(secrets, key=len, reverse=True):
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return dict((k, redact(v, secrets)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v, secrets) for v in value)
    return value


class AutoextenderError(Exception):
    """A failure with a readable message and structured details.

    ``kind`` is a short machine-readable category, one of the names declared in
    ``_failure_kinds`` (``KINDS``); any other value is refused with ValueError.
    ``details`` carries what a user needs to debug (cmd, rc, stdout, stderr,
    status code, ...). ``partial`` holds whatever result exists so far, so a
    timeout still reports what was created.
    """

    def __init__(self, msg, kind=ERROR, details=None, partial=None):
        if kind not in KINDS:
            raise ValueError("undeclared failure kind %r (declare it in _failure_kinds.py)" % (kind,))
        super().__init__(msg)
        self.msg = msg
        self.kind = kind
        self.details = dict(details or {})
        self.partial = partial

    def redacted(self, secrets):
        """A copy of this error with ``secrets`` removed from every string."""
        return AutoextenderError(
            redact(self.msg, secrets),
            kind=self.kind,
            details=redact(self.details, secrets),
            partial=redact(self.partial, secrets),
        )

    def failure(self):
        """The structured ``failure`` dict returned by the module."""
        out = {"kind": self.kind}
        out.update(self.details)
        return out

    def __str__(self):
        return self.msg
