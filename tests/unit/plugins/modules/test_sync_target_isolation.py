# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""One target's bug does not keep the list from the others (suspension_list_sync ``sync_target``).

A target that raises something other than a ``GridsecError`` (a bug, like the ``KeyError`` the Argus target once
raised after its first write) fails as that target only: the other targets still get the list, the module fails
naming the target and the exception, and the failed target's result keeps the operations it issued before.
"""
import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.gridsec.ops.plugins.module_utils._sync.htcondor_ce import HtcondorCeTarget
from ansible_collections.gridsec.ops.plugins.modules import suspension_list_sync

DN = "/DC=org/DC=example/OU=Users/CN=Mallory 42"


def run(capsys, tmp_path):
    args = {"name": "iso", "state_dir": str(tmp_path / "state"), "max_shrink_fraction": 1.0,
            "sources": [{"name": "list", "type": "plain", "path": str(tmp_path / "list.txt")}],
            "targets": [{"name": "ce", "type": "htcondor_ce", "path": str(tmp_path / "mapfiles.d" / "00-ban.conf"),
                         "mode": "0644"},
                        {"name": "plain", "type": "file", "path": str(tmp_path / "plain.txt")}]}
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            suspension_list_sync.main()
    return json.loads(capsys.readouterr().out)


def test_a_bug_in_one_target_fails_it_alone_and_says_what_it_wrote(tmp_path, capsys, monkeypatch):
    (tmp_path / "list.txt").write_text(DN + "\n")
    (tmp_path / "mapfiles.d").mkdir()
    original = HtcondorCeTarget.sync

    def write_then_crash(self, wanted, check_mode):
        original(self, wanted, check_mode)  # the file is written, then the bug strikes
        raise KeyError("c67b5420-45db-4070-b355-f3a1f650c71b")

    monkeypatch.setattr(HtcondorCeTarget, "sync", write_then_crash)
    result = run(capsys, tmp_path)
    assert result["failed"]
    assert "target ce: internal error in the htcondor_ce target" in result["msg"]
    assert "KeyError" in result["msg"] and "c67b5420" in result["msg"]
    targets = dict((t["name"], t) for t in result["targets"])
    assert targets["ce"]["failed"] and not targets["ce"]["changed"]
    # what it did before the bug is in its result (nothing half-applied without saying so)
    assert [op["operation"] for op in targets["ce"]["operations"]] == ["write"]
    assert "Mallory 42" in (tmp_path / "mapfiles.d" / "00-ban.conf").read_text()
    # the other target still got the list
    assert not targets["plain"].get("failed") and targets["plain"]["changed"]
    assert DN in (tmp_path / "plain.txt").read_text()

    # without the bug the next run completes: the ce file is as the list wants, the plain file untouched
    monkeypatch.setattr(HtcondorCeTarget, "sync", original)
    again = run(capsys, tmp_path)
    assert not again.get("failed"), again.get("msg")
    assert [t.get("writes", 0) for t in again["targets"]] == [0, 0]
