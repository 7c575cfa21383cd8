"""How long the cloud simulators take to serve a long listing, and what the spec check costs.

For N servers (default 1,000 and 5,000) in the Hetzner and Linode simulators, lists them all
through the provider code and the real SDKs (Hetzner: pages of 50; Linode: pages of 500) and
prints, for each, the pages fetched, the whole listing's time and the median time of one page
request, with every answer checked against the OpenAPI document (as in the tests) and with the
check off. A page request builds the views of its own page only, so the time per page should not
grow with N; the spec check is most of a page's cost.

    python3 benchmarks/sim_listing.py [--sizes 1000 5000] [--runs 3]   (or: make bench BENCH=sim_listing)
"""
import argparse
import os
import statistics
import sys
import time

# First: the checkout's venv, tools and collection.
import _venv  # noqa: E402,F401  # pylint: disable=unused-import

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, ".cache", "collections"))
sys.path.insert(0, REPO)

from ansible_collections.talos.autoextender.plugins.module_utils._providers import base  # noqa: E402
from ansible_collections.talos.autoextender.plugins.module_utils._providers.hetzner import HetznerProvider  # noqa: E402
from ansible_collections.talos.autoextender.plugins.module_utils._providers.linode import (  # noqa: E402
    LinodeProvider, encode_tags)
from tests.conftest import spec_path  # noqa: E402
from tests.support.openapi import load_spec  # noqa: E402
from tests.support.sim import hetzner as hsim  # noqa: E402
from tests.support.sim import linode as lsim  # noqa: E402

POOL = base.ownership_labels("home", "bench")


class Unchecked:
    """A spec that finds nothing: the simulator's own cost, without the check."""

    def __init__(self, spec):
        self.spec = spec

    def operation(self, method, path):
        return self.spec.operation(method, path)

    def check_request(self, *args, **kwargs):
        return []

    def check_response(self, *args, **kwargs):
        return []


def hetzner(size, checked):
    spec = load_spec(spec_path(*hsim.SPEC), "/v1", hsim.KNOWN_DEFECTS)
    with hsim.HetznerSim(spec if checked else Unchecked(spec), token="bench") as sim:
        for i in range(size):
            sim.seed_server("edge-%05d" % i, dict(POOL))
        provider = HetznerProvider({"api_token": "bench"}, {"api_url": sim.url, "api_timeout": 600})
        return measure(sim, lambda: provider.list_servers(POOL), "/servers$", size)


def linode(size, checked):
    spec = load_spec(spec_path(*lsim.SPEC), "", lsim.KNOWN_DEFECTS, lsim.SLASH_PARAMS)
    with lsim.LinodeSim(spec if checked else Unchecked(spec), token="bench") as sim:
        tags = encode_tags(POOL)
        for i in range(size):
            sim.seed_instance("edge-%05d" % i, tags)
        provider = LinodeProvider({"api_token": "bench"}, {"api_url": sim.url, "timeout": 600})
        return measure(sim, lambda: provider.list_servers(POOL), "/linode/instances$", size)


def measure(sim, listing, path, size):
    started = time.monotonic()
    found = listing()
    total = time.monotonic() - started
    assert len(found) == size, (len(found), size)
    sim.assert_clean()
    return total, len(sim.calls("GET", path))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("%-8s %6s %-9s %6s %10s %12s" % ("provider", "N", "check", "pages", "total s", "per page ms"))
    for name, fn in (("hetzner", hetzner), ("linode", linode)):
        for size in args.sizes:
            for checked in (True, False):
                runs = [fn(size, checked) for dummy in range(args.runs)]
                total = statistics.median(r[0] for r in runs)
                pages = runs[0][1]
                row = (name, size, "spec" if checked else "off", pages, total, 1000.0 * total / pages)
                print("%-8s %6d %-9s %6d %10.2f %12.1f" % row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
