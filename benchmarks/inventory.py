"""The edge_nodes inventory over a large Hetzner project, side by side with hetzner.hcloud.hcloud.

    python3 benchmarks/inventory.py [--owned 1000] [--foreign 50] [--latency 0.05,0.2] [--runs 3]
    (or: make bench BENCH=inventory)

One Hetzner simulator (every request and answer checked against the OpenAPI document, as in
the tests) holds ``--owned`` servers of the cluster ``home`` and ``--foreign`` servers of
nobody; every request waits ``--latency`` seconds first, like a remote API (one table per value:
0.05 s is the other benchmarks' figure, 0.2 s closer to a page of 50 servers from Hetzner's API
across the internet). Both plugins list
the same servers (hetzner.hcloud.hcloud gets the ownership label selector, as a user of it would
set) and both cache to a jsonfile. For each plugin and run, prints:

- ``uncached``: ``ansible-inventory --list`` with the cache off, as a user runs it (process wall
  time, API requests, hosts listed), and the time of the inventory parse alone, in this process;
- ``cached``: the same once the cache is filled.

The parse alone is the plugin's cost; the process time adds ansible-core's own start (printed
as ``floor``: ``ansible-inventory --list`` of an empty inventory).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# First: the checkout's venv, tools and collection.
import _venv  # noqa: E402,F401  # pylint: disable=unused-import

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, ".cache", "collections")
sys.path.insert(0, COLLECTIONS)
sys.path.insert(0, REPO)

import yaml  # noqa: E402

from ansible_collections.talos.autoextender.plugins.module_utils._providers import base  # noqa: E402
from tests.conftest import spec_path  # noqa: E402
from tests.support.openapi import load_spec  # noqa: E402
from tests.support.sim import hetzner as hsim  # noqa: E402

TOKEN = "bench-token"
CLUSTER = "home"
POOLS = ("fsn1-a", "fsn1-b", "nbg1-a", "hel1-a")


def seed(sim, owned, foreign):
    for i in range(owned):
        pool = POOLS[i % len(POOLS)]
        sim.seed_server("edge-%s-%04d" % (pool, i), base.ownership_labels(CLUSTER, pool), location=pool.split("-")[0])
    for i in range(foreign):
        sim.seed_server("other-%03d" % i, {"team": "web"})


def configs(folder, url):
    """``{plugin: (uncached file, cached file)}``: the same listing, the cache off and on."""
    selector = ",".join("%s=%s" % kv for kv in sorted(base.ownership_labels(CLUSTER).items()))
    plugins = {
        "talos.autoextender.edge_nodes": ("edge_nodes.yml", {
            "plugin": "talos.autoextender.edge_nodes", "cluster": CLUSTER,
            "providers": [{"name": "hetzner", "api_url": url}]}),
        "hetzner.hcloud.hcloud": ("hcloud.yml", {
            "plugin": "hetzner.hcloud.hcloud", "api_endpoint": url, "label_selector": selector}),
    }
    out = {}
    for plugin, (name, config) in plugins.items():
        files = []
        for cached in (False, True):
            sub = os.path.join(folder, plugin.rsplit(".", maxsplit=1)[-1] + ("-cached" if cached else ""))
            os.makedirs(sub)
            data = dict(config)
            if cached:
                data.update(cache=True, cache_plugin="ansible.builtin.jsonfile",
                            cache_connection=os.path.join(sub, "cache"), cache_timeout=3600)
            path = os.path.join(sub, name)
            with open(path, "w") as f:
                yaml.safe_dump(data, f)
            files.append(path)
        out[plugin] = tuple(files)
    return out


def environment():
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, HCLOUD_TOKEN=TOKEN,
                ANSIBLE_INVENTORY_UNPARSED_FAILED="true", ANSIBLE_LOCALHOST_WARNING="false")


def run_process(path):
    """``(seconds, hosts)`` of ``ansible-inventory -i path --list``."""
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", path, "--list"]
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, env=environment(), cwd=REPO, check=False)
    seconds = time.monotonic() - started
    if done.returncode:
        raise SystemExit("ansible-inventory -i %s failed:\n%s" % (path, done.stderr[-2000:]))
    return seconds, len(json.loads(done.stdout).get("_meta", {}).get("hostvars", {}))


#: the inventory parse alone, timed inside a fresh ansible-core (this process imported the collection
#: outside ansible's collection loader, so it cannot load plugins itself)
PARSE = """
import json, sys, time
from ansible import context
from ansible.inventory.manager import InventoryManager
from ansible.module_utils.common.collections import ImmutableDict
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
context.CLIARGS = ImmutableDict()
init_plugin_loader()
started = time.monotonic()
manager = InventoryManager(loader=DataLoader(), sources=[sys.argv[1]])
print(json.dumps([time.monotonic() - started, len(manager.hosts)]))
"""


def run_parse(path):
    """``(seconds, hosts)`` of the inventory parse alone (the plugin's own cost)."""
    done = subprocess.run([sys.executable, "-c", PARSE, path], capture_output=True, text=True, env=environment(),
                          cwd=REPO, check=False)
    if done.returncode:
        raise SystemExit("parsing %s failed:\n%s" % (path, done.stderr[-2000:]))
    seconds, hosts = json.loads(done.stdout.strip().splitlines()[-1])
    return seconds, hosts


def requests_of(sim, fn):
    before = len(sim.log)
    result = fn()
    return result + (len(sim.log) - before,)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owned", type=int, default=1000)
    parser.add_argument("--foreign", type=int, default=50)
    parser.add_argument("--latency", default="0.05,0.2", help="seconds every API request waits first (a list)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(environment())

    spec = load_spec(spec_path(*hsim.SPEC), "/v1", hsim.KNOWN_DEFECTS)
    with hsim.HetznerSim(spec, token=TOKEN) as sim, tempfile.TemporaryDirectory(prefix="bench-inventory-") as folder:
        seed(sim, args.owned, args.foreign)
        files = configs(folder, sim.url)
        empty = os.path.join(folder, "empty.yml")
        with open(empty, "w") as f:
            f.write("all: {}\n")
        floor = statistics.median(run_process(empty)[0] for dummy in range(args.runs))
        tables = []
        for latency in [float(v) for v in args.latency.split(",")]:
            sim.latency = latency
            tables.append((latency, measure(sim, files, args)))
        sim.assert_clean()

    for latency, rows in tables:
        print("%d owned + %d foreign servers, %.0f ms API latency, median of %d runs; process floor %.2f s"
              % (args.owned, args.foreign, latency * 1000, args.runs, floor))
        print("%-32s %-9s %10s %10s %9s" % ("plugin", "run", "process s", "parse s", "requests"))
        for plugin, figures in rows:
            for label in ("uncached", "cached"):
                process, parse, requests = figures[label]
                print("%-32s %-9s %10.2f %10.2f %9d" % (plugin, label, process, parse, requests))
        ours, theirs = rows[0][1], rows[1][1]
        print("uncached parse: edge_nodes %.1fx faster than hetzner.hcloud.hcloud (target >= 2x); cached parse %.2f s "
              "(target <= 0.5 s)\n" % (theirs["uncached"][1] / ours["uncached"][1], ours["cached"][1]))


def measure(sim, files, args):
    """``[(plugin, {run: (process s, parse s, requests)})]`` at the simulator's current latency."""
    rows = []
    for plugin, (uncached, cached) in files.items():
        figures = {}
        for label, path in (("uncached", uncached), ("cached", cached)):
            if label == "cached":
                run_process(path)  # fill the cache
            runs = [requests_of(sim, lambda: run_process(path)) for dummy in range(args.runs)]
            parses = [requests_of(sim, lambda: run_parse(path)) for dummy in range(args.runs)]
            hosts = {r[1] for r in runs + parses}
            if hosts != {args.owned}:
                raise SystemExit("%s (%s) listed %s hosts, not %d" % (plugin, label, sorted(hosts), args.owned))
            figures[label] = (statistics.median(r[0] for r in runs), statistics.median(p[0] for p in parses),
                              statistics.median(r[2] for r in runs))
        rows.append((plugin, figures))
    return rows


if __name__ == "__main__":
    main()
