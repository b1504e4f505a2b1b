"""soap.xacml_objects (the listPolicies reply read element by element) against the whole-tree read it replaces:
same objects in the same order, and the same errors for replies that are not a plain rpc reply."""
import os

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._argus import soap
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import Policy
from ansible_collections.gridsec.ops.plugins.module_utils._errors import RemoteError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "argus")
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XACML = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as handle:
        return handle.read()


def whole(data, status=200, operation="listPolicies"):
    response = soap.rpc_response(data, status, operation)
    return [Policy.from_element(e) for e in soap.xacml_elements(response, ("Policy",))]


def streamed(data, status=200, operation="listPolicies"):
    return soap.xacml_objects(data, status, operation, ("Policy",), Policy.from_element)


def summary(policies):
    return [(p.policy_id, p.version, p.description, [(r.rule_id, r.effect, [a.to_dict() for a in r.attributes])
                                                     for r in p.rules]) for p in policies]


def policy(pid, value):
    return ('<xacml:Policy xmlns:xacml="%s" PolicyId="%s" Version="1" RuleCombiningAlgId="urn:oasis:names:tc:xacml:1.0:'
            'rule-combining-algorithm:first-applicable"><xacml:Target/><xacml:Rule RuleId="r-%s" Effect="Deny"><xacml:'
            'Target><xacml:Subjects><xacml:Subject><xacml:SubjectMatch MatchId="urn:oasis:names:tc:xacml:1.0:function:'
            'string-equal"><xacml:AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">%s</xacml:'
            'AttributeValue><xacml:SubjectAttributeDesignator AttributeId="http://glite.org/xacml/attribute/fqan" '
            'DataType="http://www.w3.org/2001/XMLSchema#string"/></xacml:SubjectMatch></xacml:Subject></xacml:'
            'Subjects></xacml:Target></xacml:Rule></xacml:Policy>' % (XACML, pid, pid, value))


def reply(inner, body_extra=""):
    return ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="%s"><soapenv:Body>'
            '<listPoliciesResponse>%s</listPoliciesResponse>%s</soapenv:Body></soapenv:Envelope>'
            % (ENV, inner, body_extra)).encode("utf-8")


def test_fixture_reply_same_as_whole_tree():
    data = fixture("listPolicies_reply.xml")
    got = streamed(data)
    assert got and summary(got) == summary(whole(data))


def test_nested_and_many_policies_in_document_order():
    # policies inside an array wrapper and one inside a PolicySet (outermost Policy elements, any depth)
    inner = ("<listPoliciesReturn>%s%s</listPoliciesReturn><x><xacml:PolicySet xmlns:xacml=\"%s\">%s</xacml:PolicySet>"
             "</x>%s" % (policy("p1", "/a"), policy("p2", "/b"), XACML, policy("p3", "/c"),
                         "".join(policy("q%d" % i, "/v%d" % i) for i in range(50))))
    data = reply(inner)
    got = streamed(data)
    assert [p.policy_id for p in got][:3] == ["p1", "p2", "p3"]
    assert len(got) == 53
    assert summary(got) == summary(whole(data))


def test_fault_after_the_response_raises_as_whole_tree():
    fault = "<soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>boom</faultstring></soapenv:Fault>"
    data = reply(policy("p1", "/a"), fault)
    with pytest.raises(RemoteError) as streamed_err:
        streamed(data)
    with pytest.raises(RemoteError) as whole_err:
        whole(data)
    assert str(streamed_err.value) == str(whole_err.value)


@pytest.mark.parametrize("data", [
    b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
    b"<notsoap/>",
    b"<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'><soapenv:Body>"
    b"<otherResponse/></soapenv:Body></soapenv:Envelope>",
    b"<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'><soapenv:Body>",
    b"   ",
])
def test_refused_replies_raise_as_whole_tree(data):
    with pytest.raises(RemoteError) as streamed_err:
        streamed(data)
    with pytest.raises(RemoteError) as whole_err:
        whole(data)
    assert str(streamed_err.value) == str(whole_err.value)


def test_http_error_status_raises_as_whole_tree():
    data = reply(policy("p1", "/a"))
    with pytest.raises(RemoteError) as streamed_err:
        streamed(data, status=500)
    with pytest.raises(RemoteError) as whole_err:
        whole(data, status=500)
    assert str(streamed_err.value) == str(whole_err.value)


def test_converted_elements_are_freed_while_reading():
    # each converted Policy is cleared, and removed when the next is done: when one is converted, at most the one
    # before it is left, empty
    seen = []

    def convert(element):
        before = element.getprevious()
        seen.append(before is None or (len(before) == 0 and before.getprevious() is None))
        return Policy.from_element(element)

    data = reply("".join(policy("q%d" % i, "/v%d" % i) for i in range(20)))
    got = soap.xacml_objects(data, 200, "listPolicies", ("Policy",), convert)
    assert len(got) == 20
    assert seen == [True] * 20
