"""The config layout per Talos line: legacy (<= 1.12), KubeSpanConfig (1.13), the new documents (>= 1.14).

The patches are checked against the official schema of their version, and the three places where the
Talos 1.14 schema disagrees with what Talos accepts (``persist``, two kind names, the stricter v1alpha1
document) are shown on the upstream fixtures, so every deviation the module makes is explained here.
"""
import json

import jsonschema
import pytest
import yaml

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._talos_config import schema_errors
from ansible_collections.talos.autoextender.plugins.module_utils._talos_machine_config import (
    PUBLIC_ENDPOINT_FILTERS,
    check_layout,
    deprecated_fields,
    edge_patches,
    home_kubespan_patches,
    install_disk_selector,
    summary,
)
from tests.conftest import spec_path
from tests.unit.plugins.module_utils.test_talos_machine_config import SCHEMATIC, SPEC as SPEC_1_13

# The edge of test_talos_machine_config.py (a 1.13 one), on Talos 1.14.
SPEC = dict(SPEC_1_13, talos_version="v1.14.1")
LABELS = {"autoextender.io/pool": "hel1-a", "topology.kubernetes.io/zone": "hetzner-hel1",
          "node.kubernetes.io/instance-type": "cx22", "team": "edge"}
RC1 = "v1.14.0-rc.1"


def schema(version):
    with open(spec_path("talos", version, "config.schema.json")) as f:
        return json.load(f)


def fixture(name):
    with open(spec_path("talos", RC1, "testdata", name)) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def documents(patches):
    """The patches as config documents (the v1alpha1 patch has no ``version``)."""
    return [p if "kind" in p else dict(p, version="v1alpha1") for p in patches]


def test_talos_1_14_patch_is_new_documents_only():
    assert edge_patches(SPEC, (1, 14)) == [
        {"apiVersion": "v1alpha1", "kind": "KubeNodeConfig", "labels": LABELS,
         "taints": {"autoextender.io/edge": "true:NoSchedule"},
         "nodeIP": {"validSubnets": ["0.0.0.0/0", "!10.0.0.0/8"]}},
        {"apiVersion": "v1alpha1", "kind": "UnattendedInstallConfig",
         "installer": {"image": "factory.talos.dev/installer/%s:v1.14.1" % SCHEMATIC},
         "provisioning": {"diskSelector": {"match": 'disk.dev_path == "/dev/sda"'}}},
        {"apiVersion": "v1alpha1", "kind": "KubeSpanConfig", "enabled": True, "mtu": 1412,
         "filters": {"endpoints": PUBLIC_ENDPOINT_FILTERS}},
        {"apiVersion": "v1alpha1", "kind": "HostnameConfig", "hostname": "hel1-a-1", "auto": "off"},
        # the name of the document gen config writes, so the patch merges into it
        {"apiVersion": "v1alpha1", "kind": "DiscoveryServiceConfig", "name": "default",
         "endpoint": "https://discovery.talos.dev/"},
    ]


def test_talos_1_14_discovery_endpoint_and_nothing_unmanaged():
    spec = {"talos_version": "v1.14.1", "discovery": {"enabled": True, "service_endpoint": "https://disc.example:3000/"}}
    assert edge_patches(spec, (1, 14)) == [{"apiVersion": "v1alpha1", "kind": "DiscoveryServiceConfig",
                                           "name": "default", "endpoint": "https://disc.example:3000/"}]
    assert edge_patches({"talos_version": "v1.14.1", "discovery": {"enabled": False}}, (1, 14)) == []


def test_install_disk_selector_quotes_the_path():
    assert install_disk_selector('/dev/disk/by-id/a"b') == r'disk.dev_path == "/dev/disk/by-id/a\"b"'


@pytest.mark.parametrize("line,version,layout", [((1, 12), "v1.12.11", "legacy"),
                                                 ((1, 13), "v1.13.9", "kubespan_document"),
                                                 ((1, 14), RC1, "documents")])
def test_each_layout_patch_matches_the_schema_of_its_version(line, version, layout):
    spec = dict(SPEC, talos_version=version.split("-")[0])
    patches = documents(edge_patches(spec, line))
    assert schema_errors(patches, schema(version), version) == []
    assert summary(yaml.safe_dump_all(patches), patches, line)["layout"] == layout


@pytest.mark.parametrize("line,version,problem", [
    ((1, 12), RC1, "v1alpha1: cluster: Additional properties are not allowed ('discovery' was unexpected)"),
    ((1, 13), RC1, "v1alpha1: machine: Additional properties are not allowed ("),
    ((1, 14), "v1.13.9", "KubeNodeConfig: this document kind is not in v1.13.9"),
])
def test_the_layouts_are_told_apart_by_the_schemas(line, version, problem):
    patches = documents(edge_patches(dict(SPEC, talos_version="v1.13.9"), line))
    assert any(p.startswith(problem) for p in schema_errors(patches, schema(version), version))


def test_a_1_14_patch_carries_no_deprecated_field():
    patches = edge_patches(SPEC, (1, 14))
    assert [p for p in patches if "kind" not in p] == []  # nothing for the v1alpha1 document at all
    assert deprecated_fields(patches) == {}
    legacy = documents(edge_patches(dict(SPEC, talos_version="v1.13.9"), (1, 13)))
    assert sorted(deprecated_fields(legacy)) == ["cluster.discovery", "machine.install", "machine.kubelet",
                                                 "machine.nodeLabels", "machine.nodeTaints"]


def test_a_user_patch_adding_a_deprecated_field_to_1_14_is_refused_with_the_document_to_use():
    docs = [{"version": "v1alpha1", "machine": {"type": "worker", "kubelet": {"extraArgs": {"max-pods": "50"}}},
             "cluster": {"token": "x"}}]
    check_layout(docs, (1, 13))  # the old layout keeps them
    with pytest.raises(AutoextenderError) as exc:
        check_layout(docs, (1, 14))
    assert exc.value.kind == "validation" and exc.value.details == {"deprecated_fields": ["machine.kubelet"]}
    assert "machine.kubelet (patch the KubeletConfig or KubeNodeConfig document)" in exc.value.msg
    check_layout([{"version": "v1alpha1", "machine": {"type": "worker"}}], (1, 14))


def test_summary_reads_the_1_14_documents():
    patches = edge_patches(SPEC, (1, 14))
    facts = summary("x", [{"version": "v1alpha1", "machine": {"type": "worker"}}] + patches, (1, 14))
    assert facts["node_labels"] == LABELS and facts["node_taints"] == {"autoextender.io/edge": "true:NoSchedule"}
    assert facts["install_image"] == "factory.talos.dev/installer/%s:v1.14.1" % SCHEMATIC
    assert facts["kubespan_layout"] == "KubeSpanConfig" and facts["layout"] == "documents"


# -- the schema traps, on upstream's own generated worker configs ------------------------------------------------
def test_trap_persist_is_generated_but_not_in_the_schema():
    """Talos writes ``persist: true`` (docgen:nodoc) and neither the 1.13 nor the 1.14 schema lists it:
    the module ignores that one field, everything else of the 1.14 fixture matches the 1.14 schema."""
    docs = fixture("stability_v1.14_base-worker.yaml")
    assert docs[0]["persist"] is True
    validator = jsonschema.Draft202012Validator({"$defs": schema(RC1)["$defs"], "$ref": "#/$defs/v1alpha1.Config"})
    assert [e.message for e in validator.iter_errors(docs[0])] == [
        "Additional properties are not allowed ('persist' was unexpected)"]
    assert schema_errors(docs, schema(RC1), RC1) == []


def test_trap_two_kinds_are_named_differently_in_the_schema():
    """The runtime kinds ``UnattendedInstallConfig`` (gen config writes it for 1.14) and
    ``KubeSpanEndpointsConfig`` are ``UnattendedInstall`` / ``KubeSpanEndpoints`` in the schema's enums;
    the check looks them up under the schema's name, so a correct document passes and a wrong one still fails."""
    rc1 = schema(RC1)
    kinds = [((d.get("properties") or {}).get("kind") or {}).get("enum") for d in rc1["$defs"].values()]
    assert ["UnattendedInstall"] in kinds and ["KubeSpanEndpoints"] in kinds
    assert ["UnattendedInstallConfig"] not in kinds and ["KubeSpanEndpointsConfig"] not in kinds
    install = edge_patches(SPEC, (1, 14))[1]
    endpoints = {"apiVersion": "v1alpha1", "kind": "KubeSpanEndpointsConfig", "extraAnnouncedEndpoints": ["192.0.2.1:51820"]}
    assert schema_errors([install, endpoints], rc1, RC1) == []
    bad = dict(install, installer={"image": 1})
    assert schema_errors([bad], rc1, RC1) == ['UnattendedInstallConfig: installer/image: the value is not of type "string"']


def test_trap_the_1_14_v1alpha1_schema_is_stricter_than_the_runtime():
    """The 1.14 schema dropped every deprecated v1alpha1 field, which Talos 1.14 still accepts alone: a
    1.13-style config fails it. So a config validates against the schema of its own line only, and the
    1.14 layout puts nothing deprecated in v1alpha1 (Talos rejects such a field next to its document)."""
    problems = schema_errors(fixture("stability_v1.13_base-worker.yaml"), schema(RC1), RC1)
    unexpected = sorted(p.split("(")[1] for p in problems if p.startswith("v1alpha1: cluster: Additional"))
    assert unexpected == ["'ca', 'clusterName', 'controlPlane', 'discovery', 'id', 'network', 'secret' were unexpected)"]
    assert any(p.startswith("v1alpha1: machine: Additional properties") and "'kubelet'" in p and "'install'" in p
               for p in problems)
    assert schema_errors(fixture("stability_v1.13_base-worker.yaml"), schema("v1.13.9"), "v1.13.9") == []
    assert deprecated_fields(fixture("stability_v1.14_base-worker.yaml")) == {}


# -- the kubespan role's patch for home nodes --------------------------------------------------------------------
HOME = {"enabled": True, "mtu": 1412, "advertise_kubernetes_networks": False, "endpoint_filters": ["0.0.0.0/0"]}
HOME_KUBESPAN = {"enabled": True, "mtu": 1412, "advertiseKubernetesNetworks": False, "filters": {"endpoints": ["0.0.0.0/0"]}}
LEGACY_DISCOVERY = {"discovery": {"enabled": True, "registries": {"kubernetes": {"disabled": True},
                                                                  "service": {"disabled": False}}}}


def test_home_patches_per_line():
    assert home_kubespan_patches("v1.12.11", HOME) == [
        {"cluster": LEGACY_DISCOVERY, "machine": {"network": {"kubespan": HOME_KUBESPAN}}}]
    assert home_kubespan_patches("v1.13.9", HOME) == [
        {"cluster": LEGACY_DISCOVERY}, dict({"apiVersion": "v1alpha1", "kind": "KubeSpanConfig"}, **HOME_KUBESPAN)]
    assert home_kubespan_patches("v1.14.1", HOME, "https://disc.example/") == [
        {"cluster": {"discovery": {"$patch": "delete"}}},
        {"apiVersion": "v1alpha1", "kind": "DiscoveryServiceConfig", "name": "default", "endpoint": "https://disc.example/"},
        dict({"apiVersion": "v1alpha1", "kind": "KubeSpanConfig"}, **HOME_KUBESPAN)]
    assert home_kubespan_patches("v1.14.1", HOME)[1]["endpoint"] == "https://discovery.talos.dev/"
    assert home_kubespan_patches("v1.13.9", HOME, "https://disc.example/")[0]["cluster"]["discovery"]["registries"][
        "service"] == {"disabled": False, "endpoint": "https://disc.example/"}


def test_the_kubespan_patches_filter():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.talos.autoextender.plugins.filter.kubespan_patches import FilterModule
    kubespan_patches = FilterModule().filters()["kubespan_patches"]
    assert kubespan_patches("v1.14.1", HOME) == home_kubespan_patches("v1.14.1", HOME)
    with pytest.raises(AnsibleFilterError, match="kubespan_patches: Talos v1.10.7 is not supported"):
        kubespan_patches("v1.10.7", HOME)


def test_a_1_14_controlplane_config_keeps_its_secret_documents_for_the_bundle():
    """talos_secrets hands talosctl the v1alpha1 document plus those holding the cluster's identity and CAs:
    from Talos 1.14 they are no longer in v1alpha1 (the real talosctl: test_talos_roles.py)."""
    from ansible_collections.talos.autoextender.plugins.module_utils._talos_secrets import secret_documents
    text = ("version: v1alpha1\nmachine: {type: controlplane}\n---\napiVersion: v1alpha1\nkind: HostnameConfig\n"
            "auto: stable\n---\napiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\nclusterID: abc\n"
            "clusterSecret: s3cret-value\n---\napiVersion: v1alpha1\nkind: KubeAPIServerCAConfig\n"
            "issuingCA: {cert: c, key: k}\n")
    found = secret_documents(text)
    assert [d["kind"] for dummy, d in found] == ["DiscoveryIdentityConfig", "KubeAPIServerCAConfig"]
    assert found[0][0] == "apiVersion: v1alpha1\nkind: DiscoveryIdentityConfig\nclusterID: abc\nclusterSecret: s3cret-value\n"
