"""talos_join_token: every file checked before any is written, check mode, diff of fingerprints, no token out."""
import json
import os

import pytest

from ansible_collections.talos.autoextender.plugins.modules import talos_join_token
from tests.unit.plugins.module_utils.test_join_token import BUNDLE, CONTROLPLANE, NEW, OLD


def run(monkeypatch, capsys, check_mode=False, **params):
    args = {"ANSIBLE_MODULE_ARGS": dict(params, _ansible_check_mode=check_mode, _ansible_diff=True)}
    monkeypatch.setattr("sys.argv", ["talos_join_token"])
    monkeypatch.setattr("ansible.module_utils.basic._ANSIBLE_ARGS", json.dumps(args).encode())
    monkeypatch.setattr("ansible.module_utils.basic._ANSIBLE_PROFILE", "legacy")
    with pytest.raises(SystemExit):
        talos_join_token.main()
    out = capsys.readouterr().out
    assert OLD not in out and NEW not in out
    return json.loads(out)


@pytest.fixture
def files(tmp_path):
    bundle, cp = tmp_path / "secrets.yaml", tmp_path / "cp.yaml"
    bundle.write_text(BUNDLE)
    cp.write_text(CONTROLPLANE)
    os.chmod(str(bundle), 0o644)
    return str(bundle), str(cp)


def test_check_mode_reports_the_plan_and_writes_nothing(monkeypatch, capsys, files):
    result = run(monkeypatch, capsys, check_mode=True, token=NEW, files=list(files))
    assert result["changed"] is True and [f["changed"] for f in result["talos_join_token"]["files"]] == [True, True]
    assert open(files[0]).read() == BUNDLE and open(files[1]).read() == CONTROLPLANE


def test_files_are_written_0600_then_a_second_run_changes_nothing(monkeypatch, capsys, files):
    result = run(monkeypatch, capsys, token=NEW, files=list(files))
    assert result["changed"] is True
    assert [f["kind"] for f in result["talos_join_token"]["files"]] == ["secrets_bundle", "controlplane_config"]
    assert result["diff"][0]["before"].startswith("trustdinfo.token: sha256:")
    assert result["diff"][1]["after"] == "machine.token: %s\n" % result["talos_join_token"]["token"]
    assert open(files[0]).read() == BUNDLE.replace(OLD, NEW) and os.stat(files[0]).st_mode & 0o777 == 0o600
    assert run(monkeypatch, capsys, token=NEW, files=list(files))["changed"] is False


def test_one_bad_file_leaves_every_file_as_it_was(monkeypatch, capsys, files, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("trustdinfo: {token: %s}\n" % OLD)
    result = run(monkeypatch, capsys, token=NEW, files=list(files) + [str(bad)])
    assert result["failed"] is True and result["failure"]["kind"] == "validation"
    assert open(files[0]).read() == BUNDLE and open(files[1]).read() == CONTROLPLANE


def test_a_badly_shaped_token_is_refused(monkeypatch, capsys, files):
    result = run(monkeypatch, capsys, token="NOTATOKEN", files=list(files))
    assert result["failed"] is True and "6 and 16 characters" in result["msg"]
