"""The lab CLI: background start of the example hierarchy, lab.json, runtime WSDLs, stop."""
import json
import ssl
import urllib.request
import os
import subprocess
import sys

from lxml import etree

from gridsec_lab.argus import rawclient as rc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "lab", "gridsec_lab", "argus", "hierarchy.example.yml")


def _run(*args):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "lab"))
    return subprocess.run([sys.executable, "-m", "gridsec_lab", "argus", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_background_hierarchy_and_stop(tmp_path):
    workdir = str(tmp_path / "lab")
    started = _run("--config", EXAMPLE, "--workdir", workdir, "--poll-interval", "0.5")
    try:
        assert started.returncode == 0, started.stderr
        info = json.load(open(os.path.join(workdir, "lab.json")))
        assert set(info["paps"]) == {"central", "relay", "site"}
        assert set(info["credentials"]) == {"admin", "reader", "nobody"}
        for name, pap in info["paps"].items():
            assert pap["url"] == "https://localhost:%d/pap/services" % pap["port"]
            assert pap["url"] in started.stdout
        admin = info["credentials"]["admin"]
        cred = type("C", (), admin)
        resp = rc.call(info["paps"]["relay"]["url"] + "/PAPManagementService", "getOrder", cred=cred,
                       ca_dir=info["ca_dir"])
        assert [e.text for e in rc.ret(resp)] == ["central", "default"]
        for service in ("PAPManagementService", "XACMLPolicyManagementService", "HighLevelPolicyManagementService",
                        "AuthorizationManagementService", "ProvisioningService"):
            ctx = ssl.create_default_context(capath=info["ca_dir"])
            ctx.load_cert_chain(admin["cert"], admin["key"])
            data = urllib.request.urlopen(info["paps"]["site"]["url"] + "/" + service + "?wsdl", context=ctx).read()
            assert etree.fromstring(data).tag == "{http://schemas.xmlsoap.org/wsdl/}definitions"
    finally:
        stopped = _run("stop", "--workdir", workdir)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not os.path.exists(os.path.join(workdir, "argus.pid"))
