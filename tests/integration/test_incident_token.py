# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""gridsec.ops.incident / unban for a token user, with the IAM and Rucio steps, run by FQCN as an operator does.

Against the lab IAM (fixture ``iam``), the lab PanDA and the real Rucio 41.5.1 tier (``rucio_real``). The job is
arranged as panda-server records one submitted with a token (prodUserID "<Name>/CN=nickname:<username>", PanDA
1.0.4 decode_token, ENFORCERS.md 2.1), straight into the lab PanDA's tables: the lab's token front door is another
work package (contract C4). Everything is read back independently: IAM's accounts and token store, Rucio's
account status through its REST API, the PanDA users table, the mails received and the incident record.
"""
import json
import os
import random
import ssl
import string
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import psycopg
import pytest
from psycopg import sql

from gridsec_lab import ports, smtp as lab_smtp
from gridsec_lab.pki import TestPKI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
SMTP_USER, SMTP_PASSWORD = "gridsec-ops", "Smtp-Pw-%s" % "".join(random.choice(string.ascii_letters) for _ in range(8))
# what panda-server 1.0.4 records for a job submitted with Jean-Luc McDonald's IAM token (name rule: each word's
# tail lower-cased; preferred_username appended as nickname)
TOKEN_PRODUSERID = "Jean-luc Mcdonald/CN=nickname:jmcdonald"
TOKEN_PANDA_NAME = "Jean-luc Mcdonald"


def letters(n=6):
    return "".join(random.choice(string.ascii_lowercase) for _ in range(n))


@pytest.fixture(scope="module")
def token_smtp(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("smtp-token")
    server = lab_smtp.start(str(workdir), TestPKI(str(workdir / "pki")), users={SMTP_USER: SMTP_PASSWORD})
    yield server
    server.stop()


def closed_port():
    # held bound (not listening) for the session: no other process, e.g. the other xdist worker, can take it
    return ports.closed_port()


def run(playbook, extravars, tmp_path, expect_rc=0):
    vars_file = tmp_path / ("vars-%s-%s.json" % (playbook, letters()))
    vars_file.write_text(json.dumps(extravars))
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("localhost ansible_connection=local\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_LOCALHOST_WARNING="False")
    cmd = [ANSIBLE_PLAYBOOK, "-i", str(inventory), "-e", "ansible_python_interpreter=%s" % sys.executable,
           "-e", "@%s" % vars_file, "gridsec.ops." + playbook]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900,
                          cwd=str(tmp_path))
    if proc.returncode != expect_rc:
        pytest.fail("%s exited %d (expected %d):\n%s" % (playbook, proc.returncode, expect_rc, proc.stdout[-20000:]))
    return proc.stdout


def submit_token_job(ep, produserid=TOKEN_PRODUSERID):
    """A running job as panda-server records it for a token submission (see the module docstring)."""
    [panda_id] = ep._store.submit_jobs(produserid, [{"prodSourceLabel": "user", "computingSite": "LAB_SITE",
                                                    "jobParameters": "-p python3%20miner.py"}])
    ep.set_job_status(panda_id, "running")
    return panda_id


def panda_vars(ep):
    out = {"panda_url": ep.url, "panda_client_cert": ep.admin.cert, "panda_client_key": ep.admin.key,
           "panda_ca_path": ep.ca_path, "panda_db_host": ep.db.host, "panda_db_port": ep.db.port,
           "panda_db_name": ep.db.dbname, "panda_db_user": ep.db.user, "panda_db_meta_schema": ep.db.meta_schema,
           "panda_db_panda_schema": ep.db.panda_schema, "panda_monitor_url": ep.monitor_url}
    if ep.db.password:
        out["panda_db_password"] = ep.db.password
    return out


def iam_vars(iam, url=None):
    return {"iam_url": url or iam.url, "iam_client_id": iam.admin.client_id, "iam_client_secret": iam.admin.secret,
            "iam_ca_path": iam.ca_file}


def rucio_vars(lab):
    return {"rucio_url": lab.url, "rucio_username": lab.endpoint.root_username,
            "rucio_password": lab.endpoint.root_password, "rucio_ca_path": lab.pki.ca_cert_path}


def smtp_vars(server):
    return {"incident_smtp_host": "localhost", "incident_smtp_port": server.port, "incident_smtp_security": "starttls",
            "incident_smtp_ca_path": server.ca_file, "incident_smtp_username": SMTP_USER,
            "incident_smtp_password": SMTP_PASSWORD, "incident_mail_from": "Grid CSIRT <csirt@lab.gridsec.test>",
            "incident_site_contacts": ["security@site.lab.gridsec.test"],
            "incident_csirt_contacts": ["csirt-list@lab.gridsec.test"]}


def banned_rows(ep, name):
    with psycopg.connect(ep.db.dsn()) as db:
        return [r[0] for r in db.execute(sql.SQL("SELECT status FROM {}.users WHERE name = %s ORDER BY id")
                                         .format(sql.Identifier(ep.db.meta_schema)), (name,)).fetchall()]


def refresh_status(iam, refresh_token):
    """HTTP status of a refresh grant at the lab IAM (200 = a new access token)."""
    cli = iam.clients["user"]
    data = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token,
                                   "client_id": cli.client_id, "client_secret": cli.secret}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(iam.url + "/token", data=data), timeout=10,
                                    context=ssl.create_default_context(cafile=iam.ca_file)) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


def rucio_oidc_account(lab, subject, issuer):
    """A Rucio USER account whose OIDC identity is the IAM token user's (iss, sub)."""
    user = lab.new_user("tok")
    lab.raw.expect((201,), "POST", "/accounts/%s/identities" % user.name, token=lab.root_token(),
                   body={"identity": "SUB=%s, ISS=%s" % (subject, issuer), "authtype": "OIDC",
                         "email": "%s@example.invalid" % user.name})
    return user


def mails_for(server, incident_id):
    return [m for m in server.messages() if m.message["X-Gridsec-Incident"] == incident_id]


def text(mail):
    return mail.message.get_body(preferencelist=("plain",)).get_content()


@pytest.mark.rucio_real
def test_token_user_incident_suspends_iam_and_rucio_and_unban_restores_them(
        panda_lab_endpoint, iam, rucio_real, token_smtp, tmp_path):
    ep = panda_lab_endpoint
    person = iam.users["jmcdonald"]
    tokens = [iam.token_for("jmcdonald") for _ in range(2)]
    assert len(iam.tokens("jmcdonald", "access")) == 2 and refresh_status(iam, tokens[0]["refresh_token"]) == 200
    assert len(iam.tokens("jmcdonald", "access")) == 3
    rucio_user = rucio_oidc_account(rucio_real, person.id, iam.issuer)
    assert rucio_real.status(rucio_user.name) == "ACTIVE" and rucio_real.can_login_userpass(rucio_user)
    panda_id = submit_token_job(ep)
    incident_id = "GRIDSEC-TOKEN-%s" % letters().upper()
    records = tmp_path / "records"
    extravars = dict(incident_id=incident_id, incident_panda_id=panda_id, incident_reason="token stolen",
                     incident_record_dir=str(records), **panda_vars(ep), **iam_vars(iam), **rucio_vars(rucio_real),
                     **smtp_vars(token_smtp))
    out = run("incident", extravars, tmp_path)
    assert iam.users["jmcdonald"].password not in out and iam.admin.secret not in out

    # IAM: disabled, labelled with the incident, no token left; the refresh grant is refused
    account = iam.account("jmcdonald")
    assert account.active is False
    assert [(lb.name, lb.value) for lb in account.labels] == [("gridsec.suspended", incident_id)]
    assert iam.tokens("jmcdonald", "access") == [] and iam.tokens("jmcdonald", "refresh") == []
    assert refresh_status(iam, tokens[1]["refresh_token"]) != 200
    assert iam.delete_all_calls() == []
    # Rucio: the account the token identity maps to is suspended and cannot log in
    assert rucio_real.status(rucio_user.name) == "SUSPENDED" and not rucio_real.can_login_userpass(rucio_user)
    # PanDA: the name PanDA derived from the token is banned
    assert banned_rows(ep, TOKEN_PANDA_NAME) == ["disabled"]

    record = json.loads((records / (incident_id + ".json")).read_text())
    assert record["summary"]["token_user"] is True and record["summary"]["submitted_dn"] == TOKEN_PRODUSERID
    assert record["summary"]["token_identity"]["nickname"] == "jmcdonald"
    actions = {a["name"]: a for a in record["runs"][0]["actions"]}
    assert list(actions) == ["identify", "ban_panda", "suspend_central", "suspend_iam", "suspend_rucio", "kill_jobs",
                             "mail_site", "mail_csirt"]
    assert actions["suspend_central"]["status"] == "skipped"
    assert "Argus matches DNs only" in actions["suspend_central"]["result"]["why"]
    iam_step = actions["suspend_iam"]
    assert iam_step["status"] == "changed" and iam_step["result"]["uuid"] == person.id
    assert iam_step["result"]["suspended_by"] == "us" and iam_step["result"]["selector"] == {"username": "jmcdonald"}
    # two password grants and the refresh grant above: three access tokens, two refresh tokens
    assert iam_step["result"]["revoked"]["access"] == 3 and iam_step["result"]["revoked"]["refresh"] == 2
    assert iam_step["result"]["live_tokens"]["access"] == 0
    rucio_step = actions["suspend_rucio"]
    assert rucio_step["status"] == "changed" and rucio_step["result"]["changed_accounts"] == [rucio_user.name]
    # the identities the person has: the certificate IAM knows (no Rucio account here) and the token's (iss, sub)
    dn_selector = {"dn": person.certificate_dns[0]}
    assert rucio_step["result"]["selectors"] == [dn_selector, {"oidc_issuer": iam.issuer, "oidc_subject": person.id}]
    assert rucio_step["result"]["not_found"] == [dn_selector]
    serialized = json.dumps(record)
    assert iam.admin.secret not in serialized and tokens[0]["access_token"] not in serialized
    assert rucio_real.endpoint.root_password not in serialized

    csirt = [m for m in mails_for(token_smtp, incident_id) if "csirt-list@lab.gridsec.test" in m.message["To"]]
    assert len(csirt) == 1
    assert csirt[0].message["Subject"] == "[%s] token user suspended in IAM: %s" % (incident_id, TOKEN_PRODUSERID)
    body = text(csirt[0])
    assert "IAM account jmcdonald (%s) at %s is now suspended" % (person.id, iam.url) in body
    assert "3 access and 2 refresh token(s) revoked" in body
    assert "Rucio account %s at %s is now suspended" % (rucio_user.name, rucio_real.url) in body
    assert "Argus matches certificate DNs only" in body
    assert "No Rucio account at %s has the identity dn=%s." % (rucio_real.url, person.certificate_dns[0]) in body

    # a second run changes nothing
    run("incident", extravars, tmp_path)
    record = json.loads((records / (incident_id + ".json")).read_text())
    assert len(record["runs"]) == 1

    # false positive: the unban lifts exactly what the incident did
    unban_vars = dict(incident_id=incident_id, incident_record_dir=str(records), **panda_vars(ep), **iam_vars(iam),
                      **rucio_vars(rucio_real), **smtp_vars(token_smtp))
    run("unban", unban_vars, tmp_path)
    account = iam.account("jmcdonald")
    assert account.active is True and [lb.name for lb in account.labels] == []
    assert rucio_real.status(rucio_user.name) == "ACTIVE" and rucio_real.can_login_userpass(rucio_user)
    assert "disabled" not in banned_rows(ep, TOKEN_PANDA_NAME)
    record = json.loads((records / (incident_id + ".json")).read_text())
    unban = {a["name"]: a for a in record["runs"][-1]["actions"]}
    assert list(unban) == ["unban_panda", "unsuspend_central", "unsuspend_iam", "unsuspend_rucio", "mail_unban"]
    assert unban["unsuspend_central"]["status"] == "skipped"
    assert unban["unsuspend_iam"]["status"] == "changed" and unban["unsuspend_iam"]["result"]["restored"] == [person.id]
    assert unban["unsuspend_rucio"]["status"] == "changed"
    assert unban["unsuspend_rucio"]["result"]["reactivated"] == [rucio_user.name]
    note = [m for m in mails_for(token_smtp, incident_id) if m.message["Subject"].startswith("[%s] ban lifted"
                                                                                          % incident_id)]
    assert len(note) == 1
    assert "IAM: the account jmcdonald is enabled again" in text(note[0])
    assert "Rucio: the account %s is active again" % rucio_user.name in text(note[0])


def test_token_user_incident_with_iam_down_fails_naming_the_step(panda_lab_endpoint, iam, token_smtp, tmp_path):
    ep = panda_lab_endpoint
    panda_id = submit_token_job(ep, "Terry Token/CN=nickname:ttoken")
    incident_id = "GRIDSEC-TOKEN-%s" % letters().upper()
    records = tmp_path / "records"
    extravars = dict(incident_id=incident_id, incident_panda_id=panda_id, incident_record_dir=str(records),
                     **panda_vars(ep), **iam_vars(iam, url="https://localhost:%d" % closed_port()),
                     **smtp_vars(token_smtp))
    out = run("incident", extravars, tmp_path, expect_rc=2)
    assert "failed: suspend_iam" in out
    # the other steps still ran; the record and the mails say the IAM step failed
    assert banned_rows(ep, "Terry Token") == ["disabled"]
    assert iam.account("ttoken").active is True
    record = json.loads((records / (incident_id + ".json")).read_text())
    statuses = {a["name"]: a["status"] for a in record["runs"][0]["actions"]}
    assert statuses["suspend_iam"] == "failed" and statuses["ban_panda"] == "changed"
    assert statuses["kill_jobs"] == "changed" and "suspend_rucio" not in statuses
    csirt = [m for m in mails_for(token_smtp, incident_id) if "csirt-list@lab.gridsec.test" in m.message["To"]][0]
    assert csirt.message["Subject"].startswith("[%s] IAM suspension FAILED for token user" % incident_id)
    assert "Suspending the IAM account (username=ttoken) at https://localhost:" in text(csirt)
    assert "FAILED" in text(csirt)


def test_token_user_incident_without_iam_url_says_the_account_is_not_suspended(panda_lab_endpoint, token_smtp,
                                                                                 tmp_path):
    ep = panda_lab_endpoint
    sub = "e1eb758b-b73c-4761-bfff-adc793da409c"
    panda_id = submit_token_job(ep, sub)  # a token without a `name` claim: PanDA records the bare sub
    incident_id = "GRIDSEC-TOKEN-%s" % letters().upper()
    records = tmp_path / "records"
    run("incident", dict(incident_id=incident_id, incident_panda_id=panda_id, incident_record_dir=str(records),
                         **panda_vars(ep), **smtp_vars(token_smtp)), tmp_path)
    assert banned_rows(ep, sub) == ["disabled"]
    record = json.loads((records / (incident_id + ".json")).read_text())
    assert record["summary"]["token_identity"]["subject"] == sub
    actions = {a["name"]: a for a in record["runs"][0]["actions"]}
    assert actions["suspend_iam"]["status"] == "skipped"
    assert "NOT suspended" in actions["suspend_iam"]["result"]["why"]
    csirt = [m for m in mails_for(token_smtp, incident_id) if "csirt-list@lab.gridsec.test" in m.message["To"]][0]
    assert "token user NOT suspended in IAM" in csirt.message["Subject"]
    assert "the token user's IAM account is NOT suspended" in text(csirt)


def test_rucio_down_or_no_identity_fails_naming_the_step_and_the_rest_is_done(panda_lab_endpoint, token_smtp,
                                                                            tmp_path):
    ep = panda_lab_endpoint
    records = tmp_path / "records"
    down = {"rucio_url": "https://localhost:%d" % closed_port(), "rucio_username": "root",
            "rucio_password": "not-used-%s" % letters()}
    for case, extra in (("down", {"incident_rucio_accounts": ["jdoe"]}), ("no-identity", {})):
        name = "Una %s" % letters().capitalize()
        panda_id = submit_token_job(ep, name)  # a JEDI-style compact name: no nickname, no sub
        incident_id = "GRIDSEC-RUCIO-%s" % letters().upper()
        out = run("incident", dict(incident_id=incident_id, incident_panda_id=panda_id,
                                   incident_record_dir=str(records), **panda_vars(ep), **smtp_vars(token_smtp),
                                   **down, **extra), tmp_path, expect_rc=2)
        assert "failed: suspend_rucio" in out, case
        assert down["rucio_password"] not in out
        assert banned_rows(ep, name) == ["disabled"], case
        record = json.loads((records / (incident_id + ".json")).read_text())
        step = [a for a in record["runs"][0]["actions"] if a["name"] == "suspend_rucio"][0]
        assert step["status"] == "failed" and step["result"]["suspended"] == [], case
        csirt = [m for m in mails_for(token_smtp, incident_id) if "csirt-list@lab.gridsec.test" in m.message["To"]][0]
        if case == "down":
            assert step["result"]["selectors"] == [{"account": "jdoe"}]
            assert "Suspending the Rucio account of account=jdoe at %s FAILED" % down["rucio_url"] in text(csirt)
        else:
            assert step["result"]["selectors"] == [] and "incident_rucio_accounts" in step["result"]["msg"]
            assert "The Rucio account(s) were NOT suspended" in text(csirt)


def test_x509_user_with_iam_url_suspends_the_linked_account_check_first(panda_lab_endpoint, panda_pki, iam,
                                                                        token_smtp, tmp_path):
    ep = panda_lab_endpoint
    tag = letters()
    dn = "/DC=test/DC=gridsec-lab/OU=Users/CN=x%s/CN=Xena %s" % (tag, tag.capitalize())
    linked = iam.add_user("x" + tag, "Xena", tag.capitalize(), certificate_dns=[dn])
    iam.token_for("x" + tag)
    cred = panda_pki.user("Xena " + tag, dn=dn)
    panda_id = ep.submit_job(cred, jobParameters="-p python3%20miner.py")
    ep.set_job_status(panda_id, "running")
    records = tmp_path / "records"
    incident_id = "GRIDSEC-X509-%s" % tag.upper()
    extravars = dict(incident_id=incident_id, incident_panda_id=panda_id, incident_record_dir=str(records),
                     incident_suspend=False, incident_strip_proxy_rdns="all", **panda_vars(ep), **iam_vars(iam),
                     **smtp_vars(token_smtp))
    # --check: predicted, nothing changed in IAM
    out = subprocess_check(extravars, tmp_path)
    assert "suspend_iam: would_change" in out, out[-6000:]
    assert iam.account("x" + tag).active is True and len(iam.tokens("x" + tag, "access")) == 1

    run("incident", extravars, tmp_path)
    assert iam.account("x" + tag).active is False and iam.tokens("x" + tag, "access") == []
    record = json.loads((records / (incident_id + ".json")).read_text())
    step = [a for a in record["runs"][0]["actions"] if a["name"] == "suspend_iam"][0]
    assert step["status"] == "changed" and step["result"]["uuid"] == linked.id
    assert list(step["result"]["selector"]) == ["dn"] and record["summary"]["token_user"] is False

    # another X.509 user that has no IAM account: reported, not a failure
    other = panda_pki.user("Yann " + tag, dn="/DC=test/DC=gridsec-lab/OU=Users/CN=y%s/CN=Yann %s" % (tag, tag))
    panda_id = ep.submit_job(other, jobParameters="-p python3%20miner.py")
    incident_id = "GRIDSEC-X509-NONE-%s" % tag.upper()
    run("incident", dict(extravars, incident_id=incident_id, incident_panda_id=panda_id), tmp_path)
    record = json.loads((records / (incident_id + ".json")).read_text())
    step = [a for a in record["runs"][0]["actions"] if a["name"] == "suspend_iam"][0]
    assert step["status"] == "ok" and step["result"]["found"] is False
    csirt = [m for m in mails_for(token_smtp, incident_id) if "csirt-list@lab.gridsec.test" in m.message["To"]][0]
    assert "No IAM account at %s is linked to" % iam.url in text(csirt)


def subprocess_check(extravars, tmp_path):
    """The incident playbook with --check (and no mail: the check-mode mail path is test_incident.py's)."""
    vars_file = tmp_path / ("vars-check-%s.json" % letters())
    vars_file.write_text(json.dumps(dict(extravars, incident_send_mail=False)))
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("localhost ansible_connection=local\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"), ANSIBLE_HOME=str(tmp_path / "ansible-home"),
               ANSIBLE_LOCALHOST_WARNING="False")
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(inventory), "-e", "ansible_python_interpreter=%s"
                           % sys.executable, "-e", "@%s" % vars_file, "gridsec.ops.incident", "--check"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-15000:]
    return proc.stdout


def test_unban_without_iam_url_says_the_account_stays_suspended_then_lifts_it(panda_lab_endpoint, iam, token_smtp,
                                                                              tmp_path):
    ep = panda_lab_endpoint
    tag = letters()
    username, panda_name = "u" + tag, "Ursula " + tag.capitalize()  # a PanDA name no other test bans
    iam.add_user(username, "Ursula", tag.capitalize())
    panda_id = submit_token_job(ep, "%s/CN=nickname:%s" % (panda_name, username))
    incident_id = "GRIDSEC-UNBAN-%s" % letters().upper()
    records = tmp_path / "records"
    run("incident", dict(incident_id=incident_id, incident_panda_id=panda_id, incident_record_dir=str(records),
                         **panda_vars(ep), **iam_vars(iam), **smtp_vars(token_smtp)), tmp_path)
    assert iam.account(username).active is False

    base = dict(incident_id=incident_id, incident_record_dir=str(records), **panda_vars(ep), **smtp_vars(token_smtp))
    out = run("unban", base, tmp_path, expect_rc=2)
    assert "failed: unsuspend_iam" in out
    assert iam.account(username).active is False  # nothing claimed, nothing done
    assert "disabled" not in banned_rows(ep, panda_name)  # the PanDA unban is independent and done
    record = json.loads((records / (incident_id + ".json")).read_text())
    step = [a for a in record["runs"][-1]["actions"] if a["name"] == "unsuspend_iam"][0]
    assert step["status"] == "failed" and "iam_url is not set: they stay suspended" in step["result"]["msg"]
    note = [m for m in mails_for(token_smtp, incident_id) if "ban NOT fully lifted" in m.message["Subject"]]
    assert len(note) == 1 and "IAM: NOT lifted" in text(note[0])

    # IAM down: fails naming the step, the account stays suspended
    out = run("unban", dict(base, **iam_vars(iam, url="https://localhost:%d" % closed_port())), tmp_path,
              expect_rc=2)
    assert "failed: unsuspend_iam" in out and iam.account(username).active is False

    run("unban", dict(base, **iam_vars(iam)), tmp_path)
    account = iam.account(username)
    assert account.active is True and [lb.name for lb in account.labels] == []
