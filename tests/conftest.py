"""Shared pytest fixtures: the real servers of the test bed, started on loopback.

Every server fixture is session-scoped, uses free ports, is always torn down,
and prints the server's log when it fails to start. A test that needs a tool
which is not installed is skipped with the reason; under CI=true that skip is
a failure unless the tool is listed in tests/KNOWN_MISSING_TOOLS.
"""
import contextlib
import os
import shutil
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, ".cache", "collections")
# Import the collection under its real name: ansible_collections.talos.autoextender.
if os.path.isdir(COLLECTIONS) and COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
sys.path.insert(0, REPO)

from tests.support import tools  # noqa: E402

# Each area keeps its fixtures in tests/support/fixtures_<area>.py.
pytest_plugins = sorted(
    "tests.support." + name[:-3]
    for name in os.listdir(os.path.join(REPO, "tests", "support"))
    if name.startswith("fixtures_") and name.endswith(".py")
)


def _ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(*names):
    """Skip (or, in CI, fail) unless every named tool runs."""
    for name in names:
        if tools.version(name):
            continue
        reason = "%s is not installed or does not run (run `make tools`)" % name
        if _ci() and name not in tools.known_missing():
            pytest.fail("CI: " + reason + "; list it in tests/KNOWN_MISSING_TOOLS with the build error "
                        "if it truly cannot be built", pytrace=False)
        pytest.skip(reason)


def spec_path(*parts):
    """A file of the official specs (see tests/support/specs.py: $AUTOEXTENDER_SPECS or ../shared/specs)."""
    from tests.support.specs import specs_dir
    base = specs_dir()
    path = os.path.join(base, *parts)
    if not os.path.exists(path):
        reason = "official spec %s not found (set AUTOEXTENDER_SPECS to the specs folder)" % path
        if _ci():
            pytest.fail("CI: " + reason, pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def servers_stack():
    with contextlib.ExitStack() as stack:
        yield stack


def _workdir(prefix, stack):
    path = tempfile.mkdtemp(prefix="autoextender-%s-" % prefix)
    stack.callback(shutil.rmtree, path, ignore_errors=True)
    return path


@pytest.fixture(scope="session")
def kube_cluster(servers_stack):
    require_tool("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
    from tests.support.kube import start_cluster
    return start_cluster(_workdir("kube", servers_stack), servers_stack)


@pytest.fixture(scope="session")
def powerdns(servers_stack):
    require_tool("pdns")
    from tests.support.pdns import start_powerdns
    return start_powerdns(_workdir("pdns", servers_stack), servers_stack)


@pytest.fixture(scope="session")
def bind_server(servers_stack):
    require_tool("bind")
    from tests.support.bind import start_bind
    return start_bind(_workdir("bind", servers_stack), servers_stack)


@pytest.fixture
def talosctl(tmp_path):
    """The talosctl of the tests' home Talos line (tests/support/talos.py: HOME_TALOS_VERSION)."""
    require_tool("talosctl", "talosctl-1.13")
    from tests.support.talos import Talosctl
    return Talosctl(str(tmp_path))
