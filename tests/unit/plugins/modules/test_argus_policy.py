# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""argus_policy against a scripted client: what is sent, what is reported, what happens on failure."""

from ansible_collections.gridsec.ops.plugins.module_utils._argus_client import Pap
from ansible_collections.gridsec.ops.plugins.module_utils._errors import AuthorizationError, TransportError
from ansible_collections.gridsec.ops.plugins.modules import argus_policy
from ansible_collections.gridsec.ops.tests.unit.plugins.modules.argus_fake import (
    FakePapClient,
    make_tree,
    run_module,
    warnings_of,
)

DN = "/DC=org/DC=example/CN=Jane Doe"
LITERAL = "CN=Jane Doe,DC=example,DC=org"


def run(monkeypatch, capsys, args, client, **kw):
    return run_module(monkeypatch, capsys, argus_policy.main, args, client, **kw)


def test_check_mode_predicts_and_sends_no_write(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"subjects": [DN], "fqans": ["/dteam/Role=x"]}, client, check_mode=True)
    assert result["changed"] is True
    assert client.writes == []
    assert [(o["operation"], o["args"]["value"]) for o in result["operations"]] == \
        [("ban", LITERAL), ("ban", "/dteam/Role=x")]
    assert [b["normalized"] for b in result["banned_subjects"]] == [DN]
    assert "diff" not in result


def test_real_run_sends_planned_bans_in_order(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"subjects": [DN], "fqans": ["/dteam/Role=x"]}, client)
    assert [c[0:4] for c in client.writes] == [("ban", "default", "subject", LITERAL),
                                               ("ban", "default", "fqan", "/dteam/Role=x")]
    assert result["changed"] is True
    assert len(result["operations"]) == 2
    # the fake does not really store the bans: the module notices the read-back differs from the prediction
    assert any("differs from the prediction" in w for w in warnings_of(result))


def test_already_banned_in_other_dn_form_is_no_change(monkeypatch, capsys):
    tree = make_tree("default", ("ps", ".*", [("public_1", ".*", [("deny", [("subject", "CN=Jane Doe, DC=example, DC=org")])])]))
    client = FakePapClient(trees={"default": tree})
    result = run(monkeypatch, capsys, {"subjects": [DN]}, client, diff=True)
    assert result["changed"] is False
    assert result["operations"] == [] and client.writes == []
    assert result["diff"]["before"] == result["diff"]["after"]


def test_invalid_dn_fails_before_contacting_the_pap(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"subjects": [DN, "garbage"]}, client)
    assert result["failed"] is True
    assert "garbage" in result["msg"]
    assert client.calls == []


def test_remote_alias_is_refused_before_any_write(monkeypatch, capsys):
    paps = [Pap("default", local=True), Pap("central", hostname="central.example.org", local=False)]
    client = FakePapClient(paps=paps)
    result = run(monkeypatch, capsys, {"subjects": [DN], "alias": "central"}, client)
    assert result["failed"] is True
    assert "remote" in result["msg"] and "central.example.org" in result["msg"]
    assert client.writes == []


def test_unknown_alias_lists_known_ones(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"subjects": [DN], "alias": "nope"}, client)
    assert result["failed"] is True
    assert "'nope'" in result["msg"] and "default" in result["msg"]
    assert client.writes == []


def test_failure_midway_reports_what_succeeded(monkeypatch, capsys):
    denied = AuthorizationError("not authorized", server="PAP localhost:8150", operation="ban")
    client = FakePapClient(fail_on={"ban": lambda n: denied if n == 2 else None})
    result = run(monkeypatch, capsys, {"subjects": [DN, "/DC=org/CN=Second"]}, client)
    assert result["failed"] is True
    assert "PAP localhost:8150" in result["msg"] and "ban" in result["msg"]
    assert [o["args"]["value"] for o in result["operations"]] == [LITERAL]  # only the first ban went through
    assert result["error"]["kind"] == "authorization"
    assert result["changed"] is True


def test_version_lock_failure_is_a_clear_error(monkeypatch, capsys):
    tree = make_tree("default", ("ps", ".*", [("public_1", ".*", [
        ("deny", [("subject", LITERAL), ("vo", "dteam")]),
        ("deny", [("subject", LITERAL)]),
    ])]))
    client = FakePapClient(trees={"default": tree}, results={"update_policy": False})
    result = run(monkeypatch, capsys, {"subjects": [DN], "state": "absent"}, client)
    assert result["failed"] is True
    assert "version 3" in result["msg"] and "run again" in result["msg"]
    assert result["operations"] == []
    # the policy sent keeps the compound rule and carries the next version
    (_name, alias, version, policy), = client.writes
    assert (alias, version, policy.version) == ("default", "3", "4")
    assert [len(r.attributes) for r in policy.rules] == [2]


def test_unreadable_pap_list_accepts_default_alias_with_warning(monkeypatch, capsys):
    client = FakePapClient(fail_on={"get_all_paps": AuthorizationError("denied", server="PAP x", operation="getAllPaps")})
    result = run(monkeypatch, capsys, {"subjects": [DN]}, client, check_mode=True)
    assert result["changed"] is True
    assert any("CONFIGURATION_READ" in w for w in warnings_of(result))


def test_connection_error_names_the_pap(monkeypatch, capsys):
    client = FakePapClient(fail_on={"get_all_paps": TransportError("connection refused", server="PAP localhost:8150",
                                                                   operation="getAllPaps")})
    result = run(monkeypatch, capsys, {"subjects": [DN]}, client)
    assert result["failed"] is True
    assert "PAP localhost:8150" in result["msg"] and "connection refused" in result["msg"]
    assert result["operations"] == []


def test_diff_shows_spl(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"fqans": ["/dteam"]}, client, check_mode=True, diff=True)
    assert result["diff"]["before"] == ""
    assert result["diff"]["after"] == 'resource ".*" {\n    action ".*" {\n        rule deny { fqan = "/dteam" }\n    }\n}\n'


def test_exclusive_with_absent_is_refused(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"subjects": [DN], "state": "absent", "exclusive": True}, client)
    assert result["failed"] is True and "exclusive" in result["msg"]
    assert client.calls == []


def test_exclusive_with_nothing_is_refused(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"exclusive": True}, client)
    assert result["failed"] is True and "remove every local rule" in result["msg"]
    assert client.calls == []
