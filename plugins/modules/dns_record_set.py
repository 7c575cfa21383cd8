# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_record_set
short_description: Manage one DNS record set that the cluster owns, through any supported DNS provider
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Makes the record set O(name)/O(type) hold exactly O(values) with O(ttl), or deletes it.
  - The values are a set; their order does not matter. Where the provider can (V(powerdns), V(rfc2136), ...) the
    whole set is replaced in one atomic call, so resolvers never see a partial set.
  - "Ownership: next to the set, a TXT record at C(_autoextender.<name>) names its owner (O(owner), the cluster).
    The module writes it, and refuses to change or delete a set that has no such record or that another
    owner claims, unless O(take_ownership=true). ExternalDNS never writes records at these names."
  - Safety rules, all checked before anything is written, so bad input leaves the zone unchanged. An empty
    set is never published (use O(state=absent)). A change that leaves fewer than O(min_values) values in a set
    that has more now is refused unless O(force=true). A CNAME at the zone apex, a name outside O(zone), an invalid
    IP address and a TTL below the provider's minimum are refused.
extends_documentation_fragment:
  - talos.autoextender.dns
  - talos.autoextender.dns.write
options:
  name:
    description:
      - The record name, relative to O(zone) (V(edge)), V(@) for the apex, or absolute (V(edge.example.org.)).
    type: str
    required: true
  type:
    description:
      - The record type.
    type: str
    required: true
    choices: [A, AAAA, CNAME, TXT]
  values:
    description:
      - The values of the set (required with O(state=present), never empty).
      - V(A) and V(AAAA) take IP addresses (IPv6 is compared in its compressed form); V(CNAME) takes exactly one fully
        qualified name (a final dot is added); V(TXT) takes strings of up to 255 bytes, without quotes.
    type: list
    elements: str
  ttl:
    description:
      - Time to live, in seconds. The edge set uses a short TTL so migrations and failovers take effect quickly.
    type: int
    default: 300
  state:
    description:
      - V(present) makes the set hold O(values); V(absent) deletes the set and its ownership record.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Allow a change that leaves fewer than O(min_values) values in the set.
      - Does not allow an empty set, nor touching a set owned by someone else.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description:
      - Reads the zone and reports the set as it would be, with the same C(changed) and the same refusals as a real run.
  diff_mode:
    support: full
    description:
      - The set before and after (name, type, TTL, values and owner).
  idempotent:
    support: full
    description:
      - A set that already holds O(values) with O(ttl) and is owned by O(owner) is left unchanged.
notes:
  - Set O(owner), the provider and its credentials once for the play with C(module_defaults) and
    C(group/talos.autoextender.dns).
seealso:
  - module: talos.autoextender.dns_record_set_info
  - module: talos.autoextender.edge_dns
"""

EXAMPLES = r"""
- name: Publish the edge set (PowerDNS)
  talos.autoextender.dns_record_set:
    provider: powerdns
    api_url: http://127.0.0.1:8081
    zone: example.org
    name: edge
    type: A
    values: [192.0.2.10, 198.51.100.7]
    ttl: 60
    owner: home

- name: Same through RFC 2136 with a TSIG key (secret from RFC2136_TSIG_SECRET)
  talos.autoextender.dns_record_set:
    provider: rfc2136
    server: 192.0.2.53
    tsig_key_name: autoextender.
    zone: example.org
    name: edge
    type: A
    values: [192.0.2.10]
    ttl: 60
    owner: home
    min_values: 1

- name: Take over a record made by hand
  talos.autoextender.dns_record_set:
    provider: cloudflare
    zone: example.org
    name: "@"
    type: A
    values: [192.0.2.10]
    owner: home
    take_ownership: true

- name: Delete it (and its ownership record)
  talos.autoextender.dns_record_set:
    provider: cloudflare
    zone: example.org
    name: "@"
    type: A
    owner: home
    state: absent
"""

RETURN = r"""
record_set:
  description: The record set after the task (as it would be, in check mode); empty after a deletion.
  returned: success
  type: dict
  contains:
    name:
      description: Absolute name, lower case, with a final dot.
      returned: success
      type: str
      sample: edge.example.org.
    type:
      description: The record type.
      returned: success
      type: str
      sample: A
    ttl:
      description: Time to live in seconds.
      returned: success
      type: int
      sample: 60
    rdata:
      description:
        - The values, sorted (the option O(values); returned as C(rdata) because C(values) would be the dict method
          in a Jinja expression).
      returned: success
      type: list
      elements: str
      sample: [192.0.2.10, 198.51.100.7]
    owner:
      description: The owner named in the ownership record (V(null) when there is none).
      returned: success
      type: str
      sample: home
"""

from ansible_collections.talos.autoextender.plugins.module_utils._dns.base import returned
from ansible_collections.talos.autoextender.plugins.module_utils._dns_module import (
    DnsResource,
    shrink_refused,
    validate,
    WRITE_RULES,
    write_argument_spec,
)
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import MIN_VALUES
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule


class DnsRecordSet(DnsResource):
    """Identity: name + type; mutable: ttl, values (a set), owner (the ownership record)."""

    return_key = "record_set"
    unordered = ("values",)
    target = None  # (absolute name, canonical values)

    def fetch(self):
        self.connect()
        p = self.params
        self.target = validate(self.provider, p["name"], p["type"], p["values"], p["ttl"], p["state"])
        return self.manager.read(self.target[0], p["type"], for_write=p["state"] == "present")

    def desired(self):
        return {"name": self.target[0], "type": self.params["type"], "ttl": self.params["ttl"],
                "values": self.target[1], "owner": self.params["owner"]}

    def compare(self, current, desired):
        p = self.params
        if not p["force"] and shrink_refused(current["values"], desired["values"], p["min_values"]):
            raise AutoextenderError(
                "Refusing to shrink %s %s from %d to %d values: below min_values=%d (set force=true to allow it)"
                % (desired["name"], desired["type"], len(current["values"]), len(desired["values"]), p["min_values"]),
                kind=MIN_VALUES, details={"current": current["values"], "wanted": desired["values"]})
        return super().compare(current, desired)

    def create(self, desired):
        return self.manager.write(desired["name"], desired["type"], desired["ttl"], desired["values"])

    def update(self, current, changes):
        after = self.predict_update(current, changes)
        return self.manager.write(after["name"], after["type"], after["ttl"], after["values"], current)

    def delete(self, current):
        self.manager.remove(current["name"], current["type"])

    def wait(self, state, deadline):
        return self.manager.wait_visible(state, self.deadline)

    def output(self, state):
        return returned(state)


def main():
    module = ValidatedModule(
        rules=WRITE_RULES,
        argument_spec=write_argument_spec(
            name=dict(type="str", required=True),
            type=dict(type="str", required=True, choices=["A", "AAAA", "CNAME", "TXT"]),
            values=dict(type="list", elements="str"),
            ttl=dict(type="int", default=300),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            force=dict(type="bool", default=False),
        ),
        required_if=[("state", "present", ("values",))],
        supports_check_mode=True,
    )
    DnsRecordSet(module).run()


if __name__ == "__main__":
    main()
