"""A real control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, and kwok as every Node's kubelet for pods (and the kubelet of the Nodes
a test creates). TLS, one token per component, one kubeconfig each.

What kwok does is in the Stages of tests/support/kwok/ (docs/testing.md).
"""
import base64
import json
import os
import secrets
import ssl
import subprocess
import urllib.error
import urllib.request

import yaml

from .pki import make_pki
from .process import ManagedProcess, ServerFailed, free_port, tcp_open
from .tools import which


class KubeCluster:
    """What the fixture yields: where the API is and how to log in."""

    def __init__(self, url, token, ca_path, kubeconfig):
        self.url = url
        self.token = token
        self.ca_path = ca_path
        self.kubeconfig = kubeconfig

    def get(self, path):
        """GET an API path with the admin token; returns the decoded JSON."""
        ctx = ssl.create_default_context(cafile=self.ca_path)
        req = urllib.request.Request(self.url + path, headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return json.loads(r.read())


def write_kubeconfig(path, url, ca_path, token, user="autoextender-admin"):
    with open(ca_path, "rb") as f:
        ca_data = base64.b64encode(f.read()).decode()
    cfg = {
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {"server": url, "certificate-authority-data": ca_data}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": user}}],
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(cfg, f)


#: kwok's Stages: what a kubelet does for pods, and for the Nodes a test creates
KWOK_STAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kwok")


def _kwok_stages(workdir, name):
    """kwok reads one object per YAML document; our Stage files are Kubernetes Lists
    (one document each, as ansible-test's yamllint wants): write the items out as a stream."""
    with open(os.path.join(KWOK_STAGES, name)) as f:
        items = yaml.safe_load(f)["items"]
    path = os.path.join(workdir, "kwok-" + name)
    with open(path, "w") as f:
        yaml.safe_dump_all(items, f)
    return path


#: how long kube-controller-manager waits for a Node's heartbeat before it marks the Node
#: Unknown (50 s in a real cluster). The lab's machines (talos-api-sim, --heartbeat-seconds 5)
#: and kwok's fake Nodes (tests/support/kwok/nodes.yaml) renew every 5 s, but on a loaded
#: 2-core runner kwok was seen 35 s late: 40 s (the Lease duration the machines write) keeps a
#: slow heartbeat from looking like a dead node.
NODE_MONITOR_GRACE_SECONDS = 40

#: the tolerations the apiserver gives pods that name none (DefaultTolerationSeconds):
#: a pod of a NotReady or unreachable Node is evicted after this long (5 minutes in a real
#: cluster). DaemonSet pods tolerate both for ever, as the DaemonSet controller adds them.
NOT_READY_TOLERATION_SECONDS = 30

#: The informer rework that Kubernetes 1.36 turned on as beta (client-go's AtomicFIFO) and the
#: controllers' stale-cache checks built on it. The lab's controller-manager runs with them off,
#: as upstream's release note says to "temporarily regain the previous behavior": with them on,
#: the DaemonSet controller once stopped in the middle of a surge rollout of the migrate scenario
#: (locally 1 run in 4, and in CI). Right after logging "read version: 745 is not as new as
#: written version: 758 for group resource daemonsets.apps", it synced the DaemonSet no more for
#: 10 minutes. The new pod was Ready and the old one was never removed. Gates a build lacks are
#: left out: 1.37 adds StaleControllerConsistencyHPA and NodeControllerLeaseCircuitBreaker.
INFORMER_GATES_OFF = ("AtomicFIFO", "StaleControllerConsistencyDaemonSet", "StaleControllerConsistencyHPA",
                      "StaleControllerConsistencyJob", "StaleControllerConsistencyReplicaSet",
                      "StaleControllerConsistencyStatefulSet", "NodeControllerLeaseCircuitBreaker")


def informer_gates_off(kcm):
    """``--feature-gates`` turning INFORMER_GATES_OFF off, for the gates this kube-controller-manager has."""
    known = subprocess.run([kcm, "--help"], capture_output=True, text=True, timeout=60, check=True).stdout
    return ",".join("%s=false" % gate for gate in INFORMER_GATES_OFF if "%s=true|false" % gate in known)


#: kwok acts as every kubelet: it writes pod and node status and deletes pods, for all
#: Nodes. No built-in role covers that (a kubelet's system:node:<name> is limited to its
#: own Node), so it gets this role of its own, the least it needs.
KWOK_RULES = [
    {"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["get", "list", "watch", "patch", "update"]},
    {"apiGroups": [""], "resources": ["nodes/status", "pods/status"], "verbs": ["get", "patch", "update"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
    {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"]},
]


def _pick_ports():
    return {name: free_port() for name in ("etcd", "etcd-peer", "api")}


def _tokens(workdir):
    """The token file: an admin, and one user per component with the name its default RBAC binds."""
    users = {"autoextender-admin": "system:masters", "system:kube-controller-manager": "",
             "system:kube-scheduler": "", "autoextender-kwok": ""}
    tokens = {user: secrets.token_hex(16) for user in users}
    path = os.path.join(workdir, "tokens.csv")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        for uid, (user, group) in enumerate(users.items(), 1000):
            f.write("%s,%s,%d%s\n" % (tokens[user], user, uid, ',"%s"' % group if group else ""))
    return path, tokens


def _admin_request(url, token, ctx, method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        if e.code == 409:  # already there (a lab started again on its kept data)
            return e.code
        raise


def _kwok_rbac(url, token, ctx):
    """kwok's ClusterRole and its binding to the kwok user (PUT: the same on kept data)."""
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "autoextender-test:kwok"}, "rules": KWOK_RULES}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "autoextender-test:kwok"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": "autoextender-test:kwok"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "autoextender-kwok"}]}
    for kind, obj in (("clusterroles", role), ("clusterrolebindings", binding)):
        base = "/apis/rbac.authorization.k8s.io/v1/" + kind
        if _admin_request(url, token, ctx, "POST", base, obj) == 409:
            _admin_request(url, token, ctx, "PUT", base + "/" + obj["metadata"]["name"], obj)


def _healthz(url, ctx=None):
    with urllib.request.urlopen(url, context=ctx, timeout=2) as r:
        return r.status == 200 and r.read().strip() == b"ok"


def start_cluster(workdir, stack):
    """Start the control plane under ``stack`` (an ExitStack); return a KubeCluster once every part is healthy."""
    pki = make_pki(workdir)
    ports = _pick_ports()
    etcd = stack.enter_context(ManagedProcess("etcd", [
        which("etcd"), "--name", "test", "--data-dir", os.path.join(workdir, "etcd"),
        "--listen-client-urls", "http://127.0.0.1:%d" % ports["etcd"],
        "--advertise-client-urls", "http://127.0.0.1:%d" % ports["etcd"],
        "--listen-peer-urls", "http://127.0.0.1:%d" % ports["etcd-peer"],
        "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % ports["etcd-peer"],
        "--initial-cluster", "test=http://127.0.0.1:%d" % ports["etcd-peer"],
        "--quota-backend-bytes", str(512 * 1024 * 1024),
    ], os.path.join(workdir, "etcd.log")))
    etcd.wait_ready(lambda: tcp_open("127.0.0.1", ports["etcd"]), timeout=30)

    tokens_file, tokens = _tokens(workdir)
    token = tokens["autoextender-admin"]
    url = "https://127.0.0.1:%d" % ports["api"]
    api = stack.enter_context(ManagedProcess("kube-apiserver", [
        which("kube-apiserver"),
        "--etcd-servers", "http://127.0.0.1:%d" % ports["etcd"],
        "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
        # The Service "kubernetes" gets no endpoints: a loopback address cannot be one
        # (v1.36 failed each sync with that; v1.37 refuses to start), and nothing in
        # these clusters reaches the API through the Service.
        "--endpoint-reconciler-type", "none",
        "--secure-port", str(ports["api"]),
        "--tls-cert-file", pki["apiserver.crt"], "--tls-private-key-file", pki["apiserver.key"],
        "--client-ca-file", pki["ca.crt"],
        "--token-auth-file", tokens_file,
        "--authorization-mode", "Node,RBAC",
        "--service-account-issuer", "https://kubernetes.default.svc",
        "--service-account-key-file", pki["sa.pub"],
        "--service-account-signing-key-file", pki["sa.key"],
        "--service-cluster-ip-range", "10.96.0.0/16",
        "--cert-dir", os.path.join(workdir, "certs"),
        # Every default admission plugin, ServiceAccount included: the controller-manager
        # creates each namespace's default ServiceAccount, pods get their projected token.
        "--default-not-ready-toleration-seconds", str(NOT_READY_TOLERATION_SECONDS),
        "--default-unreachable-toleration-seconds", str(NOT_READY_TOLERATION_SECONDS),
        "--enable-priority-and-fairness=false",
        "--storage-media-type", "application/json",
        # A watch from resourceVersion 0 (kwok's, every relist) is served as a watch-list
        # stream when WatchList is on, which needs etcd's watch progress requests; this etcd
        # (3.4) has none, so each such watch failed and kwok acted only at its next relist,
        # 20-40 s late. Off, as for any apiserver on an etcd older than 3.4.31/3.5.13.
        "--feature-gates", "WatchList=false",
    ], os.path.join(workdir, "kube-apiserver.log")))
    ctx = ssl.create_default_context(cafile=pki["ca.crt"])

    def ready():
        req = urllib.request.Request(url + "/readyz", headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(req, context=ctx, timeout=2) as r:
            return r.status == 200

    api.wait_ready(ready, timeout=120)
    kubeconfig = os.path.join(workdir, "kubeconfig")
    write_kubeconfig(kubeconfig, url, pki["ca.crt"], token)
    configs = {}
    for part, user in (("kube-controller-manager", "system:kube-controller-manager"),
                       ("kube-scheduler", "system:kube-scheduler"), ("kwok", "autoextender-kwok")):
        configs[part] = os.path.join(workdir, part + ".kubeconfig")
        write_kubeconfig(configs[part], url, pki["ca.crt"], tokens[user], user=user)
    _kwok_rbac(url, token, ctx)
    _start_control_loop(workdir, stack, pki, configs)
    return KubeCluster(url, token, pki["ca.crt"], kubeconfig)


def _serving(workdir, part, port, config):
    """Flags of a component's own HTTPS endpoint (/healthz), on loopback, delegating to the apiserver."""
    return ["--bind-address", "127.0.0.1", "--secure-port", str(port),
            "--cert-dir", os.path.join(workdir, part + "-certs"),
            "--authentication-kubeconfig", config, "--authorization-kubeconfig", config]


#: what a component logs when the port picked for it was taken before it bound
BIND_RACE = "address already in use"


class _Component:
    """A control-loop component serving /healthz on a loopback port picked when it starts.

    A port that ``free_port`` found free can be taken before the component binds it (the
    apiserver's outgoing connections draw ephemeral ports from the same range): such a start
    is retried on another port, any other failure is not.
    """

    def __init__(self, stack, name, argv_of, log, probe_of, env=None):
        self.stack, self.name, self.argv_of, self.log, self.probe_of, self.env = stack, name, argv_of, log, probe_of, env
        self.port = self.proc = None
        self.start()

    def start(self):
        self.port = free_port()
        self.proc = self.stack.enter_context(ManagedProcess(self.name, self.argv_of(self.port), self.log, env=self.env))

    def wait_ready(self, timeout, attempts=3):
        for attempt in range(attempts):
            try:
                self.proc.wait_ready(lambda: self.probe_of(self.port), timeout=timeout)
                return
            except ServerFailed as e:
                if BIND_RACE not in str(e) or attempt == attempts - 1:
                    raise
                self.start()


def _start_control_loop(workdir, stack, pki, configs):
    """kube-controller-manager, kube-scheduler and kwok; wait until each answers its health check."""
    kcm_path = which("kube-controller-manager")
    insecure = ssl._create_unverified_context()  # noqa: S323 - their self-signed serving certs, loopback
    kcm = _Component(stack, "kube-controller-manager", lambda port: [
        kcm_path, "--kubeconfig", configs["kube-controller-manager"],
        *_serving(workdir, "kube-controller-manager", port, configs["kube-controller-manager"]),
        "--leader-elect=false",
        # each controller with its own ServiceAccount's token, as in a real cluster (the
        # token controller signs them with the apiserver's service-account key)
        "--use-service-account-credentials",
        "--service-account-private-key-file", pki["sa.key"],
        "--root-ca-file", pki["ca.crt"],
        # Every controller on by default (so bootstrap-signer and token-cleaner stay off: no
        # bootstrap tokens here), but node-ipam (no pod network: kwok gives pod IPs) and
        # the CSR signer (no kubelet asks for a certificate; the CA key is not kept).
        # No cloud controller runs: there is no cloud provider.
        "--controllers", "*,-node-ipam-controller,-certificatesigningrequest-signing-controller",
        "--node-monitor-period", "2s",
        "--node-monitor-grace-period", "%ds" % NODE_MONITOR_GRACE_SECONDS,
        "--node-startup-grace-period", "%ds" % NODE_MONITOR_GRACE_SECONDS,
        "--feature-gates", informer_gates_off(kcm_path),
    ], os.path.join(workdir, "kube-controller-manager.log"),
        lambda port: _healthz("https://127.0.0.1:%d/healthz" % port, insecure))
    scheduler = _Component(stack, "kube-scheduler", lambda port: [
        which("kube-scheduler"), "--kubeconfig", configs["kube-scheduler"],
        *_serving(workdir, "kube-scheduler", port, configs["kube-scheduler"]),
        "--leader-elect=false",
    ], os.path.join(workdir, "kube-scheduler.log"),
        lambda port: _healthz("https://127.0.0.1:%d/healthz" % port, insecure))
    kwok = _Component(stack, "kwok", lambda port: [
        which("kwok"), "--kubeconfig", configs["kwok"],
        "--config=" + os.path.join(KWOK_STAGES, "kwok.yaml"),
        *("--config=" + _kwok_stages(workdir, name) for name in ("pods.yaml", "nodes.yaml")),
        # pods on every Node; Node status only where a Stage selects the Node (nodes.yaml)
        "--manage-all-nodes",
        # no Lease controller: the lab's machines renew their Leases themselves
        "--node-lease-duration-seconds", "0",
        "--server-address", "127.0.0.1:%d" % port,
        # the address of a pod when kwok does not know its Node yet (pods get one from --cidr otherwise)
        "--node-ip", "10.0.0.1",
    ], os.path.join(workdir, "kwok.log"), lambda port: _healthz("http://127.0.0.1:%d/healthz" % port),
        env=dict(os.environ, HOME=workdir))  # no ~/.kwok/kwok.yaml
    for part in (kcm, scheduler, kwok):
        part.wait_ready(timeout=120)
