"""provision.yml and migrate.yml work on whole pools: under --limit they refuse, naming what to run instead, before
any other task runs (a play on localhost would otherwise match no host and end "ok" having done nothing).
ansible-playbook on the real playbooks with a static inventory of localhost and two edge nodes."""
import json

import pytest

from tests.support.ansible import REPO, run_playbook

INVENTORY = """\
all:
  hosts:
    localhost: {ansible_connection: local}
  children:
    pool_lab_a:
      hosts:
        lab-lab-a-1: {ansible_connection: local, server_name: lab-lab-a-1}
        lab-lab-a-2: {ansible_connection: local, server_name: lab-lab-a-2}
"""
WORKFLOWS = {
    "provision": "provision.yml works on every pool of autoextender_pools and the whole edge record set at once, so it "
                 "does not take --limit %s; nothing was changed.",
    "migrate": "migrate.yml works on two whole pools and the whole edge record set, so it does not take --limit %s; "
               "nothing was changed.",
}


def run(tmp_path, workflow, limit):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(INVENTORY)
    proc = run_playbook("%s/playbooks/%s.yml" % (REPO, workflow), inventory=str(inventory), limit=limit)
    data = json.loads(proc.stdout)
    tasks = [task["task"]["name"] for play in data["plays"] for task in play["tasks"]]
    failures = [res.get("msg", "") for play in data["plays"] for task in play["tasks"]
                for res in task["hosts"].values() if res.get("failed")]
    return proc, tasks, failures


@pytest.mark.parametrize("workflow", sorted(WORKFLOWS))
@pytest.mark.parametrize("limit", ["lab-lab-a-2", "pool_lab_a", "localhost,lab-lab-a-1"])
def test_a_limit_is_refused_before_anything_else(tmp_path, workflow, limit):
    proc, tasks, failures = run(tmp_path, workflow, limit)
    assert proc.returncode != 0
    assert len(failures) == 1 and failures[0].startswith(WORKFLOWS[workflow] % limit), failures
    # nothing but the refusal ran: not even the preflight's checks
    assert tasks == ["Refuse --limit",
                     "talos.autoextender.preflight : Validating arguments against arg spec 'refuse_limit' - Refuse --limit "
                     "in a workflow that works on every pool at once.",
                     "talos.autoextender.preflight : Refuse --limit, which this workflow does not take"]


@pytest.mark.parametrize("workflow", sorted(WORKFLOWS))
@pytest.mark.parametrize("limit", [None, "localhost"])
def test_without_a_limit_the_workflow_goes_on(tmp_path, workflow, limit):
    proc, tasks, failures = run(tmp_path, workflow, limit)
    # past the refusal, the preflight finds no desired state in this bare inventory: that is the failure now
    assert proc.returncode != 0 and not any("does not take --limit" in f for f in failures), failures
    assert "talos.autoextender.preflight : Refuse --limit, which this workflow does not take" in tasks
    assert len(tasks) > 2
