"""The lab PanDA reproduces what PANDA.md section 12 observed on a real panda-server 1.0.4.

These tests talk to the lab over HTTPS with the lab's test certificates, and read the database directly
only to check what the server stored (the same tables a real server uses).
"""
import json
import os

import psycopg
import pytest
import requests

from gridsec_lab import pg
from gridsec_lab.panda.naming import clean_user_id
from gridsec_lab.pki import TestPKI

JSON = {"Accept": "application/json", "Content-Type": "application/json"}
VECTORS = os.path.join(pg.REPO_ROOT, "..", "shared", "reference", "panda", "clean_user_id_vectors.json")



@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from gridsec_lab import panda
    workdir = tmp_path_factory.mktemp("labpanda")
    endpoint = panda.start(str(workdir), TestPKI(str(workdir / "pki")), ban_cache_seconds=3600)
    yield endpoint
    endpoint.stop()


def call(lab, cred, verb, path, headers=JSON, **kwargs):
    cert = (cred.cert, cred.key) if cred else None
    reply = requests.request(verb, lab.url + "/api/v1/" + path, cert=cert, verify=lab.ca_path,
                             headers=headers, timeout=20, **kwargs)
    return reply


def data(reply):
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["success"], body
    return body["data"]


def job_row(lab, panda_id):
    with psycopg.connect(lab.db.dsn()) as conn:
        for table in ("jobsdefined4", "jobsactive4", "jobsarchived4"):
            row = conn.execute("SELECT jobstatus, commandtopilot, taskbuffererrorcode, taskbuffererrordiag "
                               "FROM doma_panda.%s WHERE pandaid = %%s" % table, (panda_id,)).fetchone()
            if row:
                return (table,) + tuple(row)
    return None


def set_ban(lab, name, status):
    with psycopg.connect(lab.db.dsn()) as conn:
        updated = conn.execute("UPDATE doma_pandameta.users SET status = %s WHERE name = %s", (status, name)).rowcount
        assert updated, "no users row for %s" % name


@pytest.mark.skipif(not os.path.isfile(VECTORS), reason="clean_user_id vectors not found at %s" % VECTORS)
def test_clean_user_id_vectors():
    with open(VECTORS) as handle:
        vectors = json.load(handle)
    for case in vectors["vectors"] + vectors["edge_cases"]:
        assert clean_user_id(case["dn"]) == case["clean_user_id"], case


def test_is_alive_needs_no_certificate(lab):
    assert call(lab, None, "GET", "system/is_alive").json() == {"success": True, "message": "", "data": None}


def test_secure_calls_need_a_client_certificate(lab):
    body = call(lab, None, "GET", "metaconfig/get_banned_users").json()
    assert body == {"success": False, "message": "SSL secure connection is required", "data": None}


def test_limited_proxy_is_not_secure(lab):
    alice = lab.users["alice"]
    limited = TestPKI(os.path.dirname(os.path.dirname(os.path.dirname(alice.cert)))).proxy(alice, limited=True)
    reply = requests.get(lab.url + "/api/v1/metaconfig/get_banned_users", cert=limited, verify=lab.ca_path,
                         headers=JSON, timeout=20)
    assert reply.json()["message"] == "SSL secure connection is required"


def test_wrong_verb_unknown_method_and_form_body(lab):
    alice = lab.users["alice"]
    assert call(lab, alice, "GET", "job/kill").json()["message"] == "expecting POST, received GET"
    reply = call(lab, alice, "GET", "job/no_such_method")
    assert (reply.status_code, reply.text) == (403, "ERROR : method no_such_method is forbidden")
    reply = call(lab, alice, "POST", "job/kill", headers={"Accept": "application/json"}, data={"job_ids": "1"})
    assert reply.json()["message"] == "Type error: 'job_ids' must be of type list, got str."


def test_kill_permissions_and_codes(lab):
    alice, bob, admin = lab.users["alice"], lab.users["bob"], lab.admin
    running = lab.submit_job(alice)
    lab.set_job_status(running, "running")
    defined = lab.submit_job(alice, jobStatus="defined")  # stays in jobsDefined4 (not activated)
    activated = lab.submit_job(alice)
    assert job_row(lab, activated)[:2] == ("jobsactive4", "activated")
    running99 = lab.submit_job(alice)
    lab.set_job_status(running99, "running")

    assert data(call(lab, bob, "POST", "job/kill", json={"job_ids": [running]})) == [False]      # not owner
    assert data(call(lab, admin, "POST", "job/kill", json={"job_ids": [running]})) == [False]    # prod, no code
    assert job_row(lab, running)[2] is None

    assert data(call(lab, alice, "POST", "job/kill", json={"job_ids": [activated]})) == [True]   # owner
    table, status, command, code, diag = job_row(lab, activated)
    assert (table, status, code) == ("jobsarchived4", "cancelled", 100)
    assert diag.startswith("killed by " + alice.dn)

    assert data(call(lab, admin, "POST", "job/kill", json={"job_ids": [running, defined], "code": 9})) == [True, True]
    assert job_row(lab, running)[:3] == ("jobsactive4", "running", "tobekilled")      # flagged for the pilot
    assert job_row(lab, defined)[:2] == ("jobsarchived4", "cancelled")

    assert data(call(lab, admin, "POST", "job/kill", json={"job_ids": [running99], "code": 99})) == [True]
    assert job_row(lab, running99)[:2] == ("jobsarchived4", "cancelled")              # archived at once

    assert data(call(lab, admin, "POST", "job/kill", json={"job_ids": [running], "code": 9})) == [True]
    assert data(call(lab, alice, "POST", "job/kill", json={"job_ids": [running]})) == [False]  # already flagged
    assert data(call(lab, alice, "POST", "job/kill", json={"job_ids": [defined, 987654321]})) == [False, False]


def test_get_description_shape_and_archive(lab):
    alice = lab.users["alice"]
    params = '-j "" --sourceURL https://cache.lab:25443 -r . -p "run.sh" -a jobO.lab.tar.gz'
    panda_id = lab.submit_job(alice, jobParameters=params, creationHost="ui.lab.test", batchID="4242.0")
    active = data(call(lab, alice, "GET", "job/get_description", params={"job_ids": [panda_id, 987654321]}))
    job = active[0]
    assert active[1] is None
    assert job["PandaID"] == panda_id and job["jobParameters"] == params and job["Files"] == []
    assert job["prodUserID"].startswith(alice.dn) and job["prodUserName"] == clean_user_id(alice.dn) == "Alice Lab"
    assert set(job["creationTime"]) == {"__datetime__"}
    assert data(call(lab, alice, "POST", "job/kill", json={"job_ids": [panda_id]})) == [True]
    # Like panda-server 1.0.4: archived jobs are still described; only unknown ids are null.
    assert data(call(lab, alice, "GET", "job/get_description", params={"job_ids": [panda_id]}))[0]["jobStatus"] \
        == "cancelled"
    archived = data(call(lab, alice, "GET", "job/get_description_incl_archive", params={"job_ids": [panda_id]}))
    assert archived[0]["jobStatus"] == "cancelled"


def test_get_status_reads_active_and_last_hour_of_archive_only(lab):
    """job/get_status as DBProxy.checkJobStatus: jobsActive4, then jobsArchived4 modified in the last hour; a job in
    jobsDefined4, an old archived job and an unknown id all answer ``unknown`` / ``tobekilled`` (panda_job_kill
    reads it after a kill and must not take that for a flag)."""
    alice = lab.users["alice"]
    defined = lab.submit_job(alice, jobStatus="defined")
    activated, killed, old = lab.submit_job(alice), lab.submit_job(alice), lab.submit_job(alice)
    assert data(call(lab, alice, "POST", "job/kill", json={"job_ids": [killed, old]})) == [True, True]
    with psycopg.connect(lab.db.dsn()) as conn:
        conn.execute("UPDATE doma_panda.jobsarchived4 SET modificationtime = modificationtime - interval '2 hours' "
                     "WHERE pandaid = %s", (old,))
    assert call(lab, alice, "POST", "job/get_status", json={"job_ids": [activated]}).json()["success"] is False
    statuses = data(call(lab, alice, "GET", "job/get_status",
                         params={"job_ids": [defined, activated, killed, old, 987654321]}))
    assert [(s["status"], s["command"]) for s in statuses] == [
        ("unknown", "tobekilled"), ("activated", "NULL"), ("cancelled", "tobekilled"), ("unknown", "tobekilled"),
        ("unknown", "tobekilled")]


def test_ban_is_immediate_for_submission_and_cached_at_the_front_door(lab):
    bob = lab.users["bob"]
    lab.submit_job(bob)  # creates bob's users row, as a first submission does
    set_ban(lab, "Bob Lab", "disabled")
    assert data(call(lab, lab.admin, "GET", "metaconfig/get_banned_users")) == {"Bob Lab": False}
    reply = call(lab, bob, "POST", "job/submit", json={"jobs": [{"prodSourceLabel": "user"}]})
    assert reply.json() == {"success": False, "message": "Failed to submit jobs", "data": None}
    # The front door still uses its cached ban list (fetched before the ban) ...
    assert call(lab, bob, "GET", "system/is_alive").status_code == 200
    lab.refresh_ban_cache()
    reply = call(lab, bob, "GET", "system/is_alive")
    assert (reply.status_code, reply.text) == (403, "ERROR : Bob Lab is banned")
    set_ban(lab, "Bob Lab", None)
    assert call(lab, bob, "GET", "system/is_alive").status_code == 403   # still cached after the unban
    lab.refresh_ban_cache()
    assert call(lab, bob, "GET", "system/is_alive").status_code == 200


def test_task_kill(lab):
    alice, bob, admin = lab.users["alice"], lab.users["bob"], lab.admin
    task = lab.create_task(alice)
    job = lab.submit_job(alice, jediTaskID=task)
    assert call(lab, bob, "POST", "task/kill", json={"task_id": task}).json()["message"] == \
        "not the task owner or no production role"
    body = call(lab, admin, "POST", "task/kill", json={"task_id": task}).json()
    assert body["data"] == 0 and "registered" in body["message"]
    with psycopg.connect(lab.db.dsn()) as conn:
        row = conn.execute("SELECT comm_owner, comm_cmd, comm_comment FROM doma_deft.prodsys_comm "
                           "WHERE comm_task = %s", (task,)).fetchone()
    assert row == ("DEFT", "kill", "kill by Ops Admin")
    assert call(lab, admin, "POST", "task/kill", json={"task_id": 99999999}).json()["data"] == 2
    done = lab.create_task(alice, status="aborted")
    assert call(lab, admin, "POST", "task/kill", json={"task_id": done}).json()["data"] == 4
    assert data(call(lab, alice, "GET", "task/get_job_ids", params={"task_id": task})) == [job]
    tasks = data(call(lab, bob, "GET", "task/get_tasks_detailed_info_since",
                      params={"since": "2020-01-01 00:00:00", "filters": json.dumps({"userName": "Alice Lab"})}))
    assert {t["jediTaskID"] for t in tasks} >= {task, done}


def test_monitor_batch_id_is_exact_and_user_filter_is_a_substring(lab):
    alice, bob = lab.users["alice"], lab.users["bob"]
    exact = lab.submit_job(alice, batchID="lab.schedd#77.0#1")
    lab.submit_job(alice, batchID="lab.schedd#77.0#10")
    reply = requests.get(lab.monitor_url + "/jobs/", params={"batchid": "lab.schedd#77.0#1", "json": ""},
                         verify=lab.ca_path, timeout=20)
    assert [j["pandaid"] for j in reply.json()["jobs"]] == [exact]
    reply = requests.get(lab.monitor_url + "/jobs/", params={"produsername": "lab", "json": ""},
                         verify=lab.ca_path, timeout=20)
    names = {j["produsername"] for j in reply.json()["jobs"]}
    assert "Alice Lab" in names  # "lab" matches case-insensitively: clients must post-filter
    del bob
