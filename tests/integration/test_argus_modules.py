# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Integration tests of argus_policy, argus_policy_info and argus_pap against the lab PAP.

pytest starts the lab (fixtures of gridsec_lab.argus.pytest_fixtures), runs ansible-playbook on the playbooks in
tests/integration/playbooks/ (which hold the asserts), and checks "nothing was written" a second, independent way:
a hand-written SOAP envelope posted with ``requests``.
"""
import json
import os
import subprocess
import sys

import pytest
import requests
from lxml import etree

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PLAYBOOKS = os.path.join(HERE, "playbooks")
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

XACML_NS = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"

DN_JANE = "/DC=test/DC=gridsec/OU=Users/CN=Jane Doe"
DN_WEIRD = "/DC=test/DC=gridsec/OU=Users/CN=O'Neil \"Bob\" <b&b> Smith"


def run_playbook(name, extravars, tmp_path, *args, expect_rc=0):
    vars_file = tmp_path / ("vars-%s.json" % os.path.basename(name))
    vars_file.write_text(json.dumps(extravars))
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
    )
    inventory = [] if "-i" in args else ["-i", "localhost,", "-c", "local"]
    cmd = [ANSIBLE_PLAYBOOK] + inventory + ["-e", "ansible_python_interpreter=%s" % sys.executable,
                                            "-e", "@%s" % vars_file, os.path.join(PLAYBOOKS, name)] + list(args)
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
                          check=False)
    if proc.returncode != expect_rc:
        pytest.fail("%s exited %d (expected %d):\n%s" % (name, proc.returncode, expect_rc, proc.stdout[-20000:]))
    return proc.stdout


def conn(lab, pap, cred="admin"):
    """Connection variables of one lab PAP for module_defaults."""
    credential = lab.creds[cred]
    return {
        "pap_host": "localhost",
        "pap_port": pap.port,
        "pap_path": "/pap/services",
        "client_cert": credential.cert,
        "client_key": credential.key,
        "ca_path": lab.ca_dir,
    }


def raw_list_rules(lab, pap, alias="default"):
    """listPolicies through a hand-written envelope: [(effect, [(attribute id, value)])] in reply order."""
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
    rules = []
    for rule in root.iter("{%s}Rule" % XACML_NS):
        attrs = []
        for match in rule.iter("{%s}SubjectMatch" % XACML_NS):
            value = match.find("{%s}AttributeValue" % XACML_NS)
            designator = match.find("{%s}SubjectAttributeDesignator" % XACML_NS)
            attrs.append((designator.get("AttributeId"), value.text))
        rules.append((rule.get("Effect"), attrs))
    return rules


# ---- argus_policy ------------------------------------------------------------------------------------

def test_ban_check_mode_writes_nothing_then_apply_and_unban(argus_pap, tmp_path):
    lab, pap = argus_pap, argus_pap.pap
    extravars = {"conn": conn(lab, pap), "subjects": [DN_JANE], "fqans": ["/dteam/Role=compromised"]}
    run_playbook("argus_policy_ban_check.yml", extravars, tmp_path)
    assert raw_list_rules(lab, pap) == []
    run_playbook("argus_policy_ban_apply.yml", extravars, tmp_path)
    assert raw_list_rules(lab, pap) == [
        ("Deny", [("http://glite.org/xacml/attribute/fqan", "/dteam/Role=compromised")]),
        ("Deny", [("urn:oasis:names:tc:xacml:1.0:subject:subject-id", "CN=Jane Doe,OU=Users,DC=gridsec,DC=test")]),
    ]
    run_playbook("argus_policy_unban.yml", extravars, tmp_path)
    assert raw_list_rules(lab, pap) == []


def test_diff_only_with_diff_flag(argus_pap, tmp_path):
    lab, pap = argus_pap, argus_pap.pap
    run_playbook("argus_policy_diff.yml", {"conn": conn(lab, pap), "subjects": [DN_JANE], "want_diff": True},
                 tmp_path, "--diff")
    run_playbook("argus_policy_diff.yml", {"conn": conn(lab, pap), "subjects": ["/DC=test/CN=other"],
                                           "want_diff": False}, tmp_path)


def test_dn_with_xml_metacharacters_round_trips(argus_pap, tmp_path):
    lab, pap = argus_pap, argus_pap.pap
    run_playbook("argus_policy_special.yml", {"conn": conn(lab, pap), "subject": DN_WEIRD}, tmp_path)
    assert raw_list_rules(lab, pap) == []


def raw_ban(lab, pap, value, public=True):
    """HL ban through a hand-written envelope, as another tool would do it."""
    from xml.sax.saxutils import escape
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
        '<hl:ban xmlns:hl="http://org.glite.authz/wsdl/pap/services/highlevel_policy_management">'
        '<alias>default</alias><id>subject</id><value>%s</value><resource>.*</resource><action>.*</action>'
        '<isPublic>%s</isPublic></hl:ban></soapenv:Body></soapenv:Envelope>' % (escape(value), "true" if public else "false")
    )
    admin = lab.creds["admin"]
    reply = requests.post(pap.url + "/HighLevelPolicyManagementService", data=envelope.encode("utf-8"),
                          headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
                          cert=(admin.cert, admin.key), verify=lab.pki.ca_cert_path, timeout=30)
    assert reply.status_code == 200, reply.text


def test_unban_of_duplicates_and_compound_rules(argus_pap, tmp_path):
    """Other tools left the same DN twice (with and without spaces) and a compound rule: unban removes the plain
    rules only, and warns about the compound rule."""
    lab, pap = argus_pap, argus_pap.pap
    raw_ban(lab, pap, DN_JANE)                                            # stored without spaces, public
    raw_ban(lab, pap, "CN=Jane Doe, OU=Users, DC=gridsec, DC=test", public=False)  # verbatim, private
    run_playbook("argus_policy_duplicates.yml", {"conn": conn(lab, pap), "subject": DN_JANE}, tmp_path)
    rules = raw_list_rules(lab, pap)
    assert len(rules) == 1 and len(rules[0][1]) == 2  # only the compound rule is left


def test_exclusive_policy(argus_pap, tmp_path):
    lab, pap = argus_pap, argus_pap.pap
    run_playbook("argus_policy_exclusive.yml", {"conn": conn(lab, pap), "subject": DN_JANE}, tmp_path)
    effects = [effect for effect, _attrs in raw_list_rules(lab, pap)]
    assert effects == ["Deny", "Permit"]


def test_input_and_permission_errors_write_nothing(argus_pap, tmp_path):
    lab, pap = argus_pap, argus_pap.pap
    extravars = {"conn": conn(lab, pap), "reader_conn": conn(lab, pap, "reader"), "subject": DN_JANE}
    run_playbook("argus_policy_errors.yml", extravars, tmp_path)
    assert raw_list_rules(lab, pap) == []


def test_remote_alias_refused_before_any_write(argus_lab, tmp_path):
    site = argus_lab.paps["site"]
    before = raw_list_rules(argus_lab, site, alias="relay")
    run_playbook("argus_policy_remote_alias.yml", {"conn": conn(argus_lab, site), "subject": DN_JANE}, tmp_path)
    assert raw_list_rules(argus_lab, site, alias="relay") == before


def test_pap_down_and_untrusted_server(argus_pap, argus_dead_url, argus_untrusted_pap, tmp_path):
    lab = argus_pap
    dead_port = int(argus_dead_url.split(":")[2].split("/")[0])
    extravars = {
        "dead_conn": dict(conn(lab, lab.pap), pap_port=dead_port, retries=0, timeout=5),
        "untrusted_conn": dict(conn(lab, lab.pap), pap_port=argus_untrusted_pap.port, retries=0, timeout=5),
        "subject": DN_JANE,
    }
    run_playbook("argus_policy_unreachable.yml", extravars, tmp_path)


# ---- argus_pap -----------------------------------------------------------------------------------

def test_site_pap_configuration(argus_lab, argus_pap, tmp_path):
    """A fresh site PAP is pointed at the lab relay: ACE on the relay, remote PAP, order, polling interval,
    ACL entries; check mode first, then apply, then a second run without change."""
    relay = argus_lab.paps["relay"]
    site = argus_pap.pap
    extravars = {
        "site_conn": conn(argus_pap, site),
        "relay_conn": conn(argus_lab, relay),
        "relay_port": relay.port,
        "relay_dn": relay.dn,
        "site_dn": site.dn,
        "admin_dn": argus_pap.creds["admin"].dn,
        "reader_dn": argus_pap.creds["reader"].dn,
    }
    run_playbook("argus_pap_site.yml", extravars, tmp_path)


def test_propagation_central_relay_site(argus_lab, tmp_path):
    extravars = dict(("%s_conn" % name, conn(argus_lab, argus_lab.paps[name])) for name in ("central", "relay", "site"))
    extravars["subject"] = "/DC=test/DC=gridsec/OU=Users/CN=Propagated Canary"
    run_playbook("argus_propagation.yml", extravars, tmp_path)


# ---- operator playbooks --------------------------------------------------------------------------

def _recap(output, host):
    for line in output.splitlines():
        if line.startswith(host + " ") and "ok=" in line:
            return dict(item.split("=") for item in line.split(":", 1)[1].split())
    raise AssertionError("no recap line for %s in:\n%s" % (host, output))


def run_operator_playbook(name, inventory, extravars, tmp_path, *args, expect_rc=0):
    inv = tmp_path / "inventory.json"
    inv.write_text(json.dumps(inventory))
    return run_playbook(os.path.join(ROOT, "playbooks", name), extravars, tmp_path, "-i", str(inv), *args,
                        expect_rc=expect_rc)


def test_operator_ban_unban_playbooks(argus_pap, argus_dead_url, tmp_path):
    lab, pap = argus_pap, argus_pap.pap
    admin = lab.creds["admin"]
    common = {"argus_pap_host": "localhost", "argus_client_cert": admin.cert, "argus_client_key": admin.key,
              "argus_ca_path": lab.ca_dir}
    good = dict(common, argus_pap_port=pap.port)
    dead = dict(common, argus_pap_port=int(argus_dead_url.split(":")[2].split("/")[0]))
    one = {"all": {"children": {"argus_paps": {"hosts": {"good": good}}}}}
    two = {"all": {"children": {"argus_paps": {"hosts": {"good": good, "down": dead}}}}}
    values = {"argus_subjects": [DN_JANE], "argus_fqans": ["/dteam/Role=compromised"]}

    out = run_operator_playbook("argus_ban.yml", one, values, tmp_path, "--check", "--diff")
    assert _recap(out, "good")["changed"] == "1"
    assert "rule deny" in out  # the diff is shown
    assert raw_list_rules(lab, pap) == []

    out = run_operator_playbook("argus_ban.yml", one, values, tmp_path)
    assert _recap(out, "good")["changed"] == "1"
    assert len(raw_list_rules(lab, pap)) == 2
    out = run_operator_playbook("argus_ban.yml", one, values, tmp_path)
    assert _recap(out, "good")["changed"] == "0"

    # one PAP down: the other is still handled, the summary names the failure and the run fails
    out = run_operator_playbook("argus_unban.yml", two, values, tmp_path, expect_rc=2)
    assert "unban failed on: down" in out
    assert raw_list_rules(lab, pap) == []
