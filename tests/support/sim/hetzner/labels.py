"""Hetzner label selectors, evaluated server-side like the real API.

Grammar (https://docs.hetzner.cloud/reference/cloud#label-selector):
``k=v`` / ``k==v`` (equal), ``k!=v`` (not equal, also true when k is absent),
``k`` (present), ``!k`` (absent), ``k in (a,b)``, ``k notin (a,b)``;
expressions separated by commas are ANDed (commas inside parentheses are not
separators).
"""
import functools
import re

from tests.support.sim.base import ApiError

_KEY = r"[A-Za-z0-9./_-]+"
_VALUE = r"[A-Za-z0-9._-]*"
_EXPRESSIONS = [
    ("in", re.compile(r"^(%s)\s+in\s+\(([^)]*)\)$" % _KEY)),
    ("notin", re.compile(r"^(%s)\s+notin\s+\(([^)]*)\)$" % _KEY)),
    ("ne", re.compile(r"^(%s)\s*!=\s*(%s)$" % (_KEY, _VALUE))),
    ("eq", re.compile(r"^(%s)\s*==?\s*(%s)$" % (_KEY, _VALUE))),
    ("absent", re.compile(r"^!\s*(%s)$" % _KEY)),
    ("present", re.compile(r"^(%s)$" % _KEY)),
]


def _split(selector):
    parts, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts]


def parse(selector):
    """A list of ``(op, key, values)``; ApiError 422 ``invalid_input`` on bad syntax."""
    terms = []
    for part in _split(selector or ""):
        for op, rx in _EXPRESSIONS:
            m = rx.match(part)
            if m:
                key = m.group(1)
                if op in ("in", "notin"):
                    values = [v.strip() for v in m.group(2).split(",")]
                elif op in ("eq", "ne"):
                    values = [m.group(2)]
                else:
                    values = []
                terms.append((op, key, values))
                break
        else:
            raise ApiError(422, "invalid_input", "invalid label_selector: %r" % selector)
    return terms


def matches(labels, selector):
    """True when ``labels`` (a dict) satisfies every term of ``selector``."""
    if not selector:
        return True
    for op, key, values in _parsed(selector):
        present = key in labels
        value = labels.get(key)
        ok = {
            "eq": present and value == (values or [None])[0],
            "ne": not present or value != (values or [None])[0],
            "in": present and value in values,
            "notin": not present or value not in values,
            "present": present,
            "absent": not present,
        }[op]
        if not ok:
            return False
    return True


_NAME = re.compile(r"^[a-z0-9A-Z]([a-z0-9A-Z._-]{0,61}[a-z0-9A-Z])?$")
_PREFIX = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")


def check(labels):
    """422 ``invalid_input`` for keys or values the API rejects (63 characters, charset)."""
    for key, value in (labels or {}).items():
        prefix, dummy, name = key.rpartition("/")
        if not _NAME.match(name) or (prefix and not _PREFIX.match(prefix)) or prefix.startswith("hetzner.cloud"):
            raise ApiError(422, "invalid_input", "invalid label key %r" % key,
                           details={"fields": [{"name": "labels", "messages": ["invalid label key %r" % key]}]})
        if not isinstance(value, str) or (value and not _NAME.match(value)):
            raise ApiError(422, "invalid_input", "invalid label value %r" % value,
                           details={"fields": [{"name": "labels", "messages": ["invalid label value %r" % value]}]})


@functools.lru_cache(maxsize=256)
def _parsed(selector):
    """``parse`` once per selector: a listing matches every stored object against the same one."""
    return tuple(parse(selector))
