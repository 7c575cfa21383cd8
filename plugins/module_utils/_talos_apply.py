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
import re

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import PARSE, TIMEOUT
from ansible_collections.talos.autoextender.plugins.module_utils._talos_node import (
    TLS,
    TRANSIENT,
    UNREACHABLE,
    as_node_error,
    as_rejected_config,
    parse_apply_output,
    retry_unreachable,
)
from ansible_collections.talos.autoextender.plugins.module_utils._wait import wait_for

# A connection made, then dropped in the handshake (not "Error while dialing"): how a configured node often
# turns away a client without a certificate.
_DROPPED_RE = re.compile(r"^(?!.*while dialing).*(?:write: broken pipe|connection reset by peer)", re.MULTILINE)
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
            raise as_node_error(as_rejected_config(e, self.node), self.node)
        return parse_apply_output(err)

    def _run(self, dry_run, insecure):
        if self.deadline is None:
            return self._call(dry_run, insecure)
        return retry_unreachable(lambda: self._call(dry_run, insecure), self.node, self.deadline)

    def _either(self):
        """The dry run over the maintenance API, else through the talosconfig: whichever the node takes.

        A configured node drops the maintenance client in the handshake, as ``tls: certificate required`` or,
        as often, as a broken pipe (which reads as unreachable); the talosconfig then decides. Neither client
        trusted: another cluster's node (``tls``). Nothing answering: unreachable, asked again by the caller.
        """
        try:
            result = self._call(True, True)
            self.in_maintenance = True
            return result
        except AutoextenderError as e:
            if e.kind not in (TLS, UNREACHABLE):
                raise
            first = e
            dropped = e.kind == UNREACHABLE and _DROPPED_RE.search(str(e.details.get("stderr", "")))
        try:
            result = self._call(True, False)
            self.in_maintenance = False
            return result
        except AutoextenderError as e:
            if e.kind == TLS and (first.kind == TLS or dropped):
                raise
            if e.kind not in (TLS, UNREACHABLE):
                raise
            raise first if first.kind == UNREACHABLE else e if e.kind == UNREACHABLE else AutoextenderError(
                "The Talos API of %s refused both the maintenance client and the talosconfig for now: %s"
                % (self.node, e.msg), kind=UNREACHABLE, details=e.details)

    def dry_run(self, insecure=None):
        """The node's dry-run answer. With ``insecure``: over whichever API the node takes (``_either``)."""
        insecure = self.insecure if insecure is None else insecure
        if insecure and self.deadline is not None:
            result = retry_unreachable(self._either, self.node, self.deadline)
        elif insecure:
            result = self._either()
        else:
            result = self._run(True, False)
        if result["changed"] is None:
            raise AutoextenderError("Could not tell from talosctl's dry-run answer whether %s would change" % self.node,
                                    kind=PARSE, details={"mode_details": result["mode_details"]})
        return result

    def apply(self):
        """Send the config: over the maintenance API only while the node is in maintenance mode."""
        return self._run(False, self.insecure and self.in_maintenance is not False)

    def wait_applied(self, deadline):
        """Poll the dry run through the talosconfig (a configured node has no maintenance API) until the node
        reports no changes. A node that is about to reboot or unreachable (rebooting) is polled again, and so is
        a TLS refusal right after a maintenance-mode apply (the node still serves its self-signed maintenance
        certificate until it reboots).
        """
        tolerated = TRANSIENT + ((TLS,) if self.insecure else ())
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
            if "error" in last and e.kind == TIMEOUT:
                e.msg += "; last answer: %s" % last["error"].msg
            raise
