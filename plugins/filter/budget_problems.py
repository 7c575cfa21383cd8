# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: budget_problems
short_description: Why the edge pools' monthly cost does not fit autoextender_budget
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Takes the C(results) of a M(talos.autoextender.cloud_price_info) task looped over the providers the pools use
    (C(item) is the provider) and returns one message per problem; an empty list when the pools fit the budget.
  - A pool costs its C(count) servers of its C(server_type) in its C(location), each with its public addresses, at
    the provider's price. The message over the cap names every pool's price, the total and the cap.
  - A pool priced in another currency than the budget needs a rate in C(exchange_rates); none is built in.
  - Used by the C(talos.autoextender.preflight) role (docs/costs.md).
options:
  _input:
    description: The C(results) of the looped task.
    type: list
    elements: dict
    required: true
  pools:
    description: The pools (C(autoextender_pools)).
    type: list
    elements: dict
    required: true
  budget:
    description: C(autoextender_budget) (C(monthly), C(currency), C(prices), C(exchange_rates)).
    type: dict
    required: true
  ipv6:
    description: Whether each server has a public IPv6 address too (the C(edge_pool) role's C(edge_pool_ipv6)).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Stop a provision over budget
  ansible.builtin.assert:
    that: over | length == 0
    fail_msg: "{{ over | join('; ') }}"
  vars:
    over: "{{ prices.results | talos.autoextender.budget_problems(autoextender_pools, autoextender_budget) }}"
"""

RETURN = r"""
_value:
  description: >-
    Messages such as C(The edge pools would cost 14.28 EUR/month (gross prices), over autoextender_budget.monthly
    10.00 EUR by 4.28 EUR: pool a: 3 x (cx23 4.15 EUR + IPv4 0.60 EUR) = 14.28 EUR/month).
  type: list
  elements: str
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _costs


def catalogs(results):
    """{provider: price catalog} from the results of a cloud_price_info task looped over providers."""
    return dict((r["item"], r["prices"]) for r in results or () if not r.get("skipped") and "prices" in r)


def budget_problems(results, pools, budget, ipv6=True):
    """See DOCUMENTATION."""
    return _costs.budget_problems(catalogs(results), pools or [], budget, ipv6)


class FilterModule:
    def filters(self):
        return {"budget_problems": budget_problems}
