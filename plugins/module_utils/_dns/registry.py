# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Find a DnsProvider class by name.

Each backend is imported only when asked for: a run on PowerDNS never loads
hcloud, linode_api4 or the Cloudflare client. The imports are still written
out, inside the loaders, because AnsiballZ ships a module only the
module_utils it can see imported; each backend guards its own library
import, so a missing one fails only when used.
"""

from __future__ import annotations

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION


def _powerdns():
    from ansible_collections.talos.autoextender.plugins.module_utils._dns.powerdns import PowerDnsProvider
    return PowerDnsProvider


def _rfc2136():
    from ansible_collections.talos.autoextender.plugins.module_utils._dns.rfc2136 import Rfc2136Provider
    return Rfc2136Provider


def _cloudflare():
    from ansible_collections.talos.autoextender.plugins.module_utils._dns.cloudflare import CloudflareProvider
    return CloudflareProvider


def _hetzner():
    from ansible_collections.talos.autoextender.plugins.module_utils._dns.hetzner import HetznerDnsProvider
    return HetznerDnsProvider


def _linode():
    from ansible_collections.talos.autoextender.plugins.module_utils._dns.linode import LinodeDnsProvider
    return LinodeDnsProvider


#: backend name -> loader of its class; adding a backend adds one file, one loader and one line here
BACKENDS = {
    "powerdns": _powerdns,
    "rfc2136": _rfc2136,
    "cloudflare": _cloudflare,
    "hetzner": _hetzner,
    "linode": _linode,
}


def names():
    return sorted(BACKENDS)


def backend(name, zone, credentials, options=None):
    """An instance of the backend ``name``; a clear error if unknown."""
    if name not in BACKENDS:
        raise AutoextenderError("Unknown DNS provider %r; choose one of %s" % (name, ", ".join(names())),
                                kind=VALIDATION)
    return BACKENDS[name]()(zone, credentials, options)
