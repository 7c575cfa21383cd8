"""The long floating watch (module_utils/_floating_watch.py) with a provider and probes in memory and a fake clock."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._floating_watch import Watch
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base

OURS = base.ownership_labels("home", "hel1-a")


class Cloud:
    """list_servers / list_floating_ips / assign_floating_ip, counting the listings."""

    def __init__(self, servers, addresses):
        self.servers, self.addresses, self.listings, self.assigned = servers, addresses, 0, []

    def list_servers(self, selector):
        self.listings += 1
        return [dict(s) for s in self.servers]

    def list_floating_ips(self, selector):
        return [dict(f, labels=dict(f["labels"])) for f in self.addresses]

    def assign_floating_ip(self, current, server_id, deadline):
        self.assigned.append((current["name"], server_id))
        found = next(f for f in self.addresses if f["name"] == current["name"])
        found["server"] = server_id
        return dict(found)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def server(n, status="running", pool="hel1-a"):
    return base.server(id=str(n), name="home-%s-%d" % (pool, n), status=status, public_ipv4="192.0.2.%d" % n,
                       public_ipv6="2001:db8::%d" % n, labels=base.ownership_labels("home", pool))


def fip(on="1", pool="hel1-a", family="ipv4"):
    return base.floating_ip(id="f-" + pool, name="home-%s-%s" % (pool, family), provider="lab", family=family,
                            address="203.0.113.7", server=on, labels=base.ownership_labels("home", pool))


def prober(clock, dead):
    """Probes that fail for the addresses in ``dead`` (a dict ip -> the time it dies) from that time on."""
    calls = []

    def probe_all(ips, tcp_ports, http, timeout):
        calls.append(sorted(ips))
        return dict((ip, {"ip": ip, "healthy": not (ip in dead and clock() >= dead[ip])}) for ip in ips)
    probe_all.calls = calls
    return probe_all


def watch(cloud, clock, probe_all, **kw):
    return Watch(cloud, "home", clock=clock, sleep=clock.sleep, probe_all=probe_all, **kw)


def test_an_address_moves_after_fail_after_failed_probes_and_only_once():
    cloud, clock = Cloud([server(1), server(2), server(3)], [fip("1")]), Clock()
    probe_all = prober(clock, {"192.0.2.1": 10.0})
    result = watch(cloud, clock, probe_all, interval=1, duration=30, fail_after=2).run()
    assert cloud.assigned == [("home-hel1-a-ipv4", "2")]
    # dies at 10 s: failed probes at 10 and 11, moved in the pass at 11
    assert result["moves"] == [{"name": "home-hel1-a-ipv4", "address": "203.0.113.7", "pool": "hel1-a",
                                "from": "home-hel1-a-1", "to": "home-hel1-a-2", "failed_probes": 2,
                                "after_seconds": 11.0}]
    # passes at 0, 1, ... 30 s
    assert result["passes"] == 31 and result["addresses"][0]["server"] == "home-hel1-a-2"
    assert probe_all.calls[0] == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]


def test_a_healthy_address_never_moves_and_one_failed_probe_is_not_enough():
    cloud, clock = Cloud([server(1), server(2)], [fip("2")]), Clock()
    flaky = {"192.0.2.2": 5.0}
    probe_all = prober(clock, flaky)

    def once(ips, *args):
        out = probe_all(ips, *args)
        if clock() >= 6.0:  # back after one failed probe
            out["192.0.2.2"]["healthy"] = True
        return out
    result = watch(cloud, clock, once, interval=1, duration=20, fail_after=2).run()
    assert cloud.assigned == [] and result["moves"] == []


def test_an_address_on_a_server_that_stopped_moves_without_waiting_for_probes_of_it():
    cloud, clock = Cloud([server(1, status="off"), server(2)], [fip("1")]), Clock()
    result = watch(cloud, clock, prober(clock, {}), interval=1, duration=5, fail_after=2).run()
    # a server that does not run fails every pass: two passes
    assert [(m["from"], m["to"], m["after_seconds"]) for m in result["moves"]] == [("home-hel1-a-1", "home-hel1-a-2",
                                                                                   1.0)]


def test_an_unrouted_address_goes_to_the_first_healthy_server_by_name():
    cloud, clock = Cloud([server(3), server(2)], [fip(None)]), Clock()
    result = watch(cloud, clock, prober(clock, {}), duration=0).run()
    assert cloud.assigned == [("home-hel1-a-ipv4", "2")] and result["passes"] == 1
    assert result["moves"][0]["from"] is None and result["moves"][0]["failed_probes"] is None


def test_no_healthy_server_leaves_the_address_where_it_is():
    cloud, clock = Cloud([server(1), server(2)], [fip("1")]), Clock()
    dead = {"192.0.2.1": 0.0, "192.0.2.2": 0.0}
    result = watch(cloud, clock, prober(clock, dead), interval=1, duration=10).run()
    assert cloud.assigned == [] and result["moves"] == []


def test_check_mode_makes_one_pass_where_one_failed_probe_counts_and_moves_nothing():
    cloud, clock = Cloud([server(1, status="off"), server(2)], [fip("1")]), Clock()
    result = watch(cloud, clock, prober(clock, {}), duration=60, fail_after=3, check_mode=True).run()
    assert cloud.assigned == [] and result["passes"] == 1
    assert [m["to"] for m in result["moves"]] == ["home-hel1-a-2"]


def test_the_cloud_is_listed_again_every_refresh_seconds():
    cloud, clock = Cloud([server(1)], [fip("1")]), Clock()
    probe_all = prober(clock, {"192.0.2.1": 12.0})
    w = watch(cloud, clock, probe_all, interval=1, duration=25, fail_after=2, refresh=10)

    def grow(seconds):  # a server created at 5 s is seen at the listing at 10 s
        clock.now += seconds
        if clock.now >= 5 and len(cloud.servers) == 1:
            cloud.servers.append(server(2))
    w.sleep = grow
    result = w.run()
    assert cloud.listings == 3  # 0, 10, 20 s
    assert [(m["to"], m["after_seconds"]) for m in result["moves"]] == [("home-hel1-a-2", 13.0)]


def test_only_the_pools_asked_for_and_only_pools_with_an_address_are_probed():
    servers = [server(1), server(2), server(1, pool="fsn1-b"), server(2, pool="nbg1-c")]
    cloud, clock = Cloud(servers, [fip("1"), fip("x", pool="fsn1-b")]), Clock()
    probe_all = prober(clock, {})
    watch(cloud, clock, probe_all, duration=0, pools=["hel1-a"]).run()
    assert probe_all.calls == [["192.0.2.1", "192.0.2.2"]]
    probe_all.calls.clear()
    watch(cloud, clock, probe_all, duration=0).run()
    assert len(probe_all.calls[0]) == 3  # hel1-a's two and fsn1-b's one, no nbg1-c (no address)


def test_an_ipv6_address_probes_the_servers_ipv6_addresses():
    cloud, clock = Cloud([server(1), server(2)], [fip("1", family="ipv6")]), Clock()
    probe_all = prober(clock, {"2001:db8::1": 0.0})
    result = watch(cloud, clock, probe_all, interval=1, duration=3, fail_after=2).run()
    assert probe_all.calls[0] == ["2001:db8::1", "2001:db8::2"]
    assert [m["to"] for m in result["moves"]] == ["home-hel1-a-2"]


@pytest.mark.parametrize("enabled", [False])
def test_probes_off_count_every_running_server_healthy(enabled):
    cloud, clock = Cloud([server(1, status="off"), server(2)], [fip("1")]), Clock()
    probe_all = prober(clock, {"192.0.2.2": 0.0})
    result = watch(cloud, clock, probe_all, duration=2, interval=1, probe={"enabled": enabled}).run()
    assert probe_all.calls == [] and [m["to"] for m in result["moves"]] == ["home-hel1-a-2"]
