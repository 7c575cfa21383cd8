"""Fixture ``lab_network``: the lab's real data path (tests/support/labnet), root only.

Skips with the reason when not root; a missing tool skips outside CI and fails under
CI=true (tests/conftest.py ``require_tool``), like every other real tool of the test bed.
"""
import os

import pytest

from tests.support import tools

DATAPATH_TOOLS = ("ip", "wg", "wireguard-go", "traefik", "nft")
PACKAGES = {"ip": "iproute2", "wg": "wireguard-tools", "wireguard-go": "wireguard-go", "nft": "nftables"}


def require_datapath_tool(name):
    """Skip, or fail under CI, unless ``name`` (one of DATAPATH_TOOLS) is installed."""
    from tests.conftest import _ci, require_tool
    if name in tools.TOOLS:
        require_tool(name)
    elif not tools.which(name):
        reason = "%s is not installed (Debian package %s)" % (name, PACKAGES.get(name, name))
        if _ci() and name not in tools.known_missing():
            pytest.fail("CI: " + reason, pytrace=False)
        pytest.skip(reason)


def require_datapath():
    """Skip when not root; otherwise require /dev/net/tun and every tool of the data path."""
    from tests.conftest import _ci
    if os.geteuid() != 0:
        pytest.skip("the lab data path needs root (network namespaces, veth, bridge); running as uid %d" % os.geteuid())
    for name in DATAPATH_TOOLS:
        require_datapath_tool(name)
    if not os.path.exists("/dev/net/tun"):
        reason = "/dev/net/tun is missing (wireguard-go needs a TUN device)"
        if _ci():
            pytest.fail("CI: " + reason, pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def lab_network(tmp_path_factory):
    """A running LabNetwork (bridge + home with the test app, no edges yet); removed at the end.

    Add edges with ``lab_network.add_edge(name)`` and remove them when done.
    """
    require_datapath()
    from tests.support.labnet import LabNetwork
    lab = LabNetwork(str(tmp_path_factory.mktemp("labnet")), owner_pid=os.getpid())
    try:
        yield lab.up()
    finally:
        lab.down()
