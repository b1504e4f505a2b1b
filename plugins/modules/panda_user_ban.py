#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: panda_user_ban
short_description: Ban or unban a user on a PanDA server
version_added: 0.1.0
description:
  - Bans or unbans a PanDA user by setting the ban flag in the PanDA database, the only place a ban is
    stored (C(users.status = 'disabled') in the meta schema; C(NULL) means not banned). PanDA has no HTTP API
    that writes it.
  - The user is identified by the PanDA user name, which is C(clean_user_id) of the certificate DN and is
    case-sensitive. Give either O(user) or O(dn); a DN is converted with the same rules the server uses.
  - Every row with the name is updated (the table has no uniqueness constraint on the name). Duplicate rows
    (same name, different VO or DN) are reported with a warning.
  - A user who never submitted has no row. A pre-emptive ban creates the row the server would create on the
    first submission, already banned, so the ban holds from the first request on. This happens only when it is
    asked for explicitly, by giving the user's O(dn) or by O(create_missing=true); a bare O(user) name without
    a row fails, because it is more often a misspelt name than a user who never submitted.
  - "Names that differ only in case or spacing (V(alice lab) and V(Alice Lab)) are different PanDA users. When
    the name given has no row but such a near match exists, the module fails and names the existing user, unless
    O(allow_similar_names=true). Near matches are only looked for when the name has no row; a name with rows
    is used as it is."
  - "One person can have up to three PanDA names: the certificate name from O(dn), the token name from
    O(token_name) and the token subject O(token_subject). All of them are banned (or unbanned) in one transaction:
    when one of them cannot be (a near name, see O(allow_similar_names)), none is. RV(user_names) lists them."
  - Unbanning a name that has no row changes nothing and returns a warning (the user is not banned); see
    RV(user_found).
  - Job submission honours the ban at once. The HTTP front door of each server process keeps a cached ban
    list (600 seconds by default), so API calls of the banned user may still be served until the cache
    expires or the server is restarted.
  - A ban does not stop queued or running jobs and tasks; use M(gridsec.ops.panda_job_kill) for that (the
    playbook C(gridsec.ops.panda_ban_user) does both).
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - Python library C(psycopg) (version 3, O(db_backend=postgresql), the default) or C(oracledb)
    (O(db_backend=oracle)) on the host that runs the module
extends_documentation_fragment:
  - gridsec.ops._panda_db
  - gridsec.ops._panda
  - gridsec.ops._tls
  - gridsec.ops._attributes
  - gridsec.ops._attributes.ACTIONGROUP_PANDA
attributes:
  check_mode:
    support: full
    details:
      - The database is read, nothing is written; the transaction is rolled back.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  user:
    description:
      - PanDA user name (the value of C(users.name), C(prodUserName) of the user's jobs), for example
        V(John Doe). Case-sensitive.
      - Give O(user), or any of O(dn), O(token_name) and O(token_subject) (the identities of one person).
    type: str
  dn:
    description:
      - Certificate subject DN of the user, in OpenSSL slash form (V(/DC=ch/DC=cern/OU=Users/CN=jdoe/CN=123/CN=John Doe))
        or RFC 2253 comma form. Comma-form DNs are converted to slash form first, since the server's
        C(clean_user_id) only understands the slash form.
      - Proxy components (C(/CN=proxy), C(/CN=limited proxy), numeric CNs) are removed by the conversion.
      - Attribute types must be known keywords (V(CN), V(O), V(OU), V(DC), V(C), V(L), V(ST), V(UID),
        V(emailAddress)/V(E), V(serialNumber), ... in any case) or numeric OIDs (V(2.5.4.3)). A DN with any other
        type (a typo such as V(/DC=org/CM=John Doe)) is refused before the database is touched, with a message
        naming the type and the closest keyword, instead of banning (or creating) a user of a junk name.
      - When a row is created (O(create_missing)), its C(dn) column is set to the slash form of this DN.
    type: str
  token_name:
    description:
      - The C(name) claim of the person's tokens (as the token issuer, for example INDIGO IAM, sets it).
      - "PanDA names a token user differently from the certificate's CN (panda-server's C(decode_token)): each
        word's first character upper-cased and the rest lower-cased, then C(clean_user_id) (V(Jean-Luc Dupont)
        becomes V(Jean-luc Dupont), V(Ronald McDonald) V(Ronald Mcdonald)). That name is banned next to the
        certificate name of O(dn) and the O(token_subject); see RV(user_names)."
      - Without O(create_missing=false), a row is created banned when the name has none (token users get a row on
        their first submission only).
    type: str
  token_subject:
    description:
      - The C(sub) claim of the person's tokens (for INDIGO IAM the account UUID).
      - PanDA uses it as the user name of a token that carries no C(name) claim (IAM access tokens carry one only
        when the issuer is configured to), so it is banned too, whether or not O(token_name) is given.
    type: str
  state:
    description:
      - V(banned) (alias V(present)) sets C(status='disabled') on every row of the user.
      - V(unbanned) (alias V(absent)) sets C(status) to C(NULL) on every row of the user.
    type: str
    choices: [banned, unbanned, present, absent]
    default: banned
  create_missing:
    description:
      - With O(state=banned), create a banned row for a user who has no row yet (never submitted), so that the
        ban is in force before the first submission. The result then has RV(created=true).
      - When not set, a row is created when the user is given by O(dn) (the DN identifies the person and gives
        the row its C(dn)), and not for a bare O(user) name.
      - With V(false) (or not set with O(user)), banning a user without a row fails, because an UPDATE would
        ban nothing.
    type: bool
  allow_similar_names:
    description:
      - Go ahead although the name has no row and another user's name matches it apart from case and spacing
        (a new banned row is created next to the existing user, or an unban does nothing).
      - Without it such a run fails and names the existing user, who is probably the one meant.
    type: bool
    default: false
  verify:
    description:
      - After the write, read the ban list through the API (C(GET /api/v1/metaconfig/get_banned_users), read
        from the database by the server) and fail if the user's state there differs.
      - "When the verification fails after a write, the write stays committed and the message says so
        (C(the ban WAS written ...; only the verification ... failed)): do not simply re-run to apply the ban."
      - Needs O(panda_url) and a credential the server accepts; the connection options are checked before
        anything is written. Skipped in check mode.
    type: bool
    default: false
  ban_cache_seconds:
    description:
      - Lifetime of the server's front-door ban-list cache, only used to word RV(effective).
    type: int
    default: 600
notes:
  - Names are passed to the database as bind parameters only; quotes and other SQL characters are plain data.
  - All statements of one run are executed in one transaction.
seealso:
  - module: gridsec.ops.panda_job_kill
"""

EXAMPLES = r"""
- name: Ban a user by DN (pre-emptive, creating the row when the user never submitted)
  gridsec.ops.panda_user_ban:
    dn: /DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdoe/CN=123456/CN=John Doe
    state: banned
    db_host: pandadb.example.org
    db_name: panda_db
    db_user: panda
    db_password: "{{ vault_panda_db_password }}"

- name: Ban by user name and check through the API that the server sees the ban
  gridsec.ops.panda_user_ban:
    user: John Doe
    verify: true
    panda_url: https://pandaserver.example.org:25443
    client_cert: /etc/grid-security/ops/usercert.pem
    client_key: /etc/grid-security/ops/userkey.pem
    db_dsn: host=pandadb.example.org dbname=panda_db user=panda
    db_password: "{{ vault_panda_db_password }}"

- name: Ban a person under every name PanDA may give them (certificate, token name, token subject)
  gridsec.ops.panda_user_ban:
    dn: /DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdupont/CN=123456/CN=Jean-Luc Dupont
    token_name: Jean-Luc Dupont
    token_subject: e1eb758b-b73c-4761-bfff-adc793da409c
    db_host: pandadb.example.org
    db_name: panda_db
    db_user: panda
    db_password: "{{ vault_panda_db_password }}"
  register: banned   # banned.user_names: ["Jean-Luc Dupont", "Jean-luc Dupont", "e1eb758b-..."]

- name: Lift the ban (Oracle backend)
  gridsec.ops.panda_user_ban:
    user: John Doe
    state: unbanned
    db_backend: oracle
    db_dsn: adcr.example.org:1521/adcr_panda
    db_user: atlas_panda_writer
    db_password: "{{ vault_panda_db_password }}"
"""

RETURN = r"""
user:
  description: The first PanDA user name of RV(user_names) (the name from O(user) or O(dn), else the token name).
  returned: always
  type: str
  sample: John Doe
user_names:
  description:
    - Every PanDA user name the run banned or unbanned (or would, in check mode), in this order. The name from
      O(user) or O(dn), the token name from O(token_name), the token subject O(token_subject); each name once.
  returned: always
  type: list
  elements: str
  sample: ["Jean-Luc Dupont", "Jean-luc Dupont", "e1eb758b-b73c-4761-bfff-adc793da409c"]
state:
  description: The requested state, V(banned) or V(unbanned) (aliases resolved).
  returned: always
  type: str
  sample: banned
rows:
  description: The rows of every name of RV(user_names) in the C(users) table after the run (predicted in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Row id (primary key); V(null) for a row that would be created in check mode.
      type: int
    name:
      description: User name.
      type: str
    dn:
      description: DN stored in the row.
      type: str
    status:
      description: V(disabled) when banned, V(null) when not.
      type: str
    vo:
      description: VO column of the row.
      type: str
created:
  description: Whether a new banned row was created (or would be, in check mode) for a name of RV(user_names) that had none.
  returned: always
  type: bool
user_found:
  description: Whether a name of RV(user_names) had at least one row in the C(users) table before the run.
  returned: always
  type: bool
similar_users:
  description:
    - Other users whose name matches RV(user) apart from case and spacing (never changed by the run).
    - Only looked for when RV(user) has no row; empty otherwise.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Row id.
      type: int
    name:
      description: User name.
      type: str
    dn:
      description: DN stored in the row.
      type: str
    status:
      description: V(disabled) when banned.
      type: str
    vo:
      description: VO column of the row.
      type: str
statements:
  description:
    - The SQL statements run (or that would run, in check mode, with RV(statements[].executed=false)), in order.
    - Bind values are user names, DNs and status values; passwords are never included.
  returned: always
  type: list
  elements: dict
  contains:
    operation:
      description: Which step the statement belongs to (V(lock_user_name) (when the user has no row yet, a
        transaction-scoped advisory lock on the name on PostgreSQL, a SHARE ROW EXCLUSIVE lock of C(users) on
        Oracle, so that concurrent bans of a user without a row create one row), V(get_user_rows),
        V(find_similar_users), V(set_status), V(create_banned_user)).
      type: str
    sql:
      description: SQL text with C(:name) bind markers.
      type: str
    binds:
      description: Bind values by name.
      type: dict
    executed:
      description: Whether the statement was executed.
      type: bool
    rowcount:
      description: Rows affected or returned (V(null) when not executed).
      type: int
effective:
  description: When the ban takes effect at each enforcement point.
  returned: always
  type: dict
  contains:
    submission:
      description: Job submission checks the database directly.
      type: str
      sample: immediately
    api_front_door:
      description: The HTTP front door uses a cached ban list per server process.
      type: str
      sample: within 600 s (server ban-list cache, default 600 s per server process)
verified:
  description: Result of O(verify); V(null) when not requested or in check mode.
  returned: always
  type: bool
banned_users:
  description: The server's list of banned users read for O(verify).
  returned: when O(verify=true) and not in check mode
  type: list
  elements: str
requests:
  description: API calls made (method, path), for O(verify).
  returned: always
  type: list
  elements: dict
diff:
  description: Status of each row before and after.
  returned: when diff mode is on
  type: dict
error:
  description:
    - Why the task failed, in the same shape for every failure (also one found before any server was contacted).
    - C(type) (the error class, for example V(TLSError), V(AuthorizationError), V(ConfigError), V(MissingLibrary),
      V(ModuleFailure)), C(kind) (V(transport), V(tls), V(remote), V(authorization), V(not_found),
      V(write_refused), V(config), V(missing_library) or V(error)), C(msg), C(server) and C(operation) (null
      when no server operation failed), C(details) (dict of extra facts, never a secret).
  returned: failed
  type: dict
  sample: {"type": "AuthorizationError", "kind": "authorization", "msg": "HTTP 403 Forbidden: the server refused
    this credential", "server": "server.example.org:8443", "operation": "ban", "details": {"status": 403}}
"""

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import with_result
from ansible_collections.gridsec.ops.plugins.module_utils._panda.ban import (
    STATE_ALIASES, apply_ban, plan_ban, planned_statements)
from ansible_collections.gridsec.ops.plugins.module_utils._panda.module import PandaModule
from ansible_collections.gridsec.ops.plugins.module_utils._panda.names import panda_ban_keys, resolve_user_name
from ansible_collections.gridsec.ops.plugins.module_utils._panda.db import BAN_STATUS, NAME_MAX


def _diff_view(plans, rows_of):
    single = len(plans) == 1
    out = {}
    for plan in plans:
        for row in rows_of(plan):
            key = str(row["id"]) if row["id"] is not None else ("new row" if single else "new row %s" % plan.name)
            out[key] = row["status"]
    return {"user_rows": out}


def resolve_keys(params):
    """``[(name, dn_or_None)]``: the PanDA names of the person (``panda_ban_keys``); the DN goes with the X.509
    name only (it becomes the ``dn`` of a created row)."""
    if params.get("user") is not None:
        users = [resolve_user_name(user=params["user"])]
    else:
        keys = panda_ban_keys(dn=params.get("dn"), token_name=params.get("token_name"),
                              token_subject=params.get("token_subject"))
        slash_dn = resolve_user_name(dn=params["dn"])[1] if params.get("dn") is not None else None
        users = [(name, slash_dn if index == 0 and slash_dn else None) for index, name in enumerate(keys)]
    for name, _dn in users:
        if len(name) > NAME_MAX:
            raise ConfigError("PanDA user name %r is longer than %d characters: no such user can exist"
                              % (name, NAME_MAX))
    return users


def new_result(module, users, state):
    return dict(changed=False, user=users[0][0], user_names=[name for name, _dn in users], state=state, created=False,
                verified=None, rows=[], statements=[], requests=[], user_found=False, similar_users=[],
                effective={"submission": "immediately",
                           "api_front_door": "within %d s (server ban-list cache, default 600 s per server process)"
                                             % module.params["ban_cache_seconds"]})


def plan(module, users, state, result):
    """Read and plan every name in the run's one transaction; a refused name fails the run before any write."""
    params = module.params
    create_missing = params["create_missing"]
    if create_missing is None:  # a DN or a token identity names the person: pre-emptive creation is explicit
        create_missing = params.get("user") is None
    plans, statements = plan_ban(module.db(), users, state, create_missing=create_missing,
                                 allow_similar_names=params["allow_similar_names"], lock=not module.check_mode)
    module.record(statements)
    for item in plans:
        for warning in item.warnings:
            module.warn(warning)
    result.update(user_found=any(p.found for p in plans), similar_users=[r for p in plans for r in p.similar],
                  created=any(p.action == "create" for p in plans))
    refused = [p for p in plans if p.problem]
    if refused:
        module.finish_db(commit=False)
        result.update(created=False, statements=list(module.statements))
        raise with_result(ConfigError(" ".join(p.message for p in refused)), **result)
    return plans, module.db().meta_schema


def apply(module, plans, result):
    changed = any(p.action != "none" for p in plans)
    if changed and not module.check_mode:
        module.record(apply_ban(module.db(), plans))
        module.finish_db(commit=True)
        module.changed_so_far = True
    else:
        module.record(planned_statements(module.db(), plans))
        module.finish_db(commit=False)
    result.update(changed=changed, rows=[r for p in plans for r in p.after], statements=module.statements)
    if module._diff:
        result["diff"] = {"before": _diff_view(plans, lambda p: p.before),
                          "after": _diff_view(plans, lambda p: p.after)}


def verify(module, schema, result):
    """Read the ban list through the API; the write is committed whatever this finds, and the message says so."""
    state = result["state"]
    names = result["user_names"]
    word = "ban" if state == "banned" else "unban"
    status = BAN_STATUS if state == "banned" else "NULL"
    if result["changed"]:
        written = ("the %s WAS written: %s.users now has status=%s for %s (committed); only the verification "
                   "through the API failed" % (word, schema, status, ", ".join(repr(n) for n in names)))
    else:
        written = ("nothing was written (%s.users already had status=%s for %s); the verification through the "
                   "API failed" % (schema, status, ", ".join(repr(n) for n in names)))
    try:
        banned = module.client("verify=true").get_banned_users()
    except GridsecError as err:
        result.update(requests=module.client_operations(), verified=False)
        err.msg = "%s: %s" % (written, err.msg)
        raise with_result(err, **result)
    wrong = [n for n in names if (n in banned) != (state == "banned")]
    result.update(banned_users=banned, verified=not wrong, requests=module.client_operations())
    if wrong:
        raise with_result(GridsecError("%s: %s's ban list (get_banned_users) %s %s" % (
            written, module.server_label, "does not contain" if state == "banned" else "still contains",
            ", ".join(repr(n) for n in wrong))), **result)


def run(module):
    params = module.params
    state = STATE_ALIASES.get(params["state"], params["state"])
    users = resolve_keys(params)
    if params["verify"]:
        if not module.api_configured:
            raise ConfigError("verify=true needs panda_url (and a credential the server accepts)")
        module.client("verify=true")  # connection options checked now, before anything is written
    result = new_result(module, users, state)
    plans, schema = plan(module, users, state, result)
    apply(module, plans, result)
    if params["verify"] and not module.check_mode:
        verify(module, schema, result)
    module.exit_json(**result)


def main():
    module = PandaModule(
        argument_spec=dict(
            user=dict(type="str"),
            dn=dict(type="str"),
            token_name=dict(type="str"),
            token_subject=dict(type="str", no_log=False),  # an identifier (IAM: the account UUID), not a secret
            state=dict(type="str", default="banned", choices=["banned", "unbanned", "present", "absent"]),
            create_missing=dict(type="bool"),
            allow_similar_names=dict(type="bool", default=False),
            verify=dict(type="bool", default=False),
            ban_cache_seconds=dict(type="int", default=600),
        ),
        use_db=True,
        mutually_exclusive=[("user", "dn"), ("user", "token_name"), ("user", "token_subject")],
        required_one_of=[("user", "dn", "token_name", "token_subject")],
        supports_check_mode=True,
    )
    module.run_guarded(run, module)


if __name__ == "__main__":
    main()
