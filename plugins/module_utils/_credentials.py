# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The one credential lookup of the workflows: ``autoextender_credentials`` -> module options.

``autoextender_credentials`` maps a cloud provider or DNS backend name to its
secrets (docs/security.md)::

    hetzner:  {api_token, api_url}     cloud_* modules, and the hetzner DNS backend (api_token)
    linode:   {api_token, api_url}     likewise
    lab:      {api_token, api_url}
    powerdns: {api_token}
    cloudflare: {api_token}
    rfc2136:  {tsig_key_name, tsig_key_secret}

``module_options(mapping, kind, name)`` returns the options of the ``cloud``
or ``dns`` action group for one provider; the roles pass them through
``module_defaults``, where every one is ``no_log``. A name missing from the
mapping gives ``{}``: the modules then read the controller's environment
(``HCLOUD_TOKEN``, ...), which ansible-core never prints.

Credentials never go through a task's ``environment:``: ansible-core prints
that at ``-vvv`` (``EXEC /bin/sh -c 'HCLOUD_TOKEN=... '``).
``environment_migration()`` tells a user who still sets the old
``autoextender_environment`` where each of its variables belongs now.

Errors name the key and the rule, never the value.
"""

from __future__ import annotations

from ansible_collections.talos.autoextender.plugins.module_utils import _api_token, _cloud_module
from ansible_collections.talos.autoextender.plugins.module_utils._dns import registry as dns_registry
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._providers import registry as cloud_registry

VARIABLE = "autoextender_credentials"
KINDS = ("cloud", "dns")
CLOUD_KEYS = ("api_token", "api_url")
DNS_KEYS = {"rfc2136": ("tsig_key_name", "tsig_key_secret")}
DNS_TOKEN_KEYS = ("api_token",)
#: variables of the old autoextender_environment that are not credentials of a provider
OTHER_ENVIRONMENT = {
    "LAB_CLOUD_CONFIG": "%s.lab.api_url and %s.lab.api_token (the url and token of that cloud.json)" % (VARIABLE, VARIABLE),
    "RFC2136_TSIG_KEY_NAME": "%s.rfc2136.tsig_key_name" % VARIABLE,
    "RFC2136_TSIG_SECRET": "%s.rfc2136.tsig_key_secret" % VARIABLE,
    "K8S_AUTH_KUBECONFIG": "autoextender_cluster.kubeconfig",
    "TALOSCONFIG": "autoextender_cluster.talosconfig",
}


def entry_keys(name):
    """The keys an entry of ``name`` may have (a provider that is a cloud and a DNS backend: the union)."""
    keys = []
    if name in cloud_registry.names():
        keys += CLOUD_KEYS
    if name in dns_registry.names():
        keys += [k for k in DNS_KEYS.get(name, DNS_TOKEN_KEYS) if k not in keys]
    return tuple(keys)


def names():
    return sorted(set(cloud_registry.names()) | set(dns_registry.names()))


def validate(mapping, variable=VARIABLE):
    """``mapping`` as a plain dict of dicts without empty values; a clear error on anything else.

    ``variable``: the name errors give (``autoextender_credentials_new`` for a rotation).
    """
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise AutoextenderError("%s must be a mapping of provider names to their credentials, not a %s"
                                % (variable, type(mapping).__name__), kind=VALIDATION)
    out = {}
    for name, entry in mapping.items():
        allowed = entry_keys(name)
        if not allowed:
            raise AutoextenderError("%s has an unknown provider %r; the keys are cloud providers and DNS backends: %s"
                                    % (variable, name, ", ".join(names())), kind=VALIDATION)
        if entry is None:
            continue
        if not isinstance(entry, dict):
            raise AutoextenderError("%s.%s must be a mapping with %s, not a %s"
                                    % (variable, name, " and/or ".join(allowed), type(entry).__name__),
                                    kind=VALIDATION)
        clean = {}
        for key, value in entry.items():
            if key not in allowed:
                raise AutoextenderError("%s.%s has an unknown key %r; %s takes %s"
                                        % (variable, name, key, name, ", ".join(allowed)), kind=VALIDATION)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                # The value itself is never named: it may be a secret.
                raise AutoextenderError("%s.%s.%s must be a string, not %s"
                                        % (variable, name, key, type(value).__name__), kind=VALIDATION)
            clean[key] = value
        out[name] = clean
    return out


def module_options(mapping, kind, name):
    """The credential options of the ``kind`` action group (``cloud`` or ``dns``) for provider ``name``."""
    if kind not in KINDS:
        raise AutoextenderError("The kind of credentials must be one of %s, not %r" % (", ".join(KINDS), kind),
                                kind=VALIDATION)
    entry = validate(mapping).get(name) or {}
    if kind == "cloud":
        keys = CLOUD_KEYS
    else:
        keys = DNS_KEYS.get(name, DNS_TOKEN_KEYS)
    return dict((k, entry[k]) for k in keys if k in entry)


def environment_map():
    """``{old environment variable: where it belongs now}``, derived from what the modules read."""
    out = {}
    for provider, names in _api_token.ENV.items():
        for var in names:
            out.setdefault(var, "%s.%s.api_token" % (VARIABLE, provider))
    for provider, var in _cloud_module.URL_ENV.items():
        out[var] = "%s.%s.api_url" % (VARIABLE, provider)
    out.update(OTHER_ENVIRONMENT)
    return out


def environment_migration(environment):
    """None when ``environment`` (the old ``autoextender_environment``) is unset or empty, else the message
    that says it is no longer read and where each of its variables goes (names only, never values)."""
    if not environment:
        return None
    if not isinstance(environment, dict):
        return "autoextender_environment is no longer read: remove it and use %s (docs/security.md)" % VARIABLE
    known = environment_map()
    moves = []
    for var in sorted(environment, key=str):
        moves.append("%s -> %s" % (var, known.get(var, "not a credential the collection reads; export it in the "
                                                       "shell that runs ansible-playbook if a tool needs it")))
    return ("autoextender_environment is no longer read: ansible-core prints a task's environment at -vvv, so "
            "every credential given that way leaked into the output and the log. Remove it and give the "
            "credentials in %s (from ansible-vault, SOPS or a lookup), or export them in the shell that runs "
            "ansible-playbook (docs/security.md). Where each variable goes: %s."
            % (VARIABLE, "; ".join(moves)))
