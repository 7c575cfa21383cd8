# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Retry an API call on 429 and 5xx, honouring Retry-After, within one deadline.

Providers map their SDK's exceptions to ``ApiFailure`` with ``classify``; this
module decides whether to try again. The SDKs' own retry loops are turned off
by the providers so that the task's ``wait_timeout`` is the only clock.
"""

from __future__ import annotations

import time

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import API, AUTH, CONFLICT, NOT_FOUND, RATE_LIMITED, VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._wait import backoff_delays

#: 423: the resource is locked by another running action (Hetzner's ``locked``); the call was refused and
#: changed nothing, so it is sent again once the action ends.
RETRYABLE_STATUS = (423, 429, 500, 502, 503, 504)


class ApiFailure(object):
    """What a provider learned from one failed call."""

    def __init__(self, status=None, code=None, message="", retry_after=None, connection=False):
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.connection = connection

    @property
    def retryable(self):
        return self.connection or self.status in RETRYABLE_STATUS

    @property
    def kind(self):
        return {401: AUTH, 403: AUTH, 404: NOT_FOUND, 409: CONFLICT, 412: CONFLICT,
                422: VALIDATION, 429: RATE_LIMITED}.get(self.status, API)


def parse_retry_after(value):
    """Seconds from a Retry-After header (seconds form); None if absent or a date."""
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def may_have_committed(failure):
    """True when the API may have made the change although the caller got no success answer."""
    return failure.connection or (failure.status or 0) >= 500


def call(fn, what, deadline, classify, errors, idempotent=True, sleep=time.sleep, look_first=False):
    """Run ``fn()``; retry retryable failures until ``deadline``; raise AutoextenderError.

    ``errors`` is the tuple of SDK exception types to handle; ``classify(exc)``
    turns one into an ``ApiFailure``. A non-idempotent call is not retried
    after a dropped connection. With ``look_first`` (the creates and deletes of
    ``_providers/_lost_answer.py``) only a 429 is retried here: after a dropped
    connection or a 5xx the change may have been made, so the error is raised
    at once with ``details["answer_lost"]`` and the caller looks before it
    sends the call again.
    """
    delays = backoff_delays(initial=1.0, maximum=30.0)
    attempts = 0
    while True:
        attempts += 1
        try:
            return fn()
        except errors as exc:
            failure = classify(exc)
        lost = look_first and may_have_committed(failure)
        can_retry = failure.retryable and (idempotent or not failure.connection) and not lost
        delay = failure.retry_after if failure.retry_after is not None else next(delays)
        if not can_retry or delay > deadline.remaining():
            details = {"status": failure.status, "code": failure.code, "attempts": attempts,
                       "retryable": failure.retryable}
            if lost:
                details["answer_lost"] = True
            raise AutoextenderError(
                "Failed to %s: %s" % (what, failure.message or failure.code or "HTTP %s" % failure.status),
                kind=failure.kind, details=details,
            )
        sleep(delay)
