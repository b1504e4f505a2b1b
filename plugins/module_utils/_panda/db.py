# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Ban storage of PanDA: the ``users`` table of the PanDA meta schema, and the active-job tables.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

A PanDA ban is ``users.status = 'disabled'`` (NULL = not banned), keyed by the case-sensitive
``clean_user_id(DN)`` in ``users.name``; no HTTP API writes it. Two backends share the same SQL with
``:name`` binds: PostgreSQL (``psycopg`` 3; binds rewritten to ``%(name)s``) and Oracle (``oracledb``).

Rules kept here:

- user values are only ever bind parameters; the two schema names are identifiers, checked against
  ``^[A-Za-z_][A-Za-z0-9_]*$`` and quoted with the backend's identifier quoting. They are folded like an
  unquoted identifier would be (lower case on PostgreSQL, upper case on Oracle), so ``DOMA_PANDAMETA``
  written in a panda_server.cfg style still names ``doma_pandameta``;
- one connection and one transaction per module run: nothing is committed until ``commit()``;
- every method returns the statements it ran (SQL text, bind values: user names, DNs, status, never a
  password) for the module's audit trail; ``plan_*`` methods return the same without running anything;
- errors name the backend, host, database and operation, never the password.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import traceback

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    ConfigError,
    GridsecError,
    NotFoundError,
    TransportError,
)

# The drivers are imported by ``load_driver`` when a connection is opened, not when this file is loaded: psycopg 3
# alone is about 40 % of a database module's start-up (it pulls in asyncio and importlib.metadata), and API-only runs
# (panda_job_kill or panda_job_info without database options) or Oracle sites should not pay for it.
psycopg = None
psycopg_conninfo = None
oracledb = None
_IMPORT_ERRORS = {}


def load_driver(backend):
    """Import the driver of ``backend`` (``postgresql``: psycopg 3, ``oracle``: oracledb) once.

    Returns ``None`` when it is available, otherwise the import traceback (text) for ``missing_required_lib``.
    """
    global psycopg, psycopg_conninfo, oracledb  # pylint: disable=global-statement
    if backend in _IMPORT_ERRORS:
        return _IMPORT_ERRORS[backend]
    error = None
    try:
        if backend == "postgresql":
            import psycopg as _psycopg
            from psycopg import conninfo as _conninfo
            psycopg, psycopg_conninfo = _psycopg, _conninfo
        elif backend == "oracle":
            import oracledb as _oracledb
            oracledb = _oracledb
    except ImportError:  # pragma: no cover - depends on the managed node
        error = traceback.format_exc()
    _IMPORT_ERRORS[backend] = error
    return error


DRIVER_LIBRARIES = {"postgresql": "psycopg", "oracle": "oracledb"}


IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BAN_STATUS = "disabled"
NAME_MAX = 60   # users.name varchar(60)
DN_MAX = 150    # users.dn varchar(150)
ANALYSIS_LABELS = ("user", "panda")
ACTIVE_TABLES = ("jobsdefined4", "jobsactive4")

DEFAULT_SCHEMAS = {
    "postgresql": {"meta": "doma_pandameta", "panda": "doma_panda", "deft": "doma_deft"},
    "oracle": {"meta": "ATLAS_PANDAMETA", "panda": "ATLAS_PANDA", "deft": "ATLAS_DEFT"},
}

_BIND = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")


def check_identifier(value, what):
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise ConfigError("%s %r is not a valid SQL identifier (allowed: letters, digits, underscore; not starting "
                          "with a digit)" % (what, value), operation="configuration")
    return value


def parse_dsn_secrets(dsn):
    """Values inside a connection string that look like passwords (for ``no_log_values``).

    Handles libpq ``key=value`` strings (``password=...``), URIs (``postgresql://user:secret@host/db``) and
    Oracle ``user/secret@host`` connect strings.
    """
    found = []
    if not dsn:
        return found
    for match in re.finditer(r"(?:^|\s)(?:password|passwd|pwd)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", dsn, re.I):
        value = match.group(1)
        if value.startswith("'") and value.endswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        found.append(value)
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^:/@]*:([^@/]*)@", dsn)
    if match:
        found.append(match.group(1))
        try:
            from urllib.parse import unquote
            found.append(unquote(match.group(1)))
        except ImportError:  # pragma: no cover
            pass
    match = re.match(r"^[^/@\s=]+/([^@\s]+)@", dsn)
    if match and "://" not in dsn:
        found.append(match.group(1))
    for match in re.finditer(r"[?&](?:password|passwd)=([^&]*)", dsn, re.I):
        found.append(match.group(1))
    return [value for value in found if value]


def similar_name_key(name):
    """The comparison key of "the same name apart from case and spacing": lower case, no spaces or tabs.

    ``find_similar_users`` compares ``LOWER(REPLACE(REPLACE(name, ' ', ''), CHR(9), ''))`` with this key.
    """
    return (name or "").replace(" ", "").replace("\t", "").lower()


def _int_or_none(value):
    return None if value is None else int(value)


class Statement(object):
    """One SQL statement with ``:name`` binds, as run (or planned)."""

    def __init__(self, operation, sql, binds, executed=False, rowcount=None):
        self.operation = operation
        self.sql = sql
        self.binds = dict(binds)
        self.executed = executed
        self.rowcount = rowcount

    def to_dict(self):
        return {"operation": self.operation, "sql": self.sql, "binds": dict(self.binds),
                "executed": self.executed, "rowcount": self.rowcount}


class PandaDB(object):
    """One open connection (one transaction) to the PanDA database."""

    def __init__(self, backend, connection, label, meta_schema, panda_schema, secrets=(), deft_schema=None):
        self.backend = backend
        self.connection = connection
        self.label = label
        self.meta_schema = meta_schema
        self.panda_schema = panda_schema
        self.deft_schema = deft_schema or DEFAULT_SCHEMAS.get(backend, {}).get("deft", "doma_deft")
        self._secrets = [s for s in secrets if s]
        self.statements = []
        # Both backends quote identifiers with double quotes; the names were checked against IDENTIFIER.
        self._meta = '"%s"' % meta_schema
        self._panda = '"%s"' % panda_schema
        self._deft = '"%s"' % check_identifier(self.deft_schema, "db_deft_schema")

    # -- connecting ---------------------------------------------------------------------------------
    @classmethod
    def connect(cls, backend="postgresql", dsn=None, host=None, port=None, name=None, user=None, password=None,
                meta_schema=None, panda_schema=None, connect_timeout=30, deft_schema=None):
        """Open a connection; raise a ``GridsecError`` naming host, database and operation on failure.

        ``deft_schema`` holds ``PRODSYS_COMM`` (pending task commands); default ``doma_deft``/``ATLAS_DEFT``.
        """
        if backend not in DEFAULT_SCHEMAS:
            raise ConfigError("unknown db_backend %r (postgresql or oracle)" % backend, operation="configuration")
        meta_schema = check_identifier(meta_schema or DEFAULT_SCHEMAS[backend]["meta"], "db_meta_schema")
        panda_schema = check_identifier(panda_schema or DEFAULT_SCHEMAS[backend]["panda"], "db_panda_schema")
        deft_schema = check_identifier(deft_schema or DEFAULT_SCHEMAS[backend]["deft"], "db_deft_schema")
        secrets = [password] + parse_dsn_secrets(dsn)
        if backend == "postgresql":
            meta_schema, panda_schema = meta_schema.lower(), panda_schema.lower()
            db = cls._connect_postgresql(dsn, host, port, name, user, password, meta_schema, panda_schema,
                                         connect_timeout, secrets)
            deft_schema = deft_schema.lower()
        else:
            meta_schema, panda_schema = meta_schema.upper(), panda_schema.upper()
            db = cls._connect_oracle(dsn, host, port, name, user, password, meta_schema, panda_schema, secrets)
            deft_schema = deft_schema.upper()
        db.deft_schema = deft_schema
        db._deft = '"%s"' % deft_schema
        return db

    @staticmethod
    def _scrub(text, secrets):
        text = str(text)
        for secret in secrets:
            if secret:
                text = text.replace(secret, "********")
        return text

    @classmethod
    def _connect_postgresql(cls, dsn, host, port, name, user, password, meta_schema, panda_schema, timeout,
                            secrets):
        missing = load_driver("postgresql")
        if missing:
            raise ConfigError("the Python library psycopg (version 3) is required for db_backend=postgresql",
                              operation="connect", details={"traceback": missing})
        params = {}
        if dsn:
            try:
                params = psycopg_conninfo.conninfo_to_dict(dsn)
            except Exception as err:  # psycopg.ProgrammingError on a malformed string
                raise ConfigError("db_dsn is not a valid PostgreSQL connection string: %s"
                                  % cls._scrub(err, secrets), operation="connect")
        for key, value in (("host", host), ("port", port), ("dbname", name), ("user", user), ("password", password)):
            if value not in (None, ""):
                params[key] = str(value)
        params.setdefault("connect_timeout", str(int(timeout or 30)))
        label = "PostgreSQL database %s on %s:%s as %s" % (
            params.get("dbname") or "(default)", params.get("host") or "(local socket)", params.get("port") or 5432,
            params.get("user") or "(default user)")
        try:
            connection = psycopg.connect(**params)
        except psycopg.OperationalError as err:
            text = cls._scrub(err, secrets).strip()
            if re.search(r"password authentication failed|authentication failed|no password supplied|"
                         r"role \".*\" does not exist", text, re.I):
                raise AuthorizationError("login refused: %s" % text, server=label, operation="connect")
            if re.search(r"database \".*\" does not exist", text, re.I):
                raise NotFoundError(text, server=label, operation="connect")
            raise TransportError("cannot connect: %s" % text, server=label, operation="connect")
        return cls("postgresql", connection, label, meta_schema, panda_schema, secrets)

    @classmethod
    def _connect_oracle(cls, dsn, host, port, name, user, password, meta_schema, panda_schema, secrets):
        missing = load_driver("oracle")
        if missing:
            raise ConfigError("the Python library oracledb is required for db_backend=oracle",
                              operation="connect", details={"traceback": missing})
        if not dsn:
            dsn = "%s:%s/%s" % (host or "localhost", port or 1521, name or "")
        label = "Oracle database %s as %s" % (cls._scrub(dsn.split("@")[-1], secrets), user or "(from dsn)")
        try:
            connection = oracledb.connect(user=user, password=password, dsn=dsn)
        except oracledb.Error as err:
            text = cls._scrub(err, secrets).strip()
            if "ORA-01017" in text:
                raise AuthorizationError("login refused: %s" % text, server=label, operation="connect")
            raise TransportError("cannot connect: %s" % text, server=label, operation="connect")
        return cls("oracle", connection, label, meta_schema, panda_schema, secrets)

    # -- executing ----------------------------------------------------------------------------------
    def _native(self, sql):
        if self.backend == "postgresql":
            return _BIND.sub(r"%(\1)s", sql.replace("%", "%%"))
        return sql

    def _run(self, statement, fetch=False):
        """Run one statement in the open transaction; return the rows (list of tuples) when ``fetch``."""
        cursor = self.connection.cursor()
        try:
            cursor.execute(self._native(statement.sql), statement.binds)
            rows = cursor.fetchall() if fetch else None
            statement.rowcount = cursor.rowcount if cursor.rowcount is not None and cursor.rowcount >= 0 else None
            if fetch and statement.rowcount is None:
                statement.rowcount = len(rows)
        except Exception as err:  # driver errors differ per backend; all become GridsecError
            self.rollback()
            raise self._error(err, statement)
        finally:
            try:
                cursor.close()
            except Exception:  # pylint: disable=broad-except
                pass
        statement.executed = True
        self.statements.append(statement)
        return rows

    def _error(self, err, statement):
        text = self._scrub(err, self._secrets).strip().splitlines()
        first = text[0] if text else type(err).__name__
        sqlstate = getattr(err, "sqlstate", None)
        if sqlstate in ("3F000", "42P01") or re.search(r"ORA-00942|ORA-01918|does not exist", first):
            return NotFoundError("%s failed: %s (check db_meta_schema=%s / db_panda_schema=%s)"
                                 % (statement.operation, first, self.meta_schema, self.panda_schema),
                                 server=self.label, operation=statement.operation,
                                 details={"sql": statement.sql})
        if sqlstate == "42501" or "ORA-01031" in first:
            return AuthorizationError("%s refused: %s" % (statement.operation, first),
                                      server=self.label, operation=statement.operation,
                                      details={"sql": statement.sql})
        cls = TransportError if (psycopg is not None and isinstance(err, psycopg.OperationalError)) else GridsecError
        return cls("%s failed: %s" % (statement.operation, first), server=self.label,
                   operation=statement.operation, details={"sql": statement.sql})

    def commit(self):
        try:
            self.connection.commit()
        except Exception as err:  # pylint: disable=broad-except
            raise TransportError("commit failed: %s" % self._scrub(err, self._secrets),
                                 server=self.label, operation="commit")

    def rollback(self):
        try:
            self.connection.rollback()
        except Exception:  # pylint: disable=broad-except
            pass

    def close(self):
        try:
            self.connection.close()
        except Exception:  # pylint: disable=broad-except
            pass

    # -- statements ---------------------------------------------------------------------------------
    def _users(self):
        return "%s.users" % self._meta

    def plan_get_user_rows(self, name, for_update=False):
        sql = "SELECT id, name, dn, status, vo FROM %s WHERE name = :name ORDER BY id" % self._users()
        if for_update:
            sql += " FOR UPDATE"
        return Statement("get_user_rows", sql, {"name": name})

    def plan_lock_new_user_name(self, name):
        """The lock that serialises writers creating a row for ``name`` (see ``get_user_rows``)."""
        if self.backend == "postgresql":
            return Statement("lock_user_name", "SELECT pg_advisory_xact_lock(hashtext(:name))", {"name": name})
        return Statement("lock_user_name", "LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE" % self._users(), {})

    def plan_set_status(self, name, status):
        return Statement("set_status", "UPDATE %s SET status = :status WHERE name = :name" % self._users(),
                         {"status": status, "name": name})

    def plan_create_banned_user(self, name, dn=None):
        if self.backend == "postgresql":
            next_id = "nextval('%s.users_id_seq')" % self._meta
        else:
            next_id = "%s.users_id_seq.nextval" % self._meta
        sql = ("INSERT INTO %s (id, name, dn, lastmod, firstjob, latestjob, cachetime, ncurrent, jobid, status) "
               "VALUES (%s, :name, :dn, CURRENT_DATE, CURRENT_DATE, CURRENT_DATE, CURRENT_DATE, 0, 1, :status)"
               % (self._users(), next_id))
        return Statement("create_banned_user", sql,
                         {"name": name, "dn": dn[:DN_MAX] if dn else None, "status": BAN_STATUS})

    def plan_find_similar_users(self, name):
        sql = ("SELECT id, name, dn, status, vo FROM %s WHERE LOWER(REPLACE(REPLACE(name, ' ', ''), CHR(9), '')) = :key "
               "AND name <> :name ORDER BY id" % self._users())
        return Statement("find_similar_users", sql, {"key": similar_name_key(name), "name": name})

    def plan_get_task_commands(self, task_ids):
        binds = {}
        names = []
        for index, task_id in enumerate(task_ids):
            binds["task%d" % index] = int(task_id)
            names.append(":task%d" % index)
        sql = ("SELECT comm_task, comm_cmd, comm_owner, comm_comment FROM %s.prodsys_comm WHERE comm_task IN (%s) "
               "ORDER BY comm_task" % (self._deft, ", ".join(names) or "NULL"))
        return Statement("get_task_commands", sql, binds)

    def plan_find_active_jobs(self, user_name, labels=ANALYSIS_LABELS, jobset_id=None):
        statements = []
        labels = list(labels or [])
        for table in ACTIVE_TABLES:
            binds = {"name": user_name}
            sql = ("SELECT pandaid, jobstatus, prodsourcelabel, jobsetid, jeditaskid, commandtopilot FROM %s.%s "
                   "WHERE produsername = :name" % (self._panda, table))
            if labels:
                names = []
                for index, label in enumerate(labels):
                    binds["label%d" % index] = label
                    names.append(":label%d" % index)
                sql += " AND prodsourcelabel IN (%s)" % ", ".join(names)
            if jobset_id is not None:
                binds["jobset_id"] = int(jobset_id)
                sql += " AND jobsetid = :jobset_id"
            statements.append((table, Statement("find_active_jobs", sql + " ORDER BY pandaid", binds)))
        return statements

    def plan_get_banned_user_names(self):
        return Statement("get_banned_users", "SELECT DISTINCT name FROM %s WHERE status = :status" % self._users(),
                         {"status": BAN_STATUS})

    # -- operations ---------------------------------------------------------------------------------
    def get_banned_user_names(self):
        """Every banned user name (``status='disabled'``), as the server's ban list holds them:
        ``(set_of_names, [stmt])``."""
        statement = self.plan_get_banned_user_names()
        rows = self._run(statement, fetch=True)
        return set(row[0] for row in rows), [statement.to_dict()]

    def get_user_rows(self, name, for_update=False):
        """All ``users`` rows with this exact (case-sensitive) name: ``([{id, name, dn, status, vo}], [stmt])``."""
        statement = self.plan_get_user_rows(name, for_update=for_update)
        rows = self._run(statement, fetch=True)
        done = [statement.to_dict()]
        if for_update and not rows:
            # FOR UPDATE locks only rows that exist: two writers banning a user with no row yet would both
            # INSERT one. A transaction-scoped lock serialises them (released at commit or rollback), and the read
            # after it sees a row that a writer before us committed. PostgreSQL: an advisory lock on the name
            # only. Oracle has no advisory lock without an EXECUTE grant on DBMS_LOCK, so the users table is
            # locked in SHARE ROW EXCLUSIVE mode (two sessions cannot both hold it; queries go on; any object
            # privilege on the table is enough for LOCK TABLE). It is taken only for a name with no row, and held
            # for one INSERT and the commit.
            lock = self.plan_lock_new_user_name(name)
            self._run(lock, fetch=self.backend == "postgresql")
            statement = self.plan_get_user_rows(name, for_update=for_update)
            rows = self._run(statement, fetch=True)
            done += [lock.to_dict(), statement.to_dict()]
        result = [{"id": int(r[0]), "name": r[1], "dn": r[2], "status": r[3], "vo": r[4]} for r in rows]
        return result, done

    def set_status(self, name, status):
        """``UPDATE users SET status = :status WHERE name = :name`` (every duplicate row); ``(rowcount, [stmt])``."""
        statement = self.plan_set_status(name, status)
        self._run(statement)
        return statement.rowcount, [statement.to_dict()]

    def create_banned_user(self, name, dn=None):
        """Insert the row the server would create on a first submission, with ``status='disabled'``.

        Returns ``(new_rows, [stmt])``, ``new_rows`` as read back by :meth:`get_user_rows`.
        """
        if not name or len(name) > NAME_MAX:
            raise ConfigError("PanDA user name %r cannot be stored: users.name holds 1 to %d characters"
                              % (name, NAME_MAX), server=self.label, operation="create_banned_user")
        statement = self.plan_create_banned_user(name, dn)
        self._run(statement)
        return statement.rowcount, [statement.to_dict()]

    def find_similar_users(self, name):
        """Rows whose name equals ``name`` apart from case and spaces, but not exactly (``Alice Lab`` for
        ``alice lab`` or ``AliceLab``): ``([{id, name, dn, status, vo}], [stmt])``."""
        statement = self.plan_find_similar_users(name)
        rows = self._run(statement, fetch=True)
        result = [{"id": int(r[0]), "name": r[1], "dn": r[2], "status": r[3], "vo": r[4]} for r in rows]
        return result, [statement.to_dict()]

    def get_task_commands(self, task_ids):
        """Commands registered for JEDI tasks and not yet consumed (``<deft>.PRODSYS_COMM``, where
        ``task/kill`` writes): ``({task_id: {"command", "owner", "comment"}}, [stmt])``. Empty input reads nothing."""
        task_ids = sorted(set(int(t) for t in task_ids))
        if not task_ids:
            return {}, []
        statement = self.plan_get_task_commands(task_ids)
        commands = {}
        for row in self._run(statement, fetch=True):
            commands[int(row[0])] = {"command": row[1], "owner": row[2], "comment": row[3]}
        return commands, [statement.to_dict()]

    def find_active_jobs(self, user_name, labels=ANALYSIS_LABELS, jobset_id=None):
        """Jobs of ``user_name`` in jobsDefined4 and jobsActive4 (like pandaserver's killUser.py).

        Returns ``([{pandaid, table, jobstatus, prodsourcelabel, jobsetid, jeditaskid, commandtopilot}], [stmt])``
        sorted by PandaID.
        """
        jobs = []
        statements = []
        for table, statement in self.plan_find_active_jobs(user_name, labels, jobset_id):
            for row in self._run(statement, fetch=True):
                jobs.append({"pandaid": int(row[0]), "table": table, "jobstatus": row[1], "prodsourcelabel": row[2],
                             "jobsetid": _int_or_none(row[3]), "jeditaskid": _int_or_none(row[4]),
                             "commandtopilot": row[5]})
            statements.append(statement.to_dict())
        jobs.sort(key=lambda job: job["pandaid"])
        return jobs, statements
