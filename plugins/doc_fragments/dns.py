# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Options shared by the DNS modules (see module_utils/_dns_module.py)."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  provider:
    description:
      - The DNS backend that serves O(zone).
      - V(powerdns) is the PowerDNS Authoritative HTTP API, V(rfc2136) is dynamic DNS updates with TSIG
        (BIND, Knot, PowerDNS, ...), V(cloudflare) the Cloudflare API v4, V(hetzner) the DNS zones of the
        Hetzner Cloud API, V(linode) the Linode Domains API.
    type: str
    required: true
    choices: [cloudflare, hetzner, linode, powerdns, rfc2136]
  zone:
    description:
      - The zone (domain) that holds the records, for example V(example.org).
      - Every name must be in this zone.
    type: str
    required: true
  api_url:
    description:
      - Base URL of the HTTP API.
      - Required for V(powerdns) (its web server, for example V(http://127.0.0.1:8081)).
      - For the other HTTP providers, the default is the provider's public API; set it only for a simulator or a proxy.
      - An C(http://) or C(https://) URL with a host.
    type: str
  api_token:
    description:
      - The API key or token of the HTTP providers.
      - When not set, it is read from the environment variable of the provider
        E(PDNS_API_KEY), E(CLOUDFLARE_API_TOKEN), E(HCLOUD_TOKEN) or E(LINODE_TOKEN).
      - Never returned or logged.
    type: str
  server_id:
    description:
      - The PowerDNS server id in the API path (V(powerdns) only).
    type: str
    default: localhost
  server:
    description:
      - Address of the primary server that accepts the updates (V(rfc2136) only; required there).
        Reads are queries to this server over TCP; listing a zone is a zone transfer (AXFR) from it.
    type: str
  port:
    description:
      - DNS port of O(server) (V(rfc2136) only), from V(1) to V(65535).
    type: int
    default: 53
  tsig_key_name:
    description:
      - Name of the TSIG key that signs updates, queries and transfers (V(rfc2136) only).
      - When not set, taken from E(RFC2136_TSIG_KEY_NAME).
    type: str
  tsig_key_secret:
    description:
      - The TSIG key's secret, base64 (V(rfc2136) only). Without it, messages are not signed.
      - When not set, taken from E(RFC2136_TSIG_SECRET). Never returned or logged.
    type: str
  tsig_algorithm:
    description:
      - The TSIG key's algorithm (V(rfc2136) only).
    type: str
    default: hmac-sha256
    choices: [hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5]
requirements:
  - requests (providers V(powerdns) and V(cloudflare))
  - dnspython (provider V(rfc2136))
  - hcloud (provider V(hetzner))
  - linode_api4 (provider V(linode))
"""

    # Options of the modules that write record sets (dns_record_set, edge_dns).
    WRITE = r"""
options:
  owner:
    description:
      - The owner id written in the ownership record, normally the cluster name (C(autoextender_cluster.name)).
      - A record set is changed or deleted only when its ownership record names this owner,
        unless O(take_ownership=true).
      - 1 to 63 lower-case letters, digits, C(.), C(_) or C(-).
    type: str
    required: true
  take_ownership:
    description:
      - Take over a record set that has no ownership record (made by hand or by another tool) or that another
        owner claims. Its ownership record is rewritten for O(owner).
      - With V(false), such a set is never changed and the task fails with C(failure.kind=conflict).
    type: bool
    default: false
  min_values:
    description:
      - The fewest values a change may leave in a set that has more values now.
      - See each module for what happens when a change would drop below it.
      - V(0) or more.
    type: int
    default: 1
  wait:
    description:
      - After a change, wait until the provider reads back the new set.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds for the whole task, shared by the API retries (HTTP 429 and 5xx, honouring C(Retry-After))
        and the wait.
      - From V(0) (one attempt, no retries) to V(86400).
    type: int
    default: 120
"""
