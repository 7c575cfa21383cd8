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
    assert lab.credentials == {"api_token": "l-token"} and lab.options == {"api_url": "http://127.0.0.1:1/v1"}
    assert cm.make_provider("lab", "given", "http://x", environ=env).credentials == {"api_token": "given"}
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
    """What CloudServer touches, in memory: one server, its boot configuration, power and lost answers."""
    name = "fake"
    user_data_limit = 100

    def __init__(self, found=None, drift=None):
        super().__init__({"api_token": "secret-token"})
        self.found = found
        self.drift = dict(drift or {})
        self.calls = []

    def check_placement(self, location, server_type, arch=None, join=None):
        pass

    def create_server(self, spec, deadline):
        # as _lost_answer.create does after a lost answer: adopt, and say so
        self.calls.append("create")
        self.notices.append("The answer to 'create server %s' was lost (ConnectionError); it exists with our labels "
                            "and was adopted" % spec["name"])
        self.found = base.server(id="9", name=spec["name"], status="starting", labels=spec["labels"])
        return self.found

    def get_server(self, name):
        return self.found

    def boot_drift(self, current):
        return dict(self.drift)

    def start_server(self, current, deadline):
        self.calls.append("start")
        self.drift = {}
        self.found = dict(self.found, status="starting")
        return self.found

    def wait_server(self, current, deadline):
        self.calls.append("wait")
        self.found = dict(self.found, status="running")
        return self.found


class Module:
    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = True
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


def run_server(provider, check_mode=False, **params):
    module = Module(server_params(**params), check_mode)
    resource = CloudServer(module)
    resource._provider = provider
    with pytest.raises(ModuleExit) as exc:
        resource.run()
    return exc.value.result, module


def test_an_adoption_by_the_provider_is_a_warning_of_the_module():
    provider = FakeProvider()
    result, module = run_server(provider)
    assert result["changed"] is True and result["cloud_server"]["id"] == "9" and provider.calls == ["create"]
    assert len(module.warnings) == 1 and "adopted" in module.warnings[0]


def ours(status):
    return base.server(id="9", name="edge-a-1", status=status, location="l", server_type="t", image="1",
                       labels=base.ownership_labels("home", "a"))


@pytest.mark.parametrize("status", ["off", "stopping"])
@pytest.mark.parametrize("wait", [True, False])
def test_a_server_that_is_not_running_is_started_predicted_and_diffed(status, wait):
    provider = FakeProvider(ours(status))
    result, dummy = run_server(provider, check_mode=True, wait=wait)
    assert result["changed"] is True and provider.calls == []
    assert result["cloud_server"]["status"] == ("running" if wait else "starting")
    assert result["diff"]["before"]["status"] == status
    result, dummy = run_server(provider, wait=wait)
    assert result["changed"] is True and provider.calls == (["start", "wait"] if wait else ["start"])
    assert result["cloud_server"]["status"] == ("running" if wait else "starting")
    assert result["diff"]["before"]["status"] == status and result["diff"]["after"]["status"] == result[
        "cloud_server"]["status"]
    result, dummy = run_server(provider, check_mode=True, wait=wait)
    if wait:
        assert result["changed"] is False and result["cloud_server"]["status"] == "running"


def test_a_wrong_boot_config_is_fixed_even_on_a_running_server():
    provider = FakeProvider(ours("running"), drift={"kernel": ("linode/latest-64bit", "linode/direct-disk")})
    result, dummy = run_server(provider, check_mode=True, wait=True)
    assert result["changed"] is True and provider.calls == []
    assert result["diff"]["before"]["boot_config"] == {"kernel": "linode/latest-64bit"}
    assert result["diff"]["after"]["boot_config"] == {"kernel": "linode/direct-disk"}
    result, dummy = run_server(provider, wait=True)
    assert result["changed"] is True and provider.calls == ["start", "wait"]
    assert result["cloud_server"]["boot_config"] == {"kernel": "linode/direct-disk"}
    result, dummy = run_server(provider, wait=True)
    assert result["changed"] is False and "boot_config" not in result["cloud_server"]


@pytest.mark.parametrize("status", ["running", "starting", "deleting", "unknown"])
def test_a_server_on_its_way_or_running_is_left_alone(status):
    provider = FakeProvider(ours(status))
    result, dummy = run_server(provider, wait=True)
    assert result["changed"] is False and provider.calls == []


def test_absent_never_reads_the_boot_config():
    provider = FakeProvider(ours("off"), drift={"kernel": ("x", "y")})
    result, dummy = run_server(provider, state="absent", check_mode=True)
    assert result["changed"] is True and "boot_config" not in result["diff"]["before"]


def test_user_data_over_the_limit_is_refused_before_any_call():
    resource = CloudServer(Module(server_params(user_data="x" * 101)))
    resource._provider = FakeProvider(None)
    with pytest.raises(AutoextenderError, match="user_data is 101 bytes; provider lab accepts at most 100"):
        resource.desired()
