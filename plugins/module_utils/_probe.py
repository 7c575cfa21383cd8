# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Health probes of edge nodes: TCP connect and HTTP(S) GET with a Host header, in parallel threads.

A probe never raises: each target gets ``{"ip", "healthy", "error", "checks"}``
where ``checks`` lists every check with its result and duration, so a module
can say exactly why an address is in or out of the edge set. Every socket
operation has ``timeout`` seconds; all targets are probed at once, so N dead
nodes cost about one timeout, not N.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.talos.autoextender.plugins.module_utils._validate import PORT, Range

MAX_WORKERS = 32


def argument_spec():
    """The ``probe`` option of the modules that probe edge nodes (edge_dns, cloud_floating_watch)."""
    return dict(type="dict", default={}, options=dict(
        enabled=dict(type="bool", default=True),
        tcp_ports=dict(type="list", elements="int", default=[443]),
        http=dict(type="dict", options=dict(
            scheme=dict(type="str", default="http", choices=["http", "https"]),
            port=dict(type="int"),
            path=dict(type="str", default="/"),
            host=dict(type="str"),
            expected_status=dict(type="list", elements="int", default=[]),
            validate_certs=dict(type="bool", default=False),
        )),
        timeout=dict(type="float", default=3),
    ))


#: the ``_validate`` rules of the ``probe`` option
RULES = {"probe.tcp_ports": PORT, "probe.http.port": PORT,
         "probe.http.expected_status": Range(100, 599, "an HTTP status"),
         "probe.timeout": Range(0.1, 3600, "seconds", number=float)}


class _SniHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an IP address, with the SNI of the virtual host (as a browser resolving the name would)."""

    def __init__(self, ip, port, sni, context, timeout):
        super().__init__(ip, port, timeout=timeout, context=context)
        self._sni = sni

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._sni)


def _context(validate_certs):
    context = ssl.create_default_context()
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def check_tcp(ip, port, timeout):
    """None when a TCP connection to ip:port opens within ``timeout``, else the error."""
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return None
    except socket.timeout:
        return "TCP %s port %d: no answer within %gs" % (ip, port, timeout)
    except OSError as exc:
        return "TCP %s port %d: %s" % (ip, port, exc.strerror or exc)


def check_http(ip, spec, timeout):
    """None when GET ``spec.path`` with ``Host: spec.host`` answers an expected status, else the error. Without a
    port, the scheme's; without a host, the address itself."""
    scheme = spec.get("scheme") or "http"
    port = int(spec.get("port") or (443 if scheme == "https" else 80))
    host = spec.get("host") or (ip if ":" not in ip else "[%s]" % ip)
    where = "%s://%s:%d%s (Host %s)" % (scheme, ip if ":" not in ip else "[%s]" % ip, port, spec.get("path") or "/", host)
    if scheme == "https":
        conn = _SniHTTPSConnection(ip, port, spec.get("host") or ip, _context(spec.get("validate_certs")), timeout)
    else:
        conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        conn.request("GET", spec.get("path") or "/", headers={"Host": host, "User-Agent": "talos-autoextender-probe",
                                                              "Connection": "close"})
        status = conn.getresponse().status
    except socket.timeout:
        return "GET %s: no answer within %gs" % (where, timeout)
    except ssl.SSLError as exc:
        return "GET %s: TLS error: %s" % (where, exc.reason or exc)
    except (OSError, http.client.HTTPException) as exc:
        return "GET %s: %s" % (where, getattr(exc, "strerror", None) or exc.__class__.__name__ + " " + str(exc))
    finally:
        conn.close()
    expected = spec.get("expected_status") or []
    if (expected and status not in expected) or (not expected and status >= 500):
        return "GET %s: HTTP %d (expected %s)" % (where, status, ", ".join(map(str, expected)) or "below 500")
    return None


def probe_one(ip, tcp_ports=(), http=None, timeout=3.0):
    """Every check of one address; healthy when all pass (checks stop at the first failure)."""
    checks = [("tcp:%d" % port, check_tcp, (ip, port, timeout)) for port in tcp_ports or ()]
    if http:
        checks.append(("%s:%d" % (http.get("scheme") or "http", int(http["port"])), check_http, (ip, http, timeout)))
    result = {"ip": ip, "healthy": True, "error": None, "checks": []}
    for name, fn, args in checks:
        start = time.monotonic()
        error = fn(*args)
        result["checks"].append({"check": name, "ok": error is None, "error": error,
                                 "seconds": round(time.monotonic() - start, 3)})
        if error:
            result.update(healthy=False, error=error)
            break
    return result


def probe_all(ips, tcp_ports=(), http=None, timeout=3.0):
    """``{ip: result}`` for every address, probed in parallel threads."""
    ips = sorted(set(ips))
    if not ips:
        return {}
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(ips))) as pool:
        results = pool.map(lambda ip: probe_one(ip, tcp_ports, http, timeout), ips)
        return dict((r["ip"], r) for r in results)
