# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Find a CloudProvider class by name; importing it lazily keeps SDKs optional."""

from __future__ import annotations

import importlib

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError

PACKAGE = "ansible_collections.talos.autoextender.plugins.module_utils._providers"
#: provider name -> (module, class); adding a provider adds one line here and one file
PROVIDERS = {
    "hetzner": ("hetzner", "HetznerProvider"),
    "linode": ("linode", "LinodeProvider"),
    "lab": ("lab", "LabProvider"),
}


def names():
    return sorted(PROVIDERS)


def provider_class(name):
    """The CloudProvider subclass for ``name``; a clear error if unknown or its SDK is missing."""
    if name not in PROVIDERS:
        raise AutoextenderError("Unknown cloud provider %r; choose one of %s" % (name, ", ".join(names())),
                                kind="validation")
    module_name, class_name = PROVIDERS[name]
    module = importlib.import_module("%s.%s" % (PACKAGE, module_name))
    return getattr(module, class_name)


def provider(name, credentials, options=None):
    return provider_class(name)(credentials, options)
