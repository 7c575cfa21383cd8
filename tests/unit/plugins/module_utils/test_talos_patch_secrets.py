"""Which values of talos_machine_config's no_log ``patches`` stay hidden in its output."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._talos_machine_config import (
    patch_log_values,
    patch_secrets,
)

REGISTRY = {"machine": {"registries": {"config": {"registry.example.com": {"auth": {
    "username": "bot", "password": "pw1", "auth": "Ym90OnB3MQ==", "identityToken": "it"}}}}}}


@pytest.mark.parametrize("patches, secret, shown", [
    # Strategic merge: values under secret-looking keys, whatever their length; plain values stay readable.
    ([REGISTRY], ["pw1", "Ym90OnB3MQ==", "it"], ["bot"]),
    # A URL with a user and a password, under any key.
    ([{"machine": {"env": {"HTTPS_PROXY": "http://bot:pw@proxy:3128"}, "sysctls": {"vm.x": "65535"}}}],
     ["http://bot:pw@proxy:3128"], ["65535"]),
    # Files, inline manifests and headers can hold anything.
    ([{"machine": {"files": [{"path": "/var/etc/x", "content": "k=v"}], "kubelet": {"nodeIP": {
        "validSubnets": ["not-a-cidr-at-all"]}}},
       "cluster": {"inlineManifests": [{"name": "m", "contents": "kind: Secret"}],
                   "extraManifestHeaders": {"Authorization": "Bearer b"}}}],
     ["k=v", "kind: Secret", "Bearer b"], ["/var/etc/x", "not-a-cidr-at-all", "m"]),
    # JSON 6902: the value sits under the last segment of the op's path; paths and ops are shown.
    ([[{"op": "add", "path": "/machine/registries/config/r/auth/password", "value": "pw2"},
       {"op": "add", "path": "/machine/kubelet/extraArgs", "value": {"max-pods": "50"}}]],
     ["pw2"], ["add", "/machine/kubelet/extraArgs", "50"]),
    # A text patch: hidden whole, and its secret leaves too (they reappear in the rendered config).
    (["machine:\n  registries:\n    config:\n      r:\n        auth:\n          password: pw3\n"],
     ["pw3", "machine:\n  registries:\n    config:\n      r:\n        auth:\n          password: pw3\n"], []),
])
def test_secret_values_are_hidden_plain_short_ones_shown(patches, secret, shown):
    hidden = patch_secrets(patches)
    for value in secret:
        assert value in hidden
    for value in shown:
        assert value not in hidden and value in patch_log_values(patches)


def test_a_patch_file_is_read_for_its_secrets(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text("machine:\n  registries:\n    config:\n      r:\n        auth:\n          password: pw4\n")
    assert "pw4" in patch_secrets(["@%s" % path])


@pytest.mark.parametrize("bad, hidden", [("@/does/not/exist", []), ("a: [unclosed", ["a: [unclosed"]), (42, [])])
def test_a_bad_patch_is_left_to_the_renderer(bad, hidden):
    # The renderer reports it with a clear message; here a text patch is hidden whole, a file path is not secret.
    assert patch_secrets([bad]) == hidden


def test_what_ansible_hides_of_the_option():
    # Every string and number leaf, as ansible's no_log does (booleans and null are never hidden).
    assert patch_log_values([{"a": {"b": "x", "c": 50, "d": True, "e": None, "f": 1.5}}, ["y"]]) == {"x", "50", "1.5", "y"}
    assert patch_log_values(None) == set() and patch_secrets(None) == []
