"""The lab cloud: a small, stateful cloud API on loopback (DESIGN.md section 5, docs/lab.md).

We own this API, so there is no external document to check it against
(``spec=None``); docs/lab.md is its reference. It has servers, images,
firewalls, labels, actions, pagination and bearer-token auth, plus the fault
knobs of every simulator (``fail_next``, ``latency``). Its state can live in a
JSON file (``state_dir``), so ``hack/lab_cloud.py`` can keep it running between
playbook runs.

Every server is a Talos machine: at power-on the lab starts one ``talos-api-sim``
for it (node_api.py), on the server's public IP (root with the lab network: in
the server's namespace; else a loopback address of the lab's own 127.x.y.0/24
block) and port 50000. With user data it boots configured (or ``error`` with the
validation message); without, it waits in maintenance mode for
``talosctl apply-config --insecure``. The server's ``talos`` stage, message and
Node come from the machine's status.json; the machine registers its Node and
keeps it Ready itself. Power off and delete stop the machine, so its heartbeats
stop and kube-controller-manager marks its Node Unknown (tests/support/kube.py).
Without the lab network the lab also serves ``/healthz`` on the server's address
and the lab's health port (lab_node.py).
"""
import ipaddress
import json
import os
import re
import shutil
import tempfile
import threading
import time
from datetime import datetime, timezone

from . import lab_firewall, lab_node, node_api
from .lab_floating import FloatingIpsMixin
from .lab_edges import HEALTH_PORT, LabEdges, edge_name
from .. import tools
from ..labnet import LabnetError, nft
from ..process import free_port
from .base import ApiError, Simulator, paginate, route

LOCATIONS = {"loopback": "Loopback, rack A", "loopback-b": "Loopback, rack B"}
SERVER_TYPES = {"lab-small": {"cores": 1, "memory_gb": 2}, "lab-medium": {"cores": 2, "memory_gb": 4}}
#: the lab's price list in play money (GET /pricing), so that autoextender_budget can be tried on the lab
PRICES = {"currency": "EUR", "vat_rate": "19.00", "ipv4": "0.50", "ipv6": "0.00",
          "server_types": {"lab-small": "3.49", "lab-medium": "6.49"}}
ARCHES = ("amd64", "arm64")
NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$")
MAX_USER_DATA = 32768
STATE_FILE = "lab-state.json"
HOME_NAME = "lab-home"  # the home node's hostname (a KubeSpan peer label of every edge)


def iso(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_selector(text):
    """``k=v,k2!=v2,k3,!k4`` -> list of (key, op, value)."""
    terms = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        m = re.match(r"^(!?)([^=!]+)(?:(!=|==|=)(.*))?$", part)
        if not m:
            raise ApiError(422, "invalid_input", "invalid label_selector term %r" % part)
        neg, key, op, value = m.groups()
        terms.append((key, "absent" if neg else {"=": "eq", "==": "eq", "!=": "ne"}.get(op, "present"), value))
    return terms


def selected(labels, terms):
    for key, op, value in terms:
        if (op == "eq" and labels.get(key) != value) or (op == "ne" and labels.get(key) == value) or \
                (op == "present" and key not in labels) or (op == "absent" and key in labels):
            return False
    return True


def check_labels(labels):
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 255
                                               and len(v) <= 255 for k, v in labels.items()):
        raise ApiError(422, "invalid_input", "labels must be a map of strings (keys 1-255, values 0-255 chars)")
    return dict(labels)


def listing(request, key, items):
    """One page of ``items`` in the response shape of every list endpoint."""
    per_page = min(50, max(1, request.arg("per_page", 25, int)))
    page = max(1, request.arg("page", 1, int))
    chunk, page, last = paginate(items, page, per_page)
    return {key: chunk, "meta": {"pagination": {
        "page": page, "per_page": per_page, "previous_page": page - 1 if page > 1 else None,
        "next_page": page + 1 if page < last else None, "last_page": last, "total_entries": len(items)}}}


def filtered(request, items):
    terms = parse_selector(request.arg("label_selector"))
    name = request.arg("name")
    return [i for i in sorted(items, key=lambda i: int(i["id"]))
            if selected(i["labels"], terms) and (name is None or i["name"] == name)]


class ActionsMixin:
    """Asynchronous work: an action is ``running`` until its ``finish_at``, then ``success`` or ``error``."""

    def new_action(self, command, resources, seconds, error=None):
        now = time.time()
        action = {"id": str(self.next_id("action")), "command": command, "started": iso(now),
                  "finish_at": now + seconds, "resources": resources, "error": error}
        self.state["actions"][action["id"]] = action
        return self.show_action(action)

    def show_action(self, action):
        done = time.time() >= action["finish_at"]
        status = ("error" if action["error"] else "success") if done else "running"
        return {"id": action["id"], "command": action["command"], "status": status,
                "progress": 100 if done else 50, "started": action["started"],
                "finished": iso(action["finish_at"]) if done else None, "resources": action["resources"],
                "error": action["error"] if done else None}

    @route("GET", "/actions/{id}")
    def get_action(self, request):
        action = self.state["actions"].get(request.params["id"])
        if action is None:
            raise ApiError(404, "not_found", "action %s not found" % request.params["id"])
        return {"action": self.show_action(action)}


class ImagesMixin:
    """Talos images: made from an Image Factory URL, ``creating`` then ``available`` (or ``failed``)."""

    #: when set, new images end up ``failed`` with this message (a fault knob)
    image_failure = None

    def show_image(self, image):
        if image["status"] == "creating" and time.time() >= image["ready_at"]:
            image["status"] = "failed" if image.get("failure") else "available"
        return dict((k, v) for k, v in image.items() if k not in ("ready_at",))

    @route("GET", "/images")
    def list_images(self, request):
        return listing(request, "images", [self.show_image(i) for i in filtered(request, self.state["images"].values())])

    @route("GET", "/images/{id}")
    def get_image(self, request):
        return {"image": self.show_image(self.find("images", request.params["id"]))}

    @route("POST", "/images")
    def create_image(self, request):
        body = request.json() or {}
        source = body.get("source_url") or ""
        if not re.match(r"^https?://[^/]+/", source):
            raise ApiError(422, "invalid_input", "source_url must be an http(s) URL of a disk image")
        if body.get("arch") not in ARCHES:
            raise ApiError(422, "invalid_input", "arch must be one of %s" % ", ".join(ARCHES))
        if not body.get("talos_version") or not body.get("name"):
            raise ApiError(422, "invalid_input", "name and talos_version are required")
        now = time.time()
        image = {"id": str(self.next_id("image")), "name": body["name"], "status": "creating",
                 "labels": check_labels(body.get("labels") or {}), "talos_version": body["talos_version"],
                 "schematic": body.get("schematic"), "arch": body["arch"], "source_url": source,
                 "size_bytes": 1288490188, "created": iso(now), "ready_at": now + self.image_seconds,
                 "failure": self.image_failure}
        self.state["images"][image["id"]] = image
        action = self.new_action("create_image", [{"id": image["id"], "type": "image"}], self.image_seconds,
                                 {"code": "image_failed", "message": self.image_failure} if self.image_failure else None)
        self.save()
        return 201, {"image": self.show_image(image), "action": action}

    @route("DELETE", "/images/{id}")
    def delete_image(self, request):
        self.find("images", request.params["id"])
        del self.state["images"][request.params["id"]]
        self.save()
        return 204, None


class FirewallsMixin:
    """Inbound-only firewalls, applied to every server whose labels match ``apply_to``.

    With a lab network (root) they are enforced: see ``enforce_firewalls`` and lab_firewall.py.
    """

    def check_rules(self, rules):
        out = []
        for rule in rules if isinstance(rules, list) else [None]:
            if not isinstance(rule, dict) or rule.get("protocol") not in ("tcp", "udp", "icmp"):
                raise ApiError(422, "invalid_input", "each rule needs protocol tcp, udp or icmp")
            port = rule.get("port")
            if rule["protocol"] != "icmp":
                try:
                    nft.port_expr(port)
                except ValueError as e:
                    raise ApiError(422, "invalid_input", "tcp and udp rules need a port or a range: %s" % e)
            try:
                sources = [str(ipaddress.ip_network(s, strict=False)) for s in rule.get("sources") or []]
            except ValueError as e:
                raise ApiError(422, "invalid_input", "invalid source: %s" % e)
            if not sources:
                raise ApiError(422, "invalid_input", "each rule needs at least one source")
            out.append({"protocol": rule["protocol"], "port": None if rule["protocol"] == "icmp" else str(port),
                        "sources": sources, "description": rule.get("description")})
        return out

    def firewall_body(self, body, current=None):
        name = body.get("name", current and current["name"])
        if not name or not NAME_RE.match(name):
            raise ApiError(422, "invalid_input", "invalid firewall name %r" % name)
        if any(f["name"] == name and f is not current for f in self.state["firewalls"].values()):
            raise ApiError(409, "uniqueness_error", "a firewall named %s already exists" % name)
        return {"name": name,
                "labels": check_labels(body.get("labels", current and current["labels"]) or {}),
                "rules": self.check_rules(body.get("rules", current and current["rules"]) or []),
                "apply_to": check_labels(body.get("apply_to", current and current["apply_to"]) or {})}

    def applied_firewalls(self, srv):
        """The firewalls that apply to server ``srv`` (it carries every label of their ``apply_to``), by id."""
        return sorted((f for f in self.state["firewalls"].values()
                       if f["apply_to"] and selected(srv["labels"], [(k, "eq", v) for k, v in f["apply_to"].items()])),
                      key=lambda f: int(f["id"]))

    def enforce_firewalls(self, servers=None):
        """Root lab: (re)write the nftables ruleset of each server of ``servers`` (None: all) from its firewalls.

        Servers whose namespace does not exist (yet) are skipped; without a lab network it does
        nothing. Atomic and idempotent per server (one ``nft -f``). Returns the names written.
        """
        if not self.edges:
            return []
        with self.lock:
            chosen = self.state["servers"].values() if servers is None else servers
            todo = [(srv, self.applied_firewalls(srv)) for srv in chosen]
            try:
                return lab_firewall.Enforcer(self.edges.state_dir).enforce(todo)
            except LabnetError as e:
                raise ApiError(500, "unavailable", "the lab could not enforce its firewalls: %s" % e)

    def firewall_ruleset(self, name):
        """For debugging: server ``name``'s nftables ruleset as the kernel has it; None when it has no namespace."""
        srv = self.server_by_name(name)
        if not self.edges or srv is None:
            return None
        return lab_firewall.Enforcer(self.edges.state_dir).ruleset(srv)

    @route("GET", "/firewalls")
    def list_firewalls(self, request):
        return listing(request, "firewalls", filtered(request, self.state["firewalls"].values()))

    @route("GET", "/firewalls/{id}")
    def get_firewall(self, request):
        return {"firewall": self.find("firewalls", request.params["id"])}

    @route("POST", "/firewalls")
    def create_firewall(self, request):
        fw = dict(self.firewall_body(request.json() or {}), id=str(self.next_id("firewall")), created=iso(time.time()))
        self.state["firewalls"][fw["id"]] = fw
        self.save()
        self.enforce_firewalls()
        return 201, {"firewall": fw}

    @route("PUT", "/firewalls/{id}")
    def update_firewall(self, request):
        fw = self.find("firewalls", request.params["id"])
        fw.update(self.firewall_body(request.json() or {}, fw))
        self.save()
        self.enforce_firewalls()
        return {"firewall": fw}

    @route("DELETE", "/firewalls/{id}")
    def delete_firewall(self, request):
        self.find("firewalls", request.params["id"])
        del self.state["firewalls"][request.params["id"]]
        self.save()
        self.enforce_firewalls()
        return 204, None


class ServersMixin:
    """Servers: ``starting`` -> boot -> ``running`` (or ``error``); ``deleting`` -> gone."""

    def show_server(self, srv):
        out = dict((k, v) for k, v in srv.items() if k not in ("user_data", "config", "boot_at", "delete_at"))
        out["has_user_data"] = srv.get("user_data") is not None
        booted = srv.get("image") is not None and srv["public_net"]["ipv4"]
        out["talos"] = dict(srv["talos"],
                            api="%s:%d" % (srv["public_net"]["ipv4"], node_api.PORT) if booted else None)
        out["firewalls"] = [f["id"] for f in self.applied_firewalls(srv)]
        return out

    @route("GET", "/servers")
    def list_servers(self, request):
        return listing(request, "servers", [self.show_server(s) for s in filtered(request, self.state["servers"].values())])

    @route("GET", "/servers/{id}")
    def get_server(self, request):
        return {"server": self.show_server(self.find("servers", request.params["id"]))}

    def check_placement(self, body):
        if body.get("location") not in LOCATIONS:
            raise ApiError(422, "invalid_input", "unknown location %r; valid locations: %s"
                           % (body.get("location"), ", ".join(sorted(LOCATIONS))), field="location")
        if body.get("server_type") not in SERVER_TYPES:
            raise ApiError(422, "invalid_input", "unknown server_type %r; valid server types: %s"
                           % (body.get("server_type"), ", ".join(sorted(SERVER_TYPES))), field="server_type")

    @route("POST", "/servers")
    def create_server(self, request):
        body = request.json() or {}
        name = body.get("name") or ""
        if not NAME_RE.match(name):
            raise ApiError(422, "invalid_input", "invalid server name %r" % name, field="name")
        if any(s["name"] == name for s in self.state["servers"].values()):
            raise ApiError(409, "uniqueness_error", "a server named %s already exists" % name, field="name")
        self.check_placement(body)
        image = self.state["images"].get(str(body.get("image")))
        if image is None or self.show_image(image)["status"] != "available":
            raise ApiError(422, "invalid_input", "image %r does not exist or is not available" % body.get("image"),
                           field="image")
        user_data = body.get("user_data")
        if user_data is not None and (not isinstance(user_data, str) or len(user_data.encode()) > MAX_USER_DATA):
            raise ApiError(422, "invalid_input", "user_data must be a string of at most %d bytes" % MAX_USER_DATA,
                           field="user_data")
        number = self.next_id("address")
        now = time.time()
        srv = {"id": str(self.next_id("server")), "name": name, "location": body["location"],
               "server_type": body["server_type"], "image": image["id"], "status": "starting",
               "labels": check_labels(body.get("labels") or {}), "created": iso(now),
               "public_net": {"ipv4": self.new_address(number) if body.get("ipv4", True) else None,
                              "ipv6": "fd00:1ab::%x" % number if body.get("ipv6", False) else None},
               "talos": {"stage": "booting", "message": None, "node": None},
               "user_data": user_data, "boot_at": now + self.boot_seconds}
        self.state["servers"][srv["id"]] = srv
        action = self.new_action("create_server", [{"id": srv["id"], "type": "server"}], self.boot_seconds)
        self.save()
        return 201, {"server": self.show_server(srv), "action": action}

    @route("PUT", "/servers/{id}")
    def update_server(self, request):
        srv = self.find("servers", request.params["id"])
        body = request.json() or {}
        if "name" in body:
            if not NAME_RE.match(body["name"] or ""):
                raise ApiError(422, "invalid_input", "invalid server name %r" % body["name"], field="name")
            if any(s["name"] == body["name"] and s is not srv for s in self.state["servers"].values()):
                raise ApiError(409, "uniqueness_error", "a server named %s already exists" % body["name"])
            srv["name"] = body["name"]
        if "labels" in body:
            srv["labels"] = check_labels(body["labels"])
        self.save()
        if "labels" in body:
            self.enforce_firewalls([srv])  # the firewalls that apply may have changed
        return {"server": self.show_server(srv)}

    @route("DELETE", "/servers/{id}")
    def delete_server(self, request):
        srv = self.find("servers", request.params["id"])
        if srv["status"] != "deleting":
            self.unassign_floating_of(srv)
            self.stop_machine(srv, keep_disk=False)
            srv["status"] = "deleting"
            srv["delete_at"] = time.time() + self.action_seconds
        action = self.new_action("delete_server", [{"id": srv["id"], "type": "server"}], self.action_seconds)
        self.save()
        return {"action": action}

    @route("POST", "/servers/{id}/actions/poweroff")
    def poweroff(self, request):
        srv = self.find("servers", request.params["id"])
        self.stop_machine(srv)
        srv["status"] = "off"
        self.save()
        return 201, {"action": self.new_action("poweroff", [{"id": srv["id"], "type": "server"}], 0)}

    @route("POST", "/servers/{id}/actions/poweron")
    def poweron(self, request):
        srv = self.find("servers", request.params["id"])
        if srv["status"] == "off":
            srv["status"] = "starting"
            srv["talos"] = {"stage": "booting", "message": None, "node": None}
            srv["boot_at"] = time.time() + self.boot_seconds
            self.save()
        return 201, {"action": self.new_action("poweron", [{"id": srv["id"], "type": "server"}], self.boot_seconds)}


def apiserver_port(kubeconfig):
    """The port of the kube-apiserver a kubeconfig names (on 127.0.0.1: the test bed's)."""
    import urllib.parse
    import yaml
    with open(kubeconfig) as f:
        server = yaml.safe_load(f)["clusters"][0]["cluster"]["server"]
    url = urllib.parse.urlsplit(server)
    if url.hostname not in ("127.0.0.1", "localhost"):
        raise ValueError("the lab relays a kube-apiserver on 127.0.0.1 only, not %s" % server)
    return url.port or 443


class LabCloud(ServersMixin, ImagesMixin, FirewallsMixin, FloatingIpsMixin, ActionsMixin, Simulator):
    """``with LabCloud(token=..., kubeconfig=...) as lab:`` -> ``lab.url``.

    ``talos_sim``: the talos-api-sim binary (default: found like every tool); ``reboot_seconds``:
    how long a machine's API stays closed in a reboot; ``home_config``: a controlplane config
    the lab's home node boots from (one more machine, ``home_talos_api``); ``trustd``: the
    home cluster's secrets bundle, which signs the API certificates of its workers (as
    trustd does) when the lab has no home node; with one, its live config does, so a
    machine token rotated there is refused at once, as by trustd; ``talosctl`` is accepted for
    older callers (the machines validate configs with Talos' own code now).
    """

    name = "lab"
    base_path = "/v1"

    def __init__(self, token=None, state_dir=None, talosctl=None, kubeconfig=None, health_port=0,
                 boot_seconds=0.3, action_seconds=0.2, image_seconds=0.3, labnet_dir=None, talos_sim=None,
                 reboot_seconds=1.0, home_config=None, trustd=None):
        super().__init__(spec=None, token=token)
        self.state_dir = state_dir
        self.talosctl = talosctl
        self.kubeconfig = kubeconfig
        self.talos_sim = talos_sim or tools.which("talos-api-sim")
        self.reboot_seconds = reboot_seconds
        self.home_config = home_config
        self.trustd = trustd
        # With a lab network (root), servers are its edges and answer health probes on port 80.
        self.edges = LabEdges(labnet_dir) if labnet_dir else None
        self.health_port = HEALTH_PORT if self.edges else health_port
        self.boot_seconds = boot_seconds
        self.action_seconds = action_seconds
        self.image_seconds = image_seconds
        self.health = {}  # server id -> HealthServer
        self.machines = {}  # server id -> node_api.Machine, while its simulator is ours to watch
        self.connected = set()  # server ids whose edge has its tunnel and proxy (root)
        self.home = None  # the home node's Machine
        self.block = None  # node_api.LoopbackBlock (no lab network)
        self.relay = None  # node_api.LoopbackRelay: the kube-apiserver inside the servers' namespaces (root)
        self.machines_dir = None
        self._tmp = None
        self._stop = threading.Event()
        self.state = {"servers": {}, "images": {}, "firewalls": {}, "floating_ips": {}, "actions": {}, "ids": {}}
        path = self.state_path()
        if path and os.path.exists(path):
            with open(path) as f:
                self.state.update(json.load(f))
            for srv in self.state["servers"].values():
                if srv["status"] == "starting" and srv["boot_at"] == float("inf"):
                    srv["boot_at"] = time.time()  # the boot was cut short by a restart: boot again

    # -- state -------------------------------------------------------------------------------------------
    def state_path(self):
        return os.path.join(self.state_dir, STATE_FILE) if self.state_dir else None

    def save(self):
        """Write the state (it holds user data, so cluster secrets: 0600) atomically."""
        path = self.state_path()
        if not path:
            return
        with self.lock:
            tmp = path + ".tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(self.state, f)
            os.replace(tmp, path)

    def loopback(self):
        """The lab's loopback block (claimed once; a restarted lab takes its block again)."""
        with self.lock:
            if self.block is None:
                self.block = node_api.LoopbackBlock.claim(self.state.get("loopback_block"))
                self.state["loopback_block"] = self.block.number
            return self.block

    def new_address(self, number):
        """A new server's public IPv4: an edge address of the lab network, else one of the lab's loopback block."""
        if self.edges:
            reserved = [{"public_net": {"ipv4": ip}} for ip in self.floating_addresses()]
            return self.edges.address(list(self.state["servers"].values()) + reserved)
        block = self.loopback()
        taken = set(s["public_net"]["ipv4"] for s in self.state["servers"].values())
        for host in range(1, block.servers + 1):
            if block.address(host) not in taken:
                return block.address(host)
        raise ApiError(422, "resource_limit_exceeded", "no free address left in the lab's block %s" % block.network)

    def next_id(self, kind):
        with self.lock:
            self.state["ids"][kind] = self.state["ids"].get(kind, 0) + 1
            return self.state["ids"][kind]

    def find(self, kind, ident):
        item = self.state[kind].get(str(ident))
        if item is None:
            raise ApiError(404, "not_found", "%s %s not found" % (kind[:-1], ident))
        return item

    def error_body(self, error):
        return {"error": {"code": error.code, "message": error.message, "details": error.extra or None}}

    # -- endpoints without a resource kind ----------------------------------------------------------------
    @route("GET", "/info")
    def info(self, request):
        return {"name": "lab", "health_port": self.health_port, "locations": sorted(LOCATIONS),
                "server_types": sorted(SERVER_TYPES), "user_data_limit": MAX_USER_DATA,
                "joins": ["maintenance", "user_data"], "talos_api_port": node_api.PORT}

    @route("GET", "/locations")
    def locations(self, request):
        return {"locations": [{"name": k, "description": v} for k, v in sorted(LOCATIONS.items())]}

    @route("GET", "/server_types")
    def server_types(self, request):
        return {"server_types": [dict(v, name=k) for k, v in sorted(SERVER_TYPES.items())]}

    @route("GET", "/pricing")
    def pricing(self, request):
        def price(net):
            return {"net": net, "gross": "%.4f" % (float(net) * (1 + float(PRICES["vat_rate"]) / 100))}
        return {"currency": PRICES["currency"], "vat_rate": PRICES["vat_rate"], "ipv4": price(PRICES["ipv4"]),
                "ipv6": price(PRICES["ipv6"]),
                "server_types": [{"name": k, "monthly": price(v)} for k, v in sorted(PRICES["server_types"].items())]}

    # -- the machines --------------------------------------------------------------------------------------
    def tick(self):
        """Move time-driven state along; boots and edge set-ups run outside the lock (they take a moment)."""
        now = time.time()
        with self.lock:
            due = [s for s in self.state["servers"].values() if s["status"] == "starting" and s["boot_at"] <= now]
            for srv in due:
                srv["boot_at"] = float("inf")  # claimed by this tick
            gone = [s for s in self.state["servers"].values() if s["status"] == "deleting" and s["delete_at"] <= now]
            for srv in gone:
                del self.state["servers"][srv["id"]]
            if gone:
                self.save()
        for srv in due:
            self.boot(srv)
        for srv_id in list(self.machines):
            self.watch(srv_id)

    def machine(self, srv):
        """The Machine of server ``srv`` (nothing starts here)."""
        ipv4, ipv6 = srv["public_net"]["ipv4"], srv["public_net"]["ipv6"]
        if not ipv4:
            raise ValueError("a lab machine needs a public IPv4 address for its Talos API (created with ipv4: false)")
        netns = wg = peers = None
        addresses = [ipv4]
        if self.edges:
            netns, wg = self.edges.machine_net(srv)
            peers = os.path.join(self.machines_dir, "edge-peers.json")
            addresses.append(ipv6)  # lab_edges puts it on the namespace's uplink
        return node_api.Machine(self.talos_sim, os.path.join(self.machines_dir, srv["id"]), addresses, srv["name"],
                                netns=netns, kubeconfig=self.kubeconfig, reboot_seconds=self.reboot_seconds,
                                wg_interface=wg, peers=peers, trustd=self.trustd_source,
                                keep_fds=[self.block and self.block.fd])

    def boot(self, srv, states=("starting",)):
        """Power on: the server's address (root: its namespace and firewall), then its machine."""
        try:
            machine = self.machine(srv)
            if self.edges:
                self.edges.place(srv)
                self.edges.hold_floating(srv, self.pool_floating_addresses(srv))
                self.enforce_firewalls([srv])  # before the machine API listens: TCP 50000 as the cloud allows
                if self.relay:
                    self.relay.add(machine.netns)
            with self.lock:
                if self.state["servers"].get(srv["id"]) is not srv or srv["status"] not in states:
                    return  # deleted or powered off while booting
                machine.start(srv.get("user_data"))
                self.machines[srv["id"]] = machine
        except Exception as e:  # noqa: BLE001 - any failure to power on is the machine's error state
            with self.lock:
                srv["status"], srv["talos"] = "error", {"stage": "error", "node": None,
                                                        "message": "the machine did not power on: %s" % e}
                self.save()

    def watch(self, srv_id):
        """Follow one machine: its status.json, and whether its simulator still runs."""
        machine = self.machines.get(srv_id)
        srv = self.state["servers"].get(srv_id)
        if machine is None or srv is None:
            return
        status, pid = machine.status() or {}, machine.pid()
        stage = status.get("stage") or "booting"
        if pid is None:
            return self.machine_exited(srv, machine, stage)
        talos = {"stage": stage, "message": status.get("message"), "node": status.get("node")}
        if stage == "configured" and self.edges and srv_id not in self.connected and srv["status"] != "error":
            try:
                self.edges.start(srv)  # the data path once the config is in, as KubeSpan comes up
                self.connected.add(srv_id)
                self.write_home_peers()
            except Exception as e:  # noqa: BLE001 - a data path that does not come up is the machine's error
                talos = {"stage": "error", "node": talos["node"], "message": "its KubeSpan link failed: %s" % e}
        with self.lock:
            if self.machines.get(srv_id) is not machine or srv["status"] not in ("starting", "running"):
                return
            changed = talos != srv["talos"]
            srv["talos"] = talos
            if talos["stage"] == "error":
                srv["status"] = "error"
            elif talos["stage"] in ("maintenance", "configured") and srv["status"] == "starting":
                srv["status"] = "running"
            if srv["status"] == "running":
                self.start_health(srv)
            if changed:
                self.save()

    def machine_exited(self, srv, machine, stage):
        """The simulator is gone: powered off by a reset (stage off), else killed or crashed (a hung machine)."""
        with self.lock:
            if self.machines.pop(srv["id"], None) is not machine:
                return
        self.machine_gone(srv)
        with self.lock:
            node = srv["talos"].get("node")
            if stage == "off":
                srv["status"], srv["talos"] = "off", {"stage": "off", "message": "powered off by the machine",
                                                      "node": node}
            else:
                srv["talos"] = {"stage": srv["talos"].get("stage"), "node": node,
                                "message": "the machine stopped answering (talos-api-sim exited); %s: %s"
                                % (machine.log, machine.tail())}
                if srv["status"] == "starting":
                    srv["status"] = "error"
            self.save()

    def machine_gone(self, srv):
        """What the rest of the world sees of a stopped machine: no health, no edge (its Node: the controllers)."""
        server = self.health.pop(srv["id"], None)
        if server:
            server.stop()
        if self.edges:
            if self.relay and srv["public_net"]["ipv4"]:
                self.relay.remove(self.edges.machine_net(srv)[0])
            self.edges.stop(srv)
        if self.edges and srv["id"] in self.connected:
            self.connected.discard(srv["id"])
            self.write_home_peers()

    def start_health(self, srv):
        """Serve /healthz on the server's address: healthy once configured (503 in maintenance mode)."""
        if not srv["public_net"]["ipv4"] or self.edges:
            return  # a lab network edge answers on its own (lab_edges.py)
        if srv["id"] not in self.health:
            self.health[srv["id"]] = lab_node.HealthServer(srv["public_net"]["ipv4"], self.health_port, {}).start()
        server = self.health[srv["id"]]
        server.info = {"server": srv["name"], "node": srv["talos"]["node"], "stage": srv["talos"]["stage"]}
        if server.stage != srv["talos"]["stage"]:
            server.stage = srv["talos"]["stage"]
            server.healthy = server.stage == "configured"

    def stop_machine(self, srv, keep_disk=True):
        """Power off (SIGTERM the simulator; ``keep_disk=False``: delete, its disk goes too)."""
        machine = self.machines.pop(srv["id"], None)
        if machine is None and self.machines_dir and srv["public_net"]["ipv4"]:
            machine = self.machine(srv)  # one a crashed lab left running, or just its disk
        if machine is not None:
            machine.stop(keep_disk=keep_disk)
        self.machine_gone(srv)

    def pod_nodes(self):
        """Node name -> EdgeNode of the machines that run pods now (running, edge connected; lab_pods.py)."""
        with self.lock:
            servers = [s for s in self.state["servers"].values() if s["id"] in self.machines and s["id"] in self.connected]
        return self.edges.nodes(servers)

    # -- the home node ----------------------------------------------------------------------------------------
    def write_home_peers(self):
        """The home node's KubeSpan peers (its stand-in for Talos discovery): one per connected edge."""
        if not self.edges or not self.machines_dir:
            return
        names = dict((edge_name(s), s["talos"].get("node") or s["name"]) for s in self.state["servers"].values())
        node_api.write_private(os.path.join(self.machines_dir, "home-peers.json"),
                               json.dumps(self.edges.peers(names), indent=2))

    def start_home(self):
        """The lab's home node: a controlplane machine booted from ``home_config`` (no Node of its own)."""
        with open(self.home_config) as f:
            config = f.read()
        if self.edges:
            netns, wg, address, dummy, dummy = self.edges.home()
            self.home = node_api.Machine(self.talos_sim, os.path.join(self.machines_dir, "home"), [address], HOME_NAME,
                                         netns=netns, reboot_seconds=self.reboot_seconds, wg_interface=wg,
                                         peers=os.path.join(self.machines_dir, "home-peers.json"))
        else:
            address = self.loopback().home_address()
            self.home = node_api.Machine(self.talos_sim, os.path.join(self.machines_dir, "home"), [address], HOME_NAME,
                                         reboot_seconds=self.reboot_seconds, keep_fds=[self.block.fd])
        self.home.start(config)

    @property
    def trustd_source(self):
        """What signs the workers' API certificates: the home node's live config (trustd reads its token
        from there), else the ``trustd`` bundle."""
        return os.path.join(self.machines_dir, "home", "config.yaml") if self.home_config else self.trustd

    @property
    def home_talos_api(self):
        """The home node's Talos API address (None without a home node)."""
        return self.home.addresses[0] if self.home else None

    @property
    def control_source(self):
        """The control node's address as lab servers see it (a firewall source)."""
        return "%s/32" % (self.edges.control_address() if self.edges else "127.0.0.1")

    def write_edge_peers(self):
        """Every edge's KubeSpan peer: the home node."""
        peers = []
        if self.edges:
            dummy, dummy, dummy, key, endpoint = self.edges.home()
            peers = [{"publicKey": key, "label": HOME_NAME, "endpoint": endpoint}]
        node_api.write_private(os.path.join(self.machines_dir, "edge-peers.json"), json.dumps(peers, indent=2))

    # -- test helpers (not part of the API) -------------------------------------------------------------------
    def server_by_name(self, name):
        return next((s for s in self.state["servers"].values() if s["name"] == name), None)

    def set_healthy(self, name, healthy):
        """Make a running server's health endpoint answer 200 or 503 (an edge: start or stop its proxy)."""
        if self.edges:
            self.edges.set_healthy(self.server_by_name(name), healthy)
            return
        self.health[self.server_by_name(name)["id"]].healthy = healthy

    def power_off(self, name):
        """Test helper: the server ``name`` is off (its machine stopped) without an API call."""
        with self.lock:
            srv = self.server_by_name(name)
            self.stop_machine(srv)
            srv["status"] = "off"
            self.save()
            return srv

    def kill_machine(self, name):
        """Test helper: SIGKILL the machine of ``name`` (it hangs; the cloud still says ``running``)."""
        machine = self.machines.get(self.server_by_name(name)["id"])
        return machine.kill() if machine else None

    def seed_server(self, name, labels=None, status="running", location="loopback", server_type="lab-small"):
        """Add a server directly (foreign servers, big inventories); it never boots."""
        with self.lock:
            number = self.next_id("address")
            srv = {"id": str(self.next_id("server")), "name": name, "location": location, "server_type": server_type,
                   "image": None, "status": status, "labels": dict(labels or {}), "created": iso(time.time()),
                   "public_net": {"ipv4": self.new_address(number), "ipv6": None},
                   "talos": {"stage": "seeded", "message": None, "node": None},
                   "user_data": None, "boot_at": float("inf")}
            self.state["servers"][srv["id"]] = srv
            self.save()
            return srv

    # -- lifecycle ------------------------------------------------------------------------------------------------
    def _ticker(self):
        while not self._stop.wait(0.05):
            self.tick()

    def __enter__(self):
        if self.kubeconfig and self.edges:
            self.relay = node_api.LoopbackRelay(apiserver_port(self.kubeconfig))
        if not self.health_port:
            self.health_port = free_port()
        if self.state_dir:
            self.machines_dir = os.path.join(self.state_dir, "machines")
        else:
            self._tmp = self.machines_dir = tempfile.mkdtemp(prefix="lab-machines-")
        os.makedirs(self.machines_dir, mode=0o700, exist_ok=True)
        if self.edges and self.kubeconfig:  # the edges' Traefik: the DaemonSet's pods, run by lab_pods.py
            self.edges.run_pods(self.kubeconfig, self.pod_nodes, os.path.join(self.machines_dir, "pods.log"))
        if not self.edges and any(s["image"] for s in self.state["servers"].values()):
            self.loopback()  # a restart: the servers keep their addresses
        self.write_edge_peers()
        self.write_home_peers()
        if self.home_config:
            self.start_home()
        Simulator.__enter__(self)
        # A restart of the lab (hack/lab_cloud.py): the machines that ran boot again, from their disks.
        for srv in list(self.state["servers"].values()):
            if srv["status"] == "running" and srv["image"] is not None:
                self.boot(srv, states=("running",))
        self._stop.clear()
        threading.Thread(target=self._ticker, name="lab-ticker", daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self.edges:
            self.edges.close()
        for srv_id, machine in list(self.machines.items()):
            machine.stop(keep_disk=True)
        self.machines.clear()
        if self.home:
            self.home.stop(keep_disk=True)
        for server in list(self.health.values()):
            server.stop()
        self.health.clear()
        if self.relay:
            self.relay.close()
        self.save()
        if self.block:
            self.block.release()
            self.block = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
        return Simulator.__exit__(self, *exc)
