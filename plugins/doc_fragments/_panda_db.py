# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
# PRIVATE doc fragment of the gridsec.ops collection: it may change at any time, without notice.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Pairs with PANDA_DB_SPEC in plugins/module_utils/_panda/module.py
    DOCUMENTATION = r"""
options:
  db_backend:
    description:
      - Database product holding the PanDA schemas.
      - V(postgresql) needs the Python library C(psycopg) (version 3), V(oracle) needs C(oracledb).
    type: str
    choices: [postgresql, oracle]
    default: postgresql
  db_dsn:
    description:
      - Connection string of the PanDA database.
      - For V(postgresql) a libpq string (V(host=db.example.org port=5432 dbname=panda_db user=panda)) or URI;
        for V(oracle) an Oracle connect string or Easy Connect string.
      - Values given in O(db_host), O(db_port), O(db_name), O(db_user) and O(db_password) override the
        matching parts of the DSN.
      - Passwords inside the DSN are hidden from the output; prefer O(db_password).
    type: str
  db_host:
    description:
      - Host name of the database server.
    type: str
  db_port:
    description:
      - TCP port of the database server (5432 for PostgreSQL, 1521 for Oracle when not set).
    type: int
  db_name:
    description:
      - Database name (PostgreSQL) or service name (Oracle).
    type: str
  db_user:
    description:
      - Database user. It needs C(SELECT) and C(UPDATE) on the C(users) table of O(db_meta_schema),
        C(INSERT) there and C(USAGE) on its C(users_id_seq) sequence to create rows, C(SELECT) on
        C(jobsDefined4) and C(jobsActive4) of O(db_panda_schema) to list active jobs, and C(SELECT) on
        C(PRODSYS_COMM) of O(db_deft_schema) to see pending task kills.
    type: str
  db_password:
    description:
      - Password of O(db_user).
    type: str
  db_meta_schema:
    description:
      - Schema holding the C(users) table (the ban flag).
      - Defaults to V(doma_pandameta) for V(postgresql) and V(ATLAS_PANDAMETA) for V(oracle).
      - Must be a plain SQL identifier (letters, digits, underscore). It is folded like an unquoted identifier
        (lower case on PostgreSQL, upper case on Oracle), so the server configuration's spelling works.
    type: str
  db_panda_schema:
    description:
      - Schema holding the job tables C(jobsDefined4) and C(jobsActive4).
      - Defaults to V(doma_panda) for V(postgresql) and V(ATLAS_PANDA) for V(oracle).
      - Same identifier rules as O(db_meta_schema).
    type: str
  db_deft_schema:
    description:
      - Schema holding C(PRODSYS_COMM), where the server registers task commands (a task kill) until JEDI
        executes them. Read by M(gridsec.ops.panda_job_kill) to see a pending task kill.
      - Defaults to V(doma_deft) for V(postgresql) and V(ATLAS_DEFT) for V(oracle).
      - Same identifier rules as O(db_meta_schema).
    type: str
notes:
  - "The C(db_*) options belong to the C(gridsec.ops.panda) action group: every module of the group accepts
    them, so that one C(module_defaults) entry can hold the API and the database connection. Modules that do not
    use the database say so in their notes and ignore them."
requirements:
  - psycopg >= 3 (for O(db_backend=postgresql))
  - oracledb (for O(db_backend=oracle))
"""
