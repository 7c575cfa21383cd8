"""Fixtures of the cloud area: the lab cloud, and one view over every cloud simulator.

``lab_cloud`` is a fresh lab cloud (no kube-apiserver) per test; ``lab_cloud_kube``
registers its nodes in the session's ``kube_cluster``. Every server the lab boots is
a Talos machine (talos-api-sim on a loopback address of the lab's own block, port
50000; reboots take ``REBOOT_SECONDS``); set ``lab.trustd`` to the secrets bundle of
the configs you give it, so its workers get their mTLS certificates (as from trustd). ``cloud`` is parametrized
over the providers whose simulators exist (lab always; hetzner and linode when
their fixtures ``hetzner_sim`` / ``linode_sim`` are there) and gives tests one
way to read the simulator's state, seed foreign resources and arm faults.
"""
import gzip
import os
import secrets

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _api_token
from tests.support import tools
from tests.support.ansible import run_playbook, task_results
from tests.support.sim.lab import LabCloud

REBOOT_SECONDS = 1.0


def _lab(**kw):
    from tests.conftest import require_tool
    require_tool("talos-api-sim")
    return LabCloud(token="lab-" + secrets.token_hex(12), talos_sim=tools.which("talos-api-sim"), boot_seconds=0.2,
                    action_seconds=0.1, image_seconds=0.2, reboot_seconds=REBOOT_SECONDS, **kw)


@pytest.fixture
def lab_cloud():
    with _lab() as lab:
        yield lab
        lab.assert_clean()


@pytest.fixture
def lab_cloud_kube(kube_cluster):
    with _lab(kubeconfig=kube_cluster.kubeconfig) as lab:
        yield lab
        lab.assert_clean()


def _rule_key(protocol, port, sources):
    return (protocol.lower(), None if port in (None, "") else str(port), tuple(sorted(sources)))


class Bed:
    """A cloud simulator as the provider-neutral tests see it: normalised views of its raw state."""

    provider = None
    location = server_type = other_server_type = None
    #: regex of the collection path of servers (``calls("POST", bed.servers_path)`` counts creates)
    servers_path = None

    def __init__(self, sim):
        self.sim = sim
        self.url = sim.url
        self.token = sim.token

    def env(self):
        """Credentials the way users give them: the provider's environment variable."""
        return {_api_token.env_names(self.provider)[0]: self.token}

    def fail_next(self, kind, **kw):
        self.sim.fail_next(kind, **kw)

    def calls(self, method=None, path=None):
        return self.sim.calls(method, path)


class LabBed(Bed):
    provider = "lab"
    location, server_type, other_server_type = "loopback", "lab-small", "lab-medium"
    servers_path = "/servers$"

    def servers(self):
        return dict((s["name"], {"id": s["id"], "labels": dict(s["labels"]), "status": s["status"],
                                 "server_type": s["server_type"], "location": s["location"],
                                 "public_ipv4": s["public_net"]["ipv4"]})
                    for s in list(self.sim.state["servers"].values()))

    def firewalls(self):
        return dict((f["name"], {"id": f["id"], "labels": dict(f["labels"]), "applies_to": dict(f["apply_to"]),
                                 "rules": sorted(_rule_key(r["protocol"], r["port"], r["sources"]) for r in f["rules"])})
                    for f in self.sim.state["firewalls"].values())

    def images(self):
        return [dict(i) for i in self.sim.state["images"].values()]

    def seed_server(self, name, labels=None):
        return self.sim.seed_server(name, labels)

    def make_image(self, labels):
        return None  # through the API (make_image below)


class HetznerBed(Bed):
    provider = "hetzner"
    location, server_type, other_server_type = "hel1", "cx23", "cpx22"
    servers_path = "/servers$"

    def servers(self):
        return dict((s["name"], {"id": str(s["id"]), "labels": dict(s["labels"]), "status": s["status"],
                                 "server_type": s["server_type"]["name"], "location": s["location"]["name"],
                                 "public_ipv4": (s.get("_ipv4") or {}).get("ip")})
                    for s in list(self.sim.servers.values()))

    def firewalls(self):
        out = {}
        for f in self.sim.firewalls.values():
            applies = {}
            for entry in f["_apply"]:
                if entry["type"] == "label_selector":
                    applies.update(dict(t.split("=", 1) for t in entry["label_selector"]["selector"].split(",")))
            out[f["name"]] = {"id": str(f["id"]), "labels": dict(f["labels"]), "applies_to": applies,
                              "rules": sorted(_rule_key(r["protocol"], r.get("port"), r.get("source_ips") or [])
                                              for r in f["rules"] if r["direction"] == "in")}
        return out

    def images(self):
        return [dict(i) for i in self.sim.images.values() if i["type"] == "snapshot"]

    def seed_server(self, name, labels=None):
        return self.sim.seed_server(name, labels or {}, location=self.location)

    def make_image(self, labels):
        """A Talos snapshot as the image builder leaves it (the builder itself is tested by the Hetzner area)."""
        from ansible_collections.talos.autoextender.plugins.module_utils._providers.hetzner import label_value
        builder = self.sim.seed_server("image-builder-%d" % len(self.sim.images), {}, location=self.location)
        labels = dict(labels, **{"talos-version": "v1.13.9", "talos-schematic": label_value(SCHEMATIC),
                                 "arch": "amd64"})
        with self.sim.lock:
            image = self.sim.snapshot(builder, {"labels": labels, "description": "talos v1.13.9 schematic %s"
                                                % SCHEMATIC})["image"]
        self.sim.settle()
        with self.sim.lock:
            self.sim.servers.pop(builder["id"], None)
        return str(image["id"])


class LinodeBed(Bed):
    provider = "linode"
    location, server_type, other_server_type = "fr-par", "g6-standard-1", "g6-standard-2"
    servers_path = "/linode/instances$"

    def _labels(self, tags):
        from ansible_collections.talos.autoextender.plugins.module_utils._providers.linode import decode_tags
        return decode_tags(tags)

    def servers(self):
        return dict((i["label"], {"id": str(i["id"]), "labels": self._labels(i["tags"]), "status": i["status"],
                                  "server_type": i["type"], "location": i["region"],
                                  "public_ipv4": (i.get("ipv4") or [None])[0]})
                    for i in list(self.sim.instances.values()))

    def firewalls(self):
        from ansible_collections.talos.autoextender.plugins.module_utils._providers.linode import SELECTOR_PREFIX
        from ansible_collections.talos.autoextender.plugins.module_utils._providers.linode import decode_tags
        out = {}
        for f in self.sim.firewalls.values():
            rules = [_rule_key(r["protocol"], r.get("ports"), (r.get("addresses") or {}).get("ipv4", [])
                               + (r.get("addresses") or {}).get("ipv6", [])) for r in f["rules"]["inbound"]]
            out[f["label"]] = {"id": str(f["id"]), "labels": decode_tags(f["tags"]),
                               "applies_to": decode_tags(f["tags"], SELECTOR_PREFIX), "rules": sorted(rules)}
        return out

    def images(self):
        return [dict(i) for i in self.sim.images.values() if not i["is_public"]]

    def seed_server(self, name, labels=None):
        from ansible_collections.talos.autoextender.plugins.module_utils._providers.linode import encode_tags
        return self.sim.seed_instance(name, encode_tags(labels or {}), region=self.location)

    def disk_url(self):
        """The Image Factory stand-in of the simulator, serving a small akamai-amd64.raw.gz."""
        raw = bytearray(3 * 1048576)
        raw[510:512] = b"\x55\xaa"
        self.sim.files["akamai-amd64.raw.gz"] = gzip.compress(bytes(raw), compresslevel=1)
        return self.sim.url.replace("/v4", "/files/akamai-amd64.raw.gz")

    def make_image(self, labels):
        return None  # through the API (make_image below)


SCHEMATIC = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"
BEDS = {"lab": LabBed, "hetzner": HetznerBed, "linode": LinodeBed}


@pytest.fixture(params=["lab", "hetzner", "linode"])
def cloud(request):
    """A cloud simulator behind the provider-neutral ``Bed`` view (hetzner and linode skip without their sims)."""
    fixture = {"lab": "lab_cloud"}.get(request.param, "%s_sim" % request.param)
    if not request.session._fixturemanager.getfixturedefs(fixture, request.node):
        pytest.skip("the %s simulator (fixture %s) is not there" % (request.param, fixture))
    sim = request.getfixturevalue(fixture)
    yield BEDS[request.param](sim)


PLAYBOOKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration", "playbooks")


def play(bed, playbook, check=False, env=None, **extra):
    """Run tests/integration/playbooks/<playbook>.yml against ``bed``; ``(proc, {task: result})``."""
    extra_vars = {"provider": bed.provider, "api_url": bed.url}
    extra_vars.update(extra)
    proc = run_playbook(os.path.join(PLAYBOOKS, playbook + ".yml"), extra_vars, check=check, diff=True,
                        env=dict(bed.env(), **(env or {})))
    results = task_results(proc) if proc.stdout.strip().startswith("{") else {}
    return proc, results


def provider_for(bed):
    """The collection's own provider class, connected to ``bed`` (to prepare state through the real API)."""
    from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import make_provider
    from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
    return make_provider(bed.provider, bed.token, bed.url, Deadline(60))


def make_image(bed, cluster="home", version="v1.13.9"):
    """A usable Talos image of ``cluster``; returns its id."""
    from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
    from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
    seeded = bed.make_image(base.ownership_labels(cluster))
    if seeded:
        return seeded
    source = bed.disk_url() if bed.provider == "linode" else \
        "https://factory.talos.dev/image/%s/%s/nocloud-amd64.raw.xz" % (SCHEMATIC, version)
    spec = {"name": "talos-%s" % version, "talos_version": version, "schematic": SCHEMATIC, "arch": "amd64",
            "labels": base.ownership_labels(cluster), "source_url": source}
    return provider_for(bed).create_talos_image(spec, Deadline(120))["id"]


def failure_summary(proc):
    """The failed tasks' messages (or the raw output), for assertion messages."""
    try:
        results = task_results(proc)
    except ValueError:
        return proc.stdout[-4000:] + proc.stderr[-4000:]
    failed = dict((t, {"msg": r.get("msg"), "failure": r.get("failure")}) for t, r in results.items() if r.get("failed"))
    return "rc=%s failed tasks: %r\nstderr: %s" % (proc.returncode, failed, proc.stderr[-2000:])
