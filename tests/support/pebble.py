"""Pebble, Let's Encrypt's ACME test server, as the certificate authority of the tests and the lab.

It listens on loopback with a serving certificate of its own CA (``tls_ca``: what an ACME
client such as cert-manager must trust, the ClusterIssuer's ``caBundle``) and validates
challenges for real: DNS-01 by asking ``dns_server`` (the test's PowerDNS or BIND) for the
TXT record, HTTP-01 by connecting to port ``http_port`` of the name's address there.
The root it issues under is new at every start; ``root`` is that PEM, fetched from its
management port, and ``root_path`` a file of it for ``curl --cacert``.
"""
import json
import os
import ssl
import urllib.request

from .pki import make_serving_pki
from .process import ManagedProcess, free_port
from .tools import which


class Pebble:
    def __init__(self, directory, tls_ca, root, root_path, management):
        self.directory = directory
        self.tls_ca = tls_ca
        self.root = root
        self.root_path = root_path
        self.management = management

    @property
    def tls_ca_pem(self):
        with open(self.tls_ca) as f:
            return f.read()


def _get(url, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    with urllib.request.urlopen(url, context=ctx, timeout=5) as r:
        return r.read().decode()


def start_pebble(workdir, stack, dns_server, http_port=None):
    """Start Pebble under ``stack``; ``dns_server`` is "host:port" of the DNS it validates against."""
    os.makedirs(workdir, mode=0o700, exist_ok=True)
    pki = make_serving_pki(workdir, "pebble", ("127.0.0.1", "localhost"))
    port, management = free_port(), free_port()
    config = {"pebble": {
        "listenAddress": "127.0.0.1:%d" % port,
        "managementListenAddress": "127.0.0.1:%d" % management,
        "certificate": pki["pebble.crt"], "privateKey": pki["pebble.key"],
        # HTTP-01 / TLS-ALPN-01 targets: port 80 of the edge in the lab, unused ports in tests
        "httpPort": http_port or free_port(), "tlsPort": free_port(),
        "ocspResponderURL": "", "externalAccountBindingRequired": False,
        "retryAfter": {"authz": 1, "order": 1},
        "keyAlgorithm": "ecdsa",
        "profiles": {"default": {"description": "90 days, as Let's Encrypt", "validityPeriod": 7776000}},
    }}
    path = os.path.join(workdir, "pebble-config.json")
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    env = dict(os.environ,
               # validate at once instead of after a random sleep of up to 15 s
               PEBBLE_VA_NOSLEEP="1",
               # no random badNonce refusals (5 % by default): Let's Encrypt does not do that
               PEBBLE_WFE_NONCEREJECT="0")
    proc = stack.enter_context(ManagedProcess(
        "pebble", [which("pebble"), "-config", path, "-dnsserver", dns_server],
        os.path.join(workdir, "pebble.log"), env=env, cwd=workdir))
    directory = "https://127.0.0.1:%d/dir" % port
    proc.wait_ready(lambda: "newOrder" in _get(directory, pki["ca.crt"]), timeout=30)
    root = _get("https://127.0.0.1:%d/roots/0" % management, pki["ca.crt"])
    root_path = os.path.join(workdir, "root.pem")
    with open(root_path, "w") as f:
        f.write(root)
    return Pebble(directory, pki["ca.crt"], root, root_path, "https://127.0.0.1:%d" % management)
