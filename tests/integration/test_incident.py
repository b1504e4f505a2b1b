# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Integration tests of the incident playbooks (playbooks/incident.yml, unban.yml, ban_user.yml), run by FQCN
the way an operator runs them, against the lab: lab PanDA and a real panda-server (fixture ``panda_endpoint``),
a lab Argus PAP as the central PAP, and the lab SMTP server (aiosmtpd with STARTTLS and AUTH).

pytest arranges the incident (a user of its own submits a job that runs, a second one queued, the pilot
directory a site finds on its worker node), runs the playbook, then checks independently what a user would
notice: the PanDA database and API, the PAP's policies, the mails that arrived and the incident record.
"""
import dataclasses
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

from gridsec_lab import smtp as lab_smtp
from gridsec_lab.panda.naming import clean_user_id
from gridsec_lab.pki import TestPKI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
LAB_BASE = "/DC=test/DC=gridsec-lab/OU=Users"
SMTP_USER, SMTP_PASSWORD = "gridsec-ops", "Smtp-Pw-%s" % "".join(random.choice(string.ascii_letters) for _ in range(8))
# What prun sends: the user's command URL-encoded (-p), the code archive (-a), the cache server (--sourceURL).
PARAMS = ('-j "" --sourceURL https://pandacache.lab.gridsec.test:25443 -r . -p "python3%20miner.py%20--pool%3D'
          'stratum%2Btcp%3A%2F%2Fpool.example%3A3333" -a jobO.5f0c2a1e-incident.tar.gz --inDS user.x.input')
DECODED_COMMAND = "python3 miner.py --pool=stratum+tcp://pool.example:3333"
PAYLOAD_URL = "https://pandacache.lab.gridsec.test:25443/cache/jobO.5f0c2a1e-incident.tar.gz"
PILOT_DN = "/DC=test/DC=gridsec-lab/OU=Robots/CN=pilot factory"


def letters(n=6):
    return "".join(random.choice(string.ascii_lowercase) for _ in range(n))


@pytest.fixture(scope="module")
def smtp_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("smtp")
    server = lab_smtp.start(str(workdir), TestPKI(str(workdir / "pki")), users={SMTP_USER: SMTP_PASSWORD})
    yield server
    server.stop()


def run(playbook, extravars, tmp_path, expect_rc=0, args=(), inventory=None):
    """ansible-playbook gridsec.ops.<playbook> (by FQCN), with an inventory holding a 'worker node'."""
    vars_file = tmp_path / ("vars-%s-%s.json" % (playbook, letters()))
    vars_file.write_text(json.dumps(extravars))
    if inventory is None:
        inventory = tmp_path / "inventory.ini"
        inventory.write_text("localhost ansible_connection=local\n[worker_nodes]\nwn042.lab ansible_connection=local\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_LOCALHOST_WARNING="False")
    cmd = [ANSIBLE_PLAYBOOK, "-i", str(inventory), "-e", "ansible_python_interpreter=%s" % sys.executable,
           "-e", "@%s" % vars_file, "gridsec.ops." + playbook] + list(args)
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900,
                          cwd=str(tmp_path))
    if proc.returncode != expect_rc:
        pytest.fail("%s exited %d (expected %d):\n%s" % (playbook, proc.returncode, expect_rc, proc.stdout[-20000:]))
    return proc.stdout


def recap_changed(output):
    line = [ln for ln in output.splitlines() if ln.startswith("localhost ")][-1]
    return int(line.split("changed=")[1].split()[0])


def ca_file(ep):
    return os.path.join(os.path.dirname(ep.ca_path), "ca", "ca.pem")


def panda_vars(ep):
    out = {"panda_url": ep.url, "panda_client_cert": ep.admin.cert, "panda_client_key": ep.admin.key,
           "panda_ca_path": ep.ca_path, "panda_db_host": ep.db.host, "panda_db_port": ep.db.port,
           "panda_db_name": ep.db.dbname, "panda_db_user": ep.db.user, "panda_db_meta_schema": ep.db.meta_schema,
           "panda_db_panda_schema": ep.db.panda_schema}
    if ep.db.password:
        out["panda_db_password"] = ep.db.password
    if ep.monitor_url:
        out["panda_monitor_url"] = ep.monitor_url
    return out


def argus_vars(pap_lab):
    admin = pap_lab.creds["admin"]
    return {"central_pap_host": "localhost", "central_pap_port": pap_lab.pap.port, "argus_client_cert": admin.cert,
            "argus_client_key": admin.key, "argus_ca_path": pap_lab.ca_dir}


def smtp_vars(server, password=SMTP_PASSWORD):
    return {"incident_smtp_host": "localhost", "incident_smtp_port": server.port, "incident_smtp_security": "starttls",
            "incident_smtp_ca_path": server.ca_file, "incident_smtp_username": SMTP_USER,
            "incident_smtp_password": password, "incident_mail_from": "Grid CSIRT <csirt@lab.gridsec.test>",
            "incident_site_contacts": ["security@site.lab.gridsec.test"],
            "incident_csirt_contacts": ["csirt-list@lab.gridsec.test"]}


def banned_rows(ep, name):
    with psycopg.connect(ep.db.dsn()) as db:
        return [r[0] for r in db.execute(sql.SQL("SELECT status FROM {}.users WHERE name = %s ORDER BY id")
                                         .format(sql.Identifier(ep.db.meta_schema)), (name,)).fetchall()]


def job_state(ep, panda_id):
    reply = requests.post("%s/api/v1/job/get_description_incl_archive" % ep.url, json={"job_ids": [panda_id]},
                          cert=(ep.admin.cert, ep.admin.key), verify=ca_file(ep),
                          headers={"Accept": "application/json"}, timeout=60).json()
    data = reply["data"][0]
    return data["jobStatus"], data.get("commandToPilot")


def rfc2253(slash_dn):
    """What the PAP stores for a slash-form DN without special characters (ARGUS.md 5.3)."""
    return ",".join(reversed(slash_dn.strip("/").split("/")))


def pap_denied_subjects(pap_lab):
    envelope = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><pap:listPolicies '
                'xmlns:pap="http://services.pap.authz.glite.org"><papAlias>default</papAlias></pap:listPolicies>'
                '</soapenv:Body></soapenv:Envelope>')
    admin = pap_lab.creds["admin"]
    reply = requests.post(pap_lab.pap.url + "/XACMLPolicyManagementService", data=envelope.encode(),
                          headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
                          cert=(admin.cert, admin.key), verify=pap_lab.pki.ca_cert_path, timeout=30)
    assert reply.status_code == 200, reply.text
    from lxml import etree
    root = etree.fromstring(reply.content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    xacml = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"
    out = []
    for rule in root.iter("{%s}Rule" % xacml):
        if rule.get("Effect") != "Deny":
            continue
        for match in rule.iter("{%s}SubjectMatch" % xacml):
            out.append(match.find("{%s}AttributeValue" % xacml).text)
    return out


class Incident:
    """A user of its own with a running job and a queued one, and the pilot directory on the worker node."""

    def __init__(self, ep, pki, tmp_path):
        tag = letters()
        self.dn = "%s/CN=inc%s/CN=%d/CN=Incident %s" % (LAB_BASE, tag, random.randint(1000, 9999), tag.capitalize())
        self.cred = pki.user("Incident " + tag, dn=self.dn)
        self.name = clean_user_id(self.dn)
        self.panda_id = ep.submit_job(self.cred, jobParameters=PARAMS, creationHost="ui07.lab.gridsec.test",
                                      batchID="ce01.lab#%d.0#1700000000" % random.randint(10000, 99999))
        ep.set_job_status(self.panda_id, "running")
        self.queued = ep.submit_job(self.cred, jobParameters=PARAMS)
        main_dir = tmp_path / "worker" / "PanDA_Pilot3_31337_1700000000"
        self.pilot_dir = main_dir / ("PanDA_Pilot-%d" % self.panda_id)
        self.pilot_dir.mkdir(parents=True)
        (main_dir / "pilotlog.txt").write_text("2026-12-01 03:00:01,000 | INFO | pilot.control.job | retrieve | "
                                               "received job: %d\n" % self.panda_id)
        self.id = "GRIDSEC-TEST-%s" % tag.upper()
        self.records = tmp_path / "records"
        self.record = self.records / (self.id + ".json")

    def vars(self, ep, pap_lab, server, **extra):
        out = {"incident_id": self.id, "incident_worker": "wn042.lab", "incident_pilot_dir": str(self.pilot_dir),
               "incident_reason": "crypto-currency mining reported by the site", "incident_ticket": "RT-4242",
               "incident_site_name": "LAB-SITE", "incident_pilot_dn": PILOT_DN,
               "incident_record_dir": str(self.records),
               # The lab submits with an RFC 3820 proxy: the job's DN ends with the proxy's serial.
               "incident_strip_proxy_rdns": "all"}
        out.update(panda_vars(ep))
        out.update(argus_vars(pap_lab))
        out.update(smtp_vars(server))
        out.update(extra)
        return out


def mails_for(server, incident_id):
    return [m for m in server.messages() if m.message["X-Gridsec-Incident"] == incident_id]


def test_incident_from_pilot_directory(panda_endpoint, panda_pki, argus_pap, smtp_server, tmp_path):
    ep = panda_endpoint
    inc = Incident(ep, panda_pki, tmp_path)
    extravars = inc.vars(ep, argus_pap, smtp_server)

    # --check: the whole incident runs, nothing changes anywhere.
    out = run("incident", extravars, tmp_path, args=["--check"])
    assert "check mode: nothing was changed" in out
    assert banned_rows(ep, inc.name) == [None]
    assert rfc2253(inc.dn) not in pap_denied_subjects(argus_pap)
    assert job_state(ep, inc.panda_id) == ("running", None)
    assert mails_for(smtp_server, inc.id) == []
    assert not inc.record.exists()

    # The incident.
    run("incident", extravars, tmp_path)
    assert banned_rows(ep, inc.name) == ["disabled"]
    assert rfc2253(inc.dn) in pap_denied_subjects(argus_pap)
    status, command = job_state(ep, inc.panda_id)
    assert status == "cancelled" or command == "tobekilled"
    assert job_state(ep, inc.queued)[0] == "cancelled"

    mails = mails_for(smtp_server, inc.id)
    assert len(mails) == 2
    site, csirt = mails
    for mail in mails:
        assert mail.tls and mail.auth_user == SMTP_USER  # STARTTLS and AUTH were used
        assert mail.message["From"] == "Grid CSIRT <csirt@lab.gridsec.test>"
        assert mail.message["Message-ID"] and mail.message["Date"]
    assert site.rcpt_tos == ["security@site.lab.gridsec.test"]
    assert site.message["Subject"].startswith("[%s] PanDA job %d" % (inc.id, inc.panda_id))
    body = site.body()
    for expected in (inc.dn, PILOT_DN, "not the owner of the payload", "job?pandaid=%d" % inc.panda_id,
                     "ui07.lab.gridsec.test", PAYLOAD_URL, DECODED_COMMAND, "RT-4242"):
        assert expected in body, (expected, body)
    assert "python3%20miner.py" not in body
    assert csirt.rcpt_tos == ["csirt-list@lab.gridsec.test"]
    assert inc.dn in csirt.message["Subject"]
    assert "crypto-currency mining" in csirt.body() and "RT-4242" in csirt.body()

    record = json.loads(inc.record.read_text())
    assert record["incident"] == inc.id
    assert record["summary"]["panda_id"] == inc.panda_id and record["summary"]["dn"] == inc.dn
    [run_entry] = record["runs"]
    actions = {a["name"]: a for a in run_entry["actions"]}
    assert list(actions) == ["identify", "ban_panda", "suspend_central", "kill_jobs", "mail_site", "mail_csirt"]
    assert all(a["started"] <= a["finished"] for a in actions.values())
    assert [actions[n]["status"] for n in actions] == ["ok"] + ["changed"] * 5
    assert actions["identify"]["result"]["on_worker"] == [inc.panda_id]
    assert record["mails"]["site_reply"]["message_id"] == site.message["Message-ID"]
    assert record["mails"]["csirt"]["message_id"] == csirt.message["Message-ID"]
    assert oct(os.stat(inc.record).st_mode & 0o777) == "0o600"

    # The same incident again: nothing changes, no second mail, the record stays as it is.
    before = inc.record.read_bytes()
    out = run("incident", extravars, tmp_path)
    assert recap_changed(out) == 0
    assert len(mails_for(smtp_server, inc.id)) == 2
    assert inc.record.read_bytes() == before

    # Unless asked: the mails are sent again, and the record keeps the new message ids.
    run("incident", dict(extravars, incident_force_mail=True), tmp_path)
    again = mails_for(smtp_server, inc.id)
    assert len(again) == 4
    record = json.loads(inc.record.read_text())
    assert record["mails"]["site_reply"]["message_id"] == again[2].message["Message-ID"]
    assert len(record["runs"]) == 2

    # False positive: unban lifts the PanDA ban and the suspension, records it and notifies.
    run("unban", extravars, tmp_path)
    assert banned_rows(ep, inc.name) == [None]
    assert rfc2253(inc.dn) not in pap_denied_subjects(argus_pap)
    notes = mails_for(smtp_server, inc.id)[4:]
    assert len(notes) == 1 and "lifted" in notes[0].message["Subject"]
    record = json.loads(inc.record.read_text())
    assert [a["name"] for a in record["runs"][-1]["actions"]] == ["unban_panda", "unsuspend_central", "mail_unban"]
    out = run("unban", extravars, tmp_path)
    assert recap_changed(out) == 0 and len(mails_for(smtp_server, inc.id)) == 5


def test_incident_by_batch_id_with_steps_switched_off(panda_endpoint, panda_pki, smtp_server, tmp_path):
    """A site that only sends its batch-system id; suspension and mails switched off: the record says so."""
    ep = panda_endpoint
    inc = Incident(ep, panda_pki, tmp_path)
    with psycopg.connect(ep.db.dsn()) as db:
        batch_id = db.execute(sql.SQL("SELECT batchid FROM {}.jobsactive4 WHERE pandaid = %s")
                              .format(sql.Identifier(ep.db.panda_schema)), (inc.panda_id,)).fetchone()[0]
    extravars = {"incident_id": inc.id, "incident_batch_id": batch_id, "incident_suspend": False,
                 "incident_send_mail": False, "incident_record_dir": str(inc.records)}
    extravars.update(panda_vars(ep))
    run("incident", extravars, tmp_path)
    assert banned_rows(ep, inc.name) == ["disabled"]
    assert job_state(ep, inc.queued)[0] == "cancelled"
    assert mails_for(smtp_server, inc.id) == []
    record = json.loads(inc.record.read_text())
    statuses = {a["name"]: a["status"] for a in record["runs"][0]["actions"]}
    assert statuses == {"identify": "ok", "ban_panda": "changed", "suspend_central": "skipped",
                        "kill_jobs": "changed", "mail_site": "skipped", "mail_csirt": "skipped"}
    assert record["summary"]["batch_id"] == batch_id and record["summary"]["panda_id"] == inc.panda_id


@pytest.mark.panda_lab
def test_allow_listed_dn_is_refused_and_the_failure_recorded(panda_lab_endpoint, panda_pki, argus_pap, smtp_server,
                                                             tmp_path):
    ep = panda_lab_endpoint
    inc = Incident(ep, panda_pki, tmp_path)
    extravars = inc.vars(ep, argus_pap, smtp_server, incident_panda_id=inc.panda_id,
                         suspension_allow_list=[rfc2253(inc.dn).replace(",", ", ").replace("CN=", "cn=")])  # other form
    del extravars["incident_worker"]
    out = run("incident", extravars, tmp_path, expect_rc=2)
    assert "is on the suspension allow-list" in out
    assert banned_rows(ep, inc.name) == [None]
    assert rfc2253(inc.dn) not in pap_denied_subjects(argus_pap)
    assert job_state(ep, inc.panda_id) == ("running", None)
    assert mails_for(smtp_server, inc.id) == []
    record = json.loads(inc.record.read_text())
    [entry] = record["runs"]
    assert entry["status"] == "failed"
    assert [a["name"] for a in entry["actions"]] == ["identify", "The DN is not on the suspension allow-list"]
    assert entry["actions"][-1]["status"] == "failed"


@pytest.mark.panda_lab
def test_ban_user_everywhere_the_inventory_knows(panda_lab_endpoint, panda_pki, argus_pap, tmp_path):
    ep = panda_lab_endpoint
    inc = Incident(ep, panda_pki, tmp_path)
    admin = argus_pap.creds["admin"]
    inventory = tmp_path / "paps.ini"
    inventory.write_text("localhost ansible_connection=local\n[argus_paps]\ncentral-pap argus_pap_host=localhost "
                         "argus_pap_port=%d ansible_connection=local\n" % argus_pap.pap.port)
    extravars = {"ban_dn": inc.dn + "/CN=proxy", "argus_client_cert": admin.cert, "argus_client_key": admin.key,
                 "argus_ca_path": argus_pap.ca_dir}
    extravars.update(panda_vars(ep))
    run("ban_user", extravars, tmp_path, args=["--check"], inventory=inventory)
    assert banned_rows(ep, inc.name) == [None] and rfc2253(inc.dn) not in pap_denied_subjects(argus_pap)
    run("ban_user", extravars, tmp_path, inventory=inventory)
    assert banned_rows(ep, inc.name) == ["disabled"]
    assert pap_denied_subjects(argus_pap) == [rfc2253(inc.dn)]  # the end-entity DN, not the proxy
    assert job_state(ep, inc.panda_id) == ("running", None)  # ban only: no kill unless asked
    out = run("ban_user", extravars, tmp_path, inventory=inventory)
    assert recap_changed(out) == 0


def adhoc_mail(server, tmp_path, expect_rc=0, **args):
    params = {"smtp_host": "localhost", "smtp_port": server.port, "ca_path": server.ca_file,
              "sender": "ops@lab.gridsec.test", "to": ["x@lab.gridsec.test"], "subject": "test", "body": "hello"}
    params.update(args)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"), ANSIBLE_HOME=str(tmp_path / "ansible-home"),
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, "-m", "gridsec.ops.incident_mail",
                           "-a", json.dumps(params)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300)
    assert proc.returncode == expect_rc, proc.stdout[-5000:]
    # "localhost | CHANGED => {...}" (ad-hoc output of the default callback, JSON result format)
    text = proc.stdout[proc.stdout.index("localhost | "):]
    result = json.loads(text[text.index("{"):])
    result["_output"] = proc.stdout  # warnings are printed, not part of the JSON
    return result


def test_mail_module_refuses_bad_credentials_clear_text_and_an_unverified_server(smtp_server, tmp_path):
    before = len(smtp_server.messages())
    res = adhoc_mail(smtp_server, tmp_path, expect_rc=2, username=SMTP_USER, password="wrong")
    assert res["operation"] == "AUTH" and ("localhost:%d" % smtp_server.port) in res["msg"]
    assert "wrong" not in json.dumps(res)  # the password is never echoed
    res = adhoc_mail(smtp_server, tmp_path, expect_rc=2, security="none", username=SMTP_USER, password=SMTP_PASSWORD)
    assert "clear text" in res["msg"]
    other = TestPKI(str(tmp_path / "other-pki"))  # a CA that did not sign the server's certificate
    res = adhoc_mail(smtp_server, tmp_path, expect_rc=2, ca_path=other.ca_cert_path, username=SMTP_USER,
                     password=SMTP_PASSWORD)
    assert res["operation"] == "STARTTLS" and "certificate" in res["msg"].lower()
    assert len(smtp_server.messages()) == before


def test_mail_module_idempotent_through_the_record(smtp_server, tmp_path):
    record = tmp_path / "INC-1.json"
    args = dict(username=SMTP_USER, password=SMTP_PASSWORD, record_path=str(record), record_key="note",
                headers={"X-Gridsec-Incident": "MAILTEST-%s" % letters()})
    first = adhoc_mail(smtp_server, tmp_path, **args)
    assert first["changed"] and first["sent"]
    again = adhoc_mail(smtp_server, tmp_path, **args)
    assert not again["changed"] and again["message_id"] == first["message_id"]
    edited = adhoc_mail(smtp_server, tmp_path, **dict(args, body="changed text"))
    assert not edited["changed"] and "differs from the one sent" in edited["_output"]
    forced = adhoc_mail(smtp_server, tmp_path, **dict(args, force=True))
    assert forced["changed"] and forced["message_id"] != first["message_id"]
    received = mails_for(smtp_server, args["headers"]["X-Gridsec-Incident"])
    assert [m.message["Message-ID"] for m in received] == [first["message_id"], forced["message_id"]]
    assert json.loads(record.read_text())["mails"]["note"]["message_id"] == forced["message_id"]
    not_a_record = tmp_path / "other.json"
    not_a_record.write_text('{"some": "file"}')
    res = adhoc_mail(smtp_server, tmp_path, expect_rc=2, **dict(args, record_path=str(not_a_record)))
    assert "not a gridsec.ops incident record" in res["msg"] and not_a_record.read_text() == '{"some": "file"}'


def dead_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def site_and_csirt(server, incident_id, start=0):
    mails = mails_for(server, incident_id)[start:]
    site = [m for m in mails if m.rcpt_tos == ["security@site.lab.gridsec.test"]]
    csirt = [m for m in mails if m.rcpt_tos == ["csirt-list@lab.gridsec.test"]]
    return site, csirt


@pytest.mark.panda_lab
def test_incident_dn_ending_in_a_number_pap_down_and_handled_again_after_unban(
        panda_lab_endpoint, panda_pki, argus_pap, smtp_server, tmp_path):
    """Issue 14 items 1, 6, 8, 16 against the lab. Eve's own DN ends with a number and she submitted with her
    certificate (no proxy): the DN PanDA records ends with CN=777, and nothing tells whether that is a proxy serial.
    The old playbook stripped it and suspended '/CN=Eve ...' (somebody else); a down central PAP stopped the kill;
    the site read 'killed' for a running job that is only flagged; --check predicted success with a wrong SMTP
    password and could not show the mails; a re-run after the unban re-banned without telling anyone; the unban
    mail was machine output and no follow-up was threaded."""
    ep = panda_lab_endpoint
    inc = Incident(ep, panda_pki, tmp_path)  # the helper's own user is not used below
    tag = letters()
    eve_dn = "%s/CN=eve%s/CN=Eve %s/CN=777" % (LAB_BASE, tag, tag.capitalize())
    eve = panda_pki.user("Eve " + tag, dn=eve_dn)
    eve = dataclasses.replace(eve, proxy=None)  # submits with the end-entity certificate
    running = ep.submit_job(eve, jobParameters=PARAMS)
    ep.set_job_status(running, "running")
    queued = ep.submit_job(eve, jobParameters=PARAMS)
    name = clean_user_id(eve_dn)
    base = inc.vars(ep, argus_pap, smtp_server, incident_panda_id=running)
    for key in ("incident_worker", "incident_pilot_dir", "incident_strip_proxy_rdns"):
        del base[key]
    wrong_ending = rfc2253(eve_dn.rsplit("/", 1)[0])  # what the regex made of her DN

    # --check --diff: the mails are shown, the SMTP login verified, nothing sent; the DN's ending needs a decision.
    out = run("incident", base, tmp_path, expect_rc=2, args=["--check", "--diff"])
    assert "ends with a numeric CN" in out and "incident_strip_proxy_rdns" in out
    assert "Subject: [%s] PanDA job %d" % (inc.id, running) in out  # the diff of the site reply
    assert "still running, flagged 'tobekilled'" in out
    assert SMTP_PASSWORD not in out
    assert mails_for(smtp_server, inc.id) == [] and not inc.record.exists()
    # --check with a wrong SMTP password fails at AUTH, naming the server, before anything is changed.
    out = run("incident", dict(base, incident_smtp_password="Wrong-%s" % letters(), incident_strip_proxy_rdns="none"),
              tmp_path, expect_rc=2, args=["--check"])
    assert "refused the credentials" in out and "localhost:%d" % smtp_server.port in out
    assert banned_rows(ep, name) == [None] and job_state(ep, running) == ("running", None)

    # The central PAP is down: the PanDA ban and the kill still happen, the mails say what failed, rc != 0.
    out = run("incident", dict(base, incident_strip_proxy_rdns="none", central_pap_port=dead_port()), tmp_path,
              expect_rc=2)
    assert "failed: ['suspend_central:" in out
    assert banned_rows(ep, name) == ["disabled"]
    assert job_state(ep, running) == ("running", "tobekilled")  # PanDA only flagged it
    assert job_state(ep, queued)[0] == "cancelled"
    [site], [csirt] = site_and_csirt(smtp_server, inc.id)
    body = site.body()
    assert "FAILED" in body and "suspension list" in body
    assert "still running, flagged 'tobekilled':      %d" % running in body
    assert "cancelled (stopped):                      %d" % queued in body
    assert "jobs and tasks killed" not in body
    record = json.loads(inc.record.read_text())
    statuses = {a["name"]: a["status"] for a in record["runs"][-1]["actions"]}
    assert statuses["suspend_central"] == "failed" and statuses["kill_jobs"] == "changed"

    # The PAP is back: her DN exactly as recorded is suspended (not '/CN=Eve ...'), and the state change is mailed,
    # threaded to the first mails.
    run("incident", dict(base, incident_strip_proxy_rdns="none"), tmp_path)
    denied = pap_denied_subjects(argus_pap)
    assert rfc2253(eve_dn) in denied and wrong_ending not in denied
    [_, site2], [_, csirt2] = site_and_csirt(smtp_server, inc.id)
    assert site2.message["In-Reply-To"] == site.message["Message-ID"]
    assert csirt2.message["References"] == csirt.message["Message-ID"]
    record = json.loads(inc.record.read_text())
    assert record["summary"]["dn"] == eve_dn and record["summary"]["stripped_rdns"] == []
    assert record["summary"]["strip_proxy_rdns"] == "none"

    # Unban: a note in sentences, threaded to both first mails.
    run("unban", base, tmp_path)
    assert banned_rows(ep, name) == [None] and rfc2253(eve_dn) not in pap_denied_subjects(argus_pap)
    note = mails_for(smtp_server, inc.id)[-1]
    assert "lifted" in note.message["Subject"]
    text = note.body()
    assert "We have lifted the ban of %s" % eve_dn in text and "unban_panda:" not in text
    assert site2.message["Message-ID"] in note.message["In-Reply-To"]
    assert csirt2.message["Message-ID"] in note.message["In-Reply-To"]
    assert site.message["Message-ID"] in note.message["References"]

    # The incident handled again after its unban: re-banned, re-suspended, and both lists are told.
    count = len(mails_for(smtp_server, inc.id))
    run("incident", dict(base, incident_strip_proxy_rdns="none"), tmp_path)
    assert banned_rows(ep, name) == ["disabled"] and rfc2253(eve_dn) in pap_denied_subjects(argus_pap)
    site3, csirt3 = site_and_csirt(smtp_server, inc.id, start=count)
    assert len(site3) == 1 and len(csirt3) == 1
    assert "suspended again" in csirt3[0].message["Subject"]
    assert note.message["Message-ID"] in csirt3[0].message["In-Reply-To"]


@pytest.mark.panda_lab
def test_incident_refuses_a_limit_without_localhost_and_an_unknown_worker(panda_lab_endpoint, panda_pki, argus_pap,
                                                                          smtp_server, tmp_path):
    """Contract C4: a --limit that leaves out the controller, and a misspelt worker node, fail and say so; nothing
    is done."""
    ep = panda_lab_endpoint
    inc = Incident(ep, panda_pki, tmp_path)
    extravars = inc.vars(ep, argus_pap, smtp_server)
    out = run("incident", extravars, tmp_path, expect_rc=2, args=["--limit", "wn042.lab"])
    assert "--limit wn042.lab leaves it out" in out
    out = run("unban", dict(extravars, unban_dn=inc.dn), tmp_path, expect_rc=2, args=["--limit", "wn042.lab"])
    assert "--limit wn042.lab leaves it out" in out
    out = run("incident", dict(extravars, incident_worker="wn042.lba"), tmp_path, expect_rc=2)
    assert "incident_worker wn042.lba is not a host of the inventory" in out
    assert banned_rows(ep, inc.name) == [None] and job_state(ep, inc.panda_id) == ("running", None)
    assert mails_for(smtp_server, inc.id) == [] and not inc.record.exists()
