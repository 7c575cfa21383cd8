# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Every page of a paginated cloud listing, the pages after the first fetched side by side.

A listing of 1,000 servers is 20 pages of 50 on Hetzner. One after another
they cost 20 round trips; the first page says how many there are, so the
other 19 can go at once. ``CONCURRENT_PAGES`` bounds the requests in flight:
a whole listing stays a handful of requests a second, far under either
cloud's rate limit (Hetzner: 3,600 an hour, one back every second; Linode:
per-endpoint windows), and a 429 on one page is retried by that page's own
``_retry.call`` within the task's deadline.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

#: requests in flight for one listing
CONCURRENT_PAGES = 4


def label(what, page):
    """What a page's request is called in errors: the listing, and the page number after the first."""
    return what if page == 1 else "%s (page %d)" % (what, page)


def all_pages(fetch, workers=CONCURRENT_PAGES):
    """The items of every page, in page order.

    ``fetch(n)`` returns ``(items, last_page, next_page)`` for page ``n`` (numbered from 1). A known
    ``last_page`` lets pages 2..last go concurrently; an API that gives only ``next_page`` is walked
    one page after another. The first failure is raised once every request in flight has ended.
    """
    items, last, following = fetch(1)
    pages = [items]
    if last and last > 1:
        rest = range(2, int(last) + 1)
        if workers > 1 and len(rest) > 1:
            with ThreadPoolExecutor(max_workers=min(workers, len(rest))) as pool:
                pages += [page[0] for page in pool.map(fetch, rest)]
        else:
            pages += [fetch(n)[0] for n in rest]
    else:
        seen = {1}
        while following and following not in seen:  # a repeated page number would loop forever
            seen.add(following)
            items, _last, following = fetch(following)
            pages.append(items)
    return [item for page in pages for item in page]
