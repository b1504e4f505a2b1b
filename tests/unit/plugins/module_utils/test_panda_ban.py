# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""_panda.ban (the one home of PanDA ban planning/apply, used by panda_user_ban and the sync's PanDA target)
against the real PanDA ``users`` table in a local PostgreSQL (the fixtures of test_panda_db.py)."""

import importlib.util
import os

import pytest

pytest.importorskip("psycopg")

from ansible_collections.gridsec.ops.plugins.module_utils._panda.ban import (  # noqa: E402
    NO_ROW, SIMILAR, apply_ban, plan_ban, planned_statements)
from ansible_collections.gridsec.ops.plugins.module_utils._panda.names import panda_ban_keys  # noqa: E402

_SPEC = importlib.util.spec_from_file_location(
    "gridsec_test_panda_db_fixtures", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_panda_db.py"))
_DB = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_DB)
database = _DB.database  # noqa: F811 (pytest fixtures re-used)
clean = _DB.clean
open_db, seed_user, statuses = _DB.open_db, _DB.seed_user, _DB.statuses

DN = "/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdupont/CN=123456/CN=Jean-Luc Dupont"
SUB = "e1eb758b-b73c-4761-bfff-adc793da409c"


def person():
    keys = panda_ban_keys(dn=DN, token_name="Jean-Luc Dupont", token_subject=SUB)
    return [(name, DN if index == 0 else None) for index, name in enumerate(keys)]


def test_all_keys_of_one_person_are_banned_in_one_transaction_and_a_rerun_changes_nothing(clean):
    seed_user(clean, "Jean-Luc Dupont", dn=DN)          # the X.509 user submitted before; the token names never
    db = open_db(clean)
    plans, reads = plan_ban(db, person(), "banned", create_missing=True)
    # the token name differs from the X.509 name only by case: the same person, not a near-name refusal
    assert [(p.name, p.action, p.problem) for p in plans] == [
        ("Jean-Luc Dupont", "update", None), ("Jean-luc Dupont", "create", None), (SUB, "create", None)]
    assert [s["operation"] for s in reads].count("get_user_rows") >= 3
    apply_ban(db, plans)
    assert statuses(clean, "Jean-luc Dupont") == []     # nothing visible before the commit
    db.commit()
    db.close()
    for name in ("Jean-Luc Dupont", "Jean-luc Dupont", SUB):
        assert statuses(clean, name) == ["disabled"]
    db = open_db(clean)
    plans, _reads = plan_ban(db, person(), "banned", create_missing=True)
    assert [p.action for p in plans] == ["none", "none", "none"]
    assert db.get_banned_user_names()[0] == {"Jean-Luc Dupont", "Jean-luc Dupont", SUB}
    db.close()


def test_check_mode_plans_without_writing(clean):
    seed_user(clean, "John Doe")
    db = open_db(clean)
    plans, _reads = plan_ban(db, [("John Doe", None), ("New Person", "/DC=x/CN=New Person")], "banned",
                             create_missing=True, lock=False)
    assert [s["operation"] for s in planned_statements(db, plans)] == ["set_status", "create_banned_user"]
    assert [s["executed"] for s in planned_statements(db, plans)] == [False, False]
    assert plans[1].after[0]["dn"] == "/DC=x/CN=New Person" and plans[1].after[0]["id"] is None
    db.rollback()
    db.close()
    assert statuses(clean, "John Doe") == [None] and statuses(clean, "New Person") == []


def test_near_name_of_another_person_is_refused_unless_allowed(clean):
    seed_user(clean, "Alice Lab")
    db = open_db(clean)
    plans, _reads = plan_ban(db, [("alice  lab", None)], "banned", create_missing=True)
    assert plans[0].problem == SIMILAR and "'Alice Lab'" in plans[0].message
    assert "allow_similar_names" in plans[0].message and "nothing was banned" in plans[0].message
    apply_ban(db, plans)                                 # a refused plan writes nothing
    db.commit()
    assert statuses(clean, "alice  lab") == []
    plans, _reads = plan_ban(db, [("alice  lab", None)], "banned", create_missing=True, allow_similar_names=True)
    assert plans[0].action == "create" and "Alice Lab" in plans[0].warnings[0]
    db.rollback()
    db.close()


def test_bare_name_without_row_needs_create_missing_and_unban_of_no_row_only_warns(clean):
    db = open_db(clean)
    plans, _reads = plan_ban(db, [("Nobody Here", None)], "banned")
    assert plans[0].problem == NO_ROW and "create_missing=true" in plans[0].message
    plans, _reads = plan_ban(db, [("Nobody Here", None)], "absent")
    assert plans[0].state == "unbanned" and plans[0].action == "none" and plans[0].problem is None
    assert "nothing to unban" in plans[0].warnings[0]
    db.rollback()
    db.close()


def test_unban_sets_null_on_every_duplicate_row(clean):
    seed_user(clean, "Dup User", status="disabled", vo="a")
    seed_user(clean, "Dup User", status="disabled", vo="b")
    db = open_db(clean)
    plans, _reads = plan_ban(db, [("Dup User", None)], "unbanned")
    assert plans[0].action == "update" and "2 rows" in plans[0].warnings[0]
    apply_ban(db, plans)
    db.commit()
    db.close()
    assert statuses(clean, "Dup User") == [None, None]
