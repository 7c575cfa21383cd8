# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Akamai/Linode provider over the ``linode_api4`` SDK (see docs/providers/linode.md).

* Talos image: a custom image uploaded from the Image Factory
  ``akamai-amd64.raw.gz`` (POST /images/upload, then a PUT of the gzip bytes
  to the returned ``upload_to`` URL). Any failure deletes the image again.
* Servers are created with ``booted: false``; their config profile is switched
  to kernel ``linode/direct-disk`` (any other kernel panics with a Talos disk,
  per the Talos Akamai guide) and only then booted.
* User data goes through the Metadata service (base64 ``metadata.user_data``),
  only in regions with the ``Metadata`` capability and at most
  ``USER_DATA_LIMIT`` bytes, both checked before anything is created.
* Our labels are tags ``key=value`` (see ``encode_tags``); lists are filtered
  server-side with ``X-Filter`` on ``tags``. A Cloud Firewall's label
  selector is kept in tags ``applies-to:key=value``.
* The API client is ``_clients/linode.py`` (``LinodeApi``), shared with the
  Linode DNS backend.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import secrets
import shutil
import tempfile
from urllib.parse import quote

from ansible_collections.talos.autoextender.plugins.module_utils import _api_token
from ansible_collections.talos.autoextender.plugins.module_utils._clients.linode import LinodeApi, require_sdk
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import (
    API, CONFLICT, NOT_FOUND, VALIDATION,
)
from ansible_collections.talos.autoextender.plugins.module_utils._providers import _lost_answer, base
from ansible_collections.talos.autoextender.plugins.module_utils._wait import wait_for

try:
    import requests
except ImportError:
    pass  # require_sdk() says what to install before requests is used

DIRECT_DISK = "linode/direct-disk"
METADATA = "Metadata"
#: user data we accept, in bytes before base64 (about 16 KiB is what is known to work, CAPL PR #586)
USER_DATA_LIMIT = 16384
#: tags of instances, firewalls and domains are 3-50 characters; image tags may have 100
TAG_MIN, TAG_MAX, IMAGE_TAG_MAX = 3, 50, 100
SELECTOR_PREFIX = "applies-to:"
#: image labels that carry what the normalised Image reports
TALOS_VERSION_LABEL, SCHEMATIC_LABEL, ARCH_LABEL = base.IMAGE_VERSION_LABEL, base.IMAGE_SCHEMATIC_LABEL, base.IMAGE_ARCH_LABEL
DEFAULT_IMAGE_REGION = "us-ord"
LABEL_RX = re.compile(r"^[a-zA-Z]((?!--|__|\.\.)[a-zA-Z0-9-_.])+$")
FIREWALL_LABEL_MAX = 32
SERVER_LABEL_MAX = 64
RULE_DESCRIPTION_MAX = 100
SERVER_STATUS = {"running": "running", "offline": "off", "stopped": "off", "shutting_down": "stopping",
                 "deleting": "deleting"}
STARTING = ("provisioning", "booting", "rebooting", "migrating", "rebuilding", "cloning", "restoring", "busy")
IMAGE_STATUS = {"pending_upload": "creating", "creating": "creating", "available": "available"}
PRIVATE_V4 = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


# -- labels <-> tags ---------------------------------------------------------------------
def encode_tags(labels, maximum=TAG_MAX, prefix=""):
    """Tags ``<prefix>key=value`` for ``labels``; a validation error when one cannot be a Linode tag."""
    tags = []
    for key, value in sorted((labels or {}).items()):
        value = "" if value is None else str(value)
        if not key or "=" in key or key.startswith(SELECTOR_PREFIX):
            raise AutoextenderError("Invalid label key %r: it must be non-empty and contain no '='" % (key,),
                                    kind=VALIDATION)
        tag = "%s%s=%s" % (prefix, key, value)
        if not TAG_MIN <= len(tag) <= maximum:
            raise AutoextenderError("Label %s=%s does not fit in a Linode tag (%d to %d characters including the key "
                                    "and '='); shorten the value" % (key, value, TAG_MIN, maximum), kind=VALIDATION)
        tags.append(tag)
    return tags


def decode_tags(tags, prefix=""):
    """The labels a list of tags carries (tags that are not ``key=value`` are not labels)."""
    labels = {}
    for tag in tags or ():
        if prefix:
            if not tag.startswith(prefix):
                continue
            tag = tag[len(prefix):]
        elif tag.startswith(SELECTOR_PREFIX):
            continue
        key, sep, value = tag.partition("=")
        if sep and key:
            labels[key] = value
    return labels


def foreign_tags(tags):
    """Tags that are neither labels nor selectors (someone else's; kept on updates)."""
    return [t for t in tags or () if not decode_tags([t]) and not decode_tags([t], SELECTOR_PREFIX)]


def tag_filter(labels):
    """The X-Filter matching resources tagged with every one of ``labels`` (None for no labels)."""
    clauses = [{"tags": tag} for tag in encode_tags(labels, maximum=IMAGE_TAG_MAX)]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"+and": clauses}


def has_labels(labels, selector):
    return all(labels.get(k) == str(v) for k, v in (selector or {}).items())


def _path_id(value):
    """An ID in a path, quoted; an image's "private/123" stays two segments, as the SDK and the CLI send it."""
    return quote(str(value), safe="/")


def _public_ipv4(addresses):
    for address in addresses or ():
        ip = ipaddress.ip_address(address)
        if not any(ip in net for net in PRIVATE_V4):
            return address
    return None


def _validation(msg):
    return AutoextenderError(msg, kind=VALIDATION)


class LinodeProvider(base.CloudProvider):
    """CloudProvider for Akamai/Linode. Options: see ``LinodeApi``, plus ``image_region`` (upload region of
    custom images, default us-ord) and ``download_timeout``."""

    name = "linode"
    user_data_limit = USER_DATA_LIMIT

    def __init__(self, credentials, options=None):
        super().__init__(credentials, options)
        self.api = LinodeApi(self.credentials, self.options)

    def secrets(self):
        found = super().secrets()
        found += _api_token.every_value("linode")
        return found

    # -- normalisation -----------------------------------------------------------------
    def _server(self, data):
        status = data.get("status")
        return base.server(
            id=str(data["id"]), name=data.get("label"), provider=self.name, location=data.get("region"),
            server_type=data.get("type"), status=SERVER_STATUS.get(status, "starting" if status in STARTING else "unknown"),
            public_ipv4=_public_ipv4(data.get("ipv4")), public_ipv6=(data.get("ipv6") or "").split("/")[0] or None,
            image=data.get("image"), labels=decode_tags(data.get("tags")), created=data.get("created"))

    def _image(self, data):
        labels = decode_tags(data.get("tags"))
        return base.image(
            id=data["id"], name=data.get("label"), provider=self.name, status=IMAGE_STATUS.get(data.get("status"), "failed"),
            labels=labels, talos_version=labels.get(TALOS_VERSION_LABEL), schematic=labels.get(SCHEMATIC_LABEL),
            arch=labels.get(ARCH_LABEL), size_bytes=(data.get("size") or 0) * 1048576 or None)

    def _firewall(self, data):
        tags = data.get("tags")
        rules = [self._rule_in(r) for r in (data.get("rules") or {}).get("inbound") or () if r.get("action") == "ACCEPT"]
        return base.firewall(id=str(data["id"]), name=data.get("label"), provider=self.name, labels=decode_tags(tags),
                             rules=rules, applies_to=decode_tags(tags, SELECTOR_PREFIX))

    @staticmethod
    def _rule_in(rule):
        addresses = rule.get("addresses") or {}
        return {"protocol": rule["protocol"].lower(), "port": rule.get("ports") or None,
                "sources": sorted((addresses.get("ipv4") or []) + (addresses.get("ipv6") or [])),
                "description": rule.get("description") or None}

    @staticmethod
    def _rule_out(rule):
        protocol = rule["protocol"].lower()
        port = None if protocol == "icmp" or rule.get("port") in (None, "") else str(rule["port"])
        description = rule.get("description")
        if description is not None and not 1 <= len(description) <= RULE_DESCRIPTION_MAX:
            raise _validation("Firewall rule description %r must be 1 to %d characters on Linode"
                              % (description, RULE_DESCRIPTION_MAX))
        sources = list(rule.get("sources") or ())
        addresses = {"ipv4": [s for s in sources if ":" not in s], "ipv6": [s for s in sources if ":" in s]}
        out = {"action": "ACCEPT", "protocol": protocol.upper(),
               "label": ("ae-%s-%s" % (protocol, (port or "all").replace(",", "-")))[:FIREWALL_LABEL_MAX],
               "addresses": dict((k, v) for k, v in addresses.items() if v)}
        if port:
            out["ports"] = port
        if description:
            out["description"] = description
        return out

    def _owned(self, labels, what):
        if not base.is_owned(labels):
            raise AutoextenderError("Refusing to change %s: it does not carry the tag %s=%s, so it was not created by "
                                    "talos-autoextender" % (what, base.MANAGED_BY, base.MANAGED_BY_VALUE), kind=CONFLICT)

    def _fresh_owned(self, what, path, deadline, must_exist=False):
        """Re-read a resource before changing it: None when gone, a conflict error unless it carries our tags."""
        fresh = self.api.read("read " + what, deadline, path)
        if fresh is None and must_exist:
            raise AutoextenderError("Failed to update %s: it no longer exists" % what, kind=NOT_FOUND)
        if fresh is not None:
            self._owned(decode_tags(fresh.get("tags")), what)
        return fresh

    def _delete_owned(self, what, path, deadline):
        if self._fresh_owned(what, path, deadline) is None:
            return False
        return _lost_answer.delete("delete " + what, deadline,
                                   lambda: self.api.call("delete " + what, deadline, "delete", path, look_first=True),
                                   lambda: self.api.read("read " + what, deadline, path) is None, self.notices)

    def _find(self, what, path, name, deadline):
        found = self.api.collect("find " + what, deadline, path, {"label": name})
        return found[0] if found else None

    # -- images --------------------------------------------------------------------------
    def list_images(self, selector):
        flt = {"+and": [{"is_public": False}] + ([tag_filter(selector)] if selector else [])}
        found = self.api.collect("list Linode images", self.api.deadline(), "/images", flt)
        return [self._image(i) for i in found if has_labels(decode_tags(i.get("tags")), selector)]

    def create_talos_image(self, spec, deadline):
        arch = spec.get("arch") or "amd64"
        if arch != "amd64":
            raise _validation("Linode has no %s plans: the Talos image for Linode must be amd64" % arch)
        labels = dict(spec.get("labels") or {})
        for key, field in ((TALOS_VERSION_LABEL, "talos_version"), (SCHEMATIC_LABEL, "schematic"), (ARCH_LABEL, "arch")):
            if spec.get(field):
                labels.setdefault(key, spec[field])
        tags = encode_tags(labels, maximum=IMAGE_TAG_MAX)
        if not spec.get("source_url"):
            raise _validation("A source_url (the Image Factory akamai-amd64.raw.gz) is required to upload a Talos image")
        region = spec.get("location") or self.options.get("image_region") or DEFAULT_IMAGE_REGION
        path, temporary = self._fetch(spec["source_url"], deadline)
        try:
            _check_gzip(path, spec["source_url"])
            body = {"label": spec["name"], "region": region, "cloud_init": True, "tags": tags,
                    "description": "Talos %s (%s) from %s" % (spec.get("talos_version") or "?", arch, spec["source_url"])}
            what = "create the Linode image %s" % spec["name"]
            answer = _lost_answer.create(what, deadline, lambda: self.api.post_once(what, deadline, "/images/upload", body),
                                         lambda: self._orphan_upload(spec["name"], tags), lambda found: False,
                                         self.notices)
            image_id = answer["image"]["id"]
            try:
                self._upload(answer["upload_to"], path, deadline, spec["name"])
                return self._wait_image(image_id, deadline)
            except AutoextenderError:
                self.api.remove("delete the failed Linode image %s" % image_id, self.cleanup_deadline(),
                                "/images/" + _path_id(image_id))
                raise
        finally:
            if temporary:
                os.unlink(path)

    def _orphan_upload(self, name, tags):
        """After a lost create answer: delete the pending image it may have made (its upload URL is lost, so it
        cannot be adopted); None tells ``_lost_answer.create`` that nothing is left, so it sends the create again."""
        flt = {"+and": [{"label": name}, {"is_public": False}] + [{"tags": t} for t in tags]}
        deadline = self.cleanup_deadline()
        for image in self.api.collect("find the Linode image %s" % name, deadline, "/images", flt):
            if image.get("status") == "pending_upload" and base.is_owned(decode_tags(image.get("tags"))):
                self.api.remove("delete the half-made Linode image %s" % image["id"], deadline,
                                "/images/" + _path_id(image["id"]))
        return None

    def _fetch(self, source, deadline):
        """A local path of the image: the file itself, or a private temporary download of a URL."""
        if source.startswith("file://"):
            source = source[len("file://"):]
        if not source.startswith(("http://", "https://")):
            if not os.path.isfile(source):
                raise _validation("Talos image source %s does not exist" % source)
            return source, False
        require_sdk()
        fd, path = tempfile.mkstemp(prefix="autoextender-akamai-", suffix=".raw.gz")
        try:
            timeout = (10, max(1.0, min(float(self.options.get("download_timeout") or 600), deadline.remaining())))
            with os.fdopen(fd, "wb") as out, requests.get(source, stream=True, timeout=timeout) as response:
                if response.status_code != 200:
                    raise AutoextenderError("Failed to download the Talos image %s: HTTP %d" % (source, response.status_code),
                                            kind=API, details={"status": response.status_code})
                shutil.copyfileobj(response.raw, out, 1 << 20)
        except requests.RequestException as exc:
            os.unlink(path)
            raise AutoextenderError("Failed to download the Talos image %s: %s" % (source, type(exc).__name__), kind=API)
        except AutoextenderError:
            os.unlink(path)
            raise
        return path, True

    def _upload(self, url, path, deadline, name):
        timeout = (10, max(1.0, deadline.remaining()))
        try:
            with open(path, "rb") as data:
                response = requests.put(url, data=data, headers={"Content-Type": "application/octet-stream"},
                                        timeout=timeout)
        except requests.RequestException as exc:
            raise AutoextenderError("Failed to upload the Linode image %s: %s" % (name, type(exc).__name__), kind=API)
        if not 200 <= response.status_code < 300:
            raise AutoextenderError("Failed to upload the Linode image %s: HTTP %d" % (name, response.status_code),
                                    kind=API, details={"status": response.status_code})

    def _wait_image(self, image_id, deadline):
        path = "/images/" + _path_id(image_id)

        def probe():
            data = self.api.read("read the Linode image %s" % image_id, deadline, path)
            if data is None:
                raise AutoextenderError("Failed to create the Linode image %s: the upload was not accepted (the image "
                                        "vanished while it was processed; is the source a raw disk image?)" % image_id,
                                        kind=API)
            image = self._image(data)
            return image["status"] == "available", image

        return wait_for(probe, deadline, "the Linode image %s to become available" % image_id)

    def delete_image(self, image, deadline):
        self.refuse_image_in_use(image, "the Linode image %s" % image["id"])
        return self._delete_owned("the Linode image %s" % image["id"], "/images/" + _path_id(image["id"]), deadline)

    def image_users(self, image):
        found = self.api.collect("list Linodes", self.api.deadline(), "/linode/instances")
        return sorted(i.get("label") for i in found if i.get("image") == image["id"] and i.get("status") != "deleting")

    # -- firewalls ---------------------------------------------------------------------------
    def _find_firewall(self, name, deadline):
        return self._find("the Linode firewall %s" % name, "/networking/firewalls", name, deadline)

    def get_firewall(self, name):
        found = self._find_firewall(name, self.api.deadline())
        return self._firewall(found) if found else None

    def _firewall_body(self, spec):
        name = spec["name"]
        if not (3 <= len(name) <= FIREWALL_LABEL_MAX and LABEL_RX.match(name)):
            raise _validation("Linode firewall names are 3 to %d letters, digits, '-', '_' or '.', starting with a "
                              "letter; %r is not" % (FIREWALL_LABEL_MAX, name))
        tags = encode_tags(spec.get("labels")) + encode_tags(spec.get("applies_to"), prefix=SELECTOR_PREFIX)
        rules = {"inbound_policy": "DROP", "outbound_policy": "ACCEPT", "outbound": [],
                 "inbound": [self._rule_out(r) for r in spec.get("rules") or ()]}
        return tags, rules

    def _selected_servers(self, selector, deadline):
        if not selector:
            return []
        found = self.api.collect("list Linodes", deadline, "/linode/instances", tag_filter(selector))
        return [i["id"] for i in found if has_labels(decode_tags(i.get("tags")), selector) and
                base.is_owned(decode_tags(i.get("tags")))]

    def create_firewall(self, spec, deadline):
        tags, rules = self._firewall_body(spec)
        body = {"label": spec["name"], "tags": tags, "rules": rules,
                "devices": {"linodes": self._selected_servers(spec.get("applies_to"), deadline)}}

        what = "create the Linode firewall %s" % spec["name"]
        created = _lost_answer.create(what, deadline, lambda: self.api.post_once(what, deadline, "/networking/firewalls", body),
                                      lambda: self._find_firewall(spec["name"], deadline),
                                      lambda found: base.carries(decode_tags(found.get("tags")), spec.get("labels")),
                                      self.notices)
        return self._firewall(created)

    def update_firewall(self, current, spec, deadline):
        path = "/networking/firewalls/%s" % _path_id(current["id"])
        fresh = self._fresh_owned("the Linode firewall %s" % current["name"], path, deadline, must_exist=True)
        tags, rules = self._firewall_body(dict(spec, name=fresh["label"]))
        what = "update the Linode firewall %s" % fresh["label"]
        if _rule_key(self._firewall(fresh)["rules"]) != _rule_key([self._rule_in(r) for r in rules["inbound"]]):
            self.api.call(what, deadline, "put", path + "/rules", data=rules)
        wanted_tags = sorted(foreign_tags(fresh.get("tags")) + tags)
        if wanted_tags != sorted(fresh.get("tags") or []):
            self.api.call(what, deadline, "put", path, data={"tags": wanted_tags})
        self._sync_devices(path, spec.get("applies_to"), deadline, what)
        return self._firewall(self.api.call("read the Linode firewall %s" % fresh["label"], deadline, "get", path))

    def _sync_devices(self, path, selector, deadline, what):
        """Attach our servers that match the selector; detach our servers that no longer do; leave others."""
        devices = self.api.collect(what, deadline, path + "/devices")
        attached = dict((d["entity"]["id"], d["id"]) for d in devices if d["entity"]["type"] == "linode")
        wanted = set(self._selected_servers(selector, deadline))
        for linode_id in sorted(wanted - set(attached)):
            self.api.call(what, deadline, "post", path + "/devices", data={"id": linode_id, "type": "linode"})
        ours = set(self._selected_servers({base.MANAGED_BY: base.MANAGED_BY_VALUE}, deadline))
        for linode_id in sorted((set(attached) - wanted) & ours):
            self.api.remove(what, deadline, "%s/devices/%s" % (path, attached[linode_id]))

    def delete_firewall(self, current, deadline):
        return self._delete_owned("the Linode firewall %s" % current["name"],
                                  "/networking/firewalls/%s" % _path_id(current["id"]), deadline)

    # -- floating addresses ---------------------------------------------------------------------
    # A floating IPv4 on Linode is an additional public IPv4 of a Linode of the pool, moved between the pool's
    # Linodes with POST /networking/ips/assign (one region). Addresses carry no labels, so ownership is derived:
    # an address is ours when it sits on a Linode with our tags (managed-by, cluster, pool) and is not that
    # Linode's first public IPv4 (the one it was created with, which Linode lists first and ``_server`` reports
    # as the server's address). Its name is ``<cluster>-<pool>-ipv4`` from the Linode's tags and its labels are
    # those three tags; its id is the address. Limits (docs/providers/linode.md): one per pool, no labels of its
    # own, always on a Linode (it cannot be routed nowhere; it goes when its Linode is deleted), no IPv6.
    floating_families = ("ipv4",)
    no_floating = ("Linode floats IPv4 only (an additional public IPv4 moved between the pool's Linodes); its IPv6 "
                   "ranges are routed to one Linode's SLAAC address and have no name to find them by")

    @staticmethod
    def _floating_name(labels):
        return "%s-%s-ipv4" % (labels.get(base.CLUSTER_LABEL), labels.get(base.POOL_LABEL))

    def _floating_of(self, data):
        """The FloatingIps on the Linode ``data`` (its public IPv4 after the first), [] unless it is ours."""
        labels = decode_tags(data.get("tags"))
        if not (base.is_owned(labels) and labels.get(base.CLUSTER_LABEL) and labels.get(base.POOL_LABEL)):
            return []
        ours = dict((k, labels[k]) for k in (base.MANAGED_BY, base.CLUSTER_LABEL, base.POOL_LABEL))
        public = [a for a in data.get("ipv4") or () if _public_ipv4([a])]
        return [base.floating_ip(id=a, name=self._floating_name(labels), provider=self.name, family="ipv4",
                                 address=a, location=data.get("region"), server=str(data["id"]), labels=ours)
                for a in sorted(public[1:], key=ipaddress.ip_address)]

    def _our_floating(self, selector, deadline):
        selector = dict(selector or {}, **{base.MANAGED_BY: base.MANAGED_BY_VALUE})
        found = self.api.collect("list Linodes", deadline, "/linode/instances", tag_filter(selector))
        out = []
        for data in found:
            out += [f for f in self._floating_of(data) if has_labels(f["labels"], selector)]
        return out

    def list_floating_ips(self, selector):
        return self._our_floating(selector, self.api.deadline())

    def get_floating_ip(self, name):
        """The first (lowest) address of that name; a pool has one (a second would be listed with the same name)."""
        found = [f for f in self._our_floating(None, self.api.deadline()) if f["name"] == name]
        return found[0] if found else None

    def _pool_linode(self, server_id, labels, what, deadline):
        """The Linode ``server_id``, which must be ours and of the pool ``labels`` name."""
        data = self.api.read("read the Linode %s" % server_id, deadline, "/linode/instances/%s" % _path_id(server_id))
        if data is None:
            raise AutoextenderError("Failed to %s: the Linode %s does not exist" % (what, server_id), kind=NOT_FOUND)
        tags = decode_tags(data.get("tags"))
        self._owned(tags, "the Linode %s" % data.get("label"))
        for key in (base.CLUSTER_LABEL, base.POOL_LABEL):
            if tags.get(key) != labels.get(key):
                raise _validation("Failed to %s: the Linode %s is not in %s %s (its tag is %s=%s)"
                                  % (what, data.get("label"), key, labels.get(key), key, tags.get(key)))
        return data

    no_floating_labels = "a Linode address carries no labels of its own (it is known by the tags of its Linode)"

    def update_floating_ip_labels(self, current, labels, deadline):
        raise _validation("Failed to update the labels of the Linode floating address %s: %s"
                          % (current["name"], self.no_floating_labels))

    def create_floating_ip(self, spec, deadline):
        """An additional public IPv4 allocated on the Linode ``server`` (POST /networking/ips)."""
        what = "create the Linode floating address %s" % spec["name"]
        labels = dict(spec.get("labels") or {})
        if (spec.get("family") or "ipv4") != "ipv4":
            raise _validation("Failed to %s: %s" % (what, self.no_floating))
        if not base.is_owned(labels):
            raise _validation("Failed to %s: its labels must include the ownership labels" % what)
        extra = sorted(set(labels) - {base.MANAGED_BY, base.CLUSTER_LABEL, base.POOL_LABEL})
        if extra:
            raise _validation("Failed to %s: a Linode address carries no labels of its own (it is known by the tags of "
                              "its Linode), so labels %s cannot be kept" % (what, ", ".join(extra)))
        if spec["name"] != self._floating_name(labels):
            raise _validation("Failed to %s: on Linode the name is derived from the pool, so it must be %s"
                              % (what, self._floating_name(labels)))
        if not spec.get("server"):
            raise _validation("Failed to %s: a Linode address exists only on a Linode; give the server (or servers) "
                              "of the pool to allocate it on" % what)
        data = self._pool_linode(spec["server"], labels, what, deadline)
        if spec.get("location") and spec["location"] != data.get("region"):
            raise _validation("Failed to %s: the Linode %s is in %s, not %s" % (what, data.get("label"),
                                                                                data.get("region"), spec["location"]))
        body = {"type": "ipv4", "public": True, "linode_id": data["id"]}
        _lost_answer.create(what, deadline, lambda: self.api.post_once(what, deadline, "/networking/ips", body),
                            lambda: self.get_floating_ip(spec["name"]), lambda found: True, self.notices)
        found = self.get_floating_ip(spec["name"])
        if found is None:
            raise AutoextenderError("Failed to %s: the allocated address is not on the Linode %s"
                                    % (what, data.get("label")), kind=API)
        return found

    def _fresh_floating(self, current, what, deadline):
        """``current`` re-read: (its record, its Linode) while it is still ours, None when gone."""
        record = self.api.read("read the address %s" % current["address"], deadline,
                               "/networking/ips/%s" % _path_id(current["address"]))
        if record is None or record.get("linode_id") is None:
            return None
        owner = self.api.read("read the Linode %s" % record["linode_id"], deadline,
                              "/linode/instances/%s" % _path_id(record["linode_id"]))
        mine = [f for f in self._floating_of(owner or {"tags": []}) if f["address"] == current["address"]]
        if not mine or mine[0]["name"] != current["name"]:
            raise AutoextenderError("Refusing to %s: %s is no longer an additional address of a Linode of its pool"
                                    % (what, current["address"]), kind=CONFLICT)
        return mine[0]

    def assign_floating_ip(self, current, server_id, deadline):
        """One POST /networking/ips/assign in the address's region; the previous Linode loses it."""
        what = "move the Linode floating address %s" % current["name"]
        if server_id is None:
            raise _validation("Failed to %s: a Linode address is always on a Linode; delete it instead" % what)
        fresh = self._fresh_floating(current, what, deadline)
        if fresh is None:
            raise AutoextenderError("Failed to %s: it no longer exists" % what, kind=NOT_FOUND)
        if fresh["server"] == str(server_id):
            return fresh
        target = self._pool_linode(server_id, fresh["labels"], what, deadline)
        if target.get("region") != fresh["location"]:
            raise _validation("Failed to %s: the Linode %s is in %s and the address in %s; Linode moves addresses "
                              "within a region only" % (what, target.get("label"), target.get("region"),
                                                        fresh["location"]))
        self.api.call(what, deadline, "post", "/networking/ips/assign",
                      data={"region": fresh["location"],
                            "assignments": [{"address": fresh["address"], "linode_id": target["id"]}]})
        moved = self._fresh_floating(fresh, what, deadline)
        if moved is None or moved["server"] != str(target["id"]):
            raise AutoextenderError("Failed to %s: the address is not on the Linode %s after the assignment"
                                    % (what, target.get("label")), kind=API)
        return moved

    def delete_floating_ip(self, current, deadline):
        """DELETE /linode/instances/{id}/ips/{address} (Linode frees the address)."""
        what = "delete the Linode floating address %s" % current["name"]
        fresh = self._fresh_floating(current, what, deadline)
        if fresh is None:
            return False
        path = "/linode/instances/%s/ips/%s" % (_path_id(fresh["server"]), _path_id(fresh["address"]))
        return _lost_answer.delete(
            what, deadline, lambda: self.api.call(what, deadline, "delete", path, look_first=True),
            lambda: self._fresh_floating(current, what, deadline) is None, self.notices)

    # -- servers ------------------------------------------------------------------------------
    def _find_instance(self, name, deadline):
        return self._find("the Linode %s" % name, "/linode/instances", name, deadline)

    def list_servers(self, selector):
        found = self.api.collect("list Linodes", self.api.deadline(), "/linode/instances", tag_filter(selector))
        return [self._server(i) for i in found if has_labels(decode_tags(i.get("tags")), selector)]

    def get_server(self, name):
        found = self._find_instance(name, self.api.deadline())
        return self._server(found) if found else None

    def create_server(self, spec, deadline):
        name = spec["name"]
        user_data = spec.get("user_data")
        if user_data is not None:
            raw = user_data.encode("utf-8") if isinstance(user_data, str) else bytes(user_data)
            if len(raw) > USER_DATA_LIMIT:
                raise _validation("User data for %s is %d bytes; Linode's Metadata service takes at most %d. Use the "
                                  "maintenance-mode join instead (no user data; the config is applied over the Talos "
                                  "API)" % (name, len(raw), USER_DATA_LIMIT))
        tags = encode_tags(spec.get("labels"))
        if user_data is not None:
            self._require_metadata(spec["location"], deadline)
        body = {"label": name, "region": spec["location"], "type": spec["server_type"], "image": spec["image"],
                "root_pass": _root_pass(), "booted": False, "tags": tags}
        if user_data is not None:
            body["metadata"] = {"user_data": base64.b64encode(raw).decode("ascii")}
        if spec.get("firewall"):
            body["firewall_id"] = int(spec["firewall"])

        what = "create the Linode %s" % name
        data = _lost_answer.create(what, deadline, lambda: self.api.post_once(what, deadline, "/linode/instances", body),
                                   lambda: self._find_instance(name, deadline),
                                   lambda found: base.carries(decode_tags(found.get("tags")), spec.get("labels")),
                                   self.notices)
        self._direct_disk(data["id"], deadline)
        return self._boot(data["id"], deadline)

    def _require_metadata(self, location, deadline):
        region = self.api.read("read the Linode region %s" % location, deadline, "/regions/" + _path_id(location))
        if region is None:
            self.check_placement(location, None)
        if METADATA not in (region or {}).get("capabilities", ()):
            raise _validation("Linode region %s has no Metadata service, so user data cannot be delivered there. Use "
                              "the maintenance-mode join (create the server without user data and apply the machine "
                              "config over the Talos API), or pick a region with the Metadata capability" % location)

    def _wrong_kernels(self, linode_id, deadline):
        """The config profiles that do not boot kernel linode/direct-disk."""
        path = "/linode/instances/%s/configs" % _path_id(linode_id)
        return [c for c in self.api.collect("read the config profiles of the Linode %s" % linode_id, deadline, path)
                if c.get("kernel") != DIRECT_DISK]

    def _direct_disk(self, linode_id, deadline):
        """Point every config profile at kernel linode/direct-disk (the Talos disk has its own boot loader);
        True when one had to change."""
        path = "/linode/instances/%s/configs" % _path_id(linode_id)
        what = "set kernel %s on the Linode %s" % (DIRECT_DISK, linode_id)
        wrong = self._wrong_kernels(linode_id, deadline)
        for config in wrong:
            self.api.call(what, deadline, "put", "%s/%s" % (path, config["id"]), data={"kernel": DIRECT_DISK})
        return bool(wrong)

    def _boot(self, linode_id, deadline, reboot=False):
        """Boot once provisioning (or a shutdown) is over, reboot a running one when ``reboot``; return the
        Server (not waiting for ``running``)."""
        path = "/linode/instances/%s" % _path_id(linode_id)

        def probe():
            data = self.api.call("read the Linode %s" % linode_id, deadline, "get", path)
            return data["status"] not in ("provisioning", "busy", "shutting_down"), data

        data = wait_for(probe, deadline, "the Linode %s to finish provisioning" % linode_id, initial=0.2, maximum=5.0)
        action = "boot" if data["status"] in ("offline", "stopped") else "reboot" if reboot else None
        if action:
            self.api.call("%s the Linode %s" % (action, linode_id), deadline, "post", "%s/%s" % (path, action), data={})
            data = self.api.call("read the Linode %s" % linode_id, deadline, "get", path)
        return self._server(data)

    def update_server_labels(self, current, labels, deadline):
        path = "/linode/instances/%s" % _path_id(current["id"])
        fresh = self._fresh_owned("the Linode %s" % current["name"], path, deadline, must_exist=True)
        tags = sorted(foreign_tags(fresh.get("tags")) + encode_tags(labels))
        data = self.api.call("update the tags of the Linode %s" % current["name"], deadline, "put", path,
                             data={"tags": tags})
        return self._server(data)

    def delete_server(self, current, deadline):
        return self._delete_owned("the Linode %s" % current["name"], "/linode/instances/%s" % _path_id(current["id"]),
                                  deadline)

    def boot_drift(self, current):
        wrong = self._wrong_kernels(current["id"], self.api.deadline())
        return {"kernel": (wrong[0].get("kernel"), DIRECT_DISK)} if wrong else {}

    def start_server(self, current, deadline):
        """Give every config profile kernel linode/direct-disk, then boot the Linode (reboot it when it ran
        with another kernel, which panics with a Talos disk)."""
        path = "/linode/instances/%s" % _path_id(current["id"])
        fresh = self._fresh_owned("the Linode %s" % current["name"], path, deadline, must_exist=True)
        fixed = self._direct_disk(fresh["id"], deadline)
        return self._boot(fresh["id"], deadline, reboot=fixed)

    def wait_server(self, current, deadline):
        """Wait for ``running``; one that settles ``offline`` (created with ``booted: false`` by a run cut short
        before the boot) is started once."""
        path = "/linode/instances/%s" % _path_id(current["id"])
        started = []

        def probe():
            data = self.api.call("read the Linode %s" % current["name"], deadline, "get", path)
            if data["status"] in ("offline", "stopped") and not started:
                started.append(self.start_server(current, deadline))
            server = self._server(data)
            return server["status"] == "running", server

        return wait_for(probe, deadline, "the Linode %s to run" % current["name"], initial=0.2, maximum=5.0)

    # -- placement and names -------------------------------------------------------------------
    def placement_catalog(self):
        """Regions that host Linodes (user data where they have Metadata); every plan is amd64 (no Arm plans)."""
        deadline = self.api.deadline()
        regions = self.api.collect("list Linode regions", deadline, "/regions")
        types = self.api.collect("list Linode types", deadline, "/linode/types")
        return {"locations": dict((r["id"], {"user_data": METADATA in r.get("capabilities", ())}) for r in regions
                                  if "Linodes" in r.get("capabilities", ())),
                "server_types": dict((t["id"], {"arch": ["amd64"], "locations": None}) for t in types),
                "joins": ["maintenance", "user_data"]}

    def price_catalog(self):
        """``/linode/types``: a monthly price in US dollars without tax, with ``region_prices`` where a region
        differs; the IPv4 and IPv6 addresses are included in it. ``/regions`` says where Linodes go."""
        deadline = self.api.deadline()
        regions = self.api.collect("list Linode regions", deadline, "/regions")
        types = self.api.collect("list Linode types", deadline, "/linode/types")
        catalog = {"provider": self.name, "currency": "USD", "vat_rate": None, "addresses": {},
                   "locations": sorted(r["id"] for r in regions if "Linodes" in r.get("capabilities", ())),
                   "server_types": {}}
        for stype in types:
            monthly = {"*": {"net": float(stype["price"]["monthly"]), "gross": None}}
            monthly.update((p["id"], {"net": float(p["monthly"]), "gross": None}) for p in stype.get("region_prices") or ())
            catalog["server_types"][stype["id"]] = {
                "cores": stype["vcpus"], "memory_gb": stype["memory"] / 1024.0, "arch": ["amd64"], "locations": None,
                "deprecated": False, "monthly": monthly}
        return catalog

    def name_problems(self, servers=(), firewalls=(), labels=None):
        rule = "must be %d to %d letters, digits, '-', '_' or '.', starting with a letter, without '--', '__' or '..'"
        problems = ["Linode label %r %s" % (name, rule % (3, SERVER_LABEL_MAX)) for name in servers
                    if not (3 <= len(name) <= SERVER_LABEL_MAX and LABEL_RX.match(name))]
        problems += ["Linode firewall label %r %s" % (name, rule % (3, FIREWALL_LABEL_MAX)) for name in firewalls
                     if not (3 <= len(name) <= FIREWALL_LABEL_MAX and LABEL_RX.match(name))]
        return problems + base.label_problems(encode_tags, labels)


def _rule_key(rules):
    return sorted((r["protocol"], r.get("port") or "", tuple(sorted(r.get("sources") or ())), r.get("description") or "")
                  for r in rules)


def _check_gzip(path, source):
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic != b"\x1f\x8b":
        raise _validation("Talos image source %s is not gzip-compressed; Linode takes raw disk images compressed with "
                          "gzip (the Image Factory akamai-amd64.raw.gz)" % source)


def _root_pass():
    """A strong throw-away root password: the API requires one with an image; Talos ignores it."""
    return "Ta1!" + secrets.token_urlsafe(32)
