# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Apply a machine config (or patches) to one node: dry run, apply, wait until the node reports it.

``changed`` is decided by the node itself: a dry run answers "No changes."
(``apply-config``) or "Apply was skipped" (``patch machineconfig``) when the
config is already in place. The same dry run, repeated, tells when the node
reports the new config after an apply.
"""

from __future__ import annotations

import os

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._talos_node import (
    as_unreachable,
    is_unreachable,
    parse_apply_output,
)
from ansible_collections.talos.autoextender.plugins.module_utils._wait import wait_for

MODES = ("auto", "no-reboot", "reboot", "staged", "try")
# Modes after which the running config is the new one (staged waits for a reboot; try reverts).
WAITABLE_MODES = ("auto", "no-reboot", "reboot")


class Applier:
    """``apply-config --file`` (``config``) or ``patch machineconfig --patch`` (``patch_files``) on one node."""

    def __init__(self, cli, node, mode="auto", config=None, patch_files=(), insecure=False):
        self.cli = cli
        self.node = node
        self.mode = mode
        self.config = config
        self.patch_files = list(patch_files)
        self.insecure = insecure

    def argv(self, dry_run, insecure=None):
        """``(args, positional)`` for TalosCLI.run."""
        insecure = self.insecure if insecure is None else insecure
        if self.config:
            args = ["apply-config", "--file=%s" % os.path.abspath(self.config), "--mode=%s" % self.mode]
            if insecure:
                args.append("--insecure")
            positional = []
        else:
            args = ["patch"] + ["--patch=@%s" % p for p in self.patch_files] + ["--mode=%s" % self.mode]
            positional = ["machineconfig"]
        if dry_run:
            args.append("--dry-run")
        return args, positional

    def _run(self, dry_run, insecure=None):
        args, positional = self.argv(dry_run, insecure)
        what = "%s the config on %s" % ("dry-run" if dry_run else "apply", self.node)
        try:
            dummy, out, err = self.cli.run(args, positional=positional, connect=True, what=what)
        except AutoextenderError as e:
            raise as_unreachable(e, self.node)
        return parse_apply_output(err)

    def dry_run(self, insecure=None):
        result = self._run(True, insecure)
        if result["changed"] is None:
            raise AutoextenderError("Could not tell from talosctl's dry-run answer whether %s would change" % self.node,
                                    kind="parse", details={"mode_details": result["mode_details"]})
        return result

    def apply(self):
        return self._run(False)

    def wait_applied(self, deadline):
        """Poll the dry run (through the talosconfig, a node out of maintenance mode has no insecure API)
        until the node reports no changes; an unreachable node (rebooting) is polled again."""
        def probe():
            try:
                result = self.dry_run(insecure=False)
            except AutoextenderError as e:
                if is_unreachable(e):
                    return False, {"node": self.node, "reachable": False}
                raise
            return not result["changed"], {"node": self.node, "reachable": True, "pending_diff": bool(result["diff"])}
        return wait_for(probe, deadline, "%s to report the new config" % self.node, initial=2.0, maximum=15.0)
