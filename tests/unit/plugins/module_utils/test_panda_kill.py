# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""_panda.kill.JobKiller (the one killer of panda_job_kill and the sync's PanDA target) with a fake client that
keeps job states like the server: a kill of a queued job cancels it, of a running one only flags it; job/get_status
answers like ``DBProxy.checkJobStatus`` (jobsDefined4 jobs are ``unknown``)."""

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._panda.kill import JobKiller


class FakeClient(object):
    def __init__(self, jobs, tasks=(), refuse=()):
        self.jobs = jobs            # id -> dict(jobStatus, commandToPilot, prodSourceLabel, prodUserName, jobsetID)
        self.tasks = list(tasks)
        self.refuse = set(refuse)
        self.operations = []

    def get_job_descriptions(self, ids, include_archive=True):  # pylint: disable=unused-argument
        self.operations.append(("describe", list(ids)))
        return [dict(self.jobs[i]) if i in self.jobs else None for i in ids]

    def get_job_statuses(self, ids):
        self.operations.append(("status", list(ids)))
        out = []
        for i in ids:
            job = self.jobs.get(i)
            if job is None or job["jobStatus"] in ("defined", "assigned", "pending", "waiting"):
                out.append({"status": "unknown", "command": "tobekilled"})
            else:
                out.append({"status": job["jobStatus"], "command": job["commandToPilot"] or "NULL"})
        return out

    def kill_jobs(self, ids, code=None, kill_options=None):  # pylint: disable=unused-argument
        self.operations.append(("kill", list(ids), code))
        out = []
        for i in ids:
            job = self.jobs.get(i)
            if job is None or i in self.refuse or job["jobStatus"] in ("finished", "failed", "cancelled"):
                out.append(False)
                continue
            job["commandToPilot"] = "tobekilled"
            if job["jobStatus"] != "running":
                job["jobStatus"] = "cancelled"
            out.append(True)
        return out

    def get_tasks_detailed_info_since(self, user_name=None, n_tasks=None):  # pylint: disable=unused-argument
        return list(self.tasks)

    def get_task_job_ids(self, task_id):
        return sorted(i for i, j in self.jobs.items() if j.get("task") == task_id)

    def kill_task(self, task_id):
        self.operations.append(("kill_task", task_id))
        return {"code": 0, "message": "ok"}


def job(status, owner="Bad Actor", label="user", command=None, task=None):
    return {"jobStatus": status, "commandToPilot": command, "prodSourceLabel": label, "prodUserName": owner,
            "jobsetID": 1, "task": task}


def test_ids_are_read_once_before_and_the_sent_ones_by_status_after():
    flagged = job("running", command="tobekilled")
    client = FakeClient({1: job("activated"), 2: job("running"), 3: job("finished"), 4: flagged})
    result = JobKiller(lambda: client, {"job_ids": [1, 2, 3, 4, 5]}).run()
    assert result["job_ids_by_outcome"] == {"killed": [1], "flagged": [2], "already_flagged": [4],
                                            "already_finished": [3], "not_found": [5], "refused": []}
    assert result["changed"] and client.operations == [("describe", [1, 2, 3, 4, 5]), ("kill", [1, 2], 9),
                                                       ("status", [1, 2])]   # 3, 4, 5 were not sent


class FakeDB(object):
    """``PandaDB`` as the killer uses it: the user's rows of jobsDefined4/jobsActive4, with their states."""

    def __init__(self, client, name):
        self.client, self.name = client, name

    def get_user_rows(self, name):
        return ([{"name": name}] if name == self.name else []), []

    def find_active_jobs(self, name, labels=None, jobset_id=None):  # pylint: disable=unused-argument
        rows = []
        for panda_id, spec in sorted(self.client.jobs.items()):
            if spec["prodUserName"] == name and spec["jobStatus"] not in ("finished", "failed", "cancelled"):
                table = "jobsdefined4" if spec["jobStatus"] in ("defined", "assigned") else "jobsactive4"
                rows.append({"pandaid": panda_id, "table": table, "jobstatus": spec["jobStatus"],
                             "prodsourcelabel": spec["prodSourceLabel"], "jobsetid": spec["jobsetID"],
                             "commandtopilot": spec["commandToPilot"]})
        return rows, []

    def rollback(self):
        pass


def test_jobs_found_in_the_database_are_not_described_and_outcomes_come_from_the_replies():
    """The rows that found the jobs carry their states: the API sees only the kill calls and one status read of
    the jobs sent; a job the server refused is not counted as killed, even when queued in jobsDefined4 (which
    job/get_status cannot see)."""
    client = FakeClient({1: job("defined"), 2: job("running"), 3: job("running", command="tobekilled"),
                         4: job("assigned"), 5: job("activated")}, refuse={4, 5})
    result = JobKiller(lambda: client, {"user": "Bad Actor", "fail_on_refused": False},
                       db_factory=lambda: FakeDB(client, "Bad Actor")).run()
    assert result["source"] == "db"
    assert [op[0] for op in client.operations] == ["kill", "status"] and client.operations[0][1] == [1, 2, 4, 5]
    assert result["job_ids_by_outcome"] == {"killed": [1], "flagged": [2], "already_flagged": [3],
                                            "already_finished": [], "not_found": [], "refused": [4, 5]}
    assert not any(j["killed_by_this_run"] for j in result["jobs"] if j["pandaid"] in (4, 5))
    again = JobKiller(lambda: client, {"user": "Bad Actor", "fail_on_refused": False},
                      db_factory=lambda: FakeDB(client, "Bad Actor")).run()
    assert again["job_ids_by_outcome"]["already_flagged"] == [2, 3] and not again["job_ids_by_outcome"]["killed"]


def test_a_true_reply_for_a_job_that_then_runs_is_flagged_not_killed():
    """``true`` only means "flag written": the status read after the kill decides killed or flagged."""
    client = FakeClient({1: job("activated")})
    real_kill = client.kill_jobs

    def kill_as_it_starts(ids, code=None, kill_options=None):
        client.jobs[1]["jobStatus"] = "running"  # the pilot picked it up between the read and the kill
        return real_kill(ids, code, kill_options)

    client.kill_jobs = kill_as_it_starts
    result = JobKiller(lambda: client, {"job_ids": [1]}).run()
    assert result["jobs"][0]["outcome"] == "flagged" and result["jobs"][0]["status_after"] == "running"


def test_check_mode_predicts_and_sends_nothing():
    client = FakeClient({1: job("activated"), 2: job("running")})
    result = JobKiller(lambda: client, {"job_ids": [1, 2]}, check_mode=True).run()
    assert [(j["pandaid"], j["outcome"], j["status_after"]) for j in result["jobs"]] == [
        (1, "killed", "cancelled"), (2, "flagged", "running")]
    assert [op[0] for op in client.operations] == ["describe"]


def test_a_refused_kill_fails_with_the_per_job_report():
    client = FakeClient({1: job("activated"), 2: job("activated")}, refuse={2})
    with pytest.raises(GridsecError) as info:
        JobKiller(lambda: client, {"job_ids": [1, 2]}, server_label="panda.example").run()
    assert "1 job(s) refused (2)" in str(info.value) and "panda.example" in str(info.value)
    assert info.value.result["job_ids_by_outcome"]["killed"] == [1]
    result = JobKiller(lambda: FakeClient({2: job("activated")}, refuse={2}),
                       {"job_ids": [2], "fail_on_refused": False}).run()
    assert result["job_ids_by_outcome"]["refused"] == [2]


def test_user_tasks_whatever_the_case_of_the_record_keys_and_final_tasks_untouched():
    """Task records come with JediTaskSpec names or DB column names (JEDITASKID...): both are read (the copy in
    the sync's PanDA target read only ``jediTaskID`` and skipped the others)."""
    tasks = [{"JEDITASKID": 7, "USERNAME": "Bad Actor", "STATUS": "running"},
             {"jediTaskID": 8, "userName": "Bad Actor", "status": "done"},
             {"jeditaskid": 9, "username": "Someone Else", "status": "running"}]
    client = FakeClient({1: job("activated", task=7)}, tasks=tasks)
    result = JobKiller(lambda: client, {"user": "Bad Actor", "kill_tasks": True}).run()
    assert [(t["task_id"], t["outcome"]) for t in result["tasks"]] == [(7, "kill_registered"), (8, "already_final")]
    assert result["source"] == "tasks_api" and result["job_ids_by_outcome"]["killed"] == [1]


def test_no_code_for_a_stranger_analysis_job_is_refused_without_sending():
    client = FakeClient({1: job("activated", owner="Other")})
    result = JobKiller(lambda: client, {"job_ids": [1], "code": "none", "fail_on_refused": False},
                       caller_name="Me").run()
    assert result["jobs"][0]["outcome"] == "refused" and "not the owner" in result["jobs"][0]["reason"]
    assert [op[0] for op in client.operations] == ["describe"]


@pytest.mark.parametrize("options", [{"job_ids": [1], "code": 12345}, {"job_ids": [1], "code": "x"},
                                     {"job_ids": [1], "jobset_id": 3}, {"job_ids": [1], "kill_tasks": True}])
def test_bad_options_fail_before_anything_is_sent(options):
    client = FakeClient({1: job("activated")})
    with pytest.raises(ConfigError):
        JobKiller(lambda: client, options).run()
    assert client.operations == []
