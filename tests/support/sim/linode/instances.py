"""Linodes (instances): create from an image, disks and a config profile, boot/shutdown, delete.

Statuses move one ``sim.step`` apart: provisioning -> offline (``booted:
false``) or provisioning -> booting -> running. A boot records the kernel of
the config it used in ``_boot_kernel`` so tests can check that a Talos image
was booted with ``linode/direct-disk`` (any other kernel panics on real
Linodes, per the Talos Akamai guide).
"""
import base64
import binascii
import re

from tests.support.sim.base import route
from tests.support.sim.linode._common import Timeline, apply_update, check_tags, invalid, listing, listing_of, lookup, not_found, now, public

LABEL_RX = re.compile(r"^[a-zA-Z]((?!--|__|\.\.)[a-zA-Z0-9-_.])+$")
FILTERABLE = ("id", "label", "tags", "region", "type", "image", "group", "status")
#: "Unencoded data must not exceed 65535 bytes" (metadata.user_data in the API document)
USER_DATA_MAX = 65535


class InstancesMixin:
    def instance(self, linode_id):
        return lookup(self.instances, linode_id)

    @route("GET", "/linode/instances")
    def list_instances(self, request):
        return listing_of(request, self.instances, FILTERABLE)

    @route("POST", "/linode/instances")
    def create_instance(self, request):
        return public(self.make_instance(request.json() or {}))

    def seed_instance(self, label, tags, region="us-ord", ltype="g6-nanode-1"):
        """Test helper: a running Linode made outside the collection (no API call, no log entry)."""
        with self.lock:
            inst = self.make_instance({"label": label, "tags": tags, "region": region, "type": ltype})
            inst["_timeline"].clear()
            inst["status"] = "running"
            return inst

    def power_off(self, label, kernel=None):
        """Test helper: the Linode ``label`` is offline (as after a create cut short before the boot); with
        ``kernel``, its config profiles boot that kernel."""
        with self.lock:
            inst = next(i for i in self.instances.values() if i["label"] == label)
            inst["_timeline"].clear()
            inst["status"] = "offline"
            for config in inst["_configs"].values():
                config["kernel"] = kernel or config["kernel"]
            return inst

    def make_instance(self, body):
        ltype = self.linode_type(body.get("type"))
        if ltype is None:
            raise invalid("A valid plan type by that ID was not found", "type")
        region = self.region(body.get("region"))
        if region is None:
            raise invalid("region is not valid", "region")
        linode_id = self.next_id("linode") + 40000000
        label = body.get("label") or "linode%d" % linode_id
        if not LABEL_RX.match(label) or not 3 <= len(label) <= 64:
            raise invalid("Label must begin and end with a letter or number, and may only contain letters, "
                          "numbers, hyphens, underscores, and periods", "label")
        if any(i["label"] == label for i in self.instances.values()):
            raise invalid("Label must be unique among your linodes", "label")
        check_tags(body.get("tags"))
        image = None
        if body.get("image"):
            image = self.images.get(body["image"])
            if image is None:
                raise invalid("image is not valid", "image")
            if image["status"] != "available":
                raise invalid("Image is not available", "image")
            if not (body.get("root_pass") or body.get("authorized_keys") or body.get("authorized_users")):
                raise invalid("root_pass is required", "root_pass")
        user_data = self._user_data(body, region)
        firewall = None
        if body.get("firewall_id") is not None:
            firewall = self.firewalls.get(body["firewall_id"])
            if firewall is None:
                raise invalid("Firewall not found", "firewall_id")
        n = linode_id - 40000000 + 9  # never one a live Linode has (len(self.instances) repeats after a delete)
        inst = {
            "id": linode_id, "label": label, "region": region["id"], "type": ltype["id"],
            "image": image["id"] if image else None, "status": "provisioning", "group": body.get("group", ""),
            "tags": sorted(set(body.get("tags") or [])), "ipv4": ["203.0.113.%d" % (n % 250 + 1)],
            "ipv6": "2001:db8:%x::1/128" % n, "hypervisor": "kvm", "watchdog_enabled": True,
            "created": now(), "updated": now(), "has_user_data": user_data is not None,
            "host_uuid": "3a1c2f00-0000-4000-8000-%012d" % linode_id, "lke_cluster_id": None,
            "placement_group": None, "capabilities": [],
            "specs": {"disk": ltype["disk"], "memory": ltype["memory"], "vcpus": ltype["vcpus"],
                      "transfer": ltype["transfer"], "gpus": 0},
            "alerts": {"cpu": 180, "io": 10000, "network_in": 10, "network_out": 10, "transfer_quota": 80},
            "backups": {"enabled": False, "available": False, "schedule": {"day": None, "window": None}},
            "_user_data": user_data, "_boot_kernel": None,
        }
        inst["_disks"], inst["_configs"] = self._disks_and_config(inst, ltype, image)
        inst["_timeline"] = Timeline(inst)
        booted = body.get("booted", image is not None)
        if booted:
            inst["_timeline"].then(self.step, self._booted, "running")
        else:
            inst["_timeline"].then(self.step, "offline")
        self.instances[linode_id] = inst
        if firewall is not None:
            self.attach_device(firewall, "linode", linode_id)
        return inst

    @staticmethod
    def _user_data(body, region):
        user_data = (body.get("metadata") or {}).get("user_data")
        if user_data is None:
            return None
        if "Metadata" not in region["capabilities"]:
            raise invalid("Metadata is not supported in region %s" % region["id"], "metadata.user_data")
        try:
            decoded = base64.b64decode(user_data.encode(), validate=True)
        except (binascii.Error, ValueError):
            raise invalid("user_data must be valid base64", "metadata.user_data")
        if len(decoded) > USER_DATA_MAX:
            raise invalid("user_data must not exceed %d bytes" % USER_DATA_MAX, "metadata.user_data")
        return decoded

    def _disks_and_config(self, inst, ltype, image):
        if image is None:
            return {}, {}
        main = {"id": self.next_id("disk") + 90000000, "label": "%s Disk" % image["label"][:40], "status": "ready",
                "size": ltype["disk"] - 512, "filesystem": "raw", "created": now(), "updated": now()}
        swap = {"id": self.next_id("disk") + 90000000, "label": "512 MB Swap Image", "status": "ready", "size": 512,
                "filesystem": "swap", "created": now(), "updated": now()}
        config = {"id": self.next_id("config") + 70000000, "label": "My %s Disk Profile" % ltype["label"],
                  "comments": "", "kernel": "linode/latest-64bit", "memory_limit": 0, "root_device": "/dev/sda",
                  "run_level": "default", "virt_mode": "paravirt",
                  "devices": {"sda": {"disk_id": main["id"]}, "sdb": {"disk_id": swap["id"]}},
                  "helpers": {"updatedb_disabled": True, "distro": True, "modules_dep": True, "network": True,
                              "devtmpfs_automount": True}}
        return {main["id"]: main, swap["id"]: swap}, {config["id"]: config}

    def _booted(self, inst):
        """Transition hook: remember which kernel the (first) config booted."""
        config = next(iter(inst["_configs"].values()), None)
        inst["_boot_kernel"] = config["kernel"] if config else None
        inst["status"] = "booting"

    @route("GET", "/linode/instances/{linodeId}")
    def get_instance(self, request):
        return public(self.instance(request.params["linodeId"]))

    @route("PUT", "/linode/instances/{linodeId}")
    def update_instance(self, request):
        inst = self.instance(request.params["linodeId"])
        body = request.json() or {}
        if any(i["label"] == body.get("label") and i is not inst for i in self.instances.values()):
            raise invalid("Label must be unique among your linodes", "label")
        return public(apply_update(inst, body, ("label", "watchdog_enabled")))

    @route("DELETE", "/linode/instances/{linodeId}")
    def delete_instance(self, request):
        inst = self.instance(request.params["linodeId"])
        del self.instances[inst["id"]]
        self.forget_ips_of(inst)
        for firewall in self.firewalls.values():
            self.detach_entity(firewall, "linode", inst["id"])
        return {}

    @route("GET", "/linode/instances/{linodeId}/disks")
    def list_disks(self, request):
        return listing(request, list(self.instance(request.params["linodeId"])["_disks"].values()))

    @route("GET", "/linode/instances/{linodeId}/configs")
    def list_configs(self, request):
        return listing(request, list(self.instance(request.params["linodeId"])["_configs"].values()))

    @route("GET", "/linode/instances/{linodeId}/configs/{configId}")
    def get_config(self, request):
        return self._config(request)

    @route("PUT", "/linode/instances/{linodeId}/configs/{configId}")
    def update_config(self, request):
        config = self._config(request)
        body = request.json() or {}
        for key in ("label", "comments", "kernel", "memory_limit", "root_device", "run_level", "virt_mode",
                    "devices", "helpers"):
            if key in body:
                config[key] = body[key]
        return config

    def _config(self, request):
        inst = self.instance(request.params["linodeId"])
        try:
            return inst["_configs"][int(request.params["configId"])]
        except (KeyError, ValueError):
            raise not_found()

    @route("POST", "/linode/instances/{linodeId}/boot")
    def boot_instance(self, request):
        inst = self.instance(request.params["linodeId"])
        if inst["status"] not in ("offline", "stopped", "running"):
            raise invalid("Linode busy.")
        if inst["status"] != "running":
            self._booted(inst)
            inst["_timeline"].clear().then(self.step, "running")
        return {}

    @route("POST", "/linode/instances/{linodeId}/reboot")
    def reboot_instance(self, request):
        """A running Linode boots again with its (first) config profile; an offline one is booted."""
        inst = self.instance(request.params["linodeId"])
        if inst["status"] not in ("offline", "stopped", "running"):
            raise invalid("Linode busy.")
        was = inst["status"]
        self._booted(inst)
        if was == "running":
            inst["status"] = "rebooting"
        inst["_timeline"].clear().then(self.step, "running")
        return {}

    @route("POST", "/linode/instances/{linodeId}/shutdown")
    def shutdown_instance(self, request):
        inst = self.instance(request.params["linodeId"])
        if inst["status"] not in ("running", "offline"):
            raise invalid("Linode busy.")
        if inst["status"] == "running":
            inst["status"] = "shutting_down"
            inst["_timeline"].clear().then(self.step, "offline")
        return {}
