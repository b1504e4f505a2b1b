"""The lab PAP started from a directory of real configuration files (``serve --conf-dir`` and
``gridsec_lab.argus.serve_conf_dir``), read like the real PAP reads them at start (PAPServer,
DistributionConfiguration, AuthzConfigurationParser), rewritten only through the API."""
import json
import os
import socket
import ssl
import subprocess
import sys

import pytest
from cryptography import x509

from gridsec_lab.argus import rawclient as rc
from gridsec_lab.argus import serve_conf_dir
from gridsec_lab.argus.rawclient import Fault
from gridsec_lab.argus.server import free_port

LAB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "lab")
HL = "http://org.glite.authz/wsdl/pap/services/highlevel_policy_management"

CONFIG = """#
# PAP configuration (rendered by a role)
#
[paps]
## Trusted PAPs will be listed here
central.type = remote
central.enabled = true
central.public = true
central.dn = /DC=test/DC=gridsec-lab/OU=hosts/CN=central.example.org
central.hostname = central.invalid
central.port = 8150
central.path = /pap/services/
central.protocol = https

[paps:properties]

poll_interval = 3600
ordering = central
ordering = default

[repository]

location = /var/lib/argus/pap/repository
consistency_check = false
consistency_check.repair = false

[standalone-service]

entity_id = http://site.example.org/pap
hostname = localhost
port = {port}
shutdown_port = 8151
shutdown_command = shutdown

[security]

certificate = {cert} 
private_key = {key}
"""

AUTHZ = """# PAP service access control
[dn]

"{admin}" : ALL
ANYONE : CONFIGURATION_READ|POLICY_READ_LOCAL

[fqan]

/lab/admins : POLICY_READ_REMOTE
"""


class ConfPap:
    def __init__(self, url, pki, cred):
        self.url, self.pki, self.cred = url, pki, cred

    def call(self, service, op, params=(), ns=rc.AXIS_NS, cred=None):
        return rc.call("%s/%s" % (self.url, service), op, params, cred=cred or self.cred, ca_dir=self.pki.ca_dir, ns=ns)


@pytest.fixture
def conf_dir(tmp_path, argus_pki):
    host = argus_pki.host("confdir-site")
    admin = argus_pki.user("confdir admin")
    directory = tmp_path / "etc-argus-pap"
    directory.mkdir()
    port = free_port()
    (directory / "pap_configuration.ini").write_text(CONFIG.format(port=port, cert=host.cert, key=host.key))
    (directory / "pap_authorization.ini").write_text(AUTHZ.format(admin=admin.dn))
    return {"dir": str(directory), "port": port, "host": host, "admin": admin, "pki": argus_pki,
            "state": str(tmp_path / "state")}


def test_serve_conf_dir_reads_the_real_files(conf_dir):
    before = open(os.path.join(conf_dir["dir"], "pap_configuration.ini")).read()
    authz_before = open(os.path.join(conf_dir["dir"], "pap_authorization.ini")).read()
    pap = serve_conf_dir(conf_dir["dir"], conf_dir["state"], ca_dir=conf_dir["pki"].ca_dir)
    try:
        assert pap.port == conf_dir["port"] and pap.url == "https://localhost:%d/pap/services" % conf_dir["port"]
        client = ConfPap(pap.url, conf_dir["pki"], conf_dir["admin"])
        paps = rc.ret(client.call("PAPManagementService", "getAllPaps"))
        aliases = [p.findtext("{%s}alias" % rc.AXIS_NS) for p in paps]
        assert aliases == ["central", "default"]
        central = paps[0]
        assert central.findtext("{%s}visibilityPublic" % rc.AXIS_NS) == "true"
        assert central.findtext("{%s}hostname" % rc.AXIS_NS) == "central.invalid"
        assert [e.text for e in rc.ret(client.call("PAPManagementService", "getOrder"))] == ["central", "default"]
        assert float(rc.ret(client.call("PAPManagementService", "getPollingInterval")).text) == 3600.0
        # ANYONE : CONFIGURATION_READ|POLICY_READ_LOCAL from pap_authorization.ini
        other = conf_dir["pki"].user("confdir other")
        rc.ret(client.call("PAPManagementService", "getAllPaps", cred=other))
        with pytest.raises(Fault) as err:
            client.call("HighLevelPolicyManagementService", "ban", [
                ("alias", "default"), ("id", "subject"), ("value", "/CN=x"), ("resource", ".*"), ("action", ".*"),
                ("isPublic", True)], ns=HL, cred=other)
        assert err.value.string.endswith("Insufficient privileges to perform operation 'BanOperation'.")
        acl = rc.ret(client.call("AuthorizationManagementService", "getACL", [("context", None)]))
        names = {item.findtext("{%s}principal/{%s}name" % (rc.AXIS_NS, rc.AXIS_NS)) for item in acl}
        assert {conf_dir["admin"].dn, "/lab/admins"} <= names
        # the PAP presents the configured host certificate
        ctx = ssl.create_default_context(capath=conf_dir["pki"].ca_dir)
        with socket.create_connection(("127.0.0.1", pap.port)) as sock:
            with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
                der = tls.getpeercert(binary_form=True)
        assert x509.load_der_x509_certificate(der) == x509.load_pem_x509_certificate(
            open(conf_dir["host"].cert, "rb").read())
        # nothing was rewritten at start
        assert open(os.path.join(conf_dir["dir"], "pap_configuration.ini")).read() == before
        assert open(os.path.join(conf_dir["dir"], "pap_authorization.ini")).read() == authz_before
        policy_id = rc.ret(client.call("HighLevelPolicyManagementService", "ban", [
            ("alias", "default"), ("id", "subject"), ("value", "/CN=kept"), ("resource", ".*"), ("action", ".*"),
            ("isPublic", True)], ns=HL)).text
        # API changes rewrite [paps] / [paps:properties] (DistributionConfiguration) and keep the rest
        client.call("PAPManagementService", "setPollingInterval", [("seconds", 600)])
        client.call("PAPManagementService", "addPap", [("pap", {
            "alias": "relay", "dn": "/CN=relay", "hostname": "relay.invalid", "port": "8150",
            "path": "/pap/services/", "protocol": "https", "visibilityPublic": False, "local": False,
            "enabled": True})])
        client.call("PAPManagementService", "setOrder", [("aliasArray", ["relay", "central", "default"])])
        after = open(os.path.join(conf_dir["dir"], "pap_configuration.ini")).read()
        assert "poll_interval = 600\n" in after and "poll_interval = 3600" not in after
        assert "relay.type = remote" in after and "relay.hostname = relay.invalid" in after
        assert "ordering = relay\nordering = central\nordering = default" in after
        assert "shutdown_command = shutdown" in after and "location = /var/lib/argus/pap/repository" in after
        assert "# PAP configuration (rendered by a role)" in after
    finally:
        pap.stop()
    # a restart reads the rewritten file and keeps the repository of STATE
    pap = serve_conf_dir(conf_dir["dir"], conf_dir["state"], ca_dir=conf_dir["pki"].ca_dir)
    try:
        client = ConfPap(pap.url, conf_dir["pki"], conf_dir["admin"])
        assert [e.text for e in rc.ret(client.call("PAPManagementService", "getOrder"))] == [
            "relay", "central", "default"]
        assert float(rc.ret(client.call("PAPManagementService", "getPollingInterval")).text) == 600.0
        ids = [p.get("PolicyId") for p in rc.ret(client.call("XACMLPolicyManagementService", "listPolicies",
                                                             [("alias", "default")]))]
        assert ids == [policy_id]
    finally:
        pap.stop()


def test_a_pap_dropped_from_the_configuration_is_deleted_at_start(conf_dir):
    pap = serve_conf_dir(conf_dir["dir"], conf_dir["state"], ca_dir=conf_dir["pki"].ca_dir)
    pap.stop()
    path = os.path.join(conf_dir["dir"], "pap_configuration.ini")
    text = open(path).read()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("central.")).replace(
        "ordering = central\n", "")
    open(path, "w").write(text)
    pap = serve_conf_dir(conf_dir["dir"], conf_dir["state"], ca_dir=conf_dir["pki"].ca_dir)
    try:
        client = ConfPap(pap.url, conf_dir["pki"], conf_dir["admin"])
        paps = rc.ret(client.call("PAPManagementService", "getAllPaps"))
        assert [p.findtext("{%s}alias" % rc.AXIS_NS) for p in paps] == ["default"]
    finally:
        pap.stop()


def test_cli_serve_background_and_stop(conf_dir):
    env = dict(os.environ, PYTHONPATH=LAB_DIR)
    cmd = [sys.executable, "-m", "gridsec_lab", "argus"]
    out = subprocess.run(cmd + ["serve", "--conf-dir", conf_dir["dir"], "--workdir", conf_dir["state"],
                                "--ca-dir", conf_dir["pki"].ca_dir, "--timeout", "60"],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    try:
        assert "PAP listening on https://localhost:%d/pap/services" % conf_dir["port"] in out.stdout
        pid = int(open(os.path.join(conf_dir["state"], "argus.pid")).read())
        info = json.load(open(os.path.join(conf_dir["state"], "argus.json")))
        assert info["pid"] == pid and info["port"] == conf_dir["port"]
        assert os.path.exists(os.path.join(conf_dir["state"], "argus.log"))
        client = ConfPap(info["url"], conf_dir["pki"], conf_dir["admin"])
        assert rc.ret(client.call("PAPManagementService", "ping")).text.startswith("PAP version:")
    finally:
        stopped = subprocess.run(cmd + ["stop", "--workdir", conf_dir["state"]], env=env, capture_output=True,
                                 text=True, timeout=60, check=False)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not os.path.exists(os.path.join(conf_dir["state"], "argus.pid"))


def test_cli_serve_reports_a_missing_certificate(conf_dir, tmp_path):
    path = os.path.join(conf_dir["dir"], "pap_configuration.ini")
    text = open(path).read().replace(conf_dir["host"].cert, str(tmp_path / "nope.pem"))
    open(path, "w").write(text)
    env = dict(os.environ, PYTHONPATH=LAB_DIR)
    out = subprocess.run([sys.executable, "-m", "gridsec_lab", "argus", "serve", "--conf-dir", conf_dir["dir"],
                          "--workdir", conf_dir["state"], "--foreground"], env=env, capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 1 and "nope.pem not found" in out.stderr
