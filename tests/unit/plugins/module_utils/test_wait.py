import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._wait import (
    Deadline,
    WaitTimeout,
    backoff_delays,
    wait_for,
)
from tests.support.clock import FakeClock


def test_backoff_grows_to_the_cap_within_jitter():
    delays = backoff_delays(initial=1, maximum=8, factor=2, jitter=0.25, rng=lambda: 1.0)
    assert [next(delays) for dummy in range(6)] == [1.25, 2.5, 5.0, 10.0, 10.0, 10.0]
    low = backoff_delays(initial=1, maximum=8, factor=2, jitter=0.25, rng=lambda: 0.0)
    assert [next(low) for dummy in range(4)] == [0.75, 1.5, 3.0, 6.0]


def test_one_deadline_is_shared_by_sequential_waits():
    clock = FakeClock(100.0)
    deadline = Deadline(10, clock=clock)
    calls = []

    def slow_probe():
        calls.append(clock.now)
        return clock.now >= 106, clock.now

    wait_for(slow_probe, deadline, "first", initial=1, maximum=2, sleep=clock.sleep)
    assert 6 <= 10 - deadline.remaining() <= 8.5
    # The second wait only gets what is left of the same 10 seconds.
    with pytest.raises(WaitTimeout) as exc:
        wait_for(lambda: (False, "still booting"), deadline, "second", initial=1, maximum=2,
                 sleep=clock.sleep)
    assert clock.now == pytest.approx(110)
    assert exc.value.partial == "still booting"
    assert exc.value.kind == "timeout"
    assert "second" in exc.value.msg


def test_a_ready_probe_returns_without_sleeping():
    slept = []
    assert wait_for(lambda: (True, "up"), Deadline(5), "x", sleep=slept.append) == "up"
    assert slept == []


@pytest.mark.parametrize("bad", [None, -1])
def test_deadline_rejects_bad_timeouts(bad):
    with pytest.raises(ValueError):
        Deadline(bad)
