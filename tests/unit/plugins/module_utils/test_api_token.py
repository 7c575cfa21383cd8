"""The one token lookup: the given api_token first, then the provider's environment variables in order."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _api_token
from ansible_collections.talos.autoextender.plugins.module_utils._dns import registry as dns_registry
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers import registry as cloud_registry


def test_the_given_token_wins_over_the_environment():
    assert _api_token.lookup("hetzner", {"api_token": "given"}, {"HCLOUD_TOKEN": "env"}) == "given"
    assert _api_token.lookup("hetzner", {}, {"HCLOUD_TOKEN": "env"}) == "env"
    assert _api_token.lookup("hetzner", {"api_token": ""}, {"HCLOUD_TOKEN": "env"}) == "env"


def test_linode_reads_its_two_variables_in_order():
    assert _api_token.lookup("linode", None, {"LINODE_API_TOKEN": "second"}) == "second"
    assert _api_token.lookup("linode", None, {"LINODE_TOKEN": "first", "LINODE_API_TOKEN": "second"}) == "first"


def test_no_token_is_an_auth_error_naming_where_to_put_it():
    with pytest.raises(AutoextenderError) as err:
        _api_token.require("linode", {}, {})
    assert err.value.kind == "auth"
    assert err.value.msg == "Failed to authenticate to Linode: no API token (set api_token or LINODE_TOKEN or LINODE_API_TOKEN)"


def test_every_value_collects_what_could_be_in_use_for_redaction():
    found = _api_token.every_value("linode", {"api_token": "a"}, {"LINODE_TOKEN": "b", "LINODE_API_TOKEN": "c"})
    assert found == ["a", "b", "c"]


def test_every_token_provider_is_a_cloud_or_dns_provider_and_every_one_with_a_token_is_listed():
    known = set(cloud_registry.names()) | set(dns_registry.names())
    assert set(_api_token.ENV) <= known
    assert known - set(_api_token.ENV) == {"rfc2136"}  # a TSIG key, not a token
