# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""argus_policy_info against a scripted client."""

import json
import os
import subprocess
import sys

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.gridsec.ops.plugins.module_utils._argus import endpoint as _argus_endpoint
from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import Pap, PapClient
from ansible_collections.gridsec.ops.plugins.module_utils._argus.module import ArgusModule
from ansible_collections.gridsec.ops.plugins.module_utils._argus.reader import PapReader
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


LAZY = ("_argus.client", "_argus.xacml_write", "_argus.rule_index", "_argus.provisioning", "_argus.write_checks",
        "_argus.pap_plan", "_argus.spl", "_dn", "_http_tls")


def test_the_module_reads_without_importing_the_writes():
    """Under AnsiballZ every imported module_util is compiled on every run (from the zip, twice: zipimport
    compiles a module to find its spec, then again to load it): the module reads through a ``PapReader`` and never
    imports the writes, the provisioning query, the planner's index or the DN parser (an empty tree has no DN)."""
    prefix = "ansible_collections.gridsec.ops.plugins.module_utils."
    script = ("import sys\nfrom ansible_collections.gridsec.ops.plugins.modules import argus_policy_info\n"
              "from ansible_collections.gridsec.ops.plugins.module_utils._argus import endpoint\n"
              "reader = endpoint.pap_client(object(), 'pap.example.org:8150', read_only=True)\n"
              "print(type(reader).__name__)\nprint('\\n'.join(sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)), check=True)
    lines = proc.stdout.split()
    assert lines[0] == "PapReader"
    loaded = set(name[len(prefix):] for name in lines[1:] if name.startswith(prefix))
    assert "_argus.reader" in loaded and "_argus.policy_view" in loaded
    assert not loaded & set(LAZY), sorted(loaded & set(LAZY))


def test_the_module_asks_for_a_reader(monkeypatch, capsys):
    asked = []
    client = FakePapClient(paps=PAPS, trees={"default": LOCAL})

    def pap_client(transport, server_label, read_only=False):
        asked.append(read_only)
        return client

    monkeypatch.setattr(_argus_endpoint, "HttpTransport", lambda *a, **k: object())
    monkeypatch.setattr(_argus_endpoint, "pap_client", pap_client)
    with patch_module_args({"ca_path": "/nonexistent"}):
        with pytest.raises(SystemExit):
            argus_policy_info.main()
    result = json.loads(capsys.readouterr().out)
    assert "failed" not in result and asked == [True]


def test_a_reader_becomes_a_full_client_on_the_same_connection(monkeypatch):
    """``ArgusModule.client(read_only=True)`` then ``client()``: a ``PapClient`` over the same transport that keeps
    the operations already sent (a module that reads first and writes later loses nothing)."""
    transport = object()
    monkeypatch.setattr(_argus_endpoint, "HttpTransport", lambda *a, **k: transport)
    with patch_module_args({"ca_path": "/nonexistent"}):
        module = ArgusModule(argument_spec={})
    reader = module.client(read_only=True)
    # exactly the reader, not the full client that extends it
    assert type(reader) is PapReader and reader.transport is transport  # pylint: disable=unidiomatic-typecheck
    reader.operations.append({"service": "PAPManagementService", "operation": "getAllPaps", "args": {}})
    assert module.client(read_only=True) is reader
    full = module.client()
    assert isinstance(full, PapClient) and full.transport is transport and full.server_label == reader.server_label
    assert full.operations is reader.operations and module.client_operations()[0]["operation"] == "getAllPaps"
    assert module.client() is full and module.client(read_only=True) is full
