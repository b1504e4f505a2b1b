# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The file rails of the htcondor_ce, dcache and arc sync targets (``_sync/filewrite.py``), each constructed
directly on the C3 interface with a small fake context and a temporary directory: first write, no-op (nothing
written, same mtime and inode), change, removal of only the sync's own lines (the site's lines stay byte for
byte), check mode (nothing written, truthful changed/added), the diff data, owner/mode drift, dCache's mtime
moved forward, the HTCondor order check, the dCache grammar refusal, ARC's block placement and denyaccess report."""
import os
import subprocess
import stat

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import DN, FQAN, KINDS, TOKEN, Entry
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
from ansible_collections.gridsec.ops.plugins.module_utils._sync.arc_ce import ArcCeTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.dcache import DcacheTarget, affected_by_7947
from ansible_collections.gridsec.ops.plugins.module_utils._sync.filewrite import markers, split_block
from ansible_collections.gridsec.ops.plugins.module_utils._sync.htcondor_ce import HtcondorCeTarget

ISS = "https://iam.example"
EXTRA = {HtcondorCeTarget: {}, DcacheTarget: {"dcache_op_aliases": {ISS: "IAM"}}, ArcCeTarget: {}}
SITE = {HtcondorCeTarget: "SSL /^\\/DC=org\\/CN=site-own$/ site@banned.htcondor.org\n",
        DcacheTarget: "ban username:site-own\n",
        ArcCeTarget: "[common]\nhostname = ce.example\n[authtokens]\n[arex/ws/jobs]\ndenyaccess = gridsec-banned\n"
                     "allowaccess = atlas\n"}
CLASSES = [HtcondorCeTarget, DcacheTarget, ArcCeTarget]


class FakeCtx(object):
    sync_name = "rails"
    check_mode = False
    params = {}

    def __init__(self):
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)

    def run_command(self, argv):
        """What SyncContext.run_command gives (AnsibleModule.run_command: argv, no shell)."""
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        except OSError as err:
            return 127, "", str(err)
        return proc.returncode, proc.stdout, proc.stderr


def _wanted(*entries):
    return dict((e.key, e) for e in entries)


A = Entry(TOKEN, (ISS, "alice"))
B = Entry(DN, "/DC=org/CN=Bob")
C = Entry(TOKEN, (ISS + "/", "carol"), {"ticket": "INC7"})


def _target(cls, path, **spec):
    full = dict(name="t", path=str(path), mode="0644")
    full.update(EXTRA[cls])
    full.update(spec)
    assert cls.spec_problems(full) == []
    return cls(full, FakeCtx())


def _sync(cls, path, wanted, check=False, **spec):
    target = _target(cls, path, **spec)
    try:
        return target.sync(wanted, check), target
    finally:
        target.close()


@pytest.mark.parametrize("cls", CLASSES)
def test_first_write_noop_change_removal(cls, tmp_path):
    path = tmp_path / "ban.conf"
    data, _t = _sync(cls, path, _wanted(A, B))
    assert data["changed"] and data["writes"] == 1 and data["added_count"] == 2
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o644
    first = os.stat(str(path))
    data, _t = _sync(cls, path, _wanted(A, B))
    assert not data["changed"] and data["writes"] == 0 and data["operations"] == []
    again = os.stat(str(path))
    assert (again.st_mtime_ns, again.st_ino) == (first.st_mtime_ns, first.st_ino)
    data, _t = _sync(cls, path, _wanted(A, C))
    assert data["changed"]
    assert [d["value"] for d in data["added"]] == [C.value]
    assert data["removed"] == [{"kind": "dn", "value": B.value}]
    assert (data["before_count"], data["after_count"]) == (2, 2)
    text = path.read_text(encoding="utf-8")
    assert "Bob" not in text and "carol" in text


@pytest.mark.parametrize("cls", CLASSES)
def test_site_lines_are_kept_and_removal_touches_only_the_block(cls, tmp_path):
    path = tmp_path / "ban.conf"
    path.write_text(SITE[cls], encoding="utf-8")
    _sync(cls, path, _wanted(A, B))
    _sync(cls, path, {})
    text = path.read_text(encoding="utf-8")
    before, block, after, found = split_block(text, "rails")
    # what stays: the arc block header and the stamp of the last applied change (the removal)
    assert found and [line for line in block if not line.startswith(("[", "# gridsec.ops applied: "))] == []
    assert "\n".join(before + after) + "\n" == SITE[cls]


@pytest.mark.parametrize("cls", CLASSES)
def test_check_mode_writes_nothing_and_predicts(cls, tmp_path):
    path = tmp_path / "ban.conf"
    data, _t = _sync(cls, path, _wanted(A), check=True)
    assert data["changed"] and data["added_count"] == 1 and data["writes"] == 0
    assert not path.exists()
    _sync(cls, path, _wanted(A))
    content = path.read_bytes()
    data, _t = _sync(cls, path, {}, check=True)
    assert data["changed"] and data["removed"] == [{"kind": "token", "value": A.value}]
    assert path.read_bytes() == content


@pytest.mark.parametrize("cls", CLASSES)
def test_mode_drift_is_fixed_without_rewriting(cls, tmp_path):
    path = tmp_path / "ban.conf"
    _sync(cls, path, _wanted(A))
    os.chmod(str(path), 0o600)
    inode = os.stat(str(path)).st_ino
    data, _t = _sync(cls, path, _wanted(A))
    assert data["changed"] and data["attributes_changed"] == ["mode"]
    assert data["operations"][0]["operation"] == "set_attributes"
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o644 and os.stat(str(path)).st_ino == inode


def test_unterminated_block_is_refused(tmp_path):
    path = tmp_path / "ban.conf"
    path.write_text(markers("rails")[0] + "\nban dn:/DC=org/CN=x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        _sync(DcacheTarget, path, _wanted(A))
    assert "no end line" in str(err.value)


def test_rewritten_entry_is_reported(tmp_path):
    path = tmp_path / "00-ban.conf"
    _sync(HtcondorCeTarget, path, _wanted(A))
    data, _t = _sync(HtcondorCeTarget, path, _wanted(A), htcondor_ban_user="other")
    assert data["changed"] and data["added"] == [] and [d["value"] for d in data["rewritten"]] == [A.value]


# -- dCache ----------------------------------------------------------------------------------------------------------
def test_dcache_mtime_moves_forward_even_after_a_rename(tmp_path):
    path = tmp_path / "ban.conf"
    _sync(DcacheTarget, path, _wanted(A))
    future = os.stat(str(path)).st_mtime + 100
    os.utime(str(path), (future, future))  # dCache read the file "later" than the next temp file's mtime
    _sync(DcacheTarget, path, _wanted(A, C))
    assert os.stat(str(path)).st_mtime > future


def test_dcache_refuses_a_file_that_would_deny_every_login(tmp_path):
    path = tmp_path / "ban.conf"
    path.write_text(u"ban dn:/DC=org/CN=x\nbann typo\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        _sync(DcacheTarget, path, _wanted(A))
    assert "'bann typo' is neither" in str(err.value)
    assert path.read_text(encoding="utf-8") == u"ban dn:/DC=org/CN=x\nbann typo\n"


def test_dcache_without_version_warns_about_7947(tmp_path):
    data, target = _sync(DcacheTarget, tmp_path / "ban.conf", _wanted(A, C))
    assert any("7947" in w for w in target.ctx.warnings)
    data, target = _sync(DcacheTarget, tmp_path / "ban2.conf", _wanted(A, C), dcache_version="11.1.4")
    assert not any("7947" in w for w in target.ctx.warnings)


def test_dcache_says_fqan_bans_are_partial(tmp_path):
    """dCache matches an FQAN ban with its primary flag: the sync writes the line but must not let it pass as a
    full ban (a DN-only list says nothing)."""
    fqan = Entry(FQAN, "/atlas/Role=pilot")
    data, target = _sync(DcacheTarget, tmp_path / "ban.conf", _wanted(B, fqan), dcache_version="11.1.4")
    assert "ban fqan:/atlas/Role=pilot" in (tmp_path / "ban.conf").read_text(encoding="utf-8")
    assert [w for w in target.ctx.warnings if "1 FQAN ban line(s) are only partly enforced" in w]
    data, target = _sync(DcacheTarget, tmp_path / "ban2.conf", _wanted(B), dcache_version="11.1.4")
    assert not [w for w in target.ctx.warnings if "FQAN" in w]


@pytest.mark.parametrize("version, affected", [
    ("7.0.20", False), ("7.1.0", True), ("8.2.30", True), ("9.1.99", True), ("9.2.43", True), ("9.2.44", False),
    ("10.0.27", True), ("10.0.28", False), ("10.1.21", True), ("10.1.22", False), ("10.2.19", True),
    ("10.2.20", False), ("11.0.8", True), ("11.0.9", False), ("11.1.3", True), ("11.1.4", False), ("11.2.0", False),
    ("12.0", False), ("junk", None)])
def test_dcache_7947_thresholds(version, affected):
    assert affected_by_7947(version) is affected


def test_dcache_spec_problems():
    assert DcacheTarget.spec_problems({"name": "d", "dcache_op_aliases": {ISS: "bad alias"}})
    assert DcacheTarget.spec_problems({"name": "d", "dcache_version": "x"})


# -- HTCondor-CE order check ------------------------------------------------------------------------------------------
def test_htcondor_refuses_a_ban_file_that_sorts_after_permissive_mappings(tmp_path):
    (tmp_path / "10-scitokens.conf").write_text(u'SCITOKENS /^https:\\/\\/iam\\.example,/ atlas@users.htcondor.org\n')
    (tmp_path / ".hidden.conf").write_text(u"SSL /.*/ x@users.htcondor.org\n")
    with pytest.raises(ConfigError) as err:
        _sync(HtcondorCeTarget, tmp_path / "90-ban.conf", _wanted(A))
    assert "10-scitokens.conf" in str(err.value) and ".hidden" not in str(err.value)
    assert not (tmp_path / "90-ban.conf").exists()
    data, target = _sync(HtcondorCeTarget, tmp_path / "90-ban.conf", _wanted(A), htcondor_order_check="warn")
    assert data["writes"] == 1 and data["mapfiles_before"] == ["10-scitokens.conf"] and target.ctx.warnings
    data, target = _sync(HtcondorCeTarget, tmp_path / "00-gridsec-ban.conf", _wanted(A))
    assert data["mapfiles_before"] == [] and not target.ctx.warnings


def test_htcondor_ticket_names_the_banned_user(tmp_path):
    _sync(HtcondorCeTarget, tmp_path / "00-ban.conf", _wanted(C))
    assert "gridsec-INC7@banned.htcondor.org" in (tmp_path / "00-ban.conf").read_text()


def test_htcondor_reload_runs_only_after_a_write(tmp_path):
    marker = tmp_path / "reloaded"
    command = ["/bin/sh", "-c", "echo x >> %s" % marker]
    _sync(HtcondorCeTarget, tmp_path / "00-ban.conf", _wanted(A), reload_command=command)
    data, _t = _sync(HtcondorCeTarget, tmp_path / "00-ban.conf", _wanted(A), reload_command=command)
    assert marker.read_text() == "x\n" and data["operations"] == []
    data, _t = _sync(HtcondorCeTarget, tmp_path / "00-ban.conf", _wanted(C), reload_command=["/bin/false"])
    assert "reload command /bin/false failed" in data["problems"][0]


# -- ARC --------------------------------------------------------------------------------------------------------------
def test_arc_block_goes_before_the_blocks_that_use_it_and_deny_order_is_reported(tmp_path):
    path = tmp_path / "arc.conf"
    path.write_text(u"[common]\n[authtokens]\n[arex/ws/jobs]\nallowaccess = atlas\ndenyaccess = gridsec-banned\n"
                    u"[queue:short]\nallowaccess = atlas\n")
    data, target = _sync(ArcCeTarget, path, _wanted(A))
    lines = path.read_text().splitlines()
    assert lines.index("[authgroup:gridsec-banned]") < lines.index("[arex/ws/jobs]")
    assert lines.index("[authtokens]") < lines.index("[authgroup:gridsec-banned]")
    assert data["access_problems"] == [
        "[arex/ws/jobs]: 'denyaccess = gridsec-banned' comes after an allowaccess (the first match decides)",
        "[queue:short]: no 'denyaccess = gridsec-banned'"]
    assert target.ctx.warnings


def test_arc_without_authtokens_block_is_reported(tmp_path):
    data, _t = _sync(ArcCeTarget, tmp_path / "arc.conf", _wanted(A))
    assert data["access_problems"][0].startswith("no [authtokens] block")


# -- the C3 interface -------------------------------------------------------------------------------------------------
def test_classes_follow_the_target_interface():
    from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import SyncTarget
    specs = {}
    for cls in CLASSES:
        assert issubclass(cls, SyncTarget) and cls.TYPE and cls.KINDS <= set(KINDS)
        assert TOKEN in cls.KINDS and cls.CANARY_DEFAULT in ("keep", "skip")
        for option, spec in cls.OPTIONS.items():
            assert specs.setdefault(option, spec) == spec, option  # one spec per option name across types
    assert FQAN not in HtcondorCeTarget.KINDS and FQAN not in ArcCeTarget.KINDS
    assert len(set(cls.TYPE for cls in CLASSES)) == 3


@pytest.mark.parametrize("cls", CLASSES)
def test_audit_records_name_what_was_added_and_removed(cls, tmp_path):
    path = tmp_path / "ban.conf"
    _sync(cls, path, _wanted(A))
    data, target = _sync(cls, path, _wanted(B), check=True)
    records = target.audit_records(data, True)
    assert ("add", B.to_dict(), {"result": "planned"}) in records
    assert ("remove", {"kind": "token", "value": A.value}, {"result": "planned"}) in records
