"""How long rendering the join configs of a pool takes, and a re-run that reuses them.

Renders N worker configs (default 1, 5 and 20) with ``talos_machine_config`` in one playbook, as the
``talos_join_config`` role does, from a fresh secrets bundle made by the real talosctl, then runs the same
playbook again (every config reused: ``rendered`` false, nothing changed) and once more with ``cache: false``
(every config rendered again, nothing changed). Prints the wall time of each run.

    python3 benchmarks/join_configs.py [--counts 1,5,20]     (or: make bench BENCH=join_configs)
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

# First: the checkout's venv, tools and collection.
import _venv  # noqa: E402,F401  # pylint: disable=unused-import

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.support import tools  # noqa: E402

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Render
      talos.autoextender.talos_machine_config:
        talosctl_path: {talosctl}
        dest: "{work}/{{{{ item }}}}.yaml"
        secrets_bundle: {work}/secrets.yaml
        cluster_name: home
        endpoint: https://192.168.1.10:6443
        talos_version: v1.14.1
        hostname: "{{{{ item }}}}"
        pool: hel1-a
        zone: hetzner-hel1
        instance_type: cx23
        cache: "{{{{ cache | default(true) }}}}"
      loop: "{{{{ range(1, count | int + 1) | map('string') | map('regex_replace', '^', 'hel1-a-') | list }}}}"
      register: rendered
    - name: Count
      ansible.builtin.debug:
        msg: "{{{{ rendered.results | selectattr('changed') | list | length }}}} changed,
          {{{{ rendered.results | map(attribute='talos_machine_config') | selectattr('rendered') | list | length }}}} rendered"
"""


def run(play, count, **extra):
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
            play, "-e", json.dumps(dict(count=count, **extra))]
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-3000:] + proc.stderr[-2000:])
    said = re.findall(r"\d+ changed, \d+ rendered", proc.stdout)
    return elapsed, said[-1] if said else "?"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,5,20")
    args = parser.parse_args()
    talosctl = tools.talosctl_for("v1.14.1")
    print("%6s %10s %10s %14s   %s" % ("nodes", "first s", "re-run s", "no cache s", "re-run says"))
    for count in [int(c) for c in args.counts.split(",")]:
        with tempfile.TemporaryDirectory(prefix="ae-join-") as work:
            subprocess.run([talosctl, "gen", "secrets", "--output-file", os.path.join(work, "secrets.yaml")],
                           check=True, capture_output=True)
            play = os.path.join(work, "play.yml")
            with open(play, "w") as f:
                f.write(PLAY.format(talosctl=talosctl, work=work))
            first = run(play, count)[0]
            again, says = run(play, count)
            uncached = run(play, count, cache=False)[0]
            print("%6d %10.1f %10.1f %14.1f   %s" % (count, first, again, uncached, says))
    return 0


if __name__ == "__main__":
    sys.exit(main())
