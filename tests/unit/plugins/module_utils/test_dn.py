# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Distinguished names: parsing both forms, output forms, the Argus PAP literal, semantic equality, and
PanDA's clean_user_id against the verified vectors."""

import json
import os

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._dn import (
    DNError,
    DistinguishedName,
    dn_equal,
    dn_key,
    looks_like_openssl,
    normalize_dn,
    openssl_to_pap_literal,
    parse_dn,
    parse_stored_dn,
)
from ansible_collections.gridsec.ops.plugins.module_utils._dn_proxy import is_proxy_rdn, strip_mode, strip_proxy_rdns
from ansible_collections.gridsec.ops.plugins.module_utils._panda.names import clean_user_id
from ansible_collections.gridsec.ops.plugins.module_utils._errors import GridsecError

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SHARED_REFERENCE = os.environ.get("GRIDSEC_SHARED_REFERENCE", os.path.join(REPO_ROOT, "..", "shared", "reference"))
VECTORS_PATH = os.path.join(SHARED_REFERENCE, "panda", "clean_user_id_vectors.json")

CERN_SLASH = "/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdoe/CN=123456/CN=John Doe"
CERN_RFC = "CN=John Doe,CN=123456,CN=jdoe,OU=Users,OU=Organic Units,DC=cern,DC=ch"
CANARY_STORED = ("CN=0badc0de, CN=20260101, CN=Test Subject, CN=000001, CN=tsubject, OU=Users, "
                 "OU=Organic Units, DC=cern, DC=ch")
CANARY_SLASH = ("/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=tsubject/CN=000001/CN=Test Subject/"
                "CN=20260101/CN=0badc0de")


# -- parsing ----------------------------------------------------------------------------------------------
def test_slash_form_keeps_certificate_order_and_types_as_written():
    dn = parse_dn(CERN_SLASH)
    assert dn.rdns[0] == (("DC", "ch"),)
    assert dn.rdns[-1] == (("CN", "John Doe"),)
    assert len(dn) == 7
    assert dn.source_form == "openssl"
    assert dn.to_openssl() == CERN_SLASH


def test_rfc2253_is_reversed_into_certificate_order():
    dn = parse_dn(CERN_RFC)
    assert dn.source_form == "rfc2253"
    assert dn.to_openssl() == CERN_SLASH
    assert dn.to_rfc2253() == CERN_RFC


def test_slash_value_with_slash_when_next_part_has_no_equals():
    dn = parse_dn("/DC=ch/DC=cern/OU=computers/CN=pilot/host.cern.ch")
    assert dn.rdns[-1] == (("CN", "pilot/host.cern.ch"),)
    assert dn.to_rfc2253() == "CN=pilot/host.cern.ch,OU=computers,DC=cern,DC=ch"
    assert dn.to_openssl() == "/DC=ch/DC=cern/OU=computers/CN=pilot/host.cern.ch"


def test_slash_value_with_comma_and_specials_taken_literally():
    dn = parse_dn("/O=Example, Inc./CN=a;b<c>d\"e\\f#")
    assert dn.rdns == ((("O", "Example, Inc."),), (("CN", 'a;b<c>d"e\\f#'),))
    assert dn.to_rfc2253() == 'CN=a\\;b\\<c\\>d\\"e\\\\f#,O=Example\\, Inc.'


def test_slash_multi_valued_rdn_only_when_plus_starts_an_ava():
    dn = parse_dn("/DC=org/CN=John Doe+UID=jdoe")
    assert dn.rdns[-1] == (("CN", "John Doe"), ("UID", "jdoe"))
    assert dn.to_rfc2253() == "CN=John Doe+UID=jdoe,DC=org"
    plain = parse_dn("/O=Example/CN=C++ developer")
    assert plain.rdns[-1] == (("CN", "C++ developer"),)
    assert plain.to_rfc2253() == "CN=C\\+\\+ developer,O=Example"


@pytest.mark.parametrize("text, expected", [
    ("CN=Doe\\, John,O=Example", ((("O", "Example"),), (("CN", "Doe, John"),))),
    ("CN=a\\+b\\\"c\\\\d\\<e\\>f\\;g,O=x", ((("O", "x"),), (("CN", 'a+b"c\\d<e>f;g'),))),
    ("CN=\\#hash,O=x", ((("O", "x"),), (("CN", "#hash"),))),
    ("CN=\\ lead and trail\\ ,O=x", ((("O", "x"),), (("CN", " lead and trail "),))),
    ("CN=a\\2Cb\\2bc,O=x", ((("O", "x"),), (("CN", "a,b+c"),))),
    ("CN=Ren\\C3\\A9,O=x", ((("O", "x"),), (("CN", u"Ren\u00e9"),))),
    ("CN=a\\=b,O=x", ((("O", "x"),), (("CN", "a=b"),))),
    ('CN="Doe, John + co",O=x', ((("O", "x"),), (("CN", "Doe, John + co"),))),
    ('CN="say \\"hi\\"",O=x', ((("O", "x"),), (("CN", 'say "hi"'),))),
    ("CN=#0C03616263,O=x", ((("O", "x"),), (("CN", "abc"),))),
    ("CN=a+UID=b,O=x", ((("O", "x"),), (("CN", "a"), ("UID", "b")))),
    ("CN = a ,  O = x  ", ((("O", "x"),), (("CN", "a"),))),
    ("OID.2.5.4.3=a,2.5.4.10=x", ((("2.5.4.10", "x"),), (("OID.2.5.4.3", "a"),))),
])
def test_rfc2253_escapes_quotes_hex_and_multivalue(text, expected):
    assert parse_dn(text).rdns == expected


def test_canary_with_spaces_after_commas():
    dn = parse_dn(CANARY_STORED)
    assert dn.to_openssl() == CANARY_SLASH
    assert dn.to_rfc2253() == CANARY_STORED.replace(", ", ",")


@pytest.mark.parametrize("text", [
    "", "   ", None, "John Doe", "/", "//CN=a", "/CN=a//CN=b", "/CN=a/", "/noequals/CN=a", "/=value",
    "/CN=", "/C N=x", "/CN=a\x00b", "/CN=tab\there", "CN=a\nb", "CN=a\\", "CN=a\\q", "CN=a\\4",
    "CN=a,,O=b", "CN=a,", ",CN=a", "CN=a+,O=b", "=x,O=b", "CN=\"unterminated,O=b", 'CN="x"y,O=b',
    "CN=x,bad type=y", "CN=,O=b", "CN=\\00,O=b", "CN=\\C3,O=b", "CN=#zz,O=b", "CN=#0401ff,O=b",
    "/CN+UID=x", 42, b"\xff",
])
def test_malformed_dns_raise_dnerror(text):
    with pytest.raises(DNError) as info:
        parse_dn(text)
    assert isinstance(info.value, GridsecError)
    assert str(info.value)


def test_dnerror_message_names_the_problem():
    with pytest.raises(DNError, match="empty RDN"):
        parse_dn("/DC=ch//CN=x")
    with pytest.raises(DNError, match="trailing backslash"):
        parse_dn("CN=x\\")
    with pytest.raises(DNError, match="control character"):
        parse_dn("/CN=x\x01")


def test_bytes_and_surrounding_whitespace_accepted():
    assert parse_dn(b"  /DC=ch/CN=x \n").to_openssl() == "/DC=ch/CN=x"


def test_parse_dn_passes_a_distinguished_name_through():
    dn = parse_dn(CERN_SLASH)
    assert parse_dn(dn) is dn


def test_constructor_validates_rdns():
    dn = DistinguishedName([("DC", "ch"), (("CN", "a"), ("UID", "b"))])
    assert dn.to_openssl() == "/DC=ch/CN=a+UID=b"
    with pytest.raises(DNError):
        DistinguishedName([])
    with pytest.raises(DNError):
        DistinguishedName([("CN", "")])


# -- output forms -------------------------------------------------------------------------------------------
def test_rfc2253_output_escaping():
    dn = DistinguishedName([("O", "#1 shop"), ("CN", ' spaced, "quoted" +plus; <x> back\\slash ')])
    assert dn.to_rfc2253() == 'CN=\\ spaced\\, \\"quoted\\" \\+plus\\; \\<x\\> back\\\\slash\\ ,O=\\#1 shop'
    assert parse_dn(dn.to_rfc2253()).rdns == dn.rdns


@pytest.mark.parametrize("value", [
    "a<b>c", "Tom & Jerry", 'say "x"', "O'Brien", "<![CDATA[x]]>", "&amp;", "a,b", "a+b", "a;b", "a\\b", "#x",
    u"Ren\u00e9 \u00c5ngstr\u00f6m", "x=y",
])
def test_values_round_trip_unchanged_through_every_form(value):
    dn = DistinguishedName([("DC", "org"), ("CN", value)])
    assert parse_dn(dn.to_rfc2253()).rdns == dn.rdns
    assert parse_dn(dn.to_openssl()).rdns == dn.rdns
    assert dn.to_openssl() == "/DC=org/CN=" + value


# -- the Argus PAP literal (canl opensslToRfc2253) ---------------------------------------------------------
@pytest.mark.parametrize("slash, stored", [
    ("/O=b/CN=a", "CN=a,O=b"),
    (CERN_SLASH, CERN_RFC),
    (CANARY_SLASH, CANARY_STORED.replace(", ", ",")),
    ("/DC=ch/DC=cern/OU=computers/CN=pilot/host.cern.ch", "CN=pilot/host.cern.ch,OU=computers,DC=cern,DC=ch"),
    ("/O=Example, Inc./CN=Doe, John", "CN=Doe\\, John,O=Example\\, Inc."),
    # nothing but the comma is escaped; types stay as written
    ('/O=x/CN=a+b;c"d<e>f\\g#h', 'CN=a+b;c"d<e>f\\g#h,O=x'),
    ("/DC=org/CN=J D/emailAddress=j@x.org", "emailAddress=j@x.org,CN=J D,DC=org"),
    ("/dc=org/cn=lower", "cn=lower,dc=org"),
    ("/DC=org/CN=John Doe+UID=jdoe", "CN=John Doe+UID=jdoe,DC=org"),
    ("/DC=org/CN= leading space", "CN= leading space,DC=org"),
])
def test_pap_literal_is_what_the_pap_stores(slash, stored):
    assert openssl_to_pap_literal(slash) == stored
    # a stored literal with a backslash does not read back (an RFC 2253 escape gone wrong): the RFC 2253 form
    assert parse_dn(slash).to_pap_literal() == (stored if "\\" not in stored else parse_dn(slash).to_rfc2253())


@pytest.mark.parametrize("dn", [
    "CN=http://h/p?a=b,O=Org,DC=org",
    "CN=a/b=c,DC=org",
    "CN=x/y=z/w,OU=u/v=1,DC=org",
])
def test_pap_literal_that_would_name_another_dn_is_the_rfc2253_form(dn):
    parsed = parse_dn(dn)
    slash_literal = openssl_to_pap_literal(parsed.to_openssl())   # what the PAP would store from the slash form
    try:
        assert dn_key(slash_literal) != parsed.canonical()           # another DN, or none at all
    except GridsecError:
        pass
    literal = parsed.to_pap_literal()
    assert literal == parsed.to_rfc2253() and not literal.startswith("/")
    assert dn_key(literal) == parsed.canonical()


def test_pap_literal_of_rfc2253_input_is_that_of_its_slash_form():
    # the PAP stores comma-form input verbatim; the collection always bans with the slash-form literal
    assert parse_dn(CANARY_STORED).to_pap_literal() == CANARY_STORED.replace(", ", ",")
    assert parse_dn("CN=Doe\\, John,O=x").to_pap_literal() == "CN=Doe\\, John,O=x"
    assert parse_dn("CN=a\\+b,O=x").to_pap_literal() == "CN=a+b,O=x"


# -- semantic equality ------------------------------------------------------------------------------------
@pytest.mark.parametrize("a, b", [
    (CERN_SLASH, CERN_RFC),
    (CANARY_STORED, CANARY_SLASH),
    (CANARY_STORED, CANARY_STORED.replace(", ", ",")),
    ("/DC=ch/CN=John Doe", "cn=john doe,dc=CH"),
    ("/DC=ch/CN=John   Doe ", "CN= john doe,DC=ch"),
    ("/DC=org/E=j@x.org", "emailAddress=J@X.org,DC=org"),
    ("/DC=org/Email=j@x.org", "1.2.840.113549.1.9.1=j@x.org,DC=org"),
    ("/DC=org/UID=jdoe", "userid=jdoe,DC=org"),
    ("/C=US/ST=Illinois/CN=x", "/C=US/S=illinois/CN=x"),
    ("/DC=org/CN=a+UID=b", "UID=b+CN=a,DC=org"),
    ("/O=Example, Inc./CN=x", "CN=x,O=Example\\, Inc."),
    ("/O=Example, Inc./CN=x", 'CN=x,O="Example, Inc."'),
    ("/DC=org/CN=pilot/host.example.org", "CN=pilot/host.example.org,DC=org"),
    ("/DC=org/CN=Ren\u00e9", "CN=Ren\\C3\\A9,DC=org"),
    ("/DC=org/OID.2.5.4.3=x", "/dc=org/commonName=x"),
])
def test_dn_equal_true(a, b):
    assert dn_equal(a, b)
    first, second = b, a
    assert dn_equal(first, second)  # symmetric
    assert parse_dn(a) == parse_dn(b)
    assert hash(parse_dn(a)) == hash(parse_dn(b))


@pytest.mark.parametrize("a, b", [
    ("/DC=ch/CN=John Doe", "/DC=ch/CN=Jane Doe"),
    ("/DC=ch/DC=cern/CN=x", "/DC=cern/DC=ch/CN=x"),          # RDN order matters
    ("/DC=ch/CN=x", "CN=x,DC=ch,DC=extra"),
    ("/DC=org/CN=a+UID=b", "/DC=org/CN=a/UID=b"),            # multi-valued RDN is not two RDNs
    ("/DC=org/CN=JohnDoe", "/DC=org/CN=John Doe"),           # inner space is significant
    ("/DC=org/O=x", "/DC=org/OU=x"),
    ("/DC=org/CN=a,b", "CN=a,CN=b,DC=org"),
    (CANARY_SLASH, CANARY_SLASH.replace("0badc0de", "0badc0df")),
])
def test_dn_equal_false(a, b):
    assert not dn_equal(a, b)
    assert parse_dn(a) != parse_dn(b)


def test_dn_equal_raises_on_malformed_input():
    with pytest.raises(DNError):
        dn_equal("/DC=ch/CN=x", "not a dn")
    # __eq__ with a malformed string is simply False
    assert parse_dn("/DC=ch/CN=x") != "not a dn"
    assert parse_dn("/DC=ch/CN=x") == "CN=x, DC=ch"


def test_get_values_by_type_alias():
    dn = parse_dn("/DC=org/CN=J/emailAddress=j@x.org")
    assert dn.get("E") == ["j@x.org"]
    assert dn.get("dc") == ["org"]


# -- convenience -------------------------------------------------------------------------------------------
def test_looks_like_openssl():
    assert looks_like_openssl("/DC=ch/CN=x")
    assert looks_like_openssl("  /DC=ch/CN=x")
    assert not looks_like_openssl("CN=x,DC=ch")
    assert not looks_like_openssl(None)


def test_normalize_dn_forms():
    assert normalize_dn(CERN_RFC) == CERN_SLASH
    assert normalize_dn(CERN_SLASH, form="rfc2253") == CERN_RFC
    assert normalize_dn("/O=a, b/CN=c+d", form="pap") == "CN=c+d,O=a\\, b"
    assert normalize_dn("/O=a, b/CN=c+d", form="rfc2253") == "CN=c\\+d,O=a\\, b"
    with pytest.raises(DNError):
        normalize_dn(CERN_SLASH, form="x500")


# -- cross-check with an independent implementation -------------------------------------------------------
def test_rfc4514_output_matches_cryptography():
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.x509.oid import NameOID
    values = ["Doe, John", "a+b", "#lead", " both ", 'q"uote', "semi;colon", "<angle>", "back\\slash", "plain"]
    for value in values:
        name = x509.Name([
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.DOMAIN_COMPONENT, u"org")]),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, value)]),
        ])
        ours = DistinguishedName([("DC", "org"), ("CN", value)])
        assert parse_dn(name.rfc4514_string()).rdns == ours.rdns, value
        assert x509.Name.from_rfc4514_string(ours.to_rfc2253()) == name, value


# -- PanDA clean_user_id ---------------------------------------------------------------------------------
def _vectors():
    if not os.path.exists(VECTORS_PATH):
        return None
    with open(VECTORS_PATH) as handle:
        return json.load(handle)


def test_clean_user_id_vectors():
    data = _vectors()
    if data is None:
        pytest.skip("clean_user_id vectors not found at %s (set GRIDSEC_SHARED_REFERENCE)" % VECTORS_PATH)
    cases = data["vectors"] + data["edge_cases"]
    assert len(data["vectors"]) >= 14 and len(data["edge_cases"]) >= 7
    failures = [(case["dn"], clean_user_id(case["dn"]), case["clean_user_id"]) for case in cases
                if clean_user_id(case["dn"]) != case["clean_user_id"]]
    assert failures == []


@pytest.mark.parametrize("dn, name", [
    ("/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdoe/CN=123456/CN=John Doe", "John Doe"),
    ("/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdoe/CN=123456/CN=John Doe/CN=proxy/CN=proxy", "John Doe"),
    ("/DC=org/CN=Jane Roe/Email=jane@x.org", "Jane Roe"),
    ("/DC=org/CN=solo", "solo"),
    ("Mario Rossi/CN=nickname:mrossi", "Mario Rossi"),
])
def test_clean_user_id_more_cases(dn, name):
    assert clean_user_id(dn) == name


def test_clean_user_id_returns_input_on_error():
    assert clean_user_id(None) is None
    assert clean_user_id(12) == 12


def test_clean_user_id_comma_form_needs_conversion_first():
    assert clean_user_id(CERN_RFC) == CERN_RFC
    assert clean_user_id(parse_dn(CERN_RFC).to_openssl()) == "John Doe"


# ---- literals as the PAP stores them -----------------------------------------------------------------

@pytest.mark.parametrize("slash", [
    "/DC=test/DC=gridsec/OU=Users/CN=O'Neil \"Bob\" <b&b> Smith",
    "/DC=org/O=Tom & Jerry, Inc./CN=<b>\"x\"</b>",
    "/DC=org/CN=semi;colon+plus",
    "/DC=org/CN=host/foo.example.org",
    "/DC=org/CN=#hash",
    CERN_SLASH,
])
def test_stored_pap_literal_parses_back_to_the_slash_form(slash):
    literal = parse_dn(slash).to_pap_literal()
    assert parse_stored_dn(literal).to_openssl() == slash
    assert dn_key(literal) == dn_key(slash)


def test_stored_dn_prefers_the_rfc2253_reading_and_keeps_errors():
    assert parse_stored_dn(CANARY_STORED).to_openssl() == parse_dn(CANARY_STORED).to_openssl()
    assert parse_stored_dn("CN=a\\+b,O=x").get("CN") == ["a+b"]  # a real RFC 2253 escape
    for bad in ("CN=broken\\", "not a DN", "", "CN=a,,O=b", "CN=a\\zz,O=b"):
        with pytest.raises(DNError):
            parse_stored_dn(bad)


def test_dn_key_is_the_dn_equal_relation():
    assert dn_key("/DC=ch/DC=cern/CN=John Doe") == dn_key("CN=john  doe, DC=CERN, DC=ch")
    assert dn_key("/DC=ch/DC=cern/CN=John Doe") != dn_key("/DC=ch/CN=John Doe")
    assert len({dn_key(CERN_SLASH), dn_key(CERN_RFC), dn_key(CERN_RFC.lower())}) == 1


# ---- proxy RDNs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dn,end_entity,stripped", [
    (CERN_SLASH + "/CN=1234567890", CERN_SLASH, ["CN=1234567890"]),
    (CERN_SLASH + "/CN=proxy", CERN_SLASH, ["CN=proxy"]),
    (CERN_SLASH + "/CN=proxy/CN=limited proxy", CERN_SLASH, ["CN=proxy", "CN=limited proxy"]),
    (CERN_SLASH + "/CN=987/CN=654", CERN_SLASH, ["CN=987", "CN=654"]),
    ("CN=proxy," + CERN_RFC, CERN_SLASH, ["CN=proxy"]),
    (CERN_SLASH, CERN_SLASH, []),                      # the numeric CN in the middle is the user's, not a proxy's
    ("/DC=org/CN=Proxy Server", "/DC=org/CN=Proxy Server", []),
    ("/DC=org/CN=proxy+UID=1", "/DC=org/CN=proxy+UID=1", []),  # multi-valued: not a proxy RDN
    ("/CN=123", "/CN=123", []),                        # never strips the last RDN
    ("/CN=proxy/CN=123", "/CN=proxy", ["CN=123"]),     # ... nor a DN made of proxy CNs only
])
def test_strip_proxy_rdns_all(dn, end_entity, stripped):
    result, removed = strip_proxy_rdns(dn, "all")
    assert result.to_openssl() == end_entity
    assert removed == stripped


@pytest.mark.parametrize("dn,end_entity,stripped", [
    (CERN_SLASH + "/CN=1234567890", CERN_SLASH + "/CN=1234567890", []),   # a number may be the person's own CN
    ("/DC=org/CN=Eve Mallory/CN=777", "/DC=org/CN=Eve Mallory/CN=777", []),
    (CERN_SLASH + "/CN=proxy", CERN_SLASH, ["CN=proxy"]),
    (CERN_SLASH + "/CN=proxy/CN=limited proxy", CERN_SLASH, ["CN=proxy", "CN=limited proxy"]),
    (CERN_SLASH + "/CN=123/CN=proxy", CERN_SLASH + "/CN=123", ["CN=proxy"]),
])
def test_strip_proxy_rdns_legacy_is_the_default(dn, end_entity, stripped):
    for result, removed in (strip_proxy_rdns(dn), strip_proxy_rdns(dn, "legacy")):
        assert result.to_openssl() == end_entity
        assert removed == stripped


def test_strip_proxy_rdns_none_and_the_old_booleans():
    proxy = CERN_SLASH + "/CN=proxy/CN=1234"
    assert strip_proxy_rdns(proxy, "none") == (parse_dn(proxy), [])
    assert strip_proxy_rdns(proxy, False)[1] == []
    assert strip_proxy_rdns(proxy, True)[1] == ["CN=proxy", "CN=1234"]
    assert [strip_mode(v) for v in ("legacy", "ALL", " none ", True, False, "yes", "false")] == \
        ["legacy", "all", "none", "all", "none", "all", "none"]
    with pytest.raises(ValueError, match="legacy, all, none"):
        strip_mode("numeric")


def test_proxy_rdn_and_clean_user_id_agree_on_the_markers():
    assert is_proxy_rdn((("CN", "proxy"),)) and is_proxy_rdn((("commonName", "limited proxy"),))
    assert is_proxy_rdn((("CN", "0123"),)) and not is_proxy_rdn((("OU", "123"),))
    assert not is_proxy_rdn((("CN", "0123"),), numeric=False) and is_proxy_rdn((("CN", "proxy"),), numeric=False)
    # PanDA drops the same components from the user name
    assert clean_user_id(CERN_SLASH + "/CN=proxy") == clean_user_id(CERN_SLASH)
    assert clean_user_id(CERN_SLASH + "/CN=limited proxy") == clean_user_id(CERN_SLASH)
    assert clean_user_id(CERN_SLASH + "/CN=1234567890") == clean_user_id(CERN_SLASH)
