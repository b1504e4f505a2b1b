# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The policy view of the Argus modules: one PAP alias's policy tree as plain objects.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

``view_from_tree()`` turns the client's ``PapPolicyTree`` into a small view (``VTree`` -> ``VPolicySet`` ->
``VPolicy`` -> ``VRule``) that keeps a reference to the model object each node came from (``source``), so that
writes preserve what the view does not model (obligations, descriptions). Also here: the view's SPL rendering
(``to_spl``, as ``pap-admin list-policies`` prints it), its dict form, the banned values of an alias, the
semantic comparison of two views, and the conversion back to the XACML model. The planner
(``_argus.policy_plan``) simulates writes on this view.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.gridsec.ops.plugins.module_utils._argus.attributes import ATTRIBUTE_MAPPINGS, DN_ATTRIBUTE_IDS
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import Attribute, Policy, PolicySet, Rule

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
# Attributes whose values are X.500 names (DataType x500Name in the PAP's attribute mappings).
DN_ATTRIBUTES = DN_ATTRIBUTE_IDS
# SPL attribute ids a rule may test (argus-pap ``src/main/config/attribute-mappings.ini``): every id of the PAP's
# attribute mappings except ``resource`` and ``action``, which are the targets of the resource PolicySet and the
# action Policy (options resource/action).
RULE_ATTRIBUTES = tuple(sorted(k for k in ATTRIBUTE_MAPPINGS if k not in ("resource", "action")))

# The policy id prefixes (PUBLIC_ID_PREFIX, PRIVATE_ID_PREFIX) are in _argus/ids.py.

DENY = "deny"
PERMIT = "permit"


class PlanError(Exception):
    """Invalid input detected while planning (raised before anything is written)."""


def spl_attribute_id(attribute_id):
    """Return the SPL id for an XACML AttributeId (or the id itself when it is already SPL/unknown)."""
    return XACML_TO_SPL.get(attribute_id, attribute_id)


_DN_CACHE = {}
_DN_CACHE_MAX = 200000


def _stored_dn(value):
    """``parse_stored_dn(value)`` or None, computed once per distinct literal (planning compares every requested
    value with every stored one through these keys, so no DN is parsed twice)."""
    try:
        return _DN_CACHE[value]
    except KeyError:
        pass
    except TypeError:  # unhashable: not a string
        return None
    # imported at the first DN value, not with this file: reading a tree without DN rules (argus_policy_info on a
    # PAP without bans) then does not compile the DN parser
    from ansible_collections.gridsec.ops.plugins.module_utils._dn import DNError, parse_stored_dn

    try:
        dn = parse_stored_dn(value)
        found = (dn, ("dn", dn.canonical()))
    except DNError:
        found = None
    if len(_DN_CACHE) < _DN_CACHE_MAX:
        _DN_CACHE[value] = found
    return found


def value_key(attr_id, value):
    """Hashable comparison key of an attribute value: two values are ``values_equal`` exactly when their keys
    are equal. DNs key on their canonical form (RFC 4518-lite, any notation, PAP literals included), a DN that
    does not parse on its literal; other attributes on the literal."""
    if attr_id in DN_ATTRIBUTES:
        found = _stored_dn(value)
        if found is not None:
            return (attr_id,) + found[1]
    return (attr_id, "literal", value)


def values_equal(attr_id, a, b):
    """Semantic equality of two attribute values: DNs by canonical form, everything else literally."""
    return a == b or value_key(attr_id, a) == value_key(attr_id, b)


def slash_form(attr_id, value):
    """Normalised display form of a value: OpenSSL slash form for DNs whenever the stored literal parses (also a
    PAP literal with unescaped ``"`` ``<`` ``>``), else the stored value unchanged; other attributes unchanged."""
    if attr_id in DN_ATTRIBUTES:
        found = _stored_dn(value)
        if found is not None:
            return found[0].to_openssl()
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

    def plain_key(self):
        """``value_key`` of the single attribute of a plain rule (None for a compound rule)."""
        if len(self.attributes) != 1:
            return None
        return value_key(self.attributes[0][0], self.attributes[0][1])

    def contains_literal(self, attr_id, value):
        return any(a == attr_id and v == value for a, v in self.attributes)

    def contains(self, attr_id, value):
        return any(a == attr_id and values_equal(a, v, value) for a, v in self.attributes)

    def same_as(self, effect, attributes):
        """Semantic equality with a rule given as effect + attribute list (attributes are ANDed: order-free)."""
        if self.effect != effect.lower() or len(self.attributes) != len(attributes):
            return False
        mine = sorted(value_key(a, v) for a, v in self.attributes)
        return mine == sorted(value_key(a, v) for a, v in attributes)

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
        self._index = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_index"] = None  # rebuilt on demand; never copied
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    def index(self):
        """The ``RuleIndex`` (``_argus/rule_index.py``) of the current rules (rebuilt when ``rules`` was replaced or
        changed size behind the mutators below)."""
        stamp = (id(self.rules), len(self.rules))
        if self._index is None or self._index.stamp != stamp:
            # imported at the first use (planning), not with this file: reading a tree does not need it
            from ansible_collections.gridsec.ops.plugins.module_utils._argus.rule_index import RuleIndex

            self._index = RuleIndex(self.rules)
            self._index.stamp = stamp
        return self._index

    def insert_first(self, rule):
        index = self.index()
        self.rules.insert(0, rule)
        index.add(rule, first=True)
        index.stamp = (id(self.rules), len(self.rules))

    def remove_rule(self, rule):
        index = self.index()
        self.rules.remove(rule)
        index.remove(rule)
        index.stamp = (id(self.rules), len(self.rules))

    def plain_matches(self, target):
        """Plain deny rules of this policy that ``target`` names, in policy order."""
        index = self.index()
        found = []
        for key in target.keys:
            for rule in index.plain.get(key, ()):
                if rule.attributes[0][0] == target.attr_id and not any(rule is f for f in found):
                    found.append(rule)
        if len(target.keys) > 1 and len(found) > 1:
            position = dict((id(r), n) for n, r in enumerate(self.rules))
            found.sort(key=lambda r: position[id(r)])
        return found

    def first_deny_with(self, attr_id, value):
        """The first deny rule (plain or compound) holding exactly ``attr_id = value`` (None when none)."""
        bucket = self.index().literal.get((attr_id, value))
        return bucket[0] if bucket else None


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


def view_policy(policy):
    """The view of one model ``Policy``."""
    rules = [VRule(r.effect, [(a.attribute_id_spl, a.value) for a in r.attributes], r.rule_id, source=r)
             for r in policy.rules]
    return VPolicy(policy.policy_id, policy.version, policy.action, policy.public, rules, source=policy)


def view_from_tree(tree, alias=None):
    """The view of a ``PapPolicyTree`` (resource PolicySets referenced by the root, their Policies, rules)."""
    sets = []
    for ps in tree.resource_policy_sets():
        policies = [view_policy(tree.policies[ref]) for kind, ref in ps.references
                    if kind == "policy" and ref in tree.policies]
        sets.append(VPolicySet(ps.policy_set_id, ps.version, ps.resource, policies, source=ps))
    root = tree.root
    return VTree(alias if alias is not None else tree.alias, sets,
                 root_id=root.policy_set_id if root is not None else None,
                 root_version=root.version if root is not None else None, source=tree)


def is_placeholder(object_id):
    return object_id is None or object_id.startswith("(new ")


def _new_uuid():
    # uuid is loaded here, not at import: only writes name new objects (argus_policy_info never does)
    import uuid

    return uuid.uuid4()


def to_model_rule(rule):
    if rule.source is not None:
        return rule.source
    return Rule(str(_new_uuid()), rule.effect, [Attribute(a, v) for a, v in rule.attributes])


def to_model_policy(policy, new_version=True):
    """Model ``Policy`` for a view policy. Existing policies keep everything the view does not model; for an
    ``updatePolicy`` the Version sent is the locked version + 1."""
    rules = [to_model_rule(r) for r in policy.rules]
    if policy.source is not None:
        model = copy.copy(policy.source)
        model.rules = rules
        model.version = bump_version(policy.version) if new_version else policy.version
        return model
    prefix = "public_" if policy.public else "private_"
    policy_id = "%s%s" % (prefix, _new_uuid()) if is_placeholder(policy.id) else policy.id
    return Policy(policy_id, "1", policy.action, rules)


def to_model_policy_set(policy_set):
    """Model ``PolicySet`` (without references) for a new resource PolicySet."""
    ps_id = str(_new_uuid()) if is_placeholder(policy_set.id) else policy_set.id
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


def bump_version(version):
    try:
        return str(int(version) + 1)
    except (TypeError, ValueError):
        return version
