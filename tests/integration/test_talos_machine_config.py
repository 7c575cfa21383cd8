"""talos_machine_config through ansible-playbook with the real talosctl, checked by talosctl and the official schemas."""
import json
import os
import stat

import jsonschema
import pytest
import yaml

from tests.support.ansible import run_playbook, task_results

PLAYBOOK = os.path.join(os.path.dirname(__file__), "playbooks", "talos_machine_config.yml")
SCHEMATIC = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"
PATCHES = [
    {"machine": {"sysctls": {"net.core.somaxconn": "65535"}}},
    [{"op": "add", "path": "/machine/kubelet/extraArgs", "value": {"max-pods": "50"}}],
]
LINES = {"v1.12.11": "v1.12", "v1.13.9": "v1.13"}


@pytest.fixture
def render(talosctl, secrets_bundle, tmp_path):
    def run(check=False, diff=False, **extra):
        extra_vars = {"talosctl_path": talosctl.path, "secrets_bundle": secrets_bundle[0],
                      "dest": str(tmp_path / "edge.yaml")}
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
        name = "v1alpha1.Config" if kind is None else next(
            (n for n, d in schema["$defs"].items() if kind in ((d.get("properties") or {}).get("kind") or {}).get("enum", [])),
            None)
        if name is None:
            problems.append("no schema for %s" % kind)
            continue
        doc = dict((k, v) for k, v in doc.items() if k != "persist")  # docgen:nodoc, not in the schema
        validator = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/" + name})
        problems += [e.message for e in validator.iter_errors(doc)]
    return problems


@pytest.mark.parametrize("version", sorted(LINES))
def test_check_create_repeat_for_each_talos_line(render, talosctl, talos_schema, secrets_bundle, tmp_path, version):
    schema = talos_schema[LINES[version]]
    dest = str(tmp_path / "edge.yaml")
    args = dict(talos_version=version, schema_path=schema, patches=PATCHES)

    proc, res = render(check=True, diff=True, **args)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert res["changed"] is True and not os.path.exists(dest)
    assert_no_secret(proc, secrets_bundle[1])
    assert "********" in res["diff"]["after"] and "nodeLabels" in res["diff"]["after"]

    proc, res = render(diff=True, **args)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert res["changed"] is True
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert_no_secret(proc, secrets_bundle[1])
    facts = res["talos_machine_config"]
    assert facts["size"] == os.path.getsize(dest) and facts["fits_hetzner_user_data"] is True

    # The real talosctl and the official schema both accept the file.
    talosctl.run("validate", "--config", dest, "--mode", "cloud")
    documents = docs(dest)
    assert schema_problems(documents, schema) == []

    main = next(d for d in documents if d.get("version") == "v1alpha1")
    machine = main["machine"]
    assert machine["type"] == "worker"
    assert machine["nodeLabels"] == {"autoextender.io/pool": "hel1-a", "topology.kubernetes.io/zone": "hetzner-hel1",
                                     "node.kubernetes.io/instance-type": "cx22"}
    assert machine["nodeTaints"] == {"autoextender.io/edge": "true:NoSchedule"}
    assert machine["kubelet"]["nodeIP"]["validSubnets"] == ["0.0.0.0/0", "!10.0.0.0/8"]
    assert machine["kubelet"]["extraArgs"] == {"max-pods": "50"}  # JSON 6902 patch
    assert machine["sysctls"] == {"net.core.somaxconn": "65535"}  # strategic-merge patch
    assert machine["install"]["image"] == "factory.talos.dev/installer/%s:%s" % (SCHEMATIC, version)
    assert main["cluster"]["discovery"]["registries"] == {"kubernetes": {"disabled": True}, "service": {"disabled": False}}
    assert main["cluster"]["secret"] == secrets_bundle[1]["cluster"]["secret"]
    hostname = next(d for d in documents if d.get("kind") == "HostnameConfig")
    assert hostname["hostname"] == "hel1-a-1" and hostname["auto"] == "off"
    if version.startswith("v1.13"):
        assert "network" not in machine
        kubespan = next(d for d in documents if d.get("kind") == "KubeSpanConfig")
        assert facts["kubespan_layout"] == "KubeSpanConfig"
    else:
        assert not any(d.get("kind") == "KubeSpanConfig" for d in documents)
        kubespan = machine["network"]["kubespan"]
        assert facts["kubespan_layout"] == "machine.network.kubespan"
    assert kubespan["enabled"] is True and kubespan["mtu"] == 1412
    assert kubespan["filters"]["endpoints"][:2] == ["0.0.0.0/0", "!10.0.0.0/8"] and "!100.64.0.0/10" in \
        kubespan["filters"]["endpoints"]

    before = os.stat(dest)
    for check in (True, False):
        proc, res = render(check=check, **args)
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
