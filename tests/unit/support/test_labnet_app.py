"""The lab's home app (tests/support/labnet/app.py) as the lab runs it: HTTP, and the TCP and UDP
echo behind the lab's exposed tcp and udp services, on a free loopback port."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support.process import free_port

APP = os.path.join(os.path.dirname(__file__), "..", "..", "support", "labnet", "app.py")


@pytest.fixture
def app():
    http_port, echo_port = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, APP, "--listen", "127.0.0.1:%d" % http_port, "--identity", "home",
                             "--echo-port", str(echo_port)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("serving home")
        yield http_port, echo_port
    finally:
        proc.kill()
        proc.wait()


def test_http_says_who_it_is(app):
    http_port = app[0]
    with urllib.request.urlopen("http://127.0.0.1:%d/x" % http_port, timeout=5) as r:
        body = json.loads(r.read())
    assert body["identity"] == "home" and body["path"] == "/x" and body["peer"] == "127.0.0.1"


def test_tcp_echo_prefixes_every_read_with_the_identity(app):
    echo_port = app[1]
    for _attempt in range(50):  # the echo threads start right after the banner line
        try:
            conn = socket.create_connection(("127.0.0.1", echo_port), timeout=5)
            break
        except ConnectionRefusedError:
            time.sleep(0.1)
    with conn:
        conn.sendall(b"one")
        assert conn.recv(100) == b"home one"
        conn.sendall(b"two")
        assert conn.recv(100) == b"home two"


def test_udp_echo_answers_each_datagram_to_its_sender(app):
    echo_port = app[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(5)
        udp.sendto(b"ping", ("127.0.0.1", echo_port))
        data, source = udp.recvfrom(100)
    assert data == b"home ping" and source == ("127.0.0.1", echo_port)
