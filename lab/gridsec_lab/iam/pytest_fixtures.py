"""pytest fixtures of the lab IAM (registered in tests/conftest.py ``pytest_plugins``). See docs/lab-iam.md.

* ``iam_pki`` (session): the :class:`gridsec_lab.pki.TestPKI` whose CA signs the lab IAM's host
  certificate (override it to share a PKI with other lab servers).
* ``iam_lab`` (session): one lab IAM (:class:`gridsec_lab.iam.lab.IamLab`) for the whole session, in
  process. Attributes: ``.url``, ``.issuer`` (as configured, no ``/``), ``.discovery_issuer`` (with ``/``),
  ``.ca_file``, ``.ca_dir``, ``.json_path`` (iam.json), ``.admin`` (Client: ``client_id``, ``secret``,
  ``scopes``), ``.clients[role]`` (``admin``, ``reader``, ``openid``, ``user``, ``iam_profile``),
  ``.users[username]`` (LabUser: ``id``, ``username``, ``password``, ``name``, ``certificate_dns``,
  ``certificate_dns_slash``, ``oidc_ids``, ``token_ids``, ``active``, ...), ``.state`` (white box).
  Methods: ``token_for(username, scope=..., audience=..., client="user")``, ``requests()``,
  ``clear_requests()``, ``delete_all_calls()``, ``mails()``, ``advance_clock(s)``, ``reset()``,
  ``account(username)``, ``tokens(username, kind)``, ``add_user(...)``.
* ``iam`` (function): the same lab IAM, reset to its seed first (accounts, labels, clients back; no
  tokens; empty request log and mails; real time). Use it in every test that writes.
"""
import pytest

from ..pki import TestPKI
from .lab import IamLab


@pytest.fixture(scope="session")
def iam_pki(tmp_path_factory):
    return TestPKI(str(tmp_path_factory.mktemp("iam-pki")))


@pytest.fixture(scope="session")
def iam_lab(tmp_path_factory, iam_pki):
    lab = IamLab(str(tmp_path_factory.mktemp("iam-lab")), pki=iam_pki).start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def iam(iam_lab):
    iam_lab.reset()
    return iam_lab
