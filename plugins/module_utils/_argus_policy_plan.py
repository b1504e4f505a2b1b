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

import copy
import difflib
import uuid

from ansible_collections.gridsec.ops.plugins.module_utils._argus_xacml import (
    ATTRIBUTE_MAPPINGS,
    DN_ATTRIBUTE_IDS,
    Attribute,
    Policy,
    PolicySet,
    Rule,
)
from ansible_collections.gridsec.ops.plugins.module_utils._dn import (
    DNError,
    check_known_types,
    parse_dn,
    parse_stored_dn,
    strip_proxy_rdns,
)

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

# Private policies made through the XACML service: the PAP names them ``prefix + "-" + uuid``
# (WizardUtils.generateId) but decides visibility by splitting the id on ``_`` (PolicyWizard.isPublic), so the
# prefix ``private`` would give a *public* ``private-<uuid>`` policy. ``private_`` gives ``private_-<uuid>``,
# which the PAP (and ``Policy.public``) reads as private.
PUBLIC_ID_PREFIX = "public"
PRIVATE_ID_PREFIX = "private_"

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


class _RuleIndex:
    """Lookups into the rules of one policy, so that planning never scans a policy once per requested value.

    ``plain``: ``value_key`` -> plain deny rules with that value (policy order); ``literal``: ``(attr, literal)``
    -> deny rules (plain or compound) holding that exact attribute (what the PAP's ``ban``/``unban`` look for);
    ``compound``: the deny rules with several attributes.
    """

    def __init__(self, rules):
        self.plain = {}
        self.literal = {}
        self.compound = []
        for rule in rules:
            self.add(rule, first=False)
        self.stamp = None

    def add(self, rule, first):
        if rule.effect != DENY:
            return
        entries = []
        if rule.plain:
            entries.append((self.plain, rule.plain_key()))
        else:
            entries.append(None)
        for pair in set(rule.attributes):
            entries.append((self.literal, pair))
        for entry in entries:
            if entry is None:
                if first:
                    self.compound.insert(0, rule)
                else:
                    self.compound.append(rule)
                continue
            table, key = entry
            bucket = table.setdefault(key, [])
            if first:
                bucket.insert(0, rule)
            else:
                bucket.append(rule)

    def remove(self, rule):
        if rule.effect != DENY:
            return
        if rule.plain:
            self._drop(self.plain, rule.plain_key(), rule)
        else:
            self.compound = [r for r in self.compound if r is not rule]
        for pair in set(rule.attributes):
            self._drop(self.literal, pair, rule)

    @staticmethod
    def _drop(table, key, rule):
        bucket = table.get(key)
        if bucket is not None:
            bucket[:] = [r for r in bucket if r is not rule]
            if not bucket:
                del table[key]


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
        """The ``_RuleIndex`` of the current rules (rebuilt when ``rules`` was replaced or changed size behind
        the mutators below)."""
        stamp = (id(self.rules), len(self.rules))
        if self._index is None or self._index.stamp != stamp:
            self._index = _RuleIndex(self.rules)
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
    prefix = "public_" if policy.public else "private_"
    policy_id = "%s%s" % (prefix, uuid.uuid4()) if _is_placeholder(policy.id) else policy.id
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


def _bump(version):
    try:
        return str(int(version) + 1)
    except (TypeError, ValueError):
        return version


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
            ps.version = _bump(ps.version)
    policy.insert_first(VRule(DENY, [(attr_id, value)], ids.new("rule")))
    if not new_policy:
        policy.version = _bump(policy.version)
    return True


def _remove_policy(view, policy_id):
    """The PAP's ``removePolicyAndReferences`` (PapContainer): the policy goes, and a resource PolicySet left
    without any policy goes with it (used by ``unban`` and ``removeObjectByIdAndReferences``)."""
    for n, ps in enumerate(view.policy_sets):
        for i, p in enumerate(ps.policies):
            if p.id == policy_id:
                del ps.policies[i]
                if ps.policies:
                    ps.version = _bump(ps.version)
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
    """One value to ban or unban: ``attr_id`` (subject|fqan), the input, and the literal sent on ban.

    ``keys``: the ``value_key`` of the literal and of the input (one key for almost every DN), computed once; a
    stored plain rule names the target when its key is one of them.
    """

    def __init__(self, attr_id, value, literal, dn=None):
        self.attr_id = attr_id
        self.value = value
        self.literal = literal
        # for an unban: why the subject would be refused for a ban (an unknown attribute type), see
        # removable_only_if_stored
        self.type_error = None
        keys = [value_key(attr_id, literal)]
        if dn is not None:
            keys.append((attr_id, "dn", dn.canonical()))
        else:
            keys.append(value_key(attr_id, value))
        self.keys = tuple(sorted(set(keys), key=repr))

    def matches(self, rule):
        if rule.effect != DENY or not rule.plain or rule.attributes[0][0] != self.attr_id:
            return False
        return rule.plain_key() in self.keys


def check_subject_dn(value, what="subject", allow_single_rdn=False, strip_proxy="legacy", warnings=None,
                     stripped_rdns=None, strict=True):
    """Parse and vet one subject DN given by the user; returns the ``DistinguishedName`` to use.

    Raises ``PlanError`` for a DN that does not parse, names an unknown attribute type (``CM=...``: see
    ``_dn.check_known_types``) or has a single RDN (a certificate subject has several; a single ``CN=...`` is
    what Ansible makes of a DN string given where a list is expected, split on its commas) unless
    ``allow_single_rdn``. Trailing proxy CNs are removed as ``strip_proxy`` says (``_dn.strip_proxy_rdns``:
    ``legacy``, ``all`` or ``none``; the PEP authorises the end-entity DN, so a ban of a proxy DN would never
    match); each removal adds a warning to ``warnings`` and ``{"input", "subject", "stripped"}`` to
    ``stripped_rdns`` when they are given. ``strict=False`` leaves the attribute types unchecked (see
    ``make_targets``).
    """
    if value is None or not str(value).strip():
        raise PlanError("empty %s DN" % what)
    try:
        dn = parse_dn(value, strict)
    except DNError as err:
        raise PlanError("%s %r is not a valid DN: %s" % (what, value, getattr(err, "msg", str(err))))
    end_entity, stripped = strip_proxy_rdns(dn, strip_proxy)
    if stripped:
        if warnings is not None:
            warnings.append("%s %r ends with proxy component(s) %s: the end-entity DN %s is used instead (the PEP "
                            "matches the end-entity DN, never a proxy's; set strip_proxy_rdns=none to keep them)"
                            % (what, value, ", ".join(stripped), end_entity.to_openssl()))
        if stripped_rdns is not None:
            stripped_rdns.append({"input": value, "subject": end_entity.to_openssl(), "stripped": stripped})
        dn = end_entity
    if len(dn) < 2 and not allow_single_rdn:
        raise PlanError("%s %r has a single RDN, which no certificate subject DN has: was a DN string split on its "
                        "commas (give subjects as a YAML list)? Set allow_single_rdn=true to use it anyway"
                        % (what, value))
    return dn


def make_targets(subjects, fqans, allow_single_rdn=False, strip_proxy="legacy", warnings=None, stripped_rdns=None,
                 state="present"):
    """Validate every value up front (nothing is written when one is bad) and build the targets.

    Subjects are parsed as DNs (OpenSSL slash form or RFC 2253), vetted by ``check_subject_dn`` (unknown
    attribute types and single-RDN DNs refused, proxy CNs stripped as ``strip_proxy`` says) and banned with the
    literal the PAP stores for the slash form (RFC 2253 without spaces), so every ban made by this collection is
    stored the same way whatever form the user typed. Stripped proxy CNs are reported in ``warnings`` and
    ``stripped_rdns`` when given.

    For ``state="absent"`` a subject with an unknown attribute type is kept with its ``type_error``: it may name a
    rule that an older version or another tool stored from a misspelt DN, which must stay removable;
    ``removable_only_if_stored`` refuses it once the PAP is read and holds no such rule.
    """
    targets = []
    errors = []
    strict = state != "absent"
    for value in subjects or []:
        try:
            dn = check_subject_dn(value, "subject", allow_single_rdn, strip_proxy, warnings, stripped_rdns, strict)
        except PlanError as err:
            errors.append(str(err))
            continue
        target = Target("subject", value, dn.to_pap_literal(), dn=dn)
        if not strict:
            try:
                check_known_types(dn, value)
            except DNError as err:
                target.type_error = "subject %r is not a valid DN: %s" % (value, err.msg)
        targets.append(target)
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
    if not _is_placeholder(predicted.id) and policy_id != predicted.id:
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
    if _is_placeholder(created):
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


def _unknown_attribute_message(where, key):
    hint = ""
    lowered = str(key).strip().lower()
    close = [name for name in RULE_ATTRIBUTES if name == lowered]
    if not close:
        close = difflib.get_close_matches(lowered, RULE_ATTRIBUTES, n=1)
    if close:
        hint = " (did you mean %s?)" % close[0]
    if key in ("resource", "action"):
        hint = " (the resource and action of a rule are its own options, not attributes)"
    return ("%s: unknown attribute %r%s; a rule never matches an attribute the PAP does not know. Allowed: %s"
            % (where, key, hint, ", ".join(RULE_ATTRIBUTES)))


def make_rule_specs(rules, default_resource=".*", default_action=".*", default_public=True, allow_single_rdn=False):
    """Validate the ``rules`` option (list of dicts) into RuleSpec objects; raises PlanError.

    Attribute names must be SPL ids of the PAP's attribute mappings (``RULE_ATTRIBUTES``); DN-valued ones are
    stored as the PAP literal of their slash form; ``subject`` values are vetted like ``subjects`` (no proxy
    stripping: a rule is written as given).
    """
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
        unknown = [key for key in sorted(attrs, key=str) if key not in RULE_ATTRIBUTES]
        if unknown:
            errors.extend(_unknown_attribute_message(where, key) for key in unknown)
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
                if key == "subject":
                    try:
                        value = check_subject_dn(value, "%s: subject" % where, allow_single_rdn,
                                                 strip_proxy="none").to_pap_literal()
                    except PlanError as err:
                        errors.append(str(err))
                        continue
                elif key in DN_ATTRIBUTES:
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
    prefix = PUBLIC_ID_PREFIX if spec.public else PRIVATE_ID_PREFIX
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


# The Description that marks the objects of suspension_list_sync (module_utils/_sync/argus.OWNER_MARK).
SYNC_OWNER_MARK = "gridsec.ops suspension_list_sync"


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
    policy.version = _bump(version)
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
    if ops[0].operation != "ban" or len(ops) - 1 < threshold or not _is_placeholder(target.id):
        return ops, 0
    # the first ban creates the policy; the version it then has is the PAP's (re-read before the update)
    return [ops[0], _bulk_update_op(view, target, _bump("1"), ops[1:])], 1


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
