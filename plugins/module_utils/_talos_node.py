# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""What talosctl prints when it talks to a node, parsed into plain dicts.

Formats (talosctl v1.13.9, see tests/unit/fixtures/talosctl/v1.13.9/README.md):

* ``apply-config`` and ``patch machineconfig`` print the node's answer on
  stderr: ``WARNING: <warning>`` lines, then the mode details. A dry run
  answers ``Dry run summary:\\n<mode details> (skipped in dry-run).\\nConfig
  diff:\\n\\n<unified diff or "No changes.">``. ``patch`` prints
  ``Apply was skipped: no changes detected.`` when the patch changes nothing.
* ``get <resource> -o json`` prints one indented JSON object per resource:
  ``{"metadata": {...}, "node": "<node>", "spec": ...}``.
* ``version --json`` prints one protojson object per node.
* A node that cannot be reached gives gRPC ``code = Unavailable`` (connection
  refused, no route, timeout) on stderr.
* A node that does not trust the talosconfig (another cluster's CA, or a node
  in maintenance mode, whose certificate is self-signed) fails the TLS
  handshake: ``code = Unavailable desc = connection error: desc = "transport:
  authentication handshake failed: tls: failed to verify certificate: x509:
  certificate signed by unknown authority ..."``. That is ``tls``, never
  ``unreachable``: asking again cannot help.
"""

from __future__ import annotations

import re
import time

from ansible_collections.talos.autoextender.plugins.module_utils._errors import REDACTED, AutoextenderError, redact
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import COMMAND, INVALID_CONFIG, REBOOTING, TLS, UNREACHABLE
from ansible_collections.talos.autoextender.plugins.module_utils import _wait

NO_CHANGES = "No changes."
PATCH_SKIPPED = "Apply was skipped: no changes detected."
_DRY_RUN_RE = re.compile(r"Dry run summary:\n(?P<details>.*?) \(skipped in dry-run\)\.\nConfig diff:\n\n(?P<diff>.*)\Z",
                         re.DOTALL)
_UNREACHABLE_RE = re.compile(
    r"code = Unavailable|code = DeadlineExceeded|connection refused|no route to host|network is unreachable|"
    r"i/o timeout|context deadline exceeded|connect: connection reset|no such host", re.IGNORECASE)
# Checked before _UNREACHABLE_RE: a failed handshake is reported as code = Unavailable too.
_TLS_RE = re.compile(
    r"authentication handshake failed|x509: |tls: (?:failed to verify|bad certificate|unknown certificate|"
    r"certificate required|handshake failure)|certificate signed by unknown authority", re.IGNORECASE)
# The reason shown: the x509 verdict (without Go's "(possibly because of ...)"), else the TLS alert.
_TLS_REASON_RES = (re.compile(r"x509: [^\"(\\]*"), re.compile(r"tls: [^\"\\]*"))
# The failure kinds a node's API gives (UNREACHABLE, TLS, REBOOTING, INVALID_CONFIG) are in _failure_kinds.
# REBOOTING: between an apply (or reset) that reboots and the reboot itself, a node still answers, with FailedPrecondition.
_REBOOTING_RE = re.compile(r"code = FailedPrecondition desc = .*node is rebooting")
# Kinds a caller asks again within its deadline: the node is (about to be) away for a reboot.
TRANSIENT = (UNREACHABLE, REBOOTING)
_INVALID_RE = re.compile(r"code = InvalidArgument desc = (?P<desc>.*)\Z", re.DOTALL)
_OCCURRED_RE = re.compile(r"\s*\d+ errors? occurred:\s*$")
_SECRET_LINE_RE = re.compile(r"^(?P<lead>[ +\-]\s*(?:- )?[\w.-]*(?:token|secret|key|crt|cert|password)[\w.-]*:\s*)"
                             r"(?P<value>\S.*)$", re.IGNORECASE | re.MULTILINE)
CONTROL_PLANE_TYPES = ("controlplane", "init")


def parse_apply_output(stderr):
    """``{"changed", "dry_run", "mode_details", "diff", "warnings"}`` from apply-config / patch stderr.

    ``changed`` is None when the output says nothing about changes (a real apply).
    """
    text = (stderr or "").replace("\r\n", "\n")
    warnings = [line[len("WARNING: "):] for line in text.split("\n") if line.startswith("WARNING: ")]
    body = "\n".join(line for line in text.split("\n") if not line.startswith("WARNING: "))
    result = {"changed": None, "dry_run": False, "mode_details": "", "diff": "", "warnings": warnings}
    if PATCH_SKIPPED in body:
        result.update(changed=False, mode_details=PATCH_SKIPPED)
        return result
    lines = [line for line in body.split("\n") if not line.startswith("patched ")]
    body = "\n".join(lines).strip("\n")
    m = _DRY_RUN_RE.search(body + "\n")
    if m:
        diff = m.group("diff").rstrip("\n")
        result.update(dry_run=True, mode_details=m.group("details").strip(), diff="" if diff == NO_CHANGES else diff + "\n",
                      changed=diff != NO_CHANGES)
        return result
    result["mode_details"] = body.strip()
    return result


def redact_diff(diff, secrets=()):
    """A config diff with secret-looking values and known secrets replaced."""
    diff = _SECRET_LINE_RE.sub(lambda m: m.group("lead") + REDACTED, diff or "")
    return redact(diff, list(secrets))


def node_failure(error):
    """``"tls"``, ``"unreachable"``, ``"rebooting"`` or None: what a talosctl error says about the node's API."""
    if not isinstance(error, AutoextenderError) or error.kind not in (COMMAND, UNREACHABLE, TLS, REBOOTING):
        return None
    text = str(error.details.get("stderr", "")) + " " + error.msg
    if error.kind == TLS or _TLS_RE.search(text):
        return TLS
    if error.kind == REBOOTING or _REBOOTING_RE.search(text):
        return REBOOTING
    if error.kind == UNREACHABLE or _UNREACHABLE_RE.search(text):
        return UNREACHABLE
    return None


def is_unreachable(error):
    """True when a talosctl error means the node (or endpoint) could not be reached (a TLS refusal is not)."""
    return node_failure(error) == UNREACHABLE


def as_node_error(error, node):
    """The same error as kind ``unreachable`` or ``tls``, in one line that says which node; others unchanged."""
    failure = node_failure(error)
    if failure is None or error.kind == failure:
        return error
    details = dict(error.details)
    details["node"] = node
    stderr = str(details.get("stderr", ""))
    if failure == REBOOTING:
        msg = "The Talos node %s is about to reboot (it took a config or a reset already)" % node
    elif failure == TLS:
        found = [m.group(0) for m in (r.search(stderr) for r in _TLS_REASON_RES) if m]
        reason = (found[0] if found else "handshake failed").strip().rstrip(".")
        msg = ("The Talos API of %s does not trust this talosconfig (TLS: %s): it is another cluster's talosconfig, "
               "or the node is in maintenance mode and needs insecure=true" % (node, reason))
    else:
        first = next((line.strip() for line in stderr.splitlines() if line.strip()), "")
        msg = "The Talos API of %s is unreachable: %s" % (node, first)
    return AutoextenderError(msg, kind=failure, details=details, partial=error.partial)


def rejection_reason(stderr):
    """The node's InvalidArgument answer in one line (machinery's validation errors, ``; `` between them), or None.

    ``1 error occurred:\n\t* v1alpha1.Config: 1 error occurred:\n\t* invalid controlplane endpoint: ...`` ->
    ``v1alpha1.Config: invalid controlplane endpoint: ...``.
    """
    m = _INVALID_RE.search((stderr or "").strip())
    if not m:
        return None
    lines = [line.strip() for line in m.group("desc").splitlines() if line.strip()]
    bullets = [_OCCURRED_RE.sub("", line[1:].strip()) for line in lines if line.startswith("*")]
    if not bullets:
        return _OCCURRED_RE.sub("", " ".join(lines)) or "invalid argument"
    out = bullets[0]
    for item in bullets[1:]:
        out += (" " if out.endswith(":") else "; ") + item
    return out.rstrip(":")


def as_rejected_config(error, node):
    """A talosctl error whose node answered InvalidArgument, as kind ``invalid_config`` in one line; others unchanged."""
    if not isinstance(error, AutoextenderError) or error.kind != COMMAND:
        return error
    reason = rejection_reason(str(error.details.get("stderr", "")))
    if reason is None:
        return error
    details = dict(error.details, node=node, reason=reason)
    return AutoextenderError("The Talos node %s rejected the config: %s" % (node, reason), kind=INVALID_CONFIG,
                             details=details, partial=error.partial)


def retry_unreachable(call, node, deadline, sleep=time.sleep):
    """``call()``, again while the node is unreachable or about to reboot and ``deadline`` has time left.

    A TLS refusal or any other error is raised at once, as ``as_node_error`` words it; an unreachable
    node past the deadline fails with kind ``unreachable`` and says for how long it was tried.
    """
    tries = 0
    for delay in _wait.backoff_delays(initial=1.0, maximum=5.0):
        tries += 1
        try:
            return call()
        except AutoextenderError as e:
            error = as_node_error(e, node)
            if error.kind not in TRANSIENT:
                raise error
            if deadline.expired():
                if tries > 1:
                    error.msg += " (tried %d times in %.0fs)" % (tries, deadline.timeout)
                elif deadline.timeout > 0:
                    error.msg += " (no answer within %.0fs)" % deadline.timeout
                raise error
        sleep(min(delay, deadline.remaining()))


# -- resources (get -o json) -------------------------------------------------
def _spec(item):
    spec = item.get("spec")
    return spec if isinstance(spec, dict) else {}


def parse_members(items):
    """``get members -o json`` -> list of members."""
    out = []
    for item in items:
        spec = _spec(item)
        out.append({
            "id": (item.get("metadata") or {}).get("id"),
            "node": item.get("node"),
            "hostname": spec.get("hostname"),
            "addresses": list(spec.get("addresses") or []),
            "machine_type": spec.get("machineType"),
            "operating_system": spec.get("operatingSystem"),
        })
    return out


def parse_peer_statuses(items):
    """``get kubespanpeerstatuses -o json`` -> list of peers (id is the peer's public key)."""
    out = []
    for item in items:
        spec = _spec(item)
        out.append({
            "id": (item.get("metadata") or {}).get("id"),
            "node": item.get("node"),
            "label": spec.get("label"),
            "state": spec.get("state"),
            "endpoint": spec.get("endpoint"),
            "last_handshake": spec.get("lastHandshakeTime"),
            "rx_bytes": spec.get("receiveBytes"),
            "tx_bytes": spec.get("transmitBytes"),
        })
    return out


def parse_machine_types(items):
    """``get machinetype -o json`` -> ``{node: type}`` (the spec is a plain string)."""
    return dict((item.get("node"), item.get("spec")) for item in items)


def parse_versions(items):
    """``version --json`` (protojson, one object per node) -> list of server versions."""
    out = []
    for item in items:
        version = item.get("version") or {}
        out.append({
            "node": (item.get("metadata") or {}).get("hostname"),
            "tag": version.get("tag"),
            "sha": version.get("sha"),
            "go_version": version.get("goVersion"),
            "os": version.get("os"),
            "arch": version.get("arch"),
            "platform": (item.get("platform") or {}).get("name"),
            "rbac": bool((item.get("features") or {}).get("rbac")),
        })
    return out


def health_summary(members=None, peers=None):
    """Counts and one ``healthy`` flag: every KubeSpan peer is up (and there is at least one member)."""
    summary = {}
    if members is not None:
        summary["members"] = len(members)
        summary["control_planes"] = sum(1 for m in members if m["machine_type"] in CONTROL_PLANE_TYPES)
        summary["workers"] = sum(1 for m in members if m["machine_type"] == "worker")
    if peers is not None:
        states = [p["state"] for p in peers]
        summary.update(kubespan_peers=len(peers), kubespan_peers_up=states.count("up"),
                       kubespan_peers_down=states.count("down"),
                       kubespan_peers_unknown=len(states) - states.count("up") - states.count("down"))
        summary["peers_down"] = sorted(p["label"] or p["id"] for p in peers if p["state"] != "up")
    healthy = True
    if members is not None and not members:
        healthy = False
    if peers is not None and any(p["state"] != "up" for p in peers):
        healthy = False
    summary["healthy"] = healthy
    return summary


def peers_not_up(peers, labels, nodes=()):
    """``{asked node: [labels not reported up]}`` for every asked node that lacks one of ``labels``.

    ``nodes`` are the nodes asked (``--nodes``); each must see every label up. Without them, the nodes that
    answered are taken, and any of them seeing a label up is enough.
    """
    up = {}
    for peer in peers:
        if peer["state"] == "up":
            up.setdefault(peer["node"], set()).update(x for x in (peer["label"], peer["id"]) if x)
    if not nodes:
        seen = set().union(*up.values()) if up else set()
        missing = sorted(label for label in labels if label not in seen)
        return {"": missing} if missing else {}
    out = {}
    for node in nodes:
        missing = sorted(label for label in labels if label not in up.get(node, ()))
        if missing:
            out[node] = missing
    return out


def find_member(members, node, hostname=None):
    """The member that is ``node`` (an address, id or hostname), or None."""
    for member in members:
        if node in member["addresses"] or node in (member["id"], member["hostname"]):
            return member
        if hostname and hostname in (member["id"], member["hostname"]):
            return member
    return None
