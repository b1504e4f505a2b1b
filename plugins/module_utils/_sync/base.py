# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The interface every ``suspension_list_sync`` target type implements.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

A target type is one class, in one file of this package, listed in ``registry.TARGET_TYPES`` under the value
of the target's ``type`` option. The sync calls, for each target of the task, in this order:

1. ``cls.spec_problems(spec)``: option checks that need no I/O, before any source is read (a non-empty
   list fails the task and no target is touched);
2. ``cls(spec, ctx)``: build it (clients, database connections; ``ctx`` is the sync's ``SyncContext``);
3. ``target.sync(wanted, check_mode)``: read the current state once, compare it with ``wanted`` (key ->
   ``_suspension_list.Entry``, only entries of a kind in ``KINDS``; the others are reported as
   ``not_applicable`` by the sync, never silently dropped), write only what differs (nothing in check mode,
   nothing on a no-op) and return the result dict (``TargetResult.data``);
4. ``target.audit_records(data, check_mode)``: the audit lines for what it did;
5. ``target.close()``, always.

Every target keeps the same rails: it removes only what the sync owns (its marked objects, the lines of its
file, the bans recorded in its state), never leaves a half-applied state without saying so in ``problems``,
and names its server and operation in every error (a ``GridsecError`` raised from ``sync`` fails this target
only; the other targets still run).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class TargetResult(object):
    """The result of one target: what the task returns under ``targets[]`` and what the audit log records."""

    def __init__(self, name, kind):
        self.data = {"name": name, "type": kind, "changed": False, "added": [], "removed": [],
                     "added_count": 0, "removed_count": 0, "kept_count": 0, "before_count": 0, "after_count": 0,
                     "operations": [], "reads": 0, "writes": 0}

    def counts(self, before, added, removed):
        self.data.update(before_count=before, added_count=len(added), removed_count=len(removed),
                         kept_count=before - len(removed), after_count=before - len(removed) + len(added))


class SyncTarget(object):
    """Base class of a target type (see the module docstring for the protocol)."""

    #: the value of the target's ``type`` option
    TYPE = None
    #: the entry kinds (``_suspension_list.DN``, ``FQAN``, ...) this target enforces
    KINDS = frozenset()
    #: ``canary`` when the target's spec leaves it out: ``keep`` or ``skip``
    CANARY_DEFAULT = "skip"

    @classmethod
    def spec_problems(cls, spec):
        """Option problems of one target's ``spec`` (no I/O): a list of messages."""
        return []

    def sync(self, wanted, check_mode):
        raise NotImplementedError

    def audit_records(self, data, check_mode):
        """``(action, item, fields)`` tuples for the audit log; the default records added/removed entries."""
        result = "planned" if check_mode else "done"
        records = [("add", item, {"result": result}) for item in data.get("added", [])]
        records.extend(("remove", item, {"result": result}) for item in data.get("removed", []))
        return records

    def close(self):
        """Release connections; called after ``sync``, also when it failed."""
