# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""RucioClient against replies recorded from a real Rucio 41.5.1 server (fixtures/rucio_41.5.1_replies.json,
recorded through the rucio_real tier's server with an independent stdlib client). A replaying transport
stands in for HttpTransport: it checks what the client sends and returns the recorded reply."""
import json
import os

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError, ConfigError, NotFoundError, RemoteError, TransportError)
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpReply, ReplyHeaders
from ansible_collections.gridsec.ops.plugins.module_utils._rucio.client import RucioClient

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "fixtures", "rucio_41.5.1_replies.json")) as _handle:
    RECORDED = json.load(_handle)


def reply(name):
    rec = RECORDED[name]
    return HttpReply(rec["status"], ReplyHeaders(list(rec["headers"].items())), rec["body"].encode())


class Replay(object):
    """``script``: [(method, path, recorded reply name)] in order; 401/403 raise like HttpTransport does."""

    server_label = "rucio.test:443"

    def __init__(self, script):
        self.script = list(script)
        self.sent = []

    def request(self, method, path, operation, json=None, params=None, headers=None, data=None):
        self.sent.append({"method": method, "path": path, "json": json, "params": params, "headers": headers})
        want_method, want_path, name = self.script.pop(0)
        assert (method, path) == (want_method, want_path)
        if isinstance(name, Exception):
            raise name
        got = name if isinstance(name, HttpReply) else reply(name)
        if got.status in (401, 403):
            raise AuthorizationError("HTTP %d" % got.status, server=self.server_label, operation=operation,
                                     details={"status": got.status, "body": got.body.decode()})
        return got


LOGIN = ("GET", "/auth/userpass", "login_ok")


def client(script, **kw):
    kw.setdefault("username", "ddmlab")
    kw.setdefault("password", "pw-secret")
    return RucioClient(Replay(script), **kw)


def test_login_once_and_headers():
    c = client([LOGIN, ("GET", "/accounts/jdoe", "account_active"), ("GET", "/accounts/jdoe", "account_active")])
    assert c.get_account("jdoe")["status"] == "ACTIVE"
    assert c.get_account("jdoe")["status"] == "ACTIVE"
    sent = c.transport.sent
    assert sent[0]["headers"]["X-Rucio-Username"] == "ddmlab" and sent[0]["headers"]["Accept"] == "*/*"
    assert sent[1]["headers"]["X-Rucio-Auth-Token"].startswith("root-ddmlab-")
    assert sent[1]["headers"]["Accept"] == "application/json"
    assert "pw-secret" not in json.dumps(c.operations) and "root-ddmlab" not in json.dumps(c.operations)


def test_wrong_password_names_server_and_login():
    c = client([("GET", "/auth/userpass", "login_bad_password")])
    with pytest.raises(AuthorizationError) as err:
        c.get_account("jdoe")
    text = str(err.value)
    assert "log in as root" in text and "CannotAuthenticate" in text and "401" in text and "rucio.test" in text
    assert "pw-secret" not in text


def test_unknown_account_is_none():
    c = client([LOGIN, ("GET", "/accounts/nosuchacct", "account_unknown")])
    assert c.get_account("nosuchacct") is None


def test_identity_lookup_uses_query_form():
    c = client([LOGIN, ("GET", "/identities/accounts", "identity_accounts"),
                ("GET", "/identities/accounts", "identity_accounts_none")])
    assert c.accounts_for_identity("CN=Jane Doe,OU=Users,O=Example,C=CH", "X509") == ["jdoe"]
    assert c.transport.sent[1]["params"] == {"identity_key": "CN=Jane Doe,OU=Users,O=Example,C=CH", "type": "X509"}
    assert c.accounts_for_identity("CN=nobody", "X509") == []


def test_html_500_is_reported_as_not_a_rucio_reply():
    c = client([LOGIN, ("PUT", "/accounts/jdoe", "put_lowercase_500")])
    with pytest.raises(RemoteError) as err:
        c.set_status("jdoe", "SUSPENDED")
    assert "HTTP 500 with a text/html" in str(err.value) and "PUT /accounts/jdoe status=SUSPENDED" in str(err.value)


@pytest.mark.parametrize("status", ["suspended", "DELETED", "active"])
def test_only_upper_case_active_and_suspended_are_sent(status):
    c = client([])
    with pytest.raises(ConfigError):
        c.set_status("jdoe", status)
    assert c.transport.sent == []


def test_attributes_and_suspended_account_attributes():
    c = client([LOGIN, ("GET", "/accounts/root/attr/", "attr_one"),
                ("GET", "/accounts/jdoe/attr/", "attr_of_suspended_404")])
    assert c.attributes("root") == {"gs.jdoe": "gridsec.ops-20261207T000000Z"}
    with pytest.raises(NotFoundError) as err:
        c.attributes("jdoe")
    assert err.value.details["exception_class"] == "AccountNotFound"


def test_invalid_attribute_value_error():
    c = client([LOGIN, ("POST", "/accounts/root/attr/gs.x", "attr_bad_value")])
    with pytest.raises(RemoteError) as err:
        c.add_attribute("root", "gs.x", "has spaces")
    assert "InvalidObject" in str(err.value)


def test_timeout_after_send_keeps_operation():
    boom = TransportError("no reply within 2s; the request may have been processed by the server",
                          details={"attempts": 1})
    c = client([LOGIN, ("PUT", "/accounts/jdoe", boom)])
    with pytest.raises(TransportError) as err:
        c.set_status("jdoe", "SUSPENDED")
    assert err.value.operation == "PUT /accounts/jdoe status=SUSPENDED" and "Rucio server" in str(err.value)
    assert c.operations[-1] == {"method": "PUT", "path": "/accounts/jdoe", "status": None}


def synthetic(body):
    """A 200 JSON reply the real server does not send (a broken proxy or server): the client must refuse it."""
    return HttpReply(200, ReplyHeaders([("Content-Type", "application/json")]), body.encode())


@pytest.mark.parametrize("body", ['{"jdoe": 1, "root": 2}', '[["jdoe"]]', '[{"account": 7}]', '[null]', '"jdoe"'])
def test_identity_accounts_must_be_a_list_of_names(body):
    c = client([LOGIN, ("GET", "/identities/accounts", synthetic(body))])
    with pytest.raises(RemoteError) as err:
        c.accounts_for_identity("CN=x", "X509")
    assert "not a JSON list of account names" in str(err.value)
    assert err.value.operation == "GET /identities/accounts (X509 identity)"


@pytest.mark.parametrize("body", ['["gs.jdoe"]', '{"key": "gs.jdoe"}', '[{"value": "x"}]', 'null'])
def test_attributes_must_be_a_list_of_key_objects(body):
    c = client([LOGIN, ("GET", "/accounts/root/attr/", synthetic(body))])
    with pytest.raises(RemoteError) as err:
        c.attributes("root")
    assert "is not a JSON list of" in str(err.value)


@pytest.mark.parametrize("body", ['["jdoe"]', '"ACTIVE"', 'null'])
def test_account_must_be_an_object(body):
    c = client([LOGIN, ("GET", "/accounts/jdoe", synthetic(body))])
    with pytest.raises(RemoteError) as err:
        c.get_account("jdoe")
    assert "is not an account (JSON object)" in str(err.value)
