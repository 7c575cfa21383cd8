"""Lab servers boot from real Talos worker configs: talosctl validate, a Node in kube-apiserver, /healthz."""
import json
import os
import urllib.error
import urllib.request

import pytest

from tests.support.fixtures_cloud import LabBed, failure_summary, make_image, play, provider_for

PATCH = """machine:
  nodeLabels:
    autoextender.io/pool: edge-a
    topology.kubernetes.io/zone: lab-loopback
  nodeTaints:
    autoextender.io/edge: "true:NoSchedule"
"""


def worker_config(talosctl, hostname="lab-edge-a-1"):
    """A worker config from the real talosctl, with the edge labels and taint, named ``hostname``."""
    talosctl.run("gen", "secrets", "--output-file", "secrets.yaml")
    with open(os.path.join(talosctl.workdir, "patch.yaml"), "w") as f:
        f.write(PATCH)
    talosctl.run("gen", "config", "home", "https://127.0.0.1:6443", "--with-secrets", "secrets.yaml",
                 "--output-types", "worker", "--with-examples=false", "--with-docs=false",
                 "--config-patch", "@patch.yaml", "--output", "worker.yaml")
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


def test_a_valid_join_config_registers_the_node(lab_cloud_kube, kube_cluster, talosctl):
    cloud = LabBed(lab_cloud_kube)
    config = worker_config(talosctl)
    proc, res = play(cloud, "cloud_server", steps=["apply"], server_name="edge-a-1", location=cloud.location,
                     server_type=cloud.server_type, image=make_image(cloud), user_data=config)
    assert proc.returncode == 0, failure_summary(proc)
    server = res["Apply"]["cloud_server"]
    assert server["status"] == "running" and server["user_data"] == "********"
    machine_token = config.split("token: ")[1].split()[0]
    assert machine_token not in proc.stdout + proc.stderr
    node = kube_cluster.get("/api/v1/nodes/lab-edge-a-1")
    labels = node["metadata"]["labels"]
    assert labels["autoextender.io/pool"] == "edge-a" and labels["topology.kubernetes.io/zone"] == "lab-loopback"
    assert node["spec"]["taints"] == [{"key": "autoextender.io/edge", "value": "true", "effect": "NoSchedule"}]
    external = [a["address"] for a in node["status"]["addresses"] if a["type"] == "ExternalIP"]
    assert external == [server["public_ipv4"], server["public_ipv6"]] and server["public_ipv4"].startswith("127.0.10.")
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "True"
    status, body = health(server["public_ipv4"], lab_cloud_kube.health_port)
    assert status == 200 and body["node"] == "lab-edge-a-1"
    lab_cloud_kube.set_healthy("edge-a-1", False)
    assert health(server["public_ipv4"], lab_cloud_kube.health_port)[0] == 503

    # Deleting the server leaves the Node NotReady (deleting the Node is the decommission's job).
    proc, res = play(cloud, "cloud_server", steps=["apply"], server_name="edge-a-1", state="absent")
    assert proc.returncode == 0, failure_summary(proc)
    ready = [c for c in kube_cluster.get("/api/v1/nodes/lab-edge-a-1")["status"]["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "Unknown"
    with pytest.raises(OSError):
        health(server["public_ipv4"], lab_cloud_kube.health_port)


def test_an_invalid_config_leaves_the_server_in_error_and_fails_clearly(lab_cloud_kube, kube_cluster, talosctl):
    cloud = LabBed(lab_cloud_kube)
    config = worker_config(talosctl, "lab-broken-1").replace("type: worker", "type: bogus")
    proc, res = play(cloud, "cloud_server", steps=["apply"], server_name="broken-1", location=cloud.location,
                     server_type=cloud.server_type, image=make_image(cloud), user_data=config)
    assert proc.returncode != 0
    result = res["Apply"]
    assert result["failure"]["kind"] == "boot_failed"
    assert 'unknown machine type "bogus"' in result["msg"] and "broken-1" in result["msg"]
    assert result["cloud_server"]["status"] == "unknown"
    assert lab_cloud_kube.server_by_name("broken-1")["status"] == "error"
    nodes = [n["metadata"]["name"] for n in kube_cluster.get("/api/v1/nodes")["items"]]
    assert "lab-broken-1" not in nodes


def test_maintenance_mode_then_apply_config(lab_cloud_kube, kube_cluster, talosctl):
    cloud = LabBed(lab_cloud_kube)
    proc, res = play(cloud, "cloud_server", steps=["apply"], server_name="edge-a-2", location=cloud.location,
                     server_type=cloud.server_type, image=make_image(cloud))
    assert proc.returncode == 0, failure_summary(proc)
    server = res["Apply"]["cloud_server"]
    assert lab_cloud_kube.server_by_name("edge-a-2")["talos"]["stage"] == "maintenance"
    assert health(server["public_ipv4"], lab_cloud_kube.health_port)[0] == 503
    from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
    provider_for(cloud).apply_config(server, worker_config(talosctl, "lab-edge-a-2"), Deadline(30))
    assert lab_cloud_kube.server_by_name("edge-a-2")["talos"]["stage"] == "configured"
    assert kube_cluster.get("/api/v1/nodes/lab-edge-a-2")["metadata"]["labels"]["autoextender.io/pool"] == "edge-a"
    assert health(server["public_ipv4"], lab_cloud_kube.health_port)[0] == 200
