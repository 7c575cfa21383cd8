"""autoextender_credentials -> the no_log options of one provider; the migration message of the old variable."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.talos.autoextender.plugins.filter.credentials import FilterModule, credentials
from ansible_collections.talos.autoextender.plugins.filter.credentials_migration import (
    FilterModule as MigrationFilterModule,
)
from ansible_collections.talos.autoextender.plugins.filter.credentials_migration import credentials_migration
from ansible_collections.talos.autoextender.plugins.module_utils import _api_token, _cloud_module, _dns_module
from ansible_collections.talos.autoextender.plugins.module_utils._credentials import (
    environment_map,
    environment_migration,
    module_options,
    names,
)
from ansible_collections.talos.autoextender.plugins.module_utils._dns import registry as dns_registry
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers import registry as cloud_registry

SECRET = "s3cr3t-value-never-in-a-message"
MAPPING = {
    "hetzner": {"api_token": "h-token", "api_url": "http://127.0.0.1:1/v1"},
    "linode": {"api_token": "l-token"},
    "lab": {"api_token": "lab-token", "api_url": "http://127.0.0.1:2"},
    "powerdns": {"api_token": "pdns-key"},
    "cloudflare": {"api_token": "cf-token"},
    "rfc2136": {"tsig_key_name": "edge-key", "tsig_key_secret": "dHNpZw=="},
}


@pytest.mark.parametrize("kind, name, expected", [
    ("cloud", "hetzner", {"api_token": "h-token", "api_url": "http://127.0.0.1:1/v1"}),
    ("cloud", "linode", {"api_token": "l-token"}),
    ("cloud", "lab", {"api_token": "lab-token", "api_url": "http://127.0.0.1:2"}),
    # The hetzner entry serves the hetzner DNS backend with its token; the DNS api_url is in autoextender_dns.
    ("dns", "hetzner", {"api_token": "h-token"}),
    ("dns", "linode", {"api_token": "l-token"}),
    ("dns", "powerdns", {"api_token": "pdns-key"}),
    ("dns", "cloudflare", {"api_token": "cf-token"}),
    ("dns", "rfc2136", {"tsig_key_name": "edge-key", "tsig_key_secret": "dHNpZw=="}),
])
def test_the_options_of_one_provider(kind, name, expected):
    assert module_options(MAPPING, kind, name) == expected


def test_the_options_are_options_the_modules_have():
    cloud = _cloud_module.connection_argument_spec()
    dns = _dns_module.dns_argument_spec()
    for name in cloud_registry.names():
        for option in module_options(MAPPING, "cloud", name):
            assert cloud[option].get("no_log") or option == "api_url"
    for name in dns_registry.names():
        options = module_options(MAPPING, "dns", name)
        assert options, name
        for option in options:
            assert dns[option].get("no_log") or option == "tsig_key_name"


@pytest.mark.parametrize("mapping", [None, {}, {"hetzner": None}, {"lab": {"api_token": "", "api_url": None}}])
def test_nothing_given_means_the_controllers_environment(mapping):
    assert module_options(mapping, "cloud", "lab") == {}
    assert module_options(mapping, "dns", "powerdns") == {}


@pytest.mark.parametrize("mapping, words", [
    ([SECRET], "must be a mapping of provider names"),
    ({"aws": {"api_token": SECRET}}, "unknown provider 'aws'; the keys are cloud providers and DNS backends: "
                                     "cloudflare, hetzner, lab, linode, powerdns, rfc2136"),
    ({"lab": {"token": SECRET}}, "autoextender_credentials.lab has an unknown key 'token'; lab takes api_token, api_url"),
    ({"powerdns": {"api_url": SECRET}}, "autoextender_credentials.powerdns has an unknown key 'api_url'"),
    ({"rfc2136": {"api_token": SECRET}}, "rfc2136 takes tsig_key_name, tsig_key_secret"),
    ({"lab": {"api_token": 12345678}}, "autoextender_credentials.lab.api_token must be a string, not int"),
    ({"lab": SECRET}, "autoextender_credentials.lab must be a mapping with api_token and/or api_url, not a str"),
])
def test_a_bad_mapping_names_the_key_never_the_value(mapping, words):
    # Any lookup checks the whole mapping, so a typo fails even for another provider.
    with pytest.raises(AutoextenderError) as e:
        module_options(mapping, "dns", "cloudflare")
    assert words in e.value.msg and SECRET not in e.value.msg and "12345678" not in e.value.msg
    with pytest.raises(AnsibleFilterError, match="autoextender_credentials"):
        credentials(mapping, "cloud", "hetzner")


def test_an_unknown_kind_is_refused():
    with pytest.raises(AnsibleFilterError, match="kind of credentials must be one of cloud, dns, not 'k8s'"):
        credentials(MAPPING, "k8s", "lab")


def test_every_provider_and_backend_is_a_key():
    assert names() == sorted(set(cloud_registry.names()) | set(dns_registry.names()))
    assert FilterModule().filters() == {"credentials": credentials}
    assert MigrationFilterModule().filters() == {"credentials_migration": credentials_migration}


def test_every_variable_the_modules_read_has_a_new_place():
    moved = environment_map()
    tokens = [name for names in _api_token.ENV.values() for name in names]
    for env in tokens + list(_cloud_module.URL_ENV.values()) + ["RFC2136_TSIG_SECRET", "RFC2136_TSIG_KEY_NAME"]:
        assert env in moved
    assert moved["HCLOUD_TOKEN"] == "autoextender_credentials.hetzner.api_token"
    assert moved["PDNS_API_KEY"] == "autoextender_credentials.powerdns.api_token"
    assert moved["K8S_AUTH_KUBECONFIG"] == "autoextender_cluster.kubeconfig"


@pytest.mark.parametrize("old", [None, {}, ""])
def test_no_old_variable_no_message(old):
    assert environment_migration(old) is None
    assert credentials_migration(old) == ""


def test_the_old_variable_says_where_each_variable_goes_without_its_value():
    message = credentials_migration({"PDNS_API_KEY": SECRET, "LAB_CLOUD_CONFIG": SECRET, "HTTPS_PROXY": SECRET})
    assert message.startswith("autoextender_environment is no longer read: ansible-core prints a task's environment")
    assert "PDNS_API_KEY -> autoextender_credentials.powerdns.api_token" in message
    assert "LAB_CLOUD_CONFIG -> autoextender_credentials.lab.api_url and autoextender_credentials.lab.api_token" in message
    assert "HTTPS_PROXY -> not a credential the collection reads" in message
    assert "docs/security.md" in message
    assert SECRET not in message
    assert "no longer read: remove it" in credentials_migration("{{ some_template }}")
