# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""argus_policy must never report success over a wrong result (issue 6, items 1.3, 1.4, 1.6, 1.8, 1.10 and the
visibility of the policies it creates), checked against the lab PAP.

The playbooks under playbooks/argus_policy_trust_*.yml hold the module-level asserts; the tests here check the
PAP's state a second, independent way (hand-written SOAP envelopes posted with ``requests``).
"""
import os
import sys

import requests
from lxml import etree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_argus_modules import conn, raw_list_rules, run_playbook  # noqa: E402 pylint: disable=wrong-import-position

XACML_NS = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"
SUBJECT_ID = "urn:oasis:names:tc:xacml:1.0:subject:subject-id"

DN_WEIRD = "/DC=test/DC=gridsec/OU=Users/CN=O'Neil \"Bob\" <b&b> Smith"
DN_PLAIN = "/DC=test/DC=gridsec/OU=Users/CN=Jane Doe"
CERN_STYLE = "/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdoe/CN=123456/CN=John Doe"


def raw_policy_ids(lab, pap, alias="default"):
    """PolicyIds of listPolicies, through a hand-written envelope."""
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Body><pap:listPolicies xmlns:pap="http://services.pap.authz.glite.org">'
        '<papAlias>%s</papAlias></pap:listPolicies></soapenv:Body></soapenv:Envelope>' % alias
    )
    admin = lab.creds["admin"]
    reply = requests.post(pap.url + "/XACMLPolicyManagementService", data=envelope.encode("utf-8"),
                          headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
                          cert=(admin.cert, admin.key), verify=lab.pki.ca_cert_path, timeout=30)
    assert reply.status_code == 200, reply.text
    root = etree.fromstring(reply.content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    return [p.get("PolicyId") for p in root.iter("{%s}Policy" % XACML_NS)]


def test_bad_input_is_refused_before_anything_is_sent(argus_pap, tmp_path):
    """1.3 a DN string is not split into one-RDN bans, single-RDN subjects need allow_single_rdn; 1.4 unknown rule
    attributes are refused; 1.6 an empty ban list fails unless allow_empty."""
    lab, pap = argus_pap, argus_pap.pap
    run_playbook("argus_policy_trust_input.yml", {"conn": conn(lab, pap)}, tmp_path)
    assert raw_list_rules(lab, pap) == []


def test_normalized_is_slash_form_and_dn_equal_test_finds_the_ban(argus_pap, tmp_path):
    """1.8 normalized is the slash form also for DNs with quotes and < >; 2: the dn_equal test plugin."""
    lab, pap = argus_pap, argus_pap.pap
    run_playbook("argus_policy_trust_normalized.yml", {"conn": conn(lab, pap), "subject": DN_WEIRD,
                                                       "plain": DN_PLAIN}, tmp_path)
    stored = sorted(value for _effect, attrs in raw_list_rules(lab, pap) for _id, value in attrs)
    assert stored == sorted(["CN=O'Neil \"Bob\" <b&b> Smith,OU=Users,DC=gridsec,DC=test",
                             "CN=Jane Doe,OU=Users,DC=gridsec,DC=test"])


def test_proxy_dns_are_banned_as_their_end_entity(argus_pap, tmp_path):
    """1.10 a ban of a proxy DN never fires (the PEP matches the end-entity DN): the proxy CNs are stripped."""
    lab, pap = argus_pap, argus_pap.pap
    proxies = [
        CERN_STYLE + "/CN=1234567890",                              # RFC 3820, as in PanDA's prodUserID
        DN_PLAIN + "/CN=proxy",                                     # legacy full proxy
        "CN=limited proxy,CN=proxy,CN=Bob Smith,OU=Users,DC=gridsec,DC=test",  # legacy limited, RFC 2253
    ]
    end_entities = [CERN_STYLE, DN_PLAIN, "/DC=test/DC=gridsec/OU=Users/CN=Bob Smith"]
    # known proxy subjects: numeric CNs are stripped only on request (strip_proxy_rdns=all, issue 14 item 1)
    extravars = {"conn": conn(lab, pap), "proxy_subjects": proxies, "end_entities": end_entities, "strip": "all"}
    run_playbook("argus_policy_trust_proxy.yml", extravars, tmp_path)
    assert sorted(value for _effect, attrs in raw_list_rules(lab, pap) for _id, value in attrs) == sorted([
        "CN=John Doe,CN=123456,CN=jdoe,OU=Users,OU=Organic Units,DC=cern,DC=ch",
        "CN=Jane Doe,OU=Users,DC=gridsec,DC=test",
        "CN=Bob Smith,OU=Users,DC=gridsec,DC=test",
    ])
    run_playbook("argus_policy_trust_proxy.yml", dict(extravars, unban_too=True), tmp_path)
    assert raw_list_rules(lab, pap) == []


def test_private_rule_is_private_for_the_pap(argus_pap, tmp_path):
    """The XACML service names new policies "<prefix>-<uuid>" but the PAP decides visibility by splitting the id on
    "_": a policy created with the prefix "private" would be public and exported to every pulling PAP."""
    lab, pap = argus_pap, argus_pap.pap
    run_playbook("argus_policy_trust_private.yml", {"conn": conn(lab, pap)}, tmp_path)
    ids = raw_policy_ids(lab, pap)
    assert len(ids) == 1
    tokens = [t for t in ids[0].split("_")]
    while len(tokens) > 1 and tokens[-1] == "":
        tokens.pop()
    assert len(tokens) > 1 and tokens[0] == "private", ids  # PolicyWizard.isPublic(id) is false


def test_bulk_ban_places_rules_like_ban_calls(argus_pap, tmp_path):
    """Issue 10: many bans in one task are one version-locked updatePolicy (after one ban that creates the policy)
    and leave the PAP exactly as the same number of ban calls would."""
    lab, pap = argus_pap, argus_pap.pap
    first = ["/DC=test/DC=gridsec/OU=Bulk/CN=User %02d" % i for i in range(15)]
    second = ["/DC=test/DC=gridsec/OU=Bulk/CN=Other %02d" % i for i in range(12)]
    run_playbook("argus_policy_bulk.yml", {"conn": conn(lab, pap), "first_batch": first, "second_batch": second},
                 tmp_path)
    stored = [attrs for _effect, attrs in raw_list_rules(lab, pap)]
    expected = ["CN=%s,OU=Bulk,DC=gridsec,DC=test" % dn.rsplit("/CN=", 1)[1] for dn in reversed(first + second)]
    assert stored == [[(SUBJECT_ID, literal)] for literal in expected]
    assert len(raw_policy_ids(lab, pap)) == 1


def test_bans_and_a_rule_in_one_task_on_an_empty_alias(argus_pap, tmp_path):
    """A ban that creates its policy leaves it at version 1 (BanOperation): the rule's version-locked update that
    follows in the same task must lock that version, not a bumped one (it used to fail with a version conflict
    after the ban was written)."""
    lab, pap = argus_pap, argus_pap.pap
    run_playbook("argus_policy_bans_and_rules.yml", {"conn": conn(lab, pap)}, tmp_path)
    rules = raw_list_rules(lab, pap)
    assert len(rules) == 2, rules
    assert sorted(effect for effect, _attrs in rules) == ["Deny", "Permit"]


def test_ban_and_rerun_make_only_the_calls_that_verify_something(argus_pap, tmp_path):
    """Issue 10 1.3 (fan-out): a ban is the tree read (two calls), the alias check, the ban and one read of the
    policy the ban reply names (for the new rule's id and a concurrent writer); the idempotent re-run is the tree
    read alone. What the module reports stays what the PAP holds."""
    import json
    lab, pap = argus_pap, argus_pap.pap
    out = tmp_path / "results.json"
    playbook = tmp_path / "ban_twice.yml"
    playbook.write_text(json.dumps([{
        "name": "Ban twice", "hosts": "localhost", "gather_facts": False,
        "module_defaults": {"group/gridsec.ops.argus": "{{ conn }}"},
        "tasks": [
            {"name": "first", "gridsec.ops.argus_policy": {"subjects": [DN_PLAIN]}, "register": "first"},
            {"name": "again", "gridsec.ops.argus_policy": {"subjects": [DN_PLAIN]}, "register": "again"},
            {"name": "another", "gridsec.ops.argus_policy": {"subjects": [CERN_STYLE]}, "register": "another"},
            {"name": "save", "ansible.builtin.copy": {"dest": str(out),
                                                      "content": "{{ [first, again, another] | to_json }}"}},
        ]}]))
    run_playbook(str(playbook), {"conn": conn(lab, pap)}, tmp_path)
    first, again, another = json.loads(out.read_text())
    ban_calls = ["listPolicySets", "listPolicies", "getAllPaps", "ban", "getPolicy"]
    assert [r["operation"] for r in first["requests"]] == ban_calls
    assert [r["operation"] for r in again["requests"]] == ["listPolicySets", "listPolicies"]
    assert [r["operation"] for r in another["requests"]] == ban_calls   # into the policy the first ban made
    assert (first["changed"], again["changed"], another["changed"]) == (True, False, True)
    assert not first.get("warnings") and not another.get("warnings")
    jane = "CN=Jane Doe,OU=Users,DC=gridsec,DC=test"
    john = "CN=John Doe,CN=123456,CN=jdoe,OU=Users,OU=Organic Units,DC=cern,DC=ch"
    # banned_subjects: the rules the PAP holds, newest first, with the ids the PAP gave them
    assert [b["value"] for b in another["banned_subjects"]] == [john, jane]
    assert raw_list_rules(lab, pap) == [("Deny", [(SUBJECT_ID, john)]), ("Deny", [(SUBJECT_ID, jane)])]
    assert again["banned_subjects"] == first["banned_subjects"]
    assert another["banned_subjects"][1] == first["banned_subjects"][0]
    assert len(set(b["rule_id"] for b in another["banned_subjects"])) == 2
    assert not any(b["rule_id"].startswith("(new") or b["policy_id"].startswith("(new")
                   for b in another["banned_subjects"])
    assert raw_policy_ids(lab, pap) == [first["banned_subjects"][0]["policy_id"]]
