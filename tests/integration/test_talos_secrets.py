"""talos_secrets through ansible-playbook, with the real talosctl and real configs it generated."""
import hashlib
import os
import stat

import pytest
import yaml

from tests.support.ansible import run_playbook, task_results

PLAYBOOK = """---
- name: Keep the secrets bundle of a Talos cluster
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/talos.autoextender.talos:
      talosctl_path: "{{ talosctl_path }}"
      talosconfig: "{{ talosctl_workdir }}/talosconfig"
      nodes: [192.0.2.10]
  tasks:
    - name: Bundle
      talos.autoextender.talos_secrets:
        dest: "{{ dest }}"
        from_controlplane_config: "{{ controlplane | default(omit) }}"
        src: "{{ src | default(omit) }}"
        force: "{{ force | default(false) }}"
"""
# A token we plant in a broken config: it must never show up in any output.
PLANTED = "PLANTED-SECRET-7f3a9c1e5b"


@pytest.fixture
def bed(talosctl, tmp_path):
    """A playbook, and a real multi-document controlplane config from `talosctl gen config`."""
    playbook = tmp_path / "secrets.yml"
    playbook.write_text(PLAYBOOK)
    controlplane = generate_controlplane(talosctl, "home", "controlplane.yaml.txt")

    def run(check=False, **extra):
        extra_vars = {"talosctl_path": talosctl.path, "talosctl_workdir": talosctl.workdir}
        extra_vars.update(extra)
        proc = run_playbook(str(playbook), extra_vars, check=check)
        return proc, (task_results(proc).get("Bundle") if proc.stdout.strip().startswith("{") else None)

    return run, controlplane


def generate_controlplane(talosctl, name, filename):
    talosctl.run("gen", "config", name, "https://192.0.2.1:6443", "--output-types", "controlplane",
                 "--output", filename)
    return os.path.join(talosctl.workdir, filename)


def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def v1alpha1(path):
    return next(d for d in load_docs(path) if d.get("version") == "v1alpha1")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def assert_bundle_matches(bundle_path, controlplane_path):
    """The bundle holds exactly the secrets of the controlplane config."""
    b = load_docs(bundle_path)[0]
    c = v1alpha1(controlplane_path)
    assert b["cluster"]["id"] == c["cluster"]["id"]
    assert b["cluster"]["secret"] == c["cluster"]["secret"]
    assert b["secrets"]["bootstraptoken"] == c["cluster"]["token"]
    assert b["secrets"]["secretboxencryptionsecret"] == c["cluster"]["secretboxEncryptionSecret"]
    assert b["trustdinfo"]["token"] == c["machine"]["token"]
    assert b["certs"]["os"] == c["machine"]["ca"]
    assert b["certs"]["k8s"] == c["cluster"]["ca"]
    assert b["certs"]["etcd"] == c["cluster"]["etcd"]["ca"]
    assert b["certs"]["k8saggregator"] == c["cluster"]["aggregatorCA"]
    assert b["certs"]["k8sserviceaccount"]["key"] == c["cluster"]["serviceAccount"]["key"]


def failed_output(proc):
    assert proc.returncode != 0, proc.stdout[-3000:]
    return proc.stdout + proc.stderr


def test_from_controlplane_config_check_create_repeat(bed, tmp_path):
    run, controlplane = bed
    assert [d.get("kind", "v1alpha1") for d in load_docs(controlplane)] == ["v1alpha1", "HostnameConfig"]
    dest = str(tmp_path / "private" / "secrets.yaml")
    os.mkdir(os.path.dirname(dest))

    proc, res = run(check=True, dest=dest, controlplane=controlplane)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert res["changed"] is True and res["talos_secrets"]["path"] == dest
    assert not os.path.exists(dest)

    proc, res = run(dest=dest, controlplane=controlplane)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert res["changed"] is True
    assert mode(dest) == 0o600
    assert res["talos_secrets"] == {"path": dest, "checksum": sha256(dest)}
    assert_bundle_matches(dest, controlplane)
    # Nothing but the bundle is left behind next to it.
    assert os.listdir(os.path.dirname(dest)) == ["secrets.yaml"]
    # The check run predicted the same file.
    checked = run(check=True, dest=dest, controlplane=controlplane)[1]
    assert checked["changed"] is False and checked["talos_secrets"]["checksum"] == sha256(dest)

    before = os.stat(dest)
    proc, res = run(dest=dest, controlplane=controlplane)
    assert res["changed"] is False and res["talos_secrets"]["checksum"] == sha256(dest)
    after = os.stat(dest)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    # A wider mode is put back to 0600 (predicted in check mode, without touching it).
    os.chmod(dest, 0o644)
    res = run(check=True, dest=dest, controlplane=controlplane)[1]
    assert res["changed"] is True and mode(dest) == 0o644
    res = run(dest=dest, controlplane=controlplane)[1]
    assert res["changed"] is True and mode(dest) == 0o600
    assert os.stat(dest).st_mtime_ns == before.st_mtime_ns


def test_other_documents_are_stripped_before_talosctl_sees_them(bed, talosctl, tmp_path):
    run, controlplane = bed
    # A document talosctl does not know (say, from a newer Talos) makes the raw command fail ...
    extended = tmp_path / "extended.yaml"
    with open(controlplane) as f:
        extended.write_text(f.read() + "---\napiVersion: v1alpha1\nkind: FutureConfig\nname: x\n")
    raw = talosctl.run("gen", "secrets", "--from-controlplane-config", str(extended), "--output-file", "raw.yaml",
                       check=False)
    assert raw.returncode != 0 and "FutureConfig" in raw.stderr
    # ... the module passes only the v1alpha1 document.
    dest = str(tmp_path / "secrets.yaml")
    proc, res = run(dest=dest, controlplane=str(extended))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert res["changed"] is True
    assert_bundle_matches(dest, controlplane)


def test_a_different_bundle_is_never_replaced_without_force(bed, talosctl, tmp_path):
    run, controlplane = bed
    dest = str(tmp_path / "secrets.yaml")
    assert run(dest=dest, controlplane=controlplane)[0].returncode == 0
    original = sha256(dest)
    other = generate_controlplane(talosctl, "other", "other-controlplane.yaml")

    for check in (True, False):
        proc, res = run(check=check, dest=dest, controlplane=other)
        failed_output(proc)
        assert res["failure"]["kind"] == "conflict" and "force" in res["msg"]
        assert sha256(dest) == original

    res = run(check=True, dest=dest, controlplane=other, force=True)[1]
    assert res["changed"] is True and sha256(dest) == original
    proc, res = run(dest=dest, controlplane=other, force=True)
    assert res["changed"] is True and sha256(dest) != original
    assert_bundle_matches(dest, other)
    assert mode(dest) == 0o600
    # force with the same content changes nothing.
    assert run(dest=dest, controlplane=other, force=True)[1]["changed"] is False


def test_broken_config_fails_without_printing_a_secret(bed, talosctl, tmp_path):
    run, controlplane = bed
    real = v1alpha1(controlplane)
    with open(controlplane) as f:
        text = f.read()
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("version: v1alpha1", "version: v1alpha1\nbogusfield: %s" % PLANTED, 1))
    # The test can fail: talosctl itself echoes the planted token on this config.
    raw = talosctl.run("gen", "secrets", "--from-controlplane-config", str(broken), "--output-file", "raw.yaml",
                       check=False)
    assert raw.returncode != 0 and PLANTED in raw.stderr

    dest = str(tmp_path / "secrets.yaml")
    for check in (True, False):
        proc, res = run(check=check, dest=dest, controlplane=str(broken))
        output = failed_output(proc)
        for secret in (PLANTED, real["machine"]["token"], real["cluster"]["secret"], real["cluster"]["token"],
                       real["machine"]["ca"]["key"]):
            assert secret not in output
        assert res["failure"]["kind"] == "command"
        assert res["failure"]["rc"] != 0 and res["failure"]["cmd"][1:3] == ["gen", "secrets"]
        assert "withheld" in res["msg"] and str(broken) in res["msg"]
        assert not os.path.exists(dest)


def test_worker_config_and_garbage_are_refused_clearly(bed, talosctl, tmp_path):
    run, _controlplane = bed
    talosctl.run("gen", "config", "home", "https://192.0.2.1:6443", "--output-types", "worker",
                 "--output", "worker.yaml")
    worker = os.path.join(talosctl.workdir, "worker.yaml")
    token = v1alpha1(worker)["machine"]["token"]
    dest = str(tmp_path / "secrets.yaml")
    proc, res = run(dest=dest, controlplane=worker)
    assert token not in failed_output(proc)
    assert res["failure"]["kind"] == "validation" and "not a controlplane config" in res["msg"]

    garbage = tmp_path / "garbage.yaml"
    garbage.write_text("version: v1alpha1\nmachine:\n  token: [%s\n" % PLANTED)
    proc, res = run(dest=dest, controlplane=str(garbage))
    assert PLANTED not in failed_output(proc)
    assert res["failure"]["kind"] == "validation" and "not valid YAML" in res["msg"]

    proc, res = run(dest=dest, controlplane=str(tmp_path / "missing.yaml"))
    failed_output(proc)
    assert "Cannot read controlplane config" in res["msg"]
    assert not os.path.exists(dest)


def test_src_bundle_is_validated_and_copied(bed, talosctl, tmp_path):
    run, controlplane = bed
    talosctl.run("gen", "secrets", "--from-controlplane-config", controlplane, "--output-file", "kept.yaml")
    src = os.path.join(talosctl.workdir, "kept.yaml")
    dest = str(tmp_path / "copy.yaml")

    proc, res = run(check=True, dest=dest, src=src)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert res["changed"] is True and not os.path.exists(dest)
    res = run(dest=dest, src=src)[1]
    assert res["changed"] is True and res["talos_secrets"]["checksum"] == sha256(src)
    with open(src, "rb") as a, open(dest, "rb") as b:
        assert a.read() == b.read()
    assert mode(dest) == 0o600
    assert run(dest=dest, src=src)[1]["changed"] is False
    assert run(check=True, dest=dest, src=src)[1]["changed"] is False

    # The same secrets formatted differently are the same bundle: not changed, not rewritten.
    reformatted = tmp_path / "reformatted.yaml"
    reformatted.write_text(yaml.safe_dump(load_docs(src)[0], default_flow_style=True))
    res = run(dest=dest, src=str(reformatted))[1]
    assert res["changed"] is False and res["talos_secrets"]["checksum"] == sha256(src)

    # An incomplete bundle is refused with the missing field named, and no value printed.
    incomplete = load_docs(src)[0]
    os_key = incomplete["certs"]["os"].pop("key")
    bad = tmp_path / "incomplete.yaml"
    bad.write_text(yaml.safe_dump(incomplete))
    proc, res = run(dest=str(tmp_path / "other.yaml"), src=str(bad))
    output = failed_output(proc)
    assert os_key not in output and incomplete["cluster"]["secret"] not in output
    assert res["failure"] == {"kind": "validation", "path": str(bad), "missing": ["certs.os.key"]}
    assert not os.path.exists(str(tmp_path / "other.yaml"))


def test_src_and_from_controlplane_config_are_exclusive(bed, tmp_path):
    run, controlplane = bed
    proc, res = run(dest=str(tmp_path / "s.yaml"), src=controlplane, controlplane=controlplane)
    failed_output(proc)
    assert "mutually exclusive" in res["msg"]
