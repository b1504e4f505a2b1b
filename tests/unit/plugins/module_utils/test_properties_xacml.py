# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Property-based tests (hypothesis) of the XACML model and the SPL renderer (module_utils/_argus/xacml.py) and of
FQAN handling (module_utils/_argus/policy_input.py make_targets).

* a Policy rendered to XACML, serialised, parsed back with the hardened parser and read again is equal to the
  original, whatever the attribute values (XML metacharacters, quotes, non-ASCII, RTL and zero-width marks);
* the SPL text of a tree is well formed for any value: outside quoted strings the braces balance, and the quoted
  strings, unescaped, are exactly the values in order (no value can break out of its quotes);
* FQANs: anything not starting with '/' is refused with an error naming it, anything else is kept verbatim.
"""
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_input import make_targets  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_view import PlanError  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._argus.spl import spl_quote  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import (  # noqa: E402
    Attribute,
    PapPolicyTree,
    Policy,
    PolicySet,
    Rule,
    element_to_bytes,
)
from ansible_collections.gridsec.ops.plugins.module_utils._xml import parse_xml  # noqa: E402

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True)

# XML 1.0 text: no control characters other than tab/newline (lxml refuses them), no surrogates.
XML_CHAR = st.characters(blacklist_categories=("Cs", "Cc"))
META = st.sampled_from(['<', '>', '&', '"', "'", ']]>', '&amp;', '<!--', '\u202e', '\u200b', '\u00e9', '{', '}',
                        '\\', '\\"', ' ', '=', ','])
VALUE = st.lists(st.one_of(XML_CHAR, META), min_size=1, max_size=10).map("".join).filter(
    lambda v: v == v.strip() and v)
ATTR_IDS = st.sampled_from(["subject", "fqan", "pfqan", "subject-issuer", "vo"])
ATTRIBUTE = st.builds(Attribute, ATTR_IDS, VALUE)
RULE = st.builds(lambda i, effect, attrs: Rule("rule-%d" % i, effect, attrs),
                 st.integers(0, 10 ** 6), st.sampled_from(["Deny", "Permit"]),
                 st.lists(ATTRIBUTE, min_size=1, max_size=3))
POLICY = st.builds(lambda i, action, rules: Policy("public_policy-%d" % i, "3", action, rules),
                   st.integers(0, 10 ** 6), VALUE, st.lists(RULE, min_size=0, max_size=4))


@SETTINGS
@given(POLICY)
def test_policy_xacml_round_trip(policy):
    data = element_to_bytes(policy.to_element())
    again = Policy.from_element(parse_xml(data))
    assert again == policy
    assert [[a.as_pair() for a in r.attributes] for r in again.rules] == \
        [[a.as_pair() for a in r.attributes] for r in policy.rules]


def _spl_tokens(text):
    """A small independent SPL tokenizer: quoted strings (backslash escapes undone) and the braces outside them."""
    tokens = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            index += 1
            value = []
            while text[index] != '"':
                if text[index] == "\\":
                    index += 1
                value.append(text[index])
                index += 1
            tokens.append(("str", "".join(value)))
        elif char in "{}":
            tokens.append((char, char))
        index += 1
    return tokens


@SETTINGS
@given(st.lists(POLICY, min_size=1, max_size=3), VALUE)
def test_spl_is_well_formed_for_any_value(policies, resource):
    policies = [Policy("public_p%d" % i, "1", p.action, p.rules) for i, p in enumerate(policies)]
    policy_set = PolicySet("ps-1", "1", resource, [("policy", p.policy_id) for p in policies])
    root = PolicySet("root", "1", None, [("policyset", "ps-1")])
    tree = PapPolicyTree.from_lists("default", root, [root, policy_set], policies)
    text = tree.to_spl()
    tokens = _spl_tokens(text)
    depth = 0
    for kind, _value in tokens:
        depth += {"{": 1, "}": -1}.get(kind, 0)
        assert depth >= 0, text
    assert depth == 0, text
    strings = [value for kind, value in tokens if kind == "str"]
    expected = [resource]
    for policy in policies:
        expected.append(policy.action)
        for rule in policy.rules:
            expected.extend(a.value for a in rule.attributes)
    assert strings == expected, text


@SETTINGS
@given(VALUE)
def test_spl_quote_round_trip(value):
    assert _spl_tokens(spl_quote(value)) == [("str", value)]


@SETTINGS
@given(st.text(max_size=30))
def test_fqan_syntax(text):
    stripped = text.strip()
    if stripped.startswith("/"):
        targets = make_targets([], [text])
        assert [(t.attr_id, t.value, t.literal) for t in targets] == [("fqan", stripped, stripped)]
    else:
        with pytest.raises(PlanError) as info:
            make_targets([], [text])
        assert "FQAN" in str(info.value)
