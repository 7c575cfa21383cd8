"""An edge node: a namespace on the lab bridge at its "public IP", a WireGuard peer of home, Traefik on :80."""
import os

from . import netns, traefik, wireguard
from ._run import run
from .addressing import WG_PORT


class EdgeNode:
    """Edge ``name`` at ``public_ip`` in lab ``plan``, state under ``workdir``. Nothing happens in __init__."""

    def __init__(self, plan, name, public_ip, workdir, private_key=None, public_key=None):
        self.plan = plan
        self.name = name
        self.public_ip = public_ip
        self.index = plan.index_of(public_ip)
        self.workdir = workdir
        self.private_key = private_key
        self.public_key = public_key

    @property
    def netns(self):
        return self.plan.edge_netns(self.name)

    @property
    def ifname(self):
        return self.plan.edge_wg(self.index)

    @property
    def veth(self):
        """The host end of the edge's link: take it down to cut the edge off the network."""
        return self.plan.edge_veth(self.index)

    @property
    def tunnel_ip(self):
        return self.plan.tunnel_ip(self.index)

    @property
    def endpoint(self):
        return "%s:%d" % (self.public_ip, WG_PORT)

    @property
    def url(self):
        return "http://%s" % self.public_ip

    def create(self, home, timeout=30.0, connect=True):
        """Build the namespace; with ``connect``, also the tunnel to ``home`` (a HomeNetwork) and its own proxy."""
        os.makedirs(self.workdir, mode=0o700, exist_ok=True)
        if not self.private_key:
            self.private_key, self.public_key = wireguard.genkey()
        netns.create(self.netns, self.veth, self.plan.bridge, "%s/%d" % (self.public_ip, self.plan.subnet.prefixlen))
        if connect:
            self.connect(home, timeout)

    def connected(self):
        return os.path.exists(wireguard.socket_path(self.ifname))

    def connect(self, home, timeout=30.0, proxy=True):
        """The WireGuard link to ``home`` and, with ``proxy``, the edge's own Traefik (a file provider).

        A lab server with a cluster connects without: its Traefik is its DaemonSet pod's
        (tests/support/sim/lab_pods.py)."""
        try:
            wireguard.start(self.netns, self.ifname, self.tunnel_ip, self.private_key, self.workdir, timeout)
            wireguard.set_peer(self.netns, self.ifname, home.public_key, home.tunnel_ip, home.endpoint)
            home.add_peer(self.public_key, self.tunnel_ip, self.endpoint)
            if proxy:
                self.start_proxy(home, timeout)
        except BaseException:
            self.destroy(home)
            raise

    # -- failure injection (the failover benchmark and tests use these)
    def start_proxy(self, home, timeout=30.0):
        traefik.start_file_proxy(self.netns, self.name, self.public_ip, home.upstream, self.workdir, timeout)

    def stop_proxy(self):
        """Stop the edge's own Traefik (SIGTERM: it closes its listeners, then finishes what is in flight)."""
        self._own_proxy().stop()

    def _own_proxy(self):
        """The edge's own Traefik as found on disk (its pid file), to watch or stop it."""
        return traefik.Traefik(self.netns, os.path.join(self.workdir, "traefik"), [])

    def link_down(self):
        netns.set_link(self.veth, up=False)

    def link_up(self):
        netns.set_link(self.veth, up=True)

    # -- observation
    def wg_show(self):
        return wireguard.show(self.netns, self.ifname)

    def state(self):
        return {
            "netns": netns.exists(self.netns),
            "proxy_pid": self._own_proxy().pid(),
            "traefik_pids": traefik.pids_in(self.netns) if netns.exists(self.netns) else [],
            "link_up": self._link_up(),
        }

    def _link_up(self):
        out = run(["ip", "-br", "link", "show", "dev", self.veth], check=False)
        fields = out.split()
        return len(fields) > 1 and fields[1] != "DOWN"

    def destroy(self, home=None):
        if home is not None and self.public_key and home.running():
            home.remove_peer(self.public_key)
        netns.destroy(self.netns)
        # TIME_WAIT sockets can keep the namespace, and with it the host-side veth,
        # alive after the netns is gone: delete the veth so its name can be reused.
        run(["ip", "link", "delete", self.veth], check=False)
