# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Planning logic of argus_policy, on hand-built policy trees (no server)."""

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils import _argus_policy_plan as P

DN_SLASH = "/DC=org/DC=example/CN=Jane Doe"
DN_STORED = "CN=Jane Doe,DC=example,DC=org"          # what the PAP stores for DN_SLASH
DN_SPACES = "CN=Jane Doe, DC=example, DC=org"        # RFC 2253 with spaces, stored verbatim by other tools


_COUNTER = [0]


def rule(effect="deny", **attrs):
    _COUNTER[0] += 1
    pairs = []
    for key, value in attrs.items():
        for v in value if isinstance(value, list) else [value]:
            pairs.append((key, v))
    return P.VRule(effect, pairs, rule_id="r-%d" % _COUNTER[0])


def policy(pid, rules, action=".*", public=True, version="1"):
    return P.VPolicy(pid, version, action, public, rules)


def pset(psid, policies, resource=".*"):
    return P.VPolicySet(psid, "1", resource, policies)


def tree(*sets):
    return P.VTree("default", list(sets), root_id="default-root", root_version="0")


def ops_of(plan):
    return [(op.operation, op.args.get("value") or op.args.get("id")) for op in plan.ops]


def ban_plan(view, subjects=(), fqans=(), **kw):
    return P.plan(view, P.make_targets(list(subjects), list(fqans)), state="present", **kw)


def unban_plan(view, subjects=(), fqans=(), **kw):
    return P.plan(view, P.make_targets(list(subjects), list(fqans)), state="absent", **kw)


def subjects_after(plan):
    return [b["value"] for b in P.banned_values(plan.after, "subject")]


# ---- ban -------------------------------------------------------------------------------------------

def test_ban_into_empty_tree_uses_high_level_ban_with_pap_literal():
    plan = ban_plan(tree(), subjects=[DN_SLASH])
    assert [op.operation for op in plan.ops] == ["ban"]
    assert plan.ops[0].args["value"] == DN_STORED
    assert plan.ops[0].args["public"] is True
    assert plan.changed
    assert subjects_after(plan) == [DN_STORED]
    assert 'rule deny { subject = "CN=Jane Doe,DC=example,DC=org" }' in P.to_spl(plan.after)
    assert P.to_spl(plan.before) == ""


def test_ban_already_present_in_first_policy_is_no_change():
    view = tree(pset("ps1", [policy("public_1", [rule(subject=DN_STORED)])]))
    plan = ban_plan(view, subjects=[DN_SLASH])
    assert plan.ops == []
    assert not plan.changed


def test_ban_present_only_in_second_policy_is_no_change_and_no_duplicate():
    view = tree(
        pset("ps1", [policy("public_1", [rule(fqan="/dteam")], action="submit")]),
        pset("ps2", [policy("public_2", [rule(subject=DN_STORED)])]),
    )
    plan = ban_plan(view, subjects=[DN_SLASH])
    assert plan.ops == []
    assert subjects_after(plan) == [DN_STORED]


def test_ban_present_as_rfc2253_with_spaces_matches_slash_input():
    view = tree(pset("ps1", [policy("public_1", [rule(subject=DN_SPACES)])]))
    assert ban_plan(view, subjects=[DN_SLASH]).ops == []
    # and the other way round: a slash-form input matching a no-space literal
    view = tree(pset("ps1", [policy("public_1", [rule(subject=DN_STORED)])]))
    assert ban_plan(view, subjects=[DN_SPACES]).ops == []


def test_ban_private_existing_public_requested_adds_public_ban_with_warning():
    view = tree(pset("ps1", [policy("private_1", [rule(subject=DN_STORED)], public=False)]))
    plan = ban_plan(view, subjects=[DN_SLASH], public=True)
    assert [op.operation for op in plan.ops] == ["ban"]
    assert any("private" in w for w in plan.warnings)
    # the PAP puts a new public policy first (visibility differs from the first policy)
    first = plan.after.policy_sets[0].policies[0]
    assert first.public and first.rules[0].attributes == [("subject", DN_STORED)]
    assert plan.after.policy_sets[0].policies[1].id == "private_1"


def test_ban_private_matches_private():
    view = tree(pset("ps1", [policy("private_1", [rule(subject=DN_STORED)], public=False)]))
    assert ban_plan(view, subjects=[DN_SLASH], public=False).ops == []


def test_ban_other_resource_creates_new_policy_set_on_top():
    view = tree(pset("ps1", [policy("public_1", [rule(subject=DN_STORED)])], resource="ce1"))
    plan = ban_plan(view, subjects=[DN_SLASH])
    assert [op.operation for op in plan.ops] == ["ban"]
    assert [ps.resource for ps in plan.after.policy_sets] == [".*", "ce1"]


def test_ban_hidden_by_compound_rule_falls_back_to_update_policy():
    # The PAP's ban would answer "already exists" because the compound rule contains the literal.
    compound = rule(subject=DN_STORED, vo="dteam")
    view = tree(pset("ps1", [policy("public_1", [compound], version="4")]))
    plan = ban_plan(view, subjects=[DN_SLASH])
    assert [op.operation for op in plan.ops] == ["updatePolicy"]
    assert plan.ops[0].args["version"] == "4"
    rules = plan.after.policy_sets[0].policies[0].rules
    assert rules[0].attributes == [("subject", DN_STORED)] and rules[1] is not None and len(rules) == 2
    assert subjects_after(plan) == [DN_STORED]


def test_ban_several_values_and_fqans_predicts_order():
    plan = ban_plan(tree(), subjects=[DN_SLASH, "/DC=org/CN=Other"], fqans=["/dteam/Role=pilot"])
    assert ops_of(plan) == [("ban", DN_STORED), ("ban", "CN=Other,DC=org"), ("ban", "/dteam/Role=pilot")]
    # newest ban first, all in one policy
    assert len(plan.after.policy_sets) == 1 and len(plan.after.policy_sets[0].policies) == 1
    assert [r.attributes[0][1] for r in plan.after.policy_sets[0].policies[0].rules] == \
        ["/dteam/Role=pilot", "CN=Other,DC=org", DN_STORED]


def test_ban_same_dn_twice_in_input_sends_one_ban():
    plan = ban_plan(tree(), subjects=[DN_SLASH, DN_SPACES])
    assert [op.operation for op in plan.ops] == ["ban"]


# ---- unban -----------------------------------------------------------------------------------------

def test_unban_plain_rule_uses_stored_literal():
    view = tree(pset("ps1", [policy("public_1", [rule(subject=DN_SPACES), rule(fqan="/x")])]))
    plan = unban_plan(view, subjects=[DN_SLASH])
    assert ops_of(plan) == [("unban", DN_SPACES)]
    assert subjects_after(plan) == []
    assert [b["value"] for b in P.banned_values(plan.after, "fqan")] == ["/x"]


def test_unban_absent_is_no_change():
    view = tree(pset("ps1", [policy("public_1", [rule(fqan="/x")])]))
    plan = unban_plan(view, subjects=[DN_SLASH])
    assert plan.ops == [] and not plan.changed


def test_unban_with_compound_rule_first_falls_back_and_keeps_compound():
    compound = rule(subject=DN_STORED, vo="dteam")
    plain = rule(subject=DN_STORED)
    view = tree(pset("ps1", [policy("public_1", [compound, plain, rule(fqan="/x")], version="7")]))
    plan = unban_plan(view, subjects=[DN_SLASH])
    # HL unban would remove the compound rule (first deny containing the literal): not used
    assert [op.operation for op in plan.ops] == ["updatePolicy"]
    assert plan.ops[0].args["version"] == "7"
    remaining = plan.after.policy_sets[0].policies[0].rules
    assert [r.id for r in remaining] == [compound.id, view.policy_sets[0].policies[0].rules[2].id]
    assert any("compound" in w for w in plan.warnings)


def test_unban_removes_all_duplicates():
    view = tree(
        pset("ps1", [policy("public_1", [rule(subject=DN_STORED), rule(subject=DN_SPACES)])]),
        pset("ps2", [policy("private_2", [rule(subject=DN_STORED)], public=False)]),
    )
    plan = unban_plan(view, subjects=[DN_SLASH])
    assert subjects_after(plan) == []
    assert plan.ops and all(op.operation in ("unban", "updatePolicy", "removeObjectByIdAndReferences")
                            for op in plan.ops)
    # every removal is exact: nothing but those three rules disappeared
    assert [ps.id for ps in plan.after.policy_sets] == ["ps1", "ps2"]


def test_unban_rule_in_second_policy_with_same_action_uses_fallback():
    view = tree(pset("ps1", [
        policy("public_1", [rule(fqan="/x")]),
        policy("public_2", [rule(subject=DN_STORED)], version="3"),
    ]))
    plan = unban_plan(view, subjects=[DN_SLASH])
    # the PAP's unban only looks at the first policy with that action: it would miss the rule
    assert [op.operation for op in plan.ops] == ["removeObjectByIdAndReferences"]
    assert plan.ops[0].args["id"] == "public_2"
    assert [p.id for p in plan.after.policy_sets[0].policies] == ["public_1"]


def test_unban_only_touches_requested_resource_and_action():
    view = tree(pset("ps1", [policy("public_1", [rule(subject=DN_STORED)], action="submit")]))
    assert unban_plan(view, subjects=[DN_SLASH]).ops == []
    plan = unban_plan(view, subjects=[DN_SLASH], action="submit")
    assert subjects_after(plan) == []


# ---- rules and exclusive -------------------------------------------------------------------------

def test_exclusive_adds_before_removes_and_never_empties():
    view = tree(pset("old", [policy("public_old", [rule(subject="CN=Old,DC=org")])]))
    specs = P.make_rule_specs([{"effect": "permit", "attributes": {"vo": "dteam"}}])
    plan = P.plan(view, P.make_targets([DN_SLASH], []), specs, exclusive=True)
    names = [op.operation for op in plan.ops]
    assert names == ["addPolicySet", "addPolicies", "removeObjectByIdAndReferences", "removeObjectByIdAndReferences"]
    last_add = max(i for i, n in enumerate(names) if n.startswith("add"))
    first_remove = min(i for i, n in enumerate(names) if n.startswith("remove"))
    assert last_add < first_remove
    assert P.to_spl(plan.after) == (
        'resource ".*" {\n    action ".*" {\n'
        '        rule deny { subject = "CN=Jane Doe,DC=example,DC=org" }\n'
        '        rule permit { vo = "dteam" }\n    }\n}\n')
    # replaying the simulation step by step: the alias always holds some rule
    sim = view.copy()
    for op in plan.ops:
        if op.operation == "addPolicySet":
            sim.policy_sets.insert(op.args["index"], P.VPolicySet(op.args["policy_set_id"], "1", op.args["resource"], []))
        elif op.operation == "addPolicies":
            ps = next(s for s in sim.policy_sets if s.id == op.args["policy_set_id"])
            ps.policies[0:0] = op.payload["policies"]
        else:
            P.sim_remove(sim, op.args["id"])
        assert list(sim.iter_rules()), "policy empty after %s" % op.operation


def test_exclusive_matching_policy_is_no_change():
    view = tree(pset("ps", [policy("public_1", [rule(subject=DN_SPACES), rule("permit", vo="dteam")])]))
    specs = P.make_rule_specs([{"effect": "permit", "attributes": {"vo": "dteam"}}])
    plan = P.plan(view, P.make_targets([DN_SLASH], []), specs, exclusive=True)
    assert plan.ops == []


def test_exclusive_order_difference_is_a_change():
    view = tree(pset("ps", [policy("public_1", [rule("permit", vo="dteam"), rule(subject=DN_STORED)])]))
    specs = P.make_rule_specs([{"effect": "permit", "attributes": {"vo": "dteam"}}])
    plan = P.plan(view, P.make_targets([DN_SLASH], []), specs, exclusive=True)
    assert plan.ops and plan.changed


def test_exclusive_needs_state_present():
    with pytest.raises(P.PlanError):
        P.plan(tree(), [], [], state="absent", exclusive=True)


def test_rule_present_compound_deny_goes_first_and_is_idempotent():
    view = tree(pset("ps", [policy("public_1", [rule(fqan="/x")], version="2")]))
    specs = P.make_rule_specs([{"effect": "deny", "attributes": {"subject": DN_SLASH, "vo": "dteam"}}])
    plan = P.plan(view, [], specs)
    assert [op.operation for op in plan.ops] == ["updatePolicy"]
    assert plan.after.policy_sets[0].policies[0].rules[0].same_as("deny", [("vo", "dteam"), ("subject", DN_SPACES)])
    assert P.plan(plan.after, [], specs).ops == []


def test_rule_absent_removes_only_exact_rule():
    compound = rule(subject=DN_STORED, vo="dteam")
    view = tree(pset("ps", [policy("public_1", [compound, rule(subject=DN_STORED)])]))
    specs = P.make_rule_specs([{"effect": "deny", "attributes": {"subject": DN_SLASH, "vo": "dteam"}}])
    plan = P.plan(view, [], specs, state="absent")
    assert subjects_after(plan) == [DN_STORED]
    assert len(plan.after.policy_sets[0].policies[0].rules) == 1


# ---- validation -----------------------------------------------------------------------------------

@pytest.mark.parametrize("subjects,fqans", [
    (["/DC=org/CN=ok", "not a dn"], []),
    ([""], []),
    ([], ["   "]),
    ([], ["dteam"]),
])
def test_invalid_input_is_refused_as_a_whole(subjects, fqans):
    with pytest.raises(P.PlanError):
        P.make_targets(subjects, fqans)


def test_xml_metacharacters_are_kept_verbatim_in_the_literal():
    targets = P.make_targets(['/DC=org/CN=A & B <x> "q"'], [])
    assert targets[0].literal == 'CN=A & B <x> "q",DC=org'
