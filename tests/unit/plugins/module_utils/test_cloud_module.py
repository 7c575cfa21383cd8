"""_cloud_module and the cloud modules' own logic, with the lab cloud as the API."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _cloud_module as cm
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from ansible_collections.talos.autoextender.plugins.module_utils._providers.lab import LabProvider
from ansible_collections.talos.autoextender.plugins.modules.cloud_firewall import edge_rules, rule
from ansible_collections.talos.autoextender.plugins.modules.cloud_server import CloudServer, config_secrets
from tests.unit.conftest import ModuleExit


def test_credentials_come_from_the_providers_own_variables():
    env = {"HCLOUD_TOKEN": "h-token", "LAB_CLOUD_TOKEN": "l-token", "LAB_CLOUD_URL": "http://127.0.0.1:1/v1"}
    lab = cm.make_provider("lab", environ=env)
    assert isinstance(lab, LabProvider)
    assert lab.credentials == {"token": "l-token"} and lab.options == {"api_url": "http://127.0.0.1:1/v1"}
    assert cm.make_provider("lab", "given", "http://x", environ=env).credentials == {"token": "given"}
    assert cm.make_provider("lab", environ={}).credentials == {}


def test_unknown_provider():
    with pytest.raises(AutoextenderError, match="choose one of"):
        cm.make_provider("aws", environ={})


@pytest.mark.parametrize("labels, pool, ok", [
    (base.ownership_labels("home", "a"), "a", True),
    (base.ownership_labels("home", "a"), None, True),
    (base.ownership_labels("home", "b"), "a", False),
    (base.ownership_labels("other", "a"), "a", False),
    ({"autoextender-cluster": "home", "autoextender-pool": "a"}, "a", False),
    ({}, None, False),
])
def test_check_owned(labels, pool, ok):
    found = {"id": "1", "name": "x", "labels": labels}
    if ok:
        assert cm.check_owned(found, "server", "home", pool) is found
    else:
        with pytest.raises(AutoextenderError, match="not managed by talos-autoextender") as e:
            cm.check_owned(found, "server", "home", pool)
        assert e.value.kind == "conflict"


def params(**extra):
    out = {"kubespan": True, "ingress_ports": [80, 443], "ingress_sources": ["0.0.0.0/0", "::/0"],
           "talos_api_sources": [], "extra_rules": []}
    out.update(extra)
    return out


def test_edge_rules_are_exactly_what_design_section_7_allows():
    assert edge_rules(params()) == [
        rule("udp", 51820, ["0.0.0.0/0", "::/0"], "KubeSpan (WireGuard)"),
        rule("tcp", 80, ["0.0.0.0/0", "::/0"], "Ingress"),
        rule("tcp", 443, ["0.0.0.0/0", "::/0"], "Ingress"),
    ]
    rules = edge_rules(params(talos_api_sources=["198.51.100.7", "2001:db8::7/128"], kubespan=False))
    assert rules[-1] == {"protocol": "tcp", "port": "50000", "sources": ["198.51.100.7/32", "2001:db8::7/128"],
                         "description": "Talos API (apid), control node only"}
    assert [r["port"] for r in rules] == ["80", "443", "50000"]


def test_rule_normal_form():
    assert rule("icmp", 0, ["10.1.2.3/8"]) == {"protocol": "icmp", "port": None, "sources": ["10.0.0.0/8"],
                                               "description": None}
    with pytest.raises(AutoextenderError, match="Invalid firewall source 'nope'"):
        rule("tcp", 22, ["nope"])


def test_config_secrets_finds_the_secret_values(talosctl):
    talosctl.run("gen", "config", "home", "https://192.0.2.1:6443", "--output-types", "worker", "--output", "w.yaml")
    with open(talosctl.workdir + "/w.yaml") as f:
        text = f.read()
    found = config_secrets(text)
    assert found[0] == text
    token = text.split("token: ")[1].split()[0]
    assert token in found
    assert config_secrets("not: [yaml") == ["not: [yaml"]


class FakeProvider(base.CloudProvider):
    """Only what CloudServer.create touches: a create whose answer is lost, then a lookup by name."""
    name = "fake"
    user_data_limit = 100

    def __init__(self, found):
        super().__init__({"token": "secret-token"})
        self.found = found

    def check_placement(self, location, server_type):
        pass

    def create_server(self, spec, deadline):
        raise AutoextenderError("Failed to create server: ConnectionError", kind="api",
                                details={"status": None, "retryable": True})

    def get_server(self, name):
        return self.found


class Module:
    def __init__(self, params):
        self.params = params
        self.check_mode = False
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)

    def exit_json(self, **kw):
        raise ModuleExit("exit", kw)

    def fail_json(self, **kw):
        raise ModuleExit("fail", kw)


def server_params(**extra):
    out = {"provider": "lab", "api_token": None, "api_url": None, "cluster": "home", "pool": "a", "name": "edge-a-1",
           "location": "l", "server_type": "t", "image": "1", "user_data": None, "labels": {}, "firewall": None,
           "ipv4": True, "ipv6": True, "wait": False, "wait_timeout": 10, "state": "present"}
    out.update(extra)
    return out


@pytest.mark.parametrize("found, adopted", [
    (base.server(id="9", name="edge-a-1", labels=base.ownership_labels("home", "a")), True),
    (base.server(id="9", name="edge-a-1", labels={"team": "web"}), False),
    (None, False),
])
def test_a_lost_create_answer_adopts_only_our_server(found, adopted):
    module = Module(server_params())
    resource = CloudServer(module)
    resource._provider = FakeProvider(found)
    desired = resource.desired()
    if adopted:
        assert resource.create(desired)["id"] == "9"
        assert "adopted" in module.warnings[0]
    else:
        with pytest.raises(AutoextenderError) as e:
            resource.create(desired)
        assert e.value.kind == ("conflict" if found else "api")


def test_user_data_over_the_limit_is_refused_before_any_call():
    resource = CloudServer(Module(server_params(user_data="x" * 101)))
    resource._provider = FakeProvider(None)
    with pytest.raises(AutoextenderError, match="user_data is 101 bytes; provider lab accepts at most 100"):
        resource.desired()
