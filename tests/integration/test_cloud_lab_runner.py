"""hack/lab_cloud.py: the lab cloud as a background process whose state survives a restart."""
import json
import os
import stat
import subprocess
import sys

from tests.conftest import require_tool
from tests.support.ansible import REPO

RUNNER = os.path.join(REPO, "hack", "lab_cloud.py")


def runner(*args):
    proc = subprocess.run([sys.executable, RUNNER] + list(args), capture_output=True, text=True, timeout=60,
                          check=False)
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


def test_start_status_restart_stop(tmp_path, monkeypatch):
    from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import make_provider
    from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
    from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
    require_tool("talos-api-sim")
    state_dir = str(tmp_path / "cloud")
    try:
        rc, started = runner("start", "--state-dir", state_dir)
        assert rc == 0 and started["enabled"] is True and started["url"].startswith("http://127.0.0.1:")
        config_path = os.path.join(state_dir, "cloud.json")
        assert stat.S_IMODE(os.stat(config_path).st_mode) == 0o600
        with open(config_path) as f:
            token = json.load(f)["token"]
        assert "token" not in started
        assert started["control_source"] == "127.0.0.1/32" and started["home_talos_api"] is None
        assert runner("status", "--state-dir", state_dir)[1]["pid"] == started["pid"]
        assert runner("start", "--state-dir", state_dir)[1]["pid"] == started["pid"]  # already running

        # The provider finds the lab through LAB_CLOUD_CONFIG alone.
        for var in ("LAB_CLOUD_URL", "LAB_CLOUD_TOKEN"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("LAB_CLOUD_CONFIG", config_path)
        spec = {"name": "talos", "talos_version": "v1.13.9", "schematic": "0" * 64, "arch": "amd64",
                "labels": base.ownership_labels("lab"), "source_url": "https://factory.talos.dev/image/x"}
        image = make_provider("lab", deadline=Deadline(30)).create_talos_image(spec, Deadline(30))
        assert stat.S_IMODE(os.stat(os.path.join(state_dir, "lab-state.json")).st_mode) == 0o600

        assert runner("stop", "--state-dir", state_dir)[0] == 0
        assert runner("status", "--state-dir", state_dir)[0] == 1
        rc, again = runner("start", "--state-dir", state_dir)
        assert rc == 0 and again["pid"] != started["pid"] and again["health_port"] == started["health_port"]
        with open(config_path) as f:
            assert json.load(f)["token"] == token
        images = make_provider("lab", deadline=Deadline(30)).list_images(base.ownership_labels("lab"))
        assert [i["id"] for i in images] == [image["id"]]
    finally:
        runner("stop", "--state-dir", state_dir)
