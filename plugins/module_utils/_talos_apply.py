# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Apply a machine config (or patches) to one node: dry run, apply, wait until the node reports it.

``changed`` is decided by the node itself: a dry run answers "No changes."
(``apply-config``) or "Apply was skipped" (``patch machineconfig``) when the
config is already in place. The same dry run, repeated, tells when the node
reports the new config after an apply.

With ``insecure`` the node is expected in maintenance mode. A configured node
refuses the maintenance client in the TLS handshake (it wants the cluster's
client certificate), so a re-run then asks through the talosconfig instead; a
node of another cluster refuses that too, and the error says so (kind ``tls``).
Every call is asked again while the node is unreachable (rebooting), until the
task's one deadline.
"""

from __future__ import annotations

import os

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._talos_node import (
    TLS,
    UNREACHABLE,
    as_node_error,
    parse_apply_output,
    retry_unreachable,
)
from ansible_collections.talos.autoextender.plugins.module_utils._wait import wait_for

MODES = ("auto", "no-reboot", "reboot", "staged", "try")
# Modes after which the running config is the new one (staged waits for a reboot; try reverts).
WAITABLE_MODES = ("auto", "no-reboot", "reboot")


class Applier:
    """``apply-config --file`` (``config``) or ``patch machineconfig --patch`` (``patch_files``) on one node."""

    def __init__(self, cli, node, mode="auto", config=None, patch_files=(), insecure=False, deadline=None):
        self.cli = cli
        self.node = node
        self.mode = mode
        self.config = config
        self.patch_files = list(patch_files)
        self.insecure = insecure
        self.deadline = deadline
        # True once the node answered the maintenance (insecure) API, False once it refused it.
        self.in_maintenance = None

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

    def _call(self, dry_run, insecure):
        args, positional = self.argv(dry_run, insecure)
        what = "%s the config on %s" % ("dry-run" if dry_run else "apply", self.node)
        try:
            dummy, out, err = self.cli.run(args, positional=positional, connect=True, what=what)
        except AutoextenderError as e:
            raise as_node_error(e, self.node)
        return parse_apply_output(err)

    def _run(self, dry_run, insecure):
        if self.deadline is None:
            return self._call(dry_run, insecure)
        return retry_unreachable(lambda: self._call(dry_run, insecure), self.node, self.deadline)

    def dry_run(self, insecure=None):
        """The node's dry-run answer; an ``insecure`` node that refuses the maintenance client is asked again
        through the talosconfig (it is configured already)."""
        insecure = self.insecure if insecure is None else insecure
        try:
            result = self._run(True, insecure)
            if insecure:
                self.in_maintenance = True
        except AutoextenderError as e:
            if not (insecure and e.kind == TLS):
                raise
            self.in_maintenance = False
            result = self._run(True, False)
        if result["changed"] is None:
            raise AutoextenderError("Could not tell from talosctl's dry-run answer whether %s would change" % self.node,
                                    kind="parse", details={"mode_details": result["mode_details"]})
        return result

    def apply(self):
        """Send the config: over the maintenance API only while the node is in maintenance mode."""
        return self._run(False, self.insecure and self.in_maintenance is not False)

    def wait_applied(self, deadline):
        """Poll the dry run through the talosconfig (a configured node has no maintenance API) until the node
        reports no changes. An unreachable node (rebooting) is polled again, and so is a TLS refusal right after
        a maintenance-mode apply (the node still serves its self-signed maintenance certificate until it reboots).
        """
        tolerated = (UNREACHABLE, TLS) if self.insecure else (UNREACHABLE,)
        last = {}

        def probe():
            try:
                result = self._call(True, False)
            except AutoextenderError as e:
                if e.kind not in tolerated:
                    raise
                last["error"] = e
                return False, {"node": self.node, "reachable": e.kind != UNREACHABLE, "error": e.msg}
            last.pop("error", None)
            return not result["changed"], {"node": self.node, "reachable": True, "pending_diff": bool(result["diff"])}
        try:
            return wait_for(probe, deadline, "%s to report the new config" % self.node, initial=1.0, maximum=10.0)
        except AutoextenderError as e:
            if "error" in last and e.kind == "timeout":
                e.msg += "; last answer: %s" % last["error"].msg
            raise
