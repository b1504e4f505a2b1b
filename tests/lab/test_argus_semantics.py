"""Ban/unban/XACML semantics of the lab PAP (ARGUS.md §2, §4, §5), through raw SOAP."""
import pytest
from lxml import etree

from gridsec_lab.argus import rawclient as rc
from gridsec_lab.argus.rawclient import Fault

X = "{urn:oasis:names:tc:xacml:2.0:policy:schema:os}"
HL = "http://org.glite.authz/wsdl/pap/services/highlevel_policy_management"


class Pap:
    def __init__(self, lab, name=None, cred="admin"):
        self.lab = lab
        self.info = lab.paps[name] if name else next(iter(lab.paps.values()))
        self.cred = lab.creds[cred]

    def call(self, service, op, params=(), ns=rc.AXIS_NS, **kw):
        return rc.call(self.info.service(service), op, params, cred=self.cred, ca_dir=self.lab.ca_dir, ns=ns, **kw)

    def ban(self, attr, value, resource=".*", action=".*", public=True, alias="default"):
        r = self.call("HighLevelPolicyManagementService", "ban",
                      [("alias", alias), ("id", attr), ("value", value), ("resource", resource),
                       ("action", action), ("isPublic", public)], ns=HL)
        ret = rc.ret(r)
        return None if ret.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true" else ret.text

    def unban(self, attr, value, resource=".*", action=".*", alias="default"):
        r = self.call("HighLevelPolicyManagementService", "unban",
                      [("alias", alias), ("id", attr), ("value", value), ("resource", resource), ("action", action)],
                      ns=HL)
        return int(rc.ret(r).findtext("{%s}statusCode" % HL))

    def policies(self, alias="default"):
        return list(rc.ret(self.call("XACMLPolicyManagementService", "listPolicies", [("alias", alias)])))

    def policysets(self, alias="default"):
        return list(rc.ret(self.call("XACMLPolicyManagementService", "listPolicySets", [("alias", alias)])))

    def root(self, alias="default"):
        return rc.ret(self.call("XACMLPolicyManagementService", "getRootPolicySet", [("alias", alias)]))[0]


def deny_values(policy):
    out = []
    for rule in policy.iter(X + "Rule"):
        out.append([v.text for v in rule.iter(X + "AttributeValue")])
    return out


def refs(el, kind):
    return [c.text for c in el if c.tag == X + kind]


@pytest.fixture
def pap(argus_pap):
    return Pap(argus_pap)


def test_ban_builds_the_argus_tree(pap):
    pid = pap.ban("subject", "/DC=ch/DC=cern/OU=Users/CN=user/CN=999999/CN=user name")
    assert pid.startswith("public_")
    root = pap.root()
    assert root.get("PolicySetId").startswith("default-")
    [ps_id] = refs(root, "PolicySetIdReference")
    sets = {ps.get("PolicySetId"): ps for ps in pap.policysets()}
    assert set(sets) == {root.get("PolicySetId"), ps_id}
    resource_ps = sets[ps_id]
    assert refs(resource_ps, "PolicyIdReference") == [pid]
    match = resource_ps.find(X + "Target/" + X + "Resources/" + X + "Resource/" + X + "ResourceMatch")
    assert match.get("MatchId").endswith("string-regexp-match")
    [policy] = pap.policies()
    assert policy.get("PolicyId") == pid and policy.get("Version") == "1"
    sm = policy.find(".//" + X + "SubjectMatch")
    assert sm.get("MatchId") == "urn:oasis:names:tc:xacml:1.0:function:x500Name-equal"
    assert sm.find(X + "SubjectAttributeDesignator").get("AttributeId") == \
        "urn:oasis:names:tc:xacml:1.0:subject:subject-id"
    # canl conversion: reversed, no spaces
    assert sm.findtext(X + "AttributeValue") == "CN=user name,CN=999999,CN=user,OU=Users,DC=cern,DC=ch"


def test_dn_conversion_escapes_commas_and_keeps_slash_values(pap):
    pap.ban("subject", "/DC=org/CN=host/foo.example.org/CN=a,b")
    [policy] = pap.policies()
    assert deny_values(policy) == [["CN=a\\,b,CN=host/foo.example.org,DC=org"]]


def test_second_ban_goes_first_and_bumps_version_duplicate_returns_nil(pap):
    p1 = pap.ban("fqan", "/dteam/test")
    p2 = pap.ban("subject", "/O=b/CN=a")
    assert p1 == p2
    [policy] = pap.policies()
    assert deny_values(policy) == [["CN=a,O=b"], ["/dteam/test"]]
    assert policy.get("Version") == "2"
    assert pap.ban("subject", "/O=b/CN=a") is None
    [policy] = pap.policies()
    assert policy.get("Version") == "2" and len(deny_values(policy)) == 2


def test_rfc2253_input_is_stored_verbatim_and_compared_literally(pap):
    pap.ban("subject", "CN=a, O=b")
    # the slash form converts to "CN=a,O=b": a different literal for the PAP -> a second rule
    assert pap.ban("subject", "/O=b/CN=a") is not None
    [policy] = pap.policies()
    assert deny_values(policy) == [["CN=a,O=b"], ["CN=a, O=b"]]
    # unban with the slash form removes only the no-space rule
    assert pap.unban("subject", "/O=b/CN=a") == 0
    [policy] = pap.policies()
    assert deny_values(policy) == [["CN=a, O=b"]]
    assert pap.unban("subject", "CN=a,O=b") == 1
    assert pap.unban("subject", "CN=a, O=b") == 0
    assert pap.policies() == []


def test_duplicate_detection_only_in_first_policy(pap):
    pap.ban("subject", "/CN=x")
    pap.ban("subject", "/CN=y", public=False)  # visibility mismatch -> new private policy at the top
    policies = {p.get("PolicyId"): p for p in pap.policies()}
    [ps] = [ps for ps in pap.policysets() if refs(ps, "PolicyIdReference")]
    order = refs(ps, "PolicyIdReference")
    assert len(order) == 2 and order[0].startswith("private_") and order[1].startswith("public_")
    # CN=x lives in the second policy: the PAP does not see it and bans again (into the private one)
    assert pap.ban("subject", "/CN=x", public=False) == order[0]
    assert deny_values(policies[order[1]]) == [["CN=x"]]
    assert deny_values([p for p in pap.policies() if p.get("PolicyId") == order[0]][0]) == [["CN=x"], ["CN=y"]]


def test_other_resource_creates_new_policyset_at_top_even_if_one_exists_below(pap):
    pap.ban("subject", "/CN=x", resource=".*")
    pap.ban("subject", "/CN=y", resource="ce1")
    pap.ban("subject", "/CN=z", resource=".*")
    sets = {ps.get("PolicySetId"): ps for ps in pap.policysets()}
    order = refs(pap.root(), "PolicySetIdReference")
    assert len(order) == 3
    values = [sets[i].findtext(".//" + X + "ResourceMatch/" + X + "AttributeValue") for i in order]
    assert values == [".*", "ce1", ".*"]


def test_compound_rule_counts_as_existing_ban_and_unban_removes_it_whole(pap):
    rid = rc.ret(pap.call("HighLevelPolicyManagementService", "addRule", [
        ("alias", "default"), ("isPermit", False), ("attributeList", ["subject=/CN=x", "fqan=/atlas"]),
        ("actionValue", ".*"), ("resourceValue", ".*"), ("actionIdentifier", None), ("ruleIdentifier", None),
        ("obligationValue", None), ("obligationScope", "action"), ("moveAfter", False)], ns=HL)).text
    assert rid
    [policy] = pap.policies()
    assert deny_values(policy) == [["CN=x", "/atlas"]]
    assert pap.ban("subject", "/CN=x") is None  # "ban rule already exists"
    assert pap.unban("fqan", "/atlas") == 0
    assert pap.policies() == []  # the compound rule went, and the emptied policy with it
    # PapContainer.removePolicyAndReferences: the resource PolicySet left empty goes too
    assert [ps for ps in pap.policysets() if ps.get("PolicySetId") != pap.root().get("PolicySetId")] == []
    assert refs(pap.root(), "PolicySetIdReference") == []


def test_unban_status_1_when_nothing_matches(pap):
    assert pap.unban("subject", "/CN=nobody") == 1
    pap.ban("subject", "/CN=x")
    assert pap.unban("subject", "/CN=x", action="submit") == 1
    assert pap.unban("subject", "/CN=x", resource="other") == 1
    assert pap.unban("subject", "/CN=other") == 1
    assert pap.unban("subject", "/CN=x") == 0


def test_unban_bumps_version_when_rules_remain(pap):
    pap.ban("subject", "/CN=x")
    pap.ban("subject", "/CN=y")
    assert pap.unban("subject", "/CN=x") == 0
    [policy] = pap.policies()
    assert policy.get("Version") == "3" and deny_values(policy) == [["CN=y"]]


def test_update_policy_optimistic_lock(pap):
    pid = pap.ban("subject", "/CN=x")
    [policy] = pap.policies()
    assert policy.get("Version") == "1"
    policy.set("Version", "2")
    ok = rc.ret(pap.call("XACMLPolicyManagementService", "updatePolicy",
                         [("alias", "default"), ("version", "1"), ("policy", policy)]))
    assert ok.tag.endswith("updatePolicyReturn") and ok.text == "true"
    stale = pap.policies()[0]
    stale.set("Version", "3")
    with pytest.raises(Fault) as err:
        pap.call("XACMLPolicyManagementService", "updatePolicy",
                 [("alias", "default"), ("version", "1"), ("policy", stale)])
    assert err.value.status == 500 and "version" in err.value.string.lower()
    assert pap.policies()[0].get("Version") == "2"
    assert pid


def test_remove_object_and_references_and_has_policy(pap):
    pid = pap.ban("subject", "/CN=x")
    has = lambda: rc.ret(pap.call("XACMLPolicyManagementService", "hasPolicy", [("alias", None), ("policyId", pid)]))
    assert has().text == "true"
    r = pap.call("XACMLPolicyManagementService", "removeObjectByIdAndReferences", [("alias", "default"), ("id", pid)])
    assert rc.ret(r).tag.endswith("removeObjectByIdAndReferencesReturn") and rc.ret(r).text == "true"
    assert has().text == "false"
    assert all(pid not in refs(ps, "PolicyIdReference") for ps in pap.policysets())


def test_erase_repository(pap):
    pap.ban("subject", "/CN=x")
    pap.call("HighLevelPolicyManagementService", "eraseRepository", [("alias", "default")], ns=HL)
    assert pap.policies() == [] and len(pap.policysets()) == 1


def test_null_alias_means_default_and_unknown_alias_faults(pap):
    pap.ban("subject", "/CN=x", alias=None)
    assert len(pap.policies("default")) == 1
    with pytest.raises(Fault) as err:
        pap.policies("nosuch")
    assert "nosuch" in err.value.string


def test_add_pap_and_remote_alias_is_read_only(pap):
    pap.call("PAPManagementService", "addPap", [("pap", {
        "alias": "upstream", "dn": "/CN=up", "hostname": "localhost", "port": "1", "path": "/pap/services/",
        "protocol": "https", "visibilityPublic": False, "local": False, "enabled": True})])
    for op, params in [("ban", [("alias", "upstream"), ("id", "subject"), ("value", "/CN=x"), ("resource", ".*"),
                                ("action", ".*"), ("isPublic", True)]),
                       ("unban", [("alias", "upstream"), ("id", "subject"), ("value", "/CN=x"), ("resource", ".*"),
                                  ("action", ".*")])]:
        with pytest.raises(Fault) as err:
            pap.call("HighLevelPolicyManagementService", op, params, ns=HL)
        assert err.value.string == ("org.glite.authz.pap.services.XACMLPolicyManagementServiceException: "
                                    "Forbidden operation for a remote PAP")
    assert pap.policies("upstream") == []
    # GetOrderOperation answers the configured ordering: addPap does not add to it
    order = [e.text for e in rc.ret(pap.call("PAPManagementService", "getOrder"))]
    assert order == []
    pap.call("PAPManagementService", "setOrder", [("aliasArray", ["upstream", "default"])])
    order = [e.text for e in rc.ret(pap.call("PAPManagementService", "getOrder"))]
    assert order == ["upstream", "default"]
    ini = open(pap.lab.pap.directory + "/pap_configuration.ini").read()
    assert "upstream.type = remote" in ini and "ordering = upstream\nordering = default" in ini


def test_ping_and_polling_interval(pap):
    assert rc.ret(pap.call("PAPManagementService", "ping")).text.startswith("PAP version: ")
    # SetPollingIntervalOperation.instance((long) seconds): whole seconds
    pap.call("PAPManagementService", "setPollingInterval", [("seconds", 42.5)])
    assert float(rc.ret(pap.call("PAPManagementService", "getPollingInterval")).text) == 42.0
    assert "poll_interval = 42\n" in open(pap.lab.pap.directory + "/pap_configuration.ini").read()
