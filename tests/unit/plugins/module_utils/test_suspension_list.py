# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Unit tests of the suspension list: schema, parsing, merge, safety rails, ban-file formats, Argus rules."""
import copy
import datetime
import json
import os

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._suspension import entries as sl_entries
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import merge as sl_merge
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import sources as sl_sources
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import state as sl_state
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import UTC, Entry, iso, key_id, parse_time
from ansible_collections.gridsec.ops.plugins.module_utils._sync import argus as sync_argus
from ansible_collections.gridsec.ops.plugins.module_utils._sync import files as sync_files
from ansible_collections.gridsec.ops.plugins.module_utils._sync import panda as sync_panda
from ansible_collections.gridsec.ops.plugins.module_utils._argus.ids import PRIVATE_ID_PREFIX
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import PapPolicyTree, PolicySet
from ansible_collections.gridsec.ops.plugins.module_utils._dn import DNError, parse_dn
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, WriteRefusedError
from ansible_collections.gridsec.ops.tests.unit.plugins.module_utils.sync_fake import FakeSyncContext

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")
BASE = "/DC=org/DC=example/OU=Users"


# the targets are built as the sync builds them: cls(spec, ctx)
def file_target(name, path, fmt, sync_name, **options):
    return sync_files.FileTarget(dict(options, name=name, path=path, format=fmt), FakeSyncContext(sync_name))


def argus_target(name, client, sync_name, alias="default", public=True, max_retries=3, max_request_bytes=None):
    ctx = FakeSyncContext(sync_name, params={"max_retries": max_retries}, client=client)
    return sync_argus.ArgusTarget({"name": name, "alias": alias, "public": public,
                                   "max_request_bytes": max_request_bytes}, ctx)


def panda_target(name, db, owned, client_factory=None, **options):
    ctx = FakeSyncContext(state={name: {"owned_bans": owned}})
    return sync_panda.PandaTarget(dict(options, name=name), ctx, db=db, client_factory=client_factory)


def test_shipped_schema_is_the_embedded_one():
    with open(os.path.join(ROOT, "meta", "suspension-list.schema.json"), encoding="utf-8") as handle:
        assert json.load(handle) == sl_sources.LIST_SCHEMA


def test_schema_is_valid_and_agrees_with_jsonschema_when_available():
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(sl_sources.LIST_SCHEMA)
    validator = jsonschema.Draft202012Validator(sl_sources.LIST_SCHEMA)
    samples = [
        {"version": 1, "entries": []},
        {"version": 1, "entries": [{"dn": "/DC=a/CN=b", "reason": "r", "expires": "2030-01-01"}]},
        {"version": 1, "entries": [{"fqan": "/dteam/Role=x", "added": "2026-01-01T10:00:00Z"}]},
        {"version": 2, "entries": []},
        {"version": 1},
        {"version": 1, "entries": [{"dn": "/DC=a/CN=b", "fqan": "/x"}]},
        {"version": 1, "entries": [{"reason": "no identity"}]},
        {"version": 1, "entries": [{"dn": "/DC=a/CN=b", "colour": "red"}]},
        {"version": 1, "entries": [{"fqan": "no-slash"}]},
        {"version": 1, "entries": [{"dn": "/DC=a/CN=b", "expires": "next tuesday"}]},
        {"version": 1, "entries": "not a list"},
        {"version": True, "entries": []},
    ]
    for sample in samples:
        assert (not sl_sources.schema_errors(sample)) == validator.is_valid(sample), sample


def test_yaml_list_parses_dates_metadata_and_rejects_whole_source():
    text = ("version: 1\norigin: central\nentries:\n"
            "  - {dn: '/DC=org/CN=a', reason: r1, ticket: T-1, added: 2026-01-01, expires: 2030-01-01T12:00:00Z}\n"
            "  - {fqan: /dteam/Role=NULL}\n")
    entries = sl_sources.parse_yaml_list(text.encode(), "src")
    assert [(e.kind, e.value) for e in entries] == [("dn", "/DC=org/CN=a"), ("fqan", "/dteam")]
    assert entries[0].meta == {"reason": "r1", "ticket": "T-1", "added": "2026-01-01",
                               "expires": "2030-01-01T12:00:00+00:00", "origin": "central"}
    with pytest.raises(sl_sources.SourceError) as err:
        sl_sources.parse_yaml_list(b"version: 1\nentries:\n  - dn: /DC=org/CN=a\n  - dn: 'not a dn'\n", "src")
    assert "source src" in str(err.value) and "entries[1]" in str(err.value)
    with pytest.raises(sl_sources.SourceError) as err:
        sl_sources.parse_yaml_list(b"version: 1\nentries:\n  - dn: /DC=org/CN=a\n    extra: 1\n", "src")
    assert "schema" in str(err.value) and "extra" in str(err.value)
    with pytest.raises(sl_sources.SourceError):
        sl_sources.parse_yaml_list(b"version: 1\nentries: [\n", "src")


def test_plain_list_comments_fqans_and_line_numbers():
    entries = sl_sources.parse_plain_list("# header\n\n/DC=org/CN=a\nCN=b,DC=org\nfqan:/atlas/Role=x\n  # indented\n",
                                          "p")
    expected = [("dn", "/DC=org/CN=a"), ("dn", "/DC=org/CN=b"), ("fqan", "/atlas/Role=x")]
    assert [(e.kind, e.value) for e in entries] == expected
    with pytest.raises(sl_sources.SourceError) as err:
        sl_sources.parse_plain_list("/DC=org/CN=a\ngarbage\n", "p")
    assert "line 2" in str(err.value)


def test_merge_is_semantic_deterministic_and_keeps_metadata():
    a = [Entry("dn", "/DC=org/OU=Users/CN=Jane Doe", {"reason": "first", "added": "2026-02-01",
                                                      "expires": "2027-01-01"}, sources=["a"])]
    meta_b = {"reason": "second", "ticket": "T-9", "added": "2026-01-01", "expires": "2028-01-01"}
    b = [Entry("dn", "CN=jane  doe, OU=Users, DC=org", meta_b, sources=["b"]),
         Entry("dn", "/DC=org/CN=Other", sources=["b"])]
    merged = sl_merge.merge([("a", a), ("b", b)])
    assert len(merged) == 2
    jane = merged[a[0].key]
    assert jane.value == "/DC=org/OU=Users/CN=Jane Doe" and jane.sources == ["a", "b"]
    assert jane.meta == {"reason": "first", "ticket": "T-9", "added": "2026-01-01", "expires": "2028-01-01"}
    # an entry without expires in any source never expires
    c = [Entry("dn", "/DC=org/OU=Users/CN=Jane Doe", sources=["c"])]
    assert "expires" not in sl_merge.merge([("a", a), ("c", c)])[a[0].key].meta
    assert "expires" not in sl_merge.merge([("c", c), ("a", a)])[a[0].key].meta
    # the order of merging never changes the set, and the first source's value wins
    assert set(sl_merge.merge([("b", b), ("a", a)])) == set(merged)
    # a merged entry is a full copy (every field set) that does not share its metadata or sources with the input
    other = merged[b[1].key]
    assert all(getattr(other, slot) == getattr(b[1], slot) for slot in Entry.__slots__)
    other.meta["reason"] = "changed"
    other.sources.append("x")
    assert b[1].meta == {} and b[1].sources == ["b"]


def test_expiry_allow_list_patterns_and_overrides():
    now = datetime.datetime(2026, 6, 1, tzinfo=UTC)
    entries = [Entry("dn", BASE + "/CN=old", {"expires": "2026-05-31T23:59:59Z"}),
               Entry("dn", BASE + "/CN=new", {"expires": "2026-06-02"}),
               Entry("dn", "/DC=org/DC=example/OU=Services/CN=ce.example.org"),
               Entry("dn", BASE + "/CN=Admin"),
               Entry("fqan", "/dteam/Role=lcgadmin")]
    merged = sl_merge.merge([("s", entries)])
    kept, expired = sl_merge.drop_expired(merged, now)
    assert [e.value for e in expired] == [BASE + "/CN=old"]
    allow = sl_merge.AllowList(["CN=admin, OU=Users, DC=example, DC=org", "/dteam/Role=lcgadmin"],
                               [r"OU=Services/", r"^CN=[^,]*\.example\.org,"])
    kept2, protected, overridden = sl_merge.apply_allow_list(kept, allow, ["/dteam/Role=lcgadmin"])
    assert sorted(p["value"] for p in protected) == sorted([BASE + "/CN=Admin",
                                                            "/DC=org/DC=example/OU=Services/CN=ce.example.org"])
    assert [o["value"] for o in overridden] == ["/dteam/Role=lcgadmin"]
    assert sorted(e.value for e in kept2.values()) == sorted(["/dteam/Role=lcgadmin", BASE + "/CN=new"])
    with pytest.raises(ConfigError):
        sl_merge.AllowList([], ["(unclosed"])


def test_shrink_guard():
    last = set(range(100))
    assert sl_merge.shrink_check(set(range(90)), last, None, 0.1) is None
    assert "max_shrink_fraction" in sl_merge.shrink_check(set(range(89)), last, None, 0.1)
    assert "max_shrink_count=5" in sl_merge.shrink_check(set(range(94)), last, 5, None)
    assert sl_merge.shrink_check(set(), None, 0, 0.0) is None  # no last good list yet
    assert sl_merge.shrink_check(set(range(200)), last, 0, 0.0) is None  # growth is never refused


@pytest.mark.parametrize("text,expected", [
    ("2026-01-02", "2026-01-02T00:00:00Z"),
    ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z"),
    ("2026-01-02T03:04:05+0100", "2026-01-02T02:04:05Z"),
    ("2026-01-02 03:04:05.5+01:00", "2026-01-02T02:04:05Z"),
])
def test_parse_time(text, expected):
    assert iso(parse_time(text)) == expected


HOSTILE = [BASE + "/CN=O'Neil \"Bob\" <b&b> Smith", "CN=Doe\\, John,OU=Users,DC=example,DC=org",
           BASE + "/CN=Jürgen Ñandú", BASE + "/CN=back\\slash;semi+UID=x",
           BASE + "/CN=back\\slash;semi+plus sign=equal",
           BASE + "/OU=%s" % ("u" * 60) * 15 + "/CN=long"]


@pytest.mark.parametrize("fmt", ["lcas", "gplazma", "plain"])
def test_ban_file_formats_round_trip_hostile_dns(tmp_path, fmt):
    merged = sl_merge.merge([("s", [Entry("dn", v) for v in HOSTILE] + [Entry("fqan", "/dteam/Role=bad")])])
    target = file_target("t", str(tmp_path / "f"), fmt, "sync")
    content = target.render(merged)[0]
    back = set()
    for line in content.decode("utf-8").splitlines():
        parsed = sync_files.parse_line(fmt, line)
        if parsed and not line.startswith("alias "):
            back.add(parsed)
    dns = set(v for k, v in back if k == "dn")
    assert set(parse_dn(v).canonical() for v in dns) == set(parse_dn(v).canonical() for v in HOSTILE)
    assert (("fqan", "/dteam/Role=bad") in back) == (fmt == "gplazma")
    assert content.count(b"\n") == len(content.decode("utf-8").splitlines())  # one line per entry, no stray breaks


def test_file_target_atomic_write_mode_and_unchanged(tmp_path):
    path = tmp_path / "ban_users.db"
    merged = sl_merge.merge([("s", [Entry("dn", v) for v in HOSTILE[:2]])])
    target = file_target("t", str(path), "lcas", "sync")
    data = target.sync(merged, check_mode=True)
    assert data["changed"] and not path.exists() and data["added_count"] == 2
    data = file_target("t", str(path), "lcas", "sync").sync(merged, check_mode=False)
    assert data["writes"] == 1 and oct(os.stat(path).st_mode & 0o777) == "0o640"
    before = os.stat(path)
    data = file_target("t", str(path), "lcas", "sync").sync(merged, check_mode=False)
    assert not data["changed"] and data["writes"] == 0
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns and os.stat(path).st_ino == before.st_ino
    assert sorted(os.listdir(tmp_path)) == ["ban_users.db"]  # no temporary file left behind
    with pytest.raises(ConfigError):
        file_target("t", str(path), "lcas", "sync", mode="rw-r-----")
    with pytest.raises(ConfigError):
        file_target("t", str(path), "template", "sync")
    bad = file_target("t", str(path), "template", "sync", template="{nope}")
    with pytest.raises(ConfigError):
        bad.render(merged)


def test_argus_rules_are_deterministic_and_recognised_without_reparsing():
    entries = sl_merge.merge([("s", [Entry("dn", v) for v in HOSTILE] + [Entry("fqan", "/dteam/Role=bad")])])
    target = argus_target("t", client=None, sync_name="sync")
    policy = target._policy(entries.values(), "public-x", "1")  # pylint: disable=protected-access
    assert [r.rule_id for r in policy.rules] == [r.rule_id for r in target._policy(  # pylint: disable=protected-access
        list(entries.values())[::-1], "public-x", "1").rules]
    assert all(r.deny and len(r.attributes) == 1 for r in policy.rules)
    current, foreign, stale = target._current(policy, entries)  # pylint: disable=protected-access
    assert set(current) == set(entries) and not foreign and not stale
    # every subject is the literal a PAP stores for the slash form (canl: only ',' escaped), never RFC 4514 escapes
    subjects = dict((r.attributes[0].value, r) for r in policy.rules if r.attributes[0].attribute_id_spl == "subject")
    assert set(subjects) == set(parse_dn(v).to_pap_literal() for v in HOSTILE)
    assert "CN=O'Neil \"Bob\" <b&b> Smith,OU=Users,DC=example,DC=org" in subjects
    # the value decides, not the rule id: a rule renamed by hand still holds its entry (no rewrite)
    policy.rules[0].rule_id = "renamed-by-hand"
    current, foreign, stale = target._current(policy, entries)  # pylint: disable=protected-access
    assert set(current) == set(entries) and not foreign and not stale
    # rules an older version wrote with full RFC 4514 escapes are the same entries (kept, never removed or added)
    # but stale: rewritten to the PAP literal
    by_literal = dict((e.pap_literal, e) for e in entries.values())
    for rule in policy.rules:
        if rule.attributes[0].attribute_id_spl == "subject":
            rule.attributes[0].value = by_literal[rule.attributes[0].value].rfc2253
    escaped = [r.attributes[0].value for r in policy.rules if r.attributes[0].attribute_id_spl == "subject"]
    assert "CN=O'Neil \\\"Bob\\\" \\<b&b\\> Smith,OU=Users,DC=example,DC=org" in escaped
    current, foreign, stale = target._current(policy, entries)  # pylint: disable=protected-access
    assert set(current) == set(entries) and not foreign
    changed_form = [e for e in entries.values() if e.kind == "dn" and e.rfc2253 != e.pap_literal]
    # quotes and <> differ between the two forms; a backslash DN is written in RFC 2253 form (its slash-form
    # literal does not read back)
    assert len(changed_form) == 1
    assert sorted((s["value"], s["stored"]) for s in stale) == sorted((e.value, e.rfc2253) for e in changed_form)
    # the owned PolicySet does not use the literal ".*" resource, so HL ban/unban never select it
    assert target._policy_set().resource != ".*"  # pylint: disable=protected-access


def test_audit_log_is_0600_jsonl_and_marks_check_mode(tmp_path):
    path = tmp_path / "sub" / "audit.jsonl"
    log = sl_state.AuditLog(str(path), "run-1", True, "sync")
    log.record("file:t", "add", Entry("dn", "/DC=org/CN=a", {"reason": "r", "ticket": "T"}), result="planned")
    log.flush()
    log.record("file:t", "remove", {"kind": "dn", "value": "/DC=org/CN=b"})
    log.flush()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert [(x["action"], x["check_mode"], x["entry"]["value"]) for x in lines] == [
        ("add", True, "/DC=org/CN=a"), ("remove", True, "/DC=org/CN=b")]
    assert lines[0]["reason"] == "r" and lines[0]["ticket"] == "T" and lines[0]["run"] == "run-1"


def test_state_round_trip(tmp_path):
    state = sl_state.State(str(tmp_path / "s.json")).load()
    assert state.last_good_entries() is None and state.source_cache("x") is None
    state.data["last_good"] = {"entries": [Entry("dn", "/DC=org/CN=a", {"ticket": "T"}).cache_dict()]}
    state.data["sources"]["x"] = {"entries": [Entry("fqan", "/atlas").cache_dict()]}
    state.save()
    assert oct(os.stat(tmp_path / "s.json").st_mode & 0o777) == "0o600"
    again = sl_state.State(str(tmp_path / "s.json")).load()
    assert [e.meta for e in again.last_good_entries()] == [{"ticket": "T"}]
    assert again.last_good_keys() == {Entry("dn", "CN=a,DC=org").key}  # the same identity, any DN form
    assert [e.value for e in again.source_cache("x")] == ["/atlas"]
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError):
        sl_state.State(str(tmp_path / "bad.json")).load()


def test_last_good_list_round_trips_compact_and_builds_keys_only_when_asked(tmp_path):
    entries = [Entry("dn", "/DC=org/CN=a", {"expires": "2999-01-01"}, sources=["s1", "s2"]), Entry("fqan", "/atlas"),
               Entry("token", ("https://iam.example.org/", "sub-1"))]
    state = sl_state.State(str(tmp_path / "n.state.json")).load()
    state.data["last_good"] = {"entries": [e.cache_dict(with_sources=True, compact=True) for e in entries]}
    state.set_source_cache("s1", "abc", [entries[0].cache_dict()])
    state.save()
    written = json.loads((tmp_path / "n.state.json").read_text())
    assert (tmp_path / "n.cache.json").exists() and "entries" not in written["sources"]["s1"]
    again = sl_state.State(str(tmp_path / "n.state.json")).load()
    merged = again.last_good_merged()
    assert len(merged) == 3 and [e.value for e in merged.values()][1] == "/atlas"
    assert merged._by_key is None  # counting and reading values built no key
    assert set(merged) == set(e.key for e in entries) and again.last_good_keys() == set(e.key for e in entries)
    assert merged[entries[0].key].sources == ["s1", "s2"] and merged[entries[0].key].meta == {"expires": "2999-01-01"}
    assert merged[entries[2].key].subject == "sub-1" and entries[1].key in merged
    assert [e.value for e in again.source_cache("s1")] == [entries[0].value] and again.source_count("s1") == 1
    assert not again.save(dirty=False)  # nothing changed: nothing written


def test_entries_of_the_last_good_list_build_their_meta_when_first_read_and_keep_what_is_set(tmp_path):
    meta = {"expires": "2999-01-01", "ticket": "T-1", "reason": "r"}
    entry = Entry("dn", "/DC=org/CN=a", meta, sources=["s1"])
    state = sl_state.State(str(tmp_path / "m.state.json")).load()
    state.data["last_good"] = {"entries": [entry.cache_dict(with_sources=True, compact=True),
                                           Entry("fqan", "/atlas").cache_dict(with_sources=True, compact=True)]}
    state.save()
    merged = sl_state.State(str(tmp_path / "m.state.json")).load().last_good_merged()
    first, second = merged.values()
    assert first.meta == meta and second.meta == {}  # built on first read, as the eager form built it
    first.meta["origin"] = "o"  # the dict built is the entry's own: a change stays
    assert first.meta == dict(meta, origin="o")
    second.meta = {"ticket": "T-2"}
    assert second.meta == {"ticket": "T-2"}
    copy = Entry.__new__(Entry)
    sl_merge.copy_entry(first, copy)
    assert copy.meta == dict(meta, origin="o") and copy.sources == ["s1"]


@pytest.mark.parametrize("change", [
    lambda t: t["pap"]["record"]["policies"]["p1"].append("r3"),
    lambda t: t["pap"]["record"].__setitem__("full_read_at", True),  # 1 -> True: the JSON written changes
    lambda t: t["pap"]["record"].__setitem__("full_read_at", 1.0),
    lambda t: t["pap"].pop("lookup"),
    lambda t: t.setdefault("files", {}),
    lambda t: t["pap"]["lookup"].__setitem__("x", "b"),
])
def test_targets_snapshot_sees_every_change_of_what_the_targets_keep(tmp_path, change):
    path = str(tmp_path / "t.state.json")
    state = sl_state.State(path).load()
    state.data["targets"] = {"pap": {"record": {"policies": {"p1": ["r1", "r2"]}, "full_read_at": 1},
                                     "lookup": {"x": "a"}}}
    state.save()
    again = sl_state.State(path).load()
    before = again.targets_snapshot()
    assert not again.targets_changed(before)  # nothing done: the same bytes
    change(again.data["targets"])
    assert again.targets_changed(before)


def test_targets_snapshot_of_what_marshal_cannot_write_falls_back_on_json(tmp_path):
    class Tagged(str):
        pass

    state = sl_state.State(str(tmp_path / "u.state.json")).load()
    state.data["targets"] = {"pap": {"note": Tagged("a")}}
    before = state.targets_snapshot()
    assert before == json.dumps({"pap": {"note": "a"}}, sort_keys=True).encode("utf-8")
    assert not state.targets_changed(before)
    state.data["targets"]["pap"]["note"] = Tagged("b")
    assert state.targets_changed(before)


# ---- Argus target against an in-memory PAP (write-call counts, refused writes, visibility) ----------------------

class FakePap(object):
    """Just enough of PapClient for ArgusTarget: a tree per alias, every call logged, writes that can be refused
    the way the real PAP refuses them (``false`` reply -> WriteRefusedError raised by the client)."""

    def __init__(self, refuse_updates=0):
        self.server_label = "fake:8150"
        self.operations = []
        self.root = PolicySet("root", "1", ".*", [])
        self.sets = {}
        self.policies = {}
        self.refuse_updates = refuse_updates
        self.counter = 0

    def _log(self, operation, **args):
        self.operations.append({"operation": operation, "args": args})

    def list_policy_sets(self, alias):
        self._log("listPolicySets", alias=alias)
        return [copy.deepcopy(self.root)] + copy.deepcopy(list(self.sets.values()))

    def get_tree(self, alias, policy_sets=None):
        for operation in ("getRootPolicySet", "listPolicySets", "listPolicies"):
            if not (policy_sets is not None and operation == "listPolicySets"):
                self._log(operation, alias=alias)
        return PapPolicyTree(alias, copy.deepcopy(self.root), copy.deepcopy(self.sets), copy.deepcopy(self.policies))

    def add_policy_set(self, alias, index, policy_set):
        self._log("addPolicySet", alias=alias, index=index)
        self.counter += 1
        policy_set = copy.deepcopy(policy_set)
        policy_set.policy_set_id = "ps-%d" % self.counter
        self.sets[policy_set.policy_set_id] = policy_set
        self.root.references.insert(index, ("policyset", policy_set.policy_set_id))
        return policy_set.policy_set_id

    def add_policies(self, alias, index, policy_set_id, prefixes, policies):
        self._log("addPolicies", alias=alias, index=index, policy_set_id=policy_set_id)
        ids = []
        for prefix, policy in zip(prefixes, policies):
            self.counter += 1
            policy = copy.deepcopy(policy)
            policy.policy_id = "%s-%d" % (prefix, self.counter)
            self.policies[policy.policy_id] = policy
            self.sets[policy_set_id].references.insert(index, ("policy", policy.policy_id))
            ids.append(policy.policy_id)
        return ids

    def store_policy(self, alias, prefix, policy):
        self._log("storePolicy", alias=alias)
        self.counter += 1
        policy = copy.deepcopy(policy)
        policy.policy_id = "%s-%d" % (prefix, self.counter)
        self.policies[policy.policy_id] = policy
        return policy.policy_id

    def update_policy_set(self, alias, version, policy_set):
        self._log("updatePolicySet", alias=alias, id=policy_set.policy_set_id, version=version)
        self.sets[policy_set.policy_set_id] = copy.deepcopy(policy_set)
        return True

    def remove_policy(self, alias, policy_id):
        self._log("removePolicy", alias=alias, id=policy_id)
        del self.policies[policy_id]
        return True

    def update_policy(self, alias, version, policy):
        self._log("updatePolicy", alias=alias, id=policy.policy_id, version=version)
        if self.refuse_updates:
            self.refuse_updates -= 1
            raise WriteRefusedError("the PAP answered false to updatePolicy: nothing was written",
                                    server=self.server_label, operation="updatePolicy")
        self.policies[policy.policy_id] = copy.deepcopy(policy)
        return True

    def remove_object_by_id_and_references(self, alias, object_id):
        self._log("removeObjectByIdAndReferences", alias=alias, id=object_id)
        for policy in list(self.policies.values()):  # a rule id: the rule goes (argus-pap removeRule)
            if any(rule.rule_id == object_id for rule in policy.rules):
                policy.rules = [rule for rule in policy.rules if rule.rule_id != object_id]
                policy.version = str(int(policy.version) + 1)
                if policy.rules:
                    return True
                object_id = policy.policy_id
        self.policies.pop(object_id, None)
        for ps in self.sets.values():
            ps.references = [ref for ref in ps.references if ref[1] != object_id]
        return True

    def owned_values(self):
        return sorted(r.attributes[0].value for p in self.policies.values() for r in p.rules)

    def enforced_values(self):
        """The Deny values a PDP would evaluate: only policies reached from the root through references."""
        tree = PapPolicyTree("default", self.root, self.sets, self.policies)
        return sorted(rule.attributes[0].value for _ps, _policy, rule in tree.iter_rules())


def writes(pap):
    return [op["operation"] for op in pap.operations if op["operation"] in sync_argus.WRITE_OPS]


def generated_entries(n):
    return sl_merge.merge([("s", [Entry("dn", "%s/CN=user %05d" % (BASE, i)) for i in range(n)])])


def test_argus_first_sync_of_a_large_list_is_two_writes_and_a_change_is_one_update():
    pap = FakePap()
    wanted = generated_entries(2000)
    data = argus_target("t", pap, "sync", max_request_bytes=4 << 20).sync(wanted, check_mode=False)
    # the policy is stored unreferenced, then the PolicySet that references it is added: all of the list or none
    assert writes(pap) == ["storePolicy", "addPolicySet"] and data["writes"] == 2 and data["added_count"] == 2000
    assert list(pap.policies)[0].startswith("public") and list(pap.policies.values())[0].public
    pap.operations = []
    assert not argus_target("t", pap, "sync").sync(wanted, check_mode=False)["changed"] and writes(pap) == []
    changed = dict(list(wanted.items())[50:])
    changed.update(generated_entries(2100))  # 50 removed, 100 added
    changed = dict((k, v) for k, v in changed.items() if k not in list(wanted)[:50])
    data = argus_target("t", pap, "sync", max_request_bytes=4 << 20).sync(changed, check_mode=False)
    assert writes(pap) == ["updatePolicy"] and (data["added_count"], data["removed_count"]) == (100, 50)


def _literals(entries):
    return sorted(e.pap_literal for e in entries.values())


def test_argus_large_list_is_chunked_and_a_change_touches_only_its_chunks():
    pap = FakePap()
    wanted = generated_entries(1000)  # ~640 KB of rules: 4 chunks of at most 192 KiB
    data = argus_target("t", pap, "sync", max_request_bytes=192 * 1024).sync(wanted, check_mode=False)
    assert writes(pap) == ["storePolicy"] * 4 + ["addPolicySet"] and data["chunks"] == 4
    assert pap.enforced_values() == _literals(wanted)
    # 3 removed from the last chunk only: one version-checked updatePolicy of that chunk
    pap.operations = []
    keys = sorted(wanted, key=lambda k: sl_entries.sort_key(wanted[k]))
    smaller = dict((k, wanted[k]) for k in keys[:-3])
    target = argus_target("t", pap, "sync", max_request_bytes=192 * 1024)
    target.sync(smaller, check_mode=False)
    assert writes(pap) == ["updatePolicy"] and pap.enforced_values() == _literals(smaller)
    # additions that fit the last chunk: one updatePolicy too
    pap.operations = []
    argus_target("t", pap, "sync", max_request_bytes=192 * 1024).sync(wanted, check_mode=False)
    assert writes(pap) == ["updatePolicy"] and pap.enforced_values() == _literals(wanted)
    # a few rules out of several chunks: one rule-level removal each (~1 KB), no chunk rewritten; the PolicySet
    # (references only) records the serial and time
    pap.operations = []
    sparse = dict((k, wanted[k]) for i, k in enumerate(keys) if i % 100)
    argus_target("t", pap, "sync", max_request_bytes=192 * 1024).sync(sparse, check_mode=False)
    assert writes(pap) == ["removeObjectByIdAndReferences"] * 10 + ["updatePolicySet"]
    assert [op["args"]["id"] for op in pap.operations if op["operation"] == "removeObjectByIdAndReferences"] == [
        sync_argus.ArgusTarget.rule_for(wanted[k]).rule_id for i, k in enumerate(keys) if not i % 100]
    assert pap.enforced_values() == _literals(sparse) and pap.owned_values() == _literals(sparse)
    # many rules out of several chunks: new chunks stored, ONE updatePolicySet swaps them in, the old ones removed
    pap.operations = []
    sparser = dict((k, wanted[k]) for i, k in enumerate(keys) if i % 20)
    argus_target("t", pap, "sync", max_request_bytes=192 * 1024).sync(sparser, check_mode=False)
    assert writes(pap) == ["storePolicy"] * 4 + ["updatePolicySet"] + ["removePolicy"] * 4
    assert pap.enforced_values() == _literals(sparser) and pap.owned_values() == _literals(sparser)


class CutPap(FakePap):
    """A PAP whose connection is cut after the ``nth`` write ``operation`` was sent and applied: the client sees an
    error, the PAP holds the write."""

    cut = None

    def _log(self, operation, **args):
        super(CutPap, self)._log(operation, **args)
        if self.cut and self.cut[0] == operation:
            self.cut = (operation, self.cut[1] - 1)

    def _after(self, operation, value):
        if self.cut and self.cut == (operation, 0):
            self.cut = None
            raise sync_argus.RemoteError("connection reset after the request was sent", operation=operation)
        return value

    def store_policy(self, alias, prefix, policy):
        return self._after("storePolicy", super(CutPap, self).store_policy(alias, prefix, policy))

    def update_policy_set(self, alias, version, policy_set):
        return self._after("updatePolicySet", super(CutPap, self).update_policy_set(alias, version, policy_set))


@pytest.mark.parametrize("operation,nth,enforced", [("storePolicy", 2, "previous"), ("updatePolicySet", 1, "new")])
def test_argus_write_cut_part_way_never_half_applies_and_the_next_run_repairs(operation, nth, enforced):
    pap = CutPap()
    wanted = generated_entries(1000)
    argus_target("t", pap, "sync", max_request_bytes=192 * 1024).sync(wanted, check_mode=False)
    keys = sorted(wanted, key=lambda k: sl_entries.sort_key(wanted[k]))
    sparse = dict((k, wanted[k]) for i, k in enumerate(keys) if i % 20)
    pap.cut = (operation, nth)
    with pytest.raises(sync_argus.GridsecError):
        argus_target("t", pap, "sync", max_request_bytes=192 * 1024).sync(sparse, check_mode=False)
    # the PDPs see the whole previous list (cut before the commit) or the whole new one (the commit was applied)
    assert pap.enforced_values() == _literals(wanted if enforced == "previous" else sparse)
    assert len(pap.owned_values()) > len(pap.enforced_values())  # leftovers: stored or replaced, unreferenced
    data = argus_target("t", pap, "sync", max_request_bytes=192 * 1024).sync(sparse, check_mode=False)
    assert data["changed"] and pap.enforced_values() == _literals(sparse) == pap.owned_values()
    pap.operations = []
    assert not argus_target("t", pap, "sync", max_request_bytes=192 * 1024).sync(sparse, check_mode=False)["changed"]


def test_argus_status_reads_entries_serial_applied_and_canary_from_the_pap():
    pap = FakePap()
    wanted = generated_entries(50)
    canary = sl_entries.Entry("dn", "%s/CN=user %05d" % (BASE, 7))
    target = argus_target("t", pap, "sync", max_request_bytes=16 * 1024)
    target.serial, target.applied_at = 41, "2026-12-07T13:00:00Z"
    target.sync(wanted, check_mode=False)
    status = argus_target("t", pap, "sync").status([canary])
    assert status == {"serial": 41, "applied": "2026-12-07T13:00:00Z", "entries": 50, "canary_present": True,
                      "problems": []}
    # the serial and time change only when the target writes: a no-op keeps what the last write recorded
    later = argus_target("t", pap, "sync")
    later.serial, later.applied_at = 42, "2026-12-07T14:00:00Z"
    assert not later.sync(wanted, check_mode=False)["changed"]
    assert argus_target("t", pap, "sync").status([])["serial"] == 41
    # a change records the new serial (in the chunk it rewrote) and the canary lifted reads as absent
    without = dict((k, v) for k, v in wanted.items() if v.value != canary.value)
    later.sync(without, check_mode=False)
    status = argus_target("t", pap, "sync").status([canary])
    assert (status["serial"], status["applied"], status["entries"], status["canary_present"]) == (
        42, "2026-12-07T14:00:00Z", 49, False)
    # a site Permit evaluated before the owned PolicySet hides the ban: not present
    pap.root.references.insert(0, ("policyset", "site"))
    pap.sets["site"] = PolicySet("site", "1", ".*", [("policy", "permit")])
    pap.policies["permit"] = sync_argus.Policy("permit", "1", ".*", [sync_argus.Rule("p", "Permit", [
        sync_argus.Attribute("subject", sl_entries.Entry("dn", "%s/CN=user %05d" % (BASE, 8)).pap_literal)])])
    assert argus_target("t", pap, "sync").status([sl_entries.Entry("dn", "%s/CN=user %05d" % (BASE, 8))])[
        "canary_present"] is False
    assert argus_target("t", pap, "sync").status([sl_entries.Entry("dn", "%s/CN=user %05d" % (BASE, 9))])[
        "canary_present"] is True
    assert argus_target("t", FakePap(), "sync").status([])["problems"]  # nothing synced yet


def test_argus_noop_is_proven_by_policy_set_versions_and_fully_read_on_schedule():
    pap = FakePap()
    state = {}
    wanted = generated_entries(200)

    def sync(entries, **options):
        pap.operations = []
        ctx = FakeSyncContext("sync", params={"max_retries": 3}, client=pap, state=state)
        spec = dict({"name": "t", "alias": "default", "public": True}, **options)
        return sync_argus.ArgusTarget(spec, ctx).sync(entries, check_mode=False)

    def reads():
        return [op["operation"] for op in pap.operations]

    assert sync(wanted)["changed"] and sync(wanted)["read"] == "full"  # a write, then a verified no-op
    data = sync(wanted)
    assert (data["read"], data["changed"], data["after_count"], reads()) == ("versions", False, 200, ["listPolicySets"])
    # a PolicySet changed by another writer: the full read, listPolicySets not asked twice
    ps_id = next(iter(pap.sets))
    pap.sets[ps_id].version = str(int(pap.sets[ps_id].version) + 1)
    assert sync(wanted)["read"] == "full" and reads() == ["listPolicySets", "getRootPolicySet", "listPolicies"]
    assert sync(wanted)["read"] == "versions"
    # another list, the PolicySets as recorded: the change planned from the state's record, written rule by rule
    data = sync(generated_entries(199))
    assert data["changed"] and data["read"] == "state" and reads() == [
        "listPolicySets", "removeObjectByIdAndReferences", "updatePolicySet"]
    assert pap.enforced_values() == _literals(generated_entries(199))
    # the record brought forward from the replies (no re-read) proves the next no-op
    assert sync(generated_entries(199))["read"] == "versions"
    # a rule removed by hand inside the owned policy (no PolicySet changes): found by the scheduled full read
    policy = next(p for p in pap.policies.values() if p.rules)
    policy.rules = policy.rules[1:]
    assert sync(generated_entries(199))["read"] == "versions"
    state["t"]["owned"]["full_read_at"] -= 3601
    data = sync(generated_entries(199))
    assert data["read"] == "full" and data["changed"] and data["added_count"] == 1
    assert pap.enforced_values() == _literals(generated_entries(199))
    # full_read_interval 0: always the full read
    assert sync(generated_entries(199))["read"] == "versions"
    assert sync(generated_entries(199), full_read_interval=0)["read"] == "full"


def test_argus_private_policy_gets_the_private_underscore_prefix():
    pap = FakePap()
    argus_target("t", pap, "sync", public=False).sync(generated_entries(3), check_mode=False)
    assert len(pap.policies) == 1
    policy_id, policy = next(iter(pap.policies.items()))
    assert policy_id.startswith(PRIVATE_ID_PREFIX) and PRIVATE_ID_PREFIX == "private_" and not policy.public
    # switching visibility adds the new policy before it removes the old one (never a moment without one)
    pap.operations = []
    argus_target("t", pap, "sync", public=True).sync(generated_entries(3), check_mode=False)
    assert writes(pap) == ["addPolicies", "removeObjectByIdAndReferences"]
    assert [p.public for p in pap.policies.values()] == [True]


def test_argus_false_reply_is_retried_after_a_reread_then_succeeds():
    pap = FakePap()
    argus_target("t", pap, "sync").sync(generated_entries(3), check_mode=False)
    pap.refuse_updates = 1
    data = argus_target("t", pap, "sync").sync(generated_entries(4), check_mode=False)
    assert data["attempts"] == 2 and len(data["conflicts"]) == 1 and data["writes"] == 2
    assert len(pap.owned_values()) == 4


def test_argus_false_reply_every_time_fails_clearly_and_is_never_reported_as_written():
    pap = FakePap()
    argus_target("t", pap, "sync").sync(generated_entries(3), check_mode=False)
    pap.refuse_updates = 99
    target = argus_target("t", pap, "sync", max_retries=2)
    with pytest.raises(WriteRefusedError) as err:
        target.sync(generated_entries(4), check_mode=False)
    assert "gave up after 3 attempt(s)" in str(err.value) and "updatePolicy" in str(err.value)
    assert target.result.data["attempts"] == 3 and len(pap.owned_values()) == 3  # unchanged


# ---- PanDA target: near names and pending task kills reuse _panda.db -----------------------------------------

class FakeDB(object):
    label = "fakedb"
    meta_schema = "meta"

    def __init__(self, rows=(), similar=None, banned=(), commands=None):
        self.rows = set(rows)
        self.similar = similar or {}
        self.banned = set(banned)
        self.commands = commands or {}
        self.created = []
        self.statuses = {}

    def get_banned_user_names(self):
        return set(self.banned), [{"operation": "get_banned_users"}]

    def get_user_rows(self, name, for_update=False):  # pylint: disable=unused-argument
        return ([{"name": name}] if name in self.rows else []), [{"operation": "get_user_rows"}]

    def find_similar_users(self, name):
        return [{"name": n} for n in self.similar.get(name, [])], [{"operation": "find_similar_users"}]

    def set_status(self, name, status):
        self.statuses[name] = status
        return 1, [{"operation": "set_status"}]

    def create_banned_user(self, name, dn=None):  # pylint: disable=unused-argument
        self.created.append(name)
        return 1, [{"operation": "create_banned_user"}]

    def get_task_commands(self, task_ids):
        return dict((t, self.commands[t]) for t in task_ids if t in self.commands), [{"operation": "get_task_commands"}]

    def find_active_jobs(self, name):  # pylint: disable=unused-argument
        return [], []

    def commit(self):
        pass

    def rollback(self):
        pass


def test_panda_near_name_is_not_banned_silently_unless_allowed():
    dn = BASE + "/CN=john smith"
    wanted = sl_merge.merge([("s", [Entry("dn", dn)])])
    db = FakeDB(similar={"john smith": ["John Smith"]})
    data = panda_target("p", db, {}).sync(wanted, check_mode=False)
    assert db.created == [] and not data["changed"]
    assert [o["outcome"] for o in data["outcomes"]] == ["similar_name"] and "John Smith" in data["problems"][0]
    db = FakeDB(similar={"john smith": ["John Smith"]})
    data = panda_target("p", db, {}, allow_similar_names=True).sync(wanted, check_mode=False)
    assert db.created == ["john smith"] and data["changed"] and "John Smith" in data["warnings"][0]


class FakePandaClient(object):
    def __init__(self, tasks):
        self.tasks = tasks
        self.killed = []

    def get_tasks_detailed_info_since(self, user_name=None, **_kw):
        return [dict(t, userName=user_name) for t in self.tasks]

    def kill_task(self, task_id):
        self.killed.append(task_id)
        return {"task_id": task_id, "success": True, "code": 0, "message": "ok"}


def test_panda_task_kill_skips_final_tasks_and_kills_already_registered():
    wanted = sl_merge.merge([("s", [Entry("dn", BASE + "/CN=Bad Actor")])])
    db = FakeDB(rows={"Bad Actor"}, commands={2: {"command": "kill", "owner": "op", "comment": "earlier"}})
    client = FakePandaClient([{"jediTaskID": 1, "status": "running"}, {"jediTaskID": 2, "status": "ready"},
                              {"jediTaskID": 3, "status": "done"}])
    predicted = panda_target("p", db, {}, kill_tasks=True, client_factory=lambda: client).sync(wanted, True)
    assert [(t["task_id"], t["outcome"]) for t in predicted["kills"][0]["tasks"]] == [(1, "would_kill"),
                                                                                      (2, "kill_pending")]
    assert client.killed == []
    data = panda_target("p", db, {}, kill_tasks=True, client_factory=lambda: client).sync(wanted, False)
    assert [(t["task_id"], t["outcome"]) for t in data["kills"][0]["tasks"]] == [(1, "kill_registered"),
                                                                                 (2, "kill_pending")]
    assert client.killed == [1] and db.statuses == {"Bad Actor": "disabled"}


def test_file_target_replaces_by_rename_and_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ban_users.db"
    first = sl_merge.merge([("s", [Entry("dn", v) for v in HOSTILE[:2]])])
    file_target("t", str(path), "lcas", "sync").sync(first, check_mode=False)
    old_inode, old_content = os.stat(path).st_ino, path.read_bytes()
    second = sl_merge.merge([("s", [Entry("dn", v) for v in HOSTILE[:3]])])

    def broken_rename(src, dst):  # pylint: disable=unused-argument
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "rename", broken_rename)
    with pytest.raises(ConfigError) as err:
        file_target("t", str(path), "lcas", "sync").sync(second, check_mode=False)
    assert "old file is untouched" in str(err.value)
    assert path.read_bytes() == old_content and sorted(os.listdir(tmp_path)) == ["ban_users.db"]
    monkeypatch.undo()
    data = file_target("t", str(path), "lcas", "sync").sync(second, check_mode=False)
    assert data["writes"] == 1 and os.stat(path).st_ino != old_inode  # a new file renamed over the old one
    assert sorted(os.listdir(tmp_path)) == ["ban_users.db"]


def test_json_list_with_surrogate_pair_escapes_reads_like_utf8():
    doc = {"version": 1, "entries": [{"dn": "/DC=org/CN=Emoji \U0001F600 User", "reason": "\U00010348"}]}
    escaped = sl_sources.parse_yaml_list(json.dumps(doc).encode("ascii"), "central")[0]
    plain = sl_sources.parse_yaml_list(json.dumps(doc, ensure_ascii=False).encode("utf-8"), "central")[0]
    assert escaped.key == plain.key and escaped.value == "/DC=org/CN=Emoji \U0001F600 User"
    assert escaped.meta == plain.meta == {"reason": "\U00010348"}
    # a YAML flow mapping that is not JSON is still read as YAML
    flow = sl_sources.parse_yaml_list(b"{version: 1, entries: [{dn: /DC=org/CN=a}]}", "central")
    assert [e.value for e in flow] == ["/DC=org/CN=a"]


# ---- issue 14: which DN parse each input goes through; cache age; canary; audit drops -----------------------------

def _strict_parse_dn(real):
    """A stand-in for the strict user-input parse of contract C1 (an unknown attribute type refused): the real
    parse_dn, refusing the type CM. Only the names bound in _suspension.entries are patched, so parse_stored_dn
    (the lenient read of what a PAP stores) keeps the real parser."""
    def parse(text):
        dn = real(text)
        if any(t.upper() == "CM" for rdn in dn.rdns for t, _v in rdn):
            raise DNError("unknown attribute type 'CM' in DN %r; did you mean CN?" % (text,), text=text)
        return dn
    return parse


@pytest.fixture
def strict_dn(monkeypatch):
    monkeypatch.setattr(sl_entries, "parse_dn", _strict_parse_dn(parse_dn))


def test_user_given_dns_are_parsed_strictly_and_a_refused_entry_names_itself_and_its_source(strict_dn):
    typo = BASE + "/CM=John Doe"
    with pytest.raises(sl_sources.SourceError) as err:
        sl_sources.parse_yaml_list("version: 1\nentries:\n  - dn: %s/CN=ok\n  - dn: %s\n" % (BASE, typo), "ngi")
    assert "source ngi" in str(err.value) and "entries[1]" in str(err.value) and typo in str(err.value)
    assert "unknown attribute type 'CM'" in str(err.value)
    with pytest.raises(sl_sources.SourceError) as err:
        sl_sources.parse_plain_list("# list\n%s/CN=ok\n%s\n" % (BASE, typo), "local")
    assert "source local" in str(err.value) and "line 3" in str(err.value) and typo in str(err.value)
    with pytest.raises(ConfigError) as err:
        sl_merge.AllowList([typo])
    assert "allow_list item %r" % typo in str(err.value)
    with pytest.raises(ConfigError) as err:
        sl_merge.apply_allow_list({}, sl_merge.AllowList(), [typo])
    assert "allow_override item %r" % typo in str(err.value)


class _TreeClient(object):
    server_label = "central:8150"

    def __init__(self, tree):
        self.tree = tree

    def get_tree(self, alias):
        return self.tree


def test_dns_read_back_from_a_pap_are_parsed_leniently(strict_dn):
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import Attribute, Policy, Rule

    stored = "CN=John Doe,CM=typo,DC=example,DC=org"   # junk the central PAP holds: propagated, seen, removable
    literal = 'CN=O\'Neil "Bob",DC=example,DC=org'      # the PAP literal: '"' unescaped
    policy = Policy("public-1", "1", ".*", [Rule("r1", "Deny", [Attribute("subject", stored)]),
                                            Rule("r2", "Deny", [Attribute("subject", literal)])])
    root = PolicySet("root", "1", ".*", [("policyset", "ps")])
    tree = PapPolicyTree("default", root, {"ps": PolicySet("ps", "1", ".*", [("policy", "public-1")])},
                         {"public-1": policy})
    entries, report = sl_sources.read_argus_source(_TreeClient(tree), {"name": "central", "aliases": ["default"]})
    assert sorted(e.pap_literal for e in entries) == sorted([stored, literal]) and not report["not_imported"]
    # the owned policy of an Argus target holding such a rule: the entry is recognised (and lifted when it goes)
    target = argus_target("t", client=None, sync_name="sync")
    current, foreign, stale = target._current(policy, {})  # pylint: disable=protected-access
    assert len(current) == 2 and not foreign and not stale


def test_pap_literal_of_entries_from_the_state_file_is_the_same():
    for value in HOSTILE:
        entry = Entry("dn", value)
        again = Entry.trusted(json.loads(json.dumps(entry.cache_dict())))
        assert again.dn is None and again.pap_literal == entry.pap_literal == parse_dn(value).to_pap_literal()
    assert Entry("fqan", "/dteam/Role=NULL").pap_literal == "/dteam"


def test_argus_rule_of_a_dn_whose_slash_literal_names_another_dn_names_the_same_dn():
    from ansible_collections.gridsec.ops.plugins.module_utils._dn import dn_key

    pap = FakePap()
    wanted = sl_merge.merge([("s", [Entry("dn", "CN=http://h/p?a=b,O=Org,DC=org")])])
    data = argus_target("t", pap, "sync").sync(wanted, check_mode=False)
    assert data["changed"] and data["added_count"] == 1
    [stored] = pap.owned_values()
    assert stored == "CN=http://h/p?a=b,O=Org,DC=org" and dn_key(stored) == list(wanted.values())[0].dn.canonical()
    again = Entry.trusted(json.loads(json.dumps(list(wanted.values())[0].cache_dict())))
    assert again.pap_literal == stored
    pap.operations = []
    assert not argus_target("t", pap, "sync").sync(wanted, check_mode=False)["changed"] and writes(pap) == []


def test_durations_and_ages():
    assert [sl_state.parse_duration(t) for t in ("90", "30m", "24h", "2d", "1w", "1.5h")] == \
        [90, 1800, 86400, 172800, 604800, 5400]
    for bad in ("", "a day", "0", "-1h", "5y"):
        with pytest.raises(ConfigError):
            sl_state.parse_duration(bad)
    assert [sl_state.format_age(s) for s in (5, 125, 3 * 3600 + 120, 2 * 86400 + 3600)] == \
        ["5 s", "2 min", "3 h 2 min", "2 d 1 h"]


def test_source_read_times_file_and_fallback_on_the_state_file(tmp_path):
    state_path = tmp_path / "s.state.json"
    times = sl_state.SourceTimes(str(tmp_path / "s.sources.json"), str(state_path)).load()
    assert times.last_ok("central") is None                      # nothing known at all
    state_path.write_text("{}")
    os.utime(str(state_path), (1700000000, 1700000000))
    assert times.last_ok("central") == datetime.datetime.fromtimestamp(1700000000, UTC)  # older version's state
    moment = parse_time("2026-12-07T03:00:00Z")
    times.mark("central", moment)
    times.save()
    assert oct(os.stat(tmp_path / "s.sources.json").st_mode & 0o777) == "0o600"
    again = sl_state.SourceTimes(str(tmp_path / "s.sources.json"), str(state_path)).load()
    assert again.last_ok("central") == moment
    (tmp_path / "s.sources.json").write_text("not json")
    assert sl_state.SourceTimes(str(tmp_path / "s.sources.json"), str(state_path)).load().last_ok("central") is not None


def test_source_read_time_taken_from_the_state_file_is_recorded_once_and_stops_moving(tmp_path):
    state_path = tmp_path / "s.state.json"
    state_path.write_text("{}")
    os.utime(str(state_path), (1700000000, 1700000000))
    times = sl_state.SourceTimes(str(tmp_path / "s.sources.json"), str(state_path)).load()
    first = times.last_ok("dead")
    assert first == datetime.datetime.fromtimestamp(1700000000, UTC)
    times.save()
    os.utime(str(state_path), (1800000000, 1800000000))            # another source or the list changed the state
    assert times.last_ok("dead") == first
    assert sl_state.SourceTimes(str(tmp_path / "s.sources.json"), str(state_path)).load().last_ok("dead") == first


def test_corrupt_source_read_times_are_dropped_with_a_warning(tmp_path):
    path = tmp_path / "s.sources.json"
    path.write_text(json.dumps({"version": 1, "sources": {
        "good": {"read_ok": "2026-12-07T03:00:00+00:00"}, "bad_time": {"read_ok": "yesterday"},
        "not_dict": "2026-12-07", "no_time": {}, "number": {"read_ok": 5}}}))
    times = sl_state.SourceTimes(str(path), str(tmp_path / "absent.state.json")).load()
    assert sorted(times.times) == ["good"]
    assert times.last_ok("good") == parse_time("2026-12-07T03:00:00Z")
    for name in ("bad_time", "not_dict", "no_time", "number"):
        assert times.last_ok(name) is None                                  # no state file to fall back on
    assert len(times.warnings) == 4 and all("unreadable read time" in w for w in times.warnings)


def test_canary_entries_are_recognised_in_every_form_the_central_pap_may_hold():
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import canary_dn, canary_openssl

    forms = [canary_dn("salt", "20261207"), canary_dn("salt", "20261206").replace(", ", ","),
             canary_openssl("salt", "20261205")]
    merged = sl_merge.merge([("s", [Entry("dn", v, stored=True) for v in forms] +
                              [Entry("dn", BASE + "/CN=Test Subject"), Entry("fqan", "/dteam")])])
    assert sorted(merged[k].value for k in sl_merge.canary_keys(merged)) == sorted(
        parse_dn(v).to_openssl() for v in forms)


def test_newly_dropped_keys():
    keys = [Entry("dn", BASE + "/CN=a").key, Entry("dn", BASE + "/CN=b").key]
    assert sl_merge.newly_dropped(None, keys) == keys
    assert sl_merge.newly_dropped([key_id(keys[0])], keys) == [keys[1]]


def test_argus_policy_in_the_old_escaped_form_is_migrated_by_one_update_then_idempotent():
    pap = FakePap()
    wanted = sl_merge.merge([("s", [Entry("dn", v) for v in HOSTILE] + [Entry("fqan", "/dteam/Role=bad")])])
    argus_target("t", pap, "sync").sync(wanted, check_mode=False)
    assert sorted(pap.owned_values()) == sorted(e.pap_literal for e in wanted.values())
    for policy in pap.policies.values():            # what an earlier version wrote
        for rule in policy.rules:
            if rule.attributes[0].attribute_id_spl == "subject":
                rule.attributes[0].value = [e for e in wanted.values() if e.pap_literal == rule.attributes[0].value][0] \
                    .rfc2253
    pap.operations = []
    data = argus_target("t", pap, "sync").sync(wanted, check_mode=False)
    assert data["changed"] and writes(pap) == ["updatePolicy"] and data["rewritten_count"] == 1
    assert (data["added_count"], data["removed_count"], data["kept_count"]) == (0, 0, len(wanted))
    assert sorted(pap.owned_values()) == sorted(e.pap_literal for e in wanted.values())
    pap.operations = []
    data = argus_target("t", pap, "sync").sync(wanted, check_mode=False)
    assert not data["changed"] and writes(pap) == [] and data["rewritten_count"] == 0
