"""The TXT ownership registry: format, parsing, status and the refusal rules."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._dns import ownership
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError

OURS = "heritage=talos-autoextender,talos-autoextender/owner=home,talos-autoextender/record-type=A"
EXTERNAL_DNS = "heritage=external-dns,external-dns/owner=home,external-dns/resource=ingress/default/web"


def claims(*values):
    return {"name": "_autoextender.edge.example.org.", "type": "TXT", "ttl": 60, "values": sorted(values)}


def test_format_is_the_documented_one():
    assert ownership.claim_name("edge.example.org.") == "_autoextender.edge.example.org."
    assert ownership.claim_value("home", "a") == OURS
    assert ownership.parse_claim(OURS) == ("home", "A")


@pytest.mark.parametrize("value", [EXTERNAL_DNS, "v=spf1 -all", "", None, OURS + ",extra=1",
                                   OURS.replace("talos-autoextender,", "external-dns,", 1)])
def test_other_values_are_not_claims(value):
    assert ownership.parse_claim(value) is None


@pytest.mark.parametrize("owner", ["home", "home-lab", "a", "cluster.example_1"])
def test_valid_owners(owner):
    assert ownership.validate_owner(owner) == owner


@pytest.mark.parametrize("owner", ["", None, "Home", "a,b", "a=b", "-home", "x" * 64, "home lab"])
def test_invalid_owners(owner):
    with pytest.raises(AutoextenderError, match="is not valid"):
        ownership.validate_owner(owner)


def test_status():
    c = claims(OURS, ownership.claim_value("lab", "AAAA"), EXTERNAL_DNS)
    assert ownership.status(c, "A", "home") == ownership.OWNED
    assert ownership.status(c, "AAAA", "home") == ownership.FOREIGN
    assert ownership.status(c, "TXT", "home") == ownership.UNOWNED
    assert ownership.status(None, "A", "home") == ownership.UNOWNED


@pytest.mark.parametrize("state, exists, take, refused", [
    (ownership.OWNED, True, False, False),
    (ownership.UNOWNED, False, False, False),
    (ownership.UNOWNED, True, False, True),
    (ownership.UNOWNED, True, True, False),
    (ownership.FOREIGN, False, False, True),
    (ownership.FOREIGN, True, False, True),
    (ownership.FOREIGN, True, True, False),
])
def test_guard(state, exists, take, refused):
    c = claims(ownership.claim_value("lab", "A"))
    if refused:
        with pytest.raises(AutoextenderError) as e:
            ownership.guard(state, exists, take, "edge.example.org.", "A", c)
        assert e.value.kind == "conflict" and "take_ownership" in e.value.msg
    else:
        ownership.guard(state, exists, take, "edge.example.org.", "A", c)


def test_claim_keeps_foreign_values_and_replaces_other_owners_of_the_type():
    c = claims(ownership.claim_value("lab", "A"), ownership.claim_value("lab", "AAAA"), "note")
    after = ownership.with_claim(c, "edge.example.org.", "A", "home", 60)
    assert after["values"] == sorted([OURS, ownership.claim_value("lab", "AAAA"), "note"])
    assert ownership.without_claim(after, "A", "home") == sorted([ownership.claim_value("lab", "AAAA"), "note"])
    assert ownership.without_claim(after, "A", "lab") == after["values"]


class MemoryProvider(object):
    """A dict-backed stand-in for a DNS server, recording the order of writes."""

    def __init__(self):
        self.sets = {}
        self.writes = []

    def get(self, name, rtype):
        return self.sets.get((name, rtype))

    def replace(self, rrset):
        self.writes.append(("replace", rrset["name"], rrset["type"]))
        self.sets[(rrset["name"], rrset["type"])] = rrset

    def delete(self, name, rtype):
        self.writes.append(("delete", name, rtype))
        return self.sets.pop((name, rtype), None) is not None


def test_registry_writes_only_when_needed_and_drops_an_empty_claim_set():
    provider = MemoryProvider()
    registry = ownership.Registry(provider)
    written = registry.claim("edge.example.org.", "A", "home", 60)
    assert provider.writes == [("replace", "_autoextender.edge.example.org.", "TXT")]
    registry.claim("edge.example.org.", "A", "home", 60, written)
    assert len(provider.writes) == 1
    registry.release("edge.example.org.", "A", "home", registry.read("edge.example.org."))
    assert provider.writes[-1] == ("delete", "_autoextender.edge.example.org.", "TXT")
    assert registry.read("edge.example.org.") is None
