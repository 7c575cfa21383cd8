"""Run the real talosctl offline (config generation, patching, validation)."""
import os
import subprocess

from .tools import which


class Talosctl:
    """talosctl with a private HOME so no test reads or writes ~/.talos."""

    def __init__(self, workdir):
        self.path = which("talosctl")
        self.workdir = workdir
        self.env = dict(os.environ, HOME=workdir, TALOSCONFIG=os.path.join(workdir, "talosconfig"))

    def run(self, *args, check=True):
        proc = subprocess.run([self.path] + list(args), cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=120, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("talosctl %s failed (rc=%d):\n%s"
                                 % (" ".join(args), proc.returncode, proc.stderr[-4000:]))
        return proc
