# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloud_placement_info
short_description: Whether servers of an edge pool can be placed where the pool says, before anything is created
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Reads the provider's catalog (locations, server types and their architectures, where user data can be delivered)
    and says what is wrong with placing a server of O(server_type) in O(location) from a Talos image of O(arch)
    that joins by O(join).
  - A bad placement is not a failure of this module; it returns the problems in RV(placement.problems). The module
    fails only when the provider cannot be asked (credentials, connection).
  - Read-only; the C(preflight) role runs it for every pool before the first resource is created.
extends_documentation_fragment:
  - talos.autoextender.cloud
  - talos.autoextender.attributes.info_module
options:
  cluster:
    description:
      - Not used (a placement belongs to no cluster); accepted so that C(module_defaults) of the
        C(group/talos.autoextender.cloud) action group apply.
    type: str
    required: false
  location:
    description:
      - The provider location or region, for example V(hel1) on Hetzner or V(fr-par) on Linode.
    type: str
    required: true
  server_type:
    description:
      - The server type or plan, for example V(cx23) on Hetzner or V(g6-nanode-1) on Linode.
    type: str
    required: true
  arch:
    description:
      - The CPU architecture of the Talos image the servers boot.
    type: str
    choices: [amd64, arm64]
    default: amd64
  join:
    description:
      - How a new server receives its machine config (the pool's C(join)); V(user_data) needs a location that can
        deliver user data, and the lab supports only V(user_data).
    type: str
    choices: [maintenance, user_data]
    default: maintenance
  wait_timeout:
    description:
      - How many seconds the API calls may take, retries included.
    type: int
    default: 60
seealso:
  - module: talos.autoextender.cloud_server
"""

EXAMPLES = r"""
- name: Can pool hel1-a be placed?
  talos.autoextender.cloud_placement_info:
    provider: hetzner
    location: hel1
    server_type: cax11
    arch: arm64
  register: placement

- name: Stop on a bad placement
  ansible.builtin.assert:
    that: placement.placement.valid
    fail_msg: "{{ placement.placement.problems | join('; ') }}"
"""

RETURN = r"""
placement:
  description: The verdict and the choices that would work.
  returned: success
  type: dict
  contains:
    valid:
      description: Whether a server can be made with these settings.
      type: bool
      sample: false
    problems:
      description: What is wrong, one message per problem, each naming the value and the valid choices.
      type: list
      elements: str
      sample: ["Unknown Hetzner location 'mars1'; valid locations: ash, fsn1, hel1, hil, nbg1, sin"]
    locations:
      description: Every location of the provider.
      type: list
      elements: str
      sample: [fsn1, hel1, nbg1]
    server_types:
      description: The server types that can run O(arch) in O(location) (every type of O(arch) when the location is
        unknown).
      type: list
      elements: str
      sample: [cpx22, cx23]
"""

from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import (
    connection_argument_spec,
    read_with_provider,
)
from ansible_collections.talos.autoextender.plugins.module_utils._errors import redact
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from ansible_collections.talos.autoextender.plugins.module_utils._validate import (
    MAX_WAIT_TIMEOUT,
    Range,
    ValidatedModule,
)


def verdict(catalog, provider, location, server_type, arch, join):
    """The RETURN ``placement`` dict from a provider catalog (pure)."""
    problems = base.placement_problems(catalog, provider, location, server_type, arch, join)
    locations = catalog.get("locations") or {}
    types = [name for name, t in (catalog.get("server_types") or {}).items()
             if (t.get("arch") is None or arch in t["arch"])
             and (location not in locations or t.get("locations") is None or location in t["locations"])]
    return {"valid": not problems, "problems": problems, "locations": sorted(locations), "server_types": sorted(types)}


def main():
    spec = connection_argument_spec(
        location=dict(type="str", required=True),
        server_type=dict(type="str", required=True),
        arch=dict(type="str", default="amd64", choices=["amd64", "arm64"]),
        join=dict(type="str", default="maintenance", choices=["maintenance", "user_data"]),
        wait_timeout=dict(type="int", default=60),
    )
    spec["cluster"] = dict(type="str")
    module = ValidatedModule(argument_spec=spec, rules={"wait_timeout": Range(1, MAX_WAIT_TIMEOUT, "seconds")},
                             supports_check_mode=True)
    params = module.params
    provider, catalog = read_with_provider(module, lambda cloud: cloud.placement_catalog())
    placement = verdict(catalog, params["provider"], params["location"], params["server_type"], params["arch"],
                        params["join"])
    module.exit_json(changed=False, placement=redact(placement, provider.secrets()))


if __name__ == "__main__":
    main()
