# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Know that a rendered file is still what its inputs make, without rendering it again.

A file a module renders at ``dest`` gets a record beside it, ``dest + ".inputs"`` (mode 0600, JSON): the
SHA-256 of the inputs that made it and of the content written. When both still match (the same inputs,
and nobody edited the file), the module reuses the file instead of running its renderer. The record holds
digests only, never an input: the inputs of a machine config are the cluster's secrets.
"""

from __future__ import annotations

import hashlib
import json
import os

from ansible_collections.talos.autoextender.plugins.module_utils._talos_secrets import write_private_file

SUFFIX = ".inputs"


def digest(inputs):
    """The SHA-256 of ``inputs`` (JSON-serialisable; key order does not matter)."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_identity(path):
    """What tells one version of a program file from another without reading it: path, size, mtime."""
    st = os.stat(path)
    return [os.path.abspath(path), st.st_size, st.st_mtime_ns]


def fresh(dest, inputs_digest, checksum):
    """True when ``dest``'s record says it was written from ``inputs_digest`` and holds ``checksum`` still."""
    try:
        with open(dest + SUFFIX, "rb") as f:
            record = json.load(f)
    except (IOError, OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("inputs") == inputs_digest and record.get("checksum") == checksum


def record(dest, inputs_digest, checksum):
    """Write ``dest``'s record (0600, atomically)."""
    write_private_file(dest + SUFFIX, json.dumps({"inputs": inputs_digest, "checksum": checksum}).encode("utf-8"))
