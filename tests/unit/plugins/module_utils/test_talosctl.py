"""TalosCLI against recorded outputs of the real talosctl (tests/unit/fixtures/talosctl/<version>/)."""
import os
import stat

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._errors import REDACTED, AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._talosctl import (
    WITHHELD,
    TalosCLI,
    find_talosctl,
    module_runner,
    parse_json_stream,
    parse_version,
    parse_yaml_stream,
    select_talosctl,
    talos_line,
    talosctl_argument_spec,
    tool_search_path,
    version_key,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "talosctl")
VERSION = "v1.13.9"
BIN = "/opt/talos/bin/talosctl"


def fixture(name, version=VERSION):
    with open(os.path.join(FIXTURES, version, name)) as f:
        return f.read()


def recorded(name):
    """``(rc, stdout, stderr)`` of a recorded failing command: <name>.rc and <name>.stderr."""
    return int(fixture(name + ".rc")), "", fixture(name + ".stderr")


class FakeRunner:
    """Records each argv; answers ``version --client --short`` and then the queued replies."""

    def __init__(self, *replies, version_output=None):
        self.calls = []
        self.replies = list(replies)
        self.version_output = version_output if version_output is not None else fixture("version_client_short.stdout")

    def __call__(self, argv, cwd=None, data=None):
        self.calls.append(list(argv))
        if argv[1:] == ["version", "--client", "--short"]:
            return 0, self.version_output, ""
        return self.replies.pop(0)


def cli(runner, **kwargs):
    return TalosCLI(talosctl_path=BIN, runner=runner, **kwargs)


@pytest.fixture(autouse=True)
def executable_bin(monkeypatch):
    """BIN "exists" and is executable, without touching the file system."""
    real_isfile, real_access = os.path.isfile, os.access
    monkeypatch.setattr(os.path, "isfile", lambda p: p == BIN or real_isfile(p))
    monkeypatch.setattr(os, "access", lambda p, m: p == BIN or real_access(p, m))


# -- version gate ------------------------------------------------------------
def test_version_is_read_from_the_recorded_short_output():
    runner = FakeRunner()
    assert cli(runner).version() == "v1.13.9"
    assert runner.calls == [[BIN, "version", "--client", "--short"]]


def test_version_parses_the_long_client_output_too():
    assert parse_version(fixture("version_client.stdout")) == "v1.13.9"
    assert parse_version("Client:\nTalos v1.12.0-beta.1\n") == "v1.12.0-beta.1"
    assert parse_version("garbage") is None


def test_too_old_talosctl_fails_clearly_before_running_anything_else():
    too_old = fixture("version_client_short.stdout").replace("v1.13.9", "v1.10.7")
    runner = FakeRunner(version_output=too_old)
    with pytest.raises(AutoextenderError) as exc:
        cli(runner).run(["gen", "secrets"])
    err = exc.value
    assert err.kind == "unsupported_version"
    assert "v1.10.7" in err.msg and "v1.11.0 or newer" in err.msg and BIN in err.msg
    assert err.details == {"path": BIN, "version": "v1.10.7", "minimum": "v1.11.0"}
    assert runner.calls == [[BIN, "version", "--client", "--short"]]


@pytest.mark.parametrize("version,ok", [
    ("v1.11.0", True), ("v1.11.6", True), ("v1.13.9", True), ("v2.0.0", True),
    ("v1.11.0-alpha.1", False), ("v1.10.99", False), ("v0.14.0", False),
])
def test_version_gate_boundary(version, ok):
    runner = FakeRunner(version_output="Client:\nTalos %s\n" % version)
    if ok:
        assert cli(runner).version() == version
    else:
        with pytest.raises(AutoextenderError, match="too old"):
            cli(runner).version()


def test_unreadable_version_output_is_an_error():
    with pytest.raises(AutoextenderError) as exc:
        cli(FakeRunner(version_output="Client:\n")).version()
    assert exc.value.kind == "unsupported_version"


def test_version_is_checked_once_per_cli():
    runner = FakeRunner((0, "", ""), (0, "", ""))
    c = cli(runner)
    c.run(["a"])
    c.run(["b"])
    assert [call[1:] for call in runner.calls] == [["version", "--client", "--short"], ["a"], ["b"]]
    assert version_key("v1.2.3") < version_key("v1.10.0")
    assert c.supports("v1.13.0") and not c.supports("v1.14.0")


# -- finding the binary ------------------------------------------------------
def test_binary_from_path_then_autoextender_tools(tmp_path):
    tools = tmp_path / "tools"
    tools.mkdir()
    exe = tools / "talosctl"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    environ = {"PATH": str(tmp_path / "empty"), "AUTOEXTENDER_TOOLS": str(tools)}
    assert tool_search_path(environ) == os.pathsep.join([str(tmp_path / "empty"), str(tools)])
    assert TalosCLI(environ=environ).binary() == str(exe)
    assert TalosCLI(talosctl_path="talosctl", environ=environ).binary() == str(exe)


def test_missing_binary_and_bad_talosctl_path(tmp_path):
    environ = {"PATH": str(tmp_path), "AUTOEXTENDER_TOOLS": str(tmp_path)}
    with pytest.raises(AutoextenderError) as exc:
        TalosCLI(environ=environ).binary()
    assert exc.value.kind == "missing_tool" and "talosctl_path" in exc.value.msg
    with pytest.raises(AutoextenderError) as exc:
        TalosCLI(talosctl_path=str(tmp_path / "nope"), environ=environ).binary()
    assert exc.value.kind == "missing_tool" and str(tmp_path / "nope") in exc.value.msg


def test_a_runner_that_cannot_start_the_binary_is_a_missing_tool_error():
    def runner(argv, cwd=None, data=None):
        raise OSError(8, "Exec format error")

    with pytest.raises(AutoextenderError) as exc:
        cli(runner).version()
    assert exc.value.kind == "missing_tool" and "Exec format error" in exc.value.msg


# -- argv ----------------------------------------------------------------------
def test_exact_argv_with_connection_flags_and_double_dash(tmp_path):
    runner = FakeRunner((0, "", ""))
    c = cli(runner, talosconfig=str(tmp_path / "talosconfig"), nodes=["192.0.2.10", "192.0.2.11"],
            endpoints=["192.0.2.1"], context="home")
    c.run(["gen", "config", "--output-types=worker"], positional=["-home", "https://192.0.2.1:6443"], connect=True)
    assert runner.calls[-1] == [
        BIN, "gen", "config", "--output-types=worker",
        "--talosconfig=%s" % (tmp_path / "talosconfig"), "--context=home",
        "--nodes=192.0.2.10,192.0.2.11", "--endpoints=192.0.2.1",
        "--", "-home", "https://192.0.2.1:6443",
    ]


def test_no_connection_flags_unless_asked_and_none_when_unset():
    runner = FakeRunner((0, "", ""), (0, "", ""))
    cli(runner, nodes=["192.0.2.10"]).run(["gen", "secrets"])
    cli(runner).run(["get", "members"], connect=True)
    assert runner.calls[1] == [BIN, "gen", "secrets"]
    assert runner.calls[3] == [BIN, "get", "members"]


def test_values_with_shell_characters_stay_single_argv_items():
    runner = FakeRunner((0, "", ""))
    cli(runner, context="x; rm -rf / $(id)").run(["get", "members"], connect=True)
    assert runner.calls[-1] == [BIN, "get", "members", "--context=x; rm -rf / $(id)"]


def test_module_runner_never_expands_or_uses_a_shell():
    seen = {}

    class Module:
        def run_command(self, argv, **kwargs):
            seen["argv"], seen["kwargs"] = argv, kwargs
            return 0, "out", ""

    assert module_runner(Module())(["talosctl", "$HOME", "~"], cwd="/tmp") == (0, "out", "")
    assert seen["argv"] == ["talosctl", "$HOME", "~"]
    assert seen["kwargs"]["expand_user_and_vars"] is False
    assert seen["kwargs"]["check_rc"] is False and seen["kwargs"]["cwd"] == "/tmp"
    assert "use_unsafe_shell" not in seen["kwargs"]


def test_from_module_reads_the_shared_options():
    class Module:
        params = {"talosctl_path": BIN, "talosconfig": "/tc", "nodes": ["n1"], "endpoints": ["e1"], "context": "c"}

        def run_command(self, argv, **kwargs):
            return 0, fixture("version_client_short.stdout"), ""

    c = TalosCLI.from_module(Module())
    assert c.command(["get", "members"], connect=True) == [
        BIN, "get", "members", "--talosconfig=/tc", "--context=c", "--nodes=n1", "--endpoints=e1"]
    assert c.version() == "v1.13.9"
    assert set(talosctl_argument_spec(dest=dict(type="path"))) == {
        "talosctl_path", "talosconfig", "nodes", "endpoints", "context", "talos_version", "dest"}


# -- output parsing ------------------------------------------------------------
def test_json_stream_of_concatenated_objects():
    members = parse_json_stream(fixture("get_members.json"))
    assert [m["spec"]["hostname"] for m in members] == ["home-cp-1", "home-cp-2", "edge-hel1-1"]
    assert members[2]["node"] == "192.0.2.10"
    assert members[0]["metadata"]["type"] == "Members.cluster.talos.dev"


def test_json_stream_accepts_an_array_a_single_object_and_nothing():
    assert parse_json_stream('[{"a": 1}, {"a": 2}]') == [[{"a": 1}, {"a": 2}]]
    assert parse_json_stream('{"a": 1}{"a": 2}\n') == [{"a": 1}, {"a": 2}]
    assert parse_json_stream("") == [] and parse_json_stream("\n  \n") == []


def test_run_json_parses_and_reports_garbage_as_parse_error():
    runner = FakeRunner((0, fixture("get_members.json"), ""), (0, "{not json", ""))
    c = cli(runner, nodes=["192.0.2.10"])
    assert len(c.run_json(["get", "members", "--output=json"], connect=True)) == 3
    assert runner.calls[1] == [BIN, "get", "members", "--output=json", "--nodes=192.0.2.10"]
    with pytest.raises(AutoextenderError) as exc:
        c.run_json(["get", "members", "--output=json"], connect=True)
    assert exc.value.kind == "parse" and exc.value.details["stdout"] == "{not json"


def test_yaml_stream_of_the_real_controlplane_config():
    docs = parse_yaml_stream(fixture("controlplane.yaml.txt"))
    assert [d.get("kind", d.get("version")) for d in docs] == ["v1alpha1", "HostnameConfig"]
    runner = FakeRunner((0, fixture("controlplane.yaml.txt"), ""), (0, "a: [", ""))
    assert len(cli(runner).run_yaml(["read", "/system/state/config.yaml"])) == 2
    with pytest.raises(AutoextenderError) as exc:
        cli(runner).run_yaml(["read", "/system/state/config.yaml"])
    assert exc.value.kind == "parse"


# -- errors and redaction ------------------------------------------------------
def test_failure_carries_cmd_rc_stdout_stderr():
    runner = FakeRunner(recorded("gen_secrets_missing_file"))
    with pytest.raises(AutoextenderError) as exc:
        cli(runner).run(["gen", "secrets", "--from-controlplane-config=missing.yaml"], what="generate secrets")
    err = exc.value
    assert err.kind == "command"
    assert err.msg == ("Failed to generate secrets (rc=1): failed to load controlplane config: "
                       "open missing.yaml: no such file or directory")
    assert err.details == {"cmd": [BIN, "gen", "secrets", "--from-controlplane-config=missing.yaml"], "rc": 1,
                           "stdout": "", "stderr": fixture("gen_secrets_missing_file.stderr")}
    assert err.failure()["kind"] == "command"


def test_known_secrets_are_redacted_from_message_and_details():
    secret = "FIXTURE-SECRET-TOKEN-1234"
    assert secret in fixture("gen_secrets_unknown_kind.stderr")  # the recorded talosctl really echoes it
    runner = FakeRunner(recorded("gen_secrets_unknown_kind"))
    with pytest.raises(AutoextenderError) as exc:
        cli(runner, secrets=[secret]).run(["gen", "secrets"])
    err = exc.value
    assert secret not in repr((err.msg, err.details))
    assert REDACTED in err.msg and REDACTED in err.details["stderr"]
    assert err.msg.startswith("talosctl gen secrets failed (rc=1): failed to load controlplane config")


def test_secrets_added_after_construction_are_redacted_too():
    secrets = []
    c = cli(FakeRunner(recorded("gen_secrets_unknown_key")), secrets=secrets)
    secrets.append("FIXTURE-SECRET-TOKEN-1234")
    with pytest.raises(AutoextenderError) as exc:
        c.run(["gen", "secrets"])
    assert "FIXTURE-SECRET-TOKEN-1234" not in repr((exc.value.msg, exc.value.details))


def test_sensitive_command_withholds_all_output_even_unknown_secrets():
    # talosctl prints the offending part of the config on a parse error; the module
    # cannot know every secret in it, so a sensitive command's output is withheld whole.
    stderr = fixture("gen_secrets_unknown_key.stderr")
    assert "FIXTURE-SECRET-TOKEN-1234" in stderr
    runner = FakeRunner((1, "cluster:\n    secret: also-secret-stdout\n", stderr))
    with pytest.raises(AutoextenderError) as exc:
        cli(runner).run(["gen", "secrets", "--from-controlplane-config=/tmp/x/controlplane.yaml"],
                        sensitive=True, what="generate the secrets bundle from cp.yaml")
    err = exc.value
    text = repr((err.msg, err.details, err.failure()))
    assert "FIXTURE-SECRET-TOKEN-1234" not in text and "also-secret-stdout" not in text
    assert "bogusfield" not in text
    assert err.details["stderr"] == WITHHELD and err.details["stdout"] == WITHHELD
    assert err.details["rc"] == 1 and err.details["cmd"][1:3] == ["gen", "secrets"]
    assert err.msg == ("Failed to generate the secrets bundle from cp.yaml (rc=1): "
                       "output withheld because it may contain secrets")


def test_check_rc_false_returns_the_failure():
    runner = FakeRunner(recorded("gen_secrets_exists"))
    rc, out, err = cli(runner).run(["gen", "secrets"], check_rc=False)
    assert rc == 1 and "already exists" in err


# -- which talosctl: the one of the home cluster's Talos line -------------------
class VersionsByPath:
    """A runner answering ``version --client --short`` per binary, as the real talosctl prints it."""

    def __init__(self, versions):
        self.versions = versions
        self.calls = []

    def __call__(self, argv, cwd=None, data=None):
        self.calls.append(list(argv))
        assert argv[1:] == ["version", "--client", "--short"], argv
        return 0, fixture("version_client_short.stdout").replace(VERSION, self.versions[argv[0]]), ""


def tool_dirs(tmp_path, path_tools=(), cache_tools=()):
    """A PATH folder and an $AUTOEXTENDER_TOOLS folder holding executables of the given names."""
    environ = {}
    for var, names in (("PATH", path_tools), ("AUTOEXTENDER_TOOLS", cache_tools)):
        folder = tmp_path / var.lower()
        folder.mkdir()
        for name in names:
            exe = folder / name
            exe.write_text("#!/bin/sh\n")
            exe.chmod(0o755)
        environ[var] = str(folder)
    return environ


@pytest.mark.parametrize("version, line", [
    ("v1.13.9", (1, 13)), ("1.14", (1, 14)), ("v1.14.0-rc.1", (1, 14)), (" v1.12.11 ", (1, 12)),
    ("latest", None), ("", None), (None, None), ("v1", None),
])
def test_talos_line(version, line):
    assert talos_line(version) == line


def test_the_versioned_name_of_the_line_wins_over_a_newer_talosctl_first_in_path(tmp_path):
    environ = tool_dirs(tmp_path, path_tools=["talosctl"], cache_tools=["talosctl", "talosctl-1.13"])
    newest, old = str(tmp_path / "path" / "talosctl"), str(tmp_path / "autoextender_tools" / "talosctl-1.13")
    runner = VersionsByPath({newest: "v1.14.1", old: "v1.13.9"})
    path, version, why = select_talosctl("v1.13.9", environ=environ, runner=runner)
    assert (path, version) == (old, "v1.13.9")
    assert why == "talosctl-1.13 is of the home cluster's Talos line (talos_version v1.13.9)"
    assert runner.calls == [[old, "version", "--client", "--short"]]  # the newer one is not even asked


def test_plain_talosctl_is_taken_when_it_is_of_the_line(tmp_path):
    environ = tool_dirs(tmp_path, cache_tools=["talosctl", "talosctl-1.13"])
    newest = str(tmp_path / "autoextender_tools" / "talosctl")
    runner = VersionsByPath({newest: "v1.14.1"})
    path, version, why = select_talosctl("v1.14.0", environ=environ, runner=runner)
    assert (path, version) == (newest, "v1.14.1")
    assert why == "talosctl is of the home cluster's Talos line (talos_version v1.14.0); no talosctl-1.14 found"


def test_talosctl_path_wins_and_the_reason_says_when_it_is_of_another_line(tmp_path):
    environ = tool_dirs(tmp_path, cache_tools=["talosctl", "talosctl-1.13"])
    newest = str(tmp_path / "autoextender_tools" / "talosctl")
    runner = VersionsByPath({newest: "v1.14.1"})
    assert select_talosctl("v1.13.9", explicit=newest, environ=environ, runner=runner) == (
        newest, "v1.14.1", "talosctl_path is set (it is of another Talos line than the home cluster's v1.13.9)")
    assert select_talosctl("v1.14.1", explicit="talosctl", environ=environ, runner=runner) == (
        newest, "v1.14.1", "talosctl_path is set")


def test_without_talos_version_the_first_talosctl_is_taken(tmp_path):
    environ = tool_dirs(tmp_path, path_tools=["talosctl"], cache_tools=["talosctl-1.13"])
    first = str(tmp_path / "path" / "talosctl")
    assert select_talosctl(None, environ=environ, runner=VersionsByPath({first: "v1.14.1"})) == (
        first, "v1.14.1", "talos_version is not set: the talosctl found first")


def test_a_talosctl_of_another_line_is_refused_with_what_to_install(tmp_path):
    environ = tool_dirs(tmp_path, cache_tools=["talosctl"])
    newest = str(tmp_path / "autoextender_tools" / "talosctl")
    with pytest.raises(AutoextenderError) as exc:
        select_talosctl("v1.13.9", environ=environ, runner=VersionsByPath({newest: "v1.14.1"}))
    assert exc.value.kind == "missing_tool"
    assert exc.value.msg == (
        "No talosctl of the Talos v1.13 line for talos_version v1.13.9: talosctl at %s is v1.14.1, of another line. "
        "Install talosctl v1.13.x as talosctl-1.13 (or as talosctl) in PATH or $AUTOEXTENDER_TOOLS "
        "(`make tools` builds v1.13.9), or set talosctl_path" % newest)
    assert exc.value.details["found"] == {"path": newest, "version": "v1.14.1"}


def test_a_line_make_tools_does_not_build_gets_no_make_tools_hint(tmp_path):
    environ = tool_dirs(tmp_path)
    with pytest.raises(AutoextenderError) as exc:
        select_talosctl("v1.12.11", environ=environ, runner=VersionsByPath({}))
    assert exc.value.kind == "missing_tool"
    assert "neither talosctl-1.12 nor talosctl is in PATH" in exc.value.msg
    assert "Install talosctl v1.12.x as talosctl-1.12" in exc.value.msg and "make tools" not in exc.value.msg


def test_a_versioned_name_of_the_wrong_line_is_an_error_not_a_silent_pick(tmp_path):
    environ = tool_dirs(tmp_path, cache_tools=["talosctl-1.13"])
    liar = str(tmp_path / "autoextender_tools" / "talosctl-1.13")
    with pytest.raises(AutoextenderError) as exc:
        select_talosctl("v1.13.9", environ=environ, runner=VersionsByPath({liar: "v1.14.1"}))
    assert exc.value.kind == "unsupported_version"
    assert "talosctl-1.13 at %s is talosctl v1.14.1, not of the Talos v1.13 line" % liar in exc.value.msg


def test_a_talos_version_that_is_not_one_is_a_validation_error(tmp_path):
    with pytest.raises(AutoextenderError) as exc:
        select_talosctl("latest", environ=tool_dirs(tmp_path, cache_tools=["talosctl"]), runner=VersionsByPath({}))
    assert exc.value.kind == "validation" and "'latest'" in exc.value.msg


def test_the_cli_runs_the_selected_talosctl_and_reads_its_version_once(tmp_path):
    environ = tool_dirs(tmp_path, cache_tools=["talosctl", "talosctl-1.13"])
    old = str(tmp_path / "autoextender_tools" / "talosctl-1.13")
    versions = VersionsByPath({old: "v1.13.9"})

    def runner(argv, cwd=None, data=None):
        return versions(argv) if argv[1:2] == ["version"] else (0, "", "")

    c = TalosCLI(talos_version="v1.13.0", environ=environ, runner=runner)
    c.run(["gen", "secrets"])
    assert (c.binary(), c.version()) == (old, "v1.13.9")
    assert c.why.startswith("talosctl-1.13 is of the home cluster's Talos line")
    assert versions.calls == [[old, "version", "--client", "--short"]]


def test_find_talosctl_reads_no_version(tmp_path):
    environ = tool_dirs(tmp_path, cache_tools=["talosctl"])
    assert find_talosctl(None, environ) == str(tmp_path / "autoextender_tools" / "talosctl")
