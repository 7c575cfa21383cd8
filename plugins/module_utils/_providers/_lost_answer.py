# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The one place that handles a create or delete whose answer was lost.

A create or delete answered by a dropped connection or a 5xx may have been
made anyway. Sending it again blindly either makes a second resource or fails
("name already used", "not found") although the first call did the work. So
every provider sends its creates and deletes through ``create()`` and
``delete()`` here, with ``_retry.call(..., look_first=True)`` inside ``send``
(which raises at once, marked ``details["answer_lost"]``, instead of retrying):

* create: look the resource up by name. One carrying our labels is adopted; one
  without them is a ``conflict`` and is left alone; nothing found means nothing
  was made, so the create is sent again (backoff, within the deadline). The
  look also runs after a ``conflict`` answer (the name exists: ours, from an
  earlier run, or someone else's), and after any error that follows a lost
  answer (Linode's "Label must be unique" once the first create is in).
* delete: "not found" means gone. After a lost answer the resource is read
  again: gone means the delete was made; still there means it is sent again.

Every provider relies on names being unique per kind (servers and firewalls on
Hetzner, Linode and the lab) or on finding the resource by its identity labels
(images), and passes ``find`` or ``gone`` reads of its own.
"""

from __future__ import annotations

import time

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import CONFLICT, NOT_FOUND
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from ansible_collections.talos.autoextender.plugins.module_utils._wait import backoff_delays


def answer_lost(error):
    """True for an error of ``_retry.call(look_first=True)`` after which the change may exist."""
    return bool(error.details.get("answer_lost"))


def _again(error, deadline, delays, sleep, outcome):
    """Sleep before sending again, or raise ``error`` saying what the look found."""
    delay = next(delays)
    if delay > deadline.remaining():
        raise AutoextenderError("%s (the answer was lost; %s)" % (error.msg, outcome), kind=error.kind,
                                details=error.details)
    sleep(delay)


def create(what, deadline, send, find, owned, notes=None, sleep=time.sleep):
    """Return ``send()``'s result, or the resource ``find()`` returns after a lost answer.

    ``send()`` makes one create; ``find()`` returns the resource of that name
    (any shape) or None; ``owned(found)`` says whether it carries the labels
    asked for. ``notes`` (a list) gets a line for every adoption.
    """
    delays = backoff_delays(initial=1.0, maximum=30.0)
    lost_before = False
    while True:
        try:
            return send()
        except AutoextenderError as exc:
            error = exc
        lost = answer_lost(error)
        if not (lost or lost_before or error.kind == CONFLICT):
            raise error
        found = find()
        if found is not None:
            if not owned(found):
                raise AutoextenderError(
                    "Failed to %s: the name is taken by a resource without our labels (%s=%s and the cluster's and "
                    "pool's); it is left untouched" % (what, base.MANAGED_BY, base.MANAGED_BY_VALUE),
                    kind=CONFLICT, details=dict(error.details, answer_lost=lost or lost_before))
            if notes is not None:
                notes.append("The answer to '%s' was %s (%s); it exists with our labels and was adopted"
                             % (what, "lost" if lost or lost_before else "a name conflict", error.msg))
            return found
        if not lost:
            raise error
        lost_before = True
        _again(error, deadline, delays, sleep, "nothing was created, and there was no time left to send it again")


def delete(what, deadline, send, gone, notes=None, sleep=time.sleep):
    """Return True once deleted (by this call, or by one whose answer was lost), False when it was not there.

    ``send()`` makes one delete (and waits for it where the API is
    asynchronous); ``gone()`` reads the resource again and says whether it no
    longer exists.
    """
    delays = backoff_delays(initial=1.0, maximum=30.0)
    lost_before = False
    while True:
        try:
            send()
            return True
        except AutoextenderError as exc:
            error = exc
        if error.kind == NOT_FOUND:
            return lost_before
        if not answer_lost(error):
            raise error
        if gone():
            if notes is not None:
                notes.append("The answer to '%s' was lost (%s); it is gone" % (what, error.msg))
            return True
        lost_before = True
        _again(error, deadline, delays, sleep, "it still exists, and there was no time left to send it again")
