#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: panda_job_kill
short_description: Kill PanDA jobs (and tasks) of a user, of a job set, or by PanDA id
version_added: 0.1.0
description:
  - Kills PanDA jobs through the HTTP API v1 (C(POST /api/v1/job/kill), in batches of at most 1000 ids) and,
    with O(kill_tasks=true), the user's JEDI tasks (C(POST /api/v1/task/kill)) so that no new jobs are
    generated for them.
  - "Targets: O(job_ids); or every active job of a user (O(user) or O(dn)); or the active jobs of one job set
    of a user (O(jobset_id) with O(user) or O(dn))."
  - "Finding a user's jobs: PanDA has no API listing the jobs of a user. When database options are given
    (O(db_host), O(db_name) or O(db_dsn)), the module reads C(jobsDefined4) and C(jobsActive4) directly, like
    the server's C(killUser.py): this sees every queued and running job, including jobs that belong to no JEDI
    task. Otherwise it asks the API for the user's tasks (C(task/get_tasks_detailed_info_since) with the
    C(userName) filter, at most O(max_tasks) tasks) and for the jobs of each task (C(task/get_job_ids)): this
    needs no database access but only sees jobs that belong to a JEDI task."
  - Before killing, the state of every job is read (C(job/get_description_incl_archive)), and read again after
    the kill, so each job is reported with what really happened (see RV(jobs)). A C(true) from PanDA only
    means "flag written"; a C(false) may mean finished, unknown, not allowed or already flagged.
  - Running analysis jobs are only flagged (C(commandToPilot=tobekilled)) and die at the pilot's next
    heartbeat (up to about 30 minutes); queued jobs are cancelled at once. Code V(99) with the production role
    cancels running jobs at once too.
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - with the database options, Python library C(psycopg) (version 3, O(db_backend=postgresql), the default)
    or C(oracledb) (O(db_backend=oracle)) on the host that runs the module
extends_documentation_fragment:
  - gridsec.ops._panda
  - gridsec.ops._tls
  - gridsec.ops._panda_db
  - gridsec.ops._attributes
  - gridsec.ops._attributes.ACTIONGROUP_PANDA
attributes:
  check_mode:
    support: full
    details:
      - Jobs and tasks are read and classified; no kill is sent. Outcomes are predictions.
  diff_mode:
    support: full
  idempotent:
    support: partial
    details:
      - Jobs already cancelled or already flagged are not killed again, so a second run reports no change for
        jobs.
      - A task kill is a command that JEDI executes later; while it is pending the task keeps its status. With the
        database options the module reads the pending commands (C(PRODSYS_COMM) in O(db_deft_schema)) and does
        not send the kill again (RV(tasks[].outcome=kill_pending), no change). Without database access it cannot
        see them, so another run registers the command again and reports a change.
options:
  user:
    description:
      - PanDA user name whose active jobs are killed (case-sensitive, as in C(prodUserName)).
      - Mutually exclusive with O(dn) and O(job_ids).
    type: str
  dn:
    description:
      - Certificate DN of the user (slash or RFC 2253 form), converted to the PanDA user name like in
        M(gridsec.ops.panda_user_ban). A DN with an unknown attribute type (a typo such as V(CM=)) is refused, as
        there.
    type: str
  job_ids:
    description:
      - PanDA ids of the jobs to kill.
    type: list
    elements: int
  jobset_id:
    description:
      - Only kill the jobs of this job set (C(jobsetID), one per user submission) of O(user) or O(dn).
    type: int
  prod_source_labels:
    description:
      - With O(user) or O(dn), only jobs with these C(prodSourceLabel) values are killed (analysis run and build
        jobs by default).
    type: list
    elements: str
    default: [user, panda]
  kill_tasks:
    description:
      - Also send a kill command for every unfinished JEDI task of O(user) or O(dn), before killing the jobs.
    type: bool
    default: false
  max_tasks:
    description:
      - Maximum number of tasks of the user read from the API.
    type: int
    default: 500
  code:
    description:
      - Kill code sent with every job kill.
      - The default V(9) (force kill) is what an operator with the production role needs; PanDA ignores a
        production-role kill of an analysis job without one of the codes V(9), V(91) or V(99) (the reply is
        C(false)). The job owner may use any code.
      - V(99) cancels running analysis jobs at once when the caller has the production role.
      - Set O(code=none) (or C(null)) to send no code (a plain owner kill).
      - An integer, or V(none).
    type: raw
    default: 9
  kill_options:
    description:
      - Options passed to C(job/kill), for example V(keepUnmerged) or V(jobSubStatus=<status>).
    type: list
    elements: str
  unknown_user:
    description:
      - What to do when O(user) (or the name from O(dn)) is not a known PanDA user, which is checked in the
        C(users) table when the database options are given.
      - V(fail) (default) fails the task, naming any user whose name matches apart from case and spacing (a
        misspelt name would otherwise kill nothing and report success).
      - V(warn) returns without killing anything, with a warning and RV(user_found=false) (for example right after
        a pre-emptive ban that created the user's row in check mode).
      - Without database options the API cannot tell an unknown user from one without tasks; when no task is
        found a warning says so.
    type: str
    choices: [fail, warn]
    default: fail
  fail_on_refused:
    description:
      - Fail the task when PanDA refused to kill at least one job or task (not allowed, no code). The per-item
        report is returned either way.
    type: bool
    default: true
  list_jobs:
    description:
      - List every job considered in RV(jobs), with its states before and after.
      - V(false) lists only the jobs that need a look (outcome V(refused) or V(not_found)); RV(job_ids_by_outcome)
        and RV(summary) still account for every job. Meant for users with thousands of jobs, where the full list is
        megabytes of result for the controller to handle and print.
    type: bool
    default: true
notes:
  - The caller needs the production role (VOMS FQAN C(/<vo>/Role=production), a DN listed in the server's
    C(production_dns), or an OIDC token with O(oidc_role=production)) to kill other users' jobs and tasks.
  - When O(code=none) and the caller's certificate shows it is not the owner of an analysis job, the job is
    reported as refused without sending the kill.
  - "Reading pending task commands needs C(SELECT) on C(<db_deft_schema>.PRODSYS_COMM); when that read fails,
    a warning says so and the task kills are sent as without database access."
seealso:
  - module: gridsec.ops.panda_user_ban
"""

EXAMPLES = r"""
- name: Kill every active job and task of a banned user (production-role credential)
  gridsec.ops.panda_job_kill:
    dn: /DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdoe/CN=123456/CN=John Doe
    kill_tasks: true
    code: 9
    panda_url: https://pandaserver.example.org:25443
    proxy_file: /tmp/x509up_ops
  register: killed

- name: Same, finding the jobs in the PanDA database (also sees jobs outside JEDI tasks)
  gridsec.ops.panda_job_kill:
    user: John Doe
    panda_url: https://pandaserver.example.org:25443
    proxy_file: /tmp/x509up_ops
    db_host: pandadb.example.org
    db_name: panda_db
    db_user: panda_reader
    db_password: "{{ vault_panda_db_password }}"

- name: Kill two jobs as their owner (no code)
  gridsec.ops.panda_job_kill:
    job_ids: [1001, 1002]
    code: none
    panda_url: https://pandaserver.example.org:25443
    proxy_file: /tmp/x509up_u1000
"""

RETURN = r"""
user:
  description: PanDA user name targeted (after conversion from O(dn)); V(null) with O(job_ids).
  returned: always
  type: str
user_found:
  description:
    - Whether O(user) has a row in the C(users) table (database options given); V(null) when it could not be
      checked (no database options, or O(job_ids)).
  returned: always
  type: bool
similar_users:
  description: With an unknown user, the user names that match it apart from case and spacing.
  returned: always
  type: list
  elements: str
source:
  description: How the jobs were found, V(job_ids), V(db) or V(tasks_api).
  returned: always
  type: str
jobs:
  description:
    - One entry per job considered. With O(user)/O(dn), jobs that are already finished or unknown are not listed
      (see RV(summary)).
    - With O(list_jobs=false), only the jobs with outcome V(refused) or V(not_found).
  returned: always
  type: list
  elements: dict
  contains:
    pandaid:
      description: PanDA job id.
      type: int
    outcome:
      description:
        - V(killed) (now cancelled or otherwise finished), V(flagged) (still running with the kill flag; the pilot
          kills it at its next heartbeat), V(already_flagged), V(already_finished), V(not_found), V(refused).
        - In check mode, the predicted outcome.
      type: str
    reason:
      description: Why a job was refused.
      type: str
      returned: when RV(jobs[].outcome=refused)
    status_before:
      description: C(jobStatus) before the kill (V(null) if unknown).
      type: str
    status_after:
      description: C(jobStatus) after the kill (predicted in check mode).
      type: str
    command_after:
      description: C(commandToPilot) after the kill.
      type: str
    prod_source_label:
      description: C(prodSourceLabel) of the job.
      type: str
    owner:
      description: C(prodUserName) of the job.
      type: str
    killed_by_this_run:
      description: Whether this run sent a kill for the job and PanDA accepted it.
      type: bool
tasks:
  description: The user's tasks, with O(kill_tasks=true).
  returned: always
  type: list
  elements: dict
  contains:
    task_id:
      description: JEDI task id.
      type: int
    status:
      description: Task status before the command.
      type: str
    outcome:
      description:
        - V(kill_registered), V(kill_pending) (a kill command is already registered and not yet executed by JEDI;
          nothing sent, no change), V(already_final), V(rejected_state), V(not_found), V(refused) or, in check
          mode, V(would_kill).
      type: str
    message:
      description: Message of the server (or, for V(kill_pending), the pending command's comment).
      type: str
job_ids_by_outcome:
  description:
    - The PanDA ids of the jobs considered, per outcome (the outcomes of RV(jobs[].outcome)), sorted; every
      job is here whatever O(list_jobs) says.
  returned: always
  type: dict
  sample: {"killed": [4242, 4243], "flagged": [4250], "already_flagged": [], "already_finished": [],
           "not_found": [], "refused": []}
summary:
  description: Number of jobs per outcome, plus V(inactive_skipped) (finished/unknown jobs of a user not listed).
  returned: always
  type: dict
requests:
  description: API calls made, in order (method, path, number of ids, HTTP status); never credentials.
  returned: always
  type: list
  elements: dict
statements:
  description: SQL statements run to find the user's jobs (database mode only).
  returned: always
  type: list
  elements: dict
code:
  description: Kill code used (V(null) when none is sent).
  returned: always
  type: int
diff:
  description: Job and task states before and after.
  returned: when diff mode is on
  type: dict
error:
  description:
    - Why the task failed, in the same shape for every failure (also one found before any server was contacted).
    - C(type) (the error class, for example V(TLSError), V(AuthorizationError), V(ConfigError), V(MissingLibrary),
      V(ModuleFailure)), C(kind) (V(transport), V(tls), V(remote), V(authorization), V(not_found),
      V(write_refused), V(config), V(missing_library) or V(error)), C(msg), C(server) and C(operation) (null
      when no server operation failed), C(details) (dict of extra facts, never a secret).
  returned: failed
  type: dict
  sample: {"type": "AuthorizationError", "kind": "authorization", "msg": "HTTP 403 Forbidden: the server refused
    this credential", "server": "server.example.org:8443", "operation": "ban", "details": {"status": 403}}
"""

from ansible_collections.gridsec.ops.plugins.module_utils._errors import GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._panda_module import PandaModule, resolve_user_name
from ansible_collections.gridsec.ops.plugins.module_utils._dn import clean_user_id

KNOWN_CODES = (2, 3, 4, 7, 8, 9, 10, 50, 51, 52, 55, 60, 91, 99)
ADMIN_ANALYSIS_CODES = (2, 4, 7, 8, 9, 10, 50, 51, 52, 91, 99)
ANALYSIS_LABELS = ("user", "panda")
FINAL_JOB_STATES = ("finished", "failed", "cancelled", "closed")
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
            "jobset": desc.get("jobsetID")}


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
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.code = parse_code(self.params["code"])
        self.caller_dn = module.caller_dn()
        self.caller_name = clean_user_id(self.caller_dn) if self.caller_dn else None

    # -- finding jobs and tasks ---------------------------------------------------------------------
    def user_tasks(self, name):
        tasks = self.module.client().get_tasks_detailed_info_since(user_name=name, n_tasks=self.params["max_tasks"])
        out = []
        for task in tasks:
            task_id = _field(task, "jediTaskID")
            owner = _field(task, "userName")
            if task_id is None or (owner is not None and owner != name):
                continue
            out.append({"jediTaskID": int(task_id), "status": _field(task, "status")})
        return out

    def check_user(self, name, result):
        """With the database: is ``name`` a PanDA user? Fails or warns (O(unknown_user)) when it is not."""
        db = self.module.db()
        rows, statements = db.get_user_rows(name)
        self.module.record(statements)
        result["user_found"] = bool(rows)
        if rows:
            return True
        similar, statements = db.find_similar_users(name)
        self.module.record(statements)
        result["similar_users"] = sorted(set(row["name"] for row in similar))
        near = ""
        if similar:
            near = (" %s matches it apart from case/spacing (PanDA user names are case-sensitive): use that name if "
                    "it is the person." % ", ".join(repr(n) for n in result["similar_users"][:5]))
        msg = ("PanDA user %r is unknown: no row in %s.users (never submitted, or the name is misspelt).%s "
               "Nothing was killed." % (name, db.meta_schema, near))
        self.module.finish_db(commit=False)
        result["statements"] = self.module.statements
        if self.params["unknown_user"] == "fail":
            self.module.fail_json(msg=msg, **result)
        self.module.warn(msg)
        return False

    def pending_task_commands(self, tasks):
        """``{task_id: command dict}`` of the commands registered in PRODSYS_COMM, or None when unreadable."""
        if not self.module.db_configured:
            return None
        try:
            commands, statements = self.module.db().get_task_commands([t["jediTaskID"] for t in tasks])
        except GridsecError as err:
            self.module.warn("cannot read pending task commands (%s): task kills are sent again without checking "
                             "for a pending one" % err)
            return None
        self.module.record(statements)
        return commands

    def user_job_ids(self, name, tasks):
        if self.module.db_configured:
            db = self.module.db()
            jobs, statements = db.find_active_jobs(name, labels=self.params["prod_source_labels"],
                                                   jobset_id=self.params.get("jobset_id"))
            self.module.record(statements)
            self.module.finish_db(commit=False)
            return "db", [job["pandaid"] for job in jobs]
        client = self.module.client()
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

    # -- main ---------------------------------------------------------------------------------------
    def run(self):
        module = self.module
        params = self.params
        result = dict(changed=False, user=None, source="job_ids", jobs=[], tasks=[], statements=[], requests=[],
                      code=self.code, summary={}, job_ids_by_outcome=dict((o, []) for o in OUTCOMES),
                      user_found=None, similar_users=[])
        if self.code == "invalid" or (self.code is not None and self.code not in KNOWN_CODES):
            result["code"] = None
            module.fail_json(msg="code %s is not a PanDA kill code (known: %s, or none)"
                             % (params["code"], ", ".join(str(c) for c in KNOWN_CODES)), **result)
        by_user = params.get("user") is not None or params.get("dn") is not None
        if params.get("jobset_id") is not None and not by_user:
            module.fail_json(msg="jobset_id needs user or dn (job set ids are per user)", **result)
        if params["kill_tasks"] and not by_user:
            module.fail_json(msg="kill_tasks needs user or dn", **result)
        client = module.client()

        name = None
        tasks = None
        pending = None
        if by_user:
            name, _dn = resolve_user_name(params.get("user"), params.get("dn"))
            result["user"] = name
            if module.db_configured and not self.check_user(name, result):
                result.update(source="db", summary=dict([(o, 0) for o in OUTCOMES] + [("inactive_skipped", 0)]),
                              statements=module.statements)
                module.exit_json(**result)
            if params["kill_tasks"] or not module.db_configured:
                tasks = self.user_tasks(name)
                if not tasks and not module.db_configured:
                    module.warn("no JEDI task of PanDA user %r found through the API: the user may be unknown (names "
                                "are case-sensitive) or have no tasks; the API cannot tell, give the db_* options to "
                                "check the users table" % name)
            if params["kill_tasks"] and tasks:
                pending = self.pending_task_commands(tasks)
            result["source"], ids = self.user_job_ids(name, tasks)
        else:
            ids = sorted(set(int(i) for i in params["job_ids"]))

        # Tasks first: once the kill is registered, JEDI generates no new jobs for them.
        task_changed = False
        task_refused = []
        if params["kill_tasks"]:
            for task in tasks:
                entry = {"task_id": int(task["jediTaskID"]), "status": task.get("status"), "message": ""}
                command = (pending or {}).get(entry["task_id"])
                if task.get("status") in FINAL_TASK_STATES:
                    entry["outcome"] = "already_final"
                elif command is not None and (command.get("command") or "").lower() == "kill":
                    entry["outcome"] = "kill_pending"
                    entry["message"] = command.get("comment") or ""
                elif module.check_mode:
                    entry["outcome"] = "would_kill"
                    task_changed = True
                else:
                    reply = client.kill_task(entry["task_id"])
                    entry["message"] = reply["message"]
                    if reply["code"] == 0:
                        entry["outcome"] = "kill_registered"
                        task_changed = module.changed_so_far = True
                    elif reply["code"] == 2:
                        entry["outcome"] = "not_found"
                    elif reply["code"] == 4:
                        entry["outcome"] = "rejected_state"
                    else:
                        entry["outcome"] = "refused"
                        task_refused.append(entry["task_id"])
                result["tasks"].append(entry)

        before = dict(zip(ids, [_job_state(d) for d in client.get_job_descriptions(ids, include_archive=True)])) \
            if ids else {}
        labels = params["prod_source_labels"]
        inactive = 0
        entries = {}
        to_kill = []
        for panda_id in ids:
            state = before[panda_id]
            if by_user:
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

        after = dict(before)
        if to_kill and module.check_mode:
            for panda_id in to_kill:
                outcome, predicted = self.predicted_after(before[panda_id])
                after[panda_id] = predicted
                entries[panda_id].update(outcome=outcome, status_after=predicted["status"],
                                         command_after=predicted["command"])
        elif to_kill:
            replies = dict(zip(to_kill, client.kill_jobs(to_kill, code=self.code, kill_options=params["kill_options"])))
            module.changed_so_far = module.changed_so_far or any(replies.values())
            for panda_id, desc in zip(to_kill, client.get_job_descriptions(to_kill, include_archive=True)):
                state = _job_state(desc)
                after[panda_id] = state
                entry = entries[panda_id]
                entry["killed_by_this_run"] = replies[panda_id]
                entry["status_after"] = state["status"] if state else None
                entry["command_after"] = state["command"] if state else None
                if state is None:
                    entry["outcome"] = "not_found"
                elif _is_final(state):
                    entry["outcome"] = "killed" if replies[panda_id] else "already_finished"
                elif _is_flagged(state):
                    entry["outcome"] = "flagged" if replies[panda_id] else "already_flagged"
                else:
                    entry["outcome"] = "refused"
                    entry["reason"] = self.refusal_reason(before[panda_id])
                    entry["killed_by_this_run"] = False

        jobs = [entries[i] for i in ids if i in entries]
        ids_by_outcome = dict((outcome, []) for outcome in OUTCOMES)
        for entry in jobs:
            ids_by_outcome[entry["outcome"]].append(entry["pandaid"])
        summary = dict((outcome, len(ids_by_outcome[outcome])) for outcome in OUTCOMES)
        summary["inactive_skipped"] = inactive
        refused_jobs = [e["pandaid"] for e in jobs if e["outcome"] == "refused"]
        changed = task_changed or summary["killed"] > 0 or summary["flagged"] > 0
        listed = jobs if params["list_jobs"] else [e for e in jobs if e["outcome"] in ("refused", "not_found")]
        result.update(changed=changed, jobs=listed, job_ids_by_outcome=ids_by_outcome, summary=summary,
                      requests=module.client_operations(), statements=module.statements)
        if module._diff:
            result["diff"] = {
                "before": {"jobs": dict((str(e["pandaid"]), _state_text(before.get(e["pandaid"]))) for e in jobs),
                           "tasks": dict((str(t["task_id"]), _task_text(t)) for t in result["tasks"])},
                "after": {"jobs": dict((str(e["pandaid"]), _state_text(after.get(e["pandaid"]))) for e in jobs),
                          "tasks": dict((str(t["task_id"]), "kill registered" if t["outcome"] in
                                         ("kill_registered", "would_kill") else _task_text(t))
                                        for t in result["tasks"])},
            }
        if (refused_jobs or task_refused) and params["fail_on_refused"]:
            parts = []
            if refused_jobs:
                first = [e for e in jobs if e["outcome"] == "refused"][0]
                parts.append("%d job(s) refused (%s%s): %s" % (
                    len(refused_jobs), ", ".join(str(i) for i in refused_jobs[:10]),
                    ", ..." if len(refused_jobs) > 10 else "", first["reason"]))
            if task_refused:
                first = [t for t in result["tasks"] if t["outcome"] == "refused"][0]
                parts.append("%d task(s) refused (%s): %s" % (
                    len(task_refused), ", ".join(str(i) for i in task_refused), first["message"] or "no message"))
            module.fail_json(msg="%s: %s" % (module.server_label, "; ".join(parts)), **result)
        module.exit_json(**result)


def main():
    module = PandaModule(
        argument_spec=dict(
            user=dict(type="str"),
            dn=dict(type="str"),
            job_ids=dict(type="list", elements="int"),
            jobset_id=dict(type="int"),
            prod_source_labels=dict(type="list", elements="str", default=["user", "panda"]),
            kill_tasks=dict(type="bool", default=False),
            max_tasks=dict(type="int", default=500),
            code=dict(type="raw", default=9),
            kill_options=dict(type="list", elements="str"),
            unknown_user=dict(type="str", default="fail", choices=["fail", "warn"]),
            fail_on_refused=dict(type="bool", default=True),
            list_jobs=dict(type="bool", default=True),
        ),
        use_db=True,
        mutually_exclusive=[("user", "dn", "job_ids")],
        required_one_of=[("user", "dn", "job_ids")],
        supports_check_mode=True,
    )
    try:
        JobKiller(module).run()
    except GridsecError as err:
        module.fail_from(err)


if __name__ == "__main__":
    main()
