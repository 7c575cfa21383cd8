"""The doctor's checks (module_utils/_doctor.py): found where the modules look, a fix for every failure."""
import os
import socket
import stat

import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _doctor


def fake_talosctl(folder, version="v1.13.9", name="talosctl"):
    """An executable named ``name`` in ``folder`` and a runner answering its version."""
    path = os.path.join(str(folder), name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(path, stat.S_IRWXU)
    calls = []

    def runner(argv, cwd=None, data=None):
        calls.append(argv)
        return 0, "Client:\n\tTag:         %s\n" % version, ""
    return path, runner, calls


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_talosctl_is_found_in_the_tool_cache_when_path_lacks_it(tmp_path):
    cache = tmp_path / "tools"
    cache.mkdir()
    path, runner, calls = fake_talosctl(cache)
    check = _doctor.check_talosctl(runner=runner, environ={"PATH": str(tmp_path / "empty"),
                                                           "AUTOEXTENDER_TOOLS": str(cache)})
    assert check["ok"] and check["fix"] is None
    assert check["detail"] == "talosctl v1.13.9 at %s: talos_version is not set: the talosctl found first" % path
    assert calls == [[path, "version", "--client", "--short"]]


def test_the_doctor_says_which_talosctl_it_picked_for_the_home_cluster_and_why(tmp_path):
    cache = tmp_path / "tools"
    cache.mkdir()
    newest, dummy, dummy = fake_talosctl(cache, version="v1.14.1")
    old, dummy, dummy = fake_talosctl(cache, name="talosctl-1.13")
    versions = {newest: "v1.14.1", old: "v1.13.9"}

    def runner(argv, cwd=None, data=None):
        return 0, "Client:\n\tTag:         %s\n" % versions[argv[0]], ""

    environ = {"PATH": str(tmp_path / "empty"), "AUTOEXTENDER_TOOLS": str(cache)}
    check = _doctor.check_talosctl(runner=runner, environ=environ, talos_version="v1.13.9")
    assert check["ok"] and check["detail"] == (
        "talosctl v1.13.9 at %s: talosctl-1.13 is of the home cluster's Talos line (talos_version v1.13.9)" % old)
    check = _doctor.check_talosctl(runner=runner, environ=environ, talos_version="v1.14.1")
    assert check["ok"] and check["detail"] == (
        "talosctl v1.14.1 at %s: talosctl is of the home cluster's Talos line (talos_version v1.14.1); "
        "no talosctl-1.14 found" % newest)


def test_no_talosctl_of_the_home_clusters_line_says_which_one_to_install(tmp_path):
    path, runner, dummy = fake_talosctl(tmp_path, version="v1.14.1")
    # $AUTOEXTENDER_TOOLS named: its default (~/.cache/talos-autoextender/bin) is this machine's, which may hold
    # a talosctl-1.13 (CI's make tools builds one).
    check = _doctor.check_talosctl(runner=runner, environ={"PATH": str(tmp_path), "AUTOEXTENDER_TOOLS": str(tmp_path)},
                                   talos_version="v1.13.9")
    assert not check["ok"] and check["kind"] == "missing_tool"
    assert "talosctl at %s is v1.14.1, of another line" % path in check["detail"]
    assert check["fix"] == ("install talosctl v1.13.x as talosctl-1.13 (or as talosctl) in PATH or "
                            "$AUTOEXTENDER_TOOLS (`make tools` builds v1.13.9), or set talosctl_path")


def test_a_missing_talosctl_says_where_it_looked_and_how_to_get_it(tmp_path):
    check = _doctor.check_talosctl(runner=None, environ={"PATH": str(tmp_path), "AUTOEXTENDER_TOOLS": str(tmp_path)})
    assert not check["ok"] and check["kind"] == "missing_tool"
    assert "make tools" in check["fix"] and "$AUTOEXTENDER_TOOLS" in check["fix"]


def test_a_too_old_talosctl_fails_with_the_minimum(tmp_path):
    path, runner, dummy = fake_talosctl(tmp_path, version="v1.8.0")
    check = _doctor.check_talosctl(talosctl_path=path, runner=runner, environ={"PATH": ""})
    assert not check["ok"] and check["kind"] == "unsupported_version"
    assert "too old" in check["detail"] and "v1.11.0" in check["fix"]


def test_libraries_are_those_of_the_chosen_providers_once_each():
    assert _doctor.libraries_for(["hetzner", "lab", "hetzner"], "powerdns") == [
        ("kubernetes", "kubernetes"), ("yaml", "PyYAML"), ("hcloud", "hcloud"), ("requests", "requests")]
    assert ("dns.update", "dnspython") in _doctor.libraries_for([], "rfc2136")
    assert ("linode_api4", "linode_api4") in _doctor.libraries_for(["linode"])


def test_a_missing_library_names_the_python_and_the_pip_package():
    def importer(name):
        raise ImportError("No module named %r" % name)
    check = _doctor.check_library("hcloud", "hcloud", "/opt/ansible/bin/python", importer=importer)
    assert not check["ok"] and check["kind"] == "missing_library"
    assert check["fix"].startswith("`/opt/ansible/bin/python -m pip install hcloud`")


@pytest.mark.parametrize("provider, variable", [("hetzner", "HCLOUD_TOKEN"), ("linode", "LINODE_TOKEN")])
def test_a_missing_cloud_token_names_the_variable_and_where_to_get_one(provider, variable):
    check = _doctor.check_cloud(provider, {}, environ={})
    assert not check["ok"] and check["kind"] == "auth"
    assert "autoextender_credentials.%s.api_token (or %s)" % (provider, variable) in check["fix"]
    assert check["fix"].endswith(_doctor.CLOUD_CREDENTIAL[provider])


def test_a_lab_that_does_not_answer_is_a_lab_that_is_not_running():
    url = "http://127.0.0.1:%d/v1" % closed_port()
    check = _doctor.check_cloud("lab", {"api_url": url, "api_token": "lab-secret-token"}, timeout=1, environ={})
    assert not check["ok"] and check["kind"] == "api" and check["endpoint"] == url
    assert check["detail"] == "no answer from its API (connection refused)"  # the url came with the token
    assert check["fix"].startswith("the lab is not running: start it with `python3 hack/lab.py up`")
    assert "lab-secret-token" not in repr(check)


def test_a_missing_dns_token_names_the_variable():
    check = _doctor.check_dns({"provider": "cloudflare", "zone": "example.com"}, {}, environ={})
    assert not check["ok"] and check["kind"] == "auth"
    assert "autoextender_credentials.cloudflare.api_token (or CLOUDFLARE_API_TOKEN)" in check["fix"]


def test_a_dns_server_that_does_not_answer_says_so_without_the_key():
    dns = {"provider": "powerdns", "zone": "example.com",
           "options": {"api_url": "http://127.0.0.1:%d" % closed_port()}}
    check = _doctor.check_dns(dns, {"api_token": "pdns-secret-key"}, timeout=1, environ={})
    assert not check["ok"] and check["kind"] == "api"
    assert check["detail"] == "no answer from %s (connection refused)" % dns["options"]["api_url"]
    assert "did not answer at http://127.0.0.1:" in check["fix"] and "pdns-secret-key" not in repr(check)


def test_a_missing_kubeconfig_says_how_to_write_one(tmp_path):
    check = _doctor.check_kubernetes(str(tmp_path / "kubeconfig"))
    assert not check["ok"] and "talosctl kubeconfig" in check["fix"]


def test_the_summary_lists_each_fix_by_check():
    checks = [_doctor.result("a", True, "fine"), _doctor.result("b", False, "broken", "mend it", "api")]
    assert _doctor.summary(checks) == {"ok": False, "checks": checks, "failed": ["b"], "problems": ["b: broken"],
                                       "fixes": ["b: mend it"]}
    assert _doctor.summary(checks[:1])["ok"] is True
