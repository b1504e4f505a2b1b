# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Base class of the PanDA modules.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

``PandaModule`` adds to the shared ``GridsecModule`` (``_module_base.py``: argument spec with ``TLS_SPEC``, the
``GridsecError`` to ``fail_json`` path) the PanDA options ``PANDA_SPEC`` (documented by the ``_panda`` doc
fragment) and optionally ``PANDA_DB_SPEC`` (``_panda_db`` fragment), their validation, one ``PandaClient`` and
at most one ``PandaDB`` connection (one transaction) per run, and the PanDA keys of a failure (the transaction
is rolled back; ``statements`` lists what had been executed).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
from ansible_collections.gridsec.ops.plugins.module_utils._http_options import check_base_url, validate_tls_options
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import GridsecModule
from ansible_collections.gridsec.ops.plugins.module_utils._panda import db as _panda_db
# the specs live apart so that suspension_list_sync can build its argument spec without this file's imports
from ansible_collections.gridsec.ops.plugins.module_utils._panda.specs import PANDA_DB_SPEC, PANDA_SPEC


_DB_KEYS = ("db_dsn", "db_host", "db_port", "db_name", "db_user", "db_password")


def check_panda_url(url):
    """Message when ``panda_url`` cannot be a PanDA server URL (no scheme, no host), else None (also when unset:
    the database-only modules need no URL). ``http://`` stays allowed: PanDA serves its read-only API over plain
    HTTP (port 25080) too."""
    if url is None or url == "":
        return None
    return check_base_url(url, "panda_url", https_only=False, example="https://pandaserver.example.org:25443",
                          hint="the PanDA API is served over HTTPS, usually on port 25443")


class PandaModule(GridsecModule):
    """``GridsecModule`` with the PanDA connection options, a lazily built ``PandaClient`` and ``PandaDB``."""

    def __init__(self, argument_spec=None, use_db=False, **kwargs):
        specs = (PANDA_SPEC, PANDA_DB_SPEC) if use_db else (PANDA_SPEC,)
        super(PandaModule, self).__init__(connection_specs=specs, argument_spec=argument_spec, **kwargs)
        self.use_db = use_db
        self._db = None
        self.statements = []
        self.changed_so_far = False  # set by a module once something was written/sent (reported on failure)
        if use_db:
            for secret in _panda_db.parse_dsn_secrets(self.params.get("db_dsn")):
                self.no_log_values.add(secret)
        # Local validation of the shared options, before anything is read or sent: the message names no
        # server operation, since none ran.
        problems = validate_tls_options(timeout=self.params.get("timeout"), retries=self.params.get("retries"))
        url_problem = check_panda_url(self.params.get("panda_url"))
        if url_problem:
            problems.insert(0, url_problem)
        if problems:
            self.fail_json(msg="invalid options: %s" % "; ".join(problems), changed=False)

    # -- API ----------------------------------------------------------------------------------------
    @property
    def server_label(self):
        url = self.params.get("panda_url") or ""
        return url.split("://", 1)[-1].split("/", 1)[0] or "PanDA server"

    @property
    def base_url(self):
        url = (self.params.get("panda_url") or "").rstrip("/")
        for suffix in ("/api/v1", "/api/latest"):
            if url.endswith(suffix):
                url = url[:-len(suffix)]
        return url

    @property
    def api_configured(self):
        return bool(self.params.get("panda_url"))

    def client(self, why="the PanDA API"):
        """The ``PandaClient`` of this run (built once); fails the task when O(panda_url) is missing."""
        if self._client is None:
            if not self.api_configured:
                self.fail_json(msg="panda_url is required to use %s" % why)
            # imported here, not with this file: a run that only reads/writes the database (panda_user_ban
            # without verify) then loads neither the HTTP client nor http.client/ssl
            from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
            from ansible_collections.gridsec.ops.plugins.module_utils._panda.client import PandaClient

            transport = self.new_transport(HttpTransport, self.base_url)
            self._client = PandaClient(transport, server_label=self.server_label,
                                       oidc_token=self.params.get("oidc_token"),
                                       oidc_vo=self.params.get("oidc_vo"), oidc_role=self.params.get("oidc_role"))
        return self._client

    # -- DB -----------------------------------------------------------------------------------------
    @property
    def db_configured(self):
        return self.use_db and any(self.params.get(key) not in (None, "") for key in ("db_dsn", "db_host", "db_name"))

    def db(self):
        """The ``PandaDB`` of this run (connected once, one transaction until ``finish_db``)."""
        if self._db is None:
            backend = self.params["db_backend"]
            if backend in _panda_db.DRIVER_LIBRARIES:
                self.require_library(_panda_db.DRIVER_LIBRARIES[backend], _panda_db.load_driver(backend))
            self._db = self.run_guarded(
                _panda_db.PandaDB.connect,
                backend=backend, dsn=self.params.get("db_dsn"), host=self.params.get("db_host"),
                port=self.params.get("db_port"), name=self.params.get("db_name"),
                user=self.params.get("db_user"), password=self.params.get("db_password"),
                meta_schema=self.params.get("db_meta_schema"), panda_schema=self.params.get("db_panda_schema"),
                deft_schema=self.params.get("db_deft_schema"), connect_timeout=self.params.get("timeout") or 30)
        return self._db

    def record(self, statements):
        """Add statements (dicts from ``PandaDB``) to the audit trail of this run."""
        self.statements.extend(statements)

    def finish_db(self, commit):
        """Commit (or roll back) and close the run's transaction."""
        if self._db is None:
            return
        try:
            if commit:
                self._db.commit()
            else:
                self._db.rollback()
        finally:
            self._db.close()
            self._db = None

    # -- failures -----------------------------------------------------------------------------------
    def prepare_failure(self, result):
        """The PanDA side of a failure: roll back and close the transaction; ``changed`` is whether something
        was written or sent before (``changed_so_far``), ``statements`` what had been executed."""
        if self._db is not None:
            self._db.rollback()
            self._db.close()
            self._db = None
        result.setdefault("changed", self.changed_so_far)
        result.setdefault("statements", list(self.statements))
        return result

    def config_error(self, msg, operation="configuration"):
        self.fail_from(ConfigError(msg, operation=operation))
