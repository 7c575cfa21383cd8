# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Find a DnsProvider class by name; importing it lazily keeps SDKs optional."""

from __future__ import annotations

import importlib

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError

PACKAGE = "ansible_collections.talos.autoextender.plugins.module_utils._dns"
#: backend name -> (module, class); adding a backend adds one line here and one file
BACKENDS = {
    "powerdns": ("powerdns", "PowerDnsProvider"),
    "rfc2136": ("rfc2136", "Rfc2136Provider"),
    "cloudflare": ("cloudflare", "CloudflareProvider"),
    "hetzner": ("hetzner", "HetznerDnsProvider"),
    "linode": ("linode", "LinodeDnsProvider"),
}


def names():
    return sorted(BACKENDS)


def backend(name, zone, credentials, options=None):
    """An instance of the backend ``name``; a clear error if unknown."""
    if name not in BACKENDS:
        raise AutoextenderError("Unknown DNS provider %r; choose one of %s" % (name, ", ".join(names())),
                                kind="validation")
    module_name, class_name = BACKENDS[name]
    module = importlib.import_module("%s.%s" % (PACKAGE, module_name))
    return getattr(module, class_name)(zone, credentials, options)
