# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""A change costs what it changes on an Argus PAP (issue #20 item 1).

suspension_list_sync's ``argus`` target records in its state what it owns on the PAP (every PolicySet's version and
references, per owned policy its version and rules). A run whose one ``listPolicySets`` shows the PolicySets as
recorded plans a change from that record (``read: state``: no ``listPolicies``) and writes it rule by rule; the
record is brought forward from the replies, so the run after a write is proven by the versions too. Whenever the
record does not hold (another writer, a missing or corrupt state, the schedule, a write that failed or found a rule
gone) the alias is read in full and repaired.

Every check reads the PAP back through the lab's raw SOAP client (independent of the collection's client) and counts
the calls in the lab PAP's dispatcher.
"""
import json

import pytest

from gridsec_lab.argus import rawclient
from _hardening import argus_conn, run_module, run_tasks

pytestmark = pytest.mark.slow

XACML_NS = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"
N = 3000
CHUNK = 128 * 1024  # ~15 owned policies: removals spread over the list fall in different ones
OWNER = "gridsec.ops suspension_list_sync: small "
WRITES = ("addPolicies", "addPolicySet", "storePolicy", "updatePolicy", "updatePolicySet", "removePolicy",
          "removeObjectByIdAndReferences", "move")


def _dns(start, count):
    return ["/DC=test/DC=gridsec/OU=Users/CN=user %06d" % i for i in range(start, start + count)]


def _literal(dn):
    return ",".join(reversed(dn.strip("/").split("/")))


class Calls(object):
    """The lab PAP's dispatcher, wrapped: the operation of every call, the request + reply bytes; ``before_write``
    runs once, in the PAP, just before the first write it sees (another writer racing the sync)."""

    def __init__(self, server):
        self.server = server
        self.original = server.dispatch
        server.dispatch = self.dispatch
        self.reset()

    def reset(self):
        self.ops, self.bytes, self.before_write = [], 0, None

    def dispatch(self, service, body, identity):
        op = body.split(b"Body", 1)[-1].split(b"<", 2)[1].split(b" ", 1)[0].split(b">", 1)[0]
        op = op.split(b":")[-1].decode("ascii", "replace")
        if op in WRITES and self.before_write is not None:
            hook, self.before_write = self.before_write, None
            hook(lambda operation, params: self.original("XACMLPolicyManagementService",
                                                         rawclient.envelope(operation, params), identity))
        reply = self.original(service, body, identity)
        self.ops.append(op)
        self.bytes += len(body) + len(reply)
        return reply


def _call(lab, operation, params):
    return rawclient.call(lab.pap.service("XACMLPolicyManagementService"), operation,
                          [("alias", "default")] + list(params), cred=lab.creds["admin"], ca_dir=lab.ca_dir)


def _read(lab):
    """``(enforced Deny literals, {literal: rule id} of the owned policies, owned policy ids referenced)``: followed
    from the root PolicySet as a PDP evaluates the alias."""
    root_id = _call(lab, "getRootPolicySet", []).find(".//{%s}PolicySet" % XACML_NS).get("PolicySetId")
    sets = dict((ps.get("PolicySetId"), ps) for ps in _call(lab, "listPolicySets", []).iter("{%s}PolicySet" % XACML_NS))
    policies = dict((p.get("PolicyId"), p) for p in _call(lab, "listPolicies", []).iter("{%s}Policy" % XACML_NS))
    enforced, rule_ids, owned = [], {}, []
    for ref in sets[root_id].iter("{%s}PolicySetIdReference" % XACML_NS):
        for pref in sets[ref.text.strip()].iter("{%s}PolicyIdReference" % XACML_NS):
            policy = policies.get(pref.text.strip())
            if policy is None:
                continue
            mine = (policy.findtext("{%s}Description" % XACML_NS) or "").startswith(OWNER)
            if mine:
                owned.append(policy.get("PolicyId"))
            for rule in policy.iter("{%s}Rule" % XACML_NS):
                values = [v.text for v in rule.iter("{%s}AttributeValue" % XACML_NS)]
                if rule.get("Effect") == "Deny":
                    enforced.extend(values)
                if mine:
                    rule_ids.update((v, rule.get("RuleId")) for v in values)
    return sorted(enforced), rule_ids, owned


def _sync(tmp_path, lab, dns, check=False, retries=0, name="small", **target):
    listfile = tmp_path / ("%s.txt" % name)
    listfile.write_text("\n".join(dns) + "\n")
    args = {"name": name, "state_dir": str(tmp_path / "state"), "max_shrink_fraction": 1,
            "sources": [{"name": "list", "type": "plain", "path": str(listfile)}],
            "targets": [dict({"name": "pap", "type": "argus", "max_request_bytes": CHUNK}, **target)]}
    conn = argus_conn(lab, lab.pap.port, retries=0, timeout=60, max_retries=retries)
    if check:
        return run_tasks(tmp_path, [("suspension_list_sync", args)], conn, "argus", check=True,
                         timeout=600).results["localhost"][0]
    return run_module(tmp_path, "suspension_list_sync", args, conn, "argus", timeout=600)


def _target(result):
    assert not result.get("failed"), result.get("msg")
    return result["targets"][0]


def _state_file(tmp_path):
    return tmp_path / "state" / "small.state.json"


def _edit_record(tmp_path, edit):
    path = _state_file(tmp_path)
    data = json.loads(path.read_text())
    edit(data["targets"]["pap"])
    path.write_text(json.dumps(data))


def test_small_change_is_planned_from_the_state_and_tampering_falls_back_to_the_full_read(argus_pap, tmp_path):
    lab = argus_pap
    calls = Calls(lab.server)
    base = _dns(0, N)
    assert _target(_sync(tmp_path, lab, base))["read"] == "full"
    enforced, rule_ids, owned = _read(lab)
    assert enforced == sorted(_literal(dn) for dn in base) and len(owned) > 10
    # the first sync's replies brought the record forward: the next no-op is one listPolicySets
    calls.reset()
    data = _target(_sync(tmp_path, lab, base))
    assert (data["read"], data["changed"], calls.ops) == ("versions", False, ["listPolicySets"])

    # a 10-entry change: 5 removed spread over the list (different owned policies), 5 added
    gone = [base[i] for i in range(0, N, N // 5)]
    new = [dn for dn in base if dn not in gone] + _dns(N, 5)
    # check mode first: the same operations planned, nothing written
    calls.reset()
    checked = _sync(tmp_path, lab, new, check=True)
    planned = _target(checked)["planned"]
    assert checked["changed"] and not [op for op in calls.ops if op in WRITES]
    assert _read(lab)[0] == sorted(_literal(dn) for dn in base)
    calls.reset()
    data = _target(_sync(tmp_path, lab, new))
    assert data["read"] == "state" and data["changed"]
    assert calls.ops[0] == "listPolicySets" and "listPolicies" not in calls.ops
    assert [op for op in calls.ops if op in WRITES] == planned
    assert calls.bytes < 200 * 1024
    assert sorted(e["value"] for e in data["added"]) == _dns(N, 5)
    assert sorted(e["rfc2253"] for e in data["removed"]) == sorted(_literal(dn) for dn in gone)
    assert (data["added_count"], data["removed_count"], data["after_count"]) == (5, 5, N)
    enforced, rule_ids, owned = _read(lab)
    assert enforced == sorted(_literal(dn) for dn in new)
    # the run after the write: proven by the versions the replies predicted
    calls.reset()
    assert _target(_sync(tmp_path, lab, new))["read"] == "versions" and calls.ops == ["listPolicySets"]

    # tampering: an owned policy removed outside the sync changes the owned PolicySet's version -> full read, repaired
    _call(lab, "removeObjectByIdAndReferences", [("id", owned[3])])
    assert _read(lab)[0] != sorted(_literal(dn) for dn in new)
    calls.reset()
    data = _target(_sync(tmp_path, lab, new))
    assert data["read"] == "full" and data["changed"] and "listPolicies" in calls.ops
    assert _read(lab)[0] == sorted(_literal(dn) for dn in new)

    # a rule removed by hand INSIDE an owned policy changes no PolicySet: the record still holds for the no-op ...
    victim = _literal(new[100])
    _call(lab, "removeObjectByIdAndReferences", [("id", _read(lab)[1][victim])])
    assert _target(_sync(tmp_path, lab, new))["read"] == "versions"
    # ... until the scheduled full read (full_read_interval), which repairs it
    _edit_record(tmp_path, lambda record: record["owned"].update(full_read_at=record["owned"]["full_read_at"] - 7200))
    data = _target(_sync(tmp_path, lab, new))
    assert data["read"] == "full" and data["added_count"] == 1
    assert _read(lab)[0] == sorted(_literal(dn) for dn in new)

    # a corrupt record, then a missing state file: the full read, the list as wanted
    _edit_record(tmp_path, lambda record: record["owned"]["policies"].popitem())
    data = _target(_sync(tmp_path, lab, base))
    assert data["read"] == "full" and data["changed"]
    assert _read(lab)[0] == sorted(_literal(dn) for dn in base)
    _state_file(tmp_path).unlink()
    calls.reset()
    data = _target(_sync(tmp_path, lab, new))
    assert data["read"] == "full" and data["changed"] and "listPolicies" in calls.ops
    assert _read(lab)[0] == sorted(_literal(dn) for dn in new)


def test_two_syncs_banning_the_same_dns_on_one_alias_change_after_a_full_read(argus_pap, tmp_path):
    """Two syncs of one list to one alias hold rules with the same ids: the record cannot be trusted, a change is
    planned after a full read and not recorded, and its additions go to a new policy (the last owned one is full).
    Writing them used to raise KeyError in the module after ``addPolicies`` (a crash half-way through the plan)."""
    lab = argus_pap
    calls = Calls(lab.server)
    base = _dns(0, 2000)
    big = 1024 * 1024  # two owned policies, the second over TAIL_BYTES: additions go to a third
    _target(_sync(tmp_path, lab, base, max_request_bytes=big))
    _target(_sync(tmp_path, lab, base, name="other", max_request_bytes=big))
    gone = base[:5]  # all in the first owned policy: rewritten in place, the additions in a new one
    new = [dn for dn in base if dn not in gone] + _dns(N, 5)
    calls.reset()
    data = _target(_sync(tmp_path, lab, new, max_request_bytes=big))
    assert data["read"] == "full" and data["changed"] and "addPolicies" in data["planned"]
    assert [op for op in calls.ops if op in WRITES] == data["planned"]
    enforced, rule_ids, _owned = _read(lab)
    # this sync's policies hold the new list; the other sync still bans what this one lifted
    assert sorted(rule_ids) == sorted(_literal(dn) for dn in new)
    assert sorted(set(enforced)) == sorted(_literal(dn) for dn in set(base) | set(new))
    again = _target(_sync(tmp_path, lab, new, max_request_bytes=big))
    assert not again["changed"] and again["planned"] == []
    assert not _target(_sync(tmp_path, lab, base, name="other", max_request_bytes=big))["changed"]


def test_a_concurrent_edit_between_read_and_write_is_refused_and_the_next_run_repairs(argus_pap, tmp_path):
    lab = argus_pap
    calls = Calls(lab.server)
    base = _dns(0, N)
    _target(_sync(tmp_path, lab, base))
    gone = [base[i] for i in range(0, N, N // 5)]
    new = [dn for dn in base if dn not in gone] + _dns(N, 5)
    # another writer removes one of the rules the change removes, after the sync's listPolicySets and before its
    # first write: the removal planned from the record finds the rule gone (NotFoundException)
    rule_ids = _read(lab)[1]
    calls.reset()
    calls.before_write = lambda call: call("removeObjectByIdAndReferences", [("alias", "default"),
                                                                             ("id", rule_ids[_literal(gone[2])])])
    result = _sync(tmp_path, lab, new, retries=0)
    assert result.get("failed") and "removeObjectByIdAndReferences" in result["msg"], result.get("msg")
    assert "listPolicies" not in calls.ops
    # no ban that stays was lifted: every kept entry is still enforced
    enforced = set(_read(lab)[0])
    assert set(_literal(dn) for dn in base if dn not in gone) <= enforced
    # the next run reads in full and repairs
    calls.reset()
    data = _target(_sync(tmp_path, lab, new))
    assert data["read"] == "full" and "listPolicies" in calls.ops
    assert _read(lab)[0] == sorted(_literal(dn) for dn in new)

    # with retries, the same race is repaired in the same run (the retry reads in full)
    _target(_sync(tmp_path, lab, base))
    rule_ids = _read(lab)[1]
    calls.reset()
    calls.before_write = lambda call: call("removeObjectByIdAndReferences", [("alias", "default"),
                                                                             ("id", rule_ids[_literal(gone[3])])])
    data = _target(_sync(tmp_path, lab, new, retries=1))
    assert data["attempts"] == 2 and data["conflicts"] and data["read"] == "full" and "listPolicies" in calls.ops
    assert _read(lab)[0] == sorted(_literal(dn) for dn in new)
