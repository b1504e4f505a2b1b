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
   ``_suspension.entries.Entry``, only entries of a kind in ``KINDS``; the others are reported as
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

import copy

from ansible_collections.gridsec.ops.plugins.module_utils._http_options import TLS_KEYS, transport_options
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import sort_key
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.sources import connection_settings


def entry_lines(entries, limit=None):
    """The result form (``Entry.to_dict()``) of ``entries`` in list order, the first ``limit`` when given."""
    items = sorted(entries, key=sort_key)
    return [e.to_dict() for e in (items if limit is None else items[:limit])]


class SyncContext(object):
    """What a target gets from the sync besides its own ``spec`` (contract C3).

    ``params`` (the module's parameters), ``check_mode``, ``sync_name``; ``target_state(name)`` (a dict kept in
    the sync's state file, written only when not in check mode), ``settings(spec, keys)`` (a target's own value
    of each key, else the module-level option of that name), ``tls_options(spec)`` (``HttpTransport`` keyword
    arguments), ``pap_client(spec, role)`` (a ``PapClient``), ``require_library(lib, import_error, why)``,
    ``run_command(argv)`` and ``warn(msg)``.

    Freshness (contract C2): ``list_serial`` is the serial of the signed list this run applies (None when no
    source is signed) and ``applied_at`` the time of this run (ISO 8601 UTC); a target records both with what it
    writes, but a run that changes nothing on the target writes nothing (the recorded time is that of the last
    change the target applied, see docs/sync-targets.md, "Freshness").
    """

    def __init__(self, module, state, list_serial=None, applied_at=None):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.sync_name = module.params["name"]
        self._state = state
        self.list_serial = list_serial
        self.applied_at = applied_at
        #: names of the targets that asked for their state: the sync saves the state file after they changed
        self.stateful = set()
        #: look-ups of this run that a later step may reuse instead of asking the server again (never saved), e.g.
        #: the IAM accounts of the DNs ``resolve_tokens`` looked up, which the ``iam`` target needs too
        self.memo = {}

    def run_command(self, argv):
        """``(rc, stdout, stderr)`` of an argument list (no shell), through the module (``run_command``); a command
        that cannot be started is rc 127 (or the error's own), never an exception."""
        try:
            return self.module.run_command(argv, check_rc=False, handle_exceptions=False)
        except (IOError, OSError) as err:  # not found, not executable: the target reports it as a problem
            return getattr(err, "errno", None) or 127, "", str(err)

    def target_state(self, name):
        self.stateful.add(name)
        data = self._state.target(name)
        # check mode: the target may update what it is given, nothing of it reaches the state file
        return copy.deepcopy(data) if self.check_mode else data

    def settings(self, spec, keys):
        return connection_settings(spec, self.params, keys)

    def tls_options(self, spec):
        """``HttpTransport`` TLS keyword arguments of a source/target: its own values, else the module's."""
        return transport_options(self.settings(spec, TLS_KEYS))

    def pap_client(self, spec, role):
        """A ``PapClient`` for a source or target (``role``) from its ``pap_*`` and TLS options (the one PAP
        endpoint builder, ``_argus.endpoint.PapEndpoint``); replies up to 1 GiB (a whole large policy tree)."""
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.endpoint import PapEndpoint

        conn = self.settings(spec, ("pap_host", "pap_port", "pap_path"))
        endpoint = PapEndpoint.from_params(conn)
        return endpoint.client(self.tls_options(spec), role="%s %s" % (role, spec["name"]),
                               max_response_bytes=1024 * 1024 * 1024)

    def require_library(self, lib, import_error, why=None):
        self.module.require_library(lib, import_error, why=why)

    def warn(self, msg):
        self.module.warn(msg)


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
    #: the entry kinds (``_suspension.entries.DN``, ``FQAN``, ...) this target enforces
    KINDS = frozenset()
    #: ``canary`` when the target's spec leaves it out: ``keep`` or ``skip``
    CANARY_DEFAULT = "skip"
    #: the argument-spec entries of the ``targets`` items that only this type uses: a dict of ``specs.py``, which the
    #: registry reads without importing the class (``registry.target_spec``)
    OPTIONS = {}
    #: ``(library, import error or None, why)`` checked before any source is read (a missing one fails the task)
    LIBRARIES = ()

    @classmethod
    def spec_problems(cls, spec):
        """Option problems of one target's ``spec`` (no I/O): a list of messages."""
        return []

    def sync(self, wanted, check_mode):
        raise NotImplementedError

    def status(self, canary):
        """What the target really enforces now, read from the target (no write), for ``suspension_status``
        (contract C2): a dict with ``serial`` (int or None), ``applied`` (ISO 8601 UTC or None), ``entries`` (int),
        ``canary_present`` (True/False, None when ``canary``, a list of ``Entry``, is empty) and ``problems``."""
        raise NotImplementedError("target type %s has no status reading" % self.TYPE)

    def audit_records(self, data, check_mode):
        """``(action, item, fields)`` tuples for the audit log; the default records added/removed entries."""
        result = "planned" if check_mode else "done"
        records = [("add", item, {"result": result}) for item in data.get("added", [])]
        records.extend(("remove", item, {"result": result}) for item in data.get("removed", []))
        return records

    def close(self):
        """Release connections; called after ``sync``, also when it failed."""
