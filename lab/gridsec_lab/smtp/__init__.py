"""The lab SMTP server: a real SMTP implementation (``aiosmtpd``) on 127.0.0.1 and an ephemeral port, with
STARTTLS (host certificate from the lab PKI) and AUTH PLAIN/LOGIN, that stores every message it accepts.

``start(workdir, pki, users={"name": "password"}, require_starttls=True, require_auth=True)`` returns a
:class:`LabSmtp`; mails land in ``WORKDIR/mail/<nnnn>.eml`` (the message as received, with the ``Received``
and ``X-Gridsec-*`` trace headers aiosmtpd/the lab add) and ``WORKDIR/mail/index.jsonl`` (envelope: sender,
recipients, authenticated user, whether the session was encrypted). :meth:`LabSmtp.messages` reads them back
as ``email.message.EmailMessage`` objects, so tests and the demo look at exactly what arrived.

AUTH is only offered after STARTTLS (aiosmtpd's ``auth_require_tls``) when ``require_starttls`` is set, as a
real relay does; a client that skips STARTTLS gets ``530 Must issue a STARTTLS command first``.
"""
import dataclasses
import email
import email.policy
import hmac
import json
import logging
import os
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["LabSmtp", "start"]


class _Handler:
    def __init__(self, maildir):
        self.maildir = maildir
        self._lock = threading.Lock()
        os.makedirs(maildir, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        with self._lock:
            number = len([n for n in os.listdir(self.maildir) if n.endswith(".eml")]) + 1
            name = "%04d.eml" % number
            data = envelope.original_content or envelope.content
            if isinstance(data, str):
                data = data.encode("utf-8")
            with open(os.path.join(self.maildir, name), "wb") as handle:
                handle.write(data)
            record = {"file": name, "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                      "auth_user": _auth_user(session), "tls": session.ssl is not None,
                      "peer": list(session.peer[:2]) if session.peer else None}
            with open(os.path.join(self.maildir, "index.jsonl"), "a") as handle:
                handle.write(json.dumps(record) + "\n")
        return "250 Message accepted for delivery"


def _auth_user(session):
    data = getattr(session, "auth_data", None)
    if isinstance(data, LoginPassword):
        return data.login.decode("utf-8", "replace")
    return data if isinstance(data, str) else None


class _Authenticator:
    def __init__(self, users):
        self.users = {name.encode(): password.encode() for name, password in users.items()}

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        expected = self.users.get(auth_data.login)
        if expected is not None and hmac.compare_digest(expected, auth_data.password):
            return AuthResult(success=True, auth_data=auth_data.login.decode("utf-8", "replace"))
        return AuthResult(success=False, handled=False)


@dataclasses.dataclass
class Received:
    file: str
    mail_from: str
    rcpt_tos: list
    auth_user: object
    tls: bool
    peer: object
    message: email.message.EmailMessage

    def body(self):
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""


class LabSmtp:
    def __init__(self, controller, maildir, host, port, ca_file, users, require_starttls, require_auth):
        self._controller = controller
        self.maildir = maildir
        self.host = host
        self.port = port
        self.ca_file = ca_file
        self.users = dict(users)
        self.require_starttls = require_starttls
        self.require_auth = require_auth

    def messages(self):
        """Every message received so far, oldest first."""
        out = []
        index = os.path.join(self.maildir, "index.jsonl")
        if not os.path.exists(index):
            return out
        with open(index) as handle:
            records = [json.loads(line) for line in handle if line.strip()]
        for record in records:
            with open(os.path.join(self.maildir, record["file"]), "rb") as handle:
                message = email.message_from_bytes(handle.read(), policy=email.policy.default)
            out.append(Received(message=message, **record))
        return out

    def as_dict(self):
        return {"host": self.host, "port": self.port, "ca_file": self.ca_file, "maildir": self.maildir,
                "users": self.users, "require_starttls": self.require_starttls, "require_auth": self.require_auth}

    def stop(self):
        self._controller.stop()


def start(workdir, pki, users=None, require_starttls=True, require_auth=True, port=0):
    """Start the lab SMTP server in a thread of this process (see the module docstring)."""
    users = dict(users if users is not None else {"gridsec-ops": "lab-smtp-password"})
    # aiosmtpd logs a deprecation warning of its own API on every AUTH; keep the lab's output readable.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    maildir = os.path.join(os.path.abspath(workdir), "mail")
    host_cred = pki.host("smtp-lab")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(host_cred.cert, host_cred.key)
    controller = Controller(
        _Handler(maildir), hostname="127.0.0.1", port=port or _free_port(), server_hostname="smtp.lab.gridsec.test",
        tls_context=tls, require_starttls=require_starttls, authenticator=_Authenticator(users),
        auth_required=require_auth, auth_require_tls=require_starttls, ready_timeout=10)
    controller.start()
    return LabSmtp(controller, maildir, "127.0.0.1", controller.port, pki.ca_cert_path, users, require_starttls,
                   require_auth)


def _free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
