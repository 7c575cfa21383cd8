"""How long a lab machine (talos-api-sim) takes from power on to a Ready Node, by phase.

    python3 benchmarks/lab_node.py [--runs 5] [--reboot-seconds 1.0]

Each run boots one machine in maintenance mode on a loopback address and joins
it the way the product's default join does, with the real talosctl:

- ``api``: power on -> ``talosctl version --insecure`` answers (maintenance mode);
- ``apply``: ``talosctl apply-config --insecure`` round trip;
- ``reboot``: apply answered -> the API answers with mutual TLS (``--reboot-seconds``
  of it is the configured reboot);
- ``node``: mutual TLS -> the Node is Ready in the kube-apiserver;
- ``total``: power on -> Node Ready.

A real etcd + kube-apiserver run on loopback. Prints one row per phase (median, max).
"""
import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import _venv  # noqa: E402,F401  # pylint: disable=unused-import

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.support.kube import start_cluster  # noqa: E402
from tests.support.sim.node_api import LoopbackBlock, Machine  # noqa: E402
from tests.support.tools import which  # noqa: E402


def until(check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit("timed out after %ss" % timeout)
        time.sleep(0.02)
    return time.monotonic()


def talosctl(workdir, *args):
    return subprocess.run([which("talosctl")] + list(args), cwd=workdir, capture_output=True, text=True,
                          env=dict(os.environ, HOME=workdir), check=False)


def node_ready(core, name):
    from kubernetes.client.exceptions import ApiException
    try:
        node = core.read_node(name)
    except ApiException:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def one_run(workdir, block, kubeconfig, core, index, reboot_seconds):
    name = "bench-%d" % index
    address = block.address(index + 1)
    machine = Machine(which("talos-api-sim"), os.path.join(workdir, name), [address], name, kubeconfig=kubeconfig,
                      reboot_seconds=reboot_seconds, trustd=os.path.join(workdir, "secrets.yaml"),
                      keep_fds=[block.fd])
    target = ["-n", address, "-e", address]
    try:
        start = time.monotonic()
        machine.start()
        api = until(lambda: talosctl(workdir, "version", "--insecure", *target).returncode == 0)
        proc = talosctl(workdir, "apply-config", "--insecure", *target, "--file", "worker.yaml")
        if proc.returncode != 0:
            raise SystemExit("apply-config failed: %s" % proc.stderr)
        applied = time.monotonic()
        secure = until(lambda: talosctl(workdir, "--talosconfig", "talosconfig", "version", *target).returncode == 0)
        ready = until(lambda: node_ready(core, name))
        return {"api": api - start, "apply": applied - api, "reboot": secure - applied, "node": ready - secure,
                "total": ready - start}
    finally:
        machine.stop(keep_disk=False)
        with contextlib.suppress(Exception):
            core.delete_node(name)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--reboot-seconds", type=float, default=1.0)
    a = p.parse_args()
    workdir = tempfile.mkdtemp(prefix="ae-bench-node-")
    block = LoopbackBlock.claim()
    try:
        with contextlib.ExitStack() as stack:
            os.makedirs(os.path.join(workdir, "kube"))
            kube = start_cluster(os.path.join(workdir, "kube"), stack)
            from kubernetes import client, config
            core = client.CoreV1Api(config.new_client_from_config(config_file=kube.kubeconfig))
            talosctl(workdir, "gen", "secrets", "--output-file", "secrets.yaml")
            talosctl(workdir, "gen", "config", "bench", "https://127.0.0.1:6443", "--with-secrets", "secrets.yaml",
                     "--output-types", "worker,talosconfig", "--output", ".")
            runs = [one_run(workdir, block, kube.kubeconfig, core, i, a.reboot_seconds) for i in range(a.runs)]
    finally:
        block.release()
        shutil.rmtree(workdir, ignore_errors=True)
    print("lab machine, power on -> Node Ready (%d runs, reboot %.1fs)" % (a.runs, a.reboot_seconds))
    print("%-8s %8s %8s" % ("phase", "median", "max"))
    for phase in ("api", "apply", "reboot", "node", "total"):
        values = [r[phase] for r in runs]
        print("%-8s %7.2fs %7.2fs" % (phase, statistics.median(values), max(values)))


if __name__ == "__main__":
    main()
