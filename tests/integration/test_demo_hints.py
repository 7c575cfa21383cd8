"""After the demo, every command it prints runs as printed in a new shell; so do the benchmarks' commands.

"A new shell" is a fresh ``bash -c`` from the top of the checkout with a minimal environment:
HOME, and a PATH without the venv or the Go tool cache; no ANSIBLE_COLLECTIONS_PATH. The demo
itself runs as ``make demo`` runs it (hack/demo.sh with the checkout's environment), in a lab
folder of the test's own. Each printed command is run and its outcome checked against what
the demo says it does; a command this test does not know fails it, so new hints get checked.
"""
import glob
import ipaddress
import json
import os
import re
import subprocess

import pytest

from tests.conftest import require_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMMAND = re.compile(r"^    (\S.*)$")


def new_shell(**extra):
    return dict({"HOME": os.environ["HOME"], "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
                 "ANSIBLE_NOCOLOR": "1"}, **extra)


def sh(command, env=None, timeout=900):
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=REPO,
                          env=env or new_shell(), timeout=timeout, check=False)


def printed_commands(output):
    """The commands the demo printed after "== Where to look": lines indented by exactly four spaces."""
    tail = output[output.index("== Where to look"):]
    return [m.group(1) for m in map(COMMAND.match, tail.splitlines()) if m]


def recap(proc):
    found = re.findall(r"^localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)", proc.stdout, re.M)
    assert found, proc.stdout[-3000:] + proc.stderr[-2000:]
    return int(found[-1][0]), int(found[-1][1])


def check_status_or_provision(proc):
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert recap(proc) == (0, 0)  # "changes nothing" / "nothing changes"


def check_decommission(proc):
    assert proc.returncode != 0 and recap(proc) == (0, 1)
    # The last published pool is never taken out of DNS: the run stops before changing anything.
    assert "is still in the edge record set" in proc.stdout and "Nothing was changed" in proc.stdout, \
        proc.stdout[-3000:]


def check_dig(proc):
    assert proc.returncode == 0
    addresses = proc.stdout.split()
    assert addresses and all(ipaddress.IPv4Address(a) for a in addresses)


def check_curl(proc):
    assert proc.returncode == 0
    answer = json.loads(proc.stdout)
    assert answer["identity"] == "home" and answer["host"] == "hello.lab.test"


def check_ok(proc):
    assert proc.returncode == 0, proc.stdout + proc.stderr


EXPECT = [  # (pattern of a printed command, check)
    (r"^dig @127\.0\.0\.1 -p \d+ edge\.lab\.test A \+short$", check_dig),
    (r"^curl -s --cacert \S+/root\.pem --resolve hello\.lab\.test:443:[\d.]+ https://hello\.lab\.test/$", check_curl),
    (r"^\. hack/activate && AUTOEXTENDER_LAB_DIR=\S+ ansible-playbook -i inventories/lab playbooks/"
     r"(status|provision)\.yml$", check_status_or_provision),
    (r"^\. hack/activate && AUTOEXTENDER_LAB_DIR=\S+ ansible-playbook -i inventories/lab playbooks/decommission\.yml "
     r"-e pool=lab-a$", check_decommission),
    (r"^python3 hack/lab\.py (status|down) --dir \S+$", check_ok),
]


def test_every_command_the_demo_prints_runs_as_printed_in_a_new_shell(tmp_path):
    require_tool("etcd", "kube-apiserver", "pdns", "talosctl")
    lab_dir = str(tmp_path / "lab")
    try:
        demo = sh(". hack/activate && LAB_DIR=%s ANSIBLE_FORCE_COLOR=0 hack/demo.sh" % lab_dir, timeout=1800)
        assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-2000:]
        commands = printed_commands(demo.stdout)
        assert commands[-1] == "python3 hack/lab.py down --dir " + lab_dir
        assert any(c.endswith("playbooks/status.yml") for c in commands)
        for command in commands:
            check = next((c for pattern, c in EXPECT if re.match(pattern, command)), None)
            assert check, "the demo prints a command this test does not know: %s" % command
            check(sh(command))
        assert sh("python3 hack/lab.py status --dir " + lab_dir).returncode == 1  # the last hint took it down
    finally:
        sh("python3 hack/lab.py down --purge --dir " + lab_dir)


BENCHMARKS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(REPO, "benchmarks", "[!_]*.py")))


@pytest.mark.parametrize("name", BENCHMARKS)
def test_each_benchmark_runs_as_its_docstring_says(name):
    with open(os.path.join(REPO, "benchmarks", name)) as f:
        text = f.read()
    assert "python3 benchmarks/%s" % name in text  # the documented command
    proc = sh("python3 benchmarks/%s --help" % name)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: %s" % name), proc.stdout + proc.stderr


def test_make_bench_and_the_shells_of_the_readme():
    proc = sh('make bench BENCH="%s" ARGS=--help' % " ".join(n[:-3] for n in BENCHMARKS))
    assert proc.returncode == 0 and proc.stdout.count("usage: ") == len(BENCHMARKS), proc.stdout + proc.stderr
    probe = "command -v ansible-playbook talosctl && ansible-galaxy collection list talos.autoextender"
    for way_in in (". hack/activate && %s" % probe, "echo '%s' | make shell" % probe):
        proc = sh(way_in)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert os.path.join(REPO, ".venv", "bin", "ansible-playbook") in proc.stdout
        assert "/talosctl" in proc.stdout and "talos.autoextender" in proc.stdout
