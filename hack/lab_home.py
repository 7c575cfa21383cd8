#!/usr/bin/env python3
"""The lab's "home cluster" side: what an existing Talos cluster already has (docs/workflows.md).

    hack/lab_home.py up --dir LAB_DIR --kubeconfig FILE [--talos-version V] [--talosctl PATH]
    hack/lab_home.py endpoint --dir LAB_DIR --address IP [--talos-version V] [--talosctl PATH]

The home cluster runs ``--talos-version`` (default: ``autoextender_lab_talos_version`` of the
lab inventory); its configs are in that line's layout, made by that line's talosctl.

- ``LAB_DIR/secrets.yaml`` (0600): the home cluster's secrets bundle, made once with
  ``talosctl gen secrets`` and kept (a real cluster has had one since its creation);
- ``LAB_DIR/home-controlplane.yaml`` (0600): a controlplane config of that bundle, from
  ``talosctl gen config --with-secrets``: the lab cloud boots the lab's home node from it
  (a talos-api-sim, ``hack/lab_cloud.py --home-config``), so the home node's Talos API
  trusts the cluster's machine CA;
- ``LAB_DIR/talosconfig`` (0600): a talosconfig for that bundle; ``endpoint`` points its
  endpoint and node at the home node's address once the lab cloud runs it;
- the home app's Service ``default/hello`` (TCP 8080, no selector) and its
  EndpointSlice pointing at the home app of the lab data path (10.251.0.1:8080,
  tests/support/labnet): what the ``expose`` role publishes;
- the Ingress ``default/lab-healthz`` of class ``edge``: ``GET /healthz`` on any
  host to the home app, so the lab's health probe of an edge (``/healthz`` on :80,
  Host = the edge's address) is answered by the home app through the edge's Traefik
  and its tunnel, as a home cluster's health route would be;
- the Services ``default/hello-tcp`` and ``default/hello-udp`` (port 9000) and their
  EndpointSlices: the home app's TCP and UDP echo, exposed as tcp and udp services;
- ``crds``: the local copies of the pinned CRDs (``$AUTOEXTENDER_SPECS/crds``, else
  ``../shared/specs/crds`` next to the checkout) when they exist, so the lab installs
  Traefik's CRDs without a download; null otherwise (the roles fetch them).

Idempotent. Ends with one JSON line (hack/lab.py reads it).
"""
import argparse
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.support.labnet.addressing import APP_PORT, ECHO_PORT, HOME_INDEX, Plan  # noqa: E402
from tests.support.talos import lab_talos_version  # noqa: E402

NAMESPACE, SERVICE, HEALTHZ = "default", "hello", "lab-healthz"
INGRESS_CLASS = "edge"  # the edge_ingress role's default class
LABELS = {"app.kubernetes.io/name": SERVICE, "app.kubernetes.io/part-of": "autoextender-lab"}


def kubespan_patches(talos_version):
    """KubeSpan on in the layout of ``talos_version``'s line: the patches the kubespan role gives a home node."""
    sys.path.insert(0, os.path.join(REPO, ".cache", "collections"))  # `make collection-link`
    from ansible_collections.talos.autoextender.plugins.module_utils._talos_machine_config import (
        home_kubespan_patches)
    return home_kubespan_patches(talos_version, {"enabled": True})


def talosctl_path(given, version):
    """``--talosctl``, else the talosctl of ``version``'s line, as the collection's modules pick it."""
    from tests.support import tools
    path = given or tools.talosctl_for(version)
    if not path:
        raise SystemExit("lab_home: no talosctl of the line of Talos %s (talosctl-<major>.<minor> or talosctl; "
                         "run `make tools` or pass --talosctl)" % version)
    return path


def talos_files(lab_dir, talosctl, talos_version):
    """The secrets bundle, the home node's controlplane config and a talosconfig, made once."""
    secrets = os.path.join(lab_dir, "secrets.yaml")
    talosconfig = os.path.join(lab_dir, "talosconfig")
    controlplane = os.path.join(lab_dir, "home-controlplane.yaml")
    marker = os.path.join(lab_dir, "home-talos-version")
    if os.path.exists(controlplane):
        made = open(marker).read().strip() if os.path.exists(marker) else "an unknown version"
        if made != talos_version:
            raise SystemExit("lab_home: the kept home cluster of %s runs Talos %s, not %s; start an empty lab: "
                             "python3 hack/lab.py down --purge --dir %s" % (lab_dir, made, talos_version, lab_dir))
    env = dict(os.environ, HOME=lab_dir)
    old = os.umask(0o077)
    try:
        if not os.path.exists(secrets):
            subprocess.run([talosctl, "gen", "secrets", "-o", secrets], check=True, capture_output=True, env=env)
        if not os.path.exists(talosconfig):
            subprocess.run([talosctl, "gen", "config", "lab", "https://127.0.0.1:6443", "--with-secrets", secrets,
                            "--output-types", "talosconfig", "-o", talosconfig], check=True, capture_output=True,
                           env=env)
            point_talosconfig(talosconfig, "127.0.0.1", talosctl)  # until the home node runs
        if not os.path.exists(controlplane):
            # KubeSpan on, as on every node of a cluster that extends to edges: the home node's
            # kubespanpeerstatuses then come from its WireGuard link to the edges.
            patches = [arg for patch in kubespan_patches(talos_version) for arg in ("--config-patch", json.dumps(patch))]
            subprocess.run([talosctl, "gen", "config", "lab", "https://127.0.0.1:6443", "--with-secrets", secrets,
                            "--output-types", "controlplane", "--with-docs=false", "--with-examples=false"]
                           + patches + ["-o", controlplane], check=True, capture_output=True, env=env)
            with open(marker, "w") as f:
                f.write(talos_version + "\n")
    finally:
        os.umask(old)
    for path in (secrets, talosconfig, controlplane):
        os.chmod(path, 0o600)
    return secrets, talosconfig, controlplane


def point_talosconfig(talosconfig, address, talosctl):
    """Endpoint and node of the talosconfig: the home node's Talos API."""
    env = dict(os.environ, HOME=os.path.dirname(talosconfig))
    for what in ("endpoint", "node"):
        subprocess.run([talosctl, "--talosconfig", talosconfig, "config", what, address], check=True,
                       capture_output=True, env=env)


def local_crds():
    """The folder the lab inventory takes the CRD files from: traefik/ (v3.6.24, the same files as v3.6.25) and external-dns/ (v0.21.0)."""
    specs = os.environ.get("AUTOEXTENDER_SPECS") or os.path.join(os.path.dirname(REPO), "shared", "specs")
    crds = os.path.join(specs, "crds")
    if not os.path.isdir(os.path.join(crds, "traefik")):
        return None
    out = os.path.join(REPO, ".cache", "lab-crds")
    os.makedirs(out, exist_ok=True)
    for name, src in (("traefik", os.path.join(crds, "traefik", "v3.6.24")),
                      ("external-dns", os.path.join(crds, "external-dns", "v0.21.0"))):
        link = os.path.join(out, name)
        if os.path.isdir(src) and os.path.realpath(link) != os.path.realpath(src):
            tmp = "%s.%d" % (link, os.getpid())
            os.symlink(src, tmp)
            os.replace(tmp, link)  # atomic: labs started at once do not trip over each other
    return out


def objects():
    """The home cluster's objects (Service, EndpointSlice, Ingress) and the app's address."""
    app_ip = Plan.tunnel_ip(HOME_INDEX)
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": SERVICE, "namespace": NAMESPACE, "labels": LABELS},
               "spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": APP_PORT, "protocol": "TCP",
                                                         "targetPort": APP_PORT}]}}
    labels = dict(LABELS, **{"kubernetes.io/service-name": SERVICE,
                             "endpointslice.kubernetes.io/managed-by": "autoextender-lab"})
    slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
              "metadata": {"name": SERVICE + "-home", "namespace": NAMESPACE, "labels": labels},
              "endpoints": [{"addresses": [app_ip], "conditions": {"ready": True}}],
              "ports": [{"name": "http", "port": APP_PORT, "protocol": "TCP"}]}
    path = {"path": "/healthz", "pathType": "Exact",
            "backend": {"service": {"name": SERVICE, "port": {"number": APP_PORT}}}}
    healthz = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": HEALTHZ, "namespace": NAMESPACE, "labels": LABELS},
               "spec": {"ingressClassName": INGRESS_CLASS, "rules": [{"http": {"paths": [path]}}]}}
    return [service, slice_, healthz] + echo_objects(app_ip), "%s:%d" % (app_ip, APP_PORT)


def echo_objects(app_ip):
    """Services hello-tcp and hello-udp (and their EndpointSlices): the home app's echo, exposed as tcp and udp."""
    made = []
    for proto in ("TCP", "UDP"):
        name = "%s-%s" % (SERVICE, proto.lower())
        port = {"name": proto.lower(), "port": ECHO_PORT, "protocol": proto}
        made.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": name, "namespace": NAMESPACE, "labels": LABELS},
                     "spec": {"type": "ClusterIP", "ports": [dict(port, targetPort=ECHO_PORT)]}})
        made.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                     "metadata": {"name": name + "-home", "namespace": NAMESPACE,
                                  "labels": dict(LABELS, **{"kubernetes.io/service-name": name,
                                                            "endpointslice.kubernetes.io/managed-by": "autoextender-lab"})},
                     "endpoints": [{"addresses": [app_ip], "conditions": {"ready": True}}], "ports": [port]})
    return made


def home_service(kubeconfig):
    """Create (or keep) the hello Service, its EndpointSlice and the /healthz Ingress."""
    from kubernetes import config, dynamic
    from kubernetes.client.exceptions import ApiException

    dyn = dynamic.DynamicClient(config.new_client_from_config(config_file=kubeconfig))
    made, app = objects()
    for obj in made:
        try:
            dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"]).create(obj, namespace=NAMESPACE)
        except ApiException as e:
            if e.status != 409:
                raise
    return app


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "endpoint"))
    parser.add_argument("--dir", required=True)
    parser.add_argument("--kubeconfig", help="with up: the home cluster's kubeconfig")
    parser.add_argument("--address", help="with endpoint: the home node's Talos API address")
    parser.add_argument("--talosctl")
    parser.add_argument("--talos-version", help="the home cluster's Talos version (default: the lab inventory's)")
    args = parser.parse_args(argv)
    version = args.talos_version or lab_talos_version()
    lab_dir = os.path.abspath(args.dir)
    if args.action == "endpoint":
        if not args.address:
            parser.error("endpoint needs --address")
        talosconfig = os.path.join(lab_dir, "talosconfig")
        point_talosconfig(talosconfig, args.address, talosctl_path(args.talosctl, version))
        print(json.dumps({"talosconfig": talosconfig, "endpoint": args.address}))
        return 0
    if not args.kubeconfig:
        parser.error("up needs --kubeconfig")
    secrets, talosconfig, controlplane = talos_files(lab_dir, talosctl_path(args.talosctl, version), version)
    app = home_service(args.kubeconfig)
    print(json.dumps({"enabled": True, "talos_version": version, "secrets": secrets, "talosconfig": talosconfig,
                      "controlplane": controlplane,
                      "service": "%s/%s" % (NAMESPACE, SERVICE), "app": app, "crds": local_crds()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
