# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The task's module as one item of a list option sees it.

A module that takes a list (``hostnames``, ``names``) runs its one-item
Resource once per item, in one process: each sees the shared options with its
own item's options over them, and everything else (check mode, diff, warnings,
``run_command``) is the task's module.
"""

from __future__ import annotations


class ItemModule(object):
    """``module`` with ``params`` = the shared options, then ``own`` over them."""

    def __init__(self, module, **own):
        self._module = module
        self.params = dict(module.params, **own)

    def __getattr__(self, name):
        return getattr(self._module, name)
