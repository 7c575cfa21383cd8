"""Run the real talosctl offline (config generation, patching, validation)."""
import os
import subprocess

from .tools import talosctl_for

# The Talos version of the tests' home clusters, unless a test says otherwise: the
# talosctl fixture is the talosctl of this line, as the collection selects it.
HOME_TALOS_VERSION = "v1.13.9"

#: the lab inventory, whose autoextender_lab_talos_version is the lab's default Talos line
LAB_VARS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "inventories", "lab", "group_vars", "all.yml")


def lab_talos_version():
    """The lab's default Talos version (inventories/lab: autoextender_lab_talos_version)."""
    import yaml
    with open(LAB_VARS) as f:
        return yaml.safe_load(f)["autoextender_lab_talos_version"]


class Talosctl:
    """talosctl of ``talos_version``'s line with a private HOME so no test reads or writes ~/.talos."""

    def __init__(self, workdir, talos_version=HOME_TALOS_VERSION):
        self.path = talosctl_for(talos_version)
        if not self.path:
            raise AssertionError("no talosctl of the line of Talos %s (talosctl-<major>.<minor> or talosctl): "
                                 "run `make tools`" % talos_version)
        self.talos_version = talos_version
        self.workdir = workdir
        self.env = dict(os.environ, HOME=workdir, TALOSCONFIG=os.path.join(workdir, "talosconfig"))

    def run(self, *args, check=True):
        proc = subprocess.run([self.path] + list(args), cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=120, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("talosctl %s failed (rc=%d):\n%s"
                                 % (" ".join(args), proc.returncode, proc.stderr[-4000:]))
        return proc
