"""The lab's real data path (DESIGN.md section 5, root only).

    client (host) -> edge "public IP" (10.250.N.I, a veth into the edge's namespace)
                  -> Traefik on :80 in the edge namespace (a DaemonSet pod's, lab_pods.py;
                     or, without a cluster, its own with a file provider; sets X-Forwarded-For)
                  -> WireGuard (wireguard-go, userspace, MTU 1420, keepalive 25)
                  -> home namespace -> test app on 10.251.0.1:8080 (tunnel only)

Use ``LabNetwork(state_dir).up()``, then ``add_edge(name)``; ``down()`` removes it all.
``missing()`` says why it cannot run here (not root, a tool missing). See
docs/lab-datapath.md for the address plan and the CLI (hack/labnet.py).
"""
from ._run import LabnetError, missing
from .addressing import Plan
from .edge import EdgeNode
from .home import HomeNetwork
from .network import LabNetwork, down_all, reclaim_stale
from .probe import get, healthy, report

__all__ = ["EdgeNode", "HomeNetwork", "LabNetwork", "LabnetError", "Plan", "down_all", "get", "healthy",
           "missing", "reclaim_stale", "report"]
