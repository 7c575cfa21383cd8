"""_validate: each rule with parametrized good and bad values, the option walk, the module wrapper."""
import json

import pytest
from ansible.module_utils import basic
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._validate import (
    PORT,
    SHARED_RULES,
    Address,
    Hostname,
    NumericId,
    PortSpec,
    Range,
    Url,
    ValidatedModule,
    check_options,
    one_true_of,
    shape_errors,
)

GOOD = [
    (Range(0, 86400), 0), (Range(0, 86400), 86400), (Range(0), 10 ** 9), (Range(0.1, 3600, number=float), 0.5),
    (PORT, 1), (PORT, 65535),
    (PortSpec(), "443"), (PortSpec(), "30000-32767"), (PortSpec(), "100-100"), (PortSpec(), " 80 "),
    (Hostname(), "edge-1"), (Hostname(), "hel1-a-1.example.org"), (Hostname(), "a" * 63), (Hostname(), "1node"),
    (NumericId(), "38"), (NumericId(), 38),
    (Address(4), "192.0.2.1"), (Address(6), "2001:db8::1"), (Address(network=True), "192.0.2.0/24"),
    (Address(network=True), "::/0"), (Address(network=True), "192.0.2.7"),
    (Url(), "https://api.example.com"), (Url(), "http://127.0.0.1:8081/api"), (Url(), ""),
]
BAD = [
    (Range(0, 86400), -1), (Range(0, 86400), 86401), (Range(1), 0), (Range(0.1, 3600, number=float), 0.0),
    (PORT, 0), (PORT, 70000), (Range(0), "5"),
    (PortSpec(), "200-100"), (PortSpec(), "0"), (PortSpec(), "70000"), (PortSpec(), "80-70000"), (PortSpec(), "http"),
    (PortSpec(), "1-2-3"), (PortSpec(), ""),
    (Hostname(), "edge node"), (Hostname(), "-edge"), (Hostname(), "edge-"), (Hostname(), "Edge_1"),
    (Hostname(), "a" * 64), (Hostname(), ""), (Hostname(), "a..b"), (Hostname(), ("a" * 63 + ".") * 4 + "a"),
    (NumericId(), "fw-main"), (NumericId(), "0"), (NumericId(), "-3"), (NumericId(), "12a"),
    (Address(4), "2001:db8::1"), (Address(6), "192.0.2.1"), (Address(4), "300.1.2.3"),
    (Address(network=True), "10.0.0.0/33"), (Address(network=True), "somewhere"),
    (Url(), "api.example.com"), (Url(), "ftp://api.example.com"), (Url(), "https://"),
    (Url(), "https://api.example.com:99999"),
]


@pytest.mark.parametrize("rule,value", GOOD)
def test_good_values_pass(rule, value):
    assert rule.check("opt", value) == value


@pytest.mark.parametrize("rule,value", BAD)
def test_bad_values_name_the_option_the_value_and_the_rule(rule, value):
    with pytest.raises(AutoextenderError) as e:
        rule.check("parent.opt", value)
    assert e.value.kind == "validation"
    assert e.value.msg == "parent.opt %s is invalid: must be %s" % (repr(value) if isinstance(value, str) else value,
                                                                    rule.text)
    assert e.value.failure() == {"kind": "validation", "option": "parent.opt", "value": value, "rule": rule.text}


@pytest.mark.parametrize("rule", [Range(0, 86400), Range(1), PORT, PortSpec(), Hostname(), NumericId(), Address(4),
                                  Address(6), Address(network=True), Url()])
def test_bad_examples_are_bad(rule):
    assert rule.bad_values()
    for value in rule.bad_values():
        assert not rule.valid(value), value


def test_none_is_not_set():
    assert Range(1).check("opt", None) is None and Hostname().check("opt", None) is None


def test_range_text():
    assert Range(0, 86400, "seconds").text == "an integer from 0 to 86400 (seconds)"
    assert Range(1).text == "an integer of at least 1"
    assert Range(0.1, 3600, number=float).text == "a number from 0.1 to 3600"


SPEC = dict(
    wait_timeout=dict(type="int"),
    ports=dict(type="list", elements="int"),
    probe=dict(type="dict", options=dict(http=dict(type="dict", options=dict(port=dict(type="int"))))),
    rules=dict(type="list", elements="dict", options=dict(port=dict(type="str"))),
)
RULES = dict(SHARED_RULES, ports=PORT, **{"probe.http.port": PORT, "rules.port": PortSpec()})


@pytest.mark.parametrize("params,option,value", [
    ({"wait_timeout": -5}, "wait_timeout", -5),
    ({"ports": [80, 0]}, "ports[1]", 0),
    ({"probe": {"http": {"port": 70000}}}, "probe.http.port", 70000),
    ({"rules": [{"port": "443"}, {"port": "200-100"}]}, "rules[1].port", "200-100"),
])
def test_the_walk_names_the_full_path(params, option, value):
    with pytest.raises(AutoextenderError) as e:
        check_options(params, SPEC, RULES)
    assert (e.value.details["option"], e.value.details["value"]) == (option, value)
    assert e.value.msg.startswith("%s %s is invalid" % (option, repr(value) if isinstance(value, str) else value))


def test_the_walk_accepts_good_and_unset_values():
    check_options({"wait_timeout": 0, "ports": [80, 443], "probe": {"http": None}, "rules": [{"port": None}]}, SPEC,
                  RULES)


@pytest.mark.parametrize("params,paths", [
    ({"probe": 42}, ["probe"]),
    ({"probe": True}, ["probe"]),
    ({"probe": "not a mapping"}, ["probe"]),
    ({"probe": {"http": 5}}, ["probe.http"]),
    ({"probe": '{"http": {"port": 1}}'}, []),
    ({"probe": "http=x"}, ["probe.http"]),  # key=value text is parsed, then its http checked
    ({"rules": [{"port": "1"}]}, []),
])
def test_shape_errors(params, paths):
    assert [p for p, dummy in shape_errors(params, SPEC)] == paths


def test_one_true_of():
    check = one_true_of("ipv4", "ipv6", when={"state": "present"}, why="a server needs a public address")
    check({"ipv4": False, "ipv6": True, "state": "present"})
    check({"ipv4": False, "ipv6": False, "state": "absent"})
    with pytest.raises(AutoextenderError) as e:
        check({"ipv4": False, "ipv6": False, "state": "present"})
    assert e.value.msg == ("ipv4=false, ipv6=false are all false: at least one of ipv4, ipv6 true: a server needs a "
                           "public address")


def run_module(args, capsys, **kwargs):
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
    basic._ANSIBLE_PROFILE = "legacy"
    try:
        with pytest.raises(SystemExit):
            ValidatedModule(argument_spec=dict(SPEC, token=dict(type="str", no_log=True)), **kwargs).exit_json()
    finally:
        basic._ANSIBLE_ARGS = None
    return json.loads(capsys.readouterr().out)


def test_the_module_fails_before_anything_and_masks_secrets(capsys):
    result = run_module({"wait_timeout": 86401, "token": "s3cret-token"}, capsys)
    assert result["failed"] and result["failure"]["option"] == "wait_timeout"
    assert "s3cret-token" not in json.dumps(result)
    assert run_module({"wait_timeout": 5}, capsys).get("failed") is None


def test_the_module_refuses_a_number_for_a_mapping_without_crashing(capsys):
    result = run_module({"probe": {"http": 7}, "token": "s3cret-token"}, capsys)
    assert result["msg"] == "probe.http 7 is invalid: must be a mapping of the suboptions port"
    assert "s3cret-token" not in json.dumps(result)


def test_the_module_runs_its_checks(capsys):
    def refuse(params):
        raise AutoextenderError("no", kind="validation", details={"option": "ports"})
    assert run_module({}, capsys, checks=[refuse])["msg"] == "no"
