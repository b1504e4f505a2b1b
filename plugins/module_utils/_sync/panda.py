# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Sync target ``panda``: PanDA bans (``users.status``) of the users behind suspended DNs.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.gridsec.ops.plugins.module_utils._dn import clean_user_id
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
from ansible_collections.gridsec.ops.plugins.module_utils._panda_module import PANDA_DB_SPEC
from ansible_collections.gridsec.ops.plugins.module_utils._suspension_list import DN, FQAN, iso, sort_key, utcnow
from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import SyncTarget, TargetResult

DB_KEYS = tuple(PANDA_DB_SPEC)
# a panda target's database options are the module's own, each overriding the top-level one when set: no default
# here, or db_backend would always override
_DB_OPTIONS = copy.deepcopy(PANDA_DB_SPEC)
_DB_OPTIONS["db_backend"].pop("default", None)

# JEDI task states in which a task/kill has nothing left to do (the same list as panda_job_kill's; a module cannot
# import another module, so it is repeated here).
FINAL_TASK_STATES = ("finished", "done", "prepared", "broken", "aborted", "toabort", "aborting", "failed")
TASK_KILL_OUTCOMES = {0: "kill_registered", 2: "not_found", 4: "rejected_state"}  # PandaClient.kill_task codes


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
    # FQAN entries reach the target and are counted in skipped_fqans (a PanDA ban is per user)
    KINDS = frozenset([DN, FQAN])
    # the canary would be a new banned user every day
    CANARY_DEFAULT = "skip"
    OPTIONS = dict(
        panda_url=dict(type="str"),
        create_missing=dict(type="bool", default=True),
        kill_jobs=dict(type="bool", default=False),
        kill_code=dict(type="int", default=9),
        kill_tasks=dict(type="bool", default=False),
        allow_similar_names=dict(type="bool", default=False),
        **_DB_OPTIONS
    )

    def __init__(self, spec, ctx, db=None, client_factory=None):
        """``db``/``client_factory``: an open ``PandaDB``-like object and a ``PandaClient`` factory (tests); by
        default the database is connected from the ``db_*`` options and the client built from ``panda_url``."""
        self.name = spec["name"]
        self.db = db if db is not None else self._connect(spec, ctx)
        owned = ctx.target_state(self.name).setdefault("owned_bans", {})
        self.owned = owned  # dict name -> {"dn": ..., "since": ...} (from the state file; updated on commit)
        self.create_missing = spec.get("create_missing", True)
        self.kill_jobs = spec.get("kill_jobs", False)
        self.kill_tasks = spec.get("kill_tasks", False)
        self.kill_code = spec.get("kill_code", 9)
        self.allow_similar_names = spec.get("allow_similar_names", False)
        self.client_factory = client_factory or (lambda: self._client(spec, ctx))
        self.result = TargetResult(self.name, self.kind)
        self.statements = []

    @staticmethod
    def _connect(spec, ctx):
        from ansible_collections.gridsec.ops.plugins.module_utils import _panda_db

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
    def _client(spec, ctx):
        from ansible_collections.gridsec.ops.plugins.module_utils._panda_client import PandaClient

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
        from ansible_collections.gridsec.ops.plugins.module_utils._panda_db import BAN_STATUS, Statement

        statement = Statement("get_banned_users", "SELECT DISTINCT name FROM \"%s\".users WHERE status = :status"
                              % self.db.meta_schema, {"status": BAN_STATUS})
        rows = self.db._run(statement, fetch=True)  # pylint: disable=protected-access
        self.statements.append(statement.to_dict())
        self.result.data["reads"] += 1
        return set(row[0] for row in rows)

    def sync(self, wanted, check_mode):
        from ansible_collections.gridsec.ops.plugins.module_utils._panda_db import BAN_STATUS, NAME_MAX

        data = self.result.data
        users = {}
        unmapped = []
        skipped_fqans = 0
        for entry in sorted(wanted.values(), key=sort_key):
            if entry.kind != DN:
                skipped_fqans += 1
                continue
            name = clean_user_id(entry.value)
            if not name or not name.strip() or name == entry.value or len(name) > NAME_MAX:
                unmapped.append(entry.value)
                continue
            users.setdefault(name, entry)
        data["skipped_fqans"] = skipped_fqans
        data["unmapped"] = unmapped
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
            outcomes = []
            for name, entry in to_ban:
                rows, stmts = self.db.get_user_rows(name, for_update=not check_mode)
                self.statements.extend(stmts)
                data["reads"] += 1
                if rows:
                    action = "ban"
                    if not check_mode:
                        _count, stmts = self.db.set_status(name, BAN_STATUS)
                        self.statements.extend(stmts)
                        data["writes"] += 1
                elif self._similar_refused(name, entry, outcomes):
                    continue
                elif self.create_missing:
                    action = "create_banned"
                    if not check_mode:
                        _count, stmts = self.db.create_banned_user(name, entry.value)
                        self.statements.extend(stmts)
                        data["writes"] += 1
                else:
                    outcomes.append({"user": name, "dn": entry.value, "action": "none", "outcome": "no_row"})
                    continue
                outcomes.append({"user": name, "dn": entry.value, "action": action,
                                 "outcome": "would_" + action if check_mode else "done"})
            for name in to_lift:
                if not check_mode:
                    _count, stmts = self.db.set_status(name, None)
                    self.statements.extend(stmts)
                    data["writes"] += 1
                outcomes.append({"user": name, "dn": self.owned[name].get("dn"), "action": "unban",
                                 "outcome": "would_unban" if check_mode else "done"})
            if check_mode:
                self.db.rollback()
            else:
                self.db.commit()
        except GridsecError:
            try:
                self.db.rollback()
            except Exception:  # pylint: disable=broad-except
                pass
            raise
        data["outcomes"] = outcomes
        data["changed"] = any(o["action"] in ("ban", "create_banned", "unban") for o in outcomes)
        if len(to_ban) != len([o for o in outcomes if o["action"] in ("ban", "create_banned")]):
            done = [o for o in outcomes if o["action"] in ("ban", "create_banned")]
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
        refused = [o for o in outcomes if o["outcome"] == "similar_name"]
        if refused:
            data["problems"] = ["PanDA user %r (%s) has no row, but %s matches it apart from case/spacing (PanDA user "
                                "names are case-sensitive): not banned; ban that name if it is the person, or set "
                                "allow_similar_names=true to create a banned row for %r anyway"
                                % (o["user"], o["dn"], ", ".join(repr(n) for n in o["similar_users"]), o["user"])
                                for o in refused]
        if self.kill_jobs or self.kill_tasks:
            self._kill([o for o in outcomes if o["action"] == "ban"], check_mode)
        data["operations"] = [{"operation": s.get("operation"), "binds": s.get("binds")} for s in self.statements]
        return data

    def _similar_refused(self, name, entry, outcomes):
        """Near-name check (``PandaDB.find_similar_users``, as ``panda_user_ban`` does) before a banned row is
        created for a user who has none: True (and the outcome recorded) when it refuses."""
        similar, stmts = self.db.find_similar_users(name)
        self.statements.extend(stmts)
        self.result.data["reads"] += 1
        if not similar:
            return False
        names = sorted(set(row["name"] for row in similar))
        if self.allow_similar_names:
            self.result.data.setdefault("warnings", []).append(
                "PanDA user %r has no row, but %s matches it apart from case/spacing (not changed)"
                % (name, ", ".join(repr(n) for n in names)))
            return False
        outcomes.append({"user": name, "dn": entry.value, "action": "none", "outcome": "similar_name",
                         "similar_users": names})
        return True

    def _user_tasks(self, client, name):
        tasks = []
        for task in client.get_tasks_detailed_info_since(user_name=name):
            task_id = task.get("jediTaskID")
            owner = task.get("userName")
            if task_id is None or (owner is not None and owner != name):
                continue
            tasks.append({"task_id": int(task_id), "status": task.get("status")})
        return tasks

    def _kill_tasks(self, client, name, check_mode):
        """Kill the unfinished JEDI tasks of ``name``; a task with a kill already registered in PRODSYS_COMM
        (``PandaDB.get_task_commands``, as ``panda_job_kill`` checks) is not killed again."""
        tasks = self._user_tasks(client, name)
        self.result.data["reads"] += 1
        open_tasks = [t for t in tasks if t["status"] not in FINAL_TASK_STATES]
        try:
            pending, stmts = self.db.get_task_commands([t["task_id"] for t in open_tasks])
            self.statements.extend(stmts)
        except GridsecError as err:
            pending = {}
            self.result.data.setdefault("warnings", []).append(
                "cannot read pending task commands (%s): task kills are sent without checking for a pending one"
                % err)
            try:
                self.db.rollback()  # PostgreSQL: the failed statement aborted the transaction
            except Exception:  # pylint: disable=broad-except
                pass
        out = []
        for task in open_tasks:
            command = pending.get(task["task_id"])
            item = dict(task)
            if command is not None and (command.get("command") or "").lower() == "kill":
                item["outcome"] = "kill_pending"
            elif check_mode:
                item["outcome"] = "would_kill"
            else:
                reply = client.kill_task(task["task_id"])
                self.result.data["writes"] += 1
                item["message"] = reply["message"]
                item["outcome"] = TASK_KILL_OUTCOMES.get(reply["code"], "refused")
            out.append(item)
        return out

    def _kill(self, newly_banned, check_mode):
        """Kill the active jobs (found in the database) and, with ``kill_tasks``, the tasks of newly banned users.
        The ban is already committed: a kill that fails is listed, it does not undo the ban."""
        data = self.result.data
        kills = []
        client = None
        for outcome in newly_banned:
            item = {"user": outcome["user"], "job_ids": []}
            try:
                if self.kill_tasks:
                    if client is None:
                        client = self.client_factory()
                    item["tasks"] = self._kill_tasks(client, outcome["user"], check_mode)
                    if any(t["outcome"] in ("would_kill", "kill_registered") for t in item["tasks"]):
                        data["changed"] = True
                if self.kill_jobs:
                    jobs, stmts = self.db.find_active_jobs(outcome["user"])
                    self.statements.extend(stmts)
                    ids = [job["pandaid"] for job in jobs]
                    item["job_ids"] = ids
                    if ids and not check_mode:
                        if client is None:
                            client = self.client_factory()
                        results = client.kill_jobs(ids, code=self.kill_code)
                        item["killed"] = [i for i, ok in zip(ids, results) if ok]
                        item["refused"] = [i for i, ok in zip(ids, results) if not ok]
                        data["writes"] += 1
                        data["changed"] = data["changed"] or bool(item["killed"])
                    elif ids:
                        item["would_kill"] = ids
                        data["changed"] = True
            except GridsecError as err:
                item["error"] = str(err)
                data.setdefault("problems", []).append("kill for PanDA user %r: %s (the ban is in place)"
                                                       % (outcome["user"], err))
            kills.append(item)
        try:
            self.db.rollback()
        except Exception:  # pylint: disable=broad-except
            pass
        data["kills"] = kills
