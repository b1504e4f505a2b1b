# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The ``iam`` sync target (_sync/iam.py) against the lab IAM, built directly (FakeSyncContext): check mode, first
write, no-op, lifting only what it owns, foreign suspensions and the other rails. Every state assertion reads the
lab IAM back (its white-box accounts, labels and tokens, its request log)."""
import copy

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._suspension import entries as sl_entries
from ansible_collections.gridsec.ops.plugins.module_utils._errors import GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._sync.iam import IamTarget

from ansible_collections.gridsec.ops.tests.unit.plugins.module_utils.sync_fake import FakeSyncContext

pytestmark = pytest.mark.slow
LAB_DN = "/DC=test/DC=gridsec-lab/OU=Users/CN=%s"
WRITES = ("PUT", "PATCH", "DELETE")


class LabContext(FakeSyncContext):
    def __init__(self, iam, **kwargs):
        super(LabContext, self).__init__(**kwargs)
        self.iam = iam

    def tls_options(self, spec):
        return {"ca_path": self.iam.ca_file, "timeout": 10, "retries": 0}

    def target_state(self, name):
        # as SyncContext: in check mode the target gets a copy, nothing reaches the state file
        data = super(LabContext, self).target_state(name)
        return copy.deepcopy(data) if self.check_mode else data


def spec(iam, **extra):
    out = {"name": "vo-iam", "type": "iam", "iam_url": iam.url, "client_id": iam.admin.client_id,
           "client_secret": iam.admin.secret, "iam_label_name": "gridsec.suspended", "iam_revoke_tokens": True,
           "iam_dn_scan": True}
    out.update(extra)
    return out


def entries(*items):
    out = {}
    for kind, value in items:
        entry = sl_entries.Entry(kind, value)
        out[entry.key] = entry
    return out


def run(iam, state, wanted, check=False, **extra):
    ctx = LabContext(iam, sync_name="central", check_mode=check, state=state)
    target = IamTarget(spec(iam, **extra), ctx)
    try:
        return target.sync(wanted, check), ctx
    finally:
        target.close()


def live(iam, username):
    now = iam.state.now()
    return [t for kind in ("access", "refresh") for t in iam.tokens(username, kind)
            if t.expiration is None or t.expiration > now]


def labels(iam, username):
    out = []
    for lb in iam.account(username).labels:
        lb = lb if isinstance(lb, dict) else vars(lb)
        out.append((lb.get("prefix"), lb.get("name"), lb.get("value")))
    return out


def writes(iam):
    return [e for e in iam.requests() if e["method"] in WRITES]


def the_list(iam):
    return entries((sl_entries.DN, LAB_DN % "Jean-Luc McDonald"),                            # DN -> finder
                   (sl_entries.TOKEN, (iam.discovery_issuer, iam.users["ttoken"].id)),     # this IAM, with the "/"
                   (sl_entries.TOKEN, ("https://other-iam.example.org", iam.users["asmith"].id)),  # another issuer
                   (sl_entries.DN, LAB_DN % "Nobody Here"),                                  # no account
                   (sl_entries.DN, LAB_DN % "Bruce Wayne"))                                  # disabled by someone else


def test_check_first_write_noop_and_lift_only_ours(iam):
    for user in ("jmcdonald", "ttoken", "jmcdonald"):
        iam.token_for(user)
    bwayne_labels = labels(iam, "bwayne")
    state = {}
    predicted, _ctx = run(iam, state, the_list(iam), check=True)
    assert predicted["changed"] and writes(iam) == [] and state.get("vo-iam", {}).get("owned", {}) == {}
    assert iam.account("jmcdonald").active and len(live(iam, "jmcdonald")) == 4
    assert sorted(r["account"] for r in predicted["added"]) == ["jmcdonald", "ttoken"]

    done, _ctx = run(iam, state, the_list(iam))
    assert done["changed"] and done["operations"] == predicted["operations"]
    assert len([op for op in done["operations"] if "-tokens/" in op]) == 6  # 4 + 2 tokens, each by id
    for user in ("jmcdonald", "ttoken"):
        assert iam.account(user).active is False
        assert (None, "gridsec.suspended", "sync:central") in labels(iam, user)
        assert live(iam, user) == []
    # disabled by someone else: not labelled, still disabled; other issuer and unknown DN reported, not errors
    assert iam.account("bwayne").active is False and labels(iam, "bwayne") == bwayne_labels
    assert done["other_issuer"] == ["https://other-iam.example.org %s" % iam.users["asmith"].id]
    assert done["no_account"] == [LAB_DN % "Nobody Here"] and done["added_count"] == 2
    assert iam.account("asmith").active is True
    assert iam.delete_all_calls() == []
    assert done["writes"] == len(writes(iam)) and "secret" not in repr(done).lower()

    iam.clear_requests()
    again, _ctx = run(iam, state, the_list(iam))
    assert again["changed"] is False and again["operations"] == [] and writes(iam) == []
    assert again["writes"] == 0 and again["kept_count"] == 2

    # ttoken and bwayne leave the list: ttoken is lifted (ours), bwayne stays disabled (someone else's)
    shorter = dict((k, e) for k, e in the_list(iam).items()
                   if iam.users["ttoken"].id not in e.value and "Bruce" not in e.value)
    predicted, _ctx = run(iam, state, shorter, check=True)
    assert [r["account"] for r in predicted["removed"]] == ["ttoken"] and iam.account("ttoken").active is False
    lifted, _ctx = run(iam, state, shorter)
    assert lifted["operations"] == predicted["operations"] and lifted["removed_count"] == 1
    assert iam.account("ttoken").active is True and labels(iam, "ttoken") == []
    assert iam.account("bwayne").active is False and iam.account("jmcdonald").active is False
    assert iam.token_for("ttoken")["access_token"]  # can log in again


def test_label_removed_by_an_admin_is_released_not_reenabled(iam):
    state = {}
    wanted = entries((sl_entries.TOKEN, (iam.issuer, iam.users["ttoken"].id)))
    run(iam, state, wanted)
    assert iam.account("ttoken").active is False
    iam.account("ttoken").labels[:] = []  # an administrator took the suspension over
    result, _ctx = run(iam, state, {})
    assert result["changed"] is False and iam.account("ttoken").active is False
    assert result["released_without_write"][0]["account"] == "ttoken"
    assert state["vo-iam"]["owned"] == {}


def test_suspended_by_iam_account_for_an_incident_is_never_lifted(iam):
    """An account labelled by iam_account (gridsec.suspended=<incident>) is someone else's for the sync."""
    state = {}
    user = iam.users["ttoken"]
    client_ctx = LabContext(iam, sync_name="central")
    target = IamTarget(spec(iam), client_ctx)
    target.client.set_label(user.id, "gridsec.suspended", "INC-7")
    target.client.set_active(user.id, False)
    target.close()
    wanted = entries((sl_entries.TOKEN, (iam.issuer, user.id)))
    first, _ctx = run(iam, state, wanted)
    assert first["added"] == [] and (None, "gridsec.suspended", "INC-7") in labels(iam, "ttoken")
    result, _ctx = run(iam, state, {})
    assert iam.account("ttoken").active is False and result["removed"] == []
    assert (None, "gridsec.suspended", "INC-7") in labels(iam, "ttoken")


def test_refused_credential_names_server_and_operation(iam):
    with pytest.raises(GridsecError) as err:
        run(iam, {}, entries((sl_entries.TOKEN, (iam.issuer, iam.users["ttoken"].id))), client_secret="wrong-secret")
    text = str(err.value)
    assert "IAM localhost" in text and "token" in text and "wrong-secret" not in text
    assert iam.account("ttoken").active is True


def test_failure_half_way_names_server_operation_and_what_was_done(iam):
    """The second account's PATCH fails: the error says which server and call, and what was done before; the
    state keeps the first account as owned, so the next run continues and later lifts it."""
    state = {}
    wanted = entries((sl_entries.TOKEN, (iam.issuer, iam.users["ttoken"].id)),
                     (sl_entries.DN, LAB_DN % "Jean-Luc McDonald"))
    ctx = LabContext(iam, sync_name="central", state=state)
    target = IamTarget(spec(iam), ctx)
    real = target.client.set_active
    calls = []

    def flaky(uuid, active):
        calls.append(uuid)
        if len(calls) == 2:
            from ansible_collections.gridsec.ops.plugins.module_utils._errors import RemoteError
            raise RemoteError("HTTP 500: boom", server=target.client.server_label, operation="PATCH /scim/Users/%s" % uuid)
        return real(uuid, active)
    target.client.set_active = flaky
    with pytest.raises(GridsecError) as err:
        target.sync(wanted, False)
    target.close()
    text = str(err.value)
    assert "IAM localhost" in text and "PATCH /scim/Users/" in text and "already done before the failure" in text
    first, second = calls
    assert "pending" not in state["vo-iam"]["owned"][first]
    # the second account was labelled before its PATCH failed: ours, to be finished by the next run
    assert state["vo-iam"]["owned"][second]["pending"] is True
    done = [u for u in ("jmcdonald", "ttoken") if iam.users[u].id == first][0]
    assert iam.account(done).active is False
    # the next run suspends the other one; removing both lifts both
    result, _ctx = run(iam, state, wanted)
    assert result["added_count"] == 1 and not iam.account("jmcdonald").active and not iam.account("ttoken").active
    result, _ctx = run(iam, state, {})
    assert result["removed_count"] == 2 and iam.account("jmcdonald").active and iam.account("ttoken").active


def test_status_reads_what_iam_enforces(iam):
    state = {}
    token = sl_entries.Entry(sl_entries.TOKEN, (iam.issuer, iam.users["ttoken"].id))
    run(iam, state, {token.key: token})
    ctx = LabContext(iam, sync_name="central", state=state)
    target = IamTarget(spec(iam), ctx)
    try:
        status = target.status([token])
        assert status["entries"] == 1 and status["canary_present"] is True and status["problems"] == []
        assert target.status([])["canary_present"] is None
        target.client.set_active(iam.users["ttoken"].id, True)  # someone re-enabled it, our label stays
        status = target.status([token])
        assert status["entries"] == 0 and status["canary_present"] is False
        assert "active" in status["problems"][0] and "ttoken" in status["problems"][0]
    finally:
        target.close()


def test_revocation_failing_after_the_suspension_is_finished_by_the_next_run(iam):
    iam.token_for("ttoken")
    state = {}
    wanted = entries((sl_entries.TOKEN, (iam.issuer, iam.users["ttoken"].id)))
    ctx = LabContext(iam, sync_name="central", state=state)
    target = IamTarget(spec(iam), ctx)

    def broken(kind, token_id):
        from ansible_collections.gridsec.ops.plugins.module_utils._errors import RemoteError
        raise RemoteError("HTTP 503", server=target.client.server_label, operation="DELETE /iam/api/%s-tokens/%s"
                          % (kind, token_id))
    target.client.delete_token = broken
    with pytest.raises(GridsecError) as err:
        target.sync(wanted, False)
    target.close()
    assert "-tokens/" in str(err.value) and "already done before the failure" in str(err.value)
    assert iam.account("ttoken").active is False and len(live(iam, "ttoken")) == 2
    assert state["vo-iam"]["owned"][iam.users["ttoken"].id]["pending"] is True
    result, _ctx = run(iam, state, wanted)
    assert result["changed"] and live(iam, "ttoken") == [] and result["added"] == []
    assert "pending" not in state["vo-iam"]["owned"][iam.users["ttoken"].id]
    again, _ctx = run(iam, state, wanted)
    assert again["changed"] is False and again["writes"] == 0
    lifted, _ctx = run(iam, state, {})
    assert lifted["removed_count"] == 1 and iam.account("ttoken").active is True
