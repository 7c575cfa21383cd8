"""Actions: every change returns one that runs for a while and then succeeds (or fails)."""
import time

from tests.support.sim.base import route
from tests.support.sim.hetzner._util import int_id, not_found, now_iso, page

PUBLIC = ("id", "command", "status", "progress", "started", "finished", "resources", "error")


class ActionsMixin:
    """State: ``self.actions`` {id: action}; due work in ``self._pending``; ``self.action_failures`` the armed
    failures (``fail_next_action``)."""

    def fail_next_action(self, command=None, code="action_failed", message="Action failed", count=1):
        """Test knob: the next ``count`` actions (of ``command``, e.g. ``create_server``) end in ``error``,
        their change not made, as an action the API could not complete does."""
        with self.lock:
            self.action_failures.append([command, code, message, count])

    def _armed_failure(self, command):
        for failure in self.action_failures:
            if failure[3] > 0 and failure[0] in (None, command):
                failure[3] -= 1
                return failure[1], failure[2]
        return None

    def start_action(self, command, resources, on_done=None, error=None, delay=None, on_error=None):
        """Start an action on ``resources`` ([(type, id)]); ``on_done`` runs when it succeeds, ``on_error``
        when it ends in error."""
        error = error or self._armed_failure(command)
        action = {"id": self.next_id("action"), "command": command, "status": "running", "progress": 0,
                  "started": now_iso(), "finished": None, "error": None,
                  "resources": [{"id": rid, "type": rtype} for rtype, rid in resources]}
        self.actions[action["id"]] = action
        self.later(self.action_delay if delay is None else delay, lambda: self._finish(action, on_done, error, on_error))
        return self.action_view(action)

    def later(self, delay, fn):
        self._pending.append((time.monotonic() + delay, fn))

    def _finish(self, action, on_done, error, on_error=None):
        action["progress"] = 100
        action["finished"] = now_iso()
        if error:
            action["status"] = "error"
            action["error"] = {"code": error[0], "message": error[1]}
            if on_error:
                on_error()
        else:
            action["status"] = "success"
            if on_done:
                on_done()

    def tick(self):
        """Run what is due (called before every request)."""
        now = time.monotonic()
        due = [p for p in self._pending if p[0] <= now]
        self._pending = [p for p in self._pending if p[0] > now]
        for dummy, fn in sorted(due, key=lambda p: p[0]):
            fn()

    def settle(self, timeout=10.0):
        """Test helper: wait until nothing is pending."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                self.tick()
                if not self._pending:
                    return
            time.sleep(0.02)

    @staticmethod
    def action_view(action):
        view = dict((k, action[k]) for k in PUBLIC)
        view["resources"] = [dict(r) for r in action["resources"]]
        return view

    @route("GET", "/actions/{id}")
    def get_action(self, request):
        action = self.actions.get(int_id(request))
        if action is None:
            raise not_found("action")
        return {"action": self.action_view(action)}

    @route("GET", "/actions")
    def list_actions(self, request):
        ids = [int(v) for v in request.query.get("id", [])]
        items = [a for i, a in sorted(self.actions.items()) if i in ids]
        return page(request, "actions", items, self.action_view)
