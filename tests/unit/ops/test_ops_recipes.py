"""The AWX, Semaphore and CronJob recipes agree with each other and with the collection."""
import glob
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from tests.unit.ops.recipes import EXTRAS, REPO, WORKFLOWS, load_yaml, semaphore_project, semaphore_secret_names

CRONJOB = os.path.join(EXTRAS, "cronjob")


def test_kustomization_lists_every_manifest_once():
    resources = load_yaml("extras", "cronjob", "kustomization.yaml")["resources"]
    files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(CRONJOB, "*.yaml")))
    assert sorted(resources) == [f for f in files if f != "kustomization.yaml"]
    assert len(set(resources)) == len(resources)
    for name in resources:
        with open(os.path.join(CRONJOB, name)) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        assert len(docs) == 1, name


def test_every_scheduler_runs_the_same_workflows_and_failover_every_two_minutes():
    awx = load_yaml("extras", "awx", "vars", "settings.yml")
    assert [w["name"] for w in awx["autoextender_awx_workflows"]] == WORKFLOWS
    assert "FREQ=MINUTELY;INTERVAL=2" in awx["autoextender_awx_failover_rrule"]
    templates = semaphore_project()["templates"]
    assert [t["playbook"] for t in templates] == ["playbooks/%s.yml" % w for w in WORKFLOWS]
    crons = {t["playbook"]: t["cron"] for t in templates if t["cron"]}
    assert crons == {"playbooks/failover.yml": "*/2 * * * *"}
    cronjob = load_yaml("extras", "cronjob", "cronjob.yaml")
    assert cronjob["spec"]["schedule"] == "*/2 * * * *"


def test_the_workflow_playbooks_exist():
    missing = [w for w in WORKFLOWS if not os.path.isfile(os.path.join(REPO, "playbooks", w + ".yml"))]
    if missing and os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
        pytest.skip("workflow playbooks not written yet (issue 7): %s" % ", ".join(missing))
    assert missing == []


def test_semaphore_project_references_resolve():
    project = semaphore_project()
    names = {kind: {o["name"] for o in project[kind]} for kind in ("inventories", "repositories", "environments", "keys")}
    views = {v["title"] for v in project["views"]}
    for template in project["templates"]:
        assert template["inventory"] in names["inventories"]
        assert template["repository"] in names["repositories"]
        assert template["environment"] in names["environments"]
        assert template["view"] in views
        assert template["app"] == "ansible"
        assert isinstance(json.loads(template["arguments"]), list)
    for item in project["repositories"] + project["inventories"]:
        assert item["ssh_key"] in names["keys"]
    assert {i["type"] for i in project["inventories"]} <= {"static", "static-yaml", "file"}
    assert project["meta"]["max_parallel_tasks"] == 1  # one workflow at a time, like concurrencyPolicy Forbid


def test_cronjob_edge_nodes_inventory_uses_only_options_of_the_plugin():
    configmap = load_yaml("extras", "cronjob", "inventory-configmap.yaml")
    config = yaml.safe_load(configmap["data"]["edge_nodes.yml"])
    doc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "-t", "inventory", "--json",
                          "talos.autoextender.edge_nodes"], capture_output=True, text=True, timeout=120, check=False,
                         env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections")))
    assert doc.returncode == 0, doc.stderr
    options = json.loads(doc.stdout)["talos.autoextender.edge_nodes"]["doc"]["options"]
    assert set(config) <= set(options), set(config) - set(options)
    assert config["plugin"] in options["plugin"]["choices"]
    providers = options["providers"]["suboptions"]["name"]["choices"]
    assert all(p["name"] in providers for p in config["providers"])


class _Semaphore(BaseHTTPRequestHandler):
    """A recording stand-in for the few Semaphore API calls setup.sh makes (not a Semaphore check:
    it checks what the script sends). Routes and bodies follow Semaphore's api-docs.yml (v2.16)."""

    calls = []

    def log_message(self, *args):
        pass

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.calls.append((self.command, self.path, self.headers.get("Authorization"), body))
        if self.headers.get("Authorization") != "Bearer api-token":
            return self._reply(401, {"error": "unauthorized"})
        routes = {
            ("GET", "/api/projects"): (200, [{"id": 1, "name": "other"}]),
            ("POST", "/api/projects/restore"): (200, {"id": 7, "name": "talos-autoextender"}),
            ("GET", "/api/project/7/environment"): (200, [{"id": 3, "name": "talos-autoextender", "project_id": 7,
                                                           "json": "{}", "env": '{"TALOSCONFIG": "/x"}'}]),
            ("PUT", "/api/project/7/environment/3"): (204, {}),
        }
        status, reply = routes.get((self.command, self.path), (404, {"error": "no route"}))
        return self._reply(status, reply)

    do_GET = do_POST = do_PUT = _handle


@pytest.fixture
def semaphore():
    _Semaphore.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Semaphore)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1], _Semaphore.calls
    server.shutdown()
    server.server_close()


def test_semaphore_setup_restores_the_project_and_stores_only_the_set_credentials(semaphore):
    url, calls = semaphore
    env = {"PATH": os.environ["PATH"], "SEMAPHORE_URL": url, "SEMAPHORE_API_TOKEN": "api-token",
           "GIT_URL": "https://git.example.com/me/homelab.git", "INVENTORY_DIR": "inventories/home",
           "HCLOUD_TOKEN": "hc-secret", "CLOUDFLARE_API_TOKEN": "cf-secret"}
    proc = subprocess.run(["sh", os.path.join(EXTRAS, "semaphore", "setup.sh")], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [(m, p) for m, p, dummy, dummy2 in calls] == [
        ("GET", "/api/projects"), ("POST", "/api/projects/restore"), ("GET", "/api/project/7/environment"),
        ("PUT", "/api/project/7/environment/3")]
    assert all(auth == "Bearer api-token" for dummy, dummy2, auth, dummy3 in calls)
    restored = calls[1][3]
    assert restored["repositories"][0]["git_url"] == "https://git.example.com/me/homelab.git"
    assert restored["inventories"][0]["inventory"] == "inventories/home/hosts.yml"
    assert "@" not in json.dumps(restored).replace("example.com", "")
    put = calls[3][3]
    assert put["id"] == 3 and put["project_id"] == 7 and put["env"] == '{"TALOSCONFIG": "/x"}'
    stored = {s["name"]: s["secret"] for s in put["secrets"]}
    assert stored == {"HCLOUD_TOKEN": "hc-secret", "CLOUDFLARE_API_TOKEN": "cf-secret"}
    assert all(s["type"] == "env" and s["operation"] == "create" for s in put["secrets"])
    assert {s["name"] for s in put["secrets"]} <= semaphore_secret_names()
    assert "hc-secret" not in proc.stdout + proc.stderr


def test_semaphore_setup_refuses_to_overwrite_an_existing_project(semaphore):
    url, calls = semaphore
    _Semaphore.calls = calls
    env = {"PATH": os.environ["PATH"], "SEMAPHORE_URL": url, "SEMAPHORE_API_TOKEN": "api-token"}
    original = _Semaphore._handle

    def existing(self):
        if self.command == "GET" and self.path == "/api/projects":
            self.calls.append((self.command, self.path, None, None))
            return self._reply(200, [{"id": 7, "name": "talos-autoextender"}])
        return original(self)

    _Semaphore.do_GET = existing
    try:
        proc = subprocess.run(["sh", os.path.join(EXTRAS, "semaphore", "setup.sh")], env=env, capture_output=True,
                              text=True, timeout=60, check=False)
    finally:
        _Semaphore.do_GET = original
    assert proc.returncode != 0 and "exists already" in proc.stderr
    assert [m for m, dummy, dummy2, dummy3 in calls] == ["GET"]
