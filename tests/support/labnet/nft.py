"""A cloud firewall in front of a lab namespace's public link, as nftables rules (root only).

A cloud firewall filters what reaches a server's public interface from outside and
nothing else, so the ruleset filters only packets that come in on the namespace's
uplink (``ae-uplink``): loopback and the WireGuard link (traffic that already
crossed the tunnel) are never filtered, nor is anything the namespace sends.

On the uplink, once a firewall applies: replies to the namespace's own connections
(conntrack established/related) and IPv6 neighbour discovery pass, then each allow
rule, then everything else is dropped (no reject: a cloud firewall drops, so a
closed port times out, it is not refused).

The ruleset lives in one table of its own (``inet autoextender_fw``). ``render``
writes the whole table in one ``nft -f`` script that first deletes the old table,
so a change is one kernel transaction (atomic) and the same rules give the same
table (idempotent). ``render(None)`` only deletes it: no firewall, no filtering.
"""
import ipaddress
import re

from ._run import LabnetError, ns_argv, run, which
from .netns import UPLINK

FAMILY, TABLE = "inet", "autoextender_fw"
PROTOCOLS = ("tcp", "udp", "icmp")
# nft keeps at most 128 bytes of a rule comment; the rest of the text is the caller's
COMMENT_MAX = 100
PORT_RE = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


def port_expr(port):
    """``"80"`` -> ``"80"``, ``"1000-2000"`` -> ``"1000-2000"``; ValueError outside 1-65535 or a reversed range."""
    m = PORT_RE.match(str(port or ""))
    if not m:
        raise ValueError("port %r: give a port or a range like 1000-2000" % (port,))
    low, high = int(m.group(1)), int(m.group(2) or m.group(1))
    if not 1 <= low <= high <= 65535:
        raise ValueError("port %r: ports are 1-65535 and a range goes from low to high" % (port,))
    return str(low) if low == high else "%d-%d" % (low, high)


def sources_by_family(sources):
    """{"ip": [...], "ip6": [...]}: the source CIDRs per address family, merged where they overlap."""
    nets = [ipaddress.ip_network(s, strict=False) for s in sources]
    out = {}
    for version, key in ((4, "ip"), (6, "ip6")):
        mine = [n for n in nets if n.version == version]
        if mine:
            out[key] = [str(n) for n in ipaddress.collapse_addresses(mine)]
    return out


def comment(text):
    """`` comment "text"`` (printable ASCII without quotes, at most COMMENT_MAX characters); "" for no text."""
    clean = re.sub(r"[^A-Za-z0-9 .,:;/()+_=@#-]", "?", text or "")[:COMMENT_MAX]
    return ' comment "%s"' % clean if clean else ""


def rule_lines(rule):
    """The nft statements of one allow rule ``{protocol, port, sources, comment}`` (one per address family)."""
    protocol = rule.get("protocol")
    if protocol not in PROTOCOLS:
        raise ValueError("protocol %r: one of %s" % (protocol, ", ".join(PROTOCOLS)))
    lines = []
    for family, nets in sorted(sources_by_family(rule.get("sources") or []).items()):
        if protocol == "icmp":
            match = "meta l4proto %s" % ("icmp" if family == "ip" else "ipv6-icmp")
        else:
            match = "%s dport %s" % (protocol, port_expr(rule.get("port")))
        lines.append("%s saddr { %s } %s counter accept%s"
                     % (family, ", ".join(nets), match, comment(rule.get("comment"))))
    return lines


def render(rules, interface=UPLINK):
    """The nft script that makes ``rules`` the only inbound traffic allowed on ``interface``.

    ``rules``: a list of ``{protocol, port, sources, comment}`` (an empty list drops all
    inbound traffic), or None for no firewall (the table is removed). ValueError for a
    rule nft would refuse, so a bad rule never reaches the kernel.
    """
    head = ["table %s %s" % (FAMILY, TABLE), "delete table %s %s" % (FAMILY, TABLE)]
    if rules is None:
        return "\n".join(head) + "\n"
    allow = [line for rule in rules for line in rule_lines(rule)]
    body = [
        "table %s %s {" % (FAMILY, TABLE),
        "    chain input {",
        "        type filter hook input priority filter; policy accept;",
        '        iifname "%s" jump public' % interface,
        "    }",
        "    chain public {",
        '        ct state established,related accept comment "replies to connections the server opened"',
        "        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept "
        'comment "IPv6 neighbour discovery"',
    ] + ["        " + line for line in allow] + [
        '        counter drop comment "no rule allows it"',
        "    }",
        "}",
    ]
    return "\n".join(head + body) + "\n"


def nft_path():
    path = which("nft")
    if not path:
        raise LabnetError("nft is not installed (Debian package nftables): the lab cannot enforce cloud firewalls")
    return path


def apply(netns, script):
    """Load ``script`` (from ``render``) in namespace ``netns``: one transaction, all or nothing."""
    run(ns_argv(netns, [nft_path(), "-f", "-"]), input_text=script)


def ruleset(netns):
    """The namespace's nftables ruleset as ``nft list ruleset`` prints it (with counters); "" when empty."""
    return run(ns_argv(netns, [nft_path(), "list", "ruleset"]))
