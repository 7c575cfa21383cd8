# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The long floating watch: one process probes the nodes of the pools with a floating address every ``interval``
seconds for ``duration`` seconds, and routes an address to a healthy node of its pool as soon as the node it is on
failed ``fail_after`` probes in a row.

A floating watch made of playbook runs pays for ansible-playbook, Python, the SDKs and the cloud listing on every
pass (13-17 s on 2 cores), so a kill early in a pass waits for the next one. Here the probes are the only thing
repeated: a failed node is noticed within ``interval * fail_after`` seconds and the move is one API call.

The cloud is listed at the start and every ``refresh`` seconds (a server created or deleted meanwhile, or an
address moved by a full failover run, is seen then); between listings the watch follows its own moves.
"""

from __future__ import annotations

import time

from ansible_collections.talos.autoextender.plugins.module_utils import _probe
from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import owned_floating_ips, owned_servers
from ansible_collections.talos.autoextender.plugins.module_utils._providers.base import POOL_LABEL
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline

ADDRESS_KEY = {"ipv4": "public_ipv4", "ipv6": "public_ipv6"}


class Watch:
    """``run()`` watches until ``duration`` has passed (one pass when it is 0, or in check mode)."""

    def __init__(self, provider, cluster, pools=None, probe=None, interval=1.0, duration=60.0, fail_after=2,
                 refresh=30.0, move_timeout=60.0, check_mode=False, clock=time.monotonic, sleep=time.sleep,
                 probe_all=_probe.probe_all):
        self.provider, self.cluster, self.pools = provider, cluster, set(pools) if pools else None
        self.probe = probe or {}
        self.interval, self.duration, self.fail_after = float(interval), float(duration), int(fail_after)
        self.refresh, self.move_timeout, self.check_mode = float(refresh), float(move_timeout), check_mode
        if check_mode:  # one pass: the moves a failed probe would cause now
            self.fail_after = 1
        self.clock, self.sleep, self.probe_all = clock, sleep, probe_all
        self.addresses, self.servers, self.failures = [], [], {}
        self.moves, self.passes, self.listed_at = [], 0, None

    def list_cloud(self):
        """The floating addresses of the watched pools and the servers of those pools."""
        self.addresses = [f for f in owned_floating_ips(self.provider, self.cluster)
                          if self.pools is None or f["labels"].get(POOL_LABEL) in self.pools]
        pools = set(f["labels"].get(POOL_LABEL) for f in self.addresses)
        self.servers = [s for s in owned_servers(self.provider, self.cluster) if s["labels"].get(POOL_LABEL) in pools]
        self.listed_at = self.clock()

    def probe_nodes(self):
        """Count each server's failed probes in a row; a server that does not run fails without a probe."""
        targets = {}
        for srv in self.servers:
            for family in set(f.get("family") or "ipv4" for f in self.addresses):
                ip = srv.get(ADDRESS_KEY[family])
                if ip and srv.get("status") == "running":
                    targets.setdefault(srv["name"], []).append(ip)
        p = self.probe
        results = {}
        if p.get("enabled", True):
            results = self.probe_all([ip for ips in targets.values() for ip in ips], p.get("tcp_ports") or (),
                                     p.get("http"), p.get("timeout") or 3)
        for srv in self.servers:
            ips = targets.get(srv["name"])
            healthy = bool(ips) and all((results.get(ip) or {"healthy": not p.get("enabled", True)})["healthy"]
                                        for ip in ips)
            self.failures[srv["name"]] = 0 if healthy else self.failures.get(srv["name"], 0) + 1

    def route(self, started):
        """Move each address whose node failed ``fail_after`` probes in a row to the first healthy node of its pool
        (by name); an address stays where it is while no node of its pool is healthy."""
        by_id = dict((s["id"], s) for s in self.servers)
        for fip in self.addresses:
            pool = fip["labels"].get(POOL_LABEL)
            current = by_id.get(fip.get("server"))
            if current is not None and self.failures.get(current["name"], 0) < self.fail_after:
                continue
            healthy = sorted((s for s in self.servers
                              if s["labels"].get(POOL_LABEL) == pool and self.failures.get(s["name"]) == 0),
                             key=lambda s: s["name"])
            if not healthy:
                continue
            target = healthy[0]
            if not self.check_mode:
                fip.update(self.provider.assign_floating_ip(fip, target["id"], Deadline(self.move_timeout)))
            self.moves.append({"name": fip["name"], "address": fip["address"], "pool": pool,
                               "from": current["name"] if current else None, "to": target["name"],
                               "failed_probes": self.failures.get(current["name"]) if current else None,
                               "after_seconds": round(self.clock() - started, 2)})
            fip["server"] = target["id"]

    def run(self):
        started = self.clock()
        self.list_cloud()
        while True:
            tick = self.clock()
            if tick - self.listed_at >= self.refresh:
                self.list_cloud()
            self.passes += 1
            self.probe_nodes()
            self.route(started)
            if self.check_mode or self.clock() - started + self.interval > self.duration:
                break
            self.sleep(max(0.0, self.interval - (self.clock() - tick)))
        return {"moves": self.moves, "passes": self.passes, "seconds": round(self.clock() - started, 2),
                "addresses": [{"name": f["name"], "address": f["address"], "pool": f["labels"].get(POOL_LABEL),
                               "server": next((s["name"] for s in self.servers if s["id"] == f.get("server")), None)}
                              for f in self.addresses]}
