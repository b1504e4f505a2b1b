# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The Argus target's state record (``_sync/argus_state.OwnedRecord``): versions brought forward as argus-pap changes
them, and a record that is corrupt, of another format or not matching itself is never trusted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._sync.argus_state import OwnedRecord, bump, fingerprint


def _rule_id(kid):
    return "gridsec-sync-" + kid


def _record():
    sets = {"root": ["0", [("policyset", "site"), ("policyset", "ps")]], "site": ["4", [("policy", "p-site")]],
            "ps": ["3", [("policy", "p1"), ("policy", "p2")]]}
    policies = {"p1": ["2", [["k1", "subject", "CN=a"], ["k2", "subject", "CN=b"]]],
                "p2": ["1", [["k3", "fqan", "/vo/Role=x", "hand-made-id"]]]}
    return OwnedRecord(sets, policies, "ps")


def test_bump_is_argus_pap_version_bump():
    assert (bump("3"), bump("1.9"), bump(None), bump("x")) == ("4", "1.10", "1", "1")


def test_the_record_round_trips_through_json_and_rules_are_decoded_on_use():
    record = _record()
    saved = json.loads(json.dumps(record.to_state(extra="kept")))
    assert saved["extra"] == "kept" and isinstance(saved["policies"]["p1"][1], str)
    again = OwnedRecord.from_state(saved)
    assert again.fingerprint() == record.fingerprint() and again.chunk_ids() == ["p1", "p2"]
    assert again.rules("p2") == [["k3", "fqan", "/vo/Role=x", "hand-made-id"]]
    assert again.root_id() == "root"


@pytest.mark.parametrize("corrupt", [
    lambda r: r.update(format=2),
    lambda r: r.pop("sets"),
    lambda r: r["sets"]["ps"].__setitem__(0, "9"),  # the fingerprint of the sets no longer matches
    lambda r: r["policies"].pop("p2"),  # a referenced owned policy without its rules
    lambda r: r["policies"]["p1"].__setitem__(1, [["k1"]]),
    lambda r: r.update(ps="nope"),
    lambda r: r.update(policies="x"),
])
def test_a_corrupt_record_is_not_trusted(corrupt):
    saved = json.loads(json.dumps(_record().to_state()))
    corrupt(saved)
    assert OwnedRecord.from_state(saved) is None
    assert OwnedRecord.from_state(None) is None and OwnedRecord.from_state([1]) is None


def test_a_malformed_rule_line_fails_when_decoded():
    saved = json.loads(json.dumps(_record().to_state()))
    saved["policies"]["p1"][1] = "k1\tsubject"
    with pytest.raises(ValueError):
        OwnedRecord.from_state(saved).rules("p1")


def test_writes_bring_the_versions_forward_as_argus_pap_does():
    record = _record()
    # addPolicies at index 0: one PolicySet bump per policy, references inserted in order
    record.add_policies("ps", 0, ["n1", "n2"], [[["k4", "subject", "CN=d"]], [["k5", "subject", "CN=e"]]])
    assert record.sets["ps"] == ["5", [("policy", "n1"), ("policy", "n2"), ("policy", "p1"), ("policy", "p2")]]
    # a rule removed: its policy bumped, no PolicySet changes
    before = copy.deepcopy(record.sets)
    record.remove_rule("gridsec-sync-k1", _rule_id)
    assert record.policies["p1"] == ["3", [["k2", "subject", "CN=b"]]] and record.sets == before
    # the last rule of a policy (by its recorded id): the policy goes with its reference, the PolicySet bumped
    record.remove_rule("hand-made-id", _rule_id)
    assert "p2" not in record.policies and record.sets["ps"][0] == "6" and ("policy", "p2") not in record.sets["ps"][1]
    # updatePolicySet / updatePolicy store the version sent
    record.update_policy_set("ps", "7", [("policy", "n1"), ("policy", "p1")])
    record.update_policy("p1", "9", [])
    assert record.sets["ps"][0] == "7" and record.policies["p1"][0] == "9" and record.exact
    # addPolicySet: the root bumped, the new PolicySet first
    record.add_policy_set("ps2", "1", [("policy", "n2")], 0)
    assert record.sets["root"] == ["1", [("policyset", "ps2"), ("policyset", "site"), ("policyset", "ps")]]
    # a rule the record does not know: the effect is not predicted, the record is not kept
    record.remove_rule("unknown", _rule_id)
    assert not record.exact


def test_a_literal_the_encoding_cannot_hold_keeps_no_record():
    record = _record()
    record.policies["p1"][1].append(["k9", "subject", "CN=tab\there"])
    assert record.to_state() is None
    assert fingerprint({}) == fingerprint({})
