# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_lease
short_description: Take or give back a Lease of the home cluster, so that two runs of a workflow never overlap
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - A C(coordination.k8s.io/v1) Lease used as a lock between runs that may start at the same time from different
    places (the failover CronJob, an AWX schedule, a laptop). The C(edge_failover) role takes it first and gives it
    back last.
  - O(state=present) takes the lease when nobody holds it, its holder's time ran out, or O(holder) holds it already
    (then it is renewed). It is taken with a create, or a replace at the version just read, so two runs never both
    get it. When another holder has it, the module waits up to O(wait_timeout) seconds, then returns
    RV(acquired=false) with that holder; it does not fail, so the caller decides (failover ends the run and says so).
  - O(state=absent) gives the lease back (a delete at the version read) when O(holder) holds it, and leaves another
    holder's lease alone.
  - A holder that dies keeps the lease for at most O(duration) seconds.
  - Taking and giving back a lease is bookkeeping of the run, not a change it reports; the module never returns
    C(changed=true).
extends_documentation_fragment:
  - talos.autoextender.k8s
options:
  name:
    description: The Lease.
    type: str
    default: autoextender-failover
  namespace:
    description: Its namespace, which must exist.
    type: str
    default: autoextender-edge
  holder:
    description:
      - Who takes it, the same for O(state=present) and O(state=absent) of one run; the C(edge_failover) role uses
        the control node's name, the process and the start time.
    type: str
    required: true
  state:
    description: V(present) takes (or renews) the lease; V(absent) gives it back.
    type: str
    choices: [present, absent]
    default: present
  duration:
    description: Seconds the lease is held without a renewal; longer than the slowest run.
    type: int
    default: 900
  wait_timeout:
    description: Seconds to wait for another holder to give the lease back or run out of time.
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    description: Reads the lease and says whether it could be taken; writes nothing.
  diff_mode:
    support: none
    description: A lease is not a state of the system to show.
seealso:
  - name: Failover, thresholds and the lease
    description: docs/failover.md in the collection.
    link: https://github.com/talos-autoextender/talos-autoextender/blob/main/docs/failover.md
"""

EXAMPLES = r"""
- name: Take the failover lease
  talos.autoextender.k8s_lease:
    holder: "laptop/12345/2026-12-07T04:55:00Z"
  register: lease

- name: Stop when another run holds it
  ansible.builtin.meta: end_play
  when: not lease.acquired

- name: Give it back
  talos.autoextender.k8s_lease:
    holder: "laptop/12345/2026-12-07T04:55:00Z"
    state: absent
"""

RETURN = r"""
acquired:
  description: Whether O(holder) holds the lease now (O(state=present)); in check mode, whether it could take it.
  returned: state is present
  type: bool
  sample: true
released:
  description: Whether the lease was given back (O(state=absent)); false when it was not O(holder)'s.
  returned: state is absent
  type: bool
  sample: true
holder:
  description: Who holds the lease after the task (null when nobody does).
  returned: always
  type: str
  sample: laptop/12345/2026-12-07T04:55:00Z
expires:
  description: When the holder's time runs out (ISO 8601, UTC), null when nobody holds it.
  returned: always
  type: str
  sample: "2026-12-07T05:10:00.123456+00:00"
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _k8s_client as kc
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._k8s_lease import Lease, describe
from ansible_collections.talos.autoextender.plugins.module_utils._k8s_objects import Objects
from ansible_collections.talos.autoextender.plugins.module_utils._validate import (
    MAX_WAIT_TIMEOUT,
    Range,
    ValidatedModule,
)
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline

FIELD_MANAGER = "talos-autoextender-lease"


def main():
    module = ValidatedModule(
        argument_spec=kc.k8s_argument_spec(
            name=dict(type="str", default="autoextender-failover"),
            namespace=dict(type="str", default="autoextender-edge"),
            holder=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            duration=dict(type="int", default=900),
            wait_timeout=dict(type="int", default=0),
        ),
        rules={"duration": Range(10, 86400, "seconds"), "wait_timeout": Range(0, MAX_WAIT_TIMEOUT, "seconds")},
        supports_check_mode=True,
    )
    kc.require_kubernetes(module)
    p = module.params
    try:
        objects = Objects(kc.api_client(p["kubeconfig"], p["context"]), FIELD_MANAGER)
        lease = Lease(objects, p["namespace"], p["name"], p["holder"], p["duration"])
        if p["state"] == "absent":
            released = False if module.check_mode else lease.release()
            module.exit_json(changed=False, released=released, **describe(lease.read()))
        acquired, current = lease.acquire(Deadline(p["wait_timeout"]), dry_run=module.check_mode)
    except AutoextenderError as e:
        module.fail_json(msg=e.msg, failure=e.failure())
    module.exit_json(changed=False, acquired=acquired, **describe(current))


if __name__ == "__main__":
    main()
