"""Fixtures of the Kubernetes edge layer (issue 6): CRDs, Talos-registered nodes, a private apiserver."""
import contextlib
import os
import shutil
import tempfile
import uuid

import pytest
import yaml

from tests.conftest import require_tool, spec_path
from tests.support.ansible import task_results
from tests.support.k8s_objects import Kube, talos_node_registration


@pytest.fixture(scope="session")
def kube(kube_cluster):
    """A client of the shared kube-apiserver with the real third-party CRDs installed.

    Traefik, cert-manager and the ExternalDNS DNSEndpoint CRDs, as a cluster
    looks after the edge_ingress and cert_manager roles ran.
    """
    client = Kube(kube_cluster.kubeconfig)
    client.apply_files(os.path.join(spec_path("crds", "traefik", "v3.6.24"), "kubernetes-crd-definition-v1.yml"))
    client.apply_files(os.path.join(spec_path("crds", "cert-manager"), "*.yaml"))
    client.apply_files(os.path.join(spec_path("crds", "external-dns", "v0.21.0"), "*.yaml"))
    return client


@pytest.fixture
def k8s_namespace(kube):
    """A fresh namespace, deleted afterwards."""
    name = kube.namespace("ae-k8s-" + uuid.uuid4().hex[:8])
    yield name
    kube.delete_namespace(name)


@pytest.fixture(scope="module")
def private_kube():
    """A kube-apiserver of its own (module scope) for tests that need a cluster without cert-manager."""
    require_tool("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
    from tests.support.kube import start_cluster
    with contextlib.ExitStack() as stack:
        workdir = tempfile.mkdtemp(prefix="autoextender-kube-private-")
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        yield start_cluster(workdir, stack)


def edge_pool(name):
    return {"name": name, "provider": "hetzner", "location": "hel1", "server_type": "cx22", "count": 2, "active": True}


def edge_machine_config(talosctl, pool):
    """A worker machine config of an edge node of ``pool``, made by the real talosctl and validated.

    The patch is what the Talos layer writes for an edge worker: the pool,
    zone and instance-type labels and the edge taint (machine.nodeLabels,
    machine.nodeTaints).
    """
    patch = {"machine": {
        "nodeLabels": {
            "autoextender.io/pool": pool["name"],
            "topology.kubernetes.io/zone": "%s-%s" % (pool["provider"], pool["location"]),
            "node.kubernetes.io/instance-type": pool["server_type"],
        },
        "nodeTaints": {"autoextender.io/edge": "true:NoSchedule"},
    }}
    patch_path = os.path.join(talosctl.workdir, "edge-patch.yaml")
    with open(patch_path, "w") as f:
        yaml.safe_dump(patch, f)
    out = os.path.join(talosctl.workdir, "worker.yaml")
    talosctl.run("gen", "config", "home", "https://192.0.2.10:6443", "--output-types", "worker",
                 "--with-examples=false", "--with-docs=false", "--config-patch", "@" + patch_path,
                 "--output", out, "--force")
    talosctl.run("validate", "--config", out, "--mode", "cloud")
    return out


@pytest.fixture
def talos_edge_nodes(kube, talosctl):
    """``register(pool, names, ready=True)``: Nodes registered from a real Talos worker config; deleted afterwards."""
    created = []

    def register(pool, names, ready=True):
        labels, taints = talos_node_registration(edge_machine_config(talosctl, pool))
        for name in names:
            kube.register_node(name, labels, taints, ready=ready)
            created.append(name)
        return labels, taints

    yield register
    for name in created:
        kube.delete_node(name)


def role_results(proc):
    """``{task name: result}`` of a playbook run, task names without their ``<role> : `` prefix."""
    return dict((name.split(" : ", 1)[-1], res) for name, res in task_results(proc).items())
