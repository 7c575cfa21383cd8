"""Fixture plugins are loaded together: a name defined twice would silently win."""
import ast
import glob
import os

SUPPORT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "support")


def fixtures_of(path):
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
                "fixture" in ast.dump(d) for d in node.decorator_list):
            yield node.name


def test_no_fixture_name_is_defined_twice():
    seen = {}
    files = sorted(glob.glob(os.path.join(SUPPORT, "fixtures_*.py"))) + [os.path.join(SUPPORT, "..", "conftest.py")]
    for path in files:
        for name in fixtures_of(path):
            seen.setdefault(name, []).append(os.path.basename(path))
    clashes = dict((k, v) for k, v in seen.items() if len(v) > 1)
    assert not clashes, "fixture names defined in more than one plugin: %s" % clashes
