# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""What to ban or which rules to hold, from the Argus modules' options: checked DNs, FQANs and rule specs.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

``make_targets`` turns subjects and FQANs into ``Target`` objects (a DN parsed, checked for unknown attribute
types and proxy RDNs, with the keys a stored rule is compared by); ``make_rule_specs`` checks the ``rules``
option of exclusive mode. Errors are ``PlanError`` with a message meant for the operator.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib

from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_view import (
    DENY,
    DN_ATTRIBUTES,
    PERMIT,
    PlanError,
    RULE_ATTRIBUTES,
    value_key,
)
from ansible_collections.gridsec.ops.plugins.module_utils._dn import DNError, check_known_types, parse_dn
from ansible_collections.gridsec.ops.plugins.module_utils._dn_proxy import strip_proxy_rdns


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
    ``allow_single_rdn``. Trailing proxy CNs are removed as ``strip_proxy`` says (``_dn_proxy.strip_proxy_rdns``:
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
