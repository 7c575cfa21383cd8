# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Find a DnsProvider class by name.

The backends are imported by name here (not with importlib) because
AnsiballZ ships a module only the module_utils it can see imported; each
backend guards its own library import, so a missing one fails only when used.
"""

from __future__ import annotations

from ansible_collections.talos.autoextender.plugins.module_utils._dns.cloudflare import CloudflareProvider
from ansible_collections.talos.autoextender.plugins.module_utils._dns.hetzner import HetznerDnsProvider
from ansible_collections.talos.autoextender.plugins.module_utils._dns.linode import LinodeDnsProvider
from ansible_collections.talos.autoextender.plugins.module_utils._dns.powerdns import PowerDnsProvider
from ansible_collections.talos.autoextender.plugins.module_utils._dns.rfc2136 import Rfc2136Provider
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION

#: backend name -> class; adding a backend adds one file, one import and one line here
BACKENDS = {
    "powerdns": PowerDnsProvider,
    "rfc2136": Rfc2136Provider,
    "cloudflare": CloudflareProvider,
    "hetzner": HetznerDnsProvider,
    "linode": LinodeDnsProvider,
}


def names():
    return sorted(BACKENDS)


def backend(name, zone, credentials, options=None):
    """An instance of the backend ``name``; a clear error if unknown."""
    if name not in BACKENDS:
        raise AutoextenderError("Unknown DNS provider %r; choose one of %s" % (name, ", ".join(names())),
                                kind=VALIDATION)
    return BACKENDS[name](zone, credentials, options)
