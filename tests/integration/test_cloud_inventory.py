"""The edge_nodes inventory plugin through ansible-inventory, against the cloud simulators."""
import json
import os
import subprocess
import sys
import time

import pytest
import yaml

from tests.support.ansible import REPO
from tests.support.fixtures_cloud import LabBed, LinodeBed, make_image, provider_for

OWNED = {"managed-by": "talos-autoextender", "autoextender-cluster": "home"}


def inventory(path, env, *args):
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", str(path), "--list"] + list(args)
    full_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"), **env)
    return subprocess.run(argv, capture_output=True, text=True, env=full_env, cwd=REPO, timeout=300, check=False)


def plain(value):
    """Values as ansible-inventory prints them, with the unsafe marks (``__ansible_unsafe``) taken off."""
    if isinstance(value, dict):
        if list(value) == ["__ansible_unsafe"]:
            return value["__ansible_unsafe"]
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def write_config(tmp_path, providers, **extra):
    config = {"plugin": "talos.autoextender.edge_nodes", "providers": providers}
    config.update(extra)
    path = tmp_path / "edge_nodes.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def create(bed, image, name, pool, **labels):
    from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
    from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
    spec = {"name": name, "location": bed.location, "server_type": bed.server_type, "image": image,
            "user_data": None, "labels": dict(base.ownership_labels("home", pool), **labels), "firewall": None,
            "ipv4": True, "ipv6": True}
    return provider_for(bed).create_server(spec, Deadline(60))


@pytest.fixture
def two_clouds(lab_cloud, request):
    """The lab and (when its simulator is there) Linode, each with owned and foreign servers."""
    beds = [LabBed(lab_cloud)]
    if request.session._fixturemanager.getfixturedefs("linode_sim", request.node):
        beds.append(LinodeBed(request.getfixturevalue("linode_sim")))
    for bed in beds:
        image = make_image(bed)
        create(bed, image, "%s-a-1" % bed.provider, "edge-a", role="ingress")
        create(bed, image, "%s-b-1" % bed.provider, "edge-b")
        bed.seed_server("%s-foreign" % bed.provider, {"autoextender-pool": "edge-a"})
        bed.seed_server("%s-other-cluster" % bed.provider, dict(OWNED, **{"autoextender-cluster": "other"}))
    return beds


def test_lists_only_our_servers_grouped_by_pool_provider_and_location(two_clouds, tmp_path):
    lab = two_clouds[0]
    providers = [{"name": "lab", "api_url": lab.url, "api_token": "{{ lookup('ansible.builtin.env', 'MY_LAB_TOKEN') }}"}]
    providers += [{"name": b.provider, "api_url": b.url} for b in two_clouds[1:]]
    env = dict(MY_LAB_TOKEN=lab.token, **dict(kv for b in two_clouds[1:] for kv in b.env().items()))
    path = write_config(tmp_path, providers, cluster="home",
                        keyed_groups=[{"key": "labels.role | default('none')", "prefix": "role"}],
                        compose={"edge_url": "'http://' ~ ansible_host"}, active_pools=["edge-a"])
    proc = inventory(path, env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    raw = data["_meta"]["hostvars"]
    # API data is marked unsafe (a label cannot smuggle in a template); compose results are ours.
    assert raw["lab-a-1"]["public_ipv4"] == {"__ansible_unsafe": lab.servers()["lab-a-1"]["public_ipv4"]}
    assert raw["lab-a-1"]["labels"]["role"] == {"__ansible_unsafe": "ingress"}
    hostvars = plain(raw)
    names = [b.provider for b in two_clouds]
    assert sorted(hostvars) == sorted("%s-%s-1" % (p, x) for p in names for x in ("a", "b"))
    assert sorted(data["pool_edge_a"]["hosts"]) == sorted("%s-a-1" % p for p in names)
    assert sorted(data["pool_edge_b"]["hosts"]) == sorted("%s-b-1" % p for p in names)
    for bed in two_clouds:
        assert sorted(data["provider_%s" % bed.provider]["hosts"]) == ["%s-a-1" % bed.provider, "%s-b-1" % bed.provider]
        assert "%s-a-1" % bed.provider in data["location_%s" % bed.location.replace("-", "_")]["hosts"]
        host = hostvars["%s-a-1" % bed.provider]
        real = bed.servers()["%s-a-1" % bed.provider]
        assert host["ansible_host"] == host["public_ipv4"] == real["public_ipv4"]
        assert host["pool"] == "edge-a" and host["provider"] == bed.provider and host["cluster"] == "home"
        assert host["server_type"] == bed.server_type and host["location"] == bed.location
        assert host["talos_version"] == "v1.13.9" and host["labels"]["role"] == "ingress"
        assert host["edge_url"] == "http://" + real["public_ipv4"]
    assert sorted(data["role_ingress"]["hosts"]) == sorted("%s-a-1" % p for p in names)
    assert sorted(data["edge_active"]["hosts"]) == sorted("%s-a-1" % p for p in names)
    assert sorted(data["edge_standby"]["hosts"]) == sorted("%s-b-1" % p for p in names)
    statuses = sorted(g for g in data if g.startswith("status_"))
    assert statuses and sorted(h for g in statuses for h in data[g]["hosts"]) == sorted(hostvars)
    for bed in two_clouds:
        assert bed.token not in proc.stdout + proc.stderr


def test_the_cache_answers_without_api_calls(lab_cloud, tmp_path):
    bed = LabBed(lab_cloud)
    create(bed, make_image(bed), "lab-a-1", "edge-a")
    path = write_config(tmp_path, [{"name": "lab", "api_url": bed.url}], cache=True,
                        cache_plugin="ansible.builtin.jsonfile", cache_connection=str(tmp_path / "cache"),
                        cache_timeout=3600)
    first = inventory(path, bed.env())
    assert first.returncode == 0, first.stderr[-3000:]
    calls = len(lab_cloud.log)
    assert calls >= 2
    create(bed, make_image(bed), "lab-a-2", "edge-a")
    calls = len(lab_cloud.log)
    cached = inventory(path, bed.env())
    assert cached.returncode == 0 and len(lab_cloud.log) == calls, "served from the cache: no API call"
    assert json.loads(cached.stdout)["pool_edge_a"]["hosts"] == ["lab-a-1"]
    assert bed.token not in open(next((tmp_path / "cache").iterdir())).read()
    fresh = inventory(path, bed.env(), "--flush-cache")
    assert len(lab_cloud.log) > calls
    assert sorted(json.loads(fresh.stdout)["pool_edge_a"]["hosts"]) == ["lab-a-1", "lab-a-2"]


def test_a_thousand_servers(lab_cloud, tmp_path):
    bed = LabBed(lab_cloud)
    for i in range(1000):
        bed.seed_server("edge-%04d" % i, dict(OWNED, **{"autoextender-pool": "pool-%d" % (i % 4)}))
    for i in range(50):
        bed.seed_server("foreign-%04d" % i, {"team": "web"})
    path = write_config(tmp_path, [{"name": "lab", "api_url": bed.url}])
    start = time.monotonic()
    proc = inventory(path, bed.env())
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert len(data["_meta"]["hostvars"]) == 1000
    assert [len(data["pool_pool_%d" % i]["hosts"]) for i in range(4)] == [250] * 4
    assert len(lab_cloud.calls("GET", "/servers$")) == 20  # 50 per page, filtered by labels on the server side
    print("inventory of 1000 lab servers: %.1fs, %d API requests" % (elapsed, len(lab_cloud.log)))


def test_a_bad_token_is_a_clear_error_without_the_token(lab_cloud, tmp_path):
    bed = LabBed(lab_cloud)
    path = write_config(tmp_path, [{"name": "lab", "api_url": bed.url, "api_token": "not-the-token-123456"}])
    proc = inventory(path, {})
    assert "provider lab" in proc.stderr and "unable to authenticate" in proc.stderr
    assert "not-the-token-123456" not in proc.stdout + proc.stderr
