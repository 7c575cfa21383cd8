# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The health probe of edge node addresses (module_utils/_probe.py), shared by edge_dns, edge_dns_info and
cloud_floating_watch."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  probe:
    description:
      - The health probe of each address.
    type: dict
    default: {}
    suboptions:
      enabled:
        description:
          - With V(false), every address counts as healthy.
        type: bool
        default: true
      tcp_ports:
        description:
          - Ports that must accept a TCP connection.
        type: list
        elements: int
        default: [443]
      http:
        description:
          - The HTTP(S) check. Without it (V(null)), only the TCP check runs.
        type: dict
        suboptions:
          scheme:
            description: V(http) or V(https).
            type: str
            choices: [http, https]
            default: http
          port:
            description: The port, V(80) for V(http) and V(443) for V(https) when not set.
            type: int
          path:
            description: The path to get.
            type: str
            default: /
          host:
            description:
              - The C(Host) header (and the TLS server name) of the request, so the ingress routes it like
                real traffic. Default for M(talos.autoextender.edge_dns) is the record name without its final dot;
                without it, the request carries the probed address.
            type: str
          expected_status:
            description:
              - HTTP status codes that mean healthy. Empty means any status below 500 (a C(404) from the
                ingress still proves it serves).
            type: list
            elements: int
            default: []
          validate_certs:
            description:
              - Verify the TLS certificate. Off by default, because a new edge node serves a self-signed
                certificate until cert-manager has issued the real one, which needs the node in DNS first.
            type: bool
            default: false
      timeout:
        description:
          - Seconds for each connect and each HTTP exchange.
        type: float
        default: 3
"""
