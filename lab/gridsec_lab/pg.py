"""PostgreSQL helpers shared by the lab PanDA and the real panda-server tier.

- :func:`admin_dsn`: which PostgreSQL to use: the one named by ``$GRIDSEC_PG_ADMIN_DSN``, else a local one on
  127.0.0.1:5432, else a private throwaway cluster (:class:`ThrowawayCluster`, system ``initdb``/``pg_ctl`` or
  the embedded PostgreSQL of the ``pgserver`` wheel).
- :func:`create_database` / :func:`drop_database`: a uniquely named database per session, dropped afterwards.
- :func:`load_panda_schema`: load the PanDA PostgreSQL DDL (``PanDAWMS/panda-database``, read at run time
  from the directory named by ``GRIDSEC_PANDA_SCHEMA_DIR``; it is not part of this repository) the way the
  upstream ``panda_db_init.sh`` does, adapted to a plain PostgreSQL without pg_cron/pg_partman
  (PANDA.md section 11.3):

  1. ``init_step.sql`` is not run (it creates database ``panda_db`` and the two extensions); we only create
     the role ``panda`` that the DDL names as owner (cluster-wide, kept) and work in our own database;
  2. for PANDA, PANDAMETA, PANDAARCH, PANDABIGMON, DEFT the existing files
     ``pg_<COMP>_{TABLE,VIEW,TYPE,SEQUENCE,FUNCTION,TRIGGER,SCHEDULER_JOBS,PROCEDURE}.sql`` are run with
     ``psql`` in that order (they use psql meta-commands such as ``\\set ON_ERROR_STOP ON``).
     ``pg_PANDA_SCHEDULER_JOBS.sql`` is known to stop part-way (a relation it names does not exist); its
     failure is recorded, not fatal. Any other failing file is an error;
  3. ``pg_PARTITION.sql`` (pg_partman) is skipped: every partitioned table gets a DEFAULT partition
     ``<table>_default`` instead;
  4. the schema version row ``doma_panda.pandadb_version ('PanDA', 0, 1, 6)`` is inserted and
     ``post_step_panda.sql`` (work queues, resource types, config rows) is run;
  5. ``post_step_cron.sql`` (pg_cron jobs) is skipped.

The DSNs are libpq connection strings (``host=127.0.0.1 port=5432 dbname=postgres user=postgres``).
"""
import atexit
import dataclasses
import glob
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import psycopg
from psycopg import conninfo as _conninfo, sql

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))

COMPONENTS = ("PANDA", "PANDAMETA", "PANDAARCH", "PANDABIGMON", "DEFT")
SUFFIXES = ("TABLE", "VIEW", "TYPE", "SEQUENCE", "FUNCTION", "TRIGGER", "SCHEDULER_JOBS", "PROCEDURE")
TOLERATED_FAILURES = ("pg_PANDA_SCHEDULER_JOBS.sql",)
SCHEMA_VERSION = (0, 1, 6)  # panda-database schema version the reference DDL is taken from


class SchemaError(RuntimeError):
    pass


@dataclasses.dataclass
class SchemaLoadReport:
    files: list            # files run, in order
    tolerated_errors: dict  # file -> error text (known, harmless failures)
    default_partitions: list  # partitioned tables given a DEFAULT partition


def default_schema_dir():
    """``$GRIDSEC_PANDA_SCHEMA_DIR`` or ``../shared/reference/panda/panda-database-postgres`` relative to the
    repository root."""
    path = os.environ.get("GRIDSEC_PANDA_SCHEMA_DIR") or os.path.join(
        REPO_ROOT, "..", "shared", "reference", "panda", "panda-database-postgres")
    return os.path.abspath(path)


def schema_dir_available(schema_dir=None):
    schema_dir = schema_dir or default_schema_dir()
    return os.path.isfile(os.path.join(schema_dir, "pg_PANDA_TABLE.sql"))


SCHEMA_HOWTO = ("the real panda-server tier needs the PanDA PostgreSQL DDL: clone "
                "https://github.com/PanDAWMS/panda-database (schema 0.1.6) and set GRIDSEC_PANDA_SCHEMA_DIR to its "
                "schema/postgres/sqls directory (the lab PanDA does not need it: it creates its own tables)")


LOCAL_DSN = "host=127.0.0.1 port=5432 dbname=postgres user=postgres"


def default_admin_dsn():
    """``$GRIDSEC_PG_ADMIN_DSN`` or the local superuser on 127.0.0.1:5432 (trust auth in the lab). This only
    names a server; :func:`admin_dsn` also checks it answers and falls back to a throwaway cluster."""
    return os.environ.get("GRIDSEC_PG_ADMIN_DSN") or LOCAL_DSN


def reachable(dsn, timeout=3):
    """True when a PostgreSQL server accepts a connection with ``dsn``."""
    try:
        with psycopg.connect(dsn, connect_timeout=timeout, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


_THROWAWAY = {}


def admin_dsn(verbose=True):
    """The admin DSN of a PostgreSQL the lab may create databases in, in this order:

    1. ``$GRIDSEC_PG_ADMIN_DSN`` when it is set and the server answers;
    2. when it is not set, the local server on 127.0.0.1:5432 (trust auth) when it answers;
    3. otherwise (or with ``GRIDSEC_PG_THROWAWAY=1``) a private throwaway cluster for this process
       (:class:`ThrowawayCluster`, started once, stopped and deleted at exit).

    A set but unreachable ``$GRIDSEC_PG_ADMIN_DSN`` is not replaced by the local server: it falls through to
    the throwaway cluster, with a message saying so.
    """
    configured = os.environ.get("GRIDSEC_PG_ADMIN_DSN")
    if os.environ.get("GRIDSEC_PG_THROWAWAY") != "1":
        if reachable(configured or LOCAL_DSN):
            return configured or LOCAL_DSN
        if verbose and "cluster" not in _THROWAWAY:
            print("gridsec_lab: no PostgreSQL answers at %s; starting a private throwaway cluster"
                  % (configured or LOCAL_DSN), file=sys.stderr, flush=True)
    if "cluster" not in _THROWAWAY:
        cluster = ThrowawayCluster()
        cluster.start()
        atexit.register(cluster.stop)
        _THROWAWAY["cluster"] = cluster
    return _THROWAWAY["cluster"].dsn


def postgres_bin_dir():
    """Directory with ``initdb``/``pg_ctl``/``postgres``/``psql``: the system's (PATH, then
    ``/usr/lib/postgresql/<newest>/bin``), else the embedded PostgreSQL of the ``pgserver`` wheel; None when
    neither is there."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return os.path.dirname(os.path.realpath(found))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(re.sub(r"\D", "", p.split("/")[4]) or 0))
    if versions:
        return os.path.dirname(versions[-1])
    return embedded_bin_dir()


def embedded_bin_dir():
    """``bin`` of the PostgreSQL build inside the ``pgserver`` wheel (found without importing it: importing
    pgserver creates lock files and may add system users when run as root; only its binaries are used)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "pginstall", "bin")
    return path if os.path.isfile(os.path.join(path, "initdb")) else None


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayCluster:
    """A private PostgreSQL cluster in a temporary directory: ``initdb`` (trust auth, superuser ``postgres``),
    ``pg_ctl start`` on 127.0.0.1 and a free port, no Unix socket; :meth:`stop` stops it and deletes the
    directory. Binaries from :func:`postgres_bin_dir` (system, else the ``pgserver`` wheel). PostgreSQL refuses
    to run as root: as root the cluster runs as the unprivileged ``postgres`` or ``nobody`` account."""

    def __init__(self, bin_dir=None, base_dir=None):
        self.bin_dir = bin_dir or postgres_bin_dir()
        if not self.bin_dir:
            raise SchemaError("no PostgreSQL server answers and no PostgreSQL binaries were found for a throwaway "
                              "cluster: install the system's postgresql package or `pip install pgserver` "
                              "(pinned in requirements/dev-py311.txt), or set GRIDSEC_PG_ADMIN_DSN")
        self.base_dir = base_dir
        self.directory = None
        self.port = None
        self.dsn = None
        self._user = None

    def _run(self, args, timeout=120):
        kwargs = {}
        if self._user is not None:
            kwargs["user"] = self._user.pw_uid
            kwargs["group"] = self._user.pw_gid
            kwargs["extra_groups"] = []
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, **kwargs)
        if proc.returncode != 0:
            raise SchemaError("%s failed (exit %d): %s" % (os.path.basename(args[0]), proc.returncode,
                                                           (proc.stderr or proc.stdout)[-2000:]))
        return proc

    def start(self):
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self._user = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            else:
                raise SchemaError("running as root and neither a postgres nor a nobody account exists")
        self.directory = tempfile.mkdtemp(prefix="gridsec-pg-", dir=self.base_dir)
        data = os.path.join(self.directory, "data")
        os.makedirs(data, mode=0o700)
        if self._user is not None:
            os.chmod(self.directory, 0o755)
            for path in (self.directory, data):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)
        self._run([os.path.join(self.bin_dir, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
                   "--encoding=UTF8", "--no-sync"])
        for attempt in range(5):
            self.port = _free_port()
            options = "-h 127.0.0.1 -p %d -c unix_socket_directories= -c fsync=off" % self.port
            try:
                self._run([os.path.join(self.bin_dir, "pg_ctl"), "-D", data, "-l", os.path.join(data, "server.log"),
                           "-o", options, "-w", "-t", "60", "start"])
                break
            except SchemaError:
                if attempt == 4:
                    raise
        self.dsn = "host=127.0.0.1 port=%d dbname=postgres user=postgres" % self.port
        return self

    def stop(self):
        if not self.directory:
            return
        data = os.path.join(self.directory, "data")
        try:
            self._run([os.path.join(self.bin_dir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"])
        except (SchemaError, OSError, subprocess.SubprocessError):
            pass
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None


def dsn_params(dsn):
    """libpq connection string -> dict."""
    return _conninfo.conninfo_to_dict(dsn)


def dsn_with(dsn, **overrides):
    """The same connection string with some keywords replaced (e.g. ``dbname=``)."""
    params = dsn_params(dsn)
    params.update({k: v for k, v in overrides.items() if v is not None})
    return _conninfo.make_conninfo(**params)


def unique_name(prefix="gridsec"):
    prefix = re.sub(r"[^a-z0-9_]", "_", prefix.lower())
    return "%s_%d_%s" % (prefix, os.getpid(), secrets.token_hex(4))


def create_database(admin_dsn=None, prefix="gridsec"):
    """Create a uniquely named database; return ``(dbname, dsn)`` where ``dsn`` connects to it with the
    admin's credentials."""
    admin_dsn = admin_dsn or default_admin_dsn()
    name = unique_name(prefix)
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, dsn_with(admin_dsn, dbname=name)


def drop_database(admin_dsn, dbname):
    """Drop ``dbname`` (terminating its sessions). Missing databases are fine."""
    admin_dsn = admin_dsn or default_admin_dsn()
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def ensure_role(dsn, role="panda"):
    """Create a login role (no password; the lab uses trust auth) unless it exists. Roles are cluster-wide
    and kept across sessions; concurrent creation is tolerated: two processes (pytest-xdist workers, a CI run
    beside a developer's) may both find the role missing, then one CREATE ROLE meets a duplicate and the two
    ALTER ROLE ... SET may collide on the same pg_db_role_setting row ("tuple concurrently updated", or a
    unique violation), so that step is retried."""
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if exists:
            return
        try:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
            pass
        for attempt in range(5):
            try:
                conn.execute(sql.SQL("ALTER ROLE {} SET search_path = doma_panda, public").format(
                    sql.Identifier(role)))
                return
            except (psycopg.errors.InternalError_, psycopg.errors.UniqueViolation):
                if attempt == 4:
                    raise
                time.sleep(0.1 * (attempt + 1))


def _psql():
    path = shutil.which("psql")
    if not path:
        embedded = embedded_bin_dir()
        if embedded and os.path.isfile(os.path.join(embedded, "psql")):
            return os.path.join(embedded, "psql")
        raise SchemaError("psql not found in PATH: the PanDA DDL uses psql meta-commands and is loaded with psql")
    return path


def _run_psql(dsn, args, timeout=600):
    env = dict(os.environ, PGOPTIONS="--client-min-messages=warning")
    return subprocess.run([_psql(), "-X", "-q", "-d", dsn] + args, capture_output=True, text=True,
                          timeout=timeout, env=env)


def schema_files(schema_dir):
    """The DDL files the upstream init script runs, in its order (existing ones only)."""
    files = []
    for comp in COMPONENTS:
        for suffix in SUFFIXES:
            path = os.path.join(schema_dir, "pg_%s_%s.sql" % (comp, suffix))
            if os.path.isfile(path):
                files.append(path)
    return files


def load_panda_schema(dsn, schema_dir=None):
    """Load the PanDA PostgreSQL schema into the (empty) database ``dsn`` connects to, with DEFAULT
    partitions instead of pg_partman and without pg_cron (see the module docstring). Returns a
    :class:`SchemaLoadReport`; raises :class:`SchemaError` naming the file and psql's error otherwise."""
    schema_dir = os.path.abspath(schema_dir or default_schema_dir())
    if not schema_dir_available(schema_dir):
        raise SchemaError("PanDA schema directory %s has no pg_PANDA_TABLE.sql (set GRIDSEC_PANDA_SCHEMA_DIR)"
                          % schema_dir)
    ensure_role(dsn, "panda")
    files = schema_files(schema_dir)
    tolerated = {}
    for path in files:
        proc = _run_psql(dsn, ["-v", "ON_ERROR_STOP=1", "-f", path])
        errors = "\n".join(line for line in proc.stderr.splitlines() if "ERROR" in line or "FATAL" in line)
        if proc.returncode != 0 or errors:
            name = os.path.basename(path)
            if name in TOLERATED_FAILURES:
                tolerated[name] = errors or proc.stderr.strip()
                continue
            raise SchemaError("loading %s into %s failed (psql exit %d):\n%s"
                              % (name, dsn, proc.returncode, (errors or proc.stderr)[-3000:]))
    partitions = []
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class d ON d.oid = i.inhrelid "
            "                  WHERE i.inhparent = c.oid AND pg_get_expr(d.relpartbound, d.oid) = 'DEFAULT') "
            "ORDER BY 1, 2").fetchall()
        for schema, table in rows:
            conn.execute(sql.SQL("CREATE TABLE {} PARTITION OF {} DEFAULT").format(
                sql.Identifier(schema, table + "_default"), sql.Identifier(schema, table)))
            partitions.append("%s.%s" % (schema, table))
        conn.execute("INSERT INTO doma_panda.pandadb_version (component, major, minor, patch) "
                     "VALUES ('PanDA', %s, %s, %s) ON CONFLICT (component) DO NOTHING", SCHEMA_VERSION)
    post = os.path.join(schema_dir, "post_step_panda.sql")
    if os.path.isfile(post):
        proc = _run_psql(dsn, ["-v", "ON_ERROR_STOP=1", "-f", post])
        if proc.returncode != 0:
            raise SchemaError("loading post_step_panda.sql into %s failed:\n%s" % (dsn, proc.stderr[-3000:]))
        files.append(post)
    return SchemaLoadReport(files=[os.path.basename(f) for f in files], tolerated_errors=tolerated,
                            default_partitions=partitions)
