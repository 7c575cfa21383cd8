"""A stateful HTTP API simulator on loopback, checked against an OpenAPI document.

A concrete simulator (Hetzner, Linode, Cloudflare, the lab cloud) subclasses
``Simulator``, registers handlers with ``@route("GET", "/servers/{id}")`` in
files of its own (one per resource kind), and formats errors the way its API
does (``error_body``). The base class provides:

- a threaded server on 127.0.0.1 with a free port, started and stopped by
  fixtures (``with sim:``);
- spec checking of every request and response (``violations``), those that
  meet a fault included; fixtures call ``assert_clean()`` at teardown so a
  mismatch fails the test;
- a handler's own crash answered as a 500 whose body carries the traceback, and
  recorded as a violation (never a closed connection a client's retry would hide);
- fault knobs that tests turn on: latency, 429 bursts with Retry-After, 5xx
  responses, dropped connections, "commit then drop" (the change is made
  but the client never hears back, as when a run dies between create and wait)
  and "commit then error" (the change is made but the answer is a 5xx, as a
  gateway timing out in front of a slow API does);
- a request log (method, path, status) for assertions on API call counts.
"""
import json
import re
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class ApiError(Exception):
    """Raise in a handler to answer with an API error."""

    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


class Request:
    def __init__(self, method, path, query, headers, raw):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.raw = raw
        self.params = {}

    def json(self):
        if not self.raw:
            return None
        try:
            return json.loads(self.raw)
        except ValueError:
            raise ApiError(400, "json_error", "request body is not JSON")  # Hetzner's code; the others map it

    def arg(self, name, default=None, cast=str):
        values = self.query.get(name)
        if not values:
            return default
        try:
            return cast(values[0])
        except ValueError:
            raise ApiError(400, "invalid_input", "invalid value for %s" % name)


class Fault:
    """One armed fault: applies to the next ``count`` matching requests."""

    def __init__(self, kind, count=1, method=None, path=None, status=503, retry_after=1, query=None):
        self.kind = kind
        self.query = dict(query or {})  # name -> value the request's query must carry (one page of a listing)
        self.count = count
        self.method = method
        self.path = re.compile(path) if path else None
        self.status = status
        self.retry_after = retry_after

    def matches(self, method, path, query=None):
        return (self.count > 0 and (self.method is None or self.method == method)
                and (self.path is None or self.path.search(path))
                and all((query or {}).get(name, [None])[0] == value for name, value in self.query.items()))


class Call(tuple):
    """``(method, path, outcome)`` of one logged request; ``query`` (name -> [values]) rides along as an attribute,
    so tests compare calls as plain tuples."""

    def __new__(cls, request, outcome):
        call = super().__new__(cls, (request.method, request.path, outcome))
        call.query = request.query
        return call


def route(method, template):
    """Mark a method of a Simulator (or of a mixin) as the handler of ``method template``."""
    def mark(fn):
        fn.route = (method, template)
        return fn
    return mark


class Simulator:
    """Subclass: set ``name``, ``base_path``, and define ``error_body``."""

    name = "api"
    base_path = ""
    #: (regex on "METHOD /template: status N", why): fault statuses the real API answers although its document
    #: does not list them for that operation; the fault's body is then checked as the documented error answer.
    #: Not a waiver of the document (KNOWN_DEFECTS): the answer is still checked.
    faults_beyond_the_document = ()
    #: path parameters whose values hold one "/" (Linode's image IDs): they match two segments
    slash_params = ()

    def __init__(self, spec=None, token=None):
        self.spec = spec
        self.token = token
        self.lock = threading.RLock()
        self.latency = 0.0
        #: the most requests the simulator served at once (clients that fetch pages side by side)
        self.peak_in_flight = 0
        self._in_flight = 0
        self.faults = []
        self.log = []
        self.violations = []
        self._ids = {}
        self._routes = []
        self._server = None
        for attr in dir(type(self)):
            fn = getattr(type(self), attr)
            if callable(fn) and hasattr(fn, "route"):
                method, template = fn.route
                regex = "^" + re.sub(r"\\{([^}]+)\\}", lambda m: r"(?P<%s>[^/]+%s)" % (
                    m.group(1), "(?:/[^/]+)?" if m.group(1) in self.slash_params else ""),
                    re.escape(self.base_path + template)) + "$"
                self._routes.append((template.count("{"), method, re.compile(regex), getattr(self, attr)))
        self._routes.sort(key=lambda r: r[0])

    # -- to override ----------------------------------------------------------
    def error_body(self, error):
        raise NotImplementedError

    def rate_limit_headers(self, fault):
        """Headers of every answer about the client's rate limit; ``fault`` is the armed ``rate_limit`` fault
        that answers this request with a 429, else None. Default: only ``Retry-After`` on a 429."""
        return {"Retry-After": str(fault.retry_after)} if fault is not None else {}

    def authorised(self, request):
        """Default: a bearer token, when the simulator has one."""
        return self.token is None or request.headers.get("Authorization") == "Bearer " + self.token

    # -- helpers for handlers -----------------------------------------------------
    def next_id(self, kind):
        with self.lock:
            self._ids[kind] = self._ids.get(kind, 0) + 1
            return self._ids[kind]

    def calls(self, method=None, path=None):
        """Logged requests, optionally filtered by method and a path regex."""
        rx = re.compile(path) if path else None
        return [c for c in self.log if (method is None or c[0] == method) and (rx is None or rx.search(c[1]))]

    # -- fault knobs ---------------------------------------------------------------
    def fail_next(self, kind, **kw):
        """Arm a fault: ``rate_limit``, ``server_error``, ``drop``, ``commit_then_drop`` or ``commit_then_error``
        (made, then answered with ``status``, default 503); ``query`` ({name: value}) narrows it to one page."""
        if kind not in ("rate_limit", "server_error", "drop", "commit_then_drop", "commit_then_error"):
            raise ValueError("unknown fault %r" % kind)
        with self.lock:
            self.faults.append(Fault(kind, **kw))

    def _take_fault(self, method, path, kinds, query=None):
        with self.lock:
            for fault in self.faults:
                if fault.kind in kinds and fault.matches(method, path, query):
                    fault.count -= 1
                    return fault
        return None

    # -- lifecycle -------------------------------------------------------------------
    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return "http://%s:%d%s" % (host, port, self.base_path)

    def __enter__(self):
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                with sim.lock:
                    sim._in_flight += 1
                    sim.peak_in_flight = max(sim.peak_in_flight, sim._in_flight)
                try:
                    sim._handle(self)
                finally:
                    with sim.lock:
                        sim._in_flight -= 1

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name=self.name + "-sim", daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def assert_clean(self):
        """Fail when any request or response did not match the official document."""
        if self.violations:
            raise AssertionError("%s simulator: %d spec violation(s):\n  %s"
                                 % (self.name, len(self.violations), "\n  ".join(self.violations[:20])))

    # -- request handling --------------------------------------------------------------
    def _handle(self, handler):
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        request = Request(handler.command, url.path, parse_qs(url.query, keep_blank_values=True), handler.headers, raw)
        self._check_request(request)
        if self.latency:
            time.sleep(self.latency)
        if self._take_fault(request.method, request.path, ("drop",), request.query):
            self.log.append(Call(request, "dropped"))
            handler.close_connection = True
            return
        try:
            status, body, headers = self._dispatch(request)
        except Exception:  # the simulator's own defect: a visible 500 and a violation, never a dropped connection
            trace = traceback.format_exc()
            self.violations.append("%s %s: the %s simulator crashed:\n%s"
                                   % (request.method, request.path, self.name, trace))
            status, body, headers = 500, {"simulator_crash": trace}, {}
        if self._take_fault(request.method, request.path, ("commit_then_drop",), request.query) and status < 400:
            self.log.append(Call(request, "committed-dropped"))
            handler.close_connection = True
            return
        fault = self._take_fault(request.method, request.path, ("commit_then_error",), request.query) if status < 400 else None
        if fault is not None:
            status, headers = fault.status, {}
            body = self._checked_fault(request, status, self.error_body(ApiError(status, "unavailable",
                                                                                 "service unavailable")))
            self.log.append(Call(request, "committed-%d" % status))
            self._send(handler, status, body, headers)
            return
        self.log.append(Call(request, status))
        self._send(handler, status, body, headers)

    @staticmethod
    def _send(handler, status, body, headers):
        payload = b"" if body is None else json.dumps(body).encode()
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        if body is not None:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _check_request(self, request):
        """Every request against the document, whatever answer it then gets (a fault included)."""
        if self.spec is None:
            return
        body, unparsable = None, False
        if request.raw and "json" in (request.headers.get("Content-Type") or "json"):
            try:
                body = json.loads(request.raw)
            except ValueError:
                unparsable = True
                self.violations.append("%s %s: the request body is not valid JSON" % (request.method, request.path))
        self.violations += self.spec.check_request(request.method, request.path, request.query, body,
                                                   headers=request.headers, unparsable=unparsable)

    def _dispatch(self, request):
        fault = self._take_fault(request.method, request.path, ("rate_limit", "server_error"), request.query)
        if fault is not None:
            if fault.kind == "rate_limit":
                error = ApiError(429, "rate_limit_exceeded", "rate limit exceeded")
                headers = self.rate_limit_headers(fault)
            else:
                error, headers = ApiError(fault.status, "unavailable", "service unavailable"), self.rate_limit_headers(None)
            return error.status, self._checked_fault(request, error.status, self.error_body(error)), headers
        try:
            if not self.authorised(request):
                raise ApiError(401, "unauthorized", "unable to authenticate")
            handler = self._find(request)
            with self.lock:
                result = handler(request)
            status, body, headers = (result + ({},))[:3] if isinstance(result, tuple) else (200, result, {})
        except ApiError as error:
            status, body, headers = error.status, self.error_body(error), {}
        headers = dict(self.rate_limit_headers(None), **headers)
        return status, self._checked_response(request, status, body), headers

    def _checked_fault(self, request, status, body):
        """An injected fault's answer: documented, or beyond the document for a stated reason (then checked
        as the operation's documented error answer)."""
        if self.spec is None:
            return body
        found = self.spec.operation(request.method, request.path)
        line = "%s %s: status %d" % (request.method, found[0] if found else request.path, status)
        beyond = any(re.search(rx, line) for rx, dummy in self.faults_beyond_the_document)
        self.violations += self.spec.check_response(request.method, request.path, status, body, error_like=beyond)
        return body

    def _checked_response(self, request, status, body):
        if self.spec is not None:
            self.violations += self.spec.check_response(request.method, request.path, status, body)
        return body

    def _find(self, request):
        allowed = False
        for dummy, method, regex, fn in self._routes:
            m = regex.match(request.path)
            if m:
                allowed = True
                if method == request.method:
                    request.params = m.groupdict()
                    return fn
        if allowed:
            raise ApiError(405, "method_not_allowed", "method not allowed")
        raise ApiError(404, "not_found", "no such endpoint: %s" % request.path)


def paginate(items, page, per_page):
    """``(page_items, page, last_page)`` with pages numbered from 1."""
    per_page = max(1, per_page)
    last = max(1, (len(items) + per_page - 1) // per_page)
    start = (page - 1) * per_page
    return items[start:start + per_page], page, last
