# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""PandaDB (ban storage) against a real local PostgreSQL.

A uniquely named database is created for the session, loaded with the real ``users`` table and
``users_id_seq`` sequence of the PanDA meta schema and the ``jobsdefined4`` / ``jobsactive4`` tables of the
PanDA schema, parsed out of the panda-database DDL files
(``${GRIDSEC_PANDA_SCHEMA_DIR:-../shared/reference/panda/panda-database-postgres}``), and dropped afterwards.
"""

import os
import re
import secrets
import socket
import struct
import threading

import pytest

psycopg = pytest.importorskip("psycopg")
from psycopg import sql  # noqa: E402

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (  # noqa: E402
    AuthorizationError,
    ConfigError,
    NotFoundError,
    TransportError,
)
from ansible_collections.gridsec.ops.plugins.module_utils._panda.db import (  # noqa: E402
    PandaDB,
    parse_dsn_secrets,
    similar_name_key,
)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
SCHEMA_DIR = os.environ.get("GRIDSEC_PANDA_SCHEMA_DIR") or os.path.join(
    REPO, "..", "shared", "reference", "panda", "panda-database-postgres")
ADMIN_DSN = os.environ.get("GRIDSEC_PG_ADMIN_DSN") or "host=127.0.0.1 port=5432 dbname=postgres user=postgres"


def ddl_statement(path, kind, name):
    """The ``CREATE <kind> <name> ...;`` statement of a DDL file (without table options after the columns)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    match = re.search(r"^CREATE %s %s\b.*?;\s*$" % (kind, re.escape(name)), text, re.M | re.S | re.I)
    if not match:
        raise AssertionError("%s %s not found in %s" % (kind, name, path))
    statement = match.group(0)
    if kind.upper() == "TABLE":  # drop PARTITION BY ... and similar clauses after the column list
        statement = statement[:statement.rindex(")") + 1]
    return statement.rstrip(";")


@pytest.fixture(scope="module")
def database():
    if not os.path.isfile(os.path.join(SCHEMA_DIR, "pg_PANDAMETA_TABLE.sql")):
        pytest.skip("PanDA PostgreSQL DDL not found in %s: set GRIDSEC_PANDA_SCHEMA_DIR to panda-database "
                    "schema/postgres/sqls" % SCHEMA_DIR)
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as err:
        pytest.skip("no local PostgreSQL (%s): %s" % (ADMIN_DSN, err))
    name = "gridsec_pandadb_unit_%d_%s" % (os.getpid(), secrets.token_hex(4))
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = psycopg.conninfo.conninfo_to_dict(ADMIN_DSN)
    params["dbname"] = name
    try:
        with psycopg.connect(**params) as conn:
            conn.execute("CREATE SCHEMA doma_pandameta")
            conn.execute("CREATE SCHEMA doma_panda")
            conn.execute("SET search_path = doma_pandameta")
            conn.execute(ddl_statement(os.path.join(SCHEMA_DIR, "pg_PANDAMETA_TABLE.sql"), "TABLE", "users"))
            conn.execute(ddl_statement(os.path.join(SCHEMA_DIR, "pg_PANDAMETA_SEQUENCE.sql"), "SEQUENCE",
                                       "users_id_seq"))
            conn.execute("SET search_path = doma_panda")
            for table in ("jobsdefined4", "jobsactive4"):
                conn.execute(ddl_statement(os.path.join(SCHEMA_DIR, "pg_PANDA_TABLE.sql"), "TABLE", table))
            conn.execute("CREATE SCHEMA doma_deft")
            conn.execute(ddl_statement(os.path.join(SCHEMA_DIR, "pg_DEFT_TABLE.sql"), "TABLE", "DOMA_DEFT.PRODSYS_COMM"))
        yield params
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


@pytest.fixture
def clean(database):
    with psycopg.connect(**database) as conn:
        conn.execute("TRUNCATE doma_pandameta.users, doma_panda.jobsdefined4, doma_panda.jobsactive4, "
                     "doma_deft.prodsys_comm")
    return database


def open_db(params, **overrides):
    kwargs = dict(host=params["host"], port=params.get("port"), name=params["dbname"], user=params["user"])
    kwargs.update(overrides)
    return PandaDB.connect("postgresql", **kwargs)


def seed_user(params, name, status=None, vo=None, dn=None):
    with psycopg.connect(**params) as conn:
        conn.execute("INSERT INTO doma_pandameta.users (id, name, dn, vo, status, lastmod, firstjob, latestjob, "
                     "cachetime, ncurrent, jobid) VALUES (nextval('doma_pandameta.users_id_seq'), %s, %s, %s, %s, "
                     "now(), now(), now(), now(), 0, 1)", (name, dn, vo, status))


def statuses(params, name):
    with psycopg.connect(**params) as conn:
        return [r[0] for r in conn.execute("SELECT status FROM doma_pandameta.users WHERE name = %s ORDER BY id",
                                           (name,))]


def test_no_row_for_unknown_user(clean):
    db = open_db(clean)
    rows, statements = db.get_user_rows("Nobody Here")
    assert rows == []
    assert statements[0]["sql"].startswith('SELECT id, name, dn, status, vo FROM "doma_pandameta".users WHERE name = :name')
    assert statements[0]["binds"] == {"name": "Nobody Here"}
    db.close()


def test_ban_updates_every_duplicate_row_and_needs_commit(clean):
    seed_user(clean, "John Doe", vo="atlas", dn="/DC=ch/CN=John Doe")
    seed_user(clean, "John Doe", vo="cms", dn="/DC=ch/CN=John Doe/CN=2")
    seed_user(clean, "john doe")  # names are case-sensitive: not touched
    db = open_db(clean)
    rows, _stmts = db.get_user_rows("John Doe", for_update=True)
    assert [(r["vo"], r["status"]) for r in rows] == [("atlas", None), ("cms", None)]
    count, statements = db.set_status("John Doe", "disabled")
    assert count == 2
    assert statements[0]["binds"] == {"status": "disabled", "name": "John Doe"}
    assert statements[0]["executed"] is True and statements[0]["rowcount"] == 2
    assert statuses(clean, "John Doe") == [None, None]  # other sessions see nothing before the commit
    db.commit()
    db.close()
    assert statuses(clean, "John Doe") == ["disabled", "disabled"]
    assert statuses(clean, "john doe") == [None]
    db = open_db(clean)
    db.set_status("John Doe", None)
    db.commit()
    assert statuses(clean, "John Doe") == [None, None]


def test_rollback_discards_changes(clean):
    seed_user(clean, "Jane Roe")
    db = open_db(clean)
    db.set_status("Jane Roe", "disabled")
    db.rollback()
    db.close()
    assert statuses(clean, "Jane Roe") == [None]


def test_create_banned_user_replicates_server_insert(clean):
    seed_user(clean, "Someone Else")  # consumes sequence value 1
    db = open_db(clean)
    count, statements = db.create_banned_user("New User", "/DC=org/DC=example/CN=New User")
    assert count == 1
    assert "users_id_seq" in statements[0]["sql"]
    db.commit()
    db.close()
    with psycopg.connect(**clean) as conn:
        row = conn.execute("SELECT id, name, dn, status, jobid, ncurrent, lastmod, firstjob FROM doma_pandameta.users "
                           "WHERE name = 'New User'").fetchone()
        last = conn.execute("SELECT last_value FROM doma_pandameta.users_id_seq").fetchone()[0]
    assert row[0] == last and row[0] > 1           # id from the sequence
    assert row[1:6] == ("New User", "/DC=org/DC=example/CN=New User", "disabled", 1, 0)
    assert row[6] is not None and row[7] is not None


def test_create_refuses_names_the_column_cannot_hold(clean):
    db = open_db(clean)
    with pytest.raises(ConfigError):
        db.create_banned_user("x" * 61)
    db.close()


@pytest.mark.parametrize("name", [
    "Robert'); DROP TABLE doma_pandameta.users;--",
    "O'Brien \"quoted\" %s %(name)s :name ? $1",
    "back\\slash; SELECT 1",
])
def test_sql_metacharacters_are_plain_data(clean, name):
    db = open_db(clean)
    assert db.get_user_rows(name)[0] == []
    db.create_banned_user(name, "/CN=" + name)
    db.commit()
    db.close()
    db = open_db(clean)
    rows, _stmts = db.get_user_rows(name)
    assert [(r["name"], r["status"]) for r in rows] == [(name, "disabled")]
    assert db.set_status(name, None)[0] == 1
    db.commit()
    db.close()
    assert statuses(clean, name) == [None]


def seed_job(params, table, panda_id, user, label="user", status="activated", jobset=1, task=None):
    with psycopg.connect(**params) as conn:
        conn.execute(sql.SQL("INSERT INTO doma_panda.{} (pandaid, produsername, prodsourcelabel, jobstatus, jobsetid, "
                             "jeditaskid, creationtime, modificationtime) VALUES (%s, %s, %s, %s, %s, %s, now(), now())")
                     .format(sql.Identifier(table)), (panda_id, user, label, status, jobset, task))


def test_find_active_jobs_like_kill_user(clean):
    seed_job(clean, "jobsdefined4", 11, "John Doe", status="defined", jobset=1)
    seed_job(clean, "jobsactive4", 12, "John Doe", status="running", jobset=2, task=5001)
    seed_job(clean, "jobsactive4", 13, "John Doe", label="panda", status="activated", jobset=2)
    seed_job(clean, "jobsactive4", 14, "John Doe", label="managed")
    seed_job(clean, "jobsactive4", 15, "Other User")
    db = open_db(clean)
    jobs, statements = db.find_active_jobs("John Doe")
    assert [(j["pandaid"], j["table"], j["jobstatus"]) for j in jobs] == [
        (11, "jobsdefined4", "defined"), (12, "jobsactive4", "running"), (13, "jobsactive4", "activated")]
    assert jobs[1]["jeditaskid"] == 5001
    assert len(statements) == 2 and all(":label0" in s["sql"] for s in statements)
    assert [j["pandaid"] for j in db.find_active_jobs("John Doe", jobset_id=2)[0]] == [12, 13]
    assert [j["pandaid"] for j in db.find_active_jobs("John Doe", labels=("managed",))[0]] == [14]
    db.close()


def test_schema_names_are_validated_identifiers(clean):
    with pytest.raises(ConfigError):
        open_db(clean, meta_schema='doma_pandameta"; DROP TABLE x; --')
    with pytest.raises(ConfigError):
        open_db(clean, panda_schema="1abc")


def test_uppercase_schema_names_fold_like_unquoted_identifiers(clean):
    seed_user(clean, "Upper Case")
    db = open_db(clean, meta_schema="DOMA_PANDAMETA", panda_schema="DOMA_PANDA")
    assert len(db.get_user_rows("Upper Case")[0]) == 1
    db.close()


def test_missing_schema_is_a_clear_error(clean):
    db = open_db(clean, meta_schema="no_such_schema")
    with pytest.raises(NotFoundError) as info:
        db.get_user_rows("x")
    text = str(info.value)
    assert "no_such_schema" in text and clean["dbname"] in text and "get_user_rows" in text


def test_unreachable_database_names_host_not_password():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(TransportError) as info:
        PandaDB.connect("postgresql", host="127.0.0.1", port=port, name="panda_db", user="panda",
                        password="S3cret-pw", connect_timeout=3)
    text = str(info.value)
    assert "127.0.0.1:%d" % port in text and "panda_db" in text and "connect" in text
    assert "S3cret-pw" not in text


def test_unknown_database_is_not_found(database):
    with pytest.raises(NotFoundError) as info:
        open_db(database, name="gridsec_no_such_db_%s" % secrets.token_hex(3))
    assert "does not exist" in str(info.value)


class FakePasswordServer(threading.Thread):
    """Speaks just enough of the PostgreSQL protocol to ask for a password and refuse it (the local
    PostgreSQL uses trust authentication, so a wrong password cannot be produced with it)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.passwords = []

    def run(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    self._serve(conn)
                except (OSError, struct.error):
                    pass

    @staticmethod
    def _read(conn, size):
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                raise OSError("closed")
            data += chunk
        return data

    def _serve(self, conn):
        while True:
            length, code = struct.unpack("!ii", self._read(conn, 8))
            if code in (80877103, 80877104):  # SSLRequest / GSSENCRequest: not supported
                conn.sendall(b"N")
                continue
            self._read(conn, length - 8)  # startup parameters
            break
        conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
        kind = self._read(conn, 1)
        length = struct.unpack("!i", self._read(conn, 4))[0]
        payload = self._read(conn, length - 4)
        if kind == b"p":
            self.passwords.append(payload.rstrip(b"\0").decode())
        fields = b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user \"panda\"\0\0"
        conn.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)

    def close(self):
        self.sock.close()


def test_wrong_password_is_authorization_error_without_the_password():
    fake = FakePasswordServer()
    fake.start()
    try:
        with pytest.raises(AuthorizationError) as info:
            PandaDB.connect("postgresql", dsn="host=127.0.0.1 port=%d dbname=panda_db user=panda password=Wr0ng-pw"
                            % fake.port, connect_timeout=5)
    finally:
        fake.close()
    text = str(info.value)
    assert "password authentication failed" in text and "panda_db" in text and "127.0.0.1" in text
    assert "Wr0ng-pw" not in text
    assert fake.passwords and fake.passwords[0] == "Wr0ng-pw"  # the password did reach the server


@pytest.mark.parametrize("dsn, expected", [
    ("host=db port=5432 dbname=panda_db user=panda password=s3cr3t", ["s3cr3t"]),
    ("host=db password='with space\\'q' user=panda", ["with space'q"]),
    ("postgresql://panda:p%40ss@db:5432/panda_db", ["p%40ss", "p@ss"]),
    ("panda_writer/OraPw1@adcr.example.org:1521/adcr_panda", ["OraPw1"]),
    ("host=db dbname=panda_db", []),
])
def test_parse_dsn_secrets(dsn, expected):
    assert parse_dsn_secrets(dsn) == expected


# -- issue 6: near-miss names and pending task commands -------------------------------------------------------
def test_similar_name_key():
    assert similar_name_key("Alice Lab") == similar_name_key("alice lab") == similar_name_key("ALICE  LAB")
    assert similar_name_key("Alice\tLab") == similar_name_key("AliceLab") == "alicelab"
    assert similar_name_key("Alice Labs") != similar_name_key("Alice Lab")


def test_find_similar_users_ignores_case_and_spacing_but_not_the_exact_name(clean):
    seed_user(clean, "Alice Lab", dn="/DC=test/CN=Alice Lab")
    seed_user(clean, "ALICE  LAB", status="disabled")
    seed_user(clean, "Alice Labs")
    seed_user(clean, "alice lab")
    db = open_db(clean)
    similar, statements = db.find_similar_users("alice lab")
    assert [(r["name"], r["status"]) for r in similar] == [("Alice Lab", None), ("ALICE  LAB", "disabled")]
    assert statements[0]["operation"] == "find_similar_users"
    assert statements[0]["binds"] == {"key": "alicelab", "name": "alice lab"}
    assert [r["name"] for r in db.find_similar_users("Nobody")[0]] == []
    quoted = "O'Brien :name %s"
    assert db.find_similar_users(quoted)[0] == []   # bind parameters only
    db.close()


def test_get_task_commands_reads_prodsys_comm(clean):
    with psycopg.connect(**clean) as conn:
        conn.execute("INSERT INTO doma_deft.prodsys_comm (comm_task, comm_owner, comm_cmd, comm_comment) "
                     "VALUES (5001, 'DEFT', 'kill', 'kill by Ops Admin'), (5002, 'DEFT', 'finish', 'finish by x')")
    db = open_db(clean)
    commands, statements = db.get_task_commands([5002, 5001, 5003, 5001])
    assert commands == {5001: {"command": "kill", "owner": "DEFT", "comment": "kill by Ops Admin"},
                        5002: {"command": "finish", "owner": "DEFT", "comment": "finish by x"}}
    assert statements[0]["binds"] == {"task0": 5001, "task1": 5002, "task2": 5003}
    assert '"doma_deft".prodsys_comm' in statements[0]["sql"]
    assert db.get_task_commands([]) == ({}, [])
    db.close()


def test_deft_schema_is_validated_and_folded(clean):
    with pytest.raises(ConfigError, match="db_deft_schema"):
        open_db(clean, deft_schema="doma_deft; DROP TABLE x")
    db = open_db(clean, deft_schema="DOMA_DEFT")
    assert db.deft_schema == "doma_deft"
    assert db.get_task_commands([1])[0] == {}
    db.close()
    db = open_db(clean, deft_schema="gridsec_no_deft")
    with pytest.raises(NotFoundError, match="get_task_commands"):
        db.get_task_commands([1])
    db.close()


def test_writers_creating_a_row_are_serialised_on_both_backends():
    """Two pre-emptive bans of a user with no row must not both INSERT: PostgreSQL takes an advisory lock on the
    name, Oracle (no advisory lock without a DBMS_LOCK grant) locks the users table for that transaction."""
    postgres = PandaDB("postgresql", None, "pg", "doma_pandameta", "doma_panda")
    lock = postgres.plan_lock_new_user_name("Alice Lab")
    assert lock.sql == "SELECT pg_advisory_xact_lock(hashtext(:name))"
    assert lock.binds == {"name": "Alice Lab"}
    oracle = PandaDB("oracle", None, "ora", "ATLAS_PANDAMETA", "ATLAS_PANDA")
    lock = oracle.plan_lock_new_user_name("Alice Lab")
    assert lock.sql == 'LOCK TABLE "ATLAS_PANDAMETA".users IN SHARE ROW EXCLUSIVE MODE'
    assert lock.binds == {}


def test_a_missing_driver_is_reported_not_raised(monkeypatch):
    """The drivers are imported when a connection is opened; a missing one is the traceback text for
    missing_required_lib."""
    import sys
    from ansible_collections.gridsec.ops.plugins.module_utils._panda import db as _panda_db

    monkeypatch.setattr(_panda_db, "_IMPORT_ERRORS", {})
    monkeypatch.setitem(sys.modules, "oracledb", None)  # "import oracledb" now raises ImportError
    error = _panda_db.load_driver("oracle")
    assert error and "import of oracledb halted" in error
    with pytest.raises(ConfigError) as info:
        PandaDB.connect(backend="oracle", dsn="db.example.org/PANDA", user="u", password="secret")
    assert "oracledb is required" in str(info.value)
    assert _panda_db.load_driver("postgresql") is None
