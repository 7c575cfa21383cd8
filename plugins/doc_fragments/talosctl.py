# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Options shared by every module that runs talosctl (see module_utils/_talosctl.py)."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  talosctl_path:
    description:
      - Path (or name) of the C(talosctl) binary. When set, it is used whatever its version.
      - When not set, and O(talos_version) is set, the talosctl of the home cluster's Talos line is used, that is
        C(talosctl-<major>.<minor>) (for example C(talosctl-1.13)), else C(talosctl) when it is of that line; the
        module fails, naming the talosctl to install, when there is none. Without O(talos_version), C(talosctl).
      - Names are searched in E(PATH), then in E(AUTOEXTENDER_TOOLS) (default C(~/.cache/talos-autoextender/bin)).
      - The module fails clearly when C(talosctl) is older than v1.11.0.
    type: path
  talos_version:
    description:
      - The home cluster's Talos version (V(v1.13.9), V(v1.14.1)); picks the C(talosctl) of its Talos line
        when O(talosctl_path) is not set (see O(talosctl_path)).
      - A talosctl of another line is not used in its place, because it renders a different config for an older
        line (for example talosctl v1.14 with C(--talos-version v1.13) defaults to Kubernetes v1.37, which Talos 1.13
        does not run).
    type: str
  talosconfig:
    description:
      - Path of the talosconfig file holding the client credentials for the Talos API.
      - When not set, C(talosctl) uses E(TALOSCONFIG) or C(~/.talos/config).
      - Modules that work offline accept and ignore this option, so that
        C(module_defaults) for C(group/talos.autoextender.talos) can set it once.
    type: path
  nodes:
    description:
      - Nodes (addresses or names) the Talos API request is for (C(talosctl --nodes)).
      - When not set, the nodes of the talosconfig context are used.
      - Modules that work offline accept and ignore this option.
    type: list
    elements: str
  endpoints:
    description:
      - Talos API endpoints to connect through (C(talosctl --endpoints)).
      - When not set, the endpoints of the talosconfig context are used.
      - Modules that work offline accept and ignore this option.
    type: list
    elements: str
  context:
    description:
      - The talosconfig context to use (C(talosctl --context)).
      - Modules that work offline accept and ignore this option.
    type: str
requirements:
  - talosctl >= 1.11.0 on the host that runs the module
"""
