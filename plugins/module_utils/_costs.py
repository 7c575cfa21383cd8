# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""What edge pools cost per month, from the providers' own price lists (docs/costs.md). Pure: no I/O.

A price catalog is what ``CloudProvider.price_catalog()`` returns::

    {"provider": str, "currency": "EUR"|"USD"|..., "vat_rate": float|None, "locations": [str, ...],
     "server_types": {name: {"cores": int, "memory_gb": float, "arch": [..]|None, "deprecated": bool,
                             "locations": [..]|None (every location), "monthly": {location|"*": Price}}},
     "addresses": {"ipv4": {location|"*": Price}, "ipv6": {location|"*": Price}}}

    Price: {"net": float, "gross": float|None}   # gross None: the provider gives prices without tax only

``"*"`` is the price in every location without one of its own (Linode's
default price beside its ``region_prices``). An address missing from
``addresses`` is included in the server's price (Linode, the lab).

``autoextender_budget`` (validated by ``budget_problems``)::

    {"monthly": number > 0, "currency": "EUR", "prices": "gross"|"net" (default gross),
     "exchange_rates": {"USD": 0.86, ...}}   # 1 USD = 0.86 of the budget's currency
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

PRICE_BASES = ("gross", "net")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
#: the two public addresses an edge server has (IPv4 always; IPv6 as the pool's ``ipv6``)
ADDRESSES = ("ipv4", "ipv6")


def money(amount, currency):
    """``amount`` to the cent, rounded half up as invoices are (0.595 is 0.60, which ``%.2f`` makes 0.59)."""
    cents = Decimal(repr(round(amount, 6))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return "%s %s" % (cents, currency)


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def budget_settings_problems(budget):
    """What is wrong with ``autoextender_budget`` itself (one message each, naming the key)."""
    if not isinstance(budget, dict):
        return ["autoextender_budget = %r: must be a mapping with monthly and currency" % (budget,)]
    problems = []
    unknown = sorted(set(budget) - {"monthly", "currency", "prices", "exchange_rates"})
    if unknown:
        problems.append("autoextender_budget has unknown key(s) %s; known: monthly, currency, prices, exchange_rates"
                        % ", ".join(unknown))
    monthly = _number(budget.get("monthly"))
    if monthly is None or monthly <= 0:
        problems.append("autoextender_budget.monthly = %r: must be a number above 0 (the monthly cap)"
                        % (budget.get("monthly"),))
    if not isinstance(budget.get("currency"), str) or not _CURRENCY.match(budget["currency"]):
        problems.append("autoextender_budget.currency = %r: must be an ISO 4217 code such as EUR or USD"
                        % (budget.get("currency"),))
    if budget.get("prices", "gross") not in PRICE_BASES:
        problems.append("autoextender_budget.prices = %r: must be gross (with VAT, what the invoice says) or net"
                        % (budget.get("prices"),))
    rates = budget.get("exchange_rates", {})
    if not isinstance(rates, dict):
        problems.append("autoextender_budget.exchange_rates = %r: must be a mapping of currency to rate" % (rates,))
    else:
        for code, rate in sorted(rates.items()):
            value = _number(rate)
            if not (isinstance(code, str) and _CURRENCY.match(code)) or value is None or value <= 0:
                problems.append("autoextender_budget.exchange_rates.%s = %r: must map an ISO 4217 code to a number "
                                "above 0 (1 %s = rate %s)" % (code, rate, code, budget.get("currency")))
    return problems


def _at(prices, location):
    return (prices or {}).get(location) or (prices or {}).get("*")


def _amount(price, basis):
    """The ``basis`` amount of a Price; net where the provider gives no gross."""
    if basis == "gross" and price.get("gross") is not None:
        return float(price["gross"])
    return float(price["net"])


def server_price(catalog, server_type, location, ipv6=True, basis="gross"):
    """``(monthly amount, parts)`` for one server with its addresses, in the catalog's currency.

    ``parts`` says what the amount is made of (for the messages); raises ValueError naming what the
    price list lacks.
    """
    stype = (catalog.get("server_types") or {}).get(server_type)
    price = _at((stype or {}).get("monthly"), location)
    if price is None:
        raise ValueError("the %s price list has no price for server type %s in %s"
                         % (catalog.get("provider"), server_type, location))
    amount = _amount(price, basis)
    parts = ["%s %s" % (server_type, money(amount, catalog["currency"]))]
    for family in ADDRESSES:
        if family == "ipv6" and not ipv6:
            continue
        address = _at((catalog.get("addresses") or {}).get(family), location)
        if address is not None and _amount(address, basis):
            amount += _amount(address, basis)
            parts.append("%s %s" % (family.replace("ip", "IP"), money(_amount(address, basis), catalog["currency"])))
    return amount, parts


def _rate(catalog, budget):
    """How many of the budget's currency one unit of the catalog's is worth; None when not known."""
    if catalog["currency"] == budget["currency"]:
        return 1.0
    return _number((budget.get("exchange_rates") or {}).get(catalog["currency"]))


def _priced(catalogs, provider, price, *args):
    """``(amount, parts, currency, problem)``: ``price(catalog, *args)`` with ``provider``'s price list, or why there
    is none."""
    catalog = catalogs.get(provider)
    if catalog is None:
        return None, [], None, "no price list was read for provider %s" % provider
    try:
        amount, parts = price(catalog, *args)
    except ValueError as exc:
        return None, [], None, str(exc)
    return round(amount, 4), parts, catalog["currency"], None


def pool_costs(catalogs, pools, budget=None, ipv6=True):
    """One entry per pool: what its ``count`` servers cost per month, in the catalog's currency and the budget's.

    ``catalogs``: {provider: catalog}. Entries: {"pool", "provider", "count", "each", "monthly", "currency",
    "parts", "in_budget_currency" (None when no rate or no budget), "problem" (why no price, or None)}.
    """
    basis = (budget or {}).get("prices", "gross")
    out = []
    for pool in pools:
        count = int(pool.get("count", 1))
        each, parts, currency, problem = _priced(catalogs, pool.get("provider"), server_price, pool.get("server_type"),
                                                 pool.get("location"), ipv6, basis)
        entry = {"pool": pool.get("name"), "provider": pool.get("provider"), "count": count, "each": each,
                 "monthly": None if each is None else round(each * count, 4), "currency": currency, "parts": parts,
                 "in_budget_currency": None, "problem": problem}
        rate = _rate(catalogs[pool["provider"]], budget) if budget and problem is None else None
        if rate is not None:
            entry["in_budget_currency"] = round(entry["monthly"] * rate, 4)
        out.append(entry)
    return out


def _describe(entry):
    return "pool %s: %d x (%s) = %s/month" % (entry["pool"], entry["count"], " + ".join(entry["parts"]),
                                              money(entry["monthly"], entry["currency"]))


def budget_problems(catalogs, pools, budget, ipv6=True):
    """Why the pools' monthly cost does not fit ``budget`` (empty: it fits). Every message names the numbers.

    Only the pools that will have servers count (all of ``pools``: an inactive pool still runs its servers).
    """
    problems = budget_settings_problems(budget)
    if problems:
        return problems
    costs = pool_costs(catalogs, pools, budget, ipv6)
    for entry in costs:
        if entry["problem"]:
            problems.append("Cannot check pool %s against autoextender_budget: %s" % (entry["pool"], entry["problem"]))
        elif entry["in_budget_currency"] is None:
            problems.append("Pool %s is priced in %s and autoextender_budget in %s: give "
                            "autoextender_budget.exchange_rates.%s (1 %s = how many %s)"
                            % (entry["pool"], entry["currency"], budget["currency"], entry["currency"],
                               entry["currency"], budget["currency"]))
    if problems:
        return problems
    cap = _number(budget["monthly"])
    total = sum(e["in_budget_currency"] for e in costs)
    if total > cap + 1e-9:
        problems.append("The edge pools would cost %s/month (%s prices), over autoextender_budget.monthly %s by %s: %s"
                        % (money(total, budget["currency"]), budget.get("prices", "gross"),
                           money(cap, budget["currency"]), money(total - cap, budget["currency"]),
                           "; ".join(_describe(e) for e in costs)))
    return problems


def cheapest(catalog, min_cpu=1, min_memory_gb=0, arch=None, location=None, basis="gross", ipv6=True):
    """Per location, the cheapest server type with at least ``min_cpu`` cores and ``min_memory_gb`` of memory.

    A list sorted by location: {"location", "server_type", "monthly", "currency", "cores", "memory_gb"}.
    Deprecated types and types without the image's ``arch`` are left out; ties go to the lower name.
    """
    best = {}
    wanted = [location] if location is not None else list(catalog.get("locations") or ())
    for name, stype in sorted((catalog.get("server_types") or {}).items()):
        if stype.get("deprecated") or stype.get("cores", 0) < min_cpu or stype.get("memory_gb", 0) < min_memory_gb:
            continue
        if arch is not None and stype.get("arch") is not None and arch not in stype["arch"]:
            continue
        for where in wanted:
            if stype.get("locations") is not None and where not in stype["locations"]:
                continue
            if _at(stype.get("monthly"), where) is None:
                continue
            monthly, _parts = server_price(catalog, name, where, ipv6, basis)
            if where not in best or monthly < best[where]["monthly"] - 1e-9:
                best[where] = {"location": where, "server_type": name, "monthly": round(monthly, 4),
                               "currency": catalog["currency"], "cores": stype.get("cores"),
                               "memory_gb": stype.get("memory_gb")}
    return [best[k] for k in sorted(best)]


# --- what the servers that exist cost (the status report) ---------------------------------------------------

def server_cost(catalog, server_type, location, ipv4=True, ipv6=True, basis="gross"):
    """``server_price`` of a server with the public addresses it has: one without a public IPv4 pays for none."""
    if not ipv4:
        catalog = dict(catalog, addresses=dict((family, prices) for family, prices
                                               in (catalog.get("addresses") or {}).items() if family != "ipv4"))
    return server_price(catalog, server_type, location, ipv6, basis)


def servers_costs(catalogs, servers, basis="gross"):
    """What each server costs per month at its provider's prices, with the public addresses it has.

    ``catalogs``: {provider: catalog}; ``servers``: dicts with ``name``, ``provider``, ``server_type``, ``location``,
    ``public_ipv4`` and ``public_ipv6`` (an address counts when it is set). One entry per server, in order:
    {"server", "provider", "server_type", "location", "monthly", "currency", "parts", "problem"}; ``monthly`` and
    ``currency`` are None, and ``problem`` says why, when the price lists have no price for it.
    """
    out = []
    for server in servers:
        amount, parts, currency, problem = _priced(catalogs, server.get("provider"), server_cost, server.get("server_type"),
                                                   server.get("location"), bool(server.get("public_ipv4")),
                                                   bool(server.get("public_ipv6")), basis)
        out.append({"server": server.get("name"), "provider": server.get("provider"),
                    "server_type": server.get("server_type"), "location": server.get("location"), "monthly": amount,
                    "currency": currency, "parts": parts, "problem": problem})
    return out


def cost_total(entries, basis="gross", currencies=()):
    """The sum of ``servers_costs`` entries, per currency (a pool's, or a whole report's).

    ``currencies``: currencies to list even at 0 (the price list of a pool without servers). Returns {"monthly",
    "currency" (both None unless there is exactly one currency), "by_currency": {currency: amount}, "basis",
    "servers" (how many are priced), "unpriced" (the names of those that are not), "detail"
    (``2 x (cx23 4.15 EUR + IPv4 0.60 EUR)``), "text" (``9.50 EUR/month (gross)``)}.
    """
    sums = dict((currency, 0.0) for currency in currencies if currency)
    groups, priced = {}, [e for e in entries if e["monthly"] is not None]
    for entry in priced:
        sums[entry["currency"]] = sums.get(entry["currency"], 0.0) + entry["monthly"]
        key = " + ".join(entry["parts"])
        groups[key] = groups.get(key, 0) + 1  # first seen first (dicts keep their order)
    sums = dict((currency, round(amount, 4)) for currency, amount in sorted(sums.items()))
    unpriced = [e["server"] for e in entries if e["monthly"] is None]
    text = "%s/month (%s)" % (" + ".join(money(a, c) for c, a in sums.items()), basis) if sums else "no price"
    if unpriced:
        text += "; %d server(s) without a price" % len(unpriced)
    return {"monthly": list(sums.values())[0] if len(sums) == 1 else None,
            "currency": list(sums)[0] if len(sums) == 1 else None, "by_currency": sums, "basis": basis,
            "servers": len(priced), "unpriced": unpriced,
            "detail": " + ".join("%d x (%s)" % (count, key) for key, count in groups.items()), "text": text}


def budget_check(by_currency, budget):
    """The monthly amounts ``{currency: amount}`` against ``budget`` (valid, see ``budget_settings_problems``).

    Returns {"monthly" (the cap), "currency", "basis", "total" (the amounts in the budget's currency; None when a
    currency has no rate), "no_rate" (those currencies), "over" (by how much the total is over the cap, 0 when
    not or unknown), "text" (``within autoextender_budget 25.00 EUR``; ``= 24.56 EUR, within ...`` when the
    amounts are in other currencies; ``over autoextender_budget 10.00 EUR by 4.24 EUR``)}.
    """
    cap, currency = _number(budget["monthly"]), budget["currency"]
    total, no_rate = 0.0, []
    for code, amount in sorted(by_currency.items()):
        rate = _rate({"currency": code}, budget)
        if rate is None:
            no_rate.append(code)
        else:
            total += amount * rate
    total = None if no_rate else round(total, 4)
    over = round(total - cap, 4) if total is not None and total > cap + 1e-9 else 0.0
    if total is None:
        text = "not comparable with autoextender_budget %s: no rate for %s" % (money(cap, currency), ", ".join(no_rate))
    else:
        text = "%s%s autoextender_budget %s%s" % (
            "" if set(by_currency) <= {currency} else "= %s, " % money(total, currency), "over" if over else "within",
            money(cap, currency), " by %s" % money(over, currency) if over else "")
    return {"monthly": cap, "currency": currency, "basis": budget.get("prices", "gross"), "total": total,
            "no_rate": no_rate, "over": over, "text": text}
