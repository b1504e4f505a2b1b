# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The streamed sync of the htcondor_ce, dcache and arc targets (``BlockFileTarget.sync``) against the whole-text
sync (``sync_whole``, the reference): for runs of changing lists over files the sync wrote and files edited by
hand (site lines, other line breaks, records out of order or duplicated, a moved or missing stamp...), both give
the same bytes on disk, the same result dict, the same warnings and the same errors; and the streamed one really
streams for the files the sync writes itself (no whole-text fallback)."""
import os
import random

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import DN, FQAN, TOKEN, Entry
from ansible_collections.gridsec.ops.plugins.module_utils._sync import filewrite
from ansible_collections.gridsec.ops.plugins.module_utils._sync.arc_ce import ArcCeTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.dcache import BanFileCheck, DcacheTarget, check_ban_file
from ansible_collections.gridsec.ops.plugins.module_utils._sync.htcondor_ce import HtcondorCeTarget

ISS = "https://iam.example"
OTHER = "https://other.example"  # no dCache OP alias: its entries are not expressible there
EXTRA = {HtcondorCeTarget: {}, DcacheTarget: {"dcache_op_aliases": {ISS: "IAM"}}, ArcCeTarget: {}}
SITE = {HtcondorCeTarget: "SSL /^\\/DC=org\\/CN=site-own$/ site@banned.htcondor.org\n",
        DcacheTarget: "alias x=org.dcache.auth.FQANPrincipal\nban username:site-own\n",
        ArcCeTarget: "[common]\nhostname = ce.example\n[authtokens]\n[arex/ws/jobs]\ndenyaccess = gridsec-banned\n"
                     "allowaccess = atlas\n"}
CLASSES = [HtcondorCeTarget, DcacheTarget, ArcCeTarget]


class Ctx(object):
    sync_name = "stream"
    check_mode = False
    params = {}

    def __init__(self, serial, applied):
        self.list_serial, self.applied_at, self.warnings = serial, applied, []

    def warn(self, msg):
        self.warnings.append(msg)

    def run_command(self, argv):
        return 0, "", ""


def _pool(rng):
    subs = ["%08x-b73c-4761-bfff-%012x" % (i, i) for i in range(60)] + \
        ["a b", ".*", "*", "q\"uote", "back\\slash", "semi;colon<>", "a@b", "[x]"]
    out = [Entry(TOKEN, (ISS, sub), {"ticket": rng.choice(["", "INC1", "INC2"])}) for sub in subs]
    out += [Entry(TOKEN, (OTHER + "/", "o%d" % i)) for i in range(3)]
    out += [Entry(DN, "/DC=org/CN=User %d" % i) for i in range(8)]
    out += [Entry(DN, "/DC=org/CN=Doe\\, Jr"), Entry(DN, u"/DC=org/CN=J\u00e9r\u00f4me"), Entry(FQAN, "/atlas/Role=x")]
    return out


def _wanted(entries, kinds):
    return dict((e.key, e) for e in entries if e.kind in kinds)


def _run(cls, path, wanted, ctx, check, whole, spec):
    full = dict(name="t", path=path, mode="0644")
    full.update(EXTRA[cls])
    full.update(spec)
    target = cls(full, ctx)
    try:
        data = (target.sync_whole if whole else target.sync)(wanted, check)
        outcome = ("ok", data)
    except ConfigError as err:
        outcome = ("error", str(err), dict(target.result.data))
    text = open(path, "rb").read() if os.path.exists(path) else None
    return outcome, text, list(ctx.warnings)


def _copy_stamp_into_a_record(text):
    lines, idx = _records(text)
    stamps = [line for line in lines if line.startswith("# gridsec.ops applied:")]
    if not stamps or not idx:
        return text
    lines.insert(idx[-1], stamps[0])
    return "\n".join(lines)


def _records(text):
    lines = text.split("\n")
    idx = [i for i, line in enumerate(lines) if line.startswith("# gridsec ")]
    return lines, idx


def _swap_records(text):
    lines, idx = _records(text)
    if len(idx) < 3:
        return text
    a, b = idx[0], idx[1]
    return "\n".join(lines[:a] + lines[b:idx[2]] + lines[a:b] + lines[idx[2]:])


def _duplicate_record(text):
    lines, idx = _records(text)
    if len(idx) < 2:
        return text
    return "\n".join(lines[:idx[1]] + lines[idx[0]:idx[1]] + lines[idx[1]:])


def _move_stamp(text):
    lines, idx = _records(text)
    stamps = [i for i, line in enumerate(lines) if line.startswith("# gridsec.ops applied:")]
    if not stamps or not idx:
        return text
    stamp = lines.pop(stamps[0])
    lines.insert(idx[-1], stamp)
    return "\n".join(lines)


def _drop_last_line_of_block(text):
    lines = text.split("\n")
    ends = [i for i, line in enumerate(lines) if line.startswith("# END ")]
    if not ends or ends[0] < 2:
        return text
    del lines[ends[0] - 1]
    return "\n".join(lines)


EDITS = [
    lambda t: t,
    lambda t: "# a site comment\n" + t,
    lambda t: t + "# a site line after the block\n",
    lambda t: t.replace("\n", "\r\n"),
    lambda t: t.replace("# gridsec token", "#   moved\n# gridsec token", 1),
    _swap_records,
    _duplicate_record,
    lambda t: t.replace('"https://iam.example ', '"https:\\/\\/iam.example ', 1),
    lambda t: t.replace("# gridsec.ops applied:", "# gridsec.ops gone:", 1),
    _move_stamp,
    _drop_last_line_of_block,
    lambda t: t.replace("\n# gridsec dn", "\nextra\x0bline\n# gridsec dn", 1),
    lambda t: t[:-1],
    lambda t: t.replace("# gridsec token", "# gridsec token2", 1),
    lambda t: t.replace('# gridsec token "', "# gridsec token ", 1),
    _copy_stamp_into_a_record,
    lambda t: "# BEGIN gridsec.ops suspension_list_sync stream: do not edit, changes are overwritten\n" + t,
    lambda t: t.replace("CN=User 3", "CN=User 3\udcff", 1).replace("CN=J\u00e9", "CN=J\udcc3\udca9", 1),
]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("seed", range(int(os.environ.get("STREAM_SEEDS", "12"))))
def test_streamed_sync_equals_the_whole_text_sync(cls, seed, tmp_path, monkeypatch):
    rng = random.Random(seed * 31 + CLASSES.index(cls))
    monkeypatch.setattr(filewrite, "CHUNK", rng.choice([1, 2, 3, 7, 256]))
    pool = _pool(rng)
    spec = {}
    if rng.random() < 0.3:
        spec["htcondor_ban_user" if cls is HtcondorCeTarget else "mode"] = \
            "other" if cls is HtcondorCeTarget else "0640"
    stream_path, whole_path = str(tmp_path / "a" / "ban.conf"), str(tmp_path / "b" / "ban.conf")
    os.makedirs(os.path.dirname(stream_path))
    os.makedirs(os.path.dirname(whole_path))
    if rng.random() < 0.4:
        for path in (stream_path, whole_path):
            with open(path, "w") as handle:
                handle.write(SITE[cls])
    current = rng.sample(pool, rng.randint(0, len(pool)))
    for step in range(6):
        if step and rng.random() < 0.5:  # the same file edited by hand in both places
            edit = rng.choice(EDITS)
            if os.path.exists(stream_path):
                with open(stream_path, "rb") as handle:
                    text = handle.read().decode("utf-8", "surrogateescape")
                for path in (stream_path, whole_path):
                    with open(path, "wb") as handle:
                        handle.write(edit(text).encode("utf-8", "surrogateescape"))
        change = rng.random()
        if change < 0.4:
            current = [e for e in current if rng.random() > 0.1] + rng.sample(pool, 3)
        elif change < 0.5:
            current = []
        serial = rng.choice([None, 7, 8])
        applied = rng.choice(["2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"])
        check = rng.random() < 0.2
        wanted = _wanted(current, cls.KINDS)
        streamed = _run(cls, stream_path, wanted, Ctx(serial, applied), check, False, spec)
        whole = _run(cls, whole_path, wanted, Ctx(serial, applied), check, True, spec)
        assert repr(streamed).replace(stream_path, "P") == repr(whole).replace(whole_path, "P"), (seed, step)


@pytest.mark.parametrize("cls", CLASSES)
def test_files_the_sync_writes_are_streamed(cls, tmp_path, monkeypatch):
    """Without hand edits no run falls back to the whole text: first write, no-op, change, serial change, removal."""
    monkeypatch.setattr(filewrite, "CHUNK", 4)
    calls = []
    monkeypatch.setattr(cls, "sync_whole", lambda self, wanted, check: calls.append(1))
    pool = [e for e in _pool(random.Random(1)) if e.kind in cls.KINDS]
    path = str(tmp_path / "ban.conf")
    with open(path, "w") as handle:
        handle.write(SITE[cls])
    for entries, serial in ((pool, None), (pool, None), (pool[5:] + pool[:2], None), (pool[5:], 3), ([], 3)):
        data, _text, _warnings = _run(cls, path, _wanted(entries, cls.KINDS), Ctx(serial, "2026-12-01T00:00:00Z"),
                                      False, False, {})
        assert data[0] == "ok"
    assert calls == []


@pytest.mark.parametrize("text", [
    "", "ban dn:/x\n", "alias a=org.dcache.auth.FQANPrincipal\nban a:/atlas\n", "ban a:/x\nalias a=dn\n",
    "aliasx y\n  alias b=c.d\nban b:x\n#\n\nban oidc:s@OP\nban oidc:nope\nbann x\nban nokind\n",
    "ban org.globus.gsi.jaas.GlobusPrincipal:/x\nban kerberos:u\nban oidc:" + "x" * 300 + "@OP\n"])
def test_ban_file_check_fed_in_pieces_is_the_whole_check(text):
    lines = text.splitlines()
    other = [line for line in lines if line.strip().startswith("alias")]
    check = BanFileCheck(other)
    for index in range(0, len(lines), 2):
        check.feed(lines[index:index + 2])
    assert check.seen == check.alias_count
    assert check.result() == check_ban_file(text)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("seed", range(3))
def test_default_scan_keeps_the_whole_text_for_inspect_and_check_text(cls, seed, tmp_path, monkeypatch):
    """A target type that gives no scanner of its own: inspect and check_text get the whole new text."""
    monkeypatch.setattr(cls, "scanner", filewrite.BlockFileTarget.scanner)
    test_streamed_sync_equals_the_whole_text_sync(cls, seed, tmp_path, monkeypatch)
