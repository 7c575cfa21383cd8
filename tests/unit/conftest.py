"""Unit-test helpers: a stand-in for AnsibleModule that records exit/fail."""
import pytest


class ModuleExit(Exception):
    def __init__(self, kind, result):
        super().__init__(kind)
        self.kind = kind
        self.result = result


class FakeModule:
    """Only the attributes the base class touches: params, check/diff, exit/fail."""

    def __init__(self, params, check_mode=False, diff=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff

    def exit_json(self, **result):
        raise ModuleExit("exit", result)

    def fail_json(self, **result):
        raise ModuleExit("fail", result)


@pytest.fixture
def fake_module():
    return FakeModule
