"""The pager: every page once, in page order, the pages after the first side by side when the total is known."""
import threading

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _pages


class Listing:
    """``size`` items in pages of ``per_page``, answering as an API that does (or does not) give the last page."""

    def __init__(self, size, per_page, gives_last=True):
        self.items = list(range(size))
        self.per_page = per_page
        self.gives_last = gives_last
        self.asked = []
        self.threads = set()
        self.lock = threading.Lock()

    def __call__(self, page):
        with self.lock:
            self.asked.append(page)
            self.threads.add(threading.current_thread().name)
        last = max(1, -(-len(self.items) // self.per_page))
        chunk = self.items[(page - 1) * self.per_page:page * self.per_page]
        return chunk, last if self.gives_last else None, page + 1 if page < last else None


@pytest.mark.parametrize("size", [0, 1, 50, 51, 1000, 1001])
def test_every_item_once_in_order(size):
    listing = Listing(size, 50)
    assert _pages.all_pages(listing) == list(range(size))
    assert sorted(listing.asked) == list(range(1, max(1, -(-size // 50)) + 1)) and listing.asked[0] == 1


def test_the_pages_after_the_first_run_on_other_threads():
    listing = Listing(500, 50)
    _pages.all_pages(listing)
    assert len(listing.threads) > 1


def test_one_worker_walks_the_pages_in_this_thread():
    listing = Listing(500, 50)
    assert _pages.all_pages(listing, workers=1) == list(range(500))
    assert listing.asked == list(range(1, 11)) and listing.threads == {threading.current_thread().name}


def test_without_last_page_the_next_pages_are_followed():
    listing = Listing(260, 50, gives_last=False)
    assert _pages.all_pages(listing) == list(range(260))
    assert listing.asked == [1, 2, 3, 4, 5, 6]


def test_a_next_page_seen_before_ends_the_walk():
    asked = []

    def looping(page):
        asked.append(page)
        return [page], None, 1  # an API that points back to the first page
    assert _pages.all_pages(looping) == [1]
    assert asked == [1]


def test_a_failing_page_fails_the_listing():
    def fetch(page):
        if page == 7:
            raise RuntimeError("page 7 failed")
        return [page], 10, None
    with pytest.raises(RuntimeError, match="page 7 failed"):
        _pages.all_pages(fetch)


def test_errors_name_the_page_after_the_first():
    assert _pages.label("list servers", 1) == "list servers"
    assert _pages.label("list servers", 3) == "list servers (page 3)"
