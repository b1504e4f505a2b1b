# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Integration tests of argus_canary (published / checked), the canary playbooks, the Nagios wrapper and the
Prometheus file, against lab PAP hierarchies built for the purpose."""
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest
import requests
from lxml import etree

from gridsec_lab.argus.lab import ArgusLab

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PLAYBOOKS = os.path.join(HERE, "playbooks")
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
BIN = os.path.dirname(sys.executable)
ANSIBLE_PLAYBOOK = os.path.join(BIN, "ansible-playbook")
WRAPPER = os.path.join(ROOT, "extras", "check_argus_canary")
XACML_NS = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"
SALT = "lab-canary-salt"

# The field probe's regex (ARGOeu-Metrics secmon-probes argus-ban, ARGUS.md 11.1), used as is.
PROBE_RE = re.compile(r"CN=(?P<hash>[0-9a-f]{8}), CN=(?P<date>[0-9]{8}), CN=Test Subject, CN=000001, CN=tsubject, "
                      r"OU=Users, OU=Organic Units, DC=cern, DC=ch")


def probe_hash(salt, date):
    return hashlib.sha256(salt.encode() + date.encode()).hexdigest()[:8]


def canary(salt, date):
    return ("CN=%s, CN=%s, CN=Test Subject, CN=000001, CN=tsubject, OU=Users, OU=Organic Units, DC=cern, DC=ch"
            % (probe_hash(salt, date), date))


def utc_today(delta=0):
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=delta)).strftime("%Y%m%d")


def ansible_env(tmp_path):
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"), ANSIBLE_HOME=str(tmp_path / "ansible-home"),
               PATH=BIN + os.pathsep + env.get("PATH", ""))
    return env


def run_playbook(playbook, extravars, tmp_path, *args, expect_rc=0):
    """``playbook``: a file under tests/integration/playbooks or an FQCN (gridsec.ops.canary_check)."""
    vars_file = tmp_path / ("vars-%s.json" % uuid.uuid4().hex[:8])
    vars_file.write_text(json.dumps(extravars))
    target = playbook if playbook.startswith("gridsec.ops.") else os.path.join(PLAYBOOKS, playbook)
    cmd = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
           "-e", "@%s" % vars_file, target] + list(args)
    proc = subprocess.run(cmd, env=ansible_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=600, check=False)
    if proc.returncode != expect_rc:
        pytest.fail("%s exited %d (expected %d):\n%s" % (playbook, proc.returncode, expect_rc, proc.stdout[-20000:]))
    return proc.stdout


def conn(lab, pap, cred="admin"):
    credential = lab.creds[cred]
    return {"pap_host": "localhost", "pap_port": pap.port, "pap_path": "/pap/services",
            "client_cert": credential.cert, "client_key": credential.key, "ca_path": lab.ca_dir}


def tls_vars(lab, cred="reader"):
    credential = lab.creds[cred]
    return {"argus_client_cert": credential.cert, "argus_client_key": credential.key, "argus_ca_path": lab.ca_dir}


def endpoints(lab, names):
    return [{"name": name, "host": "localhost", "port": lab.paps[name].port} for name in names]


def soap(lab, pap, service, body, cred="admin"):
    envelope = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>%s</soapenv:Body>'
                '</soapenv:Envelope>' % body)
    credential = lab.creds[cred]
    reply = requests.post(pap.url + "/" + service, data=envelope.encode("utf-8"),
                          headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
                          cert=(credential.cert, credential.key), verify=lab.pki.ca_cert_path, timeout=30)
    assert reply.status_code == 200, reply.text
    return etree.fromstring(reply.content, parser=etree.XMLParser(resolve_entities=False, no_network=True))


def subject_values(lab, pap, alias="default"):
    """What the probe reads: every x500Name AttributeValue under SubjectMatch of listPolicies(alias)."""
    root = soap(lab, pap, "XACMLPolicyManagementService",
                '<pap:listPolicies xmlns:pap="http://services.pap.authz.glite.org"><papAlias>%s</papAlias>'
                '</pap:listPolicies>' % alias)
    return [value.text for match in root.iter("{%s}SubjectMatch" % XACML_NS)
            for value in match.iter("{%s}AttributeValue" % XACML_NS)
            if value.get("DataType", "").endswith("x500Name")]


def wait_for_value(lab, name, alias, value, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if value in subject_values(lab, lab.paps[name], alias):
            return
        time.sleep(0.2)
    pytest.fail("%s never reached %s alias %s" % (value, name, alias))


def add_local_permit(lab, name, attribute="vo", value="dteam"):
    """A site's local permit in default (resource .*, action .*) through a hand-written addPolicySet/addPolicies."""
    pap = lab.paps[name]
    ps_id = str(uuid.uuid4())
    body = ('<pap:addPolicySet xmlns:pap="http://services.pap.authz.glite.org" '
            'xmlns:xacml="urn:oasis:names:tc:xacml:2.0:policy:schema:os"><alias>default</alias><index>0</index>'
            '<xacml:PolicySet PolicySetId="%s" Version="1" PolicyCombiningAlgId="urn:oasis:names:tc:xacml:1.0:'
            'policy-combining-algorithm:first-applicable"><xacml:Target><xacml:Resources><xacml:Resource>'
            '<xacml:ResourceMatch MatchId="urn:oasis:names:tc:xacml:1.0:function:string-regexp-match">'
            '<xacml:AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">.*</xacml:AttributeValue>'
            '<xacml:ResourceAttributeDesignator AttributeId="urn:oasis:names:tc:xacml:1.0:resource:resource-id" '
            'DataType="http://www.w3.org/2001/XMLSchema#string"/></xacml:ResourceMatch></xacml:Resource>'
            '</xacml:Resources></xacml:Target></xacml:PolicySet></pap:addPolicySet>' % ps_id)
    root = soap(lab, pap, "XACMLPolicyManagementService", body)
    ps_id = [e.text for e in root.iter() if isinstance(e.tag, str) and e.tag.endswith("addPolicySetReturn")][0]
    policy = ('<xacml:Policy PolicyId="public_%s" Version="1" RuleCombiningAlgId="urn:oasis:names:tc:xacml:1.0:'
              'rule-combining-algorithm:first-applicable"><xacml:Target><xacml:Actions><xacml:Action>'
              '<xacml:ActionMatch MatchId="urn:oasis:names:tc:xacml:1.0:function:string-regexp-match">'
              '<xacml:AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">.*</xacml:AttributeValue>'
              '<xacml:ActionAttributeDesignator AttributeId="urn:oasis:names:tc:xacml:1.0:action:action-id" '
              'DataType="http://www.w3.org/2001/XMLSchema#string"/></xacml:ActionMatch></xacml:Action>'
              '</xacml:Actions></xacml:Target><xacml:Rule RuleId="%s" Effect="Permit"><xacml:Target>'
              '<xacml:Subjects><xacml:Subject><xacml:SubjectMatch MatchId="urn:oasis:names:tc:xacml:1.0:function:'
              'string-equal"><xacml:AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">%s'
              '</xacml:AttributeValue><xacml:SubjectAttributeDesignator AttributeId="http://glite.org/xacml/'
              'attribute/virtual-organization" DataType="http://www.w3.org/2001/XMLSchema#string"/>'
              '</xacml:SubjectMatch></xacml:Subject></xacml:Subjects></xacml:Target></xacml:Rule></xacml:Policy>'
              % (uuid.uuid4(), uuid.uuid4(), value))
    assert attribute == "vo"
    body = ('<pap:addPolicies xmlns:pap="http://services.pap.authz.glite.org" '
            'xmlns:xacml="urn:oasis:names:tc:xacml:2.0:policy:schema:os"><alias>default</alias><index>0</index>'
            '<policySetId>%s</policySetId><policyIdPrefixArray><stringElement>public</stringElement>'
            '</policyIdPrefixArray><policyArray>%s</policyArray></pap:addPolicies>' % (ps_id, policy))
    soap(lab, pap, "XACMLPolicyManagementService", body)


# ---- labs -----------------------------------------------------------------------------------------------

MISCONFIGURED = {
    "paps": [
        {"name": "central", "acl": [{"principal": "pap:relay_ok", "permissions": "POLICY_READ_LOCAL"},
                                    {"principal": "pap:relay_private", "permissions": "POLICY_READ_LOCAL"}]},
        {"name": "relay_ok", "remotes": [{"alias": "central", "pap": "central", "public": True}],
         "order": ["central", "default"],
         "acl": [{"principal": "pap:site_ok", "permissions": "POLICY_READ_LOCAL"},
                 {"principal": "pap:site_after_default", "permissions": "POLICY_READ_LOCAL"},
                 {"principal": "pap:site_open", "permissions": "POLICY_READ_LOCAL"}]},
        # an NGI relay that forgot --public on its upstream: it holds the central rules but does not re-export them
        {"name": "relay_private", "remotes": [{"alias": "central", "pap": "central", "public": False}],
         "order": ["central", "default"],
         "acl": [{"principal": "pap:site_under_private", "permissions": "POLICY_READ_LOCAL"}]},
        {"name": "site_ok", "remotes": [{"alias": "ngi", "pap": "relay_ok"}], "order": ["ngi", "default"]},
        # the ordering pitfall: the upstream after default, and a local permit in default
        {"name": "site_after_default", "remotes": [{"alias": "ngi", "pap": "relay_ok"}], "order": ["default", "ngi"]},
        {"name": "site_under_private", "remotes": [{"alias": "ngi", "pap": "relay_private"}],
         "order": ["ngi", "default"]},
        # the shipped ACL (ANYONE : ALL) and a disabled upstream (for the lint)
        {"name": "site_open", "remotes": [{"alias": "ngi", "pap": "relay_ok", "enabled": False}],
         "order": ["ngi", "default"], "acl": [{"principal": "ANYONE", "permissions": "ALL"}]},
    ],
}
MISCONFIGURED_NAMES = [p["name"] for p in MISCONFIGURED["paps"] if p["name"] != "site_open"]


@pytest.fixture(scope="module")
def misconfigured_lab(tmp_path_factory, argus_pki):
    lab = ArgusLab(MISCONFIGURED, str(tmp_path_factory.mktemp("canary-misconfigured")), poll_interval=0.3,
                   pki=argus_pki)
    lab.start()
    try:
        add_local_permit(lab, "site_after_default")
        value = canary(SALT, utc_today())
        soap(lab, lab.paps["central"], "HighLevelPolicyManagementService",
             '<hl:ban xmlns:hl="http://org.glite.authz/wsdl/pap/services/highlevel_policy_management">'
             '<alias>default</alias><id>subject</id><value>%s</value><resource>.*</resource><action>.*</action>'
             '<isPublic>true</isPublic></hl:ban>' % value)
        for name, alias in (("relay_ok", "central"), ("relay_private", "central"), ("site_ok", "ngi"),
                            ("site_after_default", "ngi")):
            wait_for_value(lab, name, alias, value)
        yield lab
    finally:
        lab.stop()


HIERARCHY_POLL = 4.0  # slow enough that the check starts before the canary reaches the sites


def hierarchy_config():
    paps = [{"name": "central", "acl": [{"principal": "pap:relay%d" % r, "permissions": "POLICY_READ_LOCAL"}
                                        for r in (1, 2)]}]
    for r in (1, 2):
        paps.append({"name": "relay%d" % r, "remotes": [{"alias": "central", "pap": "central", "public": True}],
                     "order": ["central", "default"],
                     "acl": [{"principal": "pap:site%d" % s, "permissions": "POLICY_READ_LOCAL"}
                             for s in range(1, 7) if (s - 1) // 3 + 1 == r]})
    for s in range(1, 7):
        paps.append({"name": "site%d" % s, "remotes": [{"alias": "ngi", "pap": "relay%d" % ((s - 1) // 3 + 1)}],
                     "order": ["ngi", "default"]})
    return {"paps": paps}


@pytest.fixture(scope="module")
def hierarchy_lab(tmp_path_factory, argus_pki):
    lab = ArgusLab(hierarchy_config(), str(tmp_path_factory.mktemp("canary-hierarchy")), poll_interval=HIERARCHY_POLL,
                   pki=argus_pki)
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


# ---- published ------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_published_idempotent_removes_old_keeps_foreign(argus_pap, tmp_path):
    lab, pap = argus_pap, argus_pap.pap
    today = utc_today()
    old, recent, foreign = utc_today(-10), utc_today(-3), utc_today(-30)
    run_playbook("canary_publish.yml", {
        "conn": conn(lab, pap), "salt": SALT, "today": today, "date_old": old, "date_recent": recent,
        "date_foreign": foreign, "today_dn": canary(SALT, today), "old_dn": canary(SALT, old),
        "recent_dn": canary(SALT, recent), "foreign_dn": canary("another-salt", foreign)}, tmp_path)
    # What the field probe would see: today's canary, in its exact format, with the right hash.
    values = subject_values(lab, pap)
    found = [PROBE_RE.match(v).groupdict() for v in values if PROBE_RE.match(v)]
    assert {"hash": probe_hash(SALT, today), "date": today} in found
    assert old not in [f["date"] for f in found]
    assert sorted(values) == sorted([canary(SALT, today), canary(SALT, recent), canary("another-salt", foreign)])


@pytest.mark.slow
def test_publish_canary_playbook_by_fqcn(argus_pap, tmp_path):
    lab, pap = argus_pap, argus_pap.pap
    extravars = {"canary_salt": SALT, "argus_pap_host": "localhost", "argus_pap_port": pap.port,
                 "argus_client_cert": lab.creds["admin"].cert, "argus_client_key": lab.creds["admin"].key,
                 "argus_ca_path": lab.ca_dir}
    # --check tells what it would do (issue 14 item 9: it said "already present" for a canary it would add)
    out = run_playbook("gridsec.ops.publish_canary", extravars, tmp_path, "--check")
    assert "would be published" in out and "already present" not in out, out
    assert subject_values(lab, pap) == []
    out = run_playbook("gridsec.ops.publish_canary", extravars, tmp_path)
    assert "changed=1" in out
    assert SALT not in out
    out = run_playbook("gridsec.ops.publish_canary", extravars, tmp_path)
    assert "changed=0" in out
    assert subject_values(lab, pap) == [canary(SALT, utc_today())]
    run_playbook("gridsec.ops.publish_canary", dict(extravars, canary_salt=""), tmp_path, expect_rc=2)


@pytest.mark.slow
def test_published_check_mode_says_it_would_publish(argus_pap, tmp_path):
    """Issue 14 item 9: check mode on a PAP without today's canary said "already present"."""
    lab, pap = argus_pap, argus_pap.pap
    run_playbook("canary_publish_msg.yml", {"conn": conn(lab, pap), "salt": SALT, "today": utc_today()}, tmp_path)
    assert subject_values(lab, pap) == [canary(SALT, utc_today())]


# ---- checked: yesterday's and future-dated canaries -----------------------------------------------------

CHAIN = {
    "paps": [
        {"name": "central", "acl": [{"principal": "pap:relay", "permissions": "POLICY_READ_LOCAL"}]},
        {"name": "relay", "remotes": [{"alias": "central", "pap": "central", "public": True}],
         "order": ["central", "default"], "acl": [{"principal": "pap:site", "permissions": "POLICY_READ_LOCAL"}]},
        {"name": "site", "remotes": [{"alias": "ngi", "pap": "relay"}], "order": ["ngi", "default"]},
    ],
}
CHAIN_NAMES = ["central", "relay", "site"]


def ban_on(lab, name, value):
    soap(lab, lab.paps[name], "HighLevelPolicyManagementService",
         '<hl:ban xmlns:hl="http://org.glite.authz/wsdl/pap/services/highlevel_policy_management">'
         '<alias>default</alias><id>subject</id><value>%s</value><resource>.*</resource><action>.*</action>'
         '<isPublic>true</isPublic></hl:ban>' % value)


def wait_down_the_chain(lab, value):
    for name, alias in (("relay", "central"), ("site", "ngi")):
        wait_for_value(lab, name, alias, value)


@pytest.fixture(scope="module")
def yesterday_lab(tmp_path_factory, argus_pki):
    """central -> relay -> site holding only yesterday's canary (the central team has not published today's)."""
    lab = ArgusLab(CHAIN, str(tmp_path_factory.mktemp("canary-yesterday")), poll_interval=0.3, pki=argus_pki)
    lab.start()
    try:
        ban_on(lab, "central", canary(SALT, utc_today(-1)))
        wait_down_the_chain(lab, canary(SALT, utc_today(-1)))
        yield lab
    finally:
        lab.stop()


def check_saved(lab, tmp_path, **options):
    """argus_canary state=checked on the chain (fail_on never); returns the saved result."""
    result_file = tmp_path / ("result-%s.json" % uuid.uuid4().hex[:8])
    extravars = dict(conn=conn(lab, lab.paps["central"], "reader"), salt=SALT, endpoints=endpoints(lab, CHAIN_NAMES),
                     result_file=str(result_file))
    extravars.update(options)
    run_playbook("canary_check_saved.yml", extravars, tmp_path)
    return json.loads(result_file.read_text())


def wrapper_agrees(result, tmp_path):
    """extras/check_argus_canary on the saved result: same exit code and status line as the module."""
    path = tmp_path / ("saved-%s.json" % uuid.uuid4().hex[:8])
    path.write_text(json.dumps(result))
    proc = run_wrapper(["--result", str(path)])
    assert proc.returncode == result["nagios"]["code"], proc.stdout
    assert proc.stdout.splitlines()[0] == result["nagios"]["text"].splitlines()[0], proc.stdout
    return proc.stdout


def later_today():
    """HH:MM (UTC) at least ten minutes from now (the check runs before it); skip when that is tomorrow."""
    now = datetime.datetime.now(datetime.timezone.utc)
    if (now.hour, now.minute) >= (23, 45):
        pytest.skip("too close to midnight UTC for a publish time later today")
    return (now + datetime.timedelta(minutes=11)).strftime("%H:%M")


@pytest.mark.slow
def test_yesterdays_canary_is_never_reported_as_todays(yesterday_lab, tmp_path):
    """Issue 14 item 10: with only yesterday's canary everywhere (central included) the check said
    "OK - 3/3 nodes deny today's canary"; a canary dated tomorrow counted as today's."""
    lab = yesterday_lab
    today, yesterday, tomorrow = utc_today(), utc_today(-1), utc_today(1)
    budget = {"warning_lag": 86399, "critical_lag": 86400}  # the lag alone never decides here, whatever the hour

    # After the publish time (00:00 UTC): the central PAP without today's canary is itself a finding.
    result = check_saved(lab, tmp_path, **budget)
    nodes = dict((n["name"], n) for n in result["nodes"])
    for node in nodes.values():
        assert node["today_present"] is False and node["newest_date"] == yesterday, node
        assert node["effective_deny"] is True
    central = nodes["central"]
    assert central["status"] == "WARNING" and central["publish_overdue"] is True, central
    assert [p for p in central["problems"] if "publication failed or is late" in p]
    assert [nodes["relay"]["status"], nodes["site"]["status"]] == ["OK", "OK"]
    assert nodes["relay"]["publish_overdue"] is False  # it pulls: not where the canary is published
    first = result["nagios"]["text"].splitlines()[0]
    assert first.startswith("ARGUS CANARY WARNING - 1 warning (central) of 3 nodes | "), first
    assert "deny today's canary" not in result["nagios"]["text"]
    assert "site: OK - today's canary (%s) not present; newest is %s" % (today, yesterday) in result["nagios"]["text"]
    assert 'argus_canary_publish_overdue{node="central"} 1' in result["prometheus"]
    assert 'argus_canary_today_present{node="site"} 0' in result["prometheus"]
    wrapper_agrees(result, tmp_path)

    # Before the publish time: every node OK, and the summary says what is true.
    result = check_saved(lab, tmp_path, publish_time=later_today(), **budget)
    assert [n["status"] for n in result["nodes"]] == ["OK", "OK", "OK"], [n["problems"] for n in result["nodes"]]
    first = result["nagios"]["text"].splitlines()[0]
    assert first.startswith("ARGUS CANARY OK - today's canary not yet seen on 3/3 nodes, lag 0 s of a 23 h 59 min "
                            "budget; 3/3 nodes deny their newest canary (%s) | " % yesterday), first
    assert 'argus_canary_publish_overdue{node="central"} 0' in result["prometheus"]
    wrapper_agrees(result, tmp_path)

    # strict_today (the probe's --today, for CI): no today's canary is CRITICAL on every node.
    result = check_saved(lab, tmp_path, strict_today=True, **budget)
    assert [n["status"] for n in result["nodes"]] == ["CRITICAL"] * 3
    assert result["nagios"]["text"].startswith("ARGUS CANARY CRITICAL - 3 critical (central, relay, site) of 3 nodes")
    out = wrapper_agrees(result, tmp_path)
    assert "strict_today" in out

    # A canary dated tomorrow is never today's (nor the newest).
    ban_on(lab, "central", canary(SALT, tomorrow))
    wait_down_the_chain(lab, canary(SALT, tomorrow))
    result = check_saved(lab, tmp_path, publish_time=later_today(), **budget)
    for node in result["nodes"]:
        assert node["today_present"] is False and node["newest_date"] == yesterday, node
        assert node["future_dates"] == [tomorrow]
        assert node["status"] == "WARNING"
        assert [p for p in node["problems"] if "never counted as today's" in p], node["problems"]
    wrapper_agrees(result, tmp_path)


# ---- checked: effective deny ----------------------------------------------------------------------------

@pytest.mark.slow
def test_check_reports_ordering_pitfall_and_private_relay(misconfigured_lab, tmp_path):
    lab = misconfigured_lab
    result_file = tmp_path / "result.json"
    prom_file = tmp_path / "argus_canary.prom"
    # a previous run left a last-success time for the site that fails now: it must be kept
    prom_file.write_text('argus_canary_last_success_timestamp_seconds{node="site_after_default"} 1700000000\n')
    extravars = dict(tls_vars(lab), canary_endpoints=endpoints(lab, MISCONFIGURED_NAMES), canary_salt=SALT,
                     canary_result_file=str(result_file), canary_prometheus_file=str(prom_file))
    out = run_playbook("gridsec.ops.canary_check", extravars, tmp_path, expect_rc=2)
    assert "ARGUS CANARY CRITICAL" in out
    assert SALT not in out and SALT not in result_file.read_text()
    result = json.loads(result_file.read_text())
    nodes = dict((n["name"], n) for n in result["nodes"])
    assert [n["name"] for n in result["nodes"]] == MISCONFIGURED_NAMES
    for name in ("central", "relay_ok", "site_ok"):
        assert nodes[name]["status"] == "OK", nodes[name]
        assert nodes[name]["effective_deny"] is True
        assert nodes[name]["today_present"] is True
        assert nodes[name]["lag_seconds"] == 0
    # The rule is present on both misconfigured nodes, yet they fail the effective-deny check.
    bad_site = nodes["site_after_default"]
    assert bad_site["today_present"] is True and bad_site["newest_alias"] == "ngi"
    assert bad_site["effective_deny"] is False and bad_site["status"] == "CRITICAL"
    assert bad_site["effective"]["decision"] == "maybe-permit"
    assert bad_site["effective"]["alias"] == "default"
    assert bad_site["effective"]["attributes"] == [{"id": "vo", "value": "dteam"}]
    bad_relay = nodes["relay_private"]
    assert bad_relay["today_present"] is True and bad_relay["newest_alias"] == "central"
    assert bad_relay["effective"]["denied"] is True  # its own PDPs deny...
    assert bad_relay["export"]["denied"] is False  # ...but it does not pass the ban on
    assert bad_relay["effective_deny"] is False and bad_relay["status"] == "CRITICAL"
    assert nodes["relay_ok"]["export"]["denied"] is True
    assert nodes["site_under_private"]["newest"] is None and nodes["site_under_private"]["status"] == "CRITICAL"
    # budgets from the lab's polling intervals (0.3 s) and the default hop allowance (60 s)
    assert nodes["central"]["budget_seconds"] == 0
    assert nodes["relay_ok"]["budget_seconds"] == pytest.approx(60.3)
    assert nodes["site_ok"]["budget_seconds"] == pytest.approx(120.6)
    assert nodes["site_ok"]["upstreams"] == ["relay_ok"]
    assert result["summary"] == {"OK": 3, "WARNING": 0, "CRITICAL": 3, "UNKNOWN": 0}
    assert result["nagios"]["code"] == 2

    # Prometheus textfile: parses, one sample per node, effective deny 0/1, last success kept for a failing node
    text = prom_file.read_text()
    assert text == result["prometheus"]
    samples = parse_prometheus(text, tmp_path)
    deny = dict((s.labels["node"], s.value) for s in samples if s.name == "argus_canary_effective_deny")
    assert deny == {"central": 1, "relay_ok": 1, "relay_private": 0, "site_ok": 1, "site_after_default": 0,
                    "site_under_private": 0}
    last = dict((s.labels["node"], s.value) for s in samples
                if s.name == "argus_canary_last_success_timestamp_seconds")
    assert last["site_after_default"] == 1700000000
    assert "relay_private" not in last
    assert last["central"] == pytest.approx(result["checked_at"])
    lag = dict((s.labels["node"], s.value) for s in samples if s.name == "argus_canary_lag_seconds")
    assert lag["site_ok"] == 0

    # The Nagios wrapper on the saved result
    proc = run_wrapper(["--result", str(result_file)])
    assert proc.returncode == 2, proc.stdout
    first = proc.stdout.splitlines()[0]
    assert first.startswith("ARGUS CANARY CRITICAL - 3 critical (relay_private, site_after_default, "
                            "site_under_private) of 6 nodes | ")
    assert "'site_after_default_deny'=0;;;0;1" in first
    assert "site_after_default: CRITICAL - canary present but not denied" in proc.stdout


def parse_prometheus(text, tmp_path):
    """Validate with promtool when it is installed, always parse with the official Python parser."""
    promtool = shutil.which("promtool")
    if promtool:
        proc = subprocess.run([promtool, "check", "metrics"], input=text, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, check=False)
        assert proc.returncode == 0, proc.stdout
    from prometheus_client.parser import text_string_to_metric_families
    samples = []
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        samples.extend(family.samples)
    return samples


def run_wrapper(args):
    return subprocess.run([sys.executable, WRAPPER] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=120, check=False)


@pytest.mark.slow
def test_check_without_salt_and_unreachable_node(misconfigured_lab, argus_dead_url, tmp_path):
    """Format-only check without a salt; a node that does not answer is UNKNOWN and does not hide the others."""
    lab = misconfigured_lab
    dead_port = int(argus_dead_url.split(":")[2].split("/")[0])
    run_playbook("canary_check_nosalt.yml", {
        "conn": dict(conn(lab, lab.paps["central"], "reader"), retries=0),
        "endpoints": endpoints(lab, ["central", "site_ok"]) + [{"name": "dead", "host": "localhost",
                                                               "port": dead_port}],
        "today": utc_today()}, tmp_path)


# ---- checked: the propagation lag over a hierarchy ------------------------------------------------------

@pytest.mark.slow
def test_hierarchy_lag_within_budget(hierarchy_lab, tmp_path):
    """central -> 2 relays -> 6 sites polling every 4 s: publish, then check every node in one task while the canary
    travels; each node's propagation delay must fit the budget computed from the polling intervals."""
    lab = hierarchy_lab
    names = ["central", "relay1", "relay2"] + ["site%d" % s for s in range(1, 7)]
    out = run_playbook("canary_hierarchy.yml", {
        "central_conn": conn(lab, lab.paps["central"]), "read_conn": conn(lab, lab.paps["central"], "reader"),
        "endpoints": endpoints(lab, names), "salt": SALT, "hop_allowance": 3, "poll": HIERARCHY_POLL}, tmp_path)
    assert "budgets" in out


@pytest.mark.slow
def test_canary_check_through_ansible_runner(misconfigured_lab, tmp_path):
    """The documented ansible-runner invocation of the FQCN playbook (CI/cron) on the healthy nodes."""
    ansible_runner = pytest.importorskip("ansible_runner")
    lab = misconfigured_lab
    names = ["central", "relay_ok", "site_ok"]
    private = tmp_path / "runner"
    (private / "env").mkdir(parents=True)
    result_file = tmp_path / "runner-result.json"
    extravars = dict(tls_vars(lab), canary_endpoints=endpoints(lab, names), canary_salt=SALT,
                     canary_result_file=str(result_file), ansible_python_interpreter=sys.executable)
    env = ansible_env(tmp_path)
    run = ansible_runner.run(private_data_dir=str(private), playbook="gridsec.ops.canary_check",
                             inventory="localhost ansible_connection=local", extravars=extravars,
                             envvars={k: env[k] for k in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_HOME", "PATH")},
                             quiet=True)
    assert run.rc == 0 and run.status == "successful", run.stdout.read()
    result = json.loads(result_file.read_text())
    assert [n["status"] for n in result["nodes"]] == ["OK", "OK", "OK"], [n["problems"] for n in result["nodes"]]


@pytest.mark.slow
def test_nagios_wrapper_runs_the_playbook(misconfigured_lab, tmp_path):
    """``check_argus_canary --run``: runs gridsec.ops.canary_check itself, then reports (NRPE without cron)."""
    lab = misconfigured_lab
    vars_file = tmp_path / "monitor.json"
    vars_file.write_text(json.dumps(dict(tls_vars(lab), canary_salt=SALT,
                                         canary_endpoints=endpoints(lab, ["central", "site_after_default"]))))
    env = ansible_env(tmp_path)
    env["ANSIBLE_PLAYBOOK"] = ANSIBLE_PLAYBOOK
    proc = subprocess.run([sys.executable, WRAPPER, "--run", "--result", str(tmp_path / "result.json"), "--",
                           "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
                           "-e", "@%s" % vars_file], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 2, proc.stdout
    assert proc.stdout.startswith("ARGUS CANARY CRITICAL - 1 critical (site_after_default) of 2 nodes | ")
    assert SALT not in proc.stdout


# ---- the Nagios wrapper ---------------------------------------------------------------------------------

def _node(name, **values):
    node = {"name": name, "error": None, "newest": "CN=...", "newest_date": "20261201", "today_present": True,
            "effective_deny": True, "effective": {"denied": True, "text": "denied"}, "lag_seconds": 0}
    node.update(values)
    return node


@pytest.mark.parametrize("nodes,args,code,first", [
    ([_node("a"), _node("b")], [], 0, "ARGUS CANARY OK - 2/2 nodes deny today's canary | "),
    ([_node("a"), _node("b", lag_seconds=5000, today_present=False)], ["-w", "3600", "-c", "7200"], 1,
     "ARGUS CANARY WARNING - 1 warning (b) of 2 nodes | "),
    ([_node("a", lag_seconds=9000, today_present=False)], ["-w", "3600", "-c", "7200"], 2,
     "ARGUS CANARY CRITICAL - 1 critical (a) of 1 nodes | "),
    ([_node("a"), _node("b", error="PAP localhost:1, operation getAllPaps: connection refused")], [], 3,
     "ARGUS CANARY UNKNOWN - 1 unknown (b) of 2 nodes | "),
    ([_node("a", effective_deny=False, effective={"denied": False, "text": "may be PERMITTED"})], [], 2,
     "ARGUS CANARY CRITICAL - 1 critical (a) of 1 nodes | "),
])
def test_nagios_wrapper_exit_codes(tmp_path, nodes, args, code, first):
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"nodes": nodes, "thresholds": {"warning_lag": 43200, "critical_lag": 86400},
                                "checked_at": time.time()}))
    proc = run_wrapper(["--result", str(path)] + args)
    assert proc.returncode == code, proc.stdout
    assert proc.stdout.splitlines()[0].startswith(first), proc.stdout
    assert len(proc.stdout.splitlines()) == 1 + len(nodes)


def test_nagios_wrapper_unknowns(tmp_path):
    missing = run_wrapper(["--result", str(tmp_path / "missing.json")])
    assert missing.returncode == 3 and missing.stdout.startswith("ARGUS CANARY UNKNOWN - cannot read")
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"nodes": [_node("a")], "checked_at": time.time() - 7200}))
    stale = run_wrapper(["--result", str(old), "--max-age", "3600"])
    assert stale.returncode == 3 and "too old" in stale.stdout
    assert run_wrapper(["--result", str(old)]).returncode == 0
    usage = run_wrapper(["--result", str(old), "--warning", "soon"])
    assert usage.returncode == 3 and "usage error" in usage.stdout
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"changed": false}')
    assert run_wrapper(["--result", str(garbage)]).returncode == 3
