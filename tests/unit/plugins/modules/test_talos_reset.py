"""talos_reset: how "gone" is decided, the control-plane guard, exact argv (recorded v1.13.9 outputs)."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _wait

from ansible_collections.talos.autoextender.plugins.modules import talos_reset
from tests.support.fixtures_talos import FAKE_BIN, ScriptedTalosctl, recorded
from tests.unit.conftest import FakeModule, ModuleExit

MEMBERS = (0, recorded("get_members.json"), "")
EDGE_MEMBER_START = '{\n    "metadata": {\n        "created": "2026-11-24T04:47:26Z",\n        "id": "edge-hel1-1"'
NO_EDGE_MEMBER = (0, recorded("get_members.json").split(EDGE_MEMBER_START)[0], "")
WORKER = (0, recorded("get_machinetype_worker.json"), "")
CONTROLPLANE = (0, recorded("get_machinetype_controlplane.json"), "")
UNREACHABLE = (1, "", recorded("get_unreachable.stderr"))
CONN = ["--talosconfig=/t/talosconfig", "--endpoints=192.0.2.10"]


def run(runner, check_mode=False, **params):
    full = dict(talosctl_path=FAKE_BIN, talosconfig="/t/talosconfig", nodes=["203.0.113.7"], endpoints=["192.0.2.10"],
                context=None, members_from=None, hostname=None, gone_if_unreachable=True, force=False, graceful=True,
                reboot=False, wipe_mode="all", wait=True, wait_timeout=30)
    full.update(params)
    resource = talos_reset.NodeMembership(FakeModule(full, check_mode=check_mode))
    resource.runner = runner
    with pytest.raises(ModuleExit) as exc:
        resource.run()
    return exc.value.kind, exc.value.result


def test_reset_a_member_worker_then_wait_until_it_left(fake_talosctl_bin, monkeypatch):
    monkeypatch.setattr(_wait, "backoff_delays", lambda *a, **k: iter(lambda: 0.0, None))
    runner = ScriptedTalosctl([(r"^get members", [MEMBERS, MEMBERS, MEMBERS, NO_EDGE_MEMBER]),
                               (r"^get machinetype", WORKER), (r"^reset", (0, "", ""))])
    kind, result = run(runner, members_from="192.0.2.10")
    assert kind == "exit" and result["changed"] is True
    assert result["talos_reset"] == {"node": "203.0.113.7", "reachable": True, "member": True,
                                     "machine_type": "worker", "state": "reset"}
    cmds = runner.commands()
    assert cmds[0] == ["get", "members", "--output=json", "--talosconfig=/t/talosconfig", "--nodes=192.0.2.10",
                       "--endpoints=192.0.2.10"]
    assert cmds[1] == ["get", "machinetype", "--output=json", "--talosconfig=/t/talosconfig",
                       "--nodes=203.0.113.7", "--endpoints=192.0.2.10"]
    assert cmds[2] == ["reset", "--graceful=true", "--reboot=false", "--wipe-mode=all", "--wait=false",
                       "--talosconfig=/t/talosconfig", "--nodes=203.0.113.7", "--endpoints=192.0.2.10"]
    assert [c[:2] for c in cmds[3:]] == [["get", "members"]] * 3


def test_a_node_that_is_not_a_member_is_gone(fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^get members", NO_EDGE_MEMBER)])
    kind, result = run(runner, members_from="192.0.2.10")
    assert (kind, result["changed"], result["talos_reset"]["state"]) == ("exit", False, "gone")
    assert result["talos_reset"]["member"] is False
    assert [c[:2] for c in runner.commands()] == [["get", "members"]]


def test_an_unreachable_node_without_members_from_is_gone(fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^get machinetype", UNREACHABLE)])
    kind, result = run(runner)
    assert (kind, result["changed"]) == ("exit", False)
    assert result["talos_reset"] == {"node": "203.0.113.7", "state": "gone", "reachable": False, "member": None,
                                     "machine_type": None}
    kind, result = run(ScriptedTalosctl([(r"^get machinetype", UNREACHABLE)]), gone_if_unreachable=False)
    assert kind == "fail" and result["failure"]["kind"] == "unreachable"


def test_an_unreachable_member_fails_clearly(fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^get members", MEMBERS), (r"^get machinetype", UNREACHABLE)])
    kind, result = run(runner, members_from="192.0.2.10")
    assert kind == "fail" and result["failure"]["kind"] == "unreachable"
    assert "a dead node cannot reset itself" in result["msg"] and result["failure"]["rc"] == 1


def test_control_plane_is_refused_unless_forced(fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^get machinetype", CONTROLPLANE)])
    kind, result = run(runner, nodes=["192.0.2.10"])
    assert kind == "fail" and result["failure"]["kind"] == "refused" and "force=true" in result["msg"]
    assert not any(c[0] == "reset" for c in runner.commands())
    runner = ScriptedTalosctl([(r"^get machinetype", [CONTROLPLANE, UNREACHABLE]), (r"^reset", (0, "", ""))])
    kind, result = run(runner, nodes=["192.0.2.10"], force=True, reboot=True, wipe_mode="system-disk")
    assert kind == "exit" and result["changed"] is True
    assert runner.commands()[1][:5] == ["reset", "--graceful=true", "--reboot=true", "--wipe-mode=system-disk",
                                        "--wait=false"]


def test_check_mode_predicts_without_resetting(fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^get machinetype", WORKER)])
    kind, result = run(runner, check_mode=True)
    assert (kind, result["changed"], result["talos_reset"]["state"]) == ("exit", True, "reset")
    assert [c[0] for c in runner.commands()] == ["get"]


def test_nodes_must_be_exactly_one(fake_talosctl_bin):
    assert "exactly one node" in run(ScriptedTalosctl(), nodes=[])[1]["msg"]
