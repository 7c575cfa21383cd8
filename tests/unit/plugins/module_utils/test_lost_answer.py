"""_lost_answer: the one owner of creates and deletes whose answer was lost, with a fake cloud.

The fake cloud keeps resources by name and can make a change and then lose the
answer (``commit``), lose it without making the change (``drop``), or refuse
(``conflict``, ``invalid``); ``send`` goes through the real ``_retry.call``
with ``look_first`` as the providers do, so the marking of lost answers is
tested together with the decision taken on them.
"""
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils import _retry
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers import _lost_answer, base
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline

OURS = base.ownership_labels("home", "a")


class Lost(Exception):
    def __init__(self, failure):
        super().__init__(failure.message)
        self.failure = failure


class FakeCloud:
    """Resources by name; ``plan`` is what each next call does: ok, commit (made, answer lost), commit_500
    (made, answered 500), drop (not made, answer lost), 503, conflict, invalid, 429."""

    def __init__(self, *plan):
        self.items = {}
        self.plan = list(plan)
        self.sent = []
        self.looks = 0

    def _fail(self, outcome):
        status = {"commit_500": 500, "503": 503, "conflict": 409, "invalid": 422, "429": 429}.get(outcome)
        raise Lost(_retry.ApiFailure(status=status, connection=status is None, message=outcome, retry_after=0))

    def create(self, name, labels):
        outcome = self.plan.pop(0) if self.plan else "ok"
        self.sent.append(("create", name, outcome))
        if outcome in ("ok", "commit", "commit_500"):
            if name in self.items:
                self._fail("invalid" if outcome == "ok" else outcome)
            self.items[name] = {"name": name, "labels": dict(labels)}
            if outcome != "ok":
                self._fail(outcome)
            return self.items[name]
        self._fail(outcome)

    def delete(self, name):
        outcome = self.plan.pop(0) if self.plan else "ok"
        self.sent.append(("delete", name, outcome))
        if name not in self.items:
            raise Lost(_retry.ApiFailure(status=404, message="not found"))
        if outcome in ("ok", "commit", "commit_500"):
            del self.items[name]
            if outcome != "ok":
                self._fail(outcome)
            return
        self._fail(outcome)

    def find(self, name):
        self.looks += 1
        return self.items.get(name)


def retried(fn, what, deadline, idempotent):
    return _retry.call(fn, what, deadline, lambda e: e.failure, (Lost,), idempotent=idempotent, sleep=lambda s: None,
                       look_first=True)


def create(cloud, name="edge-a-1", labels=None, timeout=30, notes=None):
    labels = OURS if labels is None else labels
    deadline = Deadline(timeout)
    slept = []
    out = _lost_answer.create("create server %s" % name, deadline,
                              lambda: retried(lambda: cloud.create(name, labels), "create server " + name, deadline, False),
                              lambda: cloud.find(name), lambda found: base.carries(found["labels"], labels),
                              notes, sleep=slept.append)
    return out, slept


def delete(cloud, name="edge-a-1", timeout=30, notes=None):
    deadline = Deadline(timeout)
    slept = []
    out = _lost_answer.delete("delete server %s" % name, deadline,
                              lambda: retried(lambda: cloud.delete(name), "delete server " + name, deadline, True),
                              lambda: cloud.find(name) is None, notes, sleep=slept.append)
    return out, slept


def test_a_plain_create_is_sent_once_and_never_looked_for():
    cloud = FakeCloud("ok")
    out, slept = create(cloud)
    assert out["name"] == "edge-a-1" and cloud.sent == [("create", "edge-a-1", "ok")] and cloud.looks == 0


@pytest.mark.parametrize("outcome", ["commit", "commit_500"])
def test_a_create_made_but_unanswered_is_adopted_not_sent_again(outcome):
    cloud, notes = FakeCloud(outcome), []
    out, slept = create(cloud, notes=notes)
    assert out is cloud.items["edge-a-1"] and len(cloud.sent) == 1 and slept == []
    assert len(notes) == 1 and "was lost" in notes[0] and "adopted" in notes[0]


@pytest.mark.parametrize("outcome", ["drop", "503"])
def test_a_create_not_made_is_sent_again_after_looking(outcome):
    cloud = FakeCloud(outcome, "ok")
    out, slept = create(cloud)
    assert [s[2] for s in cloud.sent] == [outcome, "ok"] and cloud.looks == 1 and len(slept) == 1
    assert list(cloud.items) == ["edge-a-1"]


def test_a_429_is_retried_without_looking():
    cloud = FakeCloud("429", "ok")
    create(cloud)
    assert [s[2] for s in cloud.sent] == ["429", "ok"] and cloud.looks == 0


def test_a_name_taken_by_a_foreign_resource_is_a_conflict_and_left_alone():
    cloud = FakeCloud("commit")
    cloud.items["edge-a-1"] = {"name": "edge-a-1", "labels": {"team": "web"}}
    with pytest.raises(AutoextenderError) as e:
        create(cloud)
    assert e.value.kind == "conflict" and "without our labels" in e.value.msg and e.value.details["answer_lost"]
    assert cloud.items["edge-a-1"]["labels"] == {"team": "web"}


def test_ours_of_another_pool_is_not_adopted():
    cloud = FakeCloud("conflict")
    cloud.items["edge-a-1"] = {"name": "edge-a-1", "labels": dict(OURS, **{"autoextender-pool": "b"})}
    with pytest.raises(AutoextenderError) as e:
        create(cloud)
    assert e.value.kind == "conflict"


def test_a_conflict_answer_adopts_ours_from_an_earlier_run():
    cloud, notes = FakeCloud("conflict"), []
    cloud.items["edge-a-1"] = {"name": "edge-a-1", "labels": dict(OURS)}
    out, slept = create(cloud, notes=notes)
    assert out is cloud.items["edge-a-1"] and "a name conflict" in notes[0]


def test_an_error_after_a_lost_answer_looks_again():
    """Linode: the first create is made after the look (still in flight); the second says "Label must be unique"."""
    cloud = FakeCloud("drop", "invalid")
    looks = []

    def find(name):
        looks.append(name)
        if len(looks) == 2:
            cloud.items[name] = {"name": name, "labels": dict(OURS)}
        return cloud.items.get(name)

    cloud.find = find
    out, slept = create(cloud)
    assert out["labels"] == OURS and len(looks) == 2 and [s[2] for s in cloud.sent] == ["drop", "invalid"]


def test_a_validation_error_without_a_lost_answer_is_raised_at_once():
    cloud = FakeCloud("invalid")
    with pytest.raises(AutoextenderError) as e:
        create(cloud)
    assert e.value.kind == "validation" and cloud.looks == 0


def test_no_time_left_to_send_again_says_nothing_was_created():
    cloud = FakeCloud("drop")
    with pytest.raises(AutoextenderError) as e:
        create(cloud, timeout=0.5)
    assert "answer was lost; nothing was created" in e.value.msg and e.value.details["answer_lost"] is True
    assert cloud.items == {} and len(cloud.sent) == 1


def test_a_delete_made_but_unanswered_counts_as_done():
    cloud, notes = FakeCloud("commit"), []
    cloud.items["edge-a-1"] = {"name": "edge-a-1", "labels": OURS}
    out, slept = delete(cloud, notes=notes)
    assert out is True and cloud.items == {} and len(cloud.sent) == 1 and "it is gone" in notes[0]


def test_a_delete_not_made_is_sent_again():
    cloud = FakeCloud("drop", "ok")
    cloud.items["edge-a-1"] = {"name": "edge-a-1", "labels": OURS}
    out, slept = delete(cloud)
    assert out is True and cloud.items == {} and [s[2] for s in cloud.sent] == ["drop", "ok"]


def test_not_found_on_a_resend_is_success_and_on_the_first_try_nothing_to_delete():
    cloud = FakeCloud("drop")
    cloud.items["edge-a-1"] = {"name": "edge-a-1", "labels": OURS}
    looks = []

    def find(name):  # the delete lands after the look: the resend finds nothing
        looks.append(name)
        return cloud.items.pop(name, None) and cloud.items.get(name, {"still": "there"})

    cloud.find = find
    out, slept = delete(cloud)
    assert out is True and [s[2] for s in cloud.sent] == ["drop", "ok"]
    assert delete(FakeCloud())[0] is False


def test_a_delete_refused_for_another_reason_is_raised():
    cloud = FakeCloud("conflict")
    cloud.items["edge-a-1"] = {"name": "edge-a-1", "labels": OURS}
    with pytest.raises(AutoextenderError) as e:
        delete(cloud)
    assert e.value.kind == "conflict" and "edge-a-1" in cloud.items and cloud.looks == 0
