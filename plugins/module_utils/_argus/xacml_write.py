# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Rendering of the XACML 2.0 model (``_argus.xacml``) back to schema-valid elements.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

``Rule.to_element``, ``Policy.to_element``, ``PolicySet.to_element``, ``Obligation.to_element`` and
``Attribute.to_match`` call these functions. They live apart from the model because under AnsiballZ every imported
module_util is compiled on every run, and a module that only reads policies (``argus_policy_info``) never renders
one. Elements get the ``xacml:`` prefix the PAP itself uses; a ``Rule``'s ``<Condition>`` is copied verbatim.
"""

import copy

from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import (
    _SECTIONS,
    XACML_NS,
    XACML_PREFIX,
    Attribute,
    _q,
)
from ansible_collections.gridsec.ops.plugins.module_utils._xml import etree

_SECTION_BY_NAME = dict((s[0], s) for s in _SECTIONS)


def _new(name, parent=None, **attrs):
    """A new ``xacml:<name>`` element (as a child of ``parent`` when given)."""
    if parent is None:
        element = etree.Element(_q(name), nsmap={XACML_PREFIX: XACML_NS})
    else:
        element = etree.SubElement(parent, _q(name))
    for key, value in attrs.items():
        if value is not None:
            element.set(key, str(value))
    return element


def attribute_match(attribute, parent):
    """Append the match element of ``attribute`` (``<xacml:SubjectMatch>``...) to ``parent`` and return it."""
    section = _SECTION_BY_NAME[attribute.element]
    match = _new(section[3], parent, MatchId=attribute.match_id)
    value = _new("AttributeValue", match, DataType=attribute.datatype)
    value.text = attribute.value
    _new(section[4], match, AttributeId=attribute.xacml_id, DataType=attribute.datatype)
    return match


def render_target(parent, attributes):
    """Append a schema-valid ``<xacml:Target>`` holding ``attributes`` (ANDed) to ``parent``."""
    target = _new("Target", parent)
    for section in _SECTIONS:
        mine = [a for a in attributes if a.element == section[0]]
        if mine:
            item = _new(section[2], _new(section[1], target))
            for attribute in mine:
                attribute_match(attribute, item)
    return target


def obligation_element(obligation, parent):
    """Append the ``<xacml:Obligation>`` of ``obligation`` to ``parent`` and return it."""
    element = _new("Obligation", parent, ObligationId=obligation.obligation_id, FulfillOn=obligation.fulfill_on)
    for attribute_id, datatype, value in obligation.assignments:
        _new("AttributeAssignment", element, AttributeId=attribute_id, DataType=datatype).text = value
    return element


def _render_obligations(parent, obligations):
    if obligations:
        container = _new("Obligations", parent)
        for obligation in obligations:
            obligation_element(obligation, container)


def rule_element(rule, parent=None):
    """The ``<xacml:Rule>`` of ``rule`` (appended to ``parent`` when given)."""
    element = _new("Rule", parent, RuleId=rule.rule_id, Effect=rule.effect)
    if rule.description is not None:
        _new("Description", element).text = rule.description
    render_target(element, rule.attributes)
    if rule.condition is not None:
        element.append(copy.deepcopy(rule.condition))
    return element


def policy_element(policy, parent=None):
    """The ``<xacml:Policy>`` of ``policy`` (appended to ``parent`` when given)."""
    element = _new("Policy", parent, PolicyId=policy.policy_id, RuleCombiningAlgId=policy.rule_combining_alg,
                   Version=policy.version)
    if policy.description is not None:
        _new("Description", element).text = policy.description
    attributes = list(policy.target_attributes)
    if policy.action is not None:
        attributes.insert(0, Attribute("action", policy.action))
    render_target(element, attributes)
    for rule in policy.rules:
        rule_element(rule, element)
    _render_obligations(element, policy.obligations)
    return element


def policy_set_element(policy_set, parent=None):
    """The ``<xacml:PolicySet>`` of ``policy_set`` (appended to ``parent`` when given)."""
    element = _new("PolicySet", parent, PolicySetId=policy_set.policy_set_id,
                   PolicyCombiningAlgId=policy_set.policy_combining_alg, Version=policy_set.version)
    if policy_set.description is not None:
        _new("Description", element).text = policy_set.description
    attributes = list(policy_set.target_attributes)
    if policy_set.resource is not None:
        attributes.insert(0, Attribute("resource", policy_set.resource))
    render_target(element, attributes)
    for kind, ref in policy_set.references:
        _new("PolicySetIdReference" if kind == "policyset" else "PolicyIdReference", element).text = ref
    _render_obligations(element, policy_set.obligations)
    return element
