"""PapClient against recorded (hand-written, Axis/OpenSAML-style) PAP replies.

A fake transport returns the fixture bytes and keeps what the client sent, so the tests check both the
envelopes on the wire and what a module gets back.
"""
import os

import pytest
from lxml import etree

from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import AcePrincipal, Pap, PapClient
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import Attribute, Policy, Rule
from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    NotFoundError,
    RemoteError,
    TransportError,
    WriteRefusedError,
)
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpReply

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "argus")
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PAP_NS = "http://services.pap.authz.glite.org"
HL_NS = "http://org.glite.authz/wsdl/pap/services/highlevel_policy_management"
XACML_NS = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as handle:
        return handle.read()


class FakeTransport(object):
    """Replies from a queue of (status, body); records every request."""

    server_label = "127.0.0.1:1"
    max_response_bytes = 1024 * 1024

    def __init__(self, *replies):
        self.replies = list(replies)
        self.sent = []

    def request(self, method, path, operation, data=None, json=None, params=None, headers=None):
        self.sent.append({"method": method, "path": path, "operation": operation, "data": data,
                          "headers": dict(headers or {})})
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        status, body = reply
        return HttpReply(status, {"Content-Type": "text/xml"}, body)

    def operation_element(self, index=-1):
        root = etree.fromstring(self.sent[index]["data"])
        body = root.find("{%s}Body" % SOAP_ENV)
        return body[0]


def client_with(*replies):
    transport = FakeTransport(*replies)
    return PapClient(transport, server_label="pap.example.org:8150"), transport


def test_ban_request_on_the_wire_and_returned_policy_id():
    client, transport = client_with((200, fixture("ban_reply_id.xml")))
    policy_id = client.ban("default", "subject", "CN=user name,CN=999999,DC=cern,DC=ch", public=False)
    assert policy_id == "public_0b9e8d7c-6f5a-4b3c-9d2e-1f0a9b8c7d6e"
    sent = transport.sent[0]
    assert sent["method"] == "POST" and sent["path"] == "HighLevelPolicyManagementService"
    assert sent["headers"]["SOAPAction"] == '"%s/banDN"' % HL_NS
    assert sent["headers"]["Content-Type"] == "text/xml; charset=utf-8"
    op = transport.operation_element()
    assert op.tag == "{%s}ban" % HL_NS
    # WSDL part names, WSDL order, unqualified
    assert [(c.tag, c.text) for c in op] == [
        ("alias", "default"), ("id", "subject"), ("value", "CN=user name,CN=999999,DC=cern,DC=ch"),
        ("resource", ".*"), ("action", ".*"), ("isPublic", "false")]
    assert client.operations == [{"service": "HighLevelPolicyManagementService", "operation": "ban",
                                  "args": {"alias": "default", "id": "subject",
                                           "value": "CN=user name,CN=999999,DC=cern,DC=ch",
                                           "resource": ".*", "action": ".*", "public": False}}]


def test_ban_of_existing_value_returns_none_from_nil():
    client, _transport = client_with((200, fixture("ban_reply_nil.xml")))
    assert client.ban("default", "fqan", "/dteam/test") is None


@pytest.mark.parametrize("name, code", [("unban_reply_status0.xml", 0), ("unban_reply_status1.xml", 1)])
def test_unban_returns_status_code(name, code):
    client, transport = client_with((200, fixture(name)))
    assert client.unban("default", "fqan", "/dteam/test") == code
    assert transport.sent[0]["headers"]["SOAPAction"] == '"%s/unbanDN"' % HL_NS
    assert [c.tag for c in transport.operation_element()] == ["alias", "id", "value", "resource", "action"]


def test_fault_becomes_remote_error_naming_pap_and_operation():
    client, _transport = client_with((500, fixture("fault_remote_pap.xml")))
    with pytest.raises(RemoteError) as info:
        client.ban("centralbanning", "subject", "CN=x")
    err = info.value
    assert not isinstance(err, AuthorizationError)
    assert str(err) == "PAP pap.example.org:8150, operation ban: SOAP fault: Forbidden operation for a remote PAP"
    assert err.details["faultcode"] == "soapenv:Server.userException"
    assert err.to_dict()["type"] == "RemoteError"


def test_authorization_fault_becomes_authorization_error():
    client, _transport = client_with((500, fixture("fault_authz.xml")))
    with pytest.raises(AuthorizationError) as info:
        client.ban("default", "subject", "CN=x")
    assert "Permission denied" in str(info.value) and "operation ban" in str(info.value)


def test_http_500_without_soap_is_a_remote_error():
    client, _transport = client_with((500, b"<html><body><h2>HTTP ERROR 500</h2></body></html>"))
    with pytest.raises(RemoteError) as info:
        client.ping()
    assert "HTTP 500" in str(info.value)


def test_transport_errors_are_relabelled_with_the_pap():
    client, _transport = client_with(TransportError("cannot connect to https://x", server="x:1", operation="ping"))
    with pytest.raises(TransportError) as info:
        client.ping()
    assert str(info.value).startswith("PAP pap.example.org:8150, operation ping: cannot connect")


def test_get_all_paps_parses_nested_array_with_other_prefix_and_nils():
    client, transport = client_with((200, fixture("getAllPaps_reply.xml")))
    paps = client.get_all_paps()
    assert transport.operation_element().tag == "{%s}getAllPaps" % PAP_NS
    assert [p.alias for p in paps] == ["centralbanning", "default"]
    central, default = paps
    assert (central.local, central.enabled, central.public) == (False, True, True)
    assert central.port == 8150 and central.hostname == "lcg-argus.cern.ch"
    assert central.dn == "/DC=ch/DC=cern/OU=computers/CN=lcg-argus.cern.ch"
    assert (default.local, default.public, default.hostname, default.port) == (True, False, None, None)


def test_get_tree_follows_root_order():
    # the root comes with the resource PolicySets in the listPolicySets reply: no getRootPolicySet
    client, transport = client_with((200, fixture("listPolicySets_reply.xml")),
                                    (200, fixture("listPolicies_reply.xml")))
    tree = client.get_tree("default")
    assert [s["operation"] for s in transport.sent] == ["listPolicySets", "listPolicies"]
    assert all(s["path"] == "XACMLPolicyManagementService" for s in transport.sent)
    assert transport.operation_element(0).tag == "{%s}listPolicySets" % PAP_NS
    # ps-ce comes first in the root although listPolicySets lists ps-any first
    order = [(ps.policy_set_id, p.policy_id, r.rule_id) for ps, p, r in tree.iter_rules()]
    assert order == [("ps-ce", "private_ce", "rule-carol"), ("ps-ce", "private_ce", "rule-dteam"),
                     ("ps-any", "public_any", "rule-compound"), ("ps-any", "public_any", "rule-bob")]
    assert tree.policies["private_ce"].public is False
    bans = tree.find_bans("subject", "CN=Bob\\, Jr.,O=Example,C=IT")
    assert [r.rule_id for _resource, _policy, r in bans] == ["rule-bob"]
    compound = tree.find_bans("fqan", "/dteam/test")[0][2]
    assert [a.as_pair() for a in compound.attributes] == [("fqan", "/dteam/test"),
                                                          ("subject", "CN=Alice,O=Example,C=IT")]


def test_get_tree_takes_the_root_from_list_policy_sets_in_two_calls():
    client, transport = client_with((200, fixture("listPolicySets_reply.xml")),
                                    (200, fixture("listPolicies_reply.xml")))
    tree = client.get_tree("default")
    assert [s["operation"] for s in transport.sent] == ["listPolicySets", "listPolicies"]
    assert tree.root.policy_set_id == "default-3f0e6c7a-0b1c-4c1e-9a55-2f1d0c4b9e11"
    order = [(ps.policy_set_id, p.policy_id, r.rule_id) for ps, p, r in tree.iter_rules()]
    assert order == [("ps-ce", "private_ce", "rule-carol"), ("ps-ce", "private_ce", "rule-dteam"),
                     ("ps-any", "public_any", "rule-compound"), ("ps-any", "public_any", "rule-bob")]


def test_get_tree_asks_for_the_root_when_the_list_does_not_single_it_out():
    # ps-any is not referenced by the listed root: two PolicySets nobody references, so the root is asked for
    orphan = fixture("listPolicySets_reply.xml").replace(
        b"<xacml:PolicySetIdReference>ps-any</xacml:PolicySetIdReference>", b"")
    client, transport = client_with((200, orphan), (200, fixture("getRootPolicySet_reply.xml")),
                                    (200, fixture("listPolicies_reply.xml")))
    tree = client.get_tree("default")
    assert [s["operation"] for s in transport.sent] == ["listPolicySets", "getRootPolicySet", "listPolicies"]
    assert [ps.policy_set_id for ps in tree.resource_policy_sets()] == ["ps-ce", "ps-any"]


def test_order_polling_interval_and_nil_array():
    client, transport = client_with((200, fixture("getOrder_reply.xml")), (200, fixture("getOrder_reply_nil.xml")),
                                    (200, fixture("getPollingInterval_reply.xml")))
    assert client.get_order() == ["centralbanning", "default"]
    assert client.get_order() == []
    assert client.get_polling_interval() == 14400.0


def test_set_order_sends_string_array_items():
    reply = (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
             b'<p:setOrderResponse xmlns:p="http://services.pap.authz.glite.org"/></e:Body></e:Envelope>')
    client, transport = client_with((200, reply))
    client.set_order(["centralbanning", "default"])
    op = transport.operation_element()
    assert [c.tag for c in op] == ["aliasArray"]
    assert [(i.tag, i.text) for i in op[0]] == [("stringItem", "centralbanning"), ("stringItem", "default")]


def test_get_acl_and_ace_principal_types():
    empty = (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
             b'<p:%sResponse xmlns:p="http://services.pap.authz.glite.org"/></e:Body></e:Envelope>')
    client, transport = client_with((200, fixture("getACL_reply.xml")), (200, empty % b"addACE"),
                                    (200, empty % b"removeACE"))
    acl = client.get_acl()
    assert acl == {AcePrincipal("x509-dn", "/DC=ch/DC=cern/OU=computers/CN=argus.example.org"):
                   ["POLICY_READ_LOCAL", "CONFIGURATION_READ"],
                   AcePrincipal("voms-fqan", "/dteam/Role=admin"): ["ALL"]}
    client.add_ace(AcePrincipal("anyone", "ANYONE"), ["POLICY_READ_LOCAL"])
    op = transport.operation_element(1)
    assert [c.tag for c in op] == ["context", "principal", "permissions"]
    assert op[0].get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"
    assert [(c.tag, c.text) for c in op[1]] == [("type", "x509-dn"), ("name", "ANYONE")]
    assert [c.text for c in op[2]] == ["POLICY_READ_LOCAL"]
    client.remove_ace(AcePrincipal("fqan", "/dteam"))
    assert [(c.tag, c.text) for c in transport.operation_element(2)[1]] == [("type", "voms-fqan"), ("name", "/dteam")]


def test_add_pap_sends_bean_fields_in_wsdl_order():
    reply = (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
             b'<p:addPapResponse xmlns:p="http://services.pap.authz.glite.org"><p:addPapReturn>true</p:addPapReturn>'
             b'</p:addPapResponse></e:Body></e:Envelope>')
    client, transport = client_with((200, reply))
    pap = Pap("centralbanning", dn="/CN=lcg-argus.cern.ch", hostname="lcg-argus.cern.ch", port=8150,
              path="/pap/services/", protocol="https", public=True, local=False, enabled=True)
    assert client.add_pap(pap) is True
    bean = transport.operation_element()[0]
    assert [(c.tag, c.text) for c in bean] == [
        ("alias", "centralbanning"), ("id", None), ("dn", "/CN=lcg-argus.cern.ch"), ("hostname", "lcg-argus.cern.ch"),
        ("port", "8150"), ("path", "/pap/services/"), ("protocol", "https"), ("visibilityPublic", "true"),
        ("local", "false"), ("enabled", "true")]


def test_add_policy_sends_xacml_policy_in_the_part():
    reply = (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
             b'<p:addPolicyResponse xmlns:p="http://services.pap.authz.glite.org">'
             b'<p:addPolicyReturn>public_new</p:addPolicyReturn></p:addPolicyResponse></e:Body></e:Envelope>')
    client, transport = client_with((200, reply))
    policy = Policy("public_x", "1", ".*", [Rule("r1", "deny", [Attribute("subject", "CN=a,O=b")])])
    assert client.add_policy("default", 0, "ps-any", "public", policy) == "public_new"
    op = transport.operation_element()
    assert [c.tag for c in op] == ["alias", "index", "policySetId", "policyIdPrefix", "policy"]
    assert op[1].text == "0"
    inner = op[4][0]
    assert inner.tag == "{%s}Policy" % XACML_NS and inner.prefix == "xacml"
    assert client.operations[-1]["args"]["policy"] == {"type": "Policy", "id": "public_x"}


def test_get_policy_nil_is_not_found():
    reply = (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" '
             b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><e:Body>'
             b'<p:getPolicyResponse xmlns:p="http://services.pap.authz.glite.org">'
             b'<p:getPolicyReturn xsi:nil="true"/></p:getPolicyResponse></e:Body></e:Envelope>')
    client, _transport = client_with((200, reply))
    with pytest.raises(NotFoundError):
        client.get_policy("default", "public_gone")


def test_policy_query_pdp_reply_is_merged_tree_in_pap_order():
    client, transport = client_with((200, fixture("provisioning_pdp_reply.xml")))
    tree = client.policy_query(pdp=True)
    query = transport.operation_element()
    assert query.tag == "{urn:oasis:names:tc:xacml:2.0:profile:saml2.0:v2:schema:protocol}XACMLPolicyQuery"
    assert query.get("Version") == "2.0"
    assert not [c for c in query if etree.QName(c).localname == "Extensions"]
    assert tree.root.policy_set_id == "root-default-3f0e"
    order = [(p.policy_id, r.rule_id) for _resource, p, r in tree.iter_rules()]
    assert order == [("public_central", "r-canary"), ("private_local", "r-vo")]
    assert "CN=1a2b3c4d, CN=20260101" in tree.to_spl()


def test_policy_query_pap_query_has_empty_extensions():
    client, transport = client_with((200, fixture("provisioning_pdp_reply.xml")))
    client.policy_query(pdp=False)
    query = transport.operation_element()
    extensions = [c for c in query if etree.QName(c).localname == "Extensions"]
    assert len(extensions) == 1 and len(extensions[0]) == 0


def test_policy_query_refused_by_saml_status():
    client, _transport = client_with((200, fixture("provisioning_denied_reply.xml")))
    with pytest.raises(AuthorizationError) as info:
        client.policy_query(pdp=True)
    assert "RequestDenied" in str(info.value.details)


# -- real-shaped refusals: argus-pap answers false/null to a failed write, without a fault --------------------

def axis_reply(operation, value, namespace="http://services.pap.authz.glite.org"):
    """An Axis 1 rpc/literal reply: ``<opResponse><opReturn>value</opReturn>`` (nil for None)."""
    if value is None:
        ret = '<%sReturn xsi:nil="true"/>' % operation
    else:
        ret = "<%sReturn>%s</%sReturn>" % (operation, value, operation)
    return (200, ('<?xml version="1.0" encoding="utf-8"?>'
                  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                  'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
                  '<soapenv:Body><%sResponse xmlns="%s">%s</%sResponse></soapenv:Body></soapenv:Envelope>'
                  % (operation, namespace, ret, operation)).encode())


def axis_fault(faultstring):
    """An Axis 1 fault of a server-side RuntimeException: faultstring ``<java class>: <message>``."""
    return (500, ('<?xml version="1.0" encoding="utf-8"?>'
                  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
                  '<soapenv:Body><soapenv:Fault><faultcode>soapenv:Server.userException</faultcode>'
                  '<faultstring>%s</faultstring><detail><ns1:hostname xmlns:ns1="http://xml.apache.org/axis/">'
                  'pap.example.org</ns1:hostname></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>'
                  % faultstring).encode())


REMOTE_PAP = Pap("central", dn="/CN=central", hostname="central.example.org", port=8150, path="/pap/services/",
                 protocol="https", public=True, local=False, enabled=True)
POLICY = Policy("public_x", "3", ".*", [Rule("r1", "deny", [Attribute("subject", "CN=a,O=b")])])


@pytest.mark.parametrize("call, operation, value, cause", [
    (lambda c: c.add_pap(REMOTE_PAP), "addPap", "false", "'central' already exists"),
    (lambda c: c.update_pap(REMOTE_PAP), "updatePap", "false", "'central' does not exist"),
    (lambda c: c.remove_pap("central"), "removePap", "false", "'central' does not exist"),
    (lambda c: c.refresh_cache("central"), "refreshCache", "false", "'central' does not exist"),
    (lambda c: c.update_policy("default", "3", POLICY), "updatePolicy", "false", "version conflict"),
    (lambda c: c.update_policy_set("default", "2", object()), "updatePolicySet", "false", "version conflict"),
    (lambda c: c.remove_policy("default", "public_x"), "removePolicy", "false", "not found"),
    (lambda c: c.remove_policy_set("default", "ps"), "removePolicySet", "false", "not found"),
    (lambda c: c.remove_object_by_id_and_references("default", "r1"), "removeObjectByIdAndReferences", "false",
     "r1"),
    (lambda c: c.add_policy("default", 0, "ps-gone", "public", POLICY), "addPolicy", None,
     "PolicySet ps-gone does not exist"),
    (lambda c: c.add_policies("default", 0, "ps-gone", ["public"], [POLICY]), "addPolicies", None,
     "PolicySet ps-gone does not exist"),
    (lambda c: c.store_policy("default", "public", POLICY), "storePolicy", None, "no id"),
    (lambda c: c.add_policy_set("default", 0, object()), "addPolicySet", None, "no id"),
    (lambda c: c.update_pap(REMOTE_PAP), "updatePap", None, "'central' does not exist"),
])
def test_false_or_null_reply_to_a_write_is_write_refused(monkeypatch, call, operation, value, cause):
    monkeypatch.setattr("ansible_collections.gridsec.ops.plugins.module_utils._argus.client._as_element",
                        lambda value, kind: etree.Element("x"))
    client, _transport = client_with(axis_reply(operation, value))
    with pytest.raises(WriteRefusedError) as info:
        call(client)
    err = info.value
    assert isinstance(err, RemoteError)
    assert err.server == "PAP pap.example.org:8150" and err.operation == operation
    assert str(err).startswith("PAP pap.example.org:8150, operation %s: the PAP answered %s to %s"
                               % (operation, "null" if value is None else "false", operation))
    assert cause in str(err)
    assert err.to_dict()["kind"] == "write_refused"


@pytest.mark.parametrize("call, operation, value, expected", [
    (lambda c: c.add_pap(REMOTE_PAP), "addPap", "true", True),
    (lambda c: c.refresh_cache("central"), "refreshCache", "true", True),
    (lambda c: c.update_policy("default", "3", POLICY), "updatePolicy", "true", True),
    (lambda c: c.remove_object_by_id_and_references("default", "r1"), "removeObjectByIdAndReferences", "true", True),
    (lambda c: c.add_policies("default", 0, "ps", ["public", "public"], [POLICY, POLICY]), "addPolicies",
     "<addPoliciesReturn>public-1</addPoliciesReturn><addPoliciesReturn>public-2</addPoliciesReturn>",
     ["public-1", "public-2"]),
    (lambda c: c.ban("default", "subject", "CN=x"), "ban", None, None),  # null: already banned (documented)
])
def test_successful_write_replies(call, operation, value, expected):
    namespace = ("http://org.glite.authz/wsdl/pap/services/highlevel_policy_management" if operation == "ban"
                 else "http://services.pap.authz.glite.org")
    client, _transport = client_with(axis_reply(operation, value, namespace))
    assert call(client) == expected


def test_add_policies_with_fewer_ids_than_policies_is_an_error():
    client, _transport = client_with(axis_reply("addPolicies", "<addPoliciesReturn>public-1</addPoliciesReturn>"))
    with pytest.raises(RemoteError) as info:
        client.add_policies("default", 0, "ps", ["public", "public"], [POLICY, POLICY])
    assert "1 ids for 2 policies" in str(info.value)


def test_set_order_false_is_refused_and_empty_reply_accepted():
    client, _transport = client_with(axis_reply("setOrder", "false"), axis_reply("setOrder", "true"))
    with pytest.raises(WriteRefusedError):
        client.set_order(["central", "default"])
    client.set_order(["central", "default"])


# -- real-shaped faults: "<java exception class>: <message>" with argus-pap's own texts -----------------------

@pytest.mark.parametrize("faultstring, cls, shown", [
    ("org.glite.authz.pap.authz.exceptions.PAPAuthzException: Insufficient privileges to perform operation "
     "'AddPapOperation'.", AuthorizationError,
     "PAPAuthzException: Insufficient privileges to perform operation 'AddPapOperation'."),
    ("org.glite.authz.pap.repository.exceptions.NotFoundException: Not found: papAlias=centrl", NotFoundError,
     "NotFoundException: Not found: papAlias=centrl"),
    ("org.glite.authz.pap.repository.exceptions.NotFoundException: Id not found: r-gone", NotFoundError,
     "NotFoundException: Id not found: r-gone"),
    ("org.glite.authz.pap.repository.exceptions.InvalidVersionException: Attempting to update the wrong version of "
     "PolicyId=\"public_x\" (requestedVersion=\"3\", repositoryVersion=\"4\")", WriteRefusedError,
     "InvalidVersionException: Attempting to update the wrong version"),
    ("org.glite.authz.pap.common.exceptions.PAPException: \"default\" is local, nothing to refresh", RemoteError,
     "PAPException: \"default\" is local, nothing to refresh"),
    ("org.glite.authz.pap.papmanagement.PapManagerException: Deleting the default pap is not allowed", RemoteError,
     "PapManagerException: Deleting the default pap is not allowed"),
    ("org.glite.authz.pap.distribution.DistributionConfigurationException: Error in remote paps order: unknown "
     "alias \"centrl\"", RemoteError, "unknown alias \"centrl\""),
    # a RepositoryException that says "not found" is not a NotFoundException: the class decides
    ("org.glite.authz.pap.repository.exceptions.RepositoryException: Id not found or not a resource-id: x",
     RemoteError, "RepositoryException: Id not found or not a resource-id: x"),
    ("org.glite.authz.pap.services.XACMLPolicyManagementServiceException: Forbidden operation for a remote PAP",
     RemoteError, "Forbidden operation for a remote PAP"),
    # no Java class (another front end): the source's texts still classify it
    ("Insufficient privileges to perform operation 'BanOperation'.", AuthorizationError, "Insufficient privileges"),
    ("Not found: papAlias=x", NotFoundError, "Not found: papAlias=x"),
])
def test_real_fault_strings_map_by_exception_class(faultstring, cls, shown):
    client, _transport = client_with(axis_fault(faultstring))
    with pytest.raises(RemoteError) as info:
        client.remove_pap("centrl")
    err = info.value
    assert type(err) is cls  # pylint: disable=unidiomatic-typecheck
    assert shown in str(err) and "operation removePap" in str(err)
    assert err.details["faultstring"] == faultstring


def test_fault_of_an_exception_without_message_and_of_a_non_java_stack():
    client, _transport = client_with(axis_fault("java.lang.NullPointerException"),
                                     axis_fault("No such operation 'x'"))
    with pytest.raises(RemoteError) as info:
        client.ping()
    assert type(info.value) is RemoteError  # pylint: disable=unidiomatic-typecheck
    assert str(info.value).endswith("SOAP fault: NullPointerException")
    assert info.value.details["exception"] == "java.lang.NullPointerException"
    with pytest.raises(RemoteError) as info:
        client.ping()
    assert str(info.value).endswith("SOAP fault: No such operation 'x'") and "exception" not in info.value.details


def test_configuration_error_before_sending_names_no_operation():
    from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
    client, _transport = client_with(ConfigError("client_cert /x does not exist or is not a file"))
    with pytest.raises(ConfigError) as info:
        client.get_all_paps()
    assert info.value.operation is None and info.value.server == "PAP pap.example.org:8150"
    assert client.operations == []
