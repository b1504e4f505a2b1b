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
import json
import marshal
import os
import re

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
        self.raw = None
        # the entries of each source's last good read live in a file of their own (``<name>.cache.json``), read
        # only when the merge needs them: a run whose sources are unchanged loads the last good list alone
        stem = path[:-len(".state.json")] if path.endswith(".state.json") else path
        self.cache_path = stem + ".cache.json"
        self._cache = None
        self._cache_dirty = False

    def load(self):
        if not os.path.exists(self.path):
            return self
        try:
            with open(self.path, "rb") as handle:
                self.raw = handle.read()
            data = json.loads(self.raw.decode("utf-8"))
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
        """name -> ``{"sha256", "entries"}`` of the cache file (read once, when first needed; {} when missing or
        unreadable: the sources are then parsed again)."""
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
        return self._cache

    def _cached(self, name):
        """The cached entries (JSON dicts) of ``name``, None when there are none for its recorded digest."""
        stored = self.data["sources"].get(name)
        if stored is None:
            return None
        if "entries" in stored:  # a state written by an earlier version: the cache inside it
            return stored["entries"]
        cache = self._caches().get(name)
        if not isinstance(cache, dict) or cache.get("sha256") != stored.get("sha256"):
            return None
        return cache.get("entries")

    def source_cache(self, name):
        cached = self._cached(name)
        if cached is None:
            return None
        return [Entry.trusted(item, sources=[name]) for item in cached]

    def set_source_cache(self, name, sha256, entries):
        """Record the last good read of ``name``: its digest and count in the state, its entries (JSON dicts,
        ``Entry.cache_dict``) in the cache file; both written by the next ``save``. True when that changed them."""
        stored = self.data["sources"].setdefault(name, {})
        cache = {"sha256": sha256, "entries": entries}
        if "entries" not in stored and stored.get("sha256") == sha256 and stored.get("count") == len(entries) \
                and self._caches().get(name) == cache:
            return False
        stored.pop("entries", None)
        stored["sha256"] = sha256
        stored["count"] = len(entries)
        self._caches()[name] = cache
        self._cache_dirty = True
        return True

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
        """Write the state (0600, atomically); returns False when it is unchanged (nothing written).

        ``dirty=False`` says the caller changed nothing since ``load``: no serialisation at all.
        """
        if not dirty and self.raw is not None and not self._cache_dirty:
            return False
        for name, stored in sorted(self.data["sources"].items()):
            if "entries" in stored:  # a cache inside the state (earlier version): moved to the cache file
                self.set_source_cache(name, stored.get("sha256"), stored["entries"])
        if self._cache_dirty:
            # first: a state that names a digest always finds its entries (else they are parsed again)
            write_atomic(self.cache_path, json.dumps({"version": self.VERSION, "sources": self._caches()},
                                                     sort_keys=True, ensure_ascii=False).encode("utf-8"), 0o600)
            self._cache_dirty = False
        raw = json.dumps(self.data, sort_keys=True, ensure_ascii=False).encode("utf-8")
        if raw == self.raw:
            return False
        write_atomic(self.path, raw, 0o600)
        self.raw = raw
        return True


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
        self.lines.append(line)

    def flush(self):
        if not self.path or not self.lines:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            payload = "".join(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n" for line in self.lines)
            os.write(fd, payload.encode("utf-8"))
        finally:
            os.close(fd)
        self.lines = []


__all__ = ["parse_duration", "format_age", "SourceTimes", "State", "AuditLog"]
