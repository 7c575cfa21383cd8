# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Options shared by the cloud modules (see module_utils/_cloud_module.py)."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  provider:
    description:
      - The cloud the resource lives in.
      - V(lab) is the local lab cloud on loopback (see C(docs/lab.md)); V(hetzner) needs the C(hcloud)
        Python library, V(linode) needs C(linode_api4).
    type: str
    required: true
    choices: [hetzner, lab, linode]
  api_token:
    description:
      - The API token of the provider.
      - When not set, the environment variable of the chosen O(provider) is used,
        E(HCLOUD_TOKEN) for V(hetzner), E(LINODE_TOKEN) for V(linode), E(LAB_CLOUD_TOKEN) for V(lab).
        For V(lab), the C(cloud.json) named by E(LAB_CLOUD_CONFIG) is read last.
      - It is never returned or printed; every string the module returns has it removed.
    type: str
  api_url:
    description:
      - The API base URL, for simulators and the lab. The provider's public API when not set.
      - When not set, the environment variable of the chosen O(provider) is used,
        E(HCLOUD_ENDPOINT) for V(hetzner), E(LINODE_API_URL) for V(linode), E(LAB_CLOUD_URL) for V(lab).
      - An C(http://) or C(https://) URL with a host; anything else fails before any call.
    type: str
  cluster:
    description:
      - The name of the home cluster the resource belongs to.
      - Every resource the module creates carries the labels C(managed-by=talos-autoextender) and
        C(autoextender-cluster=<cluster>); a resource without them is never changed or deleted.
    type: str
    required: true
requirements:
  - requests (for O(provider=lab))
  - hcloud (for O(provider=hetzner))
  - linode_api4 (for O(provider=linode))
notes:
  - Calls answered with HTTP 429 or 5xx, or lost on the way, are retried with backoff, honouring C(Retry-After),
    until the task's deadline.
  - A create or delete whose answer was lost (a dropped connection, or a 5xx although the cloud made the change)
    is never sent again blindly. After a create, the resource is looked up by name and adopted when it carries
    our labels (with a warning); only when nothing was made is the create sent again. After a delete, a resource
    that is gone counts as deleted.
"""

    WAIT = r"""
options:
  wait:
    description:
      - Wait until the resource is ready (a server running, an image available, a deletion done).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds the whole task may take, every API retry and every wait included (one deadline).
      - On timeout the module fails and still returns what exists so far.
      - From V(0) (one attempt of each call, no waiting for retries) to V(86400).
    type: int
    default: 600
"""
