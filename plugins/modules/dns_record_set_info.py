# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_record_set_info
short_description: Read DNS record sets and who owns them
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Reads one record set (O(name) and O(type)), the record sets of one name (O(name) only), or the whole zone,
    with the owner named in each set's ownership record (C(_autoextender.<name>), see M(talos.autoextender.dns_record_set)).
  - Never changes anything.
  - The ownership records themselves are not listed.
extends_documentation_fragment:
  - talos.autoextender.dns
options:
  name:
    description:
      - The record name, relative to O(zone), V(@) for the apex, or absolute.
      - When not set, every record set of the zone is listed (for V(rfc2136) through a zone transfer, which the
        server must allow).
    type: str
  type:
    description:
      - Only sets of this type. Without O(name), filters the zone listing.
    type: str
    choices: [A, AAAA, CNAME, TXT]
  owner:
    description:
      - Only sets whose ownership record names this owner.
    type: str
attributes:
  check_mode:
    support: full
    description:
      - The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description:
      - Nothing changes, so there is nothing to compare.
  idempotent:
    support: full
    description:
      - Reading never changes the zone.
notes:
  - Reads through the provider's API (or, for V(rfc2136), by queries to the primary server), not through a resolver.
seealso:
  - module: talos.autoextender.dns_record_set
"""

EXAMPLES = r"""
- name: Read the edge set
  talos.autoextender.dns_record_set_info:
    provider: powerdns
    api_url: http://127.0.0.1:8081
    zone: example.org
    name: edge
    type: A
  register: edge

- name: Every set the cluster owns
  talos.autoextender.dns_record_set_info:
    provider: rfc2136
    server: 192.0.2.53
    tsig_key_name: autoextender.
    zone: example.org
    owner: home
"""

RETURN = r"""
record_sets:
  description: The record sets found, sorted by name and type.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Absolute name, lower case, with a final dot.
      returned: always
      type: str
      sample: edge.example.org.
    type:
      description: The record type.
      returned: always
      type: str
      sample: A
    ttl:
      description: Time to live in seconds.
      returned: always
      type: int
      sample: 60
    rdata:
      description: The values, sorted (TXT without quotes).
      returned: always
      type: list
      elements: str
      sample: [192.0.2.10]
    owner:
      description: The owner named in the set's ownership record, V(null) when there is none.
      returned: always
      type: str
      sample: home
"""

from ansible_collections.talos.autoextender.plugins.module_utils._dns import ownership
from ansible_collections.talos.autoextender.plugins.module_utils._dns.base import RECORD_TYPES, returned
from ansible_collections.talos.autoextender.plugins.module_utils._dns_module import (
    DNS_RULES,
    dns_argument_spec,
    dns_backend,
    validate_name,
)
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline

TIMEOUT = 120


def read_sets(provider, name, rtype):
    """The sets asked for, and the claim record sets that describe their owners (by name)."""
    if name is None:
        sets = provider.list()
        claims = dict((s["name"][len(ownership.LABEL) + 1:], s) for s in sets
                      if s["type"] == "TXT" and ownership.is_registry_name(s["name"]))
        return [s for s in sets if not ownership.is_registry_name(s["name"])], claims
    absolute = validate_name(name, provider.zone, rtype or "A")
    sets = [provider.get(absolute, t) for t in ([rtype] if rtype else RECORD_TYPES)]
    return [s for s in sets if s is not None], {absolute: ownership.Registry(provider).read(absolute)}


def main():
    module = ValidatedModule(
        rules=DNS_RULES,
        argument_spec=dns_argument_spec(
            name=dict(type="str"),
            type=dict(type="str", choices=["A", "AAAA", "CNAME", "TXT"]),
            owner=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    provider = None
    try:
        provider = dns_backend(module, Deadline(TIMEOUT))
        sets, claims = read_sets(provider, p["name"], p["type"])
        out = []
        for rrset in sets:
            owners = ownership.owners_by_type(claims.get(rrset["name"])).get(rrset["type"], [])
            rrset["owner"] = owners[0] if owners else None
            if (not p["type"] or rrset["type"] == p["type"]) and (not p["owner"] or rrset["owner"] == p["owner"]):
                out.append(returned(rrset))
    except AutoextenderError as e:
        e = e.redacted(provider.secrets() if provider else [])
        module.fail_json(msg=e.msg, failure=e.failure())
    module.exit_json(changed=False, record_sets=sorted(out, key=lambda s: (s["name"], s["type"])))


if __name__ == "__main__":
    main()
