# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Sync target ``panda``: PanDA bans (``users.status``) of the users behind suspended DNs.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
from ansible_collections.gridsec.ops.plugins.module_utils._panda.ban import SIMILAR, apply_ban, plan_ban
from ansible_collections.gridsec.ops.plugins.module_utils._panda.db import NAME_MAX
from ansible_collections.gridsec.ops.plugins.module_utils._panda.kill import JobKiller
from ansible_collections.gridsec.ops.plugins.module_utils._panda.module import PANDA_DB_SPEC
from ansible_collections.gridsec.ops.plugins.module_utils._panda.names import panda_ban_keys, x509_key
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import (
    DN,
    FQAN,
    TOKEN,
    iso,
    sort_key,
    utcnow,
)
from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import SyncTarget, TargetResult
from ansible_collections.gridsec.ops.plugins.module_utils._sync import specs
from ansible_collections.gridsec.ops.plugins.module_utils._sync.freshness import (
    applied_of,
    canary_presence,
    record_applied,
    status_result,
)

DB_KEYS = tuple(PANDA_DB_SPEC)

# Ban planning/apply (_panda.ban), the job/task killer (_panda.kill) and the PanDA names of an identity
# (_panda.names) are shared with panda_user_ban and panda_job_kill: one semantics, tested once.


def panda_entry_keys(entry):
    """The PanDA names to ban for one list entry: the X.509 name of a DN; for a token identity (contract C2:
    ``subject``, optional ``name`` in the metadata) the token name and the bare subject (``panda_ban_keys``)."""
    if entry.kind == DN:
        return [x509_key(entry.value)]
    subject = getattr(entry, "subject", None) or entry.value
    return panda_ban_keys(token_name=entry.meta.get("name"), token_subject=subject)


class PandaTarget(SyncTarget):
    """The PanDA ban storage (``type: panda``): ``users.status`` in the PanDA database.

    Options: ``create_missing``, ``kill_jobs``, ``kill_code``, ``kill_tasks``, ``allow_similar_names``,
    ``panda_url`` (job/task kills) and the ``db_*`` options (each defaulting to the module-level option), the TLS
    options for the PanDA API.

    Validation: none without I/O; the database driver of ``db_backend`` is checked when the target is built.
    Read: the names with the ban status (one query) and, per user to ban, its rows (``FOR UPDATE``) and the
    near names (``PandaDB.find_similar_users``). The user name of a DN is the server's ``clean_user_id``;
    FQAN entries name no user: they are counted in ``skipped_fqans``, DNs without a usable name in ``unmapped``.
    Plan/apply in ONE transaction (rolled back in check mode and on any error): ban the users not banned yet
    (``set_status``, or ``create_banned_user`` with ``create_missing``), refuse a name with near names unless
    ``allow_similar_names``, lift the bans this sync made for users who left the list; commit. Then, with
    ``kill_jobs``/``kill_tasks``, kill the active jobs / unfinished tasks of newly banned users through the
    PanDA API (a failed kill is a problem, the ban stays).
    Owns: the bans recorded in its state (``ctx.target_state(name)["owned_bans"]``, updated only when not in check
    mode). Never touches: a ban it did not make (counted in ``manual_bans_kept``), any other column or table.
    Audit: one line per user outcome (``ban``, ``create_banned``, ``unban``, ``none``), per job kill, per task
    kill and per failed kill.
    """

    TYPE = "panda"
    kind = TYPE
    # FQAN entries reach the target and are counted in skipped_fqans (a PanDA ban is per user); a token identity
    # is banned under the names PanDA derives from a token (panda_ban_keys)
    KINDS = frozenset([DN, FQAN, TOKEN])
    # the canary would be a new banned user every day
    CANARY_DEFAULT = "skip"
    OPTIONS = specs.PANDA_OPTIONS

    def __init__(self, spec, ctx, db=None, client_factory=None):
        """``db``/``client_factory``: an open ``PandaDB``-like object and a ``PandaClient`` factory (tests); by
        default the database is connected from the ``db_*`` options and the client built from ``panda_url``."""
        self.name = spec["name"]
        self.db = db if db is not None else self._connect(spec, ctx)
        self.ctx = ctx
        self.state = ctx.target_state(self.name)
        owned = self.state.setdefault("owned_bans", {})
        self.owned = owned  # dict name -> {"dn": ..., "since": ...} (from the state file; updated on commit)
        self.create_missing = spec.get("create_missing", True)
        self.kill_jobs = spec.get("kill_jobs", False)
        self.kill_tasks = spec.get("kill_tasks", False)
        self.kill_code = spec.get("kill_code", 9)
        self.allow_similar_names = spec.get("allow_similar_names", False)
        self.client_factory = client_factory or (lambda: self._build_client(spec, ctx))
        self._panda_client = None
        self.result = TargetResult(self.name, self.kind)
        self.statements = []

    @staticmethod
    def _connect(spec, ctx):
        from ansible_collections.gridsec.ops.plugins.module_utils._panda import db as _panda_db

        db = ctx.settings(spec, DB_KEYS)
        backend = db["db_backend"] or "postgresql"
        missing = _panda_db.load_driver(backend) if backend in _panda_db.DRIVER_LIBRARIES else None
        if missing:
            ctx.require_library(_panda_db.DRIVER_LIBRARIES[backend], missing, why="target %s" % spec["name"])
        return _panda_db.PandaDB.connect(
            backend=backend, dsn=db["db_dsn"], host=db["db_host"], port=db["db_port"], name=db["db_name"],
            user=db["db_user"], password=db["db_password"], meta_schema=db["db_meta_schema"],
            panda_schema=db["db_panda_schema"], deft_schema=db["db_deft_schema"],
            connect_timeout=spec.get("timeout") or ctx.params.get("timeout") or 30)

    @staticmethod
    def _build_client(spec, ctx):
        from ansible_collections.gridsec.ops.plugins.module_utils._panda.client import PandaClient

        p = ctx.params
        url = (spec.get("panda_url") or p.get("panda_url") or "").rstrip("/")
        if not url:
            raise ConfigError("kill_jobs needs panda_url", server="target %s" % spec["name"], operation="kill jobs")
        for suffix in ("/api/v1", "/api/latest"):
            if url.endswith(suffix):
                url = url[:-len(suffix)]
        tls = ctx.tls_options(spec)
        label = url.split("://", 1)[-1].split("/", 1)[0]
        return PandaClient(HttpTransport(url, server_label=label, **tls), server_label=label,
                           oidc_token=p.get("oidc_token"), oidc_vo=p.get("oidc_vo"), oidc_role=p.get("oidc_role"))

    def audit_records(self, data, check_mode):
        records = [(o["action"], {"kind": "dn", "value": o["dn"]}, {"result": o["outcome"], "user_name": o["user"]})
                   for o in data.get("outcomes", [])]
        for kill in data.get("kills", []):
            if kill.get("job_ids"):
                records.append(("kill_jobs", None, {"result": "planned" if check_mode else "done",
                                                    "user_name": kill["user"], "job_ids": kill["job_ids"],
                                                    "killed": kill.get("killed"), "refused": kill.get("refused")}))
            records.extend(("kill_tasks", None, {"result": task["outcome"], "user_name": kill["user"],
                                                 "task_id": task["task_id"]}) for task in kill.get("tasks", []))
            if kill.get("error"):
                records.append(("kill", None, {"result": "failed", "user_name": kill["user"],
                                               "error": kill["error"]}))
        return records

    def close(self):
        close = getattr(self.db, "close", None)
        if close is not None:
            close()

    @property
    def label(self):
        return "panda target %s (%s)" % (self.name, self.db.label)

    def _read_banned(self):
        banned, stmts = self.db.get_banned_user_names()
        self.statements.extend(stmts)
        self.result.data["reads"] += 1
        return banned

    def _wanted_users(self, wanted):
        """``({name: entry}, [(name, entry)] per entry...)``: every PanDA name of every applicable entry; entries
        that give no usable name are listed in ``unmapped``."""
        users, groups, unmapped, skipped = {}, [], [], 0
        for entry in sorted(wanted.values(), key=sort_key):
            if entry.kind not in (DN, TOKEN):
                skipped += 1
                continue
            try:
                names = [n for n in panda_entry_keys(entry) if len(n) <= NAME_MAX]
            except GridsecError:
                names = []
            if not names:
                unmapped.append(entry.value)
                continue
            fresh = [n for n in names if n not in users]
            for name in fresh:
                users[name] = entry
            groups.append((entry, fresh))
        data = self.result.data
        data["skipped_fqans"] = skipped
        data["unmapped"] = unmapped
        return users, groups

    def _outcome(self, plan, entry_value, check_mode):
        action = {"update": "ban" if plan.state == "banned" else "unban", "create": "create_banned"}.get(plan.action)
        if plan.problem:
            out = {"user": plan.name, "dn": entry_value, "action": "none", "outcome": plan.problem}
            if plan.problem == SIMILAR:
                out["similar_users"] = sorted(set(row["name"] for row in plan.similar))
            return out
        if action is None:
            return {"user": plan.name, "dn": entry_value, "action": "none", "outcome": "no_row"}
        return {"user": plan.name, "dn": entry_value, "action": action,
                "outcome": "would_" + action if check_mode else "done"}

    def _apply(self, users, state, check_mode, own=None):
        """Plan (and unless in check mode apply) ``state`` for ``users`` (``[(name, dn)]``); returns the plans."""
        plans, stmts = plan_ban(self.db, users, state, create_missing=self.create_missing,
                                allow_similar_names=self.allow_similar_names, lock=not check_mode)
        self.statements.extend(stmts)
        self.result.data["reads"] += len(users)
        for plan in plans:
            self.result.data.setdefault("warnings", []).extend(plan.warnings)
        if not self.result.data.get("warnings"):
            self.result.data.pop("warnings", None)
        if not check_mode:
            stmts = apply_ban(self.db, plans)
            self.statements.extend(stmts)
            self.result.data["writes"] += len([p for p in plans if not p.problem and p.action != "none"])
        return plans

    def _ban_and_lift(self, groups, banned, to_lift, check_mode):
        outcomes = []
        for entry, names in groups:
            todo = [(n, entry.value if entry.kind == DN else None) for n in names if n not in banned]
            if todo:
                for plan in self._apply(todo, "banned", check_mode):
                    outcomes.append(self._outcome(plan, entry.value, check_mode))
                    if plan.problem == SIMILAR:
                        self.result.data.setdefault("problems", []).append(plan.message)
        if to_lift:
            for plan in self._apply([(n, None) for n in to_lift], "unbanned", check_mode):
                outcomes.append(self._outcome(plan, self.owned[plan.name].get("dn"), check_mode))
        return outcomes

    def sync(self, wanted, check_mode):
        data = self.result.data
        users, groups = self._wanted_users(wanted)
        try:
            banned = self._read_banned()
            to_ban = [(n, e) for n, e in sorted(users.items()) if n not in banned]
            to_lift = sorted(n for n in self.owned if n not in users and n in banned)
            gone = sorted(n for n in self.owned if n not in users and n not in banned)
            kept = [n for n in users if n in banned]
            data.update(before_count=len(banned), added_count=len(to_ban), removed_count=len(to_lift),
                        kept_count=len(kept), after_count=len(banned) + len(to_ban) - len(to_lift),
                        owned_before=len(self.owned))
            data["added"] = [{"user": n, "dn": e.value} for n, e in to_ban]
            data["removed"] = [{"user": n, "dn": self.owned[n].get("dn")} for n in to_lift]
            data["manual_bans_kept"] = len([n for n in kept if n not in self.owned])
            outcomes = self._ban_and_lift(groups, banned, to_lift, check_mode)
            if check_mode:
                self.db.rollback()
            else:
                self.db.commit()
        except GridsecError:
            self.db.rollback()
            raise
        self._record(outcomes, banned, to_ban, to_lift, gone, check_mode)
        if not check_mode:
            record_applied(self.state, self.ctx, data["changed"])
        if self.kill_jobs or self.kill_tasks:
            self._kill([o for o in outcomes if o["action"] == "ban"], check_mode)
        data["operations"] = [{"operation": s.get("operation"), "binds": s.get("binds")} for s in self.statements]
        return data

    def _record(self, outcomes, banned, to_ban, to_lift, gone, check_mode):
        data = self.result.data
        data["outcomes"] = outcomes
        data["changed"] = any(o["action"] in ("ban", "create_banned", "unban") for o in outcomes)
        done = [o for o in outcomes if o["action"] in ("ban", "create_banned")]
        if len(to_ban) != len(done):
            data["added"] = [{"user": o["user"], "dn": o["dn"]} for o in done]
            data.update(added_count=len(done), after_count=len(banned) + len(done) - len(to_lift))
        if not check_mode:
            now = iso(utcnow())
            for outcome in outcomes:
                if outcome["outcome"] == "done" and outcome["action"] != "unban":
                    self.owned[outcome["user"]] = {"dn": outcome["dn"], "since": now}
            for name in to_lift + gone:
                self.owned.pop(name, None)
        data["owned_after"] = len(self.owned)

    def _kill_user(self, name, check_mode):
        """Kill the active jobs and, with ``kill_tasks``, the tasks of ``name`` with the killer panda_job_kill uses
        (jobs found in the database with their states, the jobs sent read once after the kill; pending task kills not
        sent again)."""
        options = {"user": name, "kill_jobs": self.kill_jobs, "kill_tasks": self.kill_tasks, "code": self.kill_code,
                   "unknown_user": "warn", "fail_on_refused": False}
        killer = JobKiller(self._client, options, check_mode=check_mode, db_factory=lambda: self.db)
        try:
            result = killer.run(connect_first=False)
        finally:
            self.statements.extend(killer.statements)
            if killer.warnings:
                self.result.data.setdefault("warnings", []).extend(killer.warnings)
        item = {"user": name, "job_ids": [job["pandaid"] for job in result["jobs"]]}
        if self.kill_tasks:
            item["tasks"] = [t for t in result["tasks"] if t["outcome"] != "already_final"]
        by_outcome = result["job_ids_by_outcome"]
        hit = sorted(by_outcome["killed"] + by_outcome["flagged"])
        if check_mode:
            if hit:
                item["would_kill"] = hit
        elif self.kill_jobs and item["job_ids"]:
            item["killed"] = hit
            item["refused"] = by_outcome["refused"]
        self.result.data["reads"] += 1
        if not check_mode:  # one task/kill per task sent, one job/kill batch when jobs were sent
            sent = [t for t in result["tasks"] if t["outcome"] not in ("already_final", "kill_pending")]
            self.result.data["writes"] += len(sent) + (1 if hit or by_outcome["refused"] else 0)
        return item, result["changed"]

    def _client(self):
        """One PandaClient for every kill of this sync (built on first use)."""
        if self._panda_client is None:
            self._panda_client = self.client_factory()
        return self._panda_client

    def _kill(self, newly_banned, check_mode):
        """Kill the jobs/tasks of newly banned users. The ban is already committed: a kill that fails is listed,
        it does not undo the ban."""
        data = self.result.data
        kills = []
        for outcome in newly_banned:
            try:
                item, changed = self._kill_user(outcome["user"], check_mode)
                data["changed"] = data["changed"] or changed
            except GridsecError as err:
                item = {"user": outcome["user"], "job_ids": [], "error": str(err)}
                data.setdefault("problems", []).append("kill for PanDA user %r: %s (the ban is in place)"
                                                       % (outcome["user"], err))
            kills.append(item)
        self.db.rollback()
        data["kills"] = kills

    # -- status (contract C2) -------------------------------------------------------------------------------------
    def status(self, canary):
        """The banned users as the target reads them (one query, nothing written), the serial and time of the last
        change from the state; a ban this sync made that is no longer in force is a problem."""
        try:
            banned = self._read_banned()
        finally:
            self.db.rollback()
        lifted = sorted(name for name in self.owned if name not in banned)
        problems = []
        if lifted:
            problems.append("%d ban(s) this sync made are no longer in force (lifted outside the sync?): %s"
                            % (len(lifted), ", ".join(lifted[:10])))

        def holds(entry):
            names = [n for n in panda_entry_keys(entry) if len(n) <= NAME_MAX]
            return bool(names) and all(n in banned for n in names)

        present, missing = canary_presence(canary, frozenset([DN, TOKEN]), holds)
        serial, applied = applied_of(self.state)
        return status_result(serial, applied, len(banned), present, problems, canary_missing=missing)
