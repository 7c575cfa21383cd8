"""Network namespaces, the host bridge and the veth pairs that join them; and the sweep.

A namespace is created with loopback up and an uplink ``ae-uplink`` (the inner end of a
veth pair whose host end is a port of the lab bridge). Removing a namespace first stops
every process in it (``ip netns pids``), which also stops wireguard-go and Traefik of a
run that crashed; deleting the namespace deletes both veth ends.
"""
import ctypes
import http.client
import ipaddress
import json
import os
import socket
import threading

from ._run import LabnetError, run, stop_pids, wait_for
from .addressing import PREFIX
from .wireguard import remove_sockets

UPLINK = "ae-uplink"
CLONE_NEWNET = 0x40000000


def list_netns(prefix=PREFIX):
    out = run(["ip", "-j", "netns", "list"], check=False).strip()
    names = [entry["name"] for entry in json.loads(out)] if out else []
    return sorted(n for n in names if n.startswith(prefix))


def list_links(prefix=PREFIX):
    out = run(["ip", "-j", "link", "show"]).strip()
    return sorted(link["ifname"] for link in json.loads(out or "[]") if link.get("ifname", "").startswith(prefix))


def exists(netns):
    return os.path.exists(os.path.join("/run/netns", netns))


def pids(netns):
    out = run(["ip", "netns", "pids", netns], check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def host_routes():
    return json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all"]).strip() or "[]")


def guard_range(network, present):
    """Keep (or drop) a blackhole route for the whole lab range on the host.

    The bridges' /24 routes are more specific, so live labs are reached as usual; an
    address of a removed or never-created edge hits the blackhole instead of the
    host's default route, so a probe of a dead edge never leaves the machine.
    """
    exists_now = any(r.get("type") == "blackhole" and r.get("dst") == str(network) for r in host_routes())
    if present and not exists_now:
        run(["ip", "route", "add", "blackhole", str(network)])
    elif not present and exists_now:
        run(["ip", "route", "delete", "blackhole", str(network)], check=False)


def drop_host_routes(network):
    """Remove the host's /32 routes inside ``network`` (the lab's floating addresses, lab_edges.route_floating).
    A route via a bridge goes with the bridge, but a blackhole of an unassigned address has no device and would
    outlive its lab, hiding that address from the next lab on the same range. Returns what went."""
    network = ipaddress.ip_network(network)
    removed = []
    for route in host_routes():
        dst = route.get("dst", "")
        if route.get("table", "main") != "main" or "/" in dst or not dst or dst == "default":
            continue
        if ipaddress.ip_address(dst) in network:
            kind = [route["type"]] if route.get("type") in ("blackhole", "unreachable", "prohibit") else []
            run(["ip", "route", "delete"] + kind + ["%s/32" % dst], check=False)
            removed.append("route %s/32" % dst)
    return removed


def create_bridge(name, address):
    run(["ip", "link", "add", name, "type", "bridge"])
    run(["ip", "address", "add", address, "dev", name])
    run(["ip", "link", "set", name, "up"])


def create(netns, host_veth, bridge, address):
    """A namespace joined to ``bridge`` by a veth pair, ``address`` (CIDR) on its uplink.

    No default route: the namespace reaches the lab subnet (host, home, edges) and
    nothing else, so no packet of the lab can leave the machine.
    """
    if exists(netns):
        raise LabnetError("network namespace %s already exists (a leftover? run `hack/labnet.py down --all`)" % netns)
    run(["ip", "netns", "add", netns])
    try:
        run(["ip", "-n", netns, "link", "set", "lo", "up"])
        run(["ip", "link", "add", host_veth, "type", "veth", "peer", "name", UPLINK, "netns", netns])
        run(["ip", "link", "set", host_veth, "master", bridge, "up"])
        run(["ip", "-n", netns, "address", "add", address, "dev", UPLINK])
        run(["ip", "-n", netns, "link", "set", UPLINK, "up"])
    except LabnetError:
        destroy(netns)
        raise


def destroy(netns):
    """Stop every process in ``netns`` and delete it (its veth pairs go with it). Safe if absent."""
    if not exists(netns):
        return
    stop_pids(pids(netns))
    run(["ip", "netns", "delete", netns])


def set_link(name, up):
    run(["ip", "link", "set", name, "up" if up else "down"])


def sweep(prefix=PREFIX):
    """Remove every namespace, link and WireGuard socket whose name starts with ``prefix``."""
    removed = []
    for netns in list_netns(prefix):
        destroy(netns)
        removed.append("netns " + netns)
    for link in list_links(prefix):
        # the host ends of the namespaces' veth pairs may already be on their way out
        run(["ip", "link", "delete", link], check=False)
        removed.append("link " + link)
    wait_for(lambda: not list_links(prefix), 10, "the kernel to remove the links %s*" % prefix)
    removed.extend("socket " + s for s in remove_sockets(prefix))
    return removed


def socket_in(netns, make_socket):
    """The socket ``make_socket()`` returns, made from inside ``netns``: what a process there would open.

    A thread joins the namespace (``setns`` changes the calling thread only) and makes the
    socket, which keeps that namespace for its life, so any thread can use it."""
    out = {}

    def make():
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            with open(os.path.join("/run/netns", netns)) as f:
                if libc.setns(f.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns into %s" % netns)
            out["sock"] = make_socket()
        except OSError as e:
            out["error"] = e

    worker = threading.Thread(target=make, name="setns-" + netns)  # the thread ends inside the namespace
    worker.start()
    worker.join()
    if "error" in out:
        raise out["error"]
    return out["sock"]


def connect(netns, host, port, timeout):
    """A TCP connection to ``host:port`` from inside ``netns``; the namespace's loopback and local
    addresses are reached without crossing its firewall."""
    return socket_in(netns, lambda: socket.create_connection((host, port), timeout=timeout))


def http_get(netns, host, port, path, timeout=1.0):
    """``(status, body)`` of ``GET path`` on ``host:port`` from inside ``netns``; OSError when it cannot connect."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.sock = connect(netns, host, port, timeout)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    except http.client.HTTPException as e:
        raise OSError("%s:%d%s: %s" % (host, port, path, e.__class__.__name__))
    finally:
        conn.close()
