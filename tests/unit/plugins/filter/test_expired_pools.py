"""expired_pools: the pools of the desired state whose expiry has passed (decommission.yml -e expired=true)."""
import datetime

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.talos.autoextender.plugins.filter import expired_pools as plugin
from ansible_collections.talos.autoextender.plugins.filter.expired_pools import FilterModule

POOLS = [
    {"name": "lab-a", "provider": "lab", "location": "loopback", "server_type": "lab-small", "active": True},
    {"name": "lab-b", "provider": "lab", "location": "loopback", "server_type": "lab-small", "active": False,
     "expires": "2020-01-01"},
    {"name": "lab-c", "provider": "lab", "location": "loopback", "server_type": "lab-small", "active": False,
     "expires": "2999-01-01T00:00:00Z"},
]


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"expired_pools": plugin.expired_pools}


def test_without_now_it_compares_with_the_current_time():
    assert [p["name"] for p in plugin.expired_pools(POOLS)] == ["lab-b"]


def test_the_result_names_the_pool_and_when_it_expired():
    assert plugin.expired_pools(POOLS, now="2026-12-31T18:00:00+01:00") == [
        {"name": "lab-b", "expires": "2020-01-01", "expired_at": "2020-01-01T00:00:00Z", "pool": POOLS[1]}]


@pytest.mark.parametrize("now, names", [
    ("2019-12-31T23:59:59Z", []),
    ("2020-01-01", ["lab-b"]),
    ("3000-01-01", ["lab-b", "lab-c"]),
])
def test_now_as_an_iso_string(now, names):
    assert [p["name"] for p in plugin.expired_pools(POOLS, now=now)] == names


def test_a_yaml_date_is_read_as_its_string():
    pools = [dict(POOLS[1], expires=datetime.date(2020, 1, 1))]
    assert plugin.expired_pools(pools, now="2020-01-01")[0]["expires"] == "2020-01-01"


@pytest.mark.parametrize("pools, now, message", [
    ({"name": "a"}, None, "expired_pools: the input must be the list of pools (autoextender_pools), got dict"),
    ([{"name": "a", "active": False, "expires": "2020-01-01T00:00"}], None,
     "expired_pools: autoextender_pools[0] (pool a).expires = '2020-01-01T00:00': is a date-time without a zone"),
    (POOLS, "yesterday", "expired_pools: now = 'yesterday': must be a date YYYY-MM-DD"),
])
def test_bad_input_fails_naming_what(pools, now, message):
    with pytest.raises(AnsibleFilterError) as raised:
        plugin.expired_pools(pools, now=now)
    assert str(raised.value).startswith(message)
