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


def test_dn_string_instead_of_a_list_is_refused_before_contacting_the_pap(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"subjects": "CN=John Doe,OU=Users,DC=example,DC=org"}, client)
    assert result["failed"] is True
    assert "must be a list" in result["msg"] and "subjects: ['CN=John Doe,OU=Users,DC=example,DC=org']" in result["msg"]
    assert client.calls == [] and result["operations"] == []


def test_single_rdn_subject_is_refused_unless_allowed(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"subjects": ["CN=John Doe"]}, client)
    assert result["failed"] is True and "allow_single_rdn" in result["msg"] and client.calls == []
    result = run(monkeypatch, capsys, {"subjects": ["CN=John Doe"], "allow_single_rdn": True}, FakePapClient(),
                 check_mode=True)
    assert result["changed"] is True


def test_empty_ban_list_fails_unless_allowed(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"subjects": [], "fqans": []}, client)
    assert result["failed"] is True and "allow_empty" in result["msg"] and client.calls == []
    result = run(monkeypatch, capsys, {"subjects": [], "allow_empty": True}, FakePapClient())
    assert result.get("failed") is not True and result["changed"] is False
    # an empty list is harmless with state=absent
    result = run(monkeypatch, capsys, {"subjects": [], "state": "absent"}, FakePapClient())
    assert result.get("failed") is not True and result["changed"] is False


def test_proxy_dn_is_banned_as_end_entity_with_a_warning(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"subjects": [DN + "/CN=1234567890"]}, client)
    assert [c[0:4] for c in client.writes] == [("ban", "default", "subject", LITERAL)]
    assert any("CN=1234567890" in w and "end-entity" in w for w in warnings_of(result))


def test_unknown_rule_attribute_is_refused(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"rules": [{"attributes": {"subjet": DN}}]}, client)
    assert result["failed"] is True and "'subjet'" in result["msg"] and "Allowed:" in result["msg"]
    assert client.calls == []


def _tree_with_policy():
    return make_tree("default", ("ps", ".*", [("public_1", ".*", [("deny", [("subject", "CN=Old,DC=org")])])]))


def test_bulk_ban_is_one_update_and_retried_after_a_version_conflict(monkeypatch, capsys):
    from ansible_collections.gridsec.ops.plugins.module_utils._errors import WriteRefusedError
    subjects = ["/DC=org/DC=example/CN=User %02d" % i for i in range(12)]
    refusals = iter([WriteRefusedError("the PAP answered false to updatePolicy", operation="updatePolicy"), None])
    client = FakePapClient(trees={"default": _tree_with_policy()},
                           fail_on={"update_policy": lambda n: next(refusals)}, results={"update_policy": True})
    result = run(monkeypatch, capsys, {"subjects": subjects}, client)
    assert result.get("failed") is not True, result
    assert [c[0] for c in client.writes] == ["update_policy", "update_policy"]
    _name, alias, version, sent = client.writes[-1]
    assert (alias, version, sent.version, sent.policy_id) == ("default", "3", "4", "public_1")
    assert [r.attributes[0].value for r in sent.rules][-1] == "CN=Old,DC=org"   # new rules first, old one kept
    assert sent.rules[0].attributes[0].value == "CN=User 11,DC=example,DC=org"
    assert [c[0] for c in client.calls].count("get_tree") == 3  # before, after the refusal, after the write
    assert [o["operation"] for o in result["operations"]] == ["updatePolicy"]
    assert len(result["operations"][0]["args"]["added"]) == 12
    assert any("retried" in w for w in warnings_of(result))


def test_bulk_ban_gives_up_after_bounded_retries(monkeypatch, capsys):
    from ansible_collections.gridsec.ops.plugins.module_utils._errors import WriteRefusedError
    subjects = ["/DC=org/DC=example/CN=User %02d" % i for i in range(12)]
    client = FakePapClient(trees={"default": _tree_with_policy()},
                           fail_on={"update_policy": WriteRefusedError("refused", operation="updatePolicy")})
    result = run(monkeypatch, capsys, {"subjects": subjects}, client)
    assert result["failed"] is True and "updatePolicy" in result["msg"]
    assert [c[0] for c in client.writes] == ["update_policy"] * 4
    assert result["operations"] == []


def test_bulk_threshold_zero_keeps_one_ban_per_value(monkeypatch, capsys):
    subjects = ["/DC=org/DC=example/CN=User %02d" % i for i in range(12)]
    client = FakePapClient(trees={"default": _tree_with_policy()})
    run(monkeypatch, capsys, {"subjects": subjects, "bulk_threshold": 0}, client)
    assert [c[0] for c in client.writes] == ["ban"] * 12
