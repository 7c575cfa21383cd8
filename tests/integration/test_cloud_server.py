"""cloud_server and edge_pool_info through ansible-playbook, against the cloud simulators."""
import copy

import pytest

from tests.support.fixtures_cloud import failure_summary, make_image, play

OWNED = {"managed-by": "talos-autoextender", "autoextender-cluster": "home", "autoextender-pool": "edge-a"}
ALL_STEPS = ("Check", "Apply", "Check again", "Apply again")


def ok(proc):
    assert proc.returncode == 0, failure_summary(proc)


def failed(proc, results, task="Apply"):
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert results[task].get("failed"), results[task]
    return results[task]


def server_args(cloud, image, **extra):
    args = {"server_name": "edge-a-1", "location": cloud.location, "server_type": cloud.server_type, "image": image}
    args.update(extra)
    return args


def test_four_steps_then_update_then_delete(cloud):
    image = make_image(cloud)
    proc, res = play(cloud, "cloud_server", **server_args(cloud, image, labels={"role": "edge"}))
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    assert len(cloud.calls("POST", cloud.servers_path)) == 1  # the check-mode run created nothing
    srv = cloud.servers()["edge-a-1"]
    assert srv["labels"] == dict(OWNED, role="edge")
    assert srv["status"] == "running"
    created = res["Apply"]["cloud_server"]
    assert created["id"] == srv["id"] and created["status"] == "running"
    assert created["public_ipv4"] == srv["public_ipv4"] and srv["public_ipv4"]
    predicted = res["Check"]["cloud_server"]
    for key in ("name", "location", "server_type", "image", "labels", "status"):
        assert predicted[key] == created[key], key
    assert predicted["id"] is None
    assert res["Apply"]["diff"]["before"] == {} and res["Apply"]["diff"]["after"]["name"] == "edge-a-1"
    assert res["Apply again"]["cloud_server"] == res["Check again"]["cloud_server"]

    # Update: labels change in place; other labels on the server are kept.
    proc, res = play(cloud, "cloud_server", **server_args(cloud, image, labels={"role": "ingress", "tier": "1"}))
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    assert res["Check"]["cloud_server"]["labels"] == dict(OWNED, role="ingress", tier="1")
    assert res["Apply"]["diff"]["before"]["labels"]["role"] == "edge"
    assert cloud.servers()["edge-a-1"]["labels"] == dict(OWNED, role="ingress", tier="1")
    assert cloud.servers()["edge-a-1"]["id"] == srv["id"]

    # What cannot change in place fails clearly, in check mode as well, and changes nothing.
    for step in ("check", "apply"):
        proc, res = play(cloud, "cloud_server", steps=[step], **server_args(cloud, image, server_type=cloud.other_server_type))
        result = failed(proc, res, "Check" if step == "check" else "Apply")
        assert "failure" in result, result
        assert result["failure"]["kind"] == "immutable" and "server_type" in result["msg"]
    assert cloud.servers()["edge-a-1"]["server_type"] == cloud.server_type

    # Delete in the same four steps.
    proc, res = play(cloud, "cloud_server", server_name="edge-a-1", state="absent")
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    assert res["Apply"]["cloud_server"] == {} and res["Apply"]["diff"]["before"]["id"] == srv["id"]
    assert "edge-a-1" not in cloud.servers()
    assert len(cloud.calls("DELETE", cloud.servers_path.rstrip("$") + "/")) == 1


def test_names_in_one_task_then_user_data_from_a_directory(cloud, tmp_path):
    image = make_image(cloud)
    names = ["edge-a-1", "edge-a-2", "edge-a-3"]
    args = dict(server_args(cloud, image), server_names=names)
    del args["server_name"]
    proc, res = play(cloud, "cloud_server", **args)
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    assert len(cloud.calls("POST", cloud.servers_path)) == 3  # the check-mode run created nothing
    made = res["Apply"]["cloud_server"]["servers"]
    assert [s["name"] for s in made] == names and all(s["status"] == "running" for s in made)
    assert [s["name"] for s in res["Check"]["cloud_server"]["servers"]] == names
    assert [d["after"]["name"] for d in res["Apply"]["diff"]] == names
    assert sorted(cloud.servers()) == names

    # Two more, each with its machine config as user data (predicted: the lab would validate a real one). The
    # existing servers' configs are read too and left unused, as with user_data on one existing server.
    grown = names + ["edge-a-4", "edge-a-5"]
    for name in grown:
        (tmp_path / (name + ".yaml")).write_text("version: v1alpha1\nmachine:\n  token: sekrit.%s\n" % name)
    args.update(server_names=grown, user_data_dir=str(tmp_path))
    proc, res = play(cloud, "cloud_server", steps=["check"], **args)
    ok(proc)
    predicted = res["Check"]["cloud_server"]["servers"]
    assert [(s["name"], s.get("user_data")) for s in predicted[3:]] == [("edge-a-4", "********"), ("edge-a-5", "********")]
    assert "sekrit" not in proc.stdout + proc.stderr
    assert sorted(cloud.servers()) == names

    # A server whose config is missing: the task names it and returns the ones before it.
    (tmp_path / "edge-a-5.yaml").unlink()
    proc, res = play(cloud, "cloud_server", steps=["check"], **args)
    result = failed(proc, res, "Check")
    assert result["msg"].startswith("edge-a-5: Failed to read the user data of edge-a-5"), result["msg"]
    assert result["failure"]["server"] == "edge-a-5"
    assert [s["name"] for s in result["cloud_server"]["servers"]] == grown[:4]

    # Both forms at once are refused before anything is asked.
    both = dict(args)
    both["server_name"] = "edge-a-1"
    proc, res = play(cloud, "cloud_server", steps=["apply"], **both)
    assert failed(proc, res)["msg"].startswith("names cannot be combined with name")


def test_foreign_servers_are_never_touched(cloud):
    image = make_image(cloud)
    cloud.seed_server("edge-a-1", {"team": "web"})
    cloud.seed_server("edge-a-2", dict(OWNED, **{"autoextender-cluster": "other"}))
    cloud.seed_server("edge-a-3", dict(OWNED, **{"autoextender-pool": "edge-b"}))
    before = copy.deepcopy(cloud.servers())
    for name in ("edge-a-1", "edge-a-2", "edge-a-3"):
        for state in ("present", "absent"):
            proc, res = play(cloud, "cloud_server", steps=["check", "apply"], state=state,
                             **server_args(cloud, image, server_name=name))
            result = failed(proc, res, "Check")
            assert result["failure"]["kind"] == "conflict"
            assert "not managed by talos-autoextender" in result["msg"] and name in result["msg"]
    proc, res = play(cloud, "cloud_server", steps=["apply"], state="absent", server_name="edge-a-1")
    assert failed(proc, res)["failure"]["kind"] == "conflict"
    assert cloud.servers() == before
    servers = cloud.servers_path.rstrip("$")
    assert not cloud.calls("POST", servers) and not cloud.calls("PUT", servers) and not cloud.calls("DELETE", servers)


def server_item_path(cloud):
    """Regex of one server's path (``DELETE`` of a server)."""
    return cloud.servers_path.rstrip("$") + r"/\d+$"


#: a create or delete the cloud makes but whose answer is lost: no answer at all, or a 5xx
LOST = [dict(kind="commit_then_drop"), dict(kind="commit_then_error", status=500)]


@pytest.mark.parametrize("lost", LOST, ids=lambda f: f["kind"])
def test_a_lost_create_answer_adopts_the_server_instead_of_making_another(cloud, lost):
    image = make_image(cloud)
    cloud.fail_next(method="POST", path=cloud.servers_path, **lost)
    proc, res = play(cloud, "cloud_server", steps=["apply", "apply_again"], **server_args(cloud, image))
    ok(proc)
    assert res["Apply"]["changed"] is True and res["Apply again"]["changed"] is False
    assert any("was lost" in w and "adopted" in w for w in res["Apply"].get("warnings", [])), res["Apply"]
    assert [n for n in cloud.servers() if n.startswith("edge-a-")] == ["edge-a-1"]
    assert len(cloud.calls("POST", cloud.servers_path)) == 1, "the create was sent once"
    assert res["Apply"]["cloud_server"]["status"] == "running"
    assert cloud.servers()["edge-a-1"]["status"] == "running"


@pytest.mark.parametrize("lost", LOST, ids=lambda f: f["kind"])
def test_a_lost_delete_answer_counts_as_deleted(cloud, lost):
    image = make_image(cloud)
    ok(play(cloud, "cloud_server", steps=["apply"], **server_args(cloud, image))[0])
    cloud.fail_next(method="DELETE", path=server_item_path(cloud), **lost)
    proc, res = play(cloud, "cloud_server", steps=["apply", "apply_again"], server_name="edge-a-1", state="absent")
    ok(proc)
    assert res["Apply"]["changed"] is True and res["Apply again"]["changed"] is False
    assert "edge-a-1" not in cloud.servers()
    assert cloud.calls("DELETE", server_item_path(cloud))[0][2] in ("committed-dropped", "committed-500")


def test_a_server_that_is_off_is_started_predicted_and_diffed(cloud):
    image = make_image(cloud)
    ok(play(cloud, "cloud_server", steps=["apply"], **server_args(cloud, image))[0])
    created = cloud.servers()["edge-a-1"]
    cloud.sim.power_off("edge-a-1")
    off = cloud.servers()["edge-a-1"]["status"]
    assert off in ("off", "offline")
    proc, res = play(cloud, "cloud_server", **server_args(cloud, image))
    ok(proc)
    assert [res[t]["changed"] for t in ALL_STEPS] == [True, True, False, False]
    assert res["Check"]["cloud_server"]["status"] == "running"
    assert res["Check"]["diff"]["before"]["status"] == "off" and res["Check"]["diff"]["after"]["status"] == "running"
    assert res["Apply"]["diff"]["before"]["status"] == "off"
    assert res["Apply"]["cloud_server"]["status"] == "running" and res["Apply"]["cloud_server"]["id"] == created["id"]
    assert cloud.servers()["edge-a-1"]["status"] == "running" and list(cloud.servers()) == ["edge-a-1"]


def test_rate_limits_and_server_errors_end_in_success(cloud):
    image = make_image(cloud)
    cloud.fail_next("rate_limit", count=3, retry_after=1, method="POST", path=cloud.servers_path)
    cloud.fail_next("server_error", count=2, status=503, method="GET", path=cloud.servers_path)
    proc, res = play(cloud, "cloud_server", steps=["apply"], **server_args(cloud, image))
    ok(proc)
    posts = [c[2] for c in cloud.calls("POST", cloud.servers_path)]
    assert posts[:3] == [429, 429, 429] and posts[3] in (200, 201) and len(posts) == 4
    assert [c[2] for c in cloud.calls("GET", cloud.servers_path)][:2] == [503, 503]
    assert list(cloud.servers()) == ["edge-a-1"]


def test_unknown_location_lists_the_valid_ones(cloud):
    image = make_image(cloud)
    proc, res = play(cloud, "cloud_server", steps=["check", "apply"], **server_args(cloud, image, location="mars"))
    result = failed(proc, res, "Check")
    assert result["failure"]["kind"] == "validation"
    assert "mars" in result["msg"] and cloud.location in result["msg"]
    assert not cloud.servers()


def test_bad_token_fails_clearly_and_no_token_is_ever_printed(cloud):
    image = make_image(cloud)
    proc, res = play(cloud, "cloud_server", steps=["apply"], api_token=cloud.token, **server_args(cloud, image))
    ok(proc)
    assert cloud.token not in proc.stdout + proc.stderr
    wrong = "wrong-token-" + cloud.token[::-1]
    proc, res = play(cloud, "cloud_server", steps=["apply"], env={"LAB_CLOUD_TOKEN": wrong, "HCLOUD_TOKEN": wrong,
                                                                  "LINODE_TOKEN": wrong}, **server_args(cloud, image))
    result = failed(proc, res)
    assert result["failure"]["kind"] == "auth" and result["failure"]["status"] == 401
    assert wrong not in proc.stdout + proc.stderr and cloud.token not in proc.stdout + proc.stderr


def test_edge_pool_info_lists_only_our_servers_of_the_pool(cloud):
    image = make_image(cloud)
    for name, pool in (("edge-a-1", "edge-a"), ("edge-a-2", "edge-a"), ("edge-b-1", "edge-b")):
        ok(play(cloud, "cloud_server", steps=["apply"], pool=pool, wait=False,
                **server_args(cloud, image, server_name=name))[0])
    cloud.seed_server("edge-a-9", {"autoextender-pool": "edge-a"})  # not ours: no managed-by label
    proc, res = play(cloud, "cloud_server", steps=["info"], server_name="x", check=True)
    ok(proc)
    servers = res["Pool"]["servers"]
    assert [s["name"] for s in servers] == ["edge-a-1", "edge-a-2"]
    assert res["Pool"]["changed"] is False
    for s in servers:
        assert s["labels"]["autoextender-pool"] == "edge-a" and s["public_ipv4"]
        assert s["status"] in ("starting", "running")
    nodes = res["Pool"]["nodes"]
    assert [(n["name"], n["pool"], n["cluster"], n["address"]) for n in nodes] == [
        (s["name"], "edge-a", "home", s["public_ipv4"]) for s in servers]


def test_timeout_keeps_the_partial_result(lab_cloud):
    from tests.support.fixtures_cloud import LabBed
    cloud = LabBed(lab_cloud)
    image = make_image(cloud)
    lab_cloud.boot_seconds = 60
    proc, res = play(cloud, "cloud_server", steps=["apply"], wait_timeout=2, **server_args(cloud, image))
    result = failed(proc, res)
    assert result["failure"]["kind"] == "timeout" and "Timed out after 2s" in result["msg"]
    srv = lab_cloud.server_by_name("edge-a-1")
    assert result["cloud_server"]["id"] == srv["id"] and result["cloud_server"]["status"] == "starting"
    # The next run finds it: no second server.
    srv["boot_at"] = 0
    proc, res = play(cloud, "cloud_server", steps=["apply"], **server_args(cloud, image))
    ok(proc)
    assert res["Apply"]["changed"] is False and list(cloud.servers()) == ["edge-a-1"]


@pytest.mark.parametrize("size, fits", [(32768, True), (32769, False)])
def test_user_data_size_is_checked_before_anything_is_created(lab_cloud, size, fits):
    from tests.support.fixtures_cloud import LabBed
    cloud = LabBed(lab_cloud)
    image = make_image(cloud)
    lab_cloud.boot_seconds = 60  # never boots: only the size check matters here
    user_data = "#" * size
    proc, res = play(cloud, "cloud_server", steps=["check"], user_data=user_data, **server_args(cloud, image))
    if fits:
        ok(proc)
        assert res["Check"]["cloud_server"]["user_data"] == "********"
    else:
        result = failed(proc, res, "Check")
        assert result["failure"] == {"kind": "validation", "size": 32769, "limit": 32768}
    assert user_data not in proc.stdout


def test_edge_pool_info_waits_until_the_named_servers_run(lab_cloud):
    from tests.support.fixtures_cloud import LabBed
    cloud = LabBed(lab_cloud)
    image = make_image(cloud)
    lab_cloud.boot_seconds = 3
    for name in ("edge-a-1", "edge-a-2"):
        ok(play(cloud, "cloud_server", steps=["apply"], wait=False, **server_args(cloud, image, server_name=name))[0])
    names = ["edge-a-1", "edge-a-2"]
    proc, res = play(cloud, "cloud_server", steps=["info"], server_name="x", running=names, info_wait_timeout=60)
    ok(proc)
    progress = res["Pool"]["progress"]
    assert progress["running"] == names and progress["pending"] == [] and not progress["timed_out"]
    assert [lab_cloud.server_by_name(n)["status"] for n in names] == ["running", "running"]
    # One event per status change, not one per poll: each server's events are distinct and end with running.
    for name in names:
        seen = [e.split(": ")[2] for e in progress["events"] if e.split(": ")[1] == name]
        assert seen[-1] == "running" and len(seen) == len(set(seen)) and set(seen) <= {"starting", "running"}, seen
    assert "FAILED - RETRYING" not in proc.stdout

    # A server that is off is reported at once instead of waited for; a missing one times out as pending.
    lab_cloud.power_off("edge-a-2")
    proc, res = play(cloud, "cloud_server", steps=["info"], server_name="x", running=names + ["edge-a-3"],
                     info_wait_timeout=3)
    ok(proc)
    progress = res["Pool"]["progress"]
    assert progress["broken"] == [{"name": "edge-a-2", "status": "off"}]
    assert progress["pending"] == ["edge-a-2", "edge-a-3"] and not progress["timed_out"]
    proc, res = play(cloud, "cloud_server", steps=["info"], server_name="x", running=["edge-a-1", "edge-a-3"],
                     info_wait_timeout=2)
    ok(proc)
    assert res["Pool"]["progress"]["timed_out"] and res["Pool"]["progress"]["pending"] == ["edge-a-3"]
