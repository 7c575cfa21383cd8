"""The lab cloud's firewalls, enforced in each server's network namespace (root lab only).

A lab server of the root lab lives in a namespace of the lab network (lab_edges.py);
the firewalls that apply to it (``show_server``'s ``firewalls``) become the nftables
ruleset of that namespace (tests/support/labnet/nft.py), with Hetzner Cloud's rules:

- no firewall applies: every inbound packet is accepted;
- one or more apply: inbound traffic on the public link is allowed only by their
  rules (the union), plus replies to the server's own connections; the rest is
  dropped. Loopback, the WireGuard link and all outbound traffic are never filtered.

The lab cloud calls ``enforce`` whenever the answer can change: a firewall created,
updated or deleted, a server's labels changed, a server's namespace created.
"""
from ..labnet import LabNetwork, netns, nft
from .lab_edges import edge_name


def rules(firewalls):
    """The nft allow rules of ``firewalls`` (the lab's firewall dicts), or None when there are none."""
    if not firewalls:
        return None
    return [{"protocol": r["protocol"], "port": r.get("port"), "sources": r["sources"],
             "comment": "firewall %s: %s" % (fw["name"], r.get("description") or r["protocol"])}
            for fw in firewalls for r in fw["rules"]]


def script(firewalls):
    """The whole nft script of a server to which ``firewalls`` apply."""
    return nft.render(rules(firewalls))


class Enforcer:
    """The lab network at ``state_dir`` seen by the firewalls. Nothing happens in __init__."""

    def __init__(self, state_dir):
        self.state_dir = state_dir

    def plan(self):
        return LabNetwork(self.state_dir).attach().plan

    def enforce(self, todo):
        """Write the ruleset of each ``(server, firewalls)`` whose namespace exists; return their names."""
        plan = self.plan()
        done = []
        for srv, firewalls in todo:
            name = plan.edge_netns(edge_name(srv))
            if netns.exists(name):
                nft.apply(name, script(firewalls))
                done.append(srv["name"])
        return done

    def ruleset(self, srv):
        """``nft list ruleset`` of the server's namespace ("" without a firewall), None when it has none."""
        name = self.plan().edge_netns(edge_name(srv))
        return nft.ruleset(name) if netns.exists(name) else None
