# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""PowerDNS Authoritative over its HTTP API (``/api/v1``) with ``requests``.

A replace is one ``PATCH /servers/<id>/zones/<zone>`` with ``changetype:
REPLACE``: PowerDNS swaps the whole RRset in one transaction, so a resolver
never sees a partial set. Credentials: ``{"api_token": <X-API-Key>}``.
Options: ``api_url`` (required, e.g. ``http://127.0.0.1:8081``), ``server_id``
(default ``localhost``), ``deadline`` (a ``Deadline`` shared by the task),
``timeout`` (seconds per HTTP request, default 30).
"""

from __future__ import annotations

from ansible_collections.talos.autoextender.plugins.module_utils._dns.base import DnsProvider, record_set
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import MISSING_LIBRARY, NOT_FOUND, VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._retry import ApiFailure, call, parse_retry_after
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline

try:
    import requests
    HAS_REQUESTS = True
except ImportError:  # pragma: no cover - reported by the module through missing_required_lib
    requests = None
    HAS_REQUESTS = False

DEFAULT_DEADLINE = 120


def quote_txt(value):
    """A TXT value as one presentation-format character string (``"..."``, escaped)."""
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def unquote_txt(content):
    """The text of a TXT record's presentation content; several strings are joined, ``\\DDD`` are bytes."""
    out, inside, i = bytearray(), False, 0
    while i < len(content):
        char = content[i]
        if char == '"':
            inside = not inside
        elif char == "\\" and i + 1 < len(content):
            i += 1
            if content[i:i + 3].isdigit():
                out.append(int(content[i:i + 3]) & 0xFF)
                i += 2
            else:
                out.extend(content[i].encode("utf-8"))
        elif inside:
            out.extend(char.encode("utf-8"))
        i += 1
    return out.decode("utf-8", "replace")


def to_content(rtype, value):
    return quote_txt(value) if rtype == "TXT" else value


def from_content(rtype, content):
    if rtype == "TXT":
        return unquote_txt(content)
    if rtype in ("CNAME", "NS", "PTR", "MX", "SRV"):
        return content.lower()
    return content


def classify(exc):
    """requests' exceptions -> ApiFailure (HTTPError carries the response)."""
    response = getattr(exc, "response", None)
    if response is None:
        return ApiFailure(message="cannot reach the PowerDNS API: %s" % exc, connection=True)
    try:
        message = response.json().get("error") or response.text
    except ValueError:
        message = response.text.strip()
    return ApiFailure(status=response.status_code, message="HTTP %s: %s" % (response.status_code, message),
                      retry_after=parse_retry_after(response.headers.get("Retry-After")))


class PowerDnsProvider(DnsProvider):
    name = "powerdns"
    atomic_replace = True
    min_ttl = 1

    def __init__(self, zone, credentials, options=None):
        super().__init__(zone, credentials, options)
        self._session = None

    # -- HTTP -------------------------------------------------------------------
    def _deadline(self):
        if self.options.get("deadline") is None:
            self.options["deadline"] = Deadline(DEFAULT_DEADLINE)
        return self.options["deadline"]

    def _url(self):
        api_url = (self.options.get("api_url") or "").rstrip("/")
        if not api_url:
            raise AutoextenderError("The powerdns provider needs api_url (for example http://127.0.0.1:8081)",
                                    kind=VALIDATION)
        server_id = self.options.get("server_id") or "localhost"
        return "%s/api/v1/servers/%s/zones/%s" % (api_url, server_id, self.zone)

    def _request(self, method, what, params=None, body=None, idempotent=True):
        if not HAS_REQUESTS:
            raise AutoextenderError("The powerdns provider needs the Python library requests", kind=MISSING_LIBRARY)
        if self._session is None:
            self._session = requests.Session()
            self._session.headers.update({"X-API-Key": self.credentials.get("api_token") or "",
                                          "Accept": "application/json"})
        deadline = self._deadline()

        def once():
            timeout = max(1.0, min(float(self.options.get("timeout") or 30), deadline.remaining()))
            response = self._session.request(method, self._url(), params=params, json=body, timeout=timeout)
            response.raise_for_status()
            return response.json() if response.content else None

        try:
            return call(once, what, deadline, classify, (requests.RequestException,), idempotent=idempotent)
        except AutoextenderError as exc:
            if exc.kind == NOT_FOUND:
                server_id = self.options.get("server_id") or "localhost"
                exc.msg += " (does the server %r serve the zone %s?)" % (server_id, self.zone)
            raise

    def _rrsets(self, what, params=None):
        zone = self._request("GET", what, params=dict(params or {}, rrsets="true"))
        out = []
        for item in zone.get("rrsets", []):
            values = [from_content(item["type"], r["content"]) for r in item.get("records", []) if not r.get("disabled")]
            if values:
                out.append(record_set(item["name"], item["type"], item.get("ttl") or 0, values))
        return out

    # -- the interface ------------------------------------------------------------
    def get(self, name, rtype):
        what = "read %s %s in %s" % (name, rtype, self.zone)
        found = [s for s in self._rrsets(what, {"rrset_name": name, "rrset_type": rtype})
                 if s["name"] == name.lower() and s["type"] == rtype]
        return found[0] if found else None

    def replace(self, rrset):
        records = [{"content": to_content(rrset["type"], v), "disabled": False} for v in rrset["values"]]
        change = {"ttl": int(rrset["ttl"]), "changetype": "REPLACE", "records": records}
        self._patch("replace", rrset["name"], rrset["type"], change)

    def delete(self, name, rtype):
        if self.get(name, rtype) is None:
            return False
        self._patch("delete", name, rtype, {"changetype": "DELETE"})
        return True

    def list(self):
        return self._rrsets("list the record sets of %s" % self.zone)

    def _patch(self, verb, name, rtype, change):
        change.update({"name": name, "type": rtype})
        self._request("PATCH", "%s %s %s in %s" % (verb, name, rtype, self.zone), body={"rrsets": [change]})
