# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Hetzner Cloud through the official ``hcloud`` SDK (docs/providers/hetzner.md).

* Talos image: a snapshot made once on a temporary server booted into the
  rescue system (``hetzner_rescue.py`` writes the Image Factory
  ``hcloud-<arch>.raw.xz`` to its disk), labelled by Talos version, schematic
  and architecture, and reused. The temporary server and SSH key are always
  deleted, also on failure.
* Label values are at most 63 characters on Hetzner; values that do not fit
  (the 64-character schematic ID) are stored as ``label_value()`` says.
* Nothing without our ownership labels is ever changed or deleted: every
  update and delete re-reads the resource from the API and checks them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
import shutil
import tempfile

from ansible_collections.talos.autoextender.plugins.module_utils import _names, _pages
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import (
    API, CONFLICT, NOT_FOUND, VALIDATION,
)
from ansible_collections.talos.autoextender.plugins.module_utils._providers import _lost_answer, base
from ansible_collections.talos.autoextender.plugins.module_utils._clients.hetzner import (
    HAS_HCLOUD,
    api_for,
    require_hcloud,
    short_deadline,
)
from ansible_collections.talos.autoextender.plugins.module_utils._providers.hetzner_rescue import runner_from_options
from ansible_collections.talos.autoextender.plugins.module_utils._wait import wait_for

if HAS_HCLOUD:
    from hcloud.firewalls.domain import FirewallResource, FirewallResourceLabelSelector, FirewallRule
    from hcloud.firewalls.domain import Firewall as HFirewall
    from hcloud.floating_ips.domain import FloatingIP as HFloatingIP
    from hcloud.images.domain import Image as HImage
    from hcloud.locations.domain import Location as HLocation
    from hcloud.server_types.domain import ServerType as HServerType
    from hcloud.servers.domain import Server as HServer
    from hcloud.servers.domain import ServerCreatePublicNetwork
    from hcloud.ssh_keys.domain import SSHKey as HSSHKey

USER_DATA_LIMIT = 32768
#: the most a Hetzner list page holds
PER_PAGE = 50
FIREWALL_NAME_MAX = 128
_LABEL = re.compile(r"^(|[a-z0-9A-Z]|[a-z0-9A-Z][a-z0-9A-Z._-]{0,61}[a-z0-9A-Z])$")
_KEY = re.compile(r"^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/)?[a-z0-9A-Z]([a-z0-9A-Z._-]{0,61}[a-z0-9A-Z])?$")
STATUS = {"initializing": "starting", "starting": "starting", "rebuilding": "starting", "migrating": "running",
          "running": "running", "stopping": "stopping", "off": "off", "deleting": "deleting"}
ARCH = {"amd64": "x86", "arm64": "arm"}
BUILDER_SERVER_TYPE = {"amd64": "cx23", "arm64": "cax11"}
VERSION_LABEL, SCHEMATIC_LABEL, ARCH_LABEL = base.IMAGE_VERSION_LABEL, base.IMAGE_SCHEMATIC_LABEL, base.IMAGE_ARCH_LABEL
ROLE_LABEL = "autoextender-role"
_DESCRIPTION = re.compile(r"schematic ([0-9a-zA-Z]+)")


def _price(price):
    """A Hetzner ``price`` ({"net": "3.4900", "gross": "4.1531"}, decimal strings) as ``_costs`` reads it."""
    return {"net": float(price["net"]), "gross": float(price["gross"])}


def _orderable_in(stype):
    """The locations where a server of ``stype`` can be ordered now (available, not being deprecated there)."""
    return sorted(entry.location.name for entry in stype.locations or () if entry.location is not None
                  and getattr(entry, "available", True) and entry.deprecation is None)


# -- labels ------------------------------------------------------------------------------------
def label_value(value):
    """``value`` as a valid Hetzner label value (<= 63 characters of ``[a-zA-Z0-9._-]``).

    A valid value is kept as is. Anything else (the 64-character schematic ID)
    becomes its first 50 safe characters, a dash and the first 12 hex digits
    of its SHA-256: deterministic, so the encoded value can be searched for,
    and still recognisable. The full value is kept in the image description.
    """
    value = "" if value is None else str(value)
    if _LABEL.match(value):
        return value
    safe = re.sub(r"[^a-zA-Z0-9._-]", "-", value)[:50].strip("._-") or "x"
    return "%s-%s" % (safe, hashlib.sha256(value.encode("utf-8")).hexdigest()[:12])


def check_labels(labels, what="labels"):
    """Raise a validation error for a key or value Hetzner would refuse (before any API call)."""
    for key, value in (labels or {}).items():
        if not _KEY.match(str(key)):
            raise AutoextenderError("Invalid Hetzner label key %r in %s: at most 63 characters of [a-zA-Z0-9._-], "
                                    "starting and ending alphanumeric, with an optional DNS prefix" % (key, what),
                                    kind=VALIDATION)
        if not isinstance(value, str) or not _LABEL.match(value):
            raise AutoextenderError("Invalid Hetzner label value %r for %s in %s: at most 63 characters of "
                                    "[a-zA-Z0-9._-], starting and ending alphanumeric" % (value, key, what),
                                    kind=VALIDATION)
    return dict(labels or {})


def selector_string(labels):
    """A server-side label selector (``k=v,k2=v2``) for ``labels``."""
    return ",".join("%s=%s" % (k, label_value(v)) for k, v in sorted((labels or {}).items()))


def parse_selector(text):
    """The ``k=v`` terms of a selector as a dict (other terms are not ours and are ignored)."""
    out = {}
    for term in (text or "").split(","):
        key, sep, value = term.strip().partition("=")
        if sep and not key.endswith("!"):
            out[key.strip()] = value.lstrip("=").strip()
    return out


# -- normalisation ------------------------------------------------------------------------------
def _iso(value):
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


def server_dict(srv):
    net = srv.public_net
    ipv6 = None
    if net is not None and net.ipv6 is not None:
        ipv6 = str(ipaddress.ip_network(net.ipv6.ip, strict=False).network_address + 1)
    location = srv.location or (srv.datacenter.location if srv.datacenter else None)
    return base.server(
        id=str(srv.id), name=srv.name, provider="hetzner", location=location.name if location else None,
        server_type=srv.server_type.name if srv.server_type else None, status=STATUS.get(srv.status, "unknown"),
        public_ipv4=net.ipv4.ip if net is not None and net.ipv4 is not None else None, public_ipv6=ipv6,
        image=str(srv.image.id) if srv.image is not None else None, labels=srv.labels, created=_iso(srv.created))


def image_dict(img):
    labels = dict(img.labels or {})
    found = _DESCRIPTION.search(img.description or "")
    schematic = labels.get(SCHEMATIC_LABEL)
    if found and label_value(found.group(1)) == schematic:
        schematic = found.group(1)
    arch = labels.get(ARCH_LABEL) or dict((v, k) for k, v in ARCH.items()).get(img.architecture)
    status = {"available": "available", "creating": "creating"}.get(img.status, "failed")
    return base.image(
        id=str(img.id), name=img.description or img.name, provider="hetzner", status=status, labels=labels,
        talos_version=labels.get(VERSION_LABEL), schematic=schematic, arch=arch,
        size_bytes=int(img.image_size * 1000 ** 3) if img.image_size else None)


def floating_ip_dict(fip):
    """A Hetzner Floating IP; an IPv6 one is a /64, its address the network's first host (as for servers)."""
    address = fip.ip
    if fip.type == "ipv6" and address:
        address = str(ipaddress.ip_network(address, strict=False).network_address + 1)
    return base.floating_ip(id=str(fip.id), name=fip.name, provider="hetzner", family=fip.type, address=address,
                            location=fip.home_location.name if fip.home_location else None,
                            server=str(fip.server.id) if fip.server is not None else None, labels=fip.labels)


def _cidr(source):
    return str(ipaddress.ip_network(str(source).strip(), strict=False))


def rule_payload(rule):
    """A base Rule as an hcloud inbound FirewallRule."""
    protocol = rule["protocol"]
    port = None if protocol == "icmp" else str(rule.get("port"))
    return FirewallRule(direction="in", protocol=protocol, port=port,
                        source_ips=[_cidr(s) for s in rule.get("sources") or ()], description=rule.get("description"))


def rule_dict(rule):
    return {"protocol": rule.protocol, "port": rule.port, "sources": sorted(_cidr(s) for s in rule.source_ips or ()),
            "description": rule.description}


def firewall_dict(fw):
    applies = {}
    for entry in fw.applied_to or ():
        if entry.type == "label_selector" and entry.label_selector is not None:
            applies.update(parse_selector(entry.label_selector.selector))
    return base.firewall(id=str(fw.id), name=fw.name, provider="hetzner", labels=fw.labels,
                         rules=[rule_dict(r) for r in fw.rules or () if r.direction == "in"], applies_to=applies)


def _rules_key(rules):
    return sorted((r["protocol"], None if r["protocol"] == "icmp" else str(r.get("port")),
                   tuple(sorted(_cidr(s) for s in r.get("sources") or ())), r.get("description") or None)
                  for r in rules or ())


class HetznerProvider(base.CloudProvider):
    """``credentials``: {"api_token"} (else ``HCLOUD_TOKEN``); ``options``: ``api_url``, ``api_timeout``,
    ``request_timeout``, ``image_builder`` {server_type, location, base_image}, ``rescue`` (SshRunner
    settings) or ``rescue_runner`` (an object), ``cleanup_timeout``."""

    name = "hetzner"
    user_data_limit = USER_DATA_LIMIT
    floating_families = ("ipv4", "ipv6")

    def __init__(self, credentials, options=None):
        super().__init__(credentials, options)
        self._api = None

    @property
    def api(self):
        if self._api is None:
            self._api = api_for(self.credentials, self.options)
        return self._api

    @property
    def client(self):
        return self.api.client

    def _read_deadline(self):
        return short_deadline(self.options)

    # -- ownership guard -------------------------------------------------------------------
    def _owned(self, kind, name, labels):
        if not base.is_owned(labels):
            raise AutoextenderError("Refusing to change %s %s: it does not carry the label %s=%s, so "
                                    "talos-autoextender did not create it" % (kind, name, base.MANAGED_BY, base.MANAGED_BY_VALUE),
                                    kind=CONFLICT, details={"labels": dict(labels or {})})

    def _list_all(self, get_list, what, **filters):
        """Every object of a long listing: each page one retried call, the pages after the first side by side."""
        deadline = self._read_deadline()

        def fetch(page):
            found, meta = self.api.call(lambda: get_list(page=page, per_page=PER_PAGE, **filters),
                                        _pages.label(what, page), deadline)
            pagination = getattr(meta, "pagination", None)
            return found, getattr(pagination, "last_page", None), getattr(pagination, "next_page", None)

        return _pages.all_pages(fetch)

    # -- images ---------------------------------------------------------------------------------
    def list_images(self, selector):
        images = self._list_all(self.client.images.get_list, "list images", label_selector=selector_string(selector) or None)
        return [image_dict(i) for i in images if i.type == "snapshot"]

    def _image_labels(self, spec):
        arch = spec.get("arch")
        if arch not in ARCH:
            raise AutoextenderError("Failed to create the Talos image: arch must be one of %s, got %r"
                                    % (", ".join(sorted(ARCH)), arch), kind=VALIDATION)
        for key in ("talos_version", "schematic", "source_url"):
            if not spec.get(key):
                raise AutoextenderError("Failed to create the Talos image: %s is required" % key, kind=VALIDATION)
        labels = check_labels(spec.get("labels"), "the image labels")
        labels.update({VERSION_LABEL: label_value(spec["talos_version"]), SCHEMATIC_LABEL: label_value(spec["schematic"]),
                       ARCH_LABEL: arch})
        return labels

    def create_talos_image(self, spec, deadline):
        labels = self._image_labels(spec)
        for found in self.list_images(labels):
            if found["status"] == "available":
                return found
            if found["status"] == "creating":
                return self._wait_image(int(found["id"]), deadline)
        return self._build_image(spec, labels, deadline)

    def _wait_image(self, image_id, deadline):
        def probe():
            img = self.api.call(lambda: self.client.images.get_by_id(image_id), "read image %s" % image_id, deadline)
            if img.status not in ("creating", "available"):
                raise AutoextenderError("Failed to create the Talos image: snapshot %s is %s" % (image_id, img.status),
                                        kind=API)
            return img.status == "available", image_dict(img)
        return wait_for(probe, deadline, "the Talos snapshot %s to become available" % image_id, initial=1.0)

    def _build_image(self, spec, labels, deadline):
        temp_name = "autoextender-image-%s" % secrets.token_hex(4)
        temp_labels = dict((k, v) for k, v in labels.items() if k in (base.MANAGED_BY, base.CLUSTER_LABEL))
        temp_labels.setdefault(base.MANAGED_BY, base.MANAGED_BY_VALUE)
        temp_labels[ROLE_LABEL] = "image-builder"
        runner = runner_from_options(self.options)
        workdir = tempfile.mkdtemp(prefix="autoextender-rescue-")
        made = {"name": temp_name, "labels": labels}
        try:
            result = self._run_build(spec, labels, temp_labels, runner, workdir, made, deadline)
        except AutoextenderError as exc:
            leftovers = self._cleanup_builder(made)
            msg = exc.msg + (" (and failed to delete: %s)" % "; ".join(leftovers) if leftovers
                             else " (the temporary server and SSH key were deleted)")
            raise AutoextenderError(msg, kind=exc.kind, details=dict(exc.details, leftovers=leftovers), partial=exc.partial)
        finally:
            # Also on KeyboardInterrupt or a bug: the temporary server costs money.
            self._cleanup_builder(made)
            shutil.rmtree(workdir, ignore_errors=True)
        if made["leftovers"]:
            raise AutoextenderError("Created the Talos image %s but failed to delete the temporary resources: %s"
                                    % (result["id"], "; ".join(made["leftovers"])), kind=API,
                                    details={"leftovers": made["leftovers"]}, partial=result)
        return result

    def _run_build(self, spec, labels, temp_labels, runner, workdir, made, deadline):
        """The build steps; ``made`` records what exists so that cleanup can find it."""
        arch, temp_name = spec["arch"], made["name"]
        builder = dict(self.options.get("image_builder") or {})
        public_key = runner.prepare(workdir)
        key = self.api.call(lambda: self.client.ssh_keys.create(name=temp_name, public_key=public_key, labels=temp_labels),
                            "create the temporary SSH key %s" % temp_name, deadline, idempotent=False)
        created = self.api.call(lambda: self.client.servers.create(
            name=temp_name, server_type=HServerType(name=builder.get("server_type") or BUILDER_SERVER_TYPE[arch]),
            image=HImage(name=builder.get("base_image") or "debian-12"),
            location=HLocation(name=builder.get("location") or "fsn1"), ssh_keys=[HSSHKey(name=key.name)], labels=temp_labels,
            start_after_create=False, public_net=ServerCreatePublicNetwork(enable_ipv4=True, enable_ipv6=False)),
            "create the temporary server %s" % temp_name, deadline, idempotent=False)
        server = created.server
        self.api.wait_actions([created.action], deadline, "create the temporary server %s" % temp_name)
        rescue = self.api.call(lambda: self.client.servers.enable_rescue(server, type="linux64", ssh_keys=[key.id]),
                               "enable the rescue system on %s" % temp_name, deadline)
        self.api.wait_actions([rescue.action], deadline, "enable the rescue system on %s" % temp_name)
        power = self.api.call(lambda: self.client.servers.power_on(server), "start %s" % temp_name, deadline)
        self.api.wait_actions([power], deadline, "start %s in the rescue system" % temp_name)
        running = self.wait_server(server_dict(server), deadline)
        runner.write_image(running["public_ipv4"], spec["source_url"], deadline)
        power = self.api.call(lambda: self.client.servers.power_off(server), "stop %s" % temp_name, deadline)
        self.api.wait_actions([power], deadline, "stop %s" % temp_name)
        description = "Talos %s %s schematic %s" % (spec["talos_version"], arch, spec["schematic"])
        snap = self.api.call(lambda: self.client.servers.create_image(server, description=description, type="snapshot",
                                                                      labels=labels),
                             "snapshot %s" % temp_name, deadline, idempotent=False)
        made["image"] = snap.image.id
        self.api.wait_actions([snap.action], deadline, "snapshot %s" % temp_name)
        result = self._wait_image(snap.image.id, deadline)
        made["done"] = True  # the snapshot stays
        return result

    def _cleanup_builder(self, made):
        """Delete the temporary server, SSH key and any half-made snapshot; return what is left.

        The server and key are found by their unique name (and our labels), so
        one whose create response was lost is deleted too. Runs once, with its
        own deadline (``cleanup_timeout``, default 120s), so it still happens
        when the task's deadline has passed.
        """
        if "leftovers" in made:
            return made["leftovers"]
        deadline = self.cleanup_deadline()
        made["leftovers"] = []
        steps = (("snapshot", self._drop_half_image), ("temporary server", self._drop_temp_server),
                 ("temporary SSH key", self._drop_temp_key))
        for what, step in steps:
            try:
                step(made, deadline)
            except AutoextenderError as exc:
                made["leftovers"].append("%s %s (%s)" % (what, made["name"], exc.msg))
        return made["leftovers"]

    def _drop_half_image(self, made, deadline):
        """The snapshot of a failed build: by id, or (create response lost) by the temporary server it came from."""
        if made.get("done"):
            return
        images = self.api.call(lambda: self.client.images.get_all(label_selector=selector_string(made["labels"])),
                               "find the snapshot of %s" % made["name"], deadline)
        for img in images:
            source = getattr(img.created_from, "name", None)
            if img.type == "snapshot" and (img.id == made.get("image") or source == made["name"]):
                self.api.call(lambda i=img: self.client.images.delete(i), "delete the half-made snapshot %s" % img.id,
                              deadline)

    def _drop_temp_server(self, made, deadline):
        temp_name = made["name"]
        for srv in self.api.call(lambda: self.client.servers.get_all(name=temp_name), "find %s" % temp_name, deadline):
            if base.is_owned(srv.labels) and srv.labels.get(ROLE_LABEL) == "image-builder":
                action = self.api.call(lambda s=srv: self.client.servers.delete(s), "delete %s" % temp_name, deadline)
                self.api.wait_actions([action], deadline, "delete %s" % temp_name)

    def _drop_temp_key(self, made, deadline):
        temp_name = made["name"]
        for key in self.api.call(lambda: self.client.ssh_keys.get_all(name=temp_name), "find SSH key %s" % temp_name,
                                 deadline):
            if base.is_owned(key.labels):
                self.api.call(lambda k=key: self.client.ssh_keys.delete(k), "delete SSH key %s" % temp_name, deadline)

    def delete_image(self, image, deadline):
        current = self._current("image", self.client.images.get_by_id, image, deadline)
        if current is None:
            return False
        self.refuse_image_in_use(image, "image %s" % current.id)
        what = "delete image %s" % current.id
        return _lost_answer.delete(
            what, deadline, lambda: self.api.call(lambda: self.client.images.delete(current), what, deadline,
                                                  look_first=True),
            lambda: self._gone(self.client.images.get_by_id, current.id, "image %s" % current.id, deadline), self.notices)

    def image_users(self, image):
        servers = self._list_all(self.client.servers.get_list, "list servers")
        return sorted(srv.name for srv in servers if srv.image is not None and str(srv.image.id) == str(image["id"])
                      and srv.status != "deleting")

    # -- firewalls ----------------------------------------------------------------------------------
    def _firewall_by_name(self, name, deadline):
        found = self.api.call(lambda: self.client.firewalls.get_all(name=name), "find firewall %s" % name, deadline)
        return found[0] if found else None

    def get_firewall(self, name):
        found = self._firewall_by_name(name, self._read_deadline())
        return firewall_dict(found) if found else None

    def create_firewall(self, spec, deadline):
        labels = check_labels(spec.get("labels"), "the firewall labels")
        require_hcloud()
        rules = [rule_payload(r) for r in spec.get("rules") or ()]
        resources = None
        if spec.get("applies_to"):
            resources = [FirewallResource(type="label_selector",
                                          label_selector=FirewallResourceLabelSelector(selector_string(spec["applies_to"])))]
        what = "create firewall %s" % spec["name"]

        def send():
            created = self.api.call(lambda: self.client.firewalls.create(name=spec["name"], rules=rules, labels=labels,
                                                                         resources=resources),
                                    what, deadline, idempotent=False, look_first=True)
            self.api.wait_actions(created.actions, deadline, "set up firewall %s" % spec["name"])
            return firewall_dict(self.client.firewalls.get_by_id(created.firewall.id))

        def find():
            found = self._firewall_by_name(spec["name"], deadline)
            return firewall_dict(found) if found else None

        return _lost_answer.create(what, deadline, send, find, lambda fw: base.carries(fw["labels"], labels),
                                   self.notices)

    def _gone(self, get, ident, what, deadline):
        """Read again after a lost delete: True when the resource no longer exists."""
        return self.api.read(lambda: get(int(ident)), "read %s" % what, deadline) is None

    def _current(self, kind, get, current, deadline):
        """Re-read ``current`` from the API (None if gone); refuse when it is not ours."""
        found = self.api.read(lambda: get(int(current["id"])), "read %s %s" % (kind, current.get("name") or current["id"]),
                              deadline)
        if found is not None:
            self._owned(kind, found.name or found.id, found.labels)
        return found

    def update_firewall(self, current, spec, deadline):
        fw = self._current("firewall", self.client.firewalls.get_by_id, current, deadline)
        if fw is None:
            raise AutoextenderError("Failed to update firewall %s: it no longer exists" % current["name"], kind=NOT_FOUND)
        have = firewall_dict(fw)
        actions = []
        if spec.get("rules") is not None and _rules_key(spec["rules"]) != _rules_key(have["rules"]):
            rules = [rule_payload(r) for r in spec["rules"]]
            actions += self.api.call(lambda: self.client.firewalls.set_rules(fw, rules), "set the rules of firewall %s"
                                     % fw.name, deadline)
        labels = check_labels(spec.get("labels"), "the firewall labels") if spec.get("labels") is not None else None
        if (labels is not None and labels != have["labels"]) or spec.get("name", fw.name) != fw.name:
            self.api.call(lambda: self.client.firewalls.update(fw, labels=labels, name=spec.get("name")),
                          "update firewall %s" % fw.name, deadline)
        if spec.get("applies_to") is not None and spec["applies_to"] != have["applies_to"]:
            actions += self._reapply(fw, spec["applies_to"], deadline)
        self.api.wait_actions(actions, deadline, "update firewall %s" % fw.name)
        return firewall_dict(self.client.firewalls.get_by_id(fw.id))

    def _selector_resources(self, fw):
        return [FirewallResource(type="label_selector", label_selector=FirewallResourceLabelSelector(e.label_selector.selector))
                for e in fw.applied_to or () if e.type == "label_selector" and e.label_selector is not None]

    def _reapply(self, fw, applies_to, deadline):
        actions = []
        old = self._selector_resources(fw)
        if applies_to:
            new = [FirewallResource(type="label_selector", label_selector=FirewallResourceLabelSelector(selector_string(applies_to)))]
            actions += self.api.call(lambda: self.client.firewalls.apply_to_resources(fw, new),
                                     "apply firewall %s" % fw.name, deadline)
        if old:
            actions += self.api.call(lambda: self.client.firewalls.remove_from_resources(fw, old),
                                     "remove the old selector of firewall %s" % fw.name, deadline)
        return actions

    def delete_firewall(self, current, deadline):
        fw = self._current("firewall", self.client.firewalls.get_by_id, current, deadline)
        if fw is None:
            return False
        attached = [FirewallResource(type=e.type, server=e.server, label_selector=e.label_selector)
                    for e in fw.applied_to or () if e.type in ("server", "label_selector")]
        if attached:
            actions = self.api.call(lambda: self.client.firewalls.remove_from_resources(fw, attached),
                                    "detach firewall %s" % fw.name, deadline)
            self.api.wait_actions(actions, deadline, "detach firewall %s" % fw.name)
        what = "delete firewall %s" % fw.name
        return _lost_answer.delete(
            what, deadline, lambda: self.api.call(lambda: self.client.firewalls.delete(HFirewall(id=fw.id)), what,
                                                  deadline, look_first=True),
            lambda: self._gone(self.client.firewalls.get_by_id, fw.id, "firewall %s" % fw.name, deadline), self.notices)

    # -- floating addresses ----------------------------------------------------------------------------
    def list_floating_ips(self, selector):
        found = self._list_all(self.client.floating_ips.get_list, "list floating IPs",
                               label_selector=selector_string(selector) or None)
        return [floating_ip_dict(f) for f in found]

    def _floating_ip_by_name(self, name, deadline):
        found = self.api.call(lambda: self.client.floating_ips.get_all(name=name), "find floating IP %s" % name,
                              deadline)
        return found[0] if found else None

    def get_floating_ip(self, name):
        found = self._floating_ip_by_name(name, self._read_deadline())
        return floating_ip_dict(found) if found else None

    def create_floating_ip(self, spec, deadline):
        """A Floating IP in ``location`` (its home location), or routed at once to ``server`` (then in its location)."""
        labels = check_labels(spec.get("labels"), "the floating IP labels")
        if not base.is_owned(labels):
            raise AutoextenderError("Failed to create floating IP %s: its labels must include the ownership labels"
                                    % spec["name"], kind=VALIDATION)
        family = spec.get("family") or "ipv4"
        if family not in ("ipv4", "ipv6"):
            raise AutoextenderError("Failed to create floating IP %s: family must be ipv4 or ipv6, got %r"
                                    % (spec["name"], family), kind=VALIDATION)
        require_hcloud()
        target = HServer(id=int(spec["server"])) if spec.get("server") else None
        home = HLocation(name=spec["location"]) if spec.get("location") and target is None else None
        what = "create floating IP %s" % spec["name"]

        def send():
            made = self.api.call(lambda: self.client.floating_ips.create(
                type=family, name=spec["name"], labels=labels, home_location=home, server=target,
                description="talos-autoextender floating address"), what, deadline, idempotent=False, look_first=True)
            if made.action is not None:
                self.api.wait_actions([made.action], deadline, "route floating IP %s" % spec["name"])
            return floating_ip_dict(self.client.floating_ips.get_by_id(made.floating_ip.id))

        def find():
            found = self._floating_ip_by_name(spec["name"], deadline)
            return floating_ip_dict(found) if found else None

        return _lost_answer.create(what, deadline, send, find, lambda fip: base.carries(fip["labels"], labels),
                                   self.notices)

    def assign_floating_ip(self, current, server_id, deadline):
        fip = self._current("floating IP", self.client.floating_ips.get_by_id, current, deadline)
        if fip is None:
            raise AutoextenderError("Failed to assign floating IP %s: it no longer exists" % current["name"],
                                    kind=NOT_FOUND)
        have = str(fip.server.id) if fip.server is not None else None
        if have == (str(server_id) if server_id is not None else None):
            return floating_ip_dict(fip)
        if server_id is None:
            what = "unassign floating IP %s" % fip.name
            action = self.api.call(lambda: self.client.floating_ips.unassign(fip), what, deadline)
        else:
            what = "assign floating IP %s to server %s" % (fip.name, server_id)
            action = self.api.call(lambda: self.client.floating_ips.assign(fip, HServer(id=int(server_id))), what,
                                   deadline)
        self.api.wait_actions([action], deadline, what)
        return floating_ip_dict(self.client.floating_ips.get_by_id(fip.id))

    def update_floating_ip_labels(self, current, labels, deadline):
        labels = check_labels(labels, "the floating IP labels")
        if not base.is_owned(labels):
            raise AutoextenderError("Refusing to drop the ownership labels of floating IP %s" % current["name"],
                                    kind=VALIDATION)
        fip = self._current("floating IP", self.client.floating_ips.get_by_id, current, deadline)
        if fip is None:
            raise AutoextenderError("Failed to update floating IP %s: it no longer exists" % current["name"],
                                    kind=NOT_FOUND)
        return floating_ip_dict(self.api.call(lambda: self.client.floating_ips.update(fip, labels=labels),
                                              "update the labels of floating IP %s" % fip.name, deadline))

    def delete_floating_ip(self, current, deadline):
        """Unassign first: Hetzner refuses to delete an assigned Floating IP (``must_be_unassigned``)."""
        fip = self._current("floating IP", self.client.floating_ips.get_by_id, current, deadline)
        if fip is None:
            return False
        if fip.server is not None:
            self.assign_floating_ip(current, None, deadline)
        what = "delete floating IP %s" % fip.name
        return _lost_answer.delete(
            what, deadline, lambda: self.api.call(lambda: self.client.floating_ips.delete(HFloatingIP(id=fip.id)),
                                                  what, deadline, look_first=True),
            lambda: self._gone(self.client.floating_ips.get_by_id, fip.id, "floating IP %s" % fip.name, deadline),
            self.notices)

    # -- servers ---------------------------------------------------------------------------------------
    def list_servers(self, selector):
        found = self._list_all(self.client.servers.get_list, "list servers", label_selector=selector_string(selector) or None)
        return [server_dict(s) for s in found]

    def _server_by_name(self, name, deadline):
        found = self.api.call(lambda: self.client.servers.get_all(name=name), "find server %s" % name, deadline)
        return found[0] if found else None

    def get_server(self, name):
        found = self._server_by_name(name, self._read_deadline())
        return server_dict(found) if found else None

    def create_server(self, spec, deadline):
        user_data = spec.get("user_data")
        if user_data is not None and len(user_data.encode("utf-8")) > USER_DATA_LIMIT:
            raise AutoextenderError("Failed to create server %s: user_data is %d bytes, Hetzner accepts at most %d "
                                    "(render the config with --with-examples=false --with-docs=false, or join through "
                                    "maintenance mode)" % (spec["name"], len(user_data.encode("utf-8")), USER_DATA_LIMIT),
                                    kind=VALIDATION)
        labels = check_labels(spec.get("labels"), "the server labels")
        if not base.is_owned(labels):
            raise AutoextenderError("Failed to create server %s: its labels must include the ownership labels"
                                    % spec["name"], kind=VALIDATION)
        require_hcloud()
        image = HImage(id=int(spec["image"])) if str(spec.get("image", "")).isdigit() else HImage(name=spec.get("image"))
        firewalls = [HFirewall(id=int(spec["firewall"]))] if spec.get("firewall") else None
        public_net = ServerCreatePublicNetwork(enable_ipv4=bool(spec.get("ipv4", True)), enable_ipv6=bool(spec.get("ipv6", True)))
        what = "create server %s" % spec["name"]

        def send():
            return server_dict(self.api.call(lambda: self.client.servers.create(
                name=spec["name"], server_type=HServerType(name=spec["server_type"]), image=image,
                location=HLocation(name=spec["location"]), user_data=user_data, labels=labels, firewalls=firewalls,
                public_net=public_net), what, deadline, idempotent=False, look_first=True).server)

        def find():
            found = self._server_by_name(spec["name"], deadline)
            return server_dict(found) if found else None

        return _lost_answer.create(what, deadline, send, find, lambda srv: base.carries(srv["labels"], labels),
                                   self.notices)

    def update_server_labels(self, current, labels, deadline):
        labels = check_labels(labels, "the server labels")
        if not base.is_owned(labels):
            raise AutoextenderError("Refusing to drop the ownership labels of server %s" % current["name"], kind=VALIDATION)
        srv = self._current("server", self.client.servers.get_by_id, current, deadline)
        if srv is None:
            raise AutoextenderError("Failed to update server %s: it no longer exists" % current["name"], kind=NOT_FOUND)
        return server_dict(self.api.call(lambda: self.client.servers.update(srv, labels=labels),
                                         "update the labels of server %s" % srv.name, deadline))

    def delete_server(self, current, deadline):
        srv = self._current("server", self.client.servers.get_by_id, current, deadline)
        if srv is None:
            return False
        what = "delete server %s" % srv.name

        def send():
            action = self.api.call(lambda: self.client.servers.delete(srv), what, deadline, look_first=True)
            self.api.wait_actions([action], deadline, what)

        return _lost_answer.delete(what, deadline, send, lambda: self._gone(self.client.servers.get_by_id, srv.id,
                                                                            "server %s" % srv.name, deadline),
                                   self.notices)

    def start_server(self, current, deadline):
        """Power on a server of ours that is off (after waiting for one that is stopping to be off)."""
        srv = self._current("server", self.client.servers.get_by_id, current, deadline)
        if srv is None:
            raise AutoextenderError("Failed to start server %s: it no longer exists" % current["name"], kind=NOT_FOUND)
        if srv.status == "stopping":
            def stopped():
                fresh = self._current("server", self.client.servers.get_by_id, current, deadline)
                return fresh is None or fresh.status != "stopping", fresh
            srv = wait_for(stopped, deadline, "server %s to stop before it is started" % current["name"], initial=0.5,
                           maximum=5.0) or srv
        if srv.status == "off":
            action = self.api.call(lambda: self.client.servers.power_on(srv), "start server %s" % srv.name, deadline)
            self.api.wait_actions([action], deadline, "start server %s" % srv.name)
        fresh = self.api.read(lambda: self.client.servers.get_by_id(srv.id), "read server %s" % srv.name, deadline)
        if fresh is None:
            raise AutoextenderError("Failed to start server %s: it was deleted" % current["name"], kind=NOT_FOUND)
        return server_dict(fresh)

    def wait_server(self, current, deadline):
        def probe():
            srv = self.api.read(lambda: self.client.servers.get_by_id(int(current["id"])), "read server %s"
                                % current["name"], deadline)
            if srv is None:
                raise AutoextenderError("Failed to wait for server %s: it was deleted" % current["name"], kind=NOT_FOUND)
            state = server_dict(srv)
            return state["status"] == "running", state
        return wait_for(probe, deadline, "server %s to be running" % current["name"], initial=0.5, maximum=5.0)

    # -- placement and names ------------------------------------------------------------------------
    def placement_catalog(self):
        deadline = self._read_deadline()
        locations = self.api.call(self.client.locations.get_all, "list locations", deadline)
        types = self.api.call(self.client.server_types.get_all, "list server types", deadline)
        arch_of = dict((v, k) for k, v in ARCH.items())
        catalog = {"locations": dict((loc.name, {"user_data": True}) for loc in locations), "server_types": {},
                   "joins": ["maintenance", "user_data"]}
        for stype in types:
            where = _orderable_in(stype)
            catalog["server_types"][stype.name] = {"arch": [arch_of.get(stype.architecture, stype.architecture)],
                                                   "locations": where or None}
        return catalog

    def price_catalog(self):
        """``GET /pricing`` (prices per location, the currency and VAT of the project) and the server types
        (cores, memory, architecture): two read-only calls."""
        deadline = self._read_deadline()
        pricing = self.api.call(lambda: self.client.request("GET", "/pricing"), "read the Hetzner price list",
                                deadline)["pricing"]
        listed = self.api.call(self.client.server_types.get_all, "list server types", deadline)
        types = dict((t.name, t) for t in listed)
        arch_of = dict((v, k) for k, v in ARCH.items())
        catalog = {"provider": self.name, "currency": pricing["currency"], "vat_rate": float(pricing["vat_rate"]),
                   "server_types": {}, "addresses": {}}
        for entry in pricing["server_types"]:
            stype = types.get(entry["name"])
            if stype is None:  # priced but not orderable (yet, or any more)
                continue
            monthly = dict((p["location"], _price(p["price_monthly"])) for p in entry["prices"])
            catalog["server_types"][entry["name"]] = {
                "cores": stype.cores, "memory_gb": float(stype.memory), "deprecated": stype.deprecation is not None,
                "arch": [arch_of.get(stype.architecture, stype.architecture)],
                "locations": [loc for loc in _orderable_in(stype) if loc in monthly], "monthly": monthly}
        for entry in pricing["primary_ips"]:
            catalog["addresses"][entry["type"]] = dict((p["location"], _price(p["price_monthly"]))
                                                       for p in entry["prices"])
        catalog["locations"] = sorted(set(loc for t in catalog["server_types"].values() for loc in t["locations"]))
        return catalog

    def name_problems(self, servers=(), firewalls=(), labels=None):
        problems = ["server name %r %s (Hetzner server names are RFC 1123 hostnames)" % (name, why)
                    for name in servers for why in [_names.dns_name_problem(name)] if why]
        problems += ["firewall name %r must be at most %d characters on Hetzner" % (name, FIREWALL_NAME_MAX)
                     for name in firewalls if len(name) > FIREWALL_NAME_MAX]
        return problems + base.label_problems(check_labels, labels)
