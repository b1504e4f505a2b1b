# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""XACML 2.0 model of what an Argus PAP stores (its SPL text: ``_argus/spl.py``).

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

The tree of one PAP alias (argus-pap ``PapContainer.createRootPolicySet``, ``PolicySetWizard``, ``PolicyWizard``)::

    root PolicySet (id "<alias>-<uuid>", empty Target)
     +- PolicySetIdReference -> resource PolicySet (ResourceMatch regexp on resource-id)
          +- PolicyIdReference -> action Policy ("public_<uuid>" / "private_<uuid>", ActionMatch regexp;
               ids made by the XACML service are "<prefix>-<uuid>": see policy_id_is_public)
               +- Rule (Effect Deny|Permit; Target/Subjects/Subject/SubjectMatch..., matches ANDed)

Everything is evaluated first-applicable, so the order of references and rules is significant and kept.
Objects parse from lxml elements (by namespace + local name, any prefix) and render back to schema-valid
XACML 2.0 elements with the ``xacml:`` prefix the PAP itself uses (``to_element``: ``_argus/xacml_write.py``,
imported when first used, so that a module that only reads does not compile it under AnsiballZ).
"""

import copy

from ansible_collections.gridsec.ops.plugins.module_utils._argus.attributes import (
    ACTION,
    ACTION_ID,
    ATTRIBUTE_MAPPINGS,
    ENVIRONMENT,
    FIRST_APPLICABLE_POLICY,
    FIRST_APPLICABLE_RULE,
    RESOURCE,
    RESOURCE_ID,
    SPL_BY_XACML_ID,
    STRING,
    STRING_EQUAL,
    SUBJECT,
    X500NAME,
)
from ansible_collections.gridsec.ops.plugins.module_utils._xml import etree, local_name

XACML_NS = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"
XACML_PREFIX = "xacml"


# Target sections in schema order: element name (capitalised) -> container / item / match / designator names.
_SECTIONS = (
    (SUBJECT, "Subjects", "Subject", "SubjectMatch", "SubjectAttributeDesignator"),
    (RESOURCE, "Resources", "Resource", "ResourceMatch", "ResourceAttributeDesignator"),
    (ACTION, "Actions", "Action", "ActionMatch", "ActionAttributeDesignator"),
    (ENVIRONMENT, "Environments", "Environment", "EnvironmentMatch", "EnvironmentAttributeDesignator"),
)
_SECTION_BY_MATCH = dict((s[3], s) for s in _SECTIONS)


def policy_id_is_public(policy_id):
    """Whether the PAP treats a policy as public (exported to pulling PAPs), by ``PolicyWizard.isPublic``: the id
    is split on ``_`` (Java ``String.split``, trailing empty tokens dropped) and the policy is private only when
    there are several tokens and the first is exactly ``private``.

    So ``private_<uuid>`` (made by ``ban``/SPL) is private, but ``private-<uuid>`` (what the XACML service's
    ``addPolicy``/``storePolicy`` make of the prefix ``private``: ``WizardUtils.generateId``) is public and is
    exported. The id alone decides; nothing else is consulted.
    """
    tokens = (policy_id or "").split("_")
    while len(tokens) > 1 and tokens[-1] == "":
        tokens.pop()
    return not (len(tokens) > 1 and tokens[0] == "private")


class XacmlError(ValueError):
    """An XACML element that does not have the shape the model expects."""


_XACML_TAG_PREFIX = "{%s}" % XACML_NS


def _q(name):
    return _XACML_TAG_PREFIX + name


_ANY_XACML_TAG = "{%s}*" % XACML_NS


def _xacml_children(element, name=None):
    # lxml filters by qualified tag in C (comments and PIs never match): a policy read from a PAP has about ten
    # such lookups per rule, so a Python-level scan of the children was most of the cost of reading it
    return list(element.iterchildren(_ANY_XACML_TAG if name is None else _q(name)))


def _first(element, name):
    return next(element.iterchildren(_q(name)), None)


def _firsts(element, *names):
    """``{name: first XACML child with that local name, or None}`` for ``names``, in one pass over the children."""
    found = dict.fromkeys(names)
    start = len(_XACML_TAG_PREFIX)
    for item in element.iterchildren(_ANY_XACML_TAG):
        name = item.tag[start:]
        if name in found and found[name] is None:
            found[name] = item
    return found


def _text(element):
    return "" if element is None or element.text is None else element.text


class Attribute(object):
    """One attribute match of a Target: SPL id + value, with the XACML ids it maps to.

    Unknown SPL ids need the XACML fields given explicitly; unknown XACML ids read from a PAP keep the XACML
    AttributeId verbatim as their ``attribute_id_spl``.
    """

    __slots__ = ("attribute_id_spl", "value", "xacml_id", "datatype", "match_id", "element")

    def __init__(self, attribute_id_spl, value, xacml_id=None, datatype=None, match_id=None, element=None):
        mapping = ATTRIBUTE_MAPPINGS.get(attribute_id_spl)
        if mapping is None and xacml_id is None:
            # Accept an XACML AttributeId in place of the SPL id (e.g. read from a reply).
            spl = SPL_BY_XACML_ID.get(attribute_id_spl)
            if spl is not None:
                attribute_id_spl, mapping = spl, ATTRIBUTE_MAPPINGS[spl]
        if mapping is None:
            mapping = (attribute_id_spl, STRING, STRING_EQUAL, SUBJECT)
        self.attribute_id_spl = attribute_id_spl
        self.value = value
        self.xacml_id = xacml_id or mapping[0]
        self.datatype = datatype or mapping[1]
        self.match_id = match_id or mapping[2]
        self.element = element or mapping[3]

    @property
    def id(self):
        """The SPL attribute id (``subject``, ``fqan``...)."""
        return self.attribute_id_spl

    @property
    def is_dn(self):
        return self.datatype == X500NAME

    def as_pair(self):
        return (self.attribute_id_spl, self.value)

    def to_dict(self):
        return {"id": self.attribute_id_spl, "value": self.value, "xacml_id": self.xacml_id,
                "datatype": self.datatype, "match_id": self.match_id}

    def _key(self):
        return (self.attribute_id_spl, self.value, self.xacml_id, self.datatype, self.match_id, self.element)

    def __eq__(self, other):
        return isinstance(other, Attribute) and self._key() == other._key()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return "Attribute(%r, %r)" % (self.attribute_id_spl, self.value)

    @classmethod
    def from_match(cls, match):
        """From a ``<xacml:SubjectMatch>`` (or Resource/Action/Environment match) element."""
        section = _SECTION_BY_MATCH.get(local_name(match))
        if section is None:
            raise XacmlError("not a match element: %s" % local_name(match))
        found = _firsts(match, "AttributeValue", section[4])
        value_el, designator = found["AttributeValue"], found[section[4]]
        if value_el is None or designator is None:
            raise XacmlError("%s without AttributeValue or %s" % (section[3], section[4]))
        xacml_id = designator.get("AttributeId")
        spl_id = SPL_BY_XACML_ID.get(xacml_id, xacml_id)
        return cls(spl_id, _text(value_el), xacml_id=xacml_id,
                   datatype=value_el.get("DataType") or designator.get("DataType"),
                   match_id=match.get("MatchId"), element=section[0])

    def to_match(self, parent):
        """Append the match element (``<xacml:SubjectMatch>``...) to ``parent`` and return it."""
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml_write import attribute_match

        return attribute_match(self, parent)


def parse_target(target):
    """Attributes of a ``<xacml:Target>`` in document order (None/empty Target -> []).

    The PAP writes exactly one Subject/Resource/Action per section, whose matches are ANDed. Targets with
    several alternatives (OR) are not produced by the PAP; their matches are returned flat.
    """
    attributes = []
    if target is None:
        return attributes
    # one pass over the Target's children (usually a lone <Subjects>), then the sections in schema order
    containers = _xacml_children(target)
    for section in _SECTIONS:
        tag = _q(section[1])
        for container in containers:
            if container.tag == tag:
                for item in container.iterchildren(_q(section[2])):
                    for match in item.iterchildren(_q(section[3])):
                        attributes.append(Attribute.from_match(match))
    return attributes


class Obligation(object):
    """An XACML obligation: id, FulfillOn effect and ``(attribute_id, datatype, value)`` assignments."""

    def __init__(self, obligation_id, fulfill_on="Deny", assignments=()):
        self.obligation_id = obligation_id
        self.fulfill_on = _effect(fulfill_on)
        # (AttributeId, DataType, value); a missing DataType means xs:string, as rendered.
        self.assignments = [(a[0], a[1] or STRING, a[2]) for a in assignments]

    def __eq__(self, other):
        return (isinstance(other, Obligation) and self.obligation_id == other.obligation_id
                and self.fulfill_on == other.fulfill_on and self.assignments == other.assignments)

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return "Obligation(%r, %r)" % (self.obligation_id, self.fulfill_on)

    def to_dict(self):
        return {"id": self.obligation_id, "fulfill_on": self.fulfill_on,
                "assignments": [{"id": a, "datatype": d, "value": v} for a, d, v in self.assignments]}

    @classmethod
    def from_element(cls, element):
        assignments = [(a.get("AttributeId"), a.get("DataType"), _text(a))
                       for a in _xacml_children(element, "AttributeAssignment")]
        return cls(element.get("ObligationId"), element.get("FulfillOn") or "Deny", assignments)

    def to_element(self, parent):
        """Append the ``<xacml:Obligation>`` to ``parent`` and return it."""
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml_write import obligation_element

        return obligation_element(self, parent)


def _parse_obligations(element):
    container = _first(element, "Obligations")
    if container is None:
        return []
    return [Obligation.from_element(o) for o in _xacml_children(container, "Obligation")]


def _effect(effect):
    """'deny'/'Deny'/'DENY' -> 'Deny' (XACML spelling); anything else is an error."""
    text = str(effect).strip().lower()
    if text == "deny":
        return "Deny"
    if text == "permit":
        return "Permit"
    raise XacmlError("effect must be Deny or Permit, not %r" % (effect,))


def _description(element, found=False):
    """Text of the first ``<Description>`` child (``found``: that child, already looked up), None without one."""
    if found is False:
        found = _first(element, "Description")
    return None if found is None else _text(found)


class Rule(object):
    """A rule: id, effect (``"Deny"``/``"Permit"``) and its target attributes (ANDed)."""

    def __init__(self, rule_id, effect, attributes, description=None, condition=None):
        self.rule_id = rule_id
        self.effect = _effect(effect)
        self.attributes = list(attributes)
        self.description = description
        # A <Condition> is never written by the PAP's own tools; kept verbatim so a round trip loses nothing.
        self.condition = condition

    @property
    def id(self):
        return self.rule_id

    @property
    def deny(self):
        return self.effect == "Deny"

    @property
    def permit(self):
        return self.effect == "Permit"

    def contains(self, attribute_id, value):
        """True if one of the (ANDed) attributes is exactly ``attribute_id = value`` (literal comparison)."""
        return any(a.attribute_id_spl == attribute_id and a.value == value for a in self.attributes)

    def __repr__(self):
        return "Rule(%r, %r, %r)" % (self.rule_id, self.effect, self.attributes)

    def __eq__(self, other):
        return (isinstance(other, Rule) and self.rule_id == other.rule_id and self.effect == other.effect
                and self.attributes == other.attributes and self.description == other.description)

    def __ne__(self, other):
        return not self == other

    def to_dict(self):
        return {"id": self.rule_id, "effect": self.effect.lower(),
                "attributes": [{"id": a.attribute_id_spl, "value": a.value} for a in self.attributes]}

    @classmethod
    def from_element(cls, element):
        found = _firsts(element, "Condition", "Target", "Description")
        condition = found["Condition"]
        return cls(element.get("RuleId"), element.get("Effect") or "", parse_target(found["Target"]),
                   description=_description(element, found["Description"]),
                   condition=copy.deepcopy(condition) if condition is not None else None)

    def to_element(self, parent=None):
        """The ``<xacml:Rule>`` (appended to ``parent`` when given)."""
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml_write import rule_element

        return rule_element(self, parent)


class Policy(object):
    """An action-level policy: id (``public_``/``private_`` prefix), version, action regexp, rules in order.

    ``target_attributes`` holds target matches other than the action-id one (rare; kept for round trips).
    """

    def __init__(self, policy_id, version, action, rules, description=None, obligations=(),
                 rule_combining_alg=FIRST_APPLICABLE_RULE, target_attributes=()):
        self.policy_id = policy_id
        self.version = None if version is None else str(version)
        self.action = action
        self.rules = list(rules)
        self.description = description
        self.obligations = list(obligations)
        self.rule_combining_alg = rule_combining_alg
        self.target_attributes = list(target_attributes)

    @property
    def id(self):
        return self.policy_id

    @property
    def public(self):
        """Visibility as the PAP decides it (``policy_id_is_public``)."""
        return policy_id_is_public(self.policy_id)

    def __repr__(self):
        return "Policy(%r, version=%r, action=%r, %d rules)" % (self.policy_id, self.version, self.action,
                                                                len(self.rules))

    def __eq__(self, other):
        return (isinstance(other, Policy) and self.policy_id == other.policy_id and self.version == other.version
                and self.action == other.action and self.rules == other.rules
                and self.description == other.description and self.obligations == other.obligations
                and self.target_attributes == other.target_attributes)

    def __ne__(self, other):
        return not self == other

    @classmethod
    def from_element(cls, element):
        if local_name(element) != "Policy":
            raise XacmlError("expected xacml:Policy, got %s" % local_name(element))
        action = None
        others = []
        for attribute in parse_target(_first(element, "Target")):
            if action is None and attribute.element == ACTION and attribute.xacml_id == ACTION_ID:
                action = attribute.value
            else:
                others.append(attribute)
        return cls(element.get("PolicyId"), element.get("Version"), action,
                   [Rule.from_element(r) for r in _xacml_children(element, "Rule")],
                   description=_description(element), obligations=_parse_obligations(element),
                   rule_combining_alg=element.get("RuleCombiningAlgId") or FIRST_APPLICABLE_RULE,
                   target_attributes=others)

    def to_element(self, parent=None):
        """The ``<xacml:Policy>`` (appended to ``parent`` when given)."""
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml_write import policy_element

        return policy_element(self, parent)


class PolicySet(object):
    """A PolicySet: the root one (no resource) or a resource one; ``references`` in evaluation order.

    Each reference is ``("policyset", id)`` or ``("policy", id)``.
    """

    def __init__(self, policy_set_id, version, resource, references, description=None, obligations=(),
                 policy_combining_alg=FIRST_APPLICABLE_POLICY, target_attributes=()):
        self.policy_set_id = policy_set_id
        self.version = None if version is None else str(version)
        self.resource = resource
        self.references = [tuple(item) for item in references]
        for kind, _ref in self.references:
            if kind not in ("policyset", "policy"):
                raise XacmlError("reference kind must be 'policyset' or 'policy', not %r" % (kind,))
        self.description = description
        self.obligations = list(obligations)
        self.policy_combining_alg = policy_combining_alg
        self.target_attributes = list(target_attributes)

    @property
    def id(self):
        return self.policy_set_id

    @property
    def policy_ids(self):
        return [ref for kind, ref in self.references if kind == "policy"]

    @property
    def policy_set_ids(self):
        return [ref for kind, ref in self.references if kind == "policyset"]

    def __repr__(self):
        return "PolicySet(%r, version=%r, resource=%r, %r)" % (self.policy_set_id, self.version, self.resource,
                                                               self.references)

    def __eq__(self, other):
        return (isinstance(other, PolicySet) and self.policy_set_id == other.policy_set_id
                and self.version == other.version and self.resource == other.resource
                and self.references == other.references and self.description == other.description
                and self.obligations == other.obligations and self.target_attributes == other.target_attributes)

    def __ne__(self, other):
        return not self == other

    @classmethod
    def from_element(cls, element, inline_sink=None):
        """Parse a ``<xacml:PolicySet>``.

        Inline ``<Policy>``/``<PolicySet>`` children (as in a ProvisioningService reply) become references;
        when ``inline_sink`` (a ``PapPolicyTree``) is given the inline objects are parsed and added to it.
        """
        if local_name(element) != "PolicySet":
            raise XacmlError("expected xacml:PolicySet, got %s" % local_name(element))
        resource = None
        others = []
        for attribute in parse_target(_first(element, "Target")):
            if resource is None and attribute.element == RESOURCE and attribute.xacml_id == RESOURCE_ID:
                resource = attribute.value
            else:
                others.append(attribute)
        references = []
        for item in _xacml_children(element):
            name = local_name(item)
            if name == "PolicySetIdReference":
                references.append(("policyset", _text(item).strip()))
            elif name == "PolicyIdReference":
                references.append(("policy", _text(item).strip()))
            elif name == "PolicySet":
                child = PolicySet.from_element(item, inline_sink)
                references.append(("policyset", child.policy_set_id))
                if inline_sink is not None:
                    inline_sink.policy_sets[child.policy_set_id] = child
            elif name == "Policy":
                child = Policy.from_element(item)
                references.append(("policy", child.policy_id))
                if inline_sink is not None:
                    inline_sink.policies[child.policy_id] = child
        return cls(element.get("PolicySetId"), element.get("Version"), resource, references,
                   description=_description(element), obligations=_parse_obligations(element),
                   policy_combining_alg=element.get("PolicyCombiningAlgId") or FIRST_APPLICABLE_POLICY,
                   target_attributes=others)

    def to_element(self, parent=None):
        """The ``<xacml:PolicySet>`` (appended to ``parent`` when given)."""
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml_write import policy_set_element

        return policy_set_element(self, parent)


class PapPolicyTree(object):
    """The policies of one PAP alias: root PolicySet + every PolicySet and Policy by id."""

    def __init__(self, alias, root, policy_sets=None, policies=None):
        self.alias = alias
        self.root = root
        self.policy_sets = dict(policy_sets or {})
        self.policies = dict(policies or {})

    @classmethod
    def from_lists(cls, alias, root, policy_sets, policies):
        """From ``getRootPolicySet`` + ``listPolicySets`` (which includes the root) + ``listPolicies``."""
        sets = dict((ps.policy_set_id, ps) for ps in policy_sets)
        if root is not None:
            sets.setdefault(root.policy_set_id, root)
        return cls(alias, root, sets, dict((p.policy_id, p) for p in policies))

    def iter_rules(self):
        """``(resource PolicySet, Policy, Rule)`` in evaluation order, following references from the root.

        Nested PolicySets (a PDP-merged tree: root -> per-PAP root -> resource sets) are walked depth-first;
        references to objects that are not in the tree are skipped (see ``dangling_references``).
        """
        for policy_set, policy in self.iter_policies():
            for rule in policy.rules:
                yield policy_set, policy, rule

    def iter_policies(self):
        """``(PolicySet, Policy)`` in evaluation order."""
        if self.root is None:
            return
        seen = set()
        stack = [(self.root, 0)]
        # Explicit depth-first walk with an index per level (no recursion limit, cycles guarded).
        while stack:
            policy_set, index = stack.pop()
            if index >= len(policy_set.references):
                continue
            stack.append((policy_set, index + 1))
            kind, ref = policy_set.references[index]
            if kind == "policy":
                policy = self.policies.get(ref)
                if policy is not None:
                    yield policy_set, policy
            else:
                child = self.policy_sets.get(ref)
                if child is not None and ref not in seen:
                    seen.add(ref)
                    stack.append((child, 0))

    def resource_policy_sets(self):
        """PolicySets referenced from the root, in order (the resource level)."""
        if self.root is None:
            return []
        return [self.policy_sets[ref] for kind, ref in self.root.references
                if kind == "policyset" and ref in self.policy_sets]

    def dangling_references(self):
        """``(PolicySet id, kind, missing id)`` for references to objects not in the tree."""
        missing = []
        for policy_set in self.policy_sets.values():
            for kind, ref in policy_set.references:
                table = self.policies if kind == "policy" else self.policy_sets
                if ref not in table:
                    missing.append((policy_set.policy_set_id, kind, ref))
        return missing

    def find_rules(self, attribute_id=None, value=None, effect=None, resource=None, action=None, public=None,
                   value_equal=None):
        """Rules matching every given criterion, as ``(PolicySet, Policy, Rule)`` in evaluation order.

        ``value_equal(a, b)`` replaces literal value comparison (e.g. semantic DN equality).
        """
        found = []
        for policy_set, policy, rule in self.iter_rules():
            if effect is not None and rule.effect != _effect(effect):
                continue
            if resource is not None and policy_set.resource != resource:
                continue
            if action is not None and policy.action != action:
                continue
            if public is not None and policy.public != bool(public):
                continue
            if attribute_id is not None or value is not None:
                if not any(_attribute_matches(a, attribute_id, value, value_equal) for a in rule.attributes):
                    continue
            found.append((policy_set, policy, rule))
        return found

    def find_bans(self, attribute_id, value, value_equal=None):
        """Deny rules with ``attribute_id = value`` anywhere in the tree."""
        return self.find_rules(attribute_id=attribute_id, value=value, effect="Deny", value_equal=value_equal)

    def to_spl(self, show_ids=False):
        """The tree as SPL text, like ``pap-admin list-policies`` (with ``id=`` lines when ``show_ids``)."""
        # the SPL renderer is loaded when used: reading a tree (argus_policy_info) does not need it
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.spl import tree_to_spl

        return tree_to_spl(self, show_ids)


def _attribute_matches(attribute, attribute_id, value, value_equal):
    if attribute_id is not None and attribute.attribute_id_spl != attribute_id and attribute.xacml_id != attribute_id:
        return False
    if value is None:
        return True
    if value_equal is not None:
        return bool(value_equal(attribute.value, value))
    return attribute.value == value


def element_to_bytes(element, pretty=False):
    """Serialise an element (UTF-8, no XML declaration)."""
    return etree.tostring(element, encoding="UTF-8", pretty_print=pretty)
