# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Where an API token comes from, for every cloud provider and DNS backend: one place.

Providers and backends take their credentials as ``{"api_token": ...}`` (the
modules' ``api_token`` option, ``autoextender_credentials.<name>.api_token``).
When none is given, the provider's environment variables below are read, the
first one set wins (docs/security.md lists them). RFC2136's TSIG key is not a
token: the rfc2136 backend takes ``tsig_key_name`` and ``tsig_key_secret``.
"""

from __future__ import annotations

import os

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import AUTH

#: the key of a credentials mapping that holds the token
KEY = "api_token"
#: provider -> environment variables read when no token is given, in order
ENV = {
    "hetzner": ("HCLOUD_TOKEN",),
    "linode": ("LINODE_TOKEN", "LINODE_API_TOKEN"),
    "lab": ("LAB_CLOUD_TOKEN",),
    "powerdns": ("PDNS_API_KEY",),
    "cloudflare": ("CLOUDFLARE_API_TOKEN",),
}
#: provider -> its name in messages
TITLE = {"hetzner": "Hetzner Cloud", "linode": "Linode", "lab": "the lab cloud", "powerdns": "PowerDNS",
         "cloudflare": "Cloudflare"}


def env_names(provider):
    """The environment variables ``provider``'s token may come from."""
    return ENV.get(provider, ())


def sources(provider):
    """Where the token may come from, as messages say it: ``api_token or HCLOUD_TOKEN``."""
    return " or ".join((KEY,) + env_names(provider))


def lookup(provider, credentials=None, environ=None):
    """The token of ``provider``: ``credentials["api_token"]``, else its environment; None when there is none."""
    token = (credentials or {}).get(KEY)
    if token:
        return token
    environ = os.environ if environ is None else environ
    return next((environ[name] for name in env_names(provider) if environ.get(name)), None)


def require(provider, credentials=None, environ=None):
    """The token of ``provider``, or an ``auth`` error that says where it may be given."""
    token = lookup(provider, credentials, environ)
    if not token:
        raise AutoextenderError("Failed to authenticate to %s: no API token (set %s)"
                                % (TITLE.get(provider, provider), sources(provider)), kind=AUTH)
    return token


def every_value(provider, credentials=None, environ=None):
    """Every token value ``provider`` could be using (given and environment), for redaction."""
    environ = os.environ if environ is None else environ
    found = [(credentials or {}).get(KEY)] + [environ.get(name) for name in env_names(provider)]
    return [value for value in found if value]
