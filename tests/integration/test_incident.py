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

from gridsec_lab import ports, smtp as lab_smtp
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
    # the lab submitted with a proxy: its serial was removed (incident_strip_proxy_rdns=all), and that is said
    [serial] = record["summary"]["stripped_rdns"]
    assert record["summary"]["submitted_dn"] == inc.dn + "/" + serial and serial[3:].isdigit()
    assert "proxy component(s) %s removed" % serial in site.body()
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
    # the same structured error as every module (the base's failure boundary): kind, server and operation
    assert res["error"]["kind"] == "authorization" and res["error"]["operation"] == "AUTH"
    assert res["error"]["server"] == "SMTP server localhost:%d" % smtp_server.port
    assert res["sent"] is False and res["changed"] is False
    assert "wrong" not in json.dumps(res)  # the password is never echoed
    res = adhoc_mail(smtp_server, tmp_path, expect_rc=2, security="none", username=SMTP_USER, password=SMTP_PASSWORD)
    assert "clear text" in res["msg"]
    assert res["error"]["kind"] == "config" and res["error"]["operation"] == "check options"
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
    # held bound (not listening) for the session: no other process, e.g. the other xdist worker, can take it
    return ports.closed_port()


def eve_incident(ep, pki, tmp_path):
    """Eve's own DN ends with a number and she submits with her certificate (no proxy): the DN PanDA records ends
    with CN=777, and nothing tells whether that is a proxy serial. A running job and a queued one."""
    inc = Incident(ep, pki, tmp_path)  # the incident id, record and pilot directory; its own user is not used
    tag = letters()
    inc.dn = "%s/CN=eve%s/CN=Eve %s/CN=777" % (LAB_BASE, tag, tag.capitalize())
    inc.cred = dataclasses.replace(pki.user("Eve " + tag, dn=inc.dn), proxy=None)
    inc.name = clean_user_id(inc.dn)
    inc.panda_id = ep.submit_job(inc.cred, jobParameters=PARAMS)
    ep.set_job_status(inc.panda_id, "running")
    inc.queued = ep.submit_job(inc.cred, jobParameters=PARAMS)
    return inc


def by_job_id(inc, ep, pap_lab, server, **extra):
    out = inc.vars(ep, pap_lab, server, incident_panda_id=inc.panda_id, **extra)
    del out["incident_worker"], out["incident_pilot_dir"]
    return out


@pytest.mark.panda_lab
def test_incident_dn_ending_in_a_number_is_never_cut(panda_lab_endpoint, panda_pki, argus_pap, smtp_server, tmp_path):
    """Item 1: the old playbook cut every trailing numeric CN and suspended '.../CN=Eve ...' (somebody else). Now
    a DN ending with a number waits for the operator's decision (the ban and kill go on), and with
    incident_strip_proxy_rdns=none her DN is suspended exactly; the summary, mails and record say what was done."""
    ep = panda_lab_endpoint
    inc = eve_incident(ep, panda_pki, tmp_path)
    base = by_job_id(inc, ep, argus_pap, smtp_server)
    del base["incident_strip_proxy_rdns"]
    cut = rfc2253(inc.dn.rsplit("/", 1)[0])  # what the regex made of her DN

    out = run("incident", base, tmp_path, expect_rc=2)
    assert "ends with a numeric CN" in out and "incident_strip_proxy_rdns" in out
    assert "failed: suspend_central: " in out
    denied = pap_denied_subjects(argus_pap)
    assert cut not in denied and rfc2253(inc.dn) not in denied
    assert banned_rows(ep, inc.name) == ["disabled"]  # independent steps went on
    [site, csirt] = mails_for(smtp_server, inc.id)
    assert "is NOT on the central Argus suspension list yet" in site.body()
    assert "is NOT on the central Argus suspension list yet" in csirt.body()
    assert "NOT suspended:" in csirt.message["Subject"] and "DN NOT suspended:" in csirt.body()

    out = run("incident", dict(base, incident_strip_proxy_rdns="none"), tmp_path)
    denied = pap_denied_subjects(argus_pap)
    assert rfc2253(inc.dn) in denied and cut not in denied
    assert "DN: %s, used as PanDA recorded it (strip_proxy_rdns=none)" % inc.dn in out
    record = json.loads(inc.record.read_text())
    assert record["summary"]["dn"] == inc.dn == record["summary"]["submitted_dn"]
    assert record["summary"]["stripped_rdns"] == [] and record["summary"]["strip_proxy_rdns"] == "none"
    mails = mails_for(smtp_server, inc.id)
    assert len(mails) == 4  # the suspension is a state change: both told again
    assert "proxy components removed: none; mode none" in mails[3].body()


@pytest.mark.panda_lab
def test_incident_check_mode_verifies_the_smtp_login_and_diff_shows_the_mails(
        panda_lab_endpoint, panda_pki, argus_pap, smtp_server, tmp_path):
    """Item 16: --check --diff previews both mails (and verifies the login without sending); --check with a wrong
    SMTP password fails at AUTH naming the server, instead of predicting success."""
    ep = panda_lab_endpoint
    inc = Incident(ep, panda_pki, tmp_path)
    base = inc.vars(ep, argus_pap, smtp_server)
    out = run("incident", base, tmp_path, args=["--check", "--diff"])
    assert "Subject: [%s] PanDA job %d" % (inc.id, inc.panda_id) in out  # the site reply's diff
    assert "Subject: [%s] suspended %s" % (inc.id, inc.dn) in out  # the CSIRT mail's diff
    assert "still running, flagged 'tobekilled'" in out and "(predicted: check mode)" in out
    assert SMTP_PASSWORD not in out
    out = run("incident", dict(base, incident_smtp_password="Wrong-%s" % letters()), tmp_path, expect_rc=2,
              args=["--check"])
    assert "refused the credentials" in out and "localhost:%d" % smtp_server.port in out
    assert mails_for(smtp_server, inc.id) == [] and not inc.record.exists()
    assert banned_rows(ep, inc.name) == [None] and job_state(ep, inc.panda_id) == ("running", None)


@pytest.mark.panda_lab
def test_incident_central_pap_down_still_kills_and_mails_what_panda_reported(
        panda_lab_endpoint, panda_pki, argus_pap, smtp_server, tmp_path):
    """Items 16 and 8: a central PAP that is down no longer stops the kill; the run fails naming the suspension;
    the mails say the suspension failed and report the running job as flagged 'tobekilled' (PanDA's word), the
    queued one as cancelled, never 'killed' for both."""
    ep = panda_lab_endpoint
    inc = Incident(ep, panda_pki, tmp_path)
    out = run("incident", by_job_id(inc, ep, argus_pap, smtp_server, central_pap_port=dead_port()), tmp_path,
              expect_rc=2)
    assert "failed: suspend_central: " in out
    assert banned_rows(ep, inc.name) == ["disabled"]
    assert job_state(ep, inc.panda_id) == ("running", "tobekilled")  # PanDA only flagged it
    assert job_state(ep, inc.queued)[0] == "cancelled"
    [site, csirt] = mails_for(smtp_server, inc.id)
    # the CSIRT list is never told "suspended" when the suspension failed
    assert "suspension FAILED for" in csirt.message["Subject"], csirt.message["Subject"]
    assert "DN suspended:" not in csirt.body() and "DN NOT suspended:" in csirt.body()
    for body in (site.body(), csirt.body()):
        assert "central Argus suspension list on localhost:" in body and "FAILED" in body
        assert "still running, flagged 'tobekilled':      %d" % inc.panda_id in body
        assert "cancelled (stopped):                      %d" % inc.queued in body
        assert "jobs and tasks killed" not in body
    record = json.loads(inc.record.read_text())
    statuses = {a["name"]: a["status"] for a in record["runs"][-1]["actions"]}
    assert statuses == {"identify": "ok", "ban_panda": "changed", "suspend_central": "failed",
                        "kill_jobs": "changed", "mail_site": "changed", "mail_csirt": "changed"}
    kill = [a for a in record["runs"][-1]["actions"] if a["name"] == "kill_jobs"][0]
    assert kill["result"]["job_ids_by_outcome"]["flagged"] == [inc.panda_id]


@pytest.mark.panda_lab
def test_incident_handled_again_after_its_unban_notifies_in_the_thread(
        panda_lab_endpoint, panda_pki, argus_pap, smtp_server, tmp_path):
    """Items 6 and 16: the unban note is written in sentences and threaded to the first mails; the incident run
    again after its unban re-bans, re-suspends and tells both lists, threaded to the unban note."""
    ep = panda_lab_endpoint
    inc = Incident(ep, panda_pki, tmp_path)
    base = by_job_id(inc, ep, argus_pap, smtp_server)
    run("incident", base, tmp_path)
    site, csirt = mails_for(smtp_server, inc.id)
    run("unban", base, tmp_path)
    assert banned_rows(ep, inc.name) == [None] and rfc2253(inc.dn) not in pap_denied_subjects(argus_pap)
    note = mails_for(smtp_server, inc.id)[-1]
    assert "lifted" in note.message["Subject"]
    text = note.body()
    assert "We have lifted the ban of %s" % inc.dn in text and "unban_panda:" not in text
    assert note.message["In-Reply-To"].split() == [site.message["Message-ID"], csirt.message["Message-ID"]]

    run("incident", base, tmp_path)
    assert banned_rows(ep, inc.name) == ["disabled"] and rfc2253(inc.dn) in pap_denied_subjects(argus_pap)
    again = mails_for(smtp_server, inc.id)[3:]
    assert len(again) == 2, [m.message["Subject"] for m in again]
    site2, csirt2 = again
    assert "suspended again" in csirt2.message["Subject"] and "ban had been lifted" in csirt2.body()
    assert note.message["Message-ID"] in csirt2.message["In-Reply-To"]
    assert csirt.message["Message-ID"] in csirt2.message["References"]
    assert site.message["Message-ID"] in site2.message["References"]
    record = json.loads(inc.record.read_text())
    assert record["mails"]["csirt"]["thread"] == [csirt.message["Message-ID"], csirt2.message["Message-ID"]]
    # and nothing more on a further run
    out = run("incident", base, tmp_path)
    assert recap_changed(out) == 0 and len(mails_for(smtp_server, inc.id)) == 5


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
