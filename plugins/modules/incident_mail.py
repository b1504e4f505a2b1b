#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: incident_mail
short_description: Send an incident mail by SMTP once, and record its message id in the incident record
version_added: 0.2.0
description:
  - Sends one plain-text mail (for example the reply to a site or the notification of the CSIRT list) through an
    SMTP server, with STARTTLS or implicit TLS and authentication, verifying the server certificate by default.
  - "Idempotent through the incident record: with O(record_path) and O(record_key), the message id of a sent mail
    is stored under C(mails.<record_key>) of the record (a JSON file written by M(gridsec.ops.incident_record)),
    and a later run with the same key sends nothing and reports C(changed=false), unless O(force=true). When the
    text differs from what was sent, a warning says so; the mail is still not sent again without O(force=true)."
  - Without O(record_path) every run sends the mail.
  - "Threading: O(thread_with) names the record keys of earlier mails of the same incident; this mail then carries
    C(In-Reply-To) (their latest message ids) and C(References) (every message id recorded under them, oldest
    first), so a follow-up (a second notification, the unban note) lands in the thread of the first mail. A mail
    sent again under its own O(record_key) (O(force=true)) follows up its previous message the same way."
  - The message id is recorded only after the server accepted the message for every recipient; when it refused
    some recipients the module fails, names them, and records the message id with the accepted ones, so a
    rerun does not send a duplicate to the others.
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - only the Python standard library (C(smtplib), C(ssl))
extends_documentation_fragment:
  - gridsec.ops._attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing is sent and the record is not written; C(changed) says whether a mail would be sent.
      - When a mail would be sent, the module still connects to the server, does C(STARTTLS) and C(AUTH) with
        O(username)/O(password) and quits without sending (RV(login_verified)), so a wrong password or an
        unreachable server fails the review run rather than the real one. O(check_login=false) skips this.
  diff_mode:
    support: full
    details:
      - The diff shows the mail as it would be sent (headers and body; no credential is part of a mail), against
        the one sent earlier under O(record_key) when the record has it.
  idempotent:
    support: partial
    details:
      - Only with O(record_path) and O(record_key); without them every run sends the mail.
options:
  smtp_host:
    description: SMTP server to submit the mail to.
    type: str
    default: localhost
  smtp_port:
    description: SMTP port (V(587) is the usual submission port with STARTTLS, V(465) with implicit TLS).
    type: int
    default: 25
  security:
    description:
      - V(starttls) sends C(STARTTLS) and fails when the server does not offer it (no silent fall-back to clear
        text); V(tls) connects with TLS from the start (SMTPS); V(none) sends in clear text and refuses
        O(password) (credentials are never sent unencrypted).
    type: str
    choices: [starttls, tls, none]
    default: starttls
  validate_certs:
    description: Verify the server certificate and host name. Only disable this in a test set-up.
    type: bool
    default: true
  ca_path:
    description:
      - CA certificate file (PEM) or hashed CA directory that verifies the SMTP server; the system trust store
        when not set.
    type: path
  username:
    description: User name for SMTP AUTH; no authentication when not set.
    type: str
  password:
    description: Password for SMTP AUTH (needs O(username)).
    type: str
  timeout:
    description: Network timeout in seconds.
    type: int
    default: 30
  sender:
    description: Envelope sender and C(From) header, for example V(CSIRT <csirt@example.org>).
    type: str
    required: true
  to:
    description: Recipients (C(To) header). At least one.
    type: list
    elements: str
    required: true
  cc:
    description: Copy recipients (C(Cc) header).
    type: list
    elements: str
    default: []
  reply_to:
    description: C(Reply-To) header.
    type: str
  subject:
    description: Subject line.
    type: str
    required: true
  body:
    description: Plain-text body (UTF-8).
    type: str
    required: true
  headers:
    description:
      - Extra headers (name to value), for example C(X-Gridsec-Incident) with the incident id.
      - C(From), C(To), C(Cc), C(Subject), C(Date), C(Message-ID), C(In-Reply-To) and C(References) cannot be set
        here (see O(thread_with)).
    type: dict
    default: {}
  message_id_domain:
    description: Domain part of the generated C(Message-ID); the local host name when not set.
    type: str
  record_path:
    description:
      - Path of the incident record (JSON) on the node the module runs on; the directory must exist. Needs
        O(record_key).
    type: path
  record_key:
    description: Name of this mail in the record (for example V(site_reply) or V(csirt)). Needs O(record_path).
    type: str
  force:
    description:
      - Send even when the record shows this mail was already sent (a new message id is recorded, the first one
        is kept in the record's C(thread) list).
      - The incident playbooks set it when their run changed a state (a ban, a suspension, a kill), because a state
        change always notifies.
    type: bool
    default: false
  thread_with:
    description:
      - Record keys of earlier mails this one follows up (for example V([site_reply, csirt]) for the unban note).
        Keys with no mail in the record are ignored. Needs O(record_path).
    type: list
    elements: str
    default: []
  check_login:
    description:
      - In check mode, connect, secure the connection and log in (without sending) to verify the server and the
        credentials. Set to V(false) when the server cannot be reached from where the review runs.
    type: bool
    default: true
seealso:
  - module: gridsec.ops.incident_record
"""

EXAMPLES = r"""
- name: Reply to the site (once per incident)
  gridsec.ops.incident_mail:
    smtp_host: smtp.example.org
    smtp_port: 587
    username: csirt-robot
    password: "{{ vault_smtp_password }}"
    sender: "Grid CSIRT <csirt@example.org>"
    to: [security@site.example.org]
    cc: [csirt@example.org]
    subject: "[GRIDSEC-2026-001] PanDA job 4711 at SITE_X: identified, user banned"
    body: "{{ site_reply_text }}"
    headers:
      X-Incident: GRIDSEC-2026-001
    record_path: /var/lib/gridsec/incidents/GRIDSEC-2026-001.json
    record_key: site_reply
"""

RETURN = r"""
sent:
  description: Whether a mail was sent by this run (in check mode, whether one would be).
  returned: always
  type: bool
message_id:
  description: C(Message-ID) of the mail sent by this run, or of the one sent earlier when nothing was sent.
  returned: when a mail was sent now or before
  type: str
  sample: "<173301.4711.123@ops.example.org>"
recipients:
  description: Envelope recipients (O(to) and O(cc)).
  returned: always
  type: list
  elements: str
refused:
  description: Recipients the server refused (then the module fails).
  returned: always
  type: dict
previous:
  description: The record entry of the mail sent earlier under O(record_key), if any.
  returned: when O(record_path) is set
  type: dict
server:
  description: C(host:port) of the SMTP server.
  returned: always
  type: str
login_verified:
  description:
    - In check mode, whether the connection, C(STARTTLS) and C(AUTH) were tried and succeeded without sending;
      V(false) when no mail would be sent or O(check_login=false). Always V(false) outside check mode.
  returned: always
  type: bool
in_reply_to:
  description: Message ids put in C(In-Reply-To) (empty when the mail starts a thread).
  returned: always
  type: list
  elements: str
references:
  description: Message ids put in C(References), oldest first.
  returned: always
  type: list
  elements: str
error:
  description:
    - Why the task failed, in the same shape for every failure (also one found before any server was contacted).
    - C(type) (the error class, for example V(TLSError), V(AuthorizationError), V(ConfigError), V(MissingLibrary),
      V(ModuleFailure)), C(kind) (V(transport), V(tls), V(remote), V(authorization), V(not_found),
      V(write_refused), V(config), V(missing_library) or V(error)), C(msg), C(server) and C(operation) (null
      when no server operation failed), C(details) (dict of extra facts, never a secret).
  returned: failed
  type: dict
  sample: {"type": "AuthorizationError", "kind": "authorization", "msg": "HTTP 403 Forbidden: the server refused
    this credential", "server": "server.example.org:8443", "operation": "ban", "details": {"status": 403}}
"""

import email.policy
import hashlib
import os
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.gridsec.ops.plugins.module_utils import _incident
from ansible_collections.gridsec.ops.plugins.module_utils._errors import AuthorizationError, ConfigError, RemoteError
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import StructuredModule

RESERVED_HEADERS = ("from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references")


# Long subjects (DNs) are not folded right after "Subject:" (which some readers turn into a leading space).
MAIL_POLICY = email.policy.SMTP.clone(max_line_length=998)


def build_message(params, message_id, thread):
    message = EmailMessage(policy=MAIL_POLICY)
    for name, value in header_lines(params, thread):
        message[name] = value
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id
    message.set_content(params["body"], charset="utf-8")
    return message


def header_lines(params, thread):
    """(name, value) of every header the caller decides (Date and Message-ID are added when sending)."""
    lines = [("From", params["sender"]), ("To", ", ".join(params["to"]))]
    if params["cc"]:
        lines.append(("Cc", ", ".join(params["cc"])))
    if params["reply_to"]:
        lines.append(("Reply-To", params["reply_to"]))
    lines.append(("Subject", params["subject"]))
    if thread["in_reply_to"]:
        lines.append(("In-Reply-To", " ".join(thread["in_reply_to"])))
        lines.append(("References", " ".join(thread["references"])))
    for name, value in sorted((params["headers"] or {}).items()):
        lines.append((name, to_native(value)))
    return lines


def preview(params, thread):
    """The mail as the --diff shows it: headers, a blank line, the body."""
    head = "".join("%s: %s\n" % line for line in header_lines(params, thread))
    return head + "\n" + params["body"].rstrip("\n") + "\n"


def recorded_view(entry):
    """What the record keeps of a mail sent earlier (the body itself is not stored, only its digest)."""
    if not entry:
        return ""
    lines = [("Message-ID", entry.get("message_id")), ("Sent", entry.get("sent_at")), ("From", entry.get("from")),
             ("To", ", ".join(entry.get("to") or [])), ("Cc", ", ".join(entry.get("cc") or [])),
             ("Subject", entry.get("subject")), ("Body", "sha256 %s" % entry.get("content_sha256"))]
    return "".join("%s: %s\n" % (name, value) for name, value in lines if value)


def message_ids(entry):
    """Every message id sent under one record key, oldest first (entries written before 'thread' existed have
    only their latest id)."""
    if not entry:
        return []
    ids = list(entry.get("thread") or [])
    if entry.get("message_id") and entry["message_id"] not in ids:
        ids.append(entry["message_id"])
    return ids


def threading(mails, keys, own_previous):
    """In-Reply-To and References of a mail following up the mails recorded under ``keys`` (and its own
    previous message when it is sent again)."""
    parents = [mails.get(key) for key in keys if mails.get(key)]
    if own_previous:
        parents.append(own_previous)
    in_reply_to, references = [], []
    for entry in parents:
        latest = entry.get("message_id")
        if latest and latest not in in_reply_to:
            in_reply_to.append(latest)
        references.extend(i for i in message_ids(entry) if i not in references)
    return {"in_reply_to": in_reply_to, "references": references}


def content_digest(params):
    parts = [params["sender"], "\n".join(params["to"]), "\n".join(params["cc"]), params["subject"], params["body"]]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def tls_context(params):
    context = ssl.create_default_context()
    if params["ca_path"]:
        if os.path.isdir(params["ca_path"]):
            context.load_verify_locations(capath=params["ca_path"])
        else:
            context.load_verify_locations(cafile=params["ca_path"])
    if not params["validate_certs"]:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class NoStartTls(smtplib.SMTPException):
    pass


class Step(object):
    """The SMTP step under way, for the failure message."""

    def __init__(self):
        self.operation = "connect"


def open_session(module, step):
    """A connected client: EHLO, STARTTLS (security=starttls) and AUTH (with a username) done."""
    params = module.params
    server = "%s:%d" % (params["smtp_host"], params["smtp_port"])
    if params["security"] == "tls":
        client = smtplib.SMTP_SSL(params["smtp_host"], params["smtp_port"], timeout=params["timeout"],
                                  context=tls_context(params))
    else:
        client = smtplib.SMTP(params["smtp_host"], params["smtp_port"], timeout=params["timeout"])
    try:
        step.operation = "EHLO"
        client.ehlo()
        if params["security"] == "starttls":
            if not client.has_extn("starttls"):
                raise NoStartTls("SMTP server %s does not offer STARTTLS (security=starttls): not "
                                 "sending in clear text" % server)
            step.operation = "STARTTLS"
            client.starttls(context=tls_context(params))
            client.ehlo()
        if params["username"]:
            step.operation = "AUTH"
            client.login(params["username"], params["password"] or "")
    except BaseException:
        client.close()
        raise
    return client


def close_session(client):
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def smtp_call(module, recipients, action):
    """Run ``action(client)`` in an authenticated session; every SMTP failure raises an error naming the server
    and the operation (never the password)."""
    params = module.params
    server = "%s:%d" % (params["smtp_host"], params["smtp_port"])
    label = "SMTP server %s" % server
    step = Step()
    try:
        client = open_session(module, step)
        try:
            step.operation = "send"
            return action(client)
        finally:
            close_session(client)
    except smtplib.SMTPRecipientsRefused as err:
        module.partial_result["refused"] = {k: to_native(v) for k, v in err.recipients.items()}
        module.partial_result["operation"] = step.operation
        raise RemoteError("refused every recipient: %s" % to_native(err.recipients), server=label,
                          operation=step.operation)
    except smtplib.SMTPAuthenticationError as err:
        module.partial_result["operation"] = "AUTH"
        raise AuthorizationError("refused the credentials of %s: %s %s"
                                 % (params["username"], err.smtp_code, to_native(err.smtp_error)),
                                 server=label, operation="AUTH")
    except NoStartTls as err:
        module.partial_result["operation"] = "STARTTLS"
        raise RemoteError(to_native(err), server=label, operation="STARTTLS")
    except (smtplib.SMTPException, ssl.SSLError, socket.error, OSError) as err:
        module.partial_result["operation"] = step.operation
        raise RemoteError("sending the mail failed: %s" % to_native(err), server=label, operation=step.operation)


def send(module, message, recipients):
    refused = smtp_call(module, recipients, lambda client: client.send_message(message, to_addrs=recipients))
    return {k: to_native(v) for k, v in (refused or {}).items()}


def verify_login(module, recipients):
    """Check mode: connect, STARTTLS, AUTH, and quit without sending anything."""
    return smtp_call(module, recipients, lambda client: True)


def record_sent(module, params, message_id, server, digest, refused, result):
    """Store the mail under its record key (keeping the ids of the earlier ones of that key)."""
    try:
        with _incident.locked(params["record_path"]):
            record = _incident.load(params["record_path"]) or _incident.new_record(None)
            mails = record.setdefault("mails", {})
            entry = {"message_id": message_id, "sent_at": _incident.utc_timestamp(), "from": params["sender"],
                     "to": params["to"], "cc": params["cc"], "subject": params["subject"], "server": server,
                     "content_sha256": digest, "refused": sorted(refused),
                     "thread": message_ids(mails.get(params["record_key"])) + [message_id],
                     "in_reply_to": result["in_reply_to"]}
            mails[params["record_key"]] = entry
            record["updated"] = entry["sent_at"]
            _incident.save(params["record_path"], record)
    except (_incident.RecordError, OSError, IOError) as err:
        raise ConfigError("mail %s was sent through %s but recording it failed: %s (a rerun would send it again)"
                          % (message_id, server, to_native(err)), server="incident record %s" % params["record_path"],
                          operation="record mail")


def argument_spec():
    return dict(
        smtp_host=dict(type="str", default="localhost"),
        smtp_port=dict(type="int", default=25),
        security=dict(type="str", choices=["starttls", "tls", "none"], default="starttls"),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        timeout=dict(type="int", default=30),
        sender=dict(type="str", required=True),
        to=dict(type="list", elements="str", required=True),
        cc=dict(type="list", elements="str", default=[]),
        reply_to=dict(type="str"),
        subject=dict(type="str", required=True),
        body=dict(type="str", required=True),
        headers=dict(type="dict", default={}),
        message_id_domain=dict(type="str"),
        record_path=dict(type="path"),
        record_key=dict(type="str", no_log=False),
        force=dict(type="bool", default=False),
        thread_with=dict(type="list", elements="str", default=[]),
        check_login=dict(type="bool", default=True),
    )


def main():
    module = StructuredModule(
        argument_spec=argument_spec(),
        required_together=[("record_path", "record_key"), ("password", "username")],
        supports_check_mode=True,
    )
    module.exit_json(**module.run_guarded(run, module))


def run(module):
    """read the record -> decide (send, or the mail was sent already) -> send -> record; returns the result."""
    params = module.params
    check_input(params)
    recipients = params["to"] + [r for r in params["cc"] if r not in params["to"]]
    digest = content_digest(params)
    result = module.partial_result = dict(
        changed=False, sent=False, recipients=recipients, refused={}, login_verified=False,
        server="%s:%d" % (params["smtp_host"], params["smtp_port"]), in_reply_to=[], references=[])

    previous, mails = None, {}
    if params["record_path"]:
        record = _incident.load(params["record_path"])
        mails = (record or {}).get("mails") or {}
        previous = mails.get(params["record_key"])
        result["previous"] = previous or {}
    sending = not previous or params["force"]
    keys = [k for k in params["thread_with"] if k != params["record_key"]]
    thread = threading(mails, keys, previous if sending else None)
    before = recorded_view(previous)
    if module._diff:
        result["diff"] = {"before": before, "after": preview(params, thread) if sending else before,
                          "before_header": "%s (recorded)" % params["record_key"] if previous else "(not sent yet)",
                          "after_header": "mail %s" % (params["record_key"] or params["subject"])}
    if not sending:
        result["message_id"] = previous.get("message_id")
        if previous.get("content_sha256") != digest:
            module.warn("the %s mail differs from the one sent on %s (%s); not sending it again without "
                        "force=true" % (params["record_key"], previous.get("sent_at"), previous.get("message_id")))
        return result

    if module.check_mode:
        result.update(changed=True, sent=True, **thread)
        if params["check_login"]:
            result["login_verified"] = bool(verify_login(module, recipients))
        return result

    message_id = make_msgid(idstring="gridsec", domain=params["message_id_domain"] or None)
    refused = send(module, build_message(params, message_id, thread), recipients)
    result.update(changed=True, sent=True, message_id=message_id, refused=refused, **thread)
    if params["record_path"]:
        record_sent(module, params, message_id, result["server"], digest, refused, result)
    if refused:
        raise RemoteError("refused some recipients: %s (the others got message %s)"
                          % (", ".join(sorted(refused)), message_id), server="SMTP server %s" % result["server"],
                          operation="send")
    return result


def check_input(params):
    """Normalise the recipients and refuse header injection, clear-text passwords and reserved headers."""
    params["to"] = [r.strip() for r in params["to"] if r and r.strip()]
    params["cc"] = [r.strip() for r in params["cc"] if r and r.strip()]
    params["subject"] = params["subject"].strip()
    problem = input_problem(params)
    if problem:
        raise ConfigError(problem, operation="check options")


def input_problem(params):
    for name in ("sender", "subject", "reply_to"):
        if params[name] and ("\n" in params[name] or "\r" in params[name]):
            return "%s must be one line" % name
    if any("\n" in r or "\r" in r or "," in r for r in params["to"] + params["cc"]):
        return "each recipient must be one address (no line breaks or commas): use a list"
    server = "%s:%d" % (params["smtp_host"], params["smtp_port"])
    if not params["to"]:
        return "no recipient: 'to' is empty"
    if params["thread_with"] and not params["record_path"]:
        return "thread_with needs record_path (the message ids are read from the incident record)"
    if params["security"] == "none" and params["password"]:
        return "refusing to send a password to %s in clear text (security=none)" % server
    reserved = sorted(h for h in (params["headers"] or {}) if h.lower() in RESERVED_HEADERS)
    if reserved:
        return "headers may not set %s (use the module options)" % ", ".join(reserved)
    for name, value in (params["headers"] or {}).items():
        if "\n" in to_native(value) or "\r" in to_native(value) or "\n" in name or ":" in name:
            return "header %r: line breaks and colons are not allowed" % name
    return None


if __name__ == "__main__":
    main()
