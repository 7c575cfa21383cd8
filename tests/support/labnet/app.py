"""The home test app: a small HTTP server that says who it is and what it saw.

Run inside the home namespace, bound to the tunnel address only:

    python3 app.py --listen 10.251.0.1:8080 --identity home

Every answer is JSON: ``identity``, ``count`` (requests served so far, /healthz not
counted), ``path``, ``host``, ``peer`` (the TCP peer: the tunnel address of the edge the
request came through, 10.251.0.I for the edge at 10.250.N.I), ``x_forwarded_for`` and
``x_real_ip``. ``/healthz`` answers ``ok``.

With ``--echo-port P`` it also echoes on TCP and UDP port P of the same address (what the
lab exposes as tcp and udp services): each TCP read and each datagram comes back
prefixed with ``<identity> `` (so a client knows it reached home, not the edge).
Stdlib only, so it runs with any python3.
"""
import argparse
import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops SYNs in bursts: 1 s retransmits

    def server_bind(self):
        # HTTPServer.server_bind asks DNS for the host's name (socket.getfqdn): no DNS
        # is reachable from the namespaces and none is wanted, so skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class Counter:
    def __init__(self):
        self._lock = threading.Lock()
        self.value = 0

    def next(self):
        with self._lock:
            self.value += 1
            return self.value


def make_handler(identity, counter):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so the edge proxy can reuse connections
        # headers and body go out in two writes: without TCP_NODELAY, Nagle waits for the
        # proxy's delayed ACK (40 ms) before sending the body
        disable_nagle_algorithm = True

        def do_GET(self):
            if self.path.split("?", 1)[0] == "/healthz":
                self._send(b"ok\n", "text/plain")
                return
            body = {
                "identity": identity,
                "count": counter.next(),
                "path": self.path,
                "peer": self.client_address[0],
                "host": self.headers.get("Host"),
                "x_forwarded_for": self.headers.get("X-Forwarded-For"),
                "x_real_ip": self.headers.get("X-Real-IP"),
            }
            self._send(json.dumps(body, sort_keys=True).encode() + b"\n", "application/json")

        def _send(self, data, content_type):
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass  # quiet: the benchmark sends thousands of requests

    return Handler


class TCPEcho(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def echo_handlers(identity):
    prefix = identity.encode() + b" "

    class TCPHandler(socketserver.BaseRequestHandler):
        def handle(self):
            while True:
                data = self.request.recv(65536)
                if not data:
                    return
                self.request.sendall(prefix + data)

    class UDPHandler(socketserver.BaseRequestHandler):
        def handle(self):
            data, sock = self.request
            sock.sendto(prefix + data, self.client_address)

    return TCPHandler, UDPHandler


def serve_echo(host, port, identity):
    """TCP and UDP echo on host:port, in background threads."""
    tcp_handler, udp_handler = echo_handlers(identity)
    for server in (TCPEcho((host, port), tcp_handler), socketserver.ThreadingUDPServer((host, port), udp_handler)):
        threading.Thread(target=server.serve_forever, daemon=True).start()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--identity", default="home")
    parser.add_argument("--echo-port", type=int, help="also echo on this TCP and UDP port")
    args = parser.parse_args(argv)
    host, port = args.listen.rsplit(":", 1)
    if args.echo_port:
        serve_echo(host, args.echo_port, args.identity)
    server = Server((host, int(port)), make_handler(args.identity, Counter()))
    print("serving %s on %s" % (args.identity, args.listen), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
