# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Find a CloudProvider class by name.

The providers are imported by name here (not with importlib) because
AnsiballZ ships a module only the module_utils it can see imported; each
provider guards its own SDK import, so a missing SDK fails only when used.
"""

from __future__ import annotations

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._providers.hetzner import HetznerProvider
from ansible_collections.talos.autoextender.plugins.module_utils._providers.lab import LabProvider
from ansible_collections.talos.autoextender.plugins.module_utils._providers.linode import LinodeProvider

#: provider name -> class; adding a provider adds one file, one import and one line here
PROVIDERS = {
    "hetzner": HetznerProvider,
    "linode": LinodeProvider,
    "lab": LabProvider,
}


def names():
    return sorted(PROVIDERS)


def provider_class(name):
    """The CloudProvider subclass for ``name``; a clear error if unknown."""
    if name not in PROVIDERS:
        raise AutoextenderError("Unknown cloud provider %r; choose one of %s" % (name, ", ".join(names())),
                                kind=VALIDATION)
    return PROVIDERS[name]


def provider(name, credentials, options=None):
    return provider_class(name)(credentials, options)
