# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The sync's state and cache files written in pieces, the source cache decided by digests, the audit log
flushed in batches (issue 20 item 3: flat memory)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._suspension import state as sl_state
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import Entry


def _entries(n, start=0):
    return [Entry("dn", "/DC=org/DC=example/CN=user%05d" % i, {"ticket": "T-%d" % i} if i % 3 else None,
                  sources=["s1"]) for i in range(start, start + n)]


SAMPLES = [
    {},
    [],
    {"a": [{"x": i, "\u00e9": [1, 2.5, None, True]} for i in range(700)]},
    {"b": dict((str(i), {"q": "\u00fc" * (i % 7)}) for i in range(100)), "c": {"1": 2}, "e": (1, 2)},
    {"d": {"z": 1, "a": [1] * 100, "n": {"y": {"x": [2] * 70}}}, "f": {}, "g": []},
    {"h": [[1] * 70, 2] * 40, "i": [3] * 256, "j": [4] * 257, "k": [[1] * 65] * 70 + [2] * 600},
    {"ints": {1: "a", 2: "b"}, "nested": [{"deep": dict(("k%d" % i, i) for i in range(80))}]},
]


@pytest.mark.parametrize("value", SAMPLES)
def test_json_in_pieces_is_exactly_the_text_of_json_dumps(value):
    text = "".join(sl_state.json_chunks(value))
    assert text == json.dumps(value, sort_keys=True, ensure_ascii=False)


def test_cache_items_are_written_as_their_cache_dicts_and_digested_as_the_json_list():
    entries = _entries(300)
    items = sl_state.CacheItems(entries)
    dicts = [e.cache_dict() for e in entries]
    assert len(items) == 300 and list(items) == dicts
    value = {"version": 1, "sources": {"s1": {"sha256": "x", "entries": items}, "s2": {"entries": [1]}}}
    assert "".join(sl_state.json_chunks(value)) == json.dumps(
        {"version": 1, "sources": {"s1": {"sha256": "x", "entries": dicts}, "s2": {"entries": [1]}}},
        sort_keys=True, ensure_ascii=False)
    for n in (0, 1, 255, 256, 257, 300):
        expected = hashlib.sha256(json.dumps(dicts[:n], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        assert sl_state.items_digest(dicts[:n]) == expected
        assert sl_state.items_digest(sl_state.CacheItems(entries[:n])) == expected


def test_write_json_atomic_keeps_the_file_when_the_text_is_the_same(tmp_path):
    path = str(tmp_path / "x.json")
    digest, written = sl_state.write_json_atomic(path, {"a": [1] * 100}, 0o600)
    assert written and oct(os.stat(path).st_mode & 0o777) == "0o600"
    with open(path, "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == digest
    before = os.stat(path).st_ino
    assert sl_state.write_json_atomic(path, {"a": [1] * 100}, 0o600, unchanged=digest) == (digest, False)
    assert os.stat(path).st_ino == before and sorted(os.listdir(str(tmp_path))) == ["x.json"]  # no temporary left
    digest2, written = sl_state.write_json_atomic(path, {"a": [2] * 100}, 0o600, unchanged=digest)
    assert written and digest2 != digest and json.loads(open(path).read()) == {"a": [2] * 100}


def test_state_is_not_rewritten_when_its_text_is_unchanged_and_is_when_it_changed(tmp_path):
    path = str(tmp_path / "n.state.json")
    state = sl_state.State(path).load()
    state.data["last_good"] = {"entries": [e.cache_dict(with_sources=True, compact=True) for e in _entries(200)]}
    assert state.save()
    text = open(path).read()
    assert json.loads(text) == json.loads(json.dumps(state.data)) and text == json.dumps(
        state.data, sort_keys=True, ensure_ascii=False)
    again = sl_state.State(path).load()
    assert not again.save(dirty=True)  # serialised, found equal: not written
    again.data["last_good"]["entries"][5]["ticket"] = "changed"
    assert again.save()
    assert json.loads(open(path).read())["last_good"]["entries"][5]["ticket"] == "changed"


def test_source_cache_is_written_only_when_its_entries_changed(tmp_path):
    path = str(tmp_path / "c.state.json")
    cache_path = str(tmp_path / "c.cache.json")
    state = sl_state.State(path).load()
    assert state.set_source_cache("s1", None, sl_state.CacheItems(_entries(100)))  # a PAP source: no read digest
    state.save()
    first = os.stat(cache_path).st_ino
    again = sl_state.State(path).load()
    # the same entries (fresh objects): unchanged by their digest, the cache file neither read nor written
    assert not again.set_source_cache("s1", None, sl_state.CacheItems(_entries(100)))
    assert again._cache is None
    again.save()
    assert os.stat(cache_path).st_ino == first
    # one entry's metadata differs: a real change, however small, is written
    changed = _entries(100)
    changed[42].meta["reason"] = "other"
    third = sl_state.State(path).load()
    assert third.set_source_cache("s1", None, sl_state.CacheItems(changed))
    third.save()
    assert os.stat(cache_path).st_ino != first
    fourth = sl_state.State(path).load()
    assert [e.meta.get("reason") for e in fourth.source_cache("s1")][42] == "other"


def test_a_cache_file_that_does_not_hold_the_recorded_entries_is_not_used_and_is_written_again(tmp_path):
    path = str(tmp_path / "l.state.json")
    state = sl_state.State(path).load()
    state.set_source_cache("s1", "d1", sl_state.CacheItems(_entries(10)))
    state.save()
    # the cache file replaced by one of other entries under the same read digest (a restore, an edit)
    other = sl_state.State(str(tmp_path / "o.state.json")).load()
    other.set_source_cache("s1", "d1", sl_state.CacheItems(_entries(10, start=50)))
    other.save()
    os.rename(str(tmp_path / "o.cache.json"), str(tmp_path / "l.cache.json"))
    again = sl_state.State(path).load()
    assert again.source_cache("s1") is None  # its entries digest is not the one recorded
    # the same read again (parsed from the source's bytes): the cache is written although the digests match
    assert again.set_source_cache("s1", "d1", sl_state.CacheItems(_entries(10)))
    again.save()
    assert [e.value for e in sl_state.State(path).load().source_cache("s1")] == [e.value for e in _entries(10)]


def test_cache_of_one_source_keeps_the_others_entries(tmp_path):
    path = str(tmp_path / "m.state.json")
    state = sl_state.State(path).load()
    state.set_source_cache("a", "da", sl_state.CacheItems(_entries(80)))
    state.set_source_cache("b", "db", sl_state.CacheItems(_entries(5, start=500)))
    state.save()
    again = sl_state.State(path).load()
    again.set_source_cache("a", "da2", sl_state.CacheItems(_entries(3, start=900)))
    again.save()
    third = sl_state.State(path).load()
    assert [e.value for e in third.source_cache("b")] == [e.value for e in _entries(5, start=500)]
    assert [e.value for e in third.source_cache("a")] == [e.value for e in _entries(3, start=900)]
    assert third.source_count("a") == 3


def test_a_state_of_the_earlier_format_is_read_and_its_cache_moved_out(tmp_path):
    # written by a version without entries digests: the cache inside the state, no ``entries_sha256``
    path = tmp_path / "old.state.json"
    dicts = [e.cache_dict() for e in _entries(4)]
    path.write_text(json.dumps({"version": 1, "last_good": None, "targets": {},
                                "sources": {"s1": {"sha256": "d1", "entries": dicts}}}))
    state = sl_state.State(str(path)).load()
    assert [e.value for e in state.source_cache("s1")] == [d["value"] for d in dicts]
    assert state.save()  # the cache moves to its own file
    written = json.loads(path.read_text())
    assert "entries" not in written["sources"]["s1"] and written["sources"]["s1"]["count"] == 4
    again = sl_state.State(str(path)).load()
    assert [e.value for e in again.source_cache("s1")] == [d["value"] for d in dicts]
    # a cache file of the earlier format (no entries digest) beside a state without one is still used
    cache = json.loads((tmp_path / "old.cache.json").read_text())
    del cache["sources"]["s1"]["entries_sha256"]
    (tmp_path / "old.cache.json").write_text(json.dumps(cache))
    del written["sources"]["s1"]["entries_sha256"]
    path.write_text(json.dumps(written))
    third = sl_state.State(str(path)).load()
    assert [e.value for e in third.source_cache("s1")] == [d["value"] for d in dicts]
    # and recording the same read writes the digest once (unknown before)
    assert third.set_source_cache("s1", "d1", dicts)


def test_audit_lines_are_appended_whole_and_in_order_in_batches(tmp_path):
    path = str(tmp_path / "a.jsonl")
    log = sl_state.AuditLog(path, "run-1", False, "s")
    for entry in _entries(500):
        log.record("argus:pap", "add", entry)
    log.flush(batch_bytes=1000)
    log.record("argus:pap", "remove", {"kind": "dn", "value": "/DC=org/CN=\u00e9"})
    log.flush()
    lines = [json.loads(line) for line in open(path, encoding="utf-8").read().splitlines()]
    assert len(lines) == 501 and [x["entry"]["value"] for x in lines[:500]] == [e.value for e in _entries(500)]
    assert lines[1]["ticket"] == "T-1" and lines[-1]["entry"]["value"] == "/DC=org/CN=\u00e9"
    assert log.lines == []
