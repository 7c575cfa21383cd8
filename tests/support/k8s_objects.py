"""Objects in the real kube-apiserver for the Kubernetes edge layer tests.

No kubelet, scheduler or controller-manager runs here, so the tests act as
they would: a Node is registered the way a joining Talos worker's kubelet
registers it (labels and taints from its machine config) and marked Ready
through the status subresource; pods are bound with ``spec.nodeName`` and
set Running/Ready; a PodDisruptionBudget gets the status the disruption
controller would compute. Eviction and the PDB check are the API server's own.
"""
import glob
import os

import yaml
from kubernetes import client, config, dynamic
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError

EDGE_TAINT = {"key": "autoextender.io/edge", "value": "true", "effect": "NoSchedule"}


class Kube:
    """A thin client over one kubeconfig."""

    def __init__(self, kubeconfig):
        self.api = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(self.api)
        self.policy = client.PolicyV1Api(self.api)
        self.dyn = dynamic.DynamicClient(self.api)

    # -- generic ---------------------------------------------------------------
    def get(self, api_version, kind, name, namespace=None):
        """The object as a dict, or None."""
        res = self.dyn.resources.get(api_version=api_version, kind=kind)
        try:
            return res.get(name=name, namespace=namespace).to_dict()
        except ApiException as e:
            if e.status == 404:
                return None
            raise

    def list(self, api_version, kind, namespace=None, label_selector=None):
        res = self.dyn.resources.get(api_version=api_version, kind=kind)
        return [i.to_dict() for i in res.get(namespace=namespace, label_selector=label_selector).items]

    def delete(self, api_version, kind, name, namespace=None):
        """Delete an object if it (and its kind) exists."""
        try:
            self.dyn.resources.get(api_version=api_version, kind=kind).delete(name=name, namespace=namespace)
        except ResourceNotFoundError:
            pass
        except ApiException as e:
            if e.status != 404:
                raise

    def apply_files(self, pattern, manager="autoextender-tests"):
        """Server-side apply every document of the files matching ``pattern``."""
        for path in sorted(glob.glob(pattern)):
            with open(path) as f:
                for doc in yaml.safe_load_all(f):
                    if doc and doc.get("kind") == "CustomResourceDefinition":
                        res = self.dyn.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
                        res.server_side_apply(body=doc, name=doc["metadata"]["name"], field_manager=manager,
                                              force_conflicts=True)
        self.dyn = dynamic.DynamicClient(self.api)  # re-discover the new kinds

    def namespace(self, name):
        try:
            self.core.create_namespace({"metadata": {"name": name}})
        except ApiException as e:
            if e.status != 409:
                raise
        return name

    def delete_namespace(self, name):
        self.delete("v1", "Namespace", name)

    def service(self, namespace, name, port, protocol="TCP"):
        self.core.create_namespaced_service(namespace, {
            "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"name": "p", "port": port, "protocol": protocol}]}})

    # -- nodes, pods, budgets ----------------------------------------------------
    def register_node(self, name, labels, taints, ready=True):
        """Create the Node as a kubelet registers it, then report its Ready condition."""
        self.core.create_node({"metadata": {"name": name, "labels": dict(labels, **{
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"})},
            "spec": {"taints": taints}})
        self.set_node_ready(name, ready)

    def set_node_ready(self, name, ready):
        self.core.patch_node_status(name, {"status": {"conditions": [{
            "type": "Ready", "status": "True" if ready else "False",
            "reason": "KubeletReady" if ready else "KubeletNotReady", "message": "set by the test"}]}})

    def delete_node(self, name):
        self.delete("v1", "Node", name)

    def bind_pod(self, namespace, name, node, labels, owner="ReplicaSet", volumes=None):
        """A Running, Ready pod bound to ``node``, owned by a controller of kind ``owner`` (None: no owner)."""
        meta = {"name": name, "labels": labels}
        if owner:
            meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner, "name": "owner-" + name,
                                        "uid": "0b5d1f1e-0000-4000-8000-%012d" % (abs(hash(name)) % 10 ** 12),
                                        "controller": True}]
        self.core.create_namespaced_pod(namespace, {"metadata": meta, "spec": {
            "nodeName": node, "terminationGracePeriodSeconds": 0,
            "tolerations": [dict(EDGE_TAINT, operator="Equal")],
            "containers": [{"name": "app", "image": "registry.invalid/app:1"}],
            "volumes": volumes or []}})
        self.core.patch_namespaced_pod_status(name, namespace, {"status": {
            "phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})

    def pod_names(self, namespace):
        return sorted(p.metadata.name for p in self.core.list_namespaced_pod(namespace).items)

    def budget(self, namespace, name, labels, min_available, healthy, disruptions_allowed):
        """A PDB with the status the disruption controller would write."""
        pdb = self.policy.create_namespaced_pod_disruption_budget(namespace, {
            "metadata": {"name": name},
            "spec": {"minAvailable": min_available, "selector": {"matchLabels": labels}}})
        self.policy.patch_namespaced_pod_disruption_budget_status(name, namespace, {"status": {
            "observedGeneration": pdb.metadata.generation, "disruptionsAllowed": disruptions_allowed,
            "currentHealthy": healthy, "desiredHealthy": min_available, "expectedPods": healthy}})


def talos_node_registration(machine_config_path):
    """(labels, taints) a Talos worker registers, from its machine config (nodeLabels, nodeTaints)."""
    with open(machine_config_path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    machine = next(d for d in docs if d.get("version") == "v1alpha1")["machine"]
    taints = []
    for key, spec in (machine.get("nodeTaints") or {}).items():
        value, dummy, effect = spec.rpartition(":")
        taints.append({"key": key, "value": value, "effect": effect})
    return dict(machine.get("nodeLabels") or {}), taints


def crd_files(specs_dir, *parts):
    return os.path.join(specs_dir, "crds", *parts)
