"""A simulator's own crash fails the test that caused it, even when the client's retries hide the 500.

The inner test below runs in a separate pytest with the project's fixtures: the Hetzner simulator's
``GET /servers`` handler crashes, the provider's retries meet 500s and give up, the inner test
catches that as it would catch any API failure, and still the run reports an error carrying the
simulator's traceback, from the fixture's teardown.
"""
import os
import subprocess
import sys

INNER = '''
import pytest

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._providers.hetzner import HetznerProvider
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline
from tests.support.fixtures_hetzner import TOKEN
from tests.support.sim.hetzner import HetznerSim


@pytest.fixture(autouse=True)
def crashing_listing(monkeypatch):
    def list_servers(self, request):
        return {}["no such key"]
    list_servers.route = HetznerSim.list_servers.route
    monkeypatch.setattr(HetznerSim, "list_servers", list_servers)


def test_the_client_gives_up_quietly(hetzner_sim):
    provider = HetznerProvider({"api_token": TOKEN}, {"api_url": hetzner_sim.url, "deadline": Deadline(4)})
    with pytest.raises(AutoextenderError):
        provider.list_servers({"pool": "a"})
    assert {c[2] for c in hetzner_sim.calls("GET", "/servers$")} == {500}
'''


def test_a_simulator_crash_fails_the_test_that_caused_it(tmp_path):
    inner = tmp_path / "test_inner.py"
    inner.write_text(INNER)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
                          "-q", "--rootdir", str(tmp_path), str(inner)],
                         cwd=repo, capture_output=True, text=True, timeout=120, check=False)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "1 passed, 1 error" in out, out
    assert "ERROR at teardown of test_the_client_gives_up_quietly" in out, out
    assert "hetzner simulator crashed" in out and "KeyError: 'no such key'" in out, out
