# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Hostile DNs through every module that takes a DN (argus_policy, argus_pap ACL principals, suspension_list_sync
lists, panda_user_ban, panda_job_kill): each one is either refused with
an error naming the problem (and nothing is written), or stored and matched exactly, never reinterpreted: the PAP
holds exactly the literal it makes from the slash form, a look-alike DN (zero-width or RTL mark removed) is another
DN, and the unban removes exactly that rule; PanDA's users row carries exactly the name panda-server derives from
the DN (the lab's independent clean_user_id). argus_policy refuses DNs with control characters (the DN parser);
panda_user_ban may store them (PanDA derives a name from the text) but NUL cannot be stored and must be refused.

Invalid UTF-8 cannot travel through a playbook (module options are text); the parser's handling of arbitrary bytes
is covered by tests/unit/plugins/module_utils/test_properties_dn.py.
"""
import re

import psycopg
import pytest
from psycopg import sql

from _hardening import argus_conn, banned_values, letters, pap_rules, raw_ban, run_tasks
from ansible_collections.gridsec.ops.plugins.module_utils._dn import DNError, dn_key, parse_dn

pytestmark = pytest.mark.slow

BASE = "/DC=test/DC=gridsec/OU=Users"
# name -> (slash DN, must be refused)
HOSTILE = {
    "xml metacharacters": (BASE + "/CN=<x a='1'>&amp;</x> ]]> Smith", False),
    "quotes": (BASE + "/CN=O'Neil \"Bob\" Smith", False),
    "comma and backslash": (BASE + "/CN=Doe, Jane \\ Esq", False),
    "sql metacharacters": (BASE + "/CN=Robert'); DROP TABLE users; -- %", False),
    "rtl override": (BASE + "/CN=\u202eevil\u202c Mallory", False),
    "zero-width space": (BASE + "/CN=Jane\u200bDoe", False),
    "very long": (BASE + "/CN=" + "L" * 3000, False),
    "newline": (BASE + "/CN=Jane\nDoe", True),
    "nul": (BASE + "/CN=Jane\x00Doe", True),
    "carriage return": (BASE + "/CN=Jane\rDoe", True),
}


def pap_literal(slash):
    """What a PAP stores for a slash-form subject (canl OpensslNameUtils.opensslToRfc2253): ',' escaped, split on '/', a part without '='
    glued back to the previous one, RDNs reversed, joined by ','."""
    parts = []
    for part in slash.replace(",", "\\,").split("/")[1:]:
        if parts and "=" not in part:
            parts[-1] += "/" + part
        else:
            parts.append(part)
    return ",".join(reversed(parts))


def stored_form(slash):
    """What argus_policy stores: the PAP's literal when it names the same DN again; otherwise (a lone backslash,
    which canl keeps and the stored-DN reader cannot parse back) the RFC 2253 form, which a PAP stores as given."""
    literal = pap_literal(slash)
    try:
        if dn_key(literal) == dn_key(slash):
            return literal
    except DNError:
        pass
    return parse_dn(slash).to_rfc2253()


def test_hostile_dns_through_argus_policy(argus_pap, tmp_path):
    lab = argus_pap
    tag = letters()
    old = BASE + "/CN=Existing %s" % tag
    raw_ban(lab, lab.pap, old)
    names = sorted(HOSTILE)
    conn = argus_conn(lab, lab.pap.port)
    proc = run_tasks(tmp_path, [("argus_policy", {"subjects": [HOSTILE[n][0]]}) for n in names], conn, "argus")
    results = dict(zip(names, proc.results["localhost"]))
    banned = banned_values(pap_rules(lab, lab.pap))
    for name in names:
        dn, refused = HOSTILE[name]
        result = results[name]
        if refused:
            assert result.get("failed"), (name, result)
            assert "DN" in result["msg"] or "control character" in result["msg"], (name, result["msg"])
        else:
            assert not result.get("failed"), (name, result.get("msg"))
            assert stored_form(dn) in banned, (name, stored_form(dn), banned)
    # nothing else was written, and nothing was stored twice
    expected = sorted([pap_literal(old)] + [stored_form(HOSTILE[n][0]) for n in names if not HOSTILE[n][1]])
    assert banned == expected

    # exact matching: the look-alikes (marks removed) are other DNs; the hostile DNs themselves are already banned
    look_alikes = [BASE + "/CN=JaneDoe", BASE + "/CN=evil Mallory"]
    checks = ([("argus_policy", {"subjects": [dn]}) for dn in look_alikes]
              + [("argus_policy", {"subjects": [HOSTILE[n][0]]}) for n in names if not HOSTILE[n][1]])
    proc = run_tasks(tmp_path, checks, conn, "argus", check=True)
    for (_module, args), result in zip(checks, proc.results["localhost"]):
        assert not result.get("failed"), result
        assert result["changed"] == (args["subjects"][0] in look_alikes), (args, result.get("changed"))

    # unban removes exactly those rules
    unbans = [("argus_policy", {"subjects": [HOSTILE[n][0]], "state": "absent"}) for n in names if not HOSTILE[n][1]]
    proc = run_tasks(tmp_path, unbans, conn, "argus")
    for result in proc.results["localhost"]:
        assert not result.get("failed") and result["changed"], result
    assert banned_values(pap_rules(lab, lab.pap)) == [pap_literal(old)]


def test_hostile_dns_through_panda_user_ban(panda_lab_endpoint, tmp_path):
    from gridsec_lab.panda.naming import clean_user_id
    ep = panda_lab_endpoint
    tag = letters().capitalize()
    hostile = dict((name, (dn + " " + tag, refused)) for name, (dn, refused) in HOSTILE.items()
                   if name != "very long")
    names = sorted(hostile)
    conn = {"panda_url": ep.url, "client_cert": ep.admin.cert, "client_key": ep.admin.key, "ca_path": ep.ca_path,
            "db_host": ep.db.host, "db_port": ep.db.port, "db_name": ep.db.dbname, "db_user": ep.db.user,
            "db_meta_schema": ep.db.meta_schema, "db_panda_schema": ep.db.panda_schema}
    if ep.db.password:
        conn["db_password"] = ep.db.password
    proc = run_tasks(tmp_path, [("panda_user_ban", {"dn": hostile[n][0], "state": "banned", "create_missing": True})
                                for n in names]
                     + [("panda_job_kill", {"dn": hostile[n][0], "unknown_user": "warn"}) for n in names],
                     conn, "panda")
    results = dict(zip(names, proc.results["localhost"][:len(names)]))
    kills = dict(zip(names, proc.results["localhost"][len(names):]))
    for name in names:
        dn, refused = hostile[name]
        kill = kills[name]
        if kill.get("failed"):
            # panda_job_kill: only a DN with a control character may be refused, with the reason
            assert refused, (name, kill["msg"])
            assert re.search(r"(?i)control|NUL|DN", kill["msg"]), (name, kill["msg"])
        else:
            # the user looked up is exactly the name panda-server derives; nobody else's jobs are touched
            assert kill["user"] == clean_user_id(dn) and kill["jobs"] == [] and not kill["changed"], (name, kill)
    with psycopg.connect(ep.db.dsn()) as db:
        def rows(user):
            return db.execute(sql.SQL("SELECT name, status FROM {}.users WHERE name = %s")
                              .format(sql.Identifier(ep.db.meta_schema)), (user,)).fetchall()

        for name in names:
            dn, refused = hostile[name]
            result = results[name]
            if result.get("failed"):
                # refused: only a DN with a control character may be, with the reason, server and operation
                assert refused, (name, result["msg"])
                assert re.search(r"(?i)control|NUL|DN", result["msg"]), (name, result["msg"])
                if "\x00" not in dn:
                    assert rows(clean_user_id(dn)) == []
                continue
            expected = clean_user_id(dn)
            assert result["user"] == expected, (name, result["user"], expected)
            assert rows(expected) == [(expected, "disabled")], (name, rows(expected))
        # the users table is still there and whole (the SQL metacharacters were data)
        assert db.execute(sql.SQL("SELECT count(*) FROM {}.users").format(
            sql.Identifier(ep.db.meta_schema))).fetchone()[0] >= len([n for n in names if not hostile[n][1]])


def test_hostile_dns_through_argus_pap_acl_and_suspension_list_sync(argus_pap, tmp_path):
    """argus_pap: each hostile DN as an ACL principal is granted, then found again exactly (a re-run changes
    nothing, a look-alike without the invisible mark is another principal) and revoked; control characters are
    refused. suspension_list_sync: a YAML list with every storable hostile DN lands on the PAP as exactly the PAP's
    literal; a list holding one DN with a control character is rejected as a whole, nothing written."""
    import json
    lab = argus_pap
    conn = argus_conn(lab, lab.pap.port)
    storable = sorted(n for n in HOSTILE if not HOSTILE[n][1])
    refused = sorted(n for n in HOSTILE if HOSTILE[n][1])
    look_alike = BASE + "/CN=JaneDoe"

    def acl(names, state="present", extra=()):
        return {"acl": [{"principal": HOSTILE[n][0], "type": "dn", "permissions": ["POLICY_READ_LOCAL"],
                         "state": state} for n in names] + list(extra)}

    listfile = tmp_path / "list.yml"
    listfile.write_text(json.dumps({"version": 1, "entries": [{"dn": HOSTILE[n][0]} for n in storable]},
                                   ensure_ascii=False), encoding="utf-8")
    badfile = tmp_path / "bad.yml"
    badfile.write_text(json.dumps({"version": 1, "entries": [{"dn": BASE + "/CN=Fine"}, {"dn": HOSTILE["newline"][0]}]},
                                  ensure_ascii=False), encoding="utf-8")

    def sync(path, name):
        return {"name": name, "state_dir": str(tmp_path / "state"), "max_shrink_fraction": 1,
                "sources": [{"name": "list", "type": "yaml", "path": str(path)}],
                "targets": [{"name": "pap", "type": "argus"}]}

    tasks = ([("argus_pap", acl(storable))] + [("argus_pap", acl([n])) for n in refused]
             + [("suspension_list_sync", sync(listfile, "hostile")), ("suspension_list_sync", sync(badfile, "bad"))])
    proc = run_tasks(tmp_path, tasks, conn, "argus")
    granted, *rest = proc.results["localhost"]
    acl_refused, (synced, bad) = rest[:len(refused)], rest[len(refused):]
    assert not granted.get("failed") and granted["changed"], granted.get("msg")
    for name, result in zip(refused, acl_refused):
        assert result.get("failed") and re.search(r"(?i)control|DN", result["msg"]), (name, result)
    assert not synced.get("failed"), synced.get("msg")
    assert bad.get("failed") and "list" in bad["msg"], bad
    banned = banned_values(pap_rules(lab, lab.pap))
    # the sync writes the PAP's own literal for the slash form (canl: only ',' escaped, as pap-admin ban and
    # argus_policy store it): exactly those strings, nothing from "bad"
    assert sorted(banned) == sorted(parse_dn(HOSTILE[n][0]).to_pap_literal() for n in storable), banned

    # matched exactly: the same principals again change nothing, a look-alike is new; then revoked
    checks = [("argus_pap", acl(storable)),
              ("argus_pap", {"acl": [{"principal": look_alike, "type": "dn", "permissions": ["POLICY_READ_LOCAL"]}]}),
              ("suspension_list_sync", sync(listfile, "hostile"))]
    proc = run_tasks(tmp_path, checks, conn, "argus", check=True)
    same, other, resync = proc.results["localhost"]
    assert not same.get("failed") and not same["changed"], same
    assert not other.get("failed") and other["changed"], other
    assert not resync.get("failed") and not resync["changed"], resync
    revoked = run_tasks(tmp_path, [("argus_pap", acl(storable, state="absent"))], conn, "argus")
    result = revoked.results["localhost"][0]
    assert not result.get("failed") and result["changed"], result
    again = run_tasks(tmp_path, [("argus_pap", acl(storable, state="absent"))], conn, "argus", check=True)
    assert not again.results["localhost"][0]["changed"]
