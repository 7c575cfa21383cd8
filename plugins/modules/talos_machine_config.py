# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: talos_machine_config
short_description: Render the machine config that joins a cloud VM to the home cluster as a Talos edge worker
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Renders a worker machine config from the home cluster's secrets bundle with C(talosctl gen config), patches it
    for an edge worker with C(talosctl machineconfig patch), validates it with C(talosctl validate) and, when
    O(schema_path) is set, against the official JSON schema of the Talos version, then writes it to O(dest) with
    mode C(0600).
  - The edge patch sets the node labels C(autoextender.io/pool), C(topology.kubernetes.io/zone) and
    C(node.kubernetes.io/instance-type), the taint C(autoextender.io/edge=true:NoSchedule), KubeSpan with
    endpoint filters that advertise public addresses only, the discovery service registry (the Kubernetes
    registry disabled), the kubelet node IP subnets, the install disk and installer image, and the hostname.
  - The layout follows O(talos_version) (RV(talos_machine_config.layout)). V(legacy) (Talos 1.11 and 1.12) -
    everything in the C(v1alpha1) document, KubeSpan in C(machine.network.kubespan). V(kubespan_document)
    (Talos 1.13) - the same, with KubeSpan in a C(KubeSpanConfig) document. V(documents) (Talos 1.14) - the
    edge settings only in their own documents, none in C(v1alpha1) - C(KubeNodeConfig) (labels, taints,
    kubelet node IP), C(UnattendedInstallConfig) (install disk and image), C(KubeSpanConfig), C(HostnameConfig)
    and C(DiscoveryServiceConfig); C(talosctl gen config) already writes C(DiscoveryIdentityConfig),
    C(KubeClusterConfig), C(KubeletConfig) and C(KubeAPIServerCAConfig) for 1.14. Talos 1.14 rejects a
    deprecated C(v1alpha1) field next to the document that replaced it, so the layouts are never mixed, and a
    user patch that adds such a field to a 1.14 config fails with the document to patch instead.
  - The hostname is C(machine.network.hostname) for 1.11 and a C(HostnameConfig) document from 1.12.
  - User patches (O(patches)) are applied after the edge patch, in order.
  - The config is compared with O(dest) as parsed YAML documents, so the file is rewritten only when its
    content changes. The config holds the cluster's secrets; they are never returned, and removed from the diff.
extends_documentation_fragment:
  - talos.autoextender.talosctl
options:
  dest:
    description:
      - Path of the machine config to write (mode C(0600)). Its directory must exist.
      - Required unless O(hostnames) is given.
    type: path
  hostnames:
    description:
      - Render one config per hostname in one task, each written to O(dest_dir)C(/<hostname>.yaml), every other
        option shared. The result is then RV(talos_machine_config.configs), one entry per hostname in order, and
        the diff a list.
      - A pool's join configs take one task this way where a loop takes a process per node; a config whose inputs
        did not change (O(cache)) costs a hash, not a render.
      - Mutually exclusive with O(dest) and O(hostname); requires O(dest_dir).
    type: list
    elements: str
  dest_dir:
    description: The existing directory of the configs of O(hostnames).
    type: path
  secrets_bundle:
    description: The home cluster's secrets bundle (see M(talos.autoextender.talos_secrets)).
    type: path
    required: true
  cluster_name:
    description: Name of the home cluster (C(cluster.clusterName)).
    type: str
    required: true
  endpoint:
    description:
      - Control-plane endpoint of the home cluster, C(https://host:port).
      - It must be reachable over KubeSpan (a home node address, or a load balancer); a public IP that is
        DNAT'd to a control plane does not work with KubeSpan.
    type: str
    required: true
  talos_version:
    description:
      - Talos version of the home cluster, V(v1.11.x), V(v1.12.x), V(v1.13.x) or V(v1.14.x). Decides the config
        layout (see the description).
      - C(talosctl) must be of this Talos line or newer; without O(talosctl_path) the module takes the one whose
        minor version matches, and fails naming it when it is not installed (see O(talosctl_path)).
    type: str
    required: true
  kubernetes_version:
    description: Kubernetes version of the home cluster; when not set, the default of C(talosctl).
    type: str
  hostname:
    description:
      - Hostname of the node. When not set, Talos picks a stable one.
      - A lowercase RFC 1123 name (it becomes the Kubernetes node name).
    type: str
  pool:
    description: Edge pool name, the value of the node label C(autoextender.io/pool).
    type: str
  zone:
    description: Value of the node label C(topology.kubernetes.io/zone), by convention C(<provider>-<location>).
    type: str
  instance_type:
    description: Value of the node label C(node.kubernetes.io/instance-type) (the provider's server type).
    type: str
  node_labels:
    description: More node labels. Kubelet may only set labels the NodeRestriction admission plugin allows.
    type: dict
    default: {}
  node_taints:
    description: Node taints, C(key) to C(value:Effect). V({}) for none.
    type: dict
    default:
      autoextender.io/edge: "true:NoSchedule"
  kubelet_valid_subnets:
    description:
      - Subnets the kubelet picks the node IP from; C(!) excludes.
      - C(machine.kubelet.nodeIP.validSubnets) up to Talos 1.13, C(KubeNodeConfig.nodeIP.validSubnets) from 1.14.
    type: list
    elements: str
  install_disk:
    description:
      - Disk Talos installs to. From Talos 1.14 it becomes the C(UnattendedInstallConfig) disk selector
        C(disk.dev_path == "<disk>").
    type: str
    default: /dev/sda
  install_image:
    description: Installer image. Overrides O(schematic).
    type: str
  schematic:
    description:
      - Image Factory schematic id; the installer image becomes C(<image_factory>/installer/<schematic>:<talos_version>).
      - Needs a full O(talos_version) such as V(v1.13.9).
    type: str
  image_factory:
    description: Host of the Image Factory.
    type: str
    default: factory.talos.dev
  kubespan:
    description: KubeSpan settings. Unset fields keep the Talos defaults.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Enable KubeSpan.
        type: bool
        default: true
      mtu:
        description: WireGuard MTU, the underlying MTU minus 80 (Talos default 1420, at least 1280).
        type: int
      advertise_kubernetes_networks:
        description: Route pod networks over KubeSpan. Not with Cilium or Calico.
        type: bool
      allow_down_peer_bypass:
        description: Send traffic unencrypted when a peer is down.
        type: bool
      harvest_extra_endpoints:
        description: Publish endpoints seen by WireGuard. Not with more than 50 peers.
        type: bool
      endpoint_filters:
        description:
          - Addresses advertised as KubeSpan endpoints. The default advertises public addresses only
            (no RFC 1918, CGNAT, link-local or unique-local addresses).
        type: list
        elements: str
        default: ["0.0.0.0/0", "!10.0.0.0/8", "!172.16.0.0/12", "!192.168.0.0/16", "!100.64.0.0/10",
                  "!169.254.0.0/16", "::/0", "!fc00::/7", "!fe80::/10"]
      exclude_advertised_networks:
        description: Networks not advertised over KubeSpan.
        type: list
        elements: str
  discovery:
    description: Cluster discovery (needed by KubeSpan).
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Enable discovery through the discovery service registry; the Kubernetes registry is disabled.
        type: bool
        default: true
      service_endpoint:
        description:
          - URL of a self-hosted discovery service. When not set, Talos uses C(https://discovery.talos.dev/).
          - From Talos 1.14 it is the C(endpoint) of the C(DiscoveryServiceConfig) document C(default), which has
            no Kubernetes registry.
        type: str
  patches:
    description:
      - Patches applied in order after the edge patch, through C(talosctl machineconfig patch).
      - For Talos 1.14, patch the new documents (for example a C(KubeletConfig) document for kubelet arguments), not
        the deprecated C(v1alpha1) fields.
      - A mapping is a strategic-merge patch; a list is a JSON 6902 patch (applied to the C(v1alpha1) document);
        a string is C(@path) of a patch file or the YAML text of a patch.
      - Patches can carry secrets (registry passwords, proxy credentials, tokens), so this option is C(no_log)
        and never printed. In every output of the module (result, diff, errors) these parts of a patch are shown
        as C(********) - a string under a key that looks secret (C(password), C(auth), C(identityToken), C(key),
        C(content), ...; an C(Authorization) header too), a URL with a user and a password, and the whole text of
        a text patch. Other values stay readable, so that returned paths and numbers are not garbled and an error
        can name the value it is about.
    type: list
    elements: raw
    default: []
  validate_mode:
    description: The mode of C(talosctl validate).
    type: str
    choices: [cloud, metal, container]
    default: cloud
  schema_path:
    description:
      - Path of the official Talos config JSON schema (C(config.schema.json)) for O(talos_version).
        When set, every document is checked against it too. Needs the C(jsonschema) library.
      - Fields Talos accepts but leaves out of the schema (C(persist)) are ignored, and the kinds
        C(UnattendedInstallConfig) and C(KubeSpanEndpointsConfig) are looked up under the names the schema of
        Talos 1.14.0 and older gives them (C(UnattendedInstall), C(KubeSpanEndpoints)).
    type: path
  user_data_limit:
    description:
      - Fail, writing nothing, when the config is larger than this many bytes (Hetzner 32768).
      - RV(talos_machine_config.fits_hetzner_user_data) and RV(talos_machine_config.fits_linode_user_data) are
        returned either way.
    type: int
  cache:
    description:
      - Reuse the config at O(dest) without running C(talosctl) when this module wrote it from the same inputs
        and nobody has changed it since. The inputs are every option, the edge patch made of them, the
        content of O(secrets_bundle) and O(schema_path), and the C(talosctl) binary (its file and version).
      - Their SHA-256, and the config's, are kept in C(<dest>.inputs) (mode C(0600); digests only, no secret).
        RV(talos_machine_config.rendered) says whether C(talosctl) ran.
      - V(false) renders every time, and neither reads nor writes C(<dest>.inputs).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Renders and validates the config in a private temporary directory, without writing O(dest).
  diff_mode:
    support: full
    description: The before and after configs, with every secret (of the bundle and of O(patches)) replaced by C(********).
  idempotent:
    support: full
    description: C(talosctl gen config) is deterministic for one secrets bundle, and the comparison is semantic.
notes:
  - The options O(talosconfig), O(nodes), O(endpoints) and O(context) are accepted and ignored; this module works offline.
seealso:
  - module: talos.autoextender.talos_secrets
  - module: talos.autoextender.talos_apply_config
  - name: KubeSpan
    description: How KubeSpan works, and its network requirements.
    link: https://www.talos.dev/latest/talos-guides/network/kubespan/
"""

EXAMPLES = r"""
- name: Join config for the first node of the hel1-a pool
  talos.autoextender.talos_machine_config:
    dest: "{{ work_dir }}/hel1-a-1.yaml"
    secrets_bundle: "{{ work_dir }}/secrets.yaml"
    cluster_name: home
    endpoint: https://192.168.1.10:6443
    talos_version: v1.13.9
    hostname: hel1-a-1
    pool: hel1-a
    zone: hetzner-hel1
    instance_type: cx22
    schematic: 376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba
    kubespan:
      mtu: 1412
    user_data_limit: 32768
    patches:
      - machine:
          sysctls:
            net.core.somaxconn: "65535"
      - - op: add
          path: /machine/kubelet/extraArgs
          value:
            max-pods: "50"

- name: The same for a Talos 1.14 home cluster (patch the new documents, not machine.kubelet)
  talos.autoextender.talos_machine_config:
    dest: "{{ work_dir }}/hel1-a-1.yaml"
    secrets_bundle: "{{ work_dir }}/secrets.yaml"
    cluster_name: home
    endpoint: https://192.168.1.10:6443
    talos_version: v1.14.1
    hostname: hel1-a-1
    pool: hel1-a
    schematic: 376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba
    patches:
      - apiVersion: v1alpha1
        kind: KubeletConfig
        extraArgs:
          max-pods: "50"
"""

RETURN = r"""
talos_machine_config:
  description: The rendered config (never its content). In check mode, the config as it would be written.
  returned: success
  type: dict
  contains:
    configs:
      description: With O(hostnames), one dict per hostname in order, each with C(hostname) and the keys below; the
        other keys are then not returned.
      type: list
      elements: dict
      returned: when O(hostnames) is given
      sample: [{hostname: hel1-a-1, path: /srv/autoextender/hel1-a-1.yaml, rendered: false, size: 3480}]
    path:
      description: O(dest).
      type: str
      returned: success
      sample: /srv/autoextender/hel1-a-1.yaml
    checksum:
      description: SHA-256 of the config.
      type: str
      returned: success
      sample: 3b0c4f0d5a0c64f8e7f2d1d6a1c7b9e0f3a4c5d6e7f8091a2b3c4d5e6f708192
    rendered:
      description: Whether C(talosctl) rendered the config in this run (V(false) - reused, see O(cache)).
      type: bool
      returned: success
      sample: false
    size:
      description: Size of the config in bytes.
      type: int
      returned: success
      sample: 3480
    size_base64:
      description: Size of the config encoded in base64 (how Linode stores user data).
      type: int
      returned: success
      sample: 4640
    fits_hetzner_user_data:
      description: Whether the config fits Hetzner's user-data limit (32768 bytes).
      type: bool
      returned: success
    fits_linode_user_data:
      description: Whether the base64 config fits Linode's user-data limit (16384 bytes).
      type: bool
      returned: success
    talos_version:
      description: O(talos_version).
      type: str
      returned: success
      sample: v1.13.9
    layout:
      description: The config layout of the Talos line, V(legacy), V(kubespan_document) or V(documents).
      type: str
      returned: success
      sample: documents
    kubespan_layout:
      description: Where KubeSpan is configured, C(machine.network.kubespan) or C(KubeSpanConfig).
      type: str
      returned: success
      sample: KubeSpanConfig
    documents:
      description: The kinds of the config's documents (C(v1alpha1) for the main one).
      type: list
      elements: str
      returned: success
      sample: [v1alpha1, HostnameConfig, KubeSpanConfig]
    install_image:
      description: The installer image in the config.
      type: str
      returned: success
      sample: factory.talos.dev/installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.13.9
    node_labels:
      description: The node labels in the config.
      type: dict
      returned: success
      sample: {"autoextender.io/pool": "hel1-a", "topology.kubernetes.io/zone": "hetzner-hel1"}
    node_taints:
      description: The node taints in the config.
      type: dict
      returned: success
      sample: {"autoextender.io/edge": "true:NoSchedule"}
    validated:
      description: How the config was validated (C(talosctl) mode, schema path or null).
      type: dict
      returned: success
      sample: {"talosctl": "cloud", "schema": "/specs/talos/v1.13.9/config.schema.json"}
"""

import os
import shutil
import tempfile

from ansible_collections.talos.autoextender.plugins.module_utils import _render_cache as render_cache
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._item_module import ItemModule
from ansible_collections.talos.autoextender.plugins.module_utils._resource import Resource
from ansible_collections.talos.autoextender.plugins.module_utils._talos_config import (
    CollectedSecrets,
    load_schema,
    parse_config,
    redacted_text,
    same_config,
    schema_errors,
)
from ansible_collections.talos.autoextender.plugins.module_utils._talos_machine_config import (
    PUBLIC_ENDPOINT_FILTERS,
    Renderer,
    edge_patches,
    check_endpoint,
    check_user_data_limit,
    summary,
    patch_log_values,
    patch_secrets,
    talos_line,
)
from ansible_collections.talos.autoextender.plugins.module_utils._talos_secrets import (
    parse_bundle,
    read_file,
    secret_values,
    sha256,
    write_private_file,
)
from ansible_collections.talos.autoextender.plugins.module_utils._talosctl import TalosCLI, talosctl_argument_spec
from ansible_collections.talos.autoextender.plugins.module_utils._validate import Hostname, Range, ValidatedModule

MODE = 0o600
#: Part of the render inputs: raise it when this module renders other text from the same inputs (its patches
#: come from ``edge_patches`` and are digested as they are, so a change there needs no bump).
RENDER_REVISION = 1


class MachineConfig(CollectedSecrets, Resource):
    """The config file at O(dest): rendered, validated, compared as documents, written 0600."""

    return_key = "talos_machine_config"
    runner = None  # unit tests inject a fake talosctl runner

    def fetch(self):
        dest = self.params["dest"]
        self._current_docs = self._current_text = self._current = None
        if not os.path.lexists(dest):
            return None
        if os.path.isdir(dest):
            raise AutoextenderError("dest %s is a directory" % dest, kind=VALIDATION, details={"path": dest})
        content = read_file(dest, "machine config")
        try:
            self._current_text = content.decode("utf-8")
            self._current_docs = parse_config(self._current_text, "existing file %s" % dest)
        except (AutoextenderError, UnicodeDecodeError):
            self._current_docs = self._current_text = None  # not a config: it is replaced
        self._current = {"path": dest, "checksum": sha256(content), "mode": os.stat(dest).st_mode & 0o7777}
        return self._current

    def desired(self):
        p = self.params
        dest = p["dest"]
        if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
            raise AutoextenderError("The directory of dest %s does not exist" % dest, kind=VALIDATION,
                                    details={"path": dest})
        line = talos_line(p["talos_version"])
        check_endpoint(p["endpoint"])
        bundle_bytes = read_file(p["secrets_bundle"], "secrets bundle")
        bundle = parse_bundle(bundle_bytes, p["secrets_bundle"])
        self.secrets().extend(secret_values(bundle, all_strings=True))
        self.secrets().extend(patch_secrets(p["patches"]))
        schema = load_schema(p["schema_path"]) if p["schema_path"] else None
        cli = TalosCLI.from_module(self.module, secrets=self.secrets(), runner=self.runner)
        self._inputs = render_cache.digest(self._render_inputs(line, bundle_bytes, cli)) if p["cache"] else None
        current = getattr(self, "_current", None)
        self._rendered = not (self._inputs and self._current_docs is not None
                              and render_cache.fresh(dest, self._inputs, current["checksum"]))
        if self._rendered:
            work = tempfile.mkdtemp(prefix="talos-config-")  # mode 0700
            try:
                self._text = Renderer(cli, p, work).render(line, p["validate_mode"])
            finally:
                shutil.rmtree(work, ignore_errors=True)
        else:
            self._text = self._current_text
        self._docs = parse_config(self._text, "rendered config")
        if schema is not None:
            problems = schema_errors(self._docs, schema, p["schema_path"])
            if problems:
                raise AutoextenderError("The machine config does not match the schema %s: %s"
                                        % (p["schema_path"], "; ".join(problems)), kind=VALIDATION,
                                        details={"schema": p["schema_path"], "problems": problems})
        facts = summary(self._text, self._docs, line)
        check_user_data_limit(facts["size"], p["user_data_limit"])
        facts.update(path=dest, checksum=sha256(self._text.encode("utf-8")), talos_version=p["talos_version"],
                     validated={"talosctl": p["validate_mode"], "schema": p["schema_path"]}, rendered=self._rendered)
        return facts

    def _render_inputs(self, line, bundle_bytes, cli):
        """Everything that decides the rendered text: the options, the edge patch this module makes of them,
        the bundle, the schema and the talosctl binary (its file and version). Digested, never stored."""
        p = self.params
        schema = sha256(read_file(p["schema_path"], "schema")) if p["schema_path"] else None
        return {"revision": RENDER_REVISION, "line": list(line), "edge_patches": edge_patches(p, line),
                "options": dict((k, v) for k, v in p.items() if k not in ("dest", "cache", "hostnames", "dest_dir")),
                "bundle": sha256(bundle_bytes), "schema": schema,
                "talosctl": render_cache.file_identity(cli.binary()) + [cli.client_version()]}

    def ensure(self):
        current = self.fetch()
        desired = self.desired()
        changed = current is None or current["mode"] != MODE or not same_config(self._current_docs, self._docs)
        if changed and not self.check_mode:
            if current is not None and same_config(self._current_docs, self._docs):
                os.chmod(desired["path"], MODE)
            else:
                write_private_file(desired["path"], self._text.encode("utf-8"))
        if self._inputs and not self.check_mode:
            # The record names the file as it is now: rewritten, or kept because it held the same documents.
            written = desired["checksum"] if changed and not same_config(self._current_docs, self._docs) else (
                current or {}).get("checksum", desired["checksum"])
            if self._rendered or not render_cache.fresh(desired["path"], self._inputs, written):
                render_cache.record(desired["path"], self._inputs, written)
        return changed, current, desired

    def run(self):
        # ansible hides every leaf of the no_log patches, substrings too; keep only the secret ones hidden
        # (see the option's doc) so that paths and sizes come back intact.
        patches = self.params["patches"]
        self.module.no_log_values.difference_update(patch_log_values(patches) - set(patch_secrets(patches)))
        try:
            changed, dummy, after = self.ensure()
        except AutoextenderError as e:
            e = e.redacted(self.secrets())
            self.module.fail_json(msg=e.msg, failure=e.failure())
            return
        result = {"changed": changed, self.return_key: after}
        if self.diff_mode:
            result["diff"] = {"before": redacted_text(self._current_docs, self.secrets()),
                              "after": redacted_text(self._docs, self.secrets()),
                              "before_header": after["path"], "after_header": after["path"]}
        self.module.exit_json(**result)


def one_target(params):
    """Either O(dest) (one config) or O(hostnames) with O(dest_dir) (one per hostname), never both."""
    rule = "dest for one config, or hostnames with dest_dir (and neither dest nor hostname) for one per hostname"
    many = params.get("hostnames") is not None
    both = [k for k in ("dest", "hostname") if many and params.get(k) is not None]
    if both:
        problem = "hostnames cannot be combined with %s" % " or ".join(both)
    elif many and not params.get("dest_dir"):
        problem = "hostnames needs dest_dir"
    elif not many and not params.get("dest"):
        problem = "dest is required unless hostnames is given"
    else:
        return
    raise AutoextenderError("%s: give %s" % (problem, rule), kind=VALIDATION,
                            details={"option": "hostnames" if many else "dest", "rule": rule})


def run_hosts(module):
    """O(hostnames): each config in turn, one result; the first failure names its host and ends the task."""
    configs, diffs, changed = [], [], False
    patches = module.params["patches"]
    module.no_log_values.difference_update(patch_log_values(patches) - set(patch_secrets(patches)))
    for host in module.params["hostnames"]:
        one = MachineConfig(ItemModule(module, hostname=host, dest=os.path.join(module.params["dest_dir"], host + ".yaml"),
                                       hostnames=None, dest_dir=None))
        try:
            host_changed, dummy, after = one.ensure()
        except AutoextenderError as e:
            e = e.redacted(one.secrets())
            module.fail_json(msg="%s: %s" % (host, e.msg), failure=dict(e.failure(), host=host),
                             talos_machine_config={"configs": configs})
            return
        changed = changed or host_changed
        configs.append(dict(after, hostname=host))
        diffs.append({"before": redacted_text(one._current_docs, one.secrets()),
                      "after": redacted_text(one._docs, one.secrets()),
                      "before_header": after["path"], "after_header": after["path"]})
    result = {"changed": changed, "talos_machine_config": {"configs": configs}}
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


# The KubeSpan MTU floor is Talos' own (constants.KubeSpanLinkMinimumMTU, WireGuard with IPv6).
RULES = {"hostname": Hostname(), "hostnames": Hostname(), "kubespan.mtu": Range(1280, 65535, "bytes, Talos' minimum for KubeSpan is 1280"),
         "user_data_limit": Range(1, unit="bytes")}


def main():
    module = ValidatedModule(
        rules=RULES,
        argument_spec=talosctl_argument_spec(
            dest=dict(type="path"),
            hostnames=dict(type="list", elements="str"),
            dest_dir=dict(type="path"),
            secrets_bundle=dict(type="path", required=True),
            cluster_name=dict(type="str", required=True),
            endpoint=dict(type="str", required=True),
            talos_version=dict(type="str", required=True),
            kubernetes_version=dict(type="str"),
            hostname=dict(type="str"),
            pool=dict(type="str"),
            zone=dict(type="str"),
            instance_type=dict(type="str"),
            node_labels=dict(type="dict", default={}),
            node_taints=dict(type="dict", default={"autoextender.io/edge": "true:NoSchedule"}),
            kubelet_valid_subnets=dict(type="list", elements="str"),
            install_disk=dict(type="str", default="/dev/sda"),
            install_image=dict(type="str"),
            schematic=dict(type="str"),
            image_factory=dict(type="str", default="factory.talos.dev"),
            kubespan=dict(type="dict", default={}, apply_defaults=True, options=dict(
                enabled=dict(type="bool", default=True),
                mtu=dict(type="int"),
                advertise_kubernetes_networks=dict(type="bool"),
                allow_down_peer_bypass=dict(type="bool"),
                harvest_extra_endpoints=dict(type="bool"),
                endpoint_filters=dict(type="list", elements="str", default=list(PUBLIC_ENDPOINT_FILTERS)),
                exclude_advertised_networks=dict(type="list", elements="str"),
            )),
            discovery=dict(type="dict", default={}, apply_defaults=True, options=dict(
                enabled=dict(type="bool", default=True),
                service_endpoint=dict(type="str"),
            )),
            patches=dict(type="list", elements="raw", default=[], no_log=True),
            validate_mode=dict(type="str", choices=["cloud", "metal", "container"], default="cloud"),
            schema_path=dict(type="path"),
            user_data_limit=dict(type="int"),
            cache=dict(type="bool", default=True),
        ),
        checks=[one_target],
        supports_check_mode=True,
    )
    if module.params["hostnames"] is not None:
        run_hosts(module)
    else:
        MachineConfig(module).run()


if __name__ == "__main__":
    main()
