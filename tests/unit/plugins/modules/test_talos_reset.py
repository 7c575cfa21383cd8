"""talos_reset: how "gone" is decided, the control-plane guard, exact argv (recorded v1.13.9 outputs)."""
import re
import time

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
TLS_REFUSED = (1, "", recorded("get_tls_unknown_authority.stderr"))
MAINTENANCE_VERSION = (0, "Client:\n\tTag:         v1.13.9\nServer:\n\tTag:         v1.13.9\n", "")
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
                                     "machine_type": "worker", "state": "reset", "gone": "not_a_member",
                                     "detail": "192.0.2.10 no longer lists 203.0.113.7"}
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


def test_an_unreachable_node_without_members_from_is_gone_only_after_the_timeout(fake_talosctl_bin, monkeypatch):
    monkeypatch.setattr(_wait, "backoff_delays", lambda *a, **k: iter(lambda: 0.05, None))
    runner = ScriptedTalosctl([(r"^get machinetype", UNREACHABLE)])
    started = time.monotonic()
    kind, result = run(runner, wait_timeout=1)
    assert time.monotonic() - started >= 1.0  # asked again for the whole timeout: it may be rebooting
    assert (kind, result["changed"]) == ("exit", False)
    state = result["talos_reset"]
    assert dict(state, detail=None) == {"node": "203.0.113.7", "state": "gone", "reachable": False, "member": None,
                                        "machine_type": None, "gone": "unreachable", "detail": None}
    assert state["detail"].startswith("The Talos API of 203.0.113.7 is unreachable: ")
    assert re.search(r"\(tried \d+ times in 1s\)$", state["detail"]) and len(runner.commands()) > 5
    kind, result = run(ScriptedTalosctl([(r"^get machinetype", UNREACHABLE)]), gone_if_unreachable=False,
                       wait_timeout=0)
    assert kind == "fail" and result["failure"]["kind"] == "unreachable"


def test_a_rebooting_node_is_asked_again_then_reset(fake_talosctl_bin, monkeypatch):
    monkeypatch.setattr(_wait, "backoff_delays", lambda *a, **k: iter(lambda: 0.0, None))
    runner = ScriptedTalosctl([(r"^get machinetype", [UNREACHABLE, UNREACHABLE, WORKER, UNREACHABLE]),
                               (r"^reset", (0, "", ""))])
    kind, result = run(runner)
    assert (kind, result["changed"]) == ("exit", True)
    state = result["talos_reset"]
    assert (state["state"], state["gone"], state["machine_type"]) == ("reset", "unreachable", "worker")
    assert state["detail"].startswith("its Talos API stopped answering (powered off): The Talos API of 203.0.113.7 is unreachable")
    assert [c[0] for c in runner.commands()] == ["get", "get", "get", "reset", "get"]


def test_a_node_in_maintenance_mode_is_gone_and_another_clusters_node_is_a_tls_error(fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^get machinetype", TLS_REFUSED), (r"^version --insecure", MAINTENANCE_VERSION)])
    kind, result = run(runner)
    assert (kind, result["changed"]) == ("exit", False)
    assert result["talos_reset"]["gone"] == "maintenance" and result["talos_reset"]["reachable"] is True
    # TLS is never retried: one machinetype read, one maintenance probe
    assert [c[:2] for c in runner.commands()] == [["get", "machinetype"], ["version", "--insecure"]]
    runner = ScriptedTalosctl([(r"^get machinetype", TLS_REFUSED),
                               (r"^version --insecure", (1, "", "rpc error: code = Unavailable desc = connection "
                                                         "error: desc = \"error reading server preface: remote "
                                                         "error: tls: certificate required\""))])
    kind, result = run(runner)
    assert kind == "fail" and result["failure"]["kind"] == "tls"
    assert "\n" not in result["msg"] and "does not trust this talosconfig" in result["msg"]
    assert "x509: certificate signed by unknown authority" in result["msg"]


def test_an_unreachable_member_fails_clearly(fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^get members", MEMBERS), (r"^get machinetype", UNREACHABLE)])
    kind, result = run(runner, members_from="192.0.2.10", wait_timeout=0)
    assert kind == "fail" and result["failure"]["kind"] == "unreachable"
    assert "a dead node cannot reset itself" in result["msg"] and result["failure"]["rc"] == 1


def test_control_plane_is_refused_unless_forced(fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^get machinetype", CONTROLPLANE)])
    kind, result = run(runner, nodes=["192.0.2.10"])
    assert kind == "fail" and result["failure"]["kind"] == "refused" and "force=true" in result["msg"]
    assert not any(c[0] == "reset" for c in runner.commands())
    # with reboot: unreachable is the reboot; gone once it answers in maintenance mode
    runner = ScriptedTalosctl([(r"^get machinetype", [CONTROLPLANE, UNREACHABLE, TLS_REFUSED]),
                               (r"^reset", (0, "", "")), (r"^version --insecure", MAINTENANCE_VERSION)])
    kind, result = run(runner, nodes=["192.0.2.10"], force=True, reboot=True, wipe_mode="system-disk")
    assert kind == "exit" and result["changed"] is True and result["talos_reset"]["gone"] == "maintenance"
    assert runner.commands()[1][:5] == ["reset", "--graceful=true", "--reboot=true", "--wipe-mode=system-disk",
                                        "--wait=false"]


def test_check_mode_predicts_without_resetting(fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^get machinetype", WORKER)])
    kind, result = run(runner, check_mode=True)
    assert (kind, result["changed"], result["talos_reset"]["state"]) == ("exit", True, "reset")
    assert [c[0] for c in runner.commands()] == ["get"]


def test_nodes_must_be_exactly_one(fake_talosctl_bin):
    assert "exactly one node" in run(ScriptedTalosctl(), nodes=[])[1]["msg"]


def nodename(name):
    return (0, '{\n    "metadata": {"id": "nodename", "namespace": "k8s"},\n    "node": "203.0.113.7",\n'
               '    "spec": {"hostnameVersion": "1", "nodename": "%s", "skipNodeRegistration": false}\n}\n' % name, "")


def test_a_node_that_answers_under_another_name_is_never_reset(fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^get machinetype", WORKER), (r"^get nodename", nodename("home-cp-1"))])
    kind, result = run(runner, hostname="edge-hel1-1")
    assert kind == "fail" and result["failure"]["kind"] == "conflict"
    assert result["msg"].startswith("203.0.113.7 answers as node home-cp-1, not edge-hel1-1: refusing to reset it")
    assert not any(c[0] == "reset" for c in runner.commands())
    runner = ScriptedTalosctl([(r"^get machinetype", WORKER), (r"^get nodename", nodename("edge-hel1-1"))])
    kind, result = run(runner, hostname="edge-hel1-1", check_mode=True)
    assert (kind, result["changed"]) == ("exit", True)
