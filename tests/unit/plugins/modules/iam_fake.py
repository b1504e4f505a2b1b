# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""An in-memory stand-in for ``HttpTransport`` answering like IAM v1.12 (shapes from tests/unit/fixtures/iam,
taken from the IAM reference): SCIM users, finders, labels, token listings (20 per page, ``userId`` = username,
unexpired only, ordered by expiration), PATCH 204 with no body. It records every request; the id-less DELETE on a
token listing is implemented (it deletes everything) and flagged in ``wiped`` so tests can assert it never happens.

Unit tests only: the integration tests run against the lab IAM (lab/gridsec_lab/iam).
"""

import copy
import json
import os
import re

from ansible_collections.gridsec.ops.plugins.module_utils._errors import AuthorizationError
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpReply, ReplyHeaders

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "iam")


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return json.load(handle)


ERRORS = fixture("errors.json")
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
EXT = "urn:indigo-dc:scim:schemas:IndigoUser"
NOW_MS = 1767225600000


def make_user(uuid, username, active=True, dns=(), oidc=()):
    user = fixture("user.json")
    user["id"], user["userName"], user["displayName"], user["active"] = uuid, username, username, active
    user[EXT]["certificates"] = [{"subjectDn": dn, "issuerDn": "CN=Test CA", "primary": False} for dn in dns]
    user[EXT]["oidcIds"] = [{"issuer": i, "subject": s} for i, s in oidc]
    return user


class FakeIam(object):
    base_url = "https://iam.test"
    server_label = "iam.test"

    def __init__(self, users=(), tokens_per_user=0, secret="s3cret", admin_token="admin-token-value"):
        self.users = {u["id"]: u for u in users}
        self.labels = {u["id"]: [] for u in users}
        self.tokens = {"access": [], "refresh": []}
        self.next_id = 1
        self.requests = []
        self.wiped = []
        self.secret = secret
        self.admin_token = admin_token
        self.valid_tokens = {admin_token}
        self.fail = {}  # (method, path regex) -> (status, body bytes, content type) or an exception
        self.on_request = None  # hook(method, path, params) called before answering
        for user in users:
            for i in range(tokens_per_user):
                self.add_token("access" if i % 2 == 0 else "refresh", user["userName"], NOW_MS + 3600000 + i)

    def add_token(self, kind, username, expiration_ms):
        self.tokens[kind].append({"id": self.next_id, "username": username, "expiration": expiration_ms})
        self.next_id += 1
        return self.next_id - 1

    # -- transport interface --------------------------------------------------------------------------
    def request(self, method, path, *, operation, data=None, json=None, params=None, headers=None):
        path = path.split("?", 1)[0]
        self.requests.append({"method": method, "path": path, "params": dict(params or {}),
                              "headers": dict(headers or {}), "data": data})
        if self.on_request:
            self.on_request(method, path, params or {})
        for (m, pattern), answer in list(self.fail.items()):
            if m == method and re.match(pattern + "$", path):
                if isinstance(answer, Exception):
                    raise answer
                status, body, ctype = answer
                return self._reply(status, body, ctype, operation)
        if path == "/token":
            return self._token(headers, data, operation)
        auth = (headers or {}).get("Authorization", "")
        if not auth.startswith("Bearer "):
            return self._reply(401, ERRORS["unauthorized"], None, operation)
        if auth[7:] not in self.valid_tokens:
            return self._reply(401, ERRORS["invalid_token"], None, operation)
        return self._route(method, path, dict(params or {}), data, headers or {}, operation)

    def _reply(self, status, body, ctype, operation):
        if isinstance(body, (dict, list)) or body is None and ctype == "json-null":
            body = json.dumps(body).encode()
            ctype = "application/json"
        body = body or b""
        hdrs = ReplyHeaders([("Content-Type", ctype)] if ctype and body else [])
        if status in (401, 403):  # as HttpTransport does
            raise AuthorizationError("HTTP %d : the server refused this credential" % status, server=self.server_label,
                                     operation=operation, details={"status": status, "body": body[:500].decode()})
        return HttpReply(status, hdrs, body)

    def _token(self, headers, data, operation):
        import base64
        auth = (headers or {}).get("Authorization", "")
        ok = auth == "Basic " + base64.b64encode(("admin:%s" % self.secret).encode()).decode()
        if not ok or data.get("grant_type") != "client_credentials":
            return self._reply(401, ERRORS["bad_client_basic"], None, operation)
        return self._reply(200, dict(ERRORS["token_reply"], access_token=self.admin_token), None, operation)

    def _list(self, items, start=None, count=None, total=None, schemas=True):
        out = {"totalResults": len(items) if total is None else total, "itemsPerPage": len(items),
               "startIndex": start or 1}
        if schemas:
            out["schemas"] = [LIST_SCHEMA]
        out["Resources"] = items
        return out

    def _route(self, method, path, params, data, headers, operation):
        m = re.match(r"^/scim/Users/([^/]+)$", path)
        if m:
            uuid = m.group(1)
            if uuid not in self.users:
                err = dict(ERRORS["scim_404"], detail=ERRORS["scim_404"]["detail"] % uuid)
                return self._reply(404, err, None, operation)
            if method == "GET":
                return self._reply(200, self.users[uuid], None, operation)
            if method == "PATCH":
                if not headers.get("Content-Type", "").startswith("application/scim+json"):
                    return self._reply(415, b"", None, operation)
                body = json.loads(data)
                if "operations" not in body:
                    return self._reply(400, b"", None, operation)
                for op in body["operations"]:
                    if "active" in op["value"]:
                        self.users[uuid]["active"] = op["value"]["active"]
                return self._reply(204, b"", None, operation)
        if path == "/scim/Users" and method == "GET":
            users = list(self.users.values())
            start, count = int(params.get("startIndex", 1)), min(int(params.get("count", 100)), 100)
            return self._reply(200, self._list(users[start - 1:start - 1 + count], start, total=len(users)), None,
                               operation)
        if path == "/iam/account/find/byusername":
            hits = [u for u in self.users.values() if u["userName"] == params["username"]]
            return self._reply(200, self._single(hits), None, operation)
        if path == "/iam/account/find/bycertsubject":
            hits = [u for u in self.users.values()
                    if any(c["subjectDn"] == params["certificateSubject"] for c in u[EXT].get("certificates", []))]
            if len(hits) > 1:  # IAM: an Optional from a query with two rows -> server error
                return self._reply(500, {"error": "query did not return a unique result: 2"}, None, operation)
            return self._reply(200, self._single(hits), None, operation)
        if path == "/iam/account/find/bylabel":
            hits = [self.users[u] for u, labels in self.labels.items()
                    if any(not lb.get("prefix") and lb["name"] == params["name"] and lb.get("value") == params.get("value")
                           for lb in labels)]
            start, count = int(params.get("startIndex", 1)), min(int(params.get("count", 100)), 100)
            return self._reply(200, self._list(hits[start - 1:start - 1 + count], start, total=len(hits)), None,
                               operation)
        m = re.match(r"^/iam/account/([^/]+)/labels$", path)
        if m:
            uuid = m.group(1)
            if uuid not in self.users:
                return self._reply(404, {"error": ERRORS["label_404"]["error"] % uuid}, None, operation)
            labels = self.labels[uuid]
            if method == "GET":
                return self._reply(200, labels, None, operation)
            if method == "PUT":
                new = json.loads(data)
                labels[:] = [lb for lb in labels if (lb.get("prefix"), lb["name"]) != (new.get("prefix"), new["name"])]
                labels.append(new)
                return self._reply(200, b"", None, operation)
            if method == "DELETE":
                labels[:] = [lb for lb in labels
                             if (lb.get("prefix"), lb["name"]) != (params.get("prefix"), params.get("name"))]
                return self._reply(204, b"", None, operation)
        m = re.match(r"^/iam/api/(access|refresh)-tokens(?:/(.*))?$", path)
        if m:
            kind, token_id = m.group(1), m.group(2)
            tokens = self.tokens[kind]
            if token_id is None and method == "DELETE":
                self.wiped.append(kind)
                tokens[:] = []
                return self._reply(204, b"", None, operation)
            if token_id is None:
                mine = sorted((t for t in tokens if t["username"] == params.get("userId")),
                              key=lambda t: (t["expiration"], t["id"]))
                start = max(int(params.get("startIndex", 1)), 1)
                count = min(int(params.get("count", 20)), 20)
                page = mine[start - 1:start - 1 + count] if count > 0 else []
                items = [{"id": t["id"], "expiration": t["expiration"], "client": {"clientId": "c"},
                          "user": {"id": "x", "userName": t["username"]}} for t in page]
                return self._reply(200, self._list(items, start, total=len(mine), schemas=False), None, operation)
            found = [t for t in tokens if str(t["id"]) == token_id]
            if not found:
                return self._reply(404, {"error": ERRORS["token_404"]["error"] % token_id}, None, operation)
            if method == "DELETE":
                tokens.remove(found[0])
                return self._reply(204, b"", None, operation)
        return self._reply(404, b"", None, operation)

    @staticmethod
    def _single(hits):
        if not hits:
            return copy.deepcopy(fixture("finder_miss.json"))
        return {"totalResults": len(hits), "itemsPerPage": 10, "startIndex": 1, "schemas": [LIST_SCHEMA],
                "Resources": hits}

    # -- helpers for tests ----------------------------------------------------------------------------
    def writes(self):
        return [(r["method"], r["path"]) for r in self.requests if r["method"] not in ("GET",) and r["path"] != "/token"]

    def token_count(self, username):
        return sum(1 for kind in self.tokens for t in self.tokens[kind] if t["username"] == username)
