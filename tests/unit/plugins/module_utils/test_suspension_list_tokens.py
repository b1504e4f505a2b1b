# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Token identities ``(issuer, subject)`` in the suspension list (module_utils/_suspension/entries.py, contract C2):
YAML/JSON entries and their schema, plain-list lines, one key for both issuer spellings, merge, allow-list,
state-file round trip; and property tests (hypothesis) that the embedded validator and the shipped JSON Schema
agree on token entries and that any valid token identity survives the list and the cache unchanged."""
import json

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._suspension import merge as sl_merge
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import sources as sl_sources
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import state as sl_state
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import (
    DN,
    TOKEN,
    Entry,
    issuer_spellings,
    normalize_issuer,
)
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError

IAM = "https://iam.example"
SUB = "e1eb758b-b73c-4761-bfff-adc793da409c"


def _yaml(entries):
    return json.dumps({"version": 1, "entries": entries})


def test_issuer_spellings_gives_both_forms_whatever_the_input():
    assert issuer_spellings(IAM) == [IAM, IAM + "/"]
    assert issuer_spellings(IAM + "/") == [IAM, IAM + "/"]
    assert issuer_spellings(" %s// " % IAM) == [IAM, IAM + "/"]


def test_yaml_token_entry_keeps_issuer_subject_and_metadata():
    entries = sl_sources.parse_yaml_list(_yaml([{"issuer": IAM + "/", "subject": SUB, "reason": "compromised",
                                         "ticket": "INC42", "added": "2026-01-02", "expires": "2030-01-01"}]), "y")
    [entry] = entries
    assert entry.kind == TOKEN
    assert entry.key == ("token", IAM, SUB)
    assert (entry.issuer, entry.subject) == (IAM, SUB)
    assert entry.value == "%s %s" % (IAM, SUB)
    assert entry.meta == {"reason": "compromised", "ticket": "INC42", "added": "2026-01-02", "expires": "2030-01-01"}
    assert entry.to_dict()["issuer"] == IAM and entry.to_dict()["subject"] == SUB


@pytest.mark.parametrize("item, problem", [
    ({"issuer": IAM}, "'issuer' needs 'subject'"),
    ({"subject": SUB}, "'subject' needs 'issuer'"),
    ({"issuer": IAM, "subject": SUB, "dn": "/DC=a/CN=b"}, "exactly one of"),
    ({"issuer": "iam.example", "subject": SUB}, "does not match"),
    ({"issuer": "https://iam example", "subject": SUB}, "does not match"),
    ({"issuer": IAM, "subject": " lead"}, "does not match"),
    ({"issuer": IAM, "subject": "caf\u00e9"}, "does not match"),
    ({"issuer": IAM, "subject": "a\nb"}, "does not match"),
    ({"issuer": IAM, "subject": "x" * 256}, "longer than 255"),
    ({"issuer": IAM, "subject": ""}, "shorter than 1"),
])
def test_yaml_rejects_malformed_token_entries_as_a_whole(item, problem):
    with pytest.raises(sl_sources.SourceError) as err:
        sl_sources.parse_yaml_list(_yaml([{"dn": "/DC=org/CN=ok"}, item]), "y")
    assert problem in str(err.value)


def test_hostile_subjects_are_kept_verbatim():
    subjects = [".*", "a b", 'q"uote', "back\\slash", "semi;colon", "<x>", "at@sign@", "trailing9", "*"]
    entries = sl_sources.parse_yaml_list(_yaml([{"issuer": IAM, "subject": s} for s in subjects]), "y")
    assert [e.subject for e in entries] == subjects


def test_plain_list_token_line():
    text = "# comment\n/DC=org/CN=Jane\nfqan:/atlas/Role=pilot\ntoken %s/ %s\nTOKEN\t%s  with blanks inside \n" % (
        IAM, SUB, IAM)
    entries = sl_sources.parse_plain_list(text, "p")
    assert [e.kind for e in entries] == ["dn", "fqan", "token", "token"]
    assert entries[2].key == ("token", IAM, SUB)
    assert entries[3].subject == "with blanks inside"


@pytest.mark.parametrize("line", ["token %s" % IAM, "token not-a-url sub", "token %s caf\u00e9" % IAM])
def test_plain_list_bad_token_line_rejects_the_source(line):
    with pytest.raises(sl_sources.SourceError) as err:
        sl_sources.parse_plain_list("/DC=org/CN=ok\n" + line + "\n", "p")
    assert "line 2" in str(err.value)


def test_dn_and_fqan_lines_unchanged():
    entries = sl_sources.parse_plain_list("/DC=org/CN=tokenizer\nCN=token x,DC=org\n", "p")
    assert [e.kind for e in entries] == ["dn", "dn"]


def test_merge_collapses_both_issuer_spellings_and_combines_metadata():
    first = [Entry(TOKEN, (IAM, SUB), {"reason": "r1", "expires": "2030-01-01"}, sources=["a"])]
    second = [Entry(TOKEN, (IAM + "/", SUB), {"ticket": "T", "expires": "2031-01-01"}, sources=["b"])]
    other_sub = [Entry(TOKEN, (IAM, SUB.upper()), sources=["b"])]  # sub is case-sensitive
    merged = sl_merge.merge([("a", first), ("b", second + other_sub)])
    assert len(merged) == 2
    entry = merged[("token", IAM, SUB)]
    assert entry.sources == ["a", "b"]
    assert entry.meta == {"reason": "r1", "ticket": "T", "expires": "2031-01-01"}


def test_token_and_dn_of_same_text_are_different_keys():
    dn = Entry(DN, "/DC=org/CN=x")
    token = Entry(TOKEN, ("https://a.example", "/DC=org/CN=x"))
    assert dn.key != token.key


def test_allow_list_protects_token_identities_in_both_spellings_and_by_pattern():
    allow = sl_merge.AllowList(["token %s/ %s" % (IAM, SUB), {"issuer": "https://other.example", "subject": "robot"}],
                               [r"^https://trusted\.example "])
    entries = [Entry(TOKEN, (IAM, SUB)), Entry(TOKEN, ("https://other.example/", "robot")),
               Entry(TOKEN, ("https://trusted.example", "anyone")), Entry(TOKEN, (IAM, "someone-else"))]
    merged = dict((e.key, e) for e in entries)
    kept, protected, overridden = sl_merge.apply_allow_list(merged, allow, ["token %s %s" % (IAM, SUB)])
    assert set(kept) == {("token", IAM, SUB), ("token", IAM, "someone-else")}
    assert sorted(p["subject"] for p in protected) == ["anyone", "robot"]
    assert [o["subject"] for o in overridden] == [SUB]


def test_allow_list_refuses_a_malformed_token_item():
    with pytest.raises(ConfigError) as err:
        sl_merge.AllowList(["token nope"])
    assert "allow_list item" in str(err.value)


def test_state_cache_round_trip_keeps_the_key():
    entry = Entry(TOKEN, (IAM + "/", ".*"), {"reason": "r"})
    again = Entry.trusted(json.loads(json.dumps(entry.cache_dict())))
    assert again.key == entry.key and again.subject == ".*" and again.meta == {"reason": "r"}
    # an old-style cached item without "key" is re-parsed from issuer/subject
    old = Entry.trusted({"kind": "token", "value": entry.value, "issuer": IAM, "subject": ".*"})
    assert old.key == entry.key


def test_state_last_good_keys_reads_token_keys(tmp_path):
    state = sl_state.State(str(tmp_path / "s.json"))
    entry = Entry(TOKEN, (IAM, SUB))
    state.data["last_good"] = {"entries": [entry.cache_dict(), Entry(DN, "/DC=org/CN=a").cache_dict()]}
    state.save()
    again = sl_state.State(str(tmp_path / "s.json")).load()
    assert entry.key in again.last_good_keys()
    assert [e.key for e in again.last_good_entries()][0] == entry.key


# -- properties -----------------------------------------------------------------------------------------------------
hypothesis = pytest.importorskip("hypothesis")
jsonschema = pytest.importorskip("jsonschema")
from hypothesis import given, settings, strategies as st  # noqa: E402

SETTINGS = settings(max_examples=80, deadline=None, derandomize=True)
VALIDATOR = jsonschema.Draft202012Validator(sl_sources.LIST_SCHEMA)
SUBJECT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), min_size=1, max_size=40)
SUBJECT_WITH_BLANKS = st.tuples(SUBJECT, st.text(" ", max_size=2), SUBJECT).map("".join)
ISSUER = st.tuples(st.sampled_from(["https://", "http://"]),
                   st.text(st.sampled_from("abcxyz.-0123:"), min_size=1, max_size=12).filter(lambda h: h[0] != ":"),
                   st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e, blacklist_characters='"'),
                           max_size=10),
                   st.sampled_from(["", "/"])).map("".join)
ANY_TEXT = st.text(max_size=12)


@SETTINGS
@given(st.one_of(ISSUER, ANY_TEXT), st.one_of(SUBJECT, SUBJECT_WITH_BLANKS, ANY_TEXT), st.booleans())
def test_embedded_validator_agrees_with_jsonschema_on_token_entries(issuer, subject, with_dn):
    item = {"issuer": issuer, "subject": subject}
    if with_dn:
        item["dn"] = "/DC=org/CN=x"
    doc = {"version": 1, "entries": [item]}
    assert (not sl_sources.schema_errors(doc)) == VALIDATOR.is_valid(doc)


@SETTINGS
@given(ISSUER, st.one_of(SUBJECT, SUBJECT_WITH_BLANKS))
def test_valid_token_identity_survives_yaml_plain_list_and_cache(issuer, subject):
    try:
        [entry] = sl_sources.parse_yaml_list(_yaml([{"issuer": issuer, "subject": subject}]), "y")
    except sl_sources.SourceError:
        assert sl_sources.schema_errors({"version": 1, "entries": [{"issuer": issuer, "subject": subject}]}) or \
            not normalize_issuer(issuer).partition("://")[2]
        return
    assert entry.subject == subject and entry.issuer == issuer.rstrip("/")
    [plain] = sl_sources.parse_plain_list("token %s %s\n" % (issuer, subject), "p")
    assert plain.key == entry.key
    assert Entry.trusted(json.loads(json.dumps(entry.cache_dict()))).key == entry.key
    assert issuer_spellings(issuer) == [entry.issuer, entry.issuer + "/"]


def test_token_entry_name_claim_gives_the_panda_names_of_the_person():
    """A token entry may carry the token's ``name`` claim: the sync's PanDA target then bans the name PanDA derives
    from it (each word's tail lower-cased) besides the bare subject; a ``name`` without a token identity is refused."""
    from ansible_collections.gridsec.ops.plugins.module_utils._sync.panda import panda_entry_keys

    doc = ('version: 1\nentries:\n  - issuer: "https://iam.example.org/"\n    subject: "a1b2-c3"\n'
           '    name: "Anne-Marie McAbcdef"\n')
    (entry,) = sl_sources.parse_yaml_list(doc.encode(), "t")
    assert entry.meta["name"] == "Anne-Marie McAbcdef"
    assert panda_entry_keys(entry) == ["Anne-marie Mcabcdef", "a1b2-c3"]
    (bare,) = sl_sources.parse_yaml_list(
        b'version: 1\nentries:\n  - issuer: "https://iam.example.org"\n    subject: "a1b2-c3"\n', "t")
    assert panda_entry_keys(bare) == ["a1b2-c3"]
    with pytest.raises(sl_sources.SourceError, match="schema validation failed"):
        sl_sources.parse_yaml_list(b'version: 1\nentries:\n  - dn: "/DC=org/CN=x"\n    name: "X"\n', "t")
