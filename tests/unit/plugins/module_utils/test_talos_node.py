"""Parsers of node-side talosctl output, against outputs in talosctl v1.13.9's exact formats."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._errors import REDACTED, AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._talos_node import (
    TLS,
    as_node_error,
    as_rejected_config,
    node_failure,
    peers_not_up,
    retry_unreachable,
    find_member,
    health_summary,
    is_unreachable,
    parse_apply_output,
    parse_machine_types,
    parse_members,
    parse_peer_statuses,
    parse_versions,
    redact_diff,
    rejection_reason,
)
from ansible_collections.talos.autoextender.plugins.module_utils._talosctl import parse_json_stream
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
from tests.support.clock import FakeClock
from tests.support.fixtures_talos import recorded


def test_dry_run_no_changes_means_not_changed():
    out = parse_apply_output(recorded("apply_dry_run_no_changes.stderr"))
    assert out == {"changed": False, "dry_run": True, "diff": "", "warnings": [],
                   "mode_details": "Applied configuration without a reboot"}


def test_dry_run_with_a_diff_means_changed_and_keeps_the_diff():
    out = parse_apply_output(recorded("apply_dry_run_changes.stderr"))
    assert out["changed"] is True and out["dry_run"] is True
    assert out["diff"].startswith("--- a\n+++ b\n@@ -13,6 +13,10 @@\n")
    assert "+    nodeLabels:\n" in out["diff"]


def test_patch_dry_run_and_skipped_patch():
    out = parse_apply_output(recorded("patch_dry_run_changes.stderr"))
    assert out["changed"] is True and "+kind: KubeSpanConfig\n" in out["diff"]
    assert not out["mode_details"].startswith("patched")
    skipped = parse_apply_output(recorded("patch_skipped.stderr"))
    assert skipped["changed"] is False and skipped["mode_details"] == "Apply was skipped: no changes detected."


@pytest.mark.parametrize("name,details", [
    ("apply_auto.stderr", "Applied configuration without a reboot"),
    ("apply_staged.stderr", "Staged configuration to be applied after the next reboot"),
])
def test_real_apply_answers(name, details):
    out = parse_apply_output(recorded(name))
    assert out == {"changed": None, "dry_run": False, "diff": "", "warnings": [], "mode_details": details}


def test_apply_with_warnings_and_a_reboot():
    out = parse_apply_output(recorded("apply_auto_reboot.stderr"))
    assert out["warnings"] == ['use "worker" instead of "" for machine type']
    assert out["mode_details"].startswith("Applied configuration with a reboot: this config change can't be applied")
    assert out["changed"] is None


def test_diff_redaction_removes_secret_lines_and_known_secrets():
    diff = parse_apply_output(recorded("apply_dry_run_changes.stderr"))["diff"]
    secret = "mZnDleQtg1mEc2lENUAYTcqoVttAuZt17mkMk6vqg4Y="
    cluster_id = "nM5B_WVaQd9csF-ZfpBSAGJf7CufR4lYY1vvLHANtBA="
    assert secret in diff
    out = redact_diff(diff, [cluster_id])
    assert secret not in out and cluster_id not in out
    assert "     secret: %s\n" % REDACTED in out
    assert "+    nodeLabels:\n" in out


def test_recorded_unreachable_errors_are_classified():
    for name in ("apply_unreachable_insecure", "get_unreachable"):
        err = AutoextenderError("talosctl failed", kind="command",
                                details={"cmd": ["talosctl"], "rc": 1, "stdout": "", "stderr": recorded(name + ".stderr")})
        assert is_unreachable(err)
        out = as_node_error(err, "127.0.0.1")
        assert out.kind == "unreachable" and out.details["node"] == "127.0.0.1"
        assert out.msg.startswith("The Talos API of 127.0.0.1 is unreachable: ")
        assert "connection refused" in out.msg and out.details["rc"] == 1
    other = AutoextenderError("x", kind="command", details={"stderr": "error: unknown flag --bogus"})
    assert not is_unreachable(other) and as_node_error(other, "n") is other


def test_members_from_the_recorded_json_stream():
    members = parse_members(parse_json_stream(recorded("get_members.json")))
    assert [m["id"] for m in members] == ["home-cp-1", "home-cp-2", "edge-hel1-1"]
    assert members[2] == {"id": "edge-hel1-1", "node": "192.0.2.10", "hostname": "edge-hel1-1",
                          "addresses": ["203.0.113.7", "fd7a:115c:a1e0::7"], "machine_type": "worker",
                          "operating_system": "Talos (v1.13.9)"}
    assert find_member(members, "203.0.113.7")["id"] == "edge-hel1-1"
    assert find_member(members, "198.51.100.1", hostname="home-cp-2")["id"] == "home-cp-2"
    assert find_member(members, "198.51.100.1") is None


def test_peer_statuses_and_health():
    peers = parse_peer_statuses(parse_json_stream(recorded("get_kubespanpeerstatuses.json")))
    assert [p["state"] for p in peers] == ["up", "up", "down"]
    assert peers[0] == {"id": "06D9QQOydzKrOL7oeLiqHy9OWE8KtmJzZII2A5/FLFI=", "node": "192.0.2.10",
                        "label": "edge-hel1-1", "state": "up", "endpoint": "203.0.113.7:51820",
                        "last_handshake": "2026-11-24T05:01:58.418262153Z", "rx_bytes": 15043220,
                        "tx_bytes": 17869488}
    members = parse_members(parse_json_stream(recorded("get_members.json")))
    health = health_summary(members, peers)
    assert health == {"members": 3, "control_planes": 2, "workers": 1, "kubespan_peers": 3, "kubespan_peers_up": 2,
                      "kubespan_peers_down": 1, "kubespan_peers_unknown": 0, "peers_down": ["edge-par-1"],
                      "healthy": False}
    up = parse_peer_statuses(parse_json_stream(recorded("get_kubespanpeerstatuses_all_up.json")))
    assert health_summary(members, up)["healthy"] is True
    assert health_summary([], up)["healthy"] is False


def test_machine_type_and_version():
    assert parse_machine_types(parse_json_stream(recorded("get_machinetype_worker.json"))) == {"203.0.113.7": "worker"}
    assert parse_machine_types(parse_json_stream(recorded("get_machinetype_controlplane.json"))) == {
        "192.0.2.10": "controlplane"}
    versions = parse_versions(parse_json_stream(recorded("version_json.stdout")))
    assert versions == [{"node": "192.0.2.10", "tag": "v1.13.9", "sha": "5b8f0ad3", "go_version": "go1.26.8",
                         "os": "linux", "arch": "amd64", "platform": "metal", "rbac": True}]


# -- failure kinds and retries (issue 13) ---------------------------------------------------------------------
def command_error(stderr):
    return AutoextenderError("talosctl get failed (rc=1): " + stderr.splitlines()[0], kind="command",
                             details={"cmd": ["talosctl", "get"], "rc": 1, "stdout": "", "stderr": stderr})


TLS_TEXTS = [
    recorded("get_tls_unknown_authority.stderr"),
    'rpc error: code = Unavailable desc = connection error: desc = "error reading server preface: remote error: '
    'tls: certificate required"',
    'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: '
    'remote error: tls: bad certificate"',
]


@pytest.mark.parametrize("stderr", TLS_TEXTS)
def test_a_tls_refusal_is_its_own_kind_in_one_line(stderr):
    err = command_error(stderr)
    assert node_failure(err) == TLS and not is_unreachable(err)
    out = as_node_error(err, "203.0.113.7")
    assert out.kind == "tls" and out.details["node"] == "203.0.113.7" and "\n" not in out.msg
    assert out.msg.startswith("The Talos API of 203.0.113.7 does not trust this talosconfig (TLS: ")
    assert out.msg.endswith("it is another cluster's talosconfig, or the node is in maintenance mode and needs "
                            "insecure=true")


def test_the_tls_reason_is_the_x509_text():
    out = as_node_error(command_error(recorded("get_tls_unknown_authority.stderr")), "n")
    assert "(TLS: x509: certificate signed by unknown authority): it is another" in out.msg


def test_retry_unreachable_asks_again_until_the_node_answers():
    clock = FakeClock()
    calls = []

    def call():
        calls.append(clock())
        if len(calls) < 4:
            raise command_error(recorded("get_unreachable.stderr"))
        return "answer"
    assert retry_unreachable(call, "n", Deadline(60, clock=clock), sleep=clock.sleep) == "answer"
    assert len(calls) == 4 and 0 < calls[-1] < 60


def test_retry_unreachable_gives_up_at_the_deadline_with_kind_unreachable():
    clock = FakeClock()
    calls = []

    def call():
        calls.append(clock())
        raise command_error(recorded("get_unreachable.stderr"))
    with pytest.raises(AutoextenderError) as exc:
        retry_unreachable(call, "203.0.113.7", Deadline(20, clock=clock), sleep=clock.sleep)
    assert exc.value.kind == "unreachable" and clock() == 20
    assert exc.value.msg.endswith("(tried %d times in 20s)" % len(calls)) and len(calls) > 3


@pytest.mark.parametrize("stderr,kind", [(TLS_TEXTS[0], "tls"), ("error: unknown flag: --bogus", "command")])
def test_retry_unreachable_never_asks_again_on_other_errors(stderr, kind):
    clock = FakeClock()
    calls = []

    def call():
        calls.append(1)
        raise command_error(stderr)
    with pytest.raises(AutoextenderError) as exc:
        retry_unreachable(call, "n", Deadline(60, clock=clock), sleep=clock.sleep)
    assert exc.value.kind == kind and len(calls) == 1 and clock() == 0


def test_peers_not_up_per_asked_node():
    peers = [{"node": "h1", "id": "k1", "label": "e1", "state": "up"},
             {"node": "h1", "id": "k2", "label": "e2", "state": "down"},
             {"node": "h2", "id": "k1", "label": "e1", "state": "up"},
             {"node": "h2", "id": "k2", "label": "e2", "state": "up"}]
    assert peers_not_up(peers, ["e1", "e2"], ["h1", "h2"]) == {"h1": ["e2"]}
    assert peers_not_up(peers, ["e1"], ["h1", "h2", "h3"]) == {"h3": ["e1"]}
    assert peers_not_up(peers, ["e1", "e2"], []) == {}
    assert peers_not_up(peers[:2], ["e2", "e3"], []) == {"": ["e2", "e3"]}
    assert peers_not_up([], [], ["h1"]) == {}


def test_a_rejected_config_names_the_field_in_one_line():
    stderr = ("error applying new configuration: rpc error: code = InvalidArgument desc = 1 error occurred:\n"
              "\t* v1alpha1.Config: 1 error occurred:\n\t* invalid controlplane endpoint: hostname must not be blank"
              "\n\n\n\n")
    assert rejection_reason(stderr) == "v1alpha1.Config: invalid controlplane endpoint: hostname must not be blank"
    out = as_rejected_config(command_error(stderr), "203.0.113.7")
    assert out.kind == "invalid_config" and out.msg == (
        "The Talos node 203.0.113.7 rejected the config: v1alpha1.Config: invalid controlplane endpoint: "
        "hostname must not be blank")
    two = ("rpc error: code = InvalidArgument desc = 2 errors occurred:\n\t* machine.type: bad\n"
           "\t* cluster.network: worse\n")
    assert rejection_reason(two) == "machine.type: bad; cluster.network: worse"
    assert rejection_reason("rpc error: code = InvalidArgument desc = no v1alpha1 config") == "no v1alpha1 config"
    assert rejection_reason(recorded("get_unreachable.stderr")) is None


def test_a_node_about_to_reboot_is_asked_again():
    stderr = ("error applying new configuration: rpc error: code = FailedPrecondition desc = configuration was already "
              "applied and node is rebooting, cannot apply more configuration changes until next reboot\n")
    assert node_failure(command_error(stderr)) == "rebooting"
    clock = FakeClock()
    replies = [command_error(stderr), command_error(recorded("get_unreachable.stderr")), "answer"]

    def call():
        reply = replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply
    assert retry_unreachable(call, "n", Deadline(60, clock=clock), sleep=clock.sleep) == "answer"
