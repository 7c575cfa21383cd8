"""The worker join token rotation (role credential_rotation) against Talos nodes over the real talosctl.

A home control plane and a worker of a cluster made by the real `talosctl gen config`, each a Talos
machine API simulator (hack/talos-api-sim). The worker gets its API certificate from trustd, which is
the control plane's live config on its disk, so a token switched there is refused at once, as by
trustd. The test rotates, then proves the old token unused: no node and no bundle file holds it, and a
machine that boots with it gets no certificate, while one rendered from the updated bundle does.
"""
import base64
import os
import shutil

import pytest
import yaml

from tests.conftest import require_tool
from tests.integration.test_talos_node_api import Node, load
from tests.support.ansible import run_playbook, task_results
from tests.support.k8s_objects import Kube
from tests.support.sim.node_api import LoopbackBlock

NEW_TOKEN = "n3wt0k.abcdefghij012345"
ROLE_TASK = "Report the join token rotation"


def machine_token(node):
    return next(d for d in node.config() if d.get("version") == "v1alpha1")["machine"]["token"]


@pytest.fixture
def home(talosctl, tmp_path):
    """A control plane and a worker booted from configs of one bundle; a copy of the bundle in a work folder."""
    require_tool("talos-api-sim")
    bundle = str(tmp_path / "secrets.yaml")
    talosctl.run("gen", "secrets", "--output-file", bundle)
    out = str(tmp_path / "gen")
    talosctl.run("gen", "config", "home", "https://192.168.1.10:6443", "--with-secrets", bundle,
                 "--output-types", "controlplane,worker,talosconfig", "--with-docs=false", "--with-examples=false",
                 "--output", out)
    work = tmp_path / "work" / "edge-a"
    work.mkdir(parents=True)
    shutil.copy(bundle, str(work / "secrets.yaml"))
    block = LoopbackBlock.claim()
    cp = Node(block.address(1), str(tmp_path), bundle, name="home-cp", user_data=os.path.join(out, "controlplane.yaml"))
    cp.start()
    # trustd of the worker is the control plane's config on its disk.
    worker = Node(block.address(2), str(tmp_path), os.path.join(cp.state_dir, "config.yaml"), name="home-worker",
                  user_data=os.path.join(out, "worker.yaml"))
    worker.start()
    worker.wait_stage("configured")
    nodes = [cp, worker]
    with open(bundle) as f:
        old = yaml.safe_load(f)["trustdinfo"]["token"]
    yield {"bundle": bundle, "copy": str(work / "secrets.yaml"), "work": str(tmp_path / "work"), "cp": cp,
           "worker": worker, "old": old, "gen": out, "talosctl": talosctl, "block": block, "nodes": nodes,
           "tmp": tmp_path}
    for n in nodes:
        n.stop()
    block.release()


def rotate(home, check=False, token=NEW_TOKEN):
    playbook = home["tmp"] / "rotate.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Rotate the join token", "hosts": "localhost", "gather_facts": False,
        "roles": [{"role": "talos.autoextender.credential_rotation"}]}]))
    extra = {"autoextender_cluster": {"name": "home", "secrets": {"source": "bundle", "path": home["bundle"]}},
             "credential_rotation_join_token": token,
             "credential_rotation_join_token_control_planes": [home["cp"].address],
             "credential_rotation_join_token_workers": [home["worker"].address],
             "credential_rotation_join_token_pools": [],
             "credential_rotation_talosconfig_path": os.path.join(home["gen"], "talosconfig"),
             "credential_rotation_talosctl_path": home["talosctl"].path,
             "credential_rotation_work_dir": home["work"], "credential_rotation_join_token_timeout": 60}
    proc = run_playbook(str(playbook), extra_vars=extra, check=check, diff=True,
                        env={"HOME": home["talosctl"].workdir, "ANSIBLE_VERBOSITY": "3"})
    output = proc.stdout + proc.stderr
    if home["old"] in output:
        at = output.index(home["old"])
        raise AssertionError("the old token is in the output:\n" + output[max(0, at - 1500):at + 100])
    assert proc.returncode == 0, output[-4000:]
    proc.stdout = proc.stdout[proc.stdout.index("\n{\n") + 1:]  # after -vvv's preamble: the json callback
    return task_results(proc), output


def task(results, name):
    """The result of the task ``name`` (the json callback may prefix the role's name)."""
    found = [r for n, r in results.items() if n == name or n.endswith(" : " + name)]
    assert found, sorted(results)
    return found[0]


def bundle_token(path):
    with open(path) as f:
        return yaml.safe_load(f)["trustdinfo"]["token"]


def test_the_join_token_switches_everywhere_and_the_old_one_is_refused(home):
    # Check mode: the plan, and nothing switched.
    results, dummy = rotate(home, check=True)
    assert task(results, "Switch each home control plane node to the new join token (trustd accepts only it from "
                         "then on)")["changed"] is True
    assert machine_token(home["cp"]) == home["old"] and bundle_token(home["bundle"]) == home["old"]

    results, output = rotate(home)
    report = task(results, ROLE_TASK)["msg"]
    assert "control planes switched: %s" % home["cp"].address in report[1], report
    assert "home workers switched: %s" % home["worker"].address in report[2], report
    assert home["bundle"] in report[4] and home["copy"] in report[4], report
    assert NEW_TOKEN not in output  # the report names tokens by fingerprint
    assert machine_token(home["cp"]) == NEW_TOKEN and machine_token(home["worker"]) == NEW_TOKEN
    assert bundle_token(home["bundle"]) == NEW_TOKEN and bundle_token(home["copy"]) == NEW_TOKEN
    assert oct(os.stat(home["bundle"]).st_mode & 0o777) == "0o600"
    # The worker rebooted with the new token (Talos 1.13 reboots for it) and trustd signed its certificate.
    home["worker"].wait_stage("configured", timeout=30)

    # A second run switches nothing.
    results, dummy = rotate(home)
    assert not any(r.get("changed") for r in results.values()), [n for n, r in results.items() if r.get("changed")]

    # The old token is refused: a machine booting with it gets no certificate from trustd ...
    stale = Node(home["block"].address(3), str(home["tmp"]), os.path.join(home["cp"].state_dir, "config.yaml"),
                 name="stale-worker", user_data=os.path.join(home["gen"], "worker.yaml"))
    home["nodes"].append(stale)
    with pytest.raises(AssertionError, match="trustd refused: machine.token is not this cluster's token"):
        stale.start(timeout=5)  # it never serves
    assert "trustd refused: machine.token" in stale.status()["message"], stale.status()
    # ... while a worker config rendered from the updated bundle joins.
    fresh_config = str(home["tmp"] / "fresh-worker.yaml")  # one output type: --output names the file
    home["talosctl"].run("gen", "config", "home", "https://192.168.1.10:6443", "--with-secrets", home["bundle"],
                         "--output-types", "worker", "--with-docs=false", "--with-examples=false",
                         "--output", fresh_config)
    fresh = Node(home["block"].address(4), str(home["tmp"]), os.path.join(home["cp"].state_dir, "config.yaml"),
                 name="fresh-worker", user_data=fresh_config)
    home["nodes"].append(fresh)
    fresh.start()
    fresh.wait_stage("configured", timeout=30)
    assert [d for d in load(fresh_config) if d.get("machine")][0]["machine"][
        "token"] == NEW_TOKEN


@pytest.mark.parametrize("token", ["short.abc", "UPPER1.abcdefghij012345"])
def test_a_badly_shaped_token_changes_nothing(home, token):
    proc_dir = home["tmp"]
    playbook = proc_dir / "bad.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Rotate the join token", "hosts": "localhost", "gather_facts": False,
        "roles": [{"role": "talos.autoextender.credential_rotation"}]}]))
    proc = run_playbook(str(playbook), extra_vars={
        "autoextender_cluster": {"name": "home", "secrets": {"source": "bundle", "path": home["bundle"]}},
        "credential_rotation_join_token": token, "credential_rotation_join_token_control_planes": [home["cp"].address],
        "credential_rotation_join_token_pools": []}, env={"HOME": home["talosctl"].workdir})
    assert proc.returncode != 0 and "shaped like talosctl's tokens" in proc.stdout + proc.stderr
    assert machine_token(home["cp"]) == home["old"] and bundle_token(home["bundle"]) == home["old"]


def test_the_cronjobs_copy_of_the_bundle_switches_in_its_secret(home, kube_cluster):
    """talos_join_token against the real kube-apiserver: the Secret's key is patched, a missing one is absent."""
    kube = Kube(kube_cluster.kubeconfig)
    namespace = "ae-join-token"
    kube.namespace(namespace)
    with open(home["bundle"], "rb") as f:
        original = f.read()
    kube.core.create_namespaced_secret(namespace, {"metadata": {"name": "autoextender-talos"}, "data": {
        "secrets.yaml": base64.b64encode(original).decode(), "talosconfig": base64.b64encode(b"kept").decode()}})
    try:
        playbook = home["tmp"] / "secret.yml"
        playbook.write_text(yaml.safe_dump([{"name": "Switch the Secret", "hosts": "localhost", "gather_facts": False,
                                             "tasks": [{"name": "Switch", "talos.autoextender.talos_join_token": {
                                                 "token": NEW_TOKEN, "files": [], "kubeconfig": kube_cluster.kubeconfig,
                                                 "secrets": [{"namespace": namespace, "name": "autoextender-talos"},
                                                             {"namespace": namespace, "name": "absent"}]}}]}]))
        first = run_playbook(str(playbook), diff=True)
        second = run_playbook(str(playbook))
        for proc in (first, second):
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
            assert home["old"] not in proc.stdout + proc.stderr and NEW_TOKEN not in proc.stdout + proc.stderr
        result = task_results(first)["Switch"]
        assert result["changed"] is True
        assert [(s["name"], s["present"], s["changed"]) for s in result["talos_join_token"]["secrets"]] == [
            ("autoextender-talos", True, True), ("absent", False, False)]
        assert task_results(second)["Switch"]["changed"] is False
        data = kube.core.read_namespaced_secret("autoextender-talos", namespace).data
        assert base64.b64decode(data["secrets.yaml"]) == original.replace(home["old"].encode(), NEW_TOKEN.encode())
        assert base64.b64decode(data["talosconfig"]) == b"kept"
    finally:
        kube.delete_namespace(namespace)
