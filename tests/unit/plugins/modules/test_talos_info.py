"""talos_info: the argv it runs and the facts it builds from recorded v1.13.9 outputs."""
import json

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._talosctl import TalosCLI
from ansible_collections.talos.autoextender.plugins.module_utils._talos_info import GATHER, gather, wait_for_peers
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
from tests.support.clock import FakeClock
from tests.support.fixtures_talos import FAKE_BIN, ScriptedTalosctl, recorded

SCRIPT = [
    (r"^version --json", (0, recorded("version_json.stdout"), "")),
    (r"^get machinetype", (0, recorded("get_machinetype_controlplane.json"), "")),
    (r"^get members", (0, recorded("get_members.json"), "")),
    (r"^get kubespanpeerstatuses", (0, recorded("get_kubespanpeerstatuses.json"), "")),
]


def cli(runner):
    return TalosCLI(talosctl_path=FAKE_BIN, talosconfig="/t/talosconfig", nodes=["192.0.2.10"], runner=runner)


def test_everything_is_gathered_with_the_exact_argv(fake_talosctl_bin):
    runner = ScriptedTalosctl(SCRIPT)
    info = gather(cli(runner), GATHER)
    conn = ["--talosconfig=/t/talosconfig", "--nodes=192.0.2.10"]
    assert runner.commands() == [["version", "--json"] + conn, ["get", "machinetype", "--output=json"] + conn,
                                 ["get", "members", "--output=json"] + conn,
                                 ["get", "kubespanpeerstatuses", "--output=json"] + conn]
    assert info["versions"][0]["tag"] == "v1.13.9" and info["machine_types"] == {"192.0.2.10": "controlplane"}
    assert [m["hostname"] for m in info["members"]] == ["home-cp-1", "home-cp-2", "edge-hel1-1"]
    assert info["health"]["healthy"] is False and info["health"]["peers_down"] == ["edge-par-1"]


def test_only_what_is_asked(fake_talosctl_bin):
    runner = ScriptedTalosctl(SCRIPT)
    info = gather(cli(runner), ["members"])
    assert sorted(info) == ["health", "members"] and len(runner.commands()) == 1
    assert info["health"] == {"members": 3, "control_planes": 2, "workers": 1, "healthy": True}


def test_unreachable(fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"", (1, "", recorded("get_unreachable.stderr")))])
    with pytest.raises(AutoextenderError) as exc:
        gather(cli(runner), GATHER)
    assert exc.value.kind == "unreachable" and exc.value.details["rc"] == 1


def peers_json(states, node="192.0.2.10"):
    """A ``get kubespanpeerstatuses -o json`` stream with one peer per ``label: state``."""
    return "".join(json.dumps({"metadata": {"id": "key-%s" % label, "namespace": "kubespan", "type":
                                            "KubeSpanPeerStatuses.kubespan.talos.dev"}, "node": node,
                               "spec": {"label": label, "state": state, "endpoint": "203.0.113.7:51820"}},
                              indent=4) + "\n" for label, state in states)


def test_wait_for_peers_reads_again_until_every_peer_is_up(fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^get kubespanpeerstatuses", [
        (0, peers_json([("edge-1", "unknown")]), ""), (1, "", recorded("get_unreachable.stderr")),
        (0, peers_json([("edge-1", "up"), ("edge-2", "down")]), ""),
        (0, peers_json([("edge-1", "up"), ("edge-2", "up")]), "")])])
    clock = FakeClock()
    c = cli(runner)
    first = gather(c, ["kubespan_peers"], Deadline(60, clock=clock))["kubespan_peers"]
    peers = wait_for_peers(c, ["edge-1", "edge-2"], Deadline(60, clock=clock), first, sleep=clock.sleep)
    assert [p["state"] for p in peers] == ["up", "up"] and len(runner.commands()) == 4


def test_wait_for_peers_names_each_peer_not_up_at_the_deadline(fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"^get kubespanpeerstatuses", (0, peers_json([("edge-1", "up"), ("edge-2", "down")]), ""))])
    clock = FakeClock()
    with pytest.raises(AutoextenderError) as exc:
        wait_for_peers(cli(runner), ["edge-1", "edge-2", "edge-3"], Deadline(30, clock=clock), sleep=clock.sleep)
    assert exc.value.kind == "timeout" and clock() == 30
    assert exc.value.msg == "KubeSpan peers not up after 30s: 192.0.2.10 sees edge-2 down, edge-3 absent"
    assert exc.value.details["peers_not_up"] == {"192.0.2.10": ["edge-2", "edge-3"]}


def test_wait_for_peers_fails_at_once_on_a_tls_refusal(fake_talosctl_bin):
    runner = ScriptedTalosctl([(r"", (1, "", recorded("get_tls_unknown_authority.stderr")))])
    clock = FakeClock()
    with pytest.raises(AutoextenderError) as exc:
        wait_for_peers(cli(runner), ["edge-1"], Deadline(30, clock=clock), sleep=clock.sleep)
    assert exc.value.kind == "tls" and clock() == 0 and len(runner.commands()) == 1
    assert "192.0.2.10 does not trust this talosconfig" in exc.value.msg
