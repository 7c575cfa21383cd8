# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloud_floating_watch
short_description: Watch the nodes of the pools with a floating address, and move an address off a failing node
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - For O(duration) seconds, probes every server of the pools of O(cluster) that have a floating address (made by
    M(talos.autoextender.cloud_floating_ip)) every O(interval) seconds, and routes an address to the first healthy
    server of its pool (by name) as soon as the server it is routed to failed O(fail_after) probes in a row, or is
    not running. An address stays where it is while its server is healthy, and while no server of its pool is.
  - One task does what a repeated playbook run does in 13-17 seconds a pass (docs/failover.md), so a failed node
    is noticed within about O(interval) x O(fail_after) seconds and the move is one API call. The
    C(edge_failover) role runs it for C(failover.yml -e failover_floating_only=true -e failover_watch_seconds=N).
  - Lists the cloud at the start and every O(refresh) seconds (servers created or deleted meanwhile, an address
    moved by a full failover run); between listings it follows its own moves.
  - It does not touch DNS, servers or Kubernetes, and takes no lease; the C(edge_failover) role takes the
    floating watch's Lease around it.
extends_documentation_fragment:
  - talos.autoextender.cloud
  - talos.autoextender.probe
attributes:
  check_mode:
    support: full
    description: One pass, and the moves it would make now (one failed probe counts); nothing moves.
  diff_mode:
    support: none
    description: The moves are returned in RV(cloud_floating_watch.moves).
  idempotent:
    support: full
    description: An address is moved only off a failing server; a second watch with every server healthy moves nothing.
options:
  pools:
    description:
      - The pools to watch; empty means every pool of O(cluster) with a floating address.
    type: list
    elements: str
    default: []
  interval:
    description: Seconds from the start of one probe pass to the start of the next.
    type: float
    default: 1.0
  duration:
    description:
      - Seconds to watch; V(0) is one pass. Run the task again (a loop, a CronJob, a Deployment) to keep watching.
    type: int
    default: 60
  fail_after:
    description: Failed probes in a row after which the address leaves a server.
    type: int
    default: 2
  refresh:
    description: Seconds between two listings of the cloud's servers and floating addresses.
    type: int
    default: 30
  wait_timeout:
    description: Seconds each listing and each move may take.
    type: int
    default: 60
notes:
  - The probe's default is a TCP connect to port 443 with a timeout of 3 seconds; set O(probe.timeout) below
    O(interval) so one pass fits in one interval.
seealso:
  - module: talos.autoextender.cloud_floating_ip
"""

EXAMPLES = r"""
- name: Watch the floating addresses of the home cluster's pools for five minutes
  talos.autoextender.cloud_floating_watch:
    provider: hetzner
    cluster: home
    duration: 300
    interval: 1
    fail_after: 2
    probe:
      tcp_ports: [443]
      timeout: 0.8
  register: watch

- name: Say what moved
  ansible.builtin.debug:
    msg: "{{ watch.cloud_floating_watch.moves }}"
"""

RETURN = r"""
cloud_floating_watch:
  description: What the watch saw and did.
  returned: success
  type: dict
  contains:
    moves:
      description: Each move, in order.
      type: list
      elements: dict
      sample:
        - {name: home-hel1-a-ipv4, address: 203.0.113.7, pool: hel1-a, from: home-hel1-a-1, to: home-hel1-a-2,
           failed_probes: 2, after_seconds: 41.3}
    passes:
      description: Probe passes made.
      type: int
      sample: 300
    seconds:
      description: Seconds the watch took.
      type: float
      sample: 300.4
    addresses:
      description: Each watched address and the server it is routed to at the end (V(null) - none).
      type: list
      elements: dict
      sample: [{name: home-hel1-a-ipv4, address: 203.0.113.7, pool: hel1-a, server: home-hel1-a-2}]
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _probe
from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import (
    connection_argument_spec,
    read_with_provider,
)
from ansible_collections.talos.autoextender.plugins.module_utils._errors import redact
from ansible_collections.talos.autoextender.plugins.module_utils._floating_watch import Watch
from ansible_collections.talos.autoextender.plugins.module_utils._validate import (
    MAX_WAIT_TIMEOUT,
    Range,
    ValidatedModule,
)


def main():
    module = ValidatedModule(
        argument_spec=connection_argument_spec(
            pools=dict(type="list", elements="str", default=[]),
            probe=_probe.argument_spec(),
            interval=dict(type="float", default=1.0),
            duration=dict(type="int", default=60),
            fail_after=dict(type="int", default=2),
            refresh=dict(type="int", default=30),
            wait_timeout=dict(type="int", default=60),
        ),
        rules=dict(_probe.RULES, **{"interval": Range(0.2, 60, "seconds", number=float),
                                    "duration": Range(0, 3600, "seconds"), "fail_after": Range(1, 100, "probes"),
                                    "refresh": Range(1, 3600, "seconds"),
                                    "wait_timeout": Range(1, MAX_WAIT_TIMEOUT, "seconds")}),
        supports_check_mode=True,
    )
    p = module.params
    provider, result = read_with_provider(module, lambda cloud: Watch(
        cloud, p["cluster"], pools=p["pools"], probe=p["probe"], interval=p["interval"], duration=p["duration"],
        fail_after=p["fail_after"], refresh=p["refresh"], move_timeout=p["wait_timeout"],
        check_mode=module.check_mode).run())
    module.exit_json(changed=bool(result["moves"]), cloud_floating_watch=redact(result, provider.secrets()))


if __name__ == "__main__":
    main()
