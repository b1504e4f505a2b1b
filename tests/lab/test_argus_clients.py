"""Independent SOAP clients against the lab PAP.

1. zeep driven by the SHIPPED build-time WSDLs (/work/shared/reference/argus/wsdl). zeep builds the
   requests from those WSDLs (pap_management / highlevel namespaces, unqualified rpc parts, no
   namespace for the XACML service) and the lab must accept them. The build-time WSDLs name the output
   parts differently from what the Axis runtime sends (``getAllPapsResponse``/``papData`` vs
   ``getAllPapsReturn``/``getAllPapsReturn``, ARGUS.md §3), so a real PAP needs the same small reply
   adapter (a zeep ingress plugin) that renames the Axis elements to the build-time part names.
2. suds driven by the lab's runtime ``?wsdl`` exactly like the EGI argus-ban probe (raw XPaths in a
   MessagePlugin), plus suds' own parsing of the same replies.
"""
import os
import ssl
import urllib.request

import pytest
import requests
from lxml import etree

zeep = pytest.importorskip("zeep")
suds_client = pytest.importorskip("suds.client")
from suds.plugin import MessagePlugin  # noqa: E402
from suds.transport.https import HttpTransport  # noqa: E402
from zeep.plugins import HistoryPlugin, Plugin  # noqa: E402
from zeep.transports import Transport  # noqa: E402

from test_argus_semantics import Pap  # noqa: E402
from test_argus_wire import NS, PROBE_GAP, PROBE_LP  # noqa: E402

WSDL_DIR = "/work/shared/reference/argus/wsdl"
XACML = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"
T_PAPM = "http://org.glite.authz/wsdl/pap/services/pap_management"
T_HL = "http://org.glite.authz/wsdl/pap/services/highlevel_policy_management"
T_X = "http://org.glite.authz/wsdl/pap/services/xacml_policy_management"

# operation -> (build-time output part name, array item element name or None)
PARTS = {
    "getAllPaps": ("getAllPapsResponse", "papData"), "getOrder": ("getOrderResponse", "stringItem"),
    "addPap": ("addPapResponse", None), "ping": ("pingResponse", None), "exists": ("existsResponse", None),
    "ban": ("policyId", None), "unban": ("unbanResult", None), "listPolicies": ("policyList", "policy"),
    "getPollingInterval": ("seconds", None),
}


class AxisToBuildTimeWsdl(Plugin):
    """Rename the Axis runtime reply elements to the part/item names of the build-time WSDL."""

    def ingress(self, envelope, http_headers, operation):
        body = envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
        resp = body[0]
        op = etree.QName(resp).localname[:-len("Response")] if etree.QName(resp).localname.endswith("Response") \
            else None
        if op not in PARTS:
            return envelope, http_headers
        part, item = PARTS[op]
        for ret in resp:
            ret.tag = part
            for el in ret.iter():
                if el is ret or etree.QName(el).namespace == XACML:
                    continue
                el.tag = etree.QName(el).localname
                if el.tag == op + "Return" and item:
                    el.tag = item
            if item == "policy":  # <policyList><xacml:Policy .../></policyList> -> <policy ...>children</policy>
                for policy in list(ret):
                    policy.tag = "policy"
        return envelope, http_headers


def _session(cred, ca_dir):
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override session.verify
    session.cert = (cred.cert, cred.key)
    session.verify = ca_dir
    return session


def zeep_service(lab, wsdl, binding, service, history=None):
    client = zeep.Client(os.path.join(WSDL_DIR, wsdl),
                         transport=Transport(session=_session(lab.creds["admin"], lab.ca_dir)),
                         plugins=[AxisToBuildTimeWsdl()] + ([history] if history else []))
    return client, client.create_service(binding, lab.pap.service(service))


def test_zeep_with_shipped_wsdls(argus_pap):
    lab = argus_pap
    pm_client, pm = zeep_service(lab, "PAPManagementService.wsdl", "{%s}PAPManagementSOAP" % T_PAPM,
                                 "PAPManagementService")
    paps = pm.getAllPaps()
    assert [p.alias for p in paps] == ["default"]
    assert paps[0].local is True and paps[0].visibilityPublic is True and paps[0].id.startswith("default-")
    Pap_t = pm_client.get_type("{%s/pap}Pap" % T_PAPM)
    assert pm.addPap(Pap_t(alias="upstream", dn="/CN=up", hostname="localhost", port="8150", path="/pap/services/",
                           protocol="https", visibilityPublic=True, local=False, enabled=True)) is True
    assert pm.getOrder() is None  # GetOrderOperation: the configured ordering (empty); addPap does not extend it
    assert pm.exists("upstream") is True
    assert pm.ping().startswith("PAP version:")

    _, hl = zeep_service(lab, "HighLevelPolicyManagementService.wsdl",
                         "{%s}HighLevelPolicyManagementSOAP" % T_HL, "HighLevelPolicyManagementService")
    pid = hl.ban("default", "subject", "/DC=ch/CN=zeep user", ".*", ".*", True)
    assert pid.startswith("public_")
    assert hl.ban("default", "subject", "/DC=ch/CN=zeep user", ".*", ".*", True) is None
    history = HistoryPlugin()
    _, xs = zeep_service(lab, "XACMLPolicyManagementService.wsdl", "{%s}XACMLPolicyManagementSOAP" % T_X,
                         "XACMLPolicyManagementService", history)
    policies = xs.listPolicies("default")
    assert [p.PolicyId for p in policies] == [pid]
    [rule] = [item["Rule"] for item in policies[0]._value_1 if item.get("Rule") is not None]
    assert rule.Effect == "Deny"
    match = rule.Target.Subjects.Subject[0].SubjectMatch[0]
    assert match.MatchId == "urn:oasis:names:tc:xacml:1.0:function:x500Name-equal"
    assert match.SubjectAttributeDesignator.AttributeId == "urn:oasis:names:tc:xacml:1.0:subject:subject-id"
    # zeep drops the text of XACML's mixed-content AttributeValue; read it from the raw reply
    raw = etree.tostring(history.last_received["envelope"]).decode()
    assert ">CN=zeep user,DC=ch</xacml:AttributeValue>" in raw
    result = hl.unban("default", "subject", "CN=zeep user,DC=ch", ".*", ".*")
    assert result.statusCode == 0
    assert hl.unban("default", "subject", "CN=zeep user,DC=ch", ".*", ".*").statusCode == 1
    assert xs.listPolicies("default") in (None, [])


class _ClientCertTransport(HttpTransport):
    def __init__(self, cred, ca_dir, **kwargs):
        super().__init__(**kwargs)
        self._ctx = ssl.create_default_context(capath=ca_dir)
        self._ctx.load_cert_chain(cred.cert, cred.key)

    def u2handlers(self):
        return [urllib.request.HTTPSHandler(context=self._ctx)]


class _GetAllPapsFilter(MessagePlugin):  # what the probe does: raw XPath on the reply
    def __init__(self, result):
        self.result = result

    def received(self, context):
        root = etree.fromstring(context.reply)
        self.result.update(n.text for n in root.xpath(PROBE_GAP, namespaces=NS))


class _ListPoliciesFilter(MessagePlugin):
    def __init__(self, result):
        self.result = result

    def received(self, context):
        root = etree.fromstring(context.reply)
        for node in root.xpath(PROBE_LP, namespaces=NS):
            if node.attrib["DataType"] == "urn:oasis:names:tc:xacml:1.0:data-type:x500Name":
                self.result.add(node.text)


def test_suds_probe_against_runtime_wsdl(argus_lab):
    lab = argus_lab
    canary = "CN=1a2b3c4d, CN=20240101, CN=Test Subject, CN=000001, CN=tsubject, OU=Users, OU=Organic Units, " \
             "DC=cern, DC=ch"
    central = Pap(lab, "central")
    central.ban("subject", canary)
    try:
        import time
        deadline = time.time() + 15
        relay = Pap(lab, "relay")
        while time.time() < deadline:
            if any(canary in etree.tostring(p).decode() for p in relay.policies("central")):
                break
            time.sleep(0.1)
        base = lab.paps["relay"].url
        aliases = set()
        client = suds_client.Client(base + "/PAPManagementService?wsdl",
                                    transport=_ClientCertTransport(lab.creds["reader"], lab.ca_dir),
                                    plugins=[_GetAllPapsFilter(aliases)], cache=None)
        client.service.getAllPaps()
        assert aliases == {"default", "central"}
        found = set()
        client = suds_client.Client(base + "/XACMLPolicyManagementService?wsdl",
                                    transport=_ClientCertTransport(lab.creds["reader"], lab.ca_dir),
                                    plugins=[_ListPoliciesFilter(found)], cache=None)
        for alias in aliases:
            client.service.listPolicies(alias)
        assert canary in found

        # suds' own unmarshalling of the same replies
        plain = suds_client.Client(base + "/PAPManagementService?wsdl",
                                   transport=_ClientCertTransport(lab.creds["reader"], lab.ca_dir), cache=None)
        paps = plain.service.getAllPaps().getAllPapsReturn
        assert {p.alias: (p.local, p.visibilityPublic) for p in paps} == {"default": (True, True),
                                                                          "central": (False, True)}
        x = suds_client.Client(base + "/XACMLPolicyManagementService?wsdl",
                               transport=_ClientCertTransport(lab.creds["reader"], lab.ca_dir), cache=None)
        values = [m.AttributeValue[0].value
                  for p in x.service.listPolicies("central").Policy for r in p.Rule
                  for m in r.Target[0].Subjects[0].Subject[0].SubjectMatch]
        assert canary in values
    finally:
        central.unban("subject", canary)


def test_suds_fault_for_unauthorized(argus_pap):
    from suds import WebFault
    client = suds_client.Client(argus_pap.url + "/PAPManagementService?wsdl",
                                transport=_ClientCertTransport(argus_pap.creds["nobody"], argus_pap.ca_dir),
                                cache=None)
    with pytest.raises(WebFault) as err:
        client.service.getAllPaps()
    assert ("org.glite.authz.pap.authz.exceptions.PAPAuthzException: Insufficient privileges to perform operation "
            "'ListPapsOperation'.") in str(err.value)


def test_zeep_ban_slash_dn_edge_cases(argus_pap):
    """AttributeWizard.setValue + canl opensslToRfc2253 seen through a client built from the shipped WSDL."""
    lab = argus_pap
    _, hl = zeep_service(lab, "HighLevelPolicyManagementService.wsdl",
                         "{%s}HighLevelPolicyManagementSOAP" % T_HL, "HighLevelPolicyManagementService")
    pap_exc = "org.glite.authz.pap.common.exceptions.PAPException: "
    refused = {"": pap_exc + "The string passed as argument is empty!",
               "/": pap_exc + "The string passed as argument is not a valid certificate subject!"}
    # (zeep refuses to send a null value for this WSDL part; the raw-SOAP conformance test sends xsi:nil)
    for given, message in refused.items():
        with pytest.raises(zeep.exceptions.Fault) as err:
            hl.ban("default", "subject", given, ".*", ".*", True)
        assert err.value.message == message, given
    for given in ("/DC=org/CN=trail/", "//CN=lead"):
        assert hl.ban("default", "subject", given, ".*", ".*", True).startswith("public_")
    history = HistoryPlugin()
    _, xs = zeep_service(lab, "XACMLPolicyManagementService.wsdl", "{%s}XACMLPolicyManagementSOAP" % T_X,
                         "XACMLPolicyManagementService", history)
    xs.listPolicies("default")
    raw = etree.tostring(history.last_received["envelope"])
    values = [v.text for v in etree.fromstring(raw).iter("{%s}AttributeValue" % XACML)
              if v.get("DataType", "").endswith("x500Name")]
    assert values == ["CN=lead,", "CN=trail,DC=org"]  # newest ban first; no trailing '/', the empty RDN kept
