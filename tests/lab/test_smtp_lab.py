# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The lab SMTP server (aiosmtpd) speaks real SMTP: STARTTLS with the lab PKI, AUTH only over TLS, and it
stores exactly what it accepted. Driven here with Python's own smtplib as an independent client."""
import json
import os
import smtplib
import ssl
import subprocess
import sys

import pytest

from gridsec_lab import smtp
from gridsec_lab.pki import TestPKI

USER, PASSWORD = "ops", "s3cret-lab"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("smtp-lab")
    lab = smtp.start(str(workdir), TestPKI(str(workdir / "pki")), users={USER: PASSWORD})
    yield lab
    lab.stop()


def tls(server):
    return ssl.create_default_context(cafile=server.ca_file)


def test_mail_needs_starttls_then_auth(server):
    with smtplib.SMTP("localhost", server.port, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("starttls") and not client.has_extn("auth")  # no AUTH in clear text
        code, _ = client.mail("a@lab.test")
        assert code == 530  # Must issue a STARTTLS command first
    with smtplib.SMTP("localhost", server.port, timeout=10) as client:
        client.starttls(context=tls(server))
        client.ehlo()
        assert "PLAIN" in client.esmtp_features["auth"] and "LOGIN" in client.esmtp_features["auth"]
        with pytest.raises(smtplib.SMTPSenderRefused):  # not authenticated yet
            client.sendmail("a@lab.test", ["b@lab.test"], "Subject: x\r\n\r\nx\r\n")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(USER, "wrong")


def test_the_certificate_is_the_lab_pki_host(server, tmp_path):
    other = TestPKI(str(tmp_path / "other"))
    with smtplib.SMTP("localhost", server.port, timeout=10) as client:
        with pytest.raises(ssl.SSLCertVerificationError):
            client.starttls(context=ssl.create_default_context(cafile=other.ca_cert_path))


def test_accepted_mail_is_stored_with_envelope_and_headers(server):
    before = len(server.messages())
    message = ("From: Ops <ops@lab.test>\r\nTo: site@lab.test\r\nSubject: [INC-1] hello\r\n"
               "Message-ID: <inc-1@lab.test>\r\nX-Gridsec-Incident: INC-1\r\n\r\nline one\r\nline two\r\n")
    with smtplib.SMTP("localhost", server.port, timeout=10) as client:
        client.starttls(context=tls(server))
        client.login(USER, PASSWORD)
        refused = client.sendmail("ops@lab.test", ["site@lab.test", "csirt@lab.test"], message)
    assert refused == {}
    received = server.messages()[before:]
    assert len(received) == 1
    mail = received[0]
    assert mail.mail_from == "ops@lab.test" and mail.rcpt_tos == ["site@lab.test", "csirt@lab.test"]
    assert mail.auth_user == USER and mail.tls
    assert mail.message["Message-ID"] == "<inc-1@lab.test>" and mail.message["X-Gridsec-Incident"] == "INC-1"
    assert mail.body().replace("\r\n", "\n") == "line one\nline two\n"


def _cli(*args):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=os.path.join(root, "lab"))
    return subprocess.run([sys.executable, "-m", "gridsec_lab", "smtp", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_cli_background_start_json_mail_and_stop(tmp_path):
    workdir = str(tmp_path / "smtp")
    started = _cli("--workdir", workdir, "--user", "%s:%s" % (USER, PASSWORD), "--pki-dir", str(tmp_path / "pki"))
    try:
        assert started.returncode == 0, started.stderr
        info_path = os.path.join(workdir, "smtp.json")
        assert os.stat(info_path).st_mode & 0o077 == 0  # it holds the credentials
        info = json.load(open(info_path))
        assert info["host"] == "127.0.0.1" and info["users"] == {USER: PASSWORD}
        assert info["ca_file"] == TestPKI(str(tmp_path / "pki")).ca_cert_path
        assert info["require_starttls"] is True and info["require_auth"] is True
        assert "%s:%d" % (info["host"], info["port"]) in started.stdout and PASSWORD not in started.stdout
        pid = int(open(os.path.join(workdir, "smtp.pid")).read())
        assert info["pid"] == pid
        assert PASSWORD not in open("/proc/%d/cmdline" % pid).read()  # accounts never on a command line
        with smtplib.SMTP(info["host"], info["port"], timeout=10) as client:
            client.starttls(context=ssl.create_default_context(cafile=info["ca_file"]))
            client.login(USER, PASSWORD)
            client.sendmail("ops@lab.test", ["site@lab.test"], "Subject: cli\r\n\r\nfrom the cli test\r\n")
        [record] = [json.loads(line) for line in open(os.path.join(info["maildir"], "index.jsonl"))]
        assert record["auth_user"] == USER and record["tls"] and record["rcpt_tos"] == ["site@lab.test"]
    finally:
        stopped = _cli("stop", "--workdir", workdir)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stdout + stopped.stderr
    assert not os.path.exists(os.path.join(workdir, "smtp.pid"))
    assert not os.path.exists(os.path.join(workdir, "smtp.json"))


def test_cli_default_account_and_bad_user_option(tmp_path):
    refused = _cli("--workdir", str(tmp_path / "x"), "--user", "nopassword", "--foreground")
    assert refused.returncode == 2 and "NAME:PASSWORD" in refused.stderr
    workdir = str(tmp_path / "smtp")
    started = _cli("--workdir", workdir)
    try:
        assert started.returncode == 0, started.stderr
        users = json.load(open(os.path.join(workdir, "smtp.json")))["users"]
        assert list(users) == ["gridsec-ops"] and len(users["gridsec-ops"]) >= 16  # random, not a fixed one
    finally:
        assert _cli("stop", "--workdir", workdir).returncode == 0
