"""The lab PanDA's own tables: the subset of the PanDA PostgreSQL schema that the collection's modules and the
lab server read and write, written here from the documented column names (PANDA.md sections 1.1, 3, 6, 7 and
the JobSpec attribute list in :mod:`.store`), so the lab needs no copy of the panda-database DDL.

Same schema names, table names, column names, key columns, sequences and NOT NULL defaults as the real
schema where the modules or the server depend on them:

- ``doma_pandameta.users`` (ban flag ``status``; **no** unique constraint on ``name``, like the real table)
  and the sequence ``users_id_seq``;
- ``doma_panda.jobsdefined4`` / ``jobsactive4`` / ``jobsarchived4`` (one column per JobSpec attribute, lower
  case) and the sequence ``jobsdefined4_pandaid_seq``; ``doma_panda.jobparamstable``;
- ``doma_panda.jedi_tasks`` (the JEDI task columns the lab and the modules touch);
- ``doma_deft.prodsys_comm`` (task commands).

The real panda-server tier (``gridsec_lab.panda_real``) never uses this: it loads the real DDL
(:func:`gridsec_lab.pg.load_panda_schema`). Partitioning, views, triggers and the other ~150 tables are not
modelled.
"""
import psycopg
from psycopg import sql

from .store import JOB_ATTRIBUTES

SCHEMAS = {"meta": "doma_pandameta", "panda": "doma_panda", "deft": "doma_deft"}
EPOCH = "TIMESTAMP '1970-01-01 00:00:00'"

# Column types of the job tables by JobSpec attribute (lower case); anything not listed is varchar(250).
_BIGINT = """pandaid jobdefinitionid maxcpucount maxdiskcount minramcount nevents jobexecutionid parentid jobsetid
inputfilebytes outputfilebytes jeditaskid maxrss maxvmem maxswap maxpss avgrss avgvmem avgswap avgpss maxwalltime
hs06sec hs06 totrchar totwchar totrbytes totwbytes raterchar ratewchar raterbytes ratewbytes memory_leak""".split()
_INTEGER = """assignedpriority currentpriority piloterrorcode exeerrorcode superrorcode ddmerrorcode brokerageerrorcode
jobdispatchererrorcode taskbuffererrorcode taskid ninputfiles ninputdatafiles noutputdatafiles workqueue_id
actualcorecount reqid diskio""".split()
_SMALLINT = "attemptnr maxattempt relocationflag corecount eventservice failedattempt".split()
_TIMESTAMP = "creationtime modificationtime starttime endtime statechangetime proddbupdatetime".split()
_TEXT = "jobparameters metadata".split()
_NUMERIC = {"cpuconsumptiontime": "numeric(20)", "cpuconversion": "numeric(9,4)",
            "memory_leak_x2": "numeric(14,3)", "gco2_regional": "numeric(10,2)", "gco2_global": "numeric(10,2)"}
_VARCHAR = {"jobstatus": 15, "prodsourcelabel": 20, "prodserieslabel": 20, "produsername": 60, "batchid": 80,
            "jobsubstatus": 80, "workinggroup": 20, "vo": 32, "computingsite": 128, "creationhost": 128,
            "modificationhost": 128, "taskbuffererrordiag": 300, "piloterrordiag": 500, "jobname": 256}
# NOT NULL columns of the real job tables and their defaults (the server and the modules rely on 0, not NULL).
_NOT_NULL_DEFAULTS = {
    "pandaid": "0", "jobdefinitionid": "0", "creationtime": EPOCH, "modificationtime": EPOCH,
    "assignedpriority": "0", "currentpriority": "0", "attemptnr": "0", "maxattempt": "0",
    "jobstatus": "'activated'", "maxcpucount": "0", "maxdiskcount": "0", "minramcount": "0",
    "cpuconsumptiontime": "0", "piloterrorcode": "0", "exeerrorcode": "0", "superrorcode": "0", "ddmerrorcode": "0",
    "brokerageerrorcode": "0", "jobdispatchererrorcode": "0", "taskbuffererrorcode": "0", "nevents": "0",
}
_NULLABLE_DEFAULTS = {"prodserieslabel": "'Rome'", "prodsourcelabel": "'managed'", "starttime": EPOCH,
                      "endtime": EPOCH, "statechangetime": EPOCH, "proddbupdatetime": EPOCH, "relocationflag": "0",
                      "jobexecutionid": "0"}

USERS_COLUMNS = """
id integer NOT NULL PRIMARY KEY,
name varchar(60) NOT NULL,
dn varchar(150),
email varchar(60),
url varchar(100),
location varchar(60),
sites varchar(250),
njobsa bigint,
njobsp bigint,
quotaa1 bigint,
quotap1 bigint,
space1 bigint,
lastmod timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
firstjob timestamp NOT NULL DEFAULT {epoch},
latestjob timestamp NOT NULL DEFAULT {epoch},
pagecache text,
cachetime timestamp NOT NULL DEFAULT {epoch},
ncurrent bigint NOT NULL DEFAULT 0,
jobid bigint NOT NULL DEFAULT 0,
status varchar(20),
vo varchar(20)
""".format(epoch=EPOCH)

JEDI_TASKS_COLUMNS = """
jeditaskid bigint NOT NULL PRIMARY KEY,
taskname varchar(256),
status varchar(64) NOT NULL,
username varchar(128) NOT NULL,
creationdate timestamp NOT NULL,
modificationtime timestamp NOT NULL,
reqid integer,
oldstatus varchar(64),
cloud varchar(10),
site varchar(60),
starttime timestamp,
endtime timestamp,
prodsourcelabel varchar(20),
workinggroup varchar(32),
vo varchar(32),
tasktype varchar(64),
processingtype varchar(64),
taskpriority integer,
currentpriority integer,
lockedby varchar(56),
lockedtime timestamp,
errordialog varchar(510),
parent_tid bigint,
statechangetime timestamp,
superstatus varchar(64),
attemptnr smallint,
realmodificationtime timestamp
"""

PRODSYS_COMM_COLUMNS = """
comm_task bigint NOT NULL,
comm_meta bigint,
comm_owner varchar(32),
comm_cmd varchar(256),
comm_ts bigint,
comm_comment varchar(128),
comm_parameters text
"""


def _job_column(name):
    if name in _BIGINT:
        kind = "bigint"
    elif name in _INTEGER:
        kind = "integer"
    elif name in _SMALLINT:
        kind = "smallint"
    elif name in _TIMESTAMP:
        kind = "timestamp"
    elif name in _TEXT:
        kind = "text"
    elif name in _NUMERIC:
        kind = _NUMERIC[name]
    else:
        kind = "varchar(%d)" % _VARCHAR.get(name, 250)
    if name in _NOT_NULL_DEFAULTS:
        return "%s %s NOT NULL DEFAULT %s" % (name, kind, _NOT_NULL_DEFAULTS[name])
    if name in _NULLABLE_DEFAULTS:
        return "%s %s DEFAULT %s" % (name, kind, _NULLABLE_DEFAULTS[name])
    return "%s %s" % (name, kind)


def job_table_columns():
    """Column definitions of jobsDefined4/jobsActive4/jobsArchived4, one per JobSpec attribute."""
    return [_job_column(attribute.lower()) for attribute in JOB_ATTRIBUTES]


def ddl(schemas=None):
    """The statements that create the lab tables (list of strings, in order)."""
    names = dict(SCHEMAS, **(schemas or {}))
    meta, panda, deft = names["meta"], names["panda"], names["deft"]
    jobs = ",\n".join(job_table_columns())
    statements = ["CREATE SCHEMA IF NOT EXISTS %s" % s for s in (meta, panda, deft)]
    statements += [
        "CREATE SEQUENCE %s.users_id_seq START 1" % meta,
        "CREATE TABLE %s.users (%s)" % (meta, USERS_COLUMNS),
        # Not unique, like the real schema: duplicates of a name are possible and the modules must cope.
        "CREATE INDEX users_name_idx ON %s.users (name, vo)" % meta,
        "CREATE SEQUENCE %s.jobsdefined4_pandaid_seq START 1" % panda,
        "CREATE TABLE %s.jobsdefined4 (%s, PRIMARY KEY (pandaid))" % (panda, jobs),
        "CREATE TABLE %s.jobsactive4 (%s, PRIMARY KEY (pandaid))" % (panda, jobs),
        "CREATE TABLE %s.jobsarchived4 (%s, PRIMARY KEY (pandaid, modificationtime))" % (panda, jobs),
        "CREATE TABLE %s.jobparamstable (pandaid bigint NOT NULL, modificationtime timestamp NOT NULL DEFAULT %s, "
        "jobparameters text, PRIMARY KEY (pandaid, modificationtime))" % (panda, EPOCH),
        "CREATE TABLE %s.jedi_tasks (%s)" % (panda, JEDI_TASKS_COLUMNS),
        "CREATE TABLE %s.prodsys_comm (%s)" % (deft, PRODSYS_COMM_COLUMNS),
    ]
    for table in ("jobsdefined4", "jobsactive4", "jobsarchived4"):
        statements.append("CREATE INDEX %s_produsername_idx ON %s.%s (produsername)" % (table, panda, table))
        statements.append("CREATE INDEX %s_batchid_idx ON %s.%s (batchid)" % (table, panda, table))
    return statements


def create_tables(dsn, schemas=None):
    """Create the lab tables in the (empty) database ``dsn`` connects to, in one transaction. Returns the
    list of ``schema.table`` names created."""
    statements = ddl(schemas)
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        for statement in statements:
            conn.execute(sql.SQL(statement))  # our own constant DDL, no user input
    return [s.split()[2] for s in statements if s.startswith("CREATE TABLE")]
