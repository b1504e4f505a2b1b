# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""IamClient: authentication, IAM's reply shapes and error dialects, paging, revocation (against the in-memory
FakeIam of tests/unit/plugins/modules/iam_fake.py), and the wire behaviour that needs a socket (204 with no body,
a reply lost after a PATCH was sent) against a tiny local HTTP server."""

import http.server
import json
import threading
import time

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    ConfigError,
    NotFoundError,
    RemoteError,
    TransportError,
)
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
from ansible_collections.gridsec.ops.plugins.module_utils._iam.client import (
    IamClient,
    describe_error_body,
    epoch_to_iso,
    parse_expiration,
    user_summary,
)
from ansible_collections.gridsec.ops.tests.unit.plugins.modules.iam_fake import FakeIam, make_user

U1 = "11111111-1111-1111-1111-111111111111"


def client_for(fake, **kw):
    kw.setdefault("client_id", "admin")
    kw.setdefault("client_secret", fake.secret)
    return IamClient(fake, server_label="iam.test", **kw)


def test_token_acquired_once_with_basic_auth_and_cached():
    fake = FakeIam([make_user(U1, "alice")])
    client = client_for(fake)
    client.get_user(U1)
    client.get_labels(U1)
    token_calls = [r for r in fake.requests if r["path"] == "/token"]
    assert len(token_calls) == 1
    assert token_calls[0]["data"]["grant_type"] == "client_credentials"
    assert "iam:admin.write" in token_calls[0]["data"]["scope"]
    assert token_calls[0]["headers"]["Authorization"].startswith("Basic ")
    assert fake.requests[1]["headers"]["Authorization"] == "Bearer admin-token-value"
    # nothing secret in the operations record
    text = json.dumps(client.operations)
    assert fake.secret not in text and "admin-token-value" not in text


def test_token_renewed_once_on_invalid_token():
    fake = FakeIam([make_user(U1, "alice")])
    client = client_for(fake)
    client.get_user(U1)
    fake.valid_tokens = {"second"}
    fake.admin_token = "second"
    client.get_user(U1)
    assert [r["path"] for r in fake.requests].count("/token") == 2


def test_given_bearer_token_used_as_is_and_refusal_is_authorization_error():
    fake = FakeIam([make_user(U1, "alice")])
    client = IamClient(fake, bearer_token="admin-token-value")
    assert client.get_user(U1)["userName"] == "alice"
    assert all(r["path"] != "/token" for r in fake.requests)
    bad = IamClient(fake, server_label="iam.test", bearer_token="stale")
    with pytest.raises(AuthorizationError) as info:
        bad.get_user(U1)
    assert "invalid_token" in str(info.value) and "IAM iam.test" in str(info.value)
    assert "stale" not in str(info.value)


def test_wrong_secret_names_server_and_operation():
    fake = FakeIam()
    client = client_for(fake, client_secret="wrong")
    with pytest.raises(AuthorizationError) as info:
        client.find_by_username("x")
    text = str(info.value)
    assert "IAM iam.test" in text and "POST /token" in text and "Bad credentials" in text and "wrong" not in text


def test_no_credentials_is_config_error():
    with pytest.raises(ConfigError):
        IamClient(FakeIam())


@pytest.mark.parametrize("status,body,expected", [
    (403, {"error": "access_denied", "error_description": "Access is denied"}, "access_denied: Access is denied"),
    (500, {"error": "Account for bob not found"}, "HTTP 500: Account for bob not found"),
    (400, b"", "empty body"),
    (502, b"<html><head><title>502 Bad Gateway</title></head></html>", "HTML page: 502 Bad Gateway"),
])
def test_error_dialects(status, body, expected):
    fake = FakeIam([make_user(U1, "alice")])
    fake.fail[("GET", "/scim/Users/.*")] = (status, body, "text/html" if isinstance(body, bytes) else None)
    with pytest.raises((RemoteError, AuthorizationError)) as info:
        client_for(fake).get_user(U1)
    assert expected in str(info.value)
    assert "GET /scim/Users/%s" % U1 in str(info.value)


def test_scim_404_is_none_and_other_404s_are_not_found():
    fake = FakeIam([make_user(U1, "alice")])
    client = client_for(fake)
    assert client.get_user("nope") is None
    with pytest.raises(NotFoundError) as info:
        client.get_labels("nope")
    assert "Account not found for id 'nope'" in str(info.value)


def test_json_null_and_html_200_are_clear_errors():
    fake = FakeIam([make_user(U1, "alice")])
    fake.fail[("GET", "/iam/account/find/byusername")] = (200, None, "json-null")
    with pytest.raises(RemoteError) as info:
        client_for(fake).find_by_username("alice")
    assert "not a list response" in str(info.value)
    fake.fail[("GET", "/iam/account/find/byusername")] = (200, b"<html>login</html>", "text/html")
    with pytest.raises(RemoteError) as info:
        client_for(fake).find_by_username("alice")
    assert "not JSON" in str(info.value) and "HTML" in str(info.value)
    assert describe_error_body(200, b"null") == "HTTP 200 with a JSON null body"


def test_finder_miss_is_empty_list():
    fake = FakeIam([make_user(U1, "alice")])
    assert client_for(fake).find_by_username("bob") == []


def test_patch_body_is_lower_case_operations_scim_json_204():
    fake = FakeIam([make_user(U1, "alice")])
    client = client_for(fake)
    client.set_active(U1, False)
    sent = fake.requests[-1]
    assert sent["method"] == "PATCH" and sent["headers"]["Content-Type"] == "application/scim+json"
    assert json.loads(sent["data"]) == {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                        "operations": [{"op": "replace", "value": {"active": False}}]}
    assert fake.users[U1]["active"] is False


def test_revoke_pages_from_start_and_deletes_by_id_only():
    fake = FakeIam([make_user(U1, "alice")])
    for i in range(45):
        fake.add_token("access", "alice", 1767229200000 + i * 1000)
    fake.add_token("access", "bob", 1767229200000)
    client = client_for(fake)
    result = client.revoke_tokens("access", "alice")
    assert len(result["deleted"]) == 45 and fake.token_count("alice") == 0 and fake.token_count("bob") == 1
    lists = [r for r in fake.requests if r["method"] == "GET" and r["path"] == "/iam/api/access-tokens"
             and r["params"]["count"] != 0]
    assert len(lists) == 3  # ceil(45 / 20): the last page held all that remained, no empty page read
    counts = [r for r in fake.requests if r["method"] == "GET" and r["params"].get("count") == 0]
    assert len(counts) == 1 and result["remaining"] == 0  # then one count read, after the deletions
    assert all(r["params"]["startIndex"] == 1 and r["params"]["userId"] == "alice" for r in lists)
    assert fake.wiped == []
    assert all(r["path"] != "/iam/api/access-tokens" for r in fake.requests if r["method"] == "DELETE")
    assert result["latest_exp"] == 1767229200 + 44


def test_listing_that_grows_between_pages_is_revoked_completely():
    fake = FakeIam([make_user(U1, "alice")])
    for i in range(25):
        fake.add_token("refresh", "alice", 1767229200000 + i)
    added = []

    def grow(method, path, params):
        if method == "GET" and path.endswith("refresh-tokens") and len(added) < 3:
            added.append(fake.add_token("refresh", "alice", 1767229300000 + len(added)))
    fake.on_request = grow
    client = client_for(fake)
    result = client.revoke_tokens("refresh", "alice")
    assert fake.token_count("alice") == 0
    # the third token comes at the count read after the first pass: a second pass deletes it
    assert len(added) == 3 and len(result["deleted"]) == 25 + len(added) and result["remaining"] == 0


def test_reading_listing_that_shifts_between_pages_lists_each_once():
    fake = FakeIam([make_user(U1, "alice")])
    for i in range(30):
        fake.add_token("access", "alice", 1767229200000 + i * 1000)
    state = {"n": 0}

    def shift(method, path, params):
        if path.endswith("access-tokens") and params.get("startIndex") == 21 and not state["n"]:
            state["n"] = 1  # one token of page 1 expires before page 2 is read: later ones shift down
            fake.tokens["access"].pop(0)
    fake.on_request = shift
    listed = client_for(fake).list_tokens("access", "alice")
    ids = [t["id"] for t in listed]
    assert len(ids) == len(set(ids))


def test_server_that_keeps_listing_deleted_tokens_is_stopped():
    fake = FakeIam([make_user(U1, "alice")])
    for i in range(25):
        fake.add_token("access", "alice", 1767229200000 + i)
    fake.fail[("DELETE", r"/iam/api/access-tokens/\d+")] = (204, b"", None)  # answers but deletes nothing
    with pytest.raises(RemoteError) as info:
        client_for(fake).revoke_tokens("access", "alice")
    assert "still listed" in str(info.value)


@pytest.mark.parametrize("bad", [None, "", " ", "1/..", -1, 0, True, "abc", "\u00b2", "\u0663", "1\u00b9"])
def test_token_delete_never_builds_an_id_less_url(bad):
    fake = FakeIam()
    with pytest.raises(RemoteError):
        client_for(fake).delete_token("access", bad)
    assert all(r["method"] != "DELETE" for r in fake.requests)


def test_parse_expiration_forms():
    assert parse_expiration(1767229200000) == 1767229200
    assert parse_expiration("2014-05-28T18:02:09-0400") == parse_expiration("2014-05-28T22:02:09Z")
    assert parse_expiration("2014-05-28T18:02:09.123-04:00") == pytest.approx(1401314529.123)
    assert parse_expiration(None) is None and parse_expiration("soon") is None


# -- the wire: a real local HTTP server ----------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay = 0.0

    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_POST(self):
        self._body()
        data = json.dumps({"access_token": "tok", "expires_in": 3600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PATCH(self):
        self._body()
        self.server.patches.append(self.path)
        if type(self).delay:
            time.sleep(type(self).delay)
        self.send_response(204)  # IAM: no body, no Content-Type
        self.end_headers()


@pytest.fixture
def wire_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.patches = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    _Handler.delay = 0.0
    server.shutdown()
    server.server_close()


def _wire_client(server, timeout=5):
    transport = HttpTransport("http://127.0.0.1:%d" % server.server_address[1], timeout=timeout, retries=0,
                              credential_fallback=False)
    return IamClient(transport, client_id="admin", client_secret="x")


def test_204_with_no_body_is_success(wire_server):
    _wire_client(wire_server).set_active(U1, False)
    assert wire_server.patches == ["/scim/Users/%s" % U1]


def test_timeout_after_patch_sent_says_it_may_have_been_applied(wire_server):
    _Handler.delay = 1.5
    client = _wire_client(wire_server, timeout=0.5)
    with pytest.raises(TransportError) as info:
        client.set_active(U1, False)
    text = str(info.value)
    assert "may have been applied" in text and "suspend account" in text and "PATCH /scim/Users/" in text
    assert wire_server.patches == ["/scim/Users/%s" % U1]  # sent once, never repeated


def test_rejected_token_quoted_by_iam_is_redacted():
    """MITREid answers ``Invalid access token: <value>``: neither a given token nor our own appears in the error."""
    fake = FakeIam([make_user(U1, "alice")])
    given = "eyJgiven-token-value-123"
    fake.fail[("GET", "/scim/Users/.*")] = (401, {"error": "invalid_token", "error_description":
                                                  "Invalid access token: %s" % given}, None)
    with pytest.raises(AuthorizationError) as info:
        IamClient(fake, server_label="iam.test", bearer_token=given).get_user(U1)
    assert given not in str(info.value) and "<redacted>" in str(info.value)
    fake.fail[("GET", "/scim/Users/.*")] = (401, {"error": "invalid_token", "error_description":
                                                  "Invalid access token: admin-token-value"}, None)
    with pytest.raises(AuthorizationError) as info:
        client_for(fake).get_user(U1)  # renewed once, refused again
    assert "admin-token-value" not in str(info.value)


def test_token_reply_that_is_not_json_is_never_quoted():
    fake = FakeIam([make_user(U1, "alice")])
    body = b'{"access_token":"eyJhbGciOiJSUzI1NiJ9.leaked-token-value","token_type":"Bearer"'  # cut short
    fake.fail[("POST", "/token")] = (200, body, "application/json")
    with pytest.raises(RemoteError) as info:
        client_for(fake).find_by_username("alice")
    text = str(info.value) + repr(info.value.details)
    assert "leaked-token-value" not in text and "eyJhbGciOiJSUzI1NiJ9" not in text
    assert "not JSON" in text and "HTTP 200" in text and "%d bytes" % len(body) in text
    assert "application/json" in text and "POST /token" in text


@pytest.mark.parametrize("value", ["\u00b2", "\u0663\u0664", "1\u00b2", "-\u00b9", "\u0661.\u0662"])
def test_parse_expiration_other_scripts_digits_are_unreadable_not_a_traceback(value):
    assert parse_expiration(value) is None


@pytest.mark.parametrize("value", [10 ** 400, "9" * 400, 1e300, -1e300, float("nan"), 10 ** 20])
def test_huge_expiration_is_unknown_not_a_traceback(value):
    assert epoch_to_iso(parse_expiration(value)) is None


def test_revoke_with_odd_expirations_and_ids_fails_cleanly():
    fake = FakeIam([make_user(U1, "alice")])
    fake.add_token("access", "alice", 10 ** 400)
    result = client_for(fake).revoke_tokens("access", "alice")
    assert result["deleted"][0]["expiration"] is None and fake.token_count("alice") == 0


@pytest.mark.parametrize("reply", [["not a user"], [1], [None]])
def test_finder_items_that_are_not_users_are_remote_errors(reply):
    fake = FakeIam([make_user(U1, "alice")])
    fake.fail[("GET", "/iam/account/find/byusername")] = (200, {"totalResults": 1, "Resources": reply}, None)
    with pytest.raises(RemoteError) as info:
        client_for(fake).find_by_username("alice")
    assert "not a list of SCIM users" in str(info.value)


@pytest.mark.parametrize("user", ["x", {"id": "u", "name": "Alice"}, {"id": "u", "emails": "a@b"},
                                  {"id": "u", "urn:indigo-dc:scim:schemas:IndigoUser": []},
                                  {"id": "u", "urn:indigo-dc:scim:schemas:IndigoUser": {"certificates": "CN=x"}},
                                  {"id": "u", "groups": {"display": "g"}}])
def test_user_summary_of_odd_replies_is_a_remote_error(user):
    with pytest.raises(RemoteError) as info:
        user_summary(user)
    assert "reply is not a SCIM user" in str(info.value)


def test_labels_that_are_not_dicts_are_a_remote_error():
    fake = FakeIam([make_user(U1, "alice")])
    fake.fail[("GET", "/iam/account/%s/labels" % U1)] = (200, ["gridsec.suspended"], None)
    with pytest.raises(RemoteError) as info:
        client_for(fake).get_labels(U1)
    assert "not a list of labels" in str(info.value)


def _many_users(n):
    return FakeIam([make_user("%08d-0000-0000-0000-000000000000" % i, "user%d" % i) for i in range(n)])


def test_user_listing_that_shrinks_while_read_fails():
    fake = _many_users(150)

    def delete_one(method, path, params):  # an account deleted between the pages: a later one shifts into page 1
        if path == "/scim/Users" and params.get("startIndex") == 101 and len(fake.users) == 150:
            del fake.users[next(iter(fake.users))]
    fake.on_request = delete_one
    with pytest.raises(RemoteError) as info:
        client_for(fake).iter_users()
    assert "changed while it was read" in str(info.value) and "re-run" in str(info.value)


def test_user_listing_reordered_while_read_fails():
    fake = _many_users(150)

    def reorder(method, path, params):  # another order on the second page: some accounts seen twice, some never
        if path == "/scim/Users" and params.get("startIndex") == 101:
            fake.users = dict(reversed(list(fake.users.items())))
    fake.on_request = reorder
    with pytest.raises(RemoteError) as info:
        client_for(fake).iter_users()
    assert "changed while it was read" in str(info.value)


def test_stable_user_listing_reads_every_account_once():
    fake = _many_users(150)
    assert len(client_for(fake).iter_users()) == 150
