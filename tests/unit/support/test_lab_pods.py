"""What the lab's pod runner (tests/support/sim/lab_pods.py) makes of a pod spec, without a cluster.

The pod is the edge_ingress role's DaemonSet pod as the apiserver returns it (the role's
template rendered for one pool, the fields the apiserver defaults added)."""
import base64

import pytest
import yaml

from tests.support.sim import lab_pods

ARGS = ["--global.checkNewVersion=false", "--ping=true", "--ping.entryPoint=ping",
        "--entryPoints.ping.address=:8082/tcp", "--entryPoints.web.address=:80/tcp"]


def pod(**container):
    base = {"name": "traefik", "image": "docker.io/library/traefik:v3.6.25", "args": list(ARGS),
            "readinessProbe": {"httpGet": {"path": "/ping", "port": 8082, "scheme": "HTTP"}, "periodSeconds": 5,
                               "failureThreshold": 2, "timeoutSeconds": 1, "successThreshold": 1}}
    base.update(container)
    return {"metadata": {"name": "traefik-edge-x7k2p", "namespace": "autoextender-edge", "uid": "0f3c2a9e-1111"},
            "spec": {"nodeName": "lab-lab-a-1", "hostNetwork": True, "serviceAccountName": "traefik-edge",
                     "containers": [base]}}


def test_the_role_pod_runs_with_exactly_its_args_and_its_probe():
    p = pod()
    container = lab_pods.container_of(p)
    assert lab_pods.argv_of(container) == ARGS
    assert lab_pods.env_of(p, container, "10.250.1.2") == {}
    assert lab_pods.probe_of(container) == (8082, "/ping", None, 5, 2, 1)


def test_a_command_runs_as_a_container_would_run_it():
    container = lab_pods.container_of(pod(command=["/usr/local/bin/traefik", "--log.level=DEBUG"]))
    assert lab_pods.argv_of(container) == ["--log.level=DEBUG"] + ARGS


def test_env_values_and_the_downward_api_of_a_host_network_pod():
    p = pod(env=[{"name": "A", "value": "1"}, {"name": "EMPTY"},
                 {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                 {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                 {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}])
    env = lab_pods.env_of(p, lab_pods.container_of(p), "10.250.1.2")
    assert env == {"A": "1", "EMPTY": "", "POD": "traefik-edge-x7k2p", "IP": "10.250.1.2", "NODE": "lab-lab-a-1"}


@pytest.mark.parametrize("change,message", [
    (lambda p: p["spec"].update(hostNetwork=False), "not hostNetwork"),
    (lambda p: p["spec"]["containers"][0].update(image="nginx:1.27"), "one Traefik container only"),
    (lambda p: p["spec"]["containers"].append({"name": "sidecar", "image": "busybox"}), "one Traefik container only"),
    (lambda p: p["spec"]["containers"][0].update(command=["/bin/sh", "-c", "traefik"]), "traefik binary only"),
    (lambda p: p["spec"]["containers"][0].update(
        env=[{"name": "S", "valueFrom": {"secretKeyRef": {"name": "x", "key": "y"}}}]), "env S"),
    (lambda p: p["spec"]["containers"][0].update(readinessProbe={"tcpSocket": {"port": 8082}}), "httpGet"),
    (lambda p: p["spec"]["containers"][0].update(readinessProbe={"httpGet": {"port": "ping"}}), "numeric port"),
])
def test_what_the_lab_cannot_run_is_refused_with_the_reason(change, message):
    p = pod()
    change(p)
    with pytest.raises(ValueError, match=message):
        container = lab_pods.container_of(p)
        lab_pods.argv_of(container)
        lab_pods.env_of(p, container, "10.250.1.2")
        lab_pods.probe_of(container)


def test_no_readiness_probe_means_ready_once_running():
    assert lab_pods.probe_of(lab_pods.container_of(pod(readinessProbe=None))) is None


def test_the_apiserver_and_its_ca_come_from_the_kubeconfig(tmp_path):
    ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "lab",
              "clusters": [{"name": "other", "cluster": {"server": "https://192.0.2.1:6443"}},
                           {"name": "lab", "cluster": {"server": "https://127.0.0.1:38123",
                                                       "certificate-authority-data": base64.b64encode(ca.encode()).decode()}}],
              "contexts": [{"name": "other", "context": {"cluster": "other", "user": "x"}},
                           {"name": "lab", "context": {"cluster": "lab", "user": "x"}}]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    assert lab_pods.cluster_of(str(path)) == ("127.0.0.1", 38123, ca)
