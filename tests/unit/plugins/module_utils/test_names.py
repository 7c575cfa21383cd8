"""The shared name and number rules (_names.py): each rule accepts its edge values and refuses one past them."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _names


@pytest.mark.parametrize("value, ok", [
    ("edge", True), ("a", True), ("A1-b", True), ("x" * 63, True),
    ("x" * 64, False), ("", False), ("-a", False), ("a-", False), ("my edge", False), ("a_b", False),
    ("a.b", False), (None, False), (7, False),
])
def test_dns_label(value, ok):
    assert (_names.dns_label_problem(value) is None) is ok


@pytest.mark.parametrize("value, ok", [
    ("example.org", True), ("example.org.", True), ("edge.eu", True), (".".join(["a" * 63] * 3) + "." + "b" * 61, True),
    (".".join(["a" * 63] * 3) + "." + "b" * 62, False), ("a..b", False), ("my edge", False), ("", False),
    ("_acme.example.org", False),
])
def test_dns_name(value, ok):
    assert (_names.dns_name_problem(value) is None) is ok


def test_dns_name_reports_its_length():
    assert "254" in _names.dns_name_problem(".".join(["a" * 63] * 3) + "." + "b" * 62)


def test_underscore_first_label_only_when_allowed():
    assert _names.dns_name_problem("_autoextender.example.org", allow_underscore_first=True) is None
    assert _names.dns_name_problem("a._x.org", allow_underscore_first=True) is not None


@pytest.mark.parametrize("parts, ok", [
    (("_autoextender", "edge", "example.org"), True),
    (("_autoextender", "e" * 63 + "." + "f" * 63, "g" * 63 + "." + "h" * 47), True),   # 253
    (("_autoextender", "e" * 63 + "." + "f" * 63, "g" * 63 + "." + "h" * 48), False),  # 254
])
def test_joined_name(parts, ok):
    assert (_names.joined_name_problem(*parts) is None) is ok


@pytest.mark.parametrize("value, ok", [
    ("home-lab-a-1", True), ("x" * 63, True), ("x" * 64, False), ("Home-lab", False), ("home.lab", False),
    ("home_lab", False), ("-a", False),
])
def test_hostname(value, ok):
    assert (_names.hostname_problem(value) is None) is ok


@pytest.mark.parametrize("value, ok", [("hello", True), ("h-1", True), ("1hello", False), ("Hello", False)])
def test_k8s_service(value, ok):
    assert (_names.k8s_service_problem(value) is None) is ok


@pytest.mark.parametrize("value, ok", [
    ("", True), ("hetzner-hel1", True), ("A.b_c-1", True), ("x" * 63, True), ("x" * 64, False), ("-a", False),
    ("a b", False), (None, False),
])
def test_k8s_label_value(value, ok):
    assert (_names.k8s_label_value_problem(value) is None) is ok


@pytest.mark.parametrize("value, problem", [
    (1, None), (65535, None), (0, "must be between 1 and 65535"), (65536, "must be between 1 and 65535"),
    (70000, "must be between 1 and 65535"), (-1, "must be between 1 and 65535"), ("80", "must be a whole number"),
    (True, "must be a whole number"), (None, "must be a whole number"),
])
def test_port(value, problem):
    assert _names.port_problem(value) == problem


@pytest.mark.parametrize("value, problem", [
    (1, None), (2 ** 31 - 1, None), (0, "must be between 1 and 2147483647"), (-5, "must be between 1 and 2147483647"),
    (2 ** 31, "must be between 1 and 2147483647"),
])
def test_ttl(value, problem):
    assert _names.ttl_problem(value) == problem


@pytest.mark.parametrize("value, minimum, maximum, problem", [
    (0, 1, None, "must be at least 1"), (5, None, 4, "must be at most 4"), (3, 1, None, None), (3, None, None, None),
])
def test_int_range(value, minimum, maximum, problem):
    assert _names.int_range_problem(value, minimum, maximum) == problem
