# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Checks of option values that an argument spec cannot express, run before anything else.

Ansible checks types, choices and required options; the rules here check
ranges, ports, port ranges, hostnames, addresses and ids, right after the
argument spec and before any file, command or API call. Every message names
the option, the value and the rule, e.g.
``wait_timeout -5 is invalid: must be an integer from 0 to 86400 (seconds)``.

- Rules (``Range``, ``PortSpec``, ``Hostname``, ...) check one value; their
  ``bad_values()`` are examples of invalid input for generated tests.
- Rules are keyed by option path: ``wait_timeout``, ``kubespan.mtu`` (a
  suboption), ``extra_rules.port`` (a suboption of each list element),
  ``ingress_ports`` (each element of a list).
- ``SHARED_RULES`` hold the options that mean the same in every module
  (``wait_timeout``, ``api_url``); ``ValidatedModule`` applies them wherever the option
  exists, with the module's own ``rules`` and cross-option ``checks``.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.validation import check_type_dict
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION

MAX_WAIT_TIMEOUT = 86400  # one day: longer is a mistake, and overflows socket timeouts near 1e12
MAX_PORT = 65535
_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_PORT_SPEC = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


def invalid(option, value, rule):
    """The validation error for ``option``: names the option, the value and the rule."""
    shown = repr(value) if isinstance(value, str) else value
    return AutoextenderError("%s %s is invalid: must be %s" % (option, shown, rule), kind=VALIDATION,
                             details={"option": option, "value": value, "rule": rule})


class Rule(object):
    """One check of one value; ``None`` (not set) is always accepted."""

    text = ""

    def valid(self, value):
        raise NotImplementedError

    def bad_values(self):
        """Invalid examples, for tests generated from the rules."""
        return ()

    def check(self, option, value):
        if value is not None and not self.valid(value):
            raise invalid(option, value, self.text)
        return value


class Range(Rule):
    """A number from ``low`` to ``high`` (no upper bound when ``high`` is None)."""

    def __init__(self, low, high=None, unit=None, number=int):
        self.low, self.high, self.number = low, high, number
        what = "an integer" if number is int else "a number"
        bounds = "from %s to %s" % (low, high) if high is not None else "of at least %s" % low
        self.text = "%s %s%s" % (what, bounds, " (%s)" % unit if unit else "")

    def valid(self, value):
        return isinstance(value, (int, float)) and self.low <= value and (self.high is None or value <= self.high)

    def bad_values(self):
        return (self.low - 1,) + ((self.high + 1,) if self.high is not None else ())


class PortSpec(Rule):
    """A port (``443``) or an ascending range of ports (``30000-32767``), as a string."""

    text = "a port from 1 to 65535 or a range low-high of such ports with low <= high"

    def valid(self, value):
        m = _PORT_SPEC.match(str(value).strip())
        if not m:
            return False
        low, high = int(m.group(1)), int(m.group(2) or m.group(1))
        return 1 <= low <= high <= MAX_PORT

    def bad_values(self):
        return ("200-100", "0", "70000", "https")


class Hostname(Rule):
    """A lowercase RFC 1123 host name (it becomes the Kubernetes node name)."""

    text = ("a lowercase RFC 1123 host name: labels of a-z, 0-9 and '-', 1 to 63 characters each, not starting or "
            "ending with '-', separated by dots, 253 characters at most")

    def valid(self, value):
        value = str(value)
        return len(value) <= 253 and all(_HOST_LABEL.match(label) for label in value.split("."))

    def bad_values(self):
        return ("edge node", "-edge-1", "Edge_1", "a" * 64)


class NumericId(Rule):
    """A provider object id: a positive integer (given as a string)."""

    text = "the provider's numeric id of the object (a positive integer)"

    def valid(self, value):
        return re.match(r"^[1-9][0-9]*$", str(value).strip()) is not None

    def bad_values(self):
        return ("fw-main", "0", "-3")


class Address(Rule):
    """An IP address (``version`` 4 or 6), or a network in CIDR notation with ``network=True``."""

    def __init__(self, version=None, network=False):
        self.version, self.network = version, network
        family = "IPv%d " % version if version else "IP "
        self.text = "an %s%s" % (family, "network in CIDR notation (or an address)" if network else "address")

    def valid(self, value):
        try:
            parsed = ipaddress.ip_network(value, strict=False) if self.network else ipaddress.ip_address(value)
        except ValueError:
            return False
        return self.version is None or parsed.version == self.version

    def bad_values(self):
        other = "2001:db8::1" if self.version == 4 else "192.0.2.1"
        return ("not-an-address", "300.1.2.3/8" if self.network else other if self.version else "300.1.2.3")


class Url(Rule):
    """An http or https URL with a host (an API endpoint)."""

    text = "an http:// or https:// URL with a host, such as https://api.example.com"

    def valid(self, value):
        if not str(value).strip():
            return True  # empty means not set, as everywhere in the collection
        try:
            parts = urlsplit(str(value).strip())
            dummy = parts.port  # raises on a port that is not a number or out of range
        except ValueError:
            return False
        return parts.scheme in ("http", "https") and bool(parts.hostname)

    def bad_values(self):
        return ("api.example.com", "ftp://api.example.com", "https://api.example.com:99999")


PORT = Range(1, MAX_PORT, "a TCP/UDP port")
#: Options that mean the same in every module of the collection.
SHARED_RULES = {"wait_timeout": Range(0, MAX_WAIT_TIMEOUT, "seconds"), "api_url": Url()}


def check_options(params, spec, rules, prefix="", shown=""):
    """Apply ``rules`` (path -> Rule) to ``params`` as described by the argument ``spec``; raise the first error."""
    for name, option in spec.items():
        value = params.get(name)
        if value is None:
            continue
        path, label = prefix + name, shown + name
        items = list(enumerate(value)) if option.get("type") == "list" and isinstance(value, list) else [(None, value)]
        for index, item in items:
            where = label if index is None else "%s[%s]" % (label, index)
            if path in rules:
                rules[path].check(where, item)
            if option.get("options") and isinstance(item, dict):
                check_options(item, option["options"], rules, path + ".", where + ".")


def one_true_of(*names, **kwargs):
    """A cross-option check: at least one of the bool options ``names`` is true (``why`` says why)."""
    why, when = kwargs.get("why", ""), kwargs.get("when", {})

    def check(params):
        if all(params.get(k) == v for k, v in when.items()) and not any(params.get(n) for n in names):
            rule = "at least one of %s true%s" % (", ".join(names), ": " + why if why else "")
            raise AutoextenderError("%s are all false: %s" % (", ".join("%s=false" % n for n in names), rule),
                                    kind=VALIDATION, details={"option": list(names), "rule": rule})
    return check


def _mapping(value):
    """``value`` as a dict the way Ansible converts it (a dict, JSON or key=value text), or None."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            return check_type_dict(value)
        except (TypeError, ValueError):
            return None
    return None


def shape_errors(params, spec, prefix=""):
    """``[(path, error)]`` of dict options given something that is not a mapping.

    ansible-core crashes on a number or a bool for a dict with suboptions (``argument of type 'int' is not
    iterable``) and its message for unparsable text does not name the option, so these are found first.
    """
    found = []
    for name, option in spec.items():
        value = params.get(name) if isinstance(params, dict) else None
        if value is None:
            continue
        if option.get("type") == "dict":
            mapping = _mapping(value)
            if mapping is None:
                keys = sorted(option.get("options") or ())
                rule = "a mapping" + (" of the suboptions %s" % ", ".join(keys) if keys else "")
                found.append((prefix + name, invalid(prefix + name, value, rule)))
            elif option.get("options"):
                found += shape_errors(mapping, option["options"], prefix + name + ".")
        elif option.get("options") and isinstance(value, list):
            for index, item in enumerate(value):
                found += shape_errors(item, option["options"], "%s%s[%d]." % (prefix, name, index))
    return found


def _relaxed(spec, paths, prefix=""):
    """A copy of ``spec`` where the options at ``paths`` (no list indexes) take any value."""
    out = {}
    for name, option in spec.items():
        path = prefix + name
        if path in paths:
            out[name] = {"type": "raw", "no_log": option.get("no_log", False)}
        elif option.get("options") and any(p.startswith(path + ".") for p in paths):
            out[name] = dict(option, options=_relaxed(option["options"], paths, path + "."))
        else:
            out[name] = option
    return out


class ValidatedModule(AnsibleModule):
    """An AnsibleModule that also applies ``SHARED_RULES``, the module's ``rules`` and its ``checks``.

    A failed check ends the module with ``fail_json(msg, failure={kind: validation, option, value, rule})``
    before the module does anything else.
    """

    _shape_errors = ()

    def _load_params(self):
        # Called by AnsibleModule.__init__ before its own validation: options with suboptions given a
        # non-mapping are relaxed to ``raw`` there and refused below, with the rest of the arguments checked
        # (and their no_log values masked) as usual.
        super()._load_params()
        self._shape_errors = shape_errors(self.params, self.argument_spec)
        if self._shape_errors:
            paths = [re.sub(r"\[\d+\]", "", path) for path, dummy in self._shape_errors]
            self.argument_spec = _relaxed(self.argument_spec, paths)

    def __init__(self, argument_spec, rules=None, checks=(), **kwargs):
        super().__init__(argument_spec=argument_spec, **kwargs)
        self.argument_spec = argument_spec
        self.option_rules = dict(SHARED_RULES, **(rules or {}))
        try:
            if self._shape_errors:
                raise self._shape_errors[0][1]
            check_options(self.params, argument_spec, self.option_rules)
            for check in checks:
                check(self.params)
        except AutoextenderError as e:
            error = e
        else:
            return
        self.fail_json(msg=error.msg, failure=error.failure())  # outside the handler: no traceback attached
