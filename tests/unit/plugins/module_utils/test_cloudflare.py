"""The Cloudflare backend's pure parts: value normalisation and the replace plan."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._dns import registry
from ansible_collections.talos.autoextender.plugins.module_utils._dns.cloudflare import (
    CloudflareProvider, normalise_value, plan_replace)
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError


def rec(rid, content, ttl=60, proxied=False):
    return {"id": rid, "content": content, "ttl": ttl, "proxied": proxied}


@pytest.mark.parametrize("rtype, raw, expected", [
    ("CNAME", "Edge.Example.org", "edge.example.org."),
    ("CNAME", "edge.example.org.", "edge.example.org."),
    ("AAAA", "2001:db8:0:0:0:0:0:1", "2001:db8::1"),
    ("A", "192.0.2.1", "192.0.2.1"),
    ("TXT", '"owner=home"', "owner=home"),
    ("TXT", "owner=home", "owner=home"),
])
def test_normalise_value(rtype, raw, expected):
    assert normalise_value(rtype, raw) == expected


@pytest.mark.parametrize("existing, values, ttl, expected", [
    # nothing there: create everything
    ([], ["192.0.2.1", "192.0.2.2"], 60, ([], ["192.0.2.1", "192.0.2.2"], [])),
    # already right: nothing to do
    ([rec("1", "192.0.2.1")], ["192.0.2.1"], 60, ([], [], [])),
    # add one
    ([rec("1", "192.0.2.1")], ["192.0.2.1", "192.0.2.2"], 60, ([], ["192.0.2.2"], [])),
    # remove one
    ([rec("1", "192.0.2.1"), rec("2", "192.0.2.2")], ["192.0.2.2"], 60, ([], [], ["1"])),
    # swap: overwrite in place, never delete first
    ([rec("1", "192.0.2.1")], ["192.0.2.9"], 60, ([("1", "192.0.2.9")], [], [])),
    # TTL change and a proxied record are overwritten
    ([rec("1", "192.0.2.1", ttl=300), rec("2", "192.0.2.2", proxied=True)], ["192.0.2.1", "192.0.2.2"], 60,
     ([("1", "192.0.2.1"), ("2", "192.0.2.2")], [], [])),
    # a duplicate value is stale and is reused for a new value
    ([rec("1", "192.0.2.1"), rec("2", "192.0.2.1")], ["192.0.2.1", "192.0.2.3"], 60, ([("2", "192.0.2.3")], [], [])),
])
def test_plan_replace(existing, values, ttl, expected):
    overwrite, create, delete = plan_replace(existing, "A", ttl, values)
    assert ([(r["id"], v) for r, v in overwrite], create, [r["id"] for r in delete]) == expected


def test_registry_builds_it_without_io(monkeypatch):
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    provider = registry.backend("cloudflare", "Example.org.", {"api_token": "secret-token"})
    assert isinstance(provider, CloudflareProvider)
    assert provider.zone == "example.org." and provider.atomic_replace is False and provider.min_ttl == 60
    assert provider.secrets() == ["secret-token"]


def test_missing_token_is_an_auth_error(monkeypatch):
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    with pytest.raises(AutoextenderError, match="CLOUDFLARE_API_TOKEN") as err:
        CloudflareProvider("example.org", {}, {"api_url": "http://127.0.0.1:9"}).get("edge.example.org.", "A")
    assert err.value.kind == "auth"
