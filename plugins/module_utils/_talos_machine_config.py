# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Render the machine config that makes a cloud VM join the home cluster as an edge worker.

The pipeline, all offline and in a private work directory:

1. ``talosctl gen config --with-secrets <bundle> --output-types worker --talos-version vX.Y``
   (deterministic: the same bundle and options give the same bytes);
2. ``talosctl machineconfig patch`` with the edge patch built here (labels,
   taint, KubeSpan, discovery, kubelet node IP, install disk/image, hostname),
   in the layout of the Talos line (see ``LAYOUTS``): everything in the
   ``v1alpha1`` document up to 1.12, KubeSpan in a ``KubeSpanConfig`` document
   in 1.13, and from 1.14 only the new documents (``KubeNodeConfig``,
   ``UnattendedInstallConfig``, ``DiscoveryServiceConfig``...). Talos 1.14
   rejects a deprecated ``v1alpha1`` field next to the document that replaced
   it, and ``gen config --talos-version v1.14`` already writes the documents,
   so the patch never mixes the two;
3. the user's patches in order: strategic merge on the whole config, JSON 6902
   on the ``v1alpha1`` document (talosctl refuses JSON 6902 on a
   multi-document config, so that document is patched on its own and put back);
4. ``talosctl validate --mode <mode>``.
"""

from __future__ import annotations

import json
import os
import re

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit  # type: ignore

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import (
    TOO_LARGE, UNSUPPORTED_VERSION, VALIDATION,
)
from ansible_collections.talos.autoextender.plugins.module_utils._talos_config import (
    V1ALPHA1,
    join_documents,
    kind_of,
    split_documents,
)

# The config layouts, and the Talos lines this collection renders configs for.
LEGACY = "legacy"  # everything in the v1alpha1 document, KubeSpan in machine.network.kubespan
KUBESPAN_DOCUMENT_LAYOUT = "kubespan_document"  # 1.13: v1alpha1 plus a KubeSpanConfig document
DOCUMENTS = "documents"  # 1.14: the join settings in their own documents, none in v1alpha1
SUPPORTED_LINES = {(1, 11): LEGACY, (1, 12): LEGACY, (1, 13): KUBESPAN_DOCUMENT_LAYOUT, (1, 14): DOCUMENTS}
KUBESPAN_IN_V1ALPHA1 = "machine.network.kubespan"
KUBESPAN_DOCUMENT = "KubeSpanConfig"
# The v1alpha1 fields Talos 1.14 replaced by documents: a 1.14 config must carry none of them.
DEPRECATED_FROM_1_14 = {
    "cluster": (("id", "DiscoveryIdentityConfig"), ("secret", "DiscoveryIdentityConfig"),
                ("discovery", "DiscoveryServiceConfig"), ("clusterName", "KubeClusterConfig"),
                ("controlPlane", "KubeClusterConfig"), ("ca", "KubeAPIServerCAConfig"), ("network", "KubeNetworkConfig")),
    "machine": (("kubelet", "KubeletConfig or KubeNodeConfig"), ("nodeLabels", "KubeNodeConfig"),
                ("nodeTaints", "KubeNodeConfig"), ("nodeAnnotations", "KubeNodeConfig"),
                ("install", "UnattendedInstallConfig")),
}
# What gen config names the discovery service document (a patch of that name merges into it).
DISCOVERY_SERVICE_NAME = "default"
DEFAULT_DISCOVERY_ENDPOINT = "https://discovery.talos.dev/"
HOSTNAME_DOCUMENT_FROM = (1, 12)
UNATTENDED_INSTALL = "UnattendedInstallConfig"
# Provider user-data limits in bytes (Linode: of the base64 text it stores).
USER_DATA_LIMITS = {"hetzner": 32768, "linode": 16384}
EDGE_TAINT = {"autoextender.io/edge": "true:NoSchedule"}
# Advertise public addresses only: no RFC 1918, CGNAT, link-local or ULA endpoints.
PUBLIC_ENDPOINT_FILTERS = [
    "0.0.0.0/0", "!10.0.0.0/8", "!172.16.0.0/12", "!192.168.0.0/16", "!100.64.0.0/10", "!169.254.0.0/16",
    "::/0", "!fc00::/7", "!fe80::/10",
]
_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")
_SCHEMATIC_RE = re.compile(r"^[0-9a-f]{64}$")
_KUBESPAN_FIELDS = (
    ("enabled", "enabled"), ("advertise_kubernetes_networks", "advertiseKubernetesNetworks"),
    ("allow_down_peer_bypass", "allowDownPeerBypass"), ("harvest_extra_endpoints", "harvestExtraEndpoints"),
    ("mtu", "mtu"),
)


def supported_lines():
    return ", ".join("v%d.%d" % line for line in sorted(SUPPORTED_LINES))


def talos_line(version):
    """``(major, minor)`` of a Talos version; a ``validation`` error for an unknown one."""
    m = _VERSION_RE.match((version or "").strip())
    if not m:
        raise AutoextenderError("talos_version %r is not a Talos version like v1.13.9" % (version,), kind=VALIDATION)
    line = (int(m.group(1)), int(m.group(2)))
    if line not in SUPPORTED_LINES:
        raise AutoextenderError("Talos %s is not supported: talos.autoextender renders configs for Talos %s"
                                % (version, supported_lines()), kind=VALIDATION,
                                details={"talos_version": version, "supported": sorted("v%d.%d" % x for x in SUPPORTED_LINES)})
    return line


def full_version(version):
    """``v1.13.9`` from ``1.13.9``/``v1.13.9``; None when the patch number is missing."""
    m = _VERSION_RE.match((version or "").strip())
    if not m or m.group(3) is None:
        return None
    return "v%s.%s.%s" % m.groups()


def check_endpoint(url):
    """The control-plane endpoint must be ``https://host:port`` (no path)."""
    try:
        parts = urlsplit(url or "")
        port = parts.port
    except ValueError:
        port = None
        parts = None
    if not parts or parts.scheme != "https" or not parts.hostname or port is None or parts.path not in ("", "/") \
            or parts.query or parts.fragment:
        raise AutoextenderError(
            "endpoint %r is not a control-plane endpoint URL like https://192.168.1.10:6443 (https, host, port, no path)"
            % (url,), kind=VALIDATION, details={"endpoint": url})
    return url


def installer_image(spec):
    """``install_image`` if given, else the Image Factory installer of ``schematic`` for the Talos version."""
    if spec.get("install_image"):
        return spec["install_image"]
    schematic = spec.get("schematic")
    if not schematic:
        return None
    if not _SCHEMATIC_RE.match(schematic):
        raise AutoextenderError("schematic %r is not an Image Factory schematic id (64 hex characters)" % (schematic,),
                                kind=VALIDATION)
    version = full_version(spec["talos_version"])
    if not version:
        raise AutoextenderError("The installer image of a schematic needs a full talos_version like v1.13.9, got %s"
                                % spec["talos_version"], kind=VALIDATION)
    factory = (spec.get("image_factory") or "factory.talos.dev").rstrip("/")
    factory = re.sub(r"^https?://", "", factory)
    return "%s/installer/%s:%s" % (factory, schematic, version)


def node_labels(spec):
    labels = {}
    for option, label in (("pool", "autoextender.io/pool"), ("zone", "topology.kubernetes.io/zone"),
                          ("instance_type", "node.kubernetes.io/instance-type")):
        if spec.get(option):
            labels[label] = str(spec[option])
    labels.update(dict((str(k), str(v)) for k, v in (spec.get("node_labels") or {}).items()))
    return labels


def kubespan_settings(kubespan):
    """KubeSpan settings in Talos field names (the same in both layouts)."""
    kubespan = kubespan or {}
    out = {}
    for option, field in _KUBESPAN_FIELDS:
        if kubespan.get(option) is not None:
            out[field] = kubespan[option]
    filters = {}
    if kubespan.get("endpoint_filters") is not None:
        filters["endpoints"] = list(kubespan["endpoint_filters"])
    if kubespan.get("exclude_advertised_networks"):
        filters["excludeAdvertisedNetworks"] = list(kubespan["exclude_advertised_networks"])
    if filters:
        out["filters"] = filters
    return out


def layout(line):
    return SUPPORTED_LINES[line]


def _document(kind, **fields):
    return dict({"apiVersion": "v1alpha1", "kind": kind}, **fields)


def _taints(spec):
    return dict((str(k), str(v)) for k, v in (spec.get("node_taints") or {}).items())


def _install(spec):
    """``(disk, image)`` of the install, each None when not set."""
    return spec.get("install_disk") or None, installer_image(spec)


def _discovery_enabled(spec):
    discovery = spec.get("discovery")
    return discovery is None or discovery.get("enabled", True)


def edge_patches(spec, line):
    """The strategic-merge patch documents for an edge worker of Talos ``line``."""
    if layout(line) == DOCUMENTS:
        return documents_patches(spec)
    machine = {}
    labels = node_labels(spec)
    if labels:
        machine["nodeLabels"] = labels
    if spec.get("node_taints"):
        machine["nodeTaints"] = _taints(spec)
    if spec.get("kubelet_valid_subnets"):
        machine["kubelet"] = {"nodeIP": {"validSubnets": list(spec["kubelet_valid_subnets"])}}
    disk, image = _install(spec)
    install = dict(([("disk", disk)] if disk else []) + ([("image", image)] if image else []))
    if install:
        machine["install"] = install
    kubespan = kubespan_settings(spec.get("kubespan"))
    documents = []
    network = {}
    if kubespan and layout(line) == LEGACY:
        network["kubespan"] = kubespan
    elif kubespan:
        documents.append(_document(KUBESPAN_DOCUMENT, **kubespan))
    if spec.get("hostname"):
        if line >= HOSTNAME_DOCUMENT_FROM:
            documents.append(_document("HostnameConfig", hostname=spec["hostname"], auto="off"))
        else:
            network["hostname"] = spec["hostname"]
    if network:
        machine["network"] = network
    main = {"machine": machine} if machine else {}
    if _discovery_enabled(spec):
        main["cluster"] = legacy_discovery((spec.get("discovery") or {}).get("service_endpoint"))
    return ([main] if main else []) + documents


def legacy_discovery(endpoint=None):
    """``cluster.discovery`` up to Talos 1.13: the discovery service registry only (``endpoint`` if given)."""
    service = {"disabled": False}
    if endpoint:
        service["endpoint"] = endpoint
    return {"discovery": {"enabled": True, "registries": {"kubernetes": {"disabled": True}, "service": service}}}


def install_disk_selector(disk):
    """The CEL expression of ``UnattendedInstallConfig`` that picks ``disk`` (what gen config writes)."""
    return "disk.dev_path == %s" % json.dumps(disk)


def documents_patches(spec):
    """The edge patch of Talos 1.14 and newer: new documents only, nothing for the v1alpha1 document.

    The documents ``gen config`` wrote (``UnattendedInstallConfig``, ``DiscoveryServiceConfig default``)
    are merged into, the others added. The Kubernetes discovery registry is gone from this layout.
    """
    documents = []
    node = {}
    labels = node_labels(spec)
    if labels:
        node["labels"] = labels
    if spec.get("node_taints"):
        node["taints"] = _taints(spec)
    if spec.get("kubelet_valid_subnets"):
        node["nodeIP"] = {"validSubnets": list(spec["kubelet_valid_subnets"])}
    if node:
        documents.append(_document("KubeNodeConfig", **node))
    disk, image = _install(spec)
    install = {}
    if image:
        install["installer"] = {"image": image}
    if disk:
        install["provisioning"] = {"diskSelector": {"match": install_disk_selector(disk)}}
    if install:
        documents.append(_document(UNATTENDED_INSTALL, **install))
    kubespan = kubespan_settings(spec.get("kubespan"))
    if kubespan:
        documents.append(_document(KUBESPAN_DOCUMENT, **kubespan))
    if spec.get("hostname"):
        documents.append(_document("HostnameConfig", hostname=spec["hostname"], auto="off"))
    if _discovery_enabled(spec):
        endpoint = (spec.get("discovery") or {}).get("service_endpoint") or DEFAULT_DISCOVERY_ENDPOINT
        documents.append(_document("DiscoveryServiceConfig", name=DISCOVERY_SERVICE_NAME, endpoint=endpoint))
    return documents


def deprecated_fields(docs):
    """``{"section.field": replacing document}`` of the v1alpha1 fields of ``docs`` that Talos 1.14 moved."""
    main = next((d for d in docs if kind_of(d) == V1ALPHA1), None) or {}
    return dict(("%s.%s" % (section, field), document) for section, fields in sorted(DEPRECATED_FROM_1_14.items())
                for field, document in fields if field in (main.get(section) or {}))


def check_layout(docs, line):
    """A Talos 1.14 config carries no deprecated field: only a user patch can add one, and Talos
    rejects most of them next to their document; say which document to patch instead."""
    if layout(line) != DOCUMENTS:
        return
    found = deprecated_fields(docs)
    if found:
        raise AutoextenderError(
            "The patches put v1alpha1 fields into a Talos v%d.%d config that Talos %d.%d replaced by documents: %s"
            % (line + line + ("; ".join("%s (patch the %s document)" % item for item in sorted(found.items())),)),
            kind=VALIDATION, details={"deprecated_fields": sorted(found)})


def home_kubespan_patches(talos_version, kubespan, discovery_endpoint=None):
    """The patches that turn KubeSpan and discovery on for a home node of ``talos_version`` (the kubespan role).

    ``kubespan`` holds the module's option names. Up to 1.13 discovery is ``cluster.discovery`` (the
    Kubernetes registry off); from 1.14 it is the ``DiscoveryServiceConfig`` document, and the patch also
    deletes a ``cluster.discovery`` left by an upgrade from 1.13, which Talos rejects next to that document.
    """
    line = talos_line(talos_version)
    settings = kubespan_settings(kubespan)
    if layout(line) == DOCUMENTS:
        return [{"cluster": {"discovery": {"$patch": "delete"}}},
                _document("DiscoveryServiceConfig", name=DISCOVERY_SERVICE_NAME,
                          endpoint=discovery_endpoint or DEFAULT_DISCOVERY_ENDPOINT),
                _document(KUBESPAN_DOCUMENT, **settings)]
    main = {"cluster": legacy_discovery(discovery_endpoint)}
    if layout(line) == LEGACY:
        main["machine"] = {"network": {"kubespan": settings}}
        return [main]
    return [main, _document(KUBESPAN_DOCUMENT, **settings)]


# -- user patches -------------------------------------------------------------
def load_user_patch(item, index):
    """``(kind, yaml text, label)`` of one user patch: ``strategic`` or ``json6902``.

    A dict is a strategic-merge patch, a list a JSON 6902 patch, a string either
    ``@path`` of a patch file or the YAML/JSON text of a patch.
    """
    label = "patches[%d]" % index  # the option path, as every validation message names it
    if isinstance(item, str):
        text = item
        if item.startswith("@"):
            path = item[1:]
            label += " (%s)" % path
            try:
                with open(os.path.expanduser(path)) as f:
                    text = f.read()
            except (IOError, OSError) as e:
                raise AutoextenderError("Cannot read %s: %s" % (label, e.strerror or e), kind=VALIDATION,
                                        details={"patch": index + 1, "path": path})
        try:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise AutoextenderError("%s is not valid YAML%s" % (label, " at line %d" % (mark.line + 1) if mark else ""),
                                    kind=VALIDATION, details={"patch": index + 1})
        if len(docs) == 1 and isinstance(docs[0], list):
            return "json6902", text, label
        if not docs or not all(isinstance(d, dict) for d in docs):
            raise AutoextenderError("%s is neither a strategic-merge patch (mappings) nor a JSON 6902 patch (a list)"
                                    % label, kind=VALIDATION, details={"patch": index + 1})
        return "strategic", text, label
    if isinstance(item, list):
        return "json6902", yaml.safe_dump(item, default_flow_style=False), label
    if isinstance(item, dict):
        return "strategic", yaml.safe_dump(item, default_flow_style=False), label
    raise AutoextenderError("%s must be a mapping, a list or a string" % label, kind=VALIDATION,
                            details={"patch": index + 1})


# -- what of the patches is secret ---------------------------------------------
# A patch may carry registry passwords, proxy credentials, tokens in files or
# inline manifests. The module option is no_log; these rules decide which of
# its values stay hidden in every output (result, diff, errors): any string
# under a secret-looking key (an Authorization header, a file's content, an
# inline manifest too), any URL with a user and password, and the whole text
# of a text patch. Other values ("true", "50", "edge", a bad CIDR) are shown:
# hiding them would garble every returned path and number that happens to
# contain them, and hide the value an error is about.
PATCH_SECRET_KEY_RE = re.compile(r"token|secret|key|crt|cert|pass|auth|credential|encryption|private|content",
                                 re.IGNORECASE)
_URL_USERINFO_RE = re.compile(r"//[^/@\s]*:[^/@\s]*@")


def _patch_values(value, key, secret_only):
    """String (and, unless ``secret_only``, number) leaves of ``value``; ``key`` is the key they sit under."""
    if isinstance(value, dict):
        if secret_only and isinstance(value.get("op"), str) and isinstance(value.get("path"), str) and "value" in value:
            # A JSON 6902 operation: its value sits under the last segment of its path.
            key = value["path"].rstrip("/").rsplit("/", 1)[-1]
            return _patch_values(value["value"], key, secret_only)
        return [v for k, item in value.items() for v in _patch_values(item, str(k), secret_only)]
    if isinstance(value, list):
        return [v for item in value for v in _patch_values(item, key, secret_only)]
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, str):
        if not value:
            return []
        if not secret_only or PATCH_SECRET_KEY_RE.search(key) or _URL_USERINFO_RE.search(value):
            return [value]
        return []
    return [] if secret_only else [str(value)]


def patch_secrets(patches):
    """The values of ``patches`` (the module option) to hide in every output, with those of ``@file`` patches.

    Bad patches give no error here (rendering reports them); their text is hidden whole.
    """
    found = []
    for index, item in enumerate(patches or []):
        found += _patch_values(item, "", True)
        if isinstance(item, str):
            if not item.startswith("@"):
                found.append(item)
            try:
                dummy, text, dummy = load_user_patch(item, index)
                docs = list(yaml.safe_load_all(text))
            except (AutoextenderError, yaml.YAMLError):
                continue
            found += _patch_values(docs, "", True)
    return list(dict.fromkeys(found))


def patch_log_values(patches):
    """What ansible hides of a no_log option holding ``patches``: every string and number leaf."""
    return set(_patch_values(patches or [], "", False))


def _write(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def _read(path):
    with open(path) as f:
        return f.read()


class Renderer:
    """Runs the pipeline in ``workdir`` (a private directory the caller removes)."""

    def __init__(self, cli, spec, workdir):
        self.cli = cli
        self.spec = spec
        self.workdir = workdir
        self._step = 0

    def _file(self, name):
        self._step += 1
        return os.path.join(self.workdir, "%02d-%s" % (self._step, name))

    def gen_config(self, line):
        out = self._file("worker.yaml")
        args = ["gen", "config", "--with-secrets=%s" % os.path.abspath(self.spec["secrets_bundle"]),
                "--output-types=worker", "--with-examples=false", "--with-docs=false",
                "--talos-version=v%d.%d" % line, "--output=%s" % out]
        if self.spec.get("kubernetes_version"):
            args.append("--kubernetes-version=%s" % self.spec["kubernetes_version"].lstrip("v"))
        # talosctl may echo the bundle when it cannot read it: withhold its output.
        self.cli.run(args, positional=[self.spec["cluster_name"], self.spec["endpoint"]], sensitive=True,
                     cwd=self.workdir, what="generate the worker config (talosctl gen config)")
        return _read(out)

    def patch(self, text, patch_texts, what):
        source = _write(self._file("input.yaml"), text)
        out = self._file("patched.yaml")
        args = ["machineconfig", "patch"]
        for patch_text in patch_texts:
            args.append("--patch=@%s" % _write(self._file("patch.yaml"), patch_text))
        args.append("--output=%s" % out)
        self.cli.run(args, positional=[source], cwd=self.workdir, what=what)
        return _read(out)

    def patch_v1alpha1(self, text, patch_texts, what):
        parts = split_documents(text)
        kinds = [kind_of(yaml.safe_load(p)) for p in parts]
        if V1ALPHA1 not in kinds:
            raise AutoextenderError("The config has no v1alpha1 document to apply %s to" % what, kind=VALIDATION)
        i = kinds.index(V1ALPHA1)
        parts[i] = self.patch(parts[i], patch_texts, what).strip("\n") + "\n"
        return join_documents(parts)

    def validate(self, text, mode):
        path = _write(self._file("final.yaml"), text)
        self.cli.run(["validate", "--config=%s" % path, "--mode=%s" % mode], cwd=self.workdir,
                     what="validate the machine config (talosctl validate --mode %s)" % mode)

    def check_client(self, line):
        """talosctl renders configs for its own line and older ones, not newer."""
        client = self.cli.version()
        m = _VERSION_RE.match(client.split("-")[0])
        if m and (int(m.group(1)), int(m.group(2))) < line:
            raise AutoextenderError(
                "talosctl %s cannot render a config for Talos v%d.%d; install talosctl v%d.%d or newer"
                % ((client,) + line + line), kind=UNSUPPORTED_VERSION,
                details={"talosctl": client, "talos_version": self.spec["talos_version"]})

    def render(self, line, validate_mode="cloud"):
        loaded = [load_user_patch(p, i) for i, p in enumerate(self.spec.get("patches") or [])]
        patches = edge_patches(self.spec, line)
        self.check_client(line)
        text = self.gen_config(line)
        if patches:
            text = self.patch(text, [yaml.safe_dump_all(patches, default_flow_style=False, sort_keys=True)],
                              "apply the edge worker patch")
        for kind, patch_text, label in loaded:
            if kind == "json6902":
                text = self.patch_v1alpha1(text, [patch_text], "apply %s (JSON 6902)" % label)
            else:
                text = self.patch(text, [patch_text], "apply %s (strategic merge)" % label)
        check_layout([yaml.safe_load(part) for part in split_documents(text)], line)
        if validate_mode:
            self.validate(text, validate_mode)
        return text


def _find(docs, kind):
    return next((d for d in docs if kind_of(d) == kind), None) or {}


def summary(text, docs, line):
    """What the module returns about a rendered config (sizes, layout, labels; never a secret)."""
    data = text.encode("utf-8")
    b64 = 4 * ((len(data) + 2) // 3)
    if layout(line) == DOCUMENTS:
        node = _find(docs, "KubeNodeConfig")
        labels, taints = node.get("labels"), node.get("taints")
        image = (_find(docs, UNATTENDED_INSTALL).get("installer") or {}).get("image")
    else:
        machine = _find(docs, V1ALPHA1).get("machine") or {}
        labels, taints = machine.get("nodeLabels"), machine.get("nodeTaints")
        image = (machine.get("install") or {}).get("image")
    return {
        "size": len(data),
        "size_base64": b64,
        "fits_hetzner_user_data": len(data) <= USER_DATA_LIMITS["hetzner"],
        "fits_linode_user_data": b64 <= USER_DATA_LIMITS["linode"],
        "layout": layout(line),
        "kubespan_layout": KUBESPAN_IN_V1ALPHA1 if layout(line) == LEGACY else KUBESPAN_DOCUMENT,
        "documents": [kind_of(d) for d in docs],
        "install_image": image,
        "node_labels": labels or {},
        "node_taints": taints or {},
    }


def check_user_data_limit(size, limit):
    if limit is not None and size > limit:
        raise AutoextenderError(
            "The machine config is %d bytes, over the user-data limit of %d bytes; deliver it through maintenance "
            "mode (talos_apply_config insecure=true) or remove patches" % (size, limit), kind=TOO_LARGE,
            details={"size": size, "limit": limit})
