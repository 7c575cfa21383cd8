# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Rules for names and numbers that every layer shares (DNS, Kubernetes, ports), as pure functions.

Each ``*_problem(value)`` returns None when ``value`` is fine, else the rule it
breaks as a short phrase ("must be ..."), so a caller can write one message
that names the option, the value and the rule. Provider-specific limits (label
and tag lengths, name patterns) live with each provider (``name_problems``).
"""

from __future__ import annotations

import re

#: RFC 1035/1123 label: letters, digits, dashes, no dash at either end, 1-63 characters
_DNS_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
#: Kubernetes DNS-1123 label (namespaces, Node names without dots): lower case only
_K8S_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
#: Kubernetes DNS-1035 label (Service names): starts with a letter
_K8S_SERVICE = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
#: Kubernetes label value: empty, or 1-63 of [A-Za-z0-9._-] starting and ending alphanumeric
_K8S_LABEL_VALUE = re.compile(r"^(|[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)$")
DNS_NAME_MAX = 253
PORT_MIN, PORT_MAX = 1, 65535
#: RFC 2181 section 8: a TTL is an unsigned 31-bit number
TTL_MAX = 2 ** 31 - 1


def _text(value):
    return value if isinstance(value, str) else None


def dns_label_problem(value):
    """One DNS label (letters, digits, dashes)."""
    value = _text(value)
    if not value or not _DNS_LABEL.match(value):
        return "must be 1 to 63 letters, digits or dashes, not starting or ending with a dash"
    return None


def dns_name_problem(value, allow_underscore_first=False):
    """A domain name (one trailing dot allowed): labels per ``dns_label_problem``, at most 253 characters."""
    value = _text(value)
    if not value:
        return "must be a DNS name such as edge.example.org"
    name = value[:-1] if value.endswith(".") else value
    if len(name) > DNS_NAME_MAX:
        return "must be at most %d characters as a DNS name (it has %d)" % (DNS_NAME_MAX, len(name))
    for index, label in enumerate(name.split(".")):
        if allow_underscore_first and index == 0 and label.startswith("_"):
            label = label[1:]
        if dns_label_problem(label):
            return "must be dot-separated DNS labels of 1 to 63 letters, digits or dashes (not %r)" % label
    return None


def joined_name_problem(*parts):
    """The name ``parts`` make when joined with dots (``_autoextender`` + name + zone) fits in DNS."""
    name = ".".join(p.strip(".") for p in parts if p and p.strip("."))
    if len(name) > DNS_NAME_MAX:
        return "makes the DNS name %s of %d characters; DNS allows at most %d" % (name, len(name), DNS_NAME_MAX)
    return None


def hostname_problem(value):
    """A Talos hostname that is also a Kubernetes Node name: one lower-case DNS label."""
    value = _text(value)
    if not value or not _K8S_LABEL.match(value):
        return "must be 1 to 63 lower-case letters, digits or dashes, not starting or ending with a dash"
    return None


def k8s_namespace_problem(value):
    return hostname_problem(value)


def k8s_service_problem(value):
    value = _text(value)
    if not value or not _K8S_SERVICE.match(value):
        return "must be 1 to 63 lower-case letters, digits or dashes, starting with a letter (a Service name)"
    return None


def k8s_label_value_problem(value):
    value = _text(value)
    if value is None or not _K8S_LABEL_VALUE.match(value):
        return "must be at most 63 of [A-Za-z0-9._-], starting and ending with a letter or digit (a Kubernetes label value)"
    return None


def _integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def int_range_problem(value, minimum=None, maximum=None):
    """An integer within [minimum, maximum] (either bound optional)."""
    if not _integer(value):
        return "must be a whole number"
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        return "must be between %d and %d" % (minimum, maximum)
    if minimum is not None and value < minimum:
        return "must be at least %d" % minimum
    if maximum is not None and value > maximum:
        return "must be at most %d" % maximum
    return None


def port_problem(value):
    """A TCP/UDP port number."""
    return int_range_problem(value, PORT_MIN, PORT_MAX)


def ttl_problem(value):
    """A DNS TTL in seconds (0 would disable caching and is refused too)."""
    return int_range_problem(value, 1, TTL_MAX)
