# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Talos machine configs as documents: split, parse, compare, redact, check against the JSON schema.

A machine config is a YAML stream: the ``v1alpha1`` document (no ``kind``)
plus, from Talos 1.12, documents such as ``HostnameConfig`` and, from 1.13,
``KubeSpanConfig``. Configs are compared as parsed documents, never as bytes.
"""

from __future__ import annotations

import json
import re

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

try:
    import jsonschema
except ImportError:
    jsonschema = None

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.talos.autoextender.plugins.module_utils._errors import (
    REDACTED,
    AutoextenderError,
    redact,
)
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import MISSING_LIBRARY, VALIDATION

V1ALPHA1 = "v1alpha1"
# Fields Talos accepts but marks ``docgen:nodoc``, so the official schema does not list them.
SCHEMA_HIDDEN_FIELDS = {V1ALPHA1: ("persist",)}
# Kinds the schema names differently from the runtime (and the docs): Talos up to 1.14.0 writes these
# enums without the ``Config`` suffix; 1.14.1 fixes the install one. The runtime's kind is looked up first.
SCHEMA_KIND_ALIASES = {"UnattendedInstallConfig": "UnattendedInstall", "KubeSpanEndpointsConfig": "KubeSpanEndpoints"}
_SECRET_KEY_RE = re.compile(r"token|secret|key$|^key|crt|cert|password|encryption", re.IGNORECASE)
_SEPARATOR_RE = re.compile(r"^---[ \t]*$", re.MULTILINE)


class CollectedSecrets:
    """Mixin for a Resource: ``secrets()`` is one list the task keeps adding the secrets it reads to."""

    _secret_list = None

    def secrets(self):
        if self._secret_list is None:
            self._secret_list = []
        return self._secret_list


def kind_of(doc):
    """``v1alpha1`` for the main document, else its ``kind``."""
    if not isinstance(doc, dict):
        return None
    return doc.get("kind") or (V1ALPHA1 if doc.get("version") == V1ALPHA1 else None)


def split_documents(text):
    """The documents of a YAML stream as text, in order (empty ones dropped)."""
    parts = _SEPARATOR_RE.split(text or "")
    return [p.strip("\n") + "\n" for p in parts if p.strip()]


def join_documents(parts):
    return "---\n".join(parts)


def parse_config(text, what="machine config"):
    """The documents of a config as dicts; a ``validation`` error without any value in it."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = " at line %d" % (mark.line + 1) if mark is not None else ""
        raise AutoextenderError("The %s is not valid YAML%s" % (what, where), kind=VALIDATION)
    for doc in docs:
        if kind_of(doc) is None:
            raise AutoextenderError("The %s holds a document that is neither v1alpha1 nor has a kind" % what,
                                    kind=VALIDATION)
    return docs


def document_kinds(docs):
    return [kind_of(d) for d in docs]


def same_config(a, b):
    """True when two parsed configs hold the same documents (order of documents ignored)."""
    if a is None or b is None:
        return False
    return sorted(_canonical(d) for d in a) == sorted(_canonical(d) for d in b)


def _canonical(doc):
    return json.dumps(doc, sort_keys=True, default=str)


def redact_docs(value, secrets=(), _key=""):
    """A copy of the documents with every secret-looking field and every known secret string replaced."""
    if isinstance(value, dict):
        return dict((k, redact_docs(v, secrets, str(k))) for k, v in value.items())
    if isinstance(value, list):
        return [redact_docs(v, secrets, _key) for v in value]
    if isinstance(value, str) and value and _SECRET_KEY_RE.search(_key):
        return REDACTED
    if _key == "id" and isinstance(value, str) and len(value) >= 16:
        return REDACTED  # cluster.id
    return redact(value, list(secrets))


def redacted_text(docs, secrets=()):
    """The documents as one redacted YAML stream (for diff mode)."""
    if not docs:
        return ""
    return yaml.safe_dump_all(redact_docs(docs, secrets), default_flow_style=False, sort_keys=True)


# -- the official JSON schema -------------------------------------------------
def load_schema(path):
    if jsonschema is None:
        raise AutoextenderError("schema_path needs the jsonschema library: %s" % missing_required_lib("jsonschema"),
                                kind=MISSING_LIBRARY, details={"library": "jsonschema"})
    try:
        with open(path) as f:
            schema = json.load(f)
    except (IOError, OSError) as e:
        raise AutoextenderError("Cannot read the schema %s: %s" % (path, e.strerror or e), kind=VALIDATION,
                                details={"schema": path})
    except ValueError as e:
        raise AutoextenderError("The schema %s is not JSON: %s" % (path, e), kind=VALIDATION, details={"schema": path})
    if "$defs" not in schema:
        raise AutoextenderError("%s is not a Talos config schema (no $defs)" % path, kind=VALIDATION,
                                details={"schema": path})
    return schema


def schema_definition(schema, kind):
    """The name of the ``$defs`` entry describing documents of ``kind``, or None."""
    defs = schema["$defs"]
    if kind == V1ALPHA1:
        return "v1alpha1.Config" if "v1alpha1.Config" in defs else None
    for candidate in (kind, SCHEMA_KIND_ALIASES.get(kind)):
        for name in sorted(defs):
            enum = ((defs[name].get("properties") or {}).get("kind") or {}).get("enum") or []
            if candidate and candidate in enum:
                return name
    return None


def schema_errors(docs, schema, schema_path="schema"):
    """Problems of ``docs`` against the official schema: a list of ``"<kind>: <path>: <message>"`` (no values)."""
    problems = []
    for doc in docs:
        kind = kind_of(doc)
        name = schema_definition(schema, kind)
        if name is None:
            problems.append("%s: this document kind is not in %s (wrong Talos version?)" % (kind, schema_path))
            continue
        doc = dict((k, v) for k, v in doc.items() if k not in SCHEMA_HIDDEN_FIELDS.get(kind, ()))
        if kind in SCHEMA_KIND_ALIASES and kind not in schema["$defs"][name]["properties"]["kind"]["enum"]:
            doc["kind"] = SCHEMA_KIND_ALIASES[kind]
        validator = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/" + name})
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in err.absolute_path) or "(document)"
            problems.append("%s: %s: %s" % (kind, where, _message(err)))
    return problems


def _message(err):
    """The validator's message without the offending value (it may be a secret)."""
    if err.validator in ("additionalProperties", "required"):
        return err.message  # names keys only
    if err.validator in ("type", "enum", "pattern", "format"):
        words = {"type": "of type", "enum": "one of"}.get(err.validator, "matching")
        return "the value is not %s %s" % (words, json.dumps(err.validator_value))
    return "does not match the schema (%s)" % err.validator
