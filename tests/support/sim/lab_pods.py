"""Lab-run pods: the Traefik pods of the edge_ingress DaemonSet run as real processes on the lab edges.

The lab has no kubelet: kwok plays the pods' lifecycle on every Node (tests/support/kwok/),
and for the pods annotated ``lab.autoextender.io/run: process`` this runner plays the part
of the kubelet that runs the container (root, with the lab network; docs/lab.md):

- it watches the lab apiserver for such pods bound to a Node of a running lab server whose
  edge is connected, and runs each as a ``traefik`` process in that edge's network
  namespace (tests/support/labnet/traefik.py) with exactly the container's ``command``/
  ``args`` and ``env``, its output in ``<edge workdir>/pods/<namespace>.<pod>.<uid>/``;
- as the pod's ServiceAccount: a token from the TokenRequest API bound to the pod (its
  uid), the cluster CA and the namespace where a pod finds them
  (/var/run/secrets/kubernetes.io/serviceaccount, in a mount namespace of the process's
  own: pod_exec.py) and ``KUBERNETES_SERVICE_HOST``/``_PORT`` naming the apiserver as the
  edge reaches it (127.0.0.1 and the relayed port, node_api.LoopbackRelay). The token is
  renewed at 80 % of its life, as a kubelet does;
- readiness: the container's readinessProbe (httpGet), asked from inside the namespace;
  the runner annotates the pod ``lab.autoextender.io/ready: "true"`` when it answers and
  ``"false"`` after ``failureThreshold`` misses, when the process exits or is stopped
  (kwok turns that into the pod's Ready condition);
- deletion (a ``deletionTimestamp``): SIGTERM, up to the pod's grace period, then
  SIGKILL; then ``lab.autoextender.io/stopped: "true"`` (kwok then removes the pod);
- a process that exits on its own is restarted with a back-off (restartPolicy Always);
- ``hold(netns, True)`` (``LabCloud.set_healthy(name, False)``) stops the processes of an
  edge and keeps them stopped until ``hold(netns, False)``.

Every step goes to ``log_path`` with a timestamp, including the seconds from a pod being
seen bound to its process answering.
"""
import base64
import json
import os
import threading
import time
import urllib.parse

import yaml

from . import pod_exec
from ..labnet import traefik
from ..labnet._run import LabnetError

RUN, READY, STOPPED = "lab.autoextender.io/run", "lab.autoextender.io/ready", "lab.autoextender.io/stopped"
RUN_VALUE = "process"
TOKEN_SECONDS = 3600
BOUND = "spec.nodeName!="
FIELD_REFS = ("metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
              "status.hostIP", "status.podIP")


def cluster_of(kubeconfig):
    """(host, port, CA PEM text) of the apiserver a kubeconfig names (its current context's cluster)."""
    with open(kubeconfig) as f:
        config = yaml.safe_load(f)
    context = next((c["context"] for c in config.get("contexts", []) if c["name"] == config.get("current-context")),
                   None) or config["contexts"][0]["context"]
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    url = urllib.parse.urlsplit(cluster["server"])
    if cluster.get("certificate-authority-data"):
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
    else:
        with open(cluster["certificate-authority"]) as f:
            ca = f.read()
    return url.hostname, url.port or 443, ca


def container_of(pod):
    """The pod's Traefik container, or raise ValueError saying why the lab cannot run the pod."""
    spec = pod["spec"]
    if not spec.get("hostNetwork"):
        raise ValueError("not hostNetwork: a lab edge runs processes in the node's own network namespace")
    containers = [c for c in spec["containers"] if "traefik" in c.get("image", "")]
    if len(spec["containers"]) != 1 or not containers:
        raise ValueError("the lab runs pods of one Traefik container only (images: %s)"
                         % ", ".join(c.get("image", "?") for c in spec["containers"]))
    return containers[0]


def argv_of(container):
    """Traefik's arguments: ``command`` (whose first word must be traefik) then ``args``, as a container runs them."""
    command = list(container.get("command") or [])
    if command and os.path.basename(command[0]) != "traefik":
        raise ValueError("command %r: the lab runs the traefik binary only" % command[0])
    return command[1:] + list(container.get("args") or [])


def env_of(pod, container, host_ip):
    """The container's environment: literal values and the downward API fields a hostNetwork pod has."""
    fields = {"metadata.name": pod["metadata"]["name"], "metadata.namespace": pod["metadata"]["namespace"],
              "metadata.uid": pod["metadata"]["uid"], "spec.nodeName": pod["spec"].get("nodeName"),
              "spec.serviceAccountName": pod["spec"].get("serviceAccountName") or "default",
              "status.hostIP": host_ip, "status.podIP": host_ip}
    env = {}
    for item in container.get("env") or []:
        ref = (item.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
        if "value" in item or not item.get("valueFrom"):
            env[item["name"]] = item.get("value", "")
        elif ref in FIELD_REFS:
            env[item["name"]] = fields[ref]
        else:
            raise ValueError("env %s: the lab supports values and the fieldRefs %s only" % (item["name"], FIELD_REFS))
    return env


def probe_of(container):
    """The readinessProbe as ``(port, path, host, period, failure threshold, timeout)``; None without one."""
    probe = container.get("readinessProbe")
    if not probe:
        return None
    get = probe.get("httpGet")
    if not get or not str(get.get("port", "")).isdigit():
        raise ValueError("readinessProbe: the lab runs httpGet probes with a numeric port only")
    return (int(get["port"]), get.get("path") or "/", get.get("host"), probe.get("periodSeconds", 10),
            probe.get("failureThreshold", 3), probe.get("timeoutSeconds", 1))


class PodProcess:
    """The process of one lab-run pod on one edge (an EdgeNode). Nothing runs until ``start``."""

    def __init__(self, pod, edge, api, seen):
        self.pod = pod
        self.edge = edge
        self.api = api  # (host, port, CA text)
        self.seen = seen  # when the runner first saw the pod bound
        meta = pod["metadata"]
        self.name = "%s/%s" % (meta["namespace"], meta["name"])
        folder = "%s.%s.%s" % (meta["namespace"], meta["name"], meta["uid"][:8])
        self.traefik = None
        self.folder = os.path.join(edge.workdir, "pods", folder)
        self.ready = None  # what the runner last annotated
        self.misses = 0
        self.next_probe = 0.0
        self.answered = False  # answered once since its last start
        self.restarts = 0
        self.next_start = 0.0
        self.token_renew = None
        self.started = None  # when its process last started
        self.held_once = False  # stopped once because its edge was held unhealthy
        self.stopping = None  # the thread stopping it after a deletion
        self.stopped = False


class PodRunner:
    """``PodRunner(kubeconfig, nodes, log_path).start()``; ``close()`` stops every process it runs.

    ``nodes()``: Node name -> EdgeNode of the lab servers that run pods now (machine running,
    edge connected)."""

    def __init__(self, kubeconfig, nodes, log_path):
        self.kubeconfig = kubeconfig
        self.nodes = nodes
        self.log_path = log_path
        self.api = cluster_of(kubeconfig)
        self.pods = {}  # uid -> pod (dict) of lab-run pods bound to a Node, from the watch
        self.procs = {}  # uid -> PodProcess
        self.held = set()  # netns whose processes stay stopped (set_healthy False)
        self.swept = set()  # edge workdirs whose leftovers (a crashed runner's) were stopped
        self.refused = {}  # uid -> why the lab cannot run it (logged once)
        self.lock = threading.RLock()  # pods, held
        self._pass = threading.Lock()  # one reconcile pass or one hold() at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads = []
        self._response = None
        self.core = None

    # -- the API ---------------------------------------------------------------------------------------
    def _client(self):
        from kubernetes import client, config
        return client.CoreV1Api(config.new_client_from_config(config_file=self.kubeconfig))

    def log(self, text):
        now = time.time()
        with open(self.log_path, "a") as f:
            f.write("%s.%03dZ %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)), now % 1 * 1000, text))

    def annotate(self, proc, values):
        """Patch the pod's annotations (only those that differ); a pod already gone is fine."""
        from kubernetes.client.exceptions import ApiException
        current = proc.pod["metadata"].get("annotations") or {}
        values = dict((k, v) for k, v in values.items() if current.get(k) != v)
        if not values:
            return
        meta = proc.pod["metadata"]
        try:
            self.core.patch_namespaced_pod(meta["name"], meta["namespace"], {"metadata": {"annotations": values}})
        except ApiException as e:
            if e.status != 404:
                self.log("%s: annotating %s failed: HTTP %s %s" % (proc.name, values, e.status, e.reason))
            return
        current.update(values)
        proc.pod["metadata"]["annotations"] = current

    def token(self, pod):
        """A ServiceAccount token bound to ``pod`` (TokenRequest), as a kubelet asks for one."""
        spec, meta = pod["spec"], pod["metadata"]
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"expirationSeconds": TOKEN_SECONDS,
                         "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"],
                                            "uid": meta["uid"]}}}
        answer = self.core.create_namespaced_service_account_token(
            spec.get("serviceAccountName") or "default", meta["namespace"], body, _preload_content=False)
        return json.loads(answer.data)["status"]["token"]

    # -- the watch ---------------------------------------------------------------------------------------
    def _keep(self, pod):
        return (pod["metadata"].get("annotations") or {}).get(RUN) == RUN_VALUE and pod["spec"].get("nodeName")

    def _watch(self):
        from kubernetes.watch.watch import iter_resp_lines
        core = self._client()
        self.log("watching pods annotated %s=%s on the lab edges" % (RUN, RUN_VALUE))
        while not self._stop.is_set():
            try:
                listing = json.loads(core.list_pod_for_all_namespaces(field_selector=BOUND, _preload_content=False).data)
                with self.lock:
                    self.pods = dict((p["metadata"]["uid"], p) for p in listing["items"] if self._keep(p))
                self._wake.set()
                version = listing["metadata"]["resourceVersion"]
                while not self._stop.is_set():
                    self._response = core.list_pod_for_all_namespaces(
                        field_selector=BOUND, watch=True, resource_version=version, allow_watch_bookmarks=True,
                        timeout_seconds=30, _preload_content=False, _request_timeout=60)
                    for line in iter_resp_lines(self._response):
                        event = json.loads(line)
                        if event["type"] == "ERROR":
                            raise LabnetError("watch: %s" % event["object"].get("message"))
                        pod = event["object"]
                        version = pod["metadata"]["resourceVersion"]
                        if event["type"] == "BOOKMARK":
                            continue
                        with self.lock:
                            if event["type"] != "DELETED" and self._keep(pod):
                                self.pods[pod["metadata"]["uid"]] = pod
                            else:
                                self.pods.pop(pod["metadata"]["uid"], None)
                        self._wake.set()
            except Exception as e:  # noqa: BLE001 - a watch that breaks (apiserver restart, 410 Gone) lists again
                if not self._stop.is_set():
                    self.log("watch: %s: %s; listing again" % (e.__class__.__name__, e))
                    self._stop.wait(1.0)

    # -- the processes -----------------------------------------------------------------------------------
    def _loop(self):
        self.core = self._client()
        while not self._stop.is_set():
            self._wake.wait(0.2)
            self._wake.clear()
            try:
                with self._pass:
                    self.reconcile()
            except Exception as e:  # noqa: BLE001 - the runner must outlive one bad step (it says which)
                self.log("reconcile: %s: %s" % (e.__class__.__name__, e))
                self._stop.wait(1.0)

    def reconcile(self):
        nodes = self.nodes()
        now = time.monotonic()
        with self.lock:
            pods = dict(self.pods)
            held = set(self.held)
        for uid, pod in pods.items():
            edge = nodes.get(pod["spec"]["nodeName"])
            proc = self.procs.get(uid)
            if proc is None:
                if edge is None:  # not a lab edge, or its machine is down: nothing runs there
                    if self.refused.get(uid) is None:
                        self.refused[uid] = "no edge"
                        self.log("%s/%s: bound to %s, not a running lab edge (edges: %s)" % (
                            pod["metadata"]["namespace"], pod["metadata"]["name"], pod["spec"]["nodeName"],
                            ", ".join(sorted(nodes)) or "none"))
                    continue
                self._sweep(edge)
                proc = self.procs[uid] = PodProcess(pod, edge, self.api, now)
                self.log("%s: bound to %s (edge %s)" % (proc.name, pod["spec"]["nodeName"], edge.name))
            proc.pod = pod
            self.step(proc, edge, edge is not None and edge.netns in held, now)
        for uid in [u for u in self.procs if u not in pods]:
            proc = self.procs.pop(uid)
            self.log("%s: gone from the apiserver" % proc.name)
            if proc.traefik:
                proc.traefik.stop(grace=5.0)

    def step(self, proc, edge, held, now):
        """One look at one pod: stop it, start it, probe it, renew its token."""
        deleting = bool(proc.pod["metadata"].get("deletionTimestamp"))
        if deleting and edge is not None:  # a machine that is down says nothing: kwok's grace period decides
            if proc.stopping is None:
                proc.stopping = threading.Thread(target=self._terminate, args=(proc,), daemon=True)
                proc.stopping.start()
            return
        running = proc.traefik is not None and proc.traefik.pid() is not None
        if edge is None:  # (its namespace, and so its process, went with the machine)
            if running:
                self.log("%s: its machine is down: the process goes with it" % proc.name)
                proc.traefik.stop(grace=1.0)
            return
        proc.edge = edge  # the same namespace, rebuilt when the machine came back
        if held:
            if running:
                proc.traefik.stop()
            proc.traefik, proc.held_once = None, True  # stopped on purpose: no restart back-off
            self.annotate(proc, {READY: "false"})
            return
        if not running:
            if proc.traefik is not None and proc.traefik.exit_code() is not None:
                proc.restarts += 1
                proc.next_start = now + min(10.0, 0.5 * 2 ** (proc.restarts - 1))
                self.log("%s: exited with %s; restart %d in %.1fs"
                         % (proc.name, proc.traefik.exit_code(), proc.restarts, proc.next_start - now))
                proc.traefik.proc = None
            self.annotate(proc, {READY: "false"})
            if now >= proc.next_start:
                self.start(proc, now)
            return
        self.probe(proc, now)
        if proc.token_renew is not None and now >= proc.token_renew:
            self.renew_token(proc, now)

    def start(self, proc, now):
        uid = proc.pod["metadata"]["uid"]
        try:
            container = container_of(proc.pod)
            args, env = argv_of(container), env_of(proc.pod, container, proc.edge.public_ip)
            probe_of(container)
        except ValueError as e:
            if self.refused.get(uid) != str(e):
                self.refused[uid] = str(e)
                self.log("%s: the lab cannot run it: %s" % (proc.name, e))
            proc.next_start = now + 30
            return
        secrets = None
        if proc.pod["spec"].get("automountServiceAccountToken", True):
            try:
                secrets = {"token": self.token(proc.pod), "ca.crt": self.api[2],
                           "namespace": proc.pod["metadata"]["namespace"]}
            except Exception as e:  # noqa: BLE001 - a pod whose ServiceAccount is missing waits, as on a node
                self.log("%s: no ServiceAccount token (%s); retrying" % (proc.name, getattr(e, "reason", e)))
                proc.next_start = now + 2
                return
            proc.token_renew = now + 0.8 * TOKEN_SECONDS
            env.update(KUBERNETES_SERVICE_HOST=self.api[0], KUBERNETES_SERVICE_PORT=str(self.api[1]))
        proc.traefik = traefik.Traefik(proc.edge.netns, proc.folder, args, env=env, secrets=secrets)
        pid = proc.traefik.start()
        proc.answered, proc.misses, proc.next_probe, proc.started = False, 0, now, now
        self.log("%s: started traefik (pid %d) in %s with %d args%s" % (
            proc.name, pid, proc.edge.netns, len(args),
            " as ServiceAccount %s" % (proc.pod["spec"].get("serviceAccountName") or "default") if secrets else ""))

    def probe(self, proc, now):
        if now < proc.next_probe:
            return
        probe = probe_of(container_of(proc.pod))
        if probe is None:
            ok, period, threshold = True, 10, 1
        else:
            port, path, host, period, threshold, timeout = probe
            ok = proc.traefik.answers(port=port, path=path, host=host or proc.edge.public_ip, timeout=timeout)
        # Until it answered once, ask often (it is starting); then every periodSeconds, as the kubelet does.
        proc.next_probe = now + (period if proc.answered else 0.1)
        if ok:
            proc.misses = 0
            if not proc.answered:
                proc.answered = True
                first = proc.restarts == 0 and not proc.held_once
                self.log("%s: answers its readinessProbe %.2fs after %s" % (
                    proc.name, time.monotonic() - (proc.seen if first else proc.started),
                    "it was seen bound" if first else "its restart"))
            self.annotate(proc, {READY: "true"})
        elif proc.answered:
            proc.misses += 1
            if proc.misses >= threshold:
                self.annotate(proc, {READY: "false"})

    def renew_token(self, proc, now):
        """A fresh token into the running process's own ServiceAccount folder (client-go re-reads the file)."""
        pid = proc.traefik.pid()
        folder = "/proc/%d/root%s" % (pid, pod_exec.REAL_SECRETS)
        try:
            token = self.token(proc.pod)
            tmp = os.path.join(folder, ".token.new")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(token)
            os.replace(tmp, os.path.join(folder, "token"))
            proc.token_renew = now + 0.8 * TOKEN_SECONDS
        except Exception as e:  # noqa: BLE001 - try again shortly; the old token lives on until it expires
            self.log("%s: renewing its token failed: %s" % (proc.name, e))
            proc.token_renew = now + 10

    def _terminate(self, proc):
        """A deleted pod: SIGTERM, its grace period, SIGKILL; then tell kwok it stopped."""
        grace = proc.pod["spec"].get("terminationGracePeriodSeconds", 30)
        start = time.monotonic()
        if proc.traefik is not None:
            proc.traefik.stop(grace=grace)
        self.log("%s: deleted: stopped in %.2fs" % (proc.name, time.monotonic() - start))
        self.annotate(proc, {READY: "false", STOPPED: "true"})
        proc.stopped = True

    def _sweep(self, edge):
        """Processes a crashed runner left on ``edge`` (pid files under its pods/ folder): stop them."""
        if edge.workdir in self.swept:
            return
        self.swept.add(edge.workdir)
        pods = os.path.join(edge.workdir, "pods")
        for folder in sorted(os.listdir(pods)) if os.path.isdir(pods) else []:
            left = traefik.Traefik(edge.netns, os.path.join(pods, folder), [])
            if left.pid() is not None:
                self.log("%s: stopping a process left by an earlier runner (pid %d)" % (folder, left.pid()))
                left.stop(grace=5.0)

    # -- failure injection and lifecycle -------------------------------------------------------------------
    def hold(self, netns, on):
        """``on``: stop the processes of edge ``netns`` now and keep them stopped; else let them run again."""
        with self._pass, self.lock:
            (self.held.add if on else self.held.discard)(netns)
            procs = [p for p in self.procs.values() if p.edge.netns == netns]
            for proc in procs if on else []:
                if proc.traefik is not None:
                    proc.traefik.stop()
                    proc.traefik, proc.held_once = None, True
                    self.log("%s: stopped (its edge is held unhealthy)" % proc.name)
        self._wake.set()

    def start_threads(self):
        self._stop.clear()
        for target, name in ((self._watch, "lab-pods-watch"), (self._loop, "lab-pods")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close(self):
        """Stop watching and stop every process (the lab is going down)."""
        self._stop.set()
        self._wake.set()
        if self._response is not None:
            try:
                self._response.close()
            except Exception:  # noqa: BLE001 - closing a finished response is fine either way
                pass
        for thread in self._threads:
            thread.join(10)
        self._threads = []
        for proc in list(self.procs.values()):
            if proc.traefik is not None:
                proc.traefik.stop(grace=5.0)
        self.procs.clear()
