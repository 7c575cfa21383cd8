#!/usr/bin/env python3
"""The environment this checkout's commands run in, from any shell: one owner for it.

- ``environment()``: PATH with ``.venv/bin``, the Go tool cache and /usr/sbin first,
  ``ANSIBLE_COLLECTIONS_PATH`` at ``.cache/collections`` (where ``make tools`` links the
  collection as talos.autoextender) and ``AUTOEXTENDER_TOOLS``: what ``make`` exports.
- ``use_venv()``: called first by hack/lab.py and the benchmarks, so that
  ``python3 hack/lab.py ...`` works in a new shell: it re-runs the script with the
  venv's Python (same pid) in that environment.
- ``python3 hack/checkout_env.py --shell`` prints ``export`` lines; ``hack/activate``
  evaluates them.
"""
import os
import shlex
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(REPO, ".venv")
VENV_PYTHON = os.path.join(VENV, "bin", "python")


def environment(environ=None):
    """The variables to set, as a dict (PATH keeps what was there, after ours)."""
    environ = os.environ if environ is None else environ
    tools = environ.get("AUTOEXTENDER_TOOLS") or os.path.expanduser("~/.cache/talos-autoextender/bin")
    ours = [os.path.join(VENV, "bin"), tools, "/usr/sbin"]
    rest = [p for p in environ.get("PATH", "").split(os.pathsep) if p and p not in ours]
    return {"PATH": os.pathsep.join(ours + rest), "AUTOEXTENDER_TOOLS": tools,
            "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".cache", "collections")}


def use_venv():
    """Run the calling script with the venv's Python in this checkout's environment; no-op once there."""
    os.environ.update(environment())
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.access(VENV_PYTHON, os.X_OK):
        raise SystemExit("%s: there is no %s yet; run `make tools` in %s first" % (sys.argv[0], VENV, REPO))
    os.execv(VENV_PYTHON, [VENV_PYTHON] + sys.argv)


def main(argv):
    if argv != ["--shell"]:
        raise SystemExit("usage: python3 hack/checkout_env.py --shell   (or: . hack/activate)")
    for key, value in sorted(environment().items()):
        print("export %s=%s" % (key, shlex.quote(value)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
