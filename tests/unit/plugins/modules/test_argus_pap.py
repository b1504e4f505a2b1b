# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""argus_pap against a scripted client."""

import datetime

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import AcePrincipal, Pap
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
# a relay cache that holds a policy (an empty cache is refreshed again on every run)
CACHED = {"relay": make_tree("relay", ("ps", ".*", [("public_1", ".*", [("deny", [("fqan", "/x")])])]))}


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
    client = FakePapClient(paps=site_paps(relay_dn="CN=relay.example.org, DC=example, DC=org"), trees=CACHED)
    result = run(monkeypatch, capsys, {"paps": [RELAY]}, client)
    assert result["changed"] is False
    assert client.writes == []


def test_only_enabled_differs_uses_set_enabled(monkeypatch, capsys):
    client = FakePapClient(paps=site_paps(enabled=False), trees=CACHED)
    result = run(monkeypatch, capsys, {"paps": [dict(RELAY, enabled=True)]}, client)
    assert [c[0:3] for c in client.writes] == [("set_enabled", "relay", True)]
    assert result["changed"] is True
    # left out, the flag keeps its current value
    client = FakePapClient(paps=site_paps(enabled=False), trees=CACHED)
    result = run(monkeypatch, capsys, {"paps": [RELAY]}, client)
    assert client.writes == [] and result["changed"] is False


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


def test_acl_lockout_refused_with_the_credential_from_the_environment(monkeypatch, capsys, admin_cert):
    """The lock-out check knows the caller when the credential comes from X509_USER_CERT/X509_USER_KEY (the one
    the transport connects with), not only from the task options."""
    monkeypatch.delenv("X509_USER_PROXY", raising=False)
    monkeypatch.setenv("X509_USER_CERT", admin_cert["client_cert"])
    monkeypatch.setenv("X509_USER_KEY", admin_cert["client_key"])
    # another administrator keeps CONFIGURATION_WRITE: only knowing the caller shows the lock-out
    acl = {AcePrincipal("x509-dn", ADMIN): list(ALL), AcePrincipal("x509-dn", "/DC=org/DC=example/CN=Other"): list(ALL)}
    client = FakePapClient(acl=acl)
    result = run(monkeypatch, capsys, {"acl": [{"principal": ADMIN, "permissions": ["POLICY_READ_LOCAL"]}]}, client)
    assert result["failed"] is True and "CONFIGURATION_WRITE" in result["msg"] and ADMIN in result["msg"]
    assert client.writes == []


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


# -- paps: an update keeps the fields the entry leaves out (issue 6, 1.1) -------------------------------------

def test_update_keeps_unmentioned_fields(monkeypatch, capsys):
    paps = [Pap("default", local=True, enabled=True, public=True),
            Pap("central", dn="/CN=central", hostname="central.example.org", port=9150, path="/pap/svc/",
                protocol="https", public=True, local=False, enabled=False, id="central-id")]
    client = FakePapClient(paps=paps, trees={"central": CACHED["relay"]})
    result = run(monkeypatch, capsys, {"paps": [{"alias": "central", "enabled": True}]}, client)
    assert [c[0] for c in client.writes] == ["set_enabled"]
    assert result["changed"] is True
    after = [p for p in result["paps"] if p["alias"] == "central"][0]
    assert (after["public"], after["port"], after["path"], after["enabled"]) == (True, 9150, "/pap/svc/", True)


def test_update_of_one_field_sends_the_current_values_of_the_others(monkeypatch, capsys):
    paps = [Pap("default", local=True, enabled=True, public=True),
            Pap("central", dn="/CN=central", hostname="central.example.org", port=9150, path="/pap/svc/",
                protocol="https", public=True, local=False, enabled=True, id="central-id")]
    client = FakePapClient(paps=paps, trees={"central": CACHED["relay"]})
    run(monkeypatch, capsys, {"paps": [{"alias": "central", "hostname": "central2.example.org"}]}, client)
    assert [c[0] for c in client.writes] == ["update_pap", "refresh_cache"]
    sent = client.writes[0][1]
    assert (sent.hostname, sent.port, sent.path, sent.public, sent.enabled, sent.dn, sent.id) == \
        ("central2.example.org", 9150, "/pap/svc/", True, True, "/CN=central", "central-id")


# -- order: complete, or refused (1.2) -------------------------------------------------------------------------

def three_paps():
    return site_paps() + [Pap("central", dn="/CN=c", hostname="c", port=8150, path="/pap/services/",
                              protocol="https", public=False, local=False, enabled=True)]


def test_incomplete_order_is_refused_naming_the_missing_aliases(monkeypatch, capsys):
    client = FakePapClient(paps=three_paps(), order=["relay", "central", "default"])
    result = run(monkeypatch, capsys, {"order": ["relay", "default"]}, client)
    assert result["failed"] is True
    assert "leaves out existing aliases: central" in result["msg"] and "order_complete" in result["msg"]
    assert client.writes == []


def test_incomplete_order_completed_on_request_with_a_warning(monkeypatch, capsys):
    client = FakePapClient(paps=three_paps(), order=[])
    result = run(monkeypatch, capsys, {"order": ["relay"], "order_complete": True}, client)
    # with an empty configured order the PAP puts default first: appended in that order
    assert [c[0:2] for c in client.writes] == [("set_order", ["relay", "default", "central"])]
    assert result["order"] == ["relay", "default", "central"]
    warnings = warnings_of(result)
    assert any("leaves out default, central" in w for w in warnings)
    assert any("central comes after 'default'" in w for w in warnings)


def test_configured_order_without_default_puts_default_first(monkeypatch, capsys):
    client = FakePapClient(paps=site_paps(), order=["relay"], trees=CACHED)
    result = run(monkeypatch, capsys, {"paps": [RELAY]}, client)
    assert result["order"] == ["default", "relay"]
    assert any("relay comes after 'default'" in w for w in warnings_of(result))


def test_order_case_mismatch_is_explained(monkeypatch, capsys):
    client = FakePapClient(paps=site_paps())
    result = run(monkeypatch, capsys, {"order": ["Relay", "default"]}, client)
    assert result["failed"] is True and "did you mean relay" in result["msg"]


def test_remove_of_alias_outside_the_order_restores_the_order(monkeypatch, capsys):
    class BuggyOrder(FakePapClient):
        """removePap as argus-pap does it: the LAST ordering entry goes when the alias is not in the order."""

        def __getattr__(self, name):
            write = FakePapClient.__getattr__(self, name)
            if name != "remove_pap":
                return write

            def remove(alias):
                write(alias)
                self.order = [a for a in self.order if a != alias] if alias in self.order else self.order[:-1]
            return remove

    paps = three_paps()
    client = BuggyOrder(paps=paps, order=["relay", "default"], trees=CACHED)
    result = run(monkeypatch, capsys, {"paps": [{"alias": "central", "state": "absent"}]}, client, check_mode=True)
    assert [o["operation"] for o in result["operations"]] == ["removePap", "setOrder"]
    assert client.writes == []
    result = run(monkeypatch, capsys, {"paps": [{"alias": "central", "state": "absent"}]}, client)
    assert [c[0:2] for c in client.writes] == [("remove_pap", "central"), ("set_order", ["relay", "default"])]
    assert any("restored" in w for w in warnings_of(result))
    assert result["order"] == ["relay", "default"]


def test_remove_with_a_correct_pap_sends_no_restore(monkeypatch, capsys):
    client = FakePapClient(paps=three_paps(), order=["relay", "default", "central"], trees=CACHED)
    result = run(monkeypatch, capsys, {"paps": [{"alias": "central", "state": "absent"}]}, client)
    assert [c[0] for c in client.writes] == ["remove_pap"]
    assert result["order"] == ["relay", "default"]


# -- automatic refresh failures (1.7) ----------------------------------------------------------------------

def test_failed_automatic_refresh_is_a_warning_and_retried_while_the_cache_is_empty(monkeypatch, capsys):
    from ansible_collections.gridsec.ops.plugins.module_utils._errors import RemoteError
    down = RemoteError("SOAP fault: PAPException: Connection refused", server="PAP localhost:8150",
                       operation="refreshCache")
    client = FakePapClient(fail_on={"refresh_cache": down})
    result = run(monkeypatch, capsys, {"paps": [RELAY]}, client)
    assert "failed" not in result and result["changed"] is True
    assert [o["operation"] for o in result["operations"]] == ["addPap"]
    assert any("automatic refreshCache of remote PAP relay failed" in w and "retries" in w
               for w in warnings_of(result))
    # next run: the PAP exists, its cache is empty -> the refresh is tried again
    client = FakePapClient(paps=site_paps(), order=["relay", "default"])
    result = run(monkeypatch, capsys, {"paps": [RELAY]}, client)
    assert [c[0] for c in client.writes] == ["refresh_cache"]
    assert [o["operation"] for o in result["operations"]] == ["refreshCache"]
    # once the cache holds policies, nothing is refreshed
    client = FakePapClient(paps=site_paps(), order=["relay", "default"], trees=CACHED)
    result = run(monkeypatch, capsys, {"paps": [RELAY]}, client)
    assert client.writes == [] and result["changed"] is False


def test_failed_requested_refresh_fails_the_task(monkeypatch, capsys):
    from ansible_collections.gridsec.ops.plugins.module_utils._errors import WriteRefusedError
    refused = WriteRefusedError("the PAP answered false to refreshCache", server="PAP localhost:8150",
                                operation="refreshCache")
    client = FakePapClient(paps=site_paps(), fail_on={"refresh_cache": refused}, trees=CACHED)
    result = run(monkeypatch, capsys, {"refresh_cache": ["relay"]}, client)
    assert result["failed"] is True and "refreshCache" in result["msg"]


# -- refusals predicted from the ACL (1.12) ----------------------------------------------------------------

READ_ONLY_ACL = {AcePrincipal("x509-dn", ADMIN): ["CONFIGURATION_READ", "POLICY_READ_LOCAL"]}
EXPECTED_REFUSAL = ("PAP localhost:8150, operation addPap: SOAP fault: PAPAuthzException: Insufficient privileges "
                    "to perform operation 'AddPapOperation'.")


@pytest.mark.parametrize("check_mode", [True, False])
def test_write_without_permission_is_refused_before_writing(monkeypatch, capsys, admin_cert, check_mode):
    client = FakePapClient(acl=READ_ONLY_ACL)
    result = run(monkeypatch, capsys, dict(admin_cert, paps=[RELAY]), client, check_mode=check_mode)
    assert result["failed"] is True
    assert result["msg"] == EXPECTED_REFUSAL
    assert result["error"]["kind"] == "authorization" and result["error"]["details"]["missing"] == \
        ["CONFIGURATION_WRITE"]
    assert client.writes == [] and result["operations"] == [] and result["changed"] is False


def test_permission_granted_through_anyone_or_possibly_an_fqan_is_not_refused(monkeypatch, capsys, admin_cert):
    acl = dict(READ_ONLY_ACL)
    acl[AcePrincipal("voms-fqan", "/dteam/Role=admin")] = ["CONFIGURATION_WRITE"]
    client = FakePapClient(acl=acl)
    result = run(monkeypatch, capsys, dict(admin_cert, paps=[RELAY], refresh=False), client, check_mode=True)
    assert result["changed"] is True and "failed" not in result
    acl = dict(READ_ONLY_ACL)
    acl[AcePrincipal("x509-dn", "ANYONE")] = ["CONFIGURATION_WRITE"]
    client = FakePapClient(acl=acl)
    result = run(monkeypatch, capsys, dict(admin_cert, paps=[RELAY], refresh=False), client, check_mode=True)
    assert result["changed"] is True and "failed" not in result


def test_unreadable_acl_predicts_nothing(monkeypatch, capsys, admin_cert):
    denied = AuthorizationError("denied", server="PAP localhost:8150", operation="getACL")
    client = FakePapClient(fail_on={"get_acl": denied})
    result = run(monkeypatch, capsys, dict(admin_cert, paps=[RELAY], refresh=False), client, check_mode=True)
    assert result["changed"] is True and "failed" not in result


def test_automatic_refresh_without_permission_is_skipped_with_a_warning(monkeypatch, capsys, admin_cert):
    acl = {AcePrincipal("x509-dn", ADMIN): ["CONFIGURATION_READ", "CONFIGURATION_WRITE"]}
    client = FakePapClient(acl=acl)
    result = run(monkeypatch, capsys, dict(admin_cert, paps=[RELAY]), client)
    assert [c[0] for c in client.writes] == ["add_pap"]
    assert any("automatic refreshCache of relay is skipped" in w for w in warnings_of(result))


# -- connection options ----------------------------------------------------------------------------------

@pytest.mark.parametrize("host, words", [
    ("https://pap.example.org:8150/pap/services", "not a URL"),
    ("pap.example.org:8150", "pap_port"),
    ("pap.example.org/pap", "pap_path"),
    ("", "empty"),
])
def test_pap_host_must_be_a_host_name(monkeypatch, capsys, host, words):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"pap_host": host, "polling_interval": 60}, client)
    assert result["failed"] is True and words in result["msg"]
    assert client.calls == [] and result["requests"] == []
    # every failure carries error (issue 14, item 20); a validation failure names no server or operation
    assert result["error"]["kind"] == "config" and result["error"]["operation"] is None
    assert result["error"]["server"] is None


# -- pure planning functions ------------------------------------------------------------------------------

def test_effective_order_follows_argus_pap():
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.acl import effective_order
    assert effective_order([], ["default", "relay"]) == ["default", "relay"]
    assert effective_order(["relay"], ["default", "relay"]) == ["default", "relay"]  # unlisted default goes first
    assert effective_order(["relay", "default"], ["default", "relay", "new"]) == ["relay", "default", "new"]


def test_ordering_after_remove_drops_the_last_entry_for_an_unlisted_alias():
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.acl import ordering_after_remove
    assert ordering_after_remove(["a", "b", "default"], "b") == ["a", "default"]
    assert ordering_after_remove(["a", "b", "default"], "c") == ["a", "b"]
    assert ordering_after_remove([], "c") == []


def test_order_with_the_same_effect_is_no_change(monkeypatch, capsys):
    client = FakePapClient(order=[])
    result = run(monkeypatch, capsys, {"order": ["default"]}, client)
    assert result["changed"] is False and client.writes == []


def test_order_naming_an_alias_removed_in_the_same_task_is_refused(monkeypatch, capsys):
    client = FakePapClient(paps=site_paps(), order=["relay", "default"])
    result = run(monkeypatch, capsys, {"paps": [{"alias": "relay", "state": "absent"}],
                                       "order": ["relay", "default"]}, client)
    assert result["failed"] is True and "which this task removes" in result["msg"]
    assert client.writes == []


def test_empty_order_is_refused(monkeypatch, capsys):
    client = FakePapClient()
    result = run(monkeypatch, capsys, {"order": []}, client)
    assert result["failed"] is True and "order must list" in result["msg"]


def test_predict_refusal_unions_dn_and_anyone():
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.pap_plan import predict_refusal
    acl = {AcePrincipal("x509-dn", "CN=Admin,DC=example,DC=org"): ["CONFIGURATION_READ"],
           AcePrincipal("x509-dn", "ANYONE"): ["CONFIGURATION_WRITE"]}
    assert predict_refusal(acl, ADMIN, "removePap") is None
    assert predict_refusal(acl, ADMIN, "refreshCache") == ("RefreshPolicyCacheOperation",
                                                           ["POLICY_READ_REMOTE", "POLICY_WRITE"])
    assert predict_refusal(acl, None, "refreshCache") is None
    assert predict_refusal({}, ADMIN, "addPap") == ("AddPapOperation", ["CONFIGURATION_WRITE"])
