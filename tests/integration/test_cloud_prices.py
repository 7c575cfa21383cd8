"""Prices from each provider's own API (cloud_price_info) and the budget check on them, through ansible-playbook
against every cloud simulator (the Hetzner one serves GET /pricing and the Linode one region_prices, both checked
against the official specs)."""
import pytest

from tests.support.fixtures_cloud import failure_summary, play

#: per provider: currency, gross price of the bed's server type with its addresses, a type for 2 cores and 4 GB
EXPECTED = {"lab": ("EUR", 4.1531 + 0.595, "lab-medium"), "hetzner": ("EUR", 4.1531 + 0.595, "cx23"),
            "linode": ("USD", 12.0, "g6-standard-2")}


def prices(cloud, **extra):
    proc, res = play(cloud, "cloud_price_info", location=cloud.location, **extra)
    assert proc.returncode == 0, failure_summary(proc)
    assert res["Prices"]["changed"] is False and res["Prices in one location, in check mode"]["changed"] is False
    return res


def test_prices_come_from_the_provider_read_only(cloud):
    currency, each, fits = EXPECTED[cloud.provider]
    res = prices(cloud, min_cpu=2, min_memory=4)
    catalog = res["Prices"]["prices"]
    assert catalog["provider"] == cloud.provider and catalog["currency"] == currency
    assert cloud.location in catalog["locations"] and cloud.server_type in catalog["server_types"]
    cheapest = res["Prices"]["cheapest"]
    if cloud.provider != "hetzner":  # on Hetzner, cx23 is not sold in every location and 2 cores/4 GB fits there
        assert [c["location"] for c in cheapest] == sorted(catalog["locations"])
    here = [c for c in cheapest if c["location"] == cloud.location]
    assert here and here[0]["server_type"] == fits and here[0]["cores"] >= 2 and here[0]["memory_gb"] >= 4
    one = res["Prices in one location, in check mode"]["cheapest"]
    assert [c["location"] for c in one] == [cloud.location] and one[0]["server_type"] in catalog["server_types"]
    assert [c for c in cloud.calls() if c[0] != "GET"] == []


def test_hetzner_prices_carry_vat_and_the_primary_ipv4(cloud):
    if cloud.provider != "hetzner":
        pytest.skip("only Hetzner prices a Primary IPv4 address apart from the server")
    catalog = prices(cloud)["Prices"]["prices"]
    assert catalog["vat_rate"] == 19.0
    assert catalog["server_types"]["cx23"]["monthly"]["hel1"] == {"net": 3.49, "gross": 4.1531}
    assert catalog["addresses"]["ipv4"]["hel1"] == {"net": 0.5, "gross": 0.595}
    assert catalog["server_types"]["cax11"]["arch"] == ["arm64"] and "ash" not in catalog["server_types"]["cx23"]["locations"]
    arm = prices(cloud, arch="arm64", basis="net")["Prices"]["cheapest"]
    assert {c["server_type"] for c in arm} == {"cax11"} and arm[0]["monthly"] == pytest.approx(3.79 + 0.5)


def test_linode_region_prices_override_the_default(cloud):
    if cloud.provider != "linode":
        pytest.skip("only the Linode API has region_prices")
    catalog = prices(cloud)["Prices"]["prices"]
    nanode = catalog["server_types"]["g6-nanode-1"]["monthly"]
    assert nanode["*"] == {"net": 5.0, "gross": None} and nanode["ap-south"] == {"net": 6.0, "gross": None}
    assert catalog["addresses"] == {} and catalog["vat_rate"] is None
    cheapest = dict((c["location"], c) for c in prices(cloud)["Prices"]["cheapest"])
    assert cheapest["ap-south"]["monthly"] == 6.0 and cheapest["fr-par"]["monthly"] == 5.0


def test_the_budget_names_the_numbers(cloud):
    currency, each, _fits = EXPECTED[cloud.provider]
    pools = [{"name": "a", "provider": cloud.provider, "location": cloud.location, "server_type": cloud.server_type,
              "count": 3}]
    fits = prices(cloud, pools=pools, budget={"monthly": round(3 * each + 0.01, 2), "currency": currency})
    assert fits["Budget"]["msg"] == []
    over = prices(cloud, pools=pools, budget={"monthly": 5, "currency": currency})["Budget"]["msg"]
    assert len(over) == 1 and "The edge pools would cost %.2f %s/month (gross prices)" % (3 * each, currency) in over[0]
    assert "over autoextender_budget.monthly 5.00 %s by %.2f %s" % (currency, 3 * each - 5, currency) in over[0]
    assert "pool a: 3 x (%s " % cloud.server_type in over[0]
    other = "USD" if currency == "EUR" else "EUR"
    foreign = prices(cloud, pools=pools, budget={"monthly": 100, "currency": other})["Budget"]["msg"]
    assert foreign == ["Pool a is priced in %s and autoextender_budget in %s: give autoextender_budget.exchange_rates.%s "
                       "(1 %s = how many %s)" % (currency, other, currency, currency, other)]
    converted = prices(cloud, pools=pools, budget={"monthly": 1, "currency": other, "exchange_rates": {currency: 0.1}})
    assert "The edge pools would cost %.2f %s/month" % (3 * each * 0.1, other) in converted["Budget"]["msg"][0]
