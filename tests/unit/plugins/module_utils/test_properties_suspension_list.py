# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Property-based tests (hypothesis) of the suspension list schema and parsers (module_utils/_suspension/sources.py).

* the module's own validator (``schema_errors``) accepts exactly the documents the shipped JSON Schema
  (``meta/suspension-list.schema.json``, checked with the ``jsonschema`` library) accepts, for documents built
  around the schema's edges (unknown keys, both or neither of dn/fqan, wrong types, bad dates, lengths);
* a valid list parses to one entry per item, in order, with the DN's value read back as the same DN (any value:
  XML/SQL metacharacters, quotes, RTL and zero-width marks) and the FQAN kept; an invalid one is rejected as a
  whole with ``SourceError`` naming the source and the schema (never a partial list, never another exception);
* the plain-list parser, for any text: ``SourceError`` or entries, one per non-comment line;
* an entry read back from the state-file cache has the same key, value and metadata.
"""
import json
import os

import pytest

hypothesis = pytest.importorskip("hypothesis")
jsonschema = pytest.importorskip("jsonschema")
from hypothesis import given, settings, strategies as st  # noqa: E402

from ansible_collections.gridsec.ops.plugins.module_utils._dn import DistinguishedName, parse_dn  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import Entry  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.sources import (  # noqa: E402
    SourceError,
    parse_plain_list,
    parse_yaml_list,
    schema_errors,
)

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
with open(os.path.join(ROOT, "meta", "suspension-list.schema.json"), encoding="utf-8") as _handle:
    SHIPPED = json.load(_handle)
VALIDATOR = jsonschema.Draft202012Validator(SHIPPED)

CHAR = st.characters(blacklist_categories=("Cs", "Cc"))
HOSTILE = st.sampled_from(["<", ">", "&", "'", '"', ";", "--", "%", "\\", ",", "+", "=", "#", "\u200b", "\u202e",
                           "\u00e9", "\u4e2d", "DROP TABLE users", "]]>"])
VALUE = st.lists(st.one_of(CHAR, HOSTILE), min_size=1, max_size=8).map("".join).filter(
    lambda v: v == v.strip() and v and not set(v) & set("/+="))
TYPES = ["CN", "OU", "O", "DC", "C", "L"]
SLASH_DN = st.lists(st.tuples(st.sampled_from(TYPES), VALUE), min_size=1, max_size=4).map(
    lambda rdns: "".join("/%s=%s" % pair for pair in rdns))
FQAN = st.lists(st.text(st.sampled_from("abcdefgh-_.0123"), min_size=1, max_size=6), min_size=1, max_size=3).map(
    lambda parts: "/" + "/".join(parts))
DATE = st.sampled_from(["2026-01-02", "2026-12-01T04:00:00Z", "2026-12-01 04:00:00+02:00", "2026-12-01T04:00:00.5Z"])
META = st.fixed_dictionaries({}, optional={
    "reason": st.text(CHAR, max_size=20), "ticket": st.text(CHAR, max_size=10), "origin": st.text(CHAR, max_size=10),
    "added": DATE, "expires": DATE})
ENTRY = st.one_of(st.tuples(st.just("dn"), SLASH_DN, META), st.tuples(st.just("fqan"), FQAN, META))

# Small deviations around the schema's edges, applied to a valid document.
BAD_STRING = st.one_of(st.just(""), st.just("x"), st.text(CHAR, max_size=5), st.integers(), st.none(), st.booleans(),
                       st.lists(st.integers(), max_size=2), st.just("2026-13"), st.just("not a date"),
                       st.just("a" * 5000))


def _document(entries):
    items = []
    for kind, value, meta in entries:
        item = dict(meta)
        item[kind] = value
        items.append(item)
    return {"version": 1, "origin": "property test", "entries": items}


@st.composite
def mutated_documents(draw):
    doc = _document(draw(st.lists(ENTRY, min_size=1, max_size=4)))
    how = draw(st.sampled_from(["top_key", "version", "entry_key", "both", "neither", "field", "entries_type",
                                "entry_type"]))
    item = draw(st.sampled_from(doc["entries"]))
    if how == "top_key":
        doc[draw(st.sampled_from(["extra", "Entries", "generated", "origin"]))] = draw(BAD_STRING)
    elif how == "version":
        doc["version"] = draw(st.one_of(st.integers(), st.text(max_size=3), st.just(True), st.just(1.0)))
    elif how == "entry_key":
        item[draw(st.sampled_from(["DN", "user", "comment", "reason"]))] = draw(BAD_STRING)
    elif how == "both":
        item["fqan" if "dn" in item else "dn"] = draw(st.one_of(FQAN, SLASH_DN))
    elif how == "neither":
        item.pop("dn", None)
        item.pop("fqan", None)
    elif how == "field":
        item[draw(st.sampled_from(["dn", "fqan", "added", "expires", "ticket", "origin"]))] = draw(BAD_STRING)
    elif how == "entries_type":
        doc["entries"] = draw(st.one_of(st.none(), st.text(max_size=3),
                                        st.dictionaries(st.text(max_size=2), st.integers(), max_size=2)))
    else:
        doc["entries"][doc["entries"].index(item)] = draw(st.one_of(st.none(), st.text(max_size=3), st.just({}),
                                                                    st.integers()))
    return doc


@SETTINGS
@given(st.one_of(st.lists(ENTRY, max_size=4).map(_document), mutated_documents()))
def test_module_validator_agrees_with_the_shipped_json_schema(doc):
    shipped_ok = VALIDATOR.is_valid(doc)
    ours = schema_errors(doc)
    assert (not ours) == shipped_ok, (doc, ours, [e.message for e in VALIDATOR.iter_errors(doc)][:3])


@SETTINGS
@given(st.lists(ENTRY, min_size=1, max_size=6))
def test_a_valid_list_parses_to_its_entries_exactly(entries):
    doc = _document(entries)
    parsed = parse_yaml_list(json.dumps(doc, ensure_ascii=False), name="central")
    assert len(parsed) == len(entries)
    for (kind, value, meta), entry in zip(entries, parsed):
        assert entry.kind == kind
        if kind == "dn":
            assert parse_dn(entry.value).rdns == parse_dn(value).rdns, (value, entry.value)
            assert entry.key == ("dn", parse_dn(value).canonical())
        else:
            assert entry.value == value
        for field in ("reason", "ticket", "added", "expires"):
            if meta.get(field):
                assert entry.meta[field] == meta[field]
        assert entry.meta.get("origin") == (meta.get("origin") or "property test")


def test_an_ascii_escaped_json_list_reads_like_the_utf8_one():
    """A JSON list whose non-BMP characters are surrogate-pair escapes (json.dumps' default) reads exactly like the
    same list in UTF-8 (YAML alone would leave lone surrogates)."""
    doc = _document([("dn", "/DC=test/CN=Emoji \U0001F600 User", {"reason": "\U00010348"})])
    escaped = parse_yaml_list(json.dumps(doc), name="central")[0]
    plain = parse_yaml_list(json.dumps(doc, ensure_ascii=False), name="central")[0]
    assert escaped.key == plain.key and escaped.value == plain.value == "/DC=test/CN=Emoji \U0001F600 User"
    assert escaped.meta == plain.meta


@SETTINGS
@given(mutated_documents())
def test_an_invalid_list_is_rejected_as_a_whole(doc):
    if VALIDATOR.is_valid(doc):
        return          # the mutation happened to keep the document valid (e.g. a new valid origin)
    with pytest.raises(SourceError) as err:
        parse_yaml_list(json.dumps(doc), name="central")
    text = str(err.value.msg) + repr(getattr(err.value, "server", "")) + repr(getattr(err.value, "operation", ""))
    assert "central" in text and "schema" in text, text


@SETTINGS
@given(st.one_of(st.text(max_size=80), st.binary(max_size=80)))
def test_parsers_raise_only_source_error(data):
    for parser in (parse_yaml_list, parse_plain_list):
        try:
            entries = parser(data, name="fuzz")
        except SourceError:
            continue
        assert isinstance(entries, list)
        if parser is parse_plain_list:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
            assert len(entries) == len(lines)


@SETTINGS
@given(ENTRY)
def test_cache_round_trip_keeps_key_value_and_metadata(item):
    kind, value, meta = item
    entry = Entry(kind, value, meta, sources=["central"])
    again = Entry.trusted(json.loads(json.dumps(entry.cache_dict())), sources=["central"])
    assert (again.kind, again.key, again.value, again.meta) == (entry.kind, entry.key, entry.value, entry.meta)
    if kind == "dn":
        assert isinstance(entry.dn, DistinguishedName) and again.rfc2253 == entry.rfc2253
