"""Lab servers as real data-path edges (root only; docs/lab.md, docs/lab-datapath.md).

When the lab cloud is given the state directory of a running lab network
(``hack/labnet.py up``, ``tests/support/labnet``), every server it creates is
an edge of that network instead of a loopback address of the lab's block:

- its public IPv4 is a free edge address of the network (``10.250.N.I``),
  chosen when the server is created;
- at power-on, ``place`` builds its namespace with that address (its Talos
  machine API, tests/support/sim/node_api.py, runs in it, in maintenance mode);
- once its machine reports ``configured`` (as KubeSpan comes up after the
  config), ``start`` adds its WireGuard link to home;
- its proxy on ``<public IP>:80`` is the real Traefik: with a cluster (the lab
  cloud has a kubeconfig), the process of the edge_ingress DaemonSet's pod bound
  to its Node (``run_pods``: lab_pods.py), so the home cluster's Ingresses
  decide what it serves (hack/lab_home.py routes ``/healthz`` to the home
  app); without one, its own Traefik with a file provider to the home app;
- power off and delete remove the edge (its address stops answering);
- ``set_healthy(False)`` stops its proxy (and keeps its pods' processes
  stopped), ``True`` starts it again.

The lab's health port is 80 in this mode: every probe that works against a
real edge (TCP 80, ``GET /healthz``) works against a lab server.
"""
import ipaddress

from .. import labnet
from ..labnet import traefik
from ..labnet._run import run
from ..labnet.addressing import FIRST_EDGE, LAST_EDGE, NAME_RE
from ..labnet.netns import UPLINK

HEALTH_PORT = 80


def edge_name(srv):
    """The edge's name: the server's name when labnet accepts it, else ``srv-<id>``."""
    return srv["name"] if NAME_RE.match(srv["name"]) else "srv-%s" % srv["id"]


class LabEdges:
    """The lab network at ``state_dir`` seen from the lab cloud. Nothing happens in __init__."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.pods = None  # lab_pods.PodRunner: with a cluster, the edges' Traefik are pods

    def run_pods(self, kubeconfig, nodes, log_path):
        """Run the lab-run pods of ``kubeconfig``'s cluster on the edges (``nodes()``: Node name -> EdgeNode)."""
        from .lab_pods import PodRunner
        self.pods = PodRunner(kubeconfig, nodes, log_path).start_threads()

    def nodes(self, servers):
        """Node name -> EdgeNode of ``servers`` (those with a Node and an edge)."""
        net = self.network()
        return dict((s["talos"]["node"], net.edges[edge_name(s)]) for s in servers
                    if s["talos"].get("node") and edge_name(s) in net.edges)

    def close(self):
        if self.pods is not None:
            self.pods.close()
            self.pods = None

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

    def place(self, srv):
        """The powered-on server ``srv``: its namespace at its public IPv4 (no tunnel yet); returns the EdgeNode."""
        net = self.network()
        name = edge_name(srv)
        edge = net.edges.get(name)
        if edge is not None and edge.public_ip != srv["public_net"]["ipv4"]:
            net.remove_edge(name)
            edge = None
        if edge is None:
            edge = net.add_edge(name, srv["public_net"]["ipv4"], connect=False)
        if srv["public_net"]["ipv6"]:  # the server's IPv6 exists in its namespace only (never routed)
            run(["ip", "-n", edge.netns, "address", "replace", "%s/64" % srv["public_net"]["ipv6"], "dev", UPLINK,
                 "nodad"])
        return edge

    def route_floating(self, address, via):
        """Route the floating ``address`` on the lab's "internet" side (the host) to the edge whose public IPv4 is
        ``via``, or nowhere (None). One ``ip route replace``: a move is a route change, as a cloud's is."""
        bridge = self.network().plan.bridge
        if via is None:  # not the bridge's own route: the servers holding the address would answer ARP for it
            run(["ip", "route", "replace", "blackhole", "%s/32" % address])
        else:
            run(["ip", "route", "replace", "%s/32" % address, "via", via, "dev", bridge])

    def release_floating(self, address):
        """The floating ``address`` is deleted: no route to it, and no server holds it any more (it may become a
        server's address)."""
        run(["ip", "route", "del", "%s/32" % address], check=False)
        for edge in self.network().edges.values():
            run(["ip", "-n", edge.netns, "address", "del", "%s/32" % address, "dev", "lo"], check=False)

    def hold_floating(self, srv, addresses):
        """The floating ``addresses`` of the server's pool on its ``lo`` (what the join config's address patch does on
        Talos): a node answers on them once traffic is routed to it. A server without a namespace is skipped."""
        edge = self.network().edges.get(edge_name(srv))
        if edge is None:
            return
        for address in addresses:
            run(["ip", "-n", edge.netns, "address", "replace", "%s/32" % address, "dev", "lo"])

    def machine_net(self, srv):
        """(namespace, WireGuard link) of the server ``srv``'s edge, whether it exists yet or not."""
        plan = self.network().plan
        return plan.edge_netns(edge_name(srv)), plan.edge_wg(plan.index_of(srv["public_net"]["ipv4"]))

    def start(self, srv):
        """The configured server ``srv``: its tunnel to home (its namespace too, if it has none), and
        without a cluster its own proxy."""
        self.place(srv)
        return self.network().connect_edge(edge_name(srv), proxy=self.pods is None)

    def home(self):
        """(home namespace, home WireGuard link, home uplink address, home public key, home endpoint)."""
        net = self.network()
        return net.home.netns, net.home.ifname, net.plan.home_uplink_ip(), net.home.public_key, net.home.endpoint

    def control_address(self):
        """The control node (this host) as lab servers see it: the bridge address."""
        return self.network().plan.host_ip()

    def peers(self, node_names):
        """KubeSpan peers of the home node: ``[{publicKey, label, endpoint}]`` of the connected edges.

        ``node_names``: edge name -> the Node name its machine registered."""
        net = self.network()
        return [{"publicKey": e.public_key, "label": node_names.get(name) or name, "endpoint": e.endpoint}
                for name, e in sorted(net.edges.items()) if e.connected()]

    def stop(self, srv):
        """The machine is off or gone: remove its edge (a no-op when there is none)."""
        net = self.network()
        if edge_name(srv) in net.edges:
            net.remove_edge(edge_name(srv))

    def set_healthy(self, srv, healthy):
        net = self.network()
        edge = net.edge(edge_name(srv))
        if self.pods is not None:
            self.pods.hold(edge.netns, not healthy)
        elif healthy:
            edge.start_proxy(net.home)
        else:
            edge.stop_proxy()

    def running(self, srv):
        """True when the server's edge exists and a Traefik runs in it."""
        edge = self.network().edges.get(edge_name(srv))
        return edge is not None and bool(traefik.pids_in(edge.netns))
