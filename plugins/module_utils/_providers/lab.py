# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The lab cloud (docs/lab.md) behind the CloudProvider interface, over HTTP with ``requests``.

Where to connect, first found wins: ``options["api_url"]`` and
``credentials["api_token"]``; the environment variables ``LAB_CLOUD_URL`` and
``LAB_CLOUD_TOKEN``; the ``cloud.json`` that ``hack/lab_cloud.py start`` writes
(its path in ``options["config_file"]`` or ``LAB_CLOUD_CONFIG``).

Reads take no deadline in the interface: they use ``options["deadline"]``
(the task's Deadline, set by the modules) or a fresh one of
``options["timeout"]`` seconds (default 60).
"""

from __future__ import annotations

import json
import os
import re
import traceback

try:
    import requests
except ImportError:
    requests = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    REQUESTS_IMPORT_ERROR = None

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.talos.autoextender.plugins.module_utils import _api_token
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import (
    API, AUTH, BOOT_FAILED, CONFLICT, MISSING_LIBRARY, NOT_FOUND, VALIDATION,
)
from ansible_collections.talos.autoextender.plugins.module_utils._providers import _lost_answer, base
from ansible_collections.talos.autoextender.plugins.module_utils._retry import ApiFailure, call, parse_retry_after
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline, wait_for

URL_ENV = "LAB_CLOUD_URL"
CONFIG_ENV = "LAB_CLOUD_CONFIG"
#: lab status -> normalised status ("error": the machine config failed validation)
#: server and firewall names the lab accepts (docs/lab.md)
NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$")
STATUS = {"starting": "starting", "running": "running", "stopping": "stopping", "off": "off",
          "deleting": "deleting"}


class HttpError(Exception):
    """A response with status >= 400, with the lab's error body."""

    def __init__(self, response):
        try:
            body = response.json()
        except ValueError:
            body = None
        # A proxy in front of the lab may answer with any JSON: keep only a dict "error".
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            error = {"message": error} if isinstance(error, str) and error else {}
        super().__init__(error.get("message") or "HTTP %s" % response.status_code)
        self.status = response.status_code
        self.code = error.get("code")
        self.message = error.get("message") or response.reason
        self.retry_after = parse_retry_after(response.headers.get("Retry-After"))


def classify(exc):
    if isinstance(exc, HttpError):
        return ApiFailure(status=exc.status, code=exc.code, message=exc.message, retry_after=exc.retry_after)
    return ApiFailure(connection=True, message="%s: %s" % (type(exc).__name__, exc))


def _price(price):
    return {"net": float(price["net"]), "gross": float(price["gross"])}


def to_server(data):
    net = data.get("public_net") or {}
    return base.server(id=data["id"], name=data["name"], provider="lab", location=data["location"],
                       server_type=data["server_type"], status=STATUS.get(data["status"], "unknown"),
                       public_ipv4=net.get("ipv4"), public_ipv6=net.get("ipv6"), image=data.get("image"),
                       labels=data.get("labels"), created=data.get("created"))


def to_image(data):
    return base.image(id=data["id"], name=data["name"], provider="lab", status=data["status"],
                      labels=data.get("labels"), talos_version=data.get("talos_version"),
                      schematic=data.get("schematic"), arch=data.get("arch"), size_bytes=data.get("size_bytes"))


def to_firewall(data):
    return base.firewall(id=data["id"], name=data["name"], provider="lab", labels=data.get("labels"),
                         rules=data.get("rules"), applies_to=data.get("apply_to"))


def to_floating_ip(data):
    return base.floating_ip(id=data["id"], name=data["name"], provider="lab", family=data.get("type") or "ipv4",
                            address=data.get("ip"), location=data.get("location"), server=data.get("server"),
                            labels=data.get("labels"))


class LabProvider(base.CloudProvider):
    name = "lab"
    user_data_limit = 32768
    floating_families = ("ipv4",)
    no_floating = "the lab has IPv4 floating addresses only"
    #: the Image Factory file a lab image is made from (the lab records the URL, it does not download it)
    image_factory_file = "nocloud-{arch}.raw.xz"

    _session = None
    _endpoint = None

    # -- connection ------------------------------------------------------------------------------------
    def endpoint(self):
        """``(url, token)`` from options/credentials, the environment or cloud.json."""
        if self._endpoint is None:
            url = self.options.get("api_url") or os.environ.get(URL_ENV)
            token = _api_token.lookup("lab", self.credentials)
            path = self.options.get("config_file") or os.environ.get(CONFIG_ENV)
            if (not url or not token) and path:
                try:
                    with open(path) as f:
                        saved = json.load(f)
                except (IOError, OSError, ValueError) as e:
                    raise AutoextenderError("Failed to read the lab cloud settings %s: %s" % (path, e),
                                            kind=VALIDATION, details={"path": path})
                url, token = url or saved.get("url"), token or saved.get("token")
            if not url or not token:
                raise AutoextenderError(
                    "The lab cloud needs an API URL and a token: set api_url and api_token, %s and %s, or %s "
                    "(the cloud.json written by hack/lab_cloud.py start)" % (URL_ENV, _api_token.env_names("lab")[0], CONFIG_ENV),
                    kind=AUTH)
            self._endpoint = (url.rstrip("/"), token)
        return self._endpoint

    def secrets(self):
        out = super().secrets()
        if self._endpoint:
            out.append(self._endpoint[1])
        return out

    def _deadline(self, deadline=None):
        return deadline or self.options.get("deadline") or Deadline(self.options.get("timeout", 60))

    def request(self, method, path, what, deadline=None, body=None, params=None, idempotent=True, missing=False,
                look_first=False):
        """One API call with retries (_retry.call); the decoded body, or None on 404 when ``missing``."""
        if requests is None:
            raise AutoextenderError(missing_required_lib("requests"), kind=MISSING_LIBRARY,
                                    details={"exception": REQUESTS_IMPORT_ERROR})
        url, token = self.endpoint()
        deadline = self._deadline(deadline)
        if self._session is None:
            self._session = requests.Session()
            self._session.headers.update({"Authorization": "Bearer " + token, "User-Agent": "talos.autoextender"})

        def send():
            timeout = max(1.0, min(30.0, deadline.remaining()))
            response = self._session.request(method, url + path, json=body, params=params, timeout=timeout)
            if response.status_code == 404 and missing:
                return None
            if response.status_code >= 400:
                raise HttpError(response)
            return response.json() if response.content else {}

        return call(send, what, deadline, classify, (HttpError, requests.RequestException), idempotent=idempotent,
                    look_first=look_first)

    def _create(self, path, key, what, deadline, body, find):
        """POST a create through ``_lost_answer.create``; ``find()`` looks for it by name (and labels)."""
        return _lost_answer.create(
            what, deadline, lambda: self.request("POST", path, what, deadline, body=body, idempotent=False,
                                                 look_first=True)[key],
            find, lambda found: base.carries(found.get("labels"), body.get("labels")), self.notices)

    def _delete(self, path, what, deadline, then=None):
        """DELETE through ``_lost_answer.delete`` (``then(answer)`` waits for its action)."""
        def send():
            answer = self.request("DELETE", path, what, deadline, look_first=True)
            if then:
                then(answer)
        return _lost_answer.delete(what, deadline, send,
                                   lambda: self.request("GET", path, "read " + what[len("delete "):], deadline,
                                                        missing=True) is None, self.notices)

    def _list(self, path, key, what, params):
        items, page = [], 1
        while page:
            data = self.request("GET", path, what, params=dict(params, page=page, per_page=50))
            items += data[key]
            page = data["meta"]["pagination"]["next_page"]
        return items

    def _wait_action(self, action, what, deadline):
        def probe():
            current = self.request("GET", "/actions/%s" % action["id"], what, deadline)["action"]
            return current["status"] != "running", current

        done = wait_for(probe, deadline, what, initial=0.1, maximum=2.0)
        if done["status"] == "error":
            raise AutoextenderError("Failed to %s: %s" % (what, done["error"]["message"]), kind=API,
                                    details={"action": done})
        return done

    @staticmethod
    def selector(labels):
        return ",".join("%s=%s" % (k, v) for k, v in sorted((labels or {}).items()))

    # -- images -------------------------------------------------------------------------------------------
    def list_images(self, selector):
        return [to_image(i) for i in self._list("/images", "images", "list lab images",
                                                {"label_selector": self.selector(selector)})]

    def create_talos_image(self, spec, deadline):
        body = dict((k, spec.get(k)) for k in ("name", "talos_version", "schematic", "arch", "labels", "source_url"))
        what = "create lab image %s" % spec["name"]

        def find():
            same = [i for i in self._list("/images", "images", "find lab image %s" % spec["name"],
                                          {"label_selector": self.selector(spec.get("labels"))})
                    if all(i.get(k) == body[k] for k in ("name", "talos_version", "schematic", "arch"))
                    and i["status"] != "failed"]
            return same[0] if same else None

        created = self._create("/images", "image", what, deadline, body, find)

        def probe():
            data = self.request("GET", "/images/%s" % created["id"], what, deadline)["image"]
            return data["status"] != "creating", to_image(data)

        current = wait_for(probe, deadline, "lab image %s to become available" % spec["name"], initial=0.1,
                           maximum=2.0)
        if current["status"] == "failed":
            self.delete_image(current, deadline)
            raise AutoextenderError("Failed to %s: the image failed and was deleted" % what, kind=API,
                                    details={"image": current})
        return current

    def image_users(self, image):
        servers = self._list("/servers", "servers", "list lab servers", {})
        return sorted(s["name"] for s in servers if str(s.get("image")) == str(image["id"]) and s["status"] != "deleting")

    def delete_image(self, image, deadline):
        self.refuse_image_in_use(image, "lab image %s" % image["name"])
        return self._delete("/images/%s" % image["id"], "delete lab image %s" % image["name"], deadline)

    # -- firewalls ------------------------------------------------------------------------------------------
    def get_firewall(self, name):
        found = self._list("/firewalls", "firewalls", "find lab firewall %s" % name, {"name": name})
        return to_firewall(found[0]) if found else None

    @staticmethod
    def _firewall_body(spec):
        return {"name": spec["name"], "labels": spec.get("labels") or {}, "rules": spec.get("rules") or [],
                "apply_to": spec.get("applies_to") or {}}

    def _find(self, path, key, name):
        found = self._list(path, key, "find lab %s %s" % (key[:-1], name), {"name": name})
        return found[0] if found else None

    def create_firewall(self, spec, deadline):
        what = "create lab firewall %s" % spec["name"]
        return to_firewall(self._create("/firewalls", "firewall", what, deadline, self._firewall_body(spec),
                                        lambda: self._find("/firewalls", "firewalls", spec["name"])))

    def update_firewall(self, current, spec, deadline):
        return to_firewall(self.request("PUT", "/firewalls/%s" % current["id"], "update lab firewall %s"
                                        % current["name"], deadline, body=self._firewall_body(spec))["firewall"])

    def delete_firewall(self, current, deadline):
        return self._delete("/firewalls/%s" % current["id"], "delete lab firewall %s" % current["name"], deadline)

    # -- servers ----------------------------------------------------------------------------------------------
    def list_servers(self, selector):
        return [to_server(s) for s in self._list("/servers", "servers", "list lab servers",
                                                 {"label_selector": self.selector(selector)})]

    def get_server(self, name):
        found = self._list("/servers", "servers", "find lab server %s" % name, {"name": name})
        return to_server(found[0]) if found else None

    def create_server(self, spec, deadline):
        """Create the server; the lab applies firewalls by label, so ``spec["firewall"]`` is not sent."""
        body = {"name": spec["name"], "location": spec["location"], "server_type": spec["server_type"],
                "image": spec["image"], "user_data": spec.get("user_data"), "labels": spec.get("labels") or {},
                "ipv4": spec.get("ipv4", True), "ipv6": spec.get("ipv6", False)}
        return to_server(self._create("/servers", "server", "create lab server %s" % spec["name"], deadline, body,
                                      lambda: self._find("/servers", "servers", spec["name"])))

    def update_server_labels(self, current, labels, deadline):
        return to_server(self.request("PUT", "/servers/%s" % current["id"], "update labels of lab server %s"
                                      % current["name"], deadline, body={"labels": labels})["server"])

    def delete_server(self, current, deadline):
        what = "delete lab server %s" % current["name"]
        return self._delete("/servers/%s" % current["id"], what, deadline,
                            lambda answer: self._wait_action(answer["action"], what, deadline))

    def _server_now(self, current, deadline):
        """The lab's record of ``current`` as it is now; None when it is gone."""
        data = self.request("GET", "/servers/%s" % current["id"], "read lab server %s" % current["name"], deadline,
                            missing=True)
        return data["server"] if data is not None else None

    def start_server(self, current, deadline):
        """Power on a server of ours that is off (after waiting for one that is stopping)."""
        what = "start lab server %s" % current["name"]

        def settled():
            server = self._server_now(current, deadline)
            if server is None:
                raise AutoextenderError("Failed to %s: it no longer exists" % what, kind=NOT_FOUND)
            return server["status"] != "stopping", server

        server = wait_for(settled, deadline, "lab server %s to stop before it is started" % current["name"],
                          initial=0.1, maximum=2.0)
        if not base.is_owned(server.get("labels")):
            raise AutoextenderError("Refusing to start lab server %s: it does not carry our labels" % current["name"],
                                    kind=CONFLICT)
        if server["status"] == "off":
            self.request("POST", "/servers/%s/actions/poweron" % current["id"], what, deadline, body={})
            server = self._server_now(current, deadline) or server
        return to_server(server)

    def wait_server(self, current, deadline):
        what = "lab server %s to run" % current["name"]

        def probe():
            server = self._server_now(current, deadline)
            if server is None:
                raise AutoextenderError("Lab server %s disappeared while waiting for it to run" % current["name"],
                                        kind=NOT_FOUND, partial=current)
            if server["status"] == "error":
                raise AutoextenderError("Lab server %s failed to boot: %s" % (current["name"],
                                                                              server["talos"]["message"]),
                                        kind=BOOT_FAILED, partial=to_server(server),
                                        details={"talos": server["talos"]})
            return server["status"] == "running", to_server(server)

        return wait_for(probe, deadline, what, initial=0.1, maximum=2.0)

    # -- floating addresses -------------------------------------------------------------------------------------
    def list_floating_ips(self, selector):
        return [to_floating_ip(f) for f in self._list("/floating_ips", "floating_ips", "list lab floating IPs",
                                                      {"label_selector": self.selector(selector)})]

    def get_floating_ip(self, name):
        found = self._find("/floating_ips", "floating_ips", name)
        return to_floating_ip(found) if found else None

    def create_floating_ip(self, spec, deadline):
        if spec.get("family", "ipv4") != "ipv4":
            raise AutoextenderError("Failed to create lab floating IP %s: the lab has IPv4 floating addresses only"
                                    % spec["name"], kind=VALIDATION)
        body = {"name": spec["name"], "type": "ipv4", "location": spec.get("location"),
                "labels": spec.get("labels") or {}, "server": spec.get("server")}
        return to_floating_ip(self._create("/floating_ips", "floating_ip", "create lab floating IP %s" % spec["name"],
                                           deadline, body,
                                           lambda: self._find("/floating_ips", "floating_ips", spec["name"])))

    def _floating_now(self, current, what, deadline):
        data = self.request("GET", "/floating_ips/%s" % current["id"], "read lab floating IP %s" % current["name"],
                            deadline, missing=True)
        if data is not None and not base.is_owned(data["floating_ip"].get("labels")):
            raise AutoextenderError("Refusing to %s: it does not carry our labels" % what, kind=CONFLICT)
        return data["floating_ip"] if data is not None else None

    def assign_floating_ip(self, current, server_id, deadline):
        what = "assign lab floating IP %s" % current["name"]
        now = self._floating_now(current, what, deadline)
        if now is None:
            raise AutoextenderError("Failed to %s: it no longer exists" % what, kind=NOT_FOUND)
        if now["server"] != server_id:
            answer = self.request("POST", "/floating_ips/%s/actions/assign" % current["id"], what, deadline,
                                  body={"server": server_id})
            self._wait_action(answer["action"], what, deadline)
            now = self._floating_now(current, what, deadline) or now
        return to_floating_ip(now)

    def update_floating_ip_labels(self, current, labels, deadline):
        what = "update the labels of lab floating IP %s" % current["name"]
        if not base.is_owned(labels):
            raise AutoextenderError("Refusing to drop the ownership labels of lab floating IP %s" % current["name"],
                                    kind=VALIDATION)
        if self._floating_now(current, what, deadline) is None:
            raise AutoextenderError("Failed to %s: it no longer exists" % what, kind=NOT_FOUND)
        return to_floating_ip(self.request("PUT", "/floating_ips/%s" % current["id"], what, deadline,
                                           body={"labels": labels})["floating_ip"])

    def delete_floating_ip(self, current, deadline):
        what = "delete lab floating IP %s" % current["name"]
        now = self._floating_now(current, what, deadline)
        if now is None:
            return False
        if now["server"] is not None:
            self.assign_floating_ip(current, None, deadline)
        return self._delete("/floating_ips/%s" % current["id"], what, deadline)

    # -- placement and names ----------------------------------------------------------------------------------
    def placement_catalog(self):
        """The lab's locations and server types; a type that names no ``architectures`` runs any.

        Lab servers join either way: each boots in maintenance mode with a Talos machine API on its address
        (port 50000) that takes its config over ``apply-config``, or boots configured from its user data.
        """
        locations = self.request("GET", "/locations", "list lab locations")["locations"]
        types = self.request("GET", "/server_types", "list lab server types")["server_types"]
        return {"locations": dict((i["name"], {"user_data": True}) for i in locations),
                "server_types": dict((i["name"], {"arch": i.get("architectures"), "locations": None}) for i in types),
                "joins": ["maintenance", "user_data"]}

    def price_catalog(self):
        """The lab's price list (``GET /pricing``: play money, so that budgets can be tried on the lab), with the
        cores and memory of ``/server_types``; a lab server's IPv6 address is free, its IPv4 address is not."""
        pricing = self.request("GET", "/pricing", "read the lab price list")
        types = dict((i["name"], i) for i in self.request("GET", "/server_types", "list lab server types")["server_types"])
        locations = [i["name"] for i in self.request("GET", "/locations", "list lab locations")["locations"]]
        return {"provider": self.name, "currency": pricing["currency"], "vat_rate": float(pricing["vat_rate"]),
                "locations": sorted(locations),
                "addresses": dict((family, {"*": _price(pricing[family])}) for family in ("ipv4", "ipv6")),
                "server_types": dict((p["name"], {"cores": types[p["name"]]["cores"],
                                                  "memory_gb": float(types[p["name"]]["memory_gb"]),
                                                  "arch": types[p["name"]].get("architectures"), "locations": None,
                                                  "deprecated": False, "monthly": {"*": _price(p["monthly"])}})
                                     for p in pricing["server_types"] if p["name"] in types)}

    def name_problems(self, servers=(), firewalls=(), labels=None):
        problems = ["lab %s name %r must be 1 to 63 lower-case letters, digits, '.' or '-', starting and ending with a "
                    "letter or digit" % (kind, name) for kind, names in (("server", servers), ("firewall", firewalls))
                    for name in names if not NAME_RE.match(name)]
        problems += ["lab label %s=%s must have a key of 1 to 255 and a value of at most 255 characters" % (k, v)
                     for k, v in sorted((labels or {}).items()) if not (0 < len(k) <= 255 and len(str(v)) <= 255)]
        return problems
