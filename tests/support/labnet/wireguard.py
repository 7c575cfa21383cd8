"""A userspace WireGuard link (wireguard-go) inside a namespace, configured with ``wg``.

Like KubeSpan: one key pair per node, MTU 1420, UDP 51820, persistent keepalive.
"""
import os

from ._run import LabnetError, alive, log_tail, ns_argv, run, spawn, wait_for, write_private
from .addressing import KEEPALIVE, WG_MTU, WG_PORT

SOCKET_DIR = "/var/run/wireguard"
# wireguard-go refuses to start on a kernel with WireGuard unless told otherwise;
# the lab wants the userspace implementation on every kernel.
WG_ENV = {"WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD": "1", "LOG_LEVEL": "error"}


def genkey():
    """A fresh (private, public) key pair from ``wg genkey`` / ``wg pubkey``."""
    private = run(["wg", "genkey"]).strip()
    public = run(["wg", "pubkey"], input_text=private + "\n").strip()
    return private, public


def socket_path(ifname):
    return os.path.join(SOCKET_DIR, ifname + ".sock")


def start(netns, ifname, address, private_key, workdir, timeout=15.0):
    """Start wireguard-go for ``ifname`` in ``netns``, set its key, port, MTU and address; return the pid."""
    log = os.path.join(workdir, "wireguard-go.log")
    key_file = os.path.join(workdir, "private.key")
    write_private(key_file, private_key + "\n")
    pid = spawn(netns, ["wireguard-go", "-f", ifname], log, env=WG_ENV)

    def ready():
        if not alive(pid):
            raise LabnetError("wireguard-go for %s exited; log %s:\n%s" % (ifname, log, log_tail(log)))
        return os.path.exists(socket_path(ifname))

    wait_for(ready, timeout, "wireguard-go to create %s" % ifname, log)
    run(ns_argv(netns, ["wg", "set", ifname, "private-key", key_file, "listen-port", str(WG_PORT)]))
    run(["ip", "-n", netns, "address", "add", "%s/24" % address, "dev", ifname])
    run(["ip", "-n", netns, "link", "set", ifname, "mtu", str(WG_MTU), "up"])
    return pid


def set_peer(netns, ifname, public_key, allowed_ip, endpoint):
    run(ns_argv(netns, ["wg", "set", ifname, "peer", public_key, "allowed-ips", "%s/32" % allowed_ip,
                        "endpoint", endpoint, "persistent-keepalive", str(KEEPALIVE)]))


def remove_peer(netns, ifname, public_key):
    run(ns_argv(netns, ["wg", "set", ifname, "peer", public_key, "remove"]))


def show(netns, ifname):
    """``wg show IF dump`` as a dict: the interface and its peers by public key."""
    return parse_dump(run(ns_argv(netns, ["wg", "show", ifname, "dump"])))


def parse_dump(text):
    """Parse ``wg show <if> dump`` (tab separated: the interface line, then one line per peer)."""
    lines = [line.split("\t") for line in text.strip().splitlines() if line.strip()]
    if not lines or len(lines[0]) != 4:
        raise LabnetError("unexpected `wg show dump` output: %r" % text[:200])
    private, public, port, fwmark = lines[0]
    peers = {}
    for fields in lines[1:]:
        if len(fields) != 8:
            raise LabnetError("unexpected `wg show dump` peer line: %r" % "\t".join(fields))
        key, dummy, endpoint, allowed, handshake, rx, tx, keepalive = fields
        peers[key] = {
            "endpoint": None if endpoint == "(none)" else endpoint,
            "allowed_ips": [] if allowed == "(none)" else allowed.split(","),
            "latest_handshake": int(handshake),
            "rx_bytes": int(rx),
            "tx_bytes": int(tx),
            "persistent_keepalive": None if keepalive == "off" else int(keepalive),
        }
    return {"public_key": public, "listen_port": int(port), "fwmark": fwmark, "peers": peers,
            "has_private_key": private != "(none)"}


def remove_sockets(prefix):
    """Delete the control sockets of ``prefix*`` links (left behind when wireguard-go was killed)."""
    if not os.path.isdir(SOCKET_DIR):
        return []
    removed = []
    for entry in os.listdir(SOCKET_DIR):
        if entry.startswith(prefix) and entry.endswith(".sock"):
            os.unlink(os.path.join(SOCKET_DIR, entry))
            removed.append(entry)
    return removed
