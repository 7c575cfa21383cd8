"""As root, a lab server IS an edge of the lab data path: its public IP, /healthz on :80, HTTP to the home app.

The lab cloud (tests/support/sim/lab.py) with ``labnet_dir`` set, the real lab network
(netns, nginx, wireguard-go) and the real talosctl validating the config at boot.
"""

import requests

from tests.integration.test_cloud_lab_boot import worker_config
from tests.support import labnet, tools
from tests.support.labnet import LabNetwork, _run
from tests.support.sim.lab import LabCloud


# Not the name test_cloud_lab_boot uses: its Node stays in the worker's shared apiserver.
NAME = "lab-datapath-edge-1"


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


def test_a_lab_server_is_an_edge_of_the_lab_network(lab_network, kube_cluster, talosctl):
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
        assert labnet.healthy(address)[0] is True
        answer = labnet.get(address, "/", headers={"Host": "hello.lab.test"}).json()
        assert answer["identity"] == "home" and answer["edge"] == NAME and answer["host"] == "hello.lab.test"
        assert answer["peer"] == edge.tunnel_ip

        lab.set_healthy(NAME, False)
        assert labnet.healthy(address, timeout=1)[0] is False
        lab.set_healthy(NAME, True)
        assert labnet.healthy(address)[0] is True

        api(lab, "DELETE", "/servers/" + server["id"])
        assert NAME not in LabNetwork(lab_network.state_dir).attach().edges
        assert labnet.healthy(address, timeout=1)[0] is False
        wait_for(lambda: server_named(lab, NAME) is None, "the server to go")
    requests.delete(kube_cluster.url + "/api/v1/nodes/" + NAME, verify=kube_cluster.ca_path,
                    headers={"Authorization": "Bearer " + kube_cluster.token}, timeout=10)
