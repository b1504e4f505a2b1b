"""Wire-level behaviour of the lab PAP: lenient SOAP input like Axis, Axis-shaped replies, faults,
permissions per operation, TLS identity, /pap/status, hostile XML."""
import ssl
import urllib.request

import pytest
from lxml import etree

from gridsec_lab.argus import rawclient as rc
from gridsec_lab.argus.rawclient import Fault

from test_argus_semantics import HL, X, Pap

NS = {"soapenv": "http://schemas.xmlsoap.org/soap/envelope/", "pap": "http://services.pap.authz.glite.org",
      "xacml": "urn:oasis:names:tc:xacml:2.0:policy:schema:os"}
PROBE_LP = ("/soapenv:Envelope/soapenv:Body/pap:listPoliciesResponse/pap:listPoliciesReturn/xacml:Policy/xacml:Rule/"
            "xacml:Target/xacml:Subjects/xacml:Subject/xacml:SubjectMatch/xacml:AttributeValue")
PROBE_GAP = "/soapenv:Envelope/soapenv:Body/pap:getAllPapsResponse/pap:getAllPapsReturn/pap:getAllPapsReturn/pap:alias"


def raw(lab, service, body, cred="admin", headers=None):
    return rc.post(lab.pap.service(service), body if isinstance(body, bytes) else body.encode(),
                   cred=lab.creds[cred], ca_dir=lab.ca_dir, headers=headers)


FETCH_BAN_STYLE = ('<?xml version="1.0" encoding="UTF-8"?>'
                   '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
                   'xmlns:ns1="http://schemas.xmlsoap.org/soap/envelope/" '
                   'xmlns:ns2="http://services.pap.authz.glite.org"><SOAP-ENV:Header/>'
                   '<ns1:Body><ns2:listPolicies><papAlias>default</papAlias></ns2:listPolicies></ns1:Body>'
                   '</SOAP-ENV:Envelope>')


def test_fetch_ban_style_request_and_probe_xpaths(argus_pap):
    Pap(argus_pap).ban("subject", "CN=1a2b3c4d, CN=20240101, CN=Test Subject, DC=cern, DC=ch")
    status, data = raw(argus_pap, "XACMLPolicyManagementService", FETCH_BAN_STYLE,
                       headers={"Content-Type": "application/x-www-form-urlencoded", "SOAPAction": '""'})
    assert status == 200
    doc = etree.fromstring(data)
    assert [n.text for n in doc.xpath(PROBE_LP, namespaces=NS)] == [
        "CN=1a2b3c4d, CN=20240101, CN=Test Subject, DC=cern, DC=ch"]
    assert b"<xacml:Policy" in data and b"<xacml:Rule" in data  # the literal prefix fetch-ban greps for
    status, data = raw(argus_pap, "PAPManagementService", open(
        "/work/shared/reference/argus/samples/soap/derived_getAllPaps_request.xml", "rb").read(),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    assert etree.fromstring(data).xpath(PROBE_GAP, namespaces=NS)[0].text == "default"


@pytest.mark.parametrize("ns", ["http://services.pap.authz.glite.org",
                                "http://org.glite.authz/wsdl/pap/services/pap_management",
                                "http://org.glite.authz/wsdl/pap/services/xacml_policy_management", None])
def test_operation_namespace_is_echoed(argus_pap, ns):
    rc.call(argus_pap.service("PAPManagementService"), "setOrder", [("aliasArray", ["default"])],
            cred=argus_pap.creds["admin"], ca_dir=argus_pap.ca_dir)
    resp = rc.call(argus_pap.service("PAPManagementService"), "getOrder", cred=argus_pap.creds["admin"],
                   ca_dir=argus_pap.ca_dir, ns=ns)
    assert etree.QName(resp).namespace == ns
    ret = rc.ret(resp)
    assert etree.QName(ret).localname == "getOrderReturn" and etree.QName(ret).namespace == ns
    assert [etree.QName(i).localname for i in ret] == ["getOrderReturn"] and ret[0].text == "default"


def test_response_keeps_request_prefix(argus_pap):
    body = ('<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
            '<hl:ping xmlns:hl="http://org.glite.authz/wsdl/pap/services/pap_management"/></e:Body></e:Envelope>')
    status, data = raw(argus_pap, "PAPManagementService", body)
    assert status == 200 and b"<hl:pingResponse" in data and b"<hl:pingReturn>PAP version:" in data


def test_parameters_bind_by_position_when_names_differ(argus_pap):
    pap = Pap(argus_pap)
    resp = pap.call("HighLevelPolicyManagementService", "ban",
                    [("a", "default"), ("b", "subject"), ("c", "/CN=pos"), ("d", ".*"), ("e", ".*"), ("f", "true")],
                    ns=HL)
    assert rc.ret(resp).text.startswith("public_")
    # by name, in any order
    resp = pap.call("HighLevelPolicyManagementService", "unban",
                    [("value", "/CN=pos"), ("id", "subject"), ("alias", "default")], ns=HL)
    assert rc.ret(resp).findtext("{%s}statusCode" % HL) == "0"


def test_ban_duplicate_returns_xsi_nil(argus_pap):
    pap = Pap(argus_pap)
    pap.ban("subject", "/CN=dup")
    resp = pap.call("HighLevelPolicyManagementService", "ban", [
        ("alias", "default"), ("id", "subject"), ("value", "/CN=dup"), ("resource", ".*"), ("action", ".*"),
        ("isPublic", True)], ns=HL)
    assert rc.ret(resp).get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"


def test_unknown_operation_and_service(argus_pap):
    status, data = raw(argus_pap, "PAPManagementService",
                       rc.envelope("getEverything", [("x", "1")]))
    assert status == 500
    fault = etree.fromstring(data).find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert fault.findtext("faultstring") == "No such operation 'getEverything'"
    status, _ = raw(argus_pap, "NoSuchService", rc.envelope("ping"))
    assert status == 404
    # AuthorizationManagementService exposes only four operations
    with pytest.raises(Fault):
        rc.call(argus_pap.service("AuthorizationManagementService"), "getACLs", cred=argus_pap.creds["admin"],
                ca_dir=argus_pap.ca_dir)


PERMISSION_CASES = [
    # (credential, service, operation, params, allowed)
    ("reader", "XACMLPolicyManagementService", "listPolicies", [("alias", "default")], True),
    ("nobody", "XACMLPolicyManagementService", "listPolicies", [("alias", "default")], False),
    ("reader", "PAPManagementService", "getAllPaps", [], True),
    ("nobody", "PAPManagementService", "getAllPaps", [], False),
    ("nobody", "PAPManagementService", "ping", [], True),
    ("reader", "HighLevelPolicyManagementService", "ban",
     [("alias", "default"), ("id", "subject"), ("value", "/CN=r"), ("resource", ".*"), ("action", ".*"),
      ("isPublic", True)], False),
    ("reader", "HighLevelPolicyManagementService", "unban",
     [("alias", "default"), ("id", "subject"), ("value", "/CN=r"), ("resource", ".*"), ("action", ".*")], False),
    ("reader", "PAPManagementService", "setOrder", [("aliasArray", ["default"])], False),
    ("reader", "AuthorizationManagementService", "getACL", [("context", None)], True),
    ("reader", "AuthorizationManagementService", "removeACE",
     [("context", None), ("principal", {"type": "x509-dn", "name": "/CN=x"})], False),
]


@pytest.mark.parametrize("cred,service,op,params,allowed", PERMISSION_CASES)
def test_permissions_per_operation(argus_pap, cred, service, op, params, allowed):
    call = lambda: rc.call(argus_pap.service(service), op, params, cred=argus_pap.creds[cred],
                           ca_dir=argus_pap.ca_dir)
    if allowed:
        call()
    else:
        with pytest.raises(Fault) as err:
            call()
        assert err.value.string.startswith("org.glite.authz.pap.authz.exceptions.PAPAuthzException: Insufficient "
                                           "privileges to perform operation '") and err.value.status == 500


def test_remote_alias_needs_read_remote(argus_pap):
    admin = Pap(argus_pap)
    admin.call("PAPManagementService", "addPap", [("pap", {
        "alias": "up", "dn": "/CN=up", "hostname": "localhost", "port": "1", "visibilityPublic": False,
        "local": False, "enabled": False})])
    admin.call("AuthorizationManagementService", "addACE", [
        ("context", None), ("principal", {"type": "x509-dn", "name": argus_pap.creds["nobody"].dn}),
        ("permissions", ["POLICY_READ_LOCAL"])])
    nobody = Pap(argus_pap, cred="nobody")
    assert nobody.policies("default") == []
    with pytest.raises(Fault) as err:
        nobody.policies("up")
    assert err.value.string.endswith("Insufficient privileges to perform operation 'ListRemotePoliciesOperation'.")
    acl = rc.ret(admin.call("AuthorizationManagementService", "getACL", [("context", None)]))
    names = [item.findtext("{%s}principal/{%s}name" % (rc.AXIS_NS, rc.AXIS_NS)) for item in acl]
    assert argus_pap.creds["nobody"].dn in names
    with pytest.raises(Fault) as err:
        admin.call("AuthorizationManagementService", "addACE", [
            ("context", None), ("principal", {"type": "x509", "name": "/CN=z"}), ("permissions", ["ALL"])])
    assert "Unsupported principal type" in err.value.string


def test_proxy_identity_is_the_end_entity(argus_pap):
    resp = rc.call(argus_pap.service("PAPManagementService"), "getAllPaps", cred=argus_pap.creds["reader"],
                   ca_dir=argus_pap.ca_dir, proxy=True)
    assert rc.ret(resp) is not None


def test_client_certificate_required(argus_pap):
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        status, _ = rc.post(argus_pap.service("PAPManagementService"), rc.envelope("ping"), ca_dir=argus_pap.ca_dir)
        assert status != 200  # pragma: no cover - TLS 1.3 may report the refusal on read


def test_status_page(argus_pap):
    Pap(argus_pap).ban("subject", "/CN=s")
    ctx = ssl.create_default_context(capath=argus_pap.ca_dir)
    ctx.load_cert_chain(argus_pap.creds["nobody"].cert, argus_pap.creds["nobody"].key)
    text = urllib.request.urlopen(argus_pap.pap.status_url, context=ctx).read().decode()
    fields = dict(line.split(": ", 1) for line in text.strip().splitlines())
    for key in ("NumberOfPolicies", "NumberOfLocalPolicies", "NumberOfRemotePolicies", "PolicyLastModificationTime",
                "PolicyLastModificationTimeMillis", "ServiceStartupTime", "Status", "ServiceVersion", "Service"):
        assert key in fields
    assert fields["NumberOfPolicies"] == "1" and fields["NumberOfLocalPolicies"] == "1"
    assert fields["Status"] == "OK"


@pytest.mark.parametrize("payload", [
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    '<ns:listPolicies xmlns:ns="http://services.pap.authz.glite.org"><alias>&e;</alias></ns:listPolicies>'
    '</soapenv:Body></soapenv:Envelope>',
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>',
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>',
])
def test_hostile_xml_is_refused(argus_pap, payload):
    status, data = raw(argus_pap, "XACMLPolicyManagementService", payload)
    assert status == 500
    assert b"root:" not in data
    fault = etree.fromstring(data).find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert fault is not None and fault.findtext("faultcode") == "soapenv:Client"


def test_untrusted_server_and_dead_port(argus_pap, argus_untrusted_pap, argus_dead_url):
    with pytest.raises(ssl.SSLCertVerificationError):
        rc.post(argus_untrusted_pap.url + "/PAPManagementService", rc.envelope("ping"),
                cred=argus_pap.creds["admin"], ca_dir=argus_pap.ca_dir)
    with pytest.raises(ConnectionRefusedError):
        rc.post(argus_dead_url + "/PAPManagementService", rc.envelope("ping"), cred=argus_pap.creds["admin"],
                ca_dir=argus_pap.ca_dir)
