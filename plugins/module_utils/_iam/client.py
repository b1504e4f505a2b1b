# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Client of the INDIGO IAM admin APIs the collection uses (SCIM users, account finders, labels, token listings).

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Facts (IAM v1.12, see ``docs/iam.md``):

- admin token: ``POST /token`` with ``grant_type=client_credentials`` and HTTP Basic client authentication; the
  token is kept for the client's life (until ``expires_in`` - 60 s); a given bearer token is used as it is;
- ``PATCH /scim/Users/{uuid}`` takes ``application/scim+json`` with the lower-case ``operations`` key and answers
  204 with no body, also when nothing changed;
- finders answer 200 with an empty ``Resources`` (never 404) when nothing matches;
- token listings filter ``userId`` by the **username**, hold at most 20 per page, list only unexpired tokens,
  under ``Resources``; deletion is per id. The id-less ``DELETE`` on a listing deletes every token of the
  instance: this client cannot build it (``_token_item_path`` refuses anything but a positive integer id);
- three error dialects (SCIM ``detail``, IAM ``{"error"}``, OAuth ``error_description``) and empty bodies for
  framework errors are all turned into ``RemoteError``/``AuthorizationError``/``NotFoundError`` naming the server
  and the operation.

``.operations`` records every request (method, path, the operation name, status), never a secret: the client
secret and tokens travel only in headers and the form body, which are not recorded.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import json
import math
import re
import time

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2 is not supported by the collection
    from urllib import quote

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    ConfigError,
    GridsecError,
    NotFoundError,
    RemoteError,
    TransportError,
)

SCIM_CONTENT_TYPE = "application/scim+json"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
INDIGO_USER_SCHEMA = "urn:indigo-dc:scim:schemas:IndigoUser"
ADMIN_SCOPES = ("scim:read", "scim:write", "iam:admin.read", "iam:admin.write")
READ_SCOPES = ("scim:read", "iam:admin.read")
TOKEN_PAGE = 20  # TOKENS_MAX_PAGE_SIZE
SCIM_PAGE = 100  # SCIM_USER_MAX_PAGE_SIZE
TOKEN_KINDS = ("access", "refresh")
TOKEN_REFRESH_MARGIN = 60
# Bound on the list/delete rounds of one revocation (each round deletes up to 20 tokens): 5000 rounds = 100,000
# tokens of one account. Beyond this something is wrong (the server keeps listing what it says it deleted).
MAX_REVOKE_ROUNDS = 5000
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")  # ASCII digits only (str.isdigit accepts other scripts' digits)
_TOKEN_ID = re.compile(r"^[0-9]+$")
# Deletion passes repeated when the count read after a pass still finds tokens (issued while revoking).
REVOKE_RETRIES = 2


def _to_text(data):
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""


def parse_expiration(value):
    """Epoch seconds (float) of a token ``expiration``: IAM writes a ``java.util.Date`` as epoch milliseconds with
    its plain Jackson builder; the docs show ``2014-05-28T18:02:09-0400``. None when absent or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            return None
        if math.isnan(number) or math.isinf(number):
            return None
        return number / 1000.0 if number > 1e11 else number
    text = str(value).strip()
    if not text:
        return None
    if _NUMBER.match(text):
        return parse_expiration(float(text))
    if text.endswith("Z"):
        text = text[:-1] + "+0000"
    if len(text) > 6 and text[-3] == ":" and text[-6] in "+-":
        text = text[:-3] + text[-2:]
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.datetime.strptime(text, fmt).timestamp()
        except ValueError:
            continue
    return None


def epoch_to_iso(seconds):
    if seconds is None:
        return None
    try:
        # time.gmtime: a quarter of datetime's cost, and revocation formats one per deleted token
        parts = time.gmtime(seconds)
    except (OverflowError, ValueError, OSError, TypeError):
        return None
    if not 1 <= parts.tm_year <= 9999:
        return None  # a date no calendar holds (year beyond 9999): reported as unknown
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % parts[:6]


def describe_error_body(status, body, content_type=""):
    """One line saying what IAM answered, for each of its error dialects (SCIM error, IAM's ErrorDTO, OAuth error/error_description, empty body)."""
    text = _to_text(body).strip()
    if not text:
        return "HTTP %s with an empty body" % status
    try:
        data = json.loads(text)
    except ValueError:
        lowered = text[:2000].lower()
        if "<html" in lowered or "<!doctype" in lowered or "html" in (content_type or ""):
            title = ""
            start = lowered.find("<title>")
            if start >= 0:
                end = lowered.find("</title>", start)
                title = text[start + 7:end if end > 0 else start + 200].strip()
            return "HTTP %s with an HTML page%s (not an IAM reply: a proxy or front end in between?)" % (
                status, (": %s" % title[:200]) if title else "")
        return "HTTP %s: %s" % (status, text[:300])
    if isinstance(data, dict):
        if "detail" in data:  # SCIM error
            return "HTTP %s: %s" % (status, data.get("detail"))
        if "error_description" in data:  # OAuth / security layer
            return "HTTP %s: %s: %s" % (status, data.get("error"), data.get("error_description"))
        if "error" in data:  # IAM API ErrorDTO
            return "HTTP %s: %s" % (status, data.get("error"))
    if data is None:
        return "HTTP %s with a JSON null body" % status
    return "HTTP %s: %s" % (status, text[:300])


class IamClient(object):
    """One method per IAM call the collection makes.

    ``transport``: an ``HttpTransport`` whose base URL is IAM's base URL (``https://iam.example.org``).
    Authentication: ``client_id`` + ``client_secret`` (client-credentials grant, token cached for the life of
    the client) or ``bearer_token`` (used as given). ``scopes``: what the client-credentials request asks for.
    ``issuer``: IAM's issuer as configured, when it differs from the base URL (for ``(iss, sub)`` selection).
    """

    def __init__(self, transport, server_label=None, client_id=None, client_secret=None, bearer_token=None,
                 scopes=ADMIN_SCOPES, issuer=None, clock=time.time):
        if not bearer_token and not (client_id and client_secret):
            raise ConfigError("IAM needs either bearer_token or client_id and client_secret",
                              server=server_label, operation="authenticate")
        self.transport = transport
        self.server_label = "IAM %s" % (server_label or getattr(transport, "server_label", None) or "server")
        self.base_url = getattr(transport, "base_url", "") or ""
        self.issuer = (issuer or self.base_url).rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._given_token = bearer_token
        self._token = bearer_token
        self._token_expires = None
        self.scopes = tuple(scopes or ())
        self.clock = clock
        self.operations = []

    # -- authentication -------------------------------------------------------------------------------
    def _admin_token(self, force=False):
        if self._given_token:
            return self._given_token
        if (not force and self._token and self._token_expires is not None
                and self.clock() < self._token_expires - TOKEN_REFRESH_MARGIN):
            return self._token
        operation = "POST /token (client_credentials)"
        record = {"method": "POST", "path": "/token", "operation": "client_credentials"}
        self.operations.append(record)
        # Spring Security's Basic filter (IAM's /token chain) does not URL-decode id and secret: send them raw
        basic = base64.b64encode(("%s:%s" % (self._client_id, self._client_secret)).encode("utf-8")).decode("ascii")
        form = {"grant_type": "client_credentials"}
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        try:
            reply = self.transport.request("POST", "/token", operation=operation, data=form,
                                           headers={"Authorization": "Basic %s" % basic,
                                                    "Accept": "application/json"})
        except AuthorizationError as err:
            record["status"] = err.details.get("status")
            raise self._auth_error(err, operation, "the admin client (client_id %s) was refused" % self._client_id)
        record["status"] = reply.status
        if reply.status != 200:
            text = describe_error_body(reply.status, reply.body, reply.content_type)
            raise RemoteError(self.redact("token request refused: %s" % text), server=self.server_label,
                              operation=operation, details={"status": reply.status})
        # The reply body holds the access token: never quote it, even when it does not parse
        try:
            data = json.loads(_to_text(reply.body).strip())
        except ValueError:
            raise RemoteError("token reply is not JSON (HTTP %s, %d bytes, content type %s; body not shown: it may "
                              "hold a token)" % (reply.status, len(reply.body or b""), reply.content_type or "none"),
                              server=self.server_label, operation=operation, details={"status": reply.status})
        token = data.get("access_token") if isinstance(data, dict) else None
        if not token:
            raise RemoteError("token reply without access_token", server=self.server_label, operation=operation,
                              details={"status": reply.status})
        try:
            lifetime = float(data.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token = token
        self._token_expires = self.clock() + lifetime
        return token

    def redact(self, text):
        """``text`` without the client secret or any token this client holds (IAM and MITREid quote a rejected
        token's value in ``error_description``: ``Invalid access token: <value>``)."""
        text = "" if text is None else str(text)
        for secret in (self._client_secret, self._given_token, self._token):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "<redacted>")
        return text

    def _auth_error(self, err, operation, prefix):
        details = dict(getattr(err, "details", None) or {})
        status = details.get("status") or 401
        body = details.pop("body", "")
        return AuthorizationError(self.redact("%s: %s" % (prefix, describe_error_body(status, body))),
                                  server=self.server_label, operation=operation, details=details)

    # -- plumbing -------------------------------------------------------------------------------------
    def _json(self, reply, operation):
        try:
            # bytes straight to the parser (it detects UTF-8/16/32): no decoded copy of every reply
            return json.loads(reply.body if isinstance(reply.body, bytes) else _to_text(reply.body))
        except ValueError:
            raise RemoteError(self.redact("reply is not JSON (%s)" % describe_error_body(reply.status, reply.body,
                                                                                         reply.content_type)),
                              server=self.server_label, operation=operation, details={"status": reply.status})

    def call(self, method, path, operation, params=None, body=None, content_type=None, expect=(200,),
             write=False, parse=True, not_found=None):
        """Send one authenticated call; return ``(status, parsed JSON or None)``.

        ``expect``: the success statuses. ``not_found``: a value returned for a 404 instead of raising.
        ``write``: a request that changes state; when the reply is lost after sending, the error says the change
        may have been applied.
        """
        record = {"method": method, "path": path, "operation": operation}
        if params:
            record["params"] = dict((k, v) for k, v in params.items() if v is not None)
        self.operations.append(record)
        label = "%s %s" % (method, path)
        retried = False
        while True:
            headers = {"Authorization": "Bearer %s" % self._admin_token(), "Accept": "application/json, %s"
                       % SCIM_CONTENT_TYPE}
            kwargs = {"operation": label, "headers": headers}
            if params:
                kwargs["params"] = params
            if body is not None:
                if isinstance(body, dict) and content_type != "application/x-www-form-urlencoded":
                    kwargs["data"] = json.dumps(body).encode("utf-8")
                    headers["Content-Type"] = content_type or "application/json"
                else:
                    kwargs["data"] = body
            try:
                reply = self.transport.request(method, path, **kwargs)
            except AuthorizationError as err:
                record["status"] = err.details.get("status")
                text = _to_text(err.details.get("body"))
                if (err.details.get("status") == 401 and not retried and not self._given_token
                        and "invalid_token" in text):
                    retried = True  # our cached token expired or was revoked: one fresh token, same call (401:
                    self._admin_token(force=True)  # the request was not processed)
                    continue
                hint = ""
                if err.details.get("status") == 403:
                    hint = (" (the token lacks the scope this call needs: the admin client must be registered for "
                            "%s)" % " ".join(ADMIN_SCOPES))
                raise self._auth_error(err, label, "%s refused%s" % (operation, hint))
            except TransportError as err:
                if write and "may have been processed" in str(err.msg):
                    err.msg = ("%s was sent but no complete reply came back (%s): it may have been applied. Re-run "
                               "the task (it reads the state first and is idempotent) or check the account in IAM"
                               % (operation, err.msg))
                raise err.with_context(server=self.server_label, operation=label)
            break
        record["status"] = reply.status
        if reply.status == 404 and not_found is not None:
            return reply.status, not_found
        if reply.status not in expect:
            cls = NotFoundError if reply.status == 404 else RemoteError
            text = describe_error_body(reply.status, reply.body, reply.content_type)
            raise cls(self.redact("%s failed: %s" % (operation, text)),
                      server=self.server_label, operation=label, details={"status": reply.status})
        if not parse or reply.status == 204 or not reply.body or not reply.body.strip():
            return reply.status, None
        return reply.status, self._json(reply, label)

    def _list_body(self, data, operation):
        if not isinstance(data, dict) or not isinstance(data.get("Resources", []), list):
            raise RemoteError("%s: reply is not a list response (%s)" % (operation, type(data).__name__),
                              server=self.server_label, operation=operation)
        return data

    # -- accounts -------------------------------------------------------------------------------------
    def get_user(self, uuid):
        """The SCIM user ``uuid``, or None when IAM has no such account."""
        uuid = self._check_id(uuid, "account uuid")
        _status, data = self.call("GET", "/scim/Users/%s" % quote(uuid, safe=""), "get account", not_found=False)
        if data is False:
            return None
        if not isinstance(data, dict) or not data.get("id"):
            raise RemoteError("get account: reply is not a SCIM user", server=self.server_label,
                              operation="GET /scim/Users/%s" % uuid)
        return data

    def _finder(self, path, params, operation):
        _status, data = self.call("GET", path, operation, params=params)
        items = list(self._list_body(data, operation).get("Resources") or [])
        self._check_users(items, operation)
        return items

    def _check_users(self, items, operation):
        for item in items:
            if not isinstance(item, dict):
                raise RemoteError("%s: reply is not a list of SCIM users (an item is %s)"
                                  % (operation, type(item).__name__), server=self.server_label, operation=operation)

    def find_by_username(self, username):
        return self._finder("/iam/account/find/byusername", {"username": username}, "find account by username")

    def find_by_uuid(self, uuid):
        uuid = self._check_id(uuid, "account uuid")
        return self._finder("/iam/account/find/byuuid/%s" % quote(uuid, safe=""), None, "find account by uuid")

    def find_by_cert_subject(self, rfc2253_subject):
        return self._finder("/iam/account/find/bycertsubject", {"certificateSubject": rfc2253_subject},
                            "find account by certificate subject")

    def find_by_label(self, name, value):
        """Every account carrying the unprefixed label ``name=value`` (paged, 100 per page)."""
        return self._paged_scim("/iam/account/find/bylabel", {"name": name, "value": value},
                                "find accounts by label")

    def iter_users(self):
        """Every SCIM user (``/scim/Users``, 100 per page), each once even if the listing shifts between pages."""
        return self._paged_scim("/scim/Users", {}, "list accounts", consistent=True)

    def _paged_scim(self, path, params, operation, consistent=False):
        """Every item of a paged SCIM listing. ``consistent``: fail when the listing changed while it was read (a
        page's ``totalResults`` differs from the first one, or the distinct ids seen differ from it): an account
        may have been skipped, since ``/scim/Users`` pages by offset in no guaranteed order."""
        found, seen, start, totals = [], set(), 1, []
        while True:
            page_params = dict(params)
            page_params.update({"count": SCIM_PAGE, "startIndex": start})
            _status, data = self.call("GET", path, operation, params=page_params)
            data = self._list_body(data, operation)
            items = data.get("Resources") or []
            self._check_users(items, operation)
            for item in items:
                key = item.get("id") if isinstance(item, dict) else None
                if key not in seen:
                    seen.add(key)
                    found.append(item)
            total = data.get("totalResults")
            totals.append(total)
            start += len(items)
            if not items or (isinstance(total, int) and start > total):
                if consistent and (len(set(totals)) != 1 or total != len(seen)):
                    raise RemoteError("%s: the account list changed while it was read (IAM counted %s, %d distinct "
                                      "accounts were seen); re-run" % (operation, "/".join(str(t) for t in totals),
                                                                       len(seen)),
                                      server=self.server_label, operation="GET %s" % path)
                return found

    def set_active(self, uuid, active):
        """``PATCH /scim/Users/{uuid}`` active true/false (204, also when nothing changed)."""
        uuid = self._check_id(uuid, "account uuid")
        body = {"schemas": [PATCH_SCHEMA], "operations": [{"op": "replace", "value": {"active": bool(active)}}]}
        self.call("PATCH", "/scim/Users/%s" % quote(uuid, safe=""), "suspend account" if not active
                  else "restore account", body=body, content_type=SCIM_CONTENT_TYPE, expect=(200, 204), write=True,
                  parse=False)

    # -- labels ---------------------------------------------------------------------------------------
    def get_labels(self, uuid):
        uuid = self._check_id(uuid, "account uuid")
        _status, data = self.call("GET", "/iam/account/%s/labels" % quote(uuid, safe=""), "read labels")
        if data is None:
            return []
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise RemoteError("read labels: reply is not a list of labels", server=self.server_label,
                              operation="GET /iam/account/%s/labels" % uuid)
        return data

    def set_label(self, uuid, name, value, prefix=None):
        uuid = self._check_id(uuid, "account uuid")
        body = {"name": name, "value": value}
        if prefix:
            body["prefix"] = prefix
        self.call("PUT", "/iam/account/%s/labels" % quote(uuid, safe=""), "set label %s" % name, body=body,
                  content_type="application/json", expect=(200, 204), write=True, parse=False)

    def delete_label(self, uuid, name, prefix=None):
        uuid = self._check_id(uuid, "account uuid")
        params = {"name": name}
        if prefix:
            params["prefix"] = prefix
        self.call("DELETE", "/iam/account/%s/labels" % quote(uuid, safe=""), "delete label %s" % name,
                  params=params, expect=(200, 204), write=True, parse=False)

    # -- tokens ---------------------------------------------------------------------------------------
    @staticmethod
    def _token_list_path(kind):
        if kind not in TOKEN_KINDS:
            raise ConfigError("unknown token kind %r" % (kind,), operation="tokens")
        return "/iam/api/%s-tokens" % kind

    def _token_item_path(self, kind, token_id):
        # The only way this client builds a token DELETE: a positive integer id, so the id-less DELETE on the
        # listing (which deletes every token of the instance) cannot be produced from an empty or odd id.
        if isinstance(token_id, bool) or not isinstance(token_id, int):
            if isinstance(token_id, str) and _TOKEN_ID.match(token_id.strip()):
                token_id = int(token_id.strip())
            else:
                raise RemoteError("token id %r is not a number: not deleting" % (token_id,), server=self.server_label,
                                  operation="delete %s token" % kind)
        if token_id <= 0:
            raise RemoteError("token id %r is not a positive number: not deleting" % (token_id,),
                              server=self.server_label, operation="delete %s token" % kind)
        return "%s/%d" % (self._token_list_path(kind), token_id)

    def _check_id(self, value, what):
        text = "" if value is None else str(value).strip()
        if not text or "/" in text or text in (".", ".."):
            raise ConfigError("%s %r is empty or not a single path element" % (what, value),
                              server=self.server_label)
        return text

    def token_page(self, kind, username, start=1, count=TOKEN_PAGE):
        """One page of ``kind`` tokens of ``username``: the list response (``totalResults``, ``Resources``)."""
        if not username:
            raise ConfigError("token listing needs the account's username", server=self.server_label,
                              operation="list %s tokens" % kind)
        operation = "list %s tokens" % kind
        _status, data = self.call("GET", self._token_list_path(kind), operation,
                                  params={"userId": username, "count": count, "startIndex": start})
        return self._list_body(data, operation)

    def count_tokens(self, kind, username):
        data = self.token_page(kind, username, start=1, count=0)
        total = data.get("totalResults")
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise RemoteError("count %s tokens: reply has no totalResults count (%r)" % (kind, total),
                              server=self.server_label, operation="GET %s" % self._token_list_path(kind))
        return total

    def list_tokens(self, kind, username):
        """Every listed (unexpired) ``kind`` token of ``username``, each once (paged by increasing startIndex:
        for reading only; revocation pages from the start, see ``revoke_tokens``)."""
        found, seen, start = [], set(), 1
        while True:
            data = self.token_page(kind, username, start=start)
            items = data.get("Resources") or []
            for item in items:
                if isinstance(item, dict) and item.get("id") not in seen:
                    seen.add(item.get("id"))
                    found.append(item)
            start += len(items)
            total = data.get("totalResults")
            if not items or (isinstance(total, int) and start > total):
                return found

    def delete_token(self, kind, token_id):
        """Delete one token by id; False when IAM no longer has it (404: expired and cleaned, or deleted)."""
        path = self._token_item_path(kind, token_id)
        status, _data = self.call("DELETE", path, "delete %s token" % kind, expect=(200, 204), write=True,
                                  parse=False, not_found=False)
        return status != 404

    def revoke_tokens(self, kind, username, done=None, confirm=True):
        """Delete every ``kind`` token of ``username``, by id.

        Pages from ``startIndex=1`` again after each page (deleting shifts later tokens down; an increasing index
        would skip them) until a page held everything the server counted (its ``totalResults`` is IAM's count of
        the user's valid tokens when that page was read: ``AbstractTokenService``). ``confirm``: then read the count
        back (``count=0``, one call) when something was deleted, so a token issued meanwhile (IAM's token exchange
        does not check that the account is active) is seen; while tokens remain, the deletion is repeated, at most
        ``REVOKE_RETRIES`` more times. Without ``confirm`` the last listing and the DELETE replies are the proof:
        for a kind no token can be issued for any more (see ``_iam.account``). So the calls are ⌈tokens/20⌉ list
        pages (at least one), one DELETE per token and, with ``confirm``, one count read after deletions.
        ``done`` (a list) receives a dict per deleted token as it goes, so a failure half-way still says what was
        revoked. Returns ``{"deleted": [...], "latest_exp": epoch|None, "remaining": n}``; ``remaining`` is the
        count IAM answered last (0 when nothing is left).
        """
        done = [] if done is None else done
        deleted_ids = set()
        latest = None
        rounds = 0
        remaining = 0
        for _attempt in range(1 + REVOKE_RETRIES):
            deleted_before = len(deleted_ids)
            while True:
                rounds += 1
                if rounds > MAX_REVOKE_ROUNDS:
                    raise RemoteError("more than %d rounds of %s token deletion for %s: stopped"
                                      % (MAX_REVOKE_ROUNDS, kind, username),
                                      server=self.server_label, operation="revoke %s tokens" % kind)
                data = self.token_page(kind, username, start=1)
                items = [item for item in (data.get("Resources") or []) if isinstance(item, dict)]
                total = data.get("totalResults")
                if not items:
                    break
                again = [item.get("id") for item in items if item.get("id") in deleted_ids]
                if again:
                    raise RemoteError("%s tokens %s of %s are still listed after IAM answered their deletion"
                                      % (kind, ", ".join(str(i) for i in again), username),
                                      server=self.server_label, operation="revoke %s tokens" % kind)
                for item in items:
                    exp = parse_expiration(item.get("expiration"))
                    existed = self.delete_token(kind, item.get("id"))
                    deleted_ids.add(item.get("id"))
                    if exp is not None and (latest is None or exp > latest):
                        latest = exp
                    done.append({"op": "delete_token", "kind": kind, "id": item.get("id"),
                                 "expiration": epoch_to_iso(exp), "existed": existed})
                if isinstance(total, int) and not isinstance(total, bool) and total <= len(items):
                    break
            # an empty first listing is itself read after every deletion: nothing to count again
            if not confirm or len(deleted_ids) == deleted_before:
                remaining = 0
                break
            remaining = self.count_tokens(kind, username)
            if not remaining:
                break
        return {"deleted": done, "latest_exp": latest, "remaining": remaining}


def _member(data, key, kind, what):
    value = data.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise RemoteError("reply is not a SCIM user: %s is %s, not %s" % (what, type(value).__name__, kind.__name__))
    return value


def user_extension(user):
    """The IndigoUser extension of a SCIM user (a dict; RemoteError when the reply is not a SCIM user)."""
    if not isinstance(user, dict):
        raise RemoteError("reply is not a SCIM user (%s)" % type(user).__name__)
    return _member(user, INDIGO_USER_SCHEMA, dict, "the IndigoUser extension")


def user_summary(user):
    """The parts of a SCIM user the modules return (no secrets: SCIM never returns a password)."""
    ext = user_extension(user)
    certificates = _member(ext, "certificates", list, "certificates")
    emails = [e.get("value") for e in _member(user, "emails", list, "emails") if isinstance(e, dict)]
    return {
        "uuid": user.get("id"),
        "username": user.get("userName"),
        "active": user.get("active"),
        "name": _member(user, "name", dict, "name").get("formatted"),
        "emails": emails,
        "certificate_subjects": [c.get("subjectDn") for c in certificates if isinstance(c, dict)],
        "certificates": [{"subject": c.get("subjectDn"), "issuer": c.get("issuerDn")}
                         for c in certificates if isinstance(c, dict)],
        "oidc_ids": [{"issuer": o.get("issuer"), "subject": o.get("subject")}
                     for o in _member(ext, "oidcIds", list, "oidcIds") if isinstance(o, dict)],
        "groups": [g.get("display") for g in _member(user, "groups", list, "groups") if isinstance(g, dict)],
    }


__all__ = ["IamClient", "GridsecError", "user_summary", "user_extension", "parse_expiration", "epoch_to_iso",
           "describe_error_body"]
