"""gridsec.ops.suspension_list_publish (issue 19 item 1) as ansible-playbook runs it, with the lab PKI.

The signature is checked with an independent JWS implementation (PyJWT, detached payload) and the chain with
``openssl verify`` against the lab's hashed CA directory, not only with our own verifier."""
import base64
import datetime
import json
import os
import subprocess
import sys

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ansible_collections.gridsec.ops.plugins.module_utils import _signed_list as signed
from gridsec_lab.pki import TestPKI

COLLECTIONS = os.path.join(os.path.dirname(__file__), "..", "..", ".tmp", "collections")
SRC = """version: 1
origin: central
entries:
  - dn: "/DC=org/DC=example/CN=Mallory 42"
    reason: INC-7
  - fqan: /atlas/bad
"""


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return TestPKI(str(tmp_path_factory.mktemp("publish-pki")))


def publish(tmp_path, args, check=False, expect_rc=0):
    task = {"gridsec.ops.suspension_list_publish": args, "register": "r"}
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [task, {"ansible.builtin.copy": {"content": "{{ r | to_json }}",
                                                       "dest": str(tmp_path / "result.json")},
                              "check_mode": False}]}]
    (tmp_path / "play.json").write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.abspath(COLLECTIONS), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_LOCALHOST_WARNING="False")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=%s" % sys.executable, str(tmp_path / "play.json")]
    if check:
        cmd += ["--check", "--diff"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == expect_rc, proc.stdout[-4000:] + proc.stderr[-2000:]
    if expect_rc:
        return proc.stdout
    return json.loads((tmp_path / "result.json").read_text())


def test_publish_check_real_idempotent_change_and_renewal(pki, tmp_path):
    officer = pki.user("Grid Security Officer")
    src, dest = tmp_path / "list.yml", tmp_path / "www" / "list.json"
    src.write_text(SRC)
    args = {"src": str(src), "dest": str(dest), "cert": officer.cert, "key": officer.key}

    res = publish(tmp_path, args, check=True)
    assert res["changed"] and res["serial"] == 1 and res["reason"] == "first publication"
    assert not dest.exists()

    res = publish(tmp_path, args)
    assert res["changed"] and res["serial"] == 1 and res["entries"] == 2
    body, sig = dest.read_bytes(), (tmp_path / "www" / "list.json.sig").read_text()
    # an independent JWS implementation verifies the detached signature with the certificate's key
    header = json.loads(base64.urlsafe_b64decode(sig.split(".")[0] + "=="))
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    # (RFC 7515 appendix F: the detached payload is put back in the middle to verify)
    protected, _empty, value = sig.strip().split(".")
    attached = ".".join([protected, base64.urlsafe_b64encode(body).rstrip(b"=").decode(), value])
    decoded = jwt.api_jws.decode_complete(attached, key=leaf.public_key(), algorithms=["RS256"])
    assert decoded["header"]["alg"] == "RS256" and decoded["payload"] == body
    # and openssl finds the chain in the lab's hashed CA directory
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    ok = subprocess.run(["openssl", "verify", "-CApath", pki.ca_dir, str(tmp_path / "leaf.pem")],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    doc = signed.verify(body, sig, signed.load_ca_directory(pki.ca_dir), [officer.dn],
                        datetime.datetime.now(datetime.timezone.utc))
    assert doc["list"]["entries"][0]["dn"] == "/DC=org/DC=example/CN=Mallory 42" and doc["signer"] == officer.dn

    res = publish(tmp_path, args)
    assert not res["changed"] and res["serial"] == 1 and dest.read_bytes() == body  # nothing written again

    src.write_text(SRC + '  - dn: "/DC=org/DC=example/CN=Eve 7"\n')
    res = publish(tmp_path, args, check=True)
    assert res["changed"] and res["serial"] == 2 and res["added"] == [
        {"kind": "dn", "value": "/DC=org/DC=example/CN=Eve 7"}] and dest.read_bytes() == body
    res = publish(tmp_path, args)
    assert res["changed"] and res["serial"] == 2 and res["removed"] == []

    # an unchanged list close to its expiry gets a new serial (renew_before), never the same serial again
    res = publish(tmp_path, dict(args, validity="4h", renew_before="3h"))
    assert not res["changed"]  # the serial 2 published above is valid for 1 day: no renewal needed
    res = publish(tmp_path, dict(args, validity="30d", renew_before="2d"))
    assert res["changed"] and res["serial"] == 3 and "within renew_before" in res["reason"]


def test_publish_refuses_what_it_must_not_sign(pki, tmp_path):
    officer = pki.user("Grid Security Officer")
    other = pki.user("Someone Else")
    src, dest = tmp_path / "list.yml", tmp_path / "list.json"
    src.write_text(SRC)
    base = {"src": str(src), "dest": str(dest), "cert": officer.cert, "key": officer.key}
    # a key that is not the certificate's
    out = publish(tmp_path, dict(base, key=other.key), expect_rc=2)
    assert "does not belong to the certificate" in out and not dest.exists()
    # a proxy
    out = publish(tmp_path, dict(base, cert=pki.proxy(officer), key=pki.proxy(officer)), expect_rc=2)
    assert "RFC 3820 proxy" in out and not dest.exists()
    # a list that fails the schema (a misspelt field) publishes nothing
    src.write_text("version: 1\nentries:\n  - dn: /DC=org/CN=x\n    reasn: typo\n")
    out = publish(tmp_path, base, expect_rc=2)
    assert "schema validation failed" in out and not dest.exists()
    # a DN with an unknown attribute type (CM=) publishes nothing
    src.write_text("version: 1\nentries:\n  - dn: /DC=org/CM=John Doe\n")
    out = publish(tmp_path, base, expect_rc=2)
    assert "CM" in out and not dest.exists()
    # dest that is something else is never overwritten
    src.write_text(SRC)
    dest.write_text("precious\n")
    out = publish(tmp_path, base, expect_rc=2)
    assert "not a signed suspension list" in out and dest.read_text() == "precious\n"
