"""Addresses that outlive or move between servers, in the cloud simulators, driven through the real SDKs:
Hetzner Floating IPs and Primary IPs (hcloud), Linode additional IPv4 and IP sharing (linode_api4).

The foundation for floating addresses (issue 18): these tests pin what the simulators do, as the official
documents describe it, before any collection code relies on it. Every request and response is checked
against the document; a mismatch fails the test at the fixture's teardown.
"""
import ipaddress

import hcloud
import linode_api4
import pytest
from hcloud.locations.domain import Location
from hcloud.primary_ips.domain import PrimaryIP
from hcloud.server_types.domain import ServerType
from hcloud.images.domain import Image
from hcloud.servers.domain import Server, ServerCreatePublicNetwork

from tests.support.fixtures_hetzner import TOKEN


# -- Hetzner -----------------------------------------------------------------------------------------
@pytest.fixture
def hcloud_client(hetzner_sim):
    return hcloud.Client(token=TOKEN, api_endpoint=hetzner_sim.url, poll_interval=0.02, poll_max_retries=500)


def api_error(call, *args, **kw):
    """The ``hcloud.APIException`` a call raises (the test fails when it raises none)."""
    with pytest.raises(hcloud.APIException) as caught:
        call(*args, **kw)
    return caught.value


def last_status(sim, method, path):
    return sim.calls(method, path)[-1][2]


def make_server(client, name, location="fsn1", public_net=None, start=True):
    """A server created through the API, its create (and start) actions finished."""
    made = client.servers.create(name, server_type=ServerType(name="cx23"), image=Image(name="debian-12"),
                                 location=Location(name=location), public_net=public_net,
                                 start_after_create=start)
    made.action.wait_until_finished()
    for action in made.next_actions:
        action.wait_until_finished()
    return client.servers.get_by_id(made.server.id)


def floating_ids(client, server):
    return [f.id for f in client.servers.get_by_id(server.id).public_net.floating_ips]


def test_floating_ip_create_assign_and_move_between_servers(hetzner_sim, hcloud_client):
    web1, web2 = hetzner_sim.seed_server("web-1", {}), hetzner_sim.seed_server("web-2", {}, location="nbg1")
    made = hcloud_client.floating_ips.create(type="ipv4", home_location=Location(name="fsn1"), name="edge",
                                             description="edge entry", labels={"pool": "edge"})
    assert made.action is None  # nothing to route yet
    fip = made.floating_ip
    assert ipaddress.ip_address(fip.ip) in ipaddress.ip_network("203.0.113.0/24")
    assert (fip.name, fip.description, fip.server, fip.home_location.name) == ("edge", "edge entry", None, "fsn1")
    assert fip.dns_ptr == [{"ip": fip.ip, "dns_ptr": "static.%s.clients.your-server.de"
                            % ".".join(reversed(fip.ip.split(".")))}]
    assert hetzner_sim.server_of(fip.ip) is None

    hcloud_client.floating_ips.assign(fip, Server(id=web1["id"])).wait_until_finished()
    assert hcloud_client.floating_ips.get_by_id(fip.id).server.id == web1["id"]
    assert floating_ids(hcloud_client, Server(id=web1["id"])) == [fip.id]
    assert hetzner_sim.server_of(fip.ip) == "web-1"

    # a move is one assign: the address leaves web-1 the moment it is routed to web-2 (another location too)
    action = hcloud_client.floating_ips.assign(fip, Server(id=web2["id"]))
    assert floating_ids(hcloud_client, Server(id=web1["id"])) == []
    assert floating_ids(hcloud_client, Server(id=web2["id"])) == [fip.id]
    action.wait_until_finished()
    assert action.command == "assign_floating_ip"
    assert sorted((r["type"], r["id"]) for r in action.resources) == [("floating_ip", fip.id), ("server", web2["id"])]
    assert hetzner_sim.server_of(fip.ip) == "web-2"
    assert api_error(hcloud_client.floating_ips.assign, fip, Server(id=web2["id"])).code == "floating_ip_assigned"

    hcloud_client.floating_ips.unassign(fip).wait_until_finished()
    assert hcloud_client.floating_ips.get_by_id(fip.id).server is None
    assert floating_ids(hcloud_client, Server(id=web2["id"])) == [] and hetzner_sim.server_of(fip.ip) is None

    # created on a server: routed at once (the document's example), an IPv6 /64 in a documentation range
    six = hcloud_client.floating_ips.create(type="ipv6", server=Server(id=web1["id"]))
    six.action.wait_until_finished()
    assert six.floating_ip.server.id == web1["id"] and six.floating_ip.home_location.name == "fsn1"
    assert ipaddress.ip_network(six.floating_ip.ip).subnet_of(ipaddress.ip_network("2001:db8::/32"))
    assert hetzner_sim.server_of(str(ipaddress.ip_network(six.floating_ip.ip)[7])) == "web-1"

    assert [f.id for f in hcloud_client.floating_ips.get_all(label_selector="pool=edge")] == [fip.id]
    assert [f.id for f in hcloud_client.floating_ips.get_all(name=six.floating_ip.name)] == [six.floating_ip.id]
    assert sorted(f.id for f in hcloud_client.floating_ips.get_all()) == sorted([fip.id, six.floating_ip.id])


def test_floating_ip_protection_and_delete(hetzner_sim, hcloud_client):
    web = hetzner_sim.seed_server("web-1", {})
    fip = hcloud_client.floating_ips.create(type="ipv4", server=Server(id=web["id"]), name="kept").floating_ip
    hetzner_sim.settle()
    hcloud_client.floating_ips.change_protection(fip, delete=True).wait_until_finished()
    assert hcloud_client.floating_ips.get_by_id(fip.id).protection == {"delete": True}
    assert api_error(hcloud_client.floating_ips.delete, fip).code == "protected"
    assert last_status(hetzner_sim, "DELETE", r"/floating_ips/\d+$") == 403

    hcloud_client.floating_ips.change_protection(fip, delete=False).wait_until_finished()
    # since 1 May 2026 an assigned Floating IP must be unassigned before it is deleted
    assert api_error(hcloud_client.floating_ips.delete, fip).code == "must_be_unassigned"
    hcloud_client.floating_ips.unassign(fip).wait_until_finished()
    hcloud_client.floating_ips.update(fip, name="renamed", labels={"k": "v"})
    assert hcloud_client.floating_ips.get_by_id(fip.id).name == "renamed"
    assert hcloud_client.floating_ips.delete(fip) is True
    assert fip.id not in hetzner_sim.floating_ips
    assert api_error(hcloud_client.floating_ips.get_by_id, fip.id).code == "not_found"


def test_deleting_a_server_unassigns_its_floating_ips(hetzner_sim, hcloud_client):
    web = make_server(hcloud_client, "web-1")
    fip = hcloud_client.floating_ips.create(type="ipv4", server=web).floating_ip
    hetzner_sim.settle()
    assert floating_ids(hcloud_client, web) == [fip.id] and hetzner_sim.server_of(fip.ip) == "web-1"
    hcloud_client.servers.delete(web).wait_until_finished()
    assert hcloud_client.floating_ips.get_by_id(fip.id).server is None
    assert hetzner_sim.server_of(fip.ip) is None


def test_a_running_action_locks_the_address_and_a_failed_one_is_undone(hetzner_sim, hcloud_client):
    web1, web2 = hetzner_sim.seed_server("web-1", {}), hetzner_sim.seed_server("web-2", {})
    fip = hcloud_client.floating_ips.create(type="ipv4", server=Server(id=web1["id"])).floating_ip
    hetzner_sim.settle()
    hetzner_sim.action_delay = 30  # the next action runs until the test settles it
    running = hcloud_client.floating_ips.assign(fip, Server(id=web2["id"]))
    assert api_error(hcloud_client.floating_ips.unassign, fip).code == "locked"
    assert last_status(hetzner_sim, "POST", r"/floating_ips/\d+/actions/unassign$") == 423
    hetzner_sim.action_delay = 0.05
    hetzner_sim.finish_actions()
    running.wait_until_finished()
    assert hetzner_sim.server_of(fip.ip) == "web-2"

    hetzner_sim.fail_next_action("assign_floating_ip")
    with pytest.raises(hcloud.actions.domain.ActionFailedException):
        hcloud_client.floating_ips.assign(fip, Server(id=web1["id"])).wait_until_finished()
    assert hetzner_sim.server_of(fip.ip) == "web-2"  # the failed move is undone
    assert floating_ids(hcloud_client, Server(id=web1["id"])) == []


def test_primary_ip_kept_across_server_replacement(hetzner_sim, hcloud_client):
    old = make_server(hcloud_client, "edge-1")
    primary4, primary6 = old.public_net.primary_ipv4, old.public_net.primary_ipv6
    address = old.public_net.ipv4.ip
    assert address == "198.18.0.1"  # servers' own addresses are unchanged by Primary IPs
    kept = hcloud_client.primary_ips.get_by_id(primary4.id)
    assert (kept.ip, kept.assignee_id, kept.assignee_type, kept.auto_delete) == (address, old.id, "server", True)
    assert kept.location.name == "fsn1" and kept.name == "primary_ip-%d" % kept.id
    hcloud_client.primary_ips.update(kept, auto_delete=False, labels={"keep": "yes"})

    hcloud_client.servers.delete(old).wait_until_finished()
    kept = hcloud_client.primary_ips.get_by_id(primary4.id)
    assert (kept.assignee_id, kept.assignee_type) == (None, "unassigned")  # since 1 August 2026
    assert hetzner_sim.server_of(address) is None
    assert api_error(hcloud_client.primary_ips.get_by_id, primary6.id).code == "not_found"  # auto_delete

    new = make_server(hcloud_client, "edge-2", public_net=ServerCreatePublicNetwork(ipv4=PrimaryIP(id=kept.id)))
    assert new.public_net.ipv4.ip == address and new.public_net.primary_ipv4.id == kept.id
    assert new.public_net.ipv6 is not None and new.public_net.ipv6.ip != old.public_net.ipv6.ip
    assert hcloud_client.primary_ips.get_by_id(kept.id).assignee_id == new.id
    assert hetzner_sim.server_of(address) == "edge-2"
    assert [p.id for p in hcloud_client.primary_ips.get_all(label_selector="keep=yes")] == [kept.id]
    assert [p.ip for p in hcloud_client.primary_ips.get_list(ip=address).primary_ips] == [address]


def test_a_primary_ip_made_on_its_own_is_given_to_a_new_server(hetzner_sim, hcloud_client):
    made = hcloud_client.primary_ips.create(type="ipv4", name="entry", location=Location(name="fsn1"),
                                            labels={"pool": "edge"})
    made.action.wait_until_finished()
    pip = made.primary_ip
    assert ipaddress.ip_address(pip.ip) in ipaddress.ip_network("198.19.0.0/16")
    assert (pip.assignee_id, pip.assignee_type, pip.auto_delete, pip.location.name) == (
        None, "unassigned", False, "fsn1")
    assert api_error(hcloud_client.primary_ips.create, type="ipv4", name="entry",
                     location=Location(name="fsn1")).code == "uniqueness_error"
    six = hcloud_client.primary_ips.create(type="ipv6", name="entry6", location=Location(name="nbg1")).primary_ip

    def server_with(name="web-1", **public):
        return hcloud_client.servers.create(name, server_type=ServerType(name="cx23"), image=Image(name="debian-12"),
                                            location=Location(name="fsn1"),
                                            public_net=ServerCreatePublicNetwork(**public))
    assert api_error(server_with, ipv6=PrimaryIP(id=pip.id)).code == "primary_ip_version_mismatch"
    assert api_error(server_with, ipv6=PrimaryIP(id=six.id)).code == "primary_ip_datacenter_mismatch"
    web = server_with(ipv4=PrimaryIP(id=pip.id), enable_ipv6=False).server
    assert web.public_net.ipv4.ip == pip.ip and web.public_net.ipv6 is None
    assert api_error(server_with, name="web-2", ipv4=PrimaryIP(id=pip.id)).code == "primary_ip_assigned"
    assert api_error(hcloud_client.primary_ips.delete, pip).code == "must_be_unassigned"


def test_primary_ip_assignment_needs_the_server_off(hetzner_sim, hcloud_client):
    web = make_server(hcloud_client, "web-1")
    own = hcloud_client.primary_ips.get_by_id(web.public_net.primary_ipv4.id)
    spare = hcloud_client.primary_ips.create(type="ipv4", name="spare", location=Location(name="fsn1")).primary_ip
    hetzner_sim.settle()
    assert api_error(hcloud_client.primary_ips.assign, spare, web.id, "server").code == "server_not_stopped"
    assert api_error(hcloud_client.primary_ips.unassign, own).code == "server_not_stopped"
    assert last_status(hetzner_sim, "POST", r"/primary_ips/\d+/actions/unassign$") == 422

    web.power_off().wait_until_finished()
    assert api_error(hcloud_client.primary_ips.assign, spare, web.id, "server").code == "server_has_ipv4"
    hcloud_client.primary_ips.unassign(own).wait_until_finished()
    assert hcloud_client.servers.get_by_id(web.id).public_net.ipv4 is None
    hcloud_client.primary_ips.assign(spare, web.id, "server").wait_until_finished()
    assert hcloud_client.servers.get_by_id(web.id).public_net.ipv4.ip == spare.ip
    assert hetzner_sim.server_of(spare.ip) == "web-1" and hetzner_sim.server_of(own.ip) is None
    assert api_error(hcloud_client.primary_ips.assign, spare, web.id, "server").code == "primary_ip_already_assigned"

    hcloud_client.primary_ips.change_dns_ptr(spare, spare.ip, "web-1.example.org").wait_until_finished()
    assert hcloud_client.servers.get_by_id(web.id).public_net.ipv4.dns_ptr == "web-1.example.org"
    # protection needs auto_delete false; then a protected Primary IP cannot be deleted
    assert api_error(hcloud_client.primary_ips.change_protection, own, delete=True).code == "invalid_input"
    hcloud_client.primary_ips.update(own, auto_delete=False)
    hcloud_client.primary_ips.change_protection(own, delete=True).wait_until_finished()
    assert api_error(hcloud_client.primary_ips.delete, own).code == "protected"
    hcloud_client.primary_ips.change_protection(own, delete=False).wait_until_finished()
    assert hcloud_client.primary_ips.delete(own) is True and own.id not in hetzner_sim.primary_ips


def test_unknown_server_or_bad_body_gets_the_apis_error(hetzner_sim, hcloud_client):
    fip = hcloud_client.floating_ips.create(type="ipv4", home_location=Location(name="fsn1")).floating_ip
    error = api_error(hcloud_client.floating_ips.assign, fip, Server(id=999999))
    assert error.code == "not_found"
    assert last_status(hetzner_sim, "POST", r"/floating_ips/\d+/actions/assign$") == 404
    pip = hcloud_client.primary_ips.create(type="ipv4", name="p", location=Location(name="fsn1")).primary_ip
    assert api_error(hcloud_client.primary_ips.assign, pip, 999999, "server").code == "not_found"
    # neither a home location nor a server; both; an unknown location: the API's invalid_input, field named
    assert api_error(hcloud_client.floating_ips.create, type="ipv4").details["fields"][0]["name"] == "home_location"
    error = api_error(hcloud_client.floating_ips.create, type="ipv4", home_location=Location(name="fsn1"),
                      server=Server(id=1))
    assert error.code == "invalid_input"
    assert api_error(hcloud_client.floating_ips.create, type="ipv4",
                     home_location=Location(name="nowhere")).code == "invalid_input"
    assert api_error(hcloud_client.primary_ips.create, type="ipv4", name="q").code == "invalid_input"
    assert api_error(hcloud_client.floating_ips.get_by_id, 424242).code == "not_found"
    assert hetzner_sim.server_of(fip.ip) is None and hetzner_sim.violations == []


# -- Linode ------------------------------------------------------------------------------------------
@pytest.fixture
def linode_client(linode_sim):
    return linode_api4.LinodeClient(linode_sim.token, base_url=linode_sim.url, retry=False)


def linode_error(call, *args, **kw):
    with pytest.raises(linode_api4.ApiError) as caught:
        call(*args, **kw)
    return caught.value


def instance_ips(client, linode_id):
    return linode_api4.Instance(client, linode_id).ips


def test_linode_shares_an_address_between_two_instances_of_a_region(linode_sim, linode_client):
    first = linode_sim.seed_instance("edge-1", [], region="us-ord")
    second = linode_sim.seed_instance("edge-2", [], region="us-ord")
    extra = linode_client.networking.ip_allocate(first["id"], public=True)
    assert ipaddress.ip_address(extra.address) in ipaddress.ip_network("198.51.100.0/24")
    assert (extra.linode_id, extra.region.id, extra.public, extra.type) == (first["id"], "us-ord", True, "ipv4")
    assert [ip.address for ip in instance_ips(linode_client, first["id"]).ipv4.public] == first["ipv4"]
    assert first["ipv4"][1] == extra.address
    assert linode_sim.holders_of(extra.address) == ("edge-1", [])

    linode_client.networking.ip_addresses_share([extra.address], second["id"])
    shared = instance_ips(linode_client, second["id"]).ipv4.shared
    assert [(ip.address, ip.linode_id) for ip in shared] == [(extra.address, first["id"])]
    assert instance_ips(linode_client, first["id"]).ipv4.shared == []
    assert linode_sim.holders_of(extra.address) == ("edge-1", ["edge-2"])
    listed = dict((ip.address, ip.linode_id) for ip in linode_client.networking.ips())
    assert listed[extra.address] == first["id"] and listed[second["ipv4"][0]] == second["id"]
    assert linode_client.load(linode_api4.IPAddress, extra.address).linode_id == first["id"]

    # the first address of edge-2 to edge-1 as well, through the document's equivalent older path
    linode_client.post("/networking/ipv4/share", data={"linode_id": first["id"], "ips": [second["ipv4"][0]]})
    assert linode_sim.holders_of(second["ipv4"][0]) == ("edge-2", ["edge-1"])

    # the list replaces the shared set; an empty one removes it
    linode_client.networking.ip_addresses_share([], second["id"])
    assert instance_ips(linode_client, second["id"]).ipv4.shared == []
    assert linode_sim.holders_of(extra.address) == ("edge-1", [])


def test_linode_refuses_to_share_across_regions(linode_sim, linode_client):
    first = linode_sim.seed_instance("edge-1", [], region="us-ord")
    other = linode_sim.seed_instance("edge-3", [], region="fr-par")
    error = linode_error(linode_client.networking.ip_addresses_share, [first["ipv4"][0]], other["id"])
    assert error.status == 400 and error.json["errors"][0]["field"] == "ips"
    assert "region" in error.json["errors"][0]["reason"]
    assert linode_sim.holders_of(first["ipv4"][0]) == ("edge-1", [])
    assert instance_ips(linode_client, other["id"]).ipv4.shared == []


def test_linode_sharing_ends_with_the_owner(linode_sim, linode_client):
    first = linode_sim.seed_instance("edge-1", [], region="us-ord")
    second = linode_sim.seed_instance("edge-2", [], region="us-ord")
    linode_client.networking.ip_addresses_share([first["ipv4"][0]], second["id"])
    address = first["ipv4"][0]
    linode_api4.Instance(linode_client, first["id"]).delete()
    assert instance_ips(linode_client, second["id"]).ipv4.shared == []
    assert linode_sim.holders_of(address) == (None, [])
    third = linode_sim.seed_instance("edge-4", [], region="us-ord")
    assert third["ipv4"][0] not in {address, second["ipv4"][0]}  # addresses are not handed out twice


def test_linode_bad_share_and_allocation_requests(linode_sim, linode_client):
    first = linode_sim.seed_instance("edge-1", [], region="us-ord")
    second = linode_sim.seed_instance("edge-2", [], region="us-ord")
    error = linode_error(linode_client.networking.ip_addresses_share, [first["ipv4"][0]], 999)
    assert (error.status, error.json["errors"][0]["field"]) == (400, "linode_id")
    for address in ("192.0.2.77", first["ipv6"].split("/")[0]):  # not on the account; an IPv6 address, not a range
        error = linode_error(linode_client.networking.ip_addresses_share, [address], second["id"])
        assert (error.status, error.json["errors"][0]["field"]) == (400, "ips")
    error = linode_error(linode_client.networking.ip_addresses_share, [second["ipv4"][0]], second["id"])
    assert (error.status, error.json["errors"][0]["field"]) == (400, "ips")  # its own address
    assert linode_sim.ip_shares == {}

    error = linode_error(linode_client.networking.ip_allocate, 999)
    assert (error.status, error.json["errors"][0]["field"]) == (400, "linode_id")
    private = linode_client.networking.ip_allocate(first["id"], public=False)
    assert ipaddress.ip_address(private.address) in ipaddress.ip_network("192.168.128.0/17") and not private.public
    assert [ip.address for ip in instance_ips(linode_client, first["id"]).ipv4.private] == [private.address]
    assert private.address not in [ip.address for ip in linode_client.networking.ips()]  # "excluding private"
    assert linode_error(linode_client.networking.ip_allocate, first["id"], public=False).status == 400
    linode_sim.additional_ipv4 = False  # an account not granted more addresses (a support ticket is needed)
    error = linode_error(linode_client.networking.ip_allocate, second["id"])
    assert error.status == 400 and "Support Ticket" in error.json["errors"][0]["reason"]
    assert second["ipv4"] == [second["ipv4"][0]]


def public_of(client, linode_id):
    return [ip.address for ip in instance_ips(client, linode_id).ipv4.public]


def test_linode_assign_moves_an_address_within_a_region(linode_sim, linode_client):
    first = linode_sim.seed_instance("edge-1", [], region="us-ord")
    second = linode_sim.seed_instance("edge-2", [], region="us-ord")
    own1, own2 = first["ipv4"][0], second["ipv4"][0]
    extra = linode_client.networking.ip_allocate(first["id"], public=True).address

    assert linode_client.networking.ip_addresses_assign([{"address": extra, "linode_id": second["id"]}],
                                                        "us-ord") is None
    assert linode_sim.holders_of(extra) == ("edge-2", [])
    assert (public_of(linode_client, first["id"]), public_of(linode_client, second["id"])) == ([own1], [own2, extra])
    assert linode_client.load(linode_api4.IPAddress, extra).linode_id == second["id"]
    assert linode_sim.calls("POST", "/v4/networking/ips/assign")[-1][2] == 200

    # the deprecated path (the SDK's ips_assign) moves it back; a swap of two addresses is one call
    linode_client.networking.ips_assign("us-ord", {"address": extra, "linode_id": first["id"]})
    assert linode_sim.holders_of(extra) == ("edge-1", [])
    linode_client.networking.ip_addresses_assign([{"address": own1, "linode_id": second["id"]},
                                                  {"address": own2, "linode_id": first["id"]}], "us-ord")
    assert (public_of(linode_client, first["id"]), public_of(linode_client, second["id"])) == ([extra, own2], [own1])

    # assigning an address to the Linode that has it changes nothing
    linode_client.networking.ip_addresses_assign([{"address": own1, "linode_id": second["id"]}], "us-ord")
    assert public_of(linode_client, second["id"]) == [own1]


def test_linode_assign_refusals_leave_every_address_in_place(linode_sim, linode_client):
    first = linode_sim.seed_instance("edge-1", [], region="us-ord")
    second = linode_sim.seed_instance("edge-2", [], region="us-ord")
    other = linode_sim.seed_instance("edge-3", [], region="fr-par")
    extra = linode_client.networking.ip_allocate(first["id"], public=True).address
    before = dict((i["id"], list(i["ipv4"])) for i in (first, second, other))

    def refused(assignments, region="us-ord"):
        error = linode_error(linode_client.networking.ip_addresses_assign, assignments, region)
        assert error.status == 400
        assert dict((i["id"], list(linode_sim.instances[i["id"]]["ipv4"])) for i in (first, second, other)) == before
        return error.json["errors"][0]

    # the same-region rule, both ways: the Linode elsewhere, the address elsewhere, the region of neither
    assert "region" in refused([{"address": extra, "linode_id": other["id"]}])["reason"]
    assert "region" in refused([{"address": other["ipv4"][0], "linode_id": first["id"]}])["reason"]
    assert "region" in refused([{"address": extra, "linode_id": second["id"]}], region="fr-par")["reason"]
    assert refused([{"address": extra, "linode_id": second["id"]}], region="xx-nowhere")["field"] == "region"
    # every address and Linode must exist
    assert refused([{"address": "192.0.2.77", "linode_id": second["id"]}])["field"] == "assignments[0].address"
    assert refused([{"address": extra, "linode_id": 999}])["field"] == "assignments[0].linode_id"
    # every Linode keeps a public IPv4: the last one cannot leave, unless another comes in the same call
    assert "no public IPv4" in refused([{"address": second["ipv4"][0], "linode_id": first["id"]}])["reason"]
    # all or nothing: a good assignment before a bad one is not applied either
    refused([{"address": extra, "linode_id": second["id"]}, {"address": "192.0.2.77", "linode_id": first["id"]}])
    # a shared address cannot be swapped
    linode_client.networking.ip_addresses_share([extra], second["id"])
    assert "shared" in refused([{"address": extra, "linode_id": second["id"]}])["reason"]
    assert linode_error(linode_client.networking.ip_addresses_assign, [], "us-ord").status == 400
    assert linode_sim.violations == []


def test_linode_deletes_an_additional_address_but_not_the_last_public_one(linode_sim, linode_client):
    first = linode_sim.seed_instance("edge-1", [], region="us-ord")
    second = linode_sim.seed_instance("edge-2", [], region="us-ord")
    extra = linode_client.networking.ip_allocate(first["id"], public=True)
    linode_client.networking.ip_addresses_share([extra.address], second["id"])
    extra.delete()
    assert public_of(linode_client, first["id"]) == [first["ipv4"][0]]
    assert linode_sim.holders_of(extra.address) == (None, []) and linode_sim.ip_shares == {}
    assert linode_error(linode_client.load, linode_api4.IPAddress, extra.address).status == 404
    error = linode_error(linode_api4.IPAddress(linode_client, first["ipv4"][0], {"linode_id": first["id"]}).delete)
    assert error.status == 400 and "last public" in error.json["errors"][0]["reason"]
    assert linode_error(linode_client.delete, "/linode/instances/%d/ips/%s" % (first["id"], extra.address)).status == 404
    assert public_of(linode_client, first["id"]) == [first["ipv4"][0]]


def test_linode_assign_crash_is_a_visible_500(linode_sim, linode_client, monkeypatch):
    first = linode_sim.seed_instance("edge-1", [], region="us-ord")
    monkeypatch.setattr(type(linode_sim), "region", lambda self, rid: 1 / 0)
    error = linode_error(linode_client.networking.ip_addresses_assign,
                         [{"address": first["ipv4"][0], "linode_id": first["id"]}], "us-ord")
    assert error.status == 500
    assert linode_sim.violations  # the crash is recorded; the fixture's teardown would fail the test on it
    linode_sim.violations.clear()
