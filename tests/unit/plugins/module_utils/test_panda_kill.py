# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""_panda_kill.JobKiller (the one killer of panda_job_kill and the sync's PanDA target) with a fake client that
keeps job states like the server: a kill of a queued job cancels it, of a running one only flags it."""

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._panda_kill import JobKiller


class FakeClient(object):
    def __init__(self, jobs, tasks=(), refuse=()):
        self.jobs = jobs            # id -> dict(jobStatus, commandToPilot, prodSourceLabel, prodUserName, jobsetID)
        self.tasks = list(tasks)
        self.refuse = set(refuse)
        self.operations = []

    def get_job_descriptions(self, ids, include_archive=True):  # pylint: disable=unused-argument
        self.operations.append(("describe", list(ids)))
        return [dict(self.jobs[i]) if i in self.jobs else None for i in ids]

    def kill_jobs(self, ids, code=None, kill_options=None):  # pylint: disable=unused-argument
        self.operations.append(("kill", list(ids), code))
        out = []
        for i in ids:
            job = self.jobs.get(i)
            if job is None or i in self.refuse:
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


def test_ids_are_read_before_and_after_and_classified():
    flagged = job("running", command="tobekilled")
    client = FakeClient({1: job("activated"), 2: job("running"), 3: job("finished"), 4: flagged})
    result = JobKiller(lambda: client, {"job_ids": [1, 2, 3, 4, 5]}).run()
    assert result["job_ids_by_outcome"] == {"killed": [1], "flagged": [2], "already_flagged": [4],
                                            "already_finished": [3], "not_found": [5], "refused": []}
    assert result["changed"] and client.operations[1] == ("kill", [1, 2], 9)   # 3, 4, 5 were not sent


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
