"""_pool_expiry: when a standby pool expires (a date is 00:00 UTC of that day), and which pools have."""
import datetime

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _pool_expiry as e
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError

UTC = datetime.timezone.utc


def at(*args):
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("value, moment", [
    # A date is the START of that day, in UTC.
    ("2026-12-31", at(2026, 12, 31)),
    (datetime.date(2026, 12, 31), at(2026, 12, 31)),  # unquoted in YAML
    ("2026-12-31T18:00:00Z", at(2026, 12, 31, 18)),
    ("2026-12-31t18:00:00z", at(2026, 12, 31, 18)),
    ("2026-12-31 18:00:00Z", at(2026, 12, 31, 18)),
    ("2026-12-31T18:00Z", at(2026, 12, 31, 18)),
    ("2026-12-31T18:00:00.5Z", at(2026, 12, 31, 18, 0, 0, 500000)),
    ("2026-12-31T18:00:00.123456789Z", at(2026, 12, 31, 18, 0, 0, 123456)),
    ("2026-12-31T18:00:00+01:00", at(2026, 12, 31, 17)),
    ("2026-12-31T18:00:00-05:30", at(2026, 12, 31, 23, 30)),
    ("2027-01-01T00:30:00+01:00", at(2026, 12, 31, 23, 30)),
    (datetime.datetime(2026, 12, 31, 18, tzinfo=datetime.timezone(datetime.timedelta(hours=2))), at(2026, 12, 31, 16)),
])
def test_a_valid_expiry_names_one_moment_in_utc(value, moment):
    assert e.problem(value) is None
    parsed = e.parse(value)
    assert parsed == moment and parsed.utcoffset() == datetime.timedelta(0)


@pytest.mark.parametrize("value", [
    "2026-12-31T18:00:00", "2026-12-31T18:00", "2026-12-31 18:00:00",
    datetime.datetime(2026, 12, 31, 18),  # unquoted in YAML, without a zone
])
def test_a_date_time_without_a_zone_is_refused(value):
    assert e.problem(value) == e.NO_ZONE
    assert "without a zone: add Z (UTC) or an offset such as +01:00" in e.NO_ZONE


@pytest.mark.parametrize("value", [
    "", "tomorrow", "31.12.2026", "2026-12-31Z", "2026-13-01", "2026-02-30", "2026-12-31T24:00:00Z",
    "2026-12-31T18:00:60Z", "2026-12-31T18:00:00+25:00", "2026-12-31T18:00:00+0100", "20261231", "2026-W53",
    " 2026-12-31", "2026-12-31\n", 20261231, True, [], {},
])
def test_anything_else_is_refused_with_the_forms_it_takes(value):
    assert e.problem(value) == e.RULE
    with pytest.raises(AutoextenderError) as raised:
        e.parse(value, what="autoextender_pools[1] (pool b).expires")
    assert raised.value.kind == "validation"
    assert raised.value.msg == "autoextender_pools[1] (pool b).expires = %r: %s" % (value, e.RULE)
    assert "YYYY-MM-DD (00:00 UTC of that day)" in e.RULE


def test_text_is_utc_to_the_second():
    assert e.text(e.parse("2026-12-31T18:00:00.9+01:00")) == "2026-12-31T17:00:00Z"
    assert e.text(e.parse("2026-12-31")) == "2026-12-31T00:00:00Z"


POOLS = [
    {"name": "a", "provider": "lab", "active": True},
    {"name": "b", "provider": "lab", "active": False, "expires": "2026-12-31"},
    {"name": "c", "provider": "lab", "active": False, "expires": "2026-12-31T18:00:00+01:00"},
    {"name": "d", "provider": "lab", "active": False, "expires": None},
    {"name": "e", "provider": "lab", "active": False, "expires": datetime.date(2027, 1, 1)},
]


@pytest.mark.parametrize("now, names", [
    ("2026-12-30T23:59:59Z", []),
    # The date names the start of its day: at 00:00 UTC on the 31st, b has expired.
    ("2026-12-31", ["b"]),
    ("2026-12-31T00:00:00Z", ["b"]),
    ("2026-12-31T16:59:59Z", ["b"]),
    ("2026-12-31T17:00:00Z", ["b", "c"]),  # 18:00 at +01:00, reached exactly
    ("2026-12-31T18:00:00+01:00", ["b", "c"]),
    ("2027-01-01T00:59:59+01:00", ["b", "c"]),
    ("2027-01-01T01:00:00+01:00", ["b", "c", "e"]),
    (at(2030, 1, 1), ["b", "c", "e"]),
])
def test_expired_returns_the_pools_whose_expiry_is_reached_in_order(now, names):
    assert [p["name"] for p in e.expired(POOLS, now=now)] == names


def test_each_expired_pool_says_when_and_carries_the_pool_unchanged():
    out = e.expired(POOLS, now="2027-06-01")
    assert out == [
        {"name": "b", "expires": "2026-12-31", "expired_at": "2026-12-31T00:00:00Z", "pool": POOLS[1]},
        {"name": "c", "expires": "2026-12-31T18:00:00+01:00", "expired_at": "2026-12-31T17:00:00Z", "pool": POOLS[2]},
        {"name": "e", "expires": "2027-01-01", "expired_at": "2027-01-01T00:00:00Z", "pool": POOLS[4]},
    ]
    assert out[0]["pool"] is POOLS[1]


def test_now_defaults_to_the_current_time_in_utc():
    past = [{"name": "old", "expires": "2000-01-01"}, {"name": "new", "expires": "9999-12-31"}]
    assert [p["name"] for p in e.expired(past)] == ["old"]
    before = datetime.datetime.now(UTC)
    assert before <= e.current() <= datetime.datetime.now(UTC)


def test_no_pools_none_expired():
    assert e.expired([], now="2026-01-01") == [] and e.expired(None, now="2026-01-01") == []


def test_a_bad_expiry_names_the_pool():
    with pytest.raises(AutoextenderError) as raised:
        e.expired([{"name": "a"}, {"name": "b", "expires": "2026-12-31T18:00"}], now="2026-01-01")
    assert raised.value.msg.startswith("autoextender_pools[1] (pool b).expires = '2026-12-31T18:00': is a date-time "
                                       "without a zone")


@pytest.mark.parametrize("now, rule", [("2026-12-31T18:00", e.NO_ZONE), ("soon", e.RULE)])
def test_a_bad_now_is_refused(now, rule):
    with pytest.raises(AutoextenderError) as raised:
        e.expired(POOLS, now=now)
    assert raised.value.msg == "now = %r: %s" % (now, rule)


def test_a_pool_that_is_not_a_dict_is_refused():
    with pytest.raises(AutoextenderError, match=r"autoextender_pools\[0\] = 'a': must be a pool"):
        e.expired(["a"], now="2026-01-01")
