"""pytest plugin: a real Rucio 41.5.1 server (``gridsec_lab.rucio_real``) for the ``rucio_real`` tier.

``rucio_real`` (session): installs Rucio from PyPI on first use into ``.tmp/rucio-real/venv`` (inside the
checkout), bootstraps a SQLite database, serves the REST app over TLS on 127.0.0.1 (one server per session) and
stops it at the end. Skipped, with the reason, only when the install cannot reach the package index; any other
install or start failure is an error. ``rucio_user`` (function): a fresh USER account with a userpass identity
and an X.509 identity (a lab certificate), created through the REST API by an independent stdlib client.
"""
import random
import string
import urllib.parse

import pytest

from .pki import TestPKI


def pytest_configure(config):
    config.addinivalue_line("markers", "rucio_real: runs against a real Rucio 41.5.1 server (installs it from PyPI "
                                       "on first use into .tmp/rucio-real)")


class RucioLab:
    def __init__(self, endpoint, pki, raw):
        self.endpoint = endpoint
        self.url = endpoint.url
        self.pki = pki
        self.raw = raw
        self.admin_cert = pki.user("rucio-admin")
        self._token = None

    def root_token(self):
        if self._token is None:
            status, self._token = self.raw.login_userpass("root", self.endpoint.root_username,
                                                          self.endpoint.root_password)
            assert status == 200, "root login refused: %s" % status
        return self._token

    def add_x509(self, account, dn):
        self.raw.expect((201,), "POST", "/accounts/%s/identities" % account, token=self.root_token(),
                        body={"identity": dn, "authtype": "X509", "email": "%s@example.invalid" % account})

    def new_user(self, label="u"):
        name = "%s%s" % (label, "".join(random.choice(string.ascii_lowercase) for _ in range(8)))
        token = self.root_token()
        self.raw.expect((201,), "POST", "/accounts/%s" % name, token=token,
                        body={"type": "USER", "email": "%s@example.invalid" % name})
        password = "pw-" + "".join(random.choice(string.ascii_letters) for _ in range(12))
        self.raw.expect((201,), "PUT", "/identities/%s/userpass" % name, token=token,
                        headers={"X-Rucio-Username": name, "X-Rucio-Password": password,
                                 "X-Rucio-Email": "%s@example.invalid" % name})
        cred = self.pki.user(name)
        dn = rfc2253_of_slash(cred.dn)
        self.add_x509(name, dn)
        return RucioUser(name, password, cred, dn)

    def status(self, name):
        return self.raw.account(self.root_token(), name)["status"]

    def can_login_userpass(self, user):
        return self.raw.login_userpass(user.name, user.name, user.password)[0] == 200

    def can_login_x509(self, user):
        return self.raw.login_x509(user.cred, account=user.name)[0] == 200


class RucioUser:
    def __init__(self, name, password, cred, dn):
        self.name, self.password, self.cred, self.dn = name, password, cred, dn


def rfc2253_of_slash(dn):
    """'/DC=test/OU=Users/CN=x' -> 'CN=x,OU=Users,DC=test' (what the lab front puts in SSL_CLIENT_S_DN)."""
    return ",".join(reversed([part for part in dn.split("/") if part]))


@pytest.fixture(scope="session")
def rucio_real(tmp_path_factory):
    from .rucio_real import installer, launcher
    from .rucio_real.rawclient import Raw
    try:
        installer.install()
    except installer.InstallError as exc:
        if exc.network:
            pytest.skip("installing rucio 41.5.1 failed, package index unreachable: %s" % str(exc).splitlines()[0])
        raise
    pki = TestPKI(str(tmp_path_factory.mktemp("rucio-pki")))
    endpoint = launcher.start(str(tmp_path_factory.mktemp("rucio-real")), pki)
    try:
        lab = RucioLab(endpoint, pki, Raw(endpoint.url, pki.ca_cert_path))
        lab.add_x509("root", rfc2253_of_slash(lab.admin_cert.dn))  # root may also log in with a certificate
        yield lab
    finally:
        endpoint.stop()


@pytest.fixture
def rucio_user(rucio_real):
    return rucio_real.new_user()


def quote(text):
    return urllib.parse.quote(text, safe="")
