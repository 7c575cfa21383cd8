# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The CloudProvider interface every provider implements (docs/providers/index.md, docs/providers/adding.md).

Everything above ``_providers/`` works with the plain dicts described here and
never sees an SDK object, so adding a provider means adding one file.

Normalised shapes (all keys always present; unknown values are None):

Server::

    {"id": str, "name": str, "provider": str, "location": str,
     "server_type": str, "status": "starting"|"running"|"stopping"|"off"|"deleting"|"unknown",
     "public_ipv4": str|None, "public_ipv6": str|None, "image": str|None,
     "labels": {str: str}, "created": str|None}

Image::

    {"id": str, "name": str, "provider": str, "status": "creating"|"available"|"failed",
     "labels": {str: str}, "talos_version": str|None, "schematic": str|None,
     "arch": "amd64"|"arm64"|None, "size_bytes": int|None}

Firewall::

    {"id": str, "name": str, "provider": str, "labels": {str: str},
     "rules": [Rule], "applies_to": {str: str}}   # label selector it is applied by

Rule (inbound only; everything not listed is dropped)::

    {"protocol": "tcp"|"udp"|"icmp", "port": str|None, "sources": [cidr, ...],
     "description": str|None}

FloatingIp (a public address that moves between the servers of a pool, docs/failover.md)::

    {"id": str, "name": str, "provider": str, "family": "ipv4"|"ipv6", "address": str|None,
     "location": str|None, "server": str|None (the id of the server it is routed to), "labels": {str: str}}

Errors: every method raises ``AutoextenderError`` (kinds ``auth``, ``not_found``,
``conflict``, ``validation``, ``rate_limited``, ``api``, ``timeout``) with a
message of the form "Failed to <verb> <thing>: <reason>". Reads return None
for "not found"; deletes return False when there was nothing to delete.
Creates and deletes go through ``_lost_answer.py`` (a lost answer is looked
after, never blindly repeated). Constructors do no I/O.
"""

from __future__ import annotations

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import IN_USE, VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline

#: seconds to undo a half-made object (an image upload, a rescue server) after a failure
CLEANUP_TIMEOUT = 120

MANAGED_BY = "managed-by"
MANAGED_BY_VALUE = "talos-autoextender"
CLUSTER_LABEL = "autoextender-cluster"
POOL_LABEL = "autoextender-pool"

#: labels/tags every Talos image carries (besides the ownership labels)
IMAGE_VERSION_LABEL = "talos-version"
IMAGE_SCHEMATIC_LABEL = "talos-schematic"
IMAGE_ARCH_LABEL = "talos-arch"

SERVER_STATUSES = ("starting", "running", "stopping", "off", "deleting", "unknown")
IMAGE_STATUSES = ("creating", "available", "failed")


def ownership_labels(cluster, pool=None):
    """The labels that mark a resource as ours (docs/concepts.md)."""
    labels = {MANAGED_BY: MANAGED_BY_VALUE, CLUSTER_LABEL: cluster}
    if pool:
        labels[POOL_LABEL] = pool
    return labels


def carries(labels, wanted):
    """True when ``labels`` are ours and include every one of ``wanted`` (a create's labels)."""
    labels = labels or {}
    return is_owned(labels) and all(labels.get(k) == str(v) for k, v in (wanted or {}).items())


def is_owned(labels, cluster=None):
    """True only for resources carrying our labels (and the cluster's, if given)."""
    labels = labels or {}
    if labels.get(MANAGED_BY) != MANAGED_BY_VALUE:
        return False
    return cluster is None or labels.get(CLUSTER_LABEL) == cluster


def server(**fields):
    """A Server dict with every key present."""
    keys = ("id", "name", "provider", "location", "server_type", "status", "public_ipv4", "public_ipv6",
            "image", "labels", "created")
    out = dict((k, fields.get(k)) for k in keys)
    out["labels"] = dict(out["labels"] or {})
    return out


def image(**fields):
    """An Image dict with every key present."""
    keys = ("id", "name", "provider", "status", "labels", "talos_version", "schematic", "arch", "size_bytes")
    out = dict((k, fields.get(k)) for k in keys)
    out["labels"] = dict(out["labels"] or {})
    return out


def firewall(**fields):
    """A Firewall dict with every key present."""
    keys = ("id", "name", "provider", "labels", "rules", "applies_to")
    out = dict((k, fields.get(k)) for k in keys)
    out["labels"] = dict(out["labels"] or {})
    out["rules"] = list(out["rules"] or [])
    out["applies_to"] = dict(out["applies_to"] or {})
    return out


def floating_ip(**fields):
    """A FloatingIp dict with every key present."""
    keys = ("id", "name", "provider", "family", "address", "location", "server", "labels")
    out = dict((k, fields.get(k)) for k in keys)
    out["labels"] = dict(out["labels"] or {})
    return out


class CloudProvider(object):
    """Subclass per provider; one instance per task.

    ``credentials`` holds the provider's secrets (token, ...); ``options``
    the non-secret settings (api_url for simulators and the lab, ...).
    """

    name = None
    #: maximum user-data size in bytes, None when user data is not supported
    user_data_limit = None
    #: the address families this provider has floating addresses of, and why not when it has none
    floating_families = ()
    no_floating = None

    def __init__(self, credentials, options=None):
        self.credentials = dict(credentials or {})
        self.options = dict(options or {})
        #: lines for the user about what was repaired on the way (an adopted create); modules warn with them
        self.notices = []

    def cleanup_deadline(self):
        """The one budget for undoing a half-made object after a failure (``cleanup_timeout``, default 120 s):
        its own, since the task's deadline may be what just passed."""
        return Deadline(self.options.get("cleanup_timeout", CLEANUP_TIMEOUT))

    def secrets(self):
        """Strings to redact from anything the module returns."""
        return [v for v in self.credentials.values() if isinstance(v, str)]

    # -- images ---------------------------------------------------------------
    def list_images(self, selector):
        """Images whose labels include ``selector`` (a dict)."""
        raise NotImplementedError

    def create_talos_image(self, spec, deadline):
        """Make a Talos image available; return the Image once usable.

        ``spec``: {"name", "talos_version", "schematic", "arch", "labels",
        "source_url"} where ``source_url`` is the Image Factory disk image
        for this provider. Leaves nothing behind on failure (temporary
        servers, half-uploaded images).
        """
        raise NotImplementedError

    def delete_image(self, image, deadline):
        raise NotImplementedError

    # -- firewalls --------------------------------------------------------------
    def get_firewall(self, name):
        raise NotImplementedError

    def create_firewall(self, spec, deadline):
        """``spec``: {"name", "labels", "rules", "applies_to"}."""
        raise NotImplementedError

    def update_firewall(self, current, spec, deadline):
        raise NotImplementedError

    def delete_firewall(self, current, deadline):
        raise NotImplementedError

    # -- servers ------------------------------------------------------------------
    def list_servers(self, selector):
        """Servers whose labels include ``selector``, filtered server-side where possible."""
        raise NotImplementedError

    def get_server(self, name):
        raise NotImplementedError

    def create_server(self, spec, deadline):
        """Create and return the Server (not waiting for it to run).

        ``spec``: {"name", "location", "server_type", "image" (an Image id),
        "user_data" (str or None), "labels", "firewall" (a Firewall id or
        None), "ipv4": bool, "ipv6": bool}. Providers that cannot pass user
        data raise ``AutoextenderError(kind=VALIDATION)`` when given some.
        """
        raise NotImplementedError

    def update_server_labels(self, current, labels, deadline):
        raise NotImplementedError

    def delete_server(self, current, deadline):
        raise NotImplementedError

    def wait_server(self, current, deadline):
        """Return the Server once ``running`` (WaitTimeout with the partial state otherwise)."""
        raise NotImplementedError

    def boot_drift(self, current):
        """What in the boot configuration of a server of ours keeps it from booting Talos, as
        ``{field: (have, want)}``; ``{}`` when nothing does (the default: no boot configuration to check)."""
        return {}

    def start_server(self, current, deadline):
        """Bring up a server of ours that is ``off`` or ``stopping``, or whose ``boot_drift`` is not empty:
        fix its boot configuration, then power it on (or reboot it when it runs with the wrong one).
        Return the Server without waiting for ``running``; refuse a server without our labels."""
        raise NotImplementedError

    def image_users(self, image):
        """Names of the servers (anyone's, not only ours) that use ``image``; servers being deleted do not count."""
        raise NotImplementedError

    def refuse_image_in_use(self, image, what):
        """Raise ``in_use`` when a server still uses ``image``: no image any server uses is ever deleted."""
        users = self.image_users(image)
        if users:
            raise AutoextenderError("Refusing to delete %s: still used by server(s) %s" % (what, ", ".join(users)),
                                    kind=IN_USE, details={"used_by": users})

    # -- floating addresses ---------------------------------------------------------------------------
    def list_floating_ips(self, selector):
        """FloatingIps whose labels include ``selector``."""
        raise NotImplementedError

    def get_floating_ip(self, name):
        """The FloatingIp named ``name``, or None."""
        raise NotImplementedError

    def create_floating_ip(self, spec, deadline):
        """``spec``: {"name", "family", "location", "labels", "server" (a server id or None)}; with a server,
        the address is routed to it (and ``location`` may be None: the server's)."""
        raise NotImplementedError

    def assign_floating_ip(self, current, server_id, deadline):
        """Route ``current`` to server ``server_id`` (a move when it is routed elsewhere), or nowhere when None;
        return the FloatingIp. Refuses an address without our labels."""
        raise NotImplementedError

    #: why a floating address of this provider has no labels of its own (None: it has)
    no_floating_labels = None

    def update_floating_ip_labels(self, current, labels, deadline):
        """Set the labels of ``current`` (ownership labels included) and return the FloatingIp; refuses an
        address without our labels, and labels without them."""
        raise NotImplementedError

    def delete_floating_ip(self, current, deadline):
        """Unassign and delete ``current``; False when it was already gone."""
        raise NotImplementedError

    # -- locations / types (read-only; for validation before anything is created) -------------
    def placement_catalog(self):
        """Where servers can go, as ``placement_problems`` reads it (one or two read-only API calls).

        ``{"locations": {name: {"user_data": bool}}, "server_types": {name: {"arch": [..] or None (any),
        "locations": [..] or None (every location)}}, "joins": [..]}``
        """
        raise NotImplementedError

    def price_catalog(self):
        """What each server type and public address costs per month, from the provider's API (read-only calls).

        The shape ``_costs`` reads (documented there); prices are never built into the collection.
        """
        raise NotImplementedError

    def check_placement(self, location, server_type, arch=None, join=None):
        """Raise a validation error naming the valid choices when the placement cannot work."""
        problems = placement_problems(self.placement_catalog(), self.name, location, server_type, arch, join)
        if problems:
            raise AutoextenderError("; ".join(problems), kind=VALIDATION, details={"problems": problems})

    # -- names (no I/O) ---------------------------------------------------------------------------
    def name_problems(self, servers=(), firewalls=(), labels=None):
        """What this provider would refuse among server names, firewall names and labels (a list of messages)."""
        raise NotImplementedError


def label_problems(check, labels):
    """The messages ``check`` (a provider's label validator, raising AutoextenderError) gives for each label alone."""
    problems = []
    for key, value in sorted((labels or {}).items()):
        try:
            check({key: value})
        except AutoextenderError as exc:
            problems.append(exc.msg)
    return problems


def placement_problems(catalog, provider, location, server_type, arch=None, join=None):
    """Why a server of ``server_type`` in ``location`` (image ``arch``, joining by ``join``) cannot be made.

    A list of messages, each naming the option, the value and the valid choices; empty when it can.
    ``arch`` and ``join`` None: not checked. Pure; ``catalog`` as ``CloudProvider.placement_catalog``.
    """
    title = provider.capitalize() if provider != "lab" else "lab cloud"
    locations = catalog.get("locations") or {}
    types = catalog.get("server_types") or {}
    problems = []
    if location is not None and location not in locations:
        problems.append("Unknown %s location %r; valid locations: %s" % (title, location, ", ".join(sorted(locations))))
    if server_type is not None and server_type not in types:
        problems.append("Unknown %s server type %r; valid server types: %s" % (title, server_type, ", ".join(sorted(types))))
    if problems:
        return problems
    stype = types.get(server_type) or {}
    where = stype.get("locations")
    if server_type is not None and location is not None and where is not None and location not in where:
        problems.append("Server type %s is not available in %s; it is available in: %s"
                        % (server_type, location, ", ".join(sorted(where)) or "no location"))
    if arch is not None and server_type is not None and stype.get("arch") is not None and arch not in stype["arch"]:
        fits = sorted(n for n, t in types.items() if t.get("arch") is None or arch in t["arch"])
        problems.append("Server type %s runs %s only, not arch %s; %s server types for %s: %s"
                        % (server_type, "/".join(stype["arch"]), arch, title, arch, ", ".join(fits) or "none"))
    joins = catalog.get("joins") or ()
    if join is not None and join not in joins:
        problems.append("join %r is not possible on the %s; it supports: %s" % (join, title, ", ".join(joins)))
    elif join == "user_data" and location is not None and not locations[location].get("user_data"):
        fits = sorted(n for n, loc in locations.items() if loc.get("user_data"))
        problems.append("%s location %s cannot deliver user data (join: user_data); use join: maintenance, or one of: %s"
                        % (title, location, ", ".join(fits) or "none"))
    return problems
