"""The SSH rescue runner: the exact argv, the remote script, retries until the rescue system answers."""
import subprocess
import time

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers.hetzner_rescue import (
    SshRunner,
    module_run,
    runner_from_options,
    write_script,
)
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline

URL = "https://factory.talos.dev/image/abc/v1.13.9/hcloud-amd64.raw.xz"


class FakeRun:
    """Records argv lists; answers with the return codes it is given, in order."""

    def __init__(self, *codes):
        self.codes = list(codes)
        self.argvs = []

    def __call__(self, argv, **kwargs):
        assert kwargs["check"] is False and kwargs["capture_output"] is True
        self.argvs.append(argv)
        rc = self.codes.pop(0) if self.codes else 0
        return subprocess.CompletedProcess(argv, rc, "", "" if rc == 0 else "ssh: connect to host 192.0.2.5 port 22: "
                                           "Connection refused" if rc == 255 else "curl: (22) 404")


def test_script_quotes_user_values_and_has_no_pipes():
    script = write_script("https://x/y?a=1;rm -rf /", "/dev/sda")
    assert "'https://x/y?a=1;rm -rf /'" in script and "|" not in script
    assert script.startswith("set -eu; curl -fsSL") and "xz -t -- /tmp/talos.raw.xz" in script
    assert "xz -dc -- /tmp/talos.raw.xz > /dev/sda" in script


def test_exact_ssh_argv(tmp_path):
    runner = SshRunner(port=2222, run=FakeRun(), sleep=lambda s: None)
    runner.workdir = str(tmp_path)
    assert runner.argv("192.0.2.5", "true") == [
        "ssh", "-i", str(tmp_path / "id_ed25519"), "-p", "2222", "-l", "root",
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
        "-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile=%s" % (tmp_path / "known_hosts"),
        "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=15",
        "-o", "LogLevel=ERROR", "-F", "/dev/null", "--", "192.0.2.5", "true"]


def test_waits_for_ssh_then_writes(tmp_path):
    run = FakeRun(255, 255, 0, 0)
    slept = []
    runner = SshRunner(run=run, sleep=slept.append)
    runner.workdir = str(tmp_path)
    runner.write_image("192.0.2.5", URL, Deadline(60))
    assert [a[-1] for a in run.argvs[:3]] == ["true", "true", "true"] and len(slept) == 2
    assert run.argvs[3][-1] == "sh -c '%s'" % write_script(URL, "/dev/sda").replace("'", "'\"'\"'")


def test_remote_failure_is_a_command_error(tmp_path):
    runner = SshRunner(run=FakeRun(0, 1), sleep=lambda s: None)
    runner.workdir = str(tmp_path)
    with pytest.raises(AutoextenderError, match="curl: \\(22\\) 404") as err:
        runner.write_image("192.0.2.5", URL, Deadline(60))
    assert err.value.kind == "command" and err.value.details["rc"] == 1


def test_rescue_never_answering_ends_at_the_deadline(tmp_path):
    runner = SshRunner(run=FakeRun(*[255] * 100), sleep=lambda s: None)
    runner.workdir = str(tmp_path)
    with pytest.raises(AutoextenderError, match="Failed to log in to the rescue system 192.0.2.5"):
        runner.write_image("192.0.2.5", URL, Deadline(3))


def test_prepare_makes_a_real_ed25519_key(tmp_path):
    key = SshRunner(run=subprocess.run).prepare(str(tmp_path))
    assert key.startswith("ssh-ed25519 ") and key.endswith("talos-autoextender-rescue")
    assert oct((tmp_path / "id_ed25519").stat().st_mode & 0o777) == "0o600"


def test_runner_from_options():
    marker = object()
    assert runner_from_options({"rescue_runner": marker}) is marker
    runner = runner_from_options({"rescue": {"port": 2200, "device": "/dev/vda"}})
    assert (runner.port, runner.device, runner.user) == (2200, "/dev/vda", "root")


@pytest.fixture
def ansible_module():
    with patch_module_args({}):
        yield AnsibleModule(argument_spec={})


def test_module_run_runs_argv_unexpanded_through_run_command(ansible_module):
    result = module_run(ansible_module)(["echo", "$HOME", "~"], capture_output=True, text=True, timeout=10, check=False)
    assert (result.args, result.returncode, result.stdout) == (["echo", "$HOME", "~"], 0, "$HOME ~\n")
    failed = module_run(ansible_module)(["sh", "-c", "echo no >&2; exit 3"], capture_output=True, text=True, check=False)
    assert (failed.returncode, failed.stderr) == (3, "no\n")


def test_module_run_enforces_the_timeout_run_command_lacks(ansible_module):
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as err:
        module_run(ansible_module)(["sleep", "30"], capture_output=True, text=True, timeout=1, check=False)
    assert err.value.cmd == ["sleep", "30"] and time.monotonic() - started < 10


def test_the_runner_of_a_module_uses_its_run_command(ansible_module, tmp_path):
    runner = runner_from_options({"module": ansible_module, "rescue": {"port": 2200}})
    assert runner.port == 2200 and runner.prepare(str(tmp_path)).startswith("ssh-ed25519 ")
    with pytest.raises(AutoextenderError, match="through a module or a run callable") as err:
        SshRunner().prepare(str(tmp_path / "x"))
    assert err.value.kind == "internal"
