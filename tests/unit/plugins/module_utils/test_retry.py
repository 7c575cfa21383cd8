"""Retries honour Retry-After and the one deadline, and never repeat a create blindly."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._retry import ApiFailure, call, parse_retry_after
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline


class Boom(Exception):
    def __init__(self, failure):
        super().__init__(failure.message)
        self.failure = failure


def flaky(*failures, result="ok"):
    seq = list(failures)
    calls = []

    def fn():
        calls.append(1)
        if seq:
            raise Boom(seq.pop(0))
        return result
    return fn, calls


def run(fn, timeout=100, idempotent=True):
    slept = []
    out = call(fn, "list servers", Deadline(timeout), lambda e: e.failure, (Boom,), idempotent, sleep=slept.append)
    return out, slept


def test_retry_after_is_honoured():
    fn, calls = flaky(ApiFailure(429, retry_after=7), ApiFailure(503))
    out, slept = run(fn)
    assert out == "ok" and len(calls) == 3
    assert slept[0] == 7 and 0 < slept[1] < 2


@pytest.mark.parametrize("status, kind", [(401, "auth"), (404, "not_found"), (409, "conflict"), (422, "validation")])
def test_client_errors_are_not_retried(status, kind):
    fn, calls = flaky(ApiFailure(status, code="x", message="nope"))
    with pytest.raises(AutoextenderError) as e:
        run(fn)
    assert len(calls) == 1 and e.value.kind == kind
    assert e.value.msg == "Failed to list servers: nope"


def test_a_retry_after_beyond_the_deadline_fails_at_once():
    fn, calls = flaky(ApiFailure(429, retry_after=60))
    with pytest.raises(AutoextenderError) as e:
        run(fn, timeout=10)
    assert len(calls) == 1 and e.value.kind == "rate_limited" and e.value.details["attempts"] == 1


def test_a_dropped_create_is_not_repeated():
    fn, calls = flaky(ApiFailure(connection=True, message="connection dropped"))
    with pytest.raises(AutoextenderError):
        run(fn, idempotent=False)
    assert len(calls) == 1
    fn, calls = flaky(ApiFailure(connection=True))
    assert run(fn, idempotent=True)[0] == "ok"


def test_unhandled_exceptions_propagate():
    def fn():
        raise KeyError("x")
    with pytest.raises(KeyError):
        run(fn)


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None


@pytest.mark.parametrize("failure", [ApiFailure(connection=True, message="dropped"), ApiFailure(500), ApiFailure(503)])
def test_look_first_raises_a_possibly_made_change_at_once_marked_lost(failure):
    fn, calls = flaky(failure)
    slept = []
    with pytest.raises(AutoextenderError) as e:
        call(fn, "create server a", Deadline(100), lambda x: x.failure, (Boom,), idempotent=False,
             sleep=slept.append, look_first=True)
    assert len(calls) == 1 and slept == [] and e.value.details["answer_lost"] is True


def test_look_first_still_retries_a_429_and_does_not_mark_client_errors():
    fn, calls = flaky(ApiFailure(429, retry_after=2))
    out = call(fn, "create server a", Deadline(100), lambda x: x.failure, (Boom,), idempotent=False,
               sleep=lambda s: None, look_first=True)
    assert out == "ok" and len(calls) == 2
    fn, calls = flaky(ApiFailure(409, code="uniqueness_error"))
    with pytest.raises(AutoextenderError) as e:
        call(fn, "create server a", Deadline(100), lambda x: x.failure, (Boom,), look_first=True)
    assert e.value.kind == "conflict" and "answer_lost" not in e.value.details


def test_without_look_first_a_5xx_is_retried_even_for_a_create():
    fn, calls = flaky(ApiFailure(502))
    assert run(fn, idempotent=False)[0] == "ok" and len(calls) == 2
