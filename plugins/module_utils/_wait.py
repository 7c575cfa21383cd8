# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""One deadline per task, and polling with exponential backoff and jitter.

A task creates one ``Deadline`` from its ``wait_timeout`` and passes it to
every wait it does, so three sequential waits never take three timeouts.
"""

from __future__ import annotations

import random
import time

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import TIMEOUT


class WaitTimeout(AutoextenderError):
    """The deadline passed; ``partial`` holds the last observed state."""

    def __init__(self, msg, partial=None, details=None):
        super().__init__(msg, kind=TIMEOUT, details=details, partial=partial)


class Deadline:
    """A point in time shared by all waits of one task."""

    def __init__(self, timeout, clock=time.monotonic):
        if timeout is None or timeout < 0:
            raise ValueError("timeout must be a number of seconds >= 0, got %r" % (timeout,))
        self._clock = clock
        self.timeout = float(timeout)
        self.expires = clock() + self.timeout

    def remaining(self):
        return max(0.0, self.expires - self._clock())

    def expired(self):
        return self.remaining() <= 0.0


def backoff_delays(initial=0.5, maximum=10.0, factor=2.0, jitter=0.2, rng=random.random):
    """Yield sleeps growing ``factor``-fold up to ``maximum``, each +/- ``jitter``."""
    delay = initial
    while True:
        spread = delay * jitter
        yield max(0.0, delay - spread + 2 * spread * rng())
        delay = min(maximum, delay * factor)


def wait_for(probe, deadline, what, initial=0.5, maximum=10.0, sleep=time.sleep):
    """Call ``probe()`` until it returns ``(True, state)``; return ``state``.

    ``probe`` returns ``(done, state)``. On timeout a ``WaitTimeout`` carries the
    last ``state`` as its partial result so the caller can still report it.
    """
    state = None
    for delay in backoff_delays(initial, maximum):
        done, state = probe()
        if done:
            return state
        remaining = deadline.remaining()
        if remaining <= 0:
            break
        sleep(min(delay, remaining))
    raise WaitTimeout(
        "Timed out after %.0fs waiting for %s" % (deadline.timeout, what),
        partial=state,
        details={"waited_for": what, "timeout": deadline.timeout},
    )
