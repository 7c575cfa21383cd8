"""Names and addresses of one lab network ("slot"), all derived from the slot number.

Slot N owns:

- the host bridge ``ae-lN-br`` with the host's address ``10.250.N.1/24`` (the "internet"
  side; the client on the host talks from that address);
- the "public IP" ``10.250.N.I`` of edge number I (2..253), its namespace
  ``ae-lN-edge-<name>``, host-side veth ``ae-lN-vI`` and WireGuard link ``ae-lN-wI``
  with the tunnel address ``10.251.0.I``;
- the home namespace ``ae-lN-home`` with its uplink ``10.250.N.254`` (host-side veth
  ``ae-lN-vh``), WireGuard link ``ae-lN-wh`` with tunnel address ``10.251.0.1`` and the
  test app on ``10.251.0.1:8080`` (reachable only through the tunnel).

The 10.251.0.0/24 tunnel range exists only inside the namespaces. Every name starts
with ``ae-`` so a sweep finds what a crashed run left behind. WireGuard link names are
unique machine-wide because wireguard-go's control socket lives in /var/run/wireguard,
which network namespaces share.
"""
import ipaddress
import os
import re

DEFAULT_BASE = "10.250.0.0/16"
TUNNEL_NET = ipaddress.ip_network("10.251.0.0/24")
WG_PORT = 51820
WG_MTU = 1420
KEEPALIVE = 25
APP_PORT = 8080
# The home app's TCP and UDP echo (the lab's tcp and udp exposed services).
ECHO_PORT = 9000
HOME_INDEX = 1
HOME_UPLINK_INDEX = 254
FIRST_EDGE, LAST_EDGE = 2, 253
PREFIX = "ae-"
NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,30}[a-z0-9])?$")


def base_network():
    return ipaddress.ip_network(os.environ.get("AUTOEXTENDER_LABNET_BASE", DEFAULT_BASE))


class Plan:
    """Everything named or numbered in slot ``slot`` of ``base`` (an IPv4 network of /16 to /23)."""

    def __init__(self, slot, base=None):
        self.base = ipaddress.ip_network(base) if base else base_network()
        subnets = list(self.base.subnets(new_prefix=24))
        if not 1 <= slot < len(subnets):
            raise ValueError("slot %s outside 1..%d of %s" % (slot, len(subnets) - 1, self.base))
        self.slot = slot
        self.tag = "l%d" % slot
        self.subnet = subnets[slot]

    # -- names
    @property
    def prefix(self):
        return "%s%s-" % (PREFIX, self.tag)

    @property
    def bridge(self):
        return self.prefix + "br"

    @property
    def home_netns(self):
        return self.prefix + "home"

    @property
    def home_veth(self):
        return self.prefix + "vh"

    @property
    def home_wg(self):
        return self.prefix + "wh"

    def edge_netns(self, name):
        return self.prefix + "edge-" + name

    def edge_veth(self, index):
        return "%sv%d" % (self.prefix, index)

    def edge_wg(self, index):
        return "%sw%d" % (self.prefix, index)

    # -- addresses
    def host_ip(self):
        return str(self.subnet[1])

    def home_uplink_ip(self):
        return str(self.subnet[HOME_UPLINK_INDEX])

    def public_ip(self, index):
        return str(self.subnet[index])

    def index_of(self, public_ip):
        """The edge number of ``public_ip``; ValueError when it is not an edge address of this slot."""
        addr = ipaddress.ip_address(public_ip)
        if addr not in self.subnet:
            raise ValueError("%s is not in this lab's public range %s" % (public_ip, self.subnet))
        index = int(addr) - int(self.subnet.network_address)
        if not FIRST_EDGE <= index <= LAST_EDGE:
            raise ValueError("%s is reserved (edges use .%d to .%d of %s)" % (public_ip, FIRST_EDGE, LAST_EDGE, self.subnet))
        return index

    @staticmethod
    def tunnel_ip(index):
        return str(TUNNEL_NET[index])

    def app_url(self):
        return "http://%s:%d" % (self.tunnel_ip(HOME_INDEX), APP_PORT)


def check_name(name):
    if not NAME_RE.match(name or ""):
        raise ValueError("edge name %r: use 1-32 of a-z, 0-9, '.', '-' (no leading/trailing '-')" % (name,))
    return name


def overlaps_host_route(subnet, routes):
    """True when a host route (``ip -j route`` entries) overlaps ``subnet``.

    Routes of ae- links (labs) and blackhole routes (the lab range guard) do not count.
    """
    for route in routes:
        dst = route.get("dst")
        if not dst or dst == "default" or route.get("dev", "").startswith(PREFIX) or route.get("type") == "blackhole":
            continue
        try:
            net = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        if net.version == 4 and net.overlaps(subnet):
            return True
    return False
