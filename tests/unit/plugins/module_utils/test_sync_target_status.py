# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Contract C2: each target records the serial and time of the change it applied (no write on a no-op), and its
``status`` reads what the enforcer would read (the file parsed with the enforcer's grammar, the PanDA/Rucio
server), not the sync's state alone; the verdicts and renderings of suspension_status."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._suspension import entries as sl_entries
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import merge as sl_merge
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import status as st
from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import canary_dn, canary_token_subject
from ansible_collections.gridsec.ops.plugins.module_utils._sync.arc_ce import ArcCeTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.dcache import DcacheTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.files import FileTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.freshness import record_applied
from ansible_collections.gridsec.ops.plugins.module_utils._sync.htcondor_ce import HtcondorCeTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.panda import PandaTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.rucio import RucioTarget

from ansible_collections.gridsec.ops.tests.unit.plugins.module_utils.sync_fake import FakeSyncContext

ISS = "https://iam.example"
PERSON = sl_entries.Entry(sl_entries.DN, "/DC=org/DC=example/CN=Mallory 7")
TOKEN = sl_entries.Entry(sl_entries.TOKEN, (ISS, "mallory"))
CANARY_DN = sl_entries.Entry(sl_entries.DN, canary_dn("salt", "20261207"))
CANARY_TOKEN = sl_entries.Entry(sl_entries.TOKEN, (ISS, canary_token_subject("salt", "20261207")))
CANARY = [CANARY_DN, CANARY_TOKEN]
ARC_SITE = "[common]\nhostname = ce.example\n[authtokens]\n[arex/ws/jobs]\ndenyaccess = gridsec-banned\n"

FILE_SPECS = [
    (FileTarget, {"type": "file", "format": "lcas"}),
    (FileTarget, {"type": "file", "format": "gplazma"}),
    (FileTarget, {"type": "file", "format": "plain"}),
    (FileTarget, {"type": "file", "format": "template", "template": "deny {kind} {value}"}),
    (HtcondorCeTarget, {"type": "htcondor_ce"}),
    (DcacheTarget, {"type": "dcache", "dcache_op_aliases": {ISS: "IAM"}}),
    (ArcCeTarget, {"type": "arc"}),
]
IDS = [spec.get("format") or spec["type"] for _cls, spec in FILE_SPECS]


def _wanted(*entries):
    return dict((e.key, e) for e in entries if e.kind in (sl_entries.DN, sl_entries.TOKEN))


def _target(cls, spec, path, serial, at="2026-12-07T10:00:00Z"):
    full = dict(name="t", path=str(path), mode="0644", **spec)
    ctx = FakeSyncContext(sync_name="site", list_serial=serial, applied_at=at)
    return cls(full, ctx)


def _sync(cls, spec, path, wanted, serial, at="2026-12-07T10:00:00Z"):
    target = _target(cls, spec, path, serial, at)
    try:
        return target.sync(dict((k, e) for k, e in wanted.items() if e.kind in cls.KINDS), False)
    finally:
        target.close()


def _status(cls, spec, path, canary=None):
    return _target(cls, spec, path, None).status(CANARY if canary is None else canary)


@pytest.mark.parametrize("cls,spec", FILE_SPECS, ids=IDS)
def test_file_targets_stamp_the_applied_serial_and_status_reads_the_file(cls, spec, tmp_path):
    path = tmp_path / "ban.conf"
    if cls is ArcCeTarget:
        path.write_text(ARC_SITE)
    tokens = cls.KINDS >= {sl_entries.TOKEN}
    _sync(cls, spec, path, _wanted(PERSON, TOKEN, *CANARY), 4)
    got = _status(cls, spec, path)
    assert (got["serial"], got["applied"]) == (4, "2026-12-07T10:00:00Z")
    assert got["entries"] == (4 if tokens else 2) and got["canary_present"] is True, got
    assert got["problems"] == []

    # the same list an hour later: nothing written, the stamp keeps the time of the change
    stamp = os.stat(str(path))
    data = _sync(cls, spec, path, _wanted(PERSON, TOKEN, *CANARY), 4, at="2026-12-07T11:00:00Z")
    assert not data["changed"] and os.stat(str(path)).st_mtime_ns == stamp.st_mtime_ns
    # a new serial of the same list: the stamp alone is rewritten
    data = _sync(cls, spec, path, _wanted(PERSON, TOKEN, *CANARY), 5, at="2026-12-07T12:00:00Z")
    assert data["changed"] and data["added"] == [] and data["removed"] == []
    assert _status(cls, spec, path)["serial"] == 5 and _status(cls, spec, path)["applied"] == "2026-12-07T12:00:00Z"

    # the canary DN's line taken out by hand: not present, and named
    lines = path.read_text().splitlines(True)
    marker = "20261207"
    kept = [line for line in lines if not (marker in line and "gridsec-canary" not in line) or line.startswith("#")]
    path.write_text("".join(kept))
    got = _status(cls, spec, path)
    assert got["canary_present"] is False and got["canary_missing"] == [CANARY_DN.label()], got
    # without canary identities: nothing to tell
    assert _status(cls, spec, path, canary=[])["canary_present"] is None


def test_status_of_missing_file_and_broken_dcache_file(tmp_path):
    spec = {"type": "dcache", "dcache_op_aliases": {ISS: "IAM"}}
    got = _status(DcacheTarget, spec, tmp_path / "none.conf")
    assert got["canary_present"] is False and "does not exist" in got["problems"][0]
    path = tmp_path / "ban.conf"
    _sync(DcacheTarget, spec, path, _wanted(PERSON), 1)
    path.write_text(path.read_text() + "deny dn:/DC=org/CN=typo\n")  # the plugin throws on every login
    got = _status(DcacheTarget, spec, path, canary=[])
    assert any("neither 'alias" in p for p in got["problems"]), got


def test_dcache_status_reads_a_site_ban_by_class_name(tmp_path):
    """A hand-written ``ban <class>:<dn>`` (or an alias to the class) bans the same principal as ``ban dn:``:
    the status counts the canary DN as enforced; the deleted jglobus-1 class is a problem, not a ban."""
    spec = {"type": "dcache", "dcache_op_aliases": {ISS: "IAM"}}
    path = tmp_path / "ban.conf"
    slash = "/" + CANARY_DN.value.lstrip("/")
    path.write_text("alias x509=org.globus.gsi.gssapi.jaas.GlobusPrincipal\nban x509:%s\n"
                    "ban org.dcache.auth.FQANPrincipal:/atlas\n" % slash)
    got = _status(DcacheTarget, spec, path, canary=[CANARY_DN])
    # (no block of the sync yet: that is said, and is the only problem)
    assert got["canary_present"] is True and [p for p in got["problems"] if "holds no block" not in p] == [], got
    path.write_text("ban org.globus.gsi.jaas.GlobusPrincipal:%s\n" % slash)
    got = _status(DcacheTarget, spec, path, canary=[CANARY_DN])
    assert got["canary_present"] is False and any("no longer exists" in p for p in got["problems"]), got


def test_htcondor_status_counts_a_ban_by_what_its_regex_matches(tmp_path):
    spec = {"type": "htcondor_ce"}
    path = tmp_path / "00-ban.conf"
    # a hand-written site ban of the canary DN (outside the block) is enforced too; one that maps to a user is not
    oneline = CANARY_DN.value.replace("/", "\\/")
    path.write_text("SSL /^%s$/ site@banned.htcondor.org\nSSL /^\\/DC=org\\/CN=x$/ someone\n" % oneline)
    got = _status(HtcondorCeTarget, spec, path, canary=[CANARY_DN])
    assert got["canary_present"] is True and got["entries"] == 1
    assert "holds no block of sync site" in got["problems"][0]


def test_arc_status_reports_a_deny_after_an_allow(tmp_path):
    path = tmp_path / "arc.conf"
    path.write_text("[authtokens]\n[arex/ws/jobs]\nallowaccess = atlas\ndenyaccess = gridsec-banned\n")
    _sync(ArcCeTarget, {"type": "arc"}, path, _wanted(PERSON), 2)
    got = _status(ArcCeTarget, {"type": "arc"}, path, canary=[])
    assert got["serial"] == 2 and got["entries"] == 1
    assert got["problems"] == ["[arex/ws/jobs]: 'denyaccess = gridsec-banned' comes after an allowaccess "
                               "(the first match decides)"]


def test_record_applied_only_on_a_change_or_a_new_serial():
    state = {}
    ctx = FakeSyncContext(list_serial=3, applied_at="2026-12-07T10:00:00Z")
    record_applied(state, ctx, changed=False)
    assert state["applied"] == {"serial": 3, "time": "2026-12-07T10:00:00Z"}
    ctx.applied_at = "2026-12-07T11:00:00Z"
    record_applied(state, ctx, changed=False)
    assert state["applied"]["time"] == "2026-12-07T10:00:00Z"
    ctx.list_serial = 4
    record_applied(state, ctx, changed=False)
    assert state["applied"] == {"serial": 4, "time": "2026-12-07T11:00:00Z"}


class FakePandaDb(object):
    label = "db"

    def __init__(self, banned):
        self.banned = set(banned)
        self.rolled_back = 0

    def get_banned_user_names(self):
        return set(self.banned), [{"operation": "select banned"}]

    def rollback(self):
        self.rolled_back += 1

    def close(self):
        pass


def test_panda_status_reads_the_banned_users_and_finds_lifted_bans():
    from ansible_collections.gridsec.ops.plugins.module_utils._sync.panda import panda_entry_keys

    canary_names = panda_entry_keys(CANARY_DN) + panda_entry_keys(CANARY_TOKEN)
    state = {"p": {"owned_bans": {"Mallory 7": {"dn": PERSON.value}, "Gone": {"dn": "/CN=Gone"}},
                   "applied": {"serial": 9, "time": "2026-12-07T10:00:00Z"}}}
    db = FakePandaDb(["Mallory 7", "Manual"] + canary_names)
    target = PandaTarget({"name": "p"}, FakeSyncContext(state=state), db=db)
    got = target.status(CANARY)
    assert (got["serial"], got["applied"], got["entries"]) == (9, "2026-12-07T10:00:00Z", 2 + len(set(canary_names)))
    assert got["canary_present"] is True and db.rolled_back == 1
    assert got["problems"] == ["1 ban(s) this sync made are no longer in force (lifted outside the sync?): Gone"]
    db.banned.discard(canary_names[0])
    assert target.status(CANARY)["canary_present"] is False


class FakeRucio(object):
    server_label = "rucio.example"

    def __init__(self, active):
        self.active = set(active)

    def active_accounts(self):
        return set(self.active)


def test_rucio_status_reads_the_account_listing():
    state = {"r": {"owned": {"mallory": {}, "eve": {}}, "applied": {"serial": 2, "time": "2026-12-07T10:00:00Z"}}}
    target = RucioTarget.__new__(RucioTarget)
    target.client, target.state = FakeRucio(["root", "eve"]), state["r"]
    got = target.status(CANARY)
    assert got["entries"] == 1 and got["canary_present"] is None and got["serial"] == 2
    assert got["problems"] == ["rucio.example: 1 account(s) this sync suspended are ACTIVE again: eve"]


# -- verdicts and renderings ----------------------------------------------------------------------------------
def _item(name, **extra):
    item = {"name": name, "type": "file", "serial": 5, "applied": None, "entries": 3, "canary_present": True,
            "problems": [], "age_seconds": 60}
    item.update(extra)
    return item


@pytest.mark.parametrize("extra,expected,reason", [
    ({}, st.OK, None),
    ({"error": "cannot read x"}, st.UNKNOWN, "cannot read x"),
    ({"canary_present": False, "canary_missing": ["dn /CN=c"]}, st.CRITICAL, "dn /CN=c: not enforced"),
    ({"problems": ["broken"]}, st.CRITICAL, "broken"),
    ({"serial": 4}, st.WARNING, "serial 4 is behind the expected serial 5"),
    ({"serial": 4, "age_seconds": 7200}, st.CRITICAL, "serial 4 is behind the expected serial 5 and older than max_age"),
    ({"serial": None}, st.WARNING, "no serial recorded (expected serial 5)"),
    ({"age_seconds": 7200}, st.WARNING, "last change applied 2 h ago (max_age 1 h)"),
    ({"age_seconds": 90000}, st.CRITICAL, "last change applied 25 h ago (critical_age 24 h)"),
    ({"age_seconds": None}, st.WARNING, "no time of an applied change recorded"),
])
def test_verdict(extra, expected, reason):
    code, reasons = st.verdict(_item("t", **extra), 5, "expected", 3600, 86400)
    assert code == expected
    assert (reasons[0] if reasons else None) == reason


def test_reference_is_the_newest_serial_without_an_expected_one():
    items = [_item("a", serial=3), _item("b", serial=2), _item("c", serial=None)]
    assert st.reference_serial(items, None) == (3, "newest at another target")
    assert st.reference_serial(items, 7) == (7, "expected")
    assert st.reference_serial([_item("a", serial=None)], None) == (None, None)


def _judged(items):
    for item in items:
        code, reasons = st.verdict(item, 5, "expected", 3600, None)
        item.update(status_code=code, state=st.STATUS_NAMES[code].lower(), reasons=reasons)
    return items


def test_nagios_worst_target_decides_and_perfdata():
    items = _judged([_item("lcas"), _item("ce dir", serial=4), _item("panda", canary_present=False)])
    report = st.nagios_report(items, 3600, None)
    assert report["code"] == st.CRITICAL
    assert report["summary"] == "1 critical (panda); 1 warning (ce dir) of 3 targets"
    first = report["text"].splitlines()[0]
    assert first.startswith("SUSPENSION STATUS CRITICAL - ") and " | 'lcas_serial'=5;;;0 'lcas_age'=60s;3600;;0" in first
    assert "'ce_dir_serial'=4;;;0" in first and "'panda_canary'=0;;;0;1" in first
    assert report["text"].splitlines()[2] == "ce dir (file): WARNING - serial 4 is behind the expected serial 5"
    ok = st.nagios_report(_judged([_item("lcas"), _item("gplazma")]), 3600, None)
    assert ok["code"] == st.OK and ok["summary"] == "2/2 targets OK, serial 5, canary enforced on 2/2"
    assert st.nagios_report([], None, None)["code"] == st.UNKNOWN


def test_age_seconds():
    now = datetime.datetime(2026, 12, 7, 12, 0, 0, tzinfo=sl_entries.UTC)
    assert st.age_seconds("2026-12-07T11:00:00Z", now) == 3600
    assert st.age_seconds(None, now) is None and st.age_seconds("garbage", now) is None


def test_the_daily_canary_token_identity_is_named_like_the_dn_and_is_a_canary_for_the_sync():
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import daily_canary, parse_canary

    date, items = daily_canary("salt", "20261207", ISS)
    assert date == "20261207" and items[0] == {"dn": canary_dn("salt", "20261207")}
    hash8 = parse_canary(items[0]["dn"])["hash"]
    assert items[1] == {"issuer": ISS, "subject": "gridsec-canary-20261207-%s" % hash8}
    assert daily_canary("salt", "20261207")[1] == items[:1]
    merged = dict((e.key, e) for e in [PERSON, TOKEN, CANARY_DN, CANARY_TOKEN,
                                       sl_entries.Entry(sl_entries.TOKEN, (ISS, "gridsec-canary-20261399-0123abcd"))])
    assert sl_merge.canary_keys(merged) == set([CANARY_DN.key, CANARY_TOKEN.key])  # an impossible date is no canary
    with pytest.raises(ValueError):
        daily_canary("salt", "2026-12-07")


def test_a_dn_line_in_another_spelling_counts_as_the_canary(tmp_path):
    """Not the sync's own line: the file's lines are parsed as DNs and compared as DNs."""
    path = tmp_path / "plain.txt"
    path.write_text("%s\n" % CANARY_DN.rfc2253)
    got = _status(FileTarget, {"type": "file", "format": "plain"}, path, canary=[CANARY_DN])
    assert got["canary_present"] is True and got["entries"] == 1 and got["serial"] is None
    path.write_text("/DC=ch/DC=cern/CN=someone else\n")
    assert _status(FileTarget, {"type": "file", "format": "plain"}, path, canary=[CANARY_DN])["canary_present"] is False
