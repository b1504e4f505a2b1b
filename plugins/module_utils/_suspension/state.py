# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Emergency suspension list: the state of one sync (last good list, source caches, ownership), the age of a
cached source and the JSON-lines audit log.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

The state and the source times are written 0600 and atomically (``write_atomic``: a temporary file in the same
directory, then a rename); the audit log is appended to (0600).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import marshal
import os
import re
import tempfile

from collections.abc import Mapping

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._files import write_atomic
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import (
    UTC,
    Entry,
    iso,
    parse_time,
    stored_item_key,
    utcnow,
)

# -- how old a cached source may be ----------------------------------------------------------------------------------
_DURATION_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text, option="cache_max_age"):
    """Seconds of a duration like ``90``, ``30m``, ``24h``, ``2d`` (s, m, h, d, w; no unit means seconds)."""
    match = _DURATION_RE.match(str(text))
    if match is None or float(match.group(1)) <= 0:
        raise ConfigError("%s %r is not a positive duration such as 30m, 24h or 2d" % (option, text),
                          operation="check options")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_age(seconds):
    """``"2 d 3 h"`` / ``"5 h 12 min"`` / ``"40 min"`` / ``"25 s"``."""
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return "%d d %d h" % (days, hours)
    if hours:
        return "%d h %d min" % (hours, minutes)
    if minutes:
        return "%d min" % minutes
    return "%d s" % seconds


# -- JSON written in pieces ------------------------------------------------------------------------------------------
#: a dict or list with more items than this is written item by item (``json_chunks``), a smaller one in one piece
_STREAM_MIN_ITEMS = 64
#: the small items of a big list are written this many at a time
_BATCH = 256


def json_chunks(value, depth=0, _dumps=json.dumps):
    """The text of ``json.dumps(value, sort_keys=True, ensure_ascii=False)``, in pieces: the dicts (string keys) of
    the first levels and every big dict or list are written member by member, so that the whole text of a large
    state is never one string; the small items of a big list in one piece each. The pieces joined are exactly that
    text (same separators, same key order)."""
    if isinstance(value, dict) and (depth < 2 or _big(value)) and all(isinstance(k, str) for k in value):
        yield "{"
        separator = ""
        for key in sorted(value):
            item = value[key]
            if depth >= 1 and not _big(item):
                yield separator + _dumps(key, ensure_ascii=False) + ": " + _dumps(item, sort_keys=True,
                                                                                  ensure_ascii=False)
            else:
                yield separator + _dumps(key, ensure_ascii=False) + ": "
                yield from json_chunks(item, depth + 1)
            separator = ", "
        yield "}"
    elif isinstance(value, (list, tuple, CacheItems)) and _big(value):
        yield "["
        separator = ""
        run = []  # small items, written _BATCH at a time by one dumps (its text without the brackets)
        for item in value:
            if isinstance(item, CacheItems) or isinstance(item, (dict, list)) and len(item) > _STREAM_MIN_ITEMS:
                if run:
                    yield separator + _dumps(run, sort_keys=True, ensure_ascii=False)[1:-1]
                    separator, run = ", ", []
                yield separator
                yield from json_chunks(item, depth + 1)
                separator = ", "
                continue
            run.append(item)
            if len(run) >= _BATCH:
                yield separator + _dumps(run, sort_keys=True, ensure_ascii=False)[1:-1]
                separator, run = ", ", []
        if run:
            yield separator + _dumps(run, sort_keys=True, ensure_ascii=False)[1:-1]
        yield "]"
    else:
        yield _dumps(value, sort_keys=True, ensure_ascii=False)


def _big(value, depth=3):
    """True when ``json_chunks`` writes ``value`` in pieces: a big dict or list, ``CacheItems``, or a small dict or
    list holding one of them in its first ``depth`` levels (a source's record in the cache file, the Argus target's
    record of its policies)."""
    if isinstance(value, CacheItems):
        return True
    if isinstance(value, dict):
        if len(value) > _STREAM_MIN_ITEMS:
            return True
        members = value.values()
    elif isinstance(value, (list, tuple)):
        if len(value) > _STREAM_MIN_ITEMS:
            return True
        members = value
    else:
        return False
    return depth > 0 and any(_big(item, depth - 1) for item in members
                             if isinstance(item, (dict, list, tuple, CacheItems)))


def write_json_atomic(path, value, mode, unchanged=None, buffer_size=1 << 16):
    """Write ``json.dumps(value, sort_keys=True, ensure_ascii=False)`` (UTF-8) to ``path`` as ``write_atomic`` does
    (a temporary file in the same directory, fsync, mode, rename), in pieces (``json_chunks``) hashed as they are
    written. ``unchanged``: the sha256 of the file as it is; when the text is the same the temporary file is
    dropped and the file left as it was. Returns ``(sha256 of the text, written)``."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    written = False
    try:
        with os.fdopen(fd, "wb") as handle:
            pending, size = [], 0
            for piece in json_chunks(value):
                pending.append(piece)
                size += len(piece)
                if size >= buffer_size:
                    data = "".join(pending).encode("utf-8")
                    digest.update(data)
                    handle.write(data)
                    pending, size = [], 0
            data = "".join(pending).encode("utf-8")
            digest.update(data)
            handle.write(data)
            if unchanged is not None and digest.hexdigest() == unchanged:
                return unchanged, False
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, path)
        written = True
        return digest.hexdigest(), True
    finally:
        if not written:
            try:
                os.unlink(tmp)
            except OSError:
                pass


class CacheItems(object):
    """The cache dicts of ``entries`` (``Entry.cache_dict(with_sources, compact)``), built one at a time when
    iterated (twice at most: the digest, then the file), never all at once: what the module gives
    ``State.set_source_cache`` and keeps as the last good list (``json_chunks`` writes it as the list)."""

    def __init__(self, entries, with_sources=False, compact=False):
        self.entries = entries
        self.with_sources = with_sources
        self.compact = compact

    def __len__(self):
        return len(self.entries)

    def __iter__(self):
        with_sources, compact = self.with_sources, self.compact
        for entry in self.entries:
            yield entry.cache_dict(with_sources=with_sources, compact=compact)


def items_digest(items):
    """sha256 of ``json.dumps(list(items), sort_keys=True, ensure_ascii=False)``, computed item by item."""
    digest = hashlib.sha256(b"[")
    separator, run = b"", []
    for item in items:
        run.append(item)
        if len(run) >= _BATCH:
            digest.update(separator + json.dumps(run, sort_keys=True, ensure_ascii=False)[1:-1].encode("utf-8"))
            separator, run = b", ", []
    if run:
        digest.update(separator + json.dumps(run, sort_keys=True, ensure_ascii=False)[1:-1].encode("utf-8"))
    digest.update(b"]")
    return digest.hexdigest()


class SourceTimes(object):
    """When each source was last read successfully (``<state_dir>/<name>.sources.json``, 0600): the age of the
    cached list that ``on_source_failure: use_cache`` falls back on. A small file of its own, rewritten by every run
    that reads a source, so that the state file (the whole list, possibly large) is still rewritten only when the
    list changes."""

    VERSION = 1

    def __init__(self, path, state_path):
        self.path = path
        self.state_path = state_path
        self.times = {}
        self.raw = None
        self.warnings = []

    def load(self):
        try:
            with open(self.path, "rb") as handle:
                self.raw = handle.read()
            data = json.loads(self.raw.decode("utf-8"))
            if isinstance(data, dict) and data.get("version") == self.VERSION and isinstance(data.get("sources"), dict):
                self.times = self._valid(data["sources"])
        except (IOError, OSError, ValueError):
            self.times = {}  # unreadable: last_ok falls back on the state file's time
        return self

    def _valid(self, sources):
        """The entries whose ``read_ok`` parses; the others are dropped with a warning (last_ok then falls back on
        the state file's time) rather than failing the run, or every later one, with a traceback."""
        kept = {}
        for name, data in sources.items():
            try:
                parse_time(data["read_ok"])
            except (GridsecError, KeyError, TypeError):
                self.warnings.append("%s: ignored the unreadable read time of source %s: %r" % (self.path, name, data))
                continue
            kept[name] = data
        return kept

    def last_ok(self, name):
        """The last successful read of ``name`` (aware datetime), or None when unknown. A state written by a version
        without this file: its modification time, which is never later than the last good read. That time is
        recorded for ``name`` at once (saved with the file): the state file's time moves whenever another source or
        the list changes, and a source already dead at the upgrade must still reach its ``cache_max_age``."""
        when = (self.times.get(name) or {}).get("read_ok")
        if when:
            return parse_time(when)
        try:
            moment = datetime.datetime.fromtimestamp(os.stat(self.state_path).st_mtime, UTC)
        except OSError:
            return None
        self.mark(name, moment)
        return parse_time(self.times[name]["read_ok"])

    def mark(self, name, moment):
        self.times[name] = {"read_ok": iso(moment)}

    def save(self):
        raw = json.dumps({"version": self.VERSION, "sources": self.times}, sort_keys=True).encode("utf-8")
        if raw != self.raw:
            write_atomic(self.path, raw, 0o600)
            self.raw = raw


class StoredList(Mapping):
    """key -> Entry of a list read back from the state: ``len`` and ``values()`` need no key; the key index is
    built when a key is first asked for (a target that compares with what it holds)."""

    def __init__(self, entries):
        self._entries = entries
        self._by_key = None

    def _index(self):
        if self._by_key is None:
            self._by_key = dict((entry.key, entry) for entry in self._entries)
        return self._by_key

    def __len__(self):
        return len(self._entries)

    def __iter__(self):
        return iter(self._index())

    def __getitem__(self, key):
        return self._index()[key]

    def __contains__(self, key):
        return key in self._index()

    def values(self):
        return list(self._entries)


# -- state file (last good list, per-source cache, ownership) ------------------------------------------------
class State(object):
    """JSON state of one sync (``<state_dir>/<name>.state.json``, 0600): the last good merged list, the digest of
    each source's last good read (its entries, for ``on_source_failure: use_cache`` and the merge, in
    ``<state_dir>/<name>.cache.json``, 0600) and what each target owns."""

    VERSION = 1

    def __init__(self, path):
        self.path = path
        self.data = {"version": self.VERSION, "last_good": None, "sources": {}, "targets": {}}
        self.exists = False
        self.sha256 = None  # of the file as read or last written: a save that would write the same text does not
        # the entries of each source's last good read live in a file of their own (``<name>.cache.json``), read
        # only when the merge needs them: a run whose sources are unchanged loads the last good list alone
        stem = path[:-len(".state.json")] if path.endswith(".state.json") else path
        self.cache_path = stem + ".cache.json"
        self._cache = None
        self._cache_dirty = False
        self._cache_lost = set()  # sources whose recorded digest found no entries in the cache file
        self._cache_new = {}  # name -> entries of a read recorded since the cache file was read (not yet written)

    def load(self):
        if not os.path.exists(self.path):
            return self
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read()
            self.sha256 = hashlib.sha256(raw).hexdigest()
            data = json.loads(raw.decode("utf-8"))
            del raw  # the parsed state only: the bytes are not kept (a large list is several MB)
        except (IOError, OSError, ValueError) as err:
            raise ConfigError("cannot read the state file %s: %s (move it away to start from scratch)"
                              % (self.path, err), operation="read state")
        if not isinstance(data, dict) or data.get("version") != self.VERSION:
            raise ConfigError("state file %s has an unknown format" % self.path, operation="read state")
        self.data = data
        self.data.setdefault("sources", {})
        self.data.setdefault("targets", {})
        self.exists = True
        return self

    def last_good_keys(self):
        """The entry keys of the last good list (a set), or None before the first good run; no Entry is built."""
        last = self.data.get("last_good")
        if last is None:
            return None
        return set(stored_item_key(item) if "key" in item or "k" in item else Entry.trusted(item).key
                   for item in last.get("entries", []))

    def last_good_entries(self):
        last = self.data.get("last_good")
        if last is None:
            return None
        return [Entry.from_cache(item) for item in last.get("entries", [])]

    def last_good_merged(self):
        """The last good list as the merge gives it (key -> Entry, with the sources of each entry), from the
        state alone: nothing is parsed again."""
        last = self.data.get("last_good")
        if last is None:
            return None
        trusted = Entry.trusted
        return StoredList([trusted(item, sources=item.get("sources") or ()) for item in last.get("entries", [])])

    def source_count(self, name):
        """The number of entries cached for ``name`` (no entry built), 0 when none."""
        stored = self.data["sources"].get(name) or {}
        if "count" in stored:
            return stored["count"]
        return len(self._cached(name) or ())

    def _caches(self):
        """name -> ``{"sha256", "entries"[, "entries_sha256"]}`` of the cache file (read once, when first needed;
        {} when missing or unreadable: the sources are then parsed again), with the reads recorded since."""
        if self._cache is None:
            self._cache = {}
            try:
                with open(self.cache_path, "rb") as handle:
                    data = json.loads(handle.read().decode("utf-8"))
                sources = data.get("sources") if isinstance(data, dict) and data.get("version") == self.VERSION else None
                if isinstance(sources, dict):
                    self._cache = sources
            except (IOError, OSError, ValueError):
                pass
            self._cache.update(self._cache_new)
        return self._cache

    def _cached(self, name):
        """The cached entries (JSON dicts) of ``name``, None when there are none for its recorded digests."""
        stored = self.data["sources"].get(name)
        if stored is None:
            return None
        if "entries" in stored:  # a state written by an earlier version: the cache inside it
            return stored["entries"]
        if name in self._cache_new:
            return list(self._cache_new[name]["entries"])
        cache = self._caches().get(name)
        if not isinstance(cache, dict) or cache.get("sha256") != stored.get("sha256") \
                or ("entries_sha256" in stored and cache.get("entries_sha256") != stored["entries_sha256"]):
            self._cache_lost.add(name)
            return None
        return cache.get("entries")

    def source_cache(self, name):
        cached = self._cached(name)
        if cached is None:
            return None
        return [Entry.trusted(item, sources=[name]) for item in cached]

    def set_source_cache(self, name, sha256, entries):
        """Record the last good read of ``name``: the digest of what was read (``sha256``, None for a PAP), the
        count and the digest of its entries (JSON dicts, ``Entry.cache_dict``, or ``CacheItems``) in the state, the
        entries in the cache file; both written by the next ``save``. True when that changed them.

        Decided by digests: the cache file is not read to compare (the entries of a changed source replace its
        cached ones unread). Unchanged = the same read digest, count and entries digest as the state records, and
        the cache file was not found without them (``source_cache``)."""
        stored = self.data["sources"].setdefault(name, {})
        digest = items_digest(entries)
        if "entries" not in stored and stored.get("sha256") == sha256 and stored.get("count") == len(entries) \
                and stored.get("entries_sha256") == digest and name not in self._cache_lost:
            return False
        stored.pop("entries", None)
        stored["sha256"] = sha256
        stored["count"] = len(entries)
        stored["entries_sha256"] = digest
        record = {"sha256": sha256, "entries": entries, "entries_sha256": digest}
        self._cache_new[name] = record
        if self._cache is not None:
            self._cache[name] = record
        self._cache_lost.discard(name)
        self._cache_dirty = True
        return True

    def _write_cache(self):
        """The cache file: the entries recorded by this run, those of the other sources as the file has them
        (read only when there are other sources to keep)."""
        others = [name for name in self.data["sources"] if name not in self._cache_new]
        if others:
            sources = dict(self._caches())
        else:
            sources = dict(self._cache_new)
        write_json_atomic(self.cache_path, {"version": self.VERSION, "sources": sources}, 0o600)

    def source_digest(self, name):
        return (self.data["sources"].get(name) or {}).get("sha256")

    def target(self, name):
        return self.data["targets"].setdefault(name, {})

    def targets_snapshot(self):
        """What the targets keep in the state, as bytes that differ whenever it changed (``targets_changed``).

        ``marshal`` format 2 (no back-references, so the same objects always give the same bytes): it writes type
        and value exactly, so any change that would change the JSON written changes the bytes too. The converse may
        fail (keys re-inserted in another order, an equal dict rebuilt): the state is then serialised, found equal
        to the file and not written. About a twentieth of ``json.dumps(..., sort_keys=True)`` of the Argus
        target's record of 10,000 rules. What marshal cannot write (never JSON either): the sorted JSON text."""
        targets = self.data.get("targets") or {}
        try:
            return marshal.dumps(targets, 2)
        except ValueError:
            return json.dumps(targets, sort_keys=True, default=repr).encode("utf-8")

    def targets_changed(self, snapshot):
        """True when the targets' part of the state may differ from ``snapshot`` (``targets_snapshot``)."""
        return self.targets_snapshot() != snapshot

    def save(self, dirty=True):
        """Write the state (0600, atomically, in pieces: ``write_json_atomic``); returns False when it is unchanged
        (nothing written).

        ``dirty=False`` says the caller changed nothing since ``load``: no serialisation at all.
        """
        if not dirty and self.sha256 is not None and not self._cache_dirty:
            return False
        for name, stored in sorted(self.data["sources"].items()):
            if "entries" in stored:  # a cache inside the state (earlier version): moved to the cache file
                self.set_source_cache(name, stored.get("sha256"), stored["entries"])
        if self._cache_dirty:
            # first: a state that names a digest always finds its entries (else they are parsed again)
            self._write_cache()
            self._cache_dirty = False
        digest, written = write_json_atomic(self.path, self.data, 0o600, unchanged=self.sha256)
        self.sha256 = digest
        return written


# -- audit log ---------------------------------------------------------------------------------------------------
class AuditLog(object):
    """JSON-lines audit log (created 0600): one line per change, check-mode runs marked."""

    def __init__(self, path, run_id, check_mode, sync_name):
        self.path = path
        self.run_id = run_id
        self.check_mode = bool(check_mode)
        self.sync_name = sync_name
        self.lines = []
        self._user = None

    @property
    def user(self):
        """Who runs the sync (``(sudo from ...)`` added), found when the first line is recorded: a run that
        records nothing does not load ``getpass`` (and ``termios``)."""
        if self._user is None:
            import getpass  # pylint: disable=import-outside-toplevel

            try:
                user = getpass.getuser()
            except Exception:  # pylint: disable=broad-except
                user = str(os.getuid())
            sudo = os.environ.get("SUDO_USER")
            if sudo and sudo != user:
                user = "%s (sudo from %s)" % (user, sudo)
            self._user = user
        return self._user

    def record(self, target, action, entry=None, result="ok", **extra):
        line = {"time": iso(utcnow()), "run": self.run_id, "sync": self.sync_name, "user": self.user,
                "check_mode": self.check_mode, "target": target, "action": action, "result": result}
        if entry is not None:
            if isinstance(entry, Entry):
                line["entry"] = {"kind": entry.kind, "value": entry.value}
                for field in ("reason", "origin", "ticket"):
                    if field in entry.meta:
                        line[field] = entry.meta[field]
            else:
                line["entry"] = {"kind": entry.get("kind"), "value": entry.get("value")}
                for field in ("reason", "origin", "ticket"):
                    if entry.get(field):
                        line[field] = entry[field]
        line.update(extra)
        # kept as its text (UTF-8), not as a dict: a first sync of 100,000 entries records 100,000 lines
        self.lines.append((json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))

    def flush(self, batch_bytes=1 << 16):
        """Append the lines recorded (each whole, in order) in writes of about ``batch_bytes``: the log of a large
        change is never one string."""
        if not self.path or not self.lines:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            pending, size = [], 0
            for line in self.lines:
                pending.append(line)
                size += len(line)
                if size >= batch_bytes:
                    _write_all(fd, b"".join(pending))
                    pending, size = [], 0
            if pending:
                _write_all(fd, b"".join(pending))
        finally:
            os.close(fd)
        self.lines = []


def _write_all(fd, data):
    """``os.write`` until all of ``data`` is written (a write may be short)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


__all__ = ["parse_duration", "format_age", "json_chunks", "write_json_atomic", "CacheItems", "items_digest",
           "SourceTimes", "State", "AuditLog"]
