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
  diff_mode:
    support: none
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
      - C(From), C(To), C(Cc), C(Subject), C(Date) and C(Message-ID) cannot be set here.
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
    description: Send even when the record shows this mail was already sent (a new message id is recorded).
    type: bool
    default: false
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
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import StructuredModule

RESERVED_HEADERS = ("from", "to", "cc", "subject", "date", "message-id")


# Long subjects (DNs) are not folded right after "Subject:" (which some readers turn into a leading space).
MAIL_POLICY = email.policy.SMTP.clone(max_line_length=998)


def build_message(params, message_id):
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = params["sender"]
    message["To"] = ", ".join(params["to"])
    if params["cc"]:
        message["Cc"] = ", ".join(params["cc"])
    if params["reply_to"]:
        message["Reply-To"] = params["reply_to"]
    message["Subject"] = params["subject"]
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id
    for name, value in sorted((params["headers"] or {}).items()):
        message[name] = to_native(value)
    message.set_content(params["body"], charset="utf-8")
    return message


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


def send(module, message, recipients):
    params = module.params
    server = "%s:%d" % (params["smtp_host"], params["smtp_port"])
    operation = "connect"
    try:
        if params["security"] == "tls":
            client = smtplib.SMTP_SSL(params["smtp_host"], params["smtp_port"], timeout=params["timeout"],
                                      context=tls_context(params))
        else:
            client = smtplib.SMTP(params["smtp_host"], params["smtp_port"], timeout=params["timeout"])
        try:
            operation = "EHLO"
            client.ehlo()
            if params["security"] == "starttls":
                if not client.has_extn("starttls"):
                    module.fail_json(msg="SMTP server %s does not offer STARTTLS (security=starttls): not sending "
                                         "in clear text" % server, server=server, operation="STARTTLS", sent=False,
                                     recipients=recipients, refused={})
                operation = "STARTTLS"
                client.starttls(context=tls_context(params))
                client.ehlo()
            if params["username"]:
                operation = "AUTH"
                client.login(params["username"], params["password"] or "")
            operation = "send"
            refused = client.send_message(message, to_addrs=recipients)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
    except smtplib.SMTPRecipientsRefused as err:
        module.fail_json(msg="SMTP server %s refused every recipient: %s" % (server, to_native(err.recipients)),
                         server=server, operation=operation, sent=False, recipients=recipients,
                         refused={k: to_native(v) for k, v in err.recipients.items()})
    except smtplib.SMTPAuthenticationError as err:
        module.fail_json(msg="SMTP server %s refused the credentials of %s: %s %s"
                             % (server, params["username"], err.smtp_code, to_native(err.smtp_error)),
                         server=server, operation="AUTH", sent=False, recipients=recipients, refused={})
    except (smtplib.SMTPException, ssl.SSLError, socket.error, OSError) as err:
        module.fail_json(msg="sending the mail through %s failed during %s: %s" % (server, operation, to_native(err)),
                         server=server, operation=operation, sent=False, recipients=recipients, refused={})
    return server, {k: to_native(v) for k, v in (refused or {}).items()}


def main():
    module = StructuredModule(
        argument_spec=dict(
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
        ),
        required_together=[("record_path", "record_key"), ("password", "username")],
        supports_check_mode=True,
    )
    params = module.params
    params["to"] = [r.strip() for r in params["to"] if r and r.strip()]
    params["cc"] = [r.strip() for r in params["cc"] if r and r.strip()]
    params["subject"] = params["subject"].strip()
    for name in ("sender", "subject", "reply_to"):
        if params[name] and ("\n" in params[name] or "\r" in params[name]):
            module.fail_json(msg="%s must be one line" % name)
    if any("\n" in r or "\r" in r or "," in r for r in params["to"] + params["cc"]):
        module.fail_json(msg="each recipient must be one address (no line breaks or commas): use a list")
    server = "%s:%d" % (params["smtp_host"], params["smtp_port"])
    if not params["to"]:
        module.fail_json(msg="no recipient: 'to' is empty")
    if params["security"] == "none" and params["password"]:
        module.fail_json(msg="refusing to send a password to %s in clear text (security=none)" % server)
    reserved = sorted(h for h in (params["headers"] or {}) if h.lower() in RESERVED_HEADERS)
    if reserved:
        module.fail_json(msg="headers may not set %s (use the module options)" % ", ".join(reserved))
    for name, value in (params["headers"] or {}).items():
        if "\n" in to_native(value) or "\r" in to_native(value) or "\n" in name or ":" in name:
            module.fail_json(msg="header %r: line breaks and colons are not allowed" % name)
    recipients = params["to"] + [r for r in params["cc"] if r not in params["to"]]
    digest = content_digest(params)
    result = dict(changed=False, sent=False, recipients=recipients, refused={}, server=server)

    previous = None
    if params["record_path"]:
        try:
            record = _incident.load(params["record_path"])
        except _incident.RecordError as err:
            module.fail_json(msg=to_native(err), **result)
        previous = ((record or {}).get("mails") or {}).get(params["record_key"])
        result["previous"] = previous or {}
        if previous and not params["force"]:
            result["message_id"] = previous.get("message_id")
            if previous.get("content_sha256") != digest:
                module.warn("the %s mail differs from the one sent on %s (%s); not sending it again without "
                            "force=true" % (params["record_key"], previous.get("sent_at"), previous.get("message_id")))
            module.exit_json(**result)

    result["changed"] = result["sent"] = True
    if module.check_mode:
        module.exit_json(**result)

    message_id = make_msgid(idstring="gridsec", domain=params["message_id_domain"] or None)
    message = build_message(params, message_id)
    server, refused = send(module, message, recipients)
    result.update(message_id=message_id, refused=refused, server=server)
    if params["record_path"]:
        entry = {"message_id": message_id, "sent_at": _incident.utc_timestamp(), "from": params["sender"],
                 "to": params["to"], "cc": params["cc"], "subject": params["subject"], "server": server,
                 "content_sha256": digest, "refused": sorted(refused)}
        try:
            with _incident.locked(params["record_path"]):
                record = _incident.load(params["record_path"]) or _incident.new_record(None)
                record.setdefault("mails", {})[params["record_key"]] = entry
                record["updated"] = entry["sent_at"]
                _incident.save(params["record_path"], record)
        except (_incident.RecordError, OSError, IOError) as err:
            module.fail_json(msg="mail %s was sent through %s but recording it in %s failed: %s (a rerun would send "
                                 "it again)" % (message_id, server, params["record_path"], to_native(err)), **result)
    if refused:
        module.fail_json(msg="SMTP server %s refused some recipients: %s (the others got message %s)"
                             % (server, ", ".join(sorted(refused)), message_id), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
