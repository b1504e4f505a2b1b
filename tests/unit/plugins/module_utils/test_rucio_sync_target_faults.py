# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The sync's rucio target facing a broken or lying server: every failure names the server and the operation,
and nothing is left half-applied without saying so. A fake transport serves an in-memory Rucio (accounts,
identities) that behaves like 41.5.1 (suspended accounts vanish from GET /accounts/), and replays the replies
recorded from the real server (fixtures/rucio_41.5.1_replies.json) for the faults it reproduces."""
import json
import os

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError, ConfigError, GridsecError, RemoteError, TransportError)
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpReply, ReplyHeaders
from ansible_collections.gridsec.ops.plugins.module_utils._rucio.client import RucioClient
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import DN, Entry
from ansible_collections.gridsec.ops.plugins.module_utils._sync.rucio import RucioTarget

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "fixtures", "rucio_41.5.1_replies.json")) as _handle:
    RECORDED = json.load(_handle)

DN1 = "CN=Jane Doe,OU=Users,O=Example,C=CH"
DN2 = "CN=John Roe,OU=Users,O=Example,C=CH"
LABEL = "Rucio server rucio.test"


def recorded(name):
    rec = RECORDED[name]
    return HttpReply(rec["status"], ReplyHeaders(list(rec["headers"].items())), rec["body"].encode())


def raw(status, body=b"", content_type="application/json"):
    return HttpReply(status, ReplyHeaders([("Content-Type", content_type)]), body)


class FakeRucio(object):
    """``faults``: ``(method, path) -> reply or exception`` used instead of the normal answer (once per call)."""

    server_label = "rucio.test"

    def __init__(self):
        self.accounts = {"root": "ACTIVE", "jdoe": "ACTIVE", "jroe": "ACTIVE"}
        self.identities = {DN1: ["jdoe"], DN2: ["jroe"]}
        self.faults = {}
        self.ignore_puts = False
        self.sent = []

    def request(self, method, path, operation, json=None, params=None, headers=None, data=None):
        self.sent.append((method, path))
        fault = self.faults.get((method, path))
        if fault is not None:
            if isinstance(fault, Exception):
                raise fault
            if fault.status in (401, 403):
                raise AuthorizationError("HTTP %d" % fault.status, server=self.server_label, operation=operation,
                                         details={"status": fault.status, "body": fault.body.decode()})
            return fault
        if path == "/auth/userpass":
            return recorded("login_ok")
        if path == "/accounts/":
            lines = [_json({"account": a, "type": "USER", "email": ""}) for a, s in sorted(self.accounts.items())
                     if s == "ACTIVE"]
            return raw(200, "\n".join(lines).encode() + b"\n", "application/x-json-stream")
        if path == "/identities/accounts":
            return raw(200, _json(self.identities.get(params["identity_key"], [])).encode())
        name = path.split("/")[2]
        if method == "PUT":
            if not self.ignore_puts:
                self.accounts[name] = json["status"]
            return raw(200)
        return raw(200, _json({"account": name, "status": self.accounts[name]}).encode())


def _json(value):
    import json as _j
    return _j.dumps(value)


class Ctx(object):
    def __init__(self, states):
        self.states = states

    def target_state(self, name):
        return self.states.setdefault(name, {})

    def tls_options(self, spec):
        return {"validate_certs": False, "retries": 0}  # the transport is replaced, never used

    def warn(self, msg):
        pass


SPEC = {"name": "r1", "type": "rucio", "rucio_url": "https://rucio.test", "rucio_username": "ddmlab",
        "rucio_password": "pw-secret", "rucio_account": "root", "rucio_auth_type": "userpass",
        "rucio_lookup_max_age": "24h"}


def target(fake, states):
    t = RucioTarget(dict(SPEC), Ctx(states))
    t.client = RucioClient(fake, server_label="rucio.test", account="root", username="ddmlab",
                           password="pw-secret")
    return t


def wanted(*dns):
    entries = [Entry(DN, dn) for dn in dns]
    return dict((e.key, e) for e in entries)


def run(fake, states, want, check=False):
    return target(fake, states).sync(want, check)


def assert_named(err, operation_part):
    assert "rucio.test" in err.server, err.server
    assert operation_part in (err.operation or ""), err.operation
    assert "pw-secret" not in str(err) and "root-ddmlab" not in str(err)


def test_spec_problems_no_io():
    assert RucioTarget.spec_problems(dict(SPEC)) == []
    bad = dict(SPEC, rucio_url="http://rucio.test", rucio_password=None, rucio_lookup_max_age="soon")
    problems = RucioTarget.spec_problems(bad)
    assert len(problems) == 3 and all(p.startswith("target r1: ") for p in problems), problems
    assert "https" in problems[0] and "rucio_password" in problems[1] and "rucio_lookup_max_age" in problems[2]
    assert RucioTarget.OPTIONS["rucio_password"]["no_log"] is True


def test_lowercase_status_is_never_sent():
    fake = FakeRucio()
    client = RucioClient(fake, server_label="rucio.test", username="ddmlab", password="x")
    with pytest.raises(ConfigError):
        client.set_status("jdoe", "suspended")  # the real server answers 500 HTML
    with pytest.raises(ConfigError):
        client.set_status("jdoe", "DELETED")  # the real server answers 200 and changes nothing
    assert not [s for s in fake.sent if s[0] == "PUT"]


@pytest.mark.parametrize("fault, cls, words", [
    (TransportError("connection refused", server="rucio.test", details={"attempts": 3}), TransportError,
     "connection refused"),
    (raw(200, b"<html>login</html>", "text/html"), RemoteError, "one JSON object"),
    (raw(401, b'{"ExceptionClass": "CannotAuthenticate", "ExceptionMessage": "no"}'), AuthorizationError,
     "CannotAuthenticate"),
    (raw(204), RemoteError, "HTTP 204 where 200 was due"),
    (raw(200, b""), RemoteError, "lacks 'root'"),
    (raw(200, b"null"), RemoteError, "one JSON object"),
    (recorded("put_lowercase_500"), RemoteError, "not a Rucio error reply"),
])
def test_listing_faults_fail_named_before_any_write(fault, cls, words):
    fake = FakeRucio()
    fake.faults[("GET", "/accounts/")] = fault
    states = {}
    with pytest.raises(cls) as info:
        run(fake, states, wanted(DN1))
    assert words in str(info.value), str(info.value)
    assert_named(info.value, "GET /accounts/")
    assert not [s for s in fake.sent if s[0] != "GET"] and states["r1"] == {}


@pytest.mark.parametrize("fault, words", [
    (raw(200, b"null"), "a JSON list of account names"),
    (raw(200, b'{"jdoe": 1}'), "a JSON list of account names"),
    (raw(500, b"<html>Internal Server Error</html>", "text/html"), "not a Rucio error reply"),
    (raw(204), "HTTP 204 where 200 was due"),
    (raw(200, b""), "a JSON list of account names"),
])
def test_lookup_faults_fail_named_before_any_write(fault, words):
    fake = FakeRucio()
    fake.faults[("GET", "/identities/accounts")] = fault
    with pytest.raises(RemoteError) as info:
        run(fake, {}, wanted(DN1))
    assert words in str(info.value), str(info.value)
    assert_named(info.value, "GET /identities/accounts")
    assert not [s for s in fake.sent if s[0] != "GET"]


def test_login_refused_names_server_and_login():
    fake = FakeRucio()
    fake.faults[("GET", "/auth/userpass")] = recorded("login_bad_password")
    with pytest.raises(AuthorizationError) as info:
        run(fake, {}, wanted(DN1))
    assert_named(info.value, "GET /auth/userpass")


def test_put_200_that_changes_nothing_is_a_problem_after_read_back():
    fake = FakeRucio()
    fake.ignore_puts = True  # what the real server does with "DELETED" or an unknown key
    states = {}
    data = run(fake, states, wanted(DN1))
    assert data["problems"] and "jdoe is still ACTIVE" in data["problems"][0], data
    assert LABEL in data["problems"][0]
    assert data["reads"] == 5 and data["writes"] == 1  # login, listing, 2 spellings, listing read back
    assert "jdoe" in states["r1"]["owned"]  # the PUT was sent: kept as ours, the next run tries again


def test_timeout_after_put_says_maybe_applied_and_keeps_the_record():
    fake = FakeRucio()
    timeout = TransportError("read timed out", server="rucio.test", details={"attempts": 1})
    fake.faults[("PUT", "/accounts/jdoe")] = timeout
    states = {}
    with pytest.raises(TransportError) as info:
        run(fake, states, wanted(DN1, DN2))
    assert "may have been applied" in str(info.value) and "'jdoe'" in str(info.value)
    assert_named(info.value, "PUT /accounts/jdoe")
    assert "jdoe" in states["r1"]["owned"]  # if it was applied, it is ours to lift later
    assert ("PUT", "/accounts/jroe") not in fake.sent  # stopped at the first failure


def test_refused_put_undoes_the_record_and_reports_what_was_done():
    fake = FakeRucio()
    fake.faults[("PUT", "/accounts/jroe")] = recorded("account_unknown")
    states = {}
    with pytest.raises(RemoteError) as info:
        run(fake, states, wanted(DN1, DN2))
    assert "already done before the failure: PUT /accounts/jdoe status=SUSPENDED" in str(info.value)
    assert_named(info.value, "PUT /accounts/jroe")
    assert sorted(states["r1"]["owned"]) == ["jdoe"]  # jroe was not suspended: no record
    assert fake.accounts["jdoe"] == "SUSPENDED"


def test_2xx_put_that_is_not_200_says_maybe_applied():
    fake = FakeRucio()
    fake.faults[("PUT", "/accounts/jdoe")] = raw(204)
    states = {}
    with pytest.raises(RemoteError) as info:
        run(fake, states, wanted(DN1))
    assert "may have been applied" in str(info.value)
    assert "jdoe" in states["r1"]["owned"]


def test_noop_is_one_listing_and_check_mode_writes_nothing():
    fake = FakeRucio()
    states = {}
    predicted = run(fake, states, wanted(DN1, DN2), check=True)
    assert predicted["changed"] and predicted["writes"] == 0 and states["r1"] == {}
    assert fake.accounts["jdoe"] == "ACTIVE"
    run(fake, states, wanted(DN1, DN2))
    fake.sent = []
    noop = run(fake, states, wanted(DN1, DN2))
    assert fake.sent == [("GET", "/auth/userpass"), ("GET", "/accounts/")]
    assert noop["changed"] is False and noop["reads"] == 2 and noop["writes"] == 0


def test_deleted_owned_account_is_not_brought_back():
    fake = FakeRucio()
    states = {}
    run(fake, states, wanted(DN1))
    fake.accounts["jdoe"] = "DELETED"
    data = run(fake, states, wanted())
    assert data["removed"] == [] and data["writes"] == 0
    assert data["released_without_write"] == [{"account": "jdoe", "status": "DELETED"}]
    assert states["r1"]["owned"] == {}


def test_failures_are_gridsec_errors():
    assert issubclass(RemoteError, GridsecError) and issubclass(TransportError, GridsecError)


class TokenEntry(object):
    """A token identity as contract C2 defines it (``kind`` "token", ``issuer`` without "/", ``subject``)."""

    kind = "token"

    def __init__(self, issuer, subject):
        self.issuer, self.subject = issuer, subject
        self.value = "%s %s" % (issuer, subject)
        self.key = ("token", issuer, subject)


def test_token_identity_suspends_the_oidc_account_under_either_issuer_spelling():
    fake = FakeRucio()
    fake.accounts["tuser"] = "ACTIVE"
    fake.identities["SUB=abc-123, ISS=https://iam.test/"] = ["tuser"]  # stored with the discovery spelling
    entry = TokenEntry("https://iam.test", "abc-123")
    states = {}
    data = run(fake, states, {entry.key: entry})
    assert [a["account"] for a in data["added"]] == ["tuser"] and fake.accounts["tuser"] == "SUSPENDED"
    assert data["lookups"] == 2 and data["added"][0]["identities"] == ["https://iam.test abc-123"]
    assert "token" in RucioTarget.KINDS and "dn" in RucioTarget.KINDS and "fqan" not in RucioTarget.KINDS


def test_the_admin_account_is_never_suspended():
    fake = FakeRucio()
    fake.identities[DN2] = ["root", "jroe"]
    data = run(fake, {}, wanted(DN1, DN2))
    assert fake.accounts["root"] == "ACTIVE" and fake.accounts["jroe"] == "SUSPENDED"
    assert data["problems"] and "'root' this target logs in as" in data["problems"][0]
    assert sorted(a["account"] for a in data["added"]) == ["jdoe", "jroe"]
