"""The edge patch per Talos line, option checks, user patches and the exact talosctl pipeline."""
import os

import pytest
import yaml

from ansible_collections.talos.autoextender.plugins.module_utils._errors import REDACTED, AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._talos_config import (
    join_documents,
    parse_config,
    redact_docs,
    same_config,
    schema_errors,
    split_documents,
)
from ansible_collections.talos.autoextender.plugins.module_utils._talos_machine_config import (
    PUBLIC_ENDPOINT_FILTERS,
    Renderer,
    check_endpoint,
    check_user_data_limit,
    edge_patches,
    installer_image,
    load_user_patch,
    summary,
    talos_line,
)
from ansible_collections.talos.autoextender.plugins.module_utils._talosctl import TalosCLI
from tests.support.fixtures_talos import FAKE_BIN, ScriptedTalosctl

SCHEMATIC = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"
SPEC = {
    "talos_version": "v1.13.9", "hostname": "hel1-a-1", "pool": "hel1-a", "zone": "hetzner-hel1",
    "instance_type": "cx22", "node_labels": {"team": "edge"}, "node_taints": {"autoextender.io/edge": "true:NoSchedule"},
    "kubelet_valid_subnets": ["0.0.0.0/0", "!10.0.0.0/8"], "install_disk": "/dev/sda", "schematic": SCHEMATIC,
    "kubespan": {"enabled": True, "mtu": 1412, "endpoint_filters": PUBLIC_ENDPOINT_FILTERS},
    "discovery": {"enabled": True, "service_endpoint": None},
}
MACHINE = {
    "nodeLabels": {"autoextender.io/pool": "hel1-a", "topology.kubernetes.io/zone": "hetzner-hel1",
                   "node.kubernetes.io/instance-type": "cx22", "team": "edge"},
    "nodeTaints": {"autoextender.io/edge": "true:NoSchedule"},
    "kubelet": {"nodeIP": {"validSubnets": ["0.0.0.0/0", "!10.0.0.0/8"]}},
    "install": {"disk": "/dev/sda", "image": "factory.talos.dev/installer/%s:v1.13.9" % SCHEMATIC},
}
CLUSTER = {"discovery": {"enabled": True, "registries": {"kubernetes": {"disabled": True},
                                                         "service": {"disabled": False}}}}
KUBESPAN = {"enabled": True, "mtu": 1412, "filters": {"endpoints": PUBLIC_ENDPOINT_FILTERS}}


def test_talos_1_13_puts_kubespan_and_hostname_in_their_own_documents():
    assert edge_patches(SPEC, (1, 13)) == [
        {"machine": MACHINE, "cluster": CLUSTER},
        dict({"apiVersion": "v1alpha1", "kind": "KubeSpanConfig"}, **KUBESPAN),
        {"apiVersion": "v1alpha1", "kind": "HostnameConfig", "hostname": "hel1-a-1", "auto": "off"},
    ]


def test_talos_1_12_keeps_kubespan_in_machine_network_and_uses_a_hostname_document():
    machine = dict(MACHINE, network={"kubespan": KUBESPAN})
    assert edge_patches(dict(SPEC, talos_version="v1.12.11"), (1, 12)) == [
        {"machine": dict(machine, install=dict(MACHINE["install"], image=MACHINE["install"]["image"].replace(
            "v1.13.9", "v1.12.11"))), "cluster": CLUSTER},
        {"apiVersion": "v1alpha1", "kind": "HostnameConfig", "hostname": "hel1-a-1", "auto": "off"},
    ]


def test_talos_1_11_has_everything_in_v1alpha1():
    patches = edge_patches(dict(SPEC, talos_version="v1.11.6"), (1, 11))
    assert len(patches) == 1
    assert patches[0]["machine"]["network"] == {"kubespan": KUBESPAN, "hostname": "hel1-a-1"}


def test_discovery_service_endpoint_and_nothing_unmanaged():
    spec = {"talos_version": "v1.13.9", "discovery": {"enabled": True, "service_endpoint": "https://disc.example:3000/"}}
    assert edge_patches(spec, (1, 13)) == [{"cluster": {"discovery": {"enabled": True, "registries": {
        "kubernetes": {"disabled": True}, "service": {"disabled": False, "endpoint": "https://disc.example:3000/"}}}}}]
    assert edge_patches({"talos_version": "v1.13.9", "discovery": {"enabled": False}}, (1, 13)) == []


@pytest.mark.parametrize("version,line", [("v1.14.1", (1, 14)), ("v1.13.9", (1, 13)), ("1.12.0", (1, 12)),
                                          ("v1.11", (1, 11))])
def test_supported_lines(version, line):
    assert talos_line(version) == line


@pytest.mark.parametrize("version", ["v1.10.7", "v1.15.0", "v2.0.0", "latest", "", None])
def test_unknown_talos_versions_fail_clearly(version):
    with pytest.raises(AutoextenderError) as exc:
        talos_line(version)
    assert exc.value.kind == "validation"
    assert "v1.11, v1.12, v1.13, v1.14" in exc.value.msg or "not a Talos version" in exc.value.msg


@pytest.mark.parametrize("url", ["https://192.168.1.10:6443", "https://cp.home.arpa:6443/", "https://[fd00::1]:6443"])
def test_good_endpoints(url):
    assert check_endpoint(url) == url


@pytest.mark.parametrize("url", ["http://192.168.1.10:6443", "https://192.168.1.10", "192.168.1.10:6443",
                                 "https://:6443", "https://h:6443/api", "https://h:99999", "https://h:6443?x=1", ""])
def test_malformed_endpoints(url):
    with pytest.raises(AutoextenderError, match="is not a control-plane endpoint URL"):
        check_endpoint(url)


def test_installer_image():
    assert installer_image({"install_image": "ghcr.io/siderolabs/installer:v1.13.9", "schematic": SCHEMATIC}) == \
        "ghcr.io/siderolabs/installer:v1.13.9"
    assert installer_image({"schematic": SCHEMATIC, "talos_version": "1.13.9",
                            "image_factory": "https://factory.example/"}) == \
        "factory.example/installer/%s:v1.13.9" % SCHEMATIC
    assert installer_image({"talos_version": "v1.13.9"}) is None
    with pytest.raises(AutoextenderError, match="64 hex"):
        installer_image({"schematic": "nope", "talos_version": "v1.13.9"})
    with pytest.raises(AutoextenderError, match="full talos_version"):
        installer_image({"schematic": SCHEMATIC, "talos_version": "v1.13"})


def test_user_patch_kinds(tmp_path):
    assert load_user_patch({"machine": {"sysctls": {"a": "1"}}}, 0)[0] == "strategic"
    assert load_user_patch([{"op": "add", "path": "/machine/x", "value": 1}], 1)[0] == "json6902"
    f = tmp_path / "p.yaml"
    f.write_text("- op: remove\n  path: /machine/install\n")
    kind, text, label = load_user_patch("@%s" % f, 2)
    assert (kind, label) == ("json6902", "patches[2] (%s)" % f) and "op: remove" in text
    assert load_user_patch("apiVersion: v1alpha1\nkind: KubeSpanConfig\nmtu: 1400\n", 0)[0] == "strategic"
    for bad, message in (("@%s" % (tmp_path / "missing"), r"Cannot read patches\[0\]"), ("a: [", "not valid YAML"),
                         ("just a string", "neither a strategic-merge"), (42, "must be a mapping")):
        with pytest.raises(AutoextenderError, match=message):
            load_user_patch(bad, 0)


def test_size_summary_and_the_user_data_limit():
    text = "version: v1alpha1\nmachine:\n  nodeLabels: {a: b}\n---\napiVersion: v1alpha1\nkind: KubeSpanConfig\n"
    facts = summary(text, parse_config(text), (1, 13))
    assert facts["size"] == len(text) and facts["size_base64"] == 4 * ((len(text) + 2) // 3)
    assert facts["documents"] == ["v1alpha1", "KubeSpanConfig"] and facts["kubespan_layout"] == "KubeSpanConfig"
    assert facts["fits_hetzner_user_data"] and facts["fits_linode_user_data"] and facts["node_labels"] == {"a": "b"}
    big = summary("x" * 13000, [], (1, 12))
    assert big["fits_hetzner_user_data"] is True and big["fits_linode_user_data"] is False
    check_user_data_limit(100, 100)
    with pytest.raises(AutoextenderError) as exc:
        check_user_data_limit(32769, 32768)
    assert exc.value.kind == "too_large" and exc.value.details == {"size": 32769, "limit": 32768}


def test_documents_split_compare_and_redact():
    text = "version: v1alpha1\nmachine:\n  token: abc.def\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n"
    parts = split_documents(text)
    assert len(parts) == 2 and join_documents(parts) == text
    a = parse_config(text)
    b = parse_config(join_documents(reversed(parts)))
    assert same_config(a, b) and not same_config(a, a[:1]) and not same_config(None, a)
    red = redact_docs(a + [{"cluster": {"id": "x" * 44, "secret": "s", "ca": {"crt": "c", "key": ""}}}], ["stable"])
    assert red[0]["machine"]["token"] == REDACTED and red[1]["auto"] == REDACTED
    assert red[2]["cluster"] == {"id": REDACTED, "secret": REDACTED, "ca": {"crt": REDACTED, "key": ""}}
    with pytest.raises(AutoextenderError, match="neither v1alpha1 nor has a kind"):
        parse_config("foo: bar\n")


def test_schema_errors_name_kind_path_and_never_the_value():
    schema = {"$defs": {
        "v1alpha1.Config": {"type": "object", "additionalProperties": False,
                            "properties": {"version": {"enum": ["v1alpha1"]}, "machine": {"type": "object"}}},
        "network.KubeSpanConfigV1Alpha1": {"type": "object", "properties": {
            "kind": {"enum": ["KubeSpanConfig"]}, "apiVersion": {"enum": ["v1alpha1"]}, "mtu": {"type": "integer"}}},
    }}
    docs = [{"version": "v1alpha1", "persist": True, "machine": "SECRET-VALUE", "bogus": 1},
            {"apiVersion": "v1alpha1", "kind": "KubeSpanConfig", "mtu": "SECRET-VALUE"},
            {"apiVersion": "v1alpha1", "kind": "FutureConfig"}]
    problems = schema_errors(docs, schema, "s.json")
    assert problems == [
        "v1alpha1: (document): Additional properties are not allowed ('bogus' was unexpected)",
        'v1alpha1: machine: the value is not of type "object"',
        'KubeSpanConfig: mtu: the value is not of type "integer"',
        "FutureConfig: this document kind is not in s.json (wrong Talos version?)",
    ]


class FilePipeline(ScriptedTalosctl):
    """A scripted talosctl that also writes the --output file, like the real one."""

    def __call__(self, argv, cwd=None, data=None):
        reply = super().__call__(argv, cwd, data)
        out = [a[len("--output="):] for a in argv if a.startswith("--output=")]
        if out and reply[0] == 0:
            with open(out[0], "w") as f:
                f.write("version: v1alpha1\nmachine:\n  type: worker\n---\napiVersion: v1alpha1\nkind: HostnameConfig\n"
                        "auto: stable\n")
        return reply


def test_the_exact_pipeline_argv(tmp_path, fake_talosctl_bin):
    runner = FilePipeline([(r"^(gen config|machineconfig patch|validate)", (0, "", ""))])
    spec = dict(SPEC, secrets_bundle="/b/secrets.yaml", cluster_name="home", endpoint="https://192.168.1.10:6443",
                kubernetes_version="v1.36.3", patches=[{"machine": {"sysctls": {"a": "1"}}},
                                                       [{"op": "add", "path": "/machine/x", "value": 1}]])
    cli = TalosCLI(talosctl_path=FAKE_BIN, runner=runner)
    Renderer(cli, spec, str(tmp_path)).render((1, 13), "cloud")
    w = str(tmp_path)
    assert runner.commands() == [
        ["gen", "config", "--with-secrets=/b/secrets.yaml", "--output-types=worker", "--with-examples=false",
         "--with-docs=false", "--talos-version=v1.13", "--output=%s/01-worker.yaml" % w, "--kubernetes-version=1.36.3",
         "--", "home", "https://192.168.1.10:6443"],
        ["machineconfig", "patch", "--patch=@%s/04-patch.yaml" % w, "--output=%s/03-patched.yaml" % w,
         "--", "%s/02-input.yaml" % w],
        ["machineconfig", "patch", "--patch=@%s/07-patch.yaml" % w, "--output=%s/06-patched.yaml" % w,
         "--", "%s/05-input.yaml" % w],
        # JSON 6902: only the v1alpha1 document goes through talosctl
        ["machineconfig", "patch", "--patch=@%s/10-patch.yaml" % w, "--output=%s/09-patched.yaml" % w,
         "--", "%s/08-input.yaml" % w],
        ["validate", "--config=%s/11-final.yaml" % w, "--mode=cloud"],
    ]
    with open(os.path.join(w, "08-input.yaml")) as f:
        assert yaml.safe_load(f) == {"version": "v1alpha1", "machine": {"type": "worker"}}
    with open(os.path.join(w, "04-patch.yaml")) as f:
        assert [d.get("kind") for d in yaml.safe_load_all(f)] == [None, "KubeSpanConfig", "HostnameConfig"]


def test_talosctl_older_than_the_talos_line_is_refused(tmp_path, fake_talosctl_bin):
    runner = FilePipeline()
    cli = TalosCLI(talosctl_path=FAKE_BIN, runner=runner)
    with pytest.raises(AutoextenderError) as exc:
        Renderer(cli, dict(SPEC, talos_version="v1.14.0"), str(tmp_path)).check_client((1, 14))
    assert exc.value.kind == "unsupported_version" and "talosctl v1.13.9 cannot render" in exc.value.msg
    assert runner.commands() == []
