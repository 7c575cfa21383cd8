"""Every option of every module, fed a wrong-typed and an out-of-range value, fails cleanly (issue 11, defect 4).

Generated from the modules' own argument specs and value rules (``_validate``), so a new option, or a new
module, is covered without editing this file:

- a wrong-typed value for every option and suboption (an int, float, bool, list, dict or choice option given
  something Ansible cannot convert) must fail with a message naming the option;
- every value rule's invalid examples (``Rule.bad_values()``: below and above a range, a port range 200-100,
  a bad hostname, ...) must fail with ``failure.kind == validation`` and a message naming the option and the
  value, before any call: the endpoints are a loopback API that answers 401 and a talosctl that does not exist;
- a string option given a mapping must not crash (it may fail later, cleanly);
- every int or float option must have a value rule (a new numeric option cannot slip through unchecked).

No message may carry a traceback, ``MODULE FAILURE`` or an exception class name. Each module's ``main()``
runs in this process, as AnsiballZ runs it (``ANSIBLE_MODULE_ARGS`` in, JSON and SystemExit out), so the
whole matrix takes a few seconds; ``test_modules_run_as_scripts`` runs a bad value of a few modules as their
own ``python -m`` process, the real entry point.
"""
import contextlib
import copy
import importlib
import io
import json
import os
import pkgutil
import re
import threading
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible.module_utils import basic
from ansible_collections.talos.autoextender.plugins import modules as modules_pkg
from ansible_collections.talos.autoextender.plugins.module_utils import _validate

MODULES = sorted(info.name for info in pkgutil.iter_modules(modules_pkg.__path__))
TOKEN = "bad-input-test-token"
NO_TALOSCTL = "/nonexistent/talosctl"
NO_FILE = "/nonexistent/file"
EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b|Traceback|MODULE FAILURE")


class Refuse(BaseHTTPRequestHandler):
    """Answers every request 401: a call that gets this far fails at once, without retries."""

    def _refuse(self):
        # PowerDNS errors are {"error": "..."}; the cloud APIs' {"error": {"code", "message"}}.
        error = "unauthorized" if self.path.startswith("/api/v1") else {"code": "unauthorized", "message": "unauthorized"}
        body = json.dumps({"error": error}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def endpoint():
    """A harmless loopback API that refuses everything (validation must come before any call anyway)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def baselines(tmp, url):
    """Valid arguments of each module: every failure they meet is an API or missing-tool one."""
    talos = dict(talosctl_path=NO_TALOSCTL, nodes=["192.0.2.10"])
    cloud = dict(provider="lab", cluster="home", api_url=url, api_token=TOKEN, wait_timeout=0)
    dns = dict(provider="powerdns", zone="example.org", api_url=url, api_token=TOKEN)
    edge = dict(dns, owner="home", wait_timeout=0, active_pools=["a"], nodes=[
        {"name": "a-1", "pool": "a", "public_ipv4": "192.0.2.1", "public_ipv6": "2001:db8::1"}],
        probe={"tcp_ports": [443], "http": {"port": 443, "expected_status": [200]}, "timeout": 1})
    return {
        "cloud_firewall": dict(cloud, name="fw", pool="a", extra_rules=[
            {"protocol": "tcp", "port": "30000-32767", "sources": ["192.0.2.0/24"], "description": "x"}]),
        "cloud_floating_ip": dict(cloud, name="fip", pool="a", location="loopback", server="s-1"),
        "cloud_floating_watch": dict(cloud, duration=0, wait_timeout=1),
        "cloud_placement_info": dict(cloud, location="loopback", server_type="lab-small", wait_timeout=1),
        "cloud_price_info": dict(cloud, min_cpu=2, min_memory=4.0, location="loopback", wait_timeout=1),
        "cloud_server": dict(cloud, name="s-1", pool="a", location="loopback", server_type="lab-small", image="1",
                             firewall="38"),
        "credential_rotation": dict(kubeconfig=NO_FILE, new_credentials={"powerdns": {"api_token": TOKEN}}, wait_timeout=1,
                                    dns={"provider": "powerdns", "zone": "example.org", "options": {"api_url": url}},
                                    places=[{"kind": "Secret", "namespace": "n", "name": "s", "path": "data.k",
                                             "provider": "powerdns", "field": "api_token", "restart": "n/d"}]),
        "dns_record_set": dict(dns, owner="home", name="www", type="A", values=["192.0.2.1"], wait_timeout=0),
        "dns_record_set_info": dict(dns, name="www", type="A"),
        "doctor_info": dict(gather=["libraries"], dns={"provider": "powerdns", "zone": "example.org"}),
        "edge_dns": edge,
        "edge_dns_info": edge,
        "edge_node_info": dict(pool="a", kubeconfig=NO_FILE, taints=[{"key": "k", "effect": "NoSchedule"}]),
        "edge_pool_info": dict(cloud),
        "k8s_apply": dict(kubeconfig=NO_FILE, objects=[
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}]),
        "k8s_expose": dict(kubeconfig=NO_FILE, zone="example.org", edge_hostname="edge.example.org", objects=[],
                           services=[{"host": "a.example.org", "namespace": "n", "service": "s", "port": 80}],
                           reserved_ports=[80, 443], wait_timeout=5),
        "k8s_lease": dict(kubeconfig=NO_FILE, holder="run-a", duration=60, wait_timeout=0),
        "k8s_node_drain": dict(name="n-1", kubeconfig=NO_FILE, grace_period=30),
        "k8s_objects_info": dict(kubeconfig=NO_FILE, queries=[{"api_version": "v1", "kind": "Node", "label_selector": "a"}]),
        "talos_apply_config": dict(talos, config=NO_FILE),
        "talos_client_config": dict(talos, talosconfig=NO_FILE, secrets_bundle=NO_FILE, max_age=24),
        "talos_image": dict(cloud, talos_version="v1.13.9"),
        "talos_info": dict(talos),
        "talos_machine_config": dict(talos, dest=str(tmp / "worker.yaml"), secrets_bundle=NO_FILE, cluster_name="home",
                                     endpoint="https://192.0.2.10:6443", talos_version="v1.13.9", hostname="edge-1",
                                     kubespan={"mtu": 1420}, user_data_limit=32768),
        "talos_join_token": dict(token="abcdef.0123456789abcdef", files=[NO_FILE],
                                 secrets=[{"namespace": "autoextender", "name": "autoextender-talos"}]),
        "talos_reset": dict(talos, hostname="edge-1"),
        "talos_secrets": dict(talos, dest=str(tmp / "secrets.yaml"), src=NO_FILE),
    }


class Run(object):
    """One in-process run of a module's main(): its JSON result, or the exception that escaped (a traceback)."""

    def __init__(self, name, args):
        self.name, self.args = name, args
        self.module = self.result = self.escaped = None

    def __call__(self):
        module = importlib.import_module("ansible_collections.talos.autoextender.plugins.modules." + self.name)
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": self.args}).encode()
        basic._ANSIBLE_PROFILE = "legacy"
        seen = []
        real_init = _validate.ValidatedModule.__init__

        def spy(instance, *args, **kwargs):
            seen.append(instance)
            real_init(instance, *args, **kwargs)

        out = io.StringIO()
        _validate.ValidatedModule.__init__ = spy
        try:
            with contextlib.redirect_stdout(out):
                module.main()
        except SystemExit:
            pass
        except Exception as e:  # what AnsiballZ would print as a traceback
            self.escaped = e
        finally:
            _validate.ValidatedModule.__init__ = real_init
            basic._ANSIBLE_ARGS = None
        self.module = seen[0] if seen else None
        text = out.getvalue().strip()
        self.result = json.loads(text[text.index("{"):]) if "{" in text else None
        return self

    def describe(self):
        return "%s with %s -> %s" % (self.name, json.dumps(self.args, default=str)[:300],
                                     self.escaped if self.escaped is not None else json.dumps(self.result)[:600])


def options(spec, path=()):
    """``(path tuple, option spec)`` of every option and suboption."""
    for name, option in spec.items():
        yield path + (name,), option
        if option.get("options"):
            yield from options(option["options"], path + (name,))


def with_value(args, spec, path, value):
    """A copy of ``args`` with ``value`` at ``path`` (into the first element of a list of dicts)."""
    out = copy.deepcopy(args)
    node = out
    for key in path[:-1]:
        option = spec[key]
        if node.get(key) is None:
            assert option.get("type") == "dict", "give %s a %s in the baseline of this test" % (key, option.get("type"))
            node[key] = {}
        node = node[key][0] if isinstance(node[key], list) else node[key]
        spec = option["options"]
    node[path[-1]] = value
    return out


def wrong_types(option):
    """Values of the wrong type for ``option`` that Ansible cannot convert, or None (any string is a string)."""
    kind, elements = option.get("type", "str"), option.get("elements")
    wrong = {"int": ["not-a-number"], "float": ["fast"], "bool": ["maybe"], "dict": [42, "not a mapping"],
             "list": [{"not": "a list"}]}.get(kind, [])
    if kind == "list" and elements in ("int", "float", "bool", "dict"):
        wrong.append([{"int": "not-a-number", "float": "fast", "bool": "maybe", "dict": 42}[elements]])
    if option.get("choices"):
        wrong.append(["no-such-choice"] if kind == "list" else "no-such-choice")
    return wrong


def is_numeric(option):
    return option.get("type") in ("int", "float") or (option.get("type") == "list" and option.get("elements") in ("int", "float"))


def cases(name, args, module):
    """``(kind, path, value)`` of every bad input for one module, from its spec and its rules."""
    out = []
    for path, option in options(module.argument_spec):
        for value in wrong_types(option):
            out.append(("wrong_type", path, value))
        rule = module.option_rules.get(".".join(path))
        for value in rule.bad_values() if rule else ():
            out.append(("rule", path, [value] if option.get("type") == "list" else value))
        if option.get("type", "str") in ("str", "path") and not option.get("choices"):
            out.append(("string", path, {"not": "a string"}))
    return out


def check(run, kind, path):
    """The assertions for one bad input; returns a problem description or None."""
    if run.escaped is not None or run.result is None:
        return "escaped the module (a traceback in Ansible): " + run.describe()
    msg = run.result.get("msg") or ""
    if EXCEPTION_NAME.search(msg) and kind != "string":
        return "traceback, MODULE FAILURE or an exception name in the message: " + run.describe()
    if kind == "string":
        return None if "Traceback" not in json.dumps(run.result) else "traceback: " + run.describe()
    if not run.result.get("failed") or path[-1] not in msg:
        return "not refused with a message naming %s: %s" % (".".join(path), run.describe())
    if kind == "rule":
        failure = run.result.get("failure") or {}
        if failure.get("kind") != "validation" or not failure.get("option", "").replace("[0]", "").endswith(path[-1]):
            return "not a validation failure naming %s: %s" % (".".join(path), run.describe())
    return None


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, endpoint):
    """Every module's baseline run and its bad-input runs (computed once)."""
    base = baselines(tmp_path_factory.mktemp("bad-input"), endpoint)
    runs = {}
    for name in MODULES:
        if name not in base:
            runs[name] = None
            continue
        first = Run(name, base[name])()
        bad = [(kind, path, Run(name, with_value(base[name], first.module.argument_spec, path, value))())
               for kind, path, value in cases(name, base[name], first.module)] if first.module else []
        runs[name] = (first, bad)
    return runs


@pytest.mark.parametrize("name", MODULES)
def test_module_is_covered(matrix, name):
    assert matrix[name] is not None, "add a baseline of %s to baselines() in this file" % name
    first, bad = matrix[name]
    assert first.module is not None, "%s does not build its module with _validate.ValidatedModule" % name
    assert first.escaped is None, first.describe()
    # A baseline may fail, but past the option checks: in our code (a failure kind), not on an option rule.
    if (first.result or {}).get("failed"):
        failure = first.result.get("failure") or {}
        assert failure.get("kind") and "option" not in failure, "bad baseline of %s: %s" % (name, first.describe())
    unchecked = [".".join(p) for p, o in options(first.module.argument_spec)
                 if is_numeric(o) and ".".join(p) not in first.module.option_rules]
    assert unchecked == [], "%s: numeric options without a range rule in _validate terms: %s" % (name, unchecked)
    assert bad, name


@pytest.mark.parametrize("name", MODULES)
def test_every_bad_value_fails_cleanly(matrix, name):
    if matrix[name] is None:
        pytest.fail("add a baseline of %s to baselines() in this file" % name)
    problems = [p for p in (check(run, kind, path) for kind, path, run in matrix[name][1]) if p]
    assert problems == [], "\n".join(problems)


def test_the_issue_cases(tmp_path, endpoint):
    """The two reported tracebacks (issue 11): a non-numeric firewall and a negative wait_timeout."""
    base = dict(baselines(tmp_path, endpoint)["cloud_server"], name="s-1", pool="a", location="loopback", server_type="lab-small", image="1")
    run = Run("cloud_server", dict(base, firewall="main-fw"))()
    assert run.result["msg"] == ("firewall 'main-fw' is invalid: must be the provider's numeric id of the object "
                                 "(a positive integer)")
    run = Run("cloud_server", dict(base, wait_timeout=-5))()
    assert run.result["msg"] == "wait_timeout -5 is invalid: must be an integer from 0 to 86400 (seconds)"
    assert run.result["failure"] == {"kind": "validation", "option": "wait_timeout", "value": -5,
                                     "rule": "an integer from 0 to 86400 (seconds)"}
    run = Run("cloud_server", dict(base, ipv4=False, ipv6=False))()
    assert run.result["failed"] and "ipv4=false, ipv6=false" in run.result["msg"]
    assert Run("cloud_server", dict(base, ipv4=False, ipv6=False, state="absent"))().result["failure"]["kind"] == "auth"


SCRIPTED = ("cloud_server", "edge_dns", "k8s_node_drain", "talos_machine_config")  # one per family of base options


def test_modules_run_as_scripts(tmp_path, endpoint):
    """The first bad value of a few modules through ``python -m <module> <args>``, the real entry point."""
    base = baselines(tmp_path, endpoint)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), PYTHONDONTWRITEBYTECODE="1")

    def run(name):
        module = Run(name, base[name])().module
        kind, path, value = next(c for c in cases(name, base[name], module) if c[0] == "rule")
        args = tmp_path / ("%s.json" % name)
        args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": with_value(base[name], module.argument_spec, path, value)}))
        proc = subprocess.run([sys.executable, "-m", "ansible_collections.talos.autoextender.plugins.modules." + name,
                               str(args)], capture_output=True, text=True, env=env, timeout=60, check=False)
        return name, path, proc

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(run, SCRIPTED))
    for name, path, proc in done:
        assert "Traceback" not in proc.stdout + proc.stderr, (name, proc.stdout, proc.stderr[-1000:])
        result = json.loads(proc.stdout)
        assert result["failed"] and result["failure"]["kind"] == "validation", (name, result)
        assert path[-1] in result["msg"] and TOKEN not in proc.stdout, (name, result)
