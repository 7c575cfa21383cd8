#!/usr/bin/env python3
"""The lab's ExternalDNS: the Deployment the external_dns role applies, run continuously as a process.

    hack/lab_external_dns.py start --dir LAB_DIR --kubeconfig FILE   (hack/lab.py up runs it)
    hack/lab_external_dns.py serve --dir LAB_DIR --kubeconfig FILE   (what start detaches)

The lab has no kubelet: kwok reports the role's ExternalDNS pod Running, and this process
plays its container, out of cluster like tests/support/fixtures_externaldns.py: every
2 s it reads the Deployment ``external-dns/external-dns``; once it exists (and whenever
its pod template or its Secret changes, or the process exits) it runs the real
``external-dns`` binary with the Deployment's args, its env resolved from the Secret
as a kubelet would, as the Deployment's ServiceAccount (a TokenRequest; a new token
every 50 minutes), with its own kubeconfig and a free loopback metrics port. The
role's ``--interval`` is kept, so a host the expose role publishes gets its CNAME
within that interval, with no playbook writing it. No Deployment: nothing runs.

Its log is ``LAB_DIR/external-dns/external-dns.log``. ``hack/lab.py down`` stops it
(its command line and its child's name the lab directory). ``start`` ends with one
JSON line (hack/lab.py reads it).
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.support.kube import write_kubeconfig  # noqa: E402
from tests.support.process import free_port  # noqa: E402
from tests.support.tools import which  # noqa: E402

NAMESPACE = NAME = "external-dns"  # the external_dns role's defaults
TOKEN_SECONDS, RENEW_SECONDS = 3600, 3000


def clients(kubeconfig):
    from kubernetes import client, config
    api = config.new_client_from_config(config_file=kubeconfig)
    return client.AppsV1Api(api), client.CoreV1Api(api), api.configuration


def container_of(apps, core):
    """(args, env, service account, key) of the Deployment's container, or None without a Deployment."""
    from kubernetes.client.exceptions import ApiException
    try:
        deployment = apps.read_namespaced_deployment(NAME, NAMESPACE)
    except ApiException as e:
        if e.status == 404:
            return None
        raise
    spec = deployment.spec.template.spec
    container = spec.containers[0]
    env, versions = {}, []
    for item in container.env or []:
        ref = item.value_from.secret_key_ref if item.value_from else None
        if ref is None:
            env[item.name] = item.value or ""
            continue
        secret = core.read_namespaced_secret(ref.name, NAMESPACE)
        versions.append(secret.metadata.resource_version)
        env[item.name] = base64.b64decode(secret.data[ref.key]).decode()
    key = hashlib.sha256(json.dumps([container.args, deployment.metadata.generation, versions]).encode()).hexdigest()
    return list(container.args or []), env, spec.service_account_name or "default", key


def out_of_cluster(args, kubeconfig):
    """The pod's flags for this host: its own kubeconfig and a free loopback metrics port, loopback URLs only."""
    for arg in args:
        if "://" in arg and "://127.0.0.1" not in arg:
            raise SystemExit("lab_external_dns: flag %s would leave loopback" % arg)
    return [a for a in args if not a.startswith("--metrics-address=")] + [
        "--kubeconfig=" + kubeconfig, "--metrics-address=127.0.0.1:%d" % free_port()]


def token_kubeconfig(core, configuration, account, path):
    from kubernetes import client
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
        audiences=[], expiration_seconds=TOKEN_SECONDS))
    token = core.create_namespaced_service_account_token(account, NAMESPACE, request).status.token
    write_kubeconfig(path, configuration.host, configuration.ssl_ca_cert, token,
                     user="system:serviceaccount:%s:%s" % (NAMESPACE, account))


def serve(lab_dir, kubeconfig):
    work = os.path.join(lab_dir, "external-dns")
    apps, core, configuration = clients(kubeconfig)
    binary = which("external-dns")
    child, running_key, started = None, None, 0.0
    with open(os.path.join(work, "external-dns.log"), "ab") as log:
        while True:
            try:
                found = container_of(apps, core)
            except Exception as e:  # noqa: BLE001 - the apiserver restarting: try again, say why
                log.write(("lab_external_dns: reading the Deployment: %s\n" % e).encode())
                log.flush()
                time.sleep(2)
                continue
            key = found[3] if found else None
            stale = child is not None and (child.poll() is not None or key != running_key
                                           or time.monotonic() - started > RENEW_SECONDS)
            if stale:
                child.terminate()
                child.wait(timeout=30)
                child = None
            if child is None and found:
                args, env, account, running_key = found
                config = os.path.join(work, "kubeconfig")
                token_kubeconfig(core, configuration, account, config)
                log.write(("lab_external_dns: starting external-dns as %s/%s\n" % (NAMESPACE, account)).encode())
                log.flush()
                child = subprocess.Popen([binary] + out_of_cluster(args, config), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=work,
                                         env=dict(env, PATH=os.environ.get("PATH", ""), HOME=work))
                started = time.monotonic()
            time.sleep(2)


def start(lab_dir, kubeconfig):
    if not which("external-dns"):
        print(json.dumps({"enabled": False, "reason": "external-dns is missing (make tools)"}))
        return 0
    work = os.path.join(lab_dir, "external-dns")
    os.makedirs(work, mode=0o700, exist_ok=True)
    argv = [sys.executable, os.path.abspath(__file__), "serve", "--dir", lab_dir, "--kubeconfig", kubeconfig]
    with open(os.path.join(work, "supervisor.log"), "ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=REPO)
    time.sleep(1)
    if proc.poll() is not None:
        with open(os.path.join(work, "supervisor.log")) as f:
            raise SystemExit("lab_external_dns: did not start:\n" + f.read()[-3000:])
    print(json.dumps({"enabled": True, "pid": proc.pid, "log": os.path.join(work, "external-dns.log"),
                      "deployment": "%s/%s" % (NAMESPACE, NAME)}))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "serve"))
    parser.add_argument("--dir", required=True)
    parser.add_argument("--kubeconfig", required=True)
    args = parser.parse_args(argv)
    lab_dir = os.path.abspath(args.dir)
    if args.action == "serve":
        return serve(lab_dir, args.kubeconfig)
    return start(lab_dir, args.kubeconfig)


if __name__ == "__main__":
    sys.exit(main())
