"""Lab servers are Talos machines: one talos-api-sim each, met with the real talosctl; Nodes in kube-apiserver.

A server without user data waits in maintenance mode (talosctl --insecure answers on its
address); with user data it boots configured and its machine registers its Node with the
config's labels and taints; a config machinery refuses leaves it in ``error`` with the
field named; a killed machine or a powered-off server stops heartbeating, so kube-controller-manager
marks its Node Unknown.
"""
import ipaddress
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.support.fixtures_cloud import LabBed, failure_summary, make_image, play
from tests.support.kube import NODE_MONITOR_GRACE_SECONDS
from tests.support.labnet import _run
from tests.support.sim import node_api

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATCH = """machine:
  nodeLabels:
    autoextender.io/pool: edge-a
    topology.kubernetes.io/zone: lab-loopback
  nodeTaints:
    autoextender.io/edge: "true:NoSchedule"
"""


def worker_config(talosctl, hostname="lab-edge-a-1", secrets=None):
    """A worker config from the real talosctl, with the edge labels and taint, named ``hostname``.

    Of the bundle ``secrets`` when given, else of ``<workdir>/secrets.yaml`` (made once): the
    lab's trustd must be that bundle (``lab.trustd``, hack/lab.py's LAB_DIR/secrets.yaml)."""
    bundle = secrets or os.path.join(talosctl.workdir, "secrets.yaml")
    if not os.path.exists(bundle):
        talosctl.run("gen", "secrets", "--output-file", bundle)
    with open(os.path.join(talosctl.workdir, "patch.yaml"), "w") as f:
        f.write(PATCH)
    talosctl.run("gen", "config", "home", "https://127.0.0.1:6443", "--with-secrets", bundle,
                 "--output-types", "worker", "--with-examples=false", "--with-docs=false",
                 "--config-patch", "@patch.yaml", "--output", "worker.yaml", "--force")
    with open(os.path.join(talosctl.workdir, "worker.yaml")) as f:
        text = f.read()
    assert "auto: stable" in text
    return text.replace("auto: stable", "hostname: %s" % hostname)


def health(address, port):
    try:
        with urllib.request.urlopen("http://%s:%d/healthz" % (address, port), timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_for(check, what, timeout=60):
    return _run.wait_for(check, timeout, what)


def wait_unknown(kube_cluster, name):
    """The machine stopped heartbeating: kube-controller-manager marks its Node Unknown after its grace period."""
    wait_for(lambda: ready(kube_cluster, name) == "Unknown", "kube-controller-manager to mark %s Unknown" % name,
             NODE_MONITOR_GRACE_SECONDS + 40)


def ready(kube_cluster, name):
    """The Node's Ready status ("True", "False", "Unknown"), or None when there is no such Node."""
    try:
        node = kube_cluster.get("/api/v1/nodes/" + name)
    except Exception:  # noqa: BLE001 - the test client says not found: no Node (yet)
        return None
    return next((c["status"] for c in (node.get("status") or {}).get("conditions", []) if c["type"] == "Ready"), None)


def api_answers(address):
    """True when something accepts TCP connections on ``address``:50000."""
    try:
        socket.create_connection((address, node_api.PORT), timeout=2).close()
        return True
    except OSError:
        return False


def create(lab, name, user_data=None):
    cloud = LabBed(lab)
    proc, res = play(cloud, "cloud_server", steps=["apply"], server_name=name, location=cloud.location,
                     server_type=cloud.server_type, image=make_image(cloud), ipv6=False,
                     **({"user_data": user_data} if user_data is not None else {}))
    return proc, res


def test_a_server_without_user_data_waits_in_maintenance_mode(lab_cloud, talosctl):
    proc, res = create(lab_cloud, "edge-m-1")
    assert proc.returncode == 0, failure_summary(proc)
    server = res["Apply"]["cloud_server"]
    srv = lab_cloud.server_by_name("edge-m-1")
    assert srv["status"] == "running" and srv["talos"]["stage"] == "maintenance"
    address = server["public_ipv4"]
    assert ipaddress.ip_address(address) in lab_cloud.block.network
    version = talosctl.run("version", "--insecure", "-n", address, "-e", address)
    assert "Server:" in version.stdout and "Tag:" in version.stdout, version.stdout
    assert health(address, lab_cloud.health_port)[0] == 503  # not configured: not a healthy edge


def test_a_valid_join_config_registers_the_node(lab_cloud_kube, kube_cluster, talosctl):
    cloud = LabBed(lab_cloud_kube)
    config = worker_config(talosctl)
    lab_cloud_kube.trustd = os.path.join(talosctl.workdir, "secrets.yaml")
    proc, res = create(lab_cloud_kube, "edge-a-1", config)
    assert proc.returncode == 0, failure_summary(proc)
    server = res["Apply"]["cloud_server"]
    assert server["status"] == "running" and server["user_data"] == "********"
    assert lab_cloud_kube.server_by_name("edge-a-1")["talos"]["stage"] == "configured"
    machine_token = config.split("token: ")[1].split()[0]
    assert machine_token not in proc.stdout + proc.stderr
    wait_for(lambda: ready(kube_cluster, "lab-edge-a-1") == "True", "the Node to be Ready")
    node = kube_cluster.get("/api/v1/nodes/lab-edge-a-1")
    labels = node["metadata"]["labels"]
    assert labels["autoextender.io/pool"] == "edge-a" and labels["topology.kubernetes.io/zone"] == "lab-loopback"
    assert {"key": "autoextender.io/edge", "value": "true", "effect": "NoSchedule"} in node["spec"]["taints"]
    external = [a["address"] for a in node["status"]["addresses"] if a["type"] == "ExternalIP"]
    assert external == [server["public_ipv4"]]
    status, body = health(server["public_ipv4"], lab_cloud_kube.health_port)
    assert status == 200 and body["node"] == "lab-edge-a-1"
    lab_cloud_kube.set_healthy("edge-a-1", False)
    assert health(server["public_ipv4"], lab_cloud_kube.health_port)[0] == 503

    # Deleting the server leaves the Node NotReady (deleting the Node is the decommission's job).
    proc, res = play(cloud, "cloud_server", steps=["apply"], server_name="edge-a-1", state="absent")
    assert proc.returncode == 0, failure_summary(proc)
    wait_unknown(kube_cluster, "lab-edge-a-1")
    assert not api_answers(server["public_ipv4"])
    with pytest.raises(OSError):
        health(server["public_ipv4"], lab_cloud_kube.health_port)


def test_an_invalid_config_leaves_the_server_in_error_and_fails_clearly(lab_cloud_kube, kube_cluster, talosctl):
    config = worker_config(talosctl, "lab-broken-1").replace("type: worker", "type: bogus")
    proc, res = create(lab_cloud_kube, "broken-1", config)
    assert proc.returncode != 0
    result = res["Apply"]
    assert result["failure"]["kind"] == "boot_failed"
    assert "bogus" in result["msg"] and "broken-1" in result["msg"], result["msg"]
    assert "machine config is not valid" in result["msg"], result["msg"]
    assert result["cloud_server"]["status"] == "unknown"
    assert lab_cloud_kube.server_by_name("broken-1")["status"] == "error"
    nodes = [n["metadata"]["name"] for n in kube_cluster.get("/api/v1/nodes")["items"]]
    assert "lab-broken-1" not in nodes


def test_maintenance_mode_then_talosctl_apply_config(lab_cloud_kube, kube_cluster, talosctl):
    with open(os.path.join(talosctl.workdir, "join.yaml"), "w") as f:
        f.write(worker_config(talosctl, "lab-edge-a-2"))
    lab_cloud_kube.trustd = os.path.join(talosctl.workdir, "secrets.yaml")  # the cluster's trustd
    proc, res = create(lab_cloud_kube, "edge-a-2")
    assert proc.returncode == 0, failure_summary(proc)
    address = res["Apply"]["cloud_server"]["public_ipv4"]
    assert lab_cloud_kube.server_by_name("edge-a-2")["talos"]["stage"] == "maintenance"
    assert health(address, lab_cloud_kube.health_port)[0] == 503
    talosctl.run("apply-config", "--insecure", "-n", address, "-e", address, "--file", "join.yaml")
    # The apply reboots the machine: its API closes (stage booting), then serves mTLS, configured.
    wait_for(lambda: lab_cloud_kube.server_by_name("edge-a-2")["talos"]["stage"] == "configured", "the reboot", 30)
    assert lab_cloud_kube.server_by_name("edge-a-2")["status"] == "running"
    wait_for(lambda: ready(kube_cluster, "lab-edge-a-2") == "True", "the Node to be Ready")
    assert kube_cluster.get("/api/v1/nodes/lab-edge-a-2")["metadata"]["labels"]["autoextender.io/pool"] == "edge-a"
    assert health(address, lab_cloud_kube.health_port)[0] == 200

    # Powered off: the Node goes NotReady and the Talos API stops answering.
    lab_cloud_kube.power_off("edge-a-2")
    wait_unknown(kube_cluster, "lab-edge-a-2")
    assert not api_answers(address)


def test_a_killed_machine_makes_its_node_not_ready_and_the_cloud_still_says_running(
        lab_cloud_kube, kube_cluster, talosctl):
    lab_cloud_kube.trustd = os.path.join(talosctl.workdir, "secrets.yaml")
    proc, res = create(lab_cloud_kube, "edge-k-1", worker_config(talosctl, "lab-edge-k-1"))
    assert proc.returncode == 0, failure_summary(proc)
    wait_for(lambda: ready(kube_cluster, "lab-edge-k-1") == "True", "the Node to be Ready")
    assert lab_cloud_kube.kill_machine("edge-k-1")
    wait_unknown(kube_cluster, "lab-edge-k-1")
    wait_for(lambda: "stopped answering" in (lab_cloud_kube.server_by_name("edge-k-1")["talos"]["message"] or ""),
             "the lab to notice", 10)
    srv = lab_cloud_kube.server_by_name("edge-k-1")
    assert srv["status"] == "running"  # a hung machine: the cloud does not know
    assert "stopped answering" in srv["talos"]["message"] and "server.log" in srv["talos"]["message"]
    assert not api_answers(res["Apply"]["cloud_server"]["public_ipv4"])


def test_loopback_blocks_of_labs_never_collide(tmp_path):
    """Two labs at once get two blocks; a block stays claimed while a machine of it (a child) still runs."""
    first = node_api.LoopbackBlock.claim()
    second = node_api.LoopbackBlock.claim()
    try:
        assert not first.network.overlaps(second.network)
        assert all(ipaddress.ip_address(a) not in n for n in (first.network, second.network)
                   for a in ("127.0.0.1", "127.0.1.1", "127.0.10.1"))
        assert node_api.block_network(node_api.BLOCKS - 1) == ipaddress.ip_network("127.255.240.0/20")
        # Another process (another pytest-xdist worker) sees both claimed.
        probe = ("import sys; sys.path.insert(0, %r); from tests.support.sim.node_api import LoopbackBlock; "
                 "print(LoopbackBlock.claim().network)" % REPO)
        other = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
        assert ipaddress.ip_network(other.strip()) not in (first.network, second.network)
        # A machine started with the lock keeps the block claimed after the lab let go of it.
        child = subprocess.Popen(["sleep", "30"], pass_fds=[first.fd])
        number = first.number
        first.release()
        with pytest.raises(RuntimeError, match="claimed"):
            node_api.LoopbackBlock.claim(preferred=number)
        child.kill()
        child.wait()
        again = node_api.LoopbackBlock.claim(preferred=number)
        assert again.number == number
        again.release()
    finally:
        first.release()
        second.release()


def test_the_home_node_lets_in_only_a_talosconfig_of_its_cluster(tmp_path, talosctl):
    """The lab's home node (``home_config``, non-root: on the lab's own loopback block): mTLS as a node does."""
    from tests.support.fixtures_cloud import _lab
    out = str(tmp_path / "home")
    os.makedirs(out)
    for name in ("home", "other"):
        talosctl.run("gen", "secrets", "--output-file", os.path.join(out, name + "-secrets.yaml"))
        talosctl.run("gen", "config", name, "https://127.0.0.1:6443", "--with-secrets",
                     os.path.join(out, name + "-secrets.yaml"), "--output-types", "controlplane,talosconfig",
                     "--with-docs=false", "--with-examples=false", "--output", os.path.join(out, name))
    with _lab(home_config=os.path.join(out, "home", "controlplane.yaml")) as lab:
        address = lab.home_talos_api
        assert address == lab.block.home_address()
        wait_for(lambda: (lab.home.status() or {}).get("stage") == "configured", "the home node to boot", 30)
        ok = talosctl.run("--talosconfig", os.path.join(out, "home", "talosconfig"), "-n", address, "-e", address,
                          "version")
        assert "NODE:        %s" % address in ok.stdout and "Tag:" in ok.stdout, ok.stdout
        refused = talosctl.run("--talosconfig", os.path.join(out, "other", "talosconfig"), "-n", address, "-e",
                               address, "version", check=False)
        assert refused.returncode != 0 and "certificate" in refused.stderr, refused.stderr
    assert not api_answers(address)


def test_a_reset_without_reboot_powers_the_server_off(lab_cloud_kube, kube_cluster, talosctl):
    """``talosctl reset --reboot=false`` over mTLS: the machine powers off, the cloud says ``off``, the Node NotReady."""
    config = worker_config(talosctl, "lab-edge-r-1")
    lab_cloud_kube.trustd = os.path.join(talosctl.workdir, "secrets.yaml")
    talosctl.run("gen", "config", "home", "https://127.0.0.1:6443", "--with-secrets", "secrets.yaml",
                 "--output-types", "talosconfig", "--output", "talosconfig", "--force")
    proc, res = create(lab_cloud_kube, "edge-r-1", config)
    assert proc.returncode == 0, failure_summary(proc)
    address = res["Apply"]["cloud_server"]["public_ipv4"]
    wait_for(lambda: ready(kube_cluster, "lab-edge-r-1") == "True", "the Node to be Ready")
    talosctl.run("--talosconfig", "talosconfig", "-n", address, "-e", address, "reset", "--graceful=false",
                 "--reboot=false", "--wait=false")
    wait_for(lambda: lab_cloud_kube.server_by_name("edge-r-1")["status"] == "off", "the server to be off", 30)
    assert lab_cloud_kube.server_by_name("edge-r-1")["talos"]["stage"] == "off"
    wait_unknown(kube_cluster, "lab-edge-r-1")
    assert not api_answers(address)
