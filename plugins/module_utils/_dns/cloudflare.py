# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Cloudflare DNS over API v4 (plain HTTPS with ``requests``; no Cloudflare SDK).

Credentials: ``{"api_token": ...}`` (an API token with Zone:Read and
DNS:Edit on the zone); ``CLOUDFLARE_API_TOKEN`` from the environment when
absent. Options (as the other HTTP backends): ``deadline`` (a ``Deadline``
shared by the task; otherwise one of 120 seconds starts at the first call),
``timeout`` (seconds per HTTP request, default 30), ``api_url`` (default the
public API), ``zone_id`` (skips the lookup by name), ``per_page`` (100),
``min_ttl`` (60; Enterprise zones allow 30).

Atomicity: the API version the collection is checked against
(openapi 2024-08-06) has no batch endpoint, so ``replace`` is a sequence of
single-record calls in a safe order: records whose value stays are kept,
stale records are overwritten in place with new values (PUT), further new
values are created, and only then are leftover stale records deleted. The set
is therefore never empty and never lacks a value that is in both the old and
the new set; while it runs, resolvers may see a mix of old and new values.
A failure part-way leaves that mix; running the task again completes it.

Edge records are never proxied (``proxied: false``): the clients must reach
the edge nodes themselves. TTL 1 means "automatic" to Cloudflare; otherwise
the API accepts 60..86400 seconds.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.talos.autoextender.plugins.module_utils import _api_token
from ansible_collections.talos.autoextender.plugins.module_utils._dns.base import (
    RECORD_TYPES, DnsProvider, in_zone, record_set)
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import (
    MISSING_LIBRARY, NOT_FOUND, VALIDATION,
)
from ansible_collections.talos.autoextender.plugins.module_utils._retry import ApiFailure, call, parse_retry_after
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline

try:
    import requests
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the control node
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

API_URL = "https://api.cloudflare.com/client/v4"
AUTO_TTL = 1
MAX_TTL = 86400
PROXIABLE = ("A", "AAAA", "CNAME")
DEFAULT_DEADLINE = 120


class CloudflareApiError(Exception):
    """One non-2xx answer (or ``success: false``) of the API."""

    def __init__(self, status, code, message, retry_after=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


def _errors():
    if HAS_REQUESTS:
        return (CloudflareApiError, requests.ConnectionError, requests.Timeout)
    return (CloudflareApiError,)


def classify(exc):
    """An ``ApiFailure`` from a CloudflareApiError or a requests connection error."""
    if isinstance(exc, CloudflareApiError):
        return ApiFailure(status=exc.status, code=exc.code, message=exc.message, retry_after=exc.retry_after)
    return ApiFailure(connection=True, message="connection to the Cloudflare API failed (%s)" % type(exc).__name__)


def _error_from(response):
    try:
        body = response.json()
    except ValueError:
        body = {}
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    message = first.get("message") or "HTTP %d" % response.status_code
    code = first.get("code")
    if code is not None:
        message = "%s (Cloudflare error %s)" % (message, code)
    return CloudflareApiError(response.status_code, code, message, parse_retry_after(response.headers.get("Retry-After")))


def normalise_value(rtype, value):
    """A value in the presentation form the interface uses (absolute CNAME targets, canonical IPs)."""
    value = value.strip()
    if rtype == "CNAME":
        return value.lower().rstrip(".") + "."
    if rtype in ("A", "AAAA"):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return value
    if rtype == "TXT" and len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return value[1:-1]
    return value


def plan_replace(existing, rtype, ttl, values):
    """The calls that turn ``existing`` (API records) into ``values`` at ``ttl``.

    Returns ``(overwrite, create, delete)``: a list of ``(record, value)`` to PUT
    (a kept record whose TTL or proxying is wrong, or a stale record reused for a
    new value), a list of values to POST, and a list of records to DELETE.
    """
    wanted = sorted(set(values))
    kept, stale = {}, []
    for record in sorted(existing, key=lambda r: r["id"]):
        value = normalise_value(rtype, record["content"])
        if value in wanted and value not in kept:
            kept[value] = record
        else:
            stale.append(record)
    overwrite = [(r, v) for v, r in sorted(kept.items()) if r.get("ttl") != ttl or r.get("proxied")]
    new = [v for v in wanted if v not in kept]
    overwrite += list(zip(stale, new))
    return overwrite, new[len(stale):], stale[len(new):]


class CloudflareProvider(DnsProvider):

    name = "cloudflare"
    atomic_replace = False
    min_ttl = 60

    def __init__(self, zone, credentials, options=None):
        super().__init__(zone, credentials, options)
        self._session = None
        self._zone_id = self.options.get("zone_id")
        self._deadline = self.options.get("deadline")

    # -- plumbing -----------------------------------------------------------------
    @property
    def deadline(self):
        if self._deadline is None:
            self._deadline = Deadline(DEFAULT_DEADLINE)
        return self._deadline

    def _token(self):
        return _api_token.require("cloudflare", self.credentials)

    def _http(self):
        if not HAS_REQUESTS:
            raise AutoextenderError("The Cloudflare DNS provider needs the Python library requests (%s)"
                                    % REQUESTS_IMPORT_ERROR, kind=MISSING_LIBRARY)
        if self._session is None:
            self._session = requests.Session()
            self._session.headers.update({"Authorization": "Bearer " + self._token(),
                                          "Accept": "application/json"})
        return self._session

    def _call(self, method, path, what, params=None, body=None, idempotent=True):
        """The decoded body of one API call, retried on 429/5xx within the deadline."""
        session = self._http()
        url = self.options.get("api_url", API_URL).rstrip("/") + path

        def once():
            timeout = max(1.0, min(float(self.options.get("timeout", 30)), self.deadline.remaining()))
            response = session.request(method, url, params=params, json=body, timeout=timeout)
            if response.status_code >= 400:
                raise _error_from(response)
            data = response.json()
            if not data.get("success", False):
                error = _error_from(response)
                error.status = error.status if error.status >= 400 else 400
                raise error
            return data

        return call(once, what, self.deadline, classify, _errors(), idempotent=idempotent)

    def _what(self, verb, name=None, rtype=None):
        if name is None:
            return "%s records of %s" % (verb, self.zone)
        return "%s %s %s in %s" % (verb, name, rtype, self.zone)

    # -- zone and records -----------------------------------------------------------
    def zone_id(self):
        """The zone's id, looked up by name once."""
        if self._zone_id is None:
            zone = self.zone.rstrip(".")
            data = self._call("GET", "/zones", "look up zone %s" % self.zone, params={"name": zone, "per_page": 50})
            found = [z for z in data.get("result") or () if z.get("name", "").lower() == zone]
            if not found:
                raise AutoextenderError("Failed to look up zone %s: not found in this Cloudflare account, or the API "
                                        "token may not read it" % self.zone, kind=NOT_FOUND)
            self._zone_id = found[0]["id"]
        return self._zone_id

    def _records(self, name=None, rtype=None):
        params = {"per_page": int(self.options.get("per_page", 100)), "page": 1}
        if name is not None:
            params["name"] = name.rstrip(".")
        if rtype is not None:
            params["type"] = rtype
        path = "/zones/%s/dns_records" % self.zone_id()
        records = []
        while True:
            data = self._call("GET", path, self._what("read", name, rtype), params=dict(params))
            page = data.get("result") or []
            records += page
            info = data.get("result_info") or {}
            if not page or params["page"] >= int(info.get("total_pages") or params["page"]):
                return records
            params["page"] += 1

    @staticmethod
    def _to_set(name, rtype, records):
        ttls = [r.get("ttl", AUTO_TTL) for r in records]
        return record_set(name, rtype, min(ttls), [normalise_value(rtype, r["content"]) for r in records])

    def _body(self, name, rtype, ttl, value):
        body = {"type": rtype, "name": name.rstrip("."), "content": value.rstrip(".") if rtype == "CNAME" else value,
                "ttl": ttl}
        if rtype in PROXIABLE:
            body["proxied"] = False
        return body

    def _check(self, rrset):
        name, rtype, ttl, values = rrset["name"], rrset["type"], int(rrset["ttl"]), rrset["values"]
        problems = []
        if rtype not in RECORD_TYPES:
            problems.append("type must be one of %s" % ", ".join(RECORD_TYPES))
        if not in_zone(name, self.zone):
            problems.append("%s is not in the zone %s" % (name, self.zone))
        if ttl != AUTO_TTL and not int(self.options.get("min_ttl", self.min_ttl)) <= ttl <= MAX_TTL:
            problems.append("Cloudflare accepts a TTL of 1 (automatic) or %s..%d seconds, not %d"
                            % (self.options.get("min_ttl", self.min_ttl), MAX_TTL, ttl))
        if not values:
            problems.append("a record set needs at least one value (use delete to remove it)")
        if rtype == "CNAME" and len(values) > 1:
            problems.append("a CNAME has exactly one value")
        for value in values if rtype in ("A", "AAAA") else ():
            try:
                ipaddress.IPv4Address(value) if rtype == "A" else ipaddress.IPv6Address(value)
            except ValueError:
                problems.append("%r is not a valid %s value" % (value, rtype))
        if problems:
            raise AutoextenderError("Failed to replace %s %s in %s: %s" % (name, rtype, self.zone, "; ".join(problems)),
                                    kind=VALIDATION)

    def _create(self, name, rtype, ttl, value):
        """POST one record; after a dropped connection, adopt the record if the API made it."""
        path = "/zones/%s/dns_records" % self.zone_id()
        while True:
            try:
                return self._call("POST", path, self._what("create", name, rtype), body=self._body(name, rtype, ttl, value),
                                  idempotent=False)["result"]
            except AutoextenderError as exc:
                if exc.details.get("status") is not None or self.deadline.expired():
                    raise
            found = [r for r in self._records(name, rtype) if normalise_value(rtype, r["content"]) == value]
            if found:
                return found[0]

    # -- the interface ------------------------------------------------------------------
    def get(self, name, rtype):
        records = self._records(name, rtype)
        return self._to_set(name, rtype, records) if records else None

    def list(self):
        groups = {}
        for record in self._records():
            groups.setdefault((record["name"].lower() + ".", record["type"]), []).append(record)
        return [self._to_set(name, rtype, records) for (name, rtype), records in sorted(groups.items())]

    def replace(self, rrset):
        """Make ``rrset`` the whole set (see the module docstring for the order); True when anything changed."""
        rrset = record_set(rrset["name"], rrset["type"], rrset["ttl"],
                           [normalise_value(rrset["type"].upper(), v) for v in rrset["values"]])
        self._check(rrset)
        name, rtype, ttl = rrset["name"], rrset["type"], rrset["ttl"]
        overwrite, create, delete = plan_replace(self._records(name, rtype), rtype, ttl, rrset["values"])
        for record, value in overwrite:
            self._call("PUT", "/zones/%s/dns_records/%s" % (self.zone_id(), record["id"]), self._what("update", name, rtype),
                       body=self._body(name, rtype, ttl, value))
        for value in create:
            self._create(name, rtype, ttl, value)
        for record in delete:
            self._delete_record(name, rtype, record)
        return bool(overwrite or create or delete)

    def _delete_record(self, name, rtype, record):
        try:
            self._call("DELETE", "/zones/%s/dns_records/%s" % (self.zone_id(), record["id"]), self._what("delete", name, rtype))
        except AutoextenderError as exc:
            if exc.kind != NOT_FOUND:  # already gone (a retried delete whose first answer was lost)
                raise

    def delete(self, name, rtype):
        records = self._records(name, rtype)
        for record in records:
            self._delete_record(name, rtype, record)
        return bool(records)
