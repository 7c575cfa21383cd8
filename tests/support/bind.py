"""A real BIND 9 on loopback serving one zone that accepts TSIG-signed updates."""
import base64
import os
import secrets

import dns.message
import dns.query

from .process import ManagedProcess, free_port
from .tools import which


class Bind:
    def __init__(self, host, port, zone, key_name, key_secret, key_algorithm):
        self.host = host
        self.port = port
        self.zone = zone
        self.key_name = key_name
        self.key_secret = key_secret
        self.key_algorithm = key_algorithm


def start_bind(workdir, stack, zone="bind.test."):
    port, control = free_port(), free_port()
    key_name, algorithm = "autoextender-test.", "hmac-sha256"
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    zone_file = os.path.join(workdir, "db.zone")
    with open(zone_file, "w") as f:
        f.write("$TTL 60\n@ IN SOA ns1.%s hostmaster.%s 1 3600 600 86400 60\n"
                "@ IN NS ns1.%s\nns1 IN A 127.0.0.1\n" % (zone, zone, zone))
    conf = os.path.join(workdir, "named.conf")
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    values = {"key": key_name, "alg": algorithm, "secret": secret, "dir": workdir, "port": port,
              "zone": zone, "file": zone_file}
    with os.fdopen(fd, "w") as f:
        f.write("""
key "%(key)s" { algorithm %(alg)s; secret "%(secret)s"; };
options {
    directory "%(dir)s";
    pid-file "%(dir)s/named.pid";
    listen-on port %(port)d { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    notify no;
    dnssec-validation no;
    session-keyfile "%(dir)s/session.key";
};
controls { };
zone "%(zone)s" { type primary; file "%(file)s"; allow-update { key "%(key)s"; }; };
""" % values)
    proc = stack.enter_context(ManagedProcess(
        "named", [which("bind"), "-g", "-c", conf, "-n", "1"], os.path.join(workdir, "named.log")))

    def ready():
        q = dns.message.make_query(zone, "SOA")
        return bool(dns.query.udp(q, "127.0.0.1", port=port, timeout=1).answer)

    proc.wait_ready(ready, timeout=30)
    return Bind("127.0.0.1", port, zone, key_name, secret, algorithm)
