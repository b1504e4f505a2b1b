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


# Java exception classes of argus-pap; Axis 1 turns an exception thrown by a service method into a
# fault whose faultstring is ``exception.toString()`` = "<class name>: <message>".
PAP_EXCEPTION = "org.glite.authz.pap.common.exceptions.PAPException"
PAP_MANAGER_EXCEPTION = "org.glite.authz.pap.papmanagement.PapManagerException"
NOT_FOUND = "org.glite.authz.pap.repository.exceptions.NotFoundException"
ALREADY_EXISTS = "org.glite.authz.pap.repository.exceptions.AlreadyExistsException"
INVALID_VERSION = "org.glite.authz.pap.repository.exceptions.InvalidVersionException"
REPOSITORY_EXCEPTION = "org.glite.authz.pap.repository.exceptions.RepositoryException"
XACML_SERVICE_EXCEPTION = "org.glite.authz.pap.services.XACMLPolicyManagementServiceException"
HIGHLEVEL_SERVICE_EXCEPTION = "org.glite.authz.pap.services.HighLevelPolicyManagementServiceException"
AUTHZ_EXCEPTION = "org.glite.authz.pap.authz.exceptions.PAPAuthzException"
DISTRIBUTION_CONFIG_EXCEPTION = "org.glite.authz.pap.distribution.DistributionConfigurationException"
UNSUPPORTED_ATTRIBUTE = "org.glite.authz.pap.common.xacml.wizard.exceptions.UnsupportedAttributeException"
NULL_POINTER = "java.lang.NullPointerException"
ILLEGAL_ARGUMENT = "java.lang.IllegalArgumentException"


class PapError(Exception):
    """An exception of the PAP, reported as a SOAP fault "<java class>: <message>"."""

    java_class = PAP_EXCEPTION

    def __init__(self, message=None, java_class=None):
        super().__init__(message)
        self.message = message
        if java_class:
            self.java_class = java_class

    def __str__(self):
        return self.faultstring

    @property
    def faultstring(self):
        # Throwable.toString(): the class name alone when the message is null
        return self.java_class if self.message is None else "%s: %s" % (self.java_class, self.message)


class AuthzError(PapError):
    java_class = AUTHZ_EXCEPTION


class NotFound(PapError):
    java_class = NOT_FOUND


def _java_split(text, sep):
    """Java ``String.split`` with a literal separator: trailing empty parts are dropped, leading ones kept."""
    parts = text.split(sep)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def openssl_to_rfc2253(dn):
    """canl ``OpensslNameUtils.opensslToRfc2253(dn, false)`` (ARGUS.md §5.3): refuse fewer than 2 characters
    or no leading '/', escape ',', split on '/' the Java way (``"/DC=org/CN=a/"`` has no empty last part,
    ``"//CN=a"`` an empty first RDN), glue parts without '=' to the previous RDN, reverse, join with ','."""
    if len(dn) < 2 or not dn.startswith("/"):
        raise ValueError("The string '%s' is not a valid OpenSSL-encoded DN" % dn)
    text = dn.replace(",", "\\,")
    parts = _java_split(text, "/")
    if len(parts) < 2:
        return text[1:]
    avas = [parts[1]]
    for part in parts[2:]:
        if "=" in part:
            avas.append(part)
        else:
            avas[-1] += "/" + part
    return ",".join(reversed(avas))


def x500_value(value):
    """``AttributeWizard.setValue`` for an x500Name attribute: null -> NullPointerException (``isEmpty()`` on
    null), "" -> PAPException, a slash DN through canl (its IllegalArgumentException -> PAPException),
    anything else verbatim."""
    if value is None:
        raise PapError(None, NULL_POINTER)
    if value == "":
        raise PapError("The string passed as argument is empty!")
    if not value.startswith("/"):
        return value
    try:
        return openssl_to_rfc2253(value)
    except ValueError:
        raise PapError("The string passed as argument is not a valid certificate subject!") from None


@dataclasses.dataclass(frozen=True)
class Attribute:
    """An SPL attribute (id, value) with the PAP's value conversion applied."""

    name: str
    value: str

    @classmethod
    def make(cls, name, value):
        if name not in ATTRIBUTES:  # AttributeWizard(identifier, value)
            raise PapError("id=%s" % name, UNSUPPORTED_ATTRIBUTE)
        if ATTRIBUTES[name].datatype == X500:
            return cls(name, x500_value(value))
        return cls(name, "" if value is None else value)  # lab: a null string value is kept as ""

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
    """PolicyWizard.isPublic: split the id on '_'; a single token is public, otherwise private only
    when the first token is exactly "private". So "private-<uuid>" (what addPolicy/storePolicy make
    of the prefix "private") is PUBLIC and is exported downstream."""
    tokens = (policy_id or "").split("_")
    if len(tokens) == 1:
        return True
    return tokens[0] != "private"


def generate_id(prefix=None):
    """WizardUtils.generateId: prefix + "-" + uuid, or a bare uuid for a null/empty prefix."""
    return "%s-%s" % (prefix, new_uuid()) if prefix else new_uuid()


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


def _delete_reference(ps, kind, ref_id):
    """PolicySetHelper.delete{Policy,PolicySet}Reference: remove the first matching reference."""
    for c in children(ps):
        if local(c) == kind and (c.text or "").strip() == ref_id:
            ps.remove(c)
            return True
    return False


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
        if pid not in self.policies:  # Get{Local,Remote}PolicyOperation
            raise NotFound("Policy '%s' not found." % pid)
        return self.policies[pid]

    def get_policyset(self, psid):
        if psid not in self.policysets:
            raise NotFound("PolicySet '%s' not found." % psid)
        return self.policysets[psid]

    def count(self):
        """PapContainer.getNumberOfPolicies: the number of RULES of all policies (what /pap/status shows)."""
        return sum(len(rules(p)) for p in self.policies.values())

    def all_policysets(self):
        """PapContainer.getAllPolicySets: the root first."""
        return [self.root] + [ps for psid, ps in self.policysets.items() if psid != self.root_id]

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

    # -- generic tree edits (PapContainer) ---------------------------------------------------------
    def remove_policy_and_references(self, pid):
        """PapContainer.removePolicyAndReferences: drop every reference (bumping the PolicySet), a
        PolicySet left without policy references is removed with its references, then the policy."""
        if pid not in self.policies:
            raise NotFound('PolicyId "%s" does not exists' % pid)
        already_removed = False
        for ps in list(self.all_policysets()):
            if ps.get("PolicySetId") not in self.policysets:
                continue
            if _delete_reference(ps, "PolicyIdReference", pid):
                if not ref_ids(ps, "PolicyIdReference"):
                    self.remove_policyset_and_references(ps.get("PolicySetId"))
                    already_removed = True
                else:
                    bump_version(ps)
        # when the PolicySet went, removePolicySetAndReferences re-read it from the DAO (still holding
        # the reference) and deleted the policy with it; otherwise it is deleted here
        del already_removed
        self.policies.pop(pid, None)

    def remove_policyset_and_references(self, psid):
        """PapContainer.removePolicySetAndReferences: unreference it from the root (bump), delete it and
        every policy it references."""
        if psid not in self.policysets:
            raise NotFound('PolicySetId "%s" does not exists' % psid)
        if _delete_reference(self.root, "PolicySetIdReference", psid):
            bump_version(self.root)
        ps = self.policysets.pop(psid)
        for pid in ref_ids(ps, "PolicyIdReference"):
            if pid not in self.policies:
                raise NotFound("Not found: policyId=%s" % pid)
            del self.policies[pid]

    def remove_object_and_references(self, oid):
        """RemoveObjectByIdAndReferencesOperation: a policy, a PolicySet or a RULE id."""
        if oid is None:
            raise PapError("id is null", XACML_SERVICE_EXCEPTION)
        if oid == self.root_id:
            raise PapError("Invalid operation: cannot remove the local PAP root policy set", REPOSITORY_EXCEPTION)
        if oid in self.policies:
            self.remove_policy_and_references(oid)
            return True
        if oid in self.policysets:
            self.remove_policyset_and_references(oid)
            return True
        for policy in self.policies.values():
            for rule in rules(policy):
                if rule.get("RuleId") == oid:
                    policy.remove(rule)
                    if not rules(policy):
                        self.remove_policy_and_references(policy.get("PolicyId"))
                    else:
                        bump_version(policy)
                    return True
        raise NotFound("Id not found: %s" % oid)

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
        """AddRuleOperation.doExecute (the caller has checked the scope and the attributes). Returns the
        new rule id."""
        if action_id is None and action_value is None:
            raise PapError("Action id and action value are both unspecified.", XACML_SERVICE_EXCEPTION)
        effect = "Permit" if permit else "Deny"
        rule = make_rule(effect, attrs)
        if action_id is None:
            action_id = self._action_id(action_value, resource_value, move_after, obligation_value, obligation_scope)
        policy = self.policies.get(action_id)
        if policy is None:  # papContainer.getPolicy -> FileSystemPolicyDAO.getById
            raise NotFound("Not found: policyId=%s" % action_id)
        if obligation_value is not None:
            if obligation_scope == "action":
                holder = policy
            else:
                holder = self._find_resource_policyset(resource_value)
            if holder is not None and obligation_value not in _obligation_ids(holder):
                _set_obligations(holder, obligation_value)  # replaces the Obligations element
        index = 0
        if rule_id is not None:
            ids = [r.get("RuleId") for r in rules(policy)]
            if rule_id not in ids:
                raise PapError("ruleId not found: %s" % rule_id, XACML_SERVICE_EXCEPTION)
            index = ids.index(rule_id) + (1 if move_after else 0)
        elif move_after:
            index = -1
        insert_child(policy, index, rule, _RULE_KINDS)
        bump_version(policy)
        return rule.get("RuleId")

    def _find_resource_policyset(self, resource_value):
        """AddRuleOperation.findResourcePolicySet: the PolicySet (root skipped) whose resource value
        equals resource_value; more than one is an error."""
        if resource_value is None:
            raise PapError(None, NULL_POINTER)
        found = None
        for ps in self.all_policysets()[1:]:
            if _target_value(ps, "ResourceMatch") == resource_value:
                if found is not None:
                    raise PapError("More than one resource policy sets match the given resource id!",
                                   HIGHLEVEL_SERVICE_EXCEPTION)
                found = ps
        return found

    def _action_id(self, action_value, resource_value, bottom, obligation_value, obligation_scope):
        """AddRuleOperation.getActionId: find or create the resource PolicySet and the action Policy;
        new ones go to the top, or to the bottom with moveAfter."""
        ps = self._find_resource_policyset(resource_value)
        if ps is None:
            ps = make_resource_policyset(Attribute.make("resource", resource_value))
            if obligation_value is not None and obligation_scope == "resource":
                _set_obligations(ps, obligation_value)
            self.policysets[ps.get("PolicySetId")] = ps
            add_reference(self.root, -1 if bottom else 0, "PolicySetIdReference", ps.get("PolicySetId"))
            bump_version(self.root)
            return self._create_action(ps, action_value, bottom, obligation_value, obligation_scope)
        target = None
        for pid in ref_ids(ps, "PolicyIdReference"):
            policy = self.policies.get(pid)
            if policy is None:
                raise NotFound("Not found: policyId=%s" % pid)
            if _target_value(policy, "ActionMatch") == action_value:
                if target is not None:
                    raise PapError("More than one action with the same value", HIGHLEVEL_SERVICE_EXCEPTION)
                target = policy
        if target is None:
            return self._create_action(ps, action_value, bottom, obligation_value, obligation_scope)
        return target.get("PolicyId")

    def _create_action(self, ps, action_value, bottom, obligation_value, obligation_scope):
        policy = make_action_policy(Attribute.make("action", action_value), True)
        if obligation_value is not None and obligation_scope == "action":
            _set_obligations(policy, obligation_value)
        self.policies[policy.get("PolicyId")] = policy
        add_reference(ps, -1 if bottom else 0, "PolicyIdReference", policy.get("PolicyId"))
        bump_version(ps)
        return policy.get("PolicyId")

    def purge(self, unref_policies, empty_policies, unref_sets, empty_sets):
        """PurgeOperation, in the source's order."""
        if unref_policies:  # purgeUnreferencesPolicies: not referenced by any PolicySet
            referenced = set()
            for ps in self.policysets.values():
                referenced.update(ref_ids(ps, "PolicyIdReference"))
            for pid in [p for p in self.policies if p not in referenced]:
                del self.policies[pid]
        if empty_policies:  # purgePoliciesWithNoRules
            for pid in [p for p, el in self.policies.items() if not rules(el)]:
                if pid in self.policies:
                    self.remove_policy_and_references(pid)
        if unref_sets:  # purgeUnreferencedPolicySets: not referenced by the ROOT
            keep = {self.root_id} | set(ref_ids(self.root, "PolicySetIdReference"))
            for psid in [i for i in self.policysets if i not in keep]:
                del self.policysets[psid]
        if empty_sets:  # purgePolicySetWithNoPolicies
            for psid in [i for i, el in self.policysets.items() if i != self.root_id
                         and not ref_ids(el, "PolicyIdReference")]:
                if psid in self.policysets:
                    self.remove_policyset_and_references(psid)


def _target_value(el, match_tag):
    """PolicySetWizard.getResourceValue / PolicyWizard.getActionValue: the value of the first match."""
    target = target_of(el)
    if target is None:
        return None
    for match in target.iter(xacml(match_tag)):
        value = match.find(xacml("AttributeValue"))
        return (value.text or "") if value is not None else None
    return None


def _obligation_ids(el):
    obligations = el.find(xacml("Obligations"))
    if obligations is None:
        return []
    return [o.get("ObligationId") for o in obligations if isinstance(o.tag, str) and local(o) == "Obligation"]


def _set_obligations(el, obligation_id):
    """setObligations(ObligationsHelper.build() + one ObligationWizard(id)): FulfillOn Permit."""
    old = el.find(xacml("Obligations"))
    if old is not None:
        el.remove(old)
    obligations = _el("Obligations", parent=el)
    _el("Obligation", {"ObligationId": obligation_id, "FulfillOn": "Permit"}, parent=obligations)


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
        return "%s://%s:%s%s" % (self.protocol or "https", self.hostname or "localhost", self.port or "8150", path)
