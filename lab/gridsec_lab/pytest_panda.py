"""pytest plugin: PanDA endpoints for the lab and integration tests.

Fixtures (session scope):

``panda_endpoint``
    parametrised over ``["lab", "real"]``; the same integration test runs against the lab PanDA
    (``gridsec_lab.panda.start``) and a real panda-server 1.0.4 (``gridsec_lab.panda_real``). Tests using the
    "real" parameter carry the marker ``panda_real`` (deselect with ``-m "not panda_real"``).
``panda_real_endpoint`` / ``panda_lab_endpoint``
    one backend only (started once per session and shared with ``panda_endpoint``).
``panda_pki``
    the :class:`gridsec_lab.pki.TestPKI` the PanDA endpoints use (override it to share a PKI).
``panda_token_config``
    both endpoints accept bearer tokens from the session's lab IAM (``iam_lab``) issued to its PanDA client
    (``panda-client``), VO ``atlas`` (``Origin: atlas``; ``atlas:production`` for the production role): a
    :class:`gridsec_lab.panda_tokens.PandaTokenConfig` (panda-server's auth files, the IAM CA).
``panda_token``
    a :class:`gridsec_lab.panda_tokens.TokenMinter`: ``panda_token.mint(subject, name=..., issuer=...,
    audience=..., groups=...)`` signs a token with the lab IAM's key that both endpoints accept (``name=None``:
    no name claim). Present it with ``endpoint.token_call(token, "GET", "system/is_alive")``.

The lab PanDA creates its own tables (``gridsec_lab.panda.schema``) and needs no panda-database DDL; the real
tier loads the real DDL from ``GRIDSEC_PANDA_SCHEMA_DIR``. PostgreSQL: :func:`gridsec_lab.pg.admin_dsn` (the
server named by ``GRIDSEC_PG_ADMIN_DSN``, a local one, or a private throwaway cluster).

Skips, never silent failures:
- "real" only: the PanDA schema directory is missing -> skip naming ``GRIDSEC_PANDA_SCHEMA_DIR`` and where to
  get it;
- installing panda-server failed because PyPI is unreachable -> skip with the reason (any other install or
  start failure is an error);
- ``gridsec_lab.panda`` does not exist yet -> the "lab" parameter is skipped ("lab PanDA not implemented yet").
"""
import importlib

import pytest

from . import pg
from .pki import TestPKI


def pytest_configure(config):
    config.addinivalue_line("markers", "panda_real: runs against a real panda-server 1.0.4 (installs it on first "
                                       "use, needs PostgreSQL and PyPI on the first run)")
    config.addinivalue_line("markers", "panda_lab: runs against the lab PanDA server")


@pytest.fixture(scope="session")
def panda_pki(tmp_path_factory):
    return TestPKI(str(tmp_path_factory.mktemp("panda-pki")))


def _schema_dir_or_skip():
    schema_dir = pg.default_schema_dir()
    if not pg.schema_dir_available(schema_dir):
        pytest.skip("PanDA PostgreSQL schema not found at %s: %s" % (schema_dir, pg.SCHEMA_HOWTO))
    return schema_dir


@pytest.fixture(scope="session")
def panda_token_config(tmp_path_factory, iam_lab):
    from .panda_tokens import config_for_iam

    return config_for_iam(iam_lab, str(tmp_path_factory.mktemp("panda-auth")))


@pytest.fixture(scope="session")
def panda_token(iam_lab, panda_token_config):
    from .panda_tokens import TokenMinter

    return TokenMinter(iam_lab, vo=panda_token_config.vo)


@pytest.fixture(scope="session")
def panda_real_endpoint(tmp_path_factory, panda_pki, panda_token_config):
    from .panda_real import installer, launcher

    schema_dir = _schema_dir_or_skip()
    try:
        installer.install()
    except installer.InstallError as exc:
        if exc.network:
            pytest.skip("installing panda-server 1.0.4 failed, PyPI unreachable: %s" % str(exc).splitlines()[0])
        raise
    workdir = str(tmp_path_factory.mktemp("panda-real"))
    endpoint = launcher.start(workdir, panda_pki, schema_dir, pg.admin_dsn(), token_config=panda_token_config)
    # BigPanDA is a separate service, not part of panda-server: serve the lab's BigPanDA-style monitor over
    # the real server's database, so monitor lookups (batch id -> PanDA id) run against real job rows.
    from .panda.server import serve as serve_lab
    from .panda.store import Store
    monitor = serve_lab(Store(endpoint.db.dsn()), panda_pki.host("bigpanda-lab"), panda_pki.ca_dir,
                        production_dns=[], ban_cache_seconds=600)
    endpoint.monitor_url = "https://localhost:%d/monitor" % monitor.server_address[1]
    try:
        yield endpoint
    finally:
        monitor.shutdown()
        monitor.server_close()
        endpoint.stop()


@pytest.fixture(scope="session")
def panda_lab_endpoint(tmp_path_factory, panda_pki, panda_token_config):
    try:
        lab = importlib.import_module("gridsec_lab.panda")
    except ModuleNotFoundError as exc:
        if exc.name in ("gridsec_lab.panda",):
            pytest.skip("lab PanDA not implemented yet")
        raise
    if not hasattr(lab, "start"):
        pytest.skip("lab PanDA not implemented yet (gridsec_lab.panda.start missing)")
    workdir = str(tmp_path_factory.mktemp("panda-lab"))
    endpoint = lab.start(workdir, panda_pki, None, pg.admin_dsn(), token_config=panda_token_config)
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture(scope="session", params=[pytest.param("lab", marks=pytest.mark.panda_lab),
                                         pytest.param("real", marks=pytest.mark.panda_real)])
def panda_endpoint(request):
    if request.param == "real":
        return request.getfixturevalue("panda_real_endpoint")
    return request.getfixturevalue("panda_lab_endpoint")

