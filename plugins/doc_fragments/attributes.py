# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Attributes shared by the modules that only read (the ``_info`` modules)."""

from __future__ import annotations


class ModuleDocFragment:

    # Use as talos.autoextender.attributes.info_module
    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same way in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  idempotent:
    support: full
    description: Read-only.
"""
