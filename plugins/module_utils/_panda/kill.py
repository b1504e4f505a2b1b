# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The PanDA job and task killer: the one home of "kill these jobs / this user's jobs and tasks".

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Used by ``panda_job_kill`` and by the PanDA target of ``suspension_list_sync`` (after a ban). It takes a
``PandaClient`` factory, optionally a ``PandaDB`` factory (to find a user's jobs in the active tables, check the
user name and read pending task commands) and the options as a dict, never a module. ``JobKiller.run()`` returns
the result dict; a failure that must still report per item (a refused kill, an unknown user) is a
``GridsecError`` carrying that result (``_module_base.with_result``).

Facts (panda-server ``job/kill`` and JEDI, read in their source): ``job/kill`` answers one boolean per job
(``DBProxy.killJob``): ``true`` only means "flag written" (the job is archived as cancelled in the same transaction
unless it is running), ``false`` that nothing was written (unknown or finished job, not allowed, already flagged).
So the states before the kill decide what is sent (from the database rows that found the jobs, otherwise one
``get_description`` per 1000 ids), and after it one light ``job/get_status`` read of the jobs sent tells killed from
flagged from refused; a job the server answered ``false`` for is never counted as killed. Running analysis jobs are
only flagged (the pilot kills them); a production-role kill of an analysis job needs code 9, 91 or 99; a task kill
is a command JEDI executes later (pending ones are in ``PRODSYS_COMM``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import with_result
from ansible_collections.gridsec.ops.plugins.module_utils._panda.names import resolve_user_name

DEFAULT_OPTIONS = dict(user=None, dn=None, job_ids=None, jobset_id=None, prod_source_labels=["user", "panda"],
                       kill_tasks=False, kill_jobs=True, max_tasks=500, code=9, kill_options=None,
                       unknown_user="fail", fail_on_refused=True, list_jobs=True)

KNOWN_CODES = (2, 3, 4, 7, 8, 9, 10, 50, 51, 52, 55, 60, 91, 99)
ADMIN_ANALYSIS_CODES = (2, 4, 7, 8, 9, 10, 50, 51, 52, 91, 99)
ANALYSIS_LABELS = ("user", "panda")
FINAL_JOB_STATES = ("finished", "failed", "cancelled", "closed")
DEFINED_TABLE_STATES = ("assigned", "defined", "pending", "waiting")  # the statuses a jobsDefined4 row has
TASK_KILL_OUTCOMES = {0: "kill_registered", 2: "not_found", 4: "rejected_state"}  # PandaClient.kill_task codes
FINAL_TASK_STATES = ("finished", "done", "prepared", "broken", "aborted", "toabort", "aborting", "failed")
OUTCOMES = ("killed", "flagged", "already_flagged", "already_finished", "not_found", "refused")


def parse_code(value):
    """Kill code option: an int, or None for none/null/empty; "invalid" for anything else."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
        return None
    if isinstance(value, bool):
        return "invalid"
    try:
        return int(value)
    except (TypeError, ValueError):
        return "invalid"


def _field(record, name):
    """A field of a server record, whatever the case of its key (JediTaskSpec names or DB column names)."""
    if name in record:
        return record[name]
    lowered = name.lower()
    for key, value in record.items():
        if key.lower() == lowered:
            return value
    return None


def _job_state(desc):
    if not desc:
        return None
    return {"status": desc.get("jobStatus"), "command": desc.get("commandToPilot"),
            "label": desc.get("prodSourceLabel"), "owner": desc.get("prodUserName"),
            "jobset": desc.get("jobsetID"), "defined_table": desc.get("jobStatus") in DEFINED_TABLE_STATES}


def _db_job_state(row, owner):
    """The state of a job from its ``PandaDB.find_active_jobs`` row (the rows are selected by owner)."""
    return {"status": row["jobstatus"], "command": row["commandtopilot"], "label": row["prodsourcelabel"],
            "owner": owner, "jobset": row["jobsetid"], "defined_table": row["table"] == "jobsdefined4"}


def _state_after_kill(before, status, accepted):
    """The state of a job sent to ``job/kill`` from its ``job/get_status`` entry (``accepted``: the kill reply).

    ``job/get_status`` reads jobsActive4 and the last hour of jobsArchived4 only: ``unknown`` means the job is
    in neither. A job accepted but not archived is then still in jobsDefined4, with the flag; one refused there is
    unchanged; any other job is gone (None)."""
    if status.get("status") in (None, "unknown"):
        if accepted:
            return dict(before, command="tobekilled")
        return dict(before) if before["defined_table"] else None
    command = status.get("command")
    return dict(before, status=status["status"], command=None if command in (None, "NULL") else command)


def _task_text(task):
    return "%s%s" % (task["status"], " (kill pending)" if task["outcome"] == "kill_pending" else "")


def _is_final(state):
    return state is not None and state["status"] in FINAL_JOB_STATES


def _is_flagged(state):
    return state is not None and state["command"] == "tobekilled"


def _state_text(state):
    if state is None:
        return "not found"
    return state["status"] + (" (tobekilled)" if _is_flagged(state) and not _is_final(state) else "")


class JobKiller(object):
    """Kills the jobs (and tasks) that ``options`` (``DEFAULT_OPTIONS`` keys) select.

    ``client_factory()`` gives the ``PandaClient`` (built on first use); ``db_factory()``, when given, the open
    ``PandaDB`` (the caller commits/closes it; this class only reads and rolls back). ``caller_name`` is the PanDA
    name of the credential the client uses (None when unknown, e.g. with a token).
    """

    def __init__(self, client_factory, options, check_mode=False, db_factory=None, caller_name=None,
                 server_label="PanDA server", diff=False):
        self.params = dict(DEFAULT_OPTIONS)
        self.params.update(options)
        self._client_factory = client_factory
        self._client = None
        self.db_factory = db_factory
        self.check_mode = check_mode
        self.diff = diff
        self.server_label = server_label
        self.code = parse_code(self.params["code"])
        self.caller_name = caller_name
        self.statements = []
        self.warnings = []
        self.changed_so_far = False  # something was sent: a failure after it still reports changed
        self.known_states = None  # {pandaid: state} when the jobs were found with their states (database)

    @property
    def db_configured(self):
        return self.db_factory is not None

    def client(self):
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def operations(self):
        """The API calls sent so far (the client's ``operations``), for ``requests``."""
        return list(getattr(self._client, "operations", None) or [])

    def _db_done(self):
        """Nothing of the killer is written through the database: end its read transaction."""
        if self.db_configured:
            self.db_factory().rollback()

    # -- finding jobs and tasks ---------------------------------------------------------------------
    def user_tasks(self, name):
        tasks = self.client().get_tasks_detailed_info_since(user_name=name, n_tasks=self.params["max_tasks"])
        out = []
        for task in tasks:
            task_id = _field(task, "jediTaskID")
            owner = _field(task, "userName")
            if task_id is None or (owner is not None and owner != name):
                continue
            out.append({"jediTaskID": int(task_id), "status": _field(task, "status")})
        return out

    def check_user(self, name, result):
        """With the database: is ``name`` a PanDA user? Raises or warns (``unknown_user``) when it is not."""
        db = self.db_factory()
        rows, statements = db.get_user_rows(name)
        self.statements.extend(statements)
        result["user_found"] = bool(rows)
        if rows:
            return True
        similar, statements = db.find_similar_users(name)
        self.statements.extend(statements)
        result["similar_users"] = sorted(set(row["name"] for row in similar))
        near = ""
        if similar:
            near = (" %s matches it apart from case/spacing (PanDA user names are case-sensitive): use that name if "
                    "it is the person." % ", ".join(repr(n) for n in result["similar_users"][:5]))
        msg = ("PanDA user %r is unknown: no row in %s.users (never submitted, or the name is misspelt).%s "
               "Nothing was killed." % (name, db.meta_schema, near))
        self._db_done()
        result["statements"] = list(self.statements)
        if self.params["unknown_user"] == "fail":
            raise with_result(ConfigError(msg), **result)
        self.warnings.append(msg)
        return False

    def pending_task_commands(self, tasks):
        """``{task_id: command dict}`` of the commands registered in PRODSYS_COMM, or None when unreadable."""
        if not self.db_configured:
            return None
        try:
            commands, statements = self.db_factory().get_task_commands([t["jediTaskID"] for t in tasks])
        except GridsecError as err:
            self.warnings.append("cannot read pending task commands (%s): task kills are sent again without checking "
                                 "for a pending one" % err)
            return None
        self.statements.extend(statements)
        return commands

    def user_job_ids(self, name, tasks):
        """``(source, ids)``; from the database, the rows' states are kept in ``known_states`` (no API read)."""
        if self.db_configured:
            jobs, statements = self.db_factory().find_active_jobs(name, labels=self.params["prod_source_labels"],
                                                                  jobset_id=self.params.get("jobset_id"))
            self.statements.extend(statements)
            self._db_done()
            self.known_states = dict((job["pandaid"], _db_job_state(job, name)) for job in jobs)
            return "db", [job["pandaid"] for job in jobs]
        client = self.client()
        ids = set()
        for task in tasks if tasks is not None else self.user_tasks(name):
            ids.update(client.get_task_job_ids(task["jediTaskID"]))
        return "tasks_api", sorted(ids)

    # -- classification -----------------------------------------------------------------------------
    def no_code_refusal(self, state):
        """Reason when a kill without code would certainly be ignored, else None."""
        if self.code is not None or state["label"] not in ANALYSIS_LABELS:
            return None
        if self.caller_name is None or self.caller_name == state["owner"]:
            return None
        return ("no kill code: %s is not the owner (%s); PanDA ignores a production-role kill of an analysis job "
                "without code 9, 91 or 99" % (self.caller_name, state["owner"]))

    def refusal_reason(self, state):
        reason = self.no_code_refusal(state)
        if reason:
            return reason
        if self.code is None and state["label"] in ANALYSIS_LABELS and self.caller_name is None:
            return ("PanDA returned false: a production-role caller must pass code 9, 91 or 99 to kill analysis jobs, "
                    "and other callers may only kill their own jobs")
        if self.caller_name is not None and self.caller_name != state["owner"]:
            return ("PanDA returned false: %s is not the owner (%s) and was not accepted as production role for this "
                    "job (label %s, code %s)" % (self.caller_name, state["owner"], state["label"], self.code))
        return "PanDA returned false and the job shows no kill flag (label %s, code %s)" % (state["label"], self.code)

    def predicted_after(self, state):
        if state["status"] == "running" and self.code != 99:
            return "flagged", dict(state, command="tobekilled")
        return "killed", dict(state, status="cancelled", command="tobekilled")

    # -- run ----------------------------------------------------------------------------------------
    def new_result(self):
        return dict(changed=False, user=None, source="job_ids", jobs=[], tasks=[], statements=[], requests=[],
                    code=self.code, summary={}, job_ids_by_outcome=dict((o, []) for o in OUTCOMES),
                    user_found=None, similar_users=[])

    def check_options(self, result, by_user):
        params = self.params
        if self.code == "invalid" or (self.code is not None and self.code not in KNOWN_CODES):
            result["code"] = None
            raise with_result(ConfigError("code %s is not a PanDA kill code (known: %s, or none)"
                                          % (params["code"], ", ".join(str(c) for c in KNOWN_CODES))), **result)
        if params.get("jobset_id") is not None and not by_user:
            raise with_result(ConfigError("jobset_id needs user or dn (job set ids are per user)"), **result)
        if params["kill_tasks"] and not by_user:
            raise with_result(ConfigError("kill_tasks needs user or dn"), **result)

    def find_user_work(self, result):
        """The user's tasks (or None) and job ids; None for both when the user is unknown (``unknown_user=warn``)."""
        params = self.params
        name, _dn = resolve_user_name(params.get("user"), params.get("dn"))
        result["user"] = name
        if self.db_configured and not self.check_user(name, result):
            return name, None, None, None
        tasks = pending = None
        if params["kill_tasks"] or not self.db_configured:
            tasks = self.user_tasks(name)
            if not tasks and not self.db_configured:
                self.warnings.append("no JEDI task of PanDA user %r found through the API: the user may be unknown "
                                     "(names are case-sensitive) or have no tasks; the API cannot tell, give the db_* "
                                     "options to check the users table" % name)
        if params["kill_tasks"] and tasks:
            pending = self.pending_task_commands(tasks)
        ids = []
        if params["kill_jobs"]:
            result["source"], ids = self.user_job_ids(name, tasks)
        else:
            result["source"] = "db" if self.db_configured else "tasks_api"
        return name, tasks, pending, ids

    def kill_one_task(self, task, pending):
        entry = {"task_id": int(task["jediTaskID"]), "status": task.get("status"), "message": ""}
        command = (pending or {}).get(entry["task_id"])
        if task.get("status") in FINAL_TASK_STATES:
            entry["outcome"] = "already_final"
        elif command is not None and (command.get("command") or "").lower() == "kill":
            entry["outcome"] = "kill_pending"
            entry["message"] = command.get("comment") or ""
        elif self.check_mode:
            entry["outcome"] = "would_kill"
        else:
            reply = self.client().kill_task(entry["task_id"])
            entry["message"] = reply["message"]
            entry["outcome"] = TASK_KILL_OUTCOMES.get(reply["code"], "refused")
            if entry["outcome"] == "kill_registered":
                self.changed_so_far = True
        return entry

    def classify(self, ids, before, name):
        """``(entries by id, ids to kill, inactive count)`` from the states read before the kill."""
        params = self.params
        labels = params["prod_source_labels"]
        inactive = 0
        entries = {}
        to_kill = []
        for panda_id in ids:
            state = before[panda_id]
            if name is not None:
                if state is None or _is_final(state):
                    inactive += 1
                    continue
                if state["owner"] != name or (labels and state["label"] not in labels):
                    continue
                if params.get("jobset_id") is not None and state["jobset"] != params["jobset_id"]:
                    continue
            entry = {"pandaid": panda_id, "status_before": state["status"] if state else None,
                     "status_after": state["status"] if state else None,
                     "command_after": state["command"] if state else None,
                     "prod_source_label": state["label"] if state else None,
                     "owner": state["owner"] if state else None, "killed_by_this_run": False}
            entries[panda_id] = entry
            if state is None:
                entry["outcome"] = "not_found"
            elif _is_final(state):
                entry["outcome"] = "already_finished"
            elif _is_flagged(state) and not (self.code == 99 and state["status"] == "running"):
                entry["outcome"] = "already_flagged"
            elif self.no_code_refusal(state):
                entry["outcome"] = "refused"
                entry["reason"] = self.no_code_refusal(state)
            else:
                to_kill.append(panda_id)
        return entries, to_kill, inactive

    def kill(self, to_kill, before, entries):
        """Kill (or predict) ``to_kill``; returns the states after."""
        after = dict(before)
        if to_kill and self.check_mode:
            for panda_id in to_kill:
                outcome, predicted = self.predicted_after(before[panda_id])
                after[panda_id] = predicted
                entries[panda_id].update(outcome=outcome, status_after=predicted["status"],
                                         command_after=predicted["command"])
            return after
        if not to_kill:
            return after
        client = self.client()
        replies = dict(zip(to_kill, client.kill_jobs(to_kill, code=self.code, kill_options=self.params["kill_options"])))
        self.changed_so_far = self.changed_so_far or any(replies.values())
        for panda_id, status in zip(to_kill, client.get_job_statuses(to_kill)):
            accepted = replies[panda_id]
            state = _state_after_kill(before[panda_id], status, accepted)
            after[panda_id] = state
            entry = entries[panda_id]
            entry.update(killed_by_this_run=accepted, status_after=state["status"] if state else None,
                         command_after=state["command"] if state else None)
            if state is None:
                entry["outcome"] = "not_found"
            elif _is_final(state):
                entry["outcome"] = "killed" if accepted else "already_finished"
            elif accepted:  # the flag is written; the job runs until the pilot's next heartbeat
                entry["outcome"] = "flagged"
            elif _is_flagged(state):
                entry["outcome"] = "already_flagged"
            else:
                entry.update(outcome="refused", reason=self.refusal_reason(before[panda_id]))
        return after

    def report(self, result, jobs, inactive, before, after):
        ids_by_outcome = dict((outcome, []) for outcome in OUTCOMES)
        for entry in jobs:
            ids_by_outcome[entry["outcome"]].append(entry["pandaid"])
        summary = dict((outcome, len(ids_by_outcome[outcome])) for outcome in OUTCOMES)
        summary["inactive_skipped"] = inactive
        task_changed = any(t["outcome"] in ("would_kill", "kill_registered") for t in result["tasks"])
        changed = task_changed or summary["killed"] > 0 or summary["flagged"] > 0
        listed = jobs if self.params["list_jobs"] else [e for e in jobs if e["outcome"] in ("refused", "not_found")]
        result.update(changed=changed, jobs=listed, job_ids_by_outcome=ids_by_outcome, summary=summary,
                      requests=self.operations(), statements=list(self.statements))
        if self.diff:
            result["diff"] = {
                "before": {"jobs": dict((str(e["pandaid"]), _state_text(before.get(e["pandaid"]))) for e in jobs),
                           "tasks": dict((str(t["task_id"]), _task_text(t)) for t in result["tasks"])},
                "after": {"jobs": dict((str(e["pandaid"]), _state_text(after.get(e["pandaid"]))) for e in jobs),
                          "tasks": dict((str(t["task_id"]), "kill registered" if t["outcome"] in
                                         ("kill_registered", "would_kill") else _task_text(t))
                                        for t in result["tasks"])},
            }

    def check_refusals(self, result, jobs):
        refused_jobs = [e for e in jobs if e["outcome"] == "refused"]
        refused_tasks = [t for t in result["tasks"] if t["outcome"] == "refused"]
        if not (refused_jobs or refused_tasks) or not self.params["fail_on_refused"]:
            return
        parts = []
        if refused_jobs:
            ids = [e["pandaid"] for e in refused_jobs]
            parts.append("%d job(s) refused (%s%s): %s" % (len(ids), ", ".join(str(i) for i in ids[:10]),
                                                           ", ..." if len(ids) > 10 else "", refused_jobs[0]["reason"]))
        if refused_tasks:
            parts.append("%d task(s) refused (%s): %s" % (
                len(refused_tasks), ", ".join(str(t["task_id"]) for t in refused_tasks),
                refused_tasks[0]["message"] or "no message"))
        raise with_result(GridsecError("%s: %s" % (self.server_label, "; ".join(parts))), **result)

    def run(self, connect_first=True):
        """Kill what the options select; returns the result (see ``panda_job_kill`` RETURN). ``connect_first``:
        build the client (check the connection options) before anything is read, even when nothing is killed."""
        params = self.params
        result = self.new_result()
        by_user = params.get("user") is not None or params.get("dn") is not None
        self.check_options(result, by_user)
        if connect_first:
            self.client()
        name = tasks = pending = None
        if by_user:
            name, tasks, pending, ids = self.find_user_work(result)
            if ids is None:
                result.update(source="db", summary=dict([(o, 0) for o in OUTCOMES] + [("inactive_skipped", 0)]),
                              statements=list(self.statements))
                return result
        else:
            ids = sorted(set(int(i) for i in params["job_ids"]))
        if params["kill_tasks"]:  # tasks first: once the kill is registered, JEDI generates no new jobs for them
            result["tasks"] = [self.kill_one_task(task, pending) for task in tasks or []]
        if self.known_states is not None:
            before = self.known_states
        else:
            before = dict(zip(ids, [_job_state(d) for d in self.client().get_job_descriptions(
                ids, include_archive=True)])) if ids else {}
        entries, to_kill, inactive = self.classify(ids, before, name)
        after = self.kill(to_kill, before, entries)
        jobs = [entries[i] for i in ids if i in entries]
        self.report(result, jobs, inactive, before, after)
        self.check_refusals(result, jobs)
        return result
