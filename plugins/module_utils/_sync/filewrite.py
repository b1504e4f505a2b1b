# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The file rails of the file-writing sync targets: an owned block of lines in a file, owner/mode, compare the
bytes, write atomically only when they differ.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

The sync owns only the lines between its two marker lines (``# BEGIN gridsec.ops <sync>`` / ``# END ...``); every
other line of the file is kept byte for byte, so a site may keep its own lines in the same file and a removal
never touches them. A file that holds only the block is the usual case (the sync's own file).

The sync streams: it renders the entries a few hundred at a time, compares each piece with the file's bytes where
the block had it, hands it to the target's checks (``FileScan``) and keeps only what differs, so a run over a
hundred thousand entries never holds the whole old or new text as lines (issue 17: that memory traffic, not any
quadratic step, made 100,000 entries cost more than ten times 10,000). Where a file is not as the sync writes it
(a block out of order, a duplicate, another line break than ``\n``...), it reads the whole text instead
(``BlockFileTarget.sync_whole``): both ways give the same bytes and the same result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import json
import os
import pwd
import stat
import time
from operator import attrgetter

from ansible_collections.gridsec.ops.plugins.module_utils._dn import parse_dn
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import sort_key
from ansible_collections.gridsec.ops.plugins.module_utils._files import write_atomic
from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import SyncTarget, TargetResult
from ansible_collections.gridsec.ops.plugins.module_utils._sync import specs
from ansible_collections.gridsec.ops.plugins.module_utils._sync.freshness import (
    STAMP_PREFIX,
    canary_presence,
    find_stamp,
    parse_stamp,
    stamp_line,
    stamped,
    status_result,
)

MARK = "gridsec.ops suspension_list_sync"
#: entries rendered, compared and checked per step of the streamed sync (their text stays in the CPU caches)
CHUNK = 256
#: the order of the block: ``sort_key`` (kind, value), read by a C getter
_ORDER = attrgetter("kind", "value")
_COMMENT = b"# gridsec "
_NL_COMMENT = b"\n# gridsec "
_STAMP_MARK = STAMP_PREFIX.strip().encode("ascii")
# what str.splitlines splits at besides "\n": the whole-text reading would see other lines where these are
_ODD_BREAKS = (b"\r", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e")
_ODD_BREAKS_UTF8 = (b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")


def markers(sync_name):
    """The begin and end lines of the block a sync owns."""
    return ("# BEGIN %s %s: do not edit, changes are overwritten" % (MARK, sync_name),
            "# END %s %s" % (MARK, sync_name))


def split_block(text, sync_name):
    """``(before, block, after, found)`` line lists of ``text`` around the sync's block (markers excluded).

    An unterminated block (a begin line without its end) is refused: guessing where it ends could remove a
    site's lines."""
    begin, end = markers(sync_name)
    lines = text.splitlines()
    if begin not in lines:
        return lines, [], [], False
    start = lines.index(begin)
    if end not in lines[start + 1:]:
        raise ConfigError("the block of sync %s has a begin line but no end line (%r): fix the file by hand"
                          % (sync_name, end), operation="read file")
    stop = lines.index(end, start + 1)
    return lines[:start], lines[start + 1:stop], lines[stop + 1:], True


def join_block(before, block, after, sync_name):
    """The file text with ``block`` between the markers (always ends with a newline)."""
    begin, end = markers(sync_name)
    return "\n".join(list(before) + [begin] + list(block) + [end] + list(after)) + "\n"


def parse_mode(mode, label):
    try:
        return int(str(mode or "0640"), 8)
    except ValueError:
        raise ConfigError("%s: mode %r is not an octal mode such as 0640" % (label, mode), operation="check options")


def resolve_ids(owner, group, label):
    """``(uid, gid)`` of owner/group names or numbers (None where not given)."""
    uid = gid = None
    try:
        if owner is not None:
            uid = int(owner) if str(owner).isdigit() else pwd.getpwnam(owner).pw_uid
        if group is not None:
            gid = int(group) if str(group).isdigit() else grp.getgrnam(group).gr_gid
    except KeyError as err:
        raise ConfigError("%s: unknown owner/group %s" % (label, err), operation="resolve owner")
    return uid, gid


class OwnedFile(object):
    """One file a target writes: read once, compare bytes and attributes, write atomically only on a change."""

    def __init__(self, path, mode, owner, group, label):
        self.path = path
        self.label = label
        self.mode = parse_mode(mode, label)
        self.uid, self.gid = resolve_ids(owner, group, label)
        self.existing = None
        self.stat = None

    def read(self):
        """The current bytes (None when the file does not exist)."""
        try:
            with open(self.path, "rb") as handle:
                self.existing = handle.read()
            self.stat = os.stat(self.path)
        except (IOError, OSError) as err:
            if getattr(err, "errno", None) != 2:
                raise ConfigError("cannot read %s: %s" % (self.path, err), server=self.label, operation="read")
            self.existing, self.stat = None, None
        return self.existing

    def text(self):
        return "" if self.existing is None else self.existing.decode("utf-8", "replace")

    def attribute_drift(self):
        """The attributes (mode, owner, group) of the existing file that differ from the wanted ones."""
        if self.stat is None:
            return []
        drift = []
        if stat.S_IMODE(self.stat.st_mode) != self.mode:
            drift.append("mode")
        if self.uid is not None and self.stat.st_uid != self.uid:
            drift.append("owner")
        if self.gid is not None and self.stat.st_gid != self.gid:
            drift.append("group")
        return drift

    def apply(self, content, touch=False, differs=None):
        """Write ``content`` (bytes, or a list of bytes-like pieces) when it differs, else fix drifted attributes;
        the operation dict or None. ``differs``: whether the content differs, when the caller knows (pieces).

        ``touch``: set the mtime to now after the rename, and later than the old file's (a reader that re-reads
        only a file newer than its last read, like dCache's ban file plugin, would miss a renamed temp file)."""
        drift = self.attribute_drift()
        try:
            if (content != self.existing) if differs is None else differs:
                old_mtime = self.stat.st_mtime if self.stat is not None else 0
                write_atomic(self.path, content, self.mode, self.uid, self.gid)
                if touch:
                    now = time.time()
                    moment = now if now >= old_mtime + 1 else old_mtime + 1
                    os.utime(self.path, (moment, moment))
                return {"operation": "write", "path": self.path}
            if drift:
                os.chmod(self.path, self.mode)
                if self.uid is not None or self.gid is not None:
                    os.chown(self.path, -1 if self.uid is None else self.uid, -1 if self.gid is None else self.gid)
                return {"operation": "set_attributes", "path": self.path, "attributes": drift}
        except (IOError, OSError) as err:
            raise ConfigError("cannot write %s: %s (the old file is untouched)" % (self.path, err),
                              server=self.label, operation="write")
        return None


def entry_comment(entry):
    """The comment line that opens an entry's lines in a block: how a later run names what it removes."""
    value = entry.value
    # the common case without json.dumps (a third of a 10,000-entry no-op): json.dumps of printable ASCII
    # escapes only '"' and '\\', so the quoted value is the same bytes
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return '# gridsec %s "%s"' % (entry.kind, value)
    return "# gridsec %s %s" % (entry.kind, json.dumps(value))


def _group_block(lines):
    """``{comment line: [lines]}`` of an owned block (lines before the first entry comment: the block header)."""
    groups, current = {}, None
    for line in lines:
        if line.startswith("# gridsec "):
            current = line
            groups[current] = []
        elif current is not None:
            groups[current].append(line)
    return groups


def _entry_dicts(entries):
    return [entry.to_dict() for entry in sorted(entries, key=sort_key)]


def _identity(comment):
    kind, _sep, value = comment[len("# gridsec "):].partition(" ")
    try:
        return {"kind": kind, "value": json.loads(value)}
    except ValueError:
        return {"kind": "line", "value": comment}


class _Unproven(Exception):
    """The streamed sync cannot show that its result is the whole-text one: ``sync_whole`` runs instead."""


def _plain_lines(data):
    """True when the bytes ``data`` hold no line break that ``str.splitlines`` splits at besides ``\\n``."""
    if any(brk in data for brk in _ODD_BREAKS):  # memchr each: a few ms for 30 MB
        return False
    return data.isascii() or not any(brk in data for brk in _ODD_BREAKS_UTF8)


def _text_lines(lines):
    return "".join(line + "\n" for line in lines)


def _locate(existing, sync_name):
    """``(before, start, stop, after)``: the sync's block in the file's bytes read as ``split_block`` reads the text;
    ``existing[start:stop]`` are the block's lines (markers excluded, each ending in ``\\n``); ``start`` None when the
    file holds no block (``before``: all its lines). ``_Unproven`` where only the whole text can tell (a marker line
    next to another line break, an unterminated block)."""
    if existing is None:
        return [], None, None, []
    begin_text = markers(sync_name)[0]
    begin, end = (marker.encode("utf-8") for marker in markers(sync_name))
    if begin not in existing:
        return existing.decode("utf-8", "replace").splitlines(), None, None, []
    if existing.startswith(begin + b"\n"):
        at = 0
    else:
        at = existing.find(b"\n" + begin + b"\n")
        if at < 0:
            raise _Unproven()
        at += 1
    before = existing[:at].decode("utf-8", "replace").splitlines()
    if begin_text in before:
        raise _Unproven()
    start = at + len(begin) + 1
    stop = start - 1
    while True:
        stop = existing.find(b"\n" + end, stop)
        if stop < 0:
            raise _Unproven()
        after = stop + 1 + len(end)
        if after == len(existing) or existing[after:after + 1] == b"\n":
            break
        stop += 1
    return before, start, stop + 1, existing[after + 1:].decode("utf-8", "replace").splitlines()


class _Walk(object):
    """The records of the old block in file order (a ``# gridsec`` comment line and the lines up to the next one),
    which must come in strictly increasing ``(kind, value)`` order, as the sync writes them."""

    def __init__(self, data, pos, stop):
        self.data, self.pos, self.stop = data, pos, stop
        self.last = None  # the key of the last record passed
        self.count = 0  # records passed
        self._next = None  # (comment, key, end) of the record at pos, once read

    def peek(self):
        """``(comment, (kind, value), end)`` of the record at ``pos``, None at the end of the block."""
        if self._next is None and self.pos < self.stop:
            data, pos = self.data, self.pos
            found = data.find(_NL_COMMENT, pos, self.stop)
            end = self.stop if found < 0 else found + 1
            raw = data[pos:end]
            if not raw.startswith(_COMMENT) or _STAMP_MARK in raw or not _plain_lines(raw):
                raise _Unproven()
            try:
                raw.decode("utf-8")  # the whole-text sync compares lines decoded with "replace": bytes may differ
            except UnicodeDecodeError:
                raise _Unproven()
            comment = raw[:raw.index(b"\n")].decode("utf-8")
            kind, _sep, value = comment[len("# gridsec "):].partition(" ")
            try:
                value = json.loads(value)
            except ValueError:
                raise _Unproven()
            key = (kind, value)
            if not isinstance(value, str) or (self.last is not None and not self.last < key):
                raise _Unproven()
            self._next = (comment, key, end)
        return self._next

    def take(self):
        """Pass the record ``peek`` read."""
        _comment, self.last, self.pos = self._next
        self._next = None
        self.count += 1

    def take_same(self, length, count, last):
        """Pass ``count`` records (``length`` bytes) equal to rendered ones, the last of them with the key ``last``."""
        self.pos += length
        self.count += count
        self.last = last
        self._next = None


class FileScan(object):
    """What a target reads from the new file while the streamed sync produces it: ``feed(text)`` gets its lines in
    order (whole lines, each ending in ``\\n``), ``stamp()`` marks where the stamp line goes (decided at the end),
    ``finish(stamp, data)`` runs ``inspect`` and returns the problems that forbid the write. This default keeps
    the whole text for the target's ``inspect`` and ``check_text``; a target whose checks read line by line gives
    its own (``BlockFileTarget.scanner``) and never holds the whole text."""

    def __init__(self, target, before=(), after=()):
        self.target = target
        self.pieces = []
        self.at = None

    def feed(self, text):
        self.pieces.append(text)

    def stamp(self):
        self.at = len(self.pieces)
        self.pieces.append("")

    def proven(self):
        """False when what was fed shows that the streamed reading may differ from the whole-text one."""
        return True

    def finish(self, stamp, data):
        if self.at is not None:
            self.pieces[self.at] = stamp + "\n"
        text = "".join(self.pieces)
        self.target.inspect(text, data)
        return self.target.check_text(text)


class BlockFileTarget(SyncTarget):
    """A target that writes the sync's block of one file (see the module docstring). A subclass gives
    ``DEFAULT_PATH``, ``render_entry(entry)`` (the lines of one entry, or raises ``Unexpressible``), and may
    override ``block_header()``, ``place_new_block(lines)``, ``check_text(text)`` (problems that forbid the
    write) and ``inspect(text, data)`` (warnings about the rest of the configuration)."""

    DEFAULT_PATH = None
    TOUCH = False
    #: the file options, declared exactly as ``FileTarget`` declares them (one option, one meaning)
    FILE_OPTIONS = specs.BLOCK_FILE_OPTIONS
    OPTIONS = FILE_OPTIONS

    def __init__(self, spec, ctx):
        self.spec = spec
        self.ctx = ctx
        self.name = spec["name"]
        self.sync_name = ctx.sync_name
        self.path = spec.get("path") or self.DEFAULT_PATH
        self.label = "%s target %s (%s)" % (self.TYPE, self.name, self.path)
        self.file = OwnedFile(self.path, spec.get("mode") or "0640", spec.get("owner"), spec.get("group"),
                              self.label)
        self.result = TargetResult(self.name, self.TYPE)
        self.result.data["path"] = self.path

    # -- hooks ------------------------------------------------------------------------------------------
    def render_entry(self, entry):
        raise NotImplementedError

    def block_header(self):
        return []

    def place_new_block(self, lines):
        """``(before, after)`` around a block that is not in the file yet: by default at its top."""
        return [], lines

    def check_text(self, text):
        return []

    def inspect(self, text, data):
        return None

    def scanner(self, before, after):
        """The ``FileScan`` that checks and inspects the new file while the streamed sync produces it (``before``
        and ``after``: the file's lines around the block, known before the block is rendered)."""
        return FileScan(self, before, after)

    def enforced(self, text):
        """``(identities the file enforces, holds(entry) -> bool, problems)`` read from the whole file ``text``
        with the enforcer's grammar (``status``)."""
        raise NotImplementedError

    # -- the rails --------------------------------------------------------------------------------------
    def _lines_or_skip(self, entry, skipped):
        """The lines of ``entry``, or None when the format cannot express it (recorded in ``skipped``)."""
        try:
            return self.render_entry(entry)
        except Unexpressible as err:
            skipped.append(dict(entry.to_dict(with_meta=False), why=str(err)))
            return None

    def render(self, wanted):
        """``(block lines, {comment: (entry, its lines)}, unexpressible [dict])`` in a stable order."""
        block, comments, skipped = list(self.block_header()), {}, []
        for entry in sorted(wanted.values(), key=sort_key):
            lines = self._lines_or_skip(entry, skipped)
            if lines is None:
                continue
            comment = entry_comment(entry)
            comments[comment] = (entry, lines)
            block.append(comment)
            block.extend(lines)
        return block, comments, skipped

    def sync(self, wanted, check_mode):
        """Streamed (see the module docstring); the whole-text sync where the file is not as the sync writes it."""
        self.file.read()
        try:
            stream = self._stream(wanted)
        except _Unproven:
            return self.sync_whole(wanted, check_mode)
        data = self.result.data
        data["reads"] = 1
        found, changed_block, content, differs, old_count, added, rewritten, removed, skipped, scan, stamp = stream
        self.result.counts(old_count, added, removed)
        data["added"] = [entry.to_dict() for entry in added]  # in list order already (sort_key)
        if rewritten:
            data["rewritten"] = [entry.to_dict() for entry in rewritten]
        data["removed"] = sorted(removed, key=lambda d: (d["kind"], str(d["value"])))
        self._report_skipped(skipped, data)
        problems = scan.finish(stamp, data)
        drift = self.file.attribute_drift()
        data["changed"] = differs or bool(drift)
        data["attributes_changed"] = drift
        self._refuse(problems, data)
        if check_mode or not data["changed"]:
            return data
        operation = self.file.apply(content, touch=self.TOUCH, differs=differs)
        # a new serial alone changes only the stamp comment: the enforcer has nothing to reload
        self._applied(operation, data, stamp_only=found and not changed_block)
        return data

    def _stream(self, wanted):
        """Render the entries ``CHUNK`` at a time and walk the old block beside them (both in ``sort_key`` order):
        a piece equal to the old bytes is passed as a whole, one that differs is merged entry by entry. Returns
        ``(found, block changed, content pieces, content differs, old record count, added, rewritten, removed,
        not expressible, scan, stamp line)``; ``_Unproven`` where the file is not as the sync writes it."""
        existing = self.file.existing
        before, start, stop, after = _locate(existing, self.sync_name)
        found = start is not None
        if not found:
            before, after = self.place_new_block(before)
        begin, end = markers(self.sync_name)
        head_text, tail_text, header_text = _text_lines(list(before) + [begin]), _text_lines([end] + list(after)), \
            _text_lines(self.block_header())
        head, tail, header = head_text.encode("utf-8"), tail_text.encode("utf-8"), header_text.encode("utf-8")
        scan = self.scanner(before, after)
        scan.feed(head_text)
        scan.stamp()
        scan.feed(header_text)
        body, walk, old_stamp, changed_block, run = [], None, None, not found, 0
        if found:
            eol = existing.find(b"\n", start, stop)
            old_stamp = existing[start:eol].decode("utf-8", "replace") if eol >= 0 else ""
            if parse_stamp(old_stamp) is None or not _plain_lines(existing[start:eol]):
                raise _Unproven()
            run = eol + 1  # old bytes from run on are what the new file holds there, not yet in body
            at = existing.find(_NL_COMMENT, run - 1, stop)
            first = stop if at < 0 else at + 1
            if existing[run:first] != header:
                old_header = existing[run:first]
                if _STAMP_MARK in old_header or not _plain_lines(old_header):
                    raise _Unproven()
                changed_block = True
                body.append(header)
                run = first
            walk = _Walk(existing, first, stop)
        else:
            body.append(header)
        view = memoryview(existing) if existing is not None else None
        kept, added, rewritten, removed, skipped, previous = 0, [], [], [], [], None
        entries = sorted(wanted.values(), key=_ORDER)
        for index in range(0, len(entries), CHUNK):
            pieces, rendered = [], []
            for entry in entries[index:index + CHUNK]:
                key = (entry.kind, entry.value)
                if key == previous:
                    raise _Unproven()  # two entries, one comment line: the whole-text sync keeps the last
                previous = key
                lines = self._lines_or_skip(entry, skipped)
                if lines is None:
                    continue
                comment = entry_comment(entry)
                pieces.append(comment)
                pieces.extend(lines)
                rendered.append((entry, key, comment, lines))
            if not rendered:
                continue
            text = "\n".join(pieces) + "\n"
            chunk = text.encode("utf-8")
            if not _plain_lines(chunk):
                raise _Unproven()
            scan.feed(text)
            if walk is None:
                added.extend(item[0] for item in rendered)
                body.append(chunk)
                continue
            pos, after_chunk = walk.pos, walk.pos + len(chunk)
            if existing.startswith(chunk, pos) and after_chunk <= stop and \
                    (after_chunk == stop or existing.startswith(_COMMENT, after_chunk)):
                walk.take_same(len(chunk), len(rendered), rendered[-1][1])
                kept += len(rendered)
                continue
            changed_block = True
            if run < pos:
                body.append(view[run:pos])
            for entry, key, comment, lines in rendered:
                old = walk.peek()
                while old is not None and old[1] < key:
                    removed.append({"kind": old[1][0], "value": old[1][1]})
                    walk.take()
                    old = walk.peek()
                if old is None or old[1] != key:
                    added.append(entry)
                    continue
                if old[0] != comment:
                    raise _Unproven()
                record = ("\n".join([comment] + list(lines)) + "\n").encode("utf-8")
                if old[2] - walk.pos == len(record) and existing.startswith(record, walk.pos):
                    kept += 1
                else:
                    rewritten.append(entry)
                walk.take()
            body.append(chunk)
            run = walk.pos
        if walk is not None:
            if run < walk.pos:
                body.append(view[run:walk.pos])
            while walk.peek() is not None:
                old = walk.peek()
                removed.append({"kind": old[1][0], "value": old[1][1]})
                walk.take()
                changed_block = True
        scan.feed(tail_text)
        if not scan.proven():
            raise _Unproven()
        serial = getattr(self.ctx, "list_serial", None)
        stamp = stamp_line(serial, getattr(self.ctx, "applied_at", None))
        if found and not changed_block:
            old_serial, old_applied = parse_stamp(old_stamp)
            if old_serial == serial and old_applied is not None:
                stamp = old_stamp
        differs = not found or changed_block or stamp != old_stamp or existing[:start] != head or \
            len(existing) - stop != len(tail) or not existing.endswith(tail)
        content = [head, (stamp + "\n").encode("utf-8")] + body + [tail]
        return (found, changed_block, content, differs, walk.count if walk is not None else 0, added, rewritten,
                removed, skipped, scan, stamp)

    def _report_skipped(self, skipped, data):
        if skipped:
            data["not_expressible"] = {"count": len(skipped), "entries": skipped}
            self.ctx.warn("%s: %d entries cannot be written safely in this format and were left out: %s"
                          % (self.label, len(skipped), "; ".join("%s (%s)" % (s["value"], s["why"])
                                                                 for s in skipped[:5])))

    def _refuse(self, problems, data):
        if problems:
            data.setdefault("problems", []).extend(problems)
            raise ConfigError("refusing to write %s: %s" % (self.path, "; ".join(problems)), server=self.label,
                              operation="check rendered file", details={"problems": problems})

    def _applied(self, operation, data, stamp_only):
        if operation is not None:
            data["operations"].append(operation)
            data["writes"] = 1
        if operation is not None and operation["operation"] == "write" and not stamp_only:
            self._reload(data)

    def sync_whole(self, wanted, check_mode):
        """The sync on the whole text (old and new as lines): the reference the streamed ``sync`` must equal, and
        what runs where the file is not as the sync writes it."""
        data = self.result.data
        block, comments, skipped = self.render(wanted)
        self.file.read()
        data["reads"] = 1
        text = self.file.text()
        before, old_block, after, found = split_block(text, self.sync_name)
        if not found:
            before, after = self.place_new_block(before)
        # the stamp opens the block; it keeps its serial and time when the block is otherwise unchanged
        new_text = join_block(before, stamped(block, 0, old_block, self.ctx), after, self.sync_name)
        old = _group_block(old_block)
        added = [entry for comment, (entry, _lines) in comments.items() if comment not in old]
        rewritten = [entry for comment, (entry, lines) in comments.items()
                     if comment in old and old[comment] != lines]
        removed = [_identity(comment) for comment in old if comment not in comments]
        self.result.counts(len(old), added, removed)
        data["added"] = _entry_dicts(added)
        if rewritten:
            data["rewritten"] = _entry_dicts(rewritten)
        data["removed"] = sorted(removed, key=lambda d: (d["kind"], str(d["value"])))
        self._report_skipped(skipped, data)
        self.inspect(new_text, data)
        problems = self.check_text(new_text)
        content = new_text.encode("utf-8")
        data["changed"] = content != self.file.existing or bool(self.file.attribute_drift())
        data["attributes_changed"] = self.file.attribute_drift()
        self._refuse(problems, data)
        if check_mode or not data["changed"]:
            return data
        operation = self.file.apply(content, touch=self.TOUCH)
        # a new serial alone changes only the stamp comment: the enforcer has nothing to reload
        self._applied(operation, data, found and [line for line in old_block if parse_stamp(line) is None] == block)
        return data

    def status(self, canary):
        """The stamp of the sync's block and what the whole file enforces, read with the enforcer's grammar
        (``enforced``); a missing file or block is a problem."""
        self.file.read()
        if self.file.existing is None:
            return status_result(problems=["%s does not exist" % self.path], canary_present=False if canary else None)
        text = self.file.text()
        _before, block, _after, found = split_block(text, self.sync_name)
        _index, (serial, applied) = find_stamp(block)
        count, holds, problems = self.enforced(text)
        if not found:
            problems.insert(0, "%s holds no block of sync %s" % (self.path, self.sync_name))
        present, missing = canary_presence(canary, self.KINDS, holds)
        return status_result(serial, applied, count, present, problems, canary_missing=missing)

    def _reload(self, data):
        """Run ``reload_command`` (an argv list, no shell) after a write; a failure is a problem, not a fail:
        the file is in place and the next reload picks it up."""
        argv = self.spec.get("reload_command")
        if not argv:
            return
        code, out, err = self.ctx.run_command(list(argv))
        output = ((out or "") + (err or ""))[-2000:]
        data["operations"].append({"operation": "reload", "command": list(argv), "rc": code})
        if code != 0:
            data.setdefault("problems", []).append("reload command %s failed (rc %s): %s (the file is written)"
                                                   % (" ".join(argv), code, output.strip()))


class Unexpressible(Exception):
    """An entry the format cannot hold without banning someone else or nobody (left out and reported)."""


def entry_dn(entry):
    """The parsed DN of a DN entry (an entry read back from the state file keeps only its RFC 2253 form)."""
    return entry.dn if entry.dn is not None else parse_dn(entry.rfc2253, strict=False)
