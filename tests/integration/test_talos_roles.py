"""The talos_join_config and kubespan roles through ansible-playbook with the real talosctl."""
import json
import os
import stat

import jsonschema
import pytest
import yaml

from tests.integration.test_talos_machine_config import schema_problems, talosctl_for
from tests.integration.test_talos_node_modules import closed_port
from tests.integration.test_talos_secrets import generate_controlplane
from tests.support.ansible import run_playbook

HERE = os.path.join(os.path.dirname(__file__), "playbooks")
POOL = {"name": "hel1-a", "provider": "hetzner", "location": "hel1", "server_type": "cx22", "count": 2,
        "join": "user_data"}


def all_results(proc):
    """``[(task name, host result)]`` in order, every host result of every task."""
    data = json.loads(proc.stdout)
    return [(t["task"]["name"], r) for play in data["plays"] for t in play["tasks"] for r in t["hosts"].values()]


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


@pytest.fixture
def join_bed(talosctl, talos_schema, tmp_path):
    controlplane = generate_controlplane(talosctl, "home", "controlplane.yaml")
    work = str(tmp_path / "join")

    def run(**extra):
        extra_vars = {"talosctl_path": talosctl.path, "controlplane": controlplane, "work_dir": work,
                      "schema_path": talos_schema["v1.13"], "talos_version": "v1.13.9", "pool": POOL}
        extra_vars.update(extra)
        return run_playbook(os.path.join(HERE, "talos_join_config.yml"), extra_vars)
    return run, work, controlplane


def test_join_config_role_renders_one_private_config_per_node(join_bed, talosctl):
    run, work, controlplane = join_bed
    proc = run()
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert stat.S_IMODE(os.stat(work).st_mode) == 0o700
    # each config with the digests of its inputs
    assert sorted(os.listdir(work)) == [
        "hel1-a-1.yaml", "hel1-a-1.yaml.inputs", "hel1-a-2.yaml", "hel1-a-2.yaml.inputs", "secrets.yaml"]
    cluster_secret = next(d for d in load(controlplane) if d.get("version") == "v1alpha1")["cluster"]["secret"]
    assert cluster_secret not in proc.stdout + proc.stderr
    for i in (1, 2):
        path = os.path.join(work, "hel1-a-%d.yaml" % i)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        talosctl.run("validate", "--config", path, "--mode", "cloud")
        documents = load(path)
        main = documents[0]
        assert main["cluster"]["secret"] == cluster_secret  # joins the existing cluster
        assert main["machine"]["nodeLabels"]["topology.kubernetes.io/zone"] == "hetzner-hel1"
        assert main["machine"]["nodeLabels"]["autoextender.io/pool"] == "hel1-a"
        assert main["machine"]["kubelet"]["image"].endswith(":v1.36.3")
        assert next(d for d in documents if d.get("kind") == "HostnameConfig")["hostname"] == "hel1-a-%d" % i
        assert next(d for d in documents if d.get("kind") == "KubeSpanConfig")["mtu"] == 1412
    facts = [r["ansible_facts"]["talos_join_config_configs"] for name, r in all_results(proc)
             if name.endswith("Publish the rendered configs")][0]
    assert [(f["hostname"], f["path"]) for f in facts] == [("hel1-a-%d" % i, os.path.join(work, "hel1-a-%d.yaml" % i))
                                                           for i in (1, 2)]
    assert all(f["size"] == os.path.getsize(f["path"]) for f in facts)

    again = run()
    assert again.returncode == 0
    assert not any(r.get("changed") for dummy, r in all_results(again))

    # One more node: one task renders its config and reuses the other two (their inputs do not include the list).
    grown = run(pool=dict(POOL, count=3))
    assert grown.returncode == 0, grown.stdout[-4000:]
    rendered = [r for name, r in all_results(grown) if name.endswith("Render one join config per node")][0]
    assert [(c["hostname"], c["rendered"]) for c in rendered["talos_machine_config"]["configs"]] == [
        ("hel1-a-1", False), ("hel1-a-2", False), ("hel1-a-3", True)]


def test_join_config_role_renders_talos_1_14_documents(talosctl, talos_schema, tmp_path):
    """A home cluster on Talos 1.14 (its controlplane config in the 1.14 layout): the join configs carry the
    new documents only, and the cluster's identity comes from its DiscoveryIdentityConfig."""
    talosctl.path = talosctl_for("v1.14.1")
    talosctl.run("gen", "config", "home", "https://192.0.2.1:6443", "--output-types", "controlplane",
                 "--talos-version", "v1.14", "--output", "controlplane.yaml")
    controlplane = os.path.join(talosctl.workdir, "controlplane.yaml")
    identity = next(d for d in load(controlplane) if d.get("kind") == "DiscoveryIdentityConfig")
    work = str(tmp_path / "join")
    proc = run_playbook(os.path.join(HERE, "talos_join_config.yml"), {
        "talosctl_path": talosctl.path, "controlplane": controlplane, "work_dir": work, "pool": POOL,
        "schema_path": talos_schema["v1.14"], "talos_version": "v1.14.1"})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert identity["clusterSecret"] not in proc.stdout + proc.stderr
    for i in (1, 2):
        path = os.path.join(work, "hel1-a-%d.yaml" % i)
        talosctl.run("validate", "--config", path, "--mode", "cloud")
        documents = load(path)
        assert schema_problems(documents, talos_schema["v1.14"]) == []
        main = documents[0]
        assert "secret" not in main["cluster"] and "nodeLabels" not in main["machine"]
        kinds = dict((d.get("kind"), d) for d in documents[1:])
        assert kinds["DiscoveryIdentityConfig"]["clusterSecret"] == identity["clusterSecret"]  # joins that cluster
        assert kinds["KubeNodeConfig"]["labels"]["autoextender.io/pool"] == "hel1-a"
        assert kinds["KubeletConfig"]["image"].endswith(":v1.36.3")
        assert kinds["HostnameConfig"]["hostname"] == "hel1-a-%d" % i and kinds["KubeSpanConfig"]["mtu"] == 1412


def test_join_config_role_puts_the_floating_addresses_on_lo_of_every_node(join_bed, talosctl):
    run, work, dummy = join_bed
    proc = run(floating_addresses=["203.0.113.7", "2001:db8:0:1::1"])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    for i in (1, 2):
        path = os.path.join(work, "hel1-a-%d.yaml" % i)
        talosctl.run("validate", "--config", path, "--mode", "cloud")
        link = [d for d in load(path) if d.get("kind") == "LinkConfig"]
        assert link == [{"apiVersion": "v1alpha1", "kind": "LinkConfig", "name": "lo",
                         "addresses": [{"address": "2001:db8:0:1::1/128"}, {"address": "203.0.113.7/32"}]}]


def test_join_config_role_enforces_the_user_data_limit_only_for_user_data(join_bed):
    run, work, dummy = join_bed
    proc = run(limits={"hetzner": 1000})
    assert proc.returncode != 0
    failed = [r for dummy, r in all_results(proc) if r.get("failed")]
    assert failed and "over the user-data limit of 1000 bytes" in json.dumps(failed)
    assert not any(name.startswith("hel1-a") for name in os.listdir(work))
    proc = run(limits={"hetzner": 1000}, pool=dict(POOL, join="maintenance"))
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.mark.parametrize("version,schema_line,home_line", [
    ("v1.12.11", "v1.12", "v1.12"), ("v1.13.9", "v1.13", "v1.13"), ("v1.14.1", "v1.14", "v1.14"),
    # a home cluster upgraded to 1.14 keeps its 1.13-style config: the patch moves discovery to the document
    ("v1.14.1", "v1.14", "v1.13"),
])
def test_kubespan_role_patch_fits_the_home_configs_and_the_node_is_asked_first(
        talosctl, talos_schema, secrets_bundle, tmp_path, version, schema_line, home_line):
    talosctl.path = talosctl_for(version)
    talosctl.run("gen", "config", "home", "https://192.168.1.10:6443", "--with-secrets", secrets_bundle[0],
                 "--output-types", "controlplane,talosconfig", "--talos-version", home_line,
                 "--with-docs=false", "--with-examples=false", "--output", "home")
    home = os.path.join(talosctl.workdir, "home")
    extra = {"talosctl_path": talosctl.path, "talosconfig": os.path.join(home, "talosconfig"), "node": "127.0.0.1",
             "endpoint": "127.0.0.1:%d" % closed_port(), "talos_version": version}
    proc = run_playbook(os.path.join(HERE, "talos_kubespan.yml"), extra)
    results = all_results(proc)
    patches = [r["ansible_facts"]["_kubespan_patches"] for name, r in results if "Build the KubeSpan" in name][0]
    # The node is asked first (dry run); it is not there: a clear error, nothing applied.
    dry = [r for name, r in results if "Ask each home node" in name][0]
    assert proc.returncode != 0 and dry["failed"] is True
    failure = dry["results"][0]["failure"]
    assert failure["kind"] == "unreachable" and "--dry-run" in failure["cmd"] and failure["cmd"][1] == "patch"
    assert not any("Apply the patch" in name for name, dummy in results)

    # The role's patch, applied to a real home controlplane config, passes talosctl and the official schema.
    patch_files = []
    for i, patch in enumerate(patches):
        path = tmp_path / ("patch-%d.yaml" % i)
        path.write_text(yaml.safe_dump(patch))
        patch_files += ["--patch", "@%s" % path]
    talosctl.run("machineconfig", "patch", os.path.join(home, "controlplane.yaml"), *patch_files, "--output", "patched.yaml")
    patched = os.path.join(talosctl.workdir, "patched.yaml")
    talosctl.run("validate", "--config", patched, "--mode", "metal")
    documents = load(patched)
    with open(talos_schema[schema_line]) as f:
        schema = json.load(f)
    main = documents[0]
    if schema_line != "v1.12":
        kubespan = next(d for d in documents if d.get("kind") == "KubeSpanConfig")
        validator = jsonschema.Draft202012Validator({"$defs": schema["$defs"],
                                                    "$ref": "#/$defs/network.KubeSpanConfigV1Alpha1"})
        assert list(validator.iter_errors(kubespan)) == []
    else:
        kubespan = main["machine"]["network"]["kubespan"]
    assert kubespan["enabled"] is True and kubespan["mtu"] == 1412
    assert kubespan["filters"]["endpoints"] == ["0.0.0.0/0", "!100.64.0.0/10", "::/0"]
    if schema_line == "v1.14":
        assert "discovery" not in main["cluster"]
        assert [(d["name"], d["endpoint"]) for d in documents if d.get("kind") == "DiscoveryServiceConfig"] == \
            [("default", "https://discovery.talos.dev/")]
    else:
        assert main["cluster"]["discovery"]["registries"]["kubernetes"] == {"disabled": True}
    if home_line != schema_line:
        return  # an upgraded config keeps other 1.13 fields the 1.14 schema no longer lists (test_talos_layouts)
    if schema_line == "v1.14":
        assert schema_problems(documents, talos_schema["v1.14"]) == []
    main = dict((k, v) for k, v in main.items() if k != "persist")
    validator = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/v1alpha1.Config"})
    assert [e.message for e in validator.iter_errors(main)] == []
