"""A real PowerDNS Authoritative server on loopback: sqlite backend, HTTP API, RFC2136."""
import glob
import json
import os
import secrets
import sqlite3
import urllib.request

from .process import ManagedProcess, free_port, tcp_open
from .tools import which

SCHEMA_GLOBS = (
    "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql*",
    "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql",
)


class PowerDNS:
    def __init__(self, host, dns_port, api_url, api_key):
        self.host = host
        self.dns_port = dns_port
        self.api_url = api_url
        self.api_key = api_key

    def api(self, method, path, body=None):
        """Call the HTTP API (``/api/v1/servers/localhost`` + path); decoded JSON or None."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api_url + "/api/v1/servers/localhost" + path, data=data,
                                     method=method, headers={"X-API-Key": self.api_key,
                                                             "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def create_zone(self, zone, nameserver="ns1.example.net."):
        return self.api("POST", "/zones", {"name": zone, "kind": "Native", "nameservers": [nameserver]})

    def require_tsig(self, zone, key_name, algorithm="hmac-sha256"):
        """RFC 2136 updates of ``zone`` only when signed with TSIG key ``key_name`` (made once, kept
        in the database); returns its base64 secret. Unsigned updates are refused from then on."""
        keys = {k["name"].rstrip("."): k["id"] for k in self.api("GET", "/tsigkeys")}
        if key_name.rstrip(".") in keys:
            key = self.api("GET", "/tsigkeys/" + keys[key_name.rstrip(".")])
        else:
            key = self.api("POST", "/tsigkeys", {"name": key_name.rstrip("."), "algorithm": algorithm})
        self.api("PUT", "/zones/%s/metadata/TSIG-ALLOW-DNSUPDATE" % zone,
                 {"kind": "TSIG-ALLOW-DNSUPDATE", "metadata": [key_name.rstrip(".")]})
        return key["key"]


def _schema():
    for pattern in SCHEMA_GLOBS:
        for path in glob.glob(pattern):
            if path.endswith(".gz"):
                import gzip
                with gzip.open(path, "rt") as f:
                    return f.read()
            with open(path) as f:
                return f.read()
    raise FileNotFoundError("PowerDNS sqlite schema not found (is pdns-backend-sqlite3 installed?)")


def start_powerdns(workdir, stack, api_key=None):
    """PowerDNS on loopback; ``api_key`` (default: a random one) is the only key its API accepts. Started again on
    the same ``workdir`` with another key, it keeps its zones (a key rotation at the server)."""
    db = os.path.join(workdir, "pdns.sqlite3")
    if not os.path.exists(db):  # an existing database (hack/lab.py up on a kept lab) keeps its zones
        with sqlite3.connect(db) as conn:
            conn.executescript(_schema())
    dns_port, api_port = free_port(), free_port()
    api_key = api_key or secrets.token_hex(16)
    conf = {
        "launch": "gsqlite3",
        "gsqlite3-database": db,
        "local-address": "127.0.0.1",
        "local-port": dns_port,
        "api": "yes",
        "api-key": api_key,
        "webserver": "yes",
        "webserver-address": "127.0.0.1",
        "webserver-port": api_port,
        "webserver-allow-from": "127.0.0.0/8",
        "dnsupdate": "yes",
        "allow-dnsupdate-from": "127.0.0.0/8",
        # No lookups of security-status.secpoll.powerdns.com: no outside traffic.
        "security-poll-suffix": "",
        "socket-dir": workdir,
        "guardian": "no",
        "daemon": "no",
        "disable-syslog": "yes",
        "loglevel": 5,
        "default-soa-content": "ns1.example.net. hostmaster.@ 0 10800 3600 604800 60",
    }
    path = os.path.join(workdir, "pdns.conf")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.writelines("%s=%s\n" % kv for kv in conf.items())
    proc = stack.enter_context(ManagedProcess(
        "pdns_server", [which("pdns"), "--config-dir=" + workdir], os.path.join(workdir, "pdns.log")))
    api_url = "http://127.0.0.1:%d" % api_port
    server = PowerDNS("127.0.0.1", dns_port, api_url, api_key)
    proc.wait_ready(lambda: tcp_open("127.0.0.1", dns_port) and server.api("GET", "") is not None,
                    timeout=30)
    return server
