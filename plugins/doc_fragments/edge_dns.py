# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The options of the edge record set, shared by edge_dns and edge_dns_info (module_utils/_edge_dns_module.py)."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  name:
    description:
      - The name of the edge record set, relative to O(zone) or absolute.
    type: str
    default: edge
  nodes:
    description:
      - The edge nodes, as M(talos.autoextender.edge_pool_info) (RV(talos.autoextender.edge_pool_info#module:nodes))
        or the C(edge_nodes) inventory give them; the keys other than C(name), C(pool), C(public_ipv4) and
        C(public_ipv6) are accepted and not used.
      - Nodes of pools not in O(active_pools) are probed too, so the last healthy ones can be kept.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Node name.
        type: str
        required: true
      pool:
        description: The pool the node belongs to.
        type: str
        required: true
      public_ipv4:
        description: Public IPv4 address (goes into the A set).
        type: str
      public_ipv6:
        description: Public IPv6 address (goes into the AAAA set).
        type: str
      cluster:
        description: Part of an edge node; accepted and not used.
        type: str
      provider:
        description: Part of an edge node; accepted and not used.
        type: str
      location:
        description: Part of an edge node; accepted and not used.
        type: str
      server_type:
        description: Part of an edge node; accepted and not used.
        type: str
      status:
        description: Part of an edge node; accepted and not used.
        type: str
      server_id:
        description: Part of an edge node; accepted and not used.
        type: str
      address:
        description: Part of an edge node; accepted and not used.
        type: str
      labels:
        description: Part of an edge node; accepted and not used.
        type: dict
      talos_version:
        description: Part of an edge node; accepted and not used.
        type: str
  active_pools:
    description:
      - The pools whose healthy nodes are published.
    type: list
    elements: str
    required: true
  stage:
    description:
      - The publishing step, see the description.
    type: str
    choices: [publish, add, remove, update]
    default: publish
  record_types:
    description:
      - Which record sets to manage.
    type: list
    elements: str
    choices: [A, AAAA]
    default: [A, AAAA]
  ttl:
    description:
      - Time to live of the edge set. Short, so that a migration or failover takes effect quickly.
    type: int
    default: 60
  health:
    description:
      - Failure thresholds and hysteresis (docs/failover.md, "Thresholds"), so that one lost probe removes nothing and
        a node that fails now and then does not go in and out of DNS on every run.
      - With O(health.state), the history between runs is kept in a ConfigMap of the home cluster that every runner
        (the CronJob, AWX, a laptop) shares; without it, only the probes within one run count.
    type: dict
    default: {}
    suboptions:
      fail_after:
        description:
          - A published address leaves after this many consecutive failed probes. A failing one is probed again,
            O(health.retry_delay) apart, within the same run, so a dead node still leaves in one run.
        type: int
        default: 2
      recover_after:
        description:
          - An address that is out comes back after this many consecutive successful probes. One the edge set never
            held (a new node) is probed again within the run; one taken out for failing gets one probe per run (with
            O(health.state)), so it comes back after this many healthy runs. Until then its C(reason) is
            C(recovering).
        type: int
        default: 2
      retry_delay:
        description:
          - Seconds between two probes of the same address within a run.
        type: float
        default: 1
      flap_changes:
        description:
          - An address that went in or out of the set this many times within O(health.flap_window) is flapping; it is
            reported (a warning, C(reason) C(flapping)) and not put back until the window passes. A failing one still
            leaves. Needs O(health.state).
        type: int
        default: 4
      flap_window:
        description:
          - Seconds over which O(health.flap_changes) are counted.
        type: int
        default: 3600
      state:
        description:
          - Where the history lives. Writing it is bookkeeping, not a change of the module (it is written only when it
            differs, never in check mode, never by M(talos.autoextender.edge_dns_info)).
        type: dict
        suboptions:
          kubeconfig:
            description:
              - The home cluster's kubeconfig; in-cluster configuration (the CronJob) or C(~/.kube/config) when not
                given.
            type: path
          context:
            description:
              - The kubeconfig context.
            type: str
          namespace:
            description:
              - The namespace of the ConfigMap; it must exist (the edge ingress's, created by C(provision.yml)).
            type: str
            default: autoextender-edge
          name:
            description:
              - The ConfigMap; one data key per record name.
            type: str
            default: autoextender-edge-health
"""
