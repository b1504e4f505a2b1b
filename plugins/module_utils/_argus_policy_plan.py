# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Planning logic for the Argus policy modules.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Everything here is pure: it works on a small *view* of one PAP alias's policy tree (``VTree`` ->
``VPolicySet`` -> ``VPolicy`` -> ``VRule``), simulates what the PAP does for each write operation
(ARGUS.md section 5), and produces an ordered list of ``Op`` objects plus the predicted tree after them.
The same plan is used for check mode (reported, not sent) and for the real run (sent in order), so the
prediction and the run cannot disagree unless someone else changes the PAP at the same time.

The view is built from the client's ``PapPolicyTree`` by ``view_from_tree()``; it keeps a reference to the
model object each node came from (``source``) so that writes preserve what the view does not model
(obligations, descriptions).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import uuid

from ansible_collections.gridsec.ops.plugins.module_utils._argus_xacml import Attribute, Policy, PolicySet, Rule
from ansible_collections.gridsec.ops.plugins.module_utils._dn import DNError, dn_equal, parse_dn

HL_SERVICE = "HighLevelPolicyManagementService"
XACML_SERVICE = "XACMLPolicyManagementService"

# SPL attribute ids <-> XACML AttributeIds (conf/argus-pap_attribute-mappings.ini)
SPL_TO_XACML = {
    "subject": "urn:oasis:names:tc:xacml:1.0:subject:subject-id",
    "subject-issuer": "http://glite.org/xacml/attribute/subject-issuer",
    "x509-subject-issuer": "http://glite.org/xacml/attribute/x509-subject-issuer",
    "vo": "http://glite.org/xacml/attribute/virtual-organization",
    "fqan": "http://glite.org/xacml/attribute/fqan",
    "pfqan": "http://glite.org/xacml/attribute/fqan/primary",
    "x509-authn-profile": "http://glite.org/xacml/attribute/x509-authn-profile",
    "pilot-classifier": "http://glite.org/xacml/attribute/pilot-job-classifier",
}
XACML_TO_SPL = dict((v, k) for k, v in SPL_TO_XACML.items())
DN_ATTRIBUTES = frozenset(["subject", "subject-issuer", "x509-subject-issuer"])

DENY = "deny"
PERMIT = "permit"


class PlanError(Exception):
    """Invalid input detected while planning (raised before anything is written)."""


def spl_attribute_id(attribute_id):
    """Return the SPL id for an XACML AttributeId (or the id itself when it is already SPL/unknown)."""
    return XACML_TO_SPL.get(attribute_id, attribute_id)


def values_equal(attr_id, a, b):
    """Semantic equality of two attribute values: DNs with ``dn_equal``, everything else literally."""
    if attr_id in DN_ATTRIBUTES:
        if a == b:
            return True
        try:
            return dn_equal(a, b)
        except DNError:
            return False
    return a == b


def slash_form(attr_id, value):
    """Normalised display form of a value: OpenSSL slash form for DNs (stored value when unparsable)."""
    if attr_id in DN_ATTRIBUTES:
        try:
            return parse_dn(value).to_openssl()
        except DNError:
            return value
    return value


class VRule:
    def __init__(self, effect, attributes, rule_id=None, source=None):
        self.effect = effect.lower()
        self.attributes = [tuple(pair) for pair in attributes]
        self.id = rule_id
        self.source = source

    @property
    def plain(self):
        return len(self.attributes) == 1

    def contains_literal(self, attr_id, value):
        return any(a == attr_id and v == value for a, v in self.attributes)

    def contains(self, attr_id, value):
        return any(a == attr_id and values_equal(a, v, value) for a, v in self.attributes)

    def same_as(self, effect, attributes):
        """Semantic equality with a rule given as effect + attribute list (attributes are ANDed: order-free)."""
        if self.effect != effect.lower() or len(self.attributes) != len(attributes):
            return False
        remaining = list(self.attributes)
        for a, v in attributes:
            for i, (ra, rv) in enumerate(remaining):
                if ra == a and values_equal(a, rv, v):
                    del remaining[i]
                    break
            else:
                return False
        return True

    def to_dict(self):
        return {
            "id": self.id,
            "effect": self.effect,
            "attributes": [{"id": a, "value": v} for a, v in self.attributes],
        }


class VPolicy:
    def __init__(self, policy_id, version, action, public, rules, source=None):
        self.id = policy_id
        self.version = version
        self.action = action
        self.public = public
        self.rules = list(rules)
        self.source = source


class VPolicySet:
    def __init__(self, policy_set_id, version, resource, policies, source=None):
        self.id = policy_set_id
        self.version = version
        self.resource = resource
        self.policies = list(policies)
        self.source = source


class VTree:
    def __init__(self, alias, policy_sets, root_id=None, root_version=None, source=None):
        self.alias = alias
        self.policy_sets = list(policy_sets)
        self.root_id = root_id
        self.root_version = root_version
        self.source = source

    def copy(self):
        """Deep copy of the structure; ``source`` model objects are shared, not copied."""
        memo = {}
        for ps in self.policy_sets:
            memo[id(ps.source)] = ps.source
            for p in ps.policies:
                memo[id(p.source)] = p.source
                for r in p.rules:
                    memo[id(r.source)] = r.source
        memo[id(self.source)] = self.source
        return copy.deepcopy(self, memo)

    def iter_rules(self):
        """(policy_set, policy, rule) in evaluation order."""
        for ps in self.policy_sets:
            for p in ps.policies:
                for r in p.rules:
                    yield ps, p, r

    def find_policy(self, policy_id):
        for ps in self.policy_sets:
            for p in ps.policies:
                if p.id == policy_id:
                    return ps, p
        return None, None

    def flat_rules(self):
        return [(ps.resource, p.action, p.public, r) for ps, p, r in self.iter_rules()]


def view_from_tree(tree, alias=None):
    """The view of a ``PapPolicyTree`` (resource PolicySets referenced by the root, their Policies, rules)."""
    sets = []
    for ps in tree.resource_policy_sets():
        policies = []
        for kind, ref in ps.references:
            if kind != "policy" or ref not in tree.policies:
                continue
            p = tree.policies[ref]
            rules = [VRule(r.effect, [(a.attribute_id_spl, a.value) for a in r.attributes], r.rule_id, source=r)
                     for r in p.rules]
            policies.append(VPolicy(p.policy_id, p.version, p.action, p.public, rules, source=p))
        sets.append(VPolicySet(ps.policy_set_id, ps.version, ps.resource, policies, source=ps))
    root = tree.root
    return VTree(alias if alias is not None else tree.alias, sets,
                 root_id=root.policy_set_id if root is not None else None,
                 root_version=root.version if root is not None else None, source=tree)


def _is_placeholder(object_id):
    return object_id is None or object_id.startswith("(new ")


def to_model_rule(rule):
    if rule.source is not None:
        return rule.source
    return Rule(str(uuid.uuid4()), rule.effect, [Attribute(a, v) for a, v in rule.attributes])


def to_model_policy(policy, new_version=True):
    """Model ``Policy`` for a view policy. Existing policies keep everything the view does not model; for an
    ``updatePolicy`` the Version sent is the locked version + 1."""
    rules = [to_model_rule(r) for r in policy.rules]
    if policy.source is not None:
        model = copy.copy(policy.source)
        model.rules = rules
        model.version = _bump(policy.version) if new_version else policy.version
        return model
    prefix = "public" if policy.public else "private"
    policy_id = "%s_%s" % (prefix, uuid.uuid4()) if _is_placeholder(policy.id) else policy.id
    return Policy(policy_id, "1", policy.action, rules)


def to_model_policy_set(policy_set):
    """Model ``PolicySet`` (without references) for a new resource PolicySet."""
    ps_id = str(uuid.uuid4()) if _is_placeholder(policy_set.id) else policy_set.id
    return PolicySet(ps_id, "1", policy_set.resource, [])


def _quote(value):
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def to_spl(view):
    """SPL text (like ``pap-admin list-policies``) of a view; the diff of the modules uses it."""
    lines = []
    for ps in view.policy_sets:
        lines.append("resource %s {" % _quote(ps.resource))
        for p in ps.policies:
            lines.append("    %saction %s {" % ("" if p.public else "private ", _quote(p.action)))
            for r in p.rules:
                attrs = " ".join("%s = %s" % (a, _quote(v)) for a, v in r.attributes)
                lines.append("        rule %s { %s }" % (r.effect, attrs))
            lines.append("    }")
        lines.append("}")
    return "\n".join(lines) + ("\n" if lines else "")


def view_to_dict(view):
    """Structured form (resource -> action -> rules) used in module results."""
    return [
        {
            "id": ps.id,
            "version": ps.version,
            "resource": ps.resource,
            "policies": [
                {
                    "id": p.id,
                    "version": p.version,
                    "action": p.action,
                    "public": p.public,
                    "rules": [r.to_dict() for r in p.rules],
                }
                for p in ps.policies
            ],
        }
        for ps in view.policy_sets
    ]


def banned_values(view, attr_id, alias=None):
    """Plain Deny rules on ``attr_id``, with where they live, the stored literal and a normalised form."""
    result = []
    for ps, p, r in view.iter_rules():
        if r.effect == DENY and r.plain and r.attributes[0][0] == attr_id:
            value = r.attributes[0][1]
            result.append({
                "alias": alias if alias is not None else view.alias,
                "resource": ps.resource,
                "action": p.action,
                "public": p.public,
                "policy_id": p.id,
                "rule_id": r.id,
                "value": value,
                "normalized": slash_form(attr_id, value),
            })
    return result


def rules_equal(flat_a, flat_b):
    """Semantic equality of two flat rule lists [(resource, action, public, VRule)] (order matters)."""
    if len(flat_a) != len(flat_b):
        return False
    for (ra, aa, pa, rule_a), (rb, ab, pb, rule_b) in zip(flat_a, flat_b):
        if ra != rb or aa != ab or pa != pb or not rule_a.same_as(rule_b.effect, rule_b.attributes):
            return False
    return True


def views_equivalent(a, b):
    return rules_equal(a.flat_rules(), b.flat_rules())


# ---------------------------------------------------------------------------------------------------
# Operations and the simulation of their effect on the PAP (ARGUS.md 4 and 5)
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


def _bump(version):
    try:
        return str(int(version) + 1)
    except (TypeError, ValueError):
        return version


def sim_ban(view, ids, attr_id, value, resource, action, public):
    """Apply the PAP's HL ``ban`` to the view. Returns True when the PAP changes something."""
    ps = view.policy_sets[0] if view.policy_sets else None
    if ps is None or ps.resource != resource:
        ps = VPolicySet(ids.new("policy set"), "1", resource, [])
        view.policy_sets.insert(0, ps)
    policy = ps.policies[0] if ps.policies else None
    if policy is None or policy.action != action or policy.public != public:
        policy = VPolicy(ids.new("policy"), "1", action, public, [])
        ps.policies.insert(0, policy)
        ps.version = _bump(ps.version)
    for rule in policy.rules:
        if rule.effect == DENY and rule.contains_literal(attr_id, value):
            return False
    policy.rules.insert(0, VRule(DENY, [(attr_id, value)], ids.new("rule")))
    policy.version = _bump(policy.version)
    return True


def _remove_policy(view, policy_id):
    for ps in view.policy_sets:
        for i, p in enumerate(ps.policies):
            if p.id == policy_id:
                del ps.policies[i]
                ps.version = _bump(ps.version)
                return True
    return False


def _unban_candidates(view, attr_id, value, resource, action, per_policy_set):
    """What the PAP's HL ``unban`` removes: [(policy, rule)].

    ARGUS.md 5.2 can be read two ways: the first action Policy of *each* resource PolicySet with that
    resource (``per_policy_set``), or only the first such Policy found across them. The planner only
    relies on ``unban`` when both readings remove the same rules.
    """
    found = []
    for ps in [s for s in view.policy_sets if s.resource == resource]:
        policy = next((p for p in ps.policies if p.action == action), None)
        if policy is None:
            continue
        rule = next((r for r in policy.rules if r.effect == DENY and r.contains_literal(attr_id, value)), None)
        if rule is not None:
            found.append((policy, rule))
        if not per_policy_set:
            break
    return found


def sim_unban(view, attr_id, value, resource, action, per_policy_set=True):
    """Apply the PAP's HL ``unban``; returns the list of (policy_id, rule) removed (empty = statusCode 1)."""
    removed = []
    for policy, rule in _unban_candidates(view, attr_id, value, resource, action, per_policy_set):
        policy.rules.remove(rule)
        removed.append((policy.id, rule))
        if not policy.rules:
            _remove_policy(view, policy.id)
        else:
            policy.version = _bump(policy.version)
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
    policy.version = _bump(policy.version)
    return op


# ---------------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------------

class Target:
    """One value to ban or unban: ``attr_id`` (subject|fqan), the input, and the literal sent on ban."""

    def __init__(self, attr_id, value, literal):
        self.attr_id = attr_id
        self.value = value
        self.literal = literal

    def matches(self, rule):
        if rule.effect != DENY or not rule.plain or rule.attributes[0][0] != self.attr_id:
            return False
        stored = rule.attributes[0][1]
        return stored == self.literal or values_equal(self.attr_id, stored, self.value)


def make_targets(subjects, fqans):
    """Validate every value up front (nothing is written when one is bad) and build the targets.

    Subjects are parsed as DNs (OpenSSL slash form or RFC 2253) and banned with the literal the PAP
    stores for the slash form (RFC 2253 without spaces), so every ban made by this collection is stored
    the same way whatever form the user typed.
    """
    targets = []
    errors = []
    for value in subjects or []:
        if value is None or not str(value).strip():
            errors.append("empty subject DN")
            continue
        try:
            dn = parse_dn(value)
        except DNError as err:
            errors.append("subject %r is not a valid DN: %s" % (value, getattr(err, "msg", str(err))))
            continue
        targets.append(Target("subject", value, dn.to_pap_literal()))
    for value in fqans or []:
        if value is None or not str(value).strip():
            errors.append("empty FQAN")
            continue
        value = str(value).strip()
        if not value.startswith("/"):
            errors.append("FQAN %r must start with '/' (for example /dteam/Role=NULL)" % value)
            continue
        targets.append(Target("fqan", value, value))
    if errors:
        raise PlanError("; ".join(errors))
    return targets


class Plan:
    def __init__(self, before, after, ops, warnings):
        self.before = before
        self.after = after
        self.ops = ops
        self.warnings = warnings

    @property
    def changed(self):
        return bool(self.ops) or to_spl(self.before) != to_spl(self.after)


def _first_policy_for(view, resource, action):
    ps = view.policy_sets[0] if view.policy_sets else None
    if ps is None or ps.resource != resource or not ps.policies:
        return None
    return ps.policies[0]


def plan_ban(view, ids, target, resource, action, public, warnings):
    """Ops that make ``target`` banned (plain Deny) for resource/action with the requested visibility."""
    for ps, p, r in view.iter_rules():
        if ps.resource == resource and p.action == action and p.public == public and target.matches(r):
            return []
    for ps, p, r in view.iter_rules():
        if ps.resource == resource and p.action == action and target.matches(r):
            warnings.append("%s %s is already banned by a %s policy in alias %s; adding a %s ban as requested"
                            % (target.attr_id, target.value, "public" if p.public else "private", view.alias,
                               "public" if public else "private"))
            break
    # Would the server's ban be a no-op because a compound Deny rule in the policy it picks contains the
    # literal? Then insert the plain rule ourselves, version-locked, at the top of that policy.
    first = _first_policy_for(view, resource, action)
    if first is not None and first.public == public and \
            any(r.effect == DENY and r.contains_literal(target.attr_id, target.literal) for r in first.rules):
        rule = VRule(DENY, [(target.attr_id, target.literal)], ids.new("rule"))
        return [_update_op(view, first, [rule] + first.rules,
                           "a compound deny rule in this policy contains %s; ban would not add a plain rule"
                           % target.literal)]
    op = Op(HL_SERVICE, "ban", {"alias": view.alias, "id": target.attr_id, "value": target.literal,
                                "resource": resource, "action": action, "public": public})
    sim_ban(view, ids, target.attr_id, target.literal, resource, action, public)
    return [op]


def plan_unban(view, target, resource, action, warnings, max_steps=1000):
    """Ops removing every plain Deny rule for ``target`` under resource/action (any visibility)."""
    ops = []
    for _step in range(max_steps):
        found = [(ps, p, r) for ps, p, r in view.iter_rules()
                 if ps.resource == resource and p.action == action and target.matches(r)]
        if not found:
            break
        ps, policy, rule = found[0]
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
    for ps, p, r in view.iter_rules():
        if ps.resource == resource and p.action == action and r.effect == DENY and not r.plain and \
                r.contains(target.attr_id, target.value):
            warnings.append("compound deny rule %s in alias %s (resource %s, action %s) also names %s; it is "
                            "left in place (remove it with rules/state=absent)"
                            % (r.id, view.alias, ps.resource, p.action, target.value))
    return ops


class RuleSpec:
    """A desired rule: resource, action, visibility, effect and ANDed attributes [(spl_id, value)]."""

    def __init__(self, effect, attributes, resource=".*", action=".*", public=True):
        self.effect = effect.lower()
        self.attributes = list(attributes)
        self.resource = resource
        self.action = action
        self.public = public

    def key(self):
        return (self.resource, self.action, self.public)


def make_rule_specs(rules, default_resource=".*", default_action=".*", default_public=True):
    """Validate the ``rules`` option (list of dicts) into RuleSpec objects; raises PlanError."""
    specs = []
    errors = []
    for n, rule in enumerate(rules or []):
        where = "rules[%d]" % n
        effect = (rule.get("effect") or DENY).lower()
        if effect not in (DENY, PERMIT):
            errors.append("%s: effect must be deny or permit" % where)
            continue
        attrs = rule.get("attributes") or {}
        if not attrs:
            errors.append("%s: at least one attribute is required" % where)
            continue
        pairs = []
        for key in sorted(attrs):
            values = attrs[key]
            if not isinstance(values, list):
                values = [values]
            for value in values:
                if value is None or not str(value).strip():
                    errors.append("%s: empty value for attribute %s" % (where, key))
                    continue
                value = str(value)
                if key in DN_ATTRIBUTES:
                    try:
                        value = parse_dn(value).to_pap_literal()
                    except DNError as err:
                        errors.append("%s: %s %r is not a valid DN: %s" % (where, key, value, getattr(err, "msg", err)))
                        continue
                pairs.append((key, value))
        resource = rule.get("resource")
        action = rule.get("action")
        public = rule.get("public")
        specs.append(RuleSpec(effect, pairs, default_resource if resource is None else resource,
                              default_action if action is None else action,
                              default_public if public is None else public))
    if errors:
        raise PlanError("; ".join(errors))
    return specs


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
    prefix = "public" if spec.public else "private"
    for ps in view.policy_sets:
        if ps.resource == spec.resource:
            index = 0 if deny else len(ps.policies)
            op = Op(XACML_SERVICE, "addPolicy",
                    {"alias": view.alias, "index": index, "policy_set_id": ps.id, "policy_id_prefix": prefix,
                     "action": spec.action, "rules": [rule.to_dict()]},
                    payload={"policy": policy, "policy_set": ps})
            ps.policies.insert(index, policy)
            ps.version = _bump(ps.version)
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


def plan_exclusive(view, ids, specs):
    """Make the alias's rules exactly ``specs`` (in order) without any moment with an empty policy.

    Order of operations: (1) every new resource PolicySet is added at the top of the root PolicySet
    (``addPolicySet`` at index 0, 1, ... then ``addPolicies`` into it), so the complete new policy is in
    force above the old one; (2) only then are the old action Policies and resource PolicySets removed with
    ``removeObjectByIdAndReferences``. At every step the alias holds at least the new policy (or the old one).
    """
    desired = VTree(view.alias, [])
    for resource, policies in _group(specs):
        ps = VPolicySet(ids.new("policy set"), "1", resource, [])
        for (action, public), rule_specs in policies:
            ps.policies.append(VPolicy(ids.new("policy"), "1", action, public,
                                       [VRule(s.effect, s.attributes, ids.new("rule")) for s in rule_specs]))
        desired.policy_sets.append(ps)
    if views_equivalent(view, desired):
        return []
    ops = []
    old = list(view.policy_sets)
    for index, ps in enumerate(desired.policy_sets):
        ops.append(Op(XACML_SERVICE, "addPolicySet", {"alias": view.alias, "index": index, "resource": ps.resource,
                                                      "policy_set_id": ps.id},
                      payload={"policy_set": VPolicySet(ps.id, ps.version, ps.resource, [])}))
        ops.append(Op(XACML_SERVICE, "addPolicies",
                      {"alias": view.alias, "index": 0, "policy_set_id": ps.id,
                       "policy_id_prefixes": ["public" if p.public else "private" for p in ps.policies],
                       "actions": [p.action for p in ps.policies],
                       "rules": [[r.to_dict() for r in p.rules] for p in ps.policies]},
                      payload={"policies": list(ps.policies), "policy_set": ps}))
        view.policy_sets.insert(index, ps)
    for ps in old:
        for p in list(ps.policies):
            ops.append(Op(XACML_SERVICE, "removeObjectByIdAndReferences",
                          {"alias": view.alias, "id": p.id, "reason": "exclusive: replaced"}))
            sim_remove(view, p.id)
        ops.append(Op(XACML_SERVICE, "removeObjectByIdAndReferences",
                      {"alias": view.alias, "id": ps.id, "reason": "exclusive: replaced"}))
        sim_remove(view, ps.id)
    return ops


def plan(view, targets=(), rule_specs=(), state="present", resource=".*", action=".*", public=True,
         exclusive=False):
    """Full plan for the ``argus_policy`` module. ``view`` is not modified."""
    before = view
    after = view.copy()
    ids = _Ids()
    ops = []
    warnings = []
    if exclusive:
        if state != "present":
            raise PlanError("exclusive=true needs state=present")
        specs = [RuleSpec(DENY, [(t.attr_id, t.literal)], resource, action, public) for t in targets]
        specs.extend(rule_specs)
        ops.extend(plan_exclusive(after, ids, specs))
    elif state == "present":
        for target in targets:
            ops.extend(plan_ban(after, ids, target, resource, action, public, warnings))
        for spec in rule_specs:
            ops.extend(plan_rule_present(after, ids, spec))
    else:
        for target in targets:
            ops.extend(plan_unban(after, target, resource, action, warnings))
        for spec in rule_specs:
            ops.extend(plan_rule_absent(after, spec))
    return Plan(before, after, ops, warnings)
