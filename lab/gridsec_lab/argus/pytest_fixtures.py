"""pytest fixtures of the lab Argus PAP (registered in tests/conftest.py ``pytest_plugins``).

* ``argus_lab`` (session): the hierarchy central -> relay -> site of ``hierarchy.example.yml``, in
  process, polling every 0.3 s. Attributes: ``.paps[name]`` (PapInfo: url, host, port, dn, ...),
  ``.creds[name]`` (Credential: cert, key, proxy, dn; ``admin`` ALL, ``reader`` read-only, ``nobody``
  authenticated without permissions), ``.ca_dir``, ``.workdir``, ``.lab_json``, ``.servers[name]``
  (PapServer, for white-box checks and hooks).
* ``argus_pap`` (function): a fresh single PAP with an empty repository (same attributes, plus
  ``.pap`` = its PapInfo, ``.url`` = its base URL, ``.server``).
* ``argus_untrusted_pap`` (function): a PAP whose host certificate comes from ANOTHER CA (clients that
  verify against ``ca_dir`` must refuse it); ``.url``.
* ``argus_dead_url`` (function): a base URL on a port where nothing listens.
"""
import os

import pytest

from ..pki import TestPKI
from ..ports import closed_port
from .lab import ArgusLab
from .server import PapServer

HIERARCHY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hierarchy.example.yml")


@pytest.fixture(scope="session")
def argus_pki(tmp_path_factory):
    return TestPKI(str(tmp_path_factory.mktemp("argus-pki")))


@pytest.fixture(scope="session")
def argus_lab(tmp_path_factory, argus_pki):
    lab = ArgusLab(HIERARCHY, str(tmp_path_factory.mktemp("argus-lab")), poll_interval=0.3, pki=argus_pki)
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


class SinglePap(ArgusLab):
    @property
    def pap(self):
        return next(iter(self.paps.values()))

    @property
    def url(self):
        return self.pap.url

    @property
    def server(self):
        return next(iter(self.servers.values()))

    def service(self, name):
        return self.pap.service(name)


@pytest.fixture
def argus_pap(tmp_path, argus_pki):
    lab = SinglePap({"paps": [{"name": "pap"}]}, str(tmp_path / "argus-pap"), pki=argus_pki, poll_interval=0.3)
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


class _Untrusted:
    def __init__(self, server, other_pki):
        self.server = server
        self.pki = other_pki
        self.port = server.port
        self.url = server.base_url


@pytest.fixture
def argus_untrusted_pap(tmp_path, argus_pki):
    other = TestPKI(str(tmp_path / "other-pki"), ca_dn="/DC=test/DC=untrusted/CN=Untrusted CA")
    host = other.host("untrusted")
    # it trusts the lab CA for its clients, but presents a certificate the lab CA did not issue
    server = PapServer(str(tmp_path / "untrusted-pap"), host.cert, host.key, argus_pki.ca_dir,
                       name="untrusted").start()
    try:
        yield _Untrusted(server, other)
    finally:
        server.stop()


@pytest.fixture
def argus_dead_url():
    # held bound (not listening) for the session: no other process, e.g. the other xdist worker, can take it
    port = closed_port()
    return "https://localhost:%d/pap/services" % port
