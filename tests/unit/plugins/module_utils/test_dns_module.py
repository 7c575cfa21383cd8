"""Input checks and backend selection shared by the DNS modules, and the manager's write order."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _dns_module as dm
from ansible_collections.talos.autoextender.plugins.module_utils._dns.powerdns import PowerDnsProvider
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
from tests.unit.plugins.module_utils.test_dns_ownership import MemoryProvider

ZONE = "example.org"


def provider():
    return PowerDnsProvider(ZONE, {"api_token": "k"}, {"api_url": "http://127.0.0.1:1"})


@pytest.mark.parametrize("rtype, value, expected", [
    ("A", " 192.0.2.1 ", "192.0.2.1"),
    ("AAAA", "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
    ("CNAME", "Edge.Example.org", "edge.example.org."),
    ("CNAME", "edge.example.org.", "edge.example.org."),
    ("TXT", 'a "quoted" value', 'a "quoted" value'),
])
def test_values_are_canonical(rtype, value, expected):
    assert dm.validate_value(rtype, value) == expected


@pytest.mark.parametrize("rtype, value, message", [
    ("A", "192.0.2.256", "not a valid IPv4"),
    ("A", "2001:db8::1", "not a valid IPv4"),
    ("A", "", "not a valid IPv4"),
    ("AAAA", "192.0.2.1", "not a valid IPv6"),
    ("CNAME", "bad name!", "not a valid CNAME target"),
    ("CNAME", ".", "not a valid CNAME target"),
    ("TXT", "x" * 256, "limited to 255 bytes"),
])
def test_invalid_values(rtype, value, message):
    with pytest.raises(AutoextenderError, match=message) as e:
        dm.validate_value(rtype, value)
    assert e.value.kind == "validation"


@pytest.mark.parametrize("name, rtype, message", [
    ("@", "CNAME", "cannot be at the zone apex"),
    ("example.org.", "CNAME", "cannot be at the zone apex"),
    ("edge.example.com.", "A", "outside the zone"),
    ("edge.badexample.org.", "A", "outside the zone"),
    ("_autoextender.edge", "TXT", "is an ownership record"),
    ("bad name", "A", "not a valid DNS name"),
    ("x" * 64, "A", "not a valid DNS name"),
])
def test_invalid_names(name, rtype, message):
    with pytest.raises(AutoextenderError, match=message):
        dm.validate_name(name, ZONE, rtype)


def test_validate_whole_set():
    assert dm.validate(provider(), "edge", "a", ["192.0.2.2", "192.0.2.1", "192.0.2.2"], 60, "present") == (
        "edge.example.org.", ["192.0.2.1", "192.0.2.2"])
    assert dm.validate(provider(), "@", "A", None, None, "absent") == ("example.org.", None)
    with pytest.raises(AutoextenderError, match="never published"):
        dm.validate(provider(), "edge", "A", [], 60, "present")
    with pytest.raises(AutoextenderError, match="ttl 0 is out of range"):
        dm.validate(provider(), "edge", "A", ["192.0.2.1"], 0, "present")
    with pytest.raises(AutoextenderError, match="exactly one value"):
        dm.validate(provider(), "www", "CNAME", ["a.example.", "b.example."], 60, "present")
    with pytest.raises(AutoextenderError, match="type must be one of"):
        dm.validate(provider(), "edge", "MX", ["10 mx.example."], 60, "present")


@pytest.mark.parametrize("current, new, minimum, refused", [
    (["a", "b", "c"], ["a"], 2, True),
    (["a", "b", "c"], ["a", "b"], 2, False),
    (["a"], ["b"], 2, False),  # not a shrink
    (None, ["a"], 2, False),   # a new set
    (["a", "b"], ["a"], 1, False),
])
def test_shrink_refused(current, new, minimum, refused):
    assert dm.shrink_refused(current, new, minimum) is refused


def test_token_from_the_providers_environment_variable(monkeypatch):
    params = {"provider": "powerdns", "zone": ZONE, "api_url": "http://127.0.0.1:1"}
    monkeypatch.delenv("PDNS_API_KEY", raising=False)
    monkeypatch.setenv("HCLOUD_TOKEN", "not-for-powerdns")
    with pytest.raises(AutoextenderError, match="needs api_token .or the environment variable PDNS_API_KEY"):
        dm.backend_from_params(params, Deadline(5))
    monkeypatch.setenv("PDNS_API_KEY", "from-env")
    backend = dm.backend_from_params(params, Deadline(5))
    assert backend.credentials["api_token"] == "from-env" and set(backend.secrets()) == {"from-env"}
    assert "server" not in backend.options, "options not set are left out, so backends apply their defaults"
    backend = dm.backend_from_params(dict(params, api_token="explicit"), Deadline(5))
    assert backend.credentials["api_token"] == "explicit"


def test_rfc2136_backend_options():
    deadline = Deadline(5)
    backend = dm.backend_from_params({"provider": "rfc2136", "zone": ZONE, "server": "192.0.2.53", "port": 5353,
                                      "tsig_key_name": "k.", "tsig_key_secret": "c2VjcmV0"}, deadline)
    assert backend.credentials == {"tsig_key_secret": "c2VjcmV0"}
    assert backend.options["server"] == "192.0.2.53" and backend.options["deadline"] is deadline


def test_manager_claims_before_writing_and_releases_after_deleting():
    memory = MemoryProvider()
    memory.zone = ZONE + "."
    manager = dm.RecordSetManager(memory, "home")
    assert manager.read("edge.example.org.", "A") is None
    manager.write("edge.example.org.", "A", 60, ["192.0.2.1"])
    assert memory.writes == [("replace", "_autoextender.edge.example.org.", "TXT"), ("replace", "edge.example.org.", "A")]
    current = manager.read("edge.example.org.", "A")
    assert current["owner"] == "home"
    manager.remove("edge.example.org.", "A")
    assert memory.writes[-2:] == [("delete", "edge.example.org.", "A"), ("delete", "_autoextender.edge.example.org.", "TXT")]


def test_manager_refuses_an_unowned_set_before_any_write():
    memory = MemoryProvider()
    memory.sets[("edge.example.org.", "A")] = {"name": "edge.example.org.", "type": "A", "ttl": 60, "values": ["x"]}
    with pytest.raises(AutoextenderError) as e:
        dm.RecordSetManager(memory, "home").read("edge.example.org.", "A")
    assert e.value.kind == "conflict" and memory.writes == []
    assert dm.RecordSetManager(memory, "home", take_ownership=True).read("edge.example.org.", "A")["owner"] is None
