"""talos_machine_config through ansible-playbook with the real talosctl, checked by talosctl and the official schemas."""
import json
import os
import shutil
import stat

import jsonschema
import pytest
import yaml

from tests.conftest import _ci
from tests.support.ansible import run_playbook, task_results
from tests.support import tools
from tests.support.talos import Talosctl

PLAYBOOK = os.path.join(os.path.dirname(__file__), "playbooks", "talos_machine_config.yml")
SCHEMATIC = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"
PATCHES = [
    {"machine": {"sysctls": {"net.core.somaxconn": "65535"}}},
    [{"op": "add", "path": "/machine/kubelet/extraArgs", "value": {"max-pods": "50"}}],
]
# Talos 1.14 patches its new documents: kubelet arguments in KubeletConfig, sysctls in SysctlConfig
# (machine.kubelet and machine.sysctls are deprecated there); JSON 6902 on a field v1alpha1 keeps.
PATCHES_1_14 = [
    {"apiVersion": "v1alpha1", "kind": "SysctlConfig", "params": {"net.core.somaxconn": "65535"}},
    {"apiVersion": "v1alpha1", "kind": "KubeletConfig", "extraArgs": {"max-pods": "50"}},
    [{"op": "add", "path": "/machine/features/nodeAddressSortAlgorithm", "value": "v2"}],
]
LINES = {"v1.12.11": "v1.12", "v1.13.9": "v1.13", "v1.14.1": "v1.14"}
# The v1alpha1 fields Talos 1.14 moved to documents (the list, written out independently of the module).
DEPRECATED_IN_1_14 = {"cluster": ["id", "secret", "discovery", "clusterName", "controlPlane", "ca"],
                      "machine": ["kubelet", "nodeLabels", "nodeTaints", "nodeAnnotations"]}
# The schema of Talos <= 1.14.0 names this runtime kind without "Config" (see test_talos_layouts.py).
SCHEMA_KIND = {"UnattendedInstallConfig": "UnattendedInstall"}


def talosctl_for(version):
    """The talosctl of the Talos line of ``version``, as the collection selects it. No talosctl older than
    1.13 is built: the 1.13 one renders those lines with ``--talos-version``, as before (and is given to
    the test of an unsupported line, which fails before any talosctl runs)."""
    path = tools.talosctl_for(version)
    if path is None and tuple(int(x) for x in version.lstrip("v").split(".")[:2]) < (1, 13):
        path = tools.talosctl_for("v1.13")
    if path is None:
        reason = "no talosctl of the line of Talos %s is installed (run `make tools`)" % version
        if _ci():
            pytest.fail("CI: " + reason, pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture
def render(talosctl, secrets_bundle, tmp_path):
    def run(check=False, diff=False, **extra):
        extra_vars = {"talosctl_path": talosctl_for(extra.get("talos_version", "v1.13.9")),
                      "secrets_bundle": secrets_bundle[0], "dest": str(tmp_path / "edge.yaml")}
        extra_vars.update(extra)
        proc = run_playbook(PLAYBOOK, extra_vars, check=check, diff=diff)
        res = task_results(proc).get("Config") if proc.stdout.strip().startswith("{") else None
        return proc, res
    return run


def bundle_secrets(bundle):
    """Strings of the bundle that must never show up in any output."""
    return [bundle["cluster"]["secret"], bundle["secrets"]["bootstraptoken"], bundle["trustdinfo"]["token"],
            bundle["certs"]["os"]["key"], bundle["certs"]["k8s"]["key"], bundle["cluster"]["id"]]


def assert_no_secret(proc, bundle):
    out = proc.stdout + proc.stderr
    for secret in bundle_secrets(bundle):
        assert secret not in out


def docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def schema_problems(documents, schema_file):
    """Independent check: every document against its $defs entry of the official schema."""
    with open(schema_file) as f:
        schema = json.load(f)
    problems = []
    for doc in documents:
        kind = doc.get("kind")
        kinds = (kind, SCHEMA_KIND.get(kind))
        name = "v1alpha1.Config" if kind is None else next(
            (n for k in kinds for n, d in schema["$defs"].items()
             if k in ((d.get("properties") or {}).get("kind") or {}).get("enum", [])), None)
        if name is None:
            problems.append("no schema for %s" % kind)
            continue
        doc = dict((k, v) for k, v in doc.items() if k != "persist")  # docgen:nodoc, not in the schema
        if kind in SCHEMA_KIND and kind not in schema["$defs"][name]["properties"]["kind"]["enum"]:
            doc["kind"] = SCHEMA_KIND[kind]
        validator = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/" + name})
        problems += [e.message for e in validator.iter_errors(doc)]
    return problems


def find(documents, kind):
    return next(d for d in documents if d.get("kind") == kind)


def check_legacy_layout(documents, facts, version, secrets):
    """Talos <= 1.13: the edge settings in the v1alpha1 document (KubeSpan in its document from 1.13)."""
    main = next(d for d in documents if d.get("version") == "v1alpha1")
    machine = main["machine"]
    assert machine["nodeLabels"] == {"autoextender.io/pool": "hel1-a", "topology.kubernetes.io/zone": "hetzner-hel1",
                                     "node.kubernetes.io/instance-type": "cx22"}
    assert machine["nodeTaints"] == {"autoextender.io/edge": "true:NoSchedule"}
    assert machine["kubelet"]["nodeIP"]["validSubnets"] == ["0.0.0.0/0", "!10.0.0.0/8"]
    assert machine["kubelet"]["extraArgs"] == {"max-pods": "50"}  # JSON 6902 patch
    assert machine["sysctls"] == {"net.core.somaxconn": "65535"}  # strategic-merge patch
    assert machine["install"]["image"] == "factory.talos.dev/installer/%s:%s" % (SCHEMATIC, version)
    assert main["cluster"]["discovery"]["registries"] == {"kubernetes": {"disabled": True}, "service": {"disabled": False}}
    assert main["cluster"]["secret"] == secrets["cluster"]["secret"]
    if version.startswith("v1.13"):
        assert "network" not in machine
        assert facts["kubespan_layout"] == "KubeSpanConfig" and facts["layout"] == "kubespan_document"
        return find(documents, "KubeSpanConfig")
    assert not any(d.get("kind") == "KubeSpanConfig" for d in documents)
    assert facts["kubespan_layout"] == "machine.network.kubespan" and facts["layout"] == "legacy"
    return machine["network"]["kubespan"]


def check_documents_layout(documents, facts, version, secrets):
    """Talos 1.14: every edge setting in its document, and no deprecated field in v1alpha1."""
    main = next(d for d in documents if d.get("version") == "v1alpha1")
    for section, fields in DEPRECATED_IN_1_14.items():
        assert [f for f in fields if f in main.get(section, {})] == []
    assert sorted(main["machine"]) == ["ca", "certSANs", "features", "token", "type"]
    assert sorted(main["cluster"]) == ["token"]
    assert main["machine"]["features"]["nodeAddressSortAlgorithm"] == "v2"  # JSON 6902 patch
    node = find(documents, "KubeNodeConfig")
    assert node["labels"] == {"autoextender.io/pool": "hel1-a", "topology.kubernetes.io/zone": "hetzner-hel1",
                              "node.kubernetes.io/instance-type": "cx22"}
    assert node["taints"] == {"autoextender.io/edge": "true:NoSchedule"}
    assert node["nodeIP"]["validSubnets"] == ["0.0.0.0/0", "!10.0.0.0/8"]
    assert find(documents, "KubeletConfig")["extraArgs"] == {"max-pods": "50"}  # strategic merge into gen's document
    assert find(documents, "SysctlConfig")["params"] == {"net.core.somaxconn": "65535"}
    install = find(documents, "UnattendedInstallConfig")
    assert install["installer"]["image"] == "factory.talos.dev/installer/%s:%s" % (SCHEMATIC, version)
    assert install["provisioning"]["diskSelector"]["match"] == 'disk.dev_path == "/dev/sda"'
    assert [d["endpoint"] for d in documents if d.get("kind") == "DiscoveryServiceConfig"] == \
        ["https://discovery.talos.dev/"]
    identity = find(documents, "DiscoveryIdentityConfig")
    assert (identity["clusterID"], identity["clusterSecret"]) == (secrets["cluster"]["id"], secrets["cluster"]["secret"])
    assert find(documents, "KubeClusterConfig") == {"apiVersion": "v1alpha1", "kind": "KubeClusterConfig",
                                                    "clusterName": "home", "endpoint": "https://192.168.1.10:6443"}
    assert find(documents, "KubeAPIServerCAConfig")["acceptedCAs"][0].startswith("-----BEGIN CERTIFICATE-----")
    assert facts["layout"] == "documents" and facts["kubespan_layout"] == "KubeSpanConfig"
    assert facts["node_labels"] == node["labels"] and facts["install_image"] == install["installer"]["image"]
    return find(documents, "KubeSpanConfig")


@pytest.mark.parametrize("version", sorted(LINES))
def test_check_create_repeat_for_each_talos_line(render, talos_schema, secrets_bundle, tmp_path, version):
    schema = talos_schema[LINES[version]]
    dest = str(tmp_path / "edge.yaml")
    documents_layout = version.startswith("v1.14")
    args = dict(talos_version=version, schema_path=schema, patches=PATCHES_1_14 if documents_layout else PATCHES)

    proc, res = render(check=True, diff=True, **args)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert res["changed"] is True and not os.path.exists(dest)
    assert_no_secret(proc, secrets_bundle[1])
    assert "********" in res["diff"]["after"] and ("KubeNodeConfig" if documents_layout else "nodeLabels") in \
        res["diff"]["after"]

    proc, res = render(diff=True, **args)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert res["changed"] is True
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert_no_secret(proc, secrets_bundle[1])
    facts = res["talos_machine_config"]
    assert facts["size"] == os.path.getsize(dest) and facts["fits_hetzner_user_data"] is True

    # The real talosctl of the line and the official schema of the version both accept the file.
    talosctl = Talosctl(str(tmp_path))
    talosctl.path = talosctl_for(version)  # the line's own talosctl validates
    talosctl.run("validate", "--config", dest, "--mode", "cloud")
    documents = docs(dest)
    assert schema_problems(documents, schema) == []
    assert next(d for d in documents if d.get("version") == "v1alpha1")["machine"]["type"] == "worker"
    hostname = find(documents, "HostnameConfig")
    assert hostname["hostname"] == "hel1-a-1" and hostname["auto"] == "off"
    check = check_documents_layout if documents_layout else check_legacy_layout
    kubespan = check(documents, facts, version, secrets_bundle[1])
    assert kubespan["enabled"] is True and kubespan["mtu"] == 1412
    assert kubespan["filters"]["endpoints"][:2] == ["0.0.0.0/0", "!10.0.0.0/8"] and "!100.64.0.0/10" in \
        kubespan["filters"]["endpoints"]

    before = os.stat(dest)
    for check_mode in (True, False):
        proc, res = render(check=check_mode, **args)
        assert proc.returncode == 0 and res["changed"] is False
    after = os.stat(dest)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    # A wider mode is fixed without rewriting the content.
    os.chmod(dest, 0o644)
    proc, res = render(**args)
    assert res["changed"] is True and stat.S_IMODE(os.stat(dest).st_mode) == 0o600


def test_the_layouts_are_told_apart_by_the_official_schemas(render, talos_schema, tmp_path):
    proc, res = render(talos_version="v1.12.11", schema_path=talos_schema["v1.13"])
    assert proc.returncode != 0
    assert res["failure"]["kind"] == "validation"
    assert "Additional properties are not allowed ('network' was unexpected)" in res["msg"]
    assert not os.path.exists(str(tmp_path / "edge.yaml"))
    proc, res = render(talos_version="v1.13.9", schema_path=talos_schema["v1.12"])
    assert proc.returncode != 0 and "KubeSpanConfig: this document kind is not in" in res["msg"]
    # 1.13's fields are deprecated in 1.14 and gone from its (stricter) schema; 1.14's documents are new to 1.13.
    proc, res = render(talos_version="v1.13.9", schema_path=talos_schema["v1.14"])
    assert proc.returncode != 0 and "v1alpha1: cluster: Additional properties are not allowed" in res["msg"]
    proc, res = render(talos_version="v1.14.1", schema_path=talos_schema["v1.13"])
    assert proc.returncode != 0 and "KubeNodeConfig: this document kind is not in" in res["msg"]


def test_a_deprecated_field_in_a_1_14_config_is_refused_before_talosctl(render, tmp_path):
    """A JSON 6902 patch that writes machine.kubelet into a 1.14 config: the module names the document to patch."""
    patch = [[{"op": "add", "path": "/machine/kubelet", "value": {"extraArgs": {"max-pods": "50"}}}]]
    proc, res = render(talos_version="v1.14.1", patches=patch)
    assert proc.returncode != 0 and res["failure"]["kind"] == "validation"
    assert "machine.kubelet (patch the KubeletConfig or KubeNodeConfig document)" in res["msg"]
    assert not os.path.exists(str(tmp_path / "edge.yaml"))


def test_a_patch_that_breaks_validation_keeps_the_old_file(render, secrets_bundle, tmp_path):
    dest = str(tmp_path / "edge.yaml")
    proc, res = render(talos_version="v1.13.9")
    assert proc.returncode == 0
    with open(dest, "rb") as f:
        good = f.read()
    bad = [{"machine": {"kubelet": {"nodeIP": {"validSubnets": ["not-a-cidr"]}}}}]
    proc, res = render(talos_version="v1.13.9", patches=bad)
    assert proc.returncode != 0
    assert res["failure"]["kind"] == "command" and "talosctl validate" in res["msg"]
    assert "not-a-cidr" in res["failure"]["stderr"] and res["failure"]["rc"] != 0 and res["failure"]["cmd"]
    with open(dest, "rb") as f:
        assert f.read() == good
    assert_no_secret(proc, secrets_bundle[1])
    unknown_key = [{"machine": {"bogus": 1}}]
    proc, res = render(talos_version="v1.13.9", patches=unknown_key)
    assert proc.returncode != 0 and "apply patches[0] (strategic merge)" in res["msg"]
    assert_no_secret(proc, secrets_bundle[1])


@pytest.mark.parametrize("extra,kind,words", [
    ({"talos_version": "v1.13.9", "user_data_limit": 1000}, "too_large", "over the user-data limit of 1000 bytes"),
    ({"talos_version": "v1.13.9", "endpoint": "192.168.1.10:6443"}, "validation", "is not a control-plane endpoint"),
    ({"talos_version": "v1.10.7"}, "validation", "Talos v1.10.7 is not supported"),
    ({"talos_version": "v1.13.9", "secrets_bundle": "/nonexistent/secrets.yaml"}, "validation", "Cannot read secrets"),
])
def test_bad_input_writes_nothing(render, tmp_path, extra, kind, words):
    proc, res = render(**extra)
    assert proc.returncode != 0
    assert res["failure"]["kind"] == kind and words in res["msg"]
    assert not os.path.exists(str(tmp_path / "edge.yaml"))


def test_an_unchanged_config_is_reused_and_any_changed_input_renders_it_again(render, secrets_bundle, tmp_path):
    dest = tmp_path / "edge.yaml"
    record = tmp_path / "edge.yaml.inputs"
    talosctl = tmp_path / "talosctl"
    shutil.copy2(talosctl_for("v1.13.9"), talosctl)
    bundle = tmp_path / "bundle.yaml"
    shutil.copy2(secrets_bundle[0], bundle)

    def run(**extra):
        extra.setdefault("talosctl_path", str(talosctl))
        extra.setdefault("secrets_bundle", str(bundle))
        extra.setdefault("talos_version", "v1.13.9")
        proc, res = render(**extra)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        assert_no_secret(proc, secrets_bundle[1])
        return res["changed"], res["talos_machine_config"]["rendered"]

    assert run(check=True) == (True, True) and not record.exists()  # check mode writes no record either
    assert run() == (True, True)
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o600
    kept = json.loads(record.read_text())
    assert sorted(kept) == ["checksum", "inputs"] and all(len(v) == 64 for v in kept.values())
    assert run() == (False, False) and run(check=True) == (False, False)

    assert run(hostname="hel1-a-2") == (True, True), "a changed option renders"
    assert run(hostname="hel1-a-2") == (False, False)
    assert run(hostname="hel1-a-2", patches=PATCHES) == (True, True), "a changed patch renders"

    os.utime(talosctl)  # another talosctl build: rendered again, the same documents
    assert run(hostname="hel1-a-2", patches=PATCHES) == (False, True)

    text = dest.read_text().replace("hel1-a-2", "edited-by-hand")
    dest.write_text(text)
    assert run(hostname="hel1-a-2", patches=PATCHES) == (True, True), "a file edited by hand is rendered again"
    assert "edited-by-hand" not in dest.read_text()

    record.unlink()
    assert run(hostname="hel1-a-2", patches=PATCHES, cache=False) == (False, True) and not record.exists()
    assert run(hostname="hel1-a-2", patches=PATCHES) == (False, True) and record.exists()
    assert run(hostname="hel1-a-2", patches=PATCHES) == (False, False)

    Talosctl(str(tmp_path)).run("gen", "secrets", "--output-file", "new-bundle.yaml")
    shutil.copy2(tmp_path / "new-bundle.yaml", bundle)  # the same path, another cluster's secrets
    assert run(hostname="hel1-a-2", patches=PATCHES) == (True, True)
