# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""argus_policy_info against a scripted client."""

from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import Pap
from ansible_collections.gridsec.ops.plugins.module_utils._errors import AuthorizationError
from ansible_collections.gridsec.ops.plugins.modules import argus_policy_info
from ansible_collections.gridsec.ops.tests.unit.plugins.modules.argus_fake import (
    FakePapClient,
    make_tree,
    run_module,
    warnings_of,
)

PAPS = [Pap("central", hostname="central.example.org", port="8150", local=False, enabled=True),
        Pap("default", local=True, enabled=True, public=True)]
LOCAL = make_tree("default", ("ps1", ".*", [
    ("public_1", ".*", [("deny", [("subject", "CN=Jane Doe, DC=example, DC=org")]),
                        ("deny", [("subject", "CN=Jane Doe,DC=example,DC=org"), ("vo", "dteam")]),
                        ("permit", [("vo", "dteam")])]),
    ("private_2", "submit", [("deny", [("fqan", "/dteam/Role=x")])]),
]))
CENTRAL = make_tree("central", ("ps9", ".*", [("public_9", ".*", [("deny", [("subject", "CN=Bad,DC=org")])])]))


def run(monkeypatch, capsys, args, client, **kw):
    return run_module(monkeypatch, capsys, argus_policy_info.main, args, client, **kw)


def test_one_alias_structure_bans_and_spl(monkeypatch, capsys):
    client = FakePapClient(paps=PAPS, trees={"default": LOCAL, "central": CENTRAL})
    result = run(monkeypatch, capsys, {}, client, check_mode=True)
    assert result["changed"] is False
    assert client.writes == []
    (alias,) = result["policies"]
    assert alias["alias"] == "default" and alias["local"] is True
    (ps,) = alias["policy_sets"]
    assert [(p["id"], p["action"], p["public"], p["version"]) for p in ps["policies"]] == \
        [("public_1", ".*", True, "3"), ("private_2", "submit", False, "3")]
    assert ps["policies"][0]["rules"][2] == {"id": "rule-3", "effect": "permit",
                                             "attributes": [{"id": "vo", "value": "dteam"}]}
    # only plain deny rules count as bans; the compound one does not
    assert [(b["value"], b["normalized"], b["public"]) for b in result["banned_subjects"]] == \
        [("CN=Jane Doe, DC=example, DC=org", "/DC=org/DC=example/CN=Jane Doe", True)]
    assert [(b["value"], b["action"], b["public"]) for b in result["banned_fqans"]] == [("/dteam/Role=x", "submit", False)]
    assert result["spl"].startswith("default (local):")
    assert 'private action "submit" {' in result["spl"]
    assert [p["alias"] for p in result["paps"]] == ["central", "default"]


def test_all_aliases_in_pap_order(monkeypatch, capsys):
    client = FakePapClient(paps=PAPS, trees={"default": LOCAL, "central": CENTRAL})
    result = run(monkeypatch, capsys, {"all_aliases": True}, client)
    assert [p["alias"] for p in result["policies"]] == ["central", "default"]
    assert [(b["alias"], b["normalized"]) for b in result["banned_subjects"]] == \
        [("central", "/DC=org/CN=Bad"), ("default", "/DC=org/DC=example/CN=Jane Doe")]
    assert result["spl"].startswith("central (central.example.org:8150):")


def test_all_aliases_continues_past_an_unreadable_alias(monkeypatch, capsys):
    denied = AuthorizationError("denied", server="PAP localhost:8150", operation="getRootPolicySet")

    class Client(FakePapClient):
        def get_tree(self, alias):
            if alias == "central":
                raise denied
            return super().get_tree(alias)

    client = Client(paps=PAPS, trees={"default": LOCAL})
    result = run(monkeypatch, capsys, {"all_aliases": True}, client)
    assert "failed" not in result
    assert [p["alias"] for p in result["policies"]] == ["default"]
    assert "denied" in result["errors"]["central"]
    assert any("central" in w for w in warnings_of(result))


def test_single_unreadable_alias_fails(monkeypatch, capsys):
    denied = AuthorizationError("denied", server="PAP localhost:8150", operation="getRootPolicySet")

    class Client(FakePapClient):
        def get_tree(self, alias):
            raise denied

    result = run(monkeypatch, capsys, {"alias": "default"}, Client(paps=PAPS))
    assert result["failed"] is True
    assert "PAP localhost:8150" in result["msg"] and "getRootPolicySet" in result["msg"]
