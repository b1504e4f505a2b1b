"""rucio_account against a real Rucio 41.5.1 server (the rucio_real tier, docs/rucio-real.md).

Every outcome is read back from the server by an independent stdlib client: the account's status, and whether
the account's userpass and X.509 logins are accepted. Deselect with ``-m "not rucio_real"``.
"""
import json
import os
import socket
import subprocess
import sys
import threading

import pytest

pytestmark = pytest.mark.rucio_real

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
MODULE = "ansible_collections.gridsec.ops.plugins.modules.rucio_account"


def conn(lab, **extra):
    out = {"rucio_url": lab.url, "rucio_username": lab.endpoint.root_username,
           "rucio_password": lab.endpoint.root_password, "ca_path": lab.pki.ca_cert_path}
    out.update(extra)
    return out


def run(tmp_path, args, check=False, diff=True):
    """The module run directly (as Ansible runs it on the target): its JSON result."""
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run([sys.executable, "-m", MODULE, str(path)], capture_output=True, text=True, env=env,
                          timeout=120)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("module output is not JSON (rc %d):\n%s\n%s" % (proc.returncode, proc.stdout,
                                                                             proc.stderr))


def slash(user):
    return user.cred.dn  # OpenSSL slash form; the server stores the RFC 2253 form


def test_suspend_by_dn_check_idempotent_restore(rucio_real, rucio_user, tmp_path):
    lab, user = rucio_real, rucio_user
    assert lab.can_login_userpass(user) and lab.can_login_x509(user)
    args = dict(conn(lab), dn=slash(user), state="suspended")

    predicted = run(tmp_path, args, check=True)
    assert predicted["changed"] is True, predicted
    assert predicted["account"] == user.name and predicted["status"] == "SUSPENDED"
    assert lab.status(user.name) == "ACTIVE"  # check mode wrote nothing

    done = run(tmp_path, args)
    assert done["changed"] is True, done
    assert done["operations"] == predicted["operations"]
    assert lab.status(user.name) == "SUSPENDED"
    assert not lab.can_login_userpass(user) and not lab.can_login_x509(user)
    assert done["stale_token_window"]["token_lifetime_seconds"] == 3600
    assert done["stale_token_window"]["server_cache_seconds"] == 900 and "until" in done["stale_token_window"]
    assert done["diff"]["before"]["status"] == "ACTIVE" and done["diff"]["after"]["status"] == "SUSPENDED"

    again = run(tmp_path, args)
    assert again["changed"] is False and again["operations"] == [], again
    assert not [r for r in again["requests"] if r["method"] != "GET"]
    assert run(tmp_path, args, check=True)["changed"] is False

    restore = dict(args, state="active")
    predicted = run(tmp_path, restore, check=True)
    assert predicted["changed"] is True and lab.status(user.name) == "SUSPENDED"
    restored = run(tmp_path, restore)
    assert restored["changed"] is True and restored["operations"] == predicted["operations"], restored
    assert lab.status(user.name) == "ACTIVE"
    assert lab.can_login_userpass(user) and lab.can_login_x509(user)
    assert run(tmp_path, restore)["changed"] is False


def test_admin_x509_login_and_account_name(rucio_real, rucio_user, tmp_path):
    lab, user = rucio_real, rucio_user
    args = {"rucio_url": lab.url, "rucio_auth_type": "x509", "client_cert": lab.admin_cert.cert,
            "client_key": lab.admin_cert.key, "ca_path": lab.pki.ca_cert_path, "account": user.name}
    done = run(tmp_path, args)
    assert done["changed"] is True and lab.status(user.name) == "SUSPENDED", done
    assert not lab.can_login_userpass(user)
    assert run(tmp_path, dict(args, state="active"))["changed"] is True
    assert lab.status(user.name) == "ACTIVE" and lab.can_login_userpass(user)


def test_suspended_by_someone_else_is_not_reactivated_without_force(rucio_real, rucio_user, tmp_path):
    lab, user = rucio_real, rucio_user
    lab.raw.expect((200,), "PUT", "/accounts/%s" % user.name, token=lab.root_token(), body={"status": "SUSPENDED"})
    args = dict(conn(lab), account=user.name, state="active")
    refused = run(tmp_path, args)
    assert refused.get("failed") and "suspended by someone else" in refused["msg"], refused
    assert refused["changed"] is False and lab.status(user.name) == "SUSPENDED"
    assert not [r for r in refused["requests"] if r["method"] != "GET"]
    # suspending it again is a no-op and does not take ownership
    assert run(tmp_path, dict(args, state="suspended"))["changed"] is False
    assert run(tmp_path, args).get("failed")
    forced = run(tmp_path, dict(args, force=True))
    assert forced["changed"] is True and lab.status(user.name) == "ACTIVE", forced
    assert lab.can_login_userpass(user)


def test_unknown_account_and_unknown_identity(rucio_real, tmp_path):
    lab = rucio_real
    out = run(tmp_path, dict(conn(lab), account="nosuchacct"))
    assert out["failed"] and "does not exist" in out["msg"] and out["changed"] is False, out
    assert lab.url.split("://")[1] in out["msg"] and "GET /accounts/nosuchacct" in out["msg"]
    out = run(tmp_path, dict(conn(lab), dn="/DC=test/DC=gridsec-lab/OU=Users/CN=nobody-here"))
    assert out["failed"] and "no Rucio account" in out["msg"], out


def test_identity_on_several_accounts_fails_before_any_write(rucio_real, tmp_path):
    lab = rucio_real
    first, second = lab.new_user("m"), lab.new_user("m")
    lab.add_x509(second.name, first.dn)
    out = run(tmp_path, dict(conn(lab), dn=slash(first)))
    assert out["failed"] and "several accounts" in out["msg"], out
    assert first.name in out["msg"] and second.name in out["msg"]
    assert not [r for r in out["requests"] if r["method"] != "GET"]
    assert lab.status(first.name) == "ACTIVE" and lab.status(second.name) == "ACTIVE"


def test_wrong_admin_credentials(rucio_real, rucio_user, tmp_path):
    lab = rucio_real
    out = run(tmp_path, dict(conn(lab, rucio_password="not-the-password"), account=rucio_user.name))
    assert out["failed"] and "log in as root" in out["msg"] and "401" in out["msg"], out
    assert "not-the-password" not in json.dumps(out)
    assert lab.status(rucio_user.name) == "ACTIVE"


class _Fake:
    """A server that logs in and reads like Rucio, then misbehaves on PUT (500 HTML, or no reply at all)."""

    def __init__(self, mode, account, host_cred):
        import http.server
        import ssl

        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, status, body=b"", ctype="application/json", headers=()):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path.startswith("/auth/userpass"):
                    return self._send(200, headers=[("X-Rucio-Auth-Token", "root-ddmlab-x-0123")])
                if self.path.startswith("/accounts/%s/attr" % account) or self.path.startswith("/accounts/root/attr"):
                    return self._send(200, b"[]")
                if self.path.startswith("/accounts/%s" % account):
                    return self._send(200, json.dumps({"account": account, "status": "ACTIVE"}).encode())
                self._send(404, b"{}")

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._send(201, b"Created", "text/html")

            def do_PUT(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.puts += 1
                if mode == "html500":
                    return self._send(500, b"<html><body>Internal Server Error</body></html>", "text/html")
                fake.release.wait(10)  # no reply within the client's timeout

        self.puts = 0
        self.release = threading.Event()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # rucio_url must be https (the password is in a header)
        tls.load_cert_chain(host_cred.cert, host_cred.key)
        self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.url = "https://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("mode", ["html500", "timeout"])
def test_server_faults_on_the_write(rucio_real, tmp_path, mode):
    fake = _Fake(mode, "jdoe", rucio_real.pki.host("rucio-fake"))
    try:
        out = run(tmp_path, {"rucio_url": fake.url, "rucio_username": "ddmlab", "rucio_password": "s3cret-pw",
                             "account": "jdoe", "timeout": 2, "retries": 0, "ca_path": rucio_real.pki.ca_cert_path})
    finally:
        fake.close()
    assert out["failed"], out
    assert fake.puts == 1, out  # never sent twice
    assert "PUT /accounts/jdoe status=SUSPENDED" in out["msg"] and "127.0.0.1" in out["msg"]
    if mode == "html500":
        assert "HTTP 500 with a text/html body" in out["msg"], out
    else:
        assert "may have been applied" in out["msg"], out
    assert "already done before the failure: POST /accounts/root/attr/gs.jdoe" in out["msg"]
    assert "s3cret-pw" not in json.dumps(out)


def test_secrets_never_shown_at_vvv(rucio_real, rucio_user, tmp_path):
    lab = rucio_real
    play = tmp_path / "play.yml"
    play.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"gridsec.ops.rucio_account": dict(conn(lab), account=rucio_user.name), "diff": True},
        {"gridsec.ops.rucio_account": dict(conn(lab), account=rucio_user.name, state="active")}]}]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "home"))
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "-vvv", "-e",
                           "ansible_python_interpreter=%s" % sys.executable, str(play)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-5000:]
    text = proc.stdout + proc.stderr
    assert "changed=2" in text
    assert lab.endpoint.root_password not in text
    assert "root-ddmlab-" not in text  # no token
    assert lab.status(rucio_user.name) == "ACTIVE"


def add_oidc(lab, account, identity):
    lab.raw.expect((201,), "POST", "/accounts/%s/identities" % account, token=lab.root_token(),
                   body={"identity": identity, "authtype": "OIDC", "email": "%s@example.invalid" % account})


def test_oidc_issuer_with_and_without_trailing_slash(rucio_real, tmp_path):
    """IAM tokens carry ``iss`` as configured, discovery ends it with ``/``: either stored spelling is found; two
    accounts behind the two spellings fail before anything is written."""
    lab = rucio_real
    one, two = lab.new_user("o"), lab.new_user("o")
    sub = "sub-" + one.name
    add_oidc(lab, one.name, "SUB=%s, ISS=https://iam.lab.test/" % sub)
    found = run(tmp_path, dict(conn(lab), oidc_subject=sub, oidc_issuer="https://iam.lab.test"), check=True)
    assert found.get("failed") is not True and found["account"] == one.name and found["changed"] is True, found
    assert lab.status(one.name) == "ACTIVE"

    add_oidc(lab, two.name, "SUB=%s, ISS=https://iam.lab.test" % sub)
    both = run(tmp_path, dict(conn(lab), oidc_subject=sub, oidc_issuer="https://iam.lab.test/"))
    assert both["failed"] is True and "several accounts" in both["msg"], both
    assert sorted(both["error"]["details"]["accounts"]) == sorted([one.name, two.name])
    assert lab.status(one.name) == "ACTIVE" and lab.status(two.name) == "ACTIVE"
