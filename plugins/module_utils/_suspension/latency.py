# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Propagation latency of ``suspension_status``: when each target first showed a serial and a day's canary.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

The history file (option ``history_file``, JSON, written atomically by the module) holds, per target name::

    {"last_read": ISO, "serials": {"7": {"first_seen": ISO, "missing_at": ISO or null}},
     "canary": {"20261207": {"first_seen": ISO, "missing_at": ISO or null}}}

and, for the whole sync, ``serials_first`` (serial -> the earliest time any target is known to have held it).
``missing_at`` is the last read of the target before ``first_seen`` (it did not show the serial/canary then);
null when the target already showed it the first time this history read it.

The time a target is taken to have received a serial/canary, and how exact that is (``latency_bound``):

* ``exact``: the sync's own ``applied`` time of the serial the target holds, earlier than our first sight (the
  sync stamps the time it applied each serial; the content has not changed since). For the canary the applied
  time is exact only when an earlier read of the target saw the canary missing before it (the content changes
  only when a change is applied), otherwise it is an upper bound;
* ``check``: our first sight, with an earlier read that did not show it: the real latency lies between
  ``latency_min_seconds`` (that earlier read) and ``latency_seconds``;
* ``upper``: already there the first time this history read the target: ``latency_seconds`` is only an upper bound.

Bounded: per target the newest ``KEEP_SERIALS`` serials and ``KEEP_DAYS`` canary days; a target not read for
``FORGET_TARGET`` seconds is dropped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import datetime
import json
import re

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import iso, parse_time

KEEP_SERIALS = 20
KEEP_DAYS = 14
FORGET_TARGET = 60 * 86400
VERSION = 1


def to_seconds(moment):
    """POSIX seconds of an aware datetime."""
    return calendar.timegm(moment.utctimetuple())


def parse_moment(value, option):
    """POSIX seconds (int) of an option given as POSIX time (number) or ISO 8601 text; None when unset."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if re.match(r"^\d+(\.\d+)?$", text):
        return int(float(text))
    try:
        moment = parse_time(text)
    except (GridsecError, ValueError) as err:
        raise ConfigError("%s %r is neither a POSIX time nor an ISO 8601 time: %s" % (option, value, err),
                          operation="check options")
    if moment is None:
        return None
    return to_seconds(moment)


def _iso_seconds(text):
    if not text:
        return None
    try:
        return to_seconds(parse_time(text))
    except (GridsecError, ValueError, TypeError):
        return None


def iso_of(seconds):
    return iso(datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc))


def load(path):
    """The history at ``path`` (a fresh one when the file is missing or unreadable: the latency then starts again
    as an upper bound, never a wrong exact figure); ``(history, note or None)``."""
    empty = {"version": VERSION, "targets": {}, "serials_first": {}}
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except (IOError, OSError) as err:
        if getattr(err, "errno", None) == 2:
            return empty, None
        return empty, "history file %s unreadable (%s): latencies start again" % (path, err)
    except ValueError as err:
        return empty, "history file %s is not JSON (%s): latencies start again" % (path, err)
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("targets"), dict):
        return empty, "history file %s has an unknown format: latencies start again" % path
    data.setdefault("serials_first", {})
    return data, None


def dump(history):
    return (json.dumps(history, sort_keys=True, indent=1) + "\n").encode("utf-8")


def _record(events, key, now_iso, last_read):
    """The record of ``key`` (serial/day) at one target, created at this read when new."""
    rec = events.get(key)
    if rec is None:
        rec = {"first_seen": now_iso, "missing_at": last_read}
        events[key] = rec
    return rec


def observe(history, items, now, canary_date):
    """Update ``history`` with this check's ``items`` (status items of readable targets; ``now``: POSIX seconds):
    the serial each target holds and, when the canary is checked and present, the day ``canary_date``."""
    now_iso = iso_of(now)
    targets = history["targets"]
    for item in items:
        if item.get("error"):
            continue
        tgt = targets.setdefault(item["name"], {"last_read": None, "serials": {}, "canary": {}})
        last_read = tgt.get("last_read")
        serial = item.get("serial")
        if serial is not None:
            rec = _record(tgt["serials"], str(serial), now_iso, last_read)
            applied = _iso_seconds(item.get("applied"))
            seen = _iso_seconds(rec["first_seen"])
            held = min(seen, applied) if applied is not None else seen
            first_any = _iso_seconds(history["serials_first"].get(str(serial)))
            if first_any is None or held < first_any:
                history["serials_first"][str(serial)] = iso_of(held)
        if canary_date and item.get("canary_present") is True:
            _record(tgt["canary"], canary_date, now_iso, last_read)
        tgt["last_read"] = now_iso
    _prune(history, now)
    return history


def _prune(history, now):
    targets = history["targets"]
    for name in list(targets):
        tgt = targets[name]
        last = _iso_seconds(tgt.get("last_read"))
        if last is not None and now - last > FORGET_TARGET:
            del targets[name]
            continue
        for key in sorted(tgt["serials"], key=int)[:-KEEP_SERIALS]:
            del tgt["serials"][key]
        for key in sorted(tgt["canary"])[:-KEEP_DAYS]:
            del tgt["canary"][key]
    serials = history["serials_first"]
    for key in sorted(serials, key=int)[:-KEEP_SERIALS]:
        del serials[key]


def _arrival(rec, applied):
    """``(arrival seconds, bound, earliest possible arrival or None)`` from a history record and the target's
    applied time of the same content (None when it does not apply)."""
    seen = _iso_seconds(rec["first_seen"])
    missing = _iso_seconds(rec.get("missing_at"))
    if applied is not None and applied < seen:
        if missing is None or applied > missing:
            return applied, "exact", applied
        # applied before a read that did not show it: the stamp belongs to something else; trust our reads
    if missing is None:
        return seen, "upper", None
    return seen, "check", missing


def latencies(history, item, reference, issued, canary_date, canary_since):
    """The latency fields of one status item: ``latency_seconds``, ``latency_min_seconds``, ``latency_bound``,
    ``serial_seen`` (when the target is taken to have received the reference serial), and the same for the
    canary (``canary_latency_seconds``, ``canary_latency_min_seconds``, ``canary_latency_bound``, ``canary_seen``).
    ``issued``/``canary_since``: POSIX seconds or None."""
    out = {"latency_seconds": None, "latency_min_seconds": None, "latency_bound": None, "serial_seen": None,
           "canary_latency_seconds": None, "canary_latency_min_seconds": None, "canary_latency_bound": None,
           "canary_seen": None}
    tgt = history["targets"].get(item["name"])
    if tgt is None or item.get("error"):
        return out
    applied = _iso_seconds(item.get("applied"))
    if reference is not None and issued is not None:
        rec = tgt["serials"].get(str(reference))
        if rec is not None:
            own = applied if item.get("serial") == reference else None
            when, bound, low = _arrival(rec, own)
            out.update(latency_seconds=max(0, when - issued), latency_bound=bound, serial_seen=iso_of(when),
                       latency_min_seconds=None if low is None else max(0, low - issued))
    if canary_date and canary_since is not None:
        rec = tgt["canary"].get(canary_date)
        if rec is not None and item.get("canary_present") is True:
            when, bound, low = _arrival(rec, applied)
            if bound == "exact" and rec.get("missing_at") is None:
                bound, low = "upper", None  # the content is older than our first read: the canary came at or before
            out.update(canary_latency_seconds=max(0, when - canary_since), canary_latency_bound=bound,
                       canary_seen=iso_of(when),
                       canary_latency_min_seconds=None if low is None else max(0, low - canary_since))
    return out


def serial_issued(history, reference, given):
    """``(POSIX seconds or None, source)``: the option's time, else the earliest time a target is known to have
    held the reference serial (``first target``: the latencies are then relative to the fastest target)."""
    if given is not None:
        return given, "option"
    if reference is None:
        return None, None
    first = _iso_seconds(history["serials_first"].get(str(reference)))
    return (first, "first target") if first is not None else (None, None)
