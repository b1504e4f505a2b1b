"""Policy distribution between lab PAPs (ARGUS.md §2.5, §9): PAP/PDP queries, hierarchy propagation,
cache kept on empty replies and failures, persistence across restart."""
import time

import pytest
from lxml import etree

from gridsec_lab.argus import rawclient as rc
from gridsec_lab.argus.lab import ArgusLab
from gridsec_lab.argus.rawclient import Fault

from test_argus_semantics import HL, X, Pap, deny_values

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"


def query(lab, name, pap_query, cred="admin", version="2.0", issuer=True, fmt=None):
    ext = '<md:Extensions xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>' if pap_query else ""
    iss = ('<saml:Issuer%s>test</saml:Issuer>' % (' Format="%s"' % fmt if fmt else "")) if issuer else ""
    body = ('<soap11:Envelope xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Body>'
            '<q:XACMLPolicyQuery xmlns:q="urn:oasis:names:tc:xacml:2.0:profile:saml2.0:v2:schema:protocol" '
            'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_1" IssueInstant="2024-01-01T00:00:00Z" '
            'Version="%s">%s%s</q:XACMLPolicyQuery></soap11:Body></soap11:Envelope>' % (version, iss, ext))
    status, data = rc.post(lab.paps[name].service("ProvisioningService"), body.encode(), cred=lab.creds[cred],
                           ca_dir=lab.ca_dir,
                           headers={"SOAPAction": "http://www.oasis-open.org/committees/security"})
    return rc.parse_reply(status, data)


def objects(resp):
    return [el for el in resp.iter(X + "PolicySet", X + "Policy") if el.getparent().tag.endswith("Statement")]


def wait_for(predicate, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in %ss" % timeout)


def denied(pap, alias):
    return sorted(v for p in pap.policies(alias) for r in deny_values(p) for v in r)


def test_hierarchy_propagation_central_relay_site(argus_lab):
    central, relay, site = (Pap(argus_lab, n) for n in ("central", "relay", "site"))
    dn = "/DC=ch/DC=cern/OU=Users/CN=propagated"
    central.ban("subject", "/CN=secret", public=False)  # private: never leaves central
    central.ban("subject", dn)  # public -> a new public policy above the private one
    try:
        wait_for(lambda: "CN=propagated,OU=Users,DC=cern,DC=ch" in denied(relay, "central"))
        wait_for(lambda: "CN=propagated,OU=Users,DC=cern,DC=ch" in denied(site, "relay"))
        assert "CN=secret" not in denied(relay, "central") and "CN=secret" not in denied(site, "relay")
        # the relay's cache root has the relay's own id for alias central
        paps = {p.findtext("{%s}alias" % rc.AXIS_NS): p for p in rc.ret(relay.call("PAPManagementService",
                                                                                      "getAllPaps"))}
        assert relay.root("central").get("PolicySetId") == paps["central"].findtext("{%s}id" % rc.AXIS_NS)
        # the site's PDP sees the relay (with central's rules) before its own default
        resp = query(argus_lab, "site", pap_query=False)
        [merged] = objects(resp)
        site_paps = [p.findtext("{%s}id" % rc.AXIS_NS) for p in rc.ret(site.call("PAPManagementService",
                                                                                  "getAllPaps"))]
        assert merged.get("PolicySetId") == "root-" + [i for i in site_paps if i.startswith("default-")][0]
        assert [c.get("PolicySetId").split("-")[0] for c in merged if c.tag == X + "PolicySet"] == ["relay", "default"]
        assert "CN=propagated,OU=Users,DC=cern,DC=ch" in [v.text for v in merged.iter(X + "AttributeValue")]
        # unban upstream propagates too
        assert central.unban("subject", dn) == 0
        wait_for(lambda: "CN=propagated,OU=Users,DC=cern,DC=ch" not in denied(site, "relay"))
    finally:
        central.unban("subject", dn)
        central.unban("subject", "/CN=secret")


def test_pap_query_strips_private_policies_and_non_public_paps(argus_pap):
    lab = argus_pap
    pap = Pap(lab)
    public_id = pap.ban("subject", "/CN=pub")
    private_id = pap.ban("subject", "/CN=priv", public=False)
    resp = query(lab, "pap", pap_query=True)
    objs = objects(resp)
    assert objs[0].tag == X + "PolicySet"
    ids = [o.get("PolicyId") for o in objs if o.tag == X + "Policy"]
    assert ids == [public_id]
    text = etree.tostring(resp).decode()
    assert private_id not in text and "CN=priv" not in text
    # the default PAP's own root is not sent; the fresh root references its resource PolicySet
    root_id = pap.root().get("PolicySetId")
    assert root_id not in text
    # a PDP query still sees the private policy
    assert "CN=priv" in etree.tostring(query(lab, "pap", pap_query=False)).decode()
    # once default is not public, a PAP query gets only the fresh root
    # (white box: the real PAP refuses updatePap(default), so the API cannot make it private)
    with lab.server.state.lock:
        lab.server.state.paps["default"].public = False
    objs = objects(query(lab, "pap", pap_query=True))
    assert len(objs) == 1 and objs[0].findall(X + "PolicySetIdReference") == []


def test_pdp_query_contains_only_enabled_paps_in_order(argus_pap):
    lab = argus_pap
    pap = Pap(lab)
    pap.ban("subject", "/CN=x")
    pap.call("PAPManagementService", "setEnabled", [("alias", "default"), ("enabled", False)])
    [merged] = objects(query(lab, "pap", pap_query=False))
    assert [c for c in merged if c.tag == X + "PolicySet"] == []
    assert merged.get("PolicyCombiningAlgId").endswith("first-applicable")


def test_query_checks_version_and_issuer(argus_pap):
    for kwargs in ({"version": "1.1"}, {"issuer": False}, {"fmt": "urn:oasis:names:tc:SAML:1.1:nameid-format:x"}):
        resp = query(argus_pap, "pap", pap_query=True, **kwargs)
        code = resp.find("{%s}Status/{%s}StatusCode" % (SAMLP, SAMLP)).get("Value")
        assert code.endswith(":Requester"), kwargs
        assert objects(resp) == []
    resp = query(argus_pap, "pap", pap_query=True, fmt="urn:oasis:names:tc:SAML:2.0:nameid-format:entity")
    assert resp.find("{%s}Status/{%s}StatusCode" % (SAMLP, SAMLP)).get("Value").endswith(":Success")


def test_pap_query_needs_read_local(argus_pap):
    with pytest.raises(Fault) as err:
        query(argus_pap, "pap", pap_query=True, cred="nobody")
    assert "Insufficient privileges to perform operation 'GetPoliciesForPAPOperation'." in err.value.string


def _pair(tmp_path, argus_pki, interval=0.2):
    config = {"credentials": {"admin": {"permissions": "ALL"}},
              "paps": [{"name": "up", "acl": [{"principal": "pap:down", "permissions": "POLICY_READ_LOCAL"}]},
                       {"name": "down", "remotes": [{"alias": "up", "pap": "up", "enabled": True}],
                        "order": ["up", "default"]}]}
    return ArgusLab(config, str(tmp_path / "pair"), pki=argus_pki, poll_interval=interval), config


def test_empty_reply_and_dead_upstream_keep_the_cache(tmp_path, argus_pki):
    lab, _ = _pair(tmp_path, argus_pki)
    with lab:
        up, down = Pap(lab, "up"), Pap(lab, "down")
        up.ban("subject", "/CN=cached")
        wait_for(lambda: denied(down, "up") == ["CN=cached"])
        lab.servers["up"].provisioning_override = "empty"
        up.unban("subject", "/CN=cached")
        assert rc.ret(down.call("PAPManagementService", "refreshCache", [("papAlias", "up")])).text == "true"
        time.sleep(0.6)  # a few poll rounds
        assert denied(down, "up") == ["CN=cached"]
        lab.servers["up"].stop()
        with pytest.raises(Fault) as err:
            down.call("PAPManagementService", "refreshCache", [("papAlias", "up")])
        assert "up" in err.value.string
        time.sleep(0.6)
        assert denied(down, "up") == ["CN=cached"]


def test_persistence_across_restart(tmp_path, argus_pki):
    lab, config = _pair(tmp_path, argus_pki)
    with lab:
        up, down = Pap(lab, "up"), Pap(lab, "down")
        pid = up.ban("subject", "/CN=persist")
        up.call("PAPManagementService", "setPollingInterval", [("seconds", 0.25)])
        wait_for(lambda: denied(down, "up") == ["CN=persist"])
        down.call("AuthorizationManagementService", "addACE", [
            ("context", None), ("principal", {"type": "x509-dn", "name": "/CN=someone"}),
            ("permissions", ["CONFIGURATION_READ"])])
    lab2 = ArgusLab(config, str(tmp_path / "pair"), pki=argus_pki)
    with lab2:
        up, down = Pap(lab2, "up"), Pap(lab2, "down")
        [policy] = up.policies()
        assert policy.get("PolicyId") == pid and deny_values(policy) == [["CN=persist"]]
        assert denied(down, "up") == ["CN=persist"]  # the cache survives even before the first pull
        acl = open(lab2.paps["down"].directory + "/pap_authorization.ini").read()
        assert '"/CN=someone" : CONFIGURATION_READ' in acl
