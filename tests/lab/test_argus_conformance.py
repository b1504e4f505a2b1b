"""Conformance of the lab PAP with the argus-pap source, one test per row of the table in docs/lab.md
("Conformance with argus-pap"). Every expected value comes from the source file named in the test."""
import datetime
import re
import shutil
import ssl
import urllib.request

import pytest
from lxml import etree

from gridsec_lab.argus import rawclient as rc
from gridsec_lab.argus.rawclient import Fault

from test_argus_semantics import HL, X, Pap, deny_values, refs

XNS = "{urn:oasis:names:tc:xacml:2.0:policy:schema:os}"
XACML_SVC = "XACMLPolicyManagementService"
HL_SVC = "HighLevelPolicyManagementService"
PM = "PAPManagementService"
AZ = "AuthorizationManagementService"
NOT_FOUND = "org.glite.authz.pap.repository.exceptions.NotFoundException: "
PAPM_EXC = "org.glite.authz.pap.papmanagement.PapManagerException: "
XACML_EXC = "org.glite.authz.pap.services.XACMLPolicyManagementServiceException: "
AUTHZ_EXC = "org.glite.authz.pap.authz.exceptions.PAPAuthzException: "
DIST_EXC = "org.glite.authz.pap.distribution.DistributionConfigurationException: "
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def pap(argus_pap):
    return Pap(argus_pap)


def value(resp):
    ret = rc.ret(resp)
    if ret is None or ret.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true":
        return None
    return ret.text


def fault(call, *args, **kwargs):
    with pytest.raises(Fault) as err:
        call(*args, **kwargs)
    assert err.value.code == "soapenv:Server.userException" and err.value.status == 500
    return err.value.string


def policy_el(pid="client-chosen", rule_value="CN=x"):
    el = etree.Element(XNS + "Policy", nsmap={"xacml": XNS[1:-1]})
    el.set("PolicyId", pid)
    el.set("RuleCombiningAlgId", "urn:oasis:names:tc:xacml:1.0:rule-combining-algorithm:first-applicable")
    el.set("Version", "1")
    etree.SubElement(el, XNS + "Target")
    rule = etree.SubElement(el, XNS + "Rule", RuleId="r1", Effect="Deny")
    etree.SubElement(rule, XNS + "Description").text = rule_value
    return el


def policyset_el(psid="client-chosen-ps"):
    el = etree.Element(XNS + "PolicySet", nsmap={"xacml": XNS[1:-1]})
    el.set("PolicySetId", psid)
    el.set("PolicyCombiningAlgId", "urn:oasis:names:tc:xacml:1.0:policy-combining-algorithm:first-applicable")
    el.set("Version", "1")
    etree.SubElement(el, XNS + "Target")
    return el


def add_rule(pap, attrs=("subject=/CN=r",), action=".*", resource=".*", action_id=None, rule_id=None,
             obligation=None, scope="action", after=False, alias="default"):
    return value(pap.call(HL_SVC, "addRule", [
        ("alias", alias), ("isPermit", False), ("attributeList", list(attrs)), ("actionValue", action),
        ("resourceValue", resource), ("actionIdentifier", action_id), ("ruleIdentifier", rule_id),
        ("obligationValue", obligation), ("obligationScope", scope), ("moveAfter", after)], ns=HL))


def add_remote(pap, alias="upstream", public=False):
    return value(pap.call(PM, "addPap", [("pap", {
        "alias": alias, "id": alias + "-id", "dn": "/CN=up", "hostname": "localhost", "port": "1",
        "path": "/pap/services/", "protocol": "https", "visibilityPublic": public, "local": False,
        "enabled": False})]))


def order(pap):
    ret = rc.ret(pap.call(PM, "getOrder"))
    return [e.text for e in ret] if ret is not None else []


# -- XACMLPolicyManagementService ------------------------------------------------------------------
def test_read_operations_unknown_alias_and_ids(argus_pap, pap):
    # XACMLPolicyManagementService.list*/get*/has*: PapManager.getPap(alias) runs before the operation,
    # so even a caller without permission gets FileSystemPapDAO.get's NotFoundException
    nobody = Pap(argus_pap, cred="nobody")
    for op, params in [("listPolicies", [("alias", "nosuch")]), ("listPolicySets", [("alias", "nosuch")]),
                       ("getRootPolicySet", [("alias", "nosuch")]),
                       ("hasPolicy", [("alias", "nosuch"), ("policyId", "p")])]:
        assert fault(nobody.call, XACML_SVC, op, params) == NOT_FOUND + "Not found: papAlias=nosuch"
    # GetLocalPolicyOperation / GetLocalPolicySetOperation
    assert fault(pap.call, XACML_SVC, "getPolicy", [("alias", "default"), ("policyId", "p1")]) == \
        NOT_FOUND + "Policy 'p1' not found."
    assert fault(pap.call, XACML_SVC, "getPolicySet", [("alias", "default"), ("policySetId", "s1")]) == \
        NOT_FOUND + "PolicySet 's1' not found."
    assert value(pap.call(XACML_SVC, "hasPolicy", [("alias", "default"), ("policyId", "p1")])) == "false"
    # a null alias means "default"; PapContainer.getAllPolicySets puts the root first
    pap.ban("subject", "/CN=a")
    sets = list(rc.ret(pap.call(XACML_SVC, "listPolicySets", [("alias", None)])))
    assert sets[0].get("PolicySetId") == pap.root().get("PolicySetId") and len(sets) == 2


def test_add_policy_ids_null_for_unknown_policyset_and_visibility(argus_pap, pap):
    pap.ban("subject", "/CN=a")
    psid = refs(pap.root(), "PolicySetIdReference")[0]
    # AddPolicyOperation: unknown PolicySet -> null, no fault
    assert value(pap.call(XACML_SVC, "addPolicy", [("alias", "default"), ("index", 0), ("policySetId", "nosuch"),
                                                   ("policyIdPrefix", "public"), ("policy", policy_el())])) is None
    # WizardUtils.generateId(prefix) = prefix + "-" + uuid (the client's PolicyId is replaced)
    pid = value(pap.call(XACML_SVC, "addPolicy", [("alias", "default"), ("index", -1), ("policySetId", psid),
                                                  ("policyIdPrefix", "private"), ("policy", policy_el())]))
    assert pid.startswith("private-") and len(pid) == len("private-") + 36
    ps = [s for s in pap.policysets() if s.get("PolicySetId") == psid][0]
    assert refs(ps, "PolicyIdReference")[-1] == pid and ps.get("Version") == "2"  # appended, bumped
    # PolicyWizard.isPublic splits on "_": "private-<uuid>" is ONE token, so the policy is public and
    # GetPoliciesForPAPOperation exports it downstream
    from test_argus_distribution import objects, query
    exported = [o.get("PolicyId") for o in objects(query(argus_pap, "pap", pap_query=True)) if o.tag == X + "Policy"]
    assert pid in exported
    # no prefix: a bare uuid
    bare = value(pap.call(XACML_SVC, "addPolicy", [("alias", "default"), ("index", 0), ("policySetId", psid),
                                                   ("policyIdPrefix", None), ("policy", policy_el())]))
    assert len(bare) == 36 and bare.count("-") == 4


def test_add_policies_null_for_unknown_policyset(pap):
    pap.ban("subject", "/CN=a")
    psid = refs(pap.root(), "PolicySetIdReference")[0]
    assert value(pap.call(XACML_SVC, "addPolicies", [
        ("alias", "default"), ("index", 0), ("policySetId", "nosuch"), ("policyIdPrefixArray", ["a"]),
        ("policyArray", [policy_el()])])) is None
    ret = rc.ret(pap.call(XACML_SVC, "addPolicies", [
        ("alias", "default"), ("index", 0), ("policySetId", psid), ("policyIdPrefixArray", ["a", "b"]),
        ("policyArray", [policy_el(), policy_el()])]))
    ids = [e.text for e in ret]
    assert [i.split("-", 1)[0] for i in ids] == ["a", "b"]
    ps = [s for s in pap.policysets() if s.get("PolicySetId") == psid][0]
    assert refs(ps, "PolicyIdReference")[:2] == ids  # index + i


def test_add_policyset_generates_a_new_id(pap):
    pap.ban("subject", "/CN=a")
    psid = value(pap.call(XACML_SVC, "addPolicySet", [("alias", "default"), ("index", -1),
                                                      ("policySet", policyset_el("mine"))]))
    assert psid != "mine" and len(psid) == 36  # AddPolicySetOperation: WizardUtils.generateId(null)
    root = pap.root()
    assert refs(root, "PolicySetIdReference")[-1] == psid and root.get("Version") == "2"


def test_store_policy_and_policyset_ids(pap):
    pid = value(pap.call(XACML_SVC, "storePolicy", [("alias", "default"), ("idPrefix", "public"),
                                                    ("policy", policy_el())]))
    assert pid.startswith("public-")  # StorePolicyOperation: generateId(idPrefix)
    psid = value(pap.call(XACML_SVC, "storePolicySet", [("alias", "default"), ("idPrefix", None),
                                                        ("policySet", policyset_el())]))
    assert len(psid) == 36
    assert value(pap.call(XACML_SVC, "hasPolicySet", [("alias", "default"), ("policySetId", psid)])) == "true"


def test_update_unknown_id_is_false_and_wrong_version_faults(pap):
    # Update{Policy,PolicySet}Operation: hasPolicy false -> return false (no fault)
    assert value(pap.call(XACML_SVC, "updatePolicy", [("alias", "default"), ("version", "1"),
                                                      ("policy", policy_el("nosuch"))])) == "false"
    assert value(pap.call(XACML_SVC, "updatePolicySet", [("alias", "default"), ("version", "1"),
                                                         ("policySet", policyset_el("nosuch"))])) == "false"
    pid = pap.ban("subject", "/CN=a")
    string = fault(pap.call, XACML_SVC, "updatePolicy", [("alias", "default"), ("version", "7"),
                                                          ("policy", policy_el(pid))])
    # FileSystemPolicyDAO.update
    assert string == ('org.glite.authz.pap.repository.exceptions.InvalidVersionException: Attempting to update the '
                      'wrong version of PolicyId="%s" (requestedVersion="7", repositoryVersion="1")' % pid)
    assert value(pap.call(XACML_SVC, "updatePolicy", [("alias", "default"), ("version", "1"),
                                                      ("policy", policy_el(pid))])) == "true"


def test_remove_policy_and_policyset_unknown_is_false(pap):
    # Remove{Policy,PolicySet}Operation catch NotFoundException -> false
    assert value(pap.call(XACML_SVC, "removePolicy", [("alias", "default"), ("policyId", "nosuch")])) == "false"
    assert value(pap.call(XACML_SVC, "removePolicySet", [("alias", "default"), ("policySetId", "x")])) == "false"
    pid = pap.ban("subject", "/CN=a")
    assert value(pap.call(XACML_SVC, "removePolicy", [("alias", "default"), ("policyId", pid)])) == "true"
    # PapContainer.deletePolicy deletes the file only: the reference stays
    ps = [s for s in pap.policysets() if s.get("PolicySetId") != pap.root().get("PolicySetId")][0]
    assert refs(ps, "PolicyIdReference") == [pid]


def test_remove_object_by_rule_id(pap):
    pid = pap.ban("subject", "/CN=a")
    pap.ban("subject", "/CN=b")
    [policy] = pap.policies()
    rule_ids = [r.get("RuleId") for r in policy.iter(X + "Rule")]
    # RemoveObjectByIdAndReferencesOperation.removeRule: the rule goes, the policy version is bumped
    assert value(pap.call(XACML_SVC, "removeObjectByIdAndReferences", [("alias", "default"),
                                                                       ("id", rule_ids[0])])) == "true"
    [policy] = pap.policies()
    assert [r.get("RuleId") for r in policy.iter(X + "Rule")] == rule_ids[1:] and policy.get("Version") == "3"
    # the last rule: the policy goes with its references, and the PolicySet left empty with it
    assert value(pap.call(XACML_SVC, "removeObjectByIdAndReferences", [("alias", "default"),
                                                                       ("id", rule_ids[1])])) == "true"
    assert pap.policies() == [] and refs(pap.root(), "PolicySetIdReference") == []
    assert fault(pap.call, XACML_SVC, "removeObjectByIdAndReferences", [("alias", "default"), ("id", pid)]) == \
        NOT_FOUND + "Id not found: " + pid
    assert fault(pap.call, XACML_SVC, "removeObjectByIdAndReferences",
                 [("alias", "default"), ("id", pap.root().get("PolicySetId"))]) == \
        ("org.glite.authz.pap.repository.exceptions.RepositoryException: Invalid operation: cannot remove the local "
         "PAP root policy set")


def test_move(pap):
    pap.ban("subject", "/CN=a")
    pap.ban("subject", "/CN=b")
    [policy] = pap.policies()
    b, a = [r.get("RuleId") for r in policy.iter(X + "Rule")]
    pap.call(XACML_SVC, "move", [("alias", "default"), ("id", b), ("pivotId", a), ("moveAfter", True)])
    [policy] = pap.policies()
    assert [r.get("RuleId") for r in policy.iter(X + "Rule")] == [a, b] and policy.get("Version") == "3"
    assert fault(pap.call, XACML_SVC, "move", [("alias", "default"), ("id", b), ("pivotId", "nosuch"),
                                               ("moveAfter", False)]) == \
        "org.glite.authz.pap.repository.exceptions.RepositoryException: Id not found or not a rule-id: nosuch"


# -- HighLevelPolicyManagementService --------------------------------------------------------------
def test_ban_unknown_attribute_and_remote_alias(argus_pap, pap):
    # the service method builds the AttributeWizard before the operation checks permissions
    nobody = Pap(argus_pap, cred="nobody")
    string = fault(nobody.call, HL_SVC, "ban", [("alias", "default"), ("id", "subjet"), ("value", "/CN=x"),
                                                ("resource", ".*"), ("action", ".*"), ("isPublic", True)], ns=HL)
    assert string == "org.glite.authz.pap.common.xacml.wizard.exceptions.UnsupportedAttributeException: id=subjet"
    add_remote(pap)
    assert fault(pap.ban, "subject", "/CN=x", alias="upstream") == XACML_EXC + "Forbidden operation for a remote PAP"
    assert fault(pap.ban, "subject", "/CN=x", alias="nosuch") == NOT_FOUND + "Not found: papAlias=nosuch"


PAP_EXC = "org.glite.authz.pap.common.exceptions.PAPException: "


@pytest.mark.parametrize("given,stored", [
    # canl OpensslNameUtils.opensslToRfc2253: Java's String.split("/") drops TRAILING empty parts only
    ("/DC=org/CN=trail/", "CN=trail,DC=org"),
    ("//CN=lead", "CN=lead,"),  # the leading empty part stays an (empty) RDN, joined with ","
    ("/DC=org//CN=mid", "CN=mid,DC=org/"),  # an inner empty part has no '=': glued to the previous RDN
    ("//", "/"),  # every part empty: fewer than 2 parts, the input minus its first character
    ("/CN=host/foo.example.org", "CN=host/foo.example.org"),  # a part without '=' glued to the previous RDN
])
def test_ban_slash_dn_edge_cases(pap, given, stored):
    assert pap.ban("subject", given).startswith("public_")
    [policy] = pap.policies()
    assert deny_values(policy) == [[stored]]
    assert pap.unban("subject", given) == 0  # unban converts the same way, so it finds the rule


@pytest.mark.parametrize("given,expected", [
    # AttributeWizard.setValue for an x500Name attribute: "" is refused before the canl conversion; a
    # value canl refuses (shorter than 2 characters) becomes a PAPException; null: lValue.isEmpty() throws
    ("", PAP_EXC + "The string passed as argument is empty!"),
    ("/", PAP_EXC + "The string passed as argument is not a valid certificate subject!"),
    (None, "java.lang.NullPointerException"),
])
def test_ban_empty_slash_or_nil_dn_faults(argus_pap, pap, given, expected):
    nobody = Pap(argus_pap, cred="nobody")  # HighLevelPolicyManagementService.ban builds the wizard before authz
    assert fault(nobody.ban, "subject", given) == expected
    assert fault(pap.ban, "subject-issuer", given) == expected
    assert fault(pap.unban, "subject", given) == expected
    if given is not None:
        assert fault(add_rule, pap, attrs=("subject=" + given,)) == expected
    assert pap.policies() == [] and refs(pap.root(), "PolicySetIdReference") == []
    assert pap.ban("vo", given or "") is not None  # a string attribute is not checked


def test_unban_removes_the_emptied_policy_and_policyset(pap):
    pap.ban("subject", "/CN=a", resource="res-a")
    assert pap.unban("subject", "/CN=a", resource="res-a") == 0
    # UnbanOperation -> PapContainer.removePolicyAndReferences -> removePolicySetAndReferences
    assert pap.policies() == [] and refs(pap.root(), "PolicySetIdReference") == []
    assert pap.root().get("Version") == "2"


def test_add_rule_refusals(argus_pap, pap):
    nobody = Pap(argus_pap, cred="nobody")
    # AddRuleOperation constructor: ObligationScopeType.valueOf(null), before any permission check
    assert fault(add_rule, nobody, scope=None) == "java.lang.NullPointerException: Name is null"
    assert fault(add_rule, pap, scope="policy").startswith("java.lang.IllegalArgumentException: No enum constant ")
    assert fault(add_rule, pap, action=None) == XACML_EXC + "Action id and action value are both unspecified."
    pid = pap.ban("subject", "/CN=a")
    assert fault(add_rule, pap, action_id=pid, rule_id="nosuch") == XACML_EXC + "ruleId not found: nosuch"
    add_remote(pap)
    assert fault(add_rule, pap, alias="upstream") == XACML_EXC + "You cannot add rules to a remote PAP!"


def test_add_rule_placement(pap):
    pap.ban("subject", "/CN=top", resource="first")
    # moveAfter=true: a new resource PolicySet at the BOTTOM of the root, a new action at the bottom
    rid = add_rule(pap, resource="bottom", after=True)
    root_refs = refs(pap.root(), "PolicySetIdReference")
    bottom = [s for s in pap.policysets() if s.get("PolicySetId") == root_refs[-1]][0]
    assert bottom.find(".//" + X + "ResourceMatch/" + X + "AttributeValue").text == "bottom"
    # without moveAfter: a new resource at the top; a rule of an existing action first (index 0)
    add_rule(pap, attrs=("subject=/CN=t1",), resource="top")
    assert refs(pap.root(), "PolicySetIdReference")[0] != root_refs[0]
    add_rule(pap, attrs=("subject=/CN=t2",), resource="top")
    top = [s for s in pap.policysets() if s.get("PolicySetId") == refs(pap.root(), "PolicySetIdReference")[0]][0]
    [policy] = [p for p in pap.policies() if p.get("PolicyId") == refs(top, "PolicyIdReference")[0]]
    assert deny_values(policy) == [["CN=t2"], ["CN=t1"]]
    # after a given rule, in the action that holds it
    pid = [p.get("PolicyId") for p in pap.policies() if rid in [r.get("RuleId") for r in p.iter(X + "Rule")]][0]
    new = add_rule(pap, attrs=("subject=/CN=after",), action_id=pid, rule_id=rid, after=True)
    [policy] = [p for p in pap.policies() if p.get("PolicyId") == pid]
    assert [r.get("RuleId") for r in policy.iter(X + "Rule")] == [rid, new]
    # obligation with action scope: set on the action policy, FulfillOn Permit (ObligationWizard)
    add_rule(pap, attrs=("subject=/CN=o",), resource="obl", obligation="urn:x:obl", scope="action")
    [obl] = [o for p in pap.policies() for o in p.iter(X + "Obligation")]
    assert obl.get("ObligationId") == "urn:x:obl" and obl.get("FulfillOn") == "Permit"


def test_erase_and_purge(pap):
    pap.ban("subject", "/CN=a")
    root_id = pap.root().get("PolicySetId")
    pap.call(HL_SVC, "eraseRepository", [("alias", "default")], ns=HL)
    assert pap.policies() == [] and pap.root().get("PolicySetId") == root_id and pap.root().get("Version") == "0"
    # PurgeOperation: unreferenced policies (purgeUnreferencesPolicies)
    stored = value(pap.call(XACML_SVC, "storePolicy", [("alias", "default"), ("idPrefix", "x"),
                                                       ("policy", policy_el())]))
    pap.call(HL_SVC, "purge", [("alias", "default"), ("purgeUnreferencedPolicies", True),
                               ("purgeEmptyPolicies", False), ("purgeUnreferencedPolicySets", False),
                               ("purgeEmptyPolicySets", False)], ns=HL)
    assert stored not in [p.get("PolicyId") for p in pap.policies()]


# -- PAPManagementService --------------------------------------------------------------------------
def test_add_pap_existing_is_false_default_is_forbidden(pap):
    assert add_remote(pap) == "true"
    assert add_remote(pap) == "false"  # AddPapOperation catches AlreadyExistsException
    string = fault(pap.call, PM, "addPap", [("pap", {"alias": "default", "local": True})])
    assert string == PAPM_EXC + "Forbidden alias: default"  # PapManager.addPap
    got = rc.ret(pap.call(PM, "getPap", [("papAlias", "upstream")]))
    assert got.findtext("{%s}id" % rc.AXIS_NS) == "upstream-id"  # the id the client generated is kept


def test_update_pap(argus_pap, pap):
    nobody = Pap(argus_pap, cred="nobody")
    # PAPManagementService.updatePap refuses "default" before the operation (no permission check yet)
    assert fault(nobody.call, PM, "updatePap", [("pap", {"alias": "default", "local": True})]) == \
        PAPM_EXC + 'Invalid request. "default" cannot be updated'
    # UpdatePapOperation: unknown alias -> false
    assert value(pap.call(PM, "updatePap", [("pap", {"alias": "nosuch", "local": False, "hostname": "h"})])) == \
        "false"
    add_remote(pap)
    assert value(pap.call(PM, "updatePap", [("pap", {"alias": "upstream", "hostname": "other", "local": False,
                                                     "visibilityPublic": True})])) == "true"
    got = rc.ret(pap.call(PM, "getPap", [("papAlias", "upstream")]))
    # the id is kept; fields left out are null and read back with new Pap(...)'s defaults
    assert got.findtext("{%s}id" % rc.AXIS_NS) == "upstream-id"
    assert (got.findtext("{%s}hostname" % rc.AXIS_NS), got.findtext("{%s}port" % rc.AXIS_NS)) == ("other", "8150")


def file_ordering(argus_pap):
    """The ``ordering`` of pap_configuration.ini as written on disk (what a restarted PAP reads)."""
    with open(argus_pap.server.state.config_path, encoding="utf-8") as handle:
        lines = [line.split("=", 1) for line in handle.read().splitlines() if "=" in line]
    return [v.strip() for k, v in lines if k.strip() == "ordering"]


def all_pap_aliases(pap):
    return [p.findtext("{%s}alias" % rc.AXIS_NS) for p in rc.ret(pap.call(PM, "getAllPaps"))]


def test_remove_pap_unknown_is_false_and_drops_the_last_ordering_entry(argus_pap, pap, tmp_path):
    assert fault(pap.call, PM, "removePap", [("papAlias", "default")]) == \
        PAPM_EXC + "Deleting the default pap is not allowed"
    add_remote(pap, "a")
    add_remote(pap, "b")
    pap.call(PM, "setOrder", [("aliasArray", ["a", "default"])])
    # PapManager.deletePap: DistributionConfiguration.removePap first writes the first len-1 entries other
    # than the alias to pap_configuration.ini; then the DAO's NotFoundException -> false, so the line that
    # refreshes PapManager.configurationPapOrdering is never reached: the PAP keeps the old order in memory
    assert value(pap.call(PM, "removePap", [("papAlias", "nosuch")])) == "false"
    assert file_ordering(argus_pap) == ["a"]
    assert order(pap) == ["a", "default"]  # GetOrderOperation -> PapManager.getPapOrdering (memory)
    assert all_pap_aliases(pap) == ["a", "default", "b"]  # buildOrderedAliasList uses the memory copy too
    # until a restart, which reads the file
    from gridsec_lab.argus.node import PapState
    restarted = tmp_path / "restarted"
    shutil.copytree(argus_pap.server.state.directory, restarted)
    assert PapState(str(restarted)).order == ["a"]
    # a known alias not in the ordering: removePap shortens the CONFIGURATION's ordering ([a] -> []), the
    # DAO delete succeeds and the memory copy is refreshed from the configuration
    assert value(pap.call(PM, "removePap", [("papAlias", "b")])) == "true"
    assert order(pap) == [] and file_ordering(argus_pap) == []
    assert all_pap_aliases(pap) == ["default", "a"]


def test_get_pap_and_get_all_paps(pap):
    assert fault(pap.call, PM, "getPap", [("papAlias", "nosuch")]) == NOT_FOUND + "Not found: papAlias=nosuch"
    got = rc.ret(pap.call(PM, "getPap", [("papAlias", "default")]))
    fields = {etree.QName(c).localname: c.text for c in got}
    assert fields["id"].startswith("default-") and fields["local"] == "true" and fields["enabled"] == "true"
    assert (fields["hostname"], fields["port"], fields["path"], fields["protocol"]) == (
        "localhost", "8150", "/pap/services/", "https")  # Pap constructor defaults
    add_remote(pap, "a")
    pap.call(PM, "setOrder", [("aliasArray", ["a"])])
    aliases = [p.findtext("{%s}alias" % rc.AXIS_NS) for p in rc.ret(pap.call(PM, "getAllPaps"))]
    assert aliases == ["default", "a"]  # buildOrderedAliasList: default first when not in the ordering


def test_order(pap):
    assert order(pap) == []  # GetOrderOperation: the configured ordering, possibly empty
    add_remote(pap, "a")
    assert order(pap) == []  # addPap does not touch the ordering
    assert fault(pap.call, PM, "setOrder", [("aliasArray", ["a", "nosuch"])]) == \
        DIST_EXC + 'Error in remote paps order: unknown alias "nosuch"'
    assert fault(pap.call, PM, "setOrder", [("aliasArray", ["a", "a"])]) == \
        DIST_EXC + 'Error in remote paps order: alias "a" appears more than one time'
    assert value(pap.call(PM, "setOrder", [("aliasArray", ["a", "default"])])) == "true"
    assert order(pap) == ["a", "default"]
    pap.call(PM, "setOrder", [("aliasArray", [])])  # savePapOrdering: an empty array clears it
    assert order(pap) == []


def test_refresh_cache(pap):
    assert value(pap.call(PM, "refreshCache", [("papAlias", "nosuch")])) == "false"
    assert fault(pap.call, PM, "refreshCache", [("papAlias", "default")]) == \
        'org.glite.authz.pap.common.exceptions.PAPException: "default" is local, nothing to refresh'
    add_remote(pap)  # port 1: the pull fails -> PAPException(t.getMessage())
    assert fault(pap.call, PM, "refreshCache", [("papAlias", "upstream")]).startswith(
        "org.glite.authz.pap.common.exceptions.PAPException: ")


def test_polling_interval_whole_seconds(pap):
    pap.call(PM, "setPollingInterval", [("seconds", 7.9)])
    assert float(value(pap.call(PM, "getPollingInterval"))) == 7.0  # (long) seconds


def test_set_enabled_unknown_alias(pap):
    assert fault(pap.call, PM, "setEnabled", [("alias", "nosuch"), ("enabled", True)]) == \
        NOT_FOUND + "Not found: papAlias=nosuch"


# -- permissions and AuthorizationManagementService ------------------------------------------------
@pytest.mark.parametrize("cred,service,op,params,ns,opclass", [
    ("nobody", PM, "getAllPaps", [], rc.AXIS_NS, "ListPapsOperation"),
    ("nobody", PM, "getOrder", [], rc.AXIS_NS, "GetOrderOperation"),
    ("reader", PM, "addPap", [("pap", {"alias": "z", "local": False})], rc.AXIS_NS, "AddPapOperation"),
    ("reader", PM, "refreshCache", [("papAlias", "default")], rc.AXIS_NS, "RefreshPolicyCacheOperation"),
    ("nobody", XACML_SVC, "listPolicies", [("alias", "default")], rc.AXIS_NS, "ListLocalPoliciesOperation"),
    ("reader", XACML_SVC, "removeObjectByIdAndReferences", [("alias", "default"), ("id", "x")], rc.AXIS_NS,
     "RemoveObjectByIdAndReferencesOperation"),
    ("reader", HL_SVC, "ban", [("alias", "default"), ("id", "subject"), ("value", "/CN=x"), ("resource", ".*"),
                               ("action", ".*"), ("isPublic", True)], HL, "BanOperation"),
    ("nobody", AZ, "getACL", [("context", None)], rc.AXIS_NS, "GetACLOperation"),
])
def test_insufficient_privileges(argus_pap, cred, service, op, params, ns, opclass):
    who = Pap(argus_pap, cred=cred)
    # BasePAPOperation.execute
    assert fault(who.call, service, op, params, ns=ns) == \
        AUTHZ_EXC + "Insufficient privileges to perform operation '%s'." % opclass


def test_acl_operations_are_implemented(argus_pap, pap):
    acl = rc.ret(pap.call(AZ, "getACL", [("context", "global-context")]))
    assert len(list(acl)) >= 1
    assert fault(pap.call, AZ, "getACL", [("context", "other")]) == \
        AUTHZ_EXC + "Only the context 'global-context' is currently supported!"
    admin = argus_pap.creds["admin"].dn
    pap.call(AZ, "setACL", [("context", None), ("acl", [
        {"principal": {"type": "x509-dn", "name": admin}, "permissions": "ALL"}])])
    acl = rc.ret(pap.call(AZ, "getACL", [("context", None)]))
    assert [i.findtext("{%s}principal/{%s}name" % (rc.AXIS_NS, rc.AXIS_NS)) for i in acl] == [admin]
    assert fault(pap.call, AZ, "addACE", [("context", None), ("principal", {"type": "x509", "name": "/CN=z"}),
                                          ("permissions", ["ALL"])]) == \
        AUTHZ_EXC + "Unsupported principal type 'x509'."
    pap.call(AZ, "setACL", [("context", None), ("acl", [])])
    # PAPAuthzManagementService.getACL: null for an empty ACL (the caller had CONFIGURATION_READ before)
    with pytest.raises(Fault):
        pap.call(AZ, "getACL", [("context", None)])


def test_get_acl_empty_is_nil(argus_pap, pap):
    server = argus_pap.server
    with server.state.lock:
        saved = dict(server.state.acl.entries)
        server.state.acl.entries.clear()
        from gridsec_lab.argus.services import authz_management
        assert authz_management.get_acl(server.state, {"context": None}, None) is None
        server.state.acl.entries.update(saved)


# -- status page and runtime WSDL ------------------------------------------------------------------
def test_status_counts_rules(argus_pap, pap):
    pap.ban("subject", "/CN=a")
    pap.ban("subject", "/CN=b")
    pap.ban("subject", "/CN=c", resource="other")
    ctx = ssl.create_default_context(capath=argus_pap.ca_dir)
    ctx.load_cert_chain(argus_pap.creds["nobody"].cert, argus_pap.creds["nobody"].key)
    text = urllib.request.urlopen(argus_pap.pap.status_url, context=ctx).read().decode()
    fields = dict(line.split(": ", 1) for line in text.strip().splitlines())
    # PAPService / PapContainer.getNumberOfPolicies: the number of RULES (3 rules in 2 policies)
    assert fields["NumberOfPolicies"] == "3" and fields["NumberOfLocalPolicies"] == "3"
    assert fields["NumberOfRemotePolicies"] == "0"


# MonitoredProperties.propertyOrdering: the page prints exactly these lines, in this order, "Key: value\n"
STATUS_KEYS = ["Status", "Service", "ServiceVersion", "ServiceStartupTime", "ServiceStartupTimeMillis", "MaxMemory",
               "UsedMemory", "PolicyLastModificationTime", "PolicyLastModificationTimeMillis", "NumberOfPolicies",
               "NumberOfLocalPolicies", "NumberOfRemotePolicies"]
# joda DateTime.toString() in ISOChronology UTC (PAPService.setStartupMonitoringProperties,
# PapContainer.notifyPolicyLastModificationTimeUpdate): ISODateTimeFormat.dateTime(), "Z" for UTC
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def read_status(argus_pap):
    """/pap/status read the way field monitoring reads it: "Key: value" lines, looked up by key."""
    ctx = ssl.create_default_context(capath=argus_pap.ca_dir)
    ctx.load_cert_chain(argus_pap.creds["nobody"].cert, argus_pap.creds["nobody"].key)
    text = urllib.request.urlopen(argus_pap.pap.status_url, context=ctx).read().decode()
    assert text.endswith("\n") and "\n\n" not in text
    pairs = [line.split(": ", 1) for line in text.splitlines()]
    return [key for key, _ in pairs], dict(pairs)


def iso_millis(text):
    assert ISO_UTC.match(text), text
    return round(datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)


def test_status_page_shape(argus_pap, pap):
    keys, fields = read_status(argus_pap)
    assert keys == STATUS_KEYS
    assert fields["Status"] == "OK" and fields["Service"] == "Argus PAP" and fields["ServiceVersion"]
    assert iso_millis(fields["ServiceStartupTime"]) == int(fields["ServiceStartupTimeMillis"])
    assert re.match(r"^\d+ bytes$", fields["MaxMemory"]) and re.match(r"^\d+ bytes$", fields["UsedMemory"])
    before = int(fields["PolicyLastModificationTimeMillis"])
    assert iso_millis(fields["PolicyLastModificationTime"]) == before
    pap.ban("subject", "/CN=status")
    _, fields = read_status(argus_pap)
    after = int(fields["PolicyLastModificationTimeMillis"])
    assert after >= before and iso_millis(fields["PolicyLastModificationTime"]) == after
    assert abs(after / 1000 - datetime.datetime.now(datetime.timezone.utc).timestamp()) < 60
    assert fields["NumberOfPolicies"] == "1"


@pytest.mark.parametrize("service,short,op,part", [
    ("XACMLPolicyManagementService", "xacml_policy_management", "listPolicies", "papAlias"),
    ("HighLevelPolicyManagementService", "highlevel_policy_management", "ban", "papAlias"),
    ("PAPManagementService", "pap_management", "refreshCache", "papAlias"),
    ("AuthorizationManagementService", "authz_management", "getACL", "context"),
])
def test_runtime_wsdl_shape(argus_pap, service, short, op, part):
    ctx = ssl.create_default_context(capath=argus_pap.ca_dir)
    ctx.load_cert_chain(argus_pap.creds["nobody"].cert, argus_pap.creds["nobody"].key)
    doc = etree.fromstring(urllib.request.urlopen(argus_pap.pap.service(service) + "?wsdl", context=ctx).read())
    tns = "http://org.glite.authz/wsdl/pap/services/" + short
    assert doc.get("targetNamespace") == tns and doc.nsmap["impl"] == tns and doc.nsmap["intf"] == tns
    w = "{http://schemas.xmlsoap.org/wsdl/}"
    soap = "{http://schemas.xmlsoap.org/wsdl/soap/}"
    [msg] = [m for m in doc.iter(w + "message") if m.get("name") == op + "Request"]
    assert [p.get("name") for p in msg][0] == part
    [binding_op] = [o for o in doc.find(w + "binding").iter(w + "operation") if o.get("name") == op]
    assert binding_op.find(w + "input/" + soap + "body").get("namespace") == "http://services.pap.authz.glite.org"
    assert binding_op.find(w + "output/" + soap + "body").get("namespace") == tns
    assert doc.find(w + "service").get("name") == service
