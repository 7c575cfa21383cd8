# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Read what Talos nodes report (talos_info), and wait until named KubeSpan peers are up.

Every read is asked again while a node is unreachable (rebooting), within the
task's one deadline; a TLS refusal or any other error fails at once. Peers
not up when the deadline passes fail with kind ``timeout`` and name them.
"""

from __future__ import annotations

import time

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._talos_node import (
    as_node_error,
    health_summary,
    parse_machine_types,
    parse_members,
    parse_peer_statuses,
    parse_versions,
    peers_not_up,
    retry_unreachable,
)
from ansible_collections.talos.autoextender.plugins.module_utils._wait import WaitTimeout, wait_for

GATHER = ("version", "machine_type", "members", "kubespan_peers")
# what -> (args, parser, return key)
READS = {
    "version": (["version", "--json"], parse_versions, "versions"),
    "machine_type": (["get", "machinetype", "--output=json"], parse_machine_types, "machine_types"),
    "members": (["get", "members", "--output=json"], parse_members, "members"),
    "kubespan_peers": (["get", "kubespanpeerstatuses", "--output=json"], parse_peer_statuses, "kubespan_peers"),
}


def target(cli):
    return ",".join(cli.nodes) or "the talosconfig context's nodes"


def read(cli, item, deadline=None, sleep=time.sleep):
    """One read (``GATHER`` item), parsed; retried while the nodes are unreachable and ``deadline`` allows."""
    args, parser, dummy = READS[item]
    where = target(cli)

    def call():
        try:
            return parser(cli.run_json(args, connect=True, what="read %s from %s" % (item, where)))
        except AutoextenderError as e:
            raise as_node_error(e, where)
    if deadline is None:
        return call()
    return retry_unreachable(call, where, deadline, sleep)


def gather(cli, what, deadline=None, sleep=time.sleep):
    """``{return key: parsed}`` for each item of ``what``, plus the health summary."""
    info = {}
    for item in what:
        info[READS[item][2]] = read(cli, item, deadline, sleep)
    info["health"] = health_summary(info.get("members"), info.get("kubespan_peers"))
    return info


def wait_for_peers(cli, labels, deadline, first=None, sleep=time.sleep):
    """KubeSpan peers (parsed) once every asked node reports every one of ``labels`` up.

    ``first`` is a read already made. On timeout the error names each node and the peers it does not see up,
    with their last state.
    """
    state = {"peers": first}

    def probe():
        if state["peers"] is None:
            state["peers"] = read(cli, "kubespan_peers", deadline, sleep)
        peers, state["peers"] = state["peers"], None
        missing = peers_not_up(peers, labels, cli.nodes)
        return not missing, {"kubespan_peers": peers, "missing": missing}

    try:
        return wait_for(probe, deadline, "KubeSpan peers %s to be up" % ", ".join(labels),
                        initial=1.0, maximum=5.0, sleep=sleep)["kubespan_peers"]
    except WaitTimeout as e:
        last = e.partial or {"kubespan_peers": [], "missing": {}}
        states = dict(((p["node"], p["label"]), p["state"]) for p in last["kubespan_peers"])
        words = ["%s sees %s" % (node or target(cli), ", ".join("%s %s" % (label, states.get((node, label), "absent"))
                                                                for label in labels_))
                 for node, labels_ in sorted(last["missing"].items())]
        raise WaitTimeout("KubeSpan peers not up after %.0fs: %s" % (deadline.timeout, "; ".join(words)),
                          partial={"kubespan_peers": last["kubespan_peers"], "peers_not_up": last["missing"]},
                          details={"peers_not_up": last["missing"], "timeout": deadline.timeout})
