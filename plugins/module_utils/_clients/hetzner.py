# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The hcloud SDK client, as the Hetzner provider and the Hetzner DNS backend use it.

* The SDK's own retry loop is switched off: ``_retry.call`` retries 429 and
  5xx honouring Retry-After within the task's one deadline.
* ``hcloud.APIException`` carries the API's error code but not the HTTP
  status or headers, so a response hook on the SDK's ``requests`` session
  records the status and ``Retry-After`` (or the ``RateLimit-*`` headers) of
  the last failed response.
* Actions are polled with ``_wait.wait_for`` against the same deadline
  instead of the SDK's fixed ``poll_max_retries``.
"""

from __future__ import annotations

import threading
import time
import traceback

from ansible_collections.talos.autoextender.plugins.module_utils import _api_token, _retry
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import API, MISSING_LIBRARY, NOT_FOUND
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline, wait_for

try:
    import hcloud
    import requests
except ImportError:
    HAS_HCLOUD = False
    HCLOUD_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_HCLOUD = True
    HCLOUD_IMPORT_ERROR = None

API_URL = "https://api.hetzner.cloud/v1"
#: API error codes -> HTTP status (the SDK exception does not say which status it came with)
CODE_STATUS = {
    "unauthorized": 401, "token_readonly": 403, "forbidden": 403, "protected": 403, "maintenance": 503,
    "not_found": 404, "conflict": 409, "uniqueness_error": 409, "locked": 423, "resource_in_use": 422,
    "invalid_input": 422, "json_error": 400, "resource_limit_exceeded": 403, "resource_unavailable": 412,
    "unsupported_location_for_server_type": 422, "rate_limit_exceeded": 429, "server_error": 500,
    "service_error": 503, "unavailable": 503, "bad_gateway": 502, "timeout": 504,
}


def require_hcloud():
    if not HAS_HCLOUD:
        raise AutoextenderError("Failed to load the Hetzner provider: the Python library hcloud (>= 2.5) is required "
                                "on the host that runs this task (pip install hcloud)",
                                kind=MISSING_LIBRARY, details={"exception": HCLOUD_IMPORT_ERROR})


def token_from(credentials):
    return _api_token.require("hetzner", credentials)


class HcloudApi(object):
    """One hcloud client per task, with our retry policy and action polling."""

    def __init__(self, token, api_url=None, request_timeout=30.0, clock=time.time):
        require_hcloud()
        self.client = hcloud.Client(token=token, api_endpoint=api_url or API_URL, timeout=request_timeout,
                                    application_name="talos-autoextender")
        self._clock = clock
        self._local = threading.local()  # the pages of one listing are fetched side by side (_pages)
        base = getattr(self.client, "_client", None)
        if base is not None and hasattr(base, "_retry_max_retries"):
            base._retry_max_retries = 0  # _retry.call is the only retry loop
        if base is not None and hasattr(base, "_session"):
            base._session.hooks["response"].append(self._record)

    @property
    def last(self):
        """Status and wait of this thread's last failed response."""
        return getattr(self._local, "last", {})

    @last.setter
    def last(self, value):
        self._local.last = value

    def _record(self, response, *args, **kwargs):
        if response.status_code >= 400:
            self.last = {"status": response.status_code, "retry_after": self._retry_after(response.headers)}
        return response

    def _retry_after(self, headers):
        """Seconds to wait before the next call, from the failed answer's headers.

        ``Retry-After`` when given. Hetzner's 429 carries ``RateLimit-*`` only, and its ``RateLimit-Reset``
        is when the bucket is full again (an hour away when it is empty), while one request comes back every
        3600 / ``RateLimit-Limit`` seconds ("increase by 1 every second" at 3,600 an hour): wait for that one,
        never past the reset.
        """
        seconds = _retry.parse_retry_after(headers.get("Retry-After"))
        if seconds is not None:
            return seconds
        reset = _retry.parse_retry_after(headers.get("RateLimit-Reset"))
        limit = _retry.parse_retry_after(headers.get("RateLimit-Limit"))
        waits = [max(0.0, reset - self._clock())] if reset is not None else []
        if limit:
            waits.append(3600.0 / limit)
        return min(waits) if waits else None

    def classify(self, exc):
        if isinstance(exc, hcloud.APIException):
            status = self.last.get("status") or (exc.code if isinstance(exc.code, int) else CODE_STATUS.get(exc.code))
            return _retry.ApiFailure(status=status, code=exc.code, message=exc.message,
                                     retry_after=self.last.get("retry_after"))
        return _retry.ApiFailure(message="connection failed: %s" % exc, connection=True)

    def call(self, fn, what, deadline, idempotent=True, look_first=False):
        """``fn()`` through ``_retry.call``; every failure becomes ``AutoextenderError``."""
        def attempt():
            self.last = {}
            return fn()
        return _retry.call(attempt, what, deadline, self.classify, (hcloud.APIException, requests.RequestException),
                           idempotent=idempotent, look_first=look_first)

    def read(self, fn, what, deadline):
        """A read where "not found" is ``None``."""
        try:
            return self.call(fn, what, deadline)
        except AutoextenderError as exc:
            if exc.kind == NOT_FOUND:
                return None
            raise

    def wait_actions(self, actions, deadline, what):
        """Poll every action until it succeeds; an ``error`` action raises with the API's code and message."""
        for action in [a for a in actions if a is not None]:
            def probe(action_id=action.id):
                current = self.call(lambda: self.client.actions.get_by_id(action_id), "read action %s" % action_id, deadline)
                if current.status == "error":
                    error = current.error or {}
                    raise AutoextenderError("Failed to %s: %s" % (what, error.get("message") or error.get("code")),
                                            kind=API, details={"action": current.command, "code": error.get("code")})
                return current.status == "success", {"action": current.command, "status": current.status}
            wait_for(probe, deadline, what, initial=0.2, maximum=5.0)


def api_for(credentials, options):
    """An ``HcloudApi`` from the provider's credentials and options (``api_url``, ``request_timeout``)."""
    return HcloudApi(token_from(credentials), (options or {}).get("api_url"), (options or {}).get("request_timeout", 30.0))


def short_deadline(options):
    """The task's deadline (``options["deadline"]``), else ``options["api_timeout"]`` seconds (default 60)."""
    options = options or {}
    return options.get("deadline") or Deadline(options.get("api_timeout", 60))
