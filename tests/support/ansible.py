"""Run ansible-playbook the way a user does, against the collection checkout."""
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_playbook(playbook, extra_vars=None, inventory="localhost,", check=False, diff=False,
                 env=None, timeout=600):
    """Run a playbook; return the CompletedProcess (stdout holds the JSON callback output)."""
    bindir = os.path.dirname(sys.executable)
    argv = [os.path.join(bindir, "ansible-playbook"), "-i", inventory, "-c", "local", playbook]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    full_env = dict(os.environ)
    full_env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".cache", "collections"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_NOCOLOR": "1",
    })
    full_env.update(env or {})
    return subprocess.run(argv, capture_output=True, text=True, env=full_env, cwd=REPO, timeout=timeout,
                          check=False)


def task_results(proc):
    """``{task name: result dict}`` for the localhost host from the json callback."""
    data = json.loads(proc.stdout)
    out = {}
    for play in data["plays"]:
        for task in play["tasks"]:
            for _host, res in task["hosts"].items():
                out[task["task"]["name"]] = res
    return out
