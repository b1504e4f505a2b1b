"""XACML policy repository of the lab PAP: one :class:`AliasStore` per PAP alias.

Policies and PolicySets are kept as lxml elements in the XACML 2.0 namespace (prefix ``xacml``), the
way the real PAP keeps OpenSAML objects. The tree shape (ARGUS.md §4.1):

    root PolicySet "<alias>-<uuid>" --PolicySetIdReference--> resource PolicySet "<uuid>"
        --PolicyIdReference--> action Policy "public_<uuid>"/"private_<uuid>" --> Rules "<uuid>"
"""
import copy
import dataclasses
import os
import uuid

from lxml import etree

from .xmlutil import XACML, children, local, parse_xml, xacml

FIRST_APPLICABLE_PS = "urn:oasis:names:tc:xacml:1.0:policy-combining-algorithm:first-applicable"
FIRST_APPLICABLE_RULE = "urn:oasis:names:tc:xacml:1.0:rule-combining-algorithm:first-applicable"
X500 = "urn:oasis:names:tc:xacml:1.0:data-type:x500Name"
STRING = "http://www.w3.org/2001/XMLSchema#string"
FQAN_T = "http://glite.org/xacml/datatype/fqan"
F = "urn:oasis:names:tc:xacml:1.0:function:"
X500_EQ = F + "x500Name-equal"
STR_EQ = F + "string-equal"
REGEXP = F + "string-regexp-match"
FQAN_MATCH = "http://glite.org/xacml/algorithm/fqan-match"
NSMAP = {"xacml": XACML}


@dataclasses.dataclass(frozen=True)
class AttrDef:
    xacml_id: str
    datatype: str
    element: str  # subject | resource | action | environment
    match: str


# SPL attribute id -> XACML (the attribute-mappings.ini of the PAP, ARGUS.md §4.2)
ATTRIBUTES = {
    "subject": AttrDef("urn:oasis:names:tc:xacml:1.0:subject:subject-id", X500, "subject", X500_EQ),
    "subject-issuer": AttrDef("http://glite.org/xacml/attribute/subject-issuer", X500, "subject", X500_EQ),
    "x509-subject-issuer": AttrDef("http://glite.org/xacml/attribute/x509-subject-issuer", X500, "subject", X500_EQ),
    "x509-authn-profile": AttrDef("http://glite.org/xacml/attribute/x509-authn-profile", STRING, "subject", REGEXP),
    "vo": AttrDef("http://glite.org/xacml/attribute/virtual-organization", STRING, "subject", STR_EQ),
    "fqan": AttrDef("http://glite.org/xacml/attribute/fqan", FQAN_T, "subject", FQAN_MATCH),
    "pfqan": AttrDef("http://glite.org/xacml/attribute/fqan/primary", FQAN_T, "subject", FQAN_MATCH),
    "resource": AttrDef("urn:oasis:names:tc:xacml:1.0:resource:resource-id", STRING, "resource", REGEXP),
    "action": AttrDef("urn:oasis:names:tc:xacml:1.0:action:action-id", STRING, "action", REGEXP),
    "pilot-classifier": AttrDef("http://glite.org/xacml/attribute/pilot-job-classifier", STRING, "action", STR_EQ),
    "emi-subject-issuer": AttrDef("http://dci-sec.org/xacml/attribute/subject-issuer", X500, "subject", X500_EQ),
    "emi-x509-subject-issuer": AttrDef("http://dci-sec.org/xacml/attribute/x509-subject-issuer", X500, "subject",
                                       X500_EQ),
    "emi-x509-authn-profile": AttrDef("http://dci-sec.org/xacml/attribute/x509-authn-profile", STRING, "subject",
                                      REGEXP),
    "emi-vo": AttrDef("http://dci-sec.org/xacml/attribute/virtual-organization", STRING, "subject", STR_EQ),
    "emi-group": AttrDef("http://dci-sec.org/xacml/attribute/group", STRING, "subject", STR_EQ),
    "emi-primary-group": AttrDef("http://dci-sec.org/xacml/attribute/group/primary", STRING, "subject", STR_EQ),
    "emi-role": AttrDef("http://dci-sec.org/xacml/attribute/role", STRING, "subject", STR_EQ),
    "emi-primary-role": AttrDef("http://dci-sec.org/xacml/attribute/role/primary", STRING, "subject", STR_EQ),
    "emi-resource-owner": AttrDef("http://dci-sec.org/xacml/attribute/resource-owner", X500, "resource", STR_EQ),
}
for _name in ("issuer", "organisation", "subject", "group", "scope", "user-id", "client-id"):
    ATTRIBUTES["oidc-" + _name] = AttrDef("http://glite.org/xacml/attribute/oidc-" + _name, STRING, "subject", STR_EQ)

_ELEMENTS = {  # target element -> (plural, singular, match, designator)
    "subject": ("Subjects", "Subject", "SubjectMatch", "SubjectAttributeDesignator"),
    "resource": ("Resources", "Resource", "ResourceMatch", "ResourceAttributeDesignator"),
    "action": ("Actions", "Action", "ActionMatch", "ActionAttributeDesignator"),
    "environment": ("Environments", "Environment", "EnvironmentMatch", "EnvironmentAttributeDesignator"),
}
_TARGET_ORDER = ["subject", "resource", "action", "environment"]


class PapError(Exception):
    """An error the PAP reports as a SOAP fault (message = faultstring)."""


class AuthzError(PapError):
    pass


def openssl_to_rfc2253(dn):
    """canl ``opensslToRfc2253`` as the PAP applies it (ARGUS.md §5.3): escape ',', split on '/',
    glue parts without '=' back to the previous RDN, reverse, join with ',' (no spaces)."""
    text = dn.replace(",", "\\,")
    parts = []
    for piece in text.split("/")[1:]:
        if "=" in piece or not parts:
            parts.append(piece)
        else:
            parts[-1] += "/" + piece
    return ",".join(reversed([p for p in parts if p != ""]))


@dataclasses.dataclass(frozen=True)
class Attribute:
    """An SPL attribute (id, value) with the PAP's value conversion applied."""

    name: str
    value: str

    @classmethod
    def make(cls, name, value):
        if name not in ATTRIBUTES:
            raise PapError("Unknown attribute id: '%s'" % name)
        value = "" if value is None else value
        if ATTRIBUTES[name].datatype == X500 and value.startswith("/"):
            value = openssl_to_rfc2253(value)
        return cls(name, value)

    @property
    def definition(self):
        return ATTRIBUTES[self.name]

    def key(self):
        return (self.definition.xacml_id, self.value)


# -- element builders -----------------------------------------------------------------------------
def _el(tag, attrib=None, text=None, parent=None):
    el = etree.Element(xacml(tag), nsmap=NSMAP) if parent is None else etree.SubElement(parent, xacml(tag))
    for key, value in (attrib or {}).items():
        el.set(key, value)
    if text is not None:
        el.text = text
    return el


def build_target(attrs, parent=None):
    """A Target with one match per attribute, grouped by element (several attributes are ANDed)."""
    target = _el("Target", parent=parent)
    by_element = {}
    for attr in attrs:
        by_element.setdefault(attr.definition.element, []).append(attr)
    for element in _TARGET_ORDER:
        if element not in by_element:
            continue
        plural, singular, match_tag, designator = _ELEMENTS[element]
        group = _el(singular, parent=_el(plural, parent=target))
        for attr in by_element[element]:
            d = attr.definition
            match = _el(match_tag, {"MatchId": d.match}, parent=group)
            _el("AttributeValue", {"DataType": d.datatype}, attr.value, parent=match)
            _el(designator, {"AttributeId": d.xacml_id, "DataType": d.datatype}, parent=match)
    return target


def target_keys(target):
    """[(AttributeId, value)] of every match of a Target (None -> [])."""
    out = []
    if target is None:
        return out
    for match in target.iter(xacml("SubjectMatch"), xacml("ResourceMatch"), xacml("ActionMatch"),
                             xacml("EnvironmentMatch")):
        value = match.find(xacml("AttributeValue"))
        attr_id = None
        for c in children(match):
            if local(c).endswith("AttributeDesignator"):
                attr_id = c.get("AttributeId")
        out.append((attr_id, (value.text or "") if value is not None else ""))
    return out


def target_of(el):
    return el.find(xacml("Target"))


def target_equivalent(el, attrs):
    return sorted(target_keys(target_of(el))) == sorted(a.key() for a in attrs)


def new_uuid():
    return str(uuid.uuid4())


def make_root(pap_id):
    ps = _el("PolicySet", {"PolicySetId": pap_id, "PolicyCombiningAlgId": FIRST_APPLICABLE_PS, "Version": "0"})
    _el("Target", parent=ps)
    return ps


def make_resource_policyset(resource_attr):
    ps = _el("PolicySet", {"PolicySetId": new_uuid(), "PolicyCombiningAlgId": FIRST_APPLICABLE_PS, "Version": "1"})
    build_target([resource_attr], parent=ps)
    return ps


def make_action_policy(action_attr, public=True, prefix=None):
    prefix = prefix or ("public" if public else "private")
    policy = _el("Policy", {"PolicyId": prefix + "_" + new_uuid(), "RuleCombiningAlgId": FIRST_APPLICABLE_RULE,
                            "Version": "1"})
    build_target([action_attr], parent=policy)
    return policy


def make_rule(effect, attrs, rule_id=None):
    rule = _el("Rule", {"RuleId": rule_id or new_uuid(), "Effect": effect})
    build_target(attrs, parent=rule)
    return rule


def is_public_policy_id(policy_id):
    return not (policy_id or "").startswith("private")


def bump_version(el):
    old = el.get("Version") or "0"
    parts = old.split(".")
    try:
        parts[-1] = str(int(parts[-1]) + 1)
    except ValueError:
        parts = ["1"]
    el.set("Version", ".".join(parts))
    return old


def rules(policy):
    return [c for c in children(policy) if local(c) == "Rule"]


def rule_contains(rule, attr):
    return attr.key() in target_keys(target_of(rule))


def insert_child(parent, index, el, kinds):
    """Insert ``el`` at position ``index`` among the children of ``parent`` whose local names are in
    ``kinds`` (e.g. references), keeping Target/Description first and Obligations last."""
    same = [c for c in children(parent) if local(c) in kinds]
    if index is None or index < 0 or index >= len(same):
        if same:
            same[-1].addnext(el)
        else:
            anchor = None
            for c in children(parent):
                if local(c) in ("Description", "PolicySetDefaults", "PolicyDefaults", "Target"):
                    anchor = c
            if anchor is not None:
                anchor.addnext(el)
            else:
                parent.insert(0, el)
    else:
        same[index].addprevious(el)
    return el


_REF_KINDS = ("PolicySetIdReference", "PolicyIdReference", "PolicySet", "Policy")
_RULE_KINDS = ("Rule",)


def ref_ids(ps, kind):
    return [(c.text or "").strip() for c in children(ps) if local(c) == kind]


def add_reference(ps, index, kind, ref_id):
    ref = etree.Element(xacml(kind), nsmap=NSMAP)
    ref.text = ref_id
    insert_child(ps, index, ref, (kind,))
    return ref


def remove_reference(ps, ref_id):
    removed = False
    for c in children(ps):
        if local(c) in ("PolicySetIdReference", "PolicyIdReference") and (c.text or "").strip() == ref_id:
            ps.remove(c)
            removed = True
    return removed


def to_xacml_element(el, kind):
    """Accept a Policy/PolicySet element as sent by clients: either the XACML element itself (any
    prefix) or a wrapper (e.g. ``<policy PolicyId=...>`` from WSDL-driven clients) -> a fresh copy in
    the XACML namespace."""
    if el is None:
        raise PapError("Missing %s argument" % kind)
    if etree.QName(el).namespace == XACML and local(el) == kind:
        return _reprefix(copy.deepcopy(el))
    for c in children(el):
        if etree.QName(c).namespace == XACML and local(c) == kind:
            return _reprefix(copy.deepcopy(c))
    id_attr = "PolicyId" if kind == "Policy" else "PolicySetId"
    if el.get(id_attr) is not None:
        new = etree.Element(xacml(kind), nsmap=NSMAP)
        for k, v in el.attrib.items():
            if not k.startswith("{"):
                new.set(k, v)
        for c in children(el):
            new.append(_reprefix(copy.deepcopy(c)))
        return new
    raise PapError("Argument is not a XACML %s" % kind)


def _reprefix(el):
    """Re-serialise with the 'xacml' prefix (what OpenSAML emits)."""
    new = etree.Element(el.tag, nsmap=NSMAP)
    for k, v in el.attrib.items():
        new.set(k, v)
    new.text = el.text
    for c in el:
        if isinstance(c.tag, str):
            new.append(_reprefix(c))
        else:
            new.append(copy.deepcopy(c))
    new.tail = el.tail
    return new


class AliasStore:
    """The policies of one PAP alias (local repository or cache of a remote PAP)."""

    def __init__(self, root_id):
        self.root_id = root_id
        self.policysets = {root_id: make_root(root_id)}
        self.policies = {}

    # -- access ----------------------------------------------------------------------------------
    @property
    def root(self):
        return self.policysets[self.root_id]

    def get_policy(self, pid):
        if pid not in self.policies:
            raise PapError("Policy not found: '%s'" % pid)
        return self.policies[pid]

    def get_policyset(self, psid):
        if psid not in self.policysets:
            raise PapError("PolicySet not found: '%s'" % psid)
        return self.policysets[psid]

    def count(self):
        return len(self.policies)

    def erase(self):
        self.policysets = {self.root_id: make_root(self.root_id)}
        self.policies = {}

    # -- persistence -----------------------------------------------------------------------------
    def to_element(self, alias):
        el = etree.Element("{urn:gridsec:lab:argus}Repository", nsmap={"lab": "urn:gridsec:lab:argus", "xacml": XACML})
        el.set("alias", alias)
        el.set("root", self.root_id)
        for ps in self.policysets.values():
            el.append(copy.deepcopy(ps))
        for p in self.policies.values():
            el.append(copy.deepcopy(p))
        return el

    @classmethod
    def from_element(cls, el):
        store = cls(el.get("root"))
        store.policysets = {}
        for c in children(el):
            if local(c) == "PolicySet":
                store.policysets[c.get("PolicySetId")] = _reprefix(c)
            elif local(c) == "Policy":
                store.policies[c.get("PolicyId")] = _reprefix(c)
        if store.root_id not in store.policysets:
            store.policysets[store.root_id] = make_root(store.root_id)
        return store

    def save(self, path, alias):
        data = etree.tostring(self.to_element(alias), xml_declaration=True, encoding="UTF-8", pretty_print=True)
        tmp = path + ".tmp"
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path):
        with open(path, "rb") as handle:
            return cls.from_element(parse_xml(handle.read(), max_bytes=256 * 1024 * 1024))

    # -- generic tree edits ------------------------------------------------------------------------
    def remove_object_and_references(self, oid):
        found = False
        if oid in self.policies:
            del self.policies[oid]
            found = True
        elif oid in self.policysets and oid != self.root_id:
            ps = self.policysets.pop(oid)
            found = True
            # children referenced only from the removed PolicySet go with it (like the PAP does)
            for pid in ref_ids(ps, "PolicyIdReference"):
                if pid in self.policies and not self._referenced(pid):
                    del self.policies[pid]
        if found:
            for ps in self.policysets.values():
                if remove_reference(ps, oid):
                    bump_version(ps)
        return found

    def _referenced(self, oid):
        for ps in self.policysets.values():
            if oid in ref_ids(ps, "PolicyIdReference") or oid in ref_ids(ps, "PolicySetIdReference"):
                return True
        return False

    def parent_of(self, oid):
        for ps in self.policysets.values():
            if oid in ref_ids(ps, "PolicyIdReference") or oid in ref_ids(ps, "PolicySetIdReference"):
                return ps
        return None

    # -- high-level operations (ARGUS.md §5) -----------------------------------------------------
    def ban(self, attr, resource, action, public):
        """BanOperation: returns the policy id, or None when the first policy already denies attr."""
        root = self.root
        ps = None
        ps_ids = ref_ids(root, "PolicySetIdReference")
        if ps_ids and ps_ids[0] in self.policysets and target_equivalent(self.policysets[ps_ids[0]], [resource]):
            ps = self.policysets[ps_ids[0]]
        new_ps = ps is None
        if new_ps:
            ps = make_resource_policyset(resource)
        policy = None
        p_ids = ref_ids(ps, "PolicyIdReference")
        if p_ids and p_ids[0] in self.policies:
            cand = self.policies[p_ids[0]]
            if target_equivalent(cand, [action]) and is_public_policy_id(cand.get("PolicyId")) == bool(public):
                policy = cand
        if policy is not None:
            for rule in rules(policy):
                if rule.get("Effect") == "Deny" and rule_contains(rule, attr):
                    return None
            insert_child(policy, 0, make_rule("Deny", [attr]), _RULE_KINDS)
            bump_version(policy)
            return policy.get("PolicyId")
        policy = make_action_policy(action, public)
        insert_child(policy, 0, make_rule("Deny", [attr]), _RULE_KINDS)
        add_reference(ps, 0, "PolicyIdReference", policy.get("PolicyId"))
        if new_ps:
            self.policysets[ps.get("PolicySetId")] = ps
            add_reference(root, 0, "PolicySetIdReference", ps.get("PolicySetId"))
            bump_version(root)
        else:
            bump_version(ps)
        self.policies[policy.get("PolicyId")] = policy
        return policy.get("PolicyId")

    def unban(self, attr, resource, action):
        """UnbanOperation: 0 when a deny rule was removed, 1 when nothing matched."""
        target_sets = [self.policysets[i] for i in ref_ids(self.root, "PolicySetIdReference")
                       if i in self.policysets and target_equivalent(self.policysets[i], [resource])]
        if not target_sets:
            return 1
        policy = None
        for ps in target_sets:
            for pid in ref_ids(ps, "PolicyIdReference"):
                if pid in self.policies and target_equivalent(self.policies[pid], [action]):
                    policy = self.policies[pid]
                    break
            if policy is not None:
                break
        if policy is None:
            return 1
        for rule in rules(policy):
            if rule.get("Effect") == "Deny" and rule_contains(rule, attr):
                policy.remove(rule)
                if not rules(policy):
                    self.remove_object_and_references(policy.get("PolicyId"))
                else:
                    bump_version(policy)
                return 0
        return 1

    def add_rule(self, permit, attrs, action_value, resource_value, action_id=None, rule_id=None,
                 obligation_value=None, obligation_scope=None, move_after=False):
        """AddRuleOperation (simplified, ARGUS.md §2.2): add a rule next to ``rule_id`` / into the
        policy ``action_id``, or into the first resource/action policy matching, created at the top
        when missing. Returns the new rule id."""
        effect = "Permit" if permit else "Deny"
        rule = make_rule(effect, attrs)
        if rule_id:
            for policy in self.policies.values():
                for index, existing in enumerate(rules(policy)):
                    if existing.get("RuleId") == rule_id:
                        insert_child(policy, index + (1 if move_after else 0), rule, _RULE_KINDS)
                        bump_version(policy)
                        return rule.get("RuleId")
            raise PapError("Rule not found: '%s'" % rule_id)
        if action_id:
            policy = self.get_policy(action_id)
            insert_child(policy, None if move_after else 0, rule, _RULE_KINDS)
            bump_version(policy)
            return rule.get("RuleId")
        resource = Attribute.make("resource", resource_value if resource_value is not None else ".*")
        action = Attribute.make("action", action_value if action_value is not None else ".*")
        ps = None
        for psid in ref_ids(self.root, "PolicySetIdReference"):
            if psid in self.policysets and target_equivalent(self.policysets[psid], [resource]):
                ps = self.policysets[psid]
                break
        if ps is None:
            ps = make_resource_policyset(resource)
            self.policysets[ps.get("PolicySetId")] = ps
            add_reference(self.root, 0, "PolicySetIdReference", ps.get("PolicySetId"))
            bump_version(self.root)
        policy = None
        for pid in ref_ids(ps, "PolicyIdReference"):
            if pid in self.policies and target_equivalent(self.policies[pid], [action]):
                policy = self.policies[pid]
                break
        if policy is None:
            policy = make_action_policy(action, True)
            self.policies[policy.get("PolicyId")] = policy
            add_reference(ps, 0, "PolicyIdReference", policy.get("PolicyId"))
            bump_version(ps)
        insert_child(policy, None if move_after else 0, rule, _RULE_KINDS)
        if obligation_value:
            target = policy if (obligation_scope or "action").lower() != "resource" else ps
            obligations = target.find(xacml("Obligations"))
            if obligations is None:
                obligations = _el("Obligations", parent=target)
            _el("Obligation", {"ObligationId": obligation_value, "FulfillOn": effect}, parent=obligations)
        bump_version(policy)
        return rule.get("RuleId")

    def purge(self, unref_policies, empty_policies, unref_sets, empty_sets):
        if empty_policies:
            for pid in [p for p, el in self.policies.items() if not rules(el)]:
                self.remove_object_and_references(pid)
        if empty_sets:
            for psid in [i for i, el in self.policysets.items() if i != self.root_id
                         and not ref_ids(el, "PolicyIdReference") and not ref_ids(el, "PolicySetIdReference")]:
                self.remove_object_and_references(psid)
        if unref_policies:
            for pid in [p for p in self.policies if not self._referenced(p)]:
                del self.policies[pid]
        if unref_sets:
            for psid in [i for i in self.policysets if i != self.root_id and not self._referenced(i)]:
                del self.policysets[psid]


@dataclasses.dataclass
class Pap:
    alias: str
    id: str = None
    dn: str = None
    hostname: str = None
    port: str = None
    path: str = None
    protocol: str = None
    public: bool = False
    local: bool = True
    enabled: bool = False

    def endpoint(self):
        path = (self.path or "/pap/services/").rstrip("/")
        return "%s://%s:%s%s" % (self.protocol or "https", self.hostname, self.port or "8150", path)
