"""talos_info: the argv it runs and the facts it builds from recorded v1.13.9 outputs."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._talosctl import TalosCLI
from ansible_collections.talos.autoextender.plugins.modules.talos_info import GATHER, gather
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
