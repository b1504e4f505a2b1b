# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Base class of the PanDA modules.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

``PandaModule`` builds its argument spec from ``PANDA_SPEC`` (documented by the ``_panda`` doc fragment),
``TLS_SPEC`` (``_http.py``, ``_tls`` fragment), optionally ``PANDA_DB_SPEC`` (``_panda_db`` fragment) and the
module's own options. It builds one ``PandaClient`` and at most one ``PandaDB`` connection (one transaction)
per run, and turns every ``GridsecError`` into ``fail_json`` in one place (``fail_from``), naming the PanDA
server or database and the operation, and listing what had been sent so far.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.gridsec.ops.plugins.module_utils._dn import clean_user_id, parse_dn
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._http import (
    TLS_MUTUALLY_EXCLUSIVE,
    TLS_REQUIRED_TOGETHER,
    TLS_SPEC,
    HttpTransport,
)
from ansible_collections.gridsec.ops.plugins.module_utils._panda_client import PandaClient
from ansible_collections.gridsec.ops.plugins.module_utils import _panda_db

PANDA_SPEC = dict(
    panda_url=dict(type="str"),
    oidc_token=dict(type="str", no_log=True, fallback=(env_fallback, ["PANDA_AUTH_ID_TOKEN"])),
    oidc_vo=dict(type="str", fallback=(env_fallback, ["PANDA_AUTH_VO"])),
    oidc_role=dict(type="str"),
)

PANDA_DB_SPEC = dict(
    db_backend=dict(type="str", default="postgresql", choices=["postgresql", "oracle"]),
    db_dsn=dict(type="str", no_log=True),
    db_host=dict(type="str"),
    db_port=dict(type="int"),
    db_name=dict(type="str"),
    db_user=dict(type="str"),
    db_password=dict(type="str", no_log=True),
    db_meta_schema=dict(type="str"),
    db_panda_schema=dict(type="str"),
)

_TLS_KEYS = ("client_cert", "client_key", "proxy_file", "ca_path", "validate_certs", "timeout", "retries")
_DB_KEYS = ("db_dsn", "db_host", "db_port", "db_name", "db_user", "db_password")
_PROXY_CERT_INFO_OID = "1.3.6.1.5.5.7.1.14"
_SHORT_NAMES = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
    "0.9.2342.19200300.100.1.25": "DC", "1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.1": "UID",
}


def error_to_dict(err):
    """Plain dict describing a ``GridsecError`` (type, message, server, operation)."""
    to_dict = getattr(err, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    out = {"type": type(err).__name__, "msg": str(err)}
    for key in ("server", "operation"):
        value = getattr(err, key, None)
        if value is not None:
            out[key] = str(value)
    return out


def read_credential_dn(path):
    """Slash-form subject DN of the first non-proxy certificate in a PEM file (a client certificate or an
    RFC 3820 proxy chain), or None when it cannot be read (no file, no ``cryptography``)."""
    if not path:
        return None
    try:
        from cryptography import x509
    except ImportError:
        return None
    try:
        with open(path, "rb") as handle:
            pem = handle.read()
    except (IOError, OSError):
        return None
    begin = b"-----BEGIN CERTIFICATE-----"
    end = b"-----END CERTIFICATE-----"
    for block in pem.split(begin)[1:]:
        try:
            cert = x509.load_pem_x509_certificate(begin + block.split(end)[0] + end + b"\n")
        except ValueError:
            continue
        if any(ext.oid.dotted_string == _PROXY_CERT_INFO_OID for ext in cert.extensions):
            continue
        rdns = []
        for rdn in cert.subject.rdns:
            rdns.append("+".join("%s=%s" % (_SHORT_NAMES.get(a.oid.dotted_string, a.oid.dotted_string), a.value)
                                 for a in rdn))
        return "/" + "/".join(rdns)
    return None


def resolve_user_name(user=None, dn=None):
    """``(panda_user_name, slash_form_dn_or_None)`` from a user name or a DN.

    A DN in RFC 2253 comma form is converted to OpenSSL slash form first (the server's ``clean_user_id``
    returns comma-form input unchanged). Raises ``ConfigError`` (or ``DNError``) when the DN is malformed or
    cleans to an empty name.
    """
    if user is not None:
        if not user.strip():
            raise ConfigError("user must not be empty", operation="resolve user")
        return user, None
    text = (dn or "").strip()
    if not text:
        raise ConfigError("dn must not be empty", operation="resolve user")
    if not text.startswith("/"):
        text = parse_dn(text).to_openssl()
    name = clean_user_id(text)
    if not name or not name.strip():
        raise ConfigError("DN %r gives an empty PanDA user name (clean_user_id removes every component of it): "
                          "pass the PanDA user name with the user option instead" % (dn,), operation="resolve user")
    if name == text:
        raise ConfigError("DN %r is not understood by clean_user_id (it stays unchanged): give it in OpenSSL slash "
                          "form or pass the PanDA user name with the user option" % (dn,), operation="resolve user")
    return name, text


class PandaModule(AnsibleModule):
    """AnsibleModule with the PanDA connection options, a lazily built ``PandaClient`` and ``PandaDB``."""

    def __init__(self, argument_spec=None, use_db=False, mutually_exclusive=None, required_together=None,
                 **kwargs):
        spec = copy.deepcopy(PANDA_SPEC)
        spec.update(copy.deepcopy(TLS_SPEC))
        if use_db:
            spec.update(copy.deepcopy(PANDA_DB_SPEC))
        spec.update(argument_spec or {})
        mutually_exclusive = list(TLS_MUTUALLY_EXCLUSIVE) + list(mutually_exclusive or [])
        required_together = list(TLS_REQUIRED_TOGETHER) + list(required_together or [])
        super(PandaModule, self).__init__(argument_spec=spec, mutually_exclusive=mutually_exclusive,
                                          required_together=required_together, **kwargs)
        self.use_db = use_db
        self._client = None
        self._db = None
        self.statements = []
        self.changed_so_far = False  # set by a module once something was written/sent (reported on failure)
        if use_db:
            for secret in _panda_db.parse_dsn_secrets(self.params.get("db_dsn")):
                self.no_log_values.add(secret)

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
            tls = dict((key, self.params.get(key)) for key in _TLS_KEYS)
            try:
                transport = HttpTransport(self.base_url, **tls)
            except GridsecError as err:
                self.fail_from(err)
            self._client = PandaClient(transport, server_label=self.server_label,
                                       oidc_token=self.params.get("oidc_token"),
                                       oidc_vo=self.params.get("oidc_vo"), oidc_role=self.params.get("oidc_role"))
        return self._client

    def client_operations(self):
        return list(self._client.operations) if self._client is not None else []

    def caller_dn(self):
        """DN of the X.509 identity the module connects with (None with a token or when unreadable)."""
        if self.params.get("oidc_token"):
            return None
        return read_credential_dn(self.params.get("proxy_file") or self.params.get("client_cert"))

    # -- DB -----------------------------------------------------------------------------------------
    @property
    def db_configured(self):
        return self.use_db and any(self.params.get(key) not in (None, "") for key in ("db_dsn", "db_host", "db_name"))

    def db(self):
        """The ``PandaDB`` of this run (connected once, one transaction until ``finish_db``)."""
        if self._db is None:
            backend = self.params["db_backend"]
            if backend == "postgresql" and _panda_db.psycopg is None:
                self.fail_json(msg=missing_required_lib("psycopg"), exception=_panda_db.PSYCOPG_IMPORT_ERROR)
            if backend == "oracle" and _panda_db.oracledb is None:
                self.fail_json(msg=missing_required_lib("oracledb"), exception=_panda_db.ORACLEDB_IMPORT_ERROR)
            try:
                self._db = _panda_db.PandaDB.connect(
                    backend=backend, dsn=self.params.get("db_dsn"), host=self.params.get("db_host"),
                    port=self.params.get("db_port"), name=self.params.get("db_name"),
                    user=self.params.get("db_user"), password=self.params.get("db_password"),
                    meta_schema=self.params.get("db_meta_schema"), panda_schema=self.params.get("db_panda_schema"),
                    connect_timeout=self.params.get("timeout") or 30)
            except GridsecError as err:
                self.fail_from(err)
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
    def fail_from(self, err, **result):
        """Fail the task from a ``GridsecError``: message naming server/DB + operation, what was sent."""
        if self._db is not None:
            self._db.rollback()
            self._db.close()
            self._db = None
        result.setdefault("changed", self.changed_so_far)
        result.setdefault("requests", self.client_operations())
        result.setdefault("statements", list(self.statements))
        self.fail_json(msg=str(err), error=error_to_dict(err), **result)

    def run_guarded(self, func, *args, **kwargs):
        """Call ``func``; any ``GridsecError`` becomes a failed task."""
        try:
            return func(*args, **kwargs)
        except GridsecError as err:
            self.fail_from(err)

    def config_error(self, msg, operation="configuration"):
        self.fail_from(ConfigError(msg, operation=operation))
