# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Talos secrets bundles: read, validate, extract from a controlplane config, write privately.

Nothing here puts a secret value into a message: errors name files, fields
and line numbers only. ``secret_values`` collects the strings that callers
hand to ``redact`` / ``TalosCLI(secrets=...)`` as a second line of defence.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import IO, VALIDATION

# Fields every bundle of a talosctl >= 1.11 holds (dotted paths into the YAML).
REQUIRED_FIELDS = (
    "cluster.id", "cluster.secret", "secrets.bootstraptoken", "trustdinfo.token",
    "certs.etcd.crt", "certs.etcd.key", "certs.k8s.crt", "certs.k8s.key",
    "certs.k8saggregator.crt", "certs.k8saggregator.key", "certs.k8sserviceaccount.key",
    "certs.os.crt", "certs.os.key",
)
# One of these holds the Kubernetes secrets encryption key.
ENCRYPTION_FIELDS = ("secrets.secretboxencryptionsecret", "secrets.aescbcencryptionsecret")
CONTROLPLANE_TYPES = ("controlplane", "init")
# From Talos 1.14 the cluster's identity and Kubernetes CAs live in these documents, next to v1alpha1.
SECRET_DOCUMENT_KINDS = ("DiscoveryIdentityConfig", "KubeAPIServerCAConfig", "KubeAggregatorCAConfig",
                         "KubeServiceAccountConfig", "KubeEtcdEncryptionConfig")
_SECRET_KEY_RE = re.compile(r"token|secret|key|crt|cert|password|^id$", re.IGNORECASE)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def secret_values(data, all_strings=False, _key=""):
    """String leaves of ``data`` that may be secret (all of them with ``all_strings``)."""
    found = []
    if isinstance(data, dict):
        for k, v in data.items():
            found += secret_values(v, all_strings, str(k))
    elif isinstance(data, list):
        for v in data:
            found += secret_values(v, all_strings, _key)
    elif isinstance(data, str) and len(data) >= 8 and (all_strings or _SECRET_KEY_RE.search(_key)):
        found.append(data)
    return found


def _yaml_problem(e):
    """A YAML error described without the offending text (it may be a secret)."""
    problem = getattr(e, "problem", None) or type(e).__name__
    mark = getattr(e, "problem_mark", None)
    return "%s at line %d" % (problem, mark.line + 1) if mark is not None else problem


def read_file(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except (IOError, OSError) as e:
        raise AutoextenderError("Cannot read %s %s: %s" % (what, path, e.strerror or e), kind=VALIDATION,
                                details={"path": path})


def _get(data, dotted):
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def parse_bundle(content, path):
    """The bundle as a dict; a ``validation`` error naming the missing fields (never values)."""
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as e:
        raise AutoextenderError("%s is not valid YAML: %s" % (path, _yaml_problem(e)), kind=VALIDATION,
                                details={"path": path})
    if not isinstance(data, dict):
        raise AutoextenderError("%s is not a Talos secrets bundle (not a YAML mapping)" % path,
                                kind=VALIDATION, details={"path": path})
    missing = [f for f in REQUIRED_FIELDS if not _get(data, f)]
    if not any(_get(data, f) for f in ENCRYPTION_FIELDS):
        missing.append(" or ".join(ENCRYPTION_FIELDS))
    if missing:
        raise AutoextenderError("%s is not a complete Talos secrets bundle: missing %s" % (path, ", ".join(missing)),
                                kind=VALIDATION, details={"path": path, "missing": missing})
    return data


def v1alpha1_document(text, path):
    """``(document text, parsed dict)`` of the one ``version: v1alpha1`` document of a config.

    The text is sliced from the original, so talosctl reads exactly what the
    user wrote; the other documents of a multi-document config are dropped.
    """
    try:
        nodes = list(yaml.compose_all(text))
        found = []
        for node in nodes:
            if not isinstance(node, yaml.MappingNode):
                continue
            keys = dict((k.value, v) for k, v in node.value if isinstance(k, yaml.ScalarNode))
            version = keys.get("version")
            if "kind" not in keys and isinstance(version, yaml.ScalarNode) and version.value == "v1alpha1":
                found.append(text[node.start_mark.index:node.end_mark.index])
        if len(found) != 1:
            raise AutoextenderError(
                "%s must hold exactly one Talos machine config document (version: v1alpha1), found %d"
                % (path, len(found)), kind=VALIDATION, details={"path": path, "documents": len(nodes)})
        doc = found[0].rstrip() + "\n"
        data = yaml.safe_load(doc)
    except yaml.YAMLError as e:
        raise AutoextenderError("%s is not valid YAML: %s" % (path, _yaml_problem(e)), kind=VALIDATION,
                                details={"path": path})
    machine_type = _get(data, "machine.type")
    if machine_type not in CONTROLPLANE_TYPES:
        raise AutoextenderError(
            "%s is not a controlplane config (machine.type is %s); only a controlplane config holds the "
            "cluster's private keys" % (path, machine_type if isinstance(machine_type, str) else "missing"),
            kind=VALIDATION, details={"path": path})
    return doc, data


def secret_documents(text):
    """``[(document text, parsed dict)]`` of the ``SECRET_DOCUMENT_KINDS`` documents of a config (Talos 1.14)."""
    found = []
    for node in yaml.compose_all(text):
        if not isinstance(node, yaml.MappingNode):
            continue
        kind = dict((k.value, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)).get("kind")
        if isinstance(kind, yaml.ScalarNode) and kind.value in SECRET_DOCUMENT_KINDS:
            doc = text[node.start_mark.index:node.end_mark.index].rstrip() + "\n"
            found.append((doc, yaml.safe_load(doc)))
    return found


def bundle_from_controlplane_config(cli, path, tmpdir=None, secrets=None):
    """Run ``talosctl gen secrets --from-controlplane-config`` on the v1alpha1 document of ``path``
    and its documents that hold secrets (``SECRET_DOCUMENT_KINDS``, Talos 1.14).

    Returns the bundle bytes. The stripped config and the bundle live only in
    a private temporary directory, removed before returning.
    """
    secrets = secrets if secrets is not None else []
    content = read_file(path, "controlplane config")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise AutoextenderError("%s is not a UTF-8 text file" % path, kind=VALIDATION, details={"path": path})
    doc, data = v1alpha1_document(text, path)
    secrets += secret_values(data)
    extra = secret_documents(text)
    for dummy, parsed in extra:
        secrets += secret_values(dict((k, v) for k, v in parsed.items() if k not in ("apiVersion", "kind")), True)
    work = tempfile.mkdtemp(prefix="talos-secrets-", dir=tmpdir)  # mode 0700
    try:
        stripped = os.path.join(work, "controlplane.yaml")
        fd = os.open(stripped, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("---\n".join([doc] + [d for d, dummy in extra]))
        out = os.path.join(work, "secrets.yaml")
        cli.run(["gen", "secrets", "--from-controlplane-config=%s" % stripped, "--output-file=%s" % out],
                sensitive=True, cwd=work, what="generate the secrets bundle from %s" % path)
        return read_file(out, "generated secrets bundle")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_private_file(path, content):
    """Write ``content`` to ``path`` atomically with mode 0600 (it never exists with a wider mode)."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)  # mode 0600
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except (IOError, OSError) as e:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        raise AutoextenderError("Failed to write %s: %s" % (path, e.strerror or e), kind=IO, details={"path": path})
