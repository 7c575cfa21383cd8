# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The rescue runner: writes a Talos disk image from a Hetzner rescue system.

Hetzner has no image upload API, so the Talos snapshot is made on a
temporary server booted into the rescue system (see ``hetzner.py``). The one
step that needs a shell there is done by a *rescue runner*, an object with:

``prepare(workdir)``
    create what the runner needs to log in (a key pair) in the private
    ``workdir``; return the OpenSSH public key to register through the API.
``write_image(host, source_url, deadline)``
    download ``source_url`` (an ``.raw.xz`` image) on ``host`` and write it
    to the server's disk; raise ``AutoextenderError`` on failure.

``SshRunner`` (the default) uses the system ``ssh`` client with a fresh
ed25519 key, run through the module's ``run_command`` (``module_run``; module
code runs commands no other way). The rescue system has a new host key on every boot and the API
does not publish it, so the first key seen is trusted (``accept-new``) and
kept in a known_hosts file inside ``workdir`` only: it never touches the
user's ``~/.ssh/known_hosts`` and is deleted with the work directory.
"""

from __future__ import annotations

import math
import os
import shlex
import subprocess
import time

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import (
    COMMAND, INTERNAL, MISSING_TOOL, TIMEOUT,
)
from ansible_collections.talos.autoextender.plugins.module_utils._wait import backoff_delays

#: exit status of ``ssh`` itself (connection refused, auth failed...) as opposed to the remote command's
SSH_ERROR = 255


def write_script(source_url, device, tmpfile="/tmp/talos.raw.xz"):
    """The POSIX shell script run on the rescue system (no pipes, so every failure stops it)."""
    url, dev, tmp = shlex.quote(source_url), shlex.quote(device), shlex.quote(tmpfile)
    return ("set -eu; "
            "curl -fsSL --retry 3 --connect-timeout 20 -o %(tmp)s -- %(url)s; "
            "xz -t -- %(tmp)s; "
            "xz -dc -- %(tmp)s > %(dev)s; "
            "sync; rm -f -- %(tmp)s" % {"url": url, "dev": dev, "tmp": tmp})


class SshRunner(object):
    """Run the write step over SSH with a temporary ed25519 key.

    ``user``/``port``: the rescue system's login (root, 22); ``device``: the
    disk to write (``/dev/sda`` on Hetzner Cloud); ``ssh``/``ssh_keygen``:
    the client binaries.
    """

    def __init__(self, user="root", port=22, device="/dev/sda", ssh="ssh", ssh_keygen="ssh-keygen",
                 connect_timeout=10, run=None, sleep=time.sleep):
        self.user = user
        self.port = int(port)
        self.device = device
        self.ssh = ssh
        self.ssh_keygen = ssh_keygen
        self.connect_timeout = int(connect_timeout)
        self._run = run
        self._sleep = sleep
        self.workdir = None
        self.commands = []

    def prepare(self, workdir):
        self.workdir = workdir
        key = os.path.join(workdir, "id_ed25519")
        self._exec([self.ssh_keygen, "-q", "-t", "ed25519", "-N", "", "-C", "talos-autoextender-rescue", "-f", key],
                   "create a temporary SSH key", timeout=30)
        with open(key + ".pub") as handle:
            return handle.read().strip()

    def argv(self, host, command):
        """The exact ``ssh`` argv for ``command`` on ``host``."""
        return [self.ssh, "-i", os.path.join(self.workdir, "id_ed25519"), "-p", str(self.port), "-l", self.user,
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                "-o", "StrictHostKeyChecking=accept-new",
                "-o", "UserKnownHostsFile=" + os.path.join(self.workdir, "known_hosts"),
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=%d" % self.connect_timeout,
                "-o", "ServerAliveInterval=15", "-o", "LogLevel=ERROR", "-F", "/dev/null",
                "--", host, command]

    def write_image(self, host, source_url, deadline):
        self._wait_for_ssh(host, deadline)
        script = write_script(source_url, self.device)
        self._exec(self.argv(host, "sh -c " + shlex.quote(script)),
                   "write the Talos image on the rescue system %s" % host, timeout=deadline.remaining())

    def _wait_for_ssh(self, host, deadline):
        """The rescue system takes a while to accept logins: retry until it does or the deadline passes."""
        delays = backoff_delays(initial=1.0, maximum=10.0)
        while True:
            result = self._exec(self.argv(host, "true"), "log in to the rescue system %s" % host,
                                timeout=min(deadline.remaining(), self.connect_timeout + 20), check=False)
            if result.returncode == 0:
                return
            delay = next(delays)
            if result.returncode != SSH_ERROR or delay >= deadline.remaining():
                raise AutoextenderError(
                    "Failed to log in to the rescue system %s: %s" % (host, _tail(result.stderr)),
                    kind=COMMAND, details={"cmd": result.args, "rc": result.returncode, "stderr": _tail(result.stderr)})
            self._sleep(delay)

    def _exec(self, argv, what, timeout, check=True):
        self.commands.append(list(argv))
        if timeout is not None and timeout <= 0:
            raise AutoextenderError("Failed to %s: the deadline passed" % what, kind=TIMEOUT, details={"cmd": argv})
        if self._run is None:
            raise AutoextenderError("The rescue runner runs ssh through a module or a run callable; it was given neither",
                                    kind=INTERNAL, details={"cmd": argv})
        try:
            result = self._run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        except OSError as exc:
            raise AutoextenderError("Failed to %s: %s" % (what, exc), kind=MISSING_TOOL, details={"cmd": argv})
        except subprocess.TimeoutExpired:
            raise AutoextenderError("Failed to %s: timed out after %.0fs" % (what, timeout), kind=TIMEOUT,
                                    details={"cmd": argv})
        if check and result.returncode != 0:
            raise AutoextenderError("Failed to %s: %s" % (what, _tail(result.stderr) or "exit status %d" % result.returncode),
                                    kind=COMMAND,
                                    details={"cmd": argv, "rc": result.returncode, "stdout": _tail(result.stdout),
                                             "stderr": _tail(result.stderr)})
        return result


def _tail(text, limit=2000):
    text = (text or "").strip()
    return text[-limit:]


def module_run(module):
    """A ``subprocess.run`` stand-in over ``module.run_command`` for ``SshRunner``.

    run_command has no timeout: coreutils' ``timeout`` enforces it (exit status
    124 means it fired), and ``subprocess.TimeoutExpired`` is raised as
    subprocess.run would. argv is never expanded (``~``, ``$VAR``).
    """
    def run(argv, capture_output=True, text=True, timeout=None, check=False):
        cmd = list(argv)
        if timeout is not None:
            cmd = ["timeout", "--kill-after=5", str(max(1, int(math.ceil(timeout))))] + cmd
        rc, out, err = module.run_command(cmd, check_rc=False, expand_user_and_vars=False, handle_exceptions=False)
        if timeout is not None and rc == 124:
            raise subprocess.TimeoutExpired(list(argv), timeout, output=out, stderr=err)
        return subprocess.CompletedProcess(list(argv), rc, out, err)
    return run


def runner_from_options(options):
    """``options["rescue_runner"]`` (an object) or an ``SshRunner`` built from ``options["rescue"]`` (a dict),
    running its commands through ``options["module"]`` unless the dict names its own ``run``."""
    if options.get("rescue_runner") is not None:
        return options["rescue_runner"]
    settings = dict(options.get("rescue") or {})
    if settings.get("run") is None and options.get("module") is not None:
        settings["run"] = module_run(options["module"])
    return SshRunner(**settings)
