# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""A large list never half-applies on an Argus PAP (issue #20 item 4).

The sync's ``argus`` target writes a large list in chunks under ``max_request_bytes``. Whatever write fails part-way
("request too large": the lab PAP answering as the real one does when a request exhausts its Java heap; "connection
cut after send": the request reached the PAP and was applied, the reply never came back), what the PAP enforces,
read back over the wire and followed from the root PolicySet as a PDP evaluates it, is the whole previous list or
(a cut reply to the commit itself) the whole new list; never an empty owned PolicySet, never a mix. The next run
repairs it and leaves no unreferenced owned policy behind.

Size: 10,000 entries with ``max_request_bytes`` 128 KiB, i.e. ~50 chunks per write: the same write path, with as
many requests, as 100,000 entries at the 1 MiB default (~60 chunks), at a tenth of the suite's time (a module run at
100,000 entries takes minutes on the shared CI machine).
"""
import pytest

from gridsec_lab import faults
from gridsec_lab.argus import rawclient
from _hardening import argus_conn, run_module

pytestmark = pytest.mark.slow

XACML_NS = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"
N = 10000
CHUNK = 128 * 1024
OWNER = "gridsec.ops suspension_list_sync: big "


def _dns(start, count):
    return ["/DC=test/DC=gridsec/OU=Users/CN=user %06d" % i for i in range(start, start + count)]


def _literal(dn):
    return ",".join(reversed(dn.strip("/").split("/")))


def _read(lab):
    """``(enforced literals, owned PolicySets, owned policy ids, referenced owned policy ids)`` read back through the
    lab's raw client: the Deny values of the policies reached from the root, as a PDP evaluates them."""
    def call(operation):
        return rawclient.call(lab.pap.service("XACMLPolicyManagementService"), operation, [("papAlias", "default")],
                              cred=lab.creds["admin"], ca_dir=lab.ca_dir)

    def description(element):
        found = element.find("{%s}Description" % XACML_NS)
        return found.text if found is not None else ""

    root_id = call("getRootPolicySet").find(".//{%s}PolicySet" % XACML_NS).get("PolicySetId")
    sets = dict((ps.get("PolicySetId"), ps) for ps in call("listPolicySets").iter("{%s}PolicySet" % XACML_NS))
    policies = dict((p.get("PolicyId"), p) for p in call("listPolicies").iter("{%s}Policy" % XACML_NS))
    enforced, referenced = [], set()
    for ref in sets[root_id].iter("{%s}PolicySetIdReference" % XACML_NS):
        for pref in sets[ref.text.strip()].iter("{%s}PolicyIdReference" % XACML_NS):
            policy = policies.get(pref.text.strip())
            if policy is None:
                continue
            referenced.add(pref.text.strip())
            enforced.extend(v.text for rule in policy.iter("{%s}Rule" % XACML_NS) if rule.get("Effect") == "Deny"
                            for v in rule.iter("{%s}AttributeValue" % XACML_NS))
    owned_sets = [i for i, ps in sets.items() if description(ps).startswith(OWNER)]
    owned = set(i for i, p in policies.items() if description(p).startswith(OWNER))
    return sorted(enforced), owned_sets, owned, referenced & owned


def _sync(tmp_path, lab, port, dns, **target):
    listfile = tmp_path / "list.txt"
    listfile.write_text("\n".join(dns) + "\n")
    args = {"name": "big", "state_dir": str(tmp_path / "state"), "max_shrink_fraction": 1,
            "sources": [{"name": "list", "type": "plain", "path": str(listfile)}],
            "targets": [dict({"name": "pap", "type": "argus", "max_request_bytes": CHUNK}, **target)]}
    return run_module(tmp_path, "suspension_list_sync", args, argus_conn(lab, port, retries=0, timeout=60), "argus",
                      timeout=600)


def _proxy(lab, argus_pki):
    return faults.FaultProxy("127.0.0.1", lab.pap.port, server_cred=argus_pki.host("fault-proxy"),
                             upstream_cred=lab.creds["admin"], upstream_ca=lab.ca_dir, client_ca=lab.ca_dir).start()


def test_large_list_request_too_large_and_cut_connection_never_half_apply(argus_pap, argus_pki, tmp_path):
    lab = argus_pap
    old = _dns(0, N)
    old_literals = sorted(_literal(dn) for dn in old)

    # a first sync whose first request is too large for the PAP: nothing is enforced and no owned PolicySet exists
    lab.server.max_request_bytes = CHUNK // 2
    result = _sync(tmp_path, lab, lab.pap.port, old)
    assert result.get("failed") and "storePolicy" in result["msg"] and "OutOfMemoryError" in result["msg"]
    enforced, owned_sets, _owned, _referenced = _read(lab)
    assert enforced == [] and owned_sets == []
    lab.server.max_request_bytes = None
    result = _sync(tmp_path, lab, lab.pap.port, old)
    assert not result.get("failed"), result.get("msg")
    assert result["targets"][0]["chunks"] > 40
    enforced, owned_sets, owned, referenced = _read(lab)
    assert enforced == old_literals and len(owned_sets) == 1 and owned == referenced

    # the change takes entries out of every chunk and adds some: the swap path (store, one updatePolicySet, remove)
    new = [dn for i, dn in enumerate(old) if i % 50] + _dns(N, 500)
    new_literals = sorted(_literal(dn) for dn in new)

    # request too large part-way: the previous list stays enforced
    lab.server.max_request_bytes = CHUNK // 2
    result = _sync(tmp_path, lab, lab.pap.port, new)
    lab.server.max_request_bytes = None
    assert result.get("failed") and "storePolicy" in result["msg"]
    assert _read(lab)[0] == old_literals

    # the connection cut after the third storePolicy was sent (the PAP stored it): the previous list stays enforced,
    # the stored chunk is an owned leftover nothing references
    with _proxy(lab, argus_pki) as proxy:
        proxy.set("http", rules=[("storePolicy", {"times": 2}), ("storePolicy", {"reset_after": 0, "times": 1})])
        result = _sync(tmp_path, lab, proxy.port, new)
        assert proxy.fired("reset_after 0")
    assert result.get("failed") and "storePolicy" in result["msg"], result.get("msg")
    enforced, owned_sets, owned, referenced = _read(lab)
    assert enforced == old_literals and len(owned_sets) == 1 and owned - referenced

    # the connection cut after the commit (updatePolicySet) was sent: the PAP applied it, the whole new list is in
    # force (never a mix)
    with _proxy(lab, argus_pki) as proxy:
        proxy.set("http", rules=[("updatePolicySet", {"reset_after": 0, "times": 1})])
        result = _sync(tmp_path, lab, proxy.port, new)
        assert proxy.fired("reset_after 0")
    assert result.get("failed") and "updatePolicySet" in result["msg"], result.get("msg")
    assert _read(lab)[0] == new_literals

    # the next run repairs: the new list, no leftovers; then a no-op
    result = _sync(tmp_path, lab, lab.pap.port, new)
    assert not result.get("failed") and result["changed"], result.get("msg")
    enforced, owned_sets, owned, referenced = _read(lab)
    assert enforced == new_literals and len(owned_sets) == 1 and owned == referenced
    result = _sync(tmp_path, lab, lab.pap.port, new)
    assert not result.get("failed") and not result["changed"], result.get("msg")
