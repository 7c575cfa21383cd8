"""Read the ops recipes (extras/) and what the plugins read from the environment, for the ops unit tests."""
import json
import os
import re

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
EXTRAS = os.path.join(REPO, "extras")
WORKFLOWS = ["provision", "migrate", "decommission", "failover", "status"]

# Environment variables the plugins read that are not credentials the recipes must inject, and why.
NOT_CREDENTIALS = {
    "PATH": "where talosctl is searched; the execution environment has it on PATH",
    "AUTOEXTENDER_TOOLS": "talosctl's folder on a workstation; the execution environment has it on PATH",
    "KUBERNETES_SERVICE_HOST": "set by Kubernetes in every pod (in-cluster configuration)",
    "KUBECONFIG": "the kubernetes library's own default; the recipes set K8S_AUTH_KUBECONFIG",
    "K8S_AUTH_CONTEXT": "a context name, not a credential (the kubeconfig's current context is used)",
    "HCLOUD_ENDPOINT": "API URL override for simulators",
    "LINODE_API_URL": "API URL override for simulators",
    "LINODE_API_TOKEN": "an alias the Linode provider also accepts; the recipes set LINODE_TOKEN",
    "LAB_CLOUD_URL": "the local lab only",
    "LAB_CLOUD_TOKEN": "the local lab only",
    "LAB_CLOUD_CONFIG": "the local lab only",
}
# Runtime settings a recipe may set besides credentials (not read by the plugins).
RUNTIME = re.compile(r"^(HOME|ANSIBLE_[A-Z_]+)$")

_LITERAL = re.compile(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"')
_MARKUP = re.compile(r"E\(([A-Z][A-Z0-9_]*)\)")
_ENV_CONTEXT = re.compile(r"environ|env_fallback|_ENV\b|_ENVS\b|E\(")


def env_read_by_plugins():
    """Names of environment variables the plugins read: every API token variable (``_api_token.ENV``, the one
    table of them), string literals on lines that deal with the environment (os.environ, env_fallback, *_ENV
    constants) and E() references in their docs."""
    from ansible_collections.talos.autoextender.plugins.module_utils import _api_token
    found = set(name for names in _api_token.ENV.values() for name in names)
    for base, dummy, files in os.walk(os.path.join(REPO, "plugins")):
        for name in files:
            if not name.endswith(".py"):
                continue
            with open(os.path.join(base, name)) as f:
                for line in f:
                    found.update(_MARKUP.findall(line))
                    if _ENV_CONTEXT.search(line):
                        found.update(_LITERAL.findall(line))
    return found


def credential_env():
    """What every recipe must inject: the plugins' environment variables that are credentials."""
    return env_read_by_plugins() - set(NOT_CREDENTIALS)


class _UnsafeLoader(yaml.SafeLoader):
    pass


_UnsafeLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load_yaml(*parts):
    with open(os.path.join(REPO, *parts)) as f:
        return yaml.load(f, Loader=_UnsafeLoader)  # noqa: S506 - SafeLoader plus Ansible's !unsafe tag


def awx_credential_types():
    return load_yaml("extras", "awx", "vars", "credential_types.yml")["autoextender_awx_credential_types"]


def semaphore_project():
    with open(os.path.join(EXTRAS, "semaphore", "project.json")) as f:
        return json.load(f)


def semaphore_secret_names():
    with open(os.path.join(EXTRAS, "semaphore", "setup.sh")) as f:
        match = re.search(r'^SECRET_ENV_VARS="([^"]*)"', f.read(), re.M)
    return set(match.group(1).split())


def cronjob_container():
    cronjob = load_yaml("extras", "cronjob", "cronjob.yaml")
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
