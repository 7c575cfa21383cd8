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
