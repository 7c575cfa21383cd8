# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Find a CloudProvider class by name.

Each provider is imported only when asked for: a run on one provider never
loads the other providers' SDKs (hcloud and linode_api4 together cost about
0.3 s of CPU in every module that reaches a cloud). The imports are still
written out, inside the loaders, because AnsiballZ ships a module only the
module_utils it can see imported; each provider guards its own SDK import, so
a missing SDK fails only when used.
"""

from __future__ import annotations

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION


def _hetzner():
    from ansible_collections.talos.autoextender.plugins.module_utils._providers.hetzner import HetznerProvider
    return HetznerProvider


def _linode():
    from ansible_collections.talos.autoextender.plugins.module_utils._providers.linode import LinodeProvider
    return LinodeProvider


def _lab():
    from ansible_collections.talos.autoextender.plugins.module_utils._providers.lab import LabProvider
    return LabProvider


#: provider name -> loader of its class; adding a provider adds one file, one loader and one line here
PROVIDERS = {
    "hetzner": _hetzner,
    "linode": _linode,
    "lab": _lab,
}


def names():
    return sorted(PROVIDERS)


def provider_class(name):
    """The CloudProvider subclass for ``name``; a clear error if unknown."""
    if name not in PROVIDERS:
        raise AutoextenderError("Unknown cloud provider %r; choose one of %s" % (name, ", ".join(names())),
                                kind=VALIDATION)
    return PROVIDERS[name]()


def provider(name, credentials, options=None):
    return provider_class(name)(credentials, options)
