# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The lab SMTP server (aiosmtpd) speaks real SMTP: STARTTLS with the lab PKI, AUTH only over TLS, and it
stores exactly what it accepted. Driven here with Python's own smtplib as an independent client."""
import smtplib
import ssl

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
