"""Fixtures of real certificates: Pebble as the ACME server, the real cert-manager controller.

``acme_bed`` (module scope) runs once per DNS server that DNS-01 goes through: the
test's PowerDNS (a zone of its own that takes RFC 2136 updates only when signed with a
TSIG key) and BIND (its zone and key). For each: a Pebble that validates against that
server, and a cert-manager controller whose DNS-01 checks ask that server, as the
ServiceAccount cert-manager/cert-manager with the upstream controller RBAC, on the
shared test apiserver. One bed at a time: pytest stops a bed before it starts the next.
"""
import base64
import contextlib
import datetime
import os
import shutil
import tempfile
import time
import uuid

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from tests.conftest import require_tool

ACME_BEDS = ("powerdns", "bind")
TSIG_ALGORITHMS = {"hmac-sha256": "HMACSHA256"}


class AcmeBed:
    """Where DNS-01 goes (zone, nameserver, TSIG key) and the ACME server that checks it."""

    def __init__(self, label, zone, nameserver, key_name, key_secret, key_algorithm, pebble, controller_log):
        self.label = label
        self.zone = zone.rstrip(".")
        self.nameserver = nameserver
        self.key_name = key_name
        self.key_secret = key_secret
        self.key_algorithm = key_algorithm
        self.pebble = pebble
        self.controller_log = controller_log

    def unique(self, prefix="www"):
        return "%s-%s.%s" % (prefix, uuid.uuid4().hex[:8], self.zone)

    def role_vars(self, kubeconfig, issuer_prefix="pebble"):
        """The cert_manager role's settings for one ClusterIssuer ``<prefix>-<label>`` on this bed."""
        return {
            "cert_manager_kubeconfig": kubeconfig,
            "cert_manager_install": False,
            "cert_manager_acme_servers": {self.label: self.pebble.directory},
            "cert_manager_acme_ca_bundle": self.pebble.tls_ca_pem,
            "cert_manager_issuer_prefix": issuer_prefix,
            "cert_manager_solver": "dns01",
            "cert_manager_dns_provider": "rfc2136",
            "cert_manager_dns_zone": self.zone,
            "cert_manager_dns01": {"nameserver": self.nameserver, "tsig_key_name": self.key_name,
                                   "tsig_algorithm": TSIG_ALGORITHMS[self.key_algorithm]},
            "cert_manager_dns01_secret_name": "pebble-%s-tsig" % self.label,
            "cert_manager_dns01_secret_value": self.key_secret,
        }

    def verify(self, secret, host):
        """The leaf of a kubernetes.io/tls Secret, verified for ``host`` up to Pebble's root."""
        chain = x509.load_pem_x509_certificates(base64.b64decode(secret["data"]["tls.crt"]))
        root = x509.load_pem_x509_certificate(self.pebble.root.encode())
        verifier = (PolicyBuilder().store(Store([root]))
                    .time(datetime.datetime.now(datetime.timezone.utc))
                    .build_server_verifier(x509.DNSName(host)))
        verifier.verify(chain[0], chain[1:])  # raises VerificationError when it does not chain or name host
        return chain[0]


def wait_condition(kube, api_version, kind, name, namespace=None, timeout=180, log=None):
    """Poll until the object's Ready condition is True; fail with its conditions (and ``log``'s tail)."""
    deadline = time.monotonic() + timeout
    obj = None
    while time.monotonic() < deadline:
        obj = kube.get(api_version, kind, name, namespace)
        conditions = ((obj or {}).get("status") or {}).get("conditions") or []
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            return obj
        time.sleep(0.5)
    tail = ""
    if log:
        with open(log, errors="replace") as f:
            tail = "".join(f.readlines()[-40:])
    pytest.fail("%s %s/%s not Ready after %ds: %s\ncert-manager log:\n%s"
                % (kind, namespace or "", name, timeout, ((obj or {}).get("status") or {}), tail), pytrace=False)


@pytest.fixture(scope="module", params=ACME_BEDS)
def acme_bed(request, kube, kube_cluster):
    """Pebble and the cert-manager controller for one DNS server (see the module docstring)."""
    require_tool("pebble", "cert-manager")
    from tests.support.cert_manager import start_cert_manager
    from tests.support.pebble import start_pebble
    with contextlib.ExitStack() as stack:
        workdir = tempfile.mkdtemp(prefix="autoextender-acme-%s-" % request.param)
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        if request.param == "powerdns":
            pdns = request.getfixturevalue("powerdns")
            zone = "tls%s.pdns.test." % uuid.uuid4().hex[:6]
            pdns.create_zone(zone)
            stack.callback(pdns.api, "DELETE", "/zones/" + zone)
            key_name = "cert-manager-%s." % uuid.uuid4().hex[:6]
            secret = pdns.require_tsig(zone, key_name)
            host, port, algorithm = pdns.host, pdns.dns_port, "hmac-sha256"
        else:
            bind = request.getfixturevalue("bind_server")
            zone, key_name, secret = bind.zone, bind.key_name, bind.key_secret
            host, port, algorithm = bind.host, bind.port, bind.key_algorithm
        nameserver = "%s:%d" % (host, port)
        pebble = start_pebble(os.path.join(workdir, "pebble"), stack, nameserver)
        start_cert_manager(os.path.join(workdir, "cert-manager"), stack, kube_cluster, [nameserver])
        yield AcmeBed(request.param, zone, nameserver, key_name, secret, algorithm, pebble,
                      os.path.join(workdir, "cert-manager", "cert-manager.log"))
        for issuer in kube.list("cert-manager.io/v1", "ClusterIssuer"):
            if ((issuer.get("spec") or {}).get("acme") or {}).get("server") == pebble.directory:
                kube.delete("cert-manager.io/v1", "ClusterIssuer", issuer["metadata"]["name"])
