"""The pool boot wait: progress of named servers, one event per status change."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._pool_wait import changes, progress, wait_running
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
from tests.support.clock import FakeClock


def srv(name, status):
    return {"name": name, "status": status}


@pytest.mark.parametrize("servers, running, pending, broken, done", [
    ([srv("a", "running"), srv("b", "running")], ["a", "b"], [], [], True),
    ([srv("a", "running"), srv("b", "starting")], ["a"], ["b"], [], False),
    ([srv("a", "running")], ["a"], ["b"], [], False),                       # b missing: still pending
    ([srv("a", "starting"), srv("b", "error")], [], ["a", "b"], [srv("b", "error")], True),
    ([srv("a", "off"), srv("b", "running")], ["b"], ["a"], [srv("a", "off")], True),
    ([srv("a", "running"), srv("b", "running"), srv("z", "error")], ["a", "b"], [], [], True),  # z not asked for
])
def test_progress(servers, running, pending, broken, done):
    assert progress(servers, ["a", "b"]) == {"running": running, "pending": pending, "broken": broken, "done": done}


def test_changes_name_appearing_changing_and_vanishing_servers():
    assert changes({}, {"a": "starting"}) == ["a: starting"]
    assert changes({"a": "starting"}, {"a": "starting"}) == []
    assert changes({"a": "starting", "b": "running"}, {"a": "running"}) == ["a: running", "b: not found"]


def test_wait_records_one_event_per_change_and_stops_when_all_run():
    clock = FakeClock()
    states = iter([[srv("a", "starting")]] * 3 + [[srv("a", "running"), srv("b", "starting")]] * 2
                  + [[srv("a", "running"), srv("b", "running")]])
    servers, prog, events = wait_running(lambda: next(states), ["a", "b"], Deadline(300, clock=clock),
                                         clock=clock, sleep=clock.sleep)
    assert prog["pending"] == [] and not prog["timed_out"] and prog["done"]
    assert [e.split(": ", 1)[1] for e in events] == ["a: starting", "a: running", "b: starting", "b: running"]
    assert events[0].startswith("0s: ") and servers[-1] == srv("b", "running")


def test_wait_stops_at_once_on_a_broken_server():
    clock = FakeClock()
    calls = []

    def read():
        calls.append(1)
        return [srv("a", "error"), srv("b", "starting")]

    _servers, prog, _events = wait_running(read, ["a", "b"], Deadline(300, clock=clock), clock=clock, sleep=clock.sleep)
    assert len(calls) == 1 and prog["broken"] == [srv("a", "error")] and not prog["timed_out"]


def test_a_timeout_is_reported_not_raised():
    clock = FakeClock()
    _servers, prog, events = wait_running(lambda: [srv("a", "starting")], ["a"], Deadline(30, clock=clock),
                                          clock=clock, sleep=clock.sleep)
    assert prog["timed_out"] and prog["pending"] == ["a"] and events == ["0s: a: starting"]
    assert clock.now >= 30
