"""_costs: pool prices, the budget and the cheapest fit, on hand-made price catalogs (the providers' own answers are
tested against the simulators in tests/integration/test_cloud_prices.py)."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _costs
from ansible_collections.talos.autoextender.plugins.filter.budget_problems import budget_problems, catalogs


def price(net, gross=None):
    return {"net": net, "gross": gross}


HETZNER = {"provider": "hetzner", "currency": "EUR", "vat_rate": 19.0, "locations": ["ash", "hel1"],
           "server_types": {
               "cx23": {"cores": 2, "memory_gb": 4.0, "arch": ["amd64"], "deprecated": False, "locations": ["hel1"],
                        "monthly": {"hel1": price(3.49, 4.1531)}},
               "cpx22": {"cores": 2, "memory_gb": 4.0, "arch": ["amd64"], "deprecated": False,
                         "locations": ["ash", "hel1"], "monthly": {"hel1": price(5.99, 7.1281), "ash": price(5.99, 7.1281)}},
               "cax11": {"cores": 2, "memory_gb": 4.0, "arch": ["arm64"], "deprecated": False, "locations": ["hel1"],
                         "monthly": {"hel1": price(3.79, 4.5101)}},
               "cx11": {"cores": 1, "memory_gb": 2.0, "arch": ["amd64"], "deprecated": True, "locations": ["hel1"],
                        "monthly": {"hel1": price(1.0, 1.19)}}},
           "addresses": {"ipv4": {"hel1": price(0.5, 0.595), "ash": price(0.5, 0.595)},
                         "ipv6": {"hel1": price(0.0, 0.0), "ash": price(0.0, 0.0)}}}
LINODE = {"provider": "linode", "currency": "USD", "vat_rate": None, "locations": ["ap-south", "fr-par"],
          "addresses": {},
          "server_types": {
              "g6-nanode-1": {"cores": 1, "memory_gb": 1.0, "arch": ["amd64"], "deprecated": False, "locations": None,
                              "monthly": {"*": price(5.0), "ap-south": price(6.0)}},
              "g6-standard-1": {"cores": 1, "memory_gb": 2.0, "arch": ["amd64"], "deprecated": False,
                                "locations": None, "monthly": {"*": price(5.5)}}}}


def pool(name="a", provider="hetzner", location="hel1", server_type="cx23", count=3):
    return {"name": name, "provider": provider, "location": location, "server_type": server_type, "count": count}


def test_a_server_costs_its_type_and_its_charged_addresses():
    assert _costs.server_price(HETZNER, "cx23", "hel1") == (pytest.approx(4.7481), ["cx23 4.15 EUR", "IPv4 0.60 EUR"])
    assert _costs.server_price(HETZNER, "cx23", "hel1", basis="net")[0] == pytest.approx(3.99)
    # Linode: the default price, or the region's own; addresses are included, gross is the net price.
    assert _costs.server_price(LINODE, "g6-nanode-1", "fr-par") == (5.0, ["g6-nanode-1 5.00 USD"])
    assert _costs.server_price(LINODE, "g6-nanode-1", "ap-south")[0] == 6.0
    with pytest.raises(ValueError, match="the hetzner price list has no price for server type cx23 in ash"):
        _costs.server_price(HETZNER, "cx23", "ash")


def test_pool_costs_count_every_server():
    [entry] = _costs.pool_costs({"hetzner": HETZNER}, [pool()], {"monthly": 20, "currency": "EUR"})
    assert entry["each"] == pytest.approx(4.7481) and entry["monthly"] == pytest.approx(14.2443)
    assert entry["in_budget_currency"] == entry["monthly"] and entry["problem"] is None
    [nothing] = _costs.pool_costs({}, [pool()])
    assert nothing["problem"] == "no price list was read for provider hetzner" and nothing["monthly"] is None


def test_within_the_budget_there_is_no_problem():
    assert _costs.budget_problems({"hetzner": HETZNER}, [pool()], {"monthly": 14.25, "currency": "EUR"}) == []
    assert _costs.budget_problems({"hetzner": HETZNER}, [pool()], {"monthly": "14.25", "currency": "EUR"}) == []


def test_over_the_budget_the_message_names_every_number():
    pools = [pool(), pool("b", "linode", "ap-south", "g6-nanode-1", 1)]
    [message] = _costs.budget_problems({"hetzner": HETZNER, "linode": LINODE}, pools,
                                       {"monthly": 15, "currency": "EUR", "exchange_rates": {"USD": 0.5}})
    assert message == (
        "The edge pools would cost 17.24 EUR/month (gross prices), over autoextender_budget.monthly 15.00 EUR by "
        "2.24 EUR: pool a: 3 x (cx23 4.15 EUR + IPv4 0.60 EUR) = 14.24 EUR/month; "
        "pool b: 1 x (g6-nanode-1 6.00 USD) = 6.00 USD/month")


def test_another_currency_needs_a_rate_and_a_missing_price_is_named():
    problems = _costs.budget_problems({"hetzner": HETZNER, "linode": LINODE},
                                      [pool(location="ash"), pool("b", "linode", "fr-par", "g6-nanode-1", 1)],
                                      {"monthly": 100, "currency": "EUR"})
    assert problems == [
        "Cannot check pool a against autoextender_budget: the hetzner price list has no price for server type cx23 "
        "in ash",
        "Pool b is priced in USD and autoextender_budget in EUR: give autoextender_budget.exchange_rates.USD "
        "(1 USD = how many EUR)"]


@pytest.mark.parametrize("budget, message", [
    (None, "autoextender_budget = None: must be a mapping with monthly and currency"),
    ({"currency": "EUR"}, "autoextender_budget.monthly = None: must be a number above 0"),
    ({"monthly": 0, "currency": "EUR"}, "autoextender_budget.monthly = 0: must be a number above 0"),
    ({"monthly": True, "currency": "EUR"}, "autoextender_budget.monthly = True: must be a number above 0"),
    ({"monthly": "ten", "currency": "EUR"}, "autoextender_budget.monthly = 'ten'"),
    ({"monthly": 10, "currency": "euro"}, "autoextender_budget.currency = 'euro': must be an ISO 4217 code"),
    ({"monthly": 10, "currency": "EUR", "prices": "list"}, "autoextender_budget.prices = 'list': must be gross"),
    ({"monthly": 10, "currency": "EUR", "exchange_rates": {"USD": -1}},
     "autoextender_budget.exchange_rates.USD = -1: must map an ISO 4217 code to a number above 0"),
    ({"monthly": 10, "currency": "EUR", "exchange_rates": ["USD"]},
     "autoextender_budget.exchange_rates = ['USD']: must be a mapping"),
    ({"monthly": 10, "currency": "EUR", "cap": 3}, "autoextender_budget has unknown key(s) cap"),
])
def test_bad_budget_settings_are_named(budget, message):
    problems = _costs.budget_problems({"hetzner": HETZNER}, [pool()], budget)
    assert len(problems) == 1 and problems[0].startswith(message)


def test_cheapest_per_location_skips_deprecated_other_arch_and_unsold():
    found = _costs.cheapest(HETZNER, min_cpu=1, min_memory_gb=1)
    assert [(c["location"], c["server_type"]) for c in found] == [("ash", "cpx22"), ("hel1", "cx23")]
    assert found[1]["monthly"] == pytest.approx(4.7481) and found[1]["currency"] == "EUR"
    assert [c["server_type"] for c in _costs.cheapest(HETZNER, arch="arm64")] == ["cax11"]
    assert _costs.cheapest(HETZNER, min_cpu=4) == []
    assert _costs.cheapest(HETZNER, location="hel1", basis="net")[0]["monthly"] == pytest.approx(3.99)


def test_cheapest_uses_region_prices_where_they_differ():
    found = dict((c["location"], c["server_type"]) for c in _costs.cheapest(LINODE))
    assert found == {"ap-south": "g6-standard-1", "fr-par": "g6-nanode-1"}


def test_the_filter_reads_looped_results_and_ignores_skipped_ones():
    results = [{"item": "hetzner", "prices": HETZNER}, {"item": "linode", "skipped": True}]
    assert catalogs(results) == {"hetzner": HETZNER}
    assert budget_problems(results, [pool()], {"monthly": 1, "currency": "EUR"})[0].startswith(
        "The edge pools would cost 14.24 EUR/month")


# --- what the servers that exist cost (the status report) ---------------------------------------------------

def running(name, provider="hetzner", location="hel1", server_type="cx23", ipv4="203.0.113.7", ipv6=None):
    return {"name": name, "provider": provider, "location": location, "server_type": server_type,
            "public_ipv4": ipv4, "public_ipv6": ipv6}


def test_a_server_pays_for_the_addresses_it_has_only():
    assert _costs.server_cost(HETZNER, "cx23", "hel1") == _costs.server_price(HETZNER, "cx23", "hel1")
    assert _costs.server_cost(HETZNER, "cx23", "hel1", ipv4=False) == (pytest.approx(4.1531), ["cx23 4.15 EUR"])
    charged_v6 = dict(HETZNER, addresses=dict(HETZNER["addresses"], ipv6={"*": price(0.1, 0.119)}))
    assert _costs.server_cost(charged_v6, "cx23", "hel1", ipv4=False, ipv6=True)[1] == ["cx23 4.15 EUR", "IPv6 0.12 EUR"]
    assert _costs.server_cost(charged_v6, "cx23", "hel1", ipv6=False, basis="net")[0] == pytest.approx(3.99)
    assert "ipv4" in HETZNER["addresses"]  # the catalog given is not changed


def test_servers_costs_price_each_server_or_say_why_not():
    entries = _costs.servers_costs({"hetzner": HETZNER, "linode": LINODE}, [
        running("a-1"), running("a-2", ipv4=None, ipv6="2001:db8::2"), running("a-3", location="ash"),
        running("b-1", "linode", "ap-south", "g6-nanode-1"), running("c-1", "lab")])
    assert [(e["server"], e["monthly"], e["currency"]) for e in entries] == [
        ("a-1", pytest.approx(4.7481), "EUR"), ("a-2", pytest.approx(4.1531), "EUR"), ("a-3", None, None),
        ("b-1", 6.0, "USD"), ("c-1", None, None)]
    assert entries[0]["parts"] == ["cx23 4.15 EUR", "IPv4 0.60 EUR"] and entries[0]["problem"] is None
    assert entries[2]["problem"] == "the hetzner price list has no price for server type cx23 in ash"
    assert entries[4]["problem"] == "no price list was read for provider lab"
    assert _costs.servers_costs({"hetzner": HETZNER}, [running("n-1")], "net")[0]["monthly"] == pytest.approx(3.99)


def test_a_total_groups_like_servers_and_keeps_currencies_apart():
    entries = _costs.servers_costs({"hetzner": HETZNER, "linode": LINODE}, [
        running("a-1"), running("a-2"), running("a-3", ipv4=None), running("a-4", location="ash"),
        running("b-1", "linode", "ap-south", "g6-nanode-1")])
    pool_a = _costs.cost_total(entries[:4])
    assert (pool_a["monthly"], pool_a["currency"], pool_a["servers"], pool_a["unpriced"]) == (
        pytest.approx(13.6493), "EUR", 3, ["a-4"])
    assert pool_a["detail"] == "2 x (cx23 4.15 EUR + IPv4 0.60 EUR) + 1 x (cx23 4.15 EUR)"
    assert pool_a["text"] == "13.65 EUR/month (gross); 1 server(s) without a price"
    both = _costs.cost_total(entries, "gross", ["EUR"])
    assert both["by_currency"] == {"EUR": pytest.approx(13.6493), "USD": 6.0}
    assert (both["monthly"], both["currency"]) == (None, None)
    assert both["text"] == "13.65 EUR + 6.00 USD/month (gross); 1 server(s) without a price"


def test_a_total_of_no_server_is_zero_in_the_price_lists_currency_or_no_price():
    assert _costs.cost_total([], "net", ["EUR"])["text"] == "0.00 EUR/month (net)"
    assert _costs.cost_total([], "net", ["EUR"])["monthly"] == 0.0
    assert _costs.cost_total([])["text"] == "no price" and _costs.cost_total([])["by_currency"] == {}


@pytest.mark.parametrize("by_currency, budget, total, over, text", [
    ({"EUR": 14.2443}, {"monthly": 25, "currency": "EUR"}, 14.2443, 0.0, "within autoextender_budget 25.00 EUR"),
    ({"EUR": 14.2443}, {"monthly": "10", "currency": "EUR"}, 14.2443, 4.2443,
     "over autoextender_budget 10.00 EUR by 4.24 EUR"),
    ({"EUR": 10.0, "USD": 6.0}, {"monthly": 20, "currency": "EUR", "exchange_rates": {"USD": 0.5}}, 13.0, 0.0,
     "= 13.00 EUR, within autoextender_budget 20.00 EUR"),
    ({"USD": 6.0}, {"monthly": 2, "currency": "EUR", "exchange_rates": {"USD": 0.5}}, 3.0, 1.0,
     "= 3.00 EUR, over autoextender_budget 2.00 EUR by 1.00 EUR"),
    ({}, {"monthly": 5, "currency": "EUR"}, 0.0, 0.0, "within autoextender_budget 5.00 EUR"),
])
def test_the_budget_check_converts_and_names_the_numbers(by_currency, budget, total, over, text):
    check = _costs.budget_check(by_currency, budget)
    assert (check["total"], check["over"], check["text"]) == (pytest.approx(total), pytest.approx(over), text)
    assert (check["monthly"], check["currency"], check["basis"], check["no_rate"]) == (
        float(budget["monthly"]), "EUR", "gross", [])


def test_the_budget_check_without_a_rate_compares_nothing():
    check = _costs.budget_check({"EUR": 1.0, "USD": 6.0}, {"monthly": 1, "currency": "EUR", "prices": "net"})
    assert (check["total"], check["over"], check["no_rate"], check["basis"]) == (None, 0.0, ["USD"], "net")
    assert check["text"] == "not comparable with autoextender_budget 1.00 EUR: no rate for USD"
