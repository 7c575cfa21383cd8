"""The real talosctl, offline: secrets, a worker config, cloud-mode validation."""
import os

import yaml


def test_gen_secrets_worker_config_and_validate(talosctl):
    talosctl.run("gen", "secrets", "--output-file", "secrets.yaml")
    assert os.stat(os.path.join(talosctl.workdir, "secrets.yaml")).st_mode & 0o077 == 0

    talosctl.run("gen", "config", "home", "https://192.0.2.1:6443", "--with-secrets", "secrets.yaml",
                 "--output-types", "worker", "--with-examples=false", "--with-docs=false",
                 "--output", "worker.yaml")
    path = os.path.join(talosctl.workdir, "worker.yaml")
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    v1alpha1 = next(d for d in docs if d.get("version") == "v1alpha1")
    assert v1alpha1["machine"]["type"] == "worker"
    assert v1alpha1["cluster"]["controlPlane"]["endpoint"] == "https://192.0.2.1:6443"
    # Without examples and docs the config fits Hetzner's 32 KiB user-data limit.
    assert os.path.getsize(path) < 32 * 1024

    ok = talosctl.run("validate", "--config", "worker.yaml", "--mode", "cloud")
    assert ok.returncode == 0


def test_validate_rejects_a_broken_config(talosctl, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: v1alpha1\nmachine:\n  type: worker\n  token: ''\ncluster: {}\n")
    proc = talosctl.run("validate", "--config", str(bad), "--mode", "cloud", check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip()
