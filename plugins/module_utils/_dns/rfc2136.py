# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""RFC 2136 dynamic updates with TSIG (BIND, Knot, PowerDNS, ...) through dnspython.

A replace is ONE UPDATE message: "delete the RRset" followed by "add each
value". The primary applies an UPDATE message all or nothing (RFC 2136
section 3.7), so resolvers never see a partial set. Reads are queries to the
primary over TCP; ``list`` is a zone transfer (AXFR), signed with the same key,
which the primary must allow (BIND: ``allow-transfer { key <name>; };``).

Credentials: ``{"tsig_key_secret": <base64>}`` (optional: unsigned updates if
absent). Options: ``server`` (the primary's address, required), ``port``
(53), ``tsig_key_name``, ``tsig_algorithm`` (``hmac-sha256``), ``deadline``,
``timeout`` (seconds per exchange, default 10).
"""

from __future__ import annotations

from ansible_collections.talos.autoextender.plugins.module_utils._dns.base import DnsProvider, record_set
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import MISSING_LIBRARY, VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._retry import ApiFailure, call
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline

try:
    import dns.exception
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.rdtypes.ANY.TXT
    import dns.tsig
    import dns.tsigkeyring
    import dns.update
    import dns.zone
    HAS_DNSPYTHON = True
    DNS_ERRORS = (dns.exception.DNSException, OSError)
except ImportError:  # pragma: no cover - reported by the module through missing_required_lib
    HAS_DNSPYTHON = False
    DNS_ERRORS = (OSError,)

DEFAULT_DEADLINE = 120
#: response codes that mean "the key or the policy refused us": never retried
AUTH_RCODES = ("REFUSED", "NOTAUTH", "NOTZONE")


class DnsRcodeError(Exception):
    """A response with an error rcode (raised inside the retry loop, classified below)."""

    def __init__(self, rcode, what):
        super().__init__("the server answered %s to %s" % (rcode, what))
        self.rcode = rcode


def classify(exc):
    if isinstance(exc, DnsRcodeError):
        if exc.rcode in AUTH_RCODES:
            return ApiFailure(status=403, code=exc.rcode, message=str(exc))
        if exc.rcode == "SERVFAIL":
            return ApiFailure(status=503, code=exc.rcode, message=str(exc))
        return ApiFailure(status=400, code=exc.rcode, message=str(exc))
    if HAS_DNSPYTHON and isinstance(exc, (dns.tsig.PeerError, dns.tsig.BadSignature, dns.tsig.BadTime)):
        return ApiFailure(status=401, code="BADSIG",
                          message="the server rejected the TSIG key (wrong name, secret or algorithm): %s"
                          % (exc.__class__.__name__,))
    if HAS_DNSPYTHON and isinstance(exc, dns.exception.Timeout):
        return ApiFailure(message="no answer from the DNS server (timeout)", connection=True)
    if isinstance(exc, OSError):
        return ApiFailure(message="cannot reach the DNS server: %s" % exc, connection=True)
    return ApiFailure(status=400, message="DNS error: %s" % exc)


class Rfc2136Provider(DnsProvider):
    name = "rfc2136"
    atomic_replace = True
    min_ttl = 0

    # -- plumbing -------------------------------------------------------------------
    def _deadline(self):
        if self.options.get("deadline") is None:
            self.options["deadline"] = Deadline(DEFAULT_DEADLINE)
        return self.options["deadline"]

    def _server(self):
        if not HAS_DNSPYTHON:
            raise AutoextenderError("The rfc2136 provider needs the Python library dnspython", kind=MISSING_LIBRARY)
        server = self.options.get("server")
        if not server:
            raise AutoextenderError("The rfc2136 provider needs server (the primary's address)", kind=VALIDATION)
        return server, int(self.options.get("port") or 53)

    def _key(self):
        """``dict(keyring=..., keyname=..., keyalgorithm=...)`` for dnspython, or {} when unsigned."""
        secret = self.credentials.get("tsig_key_secret")
        if not secret:
            return {}
        name = self.options.get("tsig_key_name")
        if not name:
            raise AutoextenderError("tsig_key_name is required with tsig_key_secret", kind=VALIDATION)
        try:
            keyring = dns.tsigkeyring.from_text({name: secret})
        except (ValueError, dns.exception.DNSException) as exc:
            raise AutoextenderError("The TSIG key secret is not valid base64: %s" % exc.__class__.__name__,
                                    kind=VALIDATION)
        algorithm = dns.name.from_text(self.options.get("tsig_algorithm") or "hmac-sha256")
        return {"keyring": keyring, "keyname": dns.name.from_text(name), "keyalgorithm": algorithm}

    def _exchange(self, message, what, idempotent=True):
        server, port = self._server()
        deadline = self._deadline()

        def once():
            timeout = max(1.0, min(float(self.options.get("timeout") or 10), deadline.remaining()))
            response = dns.query.tcp(message, server, port=port, timeout=timeout)
            rcode = dns.rcode.to_text(response.rcode())
            if rcode not in ("NOERROR", "NXDOMAIN"):
                raise DnsRcodeError(rcode, what)
            return response

        return call(once, what, deadline, classify, DNS_ERRORS + (DnsRcodeError,), idempotent=idempotent)

    def _update(self):
        return dns.update.UpdateMessage(self.zone, **self._key())

    # -- the interface ----------------------------------------------------------------
    def get(self, name, rtype):
        query = dns.message.make_query(name, rtype)
        key = self._key()
        if key:
            query.use_tsig(key["keyring"], key["keyname"], algorithm=key["keyalgorithm"])
        response = self._exchange(query, "read %s %s in %s" % (name, rtype, self.zone))
        qname, qtype = dns.name.from_text(name), dns.rdatatype.from_text(rtype)
        for rrset in response.answer:
            if rrset.name == qname and rrset.rdtype == qtype:
                return record_set(name, rtype, rrset.ttl, [self._value(rtype, rd) for rd in rrset])
        return None

    def replace(self, rrset):
        update = self._update()
        update.delete(rrset["name"], rrset["type"])
        for value in rrset["values"]:
            update.add(rrset["name"], int(rrset["ttl"]), self._rdata(rrset["type"], value))
        self._exchange(update, "replace %s %s in %s" % (rrset["name"], rrset["type"], self.zone))

    def delete(self, name, rtype):
        if self.get(name, rtype) is None:
            return False
        update = self._update()
        update.delete(name, rtype)
        self._exchange(update, "delete %s %s in %s" % (name, rtype, self.zone))
        return True

    def list(self):
        server, port = self._server()
        key = self._key()
        what = "transfer (AXFR) %s" % self.zone
        deadline = self._deadline()

        def once():
            timeout = max(1.0, min(float(self.options.get("timeout") or 10), deadline.remaining()))
            try:
                messages = dns.query.xfr(server, self.zone, port=port, timeout=timeout, lifetime=timeout,
                                         relativize=False, **key)
                return dns.zone.from_xfr(messages, relativize=False)
            except dns.exception.FormError as exc:
                raise DnsRcodeError("REFUSED", what + " (is AXFR allowed for this key?): %s" % exc)
            except dns.query.TransferError as exc:
                raise DnsRcodeError(dns.rcode.to_text(exc.rcode), what + " (is AXFR allowed for this key?)")

        zone = call(once, what, deadline, classify, DNS_ERRORS + (DnsRcodeError,))
        out = []
        for name, rdataset in zone.iterate_rdatasets():
            rtype = dns.rdatatype.to_text(rdataset.rdtype)
            out.append(record_set(name.to_text(), rtype, rdataset.ttl, [self._value(rtype, rd) for rd in rdataset]))
        return out

    # -- value conversion ---------------------------------------------------------------
    @staticmethod
    def _value(rtype, rdata):
        """Presentation value of one rdata; TXT unquoted (strings joined), names absolute."""
        if rtype == "TXT":
            return b"".join(rdata.strings).decode("utf-8", "replace")
        return rdata.to_text().lower() if rtype in ("CNAME", "NS", "PTR") else rdata.to_text()

    @staticmethod
    def _rdata(rtype, value):
        """One rdata from a presentation value; a TXT value is split in strings of 255 bytes."""
        try:
            if rtype == "TXT":
                raw = value.encode("utf-8")
                return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT,
                                               [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""])
            return dns.rdata.from_text(dns.rdataclass.IN, rtype, value)
        except (dns.exception.DNSException, ValueError) as exc:
            raise AutoextenderError("%r is not a valid %s value: %s" % (value, rtype, exc), kind=VALIDATION)
