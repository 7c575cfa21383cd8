"""PowerDNS and BIND fixtures: changes made through their APIs, checked with real DNS queries."""
import dns.message
import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update


def query(host, port, name, rdtype):
    resp = dns.query.udp(dns.message.make_query(name, rdtype), host, port=port, timeout=3)
    return resp, sorted(rr.to_text() for rrset in resp.answer for rr in rrset)


def test_powerdns_api_record_is_served(powerdns):
    powerdns.create_zone("smoke.test.")
    powerdns.api("PATCH", "/zones/smoke.test.", {"rrsets": [{
        "name": "edge.smoke.test.", "type": "A", "ttl": 60, "changetype": "REPLACE",
        "records": [{"content": "192.0.2.10", "disabled": False},
                    {"content": "192.0.2.11", "disabled": False}],
    }]})
    _resp, answers = query(powerdns.host, powerdns.dns_port, "edge.smoke.test.", "A")
    assert answers == ["192.0.2.10", "192.0.2.11"]


def test_powerdns_rejects_a_wrong_api_key(powerdns):
    import urllib.error
    import urllib.request
    req = urllib.request.Request(powerdns.api_url + "/api/v1/servers/localhost/zones",
                                 headers={"X-API-Key": "wrong"})
    try:
        urllib.request.urlopen(req, timeout=5)
        raise AssertionError("PowerDNS accepted a wrong API key")
    except urllib.error.HTTPError as e:
        assert e.code == 401


def _update(bind, secret):
    keyring = dns.tsigkeyring.from_text({bind.key_name: secret})
    upd = dns.update.UpdateMessage(bind.zone, keyring=keyring, keyname=bind.key_name,
                                   keyalgorithm=bind.key_algorithm)
    upd.replace("edge", 60, "A", "198.51.100.7")
    return dns.query.tcp(upd, bind.host, port=bind.port, timeout=5)


def test_bind_accepts_tsig_update(bind_server):
    resp = _update(bind_server, bind_server.key_secret)
    assert resp.rcode() == dns.rcode.NOERROR
    _resp, answers = query(bind_server.host, bind_server.port, "edge." + bind_server.zone, "A")
    assert answers == ["198.51.100.7"]


def test_bind_refuses_a_wrong_tsig_key(bind_server):
    import base64
    import dns.tsig
    wrong = base64.b64encode(b"x" * 32).decode()
    try:
        resp = _update(bind_server, wrong)
        assert resp.rcode() in (dns.rcode.NOTAUTH, dns.rcode.REFUSED)
    except dns.tsig.PeerBadSignature:
        pass  # BIND answered BADSIG: the update was refused
