"""talos_machine_config's ``patches`` is no_log: a registry password in a patch is applied, never printed.

The real talosctl renders the config; the module runs through ansible-playbook at -vvvv in diff mode with
ANSIBLE_LOG_PATH set, and every output is searched. Short plain values of the patches stay readable, so the
returned path and size are not garbled by the masking (issue 11).
"""
import json
import os
import subprocess
import sys

import yaml

from tests.integration.test_talos_machine_config import PLAYBOOK, bundle_secrets
from tests.support.ansible import REPO, task_results

PASSWORD = "pw-" + os.urandom(3).hex()  # short: hidden because it sits under `password`
TOKEN = "identity-token-" + os.urandom(12).hex()
TEXT_SECRET = "proxy-" + os.urandom(6).hex()
PATCHES = [
    {"machine": {"registries": {"config": {"registry.example.com": {"auth": {
        "username": "bot", "password": PASSWORD, "identityToken": TOKEN}}}},
        # "edge" is in the returned path (dest edge.yaml): hiding it would garble the result.
        "nodeLabels": {"tier": "edge"}}},
    [{"op": "add", "path": "/machine/registries/config/mirror.example.com",
      "value": {"auth": {"username": "bot", "password": PASSWORD + "-2"}}}],
    "machine:\n  env:\n    https_proxy: http://bot:%s@proxy.example.com:3128\n" % TEXT_SECRET,
]


def run(extra_file, *args, **env):
    """ansible-playbook with the extra vars from a file (-vvvv prints command-line extra vars)."""
    full_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"),
                    ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false",
                    ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1")
    full_env.update(env)
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return subprocess.run([exe, "-i", "localhost,", "-c", "local", PLAYBOOK, "-e", "@" + extra_file] + list(args),
                          capture_output=True, text=True, env=full_env, cwd=REPO, timeout=600, check=False)


def test_patch_secrets_are_applied_and_never_printed(talosctl, secrets_bundle, tmp_path):
    dest = str(tmp_path / "edge.yaml")
    extra = str(tmp_path / "extra.json")
    with open(extra, "w") as f:
        json.dump({"talosctl_path": talosctl.path, "secrets_bundle": secrets_bundle[0], "dest": dest,
                   "talos_version": "v1.13.9", "patches": PATCHES}, f)
    log = str(tmp_path / "ansible.log")
    loud = run(extra, "-vvvv", "--diff", ANSIBLE_LOG_PATH=log, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    with open(log) as f:
        logged = f.read()
    assert loud.returncode == 0, loud.stdout[-4000:] + loud.stderr[-2000:]
    assert "EXEC /bin/sh -c" in loud.stdout and "--- before" in loud.stdout  # -vvvv and the diff were on
    secrets = [PASSWORD, PASSWORD + "-2", TOKEN, TEXT_SECRET] + bundle_secrets(secrets_bundle[1])
    for text in (loud.stdout, loud.stderr, logged):
        assert [s for s in secrets if s in text] == []
    # ansible-core 2.20 prints the module's invocation at -vvvv, with the option masked; 2.21 prints no invocation.
    if '"module_args"' in loud.stdout:
        assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in loud.stdout

    # The patches were applied: the file (0600) holds them.
    with open(dest) as f:
        main = next(d for d in yaml.safe_load_all(f) if d and d.get("version") == "v1alpha1")
    registries = main["machine"]["registries"]["config"]
    assert registries["registry.example.com"]["auth"]["password"] == PASSWORD
    assert registries["mirror.example.com"]["auth"]["password"] == PASSWORD + "-2"
    assert TEXT_SECRET in main["machine"]["env"]["https_proxy"]

    # A repeat (check mode, diff) is unchanged, and the result is intact: path and size are not masked.
    proc = run(extra, "--check", "--diff")
    res = task_results(proc)["Config"]
    assert proc.returncode == 0 and res["changed"] is False
    assert res["talos_machine_config"]["path"] == dest
    assert res["talos_machine_config"]["size"] == os.path.getsize(dest)
    assert res["talos_machine_config"]["node_labels"]["tier"] == "edge"
    assert [s for s in secrets if s in proc.stdout + proc.stderr] == []
