# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Planning logic for the Argus policy modules.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Everything here is pure: it works on a small *view* of one PAP alias's policy tree (``VTree`` ->
``VPolicySet`` -> ``VPolicy`` -> ``VRule``), simulates what the PAP does for each write operation (argus-pap
``BanOperation``/``UnbanOperation`` in ``org.glite.authz.pap.authz.operations.highlevelpolicymanagement``), and
produces an ordered list of ``Op`` objects plus the predicted tree after them.
The same plan is used for check mode (reported, not sent) and for the real run (sent in order), so the
prediction and the run cannot disagree unless someone else changes the PAP at the same time.

The view is built from the client's ``PapPolicyTree`` by ``view_from_tree()``; it keeps a reference to the
model object each node came from (``source``) so that writes preserve what the view does not model
(obligations, descriptions).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.gridsec.ops.plugins.module_utils._argus.ids import PRIVATE_ID_PREFIX, PUBLIC_ID_PREFIX, SYNC_OWNER_MARK
from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_input import (
    RuleSpec,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_view import (
    DENY,
    HL_SERVICE,
    PlanError,
    VPolicy,
    VPolicySet,
    VRule,
    VTree,
    XACML_SERVICE,
    bump_version,
    is_placeholder,
    to_spl,
    value_key,
    view_policy,
    views_equivalent,
)


# ---------------------------------------------------------------------------------------------------
# Operations and the simulation of their effect on the PAP (argus-pap ``PolicyWizard``/``RuleWizard``, ``BanOperation``,
# ``UnbanOperation``)
# ---------------------------------------------------------------------------------------------------

class Op:
    """One write operation. ``args`` is what is reported; ``payload`` carries the objects to send."""

    def __init__(self, service, operation, args, payload=None):
        self.service = service
        self.operation = operation
        self.args = args
        self.payload = payload or {}

    def describe(self):
        return {"service": self.service, "operation": self.operation, "args": dict(self.args)}

    def __repr__(self):
        return "Op(%s, %r)" % (self.operation, self.args)


class _Ids:
    """Placeholder ids for objects a plan creates (the PAP assigns the real ones)."""

    def __init__(self):
        self.counter = 0

    def new(self, kind):
        self.counter += 1
        return "(new %s %d)" % (kind, self.counter)


def sim_ban(view, ids, attr_id, value, resource, action, public):
    """Apply the PAP's HL ``ban`` to the view. Returns True when the PAP changes something."""
    # Versions as BanOperation.doExecute sets them: objects it creates are stored at version 1 (the
    # wizards' initial version); only a PolicySet or Policy that existed before is bumped (updatePolicySet /
    # updatePolicy with increaseVersion).
    ps = view.policy_sets[0] if view.policy_sets else None
    new_policy_set = ps is None or ps.resource != resource
    if new_policy_set:
        ps = VPolicySet(ids.new("policy set"), "1", resource, [])
    policy = ps.policies[0] if ps.policies else None
    new_policy = policy is None or policy.action != action or policy.public != public
    if not new_policy and policy.first_deny_with(attr_id, value) is not None:
        return False
    if new_policy_set:
        view.policy_sets.insert(0, ps)
    if new_policy:
        policy = VPolicy(ids.new("policy"), "1", action, public, [])
        ps.policies.insert(0, policy)
        if not new_policy_set:
            ps.version = bump_version(ps.version)
    policy.insert_first(VRule(DENY, [(attr_id, value)], ids.new("rule")))
    if not new_policy:
        policy.version = bump_version(policy.version)
    return True


def _remove_policy(view, policy_id):
    """The PAP's ``removePolicyAndReferences`` (PapContainer): the policy goes, and a resource PolicySet left
    without any policy goes with it (used by ``unban`` and ``removeObjectByIdAndReferences``)."""
    for n, ps in enumerate(view.policy_sets):
        for i, p in enumerate(ps.policies):
            if p.id == policy_id:
                del ps.policies[i]
                if ps.policies:
                    ps.version = bump_version(ps.version)
                else:
                    del view.policy_sets[n]
                return True
    return False


def _unban_candidates(view, attr_id, value, resource, action, per_policy_set):
    """What the PAP's HL ``unban`` removes: [(policy, rule)].

    argus-pap's ``UnbanOperation`` can be read two ways: the first action Policy of *each* resource PolicySet with that
    resource (``per_policy_set``), or only the first such Policy found across them. The planner only
    relies on ``unban`` when both readings remove the same rules.
    """
    found = []
    for ps in [s for s in view.policy_sets if s.resource == resource]:
        policy = next((p for p in ps.policies if p.action == action), None)
        if policy is None:
            continue
        rule = policy.first_deny_with(attr_id, value)
        if rule is not None:
            found.append((policy, rule))
        if not per_policy_set:
            break
    return found


def sim_unban(view, attr_id, value, resource, action, per_policy_set=True):
    """Apply the PAP's HL ``unban``; returns the list of (policy_id, rule) removed (empty = statusCode 1)."""
    removed = []
    for policy, rule in _unban_candidates(view, attr_id, value, resource, action, per_policy_set):
        policy.remove_rule(rule)
        removed.append((policy.id, rule))
        if not policy.rules:
            _remove_policy(view, policy.id)
        else:
            policy.version = bump_version(policy.version)
    return removed


def unban_is_exact(view, attr_id, value, resource, action, wanted):
    """True when HL ``unban`` would remove only rules accepted by ``wanted(rule)`` (at least one), under
    both readings of the PAP's semantics."""
    a = _unban_candidates(view, attr_id, value, resource, action, True)
    b = _unban_candidates(view, attr_id, value, resource, action, False)
    if not a or [id(r) for _p, r in a] != [id(r) for _p, r in b]:
        return False
    return all(wanted(r) for _p, r in a)


def sim_remove(view, object_id):
    for i, ps in enumerate(view.policy_sets):
        if ps.id == object_id:
            del view.policy_sets[i]
            return True
    return _remove_policy(view, object_id)


def _update_op(view, policy, new_rules, reason):
    """Plan an ``updatePolicy`` (version-locked) or, when no rule remains, a ``removeObjectByIdAndReferences``."""
    if not new_rules:
        op = Op(XACML_SERVICE, "removeObjectByIdAndReferences",
                {"alias": view.alias, "id": policy.id, "reason": reason})
        sim_remove(view, policy.id)
        return op
    updated = VPolicy(policy.id, policy.version, policy.action, policy.public, new_rules, source=policy.source)
    op = Op(XACML_SERVICE, "updatePolicy",
            {"alias": view.alias, "id": policy.id, "version": policy.version, "reason": reason,
             "rules": [r.to_dict() for r in new_rules]},
            payload={"policy": updated})
    policy.rules = list(new_rules)
    policy.version = bump_version(policy.version)
    return op


def removable_only_if_stored(view, targets):
    """``(errors, warnings)`` for the unban targets with an unknown attribute type: an error for each that names no
    plain deny rule of ``view`` (the typo is refused as for a ban, rather than reporting a clean "nothing to
    remove"), a warning for each that does (a rule stored from a misspelt DN, removed as asked)."""
    errors = []
    warnings = []
    for target in targets:
        if target.type_error is None:
            continue
        if any(target.matches(rule) for _ps, _p, rule in view.iter_rules()):
            warnings.append("%s; the PAP holds a deny rule for exactly this DN (stored from a misspelt DN by an "
                            "older version or another tool): it is removed as asked" % target.type_error)
        else:
            errors.append(target.type_error)
    return errors, warnings


def _top_policy(view):
    """The first policy of the first resource PolicySet (where HL ``ban`` writes), or None."""
    if view.policy_sets and view.policy_sets[0].policies:
        return view.policy_sets[0].policies[0]
    return None


def ban_only(the_plan):
    """Is ``the_plan`` one HL ``ban`` per value and nothing else (the usual emergency ban)?"""
    return bool(the_plan.ops) and not the_plan.bulk and not the_plan.split_at and \
        all(op.operation == "ban" for op in the_plan.ops)


def ban_reply_policy(the_plan, replies):
    """The id of the policy every ``ban`` of a ``ban_only`` plan wrote to, or None when the replies do not agree
    with the plan.

    All the bans of a task go to one policy: the first one of the first resource PolicySet, which the first ban
    creates when it does not fit (argus-pap ``BanOperation``). Each reply names the policy written, so the replies
    must all name that policy: the one predicted when it existed, one new id when the plan creates it.
    """
    predicted = _top_policy(the_plan.after)
    ids = set(replies)
    if predicted is None or len(ids) != 1 or None in ids:
        return None
    policy_id = replies[0]
    if not is_placeholder(predicted.id) and policy_id != predicted.id:
        return None
    return policy_id


def adopt_policy(view, policy):
    """Put ``policy`` (a model ``Policy`` read back after the bans) in place of the first policy of ``view`` (the
    prediction) when it holds exactly the predicted rules, in order; it brings the ids the PAP gave the new rules
    (and the policy). Returns False, leaving ``view`` alone, when the rules differ: someone else wrote to it too.
    """
    predicted = _top_policy(view)
    read = view_policy(policy)
    if predicted is None or read.action != predicted.action or read.public != predicted.public or \
            len(read.rules) != len(predicted.rules) or \
            not all(a.same_as(b.effect, b.attributes) for a, b in zip(read.rules, predicted.rules)):
        return False
    view.policy_sets[0].policies[0] = read
    return True


class Plan:
    """``ops`` in order. ``bulk``: the bans are one version-locked ``updatePolicy`` (a refusal of it means another
    writer changed the policy: re-read, re-plan, retry). ``split_at``: when not 0, the first ``split_at`` ops create
    the policy the bulk update then writes, whose id and version only the PAP knows: send them, re-read and
    re-plan before sending anything else."""

    def __init__(self, before, after, ops, warnings, bulk=False, split_at=0):
        self.before = before
        self.after = after
        self.ops = ops
        self.warnings = warnings
        self.bulk = bulk
        self.split_at = split_at

    @property
    def changed(self):
        return bool(self.ops) or to_spl(self.before) != to_spl(self.after)


def _first_policy_for(view, resource, action):
    ps = view.policy_sets[0] if view.policy_sets else None
    if ps is None or ps.resource != resource or not ps.policies:
        return None
    return ps.policies[0]


def _policies_for(view, resource, action):
    """(policy set, policy) with that resource and action, in evaluation order (no rule is visited)."""
    for ps in view.policy_sets:
        if ps.resource == resource:
            for p in ps.policies:
                if p.action == action:
                    yield ps, p


def plan_ban(view, ids, target, resource, action, public, warnings):
    """Ops that make ``target`` banned (plain Deny) for resource/action with the requested visibility.

    Cost: one index lookup per policy with that resource and action, never a scan of the rules.
    """
    other = None
    for _ps, p in _policies_for(view, resource, action):
        if p.plain_matches(target):
            if p.public == public:
                return []
            if other is None:
                other = p
    if other is not None:
        warnings.append("%s %s is already banned by a %s policy in alias %s; adding a %s ban as requested"
                        % (target.attr_id, target.value, "public" if other.public else "private", view.alias,
                           "public" if public else "private"))
    # Would the server's ban be a no-op because a compound Deny rule in the policy it picks contains the
    # literal? Then insert the plain rule ourselves, version-locked, at the top of that policy.
    first = _first_policy_for(view, resource, action)
    if first is not None and first.public == public and \
            first.first_deny_with(target.attr_id, target.literal) is not None:
        rule = VRule(DENY, [(target.attr_id, target.literal)], ids.new("rule"))
        return [_update_op(view, first, [rule] + first.rules,
                           "a compound deny rule in this policy contains %s; ban would not add a plain rule"
                           % target.literal)]
    op = Op(HL_SERVICE, "ban", {"alias": view.alias, "id": target.attr_id, "value": target.literal,
                                "resource": resource, "action": action, "public": public})
    sim_ban(view, ids, target.attr_id, target.literal, resource, action, public)
    # The ban's target policy is now the first one of the first PolicySet. When the ban creates it, later ops of
    # this plan refer to it by a placeholder; the executor maps it to the id ``ban`` returns.
    created = view.policy_sets[0].policies[0].id
    if is_placeholder(created):
        op.payload = {"creates_policy": created}
    return [op]


def plan_unban(view, target, resource, action, warnings, max_steps=1000):
    """Ops removing every plain Deny rule for ``target`` under resource/action (any visibility)."""
    ops = []
    for _step in range(max_steps):
        found = None
        for _ps, p in _policies_for(view, resource, action):
            matching = p.plain_matches(target)
            if matching:
                found = (p, matching[0])
                break
        if found is None:
            break
        policy, rule = found
        literal = rule.attributes[0][1]
        if unban_is_exact(view, target.attr_id, literal, resource, action, target.matches):
            ops.append(Op(HL_SERVICE, "unban", {"alias": view.alias, "id": target.attr_id, "value": literal,
                                                "resource": resource, "action": action}))
            sim_unban(view, target.attr_id, literal, resource, action)
            continue
        # Fallback: the server would remove something else (a compound rule) or miss this rule
        # (second policy with the same action): remove exactly the matching plain rules of this policy.
        keep = [r for r in policy.rules if not target.matches(r)]
        ops.append(_update_op(view, policy, keep, "unban %s without touching other rules" % target.value))
    else:  # pragma: no cover - defensive
        raise PlanError("unban of %s did not converge" % target.value)
    for ps, p in _policies_for(view, resource, action):
        for r in p.index().compound:
            if not any(a == target.attr_id and value_key(a, v) in target.keys for a, v in r.attributes):
                continue
            warnings.append("compound deny rule %s in alias %s (resource %s, action %s) also names %s; it is "
                            "left in place (remove it with rules/state=absent)"
                            % (r.id, view.alias, ps.resource, p.action, target.value))
    return ops


def plan_rule_present(view, ids, spec):
    for ps, p, r in view.iter_rules():
        if ps.resource == spec.resource and p.action == spec.action and p.public == spec.public and \
                r.same_as(spec.effect, spec.attributes):
            return []
    rule = VRule(spec.effect, spec.attributes, ids.new("rule"))
    deny = spec.effect == DENY
    for ps in view.policy_sets:
        if ps.resource != spec.resource:
            continue
        for p in ps.policies:
            if p.action == spec.action and p.public == spec.public:
                rules = [rule] + p.rules if deny else p.rules + [rule]
                return [_update_op(view, p, rules, "add %s rule" % spec.effect)]
    policy = VPolicy(ids.new("policy"), "1", spec.action, spec.public, [rule])
    prefix = PUBLIC_ID_PREFIX if spec.public else PRIVATE_ID_PREFIX
    for ps in view.policy_sets:
        if ps.resource == spec.resource:
            index = 0 if deny else len(ps.policies)
            op = Op(XACML_SERVICE, "addPolicy",
                    {"alias": view.alias, "index": index, "policy_set_id": ps.id, "policy_id_prefix": prefix,
                     "action": spec.action, "rules": [rule.to_dict()]},
                    payload={"policy": policy, "policy_set": ps})
            ps.policies.insert(index, policy)
            ps.version = bump_version(ps.version)
            return [op]
    policy_set = VPolicySet(ids.new("policy set"), "1", spec.resource, [])
    index = 0 if deny else len(view.policy_sets)
    ops = [Op(XACML_SERVICE, "addPolicySet", {"alias": view.alias, "index": index, "resource": spec.resource,
                                              "policy_set_id": policy_set.id},
              payload={"policy_set": policy_set}),
           Op(XACML_SERVICE, "addPolicies", {"alias": view.alias, "index": 0, "policy_set_id": policy_set.id,
                                             "policy_id_prefixes": [prefix],
                                             "actions": [spec.action], "rules": [[rule.to_dict()]]},
              payload={"policies": [policy], "policy_set": policy_set})]
    view.policy_sets.insert(index, policy_set)
    policy_set.policies.append(policy)
    return ops


def plan_rule_absent(view, spec):
    ops = []
    while True:
        hit = None
        for ps, p, r in view.iter_rules():
            if ps.resource == spec.resource and p.action == spec.action and r.same_as(spec.effect, spec.attributes):
                hit = p
                break
        if hit is None:
            return ops
        keep = [r for r in hit.rules if not r.same_as(spec.effect, spec.attributes)]
        ops.append(_update_op(view, hit, keep, "remove %s rule" % spec.effect))


def _group(specs):
    """Consecutive grouping: [(resource, [((action, public), [RuleSpec])])]."""
    groups = []
    for spec in specs:
        if not groups or groups[-1][0] != spec.resource:
            groups.append((spec.resource, []))
        policies = groups[-1][1]
        if not policies or policies[-1][0] != (spec.action, spec.public):
            policies.append(((spec.action, spec.public), []))
        policies[-1][1].append(spec)
    return groups


def is_sync_owned(policy_set):
    """Is this view PolicySet one that suspension_list_sync owns (recognised by its Description)?"""
    description = getattr(policy_set.source, "description", None) or ""
    return description.startswith(SYNC_OWNER_MARK + ":")


def plan_exclusive(view, ids, specs):
    """Make the alias's rules exactly ``specs`` (in order) without any moment with an empty policy.

    Order of operations: (1) every new resource PolicySet is added at the top of the root PolicySet
    (``addPolicySet`` at index 0, 1, ... then ``addPolicies`` into it), so the complete new policy is in
    force above the old one; (2) only then are the old resource PolicySets removed with
    ``removeObjectByIdAndReferences`` (which deletes their action Policies with them). At every step the alias holds at least the new policy (or the old one).
    """
    desired = VTree(view.alias, [])
    for resource, policies in _group(specs):
        ps = VPolicySet(ids.new("policy set"), "1", resource, [])
        for (action, public), rule_specs in policies:
            ps.policies.append(VPolicy(ids.new("policy"), "1", action, public,
                                       [VRule(s.effect, s.attributes, ids.new("rule")) for s in rule_specs]))
        desired.policy_sets.append(ps)
    # The PolicySets of suspension_list_sync are not part of the alias's own policy: exclusive mode keeps them
    # (removing them would lift every synced suspension until the next sync) and writes its new sets below the
    # ones at the top, so that the suspensions stay in front of the site's permits (first-applicable root).
    own = [ps for ps in view.policy_sets if not is_sync_owned(ps)]
    lead = 0
    while lead < len(view.policy_sets) and is_sync_owned(view.policy_sets[lead]):
        lead += 1
    if views_equivalent(VTree(view.alias, own), desired):
        return []
    ops = []
    old = own
    for offset, ps in enumerate(desired.policy_sets):
        index = lead + offset
        ops.append(Op(XACML_SERVICE, "addPolicySet", {"alias": view.alias, "index": index, "resource": ps.resource,
                                                      "policy_set_id": ps.id},
                      payload={"policy_set": VPolicySet(ps.id, ps.version, ps.resource, [])}))
        ops.append(Op(XACML_SERVICE, "addPolicies",
                      {"alias": view.alias, "index": 0, "policy_set_id": ps.id,
                       "policy_id_prefixes": [PUBLIC_ID_PREFIX if p.public else PRIVATE_ID_PREFIX
                                              for p in ps.policies],
                       "actions": [p.action for p in ps.policies],
                       "rules": [[r.to_dict() for r in p.rules] for p in ps.policies]},
                      payload={"policies": list(ps.policies), "policy_set": ps}))
        view.policy_sets.insert(index, ps)
    for ps in old:
        # removePolicySetAndReferences deletes the PolicySet's policies with it (PapContainer)
        ops.append(Op(XACML_SERVICE, "removeObjectByIdAndReferences",
                      {"alias": view.alias, "id": ps.id, "reason": "exclusive: replaced"}))
        sim_remove(view, ps.id)
    return ops


def _bulk_update_op(view, policy, version, merged):
    """One version-locked ``updatePolicy`` of ``policy`` standing for the ``merged`` ops (HL bans, and updates that
    insert a plain deny rule), with the rules the view holds now: every new deny rule first, in the order the
    sequence of ``ban`` calls would have put them."""
    added = []
    for op in merged:
        if op.operation == "ban":
            added.append({"id": op.args["id"], "value": op.args["value"]})
        else:
            added.append({"id": op.args["id"], "reason": op.args.get("reason")})
    updated = VPolicy(policy.id, version, policy.action, policy.public, list(policy.rules), source=policy.source)
    op = Op(XACML_SERVICE, "updatePolicy",
            {"alias": view.alias, "id": policy.id, "version": version,
             "reason": "bulk ban: %d deny rules inserted first, as %d ban calls would" % (len(added), len(added)),
             "added": added, "rules_total": len(policy.rules)},
            payload={"policy": updated})
    policy.version = bump_version(version)
    return op


def _collapse_bans(view, ops, first_before, resource, action, threshold):
    """Replace the planned bans by one ``updatePolicy`` of the policy they all go to, when there are at least
    ``threshold`` of them. Returns ``(ops, split_at)``; see ``Plan``.

    Every ban of a task goes to the same policy (the first one of the first resource PolicySet, argus-pap
    ``BanOperation``), which either existed before (``first_before``: its id and version) or is created by the
    first ban.
    """
    target = _first_policy_for(view, resource, action)
    if target is None or len(ops) < threshold:
        return ops, 0
    for op in ops:
        if op.operation == "updatePolicy":
            if op.args["id"] != target.id:
                return ops, 0
        elif op.operation != "ban":
            return ops, 0
    if first_before is not None and first_before[0] == target.id:
        return [_bulk_update_op(view, target, first_before[1], ops)], 0
    if ops[0].operation != "ban" or len(ops) - 1 < threshold or not is_placeholder(target.id):
        return ops, 0
    # the first ban creates the policy; the version it then has is the PAP's (re-read before the update)
    return [ops[0], _bulk_update_op(view, target, bump_version("1"), ops[1:])], 1


def plan(view, targets=(), rule_specs=(), state="present", resource=".*", action=".*", public=True,
         exclusive=False, bulk_threshold=0):
    """Full plan for the ``argus_policy`` module. ``view`` is not modified.

    ``bulk_threshold``: when at least that many bans (state=present, not exclusive) go into one policy, they are
    planned as one version-locked ``updatePolicy`` (``Plan.bulk``) instead of one HL ``ban`` each (0: never).
    """
    before = view
    after = view.copy()
    ids = _Ids()
    ops = []
    warnings = []
    bulk = False
    split_at = 0
    if exclusive:
        if state != "present":
            raise PlanError("exclusive=true needs state=present")
        specs = [RuleSpec(DENY, [(t.attr_id, t.literal)], resource, action, public) for t in targets]
        specs.extend(rule_specs)
        ops.extend(plan_exclusive(after, ids, specs))
    elif state == "present":
        first = _first_policy_for(after, resource, action)
        first_before = (first.id, first.version) if first is not None else None
        ban_ops = []
        for target in targets:
            ban_ops.extend(plan_ban(after, ids, target, resource, action, public, warnings))
        if bulk_threshold and bulk_threshold > 0:
            collapsed, split_at = _collapse_bans(after, ban_ops, first_before, resource, action, bulk_threshold)
            bulk = collapsed is not ban_ops
            ban_ops = collapsed
        ops.extend(ban_ops)
        for spec in rule_specs:
            ops.extend(plan_rule_present(after, ids, spec))
    else:
        for target in targets:
            ops.extend(plan_unban(after, target, resource, action, warnings))
        for spec in rule_specs:
            ops.extend(plan_rule_absent(after, spec))
    return Plan(before, after, ops, warnings, bulk=bulk, split_at=split_at)
