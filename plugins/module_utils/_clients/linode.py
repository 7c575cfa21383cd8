# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The Linode API client, as the Linode provider and the Linode DNS backend use it.

``LinodeApi`` turns the SDK's retry off (``retry=False``) and bounds every
HTTP request with a timeout, so ``_retry.call`` and the task's deadline are
the only clock; long lists are read with ``_pages`` (the pages after the
first side by side). Linode reports invalid input as 400, and its 429 carries
``X-RateLimit-*`` only.
"""

from __future__ import annotations

import threading
import time
import traceback

from ansible_collections.talos.autoextender.plugins.module_utils import _api_token, _pages, _retry
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import MISSING_LIBRARY, NOT_FOUND, VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline

try:
    import linode_api4
    import requests
    from linode_api4.errors import ApiError as LinodeApiError
    from linode_api4.errors import UnexpectedResponseError
except ImportError:
    HAS_LINODE = False
    LINODE_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_LINODE = True
    LINODE_IMPORT_ERROR = None

API_URL = "https://api.linode.com/v4"
#: items per list page (the API allows 25 to 500)
PAGE_SIZE = 500


def require_sdk():
    if not HAS_LINODE:
        raise AutoextenderError("Failed to load the Linode provider: the Python library linode_api4 is required on the "
                                "host that runs this task (pip install linode_api4)",
                                kind=MISSING_LIBRARY, details={"exception": LINODE_IMPORT_ERROR})


class Failure(_retry.ApiFailure):
    """Linode reports invalid input as HTTP 400 (not 422)."""

    @property
    def kind(self):
        return VALIDATION if self.status == 400 else super().kind


def classify(exc):
    """An ``ApiFailure`` from an SDK or connection error."""
    if HAS_LINODE and isinstance(exc, LinodeApiError):
        response = exc.response
        headers = response.headers if response is not None else {}
        entries = (exc.json or {}).get("errors") if isinstance(exc.json, dict) else None
        reasons = ["%s%s" % (e["field"] + ": " if e.get("field") else "", e.get("reason")) for e in entries or ()
                   if isinstance(e, dict)]
        message = "%s (HTTP %s)" % ("; ".join(reasons), exc.status) if reasons else str(exc)
        return Failure(status=exc.status, message=message, retry_after=_retry_after(exc.status, headers))
    if HAS_LINODE and isinstance(exc, UnexpectedResponseError):
        return _retry.ApiFailure(status=exc.status, message="unexpected response from the Linode API: %s" % exc)
    return _retry.ApiFailure(connection=True, message="connection to the Linode API failed (%s)" % type(exc).__name__)


def _retry_after(status, headers, clock=time.time):
    """Seconds to wait: ``Retry-After`` when given; on a 429 without it, until ``X-RateLimit-Reset`` (the UNIX
    time the current window ends and the count starts again)."""
    seconds = _retry.parse_retry_after(headers.get("Retry-After"))
    if seconds is None and status == 429:
        reset = _retry.parse_retry_after(headers.get("X-RateLimit-Reset"))
        seconds = None if reset is None else max(0.0, reset - clock())
    return seconds


def _errors():
    return (LinodeApiError, UnexpectedResponseError, requests.RequestException)


def token_from(credentials):
    return _api_token.require("linode", credentials)


class LinodeApi(object):
    """One ``LinodeClient`` per task: no SDK retries, bounded requests, ``_retry.call`` around each call.

    Options: ``api_url`` (default the public API), ``timeout`` (seconds per
    HTTP request, default 30), ``deadline`` (a ``Deadline`` shared by the
    task; otherwise each operation gets ``default_timeout`` seconds).
    """

    def __init__(self, credentials, options=None, default_timeout=120):
        self.credentials = credentials
        self.options = dict(options or {})
        self.default_timeout = default_timeout
        self._client = None
        self._local = threading.local()  # the pages of one listing are fetched side by side (_pages)

    @property
    def _timeout(self):
        """This thread's bound of one HTTP request: the option, cut to what is left of the deadline."""
        return getattr(self._local, "timeout", float(self.options.get("timeout") or 30))

    @_timeout.setter
    def _timeout(self, value):
        self._local.timeout = value

    def deadline(self):
        return self.options.get("deadline") or Deadline(self.default_timeout)

    def client(self):
        if self._client is None:
            require_sdk()
            client = linode_api4.LinodeClient(token_from(self.credentials), base_url=self.options.get("api_url") or API_URL,
                                              retry=False, user_agent="talos-autoextender")
            api = self

            class BoundedAdapter(requests.adapters.HTTPAdapter):
                def send(self, request, **kwargs):
                    if kwargs.get("timeout") is None:
                        kwargs["timeout"] = api._timeout
                    return super().send(request, **kwargs)

            adapter = BoundedAdapter(max_retries=0)
            client.session.mount("http://", adapter)
            client.session.mount("https://", adapter)
            self._client = client
        return self._client

    def call(self, what, deadline, method, path, data=None, filters=None, idempotent=True, look_first=False):
        """``method`` (get/post/put/delete) on ``path`` through the SDK; an AutoextenderError on failure."""
        client = self.client()

        def attempt():
            self._timeout = max(1.0, min(float(self.options.get("timeout") or 30), deadline.remaining() or 1.0))
            if method in ("post", "put"):
                return getattr(client, method)(path, data=data, filters=filters)
            return getattr(client, method)(path, filters=filters)

        return _retry.call(attempt, what, deadline, classify, _errors(), idempotent=idempotent, look_first=look_first)

    def read(self, what, deadline, path):
        """GET ``path``; None when it does not exist."""
        try:
            return self.call(what, deadline, "get", path)
        except AutoextenderError as err:
            if err.kind == NOT_FOUND:
                return None
            raise

    def remove(self, what, deadline, path):
        """DELETE ``path``; False when it was already gone."""
        try:
            self.call(what, deadline, "delete", path)
        except AutoextenderError as err:
            if err.kind == NOT_FOUND:
                return False
            raise
        return True

    def collect(self, what, deadline, path, filters=None):
        """Every item of a paginated list (``X-Filter`` applied by the API)."""
        def fetch(page):
            data = self.call(_pages.label(what, page), deadline, "get",
                             "%s?page=%d&page_size=%d" % (path, page, PAGE_SIZE), filters=filters)
            return data.get("data") or [], int(data.get("pages") or 1), None

        return _pages.all_pages(fetch)

    def post_once(self, what, deadline, path, data):
        """One POST of a create for ``_lost_answer.create`` (a lost answer is raised, not retried)."""
        return self.call(what, deadline, "post", path, data=data, idempotent=False, look_first=True)
