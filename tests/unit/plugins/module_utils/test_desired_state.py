"""The desired-state rules the preflight role applies before anything is created (_desired_state.py)."""
import copy
import datetime

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _desired_state
from ansible_collections.talos.autoextender.plugins.filter import (
    desired_state_problems, placement_problems, pools_sharing_image)

SCHEMATIC = _desired_state.DEFAULT_SCHEMATIC
GOOD = {
    "cluster": {"name": "home", "endpoint": "https://192.168.1.10:6443", "talos_version": "v1.13.9",
                "kubernetes_version": "v1.36.3", "kubespan": {"mtu": 1420}},
    "pools": [{"name": "hel1-a", "provider": "hetzner", "location": "hel1", "server_type": "cx23", "count": 2,
               "arch": "amd64", "active": True, "schematic": SCHEMATIC, "join": "maintenance"},
              {"name": "fr-par-b", "provider": "linode", "location": "fr-par", "server_type": "g6-nanode-1",
               "active": False},
              {"name": "lab-a", "provider": "lab", "location": "loopback", "server_type": "lab-small",
               "join": "user_data"}],
    "dns": {"provider": "cloudflare", "zone": "example.com", "edge_name": "edge", "ttl": 60, "min_values": 1},
    "expose": [{"host": "app.example.com", "namespace": "default", "service": "app", "port": 80},
               {"host": "mc.example.com", "namespace": "games", "service": "minecraft", "port": 25565,
                "protocol": "tcp", "edge_port": 25565}],
}


def problems(**changes):
    """The problems of GOOD with ``changes``: ``{"pools.0.count": -1, "dns.ttl": -5, ...}`` (``None`` deletes)."""
    state = copy.deepcopy(GOOD)
    for path, value in changes.items():
        keys = path.replace("__", ".").split(".")
        target = state
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        last = int(keys[-1]) if isinstance(target, list) else keys[-1]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return _desired_state.problems(state["cluster"], state["pools"], state["dns"], state["expose"])


def test_the_good_state_has_no_problem():
    assert problems() == []


def test_defaults_of_the_schema_apply():
    state = copy.deepcopy(GOOD)
    state["pools"] = [{"name": "a", "provider": "lab", "location": "loopback", "server_type": "lab-small"}]
    state["dns"] = {"provider": "powerdns", "zone": "lab.test"}
    assert _desired_state.problems(state["cluster"], state["pools"], state["dns"], None) == []


# Each bad input of issue 11 (defects 5 and 6) and issue 12 (defect 7): the message names the option, the value
# and the rule.
@pytest.mark.parametrize("changes, expected", [
    ({"pools.0.count": -1}, "autoextender_pools[0] (pool hel1-a).count = -1: must be at least 1"),
    ({"pools.0.count": 0}, "count = 0: must be at least 1 (a pool of 0 servers would stay published); to remove a "
                           "pool, run playbooks/decommission.yml -e pool=hel1-a"),
    ({"pools.0.count": "two"}, "count = 'two': must be a whole number"),
    ({"pools.0.location": ""}, "autoextender_pools[0] (pool hel1-a).location = '': must be a non-empty provider location"),
    ({"pools.0.location": " hel1"}, "location = ' hel1': must be a provider location without spaces"),
    ({"pools.0.server_type": None}, "server_type = None: must be a non-empty provider server type"),
    ({"pools.0.schematic": "not-a-schematic"},
     "schematic = 'not-a-schematic': must be an Image Factory schematic ID (64 lower-case hex digits)"),
    ({"pools.0.schematic": SCHEMATIC.upper()}, "64 lower-case hex digits"),
    ({"dns.ttl": -5}, "autoextender_dns.ttl = -5: must be between 1 and 2147483647"),
    ({"dns.ttl": 0}, "autoextender_dns.ttl = 0: must be between 1 and 2147483647"),
    ({"dns.min_values": 0}, "autoextender_dns.min_values = 0: must be at least 1 (the edge set is never published empty)"),
    ({"dns.min_values": -3}, "autoextender_dns.min_values = -3: must be at least 1"),
    ({"dns.edge_name": "my edge"}, "autoextender_dns.edge_name = 'my edge': must be dot-separated DNS labels"),
    ({"dns.edge_name": "edge."}, "autoextender_dns.edge_name = 'edge.': must be relative to autoextender_dns.zone"),
    ({"dns.edge_name": "@"}, "(use apex: true for the zone itself)"),
    ({"dns.zone": "example com"}, "autoextender_dns.zone = 'example com': must be dot-separated DNS labels"),
    ({"expose.0.port": 70000}, "autoextender_expose[0].port = 70000: must be between 1 and 65535"),
    ({"expose.0.port": 0}, "autoextender_expose[0].port = 0: must be between 1 and 65535"),
    ({"expose.1.edge_port": 70000}, "autoextender_expose[1].edge_port = 70000: must be between 1 and 65535"),
    ({"expose.1.edge_port": None}, "autoextender_expose[1].edge_port = None: must be a whole number"),
    ({"expose.1.edge_port": 51820}, "autoextender_expose[1].edge_port = 51820: must not be one of 80, 443, 50000"),
    ({"expose.0.host": "app.other.test"}, "autoextender_expose[0].host = 'app.other.test': must be inside the zone"),
    ({"expose.0.host": "mc.example.com"}, "autoextender_expose[1].host = 'mc.example.com': must be unique"),
    ({"expose.0.host": "edge.example.com"}, "must not be the edge record set's own name"),
    ({"expose.0.namespace": "Default"}, "autoextender_expose[0].namespace = 'Default': must be 1 to 63 lower-case"),
    ({"expose.0.service": "1app"}, "autoextender_expose[0].service = '1app': must be 1 to 63 lower-case letters, digits "
                                   "or dashes, starting with a letter"),
    ({"cluster.name": "Home Lab"}, "autoextender_cluster.name = 'Home Lab': must be 1 to 63 lower-case letters"),
    ({"cluster.name": "h" * 70}, "autoextender_cluster.name = '%s': must be 1 to 63" % ("h" * 70)),
    ({"cluster.endpoint": "https://home"}, "autoextender_cluster.endpoint = 'https://home': must look like https://host:6443"),
    ({"cluster.endpoint": "https://home:70000"}, "has a port that must be between 1 and 65535"),
    ({"cluster.talos_version": "1.13"}, "autoextender_cluster.talos_version = '1.13': must be a version like v1.13.9"),
    ({"cluster.kubespan": {"mtu": -1}}, "autoextender_cluster.kubespan.mtu = -1: must be between 1280 and 9000"),
    ({"pools.0.name": "Hel1 A"}, "autoextender_pools[0].name = 'Hel1 A': must be 1 to 40 lower-case letters"),
    ({"pools.1.name": "hel1-a"}, "autoextender_pools[].name = 'hel1-a': must be unique: 2 pools have it"),
    ({"pools.0.active": False, "pools.2.active": False}, "at least one pool must be active"),
])
def test_bad_input_is_named_with_its_value_and_rule(changes, expected):
    found = problems(**changes)
    assert any(expected in message for message in found), found


def test_a_string_number_from_extra_vars_counts_as_a_number():
    assert problems(**{"pools.0.count": "3", "dns.ttl": "30"}) == []


def test_one_root_cause_gives_one_message():
    """A bad cluster name is reported once, not again through every name derived from it."""
    assert len(problems(**{"cluster.name": "Home Lab"})) == 1


# Names derived from the cluster and pool names, against each provider the pools use and against Kubernetes.
@pytest.mark.parametrize("cluster, pools, expected", [
    # Linode tags are at most 50 characters: autoextender-cluster=<30 characters> is 51.
    ("c" * 30, [1], "autoextender_pools[0] (pool fr-par-b) on linode: Label autoextender-cluster=%s does not fit in a "
                    "Linode tag" % ("c" * 30)),
    # A Linode firewall label is at most 32 characters: <cluster>-fr-par-b.
    ("c" * 24, [1], "on linode: Linode firewall label '%s-fr-par-b' must be 3 to 32" % ("c" * 24)),
    # A Linode label starts with a letter.
    ("1home", [1], "on linode: Linode label '1home-fr-par-b-1' must be 3 to 64 letters"),
    # A cluster name may hold '.', which no hostname (Node name) may.
    ("home.lab", [0], "server name = 'home.lab-hel1-a-2': must be 1 to 63 lower-case letters, digits or dashes"),
    # 63 characters are a valid owner and label value, but <cluster>-<pool>-<n> is no longer a hostname.
    ("h" * 63, [0], "server name = '%s-hel1-a-2': must be 1 to 63" % ("h" * 63)),
    ("h" * 63, [0], "on hetzner: server name '%s-hel1-a-2' must be dot-separated DNS labels" % ("h" * 63)),
    ("h" * 63, [2], "on lab: lab server name '%s-lab-a-1' must be 1 to 63" % ("h" * 63)),
])
def test_derived_names_fit_every_used_provider(cluster, pools, expected):
    state = copy.deepcopy(GOOD)
    state["cluster"]["name"] = cluster
    chosen = [state["pools"][i] for i in pools]
    chosen[0]["active"] = True
    found = _desired_state.problems(state["cluster"], chosen, state["dns"], [])
    assert any(expected in message for message in found), found


def test_derived_names_are_checked_only_against_the_providers_in_use():
    """A 30-character cluster name does not fit Linode tags, but is fine for a Hetzner-only desired state."""
    state = copy.deepcopy(GOOD)
    state["cluster"]["name"] = "c" * 30
    assert _desired_state.problems(state["cluster"], [state["pools"][0]], state["dns"], []) == []


def test_ownership_records_must_fit_in_dns():
    edge = "e" * 63 + "." + "f" * 63
    found = problems(**{"dns.edge_name": edge, "dns.zone": "g" * 63 + "." + "h" * 60})
    assert any("autoextender_dns.edge_name" in m and "its ownership record makes the DNS name _autoextender." in m
               and "DNS allows at most 253" in m for m in found), found
    host = "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 40 + ".example.com"  # 244 characters
    found = problems(**{"expose.0.host": host})
    assert any("its ExternalDNS registry record makes the DNS name extdns-cname." in m for m in found), found


def test_placement_messages_name_the_pool():
    results = [{"item": {"name": "hel1-a"}, "placement": {"valid": False, "problems": ["Unknown Hetzner location 'x'"]}},
               {"item": {"name": "lab-a"}, "placement": {"valid": True, "problems": []}},
               {"item": {"name": "skipped"}, "skipped": True}]
    assert _desired_state.placement_messages(results) == [
        "autoextender_pools (pool hel1-a): Unknown Hetzner location 'x'"]


@pytest.mark.parametrize("pool, expected", [
    ({"name": "hel1-a", "provider": "hetzner"}, ["hel1-b"]),
    ({"name": "hel1-a", "provider": "hetzner", "arch": "arm64"}, ["hel1-arm"]),
    ({"name": "gone", "provider": "linode"}, []),
])
def test_pools_sharing_an_image(pool, expected):
    pools = [{"name": "hel1-a", "provider": "hetzner"}, {"name": "hel1-b", "provider": "hetzner", "schematic": SCHEMATIC},
             {"name": "hel1-arm", "provider": "hetzner", "arch": "arm64"},
             {"name": "other", "provider": "hetzner", "schematic": "1" * 64}, {"name": "lab-a", "provider": "lab"}]
    assert _desired_state.pools_sharing_image(pools, pool) == expected


def test_pools_leaving_in_the_same_run_do_not_keep_the_image():
    # decommission -e expired=true: two expired standby pools share the image of no pool that stays.
    pools = [{"name": "hel1-a", "provider": "hetzner", "arch": "arm64"}, {"name": "old-1", "provider": "hetzner"},
             {"name": "old-2", "provider": "hetzner"}]
    assert _desired_state.pools_sharing_image(pools, pools[1]) == ["old-2"]
    assert _desired_state.pools_sharing_image(pools, pools[1], ["old-1", "old-2"]) == []
    assert _desired_state.pools_sharing_image(pools, pools[2], ["old-1", "old-2"]) == []
    assert _desired_state.pools_sharing_image(pools + [{"name": "hel1-b", "provider": "hetzner"}], pools[2],
                                              ["old-1", "old-2"]) == ["hel1-b"]


def test_the_filters_are_registered():
    filters = {}
    for plugin in (desired_state_problems, placement_problems, pools_sharing_image):
        filters.update(plugin.FilterModule().filters())
    assert set(filters) == {"desired_state_problems", "placement_problems", "pools_sharing_image"}
    assert filters["desired_state_problems"](GOOD["cluster"], GOOD["pools"], GOOD["dns"], GOOD["expose"]) == []
    assert filters["placement_problems"]([{"item": {"name": "a"}, "placement": {"problems": ["p"]}}]) == [
        "autoextender_pools (pool a): p"]
    assert filters["pools_sharing_image"](GOOD["pools"], {"name": "x", "provider": "lab"}) == ["lab-a"]
    assert filters["pools_sharing_image"](GOOD["pools"], {"name": "x", "provider": "lab"}, leaving=["lab-a"]) == []


# Issue 18: `expires` on a standby pool (GOOD's pools[1], active: false); plugins/module_utils/_pool_expiry.py.
@pytest.mark.parametrize("expires", [
    "2026-12-31", "2026-12-31T18:00:00Z", "2026-12-31T18:00:00+01:00", "2020-01-01",
    datetime.date(2026, 12, 31),  # unquoted in YAML
    datetime.datetime(2026, 12, 31, 18, tzinfo=datetime.timezone.utc),
])
def test_a_standby_pool_may_expire(expires):
    assert problems(**{"pools.1.expires": expires}) == []


@pytest.mark.parametrize("changes, expected", [
    ({"pools.1.expires": "31.12.2026"},
     "autoextender_pools[1] (pool fr-par-b).expires = '31.12.2026': must be a date YYYY-MM-DD (00:00 UTC of that day) "
     "or a date-time with a zone, such as 2026-12-31T18:00:00Z or 2026-12-31T18:00:00+01:00"),
    ({"pools.1.expires": "2026-02-30"}, "autoextender_pools[1] (pool fr-par-b).expires = '2026-02-30': must be a date"),
    ({"pools.1.expires": "2026-12-31T18:00:00"},
     "autoextender_pools[1] (pool fr-par-b).expires = '2026-12-31T18:00:00': is a date-time without a zone: add Z (UTC) "
     "or an offset such as +01:00"),
    ({"pools.1.expires": datetime.datetime(2026, 12, 31, 18)},
     "autoextender_pools[1] (pool fr-par-b).expires = '2026-12-31T18:00:00': is a date-time without a zone"),
    ({"pools.1.expires": 20261231}, "autoextender_pools[1] (pool fr-par-b).expires = 20261231: must be a date"),
    ({"pools.0.expires": "2026-12-31"},
     "autoextender_pools[0] (pool hel1-a).expires = '2026-12-31': only a standby pool may expire (an active pool serves "
     "traffic, and a pool is active unless it says active: false): set active: false first, or move the traffic to "
     "another pool with playbooks/migrate.yml"),
    # No `active` key: the pool is active (the schema's default).
    ({"pools.2.expires": "2026-12-31"}, "autoextender_pools[2] (pool lab-a).expires = '2026-12-31': only a standby pool"),
    ({"pools.1.active": "yes", "pools.1.expires": "2026-12-31"},
     "autoextender_pools[1] (pool fr-par-b).expires = '2026-12-31': only a standby"),
])
def test_a_bad_expiry_is_named_with_its_value_and_rule(changes, expected):
    found = problems(**changes)
    assert any(message.startswith(expected) for message in found), found
    assert len(found) == 1, found


def test_a_bad_expiry_on_an_active_pool_gives_both_rules():
    found = problems(**{"pools.0.expires": "2026-12-31T18:00"})
    assert [m.split(": ", 1)[1][:28] for m in found] == ["is a date-time without a zon", "only a standby pool may expi"]


def test_expires_null_is_no_expiry_even_on_an_active_pool():
    state = copy.deepcopy(GOOD)
    state["pools"][0]["expires"] = None
    assert _desired_state.problems(state["cluster"], state["pools"], state["dns"], state["expose"]) == []


@pytest.mark.parametrize("active", [False, "false", "no", 0])
def test_a_standby_pool_in_any_spelling_may_expire(active):
    assert problems(**{"pools.0.active": active, "pools.0.expires": "2026-12-31", "pools.2.active": True}) == []
