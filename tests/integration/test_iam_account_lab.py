# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""iam_account and iam_account_info with ansible-playbook against the lab IAM (gridsec_lab.iam, the ``iam`` fixture).

Every assertion on state reads the lab IAM back (its white-box state, its request log, or a real refresh-token
grant over HTTPS), never only the module's own report. The id-less delete-all call is checked in the lab's request
log after every test that writes.
"""
import json
import random
import string
import urllib.error
import urllib.parse
import urllib.request

import pytest

import _hardening
from _hardening import run_tasks
from gridsec_lab import faults

_hardening.GROUP.setdefault("iam", "group/gridsec.ops.iam")
pytestmark = pytest.mark.slow


def conn(iam, **extra):
    out = {"iam_url": iam.url, "client_id": iam.admin.client_id, "client_secret": iam.admin.secret,
           "ca_path": iam.ca_file, "timeout": 10, "retries": 0}
    out.update(extra)
    return out


def refresh(iam, refresh_token):
    """A real refresh grant by the token user's client: (status, JSON reply)."""
    cli = iam.clients["user"]
    fields = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": cli.client_id,
              "client_secret": cli.secret}
    req = urllib.request.Request(iam.url + "/token", data=urllib.parse.urlencode(fields).encode())
    try:
        with urllib.request.urlopen(req, context=iam.ssl_context(), timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def live_tokens(iam, username):
    now = iam.state.now()
    return [t for kind in ("access", "refresh") for t in iam.tokens(username, kind)
            if t.expiration is None or t.expiration > now]


def labels_of(iam, username):
    return [(lb.get("prefix"), lb.get("name"), lb.get("value")) for lb in _labels(iam.account(username))]


def _labels(account):
    out = []
    for label in account.labels:
        out.append(label if isinstance(label, dict) else {"prefix": getattr(label, "prefix", None),
                                                          "name": getattr(label, "name", None),
                                                          "value": getattr(label, "value", None)})
    return out


def _strip(ops):
    return [dict(op, existed=None) for op in ops]


def test_suspend_check_real_idempotent_restore(iam, tmp_path):
    user = iam.users["ttoken"]
    grants = [iam.token_for("ttoken") for _ in range(3)]
    assert len(live_tokens(iam, "ttoken")) == 6
    other = iam.token_for("jmcdonald")
    args = {"issuer": iam.discovery_issuer, "subject": user.id, "incident_id": "INC-IAM-1"}

    predicted = run_tasks(tmp_path, [("iam_account", args)], conn(iam), "iam", check=True,
                          extra_args=["--diff"]).results["localhost"][0]
    assert predicted["changed"] is True, predicted
    assert iam.account("ttoken").active is True and len(live_tokens(iam, "ttoken")) == 6  # nothing written
    assert not [e for e in iam.requests() if e["method"] in ("PUT", "PATCH", "DELETE")]

    proc = run_tasks(tmp_path, [("iam_account", args), ("iam_account", args)], conn(iam), "iam",
                     extra_args=["--diff"])
    real, again = proc.results["localhost"]
    assert real["changed"] is True and not real.get("failed"), real
    assert _strip(real["operations"]) == _strip(predicted["operations"])
    assert real["diff"] == predicted["diff"] and real["live_tokens"] == predicted["live_tokens"]
    assert real["revoked"]["access"] == 3 and real["revoked"]["refresh"] == 3
    assert real["revoked"]["valid_offline_until"] is not None
    assert real["live_tokens"]["access"] == 0 and real["live_tokens"]["refresh"] == 0
    # the lab's state: inactive, labelled, zero tokens; the other user untouched
    assert iam.account("ttoken").active is False
    assert (None, "gridsec.suspended", "INC-IAM-1") in labels_of(iam, "ttoken")
    assert live_tokens(iam, "ttoken") == []
    assert iam.tokens("jmcdonald", "refresh") and other["access_token"]
    status, reply = refresh(iam, grants[0]["refresh_token"])
    assert status in (400, 401) and reply.get("error"), (status, reply)
    # second run: nothing changes
    assert again["changed"] is False and again["operations"] == [], again
    assert iam.delete_all_calls() == []

    # restore: check mode predicts, then the real run reverses the suspension and the label
    restore = dict(args, state="active")
    predicted = run_tasks(tmp_path, [("iam_account", restore)], conn(iam), "iam", check=True,
                          extra_args=["--diff"]).results["localhost"][0]
    assert iam.account("ttoken").active is False
    proc = run_tasks(tmp_path, [("iam_account", restore), ("iam_account", restore)], conn(iam), "iam",
                     extra_args=["--diff"])
    real, again = proc.results["localhost"]
    assert [op["op"] for op in real["operations"]] == ["restore", "delete_label"] == \
        [op["op"] for op in predicted["operations"]]
    assert real["diff"] == predicted["diff"]
    assert iam.account("ttoken").active is True and labels_of(iam, "ttoken") == []
    assert again["changed"] is False
    fresh = iam.token_for("ttoken")  # the user can log in again
    assert fresh["access_token"]
    assert iam.delete_all_calls() == []


def test_selection_no_revocation_dn_and_info(iam, tmp_path):
    """One playbook: selectors that must fail before any write (a DN on two accounts, no account, SCIM 404, someone
    else's suspension, metacharacters taken literally), then a suspension without revocation (the refresh grant is
    refused as IAM refuses an inactive user's, the live-token window is reported), a suspension by another spelling
    of a DN, and iam_account_info by label, DN spelling and linked OIDC identity."""
    dn = iam.users["jmcdonald"].certificate_dns_slash[0]
    assert iam.add_user("jmcdonald2", "Jean-Luc", "McDonald", certificate_dns=[dn]).certificate_dns
    grant = iam.token_for("jmcdonald")
    user = iam.users["asmith"]
    spaced = ", ".join(user.certificate_dns[1].split(","))  # same DN, another spelling: not what the finder compares
    tasks = [
        ("iam_account", {"dn": dn, "incident_id": "I"}),                               # a DN on two accounts
        ("iam_account", {"dn": "/DC=test/CN=Nobody", "incident_id": "I"}),             # no account
        ("iam_account", {"uuid": "00000000-0000-0000-0000-000000000000", "incident_id": "I"}),  # SCIM 404
        ("iam_account", {"username": "bwayne", "state": "active"}),                    # disabled by someone else
        ("iam_account", {"issuer": "https://evil.example/.*", "subject": ".*", "incident_id": "I"}),
        ("iam_account", {"username": "jmcdonald", "incident_id": "INC-2", "revoke_tokens": False}),
        ("iam_account", {"dn": user.certificate_dns_slash[1], "incident_id": "INC-3"}),
        ("iam_account_info", {"label_value": "INC-3"}),
        ("iam_account_info", {"dn": spaced}),
        ("iam_account_info", {"issuer": "https://accounts.google.com/", "subject": "105440632287425289613"}),
    ]
    results = run_tasks(tmp_path, tasks, conn(iam), "iam").results["localhost"]
    assert all(r["failed"] for r in results[:5]), results[:5]
    assert "matches 2 accounts" in results[0]["msg"]
    assert "no account matches" in results[1]["msg"] and "no account matches" in results[2]["msg"]
    assert "someone else" in results[3]["msg"]
    assert "no account matches" in results[4]["msg"]
    assert iam.account("bwayne").active is False and iam.account("jmcdonald2").active is True
    writes = [e for e in iam.requests() if e["method"] in ("PUT", "PATCH", "DELETE")]
    uuids = {iam.users["jmcdonald"].id, user.id}
    assert writes and all(any(u in e["path"] for u in uuids) for e in writes), writes

    nolive = results[5]
    assert nolive["changed"] is True, nolive
    assert nolive["live_tokens"]["access"] == 1 and nolive["live_tokens"]["refresh"] == 1
    assert nolive["live_tokens"]["latest_exp"] is not None
    assert iam.account("jmcdonald").active is False and len(live_tokens(iam, "jmcdonald")) == 2
    status, reply = refresh(iam, grant["refresh_token"])
    assert (status, reply.get("error"), reply.get("error_description")) == \
        (401, "unauthorized", "User jmcdonald is not active.")

    assert results[6]["changed"] is True and results[6]["account"]["uuid"] == user.id, results[6]
    for info in results[7:]:
        assert [a["uuid"] for a in info["accounts"]] == [user.id], info
    account = results[7]["accounts"][0]
    assert account["active"] is False and account["suspended_by_gridsec"] == "INC-3"
    assert account["tokens"] == {"access": 0, "refresh": 0}
    assert iam.account("asmith").active is False
    assert iam.delete_all_calls() == []


def test_iam_errors_401_403_500_and_timeout(iam, iam_pki, tmp_path):
    openid = iam.clients["openid"]
    req = urllib.request.Request(iam.url + "/token", data=urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": openid.client_id, "client_secret": openid.secret}).encode())
    with urllib.request.urlopen(req, context=iam.ssl_context(), timeout=10) as resp:
        weak = json.loads(resp.read())["access_token"]  # a token without the admin scopes
    tasks = [("iam_account", {"username": "ttoken", "incident_id": "I", "client_secret": "wrong-secret"}),
             ("iam_account", {"username": "ttoken", "incident_id": "I", "client_id": openid.client_id,
                              "client_secret": openid.secret}),
             ("iam_account_info", {"username": "ttoken", "bearer_token": weak})]
    results = run_tasks(tmp_path, tasks, conn(iam), "iam").results["localhost"]
    assert results[0]["failed"] and "401" in results[0]["msg"] and "POST /token" in results[0]["msg"]
    assert results[1]["failed"] and "/token" in results[1]["msg"] and "invalid_scope" in results[1]["msg"], results[1]
    assert results[2]["failed"] and "403" in results[2]["msg"] and "access_denied" in results[2]["msg"], results[2]
    port = int(iam.url.rsplit(":", 1)[1])
    proxy = faults.FaultProxy("127.0.0.1", port, server_cred=iam_pki.host("iam-fault-proxy"),
                              upstream_ca=iam.ca_file).start()
    try:
        def patch(op, path, body):
            return b'"operations"' in (body or b"")
        proxy.set("http", rules=[(patch, {"respond": (500, "application/json", b'{"error":"injected"}'), "times": 1}),
                                 (patch, {"hang": True})])
        tasks = [("iam_account", {"username": "ttoken", "incident_id": "I"}),
                 ("iam_account", {"username": "ttoken", "incident_id": "I", "timeout": 2})]
        failed, hung = run_tasks(tmp_path, tasks, conn(iam, iam_url="https://localhost:%d" % proxy.port),
                                 "iam").results["localhost"]
    finally:
        proxy.stop()
    assert failed["failed"] and "HTTP 500: injected" in failed["msg"] and "PATCH /scim/Users/" in failed["msg"]
    assert [op["op"] for op in failed["operations"]] == ["set_label"] and failed["changed"] is True
    assert hung["failed"] and "may have been applied" in hung["msg"], hung
    assert iam.account("ttoken").active is True  # neither PATCH reached IAM


def test_secrets_never_shown(iam, tmp_path):
    """-vvv, --diff, results: the client secret and bearer tokens never appear (a success, a wrong secret, and a
    bearer token refused by IAM)."""
    secret = iam.admin.secret
    bogus = "bearer-" + "".join(random.choice(string.ascii_letters) for _ in range(24))
    wrong = "wrong-" + "".join(random.choice(string.ascii_letters) for _ in range(24))
    tasks = [("iam_account", {"username": "ttoken", "incident_id": "SECRETS"}),
             ("iam_account", {"username": "ttoken", "incident_id": "SECRETS", "client_secret": wrong}),
             ("iam_account_info", {"username": "ttoken", "bearer_token": bogus})]
    iam.token_for("ttoken")
    proc = run_tasks(tmp_path, tasks, conn(iam), "iam", verbose=3, extra_args=["--diff"])
    ok, bad, refused = proc.results["localhost"]
    assert ok["changed"] is True and bad["failed"] and refused["failed"]
    assert any(e["path"] == "/token" for e in iam.requests())  # the secret was really used
    text = json.dumps(proc.results)
    # the admin tokens the lab issued to the modules (client_credentials of the admin client) during this run
    admin_tokens = [t.value for t in iam.tokens(None, "access") if t.client_id == iam.admin.client_id]
    assert admin_tokens
    for value in [secret, wrong, bogus] + admin_tokens:
        for where, blob in (("stdout", proc.stdout), ("stderr", proc.stderr), ("the results", text)):
            assert value not in blob, "secret appears in %s" % where
