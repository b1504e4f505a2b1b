"""ProvisioningService: document/literal XACMLPolicyQuery (ARGUS.md §2.5, §9.1)."""
import copy
import datetime
import uuid

from lxml import etree

from ..model import (FIRST_APPLICABLE_PS, NSMAP, PapError, children, is_public_policy_id, local, ref_ids,
                     remove_reference, xacml)
from ..xmlutil import ENTITY_FORMAT, SAML, SAMLP, XACML, XACML_SAML, XSI, child
from . import READ_LOCAL, READ_REMOTE

SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"


class QueryError(PapError):
    pass


def check_query(query):
    """ServicesUtils.checkQuery: Version 2.0, Issuer present, Issuer Format (if set) entity.
    Returns True for a PAP query (Extensions present), False for a PDP query."""
    if local(query) != "XACMLPolicyQuery":
        raise QueryError("Expected an XACMLPolicyQuery, got '%s'" % local(query))
    if query.get("Version") != "2.0":
        raise QueryError("Wrong SAML version: '%s' (must be 2.0)" % query.get("Version"))
    issuer = child(query, "Issuer")
    if issuer is None:
        raise QueryError("Issuer is missing from the query")
    fmt = issuer.get("Format")
    if fmt is not None and fmt != ENTITY_FORMAT:
        raise QueryError("Wrong Issuer Format: '%s' (must be %s)" % (fmt, ENTITY_FORMAT))
    return child(query, "Extensions") is not None


def required_permissions(is_pap_query):
    return {READ_LOCAL} if is_pap_query else {READ_LOCAL, READ_REMOTE}


def _fresh_root(psid):
    ps = etree.Element(xacml("PolicySet"), nsmap=NSMAP)
    ps.set("PolicySetId", psid)
    ps.set("PolicyCombiningAlgId", FIRST_APPLICABLE_PS)
    ps.set("Version", "0")
    etree.SubElement(ps, xacml("Target"))
    return ps


def pap_query_objects(state):
    """GetPoliciesForPAPOperation: fresh root referencing the top-level objects of every PUBLIC PAP (local
    and remote, enabled or not), plus their PolicySets and public Policies (private ones and their
    references stripped). The PAP root PolicySets themselves are not sent."""
    root = _fresh_root("root-" + str(uuid.uuid4()))
    out = [root]
    for alias in state.effective_order():
        pap = state.paps[alias]
        if not pap.public:
            continue
        store = state.stores[alias]
        sets = [copy.deepcopy(ps) for ps in store.policysets.values()]
        policies = []
        for pid, policy in store.policies.items():
            if is_public_policy_id(pid):
                policies.append(copy.deepcopy(policy))
            else:
                for ps in sets:
                    remove_reference(ps, pid)
        pap_root = next(ps for ps in sets if ps.get("PolicySetId") == store.root_id)
        for psid in ref_ids(pap_root, "PolicySetIdReference"):
            ref = etree.SubElement(root, xacml("PolicySetIdReference"))
            ref.text = psid
        for pid in ref_ids(pap_root, "PolicyIdReference"):
            ref = etree.SubElement(root, xacml("PolicySetIdReference"))  # sic: the PAP uses a PolicySet reference
            ref.text = pid
        out.extend(ps for ps in sets if ps is not pap_root)
        out.extend(policies)
    return out


def _inline(store, psid, seen=()):
    ps = copy.deepcopy(store.policysets[psid])
    for c in children(ps):
        if local(c) == "PolicySetIdReference":
            cid = (c.text or "").strip()
            if cid in store.policysets and cid not in seen:
                ps.append(_inline(store, cid, seen + (psid,)))
            ps.remove(c)
    for c in children(ps):
        if local(c) == "PolicyIdReference":
            cid = (c.text or "").strip()
            if cid in store.policies:
                ps.append(copy.deepcopy(store.policies[cid]))
            ps.remove(c)
    obligations = ps.find(xacml("Obligations"))
    if obligations is not None:  # keep Obligations last
        ps.remove(obligations)
        ps.append(obligations)
    return ps


def pdp_query_objects(state):
    """GetPoliciesForPDPOperation: one merged root-<defaultPapId> PolicySet (first-applicable) holding
    the full trees (references resolved) of all ENABLED PAPs in PAP order."""
    root = _fresh_root("root-" + state.paps["default"].id)
    for alias in state.effective_order():
        pap = state.paps[alias]
        if not pap.enabled:
            continue
        store = state.stores[alias]
        root.append(_inline(store, store.root_id))
    return [root]


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def saml_response(state, query, objects=None, error=None):
    nsmap = {"samlp": SAMLP, "saml": SAML, "xacml": XACML, "xacml-saml": XACML_SAML, "xsi": XSI}
    resp = etree.Element("{%s}Response" % SAMLP, nsmap=nsmap)
    resp.set("ID", "_" + uuid.uuid4().hex)
    if query is not None and query.get("ID"):
        resp.set("InResponseTo", query.get("ID"))
    resp.set("IssueInstant", _now())
    resp.set("Version", "2.0")
    issuer = etree.SubElement(resp, "{%s}Issuer" % SAML, Format=ENTITY_FORMAT)
    issuer.text = state.entity_id
    status = etree.SubElement(resp, "{%s}Status" % SAMLP)
    etree.SubElement(status, "{%s}StatusCode" % SAMLP, Value=REQUESTER if error else SUCCESS)
    if error:
        etree.SubElement(status, "{%s}StatusMessage" % SAMLP).text = error
        return resp
    assertion = etree.SubElement(resp, "{%s}Assertion" % SAML, ID="_" + uuid.uuid4().hex, IssueInstant=_now(),
                                 Version="2.0")
    a_issuer = etree.SubElement(assertion, "{%s}Issuer" % SAML, Format=ENTITY_FORMAT)
    a_issuer.text = state.entity_id
    statement = etree.SubElement(assertion, "{%s}Statement" % SAML)
    statement.set("{%s}type" % XSI, "xacml-saml:XACMLPolicyStatementType")
    for obj in objects or []:
        statement.append(obj)
    return resp


def parse_saml_objects(resp):
    """(status_ok, message, [PolicySet/Policy elements in order]) from a samlp:Response."""
    code = None
    for el in resp.iter("{%s}StatusCode" % SAMLP):
        code = el.get("Value")
        break
    message = None
    for el in resp.iter("{%s}StatusMessage" % SAMLP):
        message = el.text
    if code != SUCCESS:
        return False, message or code, []
    objects = []
    for statement in resp.iter("{%s}Statement" % SAML, "{%s}XACMLPolicyStatement" % XACML_SAML):
        for c in children(statement):
            if etree.QName(c).namespace == XACML and local(c) in ("PolicySet", "Policy"):
                objects.append(c)
    return True, None, objects
