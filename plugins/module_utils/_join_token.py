# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The worker join token (``machine.token``, what trustd accepts) in the files that hold it.

A secrets bundle holds it at ``trustdinfo.token``, a controlplane machine config at ``machine.token``
of its v1alpha1 document. The token is replaced in the text, on its own line, so the rest of the file
(comments, key order, other documents) stays as written; the result is parsed again and must differ
from the original only there. Nothing here puts a token into a message: results carry fingerprints.
"""

from __future__ import annotations

import re

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._talos_secrets import (
    parse_bundle,
    sha256,
    v1alpha1_document,
)

#: the shape talosctl gen secrets gives the token (6 and 16 of [a-z0-9]); trustd compares it as a string
TOKEN_RE = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
BUNDLE, CONTROLPLANE_CONFIG = "secrets_bundle", "controlplane_config"


def fingerprint(token):
    """A short SHA-256 of the token: tells tokens apart in results without showing one."""
    return "sha256:" + sha256(token.encode("utf-8"))[:12]


def check_token(token):
    if not TOKEN_RE.match(token or ""):
        raise AutoextenderError(
            "token must look like the tokens talosctl gen secrets makes: 6 and 16 characters of a-z and 0-9 "
            "joined by a dot (for example: printf '%s.%s\\n' \"$(openssl rand -hex 3)\" \"$(openssl rand -hex 8)\")",
            kind=VALIDATION, details={"option": "token"})


def _documents(text, path):
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise AutoextenderError("%s is not valid YAML (line %s)" % (
            path, getattr(getattr(e, "problem_mark", None), "line", -1) + 1), kind=VALIDATION, details={"path": path})


def locate(text, path):
    """``(kind, token)``: what the file is and the join token it holds."""
    docs = _documents(text, path)
    if len(docs) == 1 and isinstance(docs[0], dict) and "trustdinfo" in docs[0]:
        return BUNDLE, parse_bundle(text, path)["trustdinfo"]["token"]
    dummy, data = v1alpha1_document(text, path)
    token = (data.get("machine") or {}).get("token")
    if not isinstance(token, str) or not token:
        raise AutoextenderError("%s has no machine.token" % path, kind=VALIDATION, details={"path": path})
    return CONTROLPLANE_CONFIG, token


def _without_token(docs, kind):
    """The documents with the join token blanked, to compare two versions of a file everywhere else."""
    out = []
    for doc in docs:
        doc = dict(doc) if isinstance(doc, dict) else doc
        if kind == BUNDLE and isinstance(doc, dict) and isinstance(doc.get("trustdinfo"), dict):
            doc["trustdinfo"] = dict(doc["trustdinfo"], token=None)
        if kind == CONTROLPLANE_CONFIG and isinstance(doc, dict) and doc.get("version") == "v1alpha1" \
                and "kind" not in doc and isinstance(doc.get("machine"), dict):
            doc["machine"] = dict(doc["machine"], token=None)
        out.append(doc)
    return out


def replace(text, path, new):
    """``(kind, old token, new text)``; the new text equals ``text`` when the token is ``new`` already."""
    kind, old = locate(text, path)
    if old == new:
        return kind, old, text
    line = re.compile(r"^(?P<lead>[ \t]*token:[ \t]*)(?P<q>['\"]?)%s(?P=q)(?P<tail>[ \t]*(?:#.*)?)$"
                      % re.escape(old), re.MULTILINE)
    out, count = line.subn(lambda m: m.group("lead") + m.group("q") + new + m.group("q") + m.group("tail"), text)
    if count != 1:
        raise AutoextenderError(
            "%s holds the join token on %d 'token:' lines, not one: change %s by hand (talosctl or an editor)"
            % (path, count, "trustdinfo.token" if kind == BUNDLE else "machine.token"),
            kind=VALIDATION, details={"path": path, "lines": count})
    again, token = locate(out, path)
    if again != kind or token != new or _without_token(_documents(out, path), kind) != \
            _without_token(_documents(text, path), kind):
        raise AutoextenderError("%s: replacing the join token would change more than the token; nothing was written"
                                % path, kind=VALIDATION, details={"path": path})
    return kind, old, out
