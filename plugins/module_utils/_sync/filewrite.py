# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The file rails of the file-writing sync targets: an owned block of lines in a file, owner/mode, compare the
bytes, write atomically only when they differ.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

The sync owns only the lines between its two marker lines (``# BEGIN gridsec.ops <sync>`` / ``# END ...``); every
other line of the file is kept byte for byte, so a site may keep its own lines in the same file and a removal
never touches them. A file that holds only the block is the usual case (the sync's own file).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import json
import os
import pwd
import stat
import time

from ansible_collections.gridsec.ops.plugins.module_utils._dn import parse_dn
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import sort_key
from ansible_collections.gridsec.ops.plugins.module_utils._files import write_atomic
from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import SyncTarget, TargetResult
from ansible_collections.gridsec.ops.plugins.module_utils._sync import specs
from ansible_collections.gridsec.ops.plugins.module_utils._sync.freshness import (
    canary_presence,
    find_stamp,
    parse_stamp,
    stamped,
    status_result,
)

MARK = "gridsec.ops suspension_list_sync"


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

    def apply(self, content, touch=False):
        """Write ``content`` (bytes) when it differs, else fix drifted attributes; the operation dict or None.

        ``touch``: set the mtime to now after the rename, and later than the old file's (a reader that re-reads
        only a file newer than its last read, like dCache's ban file plugin, would miss a renamed temp file)."""
        drift = self.attribute_drift()
        try:
            if content != self.existing:
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

    def enforced(self, text):
        """``(identities the file enforces, holds(entry) -> bool, problems)`` read from the whole file ``text``
        with the enforcer's grammar (``status``)."""
        raise NotImplementedError

    # -- the rails --------------------------------------------------------------------------------------
    def render(self, wanted):
        """``(block lines, {comment: (entry, its lines)}, unexpressible [dict])`` in a stable order."""
        block, comments, skipped = list(self.block_header()), {}, []
        for entry in sorted(wanted.values(), key=sort_key):
            try:
                lines = self.render_entry(entry)
            except Unexpressible as err:
                skipped.append(dict(entry.to_dict(with_meta=False), why=str(err)))
                continue
            comment = entry_comment(entry)
            comments[comment] = (entry, lines)
            block.append(comment)
            block.extend(lines)
        return block, comments, skipped

    def sync(self, wanted, check_mode):
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
        if skipped:
            data["not_expressible"] = {"count": len(skipped), "entries": skipped}
            self.ctx.warn("%s: %d entries cannot be written safely in this format and were left out: %s"
                          % (self.label, len(skipped), "; ".join("%s (%s)" % (s["value"], s["why"])
                                                                 for s in skipped[:5])))
        self.inspect(new_text, data)
        problems = self.check_text(new_text)
        content = new_text.encode("utf-8")
        data["changed"] = content != self.file.existing or bool(self.file.attribute_drift())
        data["attributes_changed"] = self.file.attribute_drift()
        if problems:
            data.setdefault("problems", []).extend(problems)
            raise ConfigError("refusing to write %s: %s" % (self.path, "; ".join(problems)), server=self.label,
                              operation="check rendered file", details={"problems": problems})
        if check_mode or not data["changed"]:
            return data
        operation = self.file.apply(content, touch=self.TOUCH)
        if operation is not None:
            data["operations"].append(operation)
            data["writes"] = 1
        # a new serial alone changes only the stamp comment: the enforcer has nothing to reload
        stamp_only = found and [line for line in old_block if parse_stamp(line) is None] == block
        if operation is not None and operation["operation"] == "write" and not stamp_only:
            self._reload(data)
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
