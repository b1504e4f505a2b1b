# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Planning logic of argus_policy, on hand-built policy trees (no server)."""

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._argus import policy_input as I
from ansible_collections.gridsec.ops.plugins.module_utils._argus import policy_plan as P
from ansible_collections.gridsec.ops.plugins.module_utils._argus import policy_view as V

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
    return V.VRule(effect, pairs, rule_id="r-%d" % _COUNTER[0])


def policy(pid, rules, action=".*", public=True, version="1"):
    return V.VPolicy(pid, version, action, public, rules)


def pset(psid, policies, resource=".*"):
    return V.VPolicySet(psid, "1", resource, policies)


def tree(*sets):
    return V.VTree("default", list(sets), root_id="default-root", root_version="0")


def ops_of(plan):
    return [(op.operation, op.args.get("value") or op.args.get("id")) for op in plan.ops]


def ban_plan(view, subjects=(), fqans=(), **kw):
    return P.plan(view, I.make_targets(list(subjects), list(fqans)), state="present", **kw)


def unban_plan(view, subjects=(), fqans=(), **kw):
    return P.plan(view, I.make_targets(list(subjects), list(fqans)), state="absent", **kw)


def subjects_after(plan):
    return [b["value"] for b in V.banned_values(plan.after, "subject")]


# ---- ban -------------------------------------------------------------------------------------------

def test_ban_into_empty_tree_uses_high_level_ban_with_pap_literal():
    plan = ban_plan(tree(), subjects=[DN_SLASH])
    assert [op.operation for op in plan.ops] == ["ban"]
    assert plan.ops[0].args["value"] == DN_STORED
    assert plan.ops[0].args["public"] is True
    assert plan.changed
    assert subjects_after(plan) == [DN_STORED]
    assert 'rule deny { subject = "CN=Jane Doe,DC=example,DC=org" }' in V.to_spl(plan.after)
    assert V.to_spl(plan.before) == ""


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
    assert [b["value"] for b in V.banned_values(plan.after, "fqan")] == ["/x"]


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
    # every removal is exact: nothing but those three rules disappeared, and the policies and PolicySets they
    # emptied went with them, as the PAP's removePolicyAndReferences does (PapContainer)
    assert [ps.id for ps in plan.after.policy_sets] == []


def test_emptied_policy_takes_its_policy_set_along_but_not_a_neighbour():
    other = policy("public_2", [rule(vo="x")], action="submit")
    view = tree(pset("ps1", [policy("public_1", [rule(subject=DN_STORED)]), other]))
    plan = unban_plan(view, subjects=[DN_SLASH])
    assert [ps.id for ps in plan.after.policy_sets] == ["ps1"]
    assert [p.id for p in plan.after.policy_sets[0].policies] == ["public_2"]


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
    specs = I.make_rule_specs([{"effect": "permit", "attributes": {"vo": "dteam"}}])
    plan = P.plan(view, I.make_targets([DN_SLASH], []), specs, exclusive=True)
    names = [op.operation for op in plan.ops]
    # one removal per old PolicySet: removePolicySetAndReferences deletes its policies too
    assert names == ["addPolicySet", "addPolicies", "removeObjectByIdAndReferences"]
    assert plan.ops[-1].args["id"] == "old"
    last_add = max(i for i, n in enumerate(names) if n.startswith("add"))
    first_remove = min(i for i, n in enumerate(names) if n.startswith("remove"))
    assert last_add < first_remove
    assert V.to_spl(plan.after) == (
        'resource ".*" {\n    action ".*" {\n'
        '        rule deny { subject = "CN=Jane Doe,DC=example,DC=org" }\n'
        '        rule permit { vo = "dteam" }\n    }\n}\n')
    # replaying the simulation step by step: the alias always holds some rule
    sim = view.copy()
    for op in plan.ops:
        if op.operation == "addPolicySet":
            sim.policy_sets.insert(op.args["index"], V.VPolicySet(op.args["policy_set_id"], "1", op.args["resource"], []))
        elif op.operation == "addPolicies":
            ps = next(s for s in sim.policy_sets if s.id == op.args["policy_set_id"])
            ps.policies[0:0] = op.payload["policies"]
        else:
            P.sim_remove(sim, op.args["id"])
        assert list(sim.iter_rules()), "policy empty after %s" % op.operation


def test_exclusive_matching_policy_is_no_change():
    view = tree(pset("ps", [policy("public_1", [rule(subject=DN_SPACES), rule("permit", vo="dteam")])]))
    specs = I.make_rule_specs([{"effect": "permit", "attributes": {"vo": "dteam"}}])
    plan = P.plan(view, I.make_targets([DN_SLASH], []), specs, exclusive=True)
    assert plan.ops == []


def test_exclusive_order_difference_is_a_change():
    view = tree(pset("ps", [policy("public_1", [rule("permit", vo="dteam"), rule(subject=DN_STORED)])]))
    specs = I.make_rule_specs([{"effect": "permit", "attributes": {"vo": "dteam"}}])
    plan = P.plan(view, I.make_targets([DN_SLASH], []), specs, exclusive=True)
    assert plan.ops and plan.changed


def test_exclusive_needs_state_present():
    with pytest.raises(V.PlanError):
        P.plan(tree(), [], [], state="absent", exclusive=True)


def test_rule_present_compound_deny_goes_first_and_is_idempotent():
    view = tree(pset("ps", [policy("public_1", [rule(fqan="/x")], version="2")]))
    specs = I.make_rule_specs([{"effect": "deny", "attributes": {"subject": DN_SLASH, "vo": "dteam"}}])
    plan = P.plan(view, [], specs)
    assert [op.operation for op in plan.ops] == ["updatePolicy"]
    assert plan.after.policy_sets[0].policies[0].rules[0].same_as("deny", [("vo", "dteam"), ("subject", DN_SPACES)])
    assert P.plan(plan.after, [], specs).ops == []


def test_rule_absent_removes_only_exact_rule():
    compound = rule(subject=DN_STORED, vo="dteam")
    view = tree(pset("ps", [policy("public_1", [compound, rule(subject=DN_STORED)])]))
    specs = I.make_rule_specs([{"effect": "deny", "attributes": {"subject": DN_SLASH, "vo": "dteam"}}])
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
    with pytest.raises(V.PlanError):
        I.make_targets(subjects, fqans)


def test_xml_metacharacters_are_kept_verbatim_in_the_literal():
    targets = I.make_targets(['/DC=org/CN=A & B <x> "q"'], [])
    assert targets[0].literal == 'CN=A & B <x> "q",DC=org'


def test_ids_of_new_private_policies_are_private_for_the_pap():
    specs = I.make_rule_specs([{"effect": "permit", "attributes": {"vo": "dteam"}, "public": False}])
    plan = P.plan(tree(), [], specs, state="present")
    assert plan.ops[1].args["policy_id_prefixes"] == ["private_"]
    view = tree(pset("ps", [policy("public_1", [rule(vo="x")])]))
    plan = P.plan(view, [], specs, state="present")
    assert plan.ops[0].operation == "addPolicy" and plan.ops[0].args["policy_id_prefix"] == "private_"


# ---- input vetting ---------------------------------------------------------------------------------

def test_single_rdn_subject_needs_allow_single_rdn():
    with pytest.raises(V.PlanError, match="single RDN.*allow_single_rdn"):
        I.make_targets(["CN=John Doe"], [])
    with pytest.raises(V.PlanError, match="single RDN"):
        I.make_targets(["/DC=org/CN=ok", "OU=Users"], [])
    assert [t.literal for t in I.make_targets(["CN=John Doe"], [], allow_single_rdn=True)] == ["CN=John Doe"]


def test_proxy_subjects_are_banned_as_the_end_entity_with_a_warning():
    warnings = []
    stripped = []
    targets = I.make_targets([DN_SLASH + "/CN=proxy", DN_SLASH + "/CN=limited proxy"], [], warnings=warnings,
                             stripped_rdns=stripped)
    assert [t.literal for t in targets] == [DN_STORED, DN_STORED]
    assert len(warnings) == 2 and "CN=proxy" in warnings[0] and DN_SLASH in warnings[0]
    assert stripped == [{"input": DN_SLASH + "/CN=proxy", "subject": DN_SLASH, "stripped": ["CN=proxy"]},
                        {"input": DN_SLASH + "/CN=limited proxy", "subject": DN_SLASH,
                         "stripped": ["CN=limited proxy"]}]
    # RFC 3820 numeric CNs only with strip_proxy="all" (or the old true)
    for mode in ("all", True):
        targets = I.make_targets([DN_SLASH + "/CN=1234567890"], [], strip_proxy=mode, warnings=warnings)
        assert targets[0].literal == DN_STORED and "CN=1234567890" in warnings[-1]
    kept = I.make_targets([DN_SLASH + "/CN=proxy"], [], strip_proxy="none", warnings=warnings)
    assert kept[0].literal == "CN=proxy," + DN_STORED
    # a proxy DN alone (nothing but its proxy CN left would be a single RDN) is refused, not stripped to nothing
    with pytest.raises(V.PlanError, match="single RDN"):
        I.make_targets(["/CN=proxy/CN=123"], [], strip_proxy="all")


def test_a_dn_ending_in_a_number_is_banned_as_given_by_default():
    """Issue 14 item 1: ".../CN=Eve Mallory/CN=777" is a person's DN unless the input is known to be a proxy."""
    warnings = []
    stripped = []
    targets = I.make_targets([DN_SLASH + "/CN=777"], [], warnings=warnings, stripped_rdns=stripped)
    assert targets[0].literal == "CN=777," + DN_STORED
    assert warnings == [] and stripped == []


@pytest.mark.parametrize("subject,fragment", [
    ("/DC=org/DC=example/CM=John Doe", "unknown attribute type 'CM'.*did you mean CN"),
    ("CM=John Doe,DC=example,DC=org", "unknown attribute type 'CM'"),
    ("/DC=org/DC=example/CN=John Doe/emailAdress=jd@example.org", "did you mean emailAddress"),
])
def test_unknown_attribute_type_in_a_subject_is_refused(subject, fragment):
    with pytest.raises(V.PlanError, match=fragment):
        I.make_targets([subject], [])
    with pytest.raises(V.PlanError, match=fragment):
        I.make_rule_specs([{"attributes": {"subject": subject}}], ".*", ".*", True)
    with pytest.raises(V.PlanError, match=fragment):
        I.make_rule_specs([{"attributes": {"subject-issuer": subject}}], ".*", ".*", True)


@pytest.mark.parametrize("attributes,fragment", [
    ({"subjet": DN_SLASH}, "'subjet' (did you mean subject?)"),
    ({"colour": "red"}, "'colour'"),
    ({"FQAN": "/dteam"}, "did you mean fqan?"),
    ({"action": "submit"}, "are its own options"),
    ({"vo": "dteam", "Vo": "x"}, "'Vo'"),
])
def test_unknown_rule_attributes_are_refused_naming_the_allowed_ones(attributes, fragment):
    with pytest.raises(V.PlanError) as err:
        I.make_rule_specs([{"attributes": attributes}])
    assert fragment in str(err.value)
    assert "Allowed: emi-group, emi-primary-group" in str(err.value) and "x509-subject-issuer" in str(err.value)


def test_every_allowed_rule_attribute_is_accepted():
    for name in V.RULE_ATTRIBUTES:
        value = DN_SLASH if name in V.DN_ATTRIBUTES else "x"
        assert I.make_rule_specs([{"attributes": {name: value}}])[0].attributes[0][0] == name
    assert "resource" not in V.RULE_ATTRIBUTES and "action" not in V.RULE_ATTRIBUTES
    assert "emi-subject-issuer" in V.DN_ATTRIBUTES


def test_normalized_is_the_slash_form_of_stored_literals_with_quotes():
    weird = "/DC=test/CN=O'Neil \"Bob\" <b&b> Smith"
    literal = "CN=O'Neil \"Bob\" <b&b> Smith,DC=test"
    view = tree(pset("ps", [policy("public_1", [rule(subject=literal), rule(subject="not parsable")])]))
    banned = V.banned_values(view, "subject")
    assert [(b["value"], b["normalized"]) for b in banned] == [(literal, weird), ("not parsable", "not parsable")]
    # and the literal is found again when the same DN is banned in another form
    assert ban_plan(view, subjects=[r"""CN=o'neil \"bob\" \<b&b\> smith,DC=test"""]).ops == []


# ---- scale: no quadratic step ----------------------------------------------------------------------

def _many(n, form="slash"):
    if form == "slash":
        return ["/DC=org/DC=example/OU=Users/CN=User %05d" % i for i in range(n)]
    return ["CN=User %05d,OU=Users,DC=example,DC=org" % i for i in range(n)]


def test_no_op_ban_of_many_dns_in_another_form_plans_nothing():
    view = tree(pset("ps", [policy("public_1", [rule(subject=v) for v in _many(3000, "rfc")])]))
    plan = ban_plan(view, subjects=list(reversed(_many(3000))))
    assert plan.ops == [] and not plan.changed


def test_ban_and_unban_of_many_dns_keep_the_index_consistent():
    stored = _many(400, "rfc")
    view = tree(pset("ps", [policy("public_1", [rule(subject=v) for v in stored[::2]] + [rule(vo="x")])]))
    plan = ban_plan(view, subjects=_many(400))
    assert [op.operation for op in plan.ops] == ["ban"] * 200
    assert sorted(subjects_after(plan)) == sorted(stored)
    again = P.plan(plan.after, I.make_targets(_many(400), []), state="present")
    assert again.ops == []
    unban = P.plan(plan.after, I.make_targets(_many(400)[::-1], []), state="absent")
    assert [op.operation for op in unban.ops] == ["unban"] * 400
    assert subjects_after(unban) == []
    assert [r.attributes for r in unban.after.policy_sets[0].policies[0].rules] == [[("vo", "x")]]
    # the index follows direct edits of the rule list too
    target = I.make_targets([_many(1)[0]], [])[0]
    pol = plan.after.policy_sets[0].policies[0]
    assert pol.plain_matches(target)
    pol.rules = [r for r in pol.rules if not target.matches(r)]
    assert pol.plain_matches(target) == []


# ---- bulk write path ---------------------------------------------------------------------------------

def test_bulk_ban_into_an_existing_policy_is_one_version_locked_update_with_ban_placement():
    old = rule(subject="CN=Old,DC=org")
    view = tree(pset("ps", [policy("public_1", [old, rule(effect="permit", vo="x")], version="7")]))
    subjects = _many(12)
    sequential = ban_plan(view, subjects=subjects)
    bulk = P.plan(view, I.make_targets(subjects, []), state="present", bulk_threshold=10)
    assert [op.operation for op in sequential.ops] == ["ban"] * 12
    assert [op.operation for op in bulk.ops] == ["updatePolicy"] and bulk.bulk and bulk.split_at == 0
    op = bulk.ops[0]
    assert op.args["id"] == "public_1" and op.args["version"] == "7" and len(op.args["added"]) == 12
    # same rules, same order as 12 ban calls: newest first, above the existing rules
    assert [r.attributes for r in op.payload["policy"].rules] == \
        [r.attributes for r in sequential.after.policy_sets[0].policies[0].rules]
    assert op.payload["policy"].rules[0].attributes == [("subject", I.make_targets([subjects[-1]], [])[0].literal)]
    assert op.payload["policy"].rules[-2].id == old.id
    assert V.views_equivalent(bulk.after, sequential.after)


def test_bulk_keeps_ban_semantics_for_values_already_denied_and_below_the_threshold():
    view = tree(pset("ps", [policy("public_1", [rule(subject=v) for v in _many(5, "rfc")])]))
    plan = P.plan(view, I.make_targets(_many(14), []), state="present", bulk_threshold=10)
    assert [op.operation for op in plan.ops] == ["ban"] * 9  # 5 already banned: 9 < 10, one ban each
    plan = P.plan(view, I.make_targets(_many(15), []), state="present", bulk_threshold=10)
    assert [op.operation for op in plan.ops] == ["updatePolicy"] and len(plan.ops[0].args["added"]) == 10
    # another visibility or resource: the bans create a new policy first, then the rest is one update
    plan = P.plan(view, I.make_targets(_many(15), []), state="present", public=False, bulk_threshold=10)
    assert [op.operation for op in plan.ops] == ["ban", "updatePolicy"] and plan.split_at == 1
    assert plan.ops[0].args["public"] is False and len(plan.ops[1].args["added"]) == 14


def test_bulk_is_never_used_for_unban_or_exclusive():
    view = tree(pset("ps", [policy("public_1", [rule(subject=v) for v in _many(20, "rfc")])]))
    plan = P.plan(view, I.make_targets(_many(20), []), state="absent", bulk_threshold=2)
    assert set(op.operation for op in plan.ops) == {"unban"} and not plan.bulk


def test_ban_replies_and_the_policy_read_back_confirm_a_ban_only_plan():
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import Attribute, Policy, Rule
    # empty alias: the first ban creates the policy, the second goes into it; both replies name the new policy
    the_plan = ban_plan(tree(), [DN_SLASH], ["/dteam"])
    assert P.ban_only(the_plan)
    assert P.ban_reply_policy(the_plan, ["public_new", "public_new"]) == "public_new"
    assert P.ban_reply_policy(the_plan, ["public_new", "public_other"]) is None   # not one policy: re-read
    # an existing policy: the replies must name it
    existing = ban_plan(tree(pset("ps", [policy("public_1", [rule(subject="CN=Old,DC=org")])])), [DN_SLASH])
    assert P.ban_reply_policy(existing, ["public_1"]) == "public_1"
    assert P.ban_reply_policy(existing, ["public_2"]) is None
    # the policy read back replaces the prediction (real rule ids) only when it holds exactly the planned rules
    read = Policy("public_new", "2", ".*", [Rule("id-fqan", "deny", [Attribute("fqan", "/dteam")]),
                                            Rule("id-dn", "deny", [Attribute("subject", DN_STORED)])])
    assert P.adopt_policy(the_plan.after, read)
    assert [(r.id, r.attributes) for r in the_plan.after.policy_sets[0].policies[0].rules] == \
        [("id-fqan", [("fqan", "/dteam")]), ("id-dn", [("subject", DN_STORED)])]
    raced = Policy("public_1", "5", ".*", [Rule("x", "deny", [Attribute("subject", DN_STORED)]),
                                           Rule("y", "deny", [Attribute("fqan", "/other")]),
                                           Rule("z", "deny", [Attribute("subject", "CN=Old,DC=org")])])
    assert not P.adopt_policy(existing.after, raced)
    assert _is_prediction(existing.after)
    # plans with other writes are checked by a re-read of the whole tree
    banned = tree(pset("ps", [policy("public_1", [rule(subject=DN_STORED)])]))
    assert not P.ban_only(P.plan(banned, I.make_targets([DN_SLASH], []), state="absent"))
    assert not P.ban_only(ban_plan(tree(), ["/DC=org/CN=User %02d" % i for i in range(12)], bulk_threshold=10))


def _is_prediction(view):
    return view.policy_sets[0].policies[0].rules[0].id.startswith("(new rule")
