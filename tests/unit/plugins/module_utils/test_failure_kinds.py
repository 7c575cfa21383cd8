"""Failure kinds are declared once, documented, used by name, and nothing else gets through (issue 17).

- every name in ``_failure_kinds`` is in ``KINDS`` and in the table of docs/architecture.md (and the
  table lists nothing undeclared);
- no failure kind is written as a string literal in plugins/: not as ``kind="..."``, a ``kind``
  parameter's default, a comparison with ``<x>.kind``, an assignment to ``kind`` or ``{"kind": "..."}``;
- ``AutoextenderError`` refuses an undeclared kind.
"""
import ast
import os
import re

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _failure_kinds
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import KINDS, VALIDATION

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
DECLARED = dict((name, value) for name, value in vars(_failure_kinds).items() if name.isupper() and name != "KINDS")
# Files whose owners convert them in their own change (issue 17); remove an entry once its file is converted.
PENDING = ()  # none left


def test_the_constants_are_the_kinds():
    assert set(DECLARED.values()) == set(KINDS)
    assert len(set(DECLARED.values())) == len(DECLARED)
    for name, value in DECLARED.items():
        assert name.lower() == value, name


def documented_kinds():
    with open(os.path.join(REPO, "docs", "architecture.md")) as f:
        text = f.read()
    section = text.split("\n## Failure kinds\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))


def test_every_kind_is_in_the_docs_table_and_nothing_else():
    assert documented_kinds() == set(KINDS)


def kind_literals(path):
    """``(line, value)`` of each declared kind written as a string where a failure kind goes."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found = []

    def collect(node):
        found.extend((n.lineno, n.value) for n in ast.walk(node)
                     if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in KINDS)

    def is_kind(node):
        return (isinstance(node, ast.Name) and node.id == "kind") or (
            isinstance(node, ast.Attribute) and node.attr == "kind")

    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "kind":
            collect(node.value)
        elif isinstance(node, ast.Compare) and any(is_kind(n) for n in [node.left] + node.comparators):
            collect(node)
        elif isinstance(node, ast.Assign) and any(is_kind(t) for t in node.targets):
            collect(node.value)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "kind":
                    collect(value)
        elif isinstance(node, ast.arguments):
            args = node.args[len(node.args) - len(node.defaults):] + node.kwonlyargs
            defaults = node.defaults + node.kw_defaults
            for arg, default in zip(args, defaults):
                if arg.arg == "kind" and default is not None:
                    collect(default)
        elif isinstance(node, ast.FunctionDef) and node.name == "kind":  # a property computing a kind
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and ret.value is not None:
                    collect(ret.value)
    return sorted(set(found))


def plugin_files():
    for root, dirs, files in os.walk(os.path.join(REPO, "plugins")):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, REPO)
            if name.endswith(".py") and rel != "plugins/module_utils/_failure_kinds.py" and rel not in PENDING:
                yield rel


def test_no_failure_kind_is_a_string_literal_in_plugins():
    offenders = ["%s:%d: %r" % (rel, line, value)
                 for rel in sorted(plugin_files()) for line, value in kind_literals(os.path.join(REPO, rel))]
    assert not offenders, "use the constants of _failure_kinds.py:\n" + "\n".join(offenders)


def test_the_scan_finds_literals(tmp_path):
    # A test that cannot fail is a defect: each shape the scan looks for is found.
    source = tmp_path / "sample.py"
    source.write_text('\n'.join([
        'raise AutoextenderError("x", kind="validation")',
        'def fail(kind="not_found"): pass',
        'if e.kind == "api": pass',
        'if kind in ("timeout", TLS): pass',
        'kind = "auth"',
        'module.fail_json(msg="x", failure={"kind": "missing_library"})',
        'class F:',
        '    @property',
        '    def kind(self):',
        '        return {429: "rate_limited"}.get(self.status, "api")',
        'ok = dict(kind="Ingress", name="api")',
    ]))
    assert kind_literals(str(source)) == [(1, "validation"), (2, "not_found"), (3, "api"), (4, "timeout"),
                                          (5, "auth"), (6, "missing_library"), (10, "api"), (10, "rate_limited")]


@pytest.mark.parametrize("kind", ["validaton", "Validation", "", None, "blocked "])
def test_an_undeclared_kind_is_refused(kind):
    with pytest.raises(ValueError, match="undeclared failure kind"):
        raise AutoextenderError("x", kind=kind)  # ValueError before the raise, else this fails the test


def test_declared_kinds_and_the_default_are_accepted():
    for kind in KINDS:
        assert AutoextenderError("x", kind=kind).failure() == {"kind": kind}
    assert AutoextenderError("x").kind in KINDS
    err = AutoextenderError("token abcdef", kind=VALIDATION, details={"option": "x"})
    assert err.redacted(["abcdef"]).failure() == {"kind": "validation", "option": "x"}
