"""Traefik pods on the lab edges (root lab with a cluster), for tests: what runs them is lab_pods.py.

- ``home_objects(kubeconfig)``: the home cluster's objects hack/lab_home.py makes (the hello
  Service, its EndpointSlice to the home app, the /healthz Ingress of class ``edge``);
- ``lab_run_pod(...)``: a pod bound to a Node (``nodeName``) that the lab runs as a Traefik
  process (annotation ``lab.autoextender.io/run: process``);
- ``ingress_reader(...)``: a ServiceAccount that may read what Traefik's Ingress provider
  reads (and write Ingress status), or nothing at all;
- ``traefik_of(edge, pod)``: the pid of the process that runs ``pod`` in ``edge``'s namespace;
- ``service_account_files(pid)``: what that process sees in its ServiceAccount folder.
"""
import base64
import json
import os
import sys

from kubernetes.client.exceptions import ApiException

from .labnet import traefik
from .labnet._run import wait_for
from .sim import pod_exec
from .sim.lab_pods import READY, RUN, RUN_VALUE

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRETS = pod_exec.SECRETS
#: what Traefik's kubernetesingress provider reads (its part of the edge_ingress role's ClusterRole)
INGRESS_RULES = [
    {"apiGroups": [""], "resources": ["services", "secrets", "nodes"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "ingressclasses"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["update"]},
]


def home_objects(kubeconfig):
    """hack/lab_home.py's objects in the cluster (idempotent); returns the home app's address."""
    sys.path.insert(0, os.path.join(REPO, "hack"))
    try:
        import lab_home
    finally:
        sys.path.remove(os.path.join(REPO, "hack"))
    return lab_home.home_service(kubeconfig)


def traefik_args(web_port=80, ping_port=traefik.PING_PORT, ingress_class="edge"):
    """A small Traefik command line: web and ping entrypoints, the Ingress provider of ``ingress_class``."""
    return ["--global.checkNewVersion=false", "--global.sendAnonymousUsage=false", "--ping=true",
            "--ping.entryPoint=ping", "--entryPoints.ping.address=:%d/tcp" % ping_port,
            "--entryPoints.web.address=:%d/tcp" % web_port, "--providers.kubernetesingress=true",
            "--providers.kubernetesingress.ingressClass=%s" % ingress_class]


def lab_run_pod(namespace, name, node, service_account, args, ping_port=traefik.PING_PORT):
    """A hostNetwork Traefik pod bound to ``node`` that the lab runs as a process."""
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "annotations": {RUN: RUN_VALUE}},
            "spec": {"nodeName": node, "hostNetwork": True, "serviceAccountName": service_account,
                     "terminationGracePeriodSeconds": 10,
                     "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "traefik", "image": "docker.io/library/traefik:v3.6.25", "args": args,
                                     "readinessProbe": {"httpGet": {"path": "/ping", "port": ping_port},
                                                        "periodSeconds": 2, "failureThreshold": 2}}]}}


def ingress_reader(kube, namespace, name, bound=True):
    """ServiceAccount ``name`` in ``namespace``, bound (``bound``) to a ClusterRole of INGRESS_RULES."""
    _create(lambda: kube.core.create_namespaced_service_account(namespace, {"metadata": {"name": name}}))
    if bound:
        rbac = kube.dyn.resources.get(api_version="rbac.authorization.k8s.io/v1", kind="ClusterRole")
        role = "%s-%s" % (namespace, name)
        _create(lambda: rbac.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                     "metadata": {"name": role}, "rules": INGRESS_RULES}))
        binding = kube.dyn.resources.get(api_version="rbac.authorization.k8s.io/v1", kind="ClusterRoleBinding")
        _create(lambda: binding.create({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": role},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]}))


def drop_ingress_reader(kube, namespace, name):
    role = "%s-%s" % (namespace, name)
    kube.delete("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", role)
    kube.delete("rbac.authorization.k8s.io/v1", "ClusterRole", role)


def _create(make):
    try:
        make()
    except ApiException as e:
        if e.status != 409:
            raise


def annotation(kube, namespace, name, key=READY):
    pod = kube.core.read_namespaced_pod(name, namespace)
    return (pod.metadata.annotations or {}).get(key)


def wait_ready(kube, namespace, name, timeout=60):
    wait_for(lambda: annotation(kube, namespace, name) == "true", timeout, "pod %s/%s to answer its probe"
             % (namespace, name))


def traefik_of(edge, pod_uid):
    """The pid of the traefik that runs the pod of ``pod_uid`` on ``edge`` (None when none runs)."""
    for pid in traefik.pids_in(edge.netns):
        folder = traefik._environ(pid).get(traefik.WORKDIR_ENV.encode(), b"").decode()
        if folder.endswith("." + pod_uid[:8]):
            return pid
    return None


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().decode().split("\0")[:-1]


def environ(pid):
    return dict((k.decode(), v.decode()) for k, v in traefik._environ(pid).items())


def service_account_files(pid):
    """``{name: (mode, text)}`` of the ServiceAccount folder as process ``pid`` sees it (its mount namespace)."""
    folder = "/proc/%d/root%s" % (pid, pod_exec.REAL_SECRETS)
    out = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        with open(path) as f:
            out[name] = (os.stat(path).st_mode & 0o777, f.read())
    return out


def claims(token):
    """The claims of a JWT (not verified: the apiserver did that when it accepted the token)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
