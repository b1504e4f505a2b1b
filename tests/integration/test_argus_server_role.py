# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The argus_server role with services it does not manage (argus_server_manage_services: false), against lab PAPs
started from the configuration it rendered (``serve_conf_dir``, as ``argus-pap`` reads its conf dir), the running
PAP's state read back over SOAP with the lab's own client.

- a PAP still running the package's ``ANYONE : ALL``: the role applies the ACL of ``pap_authorization.ini`` through
  the API, so the running PAP holds it (and nobody else can write), without a restart;
- with the API part off, the same change is reported: ``argus_server_restart_required`` and the reasons, and a
  warning; PDP and PEP files too;
- the first run on a new node (no PAP yet) does not wait for a PAP: it says where the configuration is and to start
  the services and re-run; the re-run applies the API part; a PAP that is down on a later run fails fast.
"""
import json
import os
import subprocess
import sys

import pytest

from gridsec_lab.argus import rawclient as rc
from gridsec_lab.argus import serve_conf_dir
from gridsec_lab.argus.server import free_port
from _hardening import ANSIBLE_PLAYBOOK, ROOT, ansible_env, pap_rules

pytestmark = pytest.mark.slow

PLAYBOOK = os.path.join(ROOT, "tests", "integration", "playbooks", "argus_server_role.yml")
ANYONE_DN = "/O=PAP/OU=Internal/CN=Any authenticated user"   # how argus-pap stores ANYONE
OPEN_ACL = "[dn]\n\nANYONE : ALL\n\n[fqan]\n"                   # the ACL argus-pap ships with
HL = "http://org.glite.authz/wsdl/pap/services/highlevel_policy_management"
LOCAL_BAN = "/DC=org/DC=gridsec-role/OU=Users/CN=Local Suspect"


class Node:
    """One central node (PAP, and PDP/PEP daemon files) rendered under tmp_path by the role."""

    def __init__(self, tmp_path, pki, **extra):
        self.tmp = tmp_path
        self.pki = pki
        self.host = pki.host("role-node")
        self.admin = pki.user("role admin")
        self.nobody = pki.user("role nobody")
        self.port = free_port()
        self.etc = tmp_path / "etc"
        self.pap_dir = str(self.etc / "pap")
        self.state = str(tmp_path / "state")
        self.facts_dir = tmp_path / "facts"
        self.facts_dir.mkdir()
        self.vars = {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "argus_server_tier": "central", "argus_server_components": ["pap", "pdp", "pepd"],
            "argus_server_manage_packages": False, "argus_server_manage_services": False,
            "argus_server_fqdn": "localhost", "argus_server_pap_bind_address": "127.0.0.1",
            "argus_server_pap_port": self.port,
            "argus_server_host_cert": self.host.cert, "argus_server_host_key": self.host.key,
            "argus_server_host_dn": self.host.dn, "argus_server_ca_dir": pki.ca_dir,
            "argus_server_pap_admin_dns": [self.admin.dn],
            "argus_server_pap_reader_dns": ["/DC=org/DC=gridsec-role/OU=Robots/CN=canary"],
            "argus_server_pap_conf_dir": self.pap_dir,
            "argus_server_pdp_conf_dir": str(self.etc / "pdp"),
            "argus_server_pepd_conf_dir": str(self.etc / "pepd"),
            "argus_server_api_wait_timeout": 30,
        }
        self.vars.update(extra)
        self.pap = None

    def run(self, *args, **overrides):
        inventory = self.tmp / "inventory.json"
        inventory.write_text(json.dumps({"argus_central": {"hosts": {"node": dict(self.vars, **overrides)}}}))
        for old in self.facts_dir.glob("*.json"):
            old.unlink()
        proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(inventory), PLAYBOOK, "-e",
                               "role_facts_dir=%s" % self.facts_dir] + list(args),
                              env=ansible_env(self.tmp), capture_output=True, text=True, timeout=300, check=False)
        facts = self.facts_dir / "node.json"
        proc.facts = json.loads(facts.read_text()) if facts.exists() else None
        return proc

    def read(self, name):
        with open(os.path.join(self.pap_dir, name), encoding="utf-8") as handle:
            return handle.read()

    def start(self):
        self.pap = serve_conf_dir(self.pap_dir, self.state, ca_dir=self.pki.ca_dir)
        return self.pap

    def stop(self):
        if self.pap is not None:
            self.pap.stop()
            self.pap = None

    def call(self, service, operation, params=(), cred=None, ns=rc.AXIS_NS):
        return rc.call("%s/%s" % (self.pap.url, service), operation, params, cred=cred or self.admin,
                       ca_dir=self.pki.ca_dir, ns=ns)

    def running_acl(self):
        """{principal name: [permissions]} of the running PAP (getACL, global context)."""
        acl = {}
        for item in rc.ret(self.call("AuthorizationManagementService", "getACL", [("context", None)])):
            name = item.findtext("{%s}principal/{%s}name" % (rc.AXIS_NS, rc.AXIS_NS))
            acl[name] = sorted(p.text for p in item.findall("{%s}permissions" % rc.AXIS_NS))
        return acl

    def nobody_can_ban(self):
        try:
            self.call("HighLevelPolicyManagementService", "ban",
                      [("alias", "default"), ("id", "subject"), ("value", "/CN=should not be written"),
                       ("resource", ".*"), ("action", ".*"), ("isPublic", True)], cred=self.nobody, ns=HL)
        except rc.Fault:
            return False
        return True


ALL = sorted(["POLICY_READ_LOCAL", "POLICY_READ_REMOTE", "POLICY_WRITE", "CONFIGURATION_READ", "CONFIGURATION_WRITE"])


@pytest.fixture
def node(tmp_path, argus_pki):
    made = Node(tmp_path, argus_pki)
    yield made
    made.stop()


def _ok(proc):
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]


def _recap_changed(proc):
    line = [l for l in proc.stdout.splitlines() if l.startswith("node ")][-1]
    return int(line.split("changed=")[1].split()[0])


def _open_running_pap(node):
    """A node whose PAP runs the package's open ACL: the configuration rendered once, then pap_authorization.ini
    replaced by argus-pap's shipped one and the PAP started from that directory."""
    _ok(node.run("-e", "argus_server_configure_api=false"))
    rendered = node.read("pap_authorization.ini")
    with open(os.path.join(node.pap_dir, "pap_authorization.ini"), "w", encoding="utf-8") as handle:
        handle.write(OPEN_ACL)
    node.start()
    assert node.running_acl() == {ANYONE_DN: ALL} and node.nobody_can_ban()
    return rendered


def test_open_acl_of_a_running_pap_is_closed_through_the_api(node):
    """Issue 14 item 5: with unmanaged services the running PAP must not keep ANYONE : ALL."""
    rendered = _open_running_pap(node)
    proc = node.run()
    _ok(proc)
    # the running PAP holds the role's ACL, without a restart
    assert node.running_acl() == {
        node.host.dn: ALL, node.admin.dn: ALL,
        "/DC=org/DC=gridsec-role/OU=Robots/CN=canary": sorted(["CONFIGURATION_READ", "POLICY_READ_LOCAL",
                                                                "POLICY_READ_REMOTE"]),
    }
    assert not node.nobody_can_ban()
    # the file is the role's (argus-pap rewrote it after the API change; the role rendered it again)
    assert node.read("pap_authorization.ini") == rendered
    # applied live: no restart needed for the ACL
    assert proc.facts["restart_required"] is False, proc.facts
    assert not any("pap_authorization.ini" in r for r in proc.facts["restart_reasons"]), proc.facts
    # a second run changes nothing
    again = node.run()
    _ok(again)
    assert _recap_changed(again) == 0, again.stdout[-4000:]
    assert again.facts == {"restart_required": False, "restart_reasons": []}


def test_changes_that_need_a_restart_are_reported(node):
    """Issue 14 item 5: without the API part, the ACL change and the PDP/PEP changes need restarts the role does not
    do: the facts say which file and which service, and a warning is shown."""
    _open_running_pap(node)
    proc = node.run("-e", "argus_server_configure_api=false", "-e", "argus_server_pdp_port=18252",
                    "-e", "argus_server_pepd_cached_response_ttl=120")
    _ok(proc)
    reasons = proc.facts["restart_reasons"]
    assert proc.facts["restart_required"] is True
    assert any("pap_authorization.ini" in r and r.endswith("restart argus-pap") for r in reasons), reasons
    assert any("pdp.ini" in r and r.endswith("restart argus-pdp") for r in reasons), reasons
    assert any("pepd.ini" in r and r.endswith("restart argus-pepd") for r in reasons), reasons
    assert len(reasons) == 3, reasons
    assert "WARNING: argus_server on node" in proc.stdout and "pap_authorization.ini changed" in proc.stdout
    # what the role says is true: the running PAP still has the open ACL
    assert node.running_acl() == {ANYONE_DN: ALL}


def test_first_run_without_a_pap_says_what_to_do_then_rerun_applies(node):
    """Issue 14 item 19: the first run with unmanaged services does not time out waiting for a PAP; it names the
    rendered directories and says to start the services and re-run. The re-run applies the API part to the started
    PAP. Later, a PAP that is down fails the run at once, saying so."""
    node.vars["argus_server_local_ban_subjects"] = [LOCAL_BAN]
    first = node.run()
    _ok(first)
    assert "Timeout when waiting" not in first.stdout
    assert first.facts["restart_required"] is True
    text = " ".join(first.facts["restart_reasons"])
    for expected in (node.pap_dir, str(node.etc / "pdp"), str(node.etc / "pepd"), "start argus-pap, argus-pdp, argus-pepd",
                     "re-run the role"):
        assert expected in text, first.facts
    assert "WARNING: argus_server on node" in first.stdout
    # start argus-pap from what was rendered, and re-run
    node.start()
    second = node.run()
    _ok(second)
    assert second.facts == {"restart_required": False, "restart_reasons": []}, second.facts
    assert ("Deny", (("urn:oasis:names:tc:xacml:1.0:subject:subject-id",
                      "CN=Local Suspect,OU=Users,DC=gridsec-role,DC=org"),)) in pap_rules(_Lab(node), node.pap)
    assert node.running_acl()[node.host.dn] == ALL and ANYONE_DN not in node.running_acl()
    # the PAP is down on a later run: fail at once, naming the PAP and the directory
    node.stop()
    down = node.run()
    assert down.returncode != 0
    assert "Timeout when waiting" not in down.stdout
    assert "argus-pap does not listen on localhost:%d" % node.port in down.stdout, down.stdout[-3000:]
    assert node.pap_dir in down.stdout and "start argus-pap, then re-run the role" in down.stdout


class _Lab:
    """What _hardening.pap_rules needs of a lab: the admin credential and the CA directory."""

    def __init__(self, node):
        self.creds = {"admin": node.admin}
        self.ca_dir = node.pki.ca_dir


def test_a_running_pap_that_refuses_the_role_says_to_restart(node):
    """The running PAP's ACL does not let the host write (a hand-made ACL): the API part fails, and the failure says
    that the changed pap_authorization.ini is not in effect and the PAP needs a restart."""
    _ok(node.run("-e", "argus_server_configure_api=false"))
    with open(os.path.join(node.pap_dir, "pap_authorization.ini"), "w", encoding="utf-8") as handle:
        handle.write('[dn]\n\n"%s" : ALL\n\n[fqan]\n' % node.admin.dn)
    node.start()
    proc = node.run()
    assert proc.returncode != 0
    assert "pap_authorization.ini changed" in proc.stdout and "Restart it, then re-run the role" in proc.stdout, \
        proc.stdout[-4000:]
    assert node.running_acl() == {node.admin.dn: ALL}     # nothing was written
