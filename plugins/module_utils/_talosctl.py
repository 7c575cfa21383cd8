# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The one wrapper around the ``talosctl`` binary.

* The binary comes from the ``talosctl_path`` option; else, when the home
  cluster's ``talos_version`` is known, the talosctl of its Talos line
  (``select_talosctl``: ``talosctl-<major>.<minor>``, or ``talosctl`` when it
  is of that line); else ``talosctl``. Names are searched in ``PATH``, then
  ``$AUTOEXTENDER_TOOLS`` (default ``~/.cache/talos-autoextender/bin``).
* ``talosctl version --client --short`` gates every use: below
  ``MINIMUM_VERSION`` the caller gets a clear ``unsupported_version`` error.
* Commands are argv lists, never shell strings. Flag values carrying user
  input are passed as ``--flag=value`` and positional user values after
  ``--``, so nothing a user writes can turn into a flag.
* Failures raise ``AutoextenderError(kind=COMMAND)`` with cmd, rc, stdout
  and stderr, known secrets redacted. A command marked ``sensitive`` has its
  whole output withheld: ``talosctl gen secrets --from-controlplane-config``
  echoes parts of the config (secrets included) on a parse error.
* Commands run through an injectable ``runner(argv, cwd=None, data=None)``
  returning ``(rc, stdout, stderr)``: ``AnsibleModule.run_command`` when a
  module is given (module code runs commands no other way), else the caller's.
  Unit tests pass a fake runner and check the exact argv.
"""

from __future__ import annotations

import json
import os
import re
import shutil

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

from ansible_collections.talos.autoextender.plugins.module_utils._errors import (
    AutoextenderError,
    redact,
)
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import (
    COMMAND, INTERNAL, MISSING_LIBRARY, MISSING_TOOL, PARSE, UNSUPPORTED_VERSION, VALIDATION,
)

MINIMUM_VERSION = "1.11.0"
DEFAULT_TOOLS_DIR = "~/.cache/talos-autoextender/bin"
WITHHELD = "[withheld: this talosctl command may print secrets]"

# Options shared by every Talos module (documented in the talosctl doc fragment).
# Offline modules accept the connection options too, so that
# ``module_defaults: group/talos.autoextender.talos`` works for every module.
TALOSCTL_ARGUMENT_SPEC = dict(
    talosctl_path=dict(type="path"),
    talosconfig=dict(type="path"),
    nodes=dict(type="list", elements="str"),
    endpoints=dict(type="list", elements="str"),
    context=dict(type="str"),
    talos_version=dict(type="str"),
)

_VERSION_RE = re.compile(r"(?:Talos|Tag:)\s+v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.\-]+))?")
_LINE_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:-[0-9A-Za-z.\-]+)?$")
# What `make tools` builds in the collection's checkout, named in the "install" hints.
MAKE_TOOLS_BUILDS = ("v1.14.1", "v1.13.9")
NO_TALOS_VERSION = "talos_version is not set: the talosctl found first"


def talosctl_argument_spec(**extra):
    """A copy of the shared options, plus the module's own ``extra`` options."""
    spec = dict((k, dict(v)) for k, v in TALOSCTL_ARGUMENT_SPEC.items())
    spec.update(extra)
    return spec


def parse_version(text):
    """``"v1.13.9"`` from the output of ``talosctl version --client [--short]``, or None."""
    m = _VERSION_RE.search(text or "")
    if not m:
        return None
    return "v%s.%s.%s%s" % (m.group(1), m.group(2), m.group(3), "-" + m.group(4) if m.group(4) else "")


def version_key(version):
    """A sortable key for ``v1.2.3[-pre]``: a pre-release sorts before its release."""
    m = re.match(r"^v?(\d+)\.(\d+)\.(\d+)(-.+)?$", (version or "").strip())
    if not m:
        raise ValueError("not a Talos version: %r" % (version,))
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), 0 if m.group(4) else 1)


def talos_line(version):
    """``(major, minor)`` of ``v1.13.9``/``1.13``/``v1.14.0-rc.1``, or None when it is not a Talos version."""
    m = _LINE_RE.match((version or "").strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def find_talosctl(explicit=None, environ=None):
    """The absolute path of ``talosctl_path`` (a path or a name), else of ``talosctl``; no version read.

    A ``missing_tool`` error names what was searched and how to get talosctl.
    """
    search = tool_search_path(environ)
    if explicit:
        path = explicit
        if os.sep not in path:
            path = shutil.which(path, path=search)
        elif not (os.path.isfile(path) and os.access(path, os.X_OK)):
            path = None
        if not path:
            raise AutoextenderError(
                "talosctl_path %s is not an executable file" % explicit,
                kind=MISSING_TOOL, details={"tool": "talosctl", "talosctl_path": explicit})
        return os.path.abspath(path)
    path = shutil.which("talosctl", path=search)
    if not path:
        raise AutoextenderError(
            "talosctl was not found in PATH or $AUTOEXTENDER_TOOLS; install talosctl %s or newer "
            "or set talosctl_path" % MINIMUM_VERSION,
            kind=MISSING_TOOL, details={"tool": "talosctl", "searched": search.split(os.pathsep)})
    return os.path.abspath(path)


def read_client_version(path, runner=None):
    """The version ``talosctl version --client --short`` of the binary at ``path`` prints (``v1.14.1``)."""
    return TalosCLI(talosctl_path=path, runner=runner).client_version()


def select_talosctl(talos_version=None, explicit=None, environ=None, runner=None):
    """``(path, version, why)`` of the talosctl for a home cluster on ``talos_version``.

    In order: ``explicit`` (the ``talosctl_path`` option) wins; else, with no
    ``talos_version``, ``talosctl``; else ``talosctl-<major>.<minor>`` (it must
    be of that line); else ``talosctl`` when it is of that line. A talosctl of
    another line is refused: talosctl v1.14 with ``--talos-version v1.13``
    renders a different 1.13 config than talosctl v1.13 (Kubernetes v1.37 by
    default, which Talos 1.13 does not support; see docs/talos.md), so the
    error names the talosctl to install instead.
    """
    if explicit:
        path = find_talosctl(explicit, environ)
        version = read_client_version(path, runner)
        why = "talosctl_path is set"
        if talos_line(talos_version) and talos_line(version) != talos_line(talos_version):
            why += " (it is of another Talos line than the home cluster's %s)" % talos_version
        return path, version, why
    if not talos_version:
        path = find_talosctl(None, environ)
        return path, read_client_version(path, runner), NO_TALOS_VERSION
    line = talos_line(talos_version)
    if line is None:
        raise AutoextenderError("talos_version %r is not a Talos version like v1.14.1" % (talos_version,),
                                kind=VALIDATION, details={"talos_version": talos_version})
    search = tool_search_path(environ)
    name = "talosctl-%d.%d" % line
    path = shutil.which(name, path=search)
    if path:
        path = os.path.abspath(path)
        version = read_client_version(path, runner)
        if talos_line(version) != line:
            raise AutoextenderError(
                "%s at %s is talosctl %s, not of the Talos v%d.%d line its name promises: replace it with "
                "talosctl v%d.%d.x" % ((name, path, version) + line + line), kind=UNSUPPORTED_VERSION,
                details={"path": path, "version": version, "talos_version": talos_version})
        return path, version, "%s is of the home cluster's Talos line (talos_version %s)" % (name, talos_version)
    found = shutil.which("talosctl", path=search)
    if found:
        found = os.path.abspath(found)
        version = read_client_version(found, runner)
        if talos_line(version) == line:
            return found, version, ("talosctl is of the home cluster's Talos line (talos_version %s); no %s found"
                                    % (talos_version, name))
    if found:
        problem = "talosctl at %s is %s, of another line" % (found, version)
    else:
        problem = "neither %s nor talosctl is in PATH or $AUTOEXTENDER_TOOLS" % name
    built = [v for v in MAKE_TOOLS_BUILDS if talos_line(v) == line]
    install = ("install talosctl v%d.%d.x as %s (or as talosctl) in PATH or $AUTOEXTENDER_TOOLS%s, or set "
               "talosctl_path" % (line[0], line[1], name, " (`make tools` builds %s)" % built[0] if built else ""))
    raise AutoextenderError(
        "No talosctl of the Talos v%d.%d line for talos_version %s: %s. %s"
        % (line[0], line[1], talos_version, problem, install[0].upper() + install[1:]),
        kind=MISSING_TOOL,
        details={"tool": name, "talos_version": talos_version, "searched": search.split(os.pathsep),
                 "found": {"path": found, "version": version} if found else None, "install": install})


def parse_json_stream(text):
    """Parse concatenated JSON values (what ``talosctl get -o json`` prints) into a list.

    talosctl writes one indented object per resource, not an array; an array
    (or a single object) is accepted as well.
    """
    decoder = json.JSONDecoder()
    items = []
    pos = 0
    text = text or ""
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return items
        value, pos = decoder.raw_decode(text, pos)
        items.append(value)


def parse_yaml_stream(text):
    """Parse a multi-document YAML stream into a list, dropping empty documents."""
    if yaml is None:
        raise AutoextenderError("PyYAML is required to parse talosctl output", kind=MISSING_LIBRARY)
    return [doc for doc in yaml.safe_load_all(text or "") if doc is not None]


def tool_search_path(environ=None):
    """PATH, then ``$AUTOEXTENDER_TOOLS`` (default ``~/.cache/talos-autoextender/bin``)."""
    environ = os.environ if environ is None else environ
    tools = environ.get("AUTOEXTENDER_TOOLS") or os.path.expanduser(DEFAULT_TOOLS_DIR)
    return os.pathsep.join(p for p in (environ.get("PATH", ""), tools) if p)


def module_runner(module):
    """A runner over ``AnsibleModule.run_command`` that never expands ``~``/``$VAR`` in argv."""
    def run(argv, cwd=None, data=None):
        return module.run_command(argv, cwd=cwd, data=data, check_rc=False, binary_data=True,
                                  errors="surrogate_or_replace", expand_user_and_vars=False,
                                  handle_exceptions=False)
    return run


class TalosCLI:
    """talosctl for one task: find it, check its version, run it, parse its output.

    ``secrets`` is a list of strings removed from every error; the caller may
    keep appending to the same list as it learns more secrets.
    """

    def __init__(self, talosctl_path=None, talosconfig=None, nodes=None, endpoints=None, context=None,
                 secrets=None, module=None, runner=None, environ=None, minimum_version=MINIMUM_VERSION,
                 talos_version=None):
        self.talosctl_path = talosctl_path
        self.talos_version = talos_version
        self.why = None
        self.talosconfig = talosconfig
        self.nodes = list(nodes or [])
        self.endpoints = list(endpoints or [])
        self.context = context
        self.secrets = secrets if secrets is not None else []
        self.minimum_version = minimum_version
        self._environ = environ
        if runner is None and module is not None:
            runner = module_runner(module)
        self._runner = runner
        self._binary = None
        self._client_version = None
        self._version = None

    @classmethod
    def from_module(cls, module, secrets=None, runner=None):
        """A TalosCLI from the shared options (``talosctl_argument_spec``) of ``module``."""
        p = module.params
        return cls(talosctl_path=p.get("talosctl_path"), talosconfig=p.get("talosconfig"),
                   nodes=p.get("nodes"), endpoints=p.get("endpoints"), context=p.get("context"),
                   talos_version=p.get("talos_version"), secrets=secrets, module=module, runner=runner)

    # -- the binary ------------------------------------------------------------
    def binary(self):
        """The absolute path of talosctl (see ``select_talosctl``); ``missing_tool`` error when there is none."""
        if self._binary:
            return self._binary
        if self.talos_version:
            path, version, why = select_talosctl(self.talos_version, self.talosctl_path, self._environ,
                                                 self._runner)
            self._binary, self._client_version, self.why = path, version, why
        else:
            self._binary = find_talosctl(self.talosctl_path, self._environ)
            self.why = "talosctl_path is set" if self.talosctl_path else NO_TALOS_VERSION
        return self._binary

    def client_version(self):
        """The version the binary reports (``v1.14.1``), not gated."""
        if self._client_version:
            return self._client_version
        argv = [self.binary(), "version", "--client", "--short"]
        if self._client_version:  # read while the binary was selected
            return self._client_version
        rc, out, err = self._call(argv)
        if rc != 0:
            raise self._error(argv, rc, out, err, "Failed to read the talosctl version")
        found = parse_version(out)
        if not found:
            raise AutoextenderError(
                "Could not read a version from `talosctl version --client --short`",
                kind=UNSUPPORTED_VERSION, details=self._details(argv, rc, out, err))
        self._client_version = found
        return found

    def version(self):
        """The client version (``v1.13.9``); fails clearly when it is below the minimum."""
        if self._version:
            return self._version
        found = self.client_version()
        if version_key(found) < version_key(self.minimum_version):
            raise AutoextenderError(
                "talosctl %s at %s is too old: talos.autoextender needs talosctl v%s or newer"
                % (found, self._binary, self.minimum_version.lstrip("v")),
                kind=UNSUPPORTED_VERSION,
                details={"path": self._binary, "version": found,
                         "minimum": "v" + self.minimum_version.lstrip("v")})
        self._version = found
        return found

    def supports(self, version):
        """True when the detected talosctl is at least ``version`` (gate new flags on it)."""
        return version_key(self.version()) >= version_key(version)

    # -- argv ------------------------------------------------------------------
    def connection_flags(self):
        """``--talosconfig``/``--context``/``--nodes``/``--endpoints`` for the options that are set."""
        flags = []
        if self.talosconfig:
            flags.append("--talosconfig=%s" % os.path.abspath(os.path.expanduser(self.talosconfig)))
        if self.context:
            flags.append("--context=%s" % self.context)
        if self.nodes:
            flags.append("--nodes=%s" % ",".join(self.nodes))
        if self.endpoints:
            flags.append("--endpoints=%s" % ",".join(self.endpoints))
        return flags

    def command(self, args, positional=(), connect=False):
        """The full argv: binary, ``args``, connection flags, then ``--`` and ``positional``."""
        argv = [self.binary()] + list(args)
        if connect:
            argv += self.connection_flags()
        if positional:
            argv += ["--"] + list(positional)
        return argv

    # -- running ---------------------------------------------------------------
    def run(self, args, positional=(), connect=False, sensitive=False, check_rc=True, cwd=None, data=None,
            what=None):
        """Run talosctl (after the version gate); return ``(rc, stdout, stderr)``.

        ``what`` names the action for the error message ("Failed to <what>").
        """
        self.version()
        argv = self.command(args, positional, connect)
        rc, out, err = self._call(argv, cwd=cwd, data=data)
        if check_rc and rc != 0:
            raise self._error(argv, rc, out, err, "Failed to %s" % what if what else None, sensitive)
        return rc, out, err

    def run_json(self, args, **kwargs):
        """Run and parse a JSON stream (``-o json``) into a list of objects."""
        rc, out, err = self.run(args, **kwargs)
        try:
            return parse_json_stream(out)
        except ValueError as e:
            details = self._details(self.command(args, kwargs.get("positional", ()), kwargs.get("connect", False)),
                                    rc, out, err, kwargs.get("sensitive", False))
            details["error"] = str(e)
            raise AutoextenderError("talosctl printed output that is not JSON", kind=PARSE,
                                    details=redact(details, self.secrets))

    def run_yaml(self, args, **kwargs):
        """Run and parse a YAML stream (``-o yaml``) into a list of documents."""
        rc, out, err = self.run(args, **kwargs)
        try:
            return parse_yaml_stream(out)
        except yaml.YAMLError as e:
            details = self._details(self.command(args, kwargs.get("positional", ()), kwargs.get("connect", False)),
                                    rc, out, err, kwargs.get("sensitive", False))
            details["error"] = type(e).__name__
            raise AutoextenderError("talosctl printed output that is not YAML", kind=PARSE,
                                    details=redact(details, self.secrets))

    def _call(self, argv, cwd=None, data=None):
        if self._runner is None:
            raise AutoextenderError("TalosCLI runs talosctl through a module or a runner; it was given neither",
                                    kind=INTERNAL, details={"cmd": redact(list(argv), self.secrets)})
        try:
            rc, out, err = self._runner(argv, cwd=cwd, data=data)
        except OSError as e:
            raise AutoextenderError("Could not run %s: %s" % (argv[0], e.strerror or e), kind=MISSING_TOOL,
                                    details={"cmd": redact(list(argv), self.secrets)})
        return rc, _text(out), _text(err)

    def _details(self, argv, rc, out, err, sensitive=False):
        if sensitive:
            out = WITHHELD if out else ""
            err = WITHHELD if err else ""
        return redact({"cmd": list(argv), "rc": rc, "stdout": out, "stderr": err}, self.secrets)

    def _error(self, argv, rc, out, err, msg=None, sensitive=False):
        details = self._details(argv, rc, out, err, sensitive)
        words = [a for a in argv[1:4] if not a.startswith("-")]
        msg = msg or "talosctl %s failed" % " ".join(words)
        if sensitive:
            reason = "output withheld because it may contain secrets"
        else:
            lines = [line for line in details["stderr"].splitlines() if line.strip()]
            reason = lines[0].strip() if lines else "no error output"
        return AutoextenderError("%s (rc=%s): %s" % (msg, rc, reason), kind=COMMAND, details=details)


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value or ""
