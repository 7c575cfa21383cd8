"""The record beside a rendered file: digests only, 0600, and fresh only for the same inputs and content."""
import os
import stat

from ansible_collections.talos.autoextender.plugins.module_utils import _render_cache as render_cache


def test_the_digest_ignores_key_order_and_sees_every_value():
    a = render_cache.digest({"hostname": "a", "patches": [{"x": 1}], "bundle": "f00"})
    assert a == render_cache.digest({"bundle": "f00", "patches": [{"x": 1}], "hostname": "a"})
    assert a != render_cache.digest({"hostname": "a", "patches": [{"x": 2}], "bundle": "f00"})
    assert len(a) == 64


def test_a_record_is_fresh_for_its_inputs_and_content_only(tmp_path):
    dest = str(tmp_path / "edge.yaml")
    assert render_cache.fresh(dest, "i1", "c1") is False  # no record
    render_cache.record(dest, "i1", "c1")
    assert stat.S_IMODE(os.stat(dest + ".inputs").st_mode) == 0o600
    assert render_cache.fresh(dest, "i1", "c1") is True
    assert render_cache.fresh(dest, "i2", "c1") is False and render_cache.fresh(dest, "i1", "c2") is False
    with open(dest + ".inputs", "w") as f:
        f.write("not json")
    assert render_cache.fresh(dest, "i1", "c1") is False


def test_a_program_file_is_known_by_path_size_and_mtime(tmp_path):
    tool = tmp_path / "talosctl"
    tool.write_bytes(b"v1")
    before = render_cache.file_identity(str(tool))
    os.utime(tool, ns=(1, 1))
    assert render_cache.file_identity(str(tool)) != before and before[0] == str(tool)
