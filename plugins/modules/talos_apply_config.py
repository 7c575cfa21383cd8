# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: talos_apply_config
short_description: Apply a machine config or config patches to a Talos node
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Applies a whole machine config (O(config), C(talosctl apply-config)) or patches to the node's current config
    (O(patches), C(talosctl patch machineconfig)) to one node; O(nodes) must name exactly one.
  - Always asks the node first with C(--dry-run). The node's answer decides whether anything changes;
    C(No changes.) (or, for patches, C(Apply was skipped)) means the config is already in place.
  - With O(insecure=true) the config goes to a node in maintenance mode (not configured yet) over the
    unauthenticated maintenance API, the way a new cloud VM receives its config without user data.
    A node that is configured already refuses the maintenance client in the TLS handshake; the module then asks
    it through the talosconfig, so a re-run reports no change.
  - With O(wait=true) the module then repeats the dry run through the talosconfig until the node reports the new
    config (a rebooting node is polled again), for O(mode) V(auto), V(no-reboot) and V(reboot).
extends_documentation_fragment:
  - talos.autoextender.talosctl
options:
  config:
    description: Path of the machine config to apply (for example from M(talos.autoextender.talos_machine_config)).
    type: path
  patches:
    description:
      - Patches to apply to the node's current config. A mapping is a strategic-merge patch, a list a JSON 6902
        patch, a string C(@path) of a patch file or the YAML text of a patch.
      - Exactly one of O(config) and O(patches) is required.
    type: list
    elements: raw
  insecure:
    description:
      - Use the maintenance API (C(--insecure)) of a node that has no config yet. Only with O(config).
      - Waiting afterwards uses the talosconfig, since the configured node no longer serves the maintenance API.
    type: bool
    default: false
  mode:
    description:
      - How the node applies the config. V(auto) lets the node decide whether it needs a reboot.
      - V(staged) applies at the next reboot and V(try) reverts after a timeout; the module does not wait for either.
    type: str
    choices: [auto, no-reboot, reboot, staged, try]
    default: auto
  wait:
    description: Wait until the node reports the new config.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait, in total, for everything the task waits for; a node that does not answer
        (rebooting, so connection refused or unavailable) is asked again until then.
    type: int
    default: 600
attributes:
  check_mode:
    support: full
    description: Runs only the dry run (C(--dry-run)) on the node; reports its answer as the diff.
  diff_mode:
    support: full
    description: The node's config diff, with secret values replaced by C(********).
  idempotent:
    support: full
    description: The node's dry run decides whether anything changes.
notes:
  - The node must be reachable on TCP 50000 from the host that runs the module. A node still unreachable after
    O(wait_timeout) fails with C(failure.kind=unreachable), and the cmd, rc and stderr of C(talosctl).
  - A node that does not trust the talosconfig (another cluster's talosconfig; or a node in maintenance mode
    asked without O(insecure)) fails the TLS handshake; that fails at once with C(failure.kind=tls) and a
    one-line message, since asking again cannot help.
seealso:
  - module: talos.autoextender.talos_machine_config
  - name: talosctl apply-config
    description: The reference of the command this module wraps.
    link: https://www.talos.dev/latest/reference/cli/#talosctl-apply-config
"""

EXAMPLES = r"""
- name: Send the join config to a new VM in maintenance mode
  talos.autoextender.talos_apply_config:
    nodes: [203.0.113.7]
    endpoints: [203.0.113.7]
    talosconfig: "{{ work_dir }}/talosconfig"
    config: "{{ work_dir }}/hel1-a-1.yaml"
    insecure: true

- name: Turn on KubeSpan on a home node (Talos 1.13 layout)
  talos.autoextender.talos_apply_config:
    nodes: [192.168.1.10]
    patches:
      - apiVersion: v1alpha1
        kind: KubeSpanConfig
        enabled: true
"""

RETURN = r"""
talos_apply_config:
  description: What the node answered.
  returned: success
  type: dict
  contains:
    node:
      description: The node.
      type: str
      returned: success
      sample: 203.0.113.7
    mode:
      description: O(mode).
      type: str
      returned: success
      sample: auto
    applied:
      description: Whether the config was sent (false when nothing changes, and in check mode).
      type: bool
      returned: success
    mode_details:
      description: The node's answer, for example C(Applied configuration without a reboot).
      type: str
      returned: success
      sample: Applied configuration without a reboot
    reboot:
      description: Whether the node reboots to apply the config.
      type: bool
      returned: success
    warnings:
      description: Warnings the node returned about the config.
      type: list
      elements: str
      returned: success
    maintenance:
      description: Whether the node answered the maintenance API (O(insecure=true) and not configured yet).
      type: bool
      returned: success
failure:
  description:
    - Why the task failed; C(kind) is V(unreachable), V(tls), V(invalid_config) (the node rejected the config; the
      message names the fields, from the node's validation), V(timeout), V(command), V(parse) or V(validation).
  returned: failure
  type: dict
  sample: {"kind": "tls", "node": "203.0.113.7", "rc": 1, "cmd": ["talosctl", "apply-config", "..."]}
"""

import shutil
import tempfile

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._resource import Resource
from ansible_collections.talos.autoextender.plugins.module_utils._talos_apply import WAITABLE_MODES, MODES, Applier
from ansible_collections.talos.autoextender.plugins.module_utils._talos_config import CollectedSecrets, parse_config
from ansible_collections.talos.autoextender.plugins.module_utils._talos_machine_config import load_user_patch
from ansible_collections.talos.autoextender.plugins.module_utils._talos_node import redact_diff
from ansible_collections.talos.autoextender.plugins.module_utils._talos_secrets import read_file, secret_values
from ansible_collections.talos.autoextender.plugins.module_utils._talosctl import TalosCLI, talosctl_argument_spec
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline


class AppliedConfig(CollectedSecrets, Resource):
    """The config running on one node; the node's dry run is the comparison."""

    return_key = "talos_apply_config"
    runner = None  # unit tests inject a fake talosctl runner

    def node(self):
        nodes = self.params.get("nodes") or []
        if len(nodes) != 1:
            raise AutoextenderError("nodes must name exactly one node, got %d" % len(nodes), kind=VALIDATION)
        return nodes[0]

    def applier(self, workdir, deadline):
        p = self.params
        if p["insecure"] and not p["config"]:
            raise AutoextenderError("insecure=true needs config: patches need the node's authenticated API",
                                    kind=VALIDATION)
        patch_files = []
        if p["config"]:
            text = read_file(p["config"], "machine config").decode("utf-8", errors="replace")
            self.secrets().extend(secret_values(parse_config(text, "config %s" % p["config"])))
        for i, item in enumerate(p["patches"] or []):
            dummy, text, dummy_label = load_user_patch(item, i)
            path = "%s/patch-%d.yaml" % (workdir, i + 1)
            with open(path, "w") as f:
                f.write(text)
            patch_files.append(path)
        cli = TalosCLI.from_module(self.module, secrets=self.secrets(), runner=self.runner)
        return Applier(cli, self.node(), p["mode"], p["config"], patch_files, p["insecure"], deadline)

    def ensure(self):
        p = self.params
        workdir = tempfile.mkdtemp(prefix="talos-apply-")
        deadline = Deadline(p["wait_timeout"])
        try:
            applier = self.applier(workdir, deadline)
            dry = applier.dry_run()
            self._diff = redact_diff(dry["diff"], self.secrets())
            # A node's mode details can carry the config diff (Talos 1.13: why a change needs a reboot).
            state = {"node": applier.node, "mode": p["mode"], "applied": False,
                     "mode_details": redact_diff(dry["mode_details"], self.secrets()),
                     "reboot": "with a reboot" in dry["mode_details"], "warnings": dry["warnings"],
                     "maintenance": bool(applier.in_maintenance)}
            if not dry["changed"] or self.check_mode:
                return dry["changed"], state
            done = applier.apply()
            state.update(applied=True, mode_details=redact_diff(done["mode_details"], self.secrets()),
                         warnings=done["warnings"],
                         reboot="with a reboot" in done["mode_details"])
            if p["wait"] and p["mode"] in WAITABLE_MODES:
                try:
                    applier.wait_applied(deadline)
                except AutoextenderError as e:
                    e.partial = state
                    raise
            return True, state
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def run(self):
        self._diff = ""
        try:
            changed, state = self.ensure()
        except AutoextenderError as e:
            e = e.redacted(self.secrets())
            result = {"msg": e.msg, "failure": e.failure()}
            if e.partial is not None:
                result[self.return_key] = e.partial
            self.module.fail_json(**result)
            return
        result = {"changed": changed, self.return_key: self.redacted(state)}
        if self.diff_mode:
            result["diff"] = {"prepared": self._diff}
        self.module.exit_json(**result)


def main():
    module = ValidatedModule(
        argument_spec=talosctl_argument_spec(
            config=dict(type="path"),
            patches=dict(type="list", elements="raw"),
            insecure=dict(type="bool", default=False),
            mode=dict(type="str", choices=list(MODES), default="auto"),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=600),
        ),
        mutually_exclusive=[("config", "patches")],
        required_one_of=[("config", "patches")],
        required_if=[("insecure", True, ("config",))],
        supports_check_mode=True,
    )
    AppliedConfig(module).run()


if __name__ == "__main__":
    main()
