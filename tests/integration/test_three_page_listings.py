"""Every provider method that lists reads every page: each runs here over at least three pages of the
simulated API, with the real SDK or client, and the simulator's page requests are counted.

Hetzner's SDK asks for pages of 50 (the API's maximum), so 3 pages take 101+ objects. Linode's client asks
for 500 a page; it is set to the document's minimum (25) here, which the API accepts, so three pages take 51+
objects. Cloudflare's page size is the backend's ``per_page`` option (tests/integration/test_cloudflare_dns.py).
"""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _pages
from ansible_collections.talos.autoextender.plugins.module_utils._dns import registry as dns_registry
from ansible_collections.talos.autoextender.plugins.module_utils._clients import linode as linode_client
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from ansible_collections.talos.autoextender.plugins.module_utils._providers.linode import encode_tags
from tests.support.fixtures_hetzner import TOKEN
from tests.support.sim.linode.images import _image

OURS = base.ownership_labels("home", "hel1-a")
HETZNER_PAGE = 50
LINODE_PAGE = 25


def pages(sim, path):
    """The page numbers the client asked for (1 when it sent none): the first one, then the others sorted, as
    the pages after the first may be fetched side by side (module_utils/_pages.py)."""
    asked = [int(c.query.get("page", ["1"])[0]) for c in sim.calls("GET", path)]
    return asked[:1] + sorted(asked[1:])


# -- Hetzner ---------------------------------------------------------------------------------------
def test_hetzner_list_servers_reads_three_pages(hetzner_sim, hetzner_provider):
    for i in range(2 * HETZNER_PAGE + 7):
        hetzner_sim.seed_server("edge-%03d" % i, dict(OURS))
    hetzner_sim.seed_server("foreign", {"autoextender-pool": "hel1-a"})
    listed = hetzner_provider.list_servers(OURS)
    assert sorted(s["name"] for s in listed) == ["edge-%03d" % i for i in range(2 * HETZNER_PAGE + 7)]
    assert pages(hetzner_sim, "/servers$") == [1, 2, 3]


def test_hetzner_image_users_reads_three_pages(hetzner_sim, hetzner_provider):
    for i in range(2 * HETZNER_PAGE + 3):
        hetzner_sim.seed_server("other-%03d" % i, {})
    image = next(i for i in hetzner_sim.images.values() if i["type"] == "system")
    hetzner_sim.seed_server("last-one", {})  # on page 3: created last, listed last
    assert hetzner_provider.image_users({"id": image["id"]}) == sorted(
        s["name"] for s in hetzner_sim.servers.values() if s["image"]["id"] == image["id"])
    assert pages(hetzner_sim, "/servers$") == [1, 2, 3]


def test_hetzner_list_images_reads_three_pages(hetzner_sim, hetzner_provider):
    srv = hetzner_sim.seed_server("builder", {})
    with hetzner_sim.lock:
        template = hetzner_sim.snapshot(srv, {"labels": dict(OURS)})["image"]
        for dummy in range(2 * HETZNER_PAGE + 4):
            image_id = hetzner_sim.next_id("image") + 300000000
            hetzner_sim.images[image_id] = dict(template, id=image_id, status="available", labels=dict(OURS))
    listed = hetzner_provider.list_images(OURS)
    assert len(listed) == 2 * HETZNER_PAGE + 5
    assert pages(hetzner_sim, "/images$") == [1, 2, 3]


def test_hetzner_dns_list_reads_three_pages(hetzner_sim):
    zone = hetzner_sim.add_zone("example.org")
    with hetzner_sim.lock:
        for i in range(2 * HETZNER_PAGE + 1):
            hetzner_sim._put_rrset(zone, "host-%03d" % i, "A", 300, [{"value": "192.0.2.%d" % (i % 250 + 1)}])
    dns = dns_registry.backend("hetzner", "example.org", {"api_token": TOKEN}, {"api_url": hetzner_sim.url})
    names = [r["name"] for r in dns.list()]
    assert len(names) == 2 * HETZNER_PAGE + 3 and "host-100.example.org." in names  # + SOA and NS
    assert pages(hetzner_sim, "/zones/[^/]+/rrsets$") == [1, 2, 3]


# -- Linode ----------------------------------------------------------------------------------------
@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(linode_client, "PAGE_SIZE", LINODE_PAGE)


def test_linode_list_servers_reads_three_pages(linode_sim, linode_provider, small_pages):
    pool = base.ownership_labels("home", "par-a")
    for i in range(2 * LINODE_PAGE + 5):
        linode_sim.seed_instance("edge-par-a-%02d" % i, encode_tags(pool))
    linode_sim.seed_instance("other", encode_tags(base.ownership_labels("home", "other")))
    assert len(linode_provider.list_servers(pool)) == 2 * LINODE_PAGE + 5
    assert pages(linode_sim, "/linode/instances$") == [1, 2, 3]


def test_linode_list_images_reads_three_pages(linode_sim, linode_provider, small_pages):
    tags = encode_tags(OURS)
    for i in range(2 * LINODE_PAGE + 2):
        image_id = "private/%d" % (500000 + i)
        linode_sim.images[image_id] = _image(image_id, "talos-%02d" % i, tags=tags, created_by="tester")
    assert len(linode_provider.list_images(OURS)) == 2 * LINODE_PAGE + 2
    assert pages(linode_sim, "/images$") == [1, 2, 3]


def test_linode_dns_records_read_three_pages(linode_sim, small_pages):
    domain = linode_sim.add_domain("example.org", ttl_sec=3600)
    for i in range(2 * LINODE_PAGE + 1):
        record_id = linode_sim.next_id("record") + 20000000
        domain["_records"][record_id] = {
            "id": record_id, "type": "A", "name": "edge", "target": "192.0.2.%d" % (i + 1), "ttl_sec": 60,
            "priority": 0, "weight": 0, "port": 0, "service": None, "protocol": None, "tag": None,
            "created": "2026-01-01T00:00:00", "updated": "2026-01-01T00:00:00"}
    dns = dns_registry.backend("linode", "example.org", {"api_token": linode_sim.token}, {"api_url": linode_sim.url})
    assert len(dns.get("edge.example.org.", "A")["values"]) == 2 * LINODE_PAGE + 1
    assert pages(linode_sim, "/domains/[^/]+/records$") == [1, 2, 3]


# -- side by side ----------------------------------------------------------------------------------
def test_hetzner_pages_after_the_first_go_side_by_side(hetzner_sim, hetzner_provider):
    """With a remote API's latency, the pages after the first are in flight together, never more than
    ``_pages.CONCURRENT_PAGES`` at once, and each is checked against the document like any request."""
    for i in range(6 * HETZNER_PAGE):
        hetzner_sim.seed_server("edge-%03d" % i, dict(OURS))
    hetzner_sim.latency = 0.2
    assert len(hetzner_provider.list_servers(OURS)) == 6 * HETZNER_PAGE
    assert pages(hetzner_sim, "/servers$") == [1, 2, 3, 4, 5, 6]
    assert 2 <= hetzner_sim.peak_in_flight <= _pages.CONCURRENT_PAGES


def test_linode_pages_after_the_first_go_side_by_side(linode_sim, linode_provider, small_pages):
    pool = base.ownership_labels("home", "par-a")
    for i in range(4 * LINODE_PAGE):
        linode_sim.seed_instance("edge-par-a-%03d" % i, encode_tags(pool))
    linode_sim.latency = 0.2
    assert len(linode_provider.list_servers(pool)) == 4 * LINODE_PAGE
    assert pages(linode_sim, "/linode/instances$") == [1, 2, 3, 4]
    assert linode_sim.peak_in_flight >= 2


def test_a_rate_limited_page_is_fetched_again_alone(hetzner_sim, hetzner_provider):
    """A 429 on page 3 costs one more request of page 3, not the whole listing again."""
    for i in range(4 * HETZNER_PAGE):
        hetzner_sim.seed_server("edge-%03d" % i, dict(OURS))
    hetzner_sim.fail_next("rate_limit", count=1, method="GET", path="/servers$", retry_after=0.2, query={"page": "3"})
    assert len(hetzner_provider.list_servers(OURS)) == 4 * HETZNER_PAGE
    assert pages(hetzner_sim, "/servers$") == [1, 2, 3, 3, 4]
    assert [c[2] for c in hetzner_sim.calls("GET", "/servers$") if c.query.get("page") == ["3"]] == [429, 200]
