# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Integration tests of panda_user_ban and panda_job_kill against the lab PanDA and a real panda-server.

Each test runs against both backends of the ``panda_endpoint`` fixture (``gridsec_lab.pytest_panda``). pytest
arranges the situation (users with their own certificates, jobs, tasks), runs ansible-playbook on a playbook in
tests/integration/playbooks/ (which holds the asserts on the module results), then checks the server's real
behaviour independently: requests as the banned user (403 at the front door, refused submission), job states
read with a plain HTTPS client, database rows read with psycopg.

Every test works on users of its own (fresh certificates from the lab CA), so a failure leaves nobody else
banned and kills nobody else's jobs.
"""
import importlib.util
import json
import os
import random
import string
import subprocess
import sys

import psycopg
import pytest
import requests
from psycopg import sql

from gridsec_lab import ports
from gridsec_lab.panda.naming import clean_user_id
from gridsec_lab.pki import TestPKI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PLAYBOOKS = os.path.join(HERE, "playbooks")
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
LAB_BASE = "/DC=test/DC=gridsec-lab/OU=Users"
SECRET = "Gr1dsec-Secret-Pw-%s" % "".join(random.choice(string.ascii_letters) for _ in range(6))


def letters(n=6):
    return "".join(random.choice(string.ascii_lowercase) for _ in range(n))


def run_playbook(name, extravars, tmp_path, expect_rc=0, args=()):
    vars_file = tmp_path / ("vars-%s-%s.json" % (os.path.basename(name), letters()))
    vars_file.write_text(json.dumps(extravars))
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"), ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    cmd = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
           "-e", "@%s" % vars_file, name if os.path.isabs(name) else os.path.join(PLAYBOOKS, name)] + list(args)
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    if proc.returncode != expect_rc:
        pytest.fail("%s exited %d (expected %d):\n%s" % (name, proc.returncode, expect_rc, proc.stdout[-20000:]))
    return proc.stdout


def conn(ep, cred=None):
    cred = cred or ep.admin
    return {"panda_url": ep.url, "client_cert": cred.cert, "client_key": cred.key, "ca_path": ep.ca_path}


def dbconn(ep):
    out = {"db_host": ep.db.host, "db_port": ep.db.port, "db_name": ep.db.dbname, "db_user": ep.db.user,
           "db_meta_schema": ep.db.meta_schema, "db_panda_schema": ep.db.panda_schema,
           "db_deft_schema": ep.db.deft_schema}
    if ep.db.password:
        out["db_password"] = ep.db.password
    return out


def new_user(pki, label):
    """A user of its own: '<Label> <letters>' (no digits, which clean_user_id would strip)."""
    tag = letters()
    dn = "%s/CN=%s%s/CN=%d/CN=%s %s" % (LAB_BASE, label.lower().replace(" ", ""), tag, random.randint(1000, 9999),
                                        label, tag.capitalize())
    cred = pki.user(label + " " + tag, dn=dn)
    return cred, clean_user_id(dn)


def ca_file(ep):
    return os.path.join(os.path.dirname(ep.ca_path), "ca", "ca.pem")


def api_get(ep, cred, module_method, **params):
    return requests.get("%s/api/v1/%s" % (ep.url, module_method), params=params, cert=(cred.cert, cred.key),
                        verify=ca_file(ep), headers={"Accept": "application/json"}, timeout=60)


def job(ep, panda_id):
    """Job state read independently (admin, plain HTTPS): (jobStatus, commandToPilot) or None."""
    reply = requests.post("%s/api/v1/job/get_description_incl_archive" % ep.url, json={"job_ids": [panda_id]},
                          cert=(ep.admin.cert, ep.admin.key), verify=ca_file(ep),
                          headers={"Accept": "application/json"}, timeout=60).json()
    assert reply["success"], reply
    data = reply["data"][0]
    return None if data is None else (data["jobStatus"], data.get("commandToPilot"), data.get("jobsetID"))


def submission_refused(ep, cred):
    try:
        panda_id = ep.submit_job(cred)
    except Exception as err:  # lab: PermissionError; real: PandaRealError (403 or success false)
        return str(err)
    pytest.fail("job submission as %s was accepted (PandaID %s) although the user is banned" % (cred.dn, panda_id))


def closed_port():
    # held bound (not listening) for the session: no other process, e.g. the other xdist worker, can take it
    return ports.closed_port()


def db_rows(ep, name):
    dsn = ep.db.dsn()
    with psycopg.connect(dsn) as db:
        return db.execute(sql.SQL("SELECT id, status FROM {}.users WHERE name = %s ORDER BY id")
                          .format(sql.Identifier(ep.db.meta_schema)), (name,)).fetchall()


# -- user ban ------------------------------------------------------------------------------------------
def test_ban_and_unban(panda_endpoint, panda_pki, tmp_path):
    ep = panda_endpoint
    cred, name = new_user(panda_pki, "Ban Target")
    first = ep.submit_job(cred)  # the user's row exists from now on
    assert first
    base = {"conn": conn(ep), "dbconn": dbconn(ep), "ca_file": ca_file(ep), "user_dn": cred.dn, "user_name": name}
    run_playbook("panda_user_ban.yml", dict(base, phase="ban"), tmp_path)
    try:
        assert [status for _id, status in db_rows(ep, name)] == ["disabled"]
        submission_refused(ep, cred)                      # submission checks the DB: immediate
        ep.refresh_ban_cache()
        reply = api_get(ep, cred, "system/is_alive")    # the front door, once its cache is fresh
        assert reply.status_code == 403, reply.text
        assert reply.text.strip() == "ERROR : %s is banned" % name
    finally:
        run_playbook("panda_user_ban.yml", dict(base, phase="unban"), tmp_path)
    assert [status for _id, status in db_rows(ep, name)] == [None]
    ep.refresh_ban_cache()
    assert api_get(ep, cred, "system/is_alive").status_code == 200
    assert ep.submit_job(cred)


def test_preemptive_ban_of_unknown_user(panda_endpoint, panda_pki, tmp_path):
    ep = panda_endpoint
    cred, name = new_user(panda_pki, "Never Seen")
    assert db_rows(ep, name) == []
    _other, other_name = new_user(panda_pki, "Also Unknown")
    base = {"conn": conn(ep), "dbconn": dbconn(ep), "ca_file": ca_file(ep), "user_dn": cred.dn, "user_name": name,
            "other_unknown_user": other_name}
    run_playbook("panda_user_ban.yml", dict(base, phase="preemptive"), tmp_path)
    try:
        rows = db_rows(ep, name)
        assert len(rows) == 1 and rows[0][1] == "disabled"
        assert db_rows(ep, other_name) == []          # create_missing=false and unban wrote nothing
        submission_refused(ep, cred)                  # banned before the first submission
        ep.refresh_ban_cache()
        assert api_get(ep, cred, "system/is_alive").status_code == 403
    finally:
        run_playbook("panda_user_ban.yml", dict(base, phase="unban"), tmp_path)
    ep.refresh_ban_cache()
    assert ep.submit_job(cred)                        # the created row is a normal row afterwards


def test_names_with_sql_metacharacters(panda_endpoint, tmp_path):
    ep = panda_endpoint
    weird = "O'Brien\"; DROP TABLE users; -- %s :name" % letters()
    run_playbook("panda_user_ban.yml", {"conn": conn(ep), "dbconn": dbconn(ep), "ca_file": ca_file(ep),
                                        "phase": "weird", "weird_name": weird}, tmp_path)
    assert [status for _id, status in db_rows(ep, weird)] == [None]


def test_duplicate_rows_are_all_banned_and_reported(panda_endpoint, tmp_path):
    ep = panda_endpoint
    name = "Duplicate %s" % letters().capitalize()
    with psycopg.connect(ep.db.dsn()) as db:
        for vo, dn in (("vo_a", "/DC=a/CN=" + name), ("vo_b", "/DC=b/CN=" + name)):
            db.execute(sql.SQL("INSERT INTO {schema}.users (id, name, dn, vo, lastmod, firstjob, latestjob, cachetime, "
                               "ncurrent, jobid) VALUES (nextval(%s), %s, %s, %s, now(), now(), now(), now(), 0, 1)")
                       .format(schema=sql.Identifier(ep.db.meta_schema)),
                       (ep.db.meta_schema + ".users_id_seq", name, dn, vo))
    run_playbook("panda_user_ban.yml", {"conn": conn(ep), "dbconn": dbconn(ep), "ca_file": ca_file(ep),
                                        "phase": "duplicates", "user_name": name}, tmp_path)
    assert [status for _id, status in db_rows(ep, name)] == ["disabled", "disabled"]


def test_token_user_keys_are_banned_together(panda_endpoint, panda_pki, tmp_path):
    """Issue 16 / contract C1: one person, three PanDA names (X.509 CN, token name with each word's tail
    lower-cased, token subject); all banned in one run, predicted exactly in check mode, idempotent, unbanned."""
    from _hardening import run_tasks
    ep = panda_endpoint
    tag = letters().capitalize()
    cred, x509_name = new_user(panda_pki, "Jean-Luc McDonald")   # CN "Jean-Luc McDonald <Tag>"
    assert ep.submit_job(cred)                                   # the X.509 user has a row; the token names do not
    token_name = "Jean-Luc McDonald %s" % tag.upper()
    subject = "%s-4761-bfff-adc793da409c" % letters(8)
    keys = [x509_name, "Jean-luc Mcdonald %s" % tag, subject]
    args = {"dn": cred.dn, "token_name": token_name, "token_subject": subject}
    spec = [("panda_user_ban", dict(args, state="banned"))]
    check = run_tasks(tmp_path, spec, dict(conn(ep), **dbconn(ep)), "panda", check=True).results["localhost"][0]
    assert check["user_names"] == keys and check["changed"] and check["created"], check
    assert [db_rows(ep, key) for key in keys[1:]] == [[], []]   # check mode wrote nothing
    try:
        spec = [("panda_user_ban", dict(args, state="banned")), ("panda_user_ban", dict(args, state="banned"))]
        first, again = run_tasks(tmp_path, spec, dict(conn(ep), **dbconn(ep)), "panda").results["localhost"]
        assert first["user_names"] == keys and first["changed"] and not again["changed"], (first, again)
        assert sorted(r["name"] for r in first["rows"]) == sorted(keys)
        for key in keys:
            assert [status for _id, status in db_rows(ep, key)] == ["disabled"], key
        submission_refused(ep, cred)
    finally:
        spec = [("panda_user_ban", dict(args, state="unbanned"))]
        lifted = run_tasks(tmp_path, spec, dict(conn(ep), **dbconn(ep)), "panda").results["localhost"][0]
    assert lifted["user_names"] == keys and lifted["changed"]
    for key in keys:
        assert [status for _id, status in db_rows(ep, key)] == [None], key


def _fake_password_server():
    path = os.path.join(ROOT, "tests", "unit", "plugins", "module_utils", "test_panda_db.py")
    spec = importlib.util.spec_from_file_location("gridsec_test_panda_db", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    server = mod.FakePasswordServer()
    server.start()
    return server


def test_errors(panda_endpoint, panda_pki, tmp_path):
    ep = panda_endpoint
    other = TestPKI(str(tmp_path / "other-pki"))
    fake = _fake_password_server()
    try:
        comma_dn = "CN=Comma Person,CN=12345,CN=cperson,OU=Users,DC=gridsec-lab,DC=test"
        verify_user = "Verify %s" % letters().capitalize()
        run_playbook("panda_errors.yml", {
            "conn": conn(ep), "dbconn": dbconn(ep), "closed_port": closed_port(), "fake_pg_port": fake.port,
            "secret_password": SECRET, "other_ca": other.ca_cert_path, "comma_dn": comma_dn,
            "comma_name": "Comma Person", "unknown_user": "Nobody %s" % letters(), "verify_user": verify_user},
            tmp_path)
    finally:
        fake.close()
    assert fake.passwords == [SECRET]  # the wrong password went to the (fake) server, and nowhere else
    # the ban whose verification failed was written, as its message said
    assert [status for _id, status in db_rows(ep, verify_user)] == ["disabled"]


def test_similar_and_unknown_names(panda_endpoint, panda_pki, tmp_path):
    """Issue 6 §1.5: a name that is not exactly a PanDA user is never banned, unbanned or killed silently."""
    ep = panda_endpoint
    cred, name = new_user(panda_pki, "Alice")           # "Alice Abcdef": a real user with a row and a job
    queued = ep.submit_job(cred)
    near = name.lower().replace(" ", "  ")               # "alice  abcdef": same apart from case/spacing
    assert near != name
    unknown = "Nobody %s" % letters().capitalize()
    run_playbook("panda_user_names.yml", {"conn": conn(ep), "dbconn": dbconn(ep), "user_name": name,
                                          "near_name": near, "unknown_name": unknown}, tmp_path)
    assert [status for _id, status in db_rows(ep, name)] == [None]   # the real user was never touched
    assert [status for _id, status in db_rows(ep, near)] == [None]   # only the forced row, unbanned again
    assert db_rows(ep, unknown) == []
    assert job(ep, queued)[0] == "activated"


# -- job kill ------------------------------------------------------------------------------------------
def test_admin_kill_by_ids(panda_endpoint, panda_pki, tmp_path):
    ep = panda_endpoint
    cred, _name = new_user(panda_pki, "Kill Ids")
    queued = ep.submit_job(cred)
    running = ep.submit_job(cred)
    ep.set_job_status(running, "running")
    assert job(ep, queued)[0] == "activated" and job(ep, running)[0] == "running"
    missing = 987654321
    assert job(ep, missing) is None
    run_playbook("panda_job_kill.yml", {"conn": conn(ep), "phase": "admin_ids", "queued_id": queued,
                                        "running_id": running, "missing_id": missing}, tmp_path)
    assert job(ep, queued)[0] == "cancelled"
    assert job(ep, running)[:2] == ("running", "tobekilled")  # dies at the pilot's next heartbeat


def test_owner_kill(panda_endpoint, panda_pki, tmp_path):
    ep = panda_endpoint
    owner, _ = new_user(panda_pki, "Owner Kill")
    stranger, _ = new_user(panda_pki, "Stranger Job")
    own = ep.submit_job(owner)
    foreign = ep.submit_job(stranger)
    run_playbook("panda_job_kill.yml", {"conn": conn(ep), "phase": "owner", "own_id": own, "foreign_id": foreign,
                                        "owner": {"cert": owner.cert, "key": owner.key}}, tmp_path)
    assert job(ep, own)[0] == "cancelled"
    assert job(ep, foreign)[:2] in (("activated", None), ("activated", "NULL"))


def _user_with_task(ep, pki):
    cred, name = new_user(pki, "Task Owner")
    task_id = ep.create_task(cred)
    in_task_queued = ep.submit_job(cred, jediTaskID=task_id)
    in_task_running = ep.submit_job(cred, jediTaskID=task_id)
    ep.set_job_status(in_task_running, "running")
    outside = ep.submit_job(cred)
    return cred, name, task_id, [in_task_queued, in_task_running], outside


def _prodsys_command(ep, task_id):
    with psycopg.connect(ep.db.dsn()) as db:
        row = db.execute(sql.SQL("SELECT comm_cmd FROM {}.prodsys_comm WHERE comm_task = %s")
                         .format(sql.Identifier(ep.db.deft_schema)), (task_id,)).fetchone()
    return row[0] if row else None


def test_user_kill_through_tasks_api(panda_endpoint, panda_pki, tmp_path):
    ep = panda_endpoint
    cred, name, task_id, in_task, outside = _user_with_task(ep, panda_pki)
    run_playbook("panda_job_kill.yml", {"conn": conn(ep), "phase": "user", "target_dn": cred.dn, "target_name": name,
                                        "task_id": task_id, "expected_ids": in_task,
                                        "expected_source": "tasks_api"}, tmp_path)
    assert job(ep, in_task[0])[0] == "cancelled"
    assert job(ep, in_task[1])[:2] == ("running", "tobekilled")
    # Documented limit of the tasks API: a job outside any JEDI task is not seen.
    assert job(ep, outside)[0] == "activated"
    assert _prodsys_command(ep, task_id) == "kill"


def test_user_kill_through_database(panda_endpoint, panda_pki, tmp_path):
    ep = panda_endpoint
    cred, name, task_id, in_task, outside = _user_with_task(ep, panda_pki)
    run_playbook("panda_job_kill.yml", {"conn": conn(ep), "dbconn": dbconn(ep), "phase": "user", "target_dn": cred.dn,
                                        "target_name": name, "task_id": task_id,
                                        "expected_ids": sorted(in_task + [outside]), "expected_source": "db"},
                 tmp_path)
    assert job(ep, outside)[0] == "cancelled"
    assert job(ep, in_task[0])[0] == "cancelled"
    assert job(ep, in_task[1])[:2] == ("running", "tobekilled")


def test_kill_one_jobset(panda_endpoint, panda_pki, tmp_path):
    ep = panda_endpoint
    cred, name = new_user(panda_pki, "Jobset User")
    first = ep.submit_job(cred, jobsetID=11)
    second = ep.submit_job(cred, jobsetID=22)
    set_first, set_second = job(ep, first)[2], job(ep, second)[2]
    if set_first == set_second:
        pytest.skip("the server assigned the same jobsetID to both jobs")
    run_playbook("panda_job_kill.yml", {"conn": conn(ep), "dbconn": dbconn(ep), "phase": "jobset",
                                        "target_name": name, "jobset": set_first, "jobset_job": first}, tmp_path)
    assert job(ep, first)[0] == "cancelled"
    assert job(ep, second)[0] == "activated"


# -- operator playbooks --------------------------------------------------------------------------------
def test_operator_ban_and_unban_playbooks(panda_endpoint, panda_pki, tmp_path):
    ep = panda_endpoint
    cred, name = new_user(panda_pki, "Operator Target")
    queued = ep.submit_job(cred)
    running = ep.submit_job(cred)
    ep.set_job_status(running, "running")
    task_id = ep.create_task(cred)
    extravars = {"panda_user_dn": cred.dn, "panda_url": ep.url, "panda_client_cert": ep.admin.cert,
                 "panda_client_key": ep.admin.key, "panda_ca_path": ep.ca_path, "panda_db_host": ep.db.host,
                 "panda_db_port": ep.db.port, "panda_db_name": ep.db.dbname, "panda_db_user": ep.db.user,
                 "panda_db_meta_schema": ep.db.meta_schema, "panda_db_panda_schema": ep.db.panda_schema}
    if ep.db.password:
        extravars["panda_db_password"] = ep.db.password
    ban = os.path.join(ROOT, "playbooks", "panda_ban_user.yml")
    unban = os.path.join(ROOT, "playbooks", "panda_unban_user.yml")
    extravars["panda_db_deft_schema"] = ep.db.deft_schema
    out = run_playbook(ban, extravars, tmp_path, args=("--check", "--diff"))
    assert "changed=2" in out, out
    assert "ban would be written (check mode)" in out and "ban written" not in out
    assert db_rows(ep, name)[0][1] is None and job(ep, queued)[0] == "activated"   # check mode wrote nothing
    out = run_playbook(ban, extravars, tmp_path, args=("--diff",))
    try:
        assert [status for _id, status in db_rows(ep, name)] == ["disabled"]
        assert job(ep, queued)[0] == "cancelled"
        assert job(ep, running)[:2] == ("running", "tobekilled")
        assert _prodsys_command(ep, task_id) == "kill"
        assert "ban written" in out
        # second run: ban in place, jobs cancelled/flagged, task kill pending (JEDI has not run it): no change
        out = run_playbook(ban, extravars, tmp_path)
        assert "changed=0" in out, out
        assert "kill_pending" in out and "already in place" in out
        assert _prodsys_command(ep, task_id) == "kill"
    finally:
        run_playbook(unban, extravars, tmp_path)
    assert [status for _id, status in db_rows(ep, name)] == [None]
    out = run_playbook(unban, extravars, tmp_path)
    assert "was not banned" in out
