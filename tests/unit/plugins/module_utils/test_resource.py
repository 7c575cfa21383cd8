"""The base class with a fake in-memory client: check, create, repeat, update, delete."""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._errors import REDACTED, AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._resource import Resource, differences
from ansible_collections.talos.autoextender.plugins.module_utils._wait import WaitTimeout
from tests.unit.conftest import FakeModule, ModuleExit


class Store:
    def __init__(self):
        self.items = {}
        self.calls = []


class Thing(Resource):
    return_key = "thing"
    unordered = ("tags",)
    immutable = ("location",)
    secret_fields = ("password",)

    store = None  # set per test

    def secrets(self):
        return [self.params.get("token") or ""]

    def fetch(self):
        return self.store.items.get(self.params["name"])

    def desired(self):
        return {k: self.params.get(k) for k in ("name", "location", "tags", "labels", "password")}

    def create(self, desired):
        self.store.calls.append("create")
        self.store.items[desired["name"]] = dict(desired, id=7, status="starting")
        return self.store.items[desired["name"]]

    def update(self, current, changes):
        self.store.calls.append("update")
        for key, (_before, after) in changes.items():
            if isinstance(after, dict):
                current[key].update(after)
            else:
                current[key] = after
        return current

    def delete(self, current):
        self.store.calls.append("delete")
        del self.store.items[current["name"]]

    def wait(self, state, deadline):
        if self.params.get("never_ready"):
            raise WaitTimeout("Timed out waiting for thing", partial=state)
        state["status"] = "running"
        return state


def run(store, check=False, diff=False, **params):
    base = {"name": "a", "state": "present", "location": "hel1", "tags": ["x", "y"],
            "labels": {"pool": "p1"}, "password": None, "wait": True, "wait_timeout": 5}
    base.update(params)
    Thing.store = store
    with pytest.raises(ModuleExit) as exc:
        Thing(FakeModule(base, check_mode=check, diff=diff)).run()
    return exc.value.kind, exc.value.result


def test_check_create_create_check_repeat_repeat():
    store = Store()
    kind, res = run(store, check=True)
    assert (kind, res["changed"], store.calls) == ("exit", True, [])
    assert res["thing"]["location"] == "hel1"
    kind, res = run(store)
    assert res["changed"] is True and res["thing"]["status"] == "running"
    assert store.calls == ["create"]
    kind, res = run(store, check=True, tags=["y", "x"])
    assert res["changed"] is False
    kind, res = run(store, tags=["y", "x"])
    assert res["changed"] is False and store.calls == ["create"]


def test_update_only_compares_given_label_keys_and_predicts_in_check_mode():
    store = Store()
    run(store)
    store.items["a"]["labels"]["extra"] = "kept"
    kind, res = run(store, check=True, diff=True, labels={"pool": "p2"})
    assert res["changed"] is True and store.calls == ["create"]
    assert res["thing"]["labels"] == {"pool": "p2", "extra": "kept"}
    assert res["diff"]["before"]["labels"]["pool"] == "p1"
    kind, res = run(store, labels={"pool": "p2"})
    assert store.calls == ["create", "update"]
    assert store.items["a"]["labels"] == {"pool": "p2", "extra": "kept"}


def test_immutable_field_fails_clearly_and_changes_nothing():
    store = Store()
    run(store)
    kind, res = run(store, location="fsn1")
    assert kind == "fail" and res["failure"] == {"kind": "immutable", "fields": ["location"]}
    assert "location" in res["msg"] and store.items["a"]["location"] == "hel1"


def test_delete_is_idempotent_and_check_mode_keeps_it():
    store = Store()
    run(store)
    kind, res = run(store, check=True, state="absent")
    assert res["changed"] is True and "a" in store.items
    kind, res = run(store, state="absent")
    assert res["changed"] is True and "a" not in store.items
    kind, res = run(store, state="absent")
    assert res["changed"] is False


def test_secrets_never_leave_in_result_diff_or_failure():
    store = Store()
    kind, res = run(store, diff=True, password="hunter2-pass", token="tok-123456")
    assert res["thing"]["password"] == REDACTED and res["diff"]["after"]["password"] == REDACTED
    store.items.clear()
    kind, res = run(store, never_ready=True, password="hunter2-pass", token="tok-123456")
    assert kind == "fail" and res["failure"]["kind"] == "timeout"
    assert res["thing"]["id"] == 7  # the partial result survives the timeout
    assert "hunter2-pass" not in repr(res)


def test_errors_from_hooks_become_fail_json_with_redaction():
    class Broken(Thing):
        def fetch(self):
            raise AutoextenderError("API said no to tok-123456", kind="api", details={"status": 401})

    Broken.store = Store()
    with pytest.raises(ModuleExit) as exc:
        Broken(FakeModule({"name": "a", "token": "tok-123456"})).run()
    assert exc.value.kind == "fail"
    assert exc.value.result == {"msg": "API said no to " + REDACTED, "failure": {"kind": "api", "status": 401}}


@pytest.mark.parametrize("current,desired,expected", [
    ({"a": 1}, {"a": None}, {}),
    ({"a": [1, 2]}, {"a": [2, 1]}, {}),
    ({"b": [1, 2]}, {"b": [2, 1]}, {"b": ([1, 2], [2, 1])}),
    ({"d": {"x": 1, "y": 2}}, {"d": {"x": 1}}, {}),
    ({"p": {"x": 1, "y": 2}}, {"p": {"x": 1}}, {"p": ({"x": 1, "y": 2}, {"x": 1})}),
    (None, {"a": 1}, {"a": (None, 1)}),
])
def test_differences(current, desired, expected):
    assert differences(current, desired, unordered=("a",), purge=("p",)) == expected


class WarningModule(FakeModule):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)


@pytest.mark.parametrize("fail", [False, True])
def test_notices_become_warnings_redacted_on_success_and_failure(fail):
    class Repairing(Thing):
        def notices(self):
            return ["The answer to 'create thing a' with tok-123456 was lost; adopted"]

        def wait(self, state, deadline):
            if fail:
                raise WaitTimeout("Timed out waiting for thing", partial=state)
            return state

    Repairing.store = Store()
    module = WarningModule({"name": "a", "state": "present", "location": "hel1", "tags": [], "labels": {},
                            "password": None, "wait": True, "wait_timeout": 5, "token": "tok-123456"})
    with pytest.raises(ModuleExit) as exc:
        Repairing(module).run()
    assert exc.value.kind == ("fail" if fail else "exit")
    assert module.warnings == ["The answer to 'create thing a' with %s was lost; adopted" % REDACTED]
