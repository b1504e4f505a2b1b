# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""argus_pap against a scripted client."""

import datetime

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._argus_client import AcePrincipal, Pap
from ansible_collections.gridsec.ops.plugins.module_utils._errors import AuthorizationError
from ansible_collections.gridsec.ops.plugins.modules import argus_pap
from ansible_collections.gridsec.ops.tests.unit.plugins.modules.argus_fake import (
    FakePapClient,
    make_tree,
    run_module,
    warnings_of,
)

ALL = ["POLICY_READ_LOCAL", "POLICY_READ_REMOTE", "POLICY_WRITE", "CONFIGURATION_READ", "CONFIGURATION_WRITE"]
ADMIN = "/DC=org/DC=example/CN=Admin"
RELAY_DN = "/DC=org/DC=example/CN=relay.example.org"


def run(monkeypatch, capsys, args, client, **kw):
    return run_module(monkeypatch, capsys, argus_pap.main, args, client, **kw)


def site_paps(relay_dn=RELAY_DN, enabled=True):
    return [Pap("default", local=True, enabled=True, public=True),
            Pap("relay", dn=relay_dn, hostname="relay.example.org", port="8150", path="/pap/services/",
                protocol="https", public=False, local=False, enabled=enabled)]


RELAY = {"alias": "relay", "hostname": "relay.example.org", "dn": RELAY_DN}


@pytest.fixture
def admin_cert(tmp_path):
    """A certificate + key whose subject is ADMIN (the identity the module connects with)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "org"),
                      x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "example"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Admin")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_path = tmp_path / "cert.pem"
    key_path = tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return {"client_cert": str(cert_path), "client_key": str(key_path)}


def test_add_remote_pap_check_mode(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"paps": [RELAY]}, client, check_mode=True, diff=True)
    assert result["changed"] is True
    assert client.writes == []
    assert [o["operation"] for o in result["operations"]] == ["addPap", "refreshCache"]
    assert [p["alias"] for p in result["diff"]["after"]["paps"]] == ["default", "relay"]
    assert [p["alias"] for p in result["diff"]["before"]["paps"]] == ["default"]


def test_add_remote_pap_sends_a_remote_bean_then_refreshes(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"paps": [dict(RELAY, public=True)]}, client)
    assert [c[0] for c in client.writes] == ["add_pap", "refresh_cache"]
    pap = client.writes[0][1]
    assert (pap.alias, pap.local, pap.enabled, pap.public, pap.port, pap.path, pap.protocol) == \
        ("relay", False, True, True, 8150, "/pap/services/", "https")
    assert result["changed"] is True


def test_new_pap_without_dn_is_refused_before_any_write(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"paps": [{"alias": "relay", "hostname": "relay.example.org"}],
                                       "polling_interval": 60}, client)
    assert result["failed"] is True and "dn" in result["msg"]
    assert client.writes == []


def test_existing_pap_with_dn_in_other_form_is_no_change(monkeypatch, capsys):
    client = FakePapClient(paps=site_paps(relay_dn="CN=relay.example.org, DC=example, DC=org"))
    result = run(monkeypatch, capsys, {"paps": [RELAY]}, client)
    assert result["changed"] is False
    assert client.writes == []


def test_only_enabled_differs_uses_set_enabled(monkeypatch, capsys):
    client = FakePapClient(paps=site_paps(enabled=False))
    result = run(monkeypatch, capsys, {"paps": [RELAY]}, client)
    assert [c[0:3] for c in client.writes] == [("set_enabled", "relay", True)]
    assert result["changed"] is True


def test_endpoint_change_updates_and_refreshes(monkeypatch, capsys):
    client = FakePapClient(paps=site_paps())
    run(monkeypatch, capsys, {"paps": [dict(RELAY, port=9150)]}, client)
    assert [c[0] for c in client.writes] == ["update_pap", "refresh_cache"]


def test_local_alias_cannot_be_removed(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"paps": [{"alias": "default", "state": "absent"}]}, client)
    assert result["failed"] is True and "local" in result["msg"]
    assert client.writes == []


def test_order_with_upstream_after_default_warns(monkeypatch, capsys):
    client = FakePapClient(paps=site_paps(), order=["relay", "default"])
    result = run(monkeypatch, capsys, {"order": ["default", "relay"]}, client)
    assert [c[0:2] for c in client.writes] == [("set_order", ["default", "relay"])]
    assert any("after 'default'" in w for w in warnings_of(result))
    again = FakePapClient(paps=site_paps(), order=["relay", "default"])
    result = run(monkeypatch, capsys, {"order": ["relay", "default"]}, again)
    assert result["changed"] is False and again.writes == []


def test_order_with_unknown_alias_is_refused(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"order": ["central", "default"]}, client)
    assert result["failed"] is True and "central" in result["msg"]


def test_polling_interval_idempotent(monkeypatch, capsys):
    client = FakePapClient(interval=3600.0)
    assert run(monkeypatch, capsys, {"polling_interval": 3600}, client)["changed"] is False
    client = FakePapClient(interval=300.0)
    result = run(monkeypatch, capsys, {"polling_interval": 3600}, client)
    assert result["changed"] is True and [c[0:2] for c in client.writes] == [("set_polling_interval", 3600.0)]


def test_acl_dn_compared_semantically_and_all_expanded(monkeypatch, capsys):
    client = FakePapClient(acl={AcePrincipal("x509-dn", ADMIN): list(ALL)})
    result = run(monkeypatch, capsys, {"acl": [{"principal": "CN=Admin, DC=example, DC=org", "permissions": ["ALL"]}]},
                 client)
    assert result["changed"] is False
    assert client.writes == []


def test_acl_lockout_refused_unless_forced(monkeypatch, capsys, admin_cert):
    acl = {AcePrincipal("x509-dn", ADMIN): list(ALL), AcePrincipal("voms-fqan", "/dteam"): ["POLICY_READ_LOCAL"]}
    client = FakePapClient(acl=acl)
    args = dict(admin_cert, acl=[{"principal": ADMIN, "permissions": ["POLICY_READ_LOCAL"]}])
    result = run(monkeypatch, capsys, args, client)
    assert result["failed"] is True and "CONFIGURATION_WRITE" in result["msg"]
    assert client.writes == []
    client = FakePapClient(acl=acl)
    result = run(monkeypatch, capsys, dict(args, force=True), client)
    assert result["changed"] is True
    assert [c[0] for c in client.writes] == ["add_ace"]


def test_acl_lockout_through_anyone(monkeypatch, capsys, admin_cert):
    acl = {AcePrincipal("x509-dn", "/O=PAP/OU=Internal/CN=Any authenticated user"): list(ALL)}
    client = FakePapClient(acl=acl)
    result = run(monkeypatch, capsys, dict(admin_cert, acl=[{"principal": "ANYONE", "state": "absent"}]), client)
    assert result["failed"] is True
    assert client.writes == []


def test_acl_exclusive_removes_unlisted_entries(monkeypatch, capsys, admin_cert):
    acl = {AcePrincipal("x509-dn", ADMIN): list(ALL),
           AcePrincipal("x509-dn", "/O=PAP/OU=Internal/CN=Any authenticated user"): list(ALL),
           AcePrincipal("voms-fqan", "/dteam/Role=lcgadmin"): ["POLICY_READ_LOCAL"]}
    client = FakePapClient(acl=acl)
    result = run(monkeypatch, capsys, dict(admin_cert, acl=[{"principal": ADMIN, "permissions": ["ALL"]}],
                                           acl_exclusive=True), client)
    assert result["changed"] is True
    removed = sorted((c[1].type, c[1].name) for c in client.writes)
    assert [c[0] for c in client.writes] == ["remove_ace", "remove_ace"]
    assert removed == [("anyone", "ANYONE"), ("voms-fqan", "/dteam/Role=lcgadmin")]
    assert result["acl"] == {ADMIN: sorted(ALL)}


def test_refresh_cache_changed_only_when_cache_content_changes(monkeypatch, capsys):
    empty = make_tree("relay")
    banned = make_tree("relay", ("ps", ".*", [("public_1", ".*", [("deny", [("fqan", "/x")])])]))
    client = FakePapClient(paps=site_paps(), trees={"relay": [empty, banned]})
    result = run(monkeypatch, capsys, {"refresh_cache": ["relay"]}, client, diff=True)
    assert result["changed"] is True and result["refreshed"] == {"relay": True}
    assert "fqan" in result["diff"]["after"]["caches"]["relay"]
    client = FakePapClient(paps=site_paps(), trees={"relay": [banned, banned]})
    result = run(monkeypatch, capsys, {"refresh_cache": ["relay"]}, client)
    assert result["changed"] is False and [c[0] for c in client.writes] == ["refresh_cache"]
    assert [o["operation"] for o in result["operations"]] == ["refreshCache"]


def test_refresh_cache_of_local_alias_is_refused(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"refresh_cache": ["default"]}, client)
    assert result["failed"] is True and "local" in result["msg"]


def test_failure_midway_lists_completed_writes(monkeypatch, capsys):
    denied = AuthorizationError("denied", server="PAP localhost:8150", operation="setPollingInterval")
    client = FakePapClient(fail_on={"set_polling_interval": denied})
    result = run(monkeypatch, capsys, {"paps": [RELAY], "polling_interval": 60, "refresh": False}, client)
    assert result["failed"] is True
    assert "setPollingInterval" in result["msg"]
    assert [o["operation"] for o in result["operations"]] == ["addPap"]
