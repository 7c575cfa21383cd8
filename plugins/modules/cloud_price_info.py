# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloud_price_info
short_description: What a provider's servers and public addresses cost per month, and the cheapest fit per location
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Reads the provider's own price list (Hetzner C(GET /pricing) and its server types; Linode C(/linode/types) with
    its C(region_prices); the lab's C(GET /pricing)) and returns it in one shape for every provider. No price is
    built into the collection.
  - Lists, per location, the cheapest server type that has at least O(min_cpu) cores and O(min_memory) GB of memory
    and runs O(arch), with its public addresses priced in.
  - The C(preflight) role checks the pools against C(autoextender_budget) with it, and C(status.yml) reports each
    pool's monthly cost (docs/costs.md).
  - Read-only.
extends_documentation_fragment:
  - talos.autoextender.cloud
  - talos.autoextender.attributes.info_module
options:
  cluster:
    description:
      - Not used (prices belong to no cluster); accepted so that C(module_defaults) of the
        C(group/talos.autoextender.cloud) action group apply.
    type: str
    required: false
  min_cpu:
    description:
      - The fewest cores (vCPUs) a server type in RV(cheapest) has.
    type: int
    default: 1
  min_memory:
    description:
      - The least memory, in GB (GiB on Linode, whose API counts MiB), a server type in RV(cheapest) has.
    type: float
    default: 0
  arch:
    description:
      - The CPU architecture a server type in RV(cheapest) must run.
    type: str
    choices: [amd64, arm64]
    default: amd64
  location:
    description:
      - Only this location in RV(cheapest); every location of the provider when not given.
    type: str
  prices:
    description:
      - Which amounts RV(cheapest) compares and reports. V(gross) includes VAT where the provider states it (Hetzner,
        the lab); Linode states prices without tax only, and those are used either way.
    type: str
    choices: [gross, net]
    default: gross
  ipv6:
    description:
      - Count a public IPv6 address per server in RV(cheapest) (free on every provider today). The IPv4 address is
        always counted where the provider charges for it apart (Hetzner Primary IPs, the lab).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds the API calls may take, retries included.
    type: int
    default: 60
seealso:
  - module: talos.autoextender.cloud_placement_info
  - name: Costs and the budget
    description: docs/costs.md in the collection.
    link: https://github.com/talos-autoextender/talos-autoextender/blob/main/docs/costs.md
"""

EXAMPLES = r"""
- name: The cheapest Hetzner server with 2 cores and 4 GB per location
  talos.autoextender.cloud_price_info:
    provider: hetzner
    min_cpu: 2
    min_memory: 4
  register: hetzner_prices

- name: Show them
  ansible.builtin.debug:
    msg: "{{ hetzner_prices.cheapest | map(attribute='server_type') | zip(hetzner_prices.cheapest
              | map(attribute='location')) | list }}"
"""

RETURN = r"""
prices:
  description: The provider's price list, as C(_costs) reads it (docs/costs.md).
  returned: success
  type: dict
  contains:
    provider:
      description: The provider.
      type: str
      sample: hetzner
    currency:
      description: The ISO 4217 currency of every amount.
      type: str
      sample: EUR
    vat_rate:
      description: The VAT rate in percent the gross amounts include; null when the provider gives net amounts only.
      type: float
      sample: 19.0
    locations:
      description: Every location servers can be ordered in.
      type: list
      elements: str
      sample: [fsn1, hel1, nbg1]
    server_types:
      description: Per server type, C(cores), C(memory_gb), C(arch), C(deprecated), C(locations) (null for every
        location) and C(monthly), the monthly price per location (C(*) for every location without its own) as
        C({net, gross}) (C(gross) null where the provider gives none).
      type: dict
      sample: {"cx23": {"cores": 2, "memory_gb": 4.0, "arch": ["amd64"], "deprecated": false, "locations": ["hel1"],
               "monthly": {"hel1": {"net": 3.49, "gross": 4.1531}}}}
    addresses:
      description: The monthly price of a public C(ipv4) and C(ipv6) address per location, where the provider charges
        for it apart from the server.
      type: dict
      sample: {"ipv4": {"hel1": {"net": 0.5, "gross": 0.595}}}
cheapest:
  description: Per location, the cheapest server type that fits O(min_cpu), O(min_memory) and O(arch), sorted by
    location; locations where none fits are left out.
  returned: success
  type: list
  elements: dict
  contains:
    location:
      description: The location.
      type: str
    server_type:
      description: The cheapest fitting server type there (the lower name on a tie).
      type: str
    monthly:
      description: Its monthly price with its public addresses, as O(prices) says.
      type: float
    currency:
      description: The currency of RV(cheapest[].monthly).
      type: str
    cores:
      description: Its cores.
      type: int
    memory_gb:
      description: Its memory in GB.
      type: float
  sample: [{"location": "hel1", "server_type": "cx23", "monthly": 4.7481, "currency": "EUR", "cores": 2,
            "memory_gb": 4.0}]
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _costs
from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import (
    connection_argument_spec,
    read_with_provider,
)
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._validate import (
    MAX_WAIT_TIMEOUT,
    Range,
    ValidatedModule,
)


def main():
    spec = connection_argument_spec(
        min_cpu=dict(type="int", default=1),
        min_memory=dict(type="float", default=0),
        arch=dict(type="str", default="amd64", choices=["amd64", "arm64"]),
        location=dict(type="str"),
        prices=dict(type="str", default="gross", choices=list(_costs.PRICE_BASES)),
        ipv6=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=60),
    )
    spec["cluster"] = dict(type="str")
    module = ValidatedModule(argument_spec=spec, supports_check_mode=True,
                             rules={"wait_timeout": Range(1, MAX_WAIT_TIMEOUT, "seconds"),
                                    "min_cpu": Range(1, 1024, "cores"), "min_memory": Range(0, 65536, "GB", number=float)})
    params = module.params
    location = params["location"]

    def read(cloud):
        found = cloud.price_catalog()
        if location is not None and location not in found["locations"]:
            raise AutoextenderError("Unknown %s location %r; valid locations: %s"
                                    % (params["provider"], location, ", ".join(found["locations"])), kind=VALIDATION)
        return found

    dummy, catalog = read_with_provider(module, read)
    cheapest = _costs.cheapest(catalog, params["min_cpu"], params["min_memory"], params["arch"], location,
                               params["prices"], params["ipv6"])
    module.exit_json(changed=False, prices=catalog, cheapest=cheapest)


if __name__ == "__main__":
    main()
