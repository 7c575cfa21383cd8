"""Lab servers as real data-path edges (root only; docs/lab.md, docs/lab-datapath.md).

When the lab cloud is given the state directory of a running lab network
(``hack/labnet.py up``, ``tests/support/labnet``), every server it creates is
an edge of that network instead of a bare 127.0.10.x address:

- its public IPv4 is a free edge address of the network (``10.250.N.I``),
  chosen when the server is created;
- once it boots with a valid config, ``add_edge`` builds its namespace, its
  WireGuard link to home and its nginx on ``<public IP>:80``, so its
  ``/healthz`` (port 80) is answered by the home app through the tunnel;
- power off and delete remove the edge (its address stops answering);
- ``set_healthy(False)`` stops its proxy, ``True`` starts it again.

The lab's health port is 80 in this mode: every probe that works against a
real edge (TCP 80, ``GET /healthz``) works against a lab server.
"""
import ipaddress

from .. import labnet
from ..labnet.addressing import FIRST_EDGE, LAST_EDGE, NAME_RE

HEALTH_PORT = 80


def edge_name(srv):
    """The edge's name: the server's name when labnet accepts it, else ``srv-<id>``."""
    return srv["name"] if NAME_RE.match(srv["name"]) else "srv-%s" % srv["id"]


class LabEdges:
    """The lab network at ``state_dir`` seen from the lab cloud. Nothing happens in __init__."""

    def __init__(self, state_dir):
        self.state_dir = state_dir

    def network(self):
        return labnet.LabNetwork(self.state_dir).attach()

    def address(self, servers):
        """A free edge address: not used by an edge nor by any server of ``servers``."""
        net = self.network()
        taken = set(e.public_ip for e in net.edges.values())
        taken.update(s["public_net"]["ipv4"] for s in servers if s["public_net"]["ipv4"])
        for index in range(FIRST_EDGE, LAST_EDGE + 1):
            if net.plan.public_ip(index) not in taken:
                return net.plan.public_ip(index)
        raise labnet.LabnetError("no free edge address left in %s" % net.plan.subnet)

    def owns(self, address):
        """True when ``address`` is an edge address of this lab network."""
        return bool(address) and ipaddress.ip_address(address) in self.network().plan.subnet

    def start(self, srv):
        """Make the booted server ``srv`` an edge at its public IPv4 (again, if it was one)."""
        net = self.network()
        name = edge_name(srv)
        edge = net.edges.get(name)
        if edge is not None and edge.public_ip != srv["public_net"]["ipv4"]:
            net.remove_edge(name)
            edge = None
        if edge is None:
            net.add_edge(name, srv["public_net"]["ipv4"])
        else:
            edge.start_proxy(net.home)

    def stop(self, srv):
        """The machine is off or gone: remove its edge (a no-op when there is none)."""
        net = self.network()
        if edge_name(srv) in net.edges:
            net.remove_edge(edge_name(srv))

    def set_healthy(self, srv, healthy):
        net = self.network()
        edge = net.edge(edge_name(srv))
        if healthy:
            edge.start_proxy(net.home)
        else:
            edge.stop_proxy()

    def running(self, srv):
        """True when the server's edge exists and its proxy runs."""
        edge = self.network().edges.get(edge_name(srv))
        return edge is not None and edge.state()["proxy_pid"] is not None
