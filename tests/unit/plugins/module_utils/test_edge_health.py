"""_edge_health: failure thresholds, recovery and flapping of edge addresses, run by run (no probes, no clock)."""
from ansible_collections.talos.autoextender.plugins.module_utils import _edge_health as h

CONF = h.settings({"fail_after": 2, "recover_after": 3, "flap_changes": 3, "flap_window": 600})
IP = "192.0.2.10"


def test_settings_keep_defaults_for_what_is_not_given():
    assert h.settings(None) == h.DEFAULTS
    assert h.settings({"fail_after": 3, "recover_after": None, "state": {"name": "x"}})["fail_after"] == 3
    assert h.settings({"recover_after": None})["recover_after"] == h.DEFAULTS["recover_after"]


def test_streak_counts_the_last_run_of_equal_results():
    assert h.streak_of([]) == 0
    assert h.streak_of([True, False, False]) == -2
    assert h.streak_of([False, True]) == 1
    assert h.streak_of([True, True, True]) == 3


def test_a_published_address_is_probed_again_until_fail_after_failures_or_a_success():
    assert h.needs_probe(IP, -1, True, {}, CONF)
    assert not h.needs_probe(IP, -2, True, {}, CONF)  # fail_after reached: it leaves
    assert not h.needs_probe(IP, 1, True, {}, CONF)  # a success ends it: it stays
    # one lost probe removes nothing
    assert h.verdict(IP, [False, True], True, {}, CONF, 1000) == (None, None, None)


def test_a_new_address_is_confirmed_within_the_run_a_known_one_across_runs():
    assert h.needs_probe(IP, 1, False, {}, CONF) and h.needs_probe(IP, 2, False, {}, CONF)
    assert not h.needs_probe(IP, 3, False, {}, CONF)
    assert h.verdict(IP, [True, True, True], False, {}, CONF, 1000) == (None, None, None)
    assert h.verdict(IP, [True, True], False, {}, CONF, 1000)[:2] == (False, h.RECOVERING)
    known = {IP: {"ok": 0, "changes": []}}
    assert not h.needs_probe(IP, 1, False, known, CONF)  # taken out before: one probe per run
    assert h.verdict(IP, [True], False, known, CONF, 1000) == (
        False, h.RECOVERING, "1 of 3 consecutive successful probes (recover_after)")


def run(history, results, before, after, now):
    return h.advance(history, results, before, after, CONF, now)


def test_a_node_taken_out_comes_back_after_recover_after_healthy_runs():
    history = run({}, {IP: [True]}, set(), {IP}, 0)  # first published: new, so no change is counted
    assert history == {IP: {"ok": 0, "changes": []}}
    history = run(history, {IP: [False, False]}, {IP}, set(), 100)  # dead: out, one change
    assert history == {IP: {"ok": 0, "changes": [100]}}
    for now, ok in ((200, 1), (300, 2)):
        assert h.verdict(IP, [True], False, history, CONF, now)[1] == h.RECOVERING
        history = run(history, {IP: [True]}, set(), set(), now)
        assert history[IP]["ok"] == ok
    assert h.verdict(IP, [True], False, history, CONF, 400) == (None, None, None)
    history = run(history, {IP: [True]}, set(), {IP}, 400)
    assert history == {IP: {"ok": 0, "changes": [100, 400]}}
    # steady state: nothing changes, so nothing is written
    assert run(history, {IP: [True]}, {IP}, {IP}, 500) == history


def test_a_failure_while_recovering_starts_the_count_again():
    history = {IP: {"ok": 2, "changes": [100]}}
    history = run(history, {IP: [False]}, set(), set(), 200)
    assert history[IP]["ok"] == 0
    assert h.verdict(IP, [True], False, history, CONF, 300)[2].startswith("1 of 3")


def test_a_flapping_address_is_held_out_until_the_window_passes():
    history = {IP: {"ok": 2, "changes": [100, 200, 300]}}
    held = h.verdict(IP, [True], False, history, CONF, 400)
    assert held[:2] == (False, h.FLAPPING) and "3 times in the last 600s" in held[2]
    assert h.flapping(history, CONF, 400) == [IP]
    # A failing flapping address still leaves (the plain probe decides).
    assert h.verdict(IP, [False, False], True, history, CONF, 400) == (None, None, None)
    # Once the first change is older than the window, it may come back (it has its successes).
    assert h.verdict(IP, [True], False, history, CONF, 701) == (None, None, None)
    assert h.flapping(history, CONF, 701) == []
    assert run(history, {IP: [True]}, set(), {IP}, 701)[IP]["changes"] == [200, 300, 701]


def test_addresses_no_node_has_any_more_are_dropped():
    history = {IP: {"ok": 0, "changes": []}, "192.0.2.99": {"ok": 1, "changes": [5]}}
    assert set(run(history, {IP: [True]}, {IP}, {IP}, 10)) == {IP}
