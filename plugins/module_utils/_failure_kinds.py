# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The declared values of ``failure.kind`` (``AutoextenderError.kind``).

Playbooks branch on these strings: a value never changes once released. Raise
sites use the names, never the strings; ``AutoextenderError`` refuses a kind
not in ``KINDS``. The table in docs/architecture.md lists them all (a unit
test holds the two together).
"""

from __future__ import annotations

# -- input and state refused ------------------------------------------------------------------
VALIDATION = "validation"  # an option, a file or an API refused the input as invalid (names option/value/rule)
CONFLICT = "conflict"  # something else already holds the name, address or record set (not ours to change)
IMMUTABLE = "immutable"  # a field cannot change in place on an existing resource; delete and recreate it
IN_USE = "in_use"  # refusing to delete what something else still uses (an image used by servers)
MIN_VALUES = "min_values"  # dns_record_set refused to shrink a set below min_values without force
NO_HEALTHY_TARGETS = "no_healthy_targets"  # edge DNS has no healthy target and nothing published yet: no empty set
REFUSED = "refused"  # the module will not do this without an explicit option (reset a control-plane node w/o force)
TOO_LARGE = "too_large"  # the machine config is over the provider's user-data limit
NOT_FOUND = "not_found"  # the resource, zone or object named does not exist (HTTP 404)

# -- the cloud and DNS APIs -------------------------------------------------------------------
AUTH = "auth"  # no API token, or the API refused it (HTTP 401/403)
RATE_LIMITED = "rate_limited"  # the API still answered 429 when the deadline left no time to wait again
API = "api"  # any other API error (5xx, an unexpected status, a dropped connection after retries)
CONNECTION = "connection"  # the Kubernetes API server could not be reached at all
BOOT_FAILED = "boot_failed"  # a (lab) server reached status error while booting

# -- talosctl and the Talos nodes -------------------------------------------------------------
COMMAND = "command"  # an external command (talosctl, ssh) exited non-zero; details carry cmd, rc, stdout, stderr
PARSE = "parse"  # a command's output could not be read (not JSON/YAML, or says nothing usable)
UNREACHABLE = "unreachable"  # a node's Talos API (or its endpoint) did not answer
TLS = "tls"  # a node's Talos API refused the talosconfig's TLS (another cluster, or maintenance mode)
REBOOTING = "rebooting"  # a node answered that it is about to reboot (after an apply or reset)
INVALID_CONFIG = "invalid_config"  # a node rejected the machine config (InvalidArgument)
UNSUPPORTED_VERSION = "unsupported_version"  # talosctl is too old, of the wrong Talos line, or its version unreadable

# -- the control node -------------------------------------------------------------------------
MISSING_LIBRARY = "missing_library"  # a Python library the task needs is not installed where it runs
MISSING_TOOL = "missing_tool"  # a command the task needs (talosctl, ssh) is not found or not executable
IO = "io"  # a local file could not be written
TIMEOUT = "timeout"  # the deadline (wait_timeout) passed before the wait or call finished; partial result kept
BLOCKED = "blocked"  # a drain with wait=false left pods it could not evict (PodDisruptionBudget); node stays cordoned
INTERNAL = "internal"  # a programming error inside the collection (a helper built without what it needs)
ERROR = "error"  # the default of AutoextenderError when no kind is given; no raise site uses it

KINDS = frozenset((
    VALIDATION, CONFLICT, IMMUTABLE, IN_USE, MIN_VALUES, NO_HEALTHY_TARGETS, REFUSED, TOO_LARGE, NOT_FOUND,
    AUTH, RATE_LIMITED, API, CONNECTION, BOOT_FAILED,
    COMMAND, PARSE, UNREACHABLE, TLS, REBOOTING, INVALID_CONFIG, UNSUPPORTED_VERSION,
    MISSING_LIBRARY, MISSING_TOOL, IO, TIMEOUT, BLOCKED, INTERNAL, ERROR,
))
