# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""PanDA token users against the lab PanDA and a real panda-server 1.0.4 (``panda_endpoint``: both).

Both servers accept bearer tokens from the session's lab IAM (``gridsec_lab.pytest_panda``:
``panda_token_config``). A token user is named the way PanDA 1.0.4 names it (``panda_request.decode_token``:
the ``name`` claim with each word's tail lower-cased, or the bare ``sub``); it is banned under that name with
``gridsec.ops.panda_user_ban`` (``user`` option) and must then be refused by the server with PanDA's own
answer; unbanned, it is accepted again. Refusals of malformed requests (``aud`` list, no ``Origin``, ...)
carry the real server's text (docs/lab-panda.md, "Token users"), which the lab reproduces.
"""
import random
import string

import psycopg
import pytest
from psycopg import sql

from test_panda_modules import conn, dbconn, run_playbook  # noqa: E402 (same directory)

TRACEBACK = " Traceback (most recent call last):\n"


def letters(n=6):
    return "".join(random.choice(string.ascii_lowercase) for _ in range(n))


def db_status(ep, name):
    with psycopg.connect(ep.db.dsn()) as db:
        return [row[0] for row in db.execute(sql.SQL("SELECT status FROM {}.users WHERE name = %s ORDER BY id")
                                             .format(sql.Identifier(ep.db.meta_schema)), (name,))]


def accepted(ep, token):
    reply = ep.token_call(token, "GET", "metaconfig/get_banned_users")
    assert reply.status_code == 200, reply.text
    assert reply.json()["success"] is True, reply.text   # "secure": the token gave the request a DN
    return reply.json()["data"]


def submit_ok(ep, token):
    reply = ep.token_submit(token)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["success"] is True and body["data"], body
    return int(body["data"][0][0])


def refused_as_banned(ep, token, name):
    reply = ep.token_call(token, "GET", "system/is_alive")
    assert reply.status_code == 403, reply.text
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert reply.text == "ERROR : %s is banned" % name


@pytest.fixture
def named_user(iam_lab):
    """A lab IAM account whose token name differs from its certificate name for PanDA, and its ID token
    (password grant at the lab IAM's token endpoint: what panda-client sends, ``aud`` = the client id)."""
    tag = letters()
    user = iam_lab.add_user("amc" + tag, "Anne-Marie", "Mc" + tag.capitalize(), groups=["atlas"])
    token = iam_lab.token_for(user.username)["id_token"]
    key = "Anne-marie Mc" + tag          # token rule: "Anne-marie", "Mc<tag>" lower-cased after the first letter
    x509_key = "Anne-Marie Mc" + tag.capitalize()   # clean_user_id of the same person's certificate CN
    return user, token, key, x509_key


def test_named_token_user_submits_and_reads(panda_endpoint, named_user):
    ep = panda_endpoint
    user, token, key, _x509 = named_user
    panda_id = submit_ok(ep, token)
    reply = ep.token_call(token, "GET", "job/get_description_incl_archive", params={"job_ids": [panda_id]})
    assert reply.status_code == 200, reply.text
    job = reply.json()["data"][0]
    assert job["prodUserName"] == key
    assert job["prodUserID"] == "%s/CN=nickname:%s" % (key, user.username)
    assert db_status(ep, key) == [None]                   # the first submission created the user's row


def test_token_user_ban_cycle(panda_endpoint, panda_token, named_user, iam_lab, tmp_path):
    """Named ID token (key: capitalised name), unnamed access token (key: sub), and a ban under the
    certificate spelling of the name, which does not stop the token user."""
    ep = panda_endpoint
    user, named, key, x509_key = named_user
    unnamed = iam_lab.token_for(user.username, scope="openid wlcg.groups")["access_token"]  # no profile: no name
    sub = user.id
    minted = panda_token.mint("sub-%s" % letters(10), name=None, issuer=panda_token.issuer)  # iss without "/"
    for token in (named, unnamed, minted):
        submit_ok(ep, token)                              # rows exist for every key
    base = {"conn": conn(ep), "dbconn": dbconn(ep)}
    keys = [key, sub]

    # 1. the X.509 spelling alone: the token user is still accepted
    run_playbook("panda_token_ban.yml", dict(base, names=[x509_key], ban_state="banned", create_missing=True,
                                             allow_similar_names=True), tmp_path)
    try:
        ep.refresh_ban_cache()
        assert accepted(ep, named)[x509_key] is False     # listed as banned, and yet the token user passes
        submit_ok(ep, named)

        # 2. the names PanDA derives from the tokens: refused with PanDA's answer
        run_playbook("panda_token_ban.yml", dict(base, names=keys, ban_state="banned"), tmp_path)
        assert db_status(ep, key) == ["disabled"] and db_status(ep, sub) == ["disabled"]
        ep.refresh_ban_cache()
        refused_as_banned(ep, named, key)
        refused_as_banned(ep, unnamed, sub)
        refused_as_banned(ep, panda_token.mint(sub, name=None), sub)   # any token with that sub and no name
        assert ep.token_submit(named).status_code == 403
        accepted(ep, minted)                              # another subject is untouched
    finally:
        run_playbook("panda_token_ban.yml", dict(base, names=keys + [x509_key], ban_state="unbanned",
                                                 allow_similar_names=True), tmp_path)
    # 3. unbanned: accepted again, submissions too
    ep.refresh_ban_cache()
    assert key not in accepted(ep, named)
    accepted(ep, unnamed)
    submit_ok(ep, named)
    submit_ok(ep, unnamed)


@pytest.mark.parametrize("case", ["aud_list", "no_origin", "no_groups_claim"])
def test_decode_failures_carry_the_servers_traceback(panda_endpoint, panda_token, iam_lab, case):
    """Failures the server does not anticipate: 403 with the exception text, then its Python traceback."""
    ep = panda_endpoint
    origin = "atlas"
    if case == "aud_list":     # what IAM issues when a client asks for two audiences
        iam_lab.add_user("aud" + letters(), "Aud", "List", groups=["atlas"])
        username = list(iam_lab.users)[-1]
        token = iam_lab.token_for(username, audience="https://pandaserver.cern.ch panda-client")["access_token"]
        expected = "Token decode failure. unhashable type: 'list'"
    elif case == "no_origin":
        token, origin = panda_token.mint("sub-" + letters(), name="No Origin"), None
        expected = "Token decode failure. 'NoneType' object has no attribute 'replace'"
    else:
        token = panda_token.mint("sub-" + letters(), name="No Groups", groups=None)
        expected = "Token decode failure. 'wlcg.groups'"
    reply = ep.token_call(token, "GET", "system/is_alive", origin=origin)
    assert reply.status_code == 403
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert reply.text.startswith("ERROR : Token authentication failed. %s%s" % (expected, TRACEBACK)), reply.text


REFUSALS = {
    "foreign issuer": (dict(issuer="https://iam.elsewhere.example/"), "atlas",
                       "Invalid token. failed to decode: Invalid issuer"),
    "not in the VO group": (dict(groups=["/cms"]), "atlas", "Not a member of the atlas group"),
    "expired": (dict(lifetime=-120), "atlas", "Invalid token. Signature has expired"),
    "audience not a PanDA client": (dict(audience="some-other-client"), "atlas",
                                    "Invalid token. cannot extract client_id from token"),
    "unknown VO in Origin": ({}, "cms", "Unknown vo : cms"),
    "role without group": ({}, "atlas:production", "Not a member of the atlas/production group"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_token_refusals(panda_endpoint, panda_token, case):
    ep = panda_endpoint
    claims, origin, message = REFUSALS[case]
    reply = ep.token_call(panda_token.mint("sub-" + letters(), name="Refused User", **claims), "GET",
                          "system/is_alive", origin=origin)
    assert (reply.status_code, reply.text) == (403, "ERROR : Token authentication failed. %s" % message)
