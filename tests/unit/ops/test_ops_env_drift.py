"""Every scheduler recipe (AWX, Semaphore, the CronJob) injects exactly the credential environment
variables the collection's plugins read, found by scanning plugins/ so the two cannot drift apart."""
import json

from tests.unit.ops.recipes import (NOT_CREDENTIALS, RUNTIME, awx_credential_types, credential_env, cronjob_container,
                                    env_read_by_plugins, semaphore_project, semaphore_secret_names)


def test_the_scan_finds_the_variables_we_know_of():
    """Guards the scanner itself: if a refactor hid these names from it, every check below would be empty."""
    found = env_read_by_plugins()
    for name in ("HCLOUD_TOKEN", "LINODE_TOKEN", "PDNS_API_KEY", "CLOUDFLARE_API_TOKEN", "RFC2136_TSIG_SECRET",
                 "RFC2136_TSIG_KEY_NAME", "K8S_AUTH_KUBECONFIG", "TALOSCONFIG"):
        assert name in found
    assert "LAB_TOKEN" not in found  # only an example in the inventory plugin's docs


def test_every_exception_is_still_read_by_the_plugins():
    """A stale entry in NOT_CREDENTIALS would hide nothing, but says the list needs review."""
    assert set(NOT_CREDENTIALS) <= env_read_by_plugins()


def test_awx_credential_types_inject_exactly_the_plugins_credentials():
    injected = {}
    for ctype in awx_credential_types():
        for name in ctype["injectors"].get("env", {}):
            assert name not in injected, "%s injected by %s and %s" % (name, injected.get(name), ctype["name"])
            injected[name] = ctype["name"]
    assert set(injected) == credential_env()


def test_awx_injectors_only_use_their_own_inputs():
    for ctype in awx_credential_types():
        fields = {f["id"] for f in ctype["inputs"]["fields"]}
        assert set(ctype["inputs"]["required"]) <= fields
        templates = list(ctype["injectors"].get("env", {}).values()) + list(ctype["injectors"].get("file", {}).values())
        templates += list(ctype["injectors"].get("extra_vars", {}).values())
        for template in templates:
            used = template.replace("{{", "").replace("}}", "").strip()
            if used.startswith("tower.filename."):
                assert "template." + used.split(".")[-1] in ctype["injectors"]["file"]
            else:
                assert used in fields, (ctype["name"], template)
        secret = {f["id"] for f in ctype["inputs"]["fields"] if f.get("secret")}
        assert secret, "%s has no secret input" % ctype["name"]


def test_semaphore_environment_sets_exactly_the_plugins_credentials():
    environment = semaphore_project()["environments"][0]
    plain = {k for k in json.loads(environment["env"]) if not RUNTIME.match(k)}
    secrets = semaphore_secret_names()
    assert not plain & secrets
    assert plain | secrets == credential_env()
    # Files are paths in plain variables; tokens only ever as secrets.
    assert plain == {"TALOSCONFIG", "K8S_AUTH_KUBECONFIG"}


def test_cronjob_sets_the_plugins_credentials_from_secrets_only():
    env = {e["name"]: e for e in cronjob_container()["env"] if not RUNTIME.match(e["name"])}
    # In the cluster the modules use the pod's service account instead of a kubeconfig.
    assert set(env) == credential_env() - {"K8S_AUTH_KUBECONFIG"}
    for name, entry in env.items():
        if name == "TALOSCONFIG":
            assert entry["value"].startswith("/etc/autoextender/talos/")
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"], ref["optional"]) == ("autoextender-credentials", name, True)
