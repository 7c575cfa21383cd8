"""Run ansible-playbook the way a user does, against the collection checkout."""
import json
import os
import subprocess
import sys
import threading

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_playbook(playbook, extra_vars=None, inventory="localhost,", check=False, diff=False,
                 env=None, timeout=600, on_line=None, limit=None):
    """Run a playbook; return the CompletedProcess (stdout holds the JSON callback output).

    ``on_line(line)``, when given, sees each line of stdout as it is printed (stderr is then merged into
    stdout), so a test can act at a given point of the run instead of after a guessed delay.
    """
    bindir = os.path.dirname(sys.executable)
    argv = [os.path.join(bindir, "ansible-playbook"), "-i", inventory, "-c", "local", playbook]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if limit:
        argv += ["--limit", limit]
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
    if on_line is None:
        return subprocess.run(argv, capture_output=True, text=True, env=full_env, cwd=REPO, timeout=timeout,
                              check=False)
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env,
                          cwd=REPO) as proc:
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        lines = []
        try:
            for line in proc.stdout:
                lines.append(line)
                on_line(line)
            proc.wait()
        finally:
            timer.cancel()
    return subprocess.CompletedProcess(argv, proc.returncode, "".join(lines), "")


def task_results(proc):
    """``{task name: result dict}`` for the localhost host from the json callback."""
    data = json.loads(proc.stdout)
    out = {}
    for play in data["plays"]:
        for task in play["tasks"]:
            for _host, res in task["hosts"].items():
                out[task["task"]["name"]] = res
    return out
