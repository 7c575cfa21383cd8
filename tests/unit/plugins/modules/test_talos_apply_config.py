"""talos_apply_config: exact argv, dry run decides changed, check mode, wait, errors (recorded v1.13.9 outputs)."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _wait

from ansible_collections.talos.autoextender.plugins.modules import talos_apply_config
from tests.support.fixtures_talos import FAKE_BIN, ScriptedTalosctl, recorded
from tests.unit.conftest import FakeModule, ModuleExit

NO_CHANGES = (0, "", recorded("apply_dry_run_no_changes.stderr"))
CHANGES = (0, "", recorded("apply_dry_run_changes.stderr"))
UNREACHABLE = (1, "", recorded("apply_unreachable_insecure.stderr"))
CONFIG_TEXT = ("version: v1alpha1\nmachine:\n  type: worker\n  token: 1r5dnz.ivmfvxwc3u11rxop\ncluster:\n"
               "  secret: mZnDleQtg1mEc2lENUAYTcqoVttAuZt17mkMk6vqg4Y=\n")


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "edge.yaml"
    path.write_text(CONFIG_TEXT)
    return str(path)


def run(runner, check_mode=False, diff=False, **params):
    full = dict(talosctl_path=FAKE_BIN, talosconfig="/t/talosconfig", nodes=["203.0.113.7"], endpoints=None,
                context=None, config=None, patches=None, insecure=False, mode="auto", wait=True, wait_timeout=30)
    full.update(params)
    module = FakeModule(full, check_mode=check_mode, diff=diff)
    resource = talos_apply_config.AppliedConfig(module)
    resource.runner = runner
    with pytest.raises(ModuleExit) as exc:
        resource.run()
    return exc.value.kind, exc.value.result


def test_no_changes_from_the_dry_run_means_nothing_is_applied(config, fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^apply-config", NO_CHANGES)])
    kind, result = run(runner, config=config)
    assert kind == "exit" and result["changed"] is False
    assert runner.commands() == [["apply-config", "--file=%s" % config, "--mode=auto", "--dry-run",
                                  "--talosconfig=/t/talosconfig", "--nodes=203.0.113.7"]]
    assert result["talos_apply_config"]["applied"] is False


def test_changes_apply_then_wait_until_the_node_reports_them(config, fake_talosctl_bin, monkeypatch):
    monkeypatch.setattr(_wait, "backoff_delays", lambda *a, **k: iter(lambda: 0.0, None))
    runner = ScriptedTalosctl([
        (r"^apply-config .*--dry-run", [CHANGES, UNREACHABLE, CHANGES, NO_CHANGES]),
        (r"^apply-config", (0, "", recorded("apply_auto.stderr"))),
    ])
    kind, result = run(runner, diff=True, config=config, insecure=True)
    assert kind == "exit" and result["changed"] is True
    cmds = runner.commands()
    base = ["--file=%s" % config, "--mode=auto"]
    conn = ["--talosconfig=/t/talosconfig", "--nodes=203.0.113.7"]
    assert cmds[0] == ["apply-config"] + base + ["--insecure", "--dry-run"] + conn
    assert cmds[1] == ["apply-config"] + base + ["--insecure"] + conn
    # waiting goes through the talosconfig: a configured node has no maintenance API; unreachable = rebooting
    assert cmds[2:] == [["apply-config"] + base + ["--dry-run"] + conn] * 3
    state = result["talos_apply_config"]
    assert state == {"node": "203.0.113.7", "mode": "auto", "applied": True, "reboot": False, "warnings": [],
                     "mode_details": "Applied configuration without a reboot", "maintenance": True}
    prepared = result["diff"]["prepared"]
    assert "+    nodeLabels:" in prepared and "mZnDleQtg1mEc2lENUAYTcqoVttAuZt17mkMk6vqg4Y=" not in prepared


def test_check_mode_runs_only_the_dry_run(config, fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^apply-config .*--dry-run", CHANGES)])
    kind, result = run(runner, check_mode=True, config=config, mode="no-reboot")
    assert kind == "exit" and result["changed"] is True and result["talos_apply_config"]["applied"] is False
    assert [c[0] for c in runner.commands()] == ["apply-config"]
    assert "--mode=no-reboot" in runner.commands()[0]


def test_staged_mode_does_not_wait_and_reports_the_node_answer(config, fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"--dry-run", CHANGES), (r"^apply-config", (0, "", recorded("apply_staged.stderr")))])
    kind, result = run(runner, config=config, mode="staged")
    assert len(runner.commands()) == 2
    assert result["talos_apply_config"]["mode_details"] == "Staged configuration to be applied after the next reboot"


def test_reboot_and_warnings_are_reported(config, fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"--dry-run", [CHANGES, NO_CHANGES]),
                               (r"^apply-config", (0, "", recorded("apply_auto_reboot.stderr")))])
    state = run(runner, config=config)[1]["talos_apply_config"]
    assert state["reboot"] is True and state["warnings"] == ['use "worker" instead of "" for machine type']


def test_patches_go_through_talosctl_patch_machineconfig(fake_talosctl_bin):
    applied = "patched MachineConfigs.config.talos.dev/v1alpha1 at the node 192.0.2.10\n" + recorded("apply_auto.stderr")
    dry_runs = [(0, "", recorded("patch_dry_run_changes.stderr")), (0, "", recorded("patch_skipped.stderr"))]
    runner = ScriptedTalosctl([(r"^patch .*--dry-run", dry_runs), (r"^patch", (0, "", applied))])
    kind, result = run(runner, nodes=["192.0.2.10"], patches=[{"apiVersion": "v1alpha1", "kind": "KubeSpanConfig",
                                                               "enabled": True}])
    assert kind == "exit" and result["changed"] is True
    first = runner.commands()[0]
    assert first[0] == "patch" and first[1].startswith("--patch=@") and first[1].endswith("/patch-1.yaml")
    assert first[2:] == ["--mode=auto", "--dry-run", "--talosconfig=/t/talosconfig", "--nodes=192.0.2.10",
                         "--", "machineconfig"]
    assert result["talos_apply_config"]["mode_details"] == "Applied configuration without a reboot"
    assert len(runner.commands()) == 3


def test_unreachable_node_is_a_clear_error_without_secrets(config, fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^apply-config", UNREACHABLE)])
    kind, result = run(runner, config=config, insecure=True, wait_timeout=0)
    assert kind == "fail"
    failure = result["failure"]
    assert failure["kind"] == "unreachable" and failure["rc"] == 1 and failure["node"] == "203.0.113.7"
    assert failure["cmd"][0] == FAKE_BIN and "connection refused" in failure["stderr"]
    assert result["msg"].startswith("The Talos API of 203.0.113.7 is unreachable")


def test_bad_input(config, fake_talosctl_bin):
    assert "exactly one node" in run(ScriptedTalosctl(), config=config, nodes=["a", "b"])[1]["msg"]
    assert "needs config" in run(ScriptedTalosctl(), patches=[{"a": 1}], insecure=True)[1]["msg"]
    result = run(ScriptedTalosctl([(r"--dry-run", (0, "", "something else\n"))]), config=config)[1]
    assert result["failure"]["kind"] == "parse"


CERT_REQUIRED = (1, "", 'error applying new configuration: rpc error: code = Unavailable desc = connection error: '
                 'desc = "error reading server preface: remote error: tls: certificate required"\n')
UNKNOWN_CA = (1, "", "error applying new configuration: " + recorded("get_tls_unknown_authority.stderr"))


def test_insecure_on_a_configured_node_asks_through_the_talosconfig(config, fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"--insecure", CERT_REQUIRED), (r"^apply-config .*--dry-run", NO_CHANGES)])
    kind, result = run(runner, config=config, insecure=True)
    assert kind == "exit" and result["changed"] is False
    assert result["talos_apply_config"]["maintenance"] is False and result["talos_apply_config"]["applied"] is False
    base = ["apply-config", "--file=%s" % config, "--mode=auto"]
    conn = ["--talosconfig=/t/talosconfig", "--nodes=203.0.113.7"]
    assert runner.commands() == [base + ["--insecure", "--dry-run"] + conn, base + ["--dry-run"] + conn]


def test_insecure_on_a_configured_node_with_changes_applies_through_the_talosconfig(
        config, fake_talosctl_bin, monkeypatch):
    monkeypatch.setattr(_wait, "backoff_delays", lambda *a, **k: iter(lambda: 0.0, None))
    runner = ScriptedTalosctl([(r"--insecure", CERT_REQUIRED), (r"^apply-config .*--dry-run", [CHANGES, NO_CHANGES]),
                               (r"^apply-config", (0, "", recorded("apply_auto.stderr")))])
    kind, result = run(runner, config=config, insecure=True)
    assert kind == "exit" and result["changed"] is True
    assert not any("--insecure" in c for c in runner.commands()[1:])


def test_another_clusters_node_fails_at_once_with_kind_tls(config, fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"--insecure", CERT_REQUIRED), (r"^apply-config", UNKNOWN_CA)])
    kind, result = run(runner, config=config, insecure=True)
    assert kind == "fail" and result["failure"]["kind"] == "tls" and len(runner.commands()) == 2
    assert result["msg"] == ("The Talos API of 203.0.113.7 does not trust this talosconfig (TLS: x509: certificate "
                             "signed by unknown authority): it is another cluster's talosconfig, or the node is in "
                             "maintenance mode and needs insecure=true")


def test_a_rebooting_node_is_asked_again_within_wait_timeout(config, fake_talosctl_bin, monkeypatch):
    monkeypatch.setattr(_wait, "backoff_delays", lambda *a, **k: iter(lambda: 0.0, None))
    runner = ScriptedTalosctl([(r"^apply-config .*--dry-run", [UNREACHABLE, UNREACHABLE, NO_CHANGES])])
    kind, result = run(runner, config=config)
    assert kind == "exit" and result["changed"] is False and len(runner.commands()) == 3


def test_a_broken_pipe_from_a_configured_node_is_not_mistaken_for_a_reboot(config, fake_talosctl_bin):
    # a configured node drops a client without a certificate mid-handshake; the talosconfig then decides
    broken = (1, "", "error applying new configuration: rpc error: code = Unavailable desc = write tcp "
                     "127.0.0.1:41910->203.0.113.7:50000: write: broken pipe\n")
    runner = ScriptedTalosctl([(r"--insecure", broken), (r"^apply-config .*--dry-run", NO_CHANGES)])
    kind, result = run(runner, config=config, insecure=True)
    assert kind == "exit" and result["changed"] is False and len(runner.commands()) == 2
    assert result["talos_apply_config"]["maintenance"] is False


def test_another_clusters_node_that_drops_the_maintenance_client_fails_at_once(config, fake_talosctl_bin):
    broken = (1, "", "error applying new configuration: rpc error: code = Unavailable desc = write tcp "
                     "127.0.0.1:41910->203.0.113.7:50000: write: broken pipe\n")
    runner = ScriptedTalosctl([(r"--insecure", broken), (r"^apply-config", UNKNOWN_CA)])
    kind, result = run(runner, config=config, insecure=True)
    assert kind == "fail" and result["failure"]["kind"] == "tls" and len(runner.commands()) == 2
