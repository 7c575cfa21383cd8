"""Fixtures of the Talos layer: recorded talosctl outputs, a scripted talosctl runner, spec paths."""
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECORDED = os.path.join(REPO, "tests", "unit", "fixtures", "talosctl")
TALOSCTL_VERSION = "v1.13.9"
FAKE_BIN = "/opt/talos/bin/talosctl"


def recorded(name, version=TALOSCTL_VERSION):
    """The text of a recorded talosctl output (tests/unit/fixtures/talosctl/<version>/<name>)."""
    with open(os.path.join(RECORDED, version, name)) as f:
        return f.read()


class ScriptedTalosctl:
    """A runner for TalosCLI: records every argv and answers from a script.

    ``script`` is a list of ``(argv pattern, reply)``: the first pattern (a regexp
    searched in the space-joined argv after the binary) that matches answers.
    A reply is ``(rc, stdout, stderr)`` or a list of them, used in turn (the last
    one repeats). ``version --client --short`` always answers the recorded v1.13.9.
    """

    def __init__(self, script=()):
        self.calls = []
        self.script = [(re.compile(p), list(r) if isinstance(r, list) else [r]) for p, r in script]

    def __call__(self, argv, cwd=None, data=None):
        self.calls.append(list(argv))
        if argv[1:] == ["version", "--client", "--short"]:
            return 0, recorded("version_client_short.stdout"), ""
        line = " ".join(argv[1:])
        for pattern, replies in self.script:
            if pattern.search(line):
                return replies.pop(0) if len(replies) > 1 else replies[0]
        raise AssertionError("unexpected talosctl call: %s" % line)

    def commands(self):
        """The argv of every call but the version gate, without the binary."""
        return [c[1:] for c in self.calls if c[1:] != ["version", "--client", "--short"]]


@pytest.fixture
def fake_talosctl_bin(monkeypatch):
    """FAKE_BIN "exists" and is executable, without touching the file system."""
    real_isfile, real_access = os.path.isfile, os.access
    monkeypatch.setattr(os.path, "isfile", lambda p: p == FAKE_BIN or real_isfile(p))
    monkeypatch.setattr(os, "access", lambda p, m: p == FAKE_BIN or real_access(p, m))
    return FAKE_BIN


@pytest.fixture
def talos_schema():
    """``{"v1.12": path, "v1.13": path, "v1.14": path}`` of the official config schemas (1.14: the rc.1 snapshot)."""
    from tests.conftest import spec_path
    return {"v1.12": spec_path("talos", "v1.12.11", "config.schema.json"),
            "v1.13": spec_path("talos", "v1.13.9", "config.schema.json"),
            "v1.14": spec_path("talos", "v1.14.0-rc.1", "config.schema.json")}


@pytest.fixture
def secrets_bundle(talosctl):
    """A fresh secrets bundle from the real talosctl: ``(path, parsed dict)``."""
    import yaml
    talosctl.run("gen", "secrets", "--output-file", "secrets.yaml")
    path = os.path.join(talosctl.workdir, "secrets.yaml")
    with open(path) as f:
        return path, yaml.safe_load(f)
