"""The lab's Talos node API (talos-api-sim) as a node behaves, through the real talosctl.

Each test boots one machine on a loopback address of a block of its own
(port 50000 is fixed), generates a cluster with the real talosctl and drives
the machine only with talosctl and the kube-apiserver, as a user would.
docs/lab-node-api.md lists what the simulator implements.
"""
import base64
import json
import os
import subprocess
import time

import pytest
import yaml

from tests.conftest import require_tool
from tests.support.labnet import _run
from tests.support.sim.node_api import PORT, LoopbackBlock, Machine
from tests.support.tools import which


def wait_for(what, check, timeout=20.0):
    return _run.wait_for(check, timeout, what)


class Node:
    """One simulated machine and the talosctl that talks to it."""

    def __init__(self, talosctl, machine, address):
        self.talosctl = talosctl
        self.machine = machine
        self.address = address

    def insecure(self, *args, check=False):
        return self.talosctl.run(args[0], "--insecure", "-n", self.address, "-e", self.address, *args[1:],
                                 check=check)

    def secure(self, *args, talosconfig="talosconfig", check=False):
        return self.talosctl.run("--talosconfig", talosconfig, "-n", self.address, "-e", self.address, *args,
                                 check=check)

    def stage(self):
        return (self.machine.status() or {}).get("stage")

    def wait_stage(self, stage, timeout=20.0):
        return wait_for("stage %s (now %s; log: %s)" % (stage, self.stage(), self.machine.tail()),
                        lambda: self.stage() == stage, timeout)

    def out(self, *args, **kwargs):
        """stdout and stderr of a secure call (talosctl prints apply-config's answer on stderr)."""
        proc = self.secure(*args, **kwargs)
        return proc.stdout + proc.stderr

    def get(self, resource):
        proc = self.secure("get", resource, "--output=json", check=True)
        decoder, text, out = json.JSONDecoder(), proc.stdout.strip(), []
        while text:
            item, end = decoder.raw_decode(text)
            out.append(item)
            text = text[end:].strip()
        return out


@pytest.fixture
def cluster(talosctl):
    """A fresh cluster: secrets bundle, worker config (node labels and a taint) and talosconfig."""
    talosctl.run("gen", "secrets", "--output-file", "secrets.yaml")
    patch = {"machine": {"nodeLabels": {"autoextender.io/pool": "sim"},
                         "nodeTaints": {"autoextender.io/edge": "true:NoSchedule"}}}
    with open(os.path.join(talosctl.workdir, "labels.yaml"), "w") as f:
        yaml.safe_dump(patch, f)
    talosctl.run("gen", "config", "sim", "https://127.0.0.1:6443", "--with-secrets", "secrets.yaml",
                 "--output-types", "worker,talosconfig", "--config-patch-worker", "@labels.yaml",
                 "--output", ".", "--with-docs=false", "--with-examples=false")
    return talosctl


@pytest.fixture
def block():
    claimed = LoopbackBlock.claim()
    yield claimed
    claimed.release()


@pytest.fixture
def boot(cluster, block, tmp_path, kube_cluster):
    """``boot(name, user_data=None, kube=False)`` -> a running Node (stopped afterwards)."""
    require_tool("talos-api-sim")
    machines = []

    def start(name, user_data=None, kube=False, host=None):
        address = block.address(host or len(machines) + 1)
        machine = Machine(which("talos-api-sim"), str(tmp_path / name), [address], name,
                          kubeconfig=kube_cluster.kubeconfig if kube else None, reboot_seconds=1.0,
                          trustd=os.path.join(cluster.workdir, "secrets.yaml"), keep_fds=[block.fd])
        machines.append(machine)
        machine.start(user_data)
        node = Node(cluster, machine, address)
        wait_for("the API on %s:%d" % (address, PORT), lambda: node.stage() in ("maintenance", "configured", "error"))
        return node

    yield start
    for machine in machines:
        machine.stop(keep_disk=False)


def worker_config(cluster):
    with open(os.path.join(cluster.workdir, "worker.yaml")) as f:
        return f.read()


def test_maintenance_mode_answers_only_insecure_and_refuses_a_reset(boot):
    node = boot("sim-fresh")
    node.wait_stage("maintenance")
    version = node.insecure("version", check=True).stdout
    assert "Tag:         v1.14.1" in version and "NODE:        %s" % node.address in version
    status = node.insecure("get", "machinestatus", "--output=json", check=True).stdout
    assert '"stage": "maintenance"' in status
    reset = node.insecure("reset", "--wait=false")
    assert reset.returncode != 0 and "PermissionDenied" in reset.stderr and "not authorized" in reset.stderr
    # Without --insecure the client verifies the self-signed certificate against the cluster's CA: refused.
    refused = node.secure("version")
    assert refused.returncode != 0 and "certificate signed by unknown authority" in refused.stderr


def test_an_invalid_config_is_refused_with_the_fields_and_the_node_stays_in_maintenance(boot, cluster):
    node = boot("sim-invalid")
    node.wait_stage("maintenance")
    with open(os.path.join(cluster.workdir, "bad.yaml"), "w") as f:
        f.write("version: v1alpha1\nmachine:\n  type: worker\n")
    proc = node.insecure("apply-config", "--file", "bad.yaml")
    assert proc.returncode != 0
    assert "InvalidArgument" in proc.stderr and "cluster instructions are required" in proc.stderr
    assert "machine.ca" in proc.stderr
    time.sleep(1.5)  # longer than a reboot: nothing happened
    assert node.stage() == "maintenance"
    assert node.insecure("version").returncode == 0


def test_apply_in_maintenance_reboots_into_mutual_tls_and_joins_the_cluster(boot, cluster, kube_cluster):
    from kubernetes import client, config
    core = client.CoreV1Api(config.new_client_from_config(config_file=kube_cluster.kubeconfig))
    coordination = client.CoordinationV1Api(config.new_client_from_config(config_file=kube_cluster.kubeconfig))
    node = boot("sim-join", kube=True)
    node.wait_stage("maintenance")
    applied = node.insecure("apply-config", "--file", "worker.yaml", check=True)
    assert "Applied configuration without a reboot" in applied.stdout + applied.stderr
    node.wait_stage("configured")
    # Only this cluster's talosconfig gets in now.
    assert "Tag:         v1.14.1" in node.secure("version", check=True).stdout
    insecure = node.insecure("version")
    assert insecure.returncode != 0
    members = node.get("members")
    assert [m["spec"]["hostname"] for m in members] == ["sim-join"]
    assert members[0]["spec"]["addresses"] == [node.address] and members[0]["spec"]["machineType"] == "worker"
    assert node.get("nodename")[0]["spec"]["nodename"] == "sim-join"
    assert node.get("machinestatus")[0]["spec"]["status"]["ready"] is True
    assert node.get("machinetype")[0]["spec"] == "worker"
    assert node.get("addresses")[0]["spec"]["address"] == node.address + "/24"
    # The Node, as the config asks for it, Ready, with a Lease that is renewed.
    k8s_node = wait_for("Node sim-join", lambda: _node(core, "sim-join"))
    try:
        assert k8s_node.metadata.labels["autoextender.io/pool"] == "sim"
        # The config's taint; the API server adds node.kubernetes.io/not-ready at registration, which
        # only the node lifecycle controller takes off (docs/lab-node-api.md).
        taints = [(t.key, t.value, t.effect) for t in k8s_node.spec.taints or []]
        assert ("autoextender.io/edge", "true", "NoSchedule") in taints
        assert set(t[0] for t in taints) <= {"autoextender.io/edge", "node.kubernetes.io/not-ready"}
        ready = next(c for c in k8s_node.status.conditions if c.type == "Ready")
        assert ready.status == "True" and ready.reason == "KubeletReady"
        assert {a.type: a.address for a in k8s_node.status.addresses}["InternalIP"] == node.address
        first = coordination.read_namespaced_lease("sim-join", "kube-node-lease").spec.renew_time
        wait_for("a renewed Lease", lambda: coordination.read_namespaced_lease(
            "sim-join", "kube-node-lease").spec.renew_time > first, timeout=15)
        # Killed, the machine renews nothing any more.
        node.machine.kill()
        last = coordination.read_namespaced_lease("sim-join", "kube-node-lease").spec.renew_time
        time.sleep(7)
        assert coordination.read_namespaced_lease("sim-join", "kube-node-lease").spec.renew_time == last
    finally:
        core.delete_node("sim-join")


def _node(core, name):
    from kubernetes.client.exceptions import ApiException
    try:
        return core.read_node(name)
    except ApiException as e:
        if e.status == 404:
            return None
        raise


def test_another_clusters_talosconfig_fails_the_tls_handshake(boot, cluster):
    node = boot("sim-tls", user_data=worker_config(cluster))
    node.wait_stage("configured")
    cluster.run("gen", "config", "other", "https://127.0.0.1:6443", "--output-types", "talosconfig",
                "--output", "other-talosconfig")
    proc = node.secure("version", talosconfig="other-talosconfig")
    assert proc.returncode != 0
    assert "authentication handshake failed" in proc.stderr and "certificate signed by unknown authority" in proc.stderr


def test_apply_modes_dry_run_staged_try_and_reboot(boot, cluster):
    node = boot("sim-modes", user_data=worker_config(cluster))
    node.wait_stage("configured")
    dry = node.out("apply-config", "--file", "worker.yaml", "--dry-run", check=True)
    assert "Dry run summary:" in dry and "No changes." in dry
    staged = node.secure("apply-config", "--file", "worker.yaml", "--mode=staged", check=True)
    assert "Staged configuration to be applied after the next reboot" in staged.stdout + staged.stderr
    # A change a node cannot apply live: auto reboots (the API goes away, then comes back).
    docs = list(yaml.safe_load_all(worker_config(cluster)))
    cfg = docs[0]
    cfg["machine"]["env"] = {"LAB": "1"}
    with open(os.path.join(cluster.workdir, "env.yaml"), "w") as f:
        yaml.safe_dump_all(docs, f)
    live = node.secure("apply-config", "--file", "env.yaml", "--mode=no-reboot")
    assert live.returncode != 0 and "can't be applied in immediate mode" in live.stderr
    dry = node.out("apply-config", "--file", "env.yaml", "--dry-run", check=True)
    assert "Applied configuration with a reboot (skipped in dry-run)" in dry and "+        LAB:" in dry
    node.secure("apply-config", "--file", "env.yaml", check=True)
    node.wait_stage("booting", timeout=5)
    assert node.secure("version").returncode != 0  # rebooting: unreachable
    node.wait_stage("configured")
    assert "No changes." in node.out("apply-config", "--file", "env.yaml", "--dry-run", check=True)
    # try: applied live, rolled back after its timeout
    cfg["machine"]["nodeLabels"]["tried"] = "yes"
    with open(os.path.join(cluster.workdir, "try.yaml"), "w") as f:
        yaml.safe_dump_all(docs, f)
    tried = node.secure("apply-config", "--file", "try.yaml", "--mode=try", "--timeout=2s", check=True)
    assert "automatically reverted back in 2s" in tried.stdout + tried.stderr
    assert "No changes." in node.out("apply-config", "--file", "try.yaml", "--dry-run", check=True)
    wait_for("the try to be rolled back", lambda: "No changes." in node.out(
        "apply-config", "--file", "env.yaml", "--dry-run", check=True), timeout=10)


def test_reset_with_reboot_returns_to_maintenance_and_without_powers_off(boot, cluster):
    node = boot("sim-reset", user_data=worker_config(cluster))
    node.wait_stage("configured")
    node.secure("reset", "--graceful=false", "--reboot", "--wait=false", check=True)
    node.wait_stage("maintenance")
    assert node.insecure("version").returncode == 0
    assert not os.path.exists(os.path.join(node.machine.state_dir, "config.yaml"))
    # configured again, then reset without reboot: the machine powers off
    node.insecure("apply-config", "--file", "worker.yaml", check=True)
    node.wait_stage("configured")
    node.secure("reset", "--graceful=true", "--reboot=false", "--wait=false", check=True)
    node.wait_stage("off")
    wait_for("the process to exit", lambda: node.machine.pid() is None, timeout=5)


def test_a_wipe_of_ephemeral_only_keeps_the_config(boot, cluster):
    node = boot("sim-wipe", user_data=worker_config(cluster))
    node.wait_stage("configured")
    bad = node.secure("reset", "--system-labels-to-wipe=NOPE", "--reboot", "--wait=false")
    assert bad.returncode != 0 and 'label "NOPE"' in bad.stderr
    node.secure("reset", "--system-labels-to-wipe=EPHEMERAL", "--reboot", "--graceful=false", "--wait=false",
                check=True)
    node.wait_stage("booting", timeout=5)
    node.wait_stage("configured")


def test_the_talos_1_14_hostname_document_names_the_node(boot, cluster):
    docs = list(yaml.safe_load_all(worker_config(cluster)))
    hostname = next(d for d in docs if d.get("kind") == "HostnameConfig")
    hostname.pop("auto", None)
    hostname["hostname"] = "edge-from-doc"
    cfg = yaml.safe_dump_all(docs)
    node = boot("sim-layout", user_data=cfg)
    node.wait_stage("configured")
    assert node.get("nodename")[0]["spec"]["nodename"] == "edge-from-doc"
    assert node.machine.status()["node"] == "edge-from-doc"


def test_invalid_user_data_is_a_boot_error_with_the_validation_message(boot, cluster):
    node = boot("sim-baduser", user_data="version: v1alpha1\nmachine:\n  type: worker\n")
    node.wait_stage("error")
    assert "cluster instructions are required" in node.machine.status()["message"]


def test_a_worker_of_another_cluster_gets_no_certificate_from_trustd(boot, cluster, tmp_path):
    other = subprocess.run([which("talosctl"), "gen", "config", "other", "https://127.0.0.1:6443",
                            "--output-types", "worker", "--output", "-"], capture_output=True, text=True,
                           check=True, cwd=str(tmp_path), env=dict(os.environ, HOME=str(tmp_path))).stdout
    node = boot("sim-stranger", user_data=other)
    node.wait_stage("error")
    assert "trustd refused" in node.machine.status()["message"]


def test_a_call_for_another_node_is_refused_not_answered_as_itself(boot, cluster):
    node = boot("sim-proxy", user_data=worker_config(cluster))
    node.wait_stage("configured")
    other = node.address.rsplit(".", 1)[0] + ".200"
    proc = cluster.run("--talosconfig", "talosconfig", "-n", other, "-e", node.address, "get", "machinetype",
                       check=False)
    assert proc.returncode != 0
    assert "does not proxy to other nodes" in proc.stderr and other in proc.stderr
    assert node.secure("get", "machinetype", check=True).returncode == 0  # itself by address: answered


def test_a_deleted_node_stays_deleted_until_the_machine_boots_again(boot, cluster, kube_cluster):
    """As a kubelet: it registers its Node once per start (a decommission deletes it for good)."""
    from kubernetes import client, config
    core = client.CoreV1Api(config.new_client_from_config(config_file=kube_cluster.kubeconfig))
    node = boot("sim-deleted", user_data=worker_config(cluster), kube=True)
    node.wait_stage("configured")
    wait_for("Node sim-deleted", lambda: _node(core, "sim-deleted"))
    core.delete_node("sim-deleted")
    time.sleep(7)  # more than a heartbeat (5 s)
    assert _node(core, "sim-deleted") is None
    node.secure("reboot", "--wait=false", check=True)
    try:
        wait_for("Node sim-deleted after the reboot", lambda: _node(core, "sim-deleted"), timeout=20)
    finally:
        node.machine.stop()
        core.delete_node("sim-deleted")


def reader_talosconfig(cluster):
    """A talosconfig whose client certificate has the os:reader role only, issued from the bundle's OS CA
    with the real talosctl (gen key, gen csr --roles, gen crt)."""
    with open(os.path.join(cluster.workdir, "secrets.yaml")) as f:
        os_ca = yaml.safe_load(f)["certs"]["os"]
    with open(os.path.join(cluster.workdir, "talosconfig")) as f:
        config = yaml.safe_load(f)
    for ext, field in (("crt", "crt"), ("key", "key")):
        with open(os.path.join(cluster.workdir, "osca." + ext), "wb") as f:
            f.write(base64.b64decode(os_ca[field]))
    cluster.run("gen", "key", "--name", "reader")
    cluster.run("gen", "csr", "--key", "reader.key", "--ip", "127.0.0.1", "--roles", "os:reader")
    cluster.run("gen", "crt", "--ca", "osca", "--csr", "reader.csr", "--name", "reader")
    ctx = config["contexts"][config["context"]]
    for field, name in (("crt", "reader.crt"), ("key", "reader.key")):
        with open(os.path.join(cluster.workdir, name), "rb") as f:
            ctx[field] = base64.b64encode(f.read()).decode()
    with open(os.path.join(cluster.workdir, "reader-talosconfig"), "w") as f:
        yaml.safe_dump(config, f)
    return "reader-talosconfig"


def v1alpha1(resource_yaml):
    """The v1alpha1 document of a MachineConfig resource as talosctl get -o yaml prints it (spec: the config text)."""
    return next(d for d in yaml.safe_load_all(yaml.safe_load(resource_yaml)["spec"]) if d and "machine" in d)


def test_the_running_config_is_served_to_os_admin_only(boot, cluster):
    node = boot("sim-mc", user_data=worker_config(cluster))
    node.wait_stage("configured")
    admin = node.secure("get", "machineconfig", "-o", "yaml", check=True).stdout
    assert v1alpha1(admin)["machine"]["nodeLabels"] == {"autoextender.io/pool": "sim"}
    reader = reader_talosconfig(cluster)
    assert node.secure("get", "machinetype", talosconfig=reader).returncode == 0  # a reader reads the rest
    refused = node.secure("get", "machineconfig", talosconfig=reader)
    assert refused.returncode != 0 and "PermissionDenied" in refused.stderr and "sensitive" in refused.stderr
    # talosctl patch machineconfig reads it and applies the patched config (no reboot for a label).
    patched = node.secure("patch", "machineconfig", "--mode", "no-reboot", "--patch",
                          '{"machine": {"nodeLabels": {"autoextender.io/pool": "patched"}}}', check=True)
    assert "patched MachineConfigs.config.talos.dev/v1alpha1" in patched.stderr, patched.stderr
    again = v1alpha1(node.secure("get", "machineconfig", "-o", "yaml", check=True).stdout)
    assert again["machine"]["nodeLabels"] == {"autoextender.io/pool": "patched"}
