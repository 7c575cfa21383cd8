"""Pure logic of the Hetzner area: label-safe values, selectors (ours and the simulator's), TXT quoting."""
import re

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._dns.hetzner import quote_txt, unquote_txt
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers.hetzner import (
    check_labels,
    label_value,
    parse_selector,
    selector_string,
)
from tests.support.sim.base import ApiError
from tests.support.sim.hetzner import labels as sim_labels

SCHEMATIC = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"
# The pattern of label values in the Hetzner OpenAPI document.
HETZNER_VALUE = re.compile(r"^(()|[a-z0-9A-Z]|([a-z0-9A-Z][a-z0-9A-Z\._-]{0,61}[a-z0-9A-Z]))$")


@pytest.mark.parametrize("value", ["v1.13.9", "amd64", "", "a", "x" * 63, "talos-autoextender"])
def test_valid_values_are_kept(value):
    assert label_value(value) == value


@pytest.mark.parametrize("value", [SCHEMATIC, "x" * 64, "has spaces", "-leading", "ünïcode", "a/b", "trailing."])
def test_other_values_become_safe_and_deterministic(value):
    safe = label_value(value)
    assert HETZNER_VALUE.match(safe) and len(safe) <= 63
    assert safe == label_value(value) and safe != label_value(value + "x")


def test_schematic_keeps_a_recognisable_prefix():
    assert label_value(SCHEMATIC) == SCHEMATIC[:50] + "-f6a0c0c541cf"


def test_check_labels():
    ok = {"managed-by": "talos-autoextender", "example.com/role": "edge", "empty": ""}
    assert check_labels(ok) == ok
    for bad in ({"k": "x" * 64}, {"k": "a b"}, {"-k": "v"}, {"k" * 64: "v"}, {"k": 1}):
        with pytest.raises(AutoextenderError) as err:
            check_labels(bad)
        assert err.value.kind == "validation"


def test_selector_round_trip():
    labels = {"managed-by": "talos-autoextender", "autoextender-pool": "hel1-a", "talos-schematic": SCHEMATIC}
    text = selector_string(labels)
    assert text == "autoextender-pool=hel1-a,managed-by=talos-autoextender,talos-schematic=%s" % label_value(SCHEMATIC)
    assert parse_selector(text) == dict(labels, **{"talos-schematic": label_value(SCHEMATIC)})
    assert parse_selector("a==b, c!=d, e, !f, g in (h,i)") == {"a": "b"}
    assert selector_string({}) == ""


@pytest.mark.parametrize("expr, expected", [
    ("env=prod", True), ("env==prod", True), ("env=dev", False), ("env!=dev", True), ("env!=prod", False),
    ("missing!=x", True), ("env", True), ("missing", False), ("!missing", True), ("!env", False),
    ("env in (dev,prod)", True), ("env in (dev, test)", False), ("env notin (dev,test)", True),
    ("missing notin (a)", True), ("env=prod,tier=web", True), ("env=prod,tier=db", False),
    ("tier in (web,db),env=prod", True), ("", True), ("empty=", True), ("empty", True),
])
def test_simulator_selector_matches_like_hetzner(expr, expected):
    labels = {"env": "prod", "tier": "web", "empty": ""}
    assert sim_labels.matches(labels, expr) is expected


@pytest.mark.parametrize("expr", ["env=prod=x", "a in b", "=x", "a in (b", "k=v w"])
def test_simulator_rejects_bad_selectors(expr):
    with pytest.raises(ApiError) as err:
        sim_labels.matches({"a": "b"}, expr)
    assert err.value.status == 422 and err.value.code == "invalid_input"


@pytest.mark.parametrize("value, api", [
    ("hello", '"hello"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("", '""'),
    ("x" * 256, '"%s" "x"' % ("x" * 255)),
])
def test_txt_quoting(value, api):
    assert quote_txt(value) == api
    assert unquote_txt(api) == value


def test_unquoted_txt_from_elsewhere_is_kept():
    assert unquote_txt("plain") == "plain"
