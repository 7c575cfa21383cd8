"""Linode fixtures: a fresh simulator of the Linode API v4 per test, checked against the official document."""
import gzip
import secrets

import pytest

ZONE = "example.org"


@pytest.fixture
def linode_sim():
    """A ``LinodeSim`` on loopback with a random token (``sim.token``); spec violations fail the test."""
    from tests.conftest import spec_path
    from tests.support.openapi import load_spec
    from tests.support.sim.linode import KNOWN_DEFECTS, SLASH_PARAMS, SPEC, LinodeSim
    spec = load_spec(spec_path(*SPEC), "", KNOWN_DEFECTS, SLASH_PARAMS)
    with LinodeSim(spec, secrets.token_urlsafe(30)) as sim:
        yield sim
    sim.assert_clean()


@pytest.fixture
def linode_provider(linode_sim):
    """The real LinodeProvider (linode_api4) pointed at the simulator."""
    from ansible_collections.talos.autoextender.plugins.module_utils._providers.linode import LinodeProvider
    return LinodeProvider({"api_token": linode_sim.token}, {"api_url": linode_sim.url, "timeout": 10})


@pytest.fixture
def talos_disk(tmp_path):
    """A small stand-in for akamai-amd64.raw.gz: gzip of a raw disk with an MBR boot signature."""
    raw = bytearray(3 * 1048576)
    raw[510:512] = b"\x55\xaa"
    path = tmp_path / "akamai-amd64.raw.gz"
    path.write_bytes(gzip.compress(bytes(raw), compresslevel=1))
    return str(path)
