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


def sync(tmp_path, pki, officer, state, out_file, expect_rc=0, **source):
    args = {"name": "signed", "state_dir": str(state), "ca_path": pki.ca_dir,
            "sources": [dict({"name": "central", "type": "yaml", "path": str(tmp_path / "www" / "list.json"),
                              "require_signature": True, "trusted_signers": [officer.dn]}, **source)],
            "targets": [{"name": "plain", "type": "file", "path": str(out_file), "format": "plain"}]}
    return publish_like("gridsec.ops.suspension_list_sync", tmp_path, args, expect_rc)


def publish_like(module, tmp_path, args, expect_rc):
    task = {module: args, "register": "r", "ignore_errors": bool(expect_rc)}
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [task, {"ansible.builtin.copy": {"content": "{{ r | to_json }}",
                                                       "dest": str(tmp_path / "result.json")}}]}]
    (tmp_path / "play.json").write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.abspath(COLLECTIONS), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_LOCALHOST_WARNING="False")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
                           str(tmp_path / "play.json")], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert bool(result.get("failed")) == bool(expect_rc), result.get("msg")
    return result


def test_sync_applies_only_a_trusted_current_signed_list(pki, tmp_path):
    """Issue 19 done-when: an older signed list is refused and the audit log says why; a tampered list is refused
    and nothing changes at any target."""
    officer = pki.user("Grid Security Officer")
    src, www, state, out = tmp_path / "list.yml", tmp_path / "www", tmp_path / "state", tmp_path / "banned.txt"
    src.write_text(SRC)
    args = {"src": str(src), "dest": str(www / "list.json"), "cert": officer.cert, "key": officer.key}
    publish(tmp_path, args)
    old_pair = ((www / "list.json").read_bytes(), (www / "list.json.sig").read_bytes())

    res = sync(tmp_path, pki, officer, state, out)
    assert res["changed"] and res["sources"][0]["signed"]["serial"] == 1
    assert "/DC=org/DC=example/CN=Mallory 42" in out.read_text()
    res = sync(tmp_path, pki, officer, state, out)
    assert not res["changed"]  # the same signed list again: nothing to do, not a rollback
    # its bytes unchanged: the last good list applied as it stands, the signature still verified on this run
    assert res["merge"] == "unchanged" and res["sources"][0]["signed"]["serial"] == 1 and res["sources"][0]["reads"] == 2

    src.write_text(SRC + '  - dn: "/DC=org/DC=example/CN=Eve 7"\n')
    publish(tmp_path, args)
    res = sync(tmp_path, pki, officer, state, out)
    assert res["sources"][0]["signed"]["serial"] == 2 and "CN=Eve 7" in out.read_text()
    applied = out.read_text()

    # a tampered document (one byte of a DN changed): refused, the target untouched, the reason audited
    good = (www / "list.json").read_bytes()
    (www / "list.json").write_bytes(good.replace(b"Eve 7", b"Eve 8"))
    res = sync(tmp_path, pki, officer, state, out, expect_rc=2)
    assert "does not match the list's bytes" in res["msg"] and out.read_text() == applied
    (www / "list.json").write_bytes(good)

    # the older serial, validly signed, served again (a rollback by a stale mirror or an attacker): refused
    (www / "list.json").write_bytes(old_pair[0])
    (www / "list.json.sig").write_bytes(old_pair[1])
    res = sync(tmp_path, pki, officer, state, out, expect_rc=2)
    assert "serial 1 is older than serial 2" in res["msg"] and out.read_text() == applied
    audit = [json.loads(line) for line in (state / "signed.audit.jsonl").read_text().splitlines()]
    assert any(a.get("result") == "refused" and "older than serial 2" in a.get("reason", "") for a in audit)

    # signed by someone not trusted, with a valid chain: refused
    stranger = pki.user("Someone Else")
    publish(tmp_path, dict(args, cert=stranger.cert, key=stranger.key, dest=str(tmp_path / "other" / "list.json")))
    res = sync(tmp_path, pki, officer, state, out, expect_rc=2, path=str(tmp_path / "other" / "list.json"))
    assert "not in trusted_signers" in res["msg"] and out.read_text() == applied
