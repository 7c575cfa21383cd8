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
