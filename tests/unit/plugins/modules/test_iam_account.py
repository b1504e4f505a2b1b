# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""iam_account and iam_account_info against FakeIam (IAM v1.12 reply shapes): selection, suspension, revocation,
check mode predicting the real run, idempotence, restore rules, failures before any write."""

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.gridsec.ops.plugins.module_utils._iam import module as _iam_module
from ansible_collections.gridsec.ops.plugins.modules import iam_account, iam_account_info
from ansible_collections.gridsec.ops.tests.unit.plugins.modules.argus_fake import warnings_of
from ansible_collections.gridsec.ops.tests.unit.plugins.modules.iam_fake import NOW_MS, FakeIam, make_user

U1 = "11111111-1111-1111-1111-111111111111"
U2 = "22222222-2222-2222-2222-222222222222"
DN_SLASH = "/DC=ch/DC=cern/OU=Users/CN=Alice Doe"
DN_2253 = "CN=Alice Doe,OU=Users,DC=cern,DC=ch"


def run(monkeypatch, capsys, main, args, fake, check_mode=False, diff=False):
    monkeypatch.setattr(_iam_module, "HttpTransport", lambda *a, **k: fake)
    full = {"iam_url": "https://iam.test", "client_id": "admin", "client_secret": fake.secret, "ca_path": "/nonexistent"}
    full.update(args)
    full["_ansible_check_mode"] = check_mode
    full["_ansible_diff"] = diff
    with patch_module_args(full):
        with pytest.raises(SystemExit):
            main()
    return json.loads(capsys.readouterr().out)


def lab(tokens=10):
    return FakeIam([make_user(U1, "alice", dns=[DN_2253]), make_user(U2, "bob")], tokens_per_user=tokens)


SUSPEND = {"username": "alice", "incident_id": "INC-1"}


def _strip(ops):
    return [dict(op, existed=None) for op in ops]


def test_check_mode_predicts_the_real_run_exactly(monkeypatch, capsys):
    fake = lab(tokens=25)
    predicted = run(monkeypatch, capsys, iam_account.main, SUSPEND, fake, check_mode=True, diff=True)
    assert fake.writes() == []
    assert predicted["changed"] is True
    real = run(monkeypatch, capsys, iam_account.main, SUSPEND, fake, diff=True)
    assert _strip(predicted["operations"]) == _strip(real["operations"])
    assert predicted["diff"] == real["diff"] and predicted["account"] == real["account"]
    assert predicted["revoked"] == real["revoked"] and predicted["live_tokens"] == real["live_tokens"]
    assert [op["op"] for op in real["operations"][:2]] == ["set_label", "suspend"]
    assert real["revoked"] == {"access": 13, "refresh": 12, "valid_offline_until": real["revoked"]["valid_offline_until"]}
    assert real["live_tokens"]["access"] == 0 and real["live_tokens"]["refresh"] == 0
    # the state the fake now holds: inactive, labelled, no token of alice, bob untouched
    assert fake.users[U1]["active"] is False
    assert fake.labels[U1] == [{"name": "gridsec.suspended", "value": "INC-1"}]
    assert fake.token_count("alice") == 0 and fake.token_count("bob") == 25 and fake.wiped == []


def test_second_run_changes_nothing(monkeypatch, capsys):
    fake = lab()
    run(monkeypatch, capsys, iam_account.main, SUSPEND, fake)
    before = len(fake.writes())
    again = run(monkeypatch, capsys, iam_account.main, SUSPEND, fake)
    assert again["changed"] is False and again["operations"] == [] and len(fake.writes()) == before
    assert again["suspended_by"] == "us"


def test_call_count_per_account(monkeypatch, capsys):
    fake = FakeIam([make_user(U1, "alice")], tokens_per_user=20)  # 10 access + 10 refresh
    result = run(monkeypatch, capsys, iam_account.main, SUSPEND, fake)
    paths = [(r["method"], r["path"]) for r in fake.requests]
    assert paths.count(("POST", "/token")) == 1
    assert paths.count(("GET", "/iam/account/find/byusername")) == 1
    assert paths.count(("PATCH", "/scim/Users/%s" % U1)) == 1
    assert paths.count(("PUT", "/iam/account/%s/labels" % U1)) == 1
    assert paths.count(("GET", "/iam/api/access-tokens")) == 2 and paths.count(("GET", "/iam/api/refresh-tokens")) == 1
    assert len([p for p in paths if p[0] == "DELETE"]) == 20
    counts = [r for r in fake.requests if r["method"] == "GET" and r["params"].get("count") == 0]
    # the access count read back after the deletions (a token exchanged meanwhile); the refresh listing read
    # after it is final
    assert [r["path"] for r in counts] == ["/iam/api/access-tokens"]
    # IAM's 204/200 replies prove the writes: no read-back of the user or its labels unless verify_writes
    assert paths.count(("GET", "/scim/Users/%s" % U1)) == 0 and paths.count(("GET", "/iam/account/%s/labels" % U1)) == 0
    assert len(paths) == 1 + 1 + 1 + 1 + 2 + 20 + 1  # token, finder, PUT, PATCH, pages, DELETEs, access count
    assert len(result["requests"]) == len(paths)
    assert fake.users[U1]["active"] is False and fake.token_count("alice") == 0
    assert result["account"]["active"] is False and result["live_tokens"]["access"] == 0


def test_verify_writes_reads_the_account_and_labels_back(monkeypatch, capsys):
    fake = FakeIam([make_user(U1, "alice")], tokens_per_user=2)
    result = run(monkeypatch, capsys, iam_account.main, dict(SUSPEND, verify_writes=True), fake)
    paths = [(r["method"], r["path"]) for r in fake.requests]
    assert paths.count(("GET", "/scim/Users/%s" % U1)) == 1 and paths.count(("GET", "/iam/account/%s/labels" % U1)) == 1
    assert result["changed"] is True and result["account"]["active"] is False


def test_token_exchanged_during_access_pass_is_revoked_by_the_refresh_pass(monkeypatch, capsys):
    fake = lab(tokens=4)
    issued = []

    def exchange(method, path, params):  # an exchange (with offline_access) answered while access tokens go
        if method == "DELETE" and path.startswith("/iam/api/access-tokens/") and not issued:
            issued.append(fake.add_token("refresh", "alice", NOW_MS + 7200000))
    fake.on_request = exchange
    result = run(monkeypatch, capsys, iam_account.main, SUSPEND, fake)
    assert result.get("failed") is not True, result
    assert fake.token_count("alice") == 0 and result["revoked"]["refresh"] == 3
    assert result["live_tokens"]["refresh"] == 0


def test_no_revocation_reports_the_live_window(monkeypatch, capsys):
    fake = lab(tokens=4)
    result = run(monkeypatch, capsys, iam_account.main, dict(SUSPEND, revoke_tokens=False), fake)
    assert result["live_tokens"]["access"] == 2 and result["live_tokens"]["refresh"] == 2
    assert result["live_tokens"]["latest_exp"] is not None
    assert fake.token_count("alice") == 4


@pytest.mark.parametrize("selector", [{"dn": DN_SLASH}, {"dn": DN_2253}, {"dn": "CN=alice doe, OU=Users, DC=cern, DC=ch"},
                                      {"uuid": U1}, {"issuer": "https://iam.test/", "subject": U1},
                                      {"issuer": "https://accounts.google.com", "subject": "105440632287425289613"}])
def test_selectors(monkeypatch, capsys, selector):
    fake = FakeIam([make_user(U1, "alice", dns=[DN_2253], oidc=[("https://accounts.google.com", "105440632287425289613")]),
                    make_user(U2, "bob")])
    result = run(monkeypatch, capsys, iam_account.main, dict(selector, incident_id="I"), fake, check_mode=True)
    assert result["account"]["uuid"] == U1, result


def test_ambiguous_dn_fails_before_any_write(monkeypatch, capsys):
    fake = FakeIam([make_user(U1, "alice", dns=[DN_2253]), make_user(U2, "bob", dns=[DN_2253])])
    result = run(monkeypatch, capsys, iam_account.main, {"dn": DN_SLASH, "incident_id": "I"}, fake)
    assert result["failed"] is True and "matches 2 accounts" in result["msg"] and fake.writes() == []


def test_no_match_fails_before_any_write(monkeypatch, capsys):
    fake = lab()
    result = run(monkeypatch, capsys, iam_account.main, {"dn": "/DC=x/CN=Nobody", "incident_id": "I"}, fake)
    assert result["failed"] is True and "no account matches" in result["msg"] and fake.writes() == []


@pytest.mark.parametrize("args,text", [
    ({"issuer": "http://iam.test", "subject": "x"}, "not an https"),
    ({"issuer": "https://iam.test", "subject": " "}, "subject must not be empty"),
    ({"username": "alice", "incident_id": "x" * 65}, "64 characters"),
    ({"username": "alice", "incident_id": "a\nb"}, "one line"),
    ({"username": "alice", "incident_id": "I", "label_name": "lifecycle.status"}, "used by IAM"),
])
def test_bad_input_fails_before_sending(monkeypatch, capsys, args, text):
    fake = lab()
    args = dict(args)
    args.setdefault("incident_id", "I")
    result = run(monkeypatch, capsys, iam_account.main, args, fake)
    assert result["failed"] is True and text in result["msg"] and fake.requests == []


def test_metacharacters_are_literal(monkeypatch, capsys):
    fake = FakeIam([make_user(U1, "alice", oidc=[("https://idp.example", "a.*b")])])
    result = run(monkeypatch, capsys, iam_account.main,
                 {"issuer": "https://idp.example", "subject": "a.+b", "incident_id": "I"}, fake)
    assert result["failed"] is True and "no account matches" in result["msg"]
    result = run(monkeypatch, capsys, iam_account.main,
                 {"issuer": "https://idp.example", "subject": "a.*b; rm -rf /", "incident_id": "I"}, fake)
    assert result["failed"] is True and fake.writes() == []


def test_restore_reverses_and_someone_elses_suspension_is_kept(monkeypatch, capsys):
    fake = lab()
    run(monkeypatch, capsys, iam_account.main, SUSPEND, fake)
    restored = run(monkeypatch, capsys, iam_account.main, {"username": "alice", "state": "active"}, fake, diff=True)
    assert restored["changed"] is True and fake.users[U1]["active"] is True and fake.labels[U1] == []
    assert [op["op"] for op in restored["operations"]] == ["restore", "delete_label"]
    again = run(monkeypatch, capsys, iam_account.main, {"username": "alice", "state": "active"}, fake)
    assert again["changed"] is False
    fake.users[U2]["active"] = False  # disabled by an administrator
    refused = run(monkeypatch, capsys, iam_account.main, {"username": "bob", "state": "active"}, fake)
    assert refused["failed"] is True and "someone else" in refused["msg"] and fake.users[U2]["active"] is False
    forced = run(monkeypatch, capsys, iam_account.main, {"username": "bob", "state": "active", "force": True}, fake)
    assert forced["changed"] is True and fake.users[U2]["active"] is True


def test_restore_of_another_incident_refused(monkeypatch, capsys):
    fake = lab()
    run(monkeypatch, capsys, iam_account.main, SUSPEND, fake)
    result = run(monkeypatch, capsys, iam_account.main, {"username": "alice", "state": "active", "incident_id": "INC-2"},
                 fake)
    assert result["failed"] is True and "INC-1" in result["msg"] and fake.users[U1]["active"] is False


def test_suspending_someone_elses_suspension_does_not_label(monkeypatch, capsys):
    fake = lab(tokens=2)
    fake.users[U1]["active"] = False
    result = run(monkeypatch, capsys, iam_account.main, SUSPEND, fake)
    assert result["suspended_by"] == "other" and fake.labels[U1] == []
    assert [op["op"] for op in result["operations"]] == ["delete_token", "delete_token"]
    assert any("someone else" in w for w in warnings_of(result))


@pytest.mark.parametrize("status", [401, 403, 404, 500])
def test_iam_errors_name_server_and_operation_and_what_was_done(monkeypatch, capsys, status):
    fake = lab()
    body = {401: {"error": "invalid_token", "error_description": "x"},
            403: {"error": "access_denied", "error_description": "Access is denied"},
            404: {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404", "detail": "No user"},
            500: {"error": "boom"}}[status]
    fake.fail[("PATCH", "/scim/Users/.*")] = (status, body, None)
    result = run(monkeypatch, capsys, iam_account.main, SUSPEND, fake)
    assert result["failed"] is True
    assert "IAM iam.test" in result["msg"] and "PATCH /scim/Users/%s" % U1 in result["msg"]
    assert result["changed"] is True and [op["op"] for op in result["operations"]] == ["set_label"]
    assert result["error"]["operation"] == "PATCH /scim/Users/%s" % U1
    assert fake.secret not in json.dumps(result) and "admin-token-value" not in json.dumps(result)


def test_failure_during_revocation_lists_the_deleted_tokens(monkeypatch, capsys):
    fake = lab(tokens=6)
    calls = {"n": 0}

    def hook(method, path, params):
        if method == "DELETE" and "access-tokens" in path:
            calls["n"] += 1
            if calls["n"] == 2:
                fake.fail[("DELETE", r"/iam/api/access-tokens/\d+")] = (500, {"error": "db down"}, None)
    fake.on_request = hook
    result = run(monkeypatch, capsys, iam_account.main, SUSPEND, fake)
    assert result["failed"] is True and "db down" in result["msg"]
    deleted = [op for op in result["operations"] if op["op"] == "delete_token"]
    assert len(deleted) == 1  # access tokens go first: the one deleted before IAM failed
    assert "after 3 write(s)" in result["msg"]


def test_info_by_label_with_counts(monkeypatch, capsys):
    fake = lab(tokens=4)
    run(monkeypatch, capsys, iam_account.main, dict(SUSPEND, revoke_tokens=False), fake)
    info = run(monkeypatch, capsys, iam_account_info.main, {"label_value": "INC-1"}, fake)
    assert [a["username"] for a in info["accounts"]] == ["alice"]
    account = info["accounts"][0]
    assert account["active"] is False and account["suspended_by_gridsec"] == "INC-1"
    assert account["tokens"] == {"access": 2, "refresh": 2}
    assert account["certificate_subjects"] == [DN_2253]


def test_info_needs_credentials(monkeypatch, capsys):
    fake = lab()
    result = run(monkeypatch, capsys, iam_account_info.main, {"username": "alice", "client_secret": None}, fake)
    assert result["failed"] is True and "client_secret" in result["msg"]


def test_token_issued_during_revocation_is_counted_and_revoked(monkeypatch, capsys):
    fake = lab(tokens=6)
    issued = []

    def exchange(method, path, params):  # a token exchange answered while the deletions run
        if method == "DELETE" and path.startswith("/iam/api/access-tokens/") and not issued:
            issued.append(fake.add_token("access", "alice", NOW_MS + 7200000))
    fake.on_request = exchange
    result = run(monkeypatch, capsys, iam_account.main, SUSPEND, fake)
    assert result.get("failed") is not True, result
    assert fake.token_count("alice") == 0  # read back from the fake
    assert result["live_tokens"]["access"] == 0 and result["revoked"]["access"] == 4
    counts = [r for r in fake.requests if r["method"] == "GET" and r["params"].get("count") == 0]
    assert len(counts) == 2  # the access count read, one more after the second pass deleted the new token


def test_tokens_that_keep_coming_back_fail_with_the_live_count(monkeypatch, capsys):
    fake = lab(tokens=4)

    def exchange(method, path, params):  # every count read finds a token issued just before
        if method == "GET" and path == "/iam/api/access-tokens" and params.get("count") == 0:
            fake.add_token("access", "alice", NOW_MS + 7200000)
    fake.on_request = exchange
    result = run(monkeypatch, capsys, iam_account.main, SUSPEND, fake)
    assert result["failed"] is True and result["changed"] is True
    assert result["live_tokens"]["access"] == fake.token_count("alice") == 1
    assert result["live_tokens"]["latest_exp"] is not None
    assert "still has 1 access" in result["msg"] and "iam.test" in result["msg"]
    assert any("still has 1 access" in w for w in warnings_of(result))
    assert fake.users[U1]["active"] is False  # what was applied is reported, not undone


def test_patch_204_that_changed_nothing_fails_after_reading_back(monkeypatch, capsys):
    fake = lab(tokens=2)
    fake.fail[("PATCH", "/scim/Users/%s" % U1)] = (204, b"", None)  # answers 204, changes nothing (not IAM)
    result = run(monkeypatch, capsys, iam_account.main, dict(SUSPEND, verify_writes=True), fake)
    assert fake.users[U1]["active"] is True
    assert result["failed"] is True and result["changed"] is True, result
    assert "active=True" in result["msg"] and "not suspended" in result["msg"]
    assert "iam.test" in result["msg"] and "PATCH /scim/Users/%s" % U1 in result["msg"]
    assert ("GET", "/scim/Users/%s" % U1) in [(r["method"], r["path"]) for r in fake.requests]


def test_label_write_that_did_nothing_fails_after_reading_back(monkeypatch, capsys):
    fake = lab(tokens=2)
    fake.fail[("PUT", "/iam/account/%s/labels" % U1)] = (200, b"", None)  # answers 200, stores nothing (not IAM)
    result = run(monkeypatch, capsys, iam_account.main, dict(SUSPEND, verify_writes=True), fake)
    assert fake.labels[U1] == []
    assert result["failed"] is True and "label gridsec.suspended=INC-1 is missing" in result["msg"], result
    assert "PUT /iam/account/%s/labels" % U1 in result["msg"]


def test_returned_account_is_read_back(monkeypatch, capsys):
    fake = lab(tokens=2)
    result = run(monkeypatch, capsys, iam_account.main, SUSPEND, fake, diff=True)
    assert result["account"]["active"] is False and fake.users[U1]["active"] is False
    assert result["account"]["labels"] == fake.labels[U1] == [{"name": "gridsec.suspended", "value": "INC-1"}]


def test_active_account_keeps_a_label_of_another_incident(monkeypatch, capsys):
    fake = lab()
    fake.labels[U1] = [{"name": "gridsec.suspended", "value": "INC-OTHER"}]
    result = run(monkeypatch, capsys, iam_account.main, {"username": "alice", "state": "active", "incident_id": "INC-1"},
                 fake)
    assert result["failed"] is True and "INC-OTHER" in result["msg"] and "force=true" in result["msg"], result
    assert fake.writes() == [] and fake.labels[U1] == [{"name": "gridsec.suspended", "value": "INC-OTHER"}]
    forced = run(monkeypatch, capsys, iam_account.main, {"username": "alice", "state": "active", "incident_id": "INC-1",
                                                         "force": True}, fake)
    assert forced["changed"] is True and fake.labels[U1] == [] and fake.users[U1]["active"] is True


def test_dn_scan_over_odd_users_fails_cleanly(monkeypatch, capsys):
    bad = make_user(U2, "bob")
    bad["urn:indigo-dc:scim:schemas:IndigoUser"]["certificates"] = "CN=Alice Doe"
    fake = FakeIam([make_user(U1, "alice"), bad])
    fake.fail[("GET", "/iam/account/find/bycertsubject")] = (200, {"Resources": []}, None)  # no exact match: scan
    result = run(monkeypatch, capsys, iam_account.main, {"dn": DN_SLASH, "incident_id": "I"}, fake)
    assert result["failed"] is True and "reply is not a SCIM user" in result["msg"], result
    assert "Traceback" not in json.dumps(result) and fake.writes() == []
