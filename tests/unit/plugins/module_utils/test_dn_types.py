# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Attribute types of user-given DNs (issue 14 item 4, contract C1): a misspelt type (``CM=John Doe``) is refused
with a message naming it and the closest keyword; keywords in any case, aliases and numeric OIDs are accepted;
DNs read back from a server (``parse_stored_dn``, ``dn_key``) are still read whatever their types."""

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._dn import (
    DNError,
    dn_equal,
    dn_key,
    normalize_dn,
    parse_dn,
    parse_stored_dn,
)
from ansible_collections.gridsec.ops.plugins.module_utils._dn_proxy import strip_proxy_rdns
from ansible_collections.gridsec.ops.plugins.module_utils._dn_types import (
    KNOWN_TYPES,
    canonical_type,
    is_known_type,
    suggest_type,
)

JOHN = "/DC=org/DC=example/CN=John Doe"
TYPO = "/DC=org/DC=example/CM=John Doe"


@pytest.mark.parametrize("text", [
    TYPO,
    "CM=John Doe,DC=example,DC=org",
    "CM=John Doe, DC=example, DC=org",
    "CN=John Doe+CM=x,DC=example,DC=org",
])
def test_cm_is_refused_naming_the_type_the_dn_and_suggesting_cn(text):
    with pytest.raises(DNError) as caught:
        parse_dn(text)
    msg = caught.value.msg
    assert "unknown attribute type 'CM'" in msg
    assert repr(text) in msg
    assert "did you mean CN" in msg
    assert "numeric OID" in msg
    assert caught.value.details["attribute_type"] == "CM"
    assert caught.value.details["suggestions"][0] == "CN"


@pytest.mark.parametrize("typed,suggested", [
    ("CM", "CN"),
    ("cm", "CN"),
    ("OY", "O"),          # one edit away: O and OU
    ("DX", "DC"),
    ("emailAdress", "emailAddress"),
    ("serialNumer", "serialNumber"),
    ("UIDD", "UID"),
])
def test_suggestions(typed, suggested):
    assert suggested in suggest_type(typed)
    with pytest.raises(DNError, match="did you mean [^?]*%s" % suggested):
        parse_dn("/DC=org/%s=x" % typed)


def test_no_suggestion_when_nothing_is_close():
    assert suggest_type("favouriteColour") == []
    with pytest.raises(DNError) as caught:
        parse_dn("/DC=org/favouriteColour=blue")
    assert "unknown attribute type 'favouriteColour'" in caught.value.msg and "did you mean" not in caught.value.msg


@pytest.mark.parametrize("text", [
    JOHN,
    "/dc=org/dc=example/cn=John Doe",                 # keywords in any case
    "/Dc=org/dC=example/commonName=John Doe",
    "/DC=org/DC=example/CN=John Doe/E=jd@example.org",
    "/DC=org/DC=example/CN=John Doe/emailAddress=jd@example.org",
    "/DC=org/DC=example/CN=John Doe/Email=jd@example.org",
    "/DC=org/DC=example/CN=John Doe/EMAILADDRESS=jd@example.org",
    "/C=CH/ST=Geneva/L=Meyrin/O=CERN/OU=IT/CN=host.cern.ch/serialNumber=42",
    "/DC=org/UID=jdoe/CN=John Doe",
    "/DC=org/userid=jdoe/CN=John Doe",
    "/DC=org/DC=example/2.5.4.3=John Doe",             # numeric OID: the explicit way to name any attribute
    "/DC=org/DC=example/OID.2.5.4.3=John Doe",
    "/DC=org/DC=example/oid.2.5.4.3=John Doe",
    "/DC=org/DC=example/CN=John Doe/1.3.6.1.4.1.99999.1=anything",
    "CN=John Doe,2.5.4.10=Example,DC=org",
    "CN=John Doe+1.2.3.4=x,DC=org",
])
def test_known_keywords_aliases_and_numeric_oids_are_accepted(text):
    assert len(parse_dn(text)) >= 3 or len(parse_dn(text)) == 2


def test_lower_case_and_oid_forms_are_the_same_identity():
    assert dn_equal(JOHN, "/dc=org/dc=example/cn=John Doe")
    assert dn_equal(JOHN, "/DC=org/DC=example/OID.2.5.4.3=John Doe")
    assert dn_equal(JOHN, "CN=John Doe,0.9.2342.19200300.100.1.25=example,DC=org")
    assert dn_equal(JOHN + "/E=jd@example.org", JOHN + "/emailAddress=jd@example.org")


@pytest.mark.parametrize("attr_type", ["2", "OID.2", "OID.", "1..2", "2.5.4.3.", "OID.CN"])
def test_a_lone_number_or_malformed_oid_is_not_an_oid(attr_type):
    assert not is_known_type(attr_type)
    with pytest.raises(DNError):
        parse_dn("/DC=org/%s=x" % attr_type)


def test_every_known_keyword_has_a_canonical_name():
    for keyword in KNOWN_TYPES:
        assert is_known_type(keyword) and is_known_type(keyword.upper()) and is_known_type(keyword.lower())
        assert canonical_type(keyword) in [canonical_type(k) for k in KNOWN_TYPES]
    # every OID alias of a keyword compares equal to it
    assert canonical_type("2.5.4.17") == canonical_type("postalCode")


def test_every_entry_point_for_user_dns_is_strict():
    for call in (lambda: parse_dn(TYPO), lambda: dn_equal(TYPO, JOHN), lambda: dn_equal(JOHN, TYPO),
                 lambda: normalize_dn(TYPO), lambda: strip_proxy_rdns(TYPO + "/CN=proxy"),
                 lambda: parse_stored_dn(TYPO, strict=True),
                 lambda: parse_stored_dn('CM=a "b" <c>,DC=example,DC=org', strict=True)):
        with pytest.raises(DNError, match="unknown attribute type 'CM'"):
            call()


def test_dns_read_from_a_server_stay_readable():
    """A rule stored with a misspelt type (by an older version, or another tool) can be read, compared and
    keyed, so that it can be shown and removed."""
    stored = "CM=John Doe,DC=example,DC=org"
    dn = parse_stored_dn(stored)
    assert dn.to_openssl() == TYPO
    assert parse_dn(stored, strict=False) == dn
    assert parse_stored_dn('CM=a "b" <c>,DC=example,DC=org').to_openssl() == '/DC=org/DC=example/CM=a "b" <c>'
    assert dn_key(stored) == dn_key(TYPO) != dn_key(JOHN)
    assert dn_equal(stored, TYPO, strict=False)
    assert not dn_equal(stored, JOHN, strict=False)
    # == compares without raising
    assert dn == stored and dn != JOHN


def test_the_syntax_checks_are_unchanged():
    for bad in ("/DC=org/C N=x", "/DC=org/=x", "CN=a,=b"):
        with pytest.raises(DNError):
            parse_dn(bad, strict=False)


def test_panda_dn_options_are_strict_in_both_forms():
    from ansible_collections.gridsec.ops.plugins.module_utils._panda.names import resolve_user_name
    assert resolve_user_name(dn=JOHN) == ("John Doe", JOHN)
    assert resolve_user_name(dn="CN=John Doe,DC=example,DC=org") == ("John Doe", JOHN)
    for typo in (TYPO, "CM=John Doe,DC=example,DC=org"):
        with pytest.raises(DNError, match="unknown attribute type 'CM'"):
            resolve_user_name(dn=typo)


def test_argus_pap_dns_and_acl_principals_are_strict():
    from ansible_collections.gridsec.ops.plugins.module_utils._argus import pap_plan as plan
    with pytest.raises(plan.AclPlanError, match="unknown attribute type 'CM'"):
        plan.plan_acl({}, [{"principal": TYPO, "permissions": ["ALL"]}], False, None, False)
    with pytest.raises(plan.PapPlanError, match="unknown attribute type 'CM'"):
        plan.plan_paps([], [{"alias": "upstream", "hostname": "pap.example.org", "dn": TYPO}])


def test_pap_plan_and_canary_compare_stored_dns_with_one_helper():
    from ansible_collections.gridsec.ops.plugins.module_utils._argus import pap_plan as plan
    from ansible_collections.gridsec.ops.plugins.module_utils._dn import same_stored_dn

    literal = 'CN=O\'Neil "Bob" <b>,DC=example,DC=org'          # as a PAP stores the slash form: '"<>' unescaped
    slash = '/DC=org/DC=example/CN=O\'Neil "Bob" <b>'
    assert same_stored_dn(literal, slash) and same_stored_dn(slash, literal)
    assert same_stored_dn("CN=x,CM=typo,DC=org", "/DC=org/CM=typo/CN=x")   # any attribute type a PAP holds
    assert not same_stored_dn(literal, "/DC=org/DC=example/CN=Other")
    assert same_stored_dn("not a dn", "not a dn") and not same_stored_dn("not a dn", None)
    assert plan.Ace("dn", literal, ["ALL"]).same_principal(plan.Ace("dn", slash, ["ALL"]))
