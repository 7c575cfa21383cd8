"""HTTP from the host to an edge's public IP, and a status report of a lab network."""
import http.client
import json
import socket
import time


class Answer:
    """One HTTP answer: status, headers (lower-case names), body text, and the JSON body if any."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


def get(host, path="/", timeout=5.0, port=80, headers=None):
    """GET ``path`` from ``host`` (an edge's public IP); raises OSError when it cannot connect."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        return Answer(resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), body)
    finally:
        conn.close()


def healthy(host, timeout=2.0):
    """(ok, detail) of the edge's /healthz, the way a health probe sees it."""
    start = time.monotonic()
    try:
        answer = get(host, "/healthz", timeout=timeout)
    except (OSError, socket.timeout, http.client.HTTPException) as exc:
        error = exc.__class__.__name__ + (": %s" % exc if str(exc) else "")
        return False, "%s after %.2fs" % (error, time.monotonic() - start)
    ok = answer.status == 200 and answer.body.strip() == "ok"
    return ok, "HTTP %d %s in %.3fs" % (answer.status, answer.body.strip()[:60], time.monotonic() - start)


def report(lab, timeout=2.0):
    """A dict about ``lab`` (a loaded LabNetwork): home, and per edge its probe and WireGuard peer."""
    home_running = lab.home.running()
    peers = lab.home.wg_show()["peers"] if home_running else {}
    edges = {}
    for name, edge in sorted(lab.edges.items()):
        ok, detail = healthy(edge.public_ip, timeout)
        peer = peers.get(edge.public_key, {})
        edges[name] = dict(edge.state(), public_ip=edge.public_ip, url=edge.url, healthy=ok, probe=detail,
                           tunnel_ip=edge.tunnel_ip, latest_handshake=peer.get("latest_handshake"),
                           rx_bytes=peer.get("rx_bytes"), tx_bytes=peer.get("tx_bytes"))
    return {
        "enabled": True, "state_dir": lab.state_dir, "slot": lab.plan.slot, "subnet": str(lab.plan.subnet),
        "host_ip": lab.plan.host_ip(),
        "home": {"netns": lab.home.netns, "running": home_running, "app": lab.home.upstream,
                 "endpoint": lab.home.endpoint},
        "edges": edges,
    }
