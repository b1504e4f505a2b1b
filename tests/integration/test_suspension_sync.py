# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Integration tests of suspension_list_sync against the lab PAP hierarchy, the lab and the real PanDA, and ban files.

pytest arranges the situation (lists, site rules, PanDA users), runs ansible-playbook on
tests/integration/playbooks/suspension_sync_*.yml, then checks what the servers and files really hold with
independent readers: a hand-written SOAP envelope posted with ``requests`` for the PAP, psycopg for PanDA, plain
file reads for the ban files.
"""
import json
import os
import random
import re
import shlex
import stat
import string
import subprocess
import sys

import psycopg
import pytest
import requests
from lxml import etree
from psycopg import sql

from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import PapClient
from ansible_collections.gridsec.ops.plugins.module_utils._dn import DNError, parse_dn, parse_stored_dn
from ansible_collections.gridsec.ops.plugins.module_utils._panda.names import clean_user_id
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
from ansible_collections.gridsec.ops.plugins.module_utils._sync.argus import WRITE_OPS
from ansible_collections.gridsec.ops.plugins.module_utils._sync.files import parse_line

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PLAYBOOKS = os.path.join(HERE, "playbooks")
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
XACML_NS = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"
SUBJECT_ID = "urn:oasis:names:tc:xacml:1.0:subject:subject-id"
FQAN_ID = "http://glite.org/xacml/attribute/fqan"

BASE = "/DC=test/DC=gridsec-sync/OU=Users"
HOSTILE = [
    BASE + "/CN=O'Neil \"Bob\" <b&b> Smith",             # quotes and XML metacharacters
    "CN=Doe\\, John,OU=Users,DC=gridsec-sync,DC=test",    # RFC 2253 with an escaped comma
    BASE + "/CN=Jürgen Ñandú Øster",                       # non-ASCII
    BASE + "/CN=semi;colon+UID=sign\\back",                # other RFC 4514 specials (+: a multi-valued RDN)
    BASE + "/CN=semi;colon+plus sign=equal\\back",        # other RFC 4514 specials (no unknown attribute type)
    BASE + "".join("/OU=unit-%02d-%s" % (i, "x" * 40) for i in range(20)) + "/CN=Very Long",  # ~1 kB DN
]
HOSTILE_FQAN = "/dteam/Role=compromised"


def letters(n=6):
    return "".join(random.choice(string.ascii_lowercase) for _ in range(n))


def run(tmp_path, sync_args, connection=None, args=(), expect_failure=False, playbook="suspension_sync_run.yml"):
    """Run a playbook; returns the module result saved by suspension_sync_run.yml (or None)."""
    result_file = tmp_path / ("result-%s.json" % letters())
    extravars = {"sync_args": sync_args, "conn": connection or {}, "result_file": str(result_file),
                 "expect_failure": expect_failure}
    vars_file = tmp_path / ("vars-%s.json" % letters())
    vars_file.write_text(json.dumps(extravars))
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"), ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    cmd = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
           "-e", "@%s" % vars_file, os.path.join(PLAYBOOKS, playbook)] + list(args)
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900,
                          check=False)
    if proc.returncode != 0:
        pytest.fail("%s exited %d:\n%s" % (playbook, proc.returncode, proc.stdout[-20000:]))
    if result_file.exists():
        result = json.loads(result_file.read_text())
        result["_stdout"] = proc.stdout
        return result
    return {"_stdout": proc.stdout}


def conn(lab, pap, cred="admin"):
    credential = lab.creds[cred]
    return {"pap_host": "localhost", "pap_port": pap.port, "pap_path": "/pap/services",
            "client_cert": credential.cert, "client_key": credential.key, "ca_path": lab.ca_dir}


def pap_client(lab, pap, cred="admin"):
    c = lab.creds[cred]
    transport = HttpTransport(pap.url, client_cert=c.cert, client_key=c.key, ca_path=lab.ca_dir)
    return PapClient(transport, server_label="localhost:%d" % pap.port)


def raw_rules(lab, pap, alias="default"):
    """Every rule of the alias in reply order, through a hand-written listPolicies envelope:
    [(policy description, effect, [(attribute id, value)])]."""
    envelope = ('<?xml version="1.0" encoding="UTF-8"?>'
                '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
                '<pap:listPolicies xmlns:pap="http://services.pap.authz.glite.org"><papAlias>%s</papAlias>'
                '</pap:listPolicies></soapenv:Body></soapenv:Envelope>' % alias)
    admin = lab.creds["admin"]
    reply = requests.post(pap.url + "/XACMLPolicyManagementService", data=envelope.encode("utf-8"),
                          headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
                          cert=(admin.cert, admin.key), verify=lab.pki.ca_cert_path, timeout=60)
    assert reply.status_code == 200, reply.text[:2000]
    root = etree.fromstring(reply.content, parser=etree.XMLParser(resolve_entities=False, no_network=True,
                                                                  huge_tree=True))
    out = []
    for policy in root.iter("{%s}Policy" % XACML_NS):
        desc = policy.find("{%s}Description" % XACML_NS)
        for rule in policy.iter("{%s}Rule" % XACML_NS):
            attrs = []
            for match in rule.iter("{%s}SubjectMatch" % XACML_NS):
                attrs.append((match.find("{%s}SubjectAttributeDesignator" % XACML_NS).get("AttributeId"),
                              match.find("{%s}AttributeValue" % XACML_NS).text))
            out.append((desc.text if desc is not None else None, rule.get("Effect"), attrs))
    return out


def synced_literals(lab, pap, sync_name, alias="default"):
    """The attribute values, exactly as stored, of the deny rules in the policy owned by ``sync_name``."""
    found = set()
    for desc, effect, attrs in raw_rules(lab, pap, alias):
        if desc and ("suspension_list_sync: %s " % sync_name) in desc:
            assert effect == "Deny" and len(attrs) == 1
            attr, value = attrs[0]
            found.add(("dn" if attr == SUBJECT_ID else "fqan", value))
    return found


def literals_of(values):
    """What the PAP stores for each value: a DN as the literal it makes of the slash form (what pap-admin ban,
    argus_policy and the sync store), an FQAN as given."""
    out = set()
    for value in values:
        if value.startswith("/") and "=" not in value[1:].split("/")[0]:
            out.add(("fqan", value))
        else:
            out.add(("dn", parse_dn(value).to_pap_literal()))
    return out


def keys_of(values):
    out = set()
    for value in values:
        if value.startswith("/") and "=" not in value[1:].split("/")[0]:
            out.add(("fqan", value))
        else:
            out.add(("dn", parse_dn(value).canonical()))
    return out


def generated(n, tag="gen"):
    return ["%s/CN=%s user %06d" % (BASE, tag, i) for i in range(n)]


def write_yaml(path, entries):
    lines = ["version: 1", "origin: central test list", "entries:" if entries else "entries: []"]
    for item in entries:
        if isinstance(item, str):
            item = {"fqan": item} if item == HOSTILE_FQAN else {"dn": item}
        lines.append("  - " + json.dumps(item, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def base_args(tmp_path, name, sources, targets, **extra):
    args = {"name": name, "sources": sources, "targets": targets, "state_dir": str(tmp_path / "state")}
    args.update(extra)
    return args


def yaml_source(path, **extra):
    source = {"name": "central", "type": "yaml", "path": path}
    source.update(extra)
    return source


def audit_lines(tmp_path, name):
    path = tmp_path / "state" / ("%s.audit.jsonl" % name)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ---- Argus target -----------------------------------------------------------------------------------------------

def test_argus_first_sync_resync_change_and_site_rules(argus_pap, tmp_path):
    lab, pap = argus_pap, argus_pap.pap
    client = pap_client(lab, pap)
    # the site's own rules: a ban made with pap-admin-style HL ban and a permit for everyone
    manual_ban = BASE + "/CN=Manually Banned"
    client.ban("default", "subject", manual_ban)
    client.add_rule("default", True, ["subject=" + BASE + "/CN=Site Friend"], ".*", ".*", obligation_scope="action")
    site_before = [r for r in raw_rules(lab, pap) if not (r[0] or "").startswith("gridsec.ops")]

    wanted = generated(40) + HOSTILE + [HOSTILE_FQAN]
    listfile = write_yaml(tmp_path / "list.yml", wanted)
    sync_args = base_args(tmp_path, "central", [yaml_source(listfile)],
                          [{"name": "site-pap", "type": "argus"}])
    run(tmp_path, sync_args, conn(lab, pap), playbook="suspension_sync_idempotent.yml")
    assert synced_literals(lab, pap, "central") == literals_of(wanted)
    site_after = [r for r in raw_rules(lab, pap) if not (r[0] or "").startswith("gridsec.ops")]
    assert site_after == site_before  # site rules untouched

    # the owned PolicySet is the first thing the alias evaluates
    tree = client.get_tree("default")
    first_ps = tree.policy_sets[tree.root.references[0][1]]
    assert (first_ps.description or "").startswith("gridsec.ops suspension_list_sync: central")

    # one entry added and one removed: predicted exactly by --check, then ONE updatePolicy
    changed = wanted[1:] + [BASE + "/CN=Newly Suspended"]
    write_yaml(tmp_path / "list.yml", changed)
    predicted = run(tmp_path, sync_args, conn(lab, pap), args=("--check", "--diff"))
    assert synced_literals(lab, pap, "central") == literals_of(wanted)  # check mode wrote nothing
    target = predicted["targets"][0]
    assert target["planned"] == ["updatePolicy"] and target["writes"] == 0
    assert [a["value"] for a in target["added"]] == [BASE + "/CN=Newly Suspended"]
    assert [r["value"] for r in target["removed"]] == [wanted[0]]
    assert "Newly Suspended" in predicted["diff"][0]["after"] and "gen user 000000" in predicted["diff"][0]["before"]
    applied = run(tmp_path, sync_args, conn(lab, pap))
    t = applied["targets"][0]
    assert applied["changed"] and t["writes"] == 1
    assert [op["operation"] for op in t["operations"] if op["operation"] != "getRootPolicySet"
            and not op["operation"].startswith("list")] == ["updatePolicy"]
    assert (t["added"], t["removed"]) == (target["added"], target["removed"])
    assert synced_literals(lab, pap, "central") == literals_of(changed)
    assert [r for r in raw_rules(lab, pap) if not (r[0] or "").startswith("gridsec.ops")] == site_before

    # an operator bans by hand after the sync: the ban lands outside the owned objects and survives re-syncs
    client.ban("default", "subject", BASE + "/CN=Later Manual Ban")
    again = run(tmp_path, sync_args, conn(lab, pap))
    assert not again["changed"] and again["targets"][0]["writes"] == 0
    values = [attrs[0][1] for desc, _e, attrs in raw_rules(lab, pap) if not (desc or "").startswith("gridsec.ops")]
    assert "CN=Later Manual Ban,OU=Users,DC=gridsec-sync,DC=test" in values
    assert synced_literals(lab, pap, "central") == literals_of(changed)


def owned_policy(client, sync_name, alias="default"):
    tree = client.get_tree(alias)
    return [p for p in tree.policies.values()
            if (p.description or "").startswith("gridsec.ops suspension_list_sync: %s " % sync_name)][0]


def test_argus_rules_hold_the_pap_literal_and_old_escaped_rules_migrate_in_one_update(argus_pap, tmp_path):
    """Item 12: the sync stores exactly the literal the PAP itself stores for a slash-form ban (canl: only ','
    escaped), and a PAP holding what older versions wrote (full RFC 4514 escapes) is migrated by one
    updatePolicy: reported once, no ban lifted in between, idempotent afterwards."""
    lab, pap = argus_pap, argus_pap.pap
    client = pap_client(lab, pap)
    tom = "/DC=test/DC=gridsec-sync/O=Test/CN=Tom & Jerry <tj>"
    dns = [tom] + HOSTILE + generated(3)
    # what the PAP stores when it bans each slash form itself (pap-admin ban / HL ban), then lifted again
    for dn in dns:
        client.ban("default", "subject", parse_dn(dn).to_openssl())
    literals = set(attrs[0][1] for _desc, _effect, attrs in raw_rules(lab, pap))
    for literal in literals:
        client.unban("default", "subject", literal)
    assert raw_rules(lab, pap) == [] and len(literals) == len(dns)
    assert "CN=Tom & Jerry <tj>,O=Test,DC=gridsec-sync,DC=test" in literals
    # the collection writes the PAP's literal, except where that literal does not read back as the same DN (a
    # backslash in a value): there the RFC 2253 form, which the PAP stores as given
    expected = set(parse_dn(dn).to_pap_literal() for dn in dns)
    assert expected - literals == set(parse_dn(dn).to_rfc2253() for dn in HOSTILE if dn.endswith("\\back"))
    assert len(expected - literals) == 2 and all("\\" in v.replace("\\,", "") for v in literals - expected)

    listfile = write_yaml(tmp_path / "list.yml", dns + [HOSTILE_FQAN])
    sync_args = base_args(tmp_path, "literal", [yaml_source(listfile)],
                          [{"name": "pap", "type": "argus"},
                           {"name": "lcas", "type": "file", "format": "lcas", "path": str(tmp_path / "ban_users.db")},
                           {"name": "plain", "type": "file", "format": "plain", "path": str(tmp_path / "dns.txt")}])
    run(tmp_path, sync_args, conn(lab, pap))
    stored = [attrs[0] for _d, _e, attrs in raw_rules(lab, pap)]
    assert set(v for a, v in stored if a == SUBJECT_ID) == expected  # the PAP's own literal wherever it reads back
    assert (FQAN_ID, HOSTILE_FQAN) in stored
    # ban files hold the slash form their consumers compare (the certificate subject as OpenSSL prints it)
    assert '"/DC=test/DC=gridsec-sync/O=Test/CN=Tom & Jerry <tj>"' in (tmp_path / "ban_users.db").read_text()
    assert tom in (tmp_path / "dns.txt").read_text().splitlines()

    # the PAP as an older version left it: every subject with full RFC 4514 escapes (and its state without the
    # record of the owned objects this version keeps, so that the next run reads the alias in full)
    state_file = tmp_path / "state" / "literal.state.json"
    state = json.loads(state_file.read_text())
    state["targets"]["pap"].pop("owned")
    state_file.write_text(json.dumps(state))
    old = owned_policy(client, "literal")
    escape = dict((parse_dn(dn).to_pap_literal(), parse_dn(dn).to_rfc2253()) for dn in dns)
    for rule in old.rules:
        if rule.attributes[0].attribute_id_spl == "subject":
            rule.attributes[0].value = escape[rule.attributes[0].value]
    version, old.version = old.version, str(int(old.version) + 1)
    client.update_policy("default", version, old)
    escaped = set(a[1] for _d, _e, attrs in raw_rules(lab, pap) for a in attrs if a[0] == SUBJECT_ID)
    assert "CN=Tom & Jerry \\<tj\\>,O=Test,DC=gridsec-sync,DC=test" in escaped
    differing = len(expected - escaped)
    assert differing >= 2

    predicted = run(tmp_path, sync_args, conn(lab, pap), args=("--check",))
    target = predicted["targets"][0]
    assert predicted["changed"] and target["planned"] == ["updatePolicy"] and target["writes"] == 0
    assert (target["added_count"], target["removed_count"], target["rewritten_count"]) == (0, 0, differing)
    assert set(a[1] for _d, _e, attrs in raw_rules(lab, pap) for a in attrs if a[0] == SUBJECT_ID) == escaped
    migrated = run(tmp_path, sync_args, conn(lab, pap))
    target = migrated["targets"][0]
    assert migrated["changed"] and target["rewritten_count"] == differing
    # one version-checked replacement of the owned policy: no remove-then-add, so no ban is lifted in between
    assert [op["operation"] for op in target["operations"] if op["operation"] in WRITE_OPS] == ["updatePolicy"]
    assert (target["added_count"], target["removed_count"]) == (0, 0)
    assert not migrated["targets"][1]["changed"] and not migrated["targets"][2]["changed"]
    assert set(a[1] for _d, _e, attrs in raw_rules(lab, pap) for a in attrs if a[0] == SUBJECT_ID) == expected
    rewrites = [a for a in audit_lines(tmp_path, "literal") if a["action"] == "rewrite"]
    assert len(rewrites) == 2 * differing and [a["check_mode"] for a in rewrites].count(False) == differing
    assert any(a["stored"] == "CN=Tom & Jerry \\<tj\\>,O=Test,DC=gridsec-sync,DC=test" and a["entry"]["value"] == tom
               for a in rewrites)
    again = run(tmp_path, sync_args, conn(lab, pap))
    assert not again["changed"] and again["targets"][0]["rewritten_count"] == 0 and again["targets"][0]["writes"] == 0


def test_argus_owned_policy_is_moved_back_in_front_of_site_permits(argus_pap, tmp_path):
    lab, pap = argus_pap, argus_pap.pap
    client = pap_client(lab, pap)
    listfile = write_yaml(tmp_path / "list.yml", generated(3))
    sync_args = base_args(tmp_path, "order", [yaml_source(listfile)], [{"name": "pap", "type": "argus"}])
    run(tmp_path, sync_args, conn(lab, pap))
    # a site permit PolicySet is put in front of the owned one (as pap-admin add-policy / move could)
    client.add_rule("default", True, ["subject=" + BASE + "/CN=gen user 000001"], ".*", "site-resource",
                    obligation_scope="action")
    tree = client.get_tree("default")
    owned = [ref for _kind, ref in tree.root.references
             if (tree.policy_sets[ref].description or "").startswith("gridsec.ops")][0]
    site = [ref for _kind, ref in tree.root.references if ref != owned][0]
    client.move("default", site, owned, False)
    assert client.get_tree("default").root.references[0][1] == site
    predicted = run(tmp_path, sync_args, conn(lab, pap), args=("--check",))
    assert predicted["targets"][0]["planned"] == ["move"]
    assert client.get_tree("default").root.references[0][1] == site  # check mode moved nothing
    result = run(tmp_path, sync_args, conn(lab, pap))
    target = result["targets"][0]
    assert target["writes"] == 1 and target["placement"]["evaluated_before_site_permits"]
    assert client.get_tree("default").root.references[0][1] == owned
    again = run(tmp_path, sync_args, conn(lab, pap))
    assert not again["changed"] and again["targets"][0]["placement"]["root_index"] == 0


def test_argus_version_conflict_is_retried(argus_pap, tmp_path):
    lab, pap = argus_pap, argus_pap.pap
    listfile = write_yaml(tmp_path / "list.yml", generated(5))
    sync_args = base_args(tmp_path, "conflict", [yaml_source(listfile)], [{"name": "pap", "type": "argus"}])
    run(tmp_path, sync_args, conn(lab, pap))

    server = lab.server
    original = server.dispatch
    injected = []

    def racing_dispatch(service, body, identity):
        # another writer updates the owned policy between our read and our write, exactly once
        if b"updatePolicy" in body and not injected:
            with server.state.lock:
                store = server.state.store("default")
                for policy in store.policies.values():
                    if policy.get("Version"):
                        policy.set("Version", str(int(policy.get("Version")) + 1))
            injected.append(True)
        return original(service, body, identity)

    server.dispatch = racing_dispatch
    try:
        write_yaml(tmp_path / "list.yml", generated(6))
        result = run(tmp_path, sync_args, conn(lab, pap))
    finally:
        server.dispatch = original
    assert injected
    target = result["targets"][0]
    assert target["attempts"] == 2 and len(target["conflicts"]) == 1
    assert target["writes"] == 2  # the refused updatePolicy and the successful one
    assert synced_literals(lab, pap, "conflict") == literals_of(generated(6))

    # another writer removes the owned policy between our read and our write: the PAP answers false to
    # updatePolicy; that is a refused write (never reported as done), re-read, and the policy is added again
    removed = []

    def removing_dispatch(service, body, identity):
        if b"updatePolicy" in body and not removed:
            with server.state.lock:
                store = server.state.store("default")
                for policy_id in [pid for pid, policy in store.policies.items()
                                  if b"suspension_list_sync: conflict" in etree.tostring(policy)]:
                    del store.policies[policy_id]
                    removed.append(policy_id)
        return original(service, body, identity)

    server.dispatch = removing_dispatch
    try:
        write_yaml(tmp_path / "list.yml", generated(7))
        result = run(tmp_path, sync_args, conn(lab, pap))
    finally:
        server.dispatch = original
    assert removed
    target = result["targets"][0]
    assert target["attempts"] == 2 and "answered false to updatePolicy" in target["conflicts"][0]
    assert [op["operation"] for op in target["operations"] if op["operation"] in ("updatePolicy", "addPolicies")] \
        == ["updatePolicy", "addPolicies"]
    assert synced_literals(lab, pap, "conflict") == literals_of(generated(7))

    # a conflict on every attempt: bounded retries, then the run fails naming the target; the PAP keeps the last list
    def always_racing(service, body, identity):
        if b"updatePolicy" in body:
            with server.state.lock:
                for policy in server.state.store("default").policies.values():
                    if policy.get("Version"):
                        policy.set("Version", str(int(policy.get("Version")) + 1))
        return original(service, body, identity)

    server.dispatch = always_racing
    try:
        write_yaml(tmp_path / "list.yml", generated(8))
        result = run(tmp_path, dict(sync_args, max_retries=2), conn(lab, pap), expect_failure=True)
    finally:
        server.dispatch = original
    assert "target pap" in result["msg"] and "gave up after 3 attempt(s)" in result["msg"]
    assert not result["changed"] and result["targets"][0]["failed"]
    assert synced_literals(lab, pap, "conflict") == literals_of(generated(7))


def test_argus_central_to_site_through_hierarchy_source(argus_lab, tmp_path):
    """A central list (read from the central PAP over SOAP) reaches the site PAP's local alias."""
    lab = argus_lab
    central, site = lab.paps["central"], lab.paps["site"]
    client = pap_client(lab, central)
    dns = [BASE + "/CN=Central %s" % letters() for _ in range(3)]
    for dn in dns:
        client.ban("default", "subject", dn)
    client.ban("default", "fqan", "/dteam/Role=central-%s" % letters())
    client.add_rule("default", False, ["subject=" + BASE + "/CN=Compound", "fqan=/dteam"], ".*", ".*",
                    obligation_scope="action")
    sync_name = "hier-%s" % letters()
    sync_args = base_args(tmp_path, sync_name,
                          [{"name": "central", "type": "argus", "pap_port": central.port, "aliases": ["default"]}],
                          [{"name": "site", "type": "argus", "pap_port": site.port}])
    try:
        result = run(tmp_path, sync_args, conn(lab, central))
        assert result["sources"][0]["not_imported"], "the compound rule is reported"
        wanted = set()
        for _ps, _policy, rule in client.get_tree("default").iter_rules():
            if not (rule.deny and len(rule.attributes) == 1):
                continue
            value = rule.attributes[0].value
            if rule.attributes[0].attribute_id_spl == "fqan":
                wanted.add(("fqan", value))
                continue
            try:  # what the PAP stores for the slash form of the central DN (the same string for a slash-form ban)
                wanted.add(("dn", parse_stored_dn(value).to_pap_literal()))
            except DNError:
                continue  # not readable as a DN: reported in not_imported
        assert synced_literals(lab, site, sync_name) == wanted
        assert ("dn", parse_dn(dns[0]).to_pap_literal()) in wanted
        assert result["targets"][0]["placement"]["evaluated_before_site_permits"]
    finally:
        for dn in dns:
            client.unban("default", "subject", parse_dn(dn).to_pap_literal())
        site_client = pap_client(lab, site)
        tree = site_client.get_tree("default")
        for ps in tree.policy_sets.values():
            if (ps.description or "").startswith("gridsec.ops suspension_list_sync: %s " % sync_name):
                site_client.remove_object_by_id_and_references("default", ps.policy_set_id)


# ---- ban files --------------------------------------------------------------------------------------------------

FILE_TARGETS = [("lcas", "ban_users.db"), ("gplazma", "ban.conf"), ("plain", "banned-dns.txt")]


def file_targets(tmp_path, **extra):
    out = []
    for fmt, filename in FILE_TARGETS:
        target = {"name": fmt, "type": "file", "format": fmt, "path": str(tmp_path / "out" / filename)}
        target.update(extra)
        out.append(target)
    out.append({"name": "tmpl", "type": "file", "format": "template", "path": str(tmp_path / "out" / "custom.txt"),
                "template": "{kind}|{value}|{ticket}"})
    return out


def file_identities(path, fmt):
    out = set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parsed = parse_line(fmt, line.rstrip("\n"))
            if parsed is not None and not line.startswith("alias "):
                kind, value = parsed
                out.add((kind, value))
    return out


def test_ban_files_hostile_entries_round_trip_and_unchanged_files_kept(tmp_path):
    wanted = generated(10) + HOSTILE + [HOSTILE_FQAN]
    listfile = write_yaml(tmp_path / "list.yml", wanted)
    sync_args = base_args(tmp_path, "files", [yaml_source(listfile)], file_targets(tmp_path))
    run(tmp_path, sync_args, playbook="suspension_sync_idempotent.yml")
    slash = dict((parse_dn(v).canonical(), parse_dn(v).to_openssl()) for v in wanted if v != HOSTILE_FQAN)
    for fmt, filename in FILE_TARGETS:
        path = tmp_path / "out" / filename
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
        found = file_identities(path, fmt)
        dns = set((k, v) for k, v in found if k == "dn")
        # every DN, hostile ones included, is in the file exactly once, in slash form, and parses back to itself
        assert dns == set(("dn", s) for s in slash.values()), fmt
        wanted_dns = [v for v in wanted if v != HOSTILE_FQAN]
        assert set(("dn", parse_dn(v).canonical()) for _k, v in dns) == keys_of(wanted_dns)
        assert (("fqan", HOSTILE_FQAN) in found) == (fmt == "gplazma"), fmt
    lcas = (tmp_path / "out" / "ban_users.db").read_text(encoding="utf-8")
    assert '"%s"' % (BASE + "/CN=O'Neil \\\"Bob\\\" <b&b> Smith") in lcas
    assert '"/DC=test/DC=gridsec-sync/OU=Users/CN=Doe, John"' in lcas
    gplazma = (tmp_path / "out" / "ban.conf").read_text(encoding="utf-8")
    assert "alias dn=org.globus.gsi.gssapi.jaas.GlobusPrincipal" in gplazma and "ban fqan:%s" % HOSTILE_FQAN in gplazma
    custom = (tmp_path / "out" / "custom.txt").read_text(encoding="utf-8")
    assert "dn|%s|" % slash[parse_dn(HOSTILE[2]).canonical()] in custom

    # unchanged files are not rewritten (same inode, same mtime); a changed list rewrites each file once
    before = dict((f, os.stat(tmp_path / "out" / f)) for _fmt, f in FILE_TARGETS)
    result = run(tmp_path, sync_args)
    assert not result["changed"]
    for _fmt, filename in FILE_TARGETS:
        now = os.stat(tmp_path / "out" / filename)
        assert (now.st_ino, now.st_mtime_ns) == (before[filename].st_ino, before[filename].st_mtime_ns)
    write_yaml(tmp_path / "list.yml", wanted[1:])
    result = run(tmp_path, sync_args, args=("--diff",))
    for target in result["targets"]:
        assert target["writes"] == 1 and target["removed_count"] == 1 and target["added_count"] == 0
    assert all("gen user 000000" in d["before"] for d in result["diff"])
    for fmt, filename in FILE_TARGETS:
        assert ("dn", parse_dn(wanted[0]).to_openssl()) not in file_identities(tmp_path / "out" / filename, fmt)
    # a mode given by the operator is applied, and a mode change alone is a change without rewrite
    sync_args["targets"][2]["mode"] = "0644"
    result = run(tmp_path, sync_args)
    plain = result["targets"][2]
    assert plain["changed"] and plain["attributes_changed"] == ["mode"] and plain["added_count"] == 0
    assert stat.S_IMODE(os.stat(tmp_path / "out" / "banned-dns.txt").st_mode) == 0o644


# ---- safety rails -----------------------------------------------------------------------------------------------

def plain_target(tmp_path):
    return [{"name": "plain", "type": "file", "format": "plain", "path": str(tmp_path / "out" / "plain.txt")}]


def test_allow_list_patterns_and_override_are_applied_and_audited(tmp_path):
    admin = BASE + "/CN=Site Admin"
    service = "/DC=test/DC=gridsec-sync/OU=Services/CN=ce01.example.org"
    overridden = "/DC=test/DC=gridsec-sync/OU=Services/CN=compromised.example.org"
    wanted = generated(3) + [admin, service, overridden]
    listfile = write_yaml(tmp_path / "list.yml", wanted)
    sync_args = base_args(tmp_path, "allow", [yaml_source(listfile)], plain_target(tmp_path),
                          allow_list=["CN=Site Admin, OU=Users, DC=gridsec-sync, DC=test"],
                          allow_patterns=["^/DC=test/DC=gridsec-sync/OU=Services/"],
                          allow_override=[overridden])
    result = run(tmp_path, sync_args)
    assert sorted(p["value"] for p in result["protected"]) == sorted([admin, service])
    assert [o["value"] for o in result["overridden"]] == [overridden]
    written = file_identities(tmp_path / "out" / "plain.txt", "plain")
    assert ("dn", admin) not in written and ("dn", service) not in written and ("dn", overridden) in written
    audit = audit_lines(tmp_path, "allow")
    assert [(a["action"], a["entry"]["value"]) for a in audit if a["action"] == "allow_override"] == \
        [("allow_override", overridden)]
    assert stat.S_IMODE(os.stat(tmp_path / "state" / "allow.audit.jsonl").st_mode) == 0o600


def test_empty_failed_and_shrinking_sources_are_refused_and_targets_kept(tmp_path):
    listfile = write_yaml(tmp_path / "list.yml", generated(20))
    good = base_args(tmp_path, "guard", [yaml_source(listfile)], plain_target(tmp_path), max_shrink_count=5)
    run(tmp_path, good)
    path = tmp_path / "out" / "plain.txt"
    content = path.read_bytes()

    # empty source
    write_yaml(tmp_path / "list.yml", [])
    result = run(tmp_path, good, expect_failure=True)
    assert "empty list" in result["msg"] and result["guard"] and path.read_bytes() == content
    # invalid source: schema error rejects the whole source
    (tmp_path / "list.yml").write_text("version: 1\nentries:\n  - dn: /DC=x/CN=ok\n  - {dn: /DC=x/CN=y, colour: red}\n")
    result = run(tmp_path, good, expect_failure=True)
    assert "schema" in result["msg"] and "colour" in result["msg"] and path.read_bytes() == content
    # failed source: missing file; fails by default, uses the cache with on_source_failure=use_cache
    os.unlink(tmp_path / "list.yml")
    result = run(tmp_path, good, expect_failure=True)
    assert "source central failed" in result["msg"] and path.read_bytes() == content
    cached = dict(good, sources=[yaml_source(listfile, on_source_failure="use_cache")])
    result = run(tmp_path, cached)
    assert result["sources"][0]["status"] == "cached" and not result["changed"] and path.read_bytes() == content
    # shrink over the limit: 6 of 20 removed > max_shrink_count=5
    write_yaml(tmp_path / "list.yml", generated(14))
    result = run(tmp_path, good, expect_failure=True)
    assert "max_shrink_count=5" in result["msg"] and path.read_bytes() == content
    # within the limit it applies (5 removed), and the fraction guard works the same way
    write_yaml(tmp_path / "list.yml", generated(15))
    result = run(tmp_path, good)
    assert result["targets"][0]["removed_count"] == 5
    write_yaml(tmp_path / "list.yml", generated(10))
    result = run(tmp_path, dict(good, max_shrink_count=None, max_shrink_fraction=0.2), expect_failure=True)
    assert "max_shrink_fraction=0.2" in result["msg"]
    refusals = [a for a in audit_lines(tmp_path, "guard") if a["action"] == "refused"]
    assert len(refusals) == 5 and all(a["result"] == "refused" for a in refusals)


def test_expired_entries_are_removed_and_audit_log_records_every_change(tmp_path):
    entries = [{"dn": BASE + "/CN=Permanent", "reason": "compromised credential", "ticket": "SEC-1"},
               {"dn": BASE + "/CN=Expired", "expires": "2020-01-01T00:00:00Z", "ticket": "SEC-2"},
               {"dn": BASE + "/CN=Expiring Later", "expires": "2999-01-01", "ticket": "SEC-3"}]
    listfile = write_yaml(tmp_path / "list.yml", entries)
    sync_args = base_args(tmp_path, "expiry", [yaml_source(listfile)], plain_target(tmp_path))
    checked = run(tmp_path, sync_args, args=("--check",))
    assert not (tmp_path / "out" / "plain.txt").exists() and checked["changed"]
    result = run(tmp_path, sync_args)
    assert [e["value"] for e in result["expired"]] == [BASE + "/CN=Expired"]
    written = file_identities(tmp_path / "out" / "plain.txt", "plain")
    assert written == {("dn", BASE + "/CN=Permanent"), ("dn", BASE + "/CN=Expiring Later")}
    assert result["targets"][0]["added"] == checked["targets"][0]["added"]  # --check predicted exactly
    audit = audit_lines(tmp_path, "expiry")
    adds = [a for a in audit if a["action"] == "add"]
    assert [a["check_mode"] for a in adds] == [True, True, False, False]
    permanent = [a for a in adds if a["entry"]["value"] == BASE + "/CN=Permanent"][-1]
    assert permanent["reason"] == "compromised credential" and permanent["ticket"] == "SEC-1"
    assert permanent["origin"] == "central test list" and permanent["target"] == "file:plain"
    assert set(permanent) >= {"time", "user", "run", "result"}
    assert any(a["action"] == "expire" and a["entry"]["value"] == BASE + "/CN=Expired" for a in audit)
    # the results never carry the whole list unless asked
    assert "list" not in result
    listed = run(tmp_path, dict(sync_args, return_list=True))
    assert len(listed["list"]) == 2 and not listed["changed"]


# ---- PanDA target (lab PanDA and the real panda-server) ---------------------------------------------------------

PANDA_BASE = "/DC=test/DC=gridsec-lab/OU=Users"


def panda_db_args(ep):
    out = {"db_host": ep.db.host, "db_port": ep.db.port, "db_name": ep.db.dbname, "db_user": ep.db.user,
           "db_meta_schema": ep.db.meta_schema, "db_panda_schema": ep.db.panda_schema}
    if ep.db.password:
        out["db_password"] = ep.db.password
    return out


def panda_user(pki, label):
    tag = letters()
    dn = "%s/CN=%s%s/CN=%d/CN=%s %s" % (PANDA_BASE, label.lower().replace(" ", ""), tag, random.randint(1000, 9999),
                                        label, tag.capitalize())
    return pki.user(label + " " + tag, dn=dn), clean_user_id(dn)


def user_status(ep, name):
    query = sql.SQL("SELECT status FROM {}.users WHERE name = %s ORDER BY id").format(
        sql.Identifier(ep.db.meta_schema))
    with psycopg.connect(ep.db.dsn()) as db:
        return [row[0] for row in db.execute(query, (name,)).fetchall()]


def test_panda_ban_lift_only_own_bans_and_hostile_names(panda_endpoint, panda_pki, tmp_path):
    ep = panda_endpoint
    submitted, submitted_name = panda_user(panda_pki, "Sync Submitted")
    ep.submit_job(submitted)                        # has a users row from now on
    _never, never_name = panda_user(panda_pki, "Sync Never")
    manual, manual_name = panda_user(panda_pki, "Sync Manual")
    ep.submit_job(manual)
    with psycopg.connect(ep.db.dsn()) as db:         # an operator banned this one by hand
        db.execute(sql.SQL("UPDATE {}.users SET status = 'disabled' WHERE name = %s")
                   .format(sql.Identifier(ep.db.meta_schema)), (manual_name,))
    tag = letters()
    hostile = [PANDA_BASE + "/CN=O'Neil \"Bob\" <b&b> Smith %s" % tag, PANDA_BASE + "/CN=Jürgen Ñandú %s" % tag,
               "CN=Doe\\, John %s,OU=Users,DC=gridsec-lab,DC=test" % tag]
    hostile_names = [clean_user_id(parse_dn(dn).to_openssl()) for dn in hostile]
    assert hostile_names[0] == "ONeil \"Bob\" <b&b> Smith %s" % tag and hostile_names[2] == "Doe, John %s" % tag
    wanted = [submitted.dn, _never.dn, manual.dn] + hostile + [HOSTILE_FQAN]
    listfile = write_yaml(tmp_path / "list.yml", wanted)
    target = dict({"name": "panda", "type": "panda"}, **panda_db_args(ep))
    sync_args = base_args(tmp_path, "panda-%s" % tag, [yaml_source(listfile)], [target], max_shrink_fraction=1)
    try:
        run(tmp_path, sync_args, playbook="suspension_sync_idempotent.yml")
        for name in [submitted_name, never_name, manual_name] + hostile_names:
            assert user_status(ep, name) == ["disabled"], name
        state = json.loads((tmp_path / "state" / ("panda-%s.state.json" % tag)).read_text())
        owned = state["targets"]["panda"]["owned_bans"]
        assert manual_name not in owned and submitted_name in owned and hostile_names[1] in owned
        submission_error = None
        try:
            ep.submit_job(submitted)
        except Exception as err:  # pylint: disable=broad-exception-caught  # lab: PermissionError; real: 403
            submission_error = str(err)
        assert submission_error, "a suspended user could still submit"

        # the three come off the list: the sync lifts its own bans, never the operator's
        write_yaml(tmp_path / "list.yml", hostile + [HOSTILE_FQAN])
        result = run(tmp_path, sync_args, args=("--diff",))
        t = result["targets"][0]
        assert sorted(o["user"] for o in t["outcomes"]) == sorted([submitted_name, never_name])
        assert all(o["action"] == "unban" for o in t["outcomes"]) and t["skipped_fqans"] == 1
        assert user_status(ep, submitted_name) == [None] and user_status(ep, never_name) == [None]
        assert user_status(ep, manual_name) == ["disabled"]
        audit = audit_lines(tmp_path, "panda-%s" % tag)
        assert sorted(a["user_name"] for a in audit if a["action"] == "unban") == sorted([submitted_name, never_name])
    finally:
        with psycopg.connect(ep.db.dsn()) as db:
            for name in [submitted_name, never_name, manual_name] + hostile_names:
                db.execute(sql.SQL("UPDATE {}.users SET status = NULL WHERE name = %s")
                           .format(sql.Identifier(ep.db.meta_schema)), (name,))


def job_state(ep, panda_id):
    """(jobStatus, commandToPilot) read independently through the API as the admin, or None."""
    reply = requests.post("%s/api/v1/job/get_description_incl_archive" % ep.url, json={"job_ids": [panda_id]},
                          cert=(ep.admin.cert, ep.admin.key),
                          verify=os.path.join(os.path.dirname(ep.ca_path), "ca", "ca.pem"),
                          headers={"Accept": "application/json"}, timeout=60).json()
    assert reply["success"], reply
    data = reply["data"][0]
    return None if data is None else (data["jobStatus"], data.get("commandToPilot"))


def prodsys_command(ep, task_id):
    with psycopg.connect(ep.db.dsn()) as db:
        row = db.execute(sql.SQL("SELECT comm_cmd FROM {}.prodsys_comm WHERE comm_task = %s")
                         .format(sql.Identifier(ep.db.deft_schema)), (task_id,)).fetchone()
    return row[0] if row else None


def test_panda_kills_jobs_and_tasks_and_refuses_near_names(panda_endpoint, panda_pki, tmp_path):
    ep = panda_endpoint
    bad, bad_name = panda_user(panda_pki, "Sync Killed")
    task_id = ep.create_task(bad)
    queued = ep.submit_job(bad, jediTaskID=task_id)
    running = ep.submit_job(bad, jediTaskID=task_id)
    ep.set_job_status(running, "running")
    near, near_name = panda_user(panda_pki, "Sync Near")
    ep.submit_job(near)
    # the list has the near user's DN with another case: its PanDA name differs from the real one by case only
    lower_dn = PANDA_BASE + "/CN=%s" % near_name.lower()
    lower_name = clean_user_id(lower_dn)
    assert lower_name != near_name and lower_name.replace(" ", "").lower() == near_name.replace(" ", "").lower()
    listfile = write_yaml(tmp_path / "list.yml", [bad.dn, lower_dn])
    target = dict({"name": "panda", "type": "panda", "kill_jobs": True, "kill_tasks": True},
                  **panda_db_args(ep))
    target["db_deft_schema"] = ep.db.deft_schema
    panda_conn = {"panda_url": ep.url, "client_cert": ep.admin.cert, "client_key": ep.admin.key,
                  "ca_path": ep.ca_path}
    sync_args = base_args(tmp_path, "kill-%s" % letters(), [yaml_source(listfile)], [target])
    try:
        predicted = run(tmp_path, sync_args, panda_conn, args=("--check",), expect_failure=True)
        kills = predicted["targets"][0]["kills"]
        assert [k["user"] for k in kills] == [bad_name] and sorted(kills[0]["would_kill"]) == sorted([queued, running])
        assert [(t["task_id"], t["outcome"]) for t in kills[0]["tasks"]] == [(task_id, "would_kill")]
        assert user_status(ep, bad_name) == [None] and job_state(ep, queued)[0] != "cancelled"  # check: no write

        result = run(tmp_path, sync_args, panda_conn, expect_failure=True)
        # the near name fails the run by name, and no row is created for it; the other user is banned and killed
        assert "%r" % near_name in result["msg"] and "allow_similar_names" in result["msg"]
        outcomes = dict((o["user"], o["outcome"]) for o in result["targets"][0]["outcomes"])
        assert outcomes == {bad_name: "done", lower_name: "similar_name"}
        assert user_status(ep, lower_name) == [] and user_status(ep, near_name) == [None]
        assert user_status(ep, bad_name) == ["disabled"]
        assert job_state(ep, queued)[0] == "cancelled" and job_state(ep, running) == ("running", "tobekilled")
        assert prodsys_command(ep, task_id) == "kill"
        audit = audit_lines(tmp_path, sync_args["name"])
        assert any(a["action"] == "kill_tasks" and a["result"] == "kill_registered" for a in audit)

        # the operator accepts the near name: a banned row is created for it; nothing is killed twice
        target["allow_similar_names"] = True
        result = run(tmp_path, sync_args, panda_conn)
        assert user_status(ep, lower_name) == ["disabled"] and user_status(ep, near_name) == [None]
        assert [k["user"] for k in result["targets"][0]["kills"]] == []
        assert prodsys_command(ep, task_id) == "kill"
    finally:
        with psycopg.connect(ep.db.dsn()) as db:
            for name in (bad_name, near_name):
                db.execute(sql.SQL("UPDATE {}.users SET status = NULL WHERE name = %s")
                           .format(sql.Identifier(ep.db.meta_schema)), (name,))


# ---- the operator playbook, run by FQCN -------------------------------------------------------------------------

def test_operator_playbook_by_fqcn_site_and_relay(argus_pap, tmp_path):
    lab, pap = argus_pap, argus_pap.pap
    listfile = write_yaml(tmp_path / "list.yml", generated(5) + [HOSTILE_FQAN])
    credential = lab.creds["admin"]
    inventory = {"suspension_sync": {
        "vars": {"suspension_sync_name": "fqcn", "suspension_sync_sources": [yaml_source(listfile)],
                 "suspension_sync_connection": {"pap_host": "localhost", "pap_port": pap.port,
                                                "client_cert": credential.cert, "client_key": credential.key,
                                                "ca_path": lab.ca_dir},
                 "ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "hosts": {
            "site": {"suspension_sync_state_dir": str(tmp_path / "site-state"),
                     "suspension_sync_targets": [{"name": "pap", "type": "argus"},
                                                 {"name": "lcas", "type": "file", "format": "lcas",
                                                  "path": str(tmp_path / "site" / "ban_users.db")}]},
            "relay": {"suspension_sync_state_dir": str(tmp_path / "relay-state"),
                      "suspension_sync_targets": [{"name": "gplazma", "type": "file", "format": "gplazma",
                                                   "path": str(tmp_path / "relay" / "ban.conf")}]},
        }}}
    inv = tmp_path / "inventory.json"
    inv.write_text(json.dumps(inventory))
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="False",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"), ANSIBLE_HOME=str(tmp_path / "ansible-home"))

    def play(*args):
        return subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(inv), "gridsec.ops.sync_suspension_list"] + list(args),
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900,
                              check=False)

    checked = play("--check")
    assert checked.returncode == 0, checked.stdout[-5000:]
    assert not (tmp_path / "site" / "ban_users.db").exists() and synced_literals(lab, pap, "fqcn") == set()
    applied = play()
    assert applied.returncode == 0, applied.stdout[-5000:]
    assert "site: ok; 6 entries" in applied.stdout and "argus pap: +6 -0 =0 (changed)" in applied.stdout
    assert "file gplazma: +6 -0 =0 (changed)" in applied.stdout
    assert synced_literals(lab, pap, "fqcn") == literals_of(generated(5) + [HOSTILE_FQAN])
    assert "ban fqan:%s" % HOSTILE_FQAN in (tmp_path / "relay" / "ban.conf").read_text()
    # a broken source on one run: every host fails clearly, nothing is touched, the play fails
    os.unlink(listfile)
    failed = play()
    assert failed.returncode != 0 and "source central failed" in failed.stdout
    assert synced_literals(lab, pap, "fqcn") == literals_of(generated(5) + [HOSTILE_FQAN])


def test_hurried_operator_mistakes_fail_clearly_before_anything_is_written(tmp_path):
    listfile = write_yaml(tmp_path / "list.yml", generated(2))
    base = base_args(tmp_path, "oops", [yaml_source(listfile)], plain_target(tmp_path))
    # a comma-form DN given as a string instead of a list: Ansible splits it at the commas
    result = run(tmp_path, dict(base, allow_list="CN=Site Admin,OU=Users,DC=example,DC=org"), expect_failure=True)
    assert "one-component DN" in result["msg"]
    # a misspelt target option and a case-changed type are refused by the argument spec
    bad_target = dict(plain_target(tmp_path)[0], fromat="lcas")
    result = run(tmp_path, dict(base, targets=[bad_target]), expect_failure=True)
    assert "fromat" in result["msg"]
    result = run(tmp_path, dict(base, sources=[dict(yaml_source(listfile), type="YAML")]), expect_failure=True)
    assert "type" in result["msg"]
    result = run(tmp_path, dict(base, targets=[dict(plain_target(tmp_path)[0], type="files")]), expect_failure=True)
    assert "files" in result["msg"] and "argus, panda, file" in result["msg"]
    # a single source given as a string (its path) instead of a list of dicts: refused by the argument spec
    # (ansible-core's message does not name the option), nothing read or written
    result = run(tmp_path, dict(base, sources=listfile), expect_failure=True)
    assert "dictionary requested" in result["msg"] and not result.get("sources")
    # an empty list of sources
    result = run(tmp_path, dict(base, sources=[]), expect_failure=True)
    assert "sources must not be empty" in result["msg"]
    # a pap_host written as a URL
    result = run(tmp_path, dict(base, targets=[{"name": "pap", "type": "argus", "pap_host": "https://pap:8150"}]),
                 expect_failure=True)
    assert "target pap" in result["msg"] and "pap_host must be a host name" in result["msg"]
    # a yaml source with neither path nor url, and an empty target list
    result = run(tmp_path, dict(base, sources=[{"name": "x", "type": "yaml"}]), expect_failure=True)
    assert "source x: give exactly one of path and url" in result["msg"]
    result = run(tmp_path, dict(base, targets=[]), expect_failure=True)
    assert "targets must not be empty" in result["msg"]
    assert not (tmp_path / "out" / "plain.txt").exists() and not (tmp_path / "state").exists()


# ---- issue 14 item 17: cache age, audit of the cache, audit lines on change only, the daily canary ---------------

def test_cache_has_a_maximum_age_and_its_use_is_audited(tmp_path):
    listfile = write_yaml(tmp_path / "list.yml", generated(4))
    sync_args = base_args(tmp_path, "aged", [yaml_source(listfile, on_source_failure="use_cache", cache_max_age="1h")],
                          plain_target(tmp_path))
    run(tmp_path, sync_args)
    path = tmp_path / "out" / "plain.txt"
    content = path.read_bytes()
    times_file = tmp_path / "state" / "aged.sources.json"
    read_ok = json.loads(times_file.read_text())["sources"]["central"]["read_ok"]
    assert stat.S_IMODE(os.stat(times_file).st_mode) == 0o600

    os.unlink(listfile)                              # the list source dies
    result = run(tmp_path, sync_args)
    source = result["sources"][0]
    assert source["status"] == "cached" and source["last_read_ok"] == read_ok and source["cache_age_seconds"] < 600
    assert not result["changed"] and path.read_bytes() == content
    used = [a for a in audit_lines(tmp_path, "aged") if a["action"] == "use_cache"]
    assert len(used) == 1 and used[0]["target"] == "source:central" and used[0]["result"] == "cached"
    assert used[0]["last_read_ok"] == read_ok and used[0]["count"] == 4 and "cannot read" in used[0]["error"]
    assert used[0]["cache_max_age"] == "1h"

    # two hours later (the last good read moved back): the cache is too old, the run fails and touches nothing
    times = json.loads(times_file.read_text())
    times["sources"]["central"]["read_ok"] = "2000-01-01T00:00:00Z"
    times_file.write_text(json.dumps(times))
    result = run(tmp_path, sync_args, expect_failure=True)
    assert "source central failed" in result["msg"] and "older than cache_max_age=1h" in result["msg"]
    assert "from 2000-01-01T00:00:00Z" in result["msg"] and result["guard"] and path.read_bytes() == content
    assert [a["action"] for a in audit_lines(tmp_path, "aged")][-1] == "refused"
    # the default maximum age is 24 h
    result = run(tmp_path, dict(sync_args, sources=[yaml_source(listfile, on_source_failure="use_cache")]),
                 expect_failure=True)
    assert "older than cache_max_age=24h" in result["msg"]
    # a malformed age is refused before anything is read
    result = run(tmp_path, dict(sync_args, sources=[yaml_source(listfile, cache_max_age="a day")]),
                 expect_failure=True)
    assert "source central: cache_max_age 'a day' is not a positive duration" in result["msg"]

    # the source answers again: its read time moves, the cache is fresh again
    write_yaml(tmp_path / "list.yml", generated(4))
    run(tmp_path, sync_args)
    assert json.loads(times_file.read_text())["sources"]["central"]["read_ok"] > "2000-01-01T00:00:00Z"


def test_unchanged_sources_reuse_the_last_good_list_but_expiry_and_outside_changes_still_count(tmp_path):
    """The no-op fast path (``merge: unchanged``): the sources' bytes are those of the last good run, so the merged
    list is reused as it stands; still an entry whose expiry passed leaves on the next run, a target changed by hand
    is repaired, and a no-op rewrites neither the state, the source cache, the audit log nor the target."""
    import datetime
    import time

    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=45)
    entries = generated(3) + [{"dn": BASE + "/CN=Leaves Soon", "expires": soon.strftime("%Y-%m-%dT%H:%M:%SZ"),
                               "ticket": "SEC-9"}]
    listfile = write_yaml(tmp_path / "list.yml", entries)
    sync_args = base_args(tmp_path, "fast", [yaml_source(listfile)], plain_target(tmp_path))
    out = tmp_path / "out" / "plain.txt"
    first = run(tmp_path, sync_args)
    assert first["changed"] and first["merge"] == "merged"
    assert ("dn", BASE + "/CN=Leaves Soon") in file_identities(out, "plain")
    files = [tmp_path / "state" / n for n in ("fast.state.json", "fast.cache.json", "fast.audit.jsonl")] + [out]
    before = [(os.stat(f).st_mtime_ns, f.read_bytes()) for f in files]

    second = run(tmp_path, sync_args)
    if datetime.datetime.now(datetime.timezone.utc) < soon:  # a slow machine may have passed the expiry already
        assert second["merge"] == "unchanged" and not second["changed"] and second["merged_count"] == 4
        # a no-op writes nothing (only the source read time moves, in its own small file)
        assert [(os.stat(f).st_mtime_ns, f.read_bytes()) for f in files] == before

    # a target changed by hand: the unchanged list is applied to it again
    out.write_text("/DC=test/DC=gridsec-sync/CN=Someone Else\n", encoding="utf-8")
    repaired = run(tmp_path, sync_args)
    assert repaired["changed"]
    assert {v for _k, v in file_identities(out, "plain")} >= set(generated(3))
    assert ("dn", "/DC=test/DC=gridsec-sync/CN=Someone Else") not in file_identities(out, "plain")

    # the expiry passes while the list file stays byte for byte the same: the entry leaves, audited once
    time.sleep(max(0.0, (soon - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 1)
    expired = run(tmp_path, sync_args)
    assert expired["merge"] == "merged" and expired["changed"]
    assert [e["value"] for e in expired["expired"]] == [BASE + "/CN=Leaves Soon"]
    assert ("dn", BASE + "/CN=Leaves Soon") not in file_identities(out, "plain")
    assert len(file_identities(out, "plain")) == 3
    again = run(tmp_path, sync_args)
    assert again["merge"] == "unchanged" and not again["changed"]
    assert [e["value"] for e in again["expired"]] == [BASE + "/CN=Leaves Soon"]
    audit = audit_lines(tmp_path, "fast")
    assert [a["entry"]["value"] for a in audit if a["action"] == "expire"] == [BASE + "/CN=Leaves Soon"]

    # the source cache file lost: the unchanged list is parsed again and cached again
    os.unlink(tmp_path / "state" / "fast.cache.json")
    write_yaml(tmp_path / "list.yml", generated(4))
    changed = run(tmp_path, sync_args)
    assert changed["merge"] == "merged" and changed["changed"] and len(file_identities(out, "plain")) == 4
    os.unlink(tmp_path / "state" / "fast.cache.json")
    run(tmp_path, dict(sync_args, allow_list=[generated(4)[3]]))  # the merge runs, the cache is gone
    assert (tmp_path / "state" / "fast.cache.json").exists() and len(file_identities(out, "plain")) == 3


def test_expire_and_protect_audit_lines_only_when_something_changes(tmp_path):
    admin = BASE + "/CN=Site Admin"
    entries = [{"dn": BASE + "/CN=Permanent"}, {"dn": BASE + "/CN=Expired", "expires": "2020-01-01"},
               {"dn": admin}]
    listfile = write_yaml(tmp_path / "list.yml", entries)
    sync_args = base_args(tmp_path, "quiet", [yaml_source(listfile)], plain_target(tmp_path), allow_list=[admin])

    def drops():
        return [(a["action"], a["entry"]["value"]) for a in audit_lines(tmp_path, "quiet")
                if a["action"] in ("expire", "protect", "allow_override")]

    run(tmp_path, sync_args)
    assert sorted(drops()) == [("expire", BASE + "/CN=Expired"), ("protect", admin)]
    for _ in range(2):
        result = run(tmp_path, sync_args)
        assert not result["changed"] and len(result["expired"]) == 1 and len(result["protected"]) == 1
    assert len(drops()) == 2  # still expired and still protected: nothing new to record
    # a newly protected entry and an override are recorded once each
    service = BASE + "/CN=Service"
    write_yaml(tmp_path / "list.yml", entries + [{"dn": service}])
    sync_args["allow_list"] = [admin, service]
    run(tmp_path, dict(sync_args, allow_override=[admin]))
    run(tmp_path, dict(sync_args, allow_override=[admin]))
    assert sorted(drops()[2:]) == [("allow_override", admin), ("protect", service)]


def test_daily_canary_is_kept_by_argus_and_skipped_by_panda_and_files(argus_lab, panda_endpoint, tmp_path):
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import canary_dn, utc_date

    lab, ep = argus_lab, panda_endpoint
    central, site = lab.paps["central"], lab.paps["site"]
    client = pap_client(lab, central)
    canary = canary_dn("sync-test-%s" % letters(), utc_date())
    canary_user = clean_user_id(parse_dn(canary).to_openssl())
    person = PANDA_BASE + "/CN=Canary Neighbour %s" % letters()
    client.ban("default", "subject", canary)          # stored verbatim, with ", " separators, as the central team does
    client.ban("default", "subject", person)
    sync_name = "canary-%s" % letters()
    targets = [{"name": "site", "type": "argus", "pap_port": site.port},
               dict({"name": "panda", "type": "panda", "canary": "keep"}, **panda_db_args(ep)),
               {"name": "plain", "type": "file", "format": "plain", "path": str(tmp_path / "dns.txt")}]
    sync_args = base_args(tmp_path, sync_name,
                          [{"name": "central", "type": "argus", "pap_port": central.port, "aliases": ["default"]}],
                          targets, max_shrink_fraction=1)
    try:
        # an operator who asks for it gets the canary in PanDA too (what every run did before)
        result = run(tmp_path, sync_args, conn(lab, central))
        assert user_status(ep, canary_user) == ["disabled"]
        assert result["targets"][1]["canary"] == {"mode": "keep", "entries": [parse_dn(canary).to_openssl()]}
        # by default PanDA and files leave it out (and the ban this sync made for it is lifted); Argus keeps it
        del targets[1]["canary"]
        result = run(tmp_path, sync_args, conn(lab, central))
        modes = dict((t["name"], t["canary"]["mode"]) for t in result["targets"])
        assert modes == {"site": "keep", "panda": "skip", "plain": "skip"}
        assert all(t["canary"]["entries"] == [parse_dn(canary).to_openssl()] for t in result["targets"])
        assert user_status(ep, canary_user) == [None]
        assert [o["action"] for o in result["targets"][1]["outcomes"]] == ["unban"]
        assert user_status(ep, clean_user_id(person)) == ["disabled"]
        lines = (tmp_path / "dns.txt").read_text().splitlines()
        assert person in lines and not any("tsubject" in line for line in lines)
        site_values = [a[1] for desc, _e, attrs in raw_rules(lab, site)
                       if desc and ("suspension_list_sync: %s " % sync_name) in desc for a in attrs]
        assert parse_dn(canary).to_pap_literal() in site_values  # how propagation is proven
        # the skipped canary is no pending change: the next run is a no-op for every target
        again = run(tmp_path, sync_args, conn(lab, central))
        assert not again["changed"]
    finally:
        client.unban("default", "subject", canary)
        client.unban("default", "subject", parse_dn(person).to_pap_literal())
        site_client = pap_client(lab, site)
        for ps in site_client.get_tree("default").policy_sets.values():
            if (ps.description or "").startswith("gridsec.ops suspension_list_sync: %s " % sync_name):
                site_client.remove_object_by_id_and_references("default", ps.policy_set_id)
        with psycopg.connect(ep.db.dsn()) as db:
            db.execute(sql.SQL("UPDATE {}.users SET status = NULL WHERE name = %s")
                       .format(sql.Identifier(ep.db.meta_schema)), (clean_user_id(person),))


def test_a_typo_attribute_type_in_a_list_or_the_allow_list_fails_the_run_before_any_target(argus_pap, tmp_path):
    """Item 4 through the sync: user-given DNs (YAML, plain, allow-list) go through the strict parse; the run fails
    naming the entry and the source, and no target is touched."""
    lab, pap = argus_pap, argus_pap.pap
    typo = BASE + "/CM=John Doe"
    listfile = write_yaml(tmp_path / "list.yml", generated(2) + [typo])
    targets = [{"name": "pap", "type": "argus"}] + plain_target(tmp_path)
    sync_args = base_args(tmp_path, "typo", [yaml_source(listfile)], targets)
    result = run(tmp_path, sync_args, conn(lab, pap), expect_failure=True)
    assert "source central failed" in result["msg"] and "entries[2]" in result["msg"] and typo in result["msg"]
    assert "CM" in result["msg"] and "no target was touched" in result["msg"]
    (tmp_path / "local.txt").write_text("%s\n%s\n" % (generated(1)[0], typo))
    plain = {"name": "local", "type": "plain", "path": str(tmp_path / "local.txt")}
    result = run(tmp_path, dict(sync_args, sources=[plain]), conn(lab, pap), expect_failure=True)
    assert "source local failed" in result["msg"] and "line 2" in result["msg"] and typo in result["msg"]
    result = run(tmp_path, dict(sync_args, sources=[yaml_source(write_yaml(tmp_path / "ok.yml", generated(2)))],
                                allow_list=[typo]), conn(lab, pap), expect_failure=True)
    assert "allow_list item %r" % typo in result["msg"]
    assert synced_literals(lab, pap, "typo") == set() and not (tmp_path / "out" / "plain.txt").exists()
    # the same typo already stored on a PAP (read back leniently) is propagated as the PAP holds it, so that it
    # can be seen and removed where it came from
    client = pap_client(lab, pap)
    client.ban("default", "subject", typo)
    source = {"name": "pap", "type": "argus", "aliases": ["default"]}
    result = run(tmp_path, dict(sync_args, name="typo-from-pap", sources=[source], targets=plain_target(tmp_path),
                                max_shrink_fraction=1), conn(lab, pap))
    assert typo in (tmp_path / "out" / "plain.txt").read_text().splitlines()


# ---- issue 14 item 14: the command lines of docs/suspension-sync.md ---------------------------------------------

DOC = os.path.join(ROOT, "docs", "suspension-sync.md")


def doc_blocks(language):
    with open(DOC, encoding="utf-8") as handle:
        text = handle.read()
    return [body for lang, body in re.findall(r"```(\w*)\n(.*?)```", text, re.S) if lang == language]


def cron_command(field):
    """What cron (cronie/vixie do_command) runs for the command field of a crontab line: the text up to the first
    '%' not written '\\%' (the rest is the command's standard input, each further '%' a line break), '\\%' read
    as '%'. Returns (command, stdin)."""
    out, stdin, escaped = [], None, False
    for char in field:
        if stdin is not None:
            stdin.append("\n" if char == "%" else char)
            continue
        if escaped:
            if char != "%":
                out.append("\\")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            stdin = []
        else:
            out.append(char)
    if escaped:
        out.append("\\")
    return "".join(out), None if stdin is None else "".join(stdin)


def test_cron_percent_rule_reading():
    assert cron_command("sleep $((RANDOM % 300)); true") == ("sleep $((RANDOM ", " 300)); true")
    assert cron_command("date +\\%F\\%T; a\\b") == ("date +%F%T; a\\b", None)


def test_documented_command_lines_run(tmp_path):
    """Item 14: the cron line is one command once cron has read it, runs under its SHELL and starts the documented
    ansible-playbook command; every documented ansible-playbook line passes --syntax-check and --list-hosts
    against the documented inventory."""
    inventories = [b for b in doc_blocks("yaml") if b.startswith("# /etc/gridsec/sync-hosts.yml")]
    assert len(inventories) == 1
    inventory = tmp_path / "sync-hosts.yml"
    inventory.write_text(inventories[0], encoding="utf-8")

    stubs = tmp_path / "bin"
    stubs.mkdir()
    calls = tmp_path / "calls.jsonl"
    for name in ("sleep", "ansible-playbook"):
        script = stubs / name
        script.write_text("#!%s\nimport json, sys\nwith open(%r, 'a') as f:\n    f.write(json.dumps([%r] + sys.argv[1:])"
                          " + '\\n')\n" % (sys.executable, str(calls), name))
        script.chmod(0o755)

    playbook_lines = [line for block in doc_blocks("sh") for line in block.splitlines()
                      if line.startswith("ansible-playbook ")]
    crons = doc_blocks("cron")
    assert crons and len(playbook_lines) >= 2
    for block in crons:
        env = {}
        jobs = []
        for line in block.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", line)
            if match:
                env[match.group(1)] = match.group(2)
                continue
            fields = line.split(None, 6)                # /etc/cron.d: 5 time fields, the user, the command
            assert len(fields) == 7 and fields[5] == "root", line
            jobs.append(fields[6])
        assert jobs
        for field in jobs:
            command, stdin = cron_command(field)
            assert stdin is None, "cron would cut %r at an unescaped %%: it runs %r" % (field, command)
            shell = env.get("SHELL", "/bin/sh")
            log = tmp_path / "sync.log"
            command = re.sub(r">>\s*/var/log/\S+", ">> %s" % log, command)
            calls.write_text("")
            proc = subprocess.run([shell, "-c", command], env={"PATH": "%s:%s" % (stubs, env.get("PATH", "/usr/bin:/bin")),
                                                                "HOME": str(tmp_path)},
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60, check=False)
            assert proc.returncode == 0, proc.stdout
            ran = [json.loads(line) for line in calls.read_text().splitlines()]
            assert [r[0] for r in ran] == ["sleep", "ansible-playbook"], ran
            assert 0 <= int(ran[0][1]) < 300
            playbook_lines.append(" ".join(shlex.quote(arg) for arg in ran[1]))

    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="False",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"), ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    for line in playbook_lines:
        args = shlex.split(line)
        assert args[0] == "ansible-playbook" and "-i" in args
        args[0] = ANSIBLE_PLAYBOOK
        args[args.index("-i") + 1] = str(inventory)
        for extra in ("--syntax-check", "--list-hosts"):
            proc = subprocess.run(args + [extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=300, check=False)
            assert proc.returncode == 0, "%s %s:\n%s" % (line, extra, proc.stdout[-3000:])
            if extra == "--list-hosts":
                assert "argus.example.org" in proc.stdout and "dcache-head.example.org" in proc.stdout, proc.stdout
