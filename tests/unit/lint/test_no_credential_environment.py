"""No play, block or task of the collection passes credentials through ``environment:``.

ansible-core prints a task's environment at -vvv (``EXEC /bin/sh -c 'HCLOUD_TOKEN=... '``), into the
output and ANSIBLE_LOG_PATH, whatever no_log says. Credentials reach modules as no_log options
(autoextender_credentials through module_defaults) or from the controller's own environment
(docs/security.md). This guard reads every YAML file of roles/, playbooks/, extensions/ and the test
playbooks and refuses an ``environment`` keyword that is a template (its content cannot be checked here)
or that names a credential-looking variable or value.
"""
import os
import re

import pytest
import yaml

# tests/unit/lint/<this file> -> the checkout
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TREES = ("roles", "playbooks", "extensions", os.path.join("tests", "integration", "playbooks"))
# Keys of a play, block or task that hold more tasks.
TASK_LISTS = ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always")
CREDENTIAL = re.compile(r"token|secret|passw|api_?key|auth|credential|kubeconfig|talosconfig|cloud_config|tsig"
                        r"|private|autoextender_environment", re.IGNORECASE)


class _Loader(yaml.SafeLoader):
    """SafeLoader that accepts the tags a role may use (!unsafe, !vault) as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node)
                              if isinstance(node, yaml.ScalarNode) else None)


def yaml_files():
    for tree in TREES:
        for root, dirs, files in os.walk(os.path.join(REPO, tree)):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if name.endswith((".yml", ".yaml")):
                    yield os.path.join(root, name)


def environments(node, where):
    """``(where, value)`` of every ``environment`` keyword of a play, block or task in ``node``."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from environments(item, "%s[%d]" % (where, i))
    elif isinstance(node, dict):
        # A play, a block or a task: it has one of these keys, or a module named by its FQCN.
        if "environment" in node and (set(node) & {"name", "hosts", "block", "roles", "tasks"}
                                      or any(isinstance(k, str) and "." in k for k in node)):
            yield where, node["environment"]
        for key in TASK_LISTS:
            if isinstance(node.get(key), list):
                yield from environments(node[key], "%s.%s" % (where, key))


def problem(value):
    """Why ``value`` (an environment keyword's value) may carry credentials, or None."""
    if isinstance(value, str):
        return "a template (%s): its variables cannot be checked, give a literal mapping" % value.strip()
    if not isinstance(value, dict):
        return "not a mapping"
    for key, item in value.items():
        if CREDENTIAL.search(str(key)):
            return "%s looks like a credential" % key
        if isinstance(item, str) and CREDENTIAL.search(item):
            return "%s=%s reads a credential-looking variable" % (key, item)
    return None


def yaml_docs():
    """``(path relative to the checkout, document)`` of every YAML document of ``yaml_files()``."""
    for path in yaml_files():
        with open(path) as f:
            try:
                docs = list(yaml.load_all(f, Loader=_Loader))
            except yaml.YAMLError:
                continue  # not Ansible YAML (ansible-lint reports broken YAML)
        for doc in docs:
            yield os.path.relpath(path, REPO), doc


def found():
    out = []
    for path, doc in yaml_docs():
        for where, value in environments(doc, ""):
            why = problem(value)
            if why:
                out.append("%s%s: environment is %s" % (path, where, why))
    return out


def test_the_guard_reads_the_collection():
    # A wrong root would read nothing and pass on anything.
    paths = set(path for path, _doc in yaml_docs())
    assert {"playbooks/provision.yml", "roles/edge_pool/tasks/main.yml"} <= paths, sorted(paths)[:5]


def test_no_credential_goes_through_environment():
    assert found() == [], "\n".join(["Credentials must not go through environment: (printed at -vvv), see "
                                     "docs/security.md:"] + found())


@pytest.mark.parametrize("task, refused", [
    ({"name": "t", "environment": "{{ autoextender_environment }}", "ansible.builtin.ping": {}}, True),
    ({"name": "t", "environment": {"HCLOUD_TOKEN": "x"}, "ansible.builtin.ping": {}}, True),
    ({"name": "t", "environment": {"X": "{{ vault_pdns_api_key }}"}, "ansible.builtin.ping": {}}, True),
    ({"name": "t", "environment": {"K8S_AUTH_KUBECONFIG": "/k"}, "ansible.builtin.ping": {}}, True),
    ({"name": "b", "block": [{"name": "t", "environment": {"LAB_CLOUD_CONFIG": "/c"}, "x.y.z": {}}]}, True),
    ({"hosts": "all", "roles": [], "environment": {"PDNS_API_KEY": "k"}}, True),
    ({"name": "t", "environment": {"LANG": "C.UTF-8"}, "ansible.builtin.ping": {}}, False),
    ({"name": "t", "ansible.builtin.ping": {}, "vars": {"environment": "a var named so"}}, False),
])
def test_the_guard_sees_the_forms_a_play_can_take(task, refused):
    hits = [problem(v) for _w, v in environments([task], "")]
    assert any(hits) is refused
