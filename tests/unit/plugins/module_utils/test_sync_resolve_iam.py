# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""resolve_tokens through IAM (_sync/resolve_iam.py): DN entries expanded to (issuer, account UUID) identities."""
import datetime
import json

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._suspension import entries as sl_entries
from ansible_collections.gridsec.ops.plugins.module_utils._errors import RemoteError, TransportError
from ansible_collections.gridsec.ops.plugins.module_utils._iam.client import INDIGO_USER_SCHEMA
from ansible_collections.gridsec.ops.plugins.module_utils._sync import resolve_iam

from ansible_collections.gridsec.ops.tests.unit.plugins.module_utils.sync_fake import FakeSyncContext

ISS = "https://iam.example.org"
NOW = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=sl_entries.UTC)


def user(uuid, username, formatted, *subjects):
    return {"id": uuid, "userName": username, "active": True, "name": {"formatted": formatted},
            INDIGO_USER_SCHEMA: {"certificates": [{"subjectDn": s} for s in subjects]}}


class FakeIam(object):
    """What the resolver calls of an IamClient: the finder compares strings exactly, as IAM does."""

    def __init__(self, users, fail=None, finder_error=None):
        self.users = users
        self.fail = fail
        self.finder_error = finder_error
        self.issuer = ISS
        self.operations = []
        self.transport = None

    def find_by_cert_subject(self, subject):
        self.operations.append(("find", subject))
        if self.fail:
            raise self.fail
        if self.finder_error and subject in self.finder_error:
            raise RemoteError("boom", server="IAM x", operation="find", details={"status": 500})
        return [u for u in self.users if subject in [c["subjectDn"] for c in u[INDIGO_USER_SCHEMA]["certificates"]]]

    def iter_users(self):
        self.operations.append(("scan",))
        return list(self.users)


@pytest.fixture
def fake(monkeypatch):
    holder = {}

    def build(spec, ctx, scopes):
        return holder["client"]
    monkeypatch.setattr(resolve_iam, "iam_client", build)
    return holder


def spec(**extra):
    out = {"name": "vo", "type": "iam", "iam_url": "https://iam.example.org", "client_id": "c", "client_secret": "resolver-secret-42",
           "dn_scan": True, "on_failure": "fail", "cache_max_age": "24h"}
    out.update(extra)
    return out


def listed(*items):
    merged = {}
    for kind, value, meta in items:
        entry = sl_entries.Entry(kind, value, meta)
        merged[entry.key] = entry
    return merged


def test_dn_expanded_with_metadata_name_and_derived_from(fake):
    fake["client"] = FakeIam([user("u-1", "jdoe", "Jean-Luc McDonald", "CN=Jean-Luc McDonald,DC=example,DC=org")])
    merged = listed((sl_entries.DN, "/DC=org/DC=example/CN=Jean-Luc McDonald", {"reason": "INC-1", "expires": "2027-01-01"}),
                    (sl_entries.FQAN, "/atlas/bad", {}))
    ctx = FakeSyncContext()
    out, derived, reports, audit = resolve_iam.expand([spec()], merged, ctx, NOW)
    assert len(derived) == 1
    key, entry = list(derived.items())[0]
    assert key == (sl_entries.TOKEN, ISS, "u-1") and key in out and len(out) == 3
    assert entry.meta["reason"] == "INC-1" and entry.meta["expires"] == "2027-01-01"
    assert entry.meta["name"] == "Jean-Luc McDonald"
    assert entry.meta["derived_from"] == "/DC=org/DC=example/CN=Jean-Luc McDonald"
    assert entry.to_dict()["derived_from"] == "/DC=org/DC=example/CN=Jean-Luc McDonald"
    assert reports[0]["derived_count"] == 1 and reports[0]["no_account"] == [] and reports[0]["status"] == "ok"
    assert [a[0] for a in audit] == ["derive"]
    # one finder call, no scan: the finder found it
    assert fake["client"].operations == [("find", "CN=Jean-Luc McDonald,DC=example,DC=org")]
    # the mapping is kept for use_cache; a second run with the same mapping audits nothing new
    assert ctx.state["resolve_tokens:vo"]["mapping"]
    _out, _derived, _reports, audit = resolve_iam.expand([spec()], merged, ctx, NOW)
    assert audit == []


def test_other_spelling_found_by_one_scan_and_no_account_reported(fake):
    # stored verbatim in slash form (a subjectDn given without a PEM): the finder misses it, the scan matches
    fake["client"] = FakeIam([user("u-2", "asmith", "Anna Smith", "/DC=org/DC=example/CN=Anna Smith")])
    merged = listed((sl_entries.DN, "CN=Anna Smith, DC=example, DC=org", {}), (sl_entries.DN, "/DC=org/DC=example/CN=Nobody", {}),
                    (sl_entries.DN, "/DC=org/DC=example/CN=Nobody Else", {}))
    out, derived, reports, _audit = resolve_iam.expand([spec()], merged, FakeSyncContext(), NOW)
    assert list(derived) == [(sl_entries.TOKEN, ISS, "u-2")]
    assert sorted(reports[0]["no_account"]) == ["/DC=org/DC=example/CN=Nobody", "/DC=org/DC=example/CN=Nobody Else"]
    # one scan for all the DNs the finder missed, never one per DN
    assert [op for op in fake["client"].operations if op == ("scan",)] == [("scan",)]
    fake["client"].operations[:] = []
    resolve_iam.expand([spec(dn_scan=False)], merged, FakeSyncContext(), NOW)
    assert ("scan",) not in fake["client"].operations


def test_dn_on_two_accounts_bans_both_and_warns(fake):
    dn = "CN=Shared,DC=example,DC=org"
    fake["client"] = FakeIam([user("u-a", "a", "A", dn), user("u-b", "b", "B", dn)], finder_error=[dn])
    merged = listed((sl_entries.DN, "/DC=org/DC=example/CN=Shared", {}))
    ctx = FakeSyncContext()
    _out, derived, reports, _audit = resolve_iam.expand([spec()], merged, ctx, NOW)
    assert sorted(k[2] for k in derived) == ["u-a", "u-b"]
    assert reports[0]["ambiguous"][0]["dn"] == "/DC=org/DC=example/CN=Shared"
    assert any("several IAM accounts" in w for w in ctx.warnings)


def test_listed_token_identity_is_kept_and_canary_skipped(fake):
    fake["client"] = FakeIam([user("u-1", "j", "J", "CN=J,DC=example,DC=org")])
    merged = listed((sl_entries.DN, "/DC=org/DC=example/CN=J", {}), (sl_entries.TOKEN, (ISS + "/", "u-1"), {"reason": "explicit"}))
    out, derived, reports, _audit = resolve_iam.expand([spec()], merged, FakeSyncContext(), NOW)
    assert derived == {} and out[(sl_entries.TOKEN, ISS, "u-1")].meta == {"reason": "explicit"}
    assert reports[0]["already_listed"][0]["subject"] == "u-1"
    dn_key = [k for k in merged if k[0] == sl_entries.DN][0]
    _out, derived, _reports, _audit = resolve_iam.expand([spec()], listed((sl_entries.DN, "/DC=org/DC=example/CN=J", {})),
                                                         FakeSyncContext(), NOW, skip={dn_key})
    assert derived == {}


def test_iam_down_fails_unless_a_fresh_cache_stands_in(fake):
    merged = listed((sl_entries.DN, "/DC=org/DC=example/CN=J", {}))
    fake["client"] = FakeIam([user("u-1", "j", "J", "CN=J,DC=example,DC=org")])
    ctx = FakeSyncContext()
    resolve_iam.expand([spec()], merged, ctx, NOW)
    ctx.memo.clear()  # each later expand is a new run: the state stays, the run's look-ups do not
    fake["client"] = FakeIam([], fail=TransportError("connection refused", server="IAM iam.example.org",
                                                     operation="GET /iam/account/find/bycertsubject"))
    with pytest.raises(resolve_iam.ResolveFailed) as err:
        resolve_iam.expand([spec()], merged, ctx, NOW)
    assert "connection refused" in str(err.value) and "resolve_tokens vo" in str(err.value)
    # use_cache: the last mapping, with a warning and status cached
    later = NOW + datetime.timedelta(hours=2)
    _out, derived, reports, _audit = resolve_iam.expand([spec(on_failure="use_cache")], merged, ctx, later)
    assert list(derived) == [(sl_entries.TOKEN, ISS, "u-1")] and reports[0]["status"] == "cached"
    assert any("using the DN -> token mapping" in w for w in ctx.warnings)
    # too old: fails
    with pytest.raises(resolve_iam.ResolveFailed) as err:
        resolve_iam.expand([spec(on_failure="use_cache")], merged, ctx, NOW + datetime.timedelta(days=2))
    assert "older than cache_max_age" in str(err.value)
    # no cache at all: fails
    with pytest.raises(resolve_iam.ResolveFailed):
        resolve_iam.expand([spec(on_failure="use_cache")], merged, FakeSyncContext(), NOW)


def test_one_run_looks_each_dn_up_once_per_iam():
    """resolve_tokens looks the DNs up; the iam target of the same run (same IAM) reuses that instead of asking
    again, except what the first look-up did not settle (a DN it neither found nor scanned for)."""
    known = sl_entries.Entry(sl_entries.DN, "/DC=org/DC=example/CN=J")
    unknown = sl_entries.Entry(sl_entries.DN, "/DC=org/DC=example/CN=Nobody")
    users = [user("u-1", "j", "J", "CN=J,DC=example,DC=org")]
    memo = {}
    first = FakeIam(users)
    found = resolve_iam.accounts_by_dn(first, [known, unknown], scan=False, memo=memo)
    assert [u["id"] for u in found[known.key]] == ["u-1"] and unknown.key not in found
    assert [op[0] for op in first.operations] == ["find", "find"]
    again = FakeIam(users)
    found = resolve_iam.accounts_by_dn(again, [known, unknown], scan=False, memo=memo, fill=False)
    assert [u["id"] for u in found[known.key]] == ["u-1"] and again.operations == []
    # the target scans where the resolver did not: only that is asked
    found = resolve_iam.accounts_by_dn(again, [known, unknown], scan=True, memo=memo, fill=False)
    assert again.operations == [("find", unknown.rfc2253), ("scan",)] and unknown.key not in found
    # another IAM is another look-up
    other = FakeIam(users)
    other.base_url = "https://other-iam.example"
    resolve_iam.accounts_by_dn(other, [known], scan=False, memo=memo, fill=False)
    assert other.operations == [("find", known.rfc2253)]


def test_an_unchanged_mapping_leaves_the_state_alone_until_a_quarter_of_cache_max_age(fake):
    """A second run with the same DN -> token mapping must not rewrite the sync's state file (the time of the last
    resolution is refreshed only when the mapping changes or after a quarter of cache_max_age, 6 h by default)."""
    merged = listed((sl_entries.DN, "/DC=org/DC=example/CN=J", {}))
    ctx = FakeSyncContext()
    holder = fake["client"] = FakeIam([user("u-1", "j", "J", "CN=J,DC=example,DC=org")])
    resolve_iam.expand([spec()], merged, ctx, NOW)
    first = json.dumps(ctx.state, sort_keys=True)
    for hours, same in ((1, True), (5, True), (7, False)):
        ctx.memo.clear()
        resolve_iam.expand([spec()], merged, ctx, NOW + datetime.timedelta(hours=hours))
        assert (json.dumps(ctx.state, sort_keys=True) == first) is same, hours
    # a changed mapping is recorded at once
    stamp = json.dumps(ctx.state, sort_keys=True)
    holder.users.append(user("u-2", "j2", "J", "CN=J,DC=example,DC=org"))
    ctx.memo.clear()
    resolve_iam.expand([spec()], merged, ctx, NOW + datetime.timedelta(hours=8))
    assert json.dumps(ctx.state, sort_keys=True) != stamp and "u-2" in json.dumps(ctx.state)


def test_spec_problems():
    assert resolve_iam.spec_problems([spec()]) == []
    problems = resolve_iam.spec_problems([spec(iam_url="iam.example.org", client_secret=None), spec()])
    text = "; ".join(problems)
    assert "https://iam.example.org" in text and "client_secret" in text and "used twice" in text


# -- through the module: the derived entries reach the targets, the allow-list applies, IAM down touches nothing ----
class TokenRecorder(object):
    """A target type that records the entries it is given (DN and token kinds)."""

    TYPE = "tokenrec"
    KINDS = frozenset([sl_entries.DN, sl_entries.TOKEN])
    CANARY_DEFAULT = "skip"
    OPTIONS = {}
    LIBRARIES = ()
    seen = []

    @classmethod
    def spec_problems(cls, spec):
        return []

    def __init__(self, spec, ctx):
        from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import TargetResult
        self.result = TargetResult(spec["name"], self.TYPE)

    def sync(self, wanted, check_mode):
        self.seen.append(dict((e.value, dict(e.meta)) for e in wanted.values()))
        data = self.result.data
        data["added"] = [e.to_dict() for e in wanted.values()]
        return data

    def audit_records(self, data, check_mode):
        return []

    def close(self):
        pass


def run_module(capsys, tmp_path, monkeypatch, listing, **extra):
    import json
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.gridsec.ops.plugins.module_utils._sync import registry
    from ansible_collections.gridsec.ops.plugins.modules import suspension_list_sync

    TokenRecorder.seen = []
    monkeypatch.setitem(registry.TARGET_TYPES, TokenRecorder.TYPE, TokenRecorder)
    source = tmp_path / "list.txt"
    source.write_text(listing)
    args = {"name": "rt", "sources": [{"name": "s", "type": "plain", "path": str(source)}],
            "targets": [{"name": "t", "type": "tokenrec"}], "state_dir": str(tmp_path / "state"),
            "resolve_tokens": [spec()]}
    args.update(extra)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            suspension_list_sync.main()
    return json.loads(capsys.readouterr().out)


def test_module_bans_dn_and_derived_token_and_audits_it(fake, monkeypatch, capsys, tmp_path):
    fake["client"] = FakeIam([user("u-1", "jdoe", "Jean-Luc McDonald", "CN=Jean-Luc McDonald,DC=example,DC=org")])
    result = run_module(capsys, tmp_path, monkeypatch, "/DC=org/DC=example/CN=Jean-Luc McDonald\n")
    assert not result.get("failed"), result
    (given,) = TokenRecorder.seen
    token = "%s u-1" % ISS
    assert sorted(given) == sorted(["/DC=org/DC=example/CN=Jean-Luc McDonald", token])
    assert given[token]["derived_from"] == "/DC=org/DC=example/CN=Jean-Luc McDonald"
    assert given[token]["name"] == "Jean-Luc McDonald"
    assert result["resolve_tokens"][0]["derived"][0]["subject"] == "u-1" and result["merged_count"] == 2
    audit = (tmp_path / "state" / "rt.audit.jsonl").read_text()
    assert "\"action\": \"derive\"" in audit and "resolve_tokens:vo" in audit
    assert "resolver-secret-42" not in json.dumps(result) + audit


def test_module_allow_list_protects_a_derived_token(fake, monkeypatch, capsys, tmp_path):
    fake["client"] = FakeIam([user("u-1", "jdoe", "J", "CN=J,DC=example,DC=org")])
    result = run_module(capsys, tmp_path, monkeypatch, "/DC=org/DC=example/CN=J\n",
                        allow_list=["token %s u-1" % ISS])
    assert not result.get("failed"), result
    assert list(TokenRecorder.seen[0]) == ["/DC=org/DC=example/CN=J"]
    assert result["protected"][0]["subject"] == "u-1"


def test_module_iam_down_touches_no_target(fake, monkeypatch, capsys, tmp_path):
    fake["client"] = FakeIam([], fail=TransportError("connection refused", server="IAM iam.example.org",
                                                     operation="GET /iam/account/find/bycertsubject"))
    result = run_module(capsys, tmp_path, monkeypatch, "/DC=org/DC=example/CN=J\n")
    assert result["failed"] and "connection refused" in result["msg"] and "no target was touched" in result["msg"]
    assert TokenRecorder.seen == [] and result["guard"]
