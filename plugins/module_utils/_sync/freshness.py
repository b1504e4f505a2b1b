# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Freshness of a sync target (contract C2): the serial and time of the last change it applied, and the result of
``SyncTarget.status``.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

A file target writes one stamp comment line, ``# gridsec.ops applied: serial=<n|none> applied=<ISO 8601 UTC>``,
in the part of the file it owns; a target with server-side state (PanDA, Rucio) keeps the same two facts in its
state (``applied``). Either is renewed only when the target applies a change (entries, or a new serial of the
signed list): a run that changes nothing writes nothing, so ``applied`` is the time of the last change and a
quiet, unsigned list ages. A signed list gets a new serial at least every ``validity - renew_before`` (the
publisher renews it), so with signed lists the serial (and therefore the age) tells a stale node from a quiet
list.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

STAMP_PREFIX = "# gridsec.ops applied: "
_STAMP_RE = re.compile(r"^# gridsec\.ops applied: serial=(none|[0-9]{1,18}) applied=(none|[0-9TZ:.+-]{10,40})\s*$")


def stamp_line(serial, applied):
    return "%sserial=%s applied=%s" % (STAMP_PREFIX, "none" if serial is None else int(serial), applied or "none")


def parse_stamp(line):
    """``(serial or None, applied ISO text or None)`` of a stamp line, or None for any other line."""
    match = _STAMP_RE.match(line.strip())
    if match is None:
        return None
    serial, applied = match.groups()
    return (None if serial == "none" else int(serial), None if applied == "none" else applied)


def find_stamp(lines):
    """``(index, (serial, applied))`` of the first stamp line in ``lines``, or ``(None, (None, None))``."""
    for index, line in enumerate(lines):
        parsed = parse_stamp(line)
        if parsed is not None:
            return index, parsed
    return None, (None, None)


def stamped(new_lines, position, old_lines, ctx):
    """``new_lines`` with the stamp line inserted at ``position``: the old stamp when nothing else differs from
    ``old_lines`` (same lines once its stamp is taken out, same serial), so an unchanged list rewrites nothing;
    else this run's serial and time (``ctx.list_serial``, ``ctx.applied_at``)."""
    serial = getattr(ctx, "list_serial", None)
    index, (old_serial, old_applied) = find_stamp(old_lines)
    if index is not None and old_serial == serial and old_lines[:index] + old_lines[index + 1:] == list(new_lines) \
            and old_applied is not None:
        line = old_lines[index]
    else:
        line = stamp_line(serial, getattr(ctx, "applied_at", None))
    return list(new_lines[:position]) + [line] + list(new_lines[position:])


def record_applied(state, ctx, changed):
    """Keep the serial and time of the last applied change in a target's state (``state["applied"]``): renewed when
    the target changed or the serial differs, so an unchanged run leaves the state as it was."""
    serial = getattr(ctx, "list_serial", None)
    last = state.get("applied") or {}
    if changed or last.get("serial") != serial or not last.get("time"):
        state["applied"] = {"serial": serial, "time": getattr(ctx, "applied_at", None)}


def applied_of(state):
    """``(serial, applied)`` from a target's state (``record_applied``)."""
    last = (state or {}).get("applied") or {}
    return last.get("serial"), last.get("time")


def status_result(serial=None, applied=None, entries=0, canary_present=None, problems=None, **extra):
    """The dict ``SyncTarget.status`` returns (contract C2), with any extra facts of the target."""
    out = {"serial": serial, "applied": applied, "entries": int(entries), "canary_present": canary_present,
           "problems": list(problems or [])}
    out.update(extra)
    return out


def canary_presence(canary, kinds, holds):
    """``(canary_present, not_enforced)``: None when no canary identity is given or none is of a kind in ``kinds``;
    else True when ``holds(entry)`` is true for every applicable canary identity. ``not_enforced``: the labels of
    the applicable canary identities the target does not enforce."""
    applicable = [entry for entry in canary or () if entry.kind in kinds]
    if not applicable:
        return None, []
    missing = [entry.label() for entry in applicable if not holds(entry)]
    return not missing, missing
