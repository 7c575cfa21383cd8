"""As root, a lab server IS an edge of the lab data path: its public IP, /healthz on :80, HTTP to the home app.

The lab cloud (tests/support/sim/lab.py) with ``labnet_dir`` set, the real lab network
(netns, wireguard-go), the real talosctl validating the config at boot, and a real
Traefik: the process the lab runs for a Traefik pod bound to the server's Node
(tests/support/sim/lab_pods.py), reading the home cluster's Ingresses as its
ServiceAccount.
"""

import pytest
import requests

from tests.integration.test_cloud_lab_boot import worker_config
from tests.support import labnet, lab_ingress, tools
from tests.support.k8s_objects import Kube
from tests.support.labnet import LabNetwork, _run, traefik
from tests.support.sim.lab import LabCloud


# Not the name test_cloud_lab_boot uses: its Node stays in the worker's shared apiserver.
NAME = "lab-datapath-edge-1"
NAMESPACE = "ae-lab-edges"


def api(lab, method, path, **kw):
    answer = requests.request(method, lab.url + path, headers={"Authorization": "Bearer " + lab.token}, timeout=30,
                              **kw)
    answer.raise_for_status()
    return answer.json() if answer.content else None


def wait_for(check, what, timeout=60):
    return _run.wait_for(check, timeout, what)


def registered(kube_cluster, name):
    """The Node ``name``, or None while there is none (404)."""
    try:
        return kube_cluster.get("/api/v1/nodes/" + name)
    except OSError:
        return None


def server_named(lab, name):
    return next((s for s in api(lab, "GET", "/servers")["servers"] if s["name"] == name), None)


@pytest.fixture
def lab_kube(kube_cluster):
    """A client, the home cluster's objects (hack/lab_home.py), the IngressClass ``edge``, an Ingress for
    hello.lab.test, and a namespace with a ServiceAccount that reads Ingresses; all removed afterwards."""
    client = Kube(kube_cluster.kubeconfig)
    lab_ingress.home_objects(kube_cluster.kubeconfig)
    made_class = client.get("networking.k8s.io/v1", "IngressClass", "edge") is None
    if made_class:
        client.dyn.resources.get(api_version="networking.k8s.io/v1", kind="IngressClass").create(
            {"metadata": {"name": "edge"}, "spec": {"controller": "traefik.io/ingress-controller"}})
    hello = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": NAMESPACE},
             "spec": {"ingressClassName": "edge", "rules": [{"host": "hello.lab.test", "http": {"paths": [
                 {"path": "/", "pathType": "Prefix",
                  "backend": {"service": {"name": "hello", "port": {"number": 8080}}}}]}}]}}
    client.dyn.resources.get(api_version="networking.k8s.io/v1", kind="Ingress").create(hello, namespace="default")
    client.namespace(NAMESPACE)
    lab_ingress.ingress_reader(client, NAMESPACE, "traefik")
    yield client
    client.delete_namespace(NAMESPACE)
    lab_ingress.drop_ingress_reader(client, NAMESPACE, "traefik")
    client.delete("networking.k8s.io/v1", "Ingress", NAMESPACE, "default")
    if made_class:
        client.delete("networking.k8s.io/v1", "IngressClass", "edge")


def test_a_lab_server_is_an_edge_of_the_lab_network(lab_network, kube_cluster, lab_kube, talosctl):
    kube = lab_kube
    with LabCloud(token="t", talosctl=tools.which("talosctl"), kubeconfig=kube_cluster.kubeconfig,
                  labnet_dir=lab_network.state_dir, trustd=talosctl.workdir + "/secrets.yaml") as lab:
        assert api(lab, "GET", "/info")["health_port"] == 80
        image = api(lab, "POST", "/images", json={"name": "talos", "source_url": "https://factory.example/x.raw.xz",
                                                  "talos_version": "v1.13.9", "arch": "amd64"})["image"]
        wait_for(lambda: api(lab, "GET", "/images/" + image["id"])["image"]["status"] == "available", "the image")
        created = api(lab, "POST", "/servers", json={
            "name": NAME, "location": "loopback", "server_type": "lab-small", "image": image["id"],
            "ipv6": False, "user_data": worker_config(talosctl, hostname=NAME)})["server"]
        address = created["public_net"]["ipv4"]
        assert address in [lab_network.plan.public_ip(i) for i in range(2, 254)]

        server = wait_for(lambda: (server_named(lab, NAME) or {}).get("status") == "running"
                          and server_named(lab, NAME), "the server to boot")
        assert server["talos"]["stage"] == "configured"
        edge = LabNetwork(lab_network.state_dir).attach().edge(NAME)
        assert edge.public_ip == address
        # The Node is Ready with the edge's address (the machine registers it, as a kubelet does: a moment
        # after it booted), and the edge serves through the tunnel.
        node = wait_for(lambda: registered(kube_cluster, NAME), "the machine to register its Node", 30)
        assert [a["address"] for a in node["status"]["addresses"] if a["type"] == "ExternalIP"] == [address]
        # No Traefik pod is bound to the Node yet: nothing listens on :80.
        assert traefik.pids_in(edge.netns) == [] and labnet.healthy(address, timeout=1)[0] is False

        pod = kube.core.create_namespaced_pod(NAMESPACE, lab_ingress.lab_run_pod(
            NAMESPACE, "traefik", NAME, "traefik", lab_ingress.traefik_args()))
        lab_ingress.wait_ready(kube, NAMESPACE, "traefik")
        pid = lab_ingress.traefik_of(edge, pod.metadata.uid)
        assert pid and lab_ingress.cmdline(pid)[1:] == lab_ingress.traefik_args()
        # /healthz through the pod's Traefik (the home cluster's lab-healthz Ingress) and the tunnel
        wait_for(lambda: labnet.healthy(address)[0], "the /healthz route", 30)
        wait_for(lambda: labnet.get(address, "/", headers={"Host": "hello.lab.test"}).status == 200,
                 "the hello.lab.test route", 30)
        answer = labnet.get(address, "/", headers={"Host": "hello.lab.test"}).json()
        assert answer["identity"] == "home" and answer["host"] == "hello.lab.test"
        assert answer["peer"] == edge.tunnel_ip

        # unhealthy: the edge's Traefik stops, the pod is reported not ready, and the lab keeps it stopped
        lab.set_healthy(NAME, False)
        assert labnet.healthy(address, timeout=1)[0] is False and traefik.pids_in(edge.netns) == []
        wait_for(lambda: lab_ingress.annotation(kube, NAMESPACE, "traefik") == "false", "the pod not ready", 10)
        assert traefik.pids_in(edge.netns) == []
        lab.set_healthy(NAME, True)
        lab_ingress.wait_ready(kube, NAMESPACE, "traefik")
        wait_for(lambda: labnet.healthy(address)[0], "the edge healthy again", 30)

        api(lab, "DELETE", "/servers/" + server["id"])
        assert NAME not in LabNetwork(lab_network.state_dir).attach().edges
        assert labnet.healthy(address, timeout=1)[0] is False
        wait_for(lambda: server_named(lab, NAME) is None, "the server to go")
    requests.delete(kube_cluster.url + "/api/v1/nodes/" + NAME, verify=kube_cluster.ca_path,
                    headers={"Authorization": "Bearer " + kube_cluster.token}, timeout=10)
