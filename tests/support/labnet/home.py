"""The "home" side: a namespace with the test app, reachable only through its WireGuard link."""
import os
import sys

from . import netns, wireguard
from ._run import LabnetError, alive, log_tail, ns_argv, run, spawn, wait_for
from .addressing import APP_PORT, ECHO_PORT, HOME_INDEX, WG_PORT

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "app.py")


class HomeNetwork:
    """The home namespace of a lab ``plan``; keys and logs under ``workdir``. Nothing happens in __init__."""

    def __init__(self, plan, workdir, private_key=None, public_key=None):
        self.plan = plan
        self.workdir = workdir
        self.private_key = private_key
        self.public_key = public_key

    @property
    def netns(self):
        return self.plan.home_netns

    @property
    def ifname(self):
        return self.plan.home_wg

    @property
    def tunnel_ip(self):
        return self.plan.tunnel_ip(HOME_INDEX)

    @property
    def endpoint(self):
        """Where edges send their WireGuard packets (the home's "router" address on the bridge)."""
        return "%s:%d" % (self.plan.home_uplink_ip(), WG_PORT)

    @property
    def upstream(self):
        """The app's address as the edge proxies reach it: through the tunnel."""
        return "%s:%d" % (self.tunnel_ip, APP_PORT)

    def create(self, timeout=30.0):
        os.makedirs(self.workdir, mode=0o700, exist_ok=True)
        if not self.private_key:
            self.private_key, self.public_key = wireguard.genkey()
        netns.create(self.netns, self.plan.home_veth, self.plan.bridge, "%s/%d" % (self.plan.home_uplink_ip(), self.plan.subnet.prefixlen))
        wireguard.start(self.netns, self.ifname, self.tunnel_ip, self.private_key, self.workdir, timeout)
        self._start_app(timeout)

    def _start_app(self, timeout):
        log = os.path.join(self.workdir, "app.log")
        pid = spawn(self.netns, [sys.executable, APP, "--listen", self.upstream, "--identity", "home",
                                 "--echo-port", str(ECHO_PORT)], log)

        def serving():
            if not alive(pid):
                raise LabnetError("the home app exited; %s:\n%s" % (log, log_tail(log)))
            return self.app_get("/healthz", check=False) == "ok"

        wait_for(serving, timeout, "the home app on %s" % self.upstream, log)

    def app_get(self, path, check=True):
        """GET ``path`` from the app from inside the home namespace (bypasses the tunnel)."""
        code = ("import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("
                "'http://%s%s', timeout=2).read().decode())" % (self.upstream, path))
        return run(ns_argv(self.netns, [sys.executable, "-c", code]), check=check).strip()

    def add_peer(self, public_key, tunnel_ip, endpoint):
        wireguard.set_peer(self.netns, self.ifname, public_key, tunnel_ip, endpoint)

    def remove_peer(self, public_key):
        wireguard.remove_peer(self.netns, self.ifname, public_key)

    def wg_show(self):
        return wireguard.show(self.netns, self.ifname)

    def running(self):
        return netns.exists(self.netns) and bool(netns.pids(self.netns))

    def destroy(self):
        netns.destroy(self.netns)
