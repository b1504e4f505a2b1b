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
  - Before killing, the state of every job is known, from the database rows that found a user's jobs, otherwise
    read with C(job/get_description_incl_archive) (1000 ids per call). Only jobs that can be killed are sent.
    After the kill, the jobs sent are read once with the light C(job/get_status), so each job is reported with
    what really happened (see RV(jobs)). C(job/kill) answers one boolean per job, and a C(true) only means
    "flag written" (queued jobs are cancelled, running ones keep running with the flag); a C(false) may mean
    finished, unknown, not allowed or already flagged, and such a job is never reported as killed.
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

from ansible_collections.gridsec.ops.plugins.module_utils._panda.names import clean_user_id
from ansible_collections.gridsec.ops.plugins.module_utils._panda.kill import JobKiller
from ansible_collections.gridsec.ops.plugins.module_utils._panda.module import PandaModule


def run(module):
    caller_dn = module.caller_dn()
    killer = JobKiller(module.client, module.params, check_mode=module.check_mode,
                       db_factory=module.db if module.db_configured else None,
                       caller_name=clean_user_id(caller_dn) if caller_dn else None,
                       server_label=module.server_label, diff=module._diff)
    try:
        result = killer.run()
    finally:
        module.record(killer.statements)
        module.changed_so_far = killer.changed_so_far
        for warning in killer.warnings:
            module.warn(warning)
    module.finish_db(commit=False)
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
    module.run_guarded(run, module)


if __name__ == "__main__":
    main()
