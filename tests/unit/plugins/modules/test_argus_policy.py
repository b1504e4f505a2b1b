# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""argus_policy against a scripted client: what is sent, what is reported, what happens on failure."""

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import Pap
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import Attribute, Policy, Rule
from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    NotFoundError,
    TransportError,
)
from ansible_collections.gridsec.ops.plugins.modules import argus_policy
from ansible_collections.gridsec.ops.tests.unit.plugins.modules.argus_fake import (
    FakePapClient,
    make_tree,
    run_module,
    warnings_of,
)

DN = "/DC=org/DC=example/CN=Jane Doe"
LITERAL = "CN=Jane Doe,DC=example,DC=org"


class PolicyFake(FakePapClient):
    """``FakePapClient`` with the one-policy read argus_policy makes after a ban (``get_policy``:
    ``results["get_policy"]``, else looked up in the tree)."""

    def get_policy(self, alias, policy_id):
        found = self._record("get_policy", alias, policy_id)
        if found is None:
            tree = self.trees.get(alias)
            found = tree.policies.get(policy_id) if tree is not None and not isinstance(tree, list) else None
        if found is None:
            raise NotFoundError("Policy '%s' not found." % policy_id, server="PAP localhost:8150",
                                operation="getPolicy")
        return found


def run(monkeypatch, capsys, args, client, **kw):
    return run_module(monkeypatch, capsys, argus_policy.main, args, client, **kw)


def test_check_mode_predicts_and_sends_no_write(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"subjects": [DN], "fqans": ["/dteam/Role=x"]}, client, check_mode=True)
    assert result["changed"] is True
    assert client.writes == []
    assert [(o["operation"], o["args"]["value"]) for o in result["operations"]] == \
        [("ban", LITERAL), ("ban", "/dteam/Role=x")]
    assert [b["normalized"] for b in result["banned_subjects"]] == [DN]
    assert "diff" not in result


def test_real_run_sends_planned_bans_in_order(monkeypatch, capsys):
    client = PolicyFake(results={"ban": "public_new"})
    result = run(monkeypatch, capsys, {"subjects": [DN], "fqans": ["/dteam/Role=x"]}, client)
    assert [c[0:4] for c in client.writes] == [("ban", "default", "subject", LITERAL),
                                               ("ban", "default", "fqan", "/dteam/Role=x")]
    assert result["changed"] is True
    assert len(result["operations"]) == 2
    # the fake does not really store the bans (getPolicy finds nothing): the module re-reads the whole tree and
    # notices that it differs from the prediction
    assert [c[0] for c in client.calls if c[0] not in ("ban",)] == ["get_tree", "get_all_paps", "get_policy",
                                                                    "get_tree"]
    assert any("differs from the prediction" in w for w in warnings_of(result))


def test_already_banned_in_other_dn_form_is_no_change(monkeypatch, capsys):
    tree = make_tree("default", ("ps", ".*", [("public_1", ".*", [("deny", [("subject", "CN=Jane Doe, DC=example, DC=org")])])]))
    client = PolicyFake(trees={"default": tree})
    result = run(monkeypatch, capsys, {"subjects": [DN]}, client, diff=True)
    assert result["changed"] is False
    assert result["operations"] == [] and client.writes == []
    assert result["diff"]["before"] == result["diff"]["after"]


def test_invalid_dn_fails_before_contacting_the_pap(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"subjects": [DN, "garbage"]}, client)
    assert result["failed"] is True
    assert "garbage" in result["msg"]
    assert client.calls == []


def test_remote_alias_is_refused_before_any_write(monkeypatch, capsys):
    paps = [Pap("default", local=True), Pap("central", hostname="central.example.org", local=False)]
    client = PolicyFake(paps=paps)
    result = run(monkeypatch, capsys, {"subjects": [DN], "alias": "central"}, client)
    assert result["failed"] is True
    assert "remote" in result["msg"] and "central.example.org" in result["msg"]
    assert client.writes == []


def test_unknown_alias_lists_known_ones(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"subjects": [DN], "alias": "nope"}, client)
    assert result["failed"] is True
    assert "'nope'" in result["msg"] and "default" in result["msg"]
    assert client.writes == []


def test_failure_midway_reports_what_succeeded(monkeypatch, capsys):
    denied = AuthorizationError("not authorized", server="PAP localhost:8150", operation="ban")
    client = PolicyFake(fail_on={"ban": lambda n: denied if n == 2 else None}, results={"ban": "public_new"})
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
    client = PolicyFake(trees={"default": tree}, results={"update_policy": False})
    result = run(monkeypatch, capsys, {"subjects": [DN], "state": "absent"}, client)
    assert result["failed"] is True
    assert "version 3" in result["msg"] and "run again" in result["msg"]
    assert result["operations"] == []
    # the policy sent keeps the compound rule and carries the next version
    (_name, alias, version, policy), = client.writes
    assert (alias, version, policy.version) == ("default", "3", "4")
    assert [len(r.attributes) for r in policy.rules] == [2]


def test_unreadable_pap_list_accepts_default_alias_with_warning(monkeypatch, capsys):
    client = PolicyFake(fail_on={"get_all_paps": AuthorizationError("denied", server="PAP x", operation="getAllPaps")})
    result = run(monkeypatch, capsys, {"subjects": [DN]}, client, check_mode=True)
    assert result["changed"] is True
    assert any("CONFIGURATION_READ" in w for w in warnings_of(result))


def test_connection_error_names_the_pap(monkeypatch, capsys):
    client = PolicyFake(fail_on={"get_all_paps": TransportError("connection refused", server="PAP localhost:8150",
                                                                operation="getAllPaps")})
    result = run(monkeypatch, capsys, {"subjects": [DN]}, client)
    assert result["failed"] is True
    assert "PAP localhost:8150" in result["msg"] and "connection refused" in result["msg"]
    assert result["operations"] == []


def test_diff_shows_spl(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"fqans": ["/dteam"]}, client, check_mode=True, diff=True)
    assert result["diff"]["before"] == ""
    assert result["diff"]["after"] == 'resource ".*" {\n    action ".*" {\n        rule deny { fqan = "/dteam" }\n    }\n}\n'


def test_exclusive_with_absent_is_refused(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"subjects": [DN], "state": "absent", "exclusive": True}, client)
    assert result["failed"] is True and "exclusive" in result["msg"]
    assert client.calls == []


def test_exclusive_with_nothing_is_refused(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"exclusive": True}, client)
    assert result["failed"] is True and "remove every local rule" in result["msg"]
    assert client.calls == []


def test_dn_string_instead_of_a_list_is_refused_before_contacting_the_pap(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"subjects": "CN=John Doe,OU=Users,DC=example,DC=org"}, client)
    assert result["failed"] is True
    assert "must be a list" in result["msg"] and "subjects: ['CN=John Doe,OU=Users,DC=example,DC=org']" in result["msg"]
    assert client.calls == [] and result["operations"] == []


def test_single_rdn_subject_is_refused_unless_allowed(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"subjects": ["CN=John Doe"]}, client)
    assert result["failed"] is True and "allow_single_rdn" in result["msg"] and client.calls == []
    result = run(monkeypatch, capsys, {"subjects": ["CN=John Doe"], "allow_single_rdn": True}, PolicyFake(),
                 check_mode=True)
    assert result["changed"] is True


def test_empty_ban_list_fails_unless_allowed(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"subjects": [], "fqans": []}, client)
    assert result["failed"] is True and "allow_empty" in result["msg"] and client.calls == []
    result = run(monkeypatch, capsys, {"subjects": [], "allow_empty": True}, PolicyFake())
    assert result.get("failed") is not True and result["changed"] is False
    # an empty list is harmless with state=absent
    result = run(monkeypatch, capsys, {"subjects": [], "state": "absent"}, PolicyFake())
    assert result.get("failed") is not True and result["changed"] is False


def test_proxy_dn_is_banned_as_end_entity_with_a_warning(monkeypatch, capsys):
    client = PolicyFake(results={"ban": "public_new"})
    result = run(monkeypatch, capsys, {"subjects": [DN + "/CN=1234567890"], "strip_proxy_rdns": "all"}, client)
    assert [c[0:4] for c in client.writes] == [("ban", "default", "subject", LITERAL)]
    assert any("CN=1234567890" in w and "end-entity" in w for w in warnings_of(result))
    assert result["stripped_rdns"] == [{"input": DN + "/CN=1234567890", "subject": DN, "stripped": ["CN=1234567890"]}]


@pytest.mark.parametrize("option,literal,stripped", [
    ({}, "CN=777," + LITERAL, []),                                     # default legacy: a person's DN, as given
    ({"strip_proxy_rdns": "none"}, "CN=777," + LITERAL, []),
    ({"strip_proxy_rdns": False}, "CN=777," + LITERAL, []),            # old boolean: false is none
    ({"strip_proxy_rdns": "all"}, LITERAL, ["CN=777"]),
    ({"strip_proxy_rdns": True}, LITERAL, ["CN=777"]),                 # old boolean: true is all
])
def test_strip_proxy_rdns_modes_for_a_dn_ending_in_a_number(monkeypatch, capsys, option, literal, stripped):
    client = PolicyFake(results={"ban": "public_new"})
    result = run(monkeypatch, capsys, dict({"subjects": [DN + "/CN=777"]}, **option), client)
    assert [c[0:4] for c in client.writes] == [("ban", "default", "subject", literal)]
    assert [s["stripped"] for s in result["stripped_rdns"]] == ([stripped] if stripped else [])
    # (warnings of earlier tests may linger in ansible's process-wide list: look for this DN's only)
    assert bool([w for w in warnings_of(result) if "/CN=777' ends with proxy component" in w]) == bool(stripped)


def test_strip_proxy_rdns_refuses_an_unknown_mode(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"subjects": [DN], "strip_proxy_rdns": "numeric"}, client)
    assert result["failed"] is True and "strip_proxy_rdns" in result["msg"] and "legacy" in result["msg"]
    assert client.calls == []


def test_a_misspelt_attribute_type_is_refused_before_anything_is_written(monkeypatch, capsys):
    for state in ("present", "absent"):
        client = PolicyFake()
        result = run(monkeypatch, capsys, {"subjects": ["/DC=org/DC=example/CM=John Doe"], "state": state}, client)
        assert result["failed"] is True and client.writes == [], state
        # a ban is refused before the PAP is read; an unban once it is known that no such rule is stored
        assert (client.calls == []) == (state == "present"), state
        assert "unknown attribute type 'CM'" in result["msg"] and "did you mean CN" in result["msg"]


def test_unknown_rule_attribute_is_refused(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"rules": [{"attributes": {"subjet": DN}}]}, client)
    assert result["failed"] is True and "'subjet'" in result["msg"] and "Allowed:" in result["msg"]
    assert client.calls == []


def _tree_with_policy():
    return make_tree("default", ("ps", ".*", [("public_1", ".*", [("deny", [("subject", "CN=Old,DC=org")])])]))


def test_bulk_ban_is_one_update_and_retried_after_a_version_conflict(monkeypatch, capsys):
    from ansible_collections.gridsec.ops.plugins.module_utils._errors import WriteRefusedError
    subjects = ["/DC=org/DC=example/CN=User %02d" % i for i in range(12)]
    refusals = iter([WriteRefusedError("the PAP answered false to updatePolicy", operation="updatePolicy"), None])
    client = PolicyFake(trees={"default": _tree_with_policy()},
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
    client = PolicyFake(trees={"default": _tree_with_policy()},
                        fail_on={"update_policy": WriteRefusedError("refused", operation="updatePolicy")})
    result = run(monkeypatch, capsys, {"subjects": subjects}, client)
    assert result["failed"] is True and "updatePolicy" in result["msg"]
    assert [c[0] for c in client.writes] == ["update_policy"] * 4
    assert result["operations"] == []


def test_bulk_threshold_zero_keeps_one_ban_per_value(monkeypatch, capsys):
    subjects = ["/DC=org/DC=example/CN=User %02d" % i for i in range(12)]
    client = PolicyFake(trees={"default": _tree_with_policy()}, results={"ban": "public_1"})
    run(monkeypatch, capsys, {"subjects": subjects, "bulk_threshold": 0}, client)
    assert [c[0] for c in client.writes] == ["ban"] * 12


def _fresh_warnings(monkeypatch):
    """Ansible keeps the warnings of a process in a global: start from none, to see this run's own."""
    from ansible.module_utils.common import warnings
    monkeypatch.setattr(warnings, "_global_warnings", {})


def _policy(policy_id, version, *values):
    return Policy(policy_id, version, ".*", [Rule("rule-%d" % n, "deny", [Attribute("subject", v)])
                                             for n, v in enumerate(values)])


def test_ban_run_confirms_by_the_reply_and_one_policy_read_and_the_rerun_only_reads(monkeypatch, capsys):
    # first run on an empty alias: the tree, the alias check (a write is planned), the ban, the written policy
    _fresh_warnings(monkeypatch)
    client = PolicyFake(results={"ban": "public_new", "get_policy": _policy("public_new", "1", LITERAL)})
    result = run(monkeypatch, capsys, {"subjects": [DN]}, client, diff=True)
    assert [c[0] for c in client.calls] == ["get_tree", "get_all_paps", "ban", "get_policy"]
    assert client.calls[-1] == ("get_policy", "default", "public_new")
    assert result["changed"] is True and warnings_of(result) == []
    assert [o["operation"] for o in result["operations"]] == ["ban"]
    # banned_subjects carries the ids the PAP gave (read back), not placeholders
    assert [(b["policy_id"], b["rule_id"], b["value"]) for b in result["banned_subjects"]] == \
        [("public_new", "rule-0", LITERAL)]
    assert result["diff"]["after"] == 'resource ".*" {\n    action ".*" {\n        rule deny { subject = "%s" }\n' \
        '    }\n}\n' % LITERAL
    # the re-run: one read of the tree, nothing else (no alias check, no write, no read-back)
    banned = make_tree("default", ("ps", ".*", [("public_new", ".*", [("deny", [("subject", LITERAL)])])]))
    client = PolicyFake(trees={"default": banned})
    result = run(monkeypatch, capsys, {"subjects": [DN]}, client)
    assert [c[0] for c in client.calls] == ["get_tree"]
    assert result["changed"] is False and result["operations"] == []
    assert [b["value"] for b in result["banned_subjects"]] == [LITERAL]


def test_ban_answered_null_is_a_failed_write(monkeypatch, capsys):
    # the PAP answers null when it finds the value already denied in its policy, which the read had not shown:
    # nothing was written, so the run must fail and not report the ban as done
    client = PolicyFake(results={"ban": None})
    result = run(monkeypatch, capsys, {"subjects": [DN]}, client)
    assert result["failed"] is True
    assert "null" in result["msg"] and "nothing was written" in result["msg"] and "localhost:8150" in result["msg"]
    assert result["operations"] == [] and result["changed"] is False
    assert [c[0] for c in client.calls] == ["get_tree", "get_all_paps", "ban"]


def test_someone_elses_rule_in_the_written_policy_triggers_a_full_reread(monkeypatch, capsys):
    other = "CN=Other,DC=example,DC=org"
    raced = make_tree("default", ("ps", ".*", [("public_1", ".*", [("deny", [("subject", LITERAL)]),
                                                                   ("deny", [("subject", other)]),
                                                                   ("deny", [("subject", "CN=Old,DC=org")])])]))
    client = PolicyFake(trees={"default": [_tree_with_policy(), raced]},
                        results={"ban": "public_1",
                                 "get_policy": _policy("public_1", "5", LITERAL, other, "CN=Old,DC=org")})
    _fresh_warnings(monkeypatch)
    result = run(monkeypatch, capsys, {"subjects": [DN]}, client)
    assert [c[0] for c in client.calls] == ["get_tree", "get_all_paps", "ban", "get_policy", "get_tree"]
    assert any("differs from the prediction" in w for w in warnings_of(result))
    assert [b["value"] for b in result["banned_subjects"]] == [LITERAL, other, "CN=Old,DC=org"]
    assert result["changed"] is True


def test_ban_reply_naming_another_policy_triggers_a_full_reread(monkeypatch, capsys):
    client = PolicyFake(trees={"default": _tree_with_policy()}, results={"ban": "public_someone_elses"})
    result = run(monkeypatch, capsys, {"subjects": [DN]}, client)
    assert [c[0] for c in client.calls] == ["get_tree", "get_all_paps", "ban", "get_tree"]
    assert result["changed"] is True


def test_a_rule_stored_from_a_misspelt_dn_can_still_be_removed(monkeypatch, capsys):
    """The unban of a misspelt DN fails unless the PAP holds exactly that rule (junk stored by an older version or
    another tool, which must stay removable): then it is removed, with a warning."""
    typo = "/DC=org/DC=example/CM=John Doe"
    junk = "CM=John Doe,DC=example,DC=org"
    tree = make_tree("default", ("ps", ".*", [("public_1", ".*", [("deny", [("subject", junk)]),
                                                                  ("deny", [("subject", LITERAL)])])]))
    client = PolicyFake(trees={"default": tree})
    result = run(monkeypatch, capsys, {"subjects": [typo], "state": "absent"}, client, check_mode=True)
    assert result.get("failed") is not True and result["changed"] is True, result
    assert [(o["operation"], o["args"]["value"]) for o in result["operations"]] == [("unban", junk)]
    assert any("unknown attribute type 'CM'" in w and "removed as asked" in w for w in warnings_of(result))
    # another misspelling names no stored rule: refused, nothing written
    client = PolicyFake(trees={"default": tree})
    result = run(monkeypatch, capsys, {"subjects": ["/DC=org/DC=example/CX=John Doe"], "state": "absent"}, client)
    assert result["failed"] is True and client.writes == []
    assert "unknown attribute type 'CX'" in result["msg"] and "nothing was written" in result["msg"]
    # a ban of the misspelt DN is refused even though the PAP holds it
    client = PolicyFake(trees={"default": tree})
    result = run(monkeypatch, capsys, {"subjects": [typo]}, client)
    assert result["failed"] is True and client.calls == [] and "unknown attribute type 'CM'" in result["msg"]


# -- subjects/fqans are type raw, checked by _module_base.string_list (no private ansible-core API) ---------------

def test_slash_dn_string_is_refused_with_the_list_to_write(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"subjects": DN}, client)
    assert result["failed"] is True
    assert "subjects must be a list" in result["msg"] and "subjects: [%r]" % DN in result["msg"]
    assert "ambiguous" not in result["msg"]  # no comma: only the list form is asked for
    assert client.calls == [] and result["operations"] == [] and result["requests"] == []


def test_comma_dn_string_is_refused_explaining_the_split(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"fqans": "/dteam/Role=pilot,/atlas"}, client)
    assert result["failed"] is True and "fqans must be a list" in result["msg"]
    assert "ambiguous" in result["msg"] and "split it at its commas" in result["msg"]
    assert client.calls == []


def test_a_list_of_one_comma_form_dn_is_one_dn(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"subjects": [LITERAL]}, client, check_mode=True)
    assert result.get("failed") is not True and result["changed"] is True
    assert [op["args"]["value"] for op in result["operations"]] == [LITERAL]


def test_non_string_item_is_refused_naming_its_position(monkeypatch, capsys):
    client = PolicyFake()
    result = run(monkeypatch, capsys, {"subjects": [DN, 42]}, client)
    assert result["failed"] is True and "subjects[1] must be a string, got int 42" in result["msg"]
    result = run(monkeypatch, capsys, {"fqans": {"vo": "dteam"}}, PolicyFake())
    assert result["failed"] is True and "fqans must be a list of strings, got dict" in result["msg"]
    assert client.calls == []


def test_empty_list_and_left_out_are_the_same(monkeypatch, capsys):
    for args in ({"subjects": [], "fqans": [], "allow_empty": True}, {"allow_empty": True}):
        result = run(monkeypatch, capsys, args, PolicyFake())
        assert result.get("failed") is not True and result["changed"] is False
    result = run(monkeypatch, capsys, {"subjects": []}, PolicyFake())
    assert result["failed"] is True and "nothing to ban: subjects empty" in result["msg"]
