# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""PanDA ban planning and apply: the one home of "ban (or unban) these PanDA user names".

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Used by ``panda_user_ban`` and by the PanDA target of ``suspension_list_sync``; both give an open ``PandaDB``
(one transaction) and options, never a module. ``plan_ban`` reads (rows locked unless in check mode) and
decides per name; ``apply_ban`` writes what was planned and reads the rows back. Neither commits: the caller
commits once, so all the names of one person (``_panda.names.panda_ban_keys``) change in one transaction.

Rules (read in panda-server's source; kept here once):

- a ban is ``users.status='disabled'`` on every row of the name (no uniqueness on ``users.name``);
- a name without a row is banned by creating the row the server would create on a first submission, only when
  ``create_missing`` (a DN or a token identity names the person; a bare name is more often a typo);
- a name without a row whose spelling matches another user's apart from case and spacing is refused unless
  ``allow_similar_names``: PanDA names are case-sensitive and the other user is probably the one meant. The
  other names of the same person (``own_names``) do not count: "Jean-luc Dupont" (token path) next to
  "Jean-Luc Dupont" (X.509 path) is expected.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._panda.db import BAN_STATUS, DN_MAX

STATE_ALIASES = {"present": "banned", "absent": "unbanned"}
SIMILAR = "similar_name"
NO_ROW = "no_row"


def row_view(row):
    return dict((key, row.get(key)) for key in ("id", "name", "dn", "status", "vo"))


def similar_text(similar):
    """``'Alice Lab' (id 7, banned, dn /...)`` for up to five near-name rows."""
    return ", ".join("%r (id %s, %s%s)" % (row.get("name"), row.get("id"),
                                           "banned" if row.get("status") == BAN_STATUS else "not banned",
                                           ", dn %s" % row["dn"] if row.get("dn") else "")
                     for row in similar[:5]) + (", ..." if len(similar) > 5 else "")


class UserPlan(object):
    """What happens to one PanDA user name: ``action`` none/update/create, or a ``problem`` (nothing is done)."""

    def __init__(self, name, dn, state):
        self.name = name
        self.dn = dn
        self.state = state
        self.target = BAN_STATUS if state == "banned" else None
        self.before = []
        self.after = []
        self.similar = []
        self.action = "none"
        self.problem = None
        self.message = None
        self.warnings = []

    @property
    def found(self):
        return bool(self.before)

    def to_dict(self):
        return {"user": self.name, "dn": self.dn, "user_found": self.found, "action": self.action,
                "created": self.action == "create", "problem": self.problem,
                "similar_users": list(self.similar), "rows": list(self.after)}


def _similar_problem(plan, meta_schema):
    if plan.state == "banned":
        action = ("nothing was banned. If %s is the person, ban that name; to create a separate banned row for %r "
                  "anyway, set allow_similar_names=true" % (similar_text(plan.similar[:1]), plan.name))
    else:
        action = ("nothing was unbanned. If %s is the person, unban that name; set allow_similar_names=true to "
                  "accept that %r has no row" % (similar_text(plan.similar[:1]), plan.name))
    return ("PanDA user %r has no row in %s.users, but %s matches it apart from case/spacing (PanDA user names are "
            "case-sensitive): %s" % (plan.name, meta_schema, similar_text(plan.similar), action))


def _plan_missing(db, plan, create_missing, allow_similar_names, own_names, statements):
    """A name without a row: near-name check, then create (ban) or nothing (unban)."""
    similar, stmts = db.find_similar_users(plan.name)
    statements.extend(stmts)
    plan.similar = [row_view(row) for row in similar if row.get("name") not in own_names]
    if plan.similar and not allow_similar_names:
        plan.problem, plan.message = SIMILAR, _similar_problem(plan, db.meta_schema)
        return
    if plan.similar:
        plan.warnings.append("PanDA user %r has no row, but %s matches it apart from case/spacing (not changed)"
                             % (plan.name, similar_text(plan.similar)))
    if plan.state != "banned":
        plan.warnings.append("PanDA user %r has no row in %s.users: not banned, nothing to unban (check the spelling: "
                             "names are case-sensitive)" % (plan.name, db.meta_schema))
        return
    if not create_missing:
        plan.problem = NO_ROW
        plan.message = ("PanDA user %r has no row in %s.users (never submitted, or the name is misspelt: names are "
                        "case-sensitive): an UPDATE would ban nothing. To ban this user pre-emptively, give the DN "
                        "(dn=...) or set create_missing=true" % (plan.name, db.meta_schema))
        return
    plan.action = "create"
    plan.after = [{"id": None, "name": plan.name, "dn": (plan.dn or None) and plan.dn[:DN_MAX],
                   "status": plan.target, "vo": None}]


def plan_ban(db, users, state, create_missing=False, allow_similar_names=False, lock=True):
    """Plan ``state`` (banned/unbanned, aliases present/absent) for ``users``, a list of ``(name, dn_or_None)``.

    Reads each name's rows (``FOR UPDATE`` when ``lock``, i.e. not in check mode) and, for a name without rows,
    the near names. Returns ``(plans, statements)``: one ``UserPlan`` per name, the executed reads as dicts.
    """
    state = STATE_ALIASES.get(state, state)
    own_names = set(name for name, _dn in users)
    plans = []
    statements = []
    for name, dn in users:
        plan = UserPlan(name, dn, state)
        rows, stmts = db.get_user_rows(name, for_update=lock)
        statements.extend(stmts)
        plan.before = [row_view(row) for row in rows]
        plan.after = [dict(row) for row in plan.before]
        if len(rows) > 1:
            plan.warnings.append("PanDA user %r has %d rows in %s.users (ids %s; vo/dn pairs: %s): every row is set"
                                 % (name, len(rows), db.meta_schema, ", ".join(str(r.get("id")) for r in plan.before),
                                    "; ".join("%s/%s" % pair for pair in sorted(set(
                                        (r.get("vo") or "", r.get("dn") or "") for r in plan.before)))))
        if not rows:
            _plan_missing(db, plan, create_missing, allow_similar_names, own_names, statements)
        elif any(row.get("status") != plan.target for row in plan.before):
            plan.action = "update"
            for row in plan.after:
                row["status"] = plan.target
        plans.append(plan)
    return plans, statements


def apply_ban(db, plans):
    """Write every planned change (plans with a ``problem`` are skipped) and read the rows back into
    ``plan.after``; returns the executed statements as dicts. Does not commit."""
    statements = []
    for plan in plans:
        if plan.problem or plan.action == "none":
            continue
        if plan.action == "create":
            _count, stmts = db.create_banned_user(plan.name, plan.dn)
        else:
            _count, stmts = db.set_status(plan.name, plan.target)
        statements.extend(stmts)
        rows, stmts = db.get_user_rows(plan.name)
        statements.extend(stmts)
        plan.after = [row_view(row) for row in rows]
    return statements


def planned_statements(db, plans):
    """The writes ``apply_ban`` would run, as not-executed statement dicts (check mode's audit trail)."""
    out = []
    for plan in plans:
        if plan.problem or plan.action == "none":
            continue
        if plan.action == "create":
            out.append(db.plan_create_banned_user(plan.name, plan.dn).to_dict())
        else:
            out.append(db.plan_set_status(plan.name, plan.target).to_dict())
    return out
