# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""C2 at the Argus target against the lab PAP: the serial and time of the list applied are written in the owned
Description only when the target writes, and ``ArgusTarget.status(canary)`` reads entries, serial, applied time and
the canary's effective deny back from the PAP (a site Permit evaluated first hides the ban)."""
import types

from gridsec_lab.argus import rawclient

from ansible_collections.gridsec.ops.plugins.module_utils._suspension import entries as sl_entries
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import merge as sl_merge
from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import PapClient
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
from ansible_collections.gridsec.ops.plugins.module_utils._sync.argus import ArgusTarget

BASE = "/DC=test/DC=gridsec/OU=Users"
XACML_NS = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"


def _client(lab):
    admin = lab.creds["admin"]
    transport = HttpTransport(lab.pap.url, client_cert=admin.cert, client_key=admin.key, ca_path=lab.ca_dir,
                              timeout=60)
    return PapClient(transport, server_label="localhost:%d" % lab.pap.port)


def _target(lab, serial, applied, state):
    ctx = types.SimpleNamespace(params={"max_retries": 3}, sync_name="status", check_mode=False,
                                list_serial=serial, applied_at=applied, target_state=lambda name: state)
    return ArgusTarget({"name": "pap", "alias": "default", "public": True, "max_request_bytes": 16 * 1024}, ctx,
                       client=_client(lab))


def _descriptions(lab):
    root = rawclient.call(lab.pap.service("XACMLPolicyManagementService"), "listPolicies", [("papAlias", "default")],
                          cred=lab.creds["admin"], ca_dir=lab.ca_dir)
    return sorted(d.text for d in root.iter("{%s}Description" % XACML_NS) if "suspension_list_sync: status" in d.text)


def _wanted(names):
    return sl_merge.merge([("list", [sl_entries.Entry("dn", "%s/CN=%s" % (BASE, name)) for name in names])])


def test_status_reads_serial_applied_entries_and_canary_from_the_pap(argus_pap):
    lab = argus_pap
    state = {}
    names = ["user %03d" % i for i in range(60)] + ["Canary"]
    canary = [sl_entries.Entry("dn", "%s/CN=Canary" % BASE)]
    assert _target(lab, 7, "2026-12-07T10:00:00Z", state).sync(_wanted(names), check_mode=False)["changed"]
    descriptions = _descriptions(lab)
    assert len(descriptions) > 1 and all(d.endswith(" serial=7 applied=2026-12-07T10:00:00Z") for d in descriptions)
    status = _target(lab, None, "2026-12-07T11:00:00Z", state).status(canary)
    assert status == {"serial": 7, "applied": "2026-12-07T10:00:00Z", "entries": 61, "canary_present": True,
                      "problems": []}

    # a no-op writes nothing: the Description keeps the serial and time of the last write
    assert not _target(lab, 8, "2026-12-07T12:00:00Z", state).sync(_wanted(names), check_mode=False)["changed"]
    assert _descriptions(lab) == descriptions

    # a change records the new serial (an unsigned list: none) in what it writes
    fewer = _wanted(names[1:])
    assert _target(lab, None, "2026-12-07T13:00:00Z", state).sync(fewer, check_mode=False)["changed"]
    status = _target(lab, None, "2026-12-07T14:00:00Z", state).status(canary)
    assert (status["serial"], status["applied"], status["entries"], status["canary_present"]) == (
        None, "2026-12-07T13:00:00Z", 60, True)

    # a site Permit for the canary evaluated before the owned PolicySet: the ban no longer takes effect
    client = _client(lab)
    client.add_rule("default", True, ["subject=%s/CN=Canary" % BASE], ".*", ".*", obligation_scope="action")
    tree = client.get_tree("default")
    owned = [ref for kind, ref in tree.root.references
             if (tree.policy_sets[ref].description or "").startswith("gridsec.ops suspension_list_sync: status")]
    site = [ref for kind, ref in tree.root.references if ref not in owned]
    client.move("default", site[0], owned[0], False)
    assert _target(lab, None, "2026-12-07T15:00:00Z", state).status(canary)["canary_present"] is False
