# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Property-based tests (hypothesis) of DN parsing, rendering and comparison (module_utils/_dn.py).

Properties: RFC 4514 output parses back to the same RDNs (any value: escapes, multi-valued RDNs, leading ``#``,
edge spaces, non-ASCII); the OpenSSL slash form does too for values it can carry; both notations compare equal
and give the same ``dn_key``; ``dn_key`` agrees with ``dn_equal``; case and alias changes of attribute types are
equal, a changed value is not; the PAP literal reads back as the same DN; nothing but ``DNError`` ever escapes the
parser, whatever the input.
"""
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given, settings, strategies as st  # noqa: E402

from ansible_collections.gridsec.ops.plugins.module_utils._dn import (  # noqa: E402
    DistinguishedName,
    DNError,
    dn_equal,
    dn_key,
    parse_dn,
    parse_stored_dn,
)

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True)

TYPES = ["CN", "OU", "O", "DC", "C", "L", "ST", "UID", "emailAddress", "cn", "Ou"]
# Printable, no control characters (the parser refuses those); surrogates excluded (not encodable).
ANY_CHAR = st.characters(blacklist_categories=("Cs", "Cc"))
SPECIALS = st.sampled_from(list(',+"\\<>;#= =/') + ["\u200b", "\u202e", "\u00e9", "\u4e2d", "'", "&", "%"])
VALUE = st.text(st.one_of(ANY_CHAR, SPECIALS), min_size=1, max_size=12).filter(lambda v: v.strip() != "")
# Values the unescaped slash form can carry unambiguously: no '/' (RDN separator), no '+' or '=' (multi-valued
# RDN marker), no leading/trailing white space (the form is trimmed).
SLASH_VALUE = (st.text(st.one_of(ANY_CHAR, st.sampled_from(list(',"<>;#\\ ') + ["\u00e9", "\u200b"])),
                       min_size=1, max_size=12)
               .filter(lambda v: v == v.strip() and v and not set(v) & set("/+=")))


def rdn_strategy(value):
    return st.lists(st.tuples(st.sampled_from(TYPES), value), min_size=1, max_size=3).map(tuple)


def dn_strategy(value=VALUE):
    return st.lists(rdn_strategy(value), min_size=1, max_size=5).map(DistinguishedName)


def _swap_case(text):
    return text.swapcase()


@SETTINGS
@given(dn_strategy())
def test_rfc2253_round_trip_is_exact(dn):
    text = dn.to_rfc2253()
    again = parse_dn(text)
    assert again.rdns == dn.rdns, text
    assert again.to_rfc2253() == text
    assert dn_equal(dn, text) and dn_key(text) == dn.canonical()


@SETTINGS
@given(dn_strategy(SLASH_VALUE))
def test_openssl_round_trip_and_cross_notation(dn):
    slash = dn.to_openssl()
    again = parse_dn(slash)
    assert again.rdns == dn.rdns, slash
    assert dn_equal(slash, dn.to_rfc2253())
    assert dn_key(slash) == dn_key(dn.to_rfc2253())


@SETTINGS
@given(dn_strategy(SLASH_VALUE))
def test_pap_literal_reads_back_as_the_same_dn(dn):
    """What the PAP stores for a slash-form subject (only ',' escaped) is read back as that subject."""
    literal = dn.to_pap_literal()
    assume("\\" not in dn.to_openssl())  # a backslash makes the literal an RFC 2253 escape (documented)
    assert dn_key(literal) == dn.canonical(), literal


@SETTINGS
@given(dn_strategy(), st.data())
def test_type_case_and_spacing_do_not_matter(dn, data):
    """Attribute type case, spaces after separators and the emailAddress/E alias compare equal."""
    rdns = []
    for rdn in dn.rdns:
        avas = []
        for attr_type, value in rdn:
            if attr_type == "emailAddress" and data.draw(st.booleans()):
                attr_type = "E"
            avas.append((_swap_case(attr_type) if data.draw(st.booleans()) else attr_type, value))
        rdns.append(tuple(avas))
    variant = DistinguishedName(rdns)
    spaced = variant.to_rfc2253().replace(",", ", ") if "\\" not in variant.to_rfc2253() else variant.to_rfc2253()
    assert dn_equal(dn, variant)
    assert dn_key(dn.to_rfc2253()) == dn_key(spaced)


@SETTINGS
@given(dn_strategy(), st.data())
def test_dn_key_agrees_with_dn_equal(dn, data):
    """Two DNs are dn_equal exactly when their dn_keys are equal (the key may index sets and dicts)."""
    other = data.draw(st.one_of(st.just(dn), dn_strategy()))
    assert (dn_key(dn.to_rfc2253()) == dn_key(other.to_rfc2253())) == dn_equal(dn, other)


@SETTINGS
@given(dn_strategy(SLASH_VALUE), st.data())
def test_a_changed_value_is_another_dn(dn, data):
    index = data.draw(st.integers(min_value=0, max_value=len(dn.rdns) - 1))
    rdns = list(dn.rdns)
    attr_type, value = rdns[index][0]
    rdns[index] = ((attr_type, value + "x"),) + rdns[index][1:]
    assert not dn_equal(dn, DistinguishedName(rdns))


@SETTINGS
@given(st.one_of(st.text(max_size=60), st.binary(max_size=60),
                 st.text(st.sampled_from(list("/=,+\\\"<>;# \x00\n\r\tCNOUDC") + ["\u202e", "\u200b"]),
                         max_size=40)))
def test_parser_raises_only_dn_error(text):
    """Any input, including invalid UTF-8, NUL, newlines and lone escapes: a DN or DNError, nothing else."""
    for parse in (parse_dn, parse_stored_dn, dn_key):
        try:
            parse(text)
        except DNError:
            pass


@SETTINGS
@given(dn_strategy(), st.sampled_from(["\x00", "\n", "\r", "\x1b", "\x7f"]))
def test_control_characters_are_refused(dn, control):
    slash = dn.to_openssl()
    with pytest.raises(DNError):
        parse_dn(slash + control + "x")
    with pytest.raises(DNError):
        parse_dn(dn.to_rfc2253() + control + "x")   # inside the last value (surrounding white space is trimmed)


@SETTINGS
@given(st.text(min_size=1, max_size=30))
def test_fqan_like_text_is_not_a_two_rdn_dn(group):
    """A FQAN (/vo/group/Role=x) given where a DN is expected is never read as a multi-RDN DN silently equal to a
    DN with other values: its first component has no '=', so it either fails or keeps every character."""
    assume("/" not in group and "=" not in group and group.strip() == group and group)
    fqan = "/%s/Role=x" % group
    try:
        dn = parse_dn(fqan)
    except DNError:
        return
    assert group in dn.to_openssl()
