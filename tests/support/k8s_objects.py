"""Objects in the real kube-apiserver for the Kubernetes edge layer tests.

The cluster runs the real control loop (tests/support/kube.py): kube-controller-manager,
kube-scheduler, and kwok as the kubelet. So a test creates what a user creates and waits
for what the controllers do: a Node is registered the way a joining Talos worker's kubelet
registers it (labels and taints from its machine config) and kwok reports it Ready (or
NotReady, as a kubelet that runs but is not ready); pods come from Deployments and
DaemonSets, placed by the scheduler; a PodDisruptionBudget's status is the disruption
controller's. Eviction and the PDB check are the API server's own.
"""
import glob
import os

import yaml
from kubernetes import client, config, dynamic
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from .labnet._run import wait_for

EDGE_TAINT = {"key": "autoextender.io/edge", "value": "true", "effect": "NoSchedule"}
#: kwok is the kubelet of the Nodes with this annotation (tests/support/kwok/nodes.yaml)
KWOK_NODE = "kwok.x-k8s.io/node"
#: kwok's own label for a Node whose kubelet reports NotReady
NOT_READY_LABEL = "node-not-ready.stage.kwok.x-k8s.io"


class Kube:
    """A thin client over one kubeconfig."""

    def __init__(self, kubeconfig):
        self.api = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(self.api)
        self.policy = client.PolicyV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.batch = client.BatchV1Api(self.api)
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
        """Create ``name``; return once its default ServiceAccount exists (admission refuses pods before)."""
        try:
            self.core.create_namespace({"metadata": {"name": name}})
        except ApiException as e:
            if e.status != 409:
                raise
        wait_for(lambda: self.get("v1", "ServiceAccount", "default", name), 60,
                 "the default ServiceAccount of namespace %s" % name)
        return name

    def delete_namespace(self, name):
        self.delete("v1", "Namespace", name)

    def service(self, namespace, name, port, protocol="TCP"):
        self.core.create_namespaced_service(namespace, {
            "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"name": "p", "port": port, "protocol": protocol}]}})

    # -- nodes, pods, budgets ----------------------------------------------------
    def register_node(self, name, labels, taints, ready=True):
        """Create the Node as a kubelet registers it; kwok (its kubelet) reports it Ready or not.

        ``ready=False``: a kubelet that runs but reports NotReady (KubeletNotReady), kwok's
        node-not-ready label (tests/support/kwok/nodes.yaml). Returns once kwok reported and,
        for a Ready Node, once the node lifecycle controller lifted its not-ready taint: until
        then the scheduler puts no pod there, and which of two new Nodes takes the pods would race.
        """
        meta_labels = dict(labels, **{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                      "kubernetes.io/arch": "amd64"})
        if not ready:
            meta_labels[NOT_READY_LABEL] = "true"
        self.core.create_node({"metadata": {"name": name, "labels": meta_labels, "annotations": {KWOK_NODE: "fake"}},
                               "spec": {"taints": taints}})
        self.wait_node_ready(name, "True" if ready else "False")
        if ready:
            wait_for(lambda: not any(t.key == "node.kubernetes.io/not-ready"
                                     for t in self.core.read_node(name).spec.taints or []),
                     60, "the not-ready taint of Node %s to be lifted" % name)

    def set_node_ready(self, name, ready):
        """The Node's kubelet (kwok) turns Ready, or reports NotReady (KubeletNotReady)."""
        self.core.patch_node(name, {"metadata": {"labels": {NOT_READY_LABEL: None if ready else "true"}}})
        self.wait_node_ready(name, "True" if ready else "False")

    def stop_kubelet(self, name):
        """The Node's kubelet is gone (kwok stops its heartbeats): kube-controller-manager marks it Unknown."""
        self.core.patch_node(name, {"metadata": {"annotations": {KWOK_NODE: None}}})

    def node_ready(self, name):
        """The status of the Node's Ready condition ("True", "False", "Unknown"), None without one."""
        node = self.core.read_node(name)
        return next((c.status for c in node.status.conditions or [] if c.type == "Ready"), None)

    def wait_node_ready(self, name, status, timeout=120):
        wait_for(lambda: self.node_ready(name) == status, timeout, "Node %s Ready=%s" % (name, status))

    def delete_node(self, name):
        self.delete("v1", "Node", name)

    def pods(self, namespace, label_selector=None):
        return self.core.list_namespaced_pod(namespace, label_selector=label_selector).items

    def pod_names(self, namespace, label_selector=None):
        return sorted(p.metadata.name for p in self.pods(namespace, label_selector))

    def running_pods(self, namespace, labels, count, timeout=180):
        """Wait until exactly ``count`` pods with ``labels`` run Ready (and none is leaving); return them."""
        selector = ",".join("%s=%s" % kv for kv in sorted(labels.items()))

        def ready():
            pods = [p for p in self.pods(namespace, selector) if p.metadata.deletion_timestamp is None]
            ok = [p for p in pods if p.status.phase == "Running" and any(
                c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])]
            return ok if len(ok) == len(pods) == count else None

        return wait_for(ready, timeout, "%d Ready pods %s in %s" % (count, selector, namespace))

    def deployment(self, namespace, name, labels, replicas=1, node=None, **pod_spec):
        """A Deployment of ``replicas`` pods with ``labels``, on ``node`` (edge taint tolerated) if given."""
        spec = dict({"containers": [{"name": "app", "image": "registry.invalid/app:1"}],
                     "terminationGracePeriodSeconds": 0}, **pod_spec)
        if node:
            spec.setdefault("nodeSelector", {"kubernetes.io/hostname": node})
            spec.setdefault("tolerations", [dict(EDGE_TAINT, operator="Equal")])
        self.apps.create_namespaced_deployment(namespace, {
            "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}})

    def daemonset(self, namespace, name, labels, node_selector, **pod_spec):
        """A DaemonSet on the Nodes ``node_selector`` selects, tolerating the edge taint."""
        spec = dict({"containers": [{"name": "app", "image": "registry.invalid/agent:1"}],
                     "nodeSelector": node_selector, "tolerations": [dict(EDGE_TAINT, operator="Equal")],
                     "terminationGracePeriodSeconds": 0}, **pod_spec)
        self.apps.create_namespaced_daemon_set(namespace, {
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}})

    def budget(self, namespace, name, labels, min_available, disruptions_allowed, timeout=180):
        """A PDB; returns once the disruption controller computed its status (``disruptions_allowed``)."""
        self.policy.create_namespaced_pod_disruption_budget(namespace, {
            "metadata": {"name": name},
            "spec": {"minAvailable": min_available, "selector": {"matchLabels": labels}}})
        return self.wait_budget(namespace, name, disruptions_allowed, timeout)

    def wait_budget(self, namespace, name, disruptions_allowed, timeout=180):
        def computed():
            pdb = self.policy.read_namespaced_pod_disruption_budget(name, namespace)
            return pdb if (pdb.status and pdb.status.observed_generation == pdb.metadata.generation
                           and pdb.status.disruptions_allowed == disruptions_allowed) else None
        return wait_for(computed, timeout, "PDB %s/%s disruptionsAllowed=%d" % (namespace, name, disruptions_allowed))


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
