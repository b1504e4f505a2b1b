# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Secrets never leave the module: every module option that carries a secret (client key passphrase, PanDA OIDC
token, BigPanDA monitor token, database password, a DSN with a password) is used with ``-vvv`` and with a failure
forced, including a hostile server that quotes the whole request (headers included) in its error page. The secret
value must not appear in ansible-playbook's stdout or stderr, nor in the registered task result.

Each case also proves that the secret was really used (the echo server received it, the fake PostgreSQL server was
sent the password), so the test cannot pass by never touching the secret.
"""
import datetime
import hashlib
import importlib.util
import json
import os
import random
import string
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization

from gridsec_lab import faults
from gridsec_lab import smtp as lab_smtp
from gridsec_lab.pki import TestPKI
from _hardening import ANSIBLE_PLAYBOOK, ROOT, ansible_env, argus_conn, banned_values, pap_rules, run_tasks

pytestmark = pytest.mark.slow


def _secret(label):
    return "%s-%s" % (label, "".join(random.choice(string.ascii_letters + string.digits) for _ in range(20)))


def _assert_hidden(proc, secrets):
    results = json.dumps(proc.results)
    for secret in secrets:
        for where, text in (("stdout", proc.stdout), ("stderr", proc.stderr), ("the result", results)):
            assert secret not in text, "secret %r appears in %s:\n%s" % (secret, where, text[-3000:])


def pap_literal(slash):
    """The PAP's stored literal of a plain slash DN (RDNs reversed, joined by ',')."""
    return ",".join(reversed(slash.split("/")[1:]))


def _files_text(*paths):
    """(path, text) of each file that exists (the audit log, state files, incident records)."""
    out = []
    for path in paths:
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as handle:
                out.append((path, handle.read()))
    return out


def _encrypted_key(cred, passphrase, directory):
    with open(cred.key, "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), None)
    path = os.path.join(directory, "encrypted-key.pem")
    with open(path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(passphrase.encode("ascii"))))
    os.chmod(path, 0o600)
    return path


def test_key_passphrase_hidden(argus_pap, argus_dead_url, tmp_path):
    """argus_policy_info and argus_policy with an encrypted client key: a wrong passphrase (refused key), and the
    right one towards a PAP that is down."""
    lab = argus_pap
    right, wrong = _secret("Pass"), _secret("WrongPass")
    key = _encrypted_key(lab.creds["admin"], right, str(tmp_path))
    dead_port = int(argus_dead_url.split(":")[2].split("/")[0])
    conn = argus_conn(lab, lab.pap.port, client_key=key, retries=0, timeout=3)
    proc = run_tasks(tmp_path, [
        ("argus_policy_info", {"client_key_passphrase": wrong}),
        ("argus_policy", {"subjects": ["/DC=test/CN=Secret Test"], "client_key_passphrase": right,
                          "pap_port": dead_port}),
    ], conn, "argus", verbose=3)
    wrong_result, down_result = proc.results["localhost"]
    assert wrong_result.get("failed") and down_result.get("failed"), proc.results
    _assert_hidden(proc, [right, wrong])


def test_argus_key_passphrase_unlocks_the_key(argus_pap, tmp_path):
    """An encrypted client key with the right passphrase works for reading and for banning (and the passphrase is
    still never shown)."""
    lab = argus_pap
    right = _secret("Pass")
    key = _encrypted_key(lab.creds["admin"], right, str(tmp_path))
    dn = "/DC=test/DC=gridsec/OU=Users/CN=Encrypted Key %s" % _secret("Ban")
    proc = run_tasks(tmp_path, [("argus_policy_info", {"client_key_passphrase": right}),
                                ("argus_policy", {"subjects": [dn], "client_key_passphrase": right})],
                     argus_conn(lab, lab.pap.port, client_key=key, retries=0, timeout=3), "argus", verbose=3)
    info, ban = proc.results["localhost"]
    _assert_hidden(proc, [right])
    assert not info.get("failed"), info.get("msg")
    assert not ban.get("failed") and ban.get("changed"), ban.get("msg")
    assert pap_literal(dn) in banned_values(pap_rules(lab, lab.pap))


def _fake_password_server():
    path = os.path.join(ROOT, "tests", "unit", "plugins", "module_utils", "test_panda_db.py")
    spec = importlib.util.spec_from_file_location("gridsec_secrets_panda_db", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    server = mod.FakePasswordServer()
    server.start()
    return server


def test_panda_tokens_and_db_password_hidden(panda_lab_endpoint, panda_pki, tmp_path):
    """The client key passphrase, oidc_token and monitor_token sent to a server that quotes the request in its error
    page (HTTP 500);
    db_password and a DSN password sent to a PostgreSQL server that refuses them."""
    ep = panda_lab_endpoint
    oidc, monitor, db_password, dsn_password = (_secret("Oidc"), _secret("Monitor"), _secret("DbPw"),
                                                _secret("DsnPw"))
    passphrase = _secret("Pass")
    key = _encrypted_key(ep.admin, passphrase, str(tmp_path))
    echo = faults.FaultProxy("127.0.0.1", 9, server_cred=panda_pki.host("fault-proxy"), client_ca=ep.ca_path).start()
    echo.set("http", rules=[("*", {"echo": 500})])
    pg = _fake_password_server()
    try:
        conn = {"panda_url": "https://localhost:%d" % echo.port, "client_cert": ep.admin.cert,
                "client_key": key, "client_key_passphrase": passphrase, "ca_path": ep.ca_path, "retries": 0,
                "timeout": 5,
                "db_host": "127.0.0.1", "db_port": pg.port, "db_name": "panda", "db_user": "panda",
                "db_meta_schema": ep.db.meta_schema, "db_panda_schema": ep.db.panda_schema}
        proc = run_tasks(tmp_path, [
            ("panda_job_info", {"panda_id": 4242, "oidc_token": oidc, "oidc_vo": "atlas"}),
            ("panda_job_info", {"batch_id": "lab.4242", "computing_site": "LAB_SITE", "panda_url": None,
                                "monitor_url": "https://localhost:%d/monitor" % echo.port,
                                "monitor_token": monitor, "monitor_ca_path": ep.ca_path}),
            ("panda_job_kill", {"job_ids": [4242], "oidc_token": oidc, "oidc_vo": "atlas"}),
            ("panda_user_ban", {"user": "Secret Holder", "db_password": db_password}),
            ("panda_user_ban", {"user": "Secret Holder", "db_dsn": "host=127.0.0.1 port=%d dbname=panda user=panda "
                                                                  "password=%s" % (pg.port, dsn_password)}),
            ("panda_job_kill", {"user": "Secret Holder", "db_password": db_password}),
        ], conn, "panda", verbose=3)
    finally:
        echo.stop()
        pg.sock.close()
    results = proc.results["localhost"]
    for index, result in enumerate(results):
        assert result and result.get("failed"), "task %d did not fail: %r" % (index, result)
    # the secrets really went out (so their absence from the output means something)
    echoed = [action for _op, action in echo.fired("echo")]
    assert len(echoed) >= 3, echo.events
    assert db_password in pg.passwords and dsn_password in pg.passwords, pg.passwords
    _assert_hidden(proc, [oidc, monitor, db_password, dsn_password, passphrase])


@pytest.fixture(scope="module")
def smtp_lab(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("secrets-smtp")
    password = _secret("SmtpPw")
    server = lab_smtp.start(str(workdir), TestPKI(str(workdir / "pki")), users={"gridsec-ops": password})
    server.password = password
    yield server
    server.stop()


def test_canary_salt_smtp_password_sync_secrets_hidden_in_audit_log_and_incident_record(
        argus_pap, argus_dead_url, smtp_lab, panda_lab_endpoint, tmp_path):
    """One -vvv run (as an incident playbook would do it): argus_canary with its salt (published on the lab PAP,
    then on a PAP that is down), incident_mail with the SMTP password (right, then wrong), suspension_list_sync
    with an encrypted key's passphrase (its Argus target succeeds and writes the audit log) and a database
    password (its PanDA target is refused by the database), then incident_record with every task's registered
    result. No secret in stdout, stderr, the results, the audit log, the sync's state file or the incident record
    (which incident_mail writes too)."""
    lab, ep = argus_pap, panda_lab_endpoint
    salt, passphrase, db_password, wrong_smtp = _secret("Salt"), _secret("Pass"), _secret("DbPw"), _secret("BadSmtp")
    dead_port = int(argus_dead_url.split(":")[2].split("/")[0])
    key = _encrypted_key(lab.creds["admin"], passphrase, str(tmp_path))
    record = str(tmp_path / "HARDENING-SECRETS.json")
    state_dir = tmp_path / "state"
    listfile = tmp_path / "list.txt"
    suspended = "/DC=test/DC=gridsec/OU=Users/CN=Sync Secret %s" % _secret("Dn")
    listfile.write_text(suspended + "\n")
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
    mail = {"smtp_host": "localhost", "smtp_port": smtp_lab.port, "ca_path": smtp_lab.ca_file,
            "username": "gridsec-ops", "sender": "ops@lab.gridsec.test", "to": ["csirt@lab.gridsec.test"],
            "subject": "secrets test", "body": "hello", "record_path": record, "timeout": 10}
    pg = _fake_password_server()
    try:
        proc = run_tasks(tmp_path, [
            ("argus_canary", {"state": "published", "salt": salt, "date": today, "client_key_passphrase": passphrase}),
            ("argus_canary", {"state": "published", "salt": salt, "date": today, "pap_port": dead_port,
                              "client_key_passphrase": passphrase}),
            ("incident_mail", dict(mail, password=smtp_lab.password, record_key="right")),
            ("incident_mail", dict(mail, password=wrong_smtp, record_key="wrong")),
            ("suspension_list_sync", {
                "name": "secrets", "state_dir": str(state_dir), "client_key_passphrase": passphrase,
                "sources": [{"name": "list", "type": "plain", "path": str(listfile)}],
                "targets": [{"name": "pap", "type": "argus"},
                            {"name": "panda", "type": "panda", "db_host": "127.0.0.1", "db_port": pg.port,
                             "db_name": "panda", "db_user": "panda", "db_password": db_password,
                             "db_meta_schema": ep.db.meta_schema, "db_panda_schema": ep.db.panda_schema}]}),
        ], argus_conn(lab, lab.pap.port, client_key=key, retries=0, timeout=3), "argus", verbose=3, record=record)
    finally:
        pg.sock.close()
    published, down, mailed, refused, sync = proc.results["localhost"]
    # the secrets were really used
    assert not published.get("failed"), published.get("msg")
    expected_canary = hashlib.sha256((salt + today).encode()).hexdigest()[:8]
    assert any(expected_canary in value for value in banned_values(pap_rules(lab, lab.pap)))
    assert down.get("failed"), down
    assert not mailed.get("failed") and mailed.get("changed"), mailed.get("msg")
    assert len(smtp_lab.messages()) >= 1
    assert refused.get("failed") and refused.get("operation") == "AUTH", refused
    assert sync.get("failed"), sync                       # the PanDA target was refused ...
    assert db_password in pg.passwords, pg.passwords      # ... after the password was sent
    assert pap_literal(suspended) in banned_values(pap_rules(lab, lab.pap))   # the Argus target was written
    audit = state_dir / "secrets.audit.jsonl"
    assert audit.is_file() and "pap" in audit.read_text(), "no audit log written"
    assert os.path.isfile(record), proc.stdout[-3000:]
    with open(record, encoding="utf-8") as handle:
        recorded = json.load(handle)
    assert len(recorded["runs"][-1]["actions"]) == 5 and "right" in recorded["mails"], recorded.keys()
    secrets = [salt, passphrase, db_password, smtp_lab.password, wrong_smtp]
    _assert_hidden(proc, secrets)
    files = _files_text(str(audit), str(state_dir / "secrets.state.json"), str(state_dir / "secrets.cache.json"),
                        record)
    assert len(files) >= 3
    for path, text in files:
        for secret in secrets:
            assert secret not in text, "secret %r appears in %s" % (secret, path)


def test_smtp_password_hidden_in_check_mode_login_and_mail_diff(smtp_lab, tmp_path):
    """incident_mail in check mode with --diff and -vvv: the login is verified without sending (right password:
    login_verified; wrong one: AUTH refused), the diff previews the mail. The password is in neither the output,
    the results, the diff nor the record."""
    wrong = _secret("BadSmtp")
    record = str(tmp_path / "CHECK-DIFF.json")
    mail = {"smtp_host": "localhost", "smtp_port": smtp_lab.port, "ca_path": smtp_lab.ca_file,
            "username": "gridsec-ops", "sender": "ops@lab.gridsec.test", "to": ["csirt@lab.gridsec.test"],
            "subject": "check-mode preview", "body": "the body of the preview", "record_path": record,
            "timeout": 10}
    before = len(smtp_lab.messages())
    proc = run_tasks(tmp_path, [
        ("incident_mail", dict(mail, password=smtp_lab.password, record_key="right")),
        ("incident_mail", dict(mail, password=wrong, record_key="wrong")),
    ], {}, "argus", check=True, verbose=3, extra_args=("--diff",))
    right_result, wrong_result = proc.results["localhost"]
    assert right_result.get("login_verified") and right_result.get("changed"), right_result  # the password was used
    assert "the body of the preview" in json.dumps(right_result.get("diff")), right_result
    assert "Subject: check-mode preview" in proc.stdout  # the diff is printed
    assert wrong_result.get("failed") and wrong_result.get("operation") == "AUTH", wrong_result
    assert len(smtp_lab.messages()) == before  # check mode sent nothing
    assert not os.path.exists(record)  # and wrote nothing
    _assert_hidden(proc, [smtp_lab.password, wrong])


def _deploy_argus(tmp_path, host_vars, *args):
    """gridsec.ops.deploy_argus on one central node rendered under tmp_path (services and the API part off)."""
    inventory = tmp_path / "hierarchy.json"
    inventory.write_text(json.dumps({"argus_central": {"hosts": {"central": host_vars}}}))
    return subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(inventory), "gridsec.ops.deploy_argus"] + list(args),
                          env=ansible_env(tmp_path), capture_output=True, text=True, timeout=300, check=False)


def _role_node(tmp_path, pdp_password, pepd_password, shutdown_command, **extra):
    etc = tmp_path / "etc"
    node = {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "argus_server_components": ["pap", "pdp", "pepd"], "argus_server_manage_packages": False,
        "argus_server_manage_services": False, "argus_server_configure_api": False,
        "argus_server_fqdn": "localhost", "argus_server_host_dn": "/DC=org/DC=gridsec-secrets/CN=localhost",
        "argus_server_pap_conf_dir": str(etc / "pap"), "argus_server_pdp_conf_dir": str(etc / "pdp"),
        "argus_server_pepd_conf_dir": str(etc / "pepd"),
        "argus_server_pdp_admin_password": pdp_password, "argus_server_pepd_admin_password": pepd_password,
        "argus_server_pap_shutdown_command": shutdown_command,
    }
    node.update(extra)
    return node


def _rendered(tmp_path):
    return dict((name, (tmp_path / "etc" / name.split(".")[0].split("_")[0] / name).read_text())
                for name in ("pdp.ini", "pepd.ini", "pap_configuration.ini"))


def _assert_not_shown(proc, secrets):
    for secret in secrets:
        for where, text in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            assert secret not in text, "secret %r appears in %s:\n%s" % (secret, where, text[-3000:])


def test_deploy_argus_check_diff_and_vvv_hide_the_admin_passwords(tmp_path):
    """Issue 14 item 13: the review step of the docs (deploy_argus --check --diff) and -vvv runs of the role, on a
    new node and for a password change: the PDP/PEP admin passwords and the PAP shutdown command (old and new) never
    appear, the other changes are still shown (secret values masked), and the restart warning names files only."""
    old = [_secret("PdpPw"), _secret("PepdPw"), _secret("Shutdown")]
    new = [_secret("PdpPw"), _secret("PepdPw"), _secret("Shutdown")]
    secrets = old + new
    # 1. review of a new node
    review = _deploy_argus(tmp_path, _role_node(tmp_path, *old), "--check", "--diff")
    assert review.returncode == 0, review.stdout[-4000:]
    _assert_not_shown(review, secrets)
    assert "adminPassword = ********" in review.stdout and "shutdown_command = ********" in review.stdout
    assert "+port = 8152" in review.stdout, review.stdout[-4000:]        # the rest of pdp.ini is reviewable
    assert not (tmp_path / "etc" / "pdp" / "pdp.ini").exists()         # check mode wrote nothing
    # 2. first render, -vvv --diff
    first = _deploy_argus(tmp_path, _role_node(tmp_path, *old), "-vvv", "--diff")
    assert first.returncode == 0, first.stdout[-4000:]
    _assert_not_shown(first, secrets)
    files = _rendered(tmp_path)
    assert old[0] in files["pdp.ini"] and old[1] in files["pepd.ini"] and old[2] in files["pap_configuration.ini"]
    # 3. review of a password change and a port change
    changed = _role_node(tmp_path, *new, argus_server_pdp_port=18252)
    review = _deploy_argus(tmp_path, changed, "--check", "--diff")
    assert review.returncode == 0, review.stdout[-4000:]
    _assert_not_shown(review, secrets)
    assert "-port = 8152" in review.stdout and "+port = 18252" in review.stdout, review.stdout[-4000:]
    assert "(a secret value changes; not shown)" in review.stdout
    assert _rendered(tmp_path) == files
    # 4. the change, -vvv --diff: the restart warning names the files and services, never a secret
    applied = _deploy_argus(tmp_path, changed, "-vvv", "--diff")
    assert applied.returncode == 0, applied.stdout[-4000:]
    _assert_not_shown(applied, secrets)
    assert "pdp.ini changed: restart argus-pdp" in applied.stdout and "pepd.ini changed: restart argus-pepd" in \
        applied.stdout
    files = _rendered(tmp_path)
    assert new[0] in files["pdp.ini"] and new[1] in files["pepd.ini"] and new[2] in files["pap_configuration.ini"]
