# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: expose_entries
short_description: The entries of autoextender_expose with their defaults and names
version_added: 0.3.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Fills in the defaults of each entry (C(protocol=http), C(tls=true)), lowercases the host and drops a trailing dot,
    and names the entry C(edge-<host with dots as dashes>) (shortened with a hash past 63 characters, as it is a label
    value). C(entrypoint) is C(<protocol>-<edge_port>), the Traefik entry point of a tcp/udp entry.
  - A pure function; used by the C(talos.autoextender.expose) role.
options:
  _input:
    description: The entries (C(autoextender_expose)).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Name the entries
  ansible.builtin.set_fact:
    entries: "{{ autoextender_expose | talos.autoextender.expose_entries }}"
# [{host: app.example.com, name: edge-app-example-com, protocol: http, tls: true, entrypoint: http-, ...}]
"""

RETURN = r"""
_value:
  description: The entries, each with C(host), C(name), C(protocol), C(tls) and C(entrypoint) set.
  type: list
  elements: dict
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _expose


class FilterModule:
    def filters(self):
        return {"expose_entries": _expose.entries}
