# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Client of the Rucio REST API (accounts, identities, account attributes, authentication).

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Built on the collection's ``HttpTransport``. Behaviour of the real server (Rucio 41.5.1,
``lib/rucio/web/rest/flaskapi/v1/{accounts,auth,identities,common}.py``, ``lib/rucio/core/account.py``), as observed
in the rucio_real test tier (docs/rucio-real.md in the source repository):

- authentication: ``GET /auth/userpass`` (``X-Rucio-Account``/``-Username``/``-Password``) or ``GET /auth/x509``
  (client certificate) answers the token in ``X-Rucio-Auth-Token``; one token per client (per module run);
- errors: JSON ``{"ExceptionClass", "ExceptionMessage"}`` (``common._error_response``), except unmapped server
  exceptions: HTTP 500 with a ``text/html`` body (e.g. a lower-case ``status``, a ``KeyError``);
- ``PUT /accounts/{a}`` only understands ``SUSPENDED`` and ``ACTIVE`` (``DELETED`` answers 200 and changes nothing):
  this client sends nothing else and reads the account back after every write;
- ``GET /identities/accounts?identity_key=&type=`` (``AccountsByIdentity``) lists the accounts of an identity; the
  path form ``/identities/{key}/{type}/accounts`` answers 500 in 41.5.1 (``Accounts.get() got an unexpected keyword
  argument 'type'``) and is not used;
- attributes of a SUSPENDED account cannot be read or written (``list_account_attributes`` filters on ACTIVE:
  404 ``AccountNotFound``), and suspended accounts vanish from ``GET /accounts/``.

Secrets (password, token) are never put in ``operations``, errors or results.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils.six.moves.urllib.parse import quote

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError, ConfigError, NotFoundError, RemoteError, TransportError)

STATUSES = ("ACTIVE", "SUSPENDED")
TOKEN_LIFETIME_S = 3600  # rucio core/authentication.py: tokens of userpass/x509 logins last 1 h
TOKEN_CACHE_S = 900  # validate_auth_token caches validated tokens per server process (TOKENREGION)


class RucioClient(object):
    """One Rucio server; ``auth`` is ``"userpass"`` (with ``username``/``password``) or ``"x509"`` (the transport's
    client certificate). ``account`` is the admin account to act as."""

    def __init__(self, transport, server_label=None, account="root", auth="userpass", username=None, password=None,
                 app_id="gridsec.ops"):
        self.transport = transport
        self.server_label = "Rucio server %s" % (server_label or transport.server_label)
        self.account = account
        self.auth = auth
        self.username = username
        self.password = password
        self.app_id = app_id
        self.operations = []
        self._token = None

    # -- low level ------------------------------------------------------------------------------
    def _send(self, method, path, operation, json_body=None, params=None, headers=None):
        record = {"method": method, "path": path}
        self.operations.append(record)
        send = {"Accept": "application/json"}
        send.update(headers or {})
        try:
            reply = self.transport.request(method, path, operation=operation, json=json_body, params=params,
                                           headers=send)
        except AuthorizationError as err:
            record["status"] = err.details.get("status")
            exc_class, message = _exception_of(err.details.get("body", ""))
            raise AuthorizationError("%s refused %s: HTTP %s %s: %s" % (
                self.server_label, operation, err.details.get("status"), exc_class or "", message or ""),
                server=self.server_label, operation=operation,
                details={"status": err.details.get("status"), "exception_class": exc_class,
                         "exception_message": message})
        except TransportError as err:
            record["status"] = None
            raise err.with_context(server=self.server_label, operation=operation)
        record["status"] = reply.status
        return reply

    def _error(self, reply, operation):
        text = reply.body.decode("utf-8", "replace")
        exc_class, message = _exception_of(text)
        if exc_class is None and 200 <= reply.status < 300:
            return RemoteError("HTTP %d where 200 was due (body %r): not what Rucio answers to this call"
                               % (reply.status, text[:200]), server=self.server_label, operation=operation,
                               details={"status": reply.status, "body": text[:500]})
        if exc_class is None:
            kind = reply.content_type or "no content type"
            return RemoteError("HTTP %d with a %s body, not a Rucio error reply (an unhandled server exception): %r"
                               % (reply.status, kind, text[:200]), server=self.server_label, operation=operation,
                               details={"status": reply.status, "body": text[:500]})
        cls = NotFoundError if reply.status == 404 else RemoteError
        return cls("HTTP %d %s: %s" % (reply.status, exc_class, message), server=self.server_label,
                   operation=operation, details={"status": reply.status, "exception_class": exc_class,
                                                 "exception_message": message})

    def token(self):
        """Log in once per client; the token is kept in memory only."""
        if self._token is None:
            if self.auth == "x509":
                path, headers = "/auth/x509", {"X-Rucio-Account": self.account}
            else:
                if not self.username or self.password is None:
                    raise ConfigError("userpass authentication needs username and password",
                                      server=self.server_label, operation="GET /auth/userpass")
                path = "/auth/userpass"
                headers = {"X-Rucio-Account": self.account, "X-Rucio-Username": self.username,
                           "X-Rucio-Password": self.password}
            headers["X-Rucio-AppID"] = self.app_id
            headers["Accept"] = "*/*"  # the login views answer application/octet-stream (406 for application/json)
            operation = "GET %s (log in as %s)" % (path, self.account)
            reply = self._send("GET", path, operation, headers=headers)
            if reply.status != 200 or not reply.headers.get("X-Rucio-Auth-Token"):
                raise self._error(reply, operation) if reply.status != 200 else RemoteError(
                    "login answered 200 without X-Rucio-Auth-Token", server=self.server_label, operation=operation)
            self._token = reply.headers["X-Rucio-Auth-Token"]
        return self._token

    def call(self, method, path, operation, json_body=None, params=None, ok=(200,), accept=None):
        headers = {"X-Rucio-Auth-Token": self.token()}
        if accept:
            headers["Accept"] = accept
        reply = self._send(method, path, operation, json_body=json_body, params=params, headers=headers)
        if reply.status not in ok:
            raise self._error(reply, operation)
        return reply

    # -- API ------------------------------------------------------------------------------------
    def get_account(self, name):
        """Account dict, or None when the server answers 404 ``AccountNotFound``."""
        path = "/accounts/%s" % quote(name, safe="")
        try:
            reply = self.call("GET", path, "GET %s" % path)
        except NotFoundError as err:
            if err.details.get("exception_class") == "AccountNotFound":
                return None
            raise
        data = _json(reply, self.server_label, "GET %s" % path)
        if not isinstance(data, dict):
            raise _shape_error(reply, self.server_label, "GET %s" % path, "an account (JSON object)")
        return data

    def accounts_for_identity(self, identity, id_type):
        """Account names mapped to an identity (exact string as the server stores it)."""
        operation = "GET /identities/accounts (%s identity)" % id_type
        reply = self.call("GET", "/identities/accounts", operation,
                          params={"identity_key": identity, "type": id_type})
        data = _json(reply, self.server_label, operation)
        if not isinstance(data, list):  # a JSON object would be iterated by its keys, taken as account names
            raise _shape_error(reply, self.server_label, operation, "a JSON list of account names")
        names = []
        for item in data:
            name = item.get("account") if isinstance(item, dict) else item
            if not isinstance(name, str) or not name:
                raise _shape_error(reply, self.server_label, operation, "a JSON list of account names")
            if name not in names:
                names.append(name)
        return names

    def active_accounts(self):
        """Names of the ACTIVE accounts, from one ``GET /accounts/`` (an ``application/x-json-stream`` reply, one
        JSON object per line). Suspended and deleted accounts are not listed (``core.account.list_accounts``
        filters on ACTIVE). The account this client logs in as is ACTIVE, so a listing without it is a truncated
        or foreign reply, not a fact: it is refused."""
        operation = "GET /accounts/ (list the active accounts)"
        reply = self.call("GET", "/accounts/", operation, accept="application/x-json-stream")
        names = set()
        text = reply.body.decode("utf-8", "replace")
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                item = None
            if not isinstance(item, dict) or not isinstance(item.get("account"), str) or not item["account"]:
                raise _shape_error(reply, self.server_label, operation,
                                   'one JSON object {"account": ...} per line')
            names.add(item["account"])
        if self.account not in names:
            raise _shape_error(reply, self.server_label, operation,
                               "a listing of the active accounts (it lacks %r, the account logged in)" % self.account)
        return names

    def set_status(self, name, status):
        if status not in STATUSES:  # lower case is a 500 on the server, DELETED a silent no-op
            raise ConfigError("status must be one of %s, not %r" % (", ".join(STATUSES), status),
                              server=self.server_label, operation="PUT /accounts/%s" % name)
        path = "/accounts/%s" % quote(name, safe="")
        self.call("PUT", path, "PUT %s status=%s" % (path, status), json_body={"status": status})

    def attributes(self, name):
        path = "/accounts/%s/attr/" % quote(name, safe="")
        reply = self.call("GET", path, "GET %s" % path)
        data = _json(reply, self.server_label, "GET %s" % path)
        if not isinstance(data, list) or not all(isinstance(item, dict) and isinstance(item.get("key"), str)
                                                 for item in data):
            raise _shape_error(reply, self.server_label, "GET %s" % path,
                               'a JSON list of {"key": ..., "value": ...} objects')
        return dict((item["key"], item.get("value")) for item in data)

    def add_attribute(self, name, key, value):
        path = "/accounts/%s/attr/%s" % (quote(name, safe=""), quote(key, safe=""))
        self.call("POST", path, "POST %s" % path, json_body={"value": value}, ok=(200, 201))

    def delete_attribute(self, name, key):
        path = "/accounts/%s/attr/%s" % (quote(name, safe=""), quote(key, safe=""))
        self.call("DELETE", path, "DELETE %s" % path, ok=(200, 201))


def _exception_of(text):
    try:
        data = json.loads(text)
    except ValueError:
        return None, None
    if isinstance(data, dict) and "ExceptionClass" in data:
        return data.get("ExceptionClass"), data.get("ExceptionMessage")
    return None, None


def _json(reply, server, operation):
    try:
        return json.loads(reply.body.decode("utf-8") or "null")
    except ValueError:
        raise RemoteError("reply is not JSON: %r" % reply.body[:200], server=server, operation=operation)


def _shape_error(reply, server, operation, expected):
    text = reply.body.decode("utf-8", "replace")
    return RemoteError("HTTP %d reply is not %s: %r" % (reply.status, expected, text[:200]), server=server,
                       operation=operation, details={"status": reply.status, "body": text[:500]})
