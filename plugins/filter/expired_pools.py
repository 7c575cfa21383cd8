# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: expired_pools
short_description: The edge pools whose expiry has passed
version_added: 0.3.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Given the pools of the desired state (C(autoextender_pools)), returns those whose C(expires) is reached, in
    the order given. A pool without C(expires) never expires.
  - C(expires) is ISO 8601, a date (V(2026-12-31), which means the START of that day, 00:00 UTC) or a date-time
    with a zone (V(2026-12-31T18:00:00Z), V(2026-12-31T18:00:00+01:00)). An unquoted YAML date or date-time is
    read the same way. A date-time without a zone names no moment and is refused.
  - A pool has expired once its expiry is reached, at O(now) or later.
  - Only a standby pool (C(active=false)) may have C(expires); the C(talos.autoextender.preflight) role refuses it on
    an active pool, and an C(expires) it cannot read, before this filter runs.
  - Used by C(playbooks/decommission.yml) with C(-e expired=true), which removes the pools this filter returns, and
    by C(playbooks/provision.yml), which neither creates nor refills them.
  - A pure function.
options:
  _input:
    description: The pools, C(autoextender_pools).
    type: list
    elements: dict
    required: true
  now:
    description:
      - The moment to compare with, in the form of C(expires) (a date is 00:00 UTC of that day; a date-time needs a
        zone).
      - Omitted, the current time in UTC, read each time the filter runs. A playbook that decides once for a whole
        run keeps the answer with C(ansible.builtin.set_fact).
    type: str
"""

EXAMPLES = r"""
- name: Find the expired pools once for the run
  ansible.builtin.set_fact:
    expired: "{{ autoextender_pools | talos.autoextender.expired_pools }}"

- name: Say which pools expired, and when
  ansible.builtin.debug:
    msg: "Pool {{ item.name }} expired on {{ item.expired_at }} (expires: {{ item.expires }})"
  loop: "{{ expired }}"
  loop_control:
    label: "{{ item.name }}"

- name: Remove each of them as decommission.yml -e pool=<name> does
  ansible.builtin.include_role:
    name: talos.autoextender.edge_pool_decommission
  vars:
    edge_pool_decommission_pool: "{{ expired_pool.pool }}"
  loop: "{{ expired }}"
  loop_control:
    loop_var: expired_pool
    label: "{{ expired_pool.name }}"

- name: The names of the pools expired by 2027-01-01, 00:00 UTC (the end of 2026)
  ansible.builtin.debug:
    msg: "{{ autoextender_pools | talos.autoextender.expired_pools(now='2027-01-01') | map(attribute='name') }}"
"""

RETURN = r"""
_value:
  description: The expired pools, in the order of the input; empty when none has expired.
  type: list
  elements: dict
  contains:
    name:
      description: The pool's name.
      type: str
      sample: fr-par-b
    expires:
      description: The pool's C(expires), as written (a YAML date or date-time in ISO form).
      type: str
      sample: "2026-12-31"
    expired_at:
      description: The moment the pool expired, in UTC (C(YYYY-MM-DDTHH:MM:SSZ)).
      type: str
      sample: "2026-12-31T00:00:00Z"
    pool:
      description:
        - The pool, the entry of the input unchanged; what the C(talos.autoextender.edge_pool_decommission) role
          takes as C(edge_pool_decommission_pool).
      type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.talos.autoextender.plugins.module_utils import _pool_expiry
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError


def expired_pools(pools, now=None):
    """See DOCUMENTATION."""
    if not isinstance(pools, list):
        raise AnsibleFilterError("expired_pools: the input must be the list of pools (autoextender_pools), got %s"
                                 % type(pools).__name__)
    try:
        return _pool_expiry.expired(pools, now=now)
    except AutoextenderError as e:
        raise AnsibleFilterError("expired_pools: %s" % e.msg)


class FilterModule:
    def filters(self):
        return {"expired_pools": expired_pools}
