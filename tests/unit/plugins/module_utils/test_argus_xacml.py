"""XACML model: parsing the reference samples, schema-valid rendering, round trips and SPL output."""
import os

import pytest
from lxml import etree

from ansible_collections.gridsec.ops.plugins.module_utils._argus.attributes import ATTRIBUTE_MAPPINGS
from ansible_collections.gridsec.ops.plugins.module_utils._argus.spl import spl_quote
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import (
    Attribute,
    Obligation,
    PapPolicyTree,
    Policy,
    PolicySet,
    Rule,
    XacmlError,
    policy_id_is_public,
)
from ansible_collections.gridsec.ops.plugins.module_utils._xml import parse_xml

REFERENCE = "/work/shared/reference/argus"
SAMPLES = os.path.join(REFERENCE, "samples", "xacml")
XSD = os.path.join(REFERENCE, "wsdl", "access_control-xacml-2.0-policy-schema-os.xsd")
XACML_NS = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"

pytestmark = pytest.mark.skipif(not os.path.isdir(SAMPLES), reason="reference samples not available")


@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(XSD))


def sample(name):
    with open(os.path.join(SAMPLES, name), "rb") as handle:
        return parse_xml(handle.read())


@pytest.fixture
def sample_tree():
    root = PolicySet.from_element(sample("derived_01_pap-root-policyset_default.xml"))
    resource = PolicySet.from_element(sample("derived_02_ban_resource-policyset.xml"))
    policy = Policy.from_element(sample("derived_03_ban_action-policy_subject-and-fqan.xml"))
    return PapPolicyTree.from_lists("default", root, [resource], [policy])


def test_samples_parse_into_the_pap_model(sample_tree):
    root = sample_tree.root
    assert root.resource is None and root.references == [("policyset", "6a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d")]
    resource = sample_tree.policy_sets["6a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d"]
    assert resource.resource == ".*" and resource.version == "1"
    policy = sample_tree.policies["public_0b9e8d7c-6f5a-4b3c-9d2e-1f0a9b8c7d6e"]
    assert policy.public and policy.action == ".*" and policy.version == "2"
    rules = [(r.effect, [a.as_pair() for a in r.attributes]) for _resource, _policy, r in sample_tree.iter_rules()]
    assert rules == [
        ("Deny", [("subject", "CN=user name,CN=999999,CN=user,OU=Users,OU=Organic Units,DC=cern,DC=ch")]),
        ("Deny", [("fqan", "/dteam/test")])]
    subject = policy.rules[0].attributes[0]
    assert subject.is_dn and subject.xacml_id == "urn:oasis:names:tc:xacml:1.0:subject:subject-id"


@pytest.mark.parametrize("name", ["derived_01_pap-root-policyset_default.xml", "derived_02_ban_resource-policyset.xml",
                                  "derived_03_ban_action-policy_subject-and-fqan.xml"])
def test_round_trip_of_samples_is_lossless_and_schema_valid(name, schema):
    element = sample(name)
    cls = Policy if etree.QName(element).localname == "Policy" else PolicySet
    parsed = cls.from_element(element)
    rendered = parsed.to_element()
    schema.assertValid(rendered)
    assert rendered.prefix == "xacml"
    assert cls.from_element(parse_xml(etree.tostring(rendered))) == parsed
    # same XML content as the sample, modulo whitespace and comments
    assert etree.tostring(rendered, method="c14n") == etree.tostring(_strip(element), method="c14n")


def _strip(element):
    copy = parse_xml(etree.tostring(element))
    for comment in copy.xpath("//comment()"):
        comment.getparent().remove(comment)
    return copy


def test_rendered_rich_policy_is_schema_valid_and_round_trips(schema):
    policy = Policy("private_1", "7", "http://glite.org/xacml/action/execute", [
        Rule("r1", "deny", [Attribute("fqan", "/atlas/Role=pilot"), Attribute("subject", "CN=a,O=b")],
             description="compound"),
        Rule("r2", "Permit", [Attribute("vo", "atlas"), Attribute("pilot-classifier", "pilot")]),
        Rule("r3", "permit", [Attribute("oidc-subject", "abc-123"), Attribute("http://example.org/custom", "v")]),
    ], description="site policy", obligations=[
        Obligation("http://glite.org/xacml/obligation/local-environment-map", "Permit",
                   [("http://glite.org/xacml/attribute/posix-uid", None, "1000")])])
    element = policy.to_element()
    schema.assertValid(element)
    again = Policy.from_element(parse_xml(etree.tostring(element)))
    assert again == policy
    assert not again.public
    custom = again.rules[2].attributes[1]
    assert custom.attribute_id_spl == "http://example.org/custom"  # unknown ids kept verbatim
    # the pilot classifier is an Action attribute of the rule, not a Subject one
    assert element.find(".//{%s}Rule[@RuleId='r2']/{%s}Target/{%s}Actions" % (XACML_NS, XACML_NS, XACML_NS)) is not None


def test_attribute_table_covers_argus_ids():
    for spl in ("subject", "subject-issuer", "x509-subject-issuer", "vo", "fqan", "pfqan", "x509-authn-profile",
                "pilot-classifier", "oidc-issuer", "oidc-subject", "oidc-group", "oidc-scope", "oidc-user-id",
                "oidc-client-id", "oidc-organisation"):
        assert spl in ATTRIBUTE_MAPPINGS
    fqan = Attribute("fqan", "/dteam")
    assert (fqan.xacml_id, fqan.datatype, fqan.match_id) == (
        "http://glite.org/xacml/attribute/fqan", "http://glite.org/xacml/datatype/fqan",
        "http://glite.org/xacml/algorithm/fqan-match")
    assert Attribute("http://glite.org/xacml/attribute/fqan/primary", "/x").attribute_id_spl == "pfqan"


def test_spl_like_pap_admin(sample_tree):
    assert sample_tree.to_spl() == (
        'resource ".*" {\n'
        '    action ".*" {\n'
        '        rule deny {\n'
        '            subject = "CN=user name,CN=999999,CN=user,OU=Users,OU=Organic Units,DC=cern,DC=ch"\n'
        '        }\n'
        '        rule deny {\n'
        '            fqan = "/dteam/test"\n'
        '        }\n'
        '    }\n'
        '}\n')
    with_ids = sample_tree.to_spl(show_ids=True)
    assert "id=public_0b9e8d7c-6f5a-4b3c-9d2e-1f0a9b8c7d6e" in with_ids
    assert "id=c2d3e4f5-a6b7-4c8d-9e0f-112233445566" in with_ids


def test_spl_private_action_and_escaping():
    root = PolicySet("default-1", "0", None, [("policyset", "ps")])
    ps = PolicySet("ps", "1", "ce\\d+", [("policy", "private_p")])
    policy = Policy("private_p", "1", ".*", [Rule("r", "deny", [Attribute("subject", 'CN=Quote "Q" \\ Back,O=x')])])
    spl = PapPolicyTree("default", root, {"default-1": root, "ps": ps}, {"private_p": policy}).to_spl()
    assert 'resource "ce\\\\d+" {' in spl
    assert '    private action ".*" {' in spl
    assert 'subject = "CN=Quote \\"Q\\" \\\\ Back,O=x"' in spl
    assert spl_quote('a"b\\c') == '"a\\"b\\\\c"'


def test_iter_rules_follows_root_order_and_skips_dangling_references():
    root = PolicySet("root", "0", None, [("policyset", "b"), ("policyset", "missing"), ("policyset", "a")])
    a = PolicySet("a", "1", "A", [("policy", "pa")])
    b = PolicySet("b", "1", "B", [("policy", "pb"), ("policy", "gone")])
    pa = Policy("public_a", "1", ".*", [Rule("ra", "deny", [Attribute("vo", "x")])])
    pb = Policy("public_b", "1", ".*", [Rule("rb", "deny", [Attribute("vo", "x")])])
    tree = PapPolicyTree("default", root, {"root": root, "a": a, "b": b}, {"pa": pa, "pb": pb})
    assert [r.rule_id for _resource, _policy, r in tree.iter_rules()] == ["rb", "ra"]
    assert sorted(tree.dangling_references()) == [("b", "policy", "gone"), ("root", "policyset", "missing")]
    assert [r.rule_id for _resource, _policy, r in tree.find_rules(attribute_id="vo", value="x", resource="A")] == ["ra"]
    assert tree.find_rules(effect="permit") == []


def test_invalid_effect_and_reference_kind_are_rejected():
    with pytest.raises(XacmlError):
        Rule("r", "maybe", [])
    with pytest.raises(XacmlError):
        PolicySet("p", "1", None, [("rule", "x")])


@pytest.mark.parametrize("policy_id,public", [
    ("public_0b9e8d7c", True),
    ("private_0b9e8d7c", False),
    ("private-0b9e8d7c-6f5a-4b3c", True),     # what addPolicy makes of the prefix "private": public for the PAP
    ("public-0b9e8d7c", True),
    ("private_-0b9e8d7c", False),             # the prefix "private_" through generateId: private
    ("private_", True),                       # Java's split drops the trailing empty token
    ("private", True),
    ("privately_x", True),
    ("0b9e8d7c", True),
    ("", True),
])
def test_visibility_follows_policywizard_ispublic(policy_id, public):
    assert policy_id_is_public(policy_id) is public
    assert Policy(policy_id, "1", ".*", []).public is public
