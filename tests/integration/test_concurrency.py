# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Concurrency: many hosts of one playbook run write to the same server at the same time.

* twenty ``argus_policy`` bans of twenty different DNs on one lab PAP (an inventory of 20 hosts, ``forks=20``,
  connection local): every ban is there at the end, and no rule is duplicated;
* ``argus_policy`` in exclusive mode and two ``suspension_list_sync`` writers of the same list on the same alias
  at once, the two sync writes lined up on the same policy version (so one of them must meet a version conflict):
  the conflict is retried, the exclusive writer's bans and every synced entry are there at the end, nothing twice;
* ``panda_user_ban`` of the same user from ten hosts at once (a known user and a user the database has never seen):
  one row, one ban.
"""
import json
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from psycopg import sql

from _hardening import (ANSIBLE_PLAYBOOK, ansible_env, argus_conn, banned_values, letters, pap_rules, raw_ban,
                        run_module)

pytestmark = pytest.mark.slow


def _run_parallel(tmp_path, module, group, per_host_args, conn, forks, during=None):
    """``module`` on len(per_host_args) local hosts at once; each host gets its own options. -> {host: result}.
    ``during``: called while ansible-playbook runs (to line the writers up). ``module`` may also be a list, one
    module per host."""
    hosts = ["h%02d" % i for i in range(len(per_host_args))]
    modules = module if isinstance(module, list) else [module] * len(hosts)
    results_dir = tmp_path / "results"
    results_dir.mkdir(exist_ok=True)
    inventory = {"all": {"hosts": dict((host, {"ansible_connection": "local", "ansible_python_interpreter":
                                               sys.executable, "module_args": args, "module_name": name})
                                       for host, args, name in zip(hosts, per_host_args, modules))}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    tasks = []
    for name in sorted(set(modules)):
        keys = sorted(set(k for args, mod in zip(per_host_args, modules) if mod == name for k in args))
        tasks.append({"name": "write with %s" % name,
                      "gridsec.ops." + name: dict((k, "{{ module_args[%s] }}" % json.dumps(k)) for k in keys),
                      "when": "module_name == %s" % json.dumps(name),
                      "register": "result_" + name, "ignore_errors": True})
    play = [{"name": "concurrent writers", "hosts": "all", "gather_facts": False,
             "module_defaults": {"group/gridsec.ops.%s" % group: "{{ conn }}"},
             "tasks": tasks + [
                       {"name": "keep", "ansible.builtin.copy": {"content": "{{ lookup('vars', 'result_' + "
                                                                             "module_name) | to_json }}",
                                                                  "dest": "%s/{{ inventory_hostname }}.json"
                                                                  % results_dir, "mode": "0600"}}]}]
    (tmp_path / "play.json.yml").write_text(json.dumps(play))
    (tmp_path / "vars.json").write_text(json.dumps({"conn": conn}))
    with subprocess.Popen([ANSIBLE_PLAYBOOK, "-i", str(tmp_path / "inventory.json"), "-f", str(forks),
                           "-e", "@%s" % (tmp_path / "vars.json"), str(tmp_path / "play.json.yml")],
                          env=ansible_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        try:
            if during is not None:
                during()
        finally:
            stdout, stderr = proc.communicate(timeout=900)
    proc.stdout, proc.stderr = stdout, stderr
    results = dict((path.stem, json.loads(path.read_text())) for path in results_dir.glob("*.json"))
    assert sorted(results) == hosts, (proc.stdout[-5000:], proc.stderr[-3000:])
    return results


def test_twenty_concurrent_bans_on_one_pap(argus_pap, tmp_path):
    lab = argus_pap
    old = "/DC=test/DC=gridsec/OU=Users/CN=Banned Before"
    raw_ban(lab, lab.pap, old)
    tag = letters()
    dns = ["/DC=test/DC=gridsec/OU=Users/CN=Concurrent %s %02d" % (tag, i) for i in range(20)]
    results = _run_parallel(tmp_path, "argus_policy", "argus", [{"subjects": [dn]} for dn in dns],
                            argus_conn(lab, lab.pap.port), forks=20)
    failed = dict((host, r.get("msg")) for host, r in results.items() if r.get("failed"))
    banned = banned_values(pap_rules(lab, lab.pap))
    wanted = ["CN=Concurrent %s %02d,OU=Users,DC=gridsec,DC=test" % (tag, i) for i in range(20)]
    missing = sorted(set(wanted) - set(banned))
    assert not missing, "bans lost under concurrency: %s (task failures: %s)" % (missing, failed)
    assert "CN=Banned Before,OU=Users,DC=gridsec,DC=test" in banned
    assert len(banned) == len(set(banned)) == 21, banned          # no duplicate rule
    assert not failed, failed
    assert all(r.get("changed") for r in results.values())


def _literal(slash):
    return ",".join(reversed(slash.split("/")[1:]))


def _sync_args(tmp_path, listfile, index):
    return {"name": "central", "state_dir": str(tmp_path / ("state-%d" % index)), "max_shrink_fraction": 1,
            "sources": [{"name": "list", "type": "plain", "path": str(listfile)}],
            "targets": [{"name": "pap", "type": "argus"}]}


def _line_up_updates(server, count=2):
    """Patch the lab PAP so that the first ``count`` updatePolicy calls are held until all have arrived (bounded
    wait): the writers behind them were all planned on the same policy version. Returns (held list, restore)."""
    original = server.dispatch
    all_arrived = threading.Event()
    held = []

    def lining_up_dispatch(service, body, identity):
        if b"updatePolicy" in body and len(held) < count:
            held.append(True)
            if len(held) < count:
                all_arrived.wait(60)          # bounded: released anyway if the other writer never comes
            else:
                all_arrived.set()
        return original(service, body, identity)

    server.dispatch = lining_up_dispatch

    def restore():
        server.dispatch = original
    return held, restore


def _summary(results):
    return dict((host, (r.get("failed"), r.get("msg"), [(t.get("planned"), t.get("writes"), t.get("conflicts"))
                                                        for t in r.get("targets", [])]))
                for host, r in sorted(results.items()))


def test_concurrent_sync_writers_and_bans_on_one_alias(argus_pap, tmp_path):
    """h00: argus_policy bans; h01, h02: suspension_list_sync of the same list under the same name (each with its
    own state directory, as two management hosts would run it). The lab PAP holds the first sync updatePolicy until
    the second one arrives, so both were planned on the same policy version: the PAP refuses one, which must
    re-read and retry. At the end the bans and every entry of the list are there, once."""
    lab = argus_pap
    tag = letters()
    base = "/DC=test/DC=gridsec/OU=Users"
    listed = ["%s/CN=Synced %s %02d" % (base, tag, i) for i in range(4)]
    bans = ["%s/CN=Banned %s %d" % (base, tag, i) for i in range(3)]
    listfile = tmp_path / "list.txt"
    listfile.write_text("\n".join(listed[:2]) + "\n")
    conn = argus_conn(lab, lab.pap.port)
    seed = run_module(tmp_path, "suspension_list_sync", _sync_args(tmp_path, listfile, 1), conn, "argus")
    assert not seed.get("failed"), seed.get("msg")
    listfile.write_text("\n".join(listed) + "\n")
    held, restore = _line_up_updates(lab.server)
    try:
        results = _run_parallel(tmp_path, ["argus_policy", "suspension_list_sync", "suspension_list_sync"], "argus",
                                [{"subjects": bans}, _sync_args(tmp_path, listfile, 1),
                                 _sync_args(tmp_path, listfile, 2)], conn, forks=3)
    finally:
        restore()
    failed = dict((host, r.get("msg")) for host, r in results.items() if r.get("failed"))
    banned = banned_values(pap_rules(lab, lab.pap))
    wanted = sorted(_literal(dn) for dn in listed + bans)
    assert len(held) == 2, "the two sync writes were not lined up: %s" % _summary(results)
    assert not failed, failed
    conflicts = sum(len(t.get("conflicts") or []) for host in ("h01", "h02") for t in results[host]["targets"])
    assert conflicts == 1, _summary(results)            # one refused write, re-read and retried
    assert sorted(set(wanted) - set(banned)) == [], "lost: %s" % sorted(set(wanted) - set(banned))
    assert banned == wanted, banned                     # exactly these, none twice


def test_exclusive_writer_and_sync_writer_on_one_alias(argus_pap, tmp_path):
    """The sync's entries are on the PAP; then argus_policy in exclusive mode and a sync of a longer list run at
    once: the exclusive bans are the alias's local policy, and every synced entry is still there."""
    lab = argus_pap
    tag = letters()
    base = "/DC=test/DC=gridsec/OU=Users"
    listed = ["%s/CN=Synced %s %02d" % (base, tag, i) for i in range(3)]
    exclusive = ["%s/CN=Exclusive %s %d" % (base, tag, i) for i in range(2)]
    listfile = tmp_path / "list.txt"
    listfile.write_text("\n".join(listed[:2]) + "\n")
    conn = argus_conn(lab, lab.pap.port)
    seed = run_module(tmp_path, "suspension_list_sync", _sync_args(tmp_path, listfile, 1), conn, "argus")
    assert not seed.get("failed"), seed.get("msg")
    listfile.write_text("\n".join(listed) + "\n")
    results = _run_parallel(tmp_path, ["argus_policy", "suspension_list_sync"], "argus",
                            [{"subjects": exclusive, "exclusive": True}, _sync_args(tmp_path, listfile, 1)],
                            conn, forks=2)
    failed = dict((host, r.get("msg")) for host, r in results.items() if r.get("failed"))
    assert not failed, failed
    # whatever the interleaving, once both are done: the exclusive bans and the whole list, each once
    banned = banned_values(pap_rules(lab, lab.pap))
    assert banned == sorted(_literal(dn) for dn in listed + exclusive), (banned, _summary(results))
    # and the next exclusive run (nothing to change in the local policy) leaves the synced entries in place
    again = run_module(tmp_path, "argus_policy", {"subjects": exclusive, "exclusive": True}, conn, "argus")
    assert not again.get("failed"), again.get("msg")
    assert banned_values(pap_rules(lab, lab.pap)) == sorted(_literal(dn) for dn in listed + exclusive)


def _rows(ep, name):
    with psycopg.connect(ep.db.dsn()) as db:
        return db.execute(sql.SQL("SELECT id, status FROM {}.users WHERE name = %s ORDER BY id")
                          .format(sql.Identifier(ep.db.meta_schema)), (name,)).fetchall()


def _panda_conn(ep):
    out = {"panda_url": ep.url, "client_cert": ep.admin.cert, "client_key": ep.admin.key, "ca_path": ep.ca_path,
           "db_host": ep.db.host, "db_port": ep.db.port, "db_name": ep.db.dbname, "db_user": ep.db.user,
           "db_meta_schema": ep.db.meta_schema, "db_panda_schema": ep.db.panda_schema}
    if ep.db.password:
        out["db_password"] = ep.db.password
    return out


def test_concurrent_ban_of_a_known_user(panda_lab_endpoint, panda_pki, tmp_path):
    from gridsec_lab.panda.naming import clean_user_id
    ep = panda_lab_endpoint
    tag = letters()
    dn = "/DC=test/DC=gridsec-lab/OU=Users/CN=concur%s/CN=Concurrent %s" % (tag, tag.capitalize())
    cred = panda_pki.user("Concurrent " + tag, dn=dn)
    ep.submit_job(cred)
    name = clean_user_id(dn)
    results = _run_parallel(tmp_path, "panda_user_ban", "panda", [{"user": name, "state": "banned"}] * 10,
                            _panda_conn(ep), forks=10)
    failed = dict((host, r.get("msg")) for host, r in results.items() if r.get("failed"))
    assert [status for _id, status in _rows(ep, name)] == ["disabled"], failed
    assert not failed, failed
    assert any(r.get("changed") for r in results.values())


def test_concurrent_preemptive_ban_creates_one_row(panda_lab_endpoint, tmp_path):
    """Ten writers line up behind a table lock held by the test (SHARE: reads go on, writes wait), so they all
    reach their write at the same moment; then the lock is released."""
    ep = panda_lab_endpoint
    name = "Never Seen %s" % letters().capitalize()
    writers = 10
    blocker = psycopg.connect(ep.db.dsn())
    try:
        blocker.execute(sql.SQL("LOCK TABLE {}.users IN SHARE MODE").format(sql.Identifier(ep.db.meta_schema)))

        def line_up():
            waiting = 0
            with psycopg.connect(ep.db.dsn(), autocommit=True) as watcher:
                for _ in range(600):            # bounded: at most ~120 s, then release anyway
                    waiting = watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND pid <> %s", (blocker.info.backend_pid,)).fetchone()[0]
                    if waiting >= writers:
                        break
                    time.sleep(0.2)
            blocker.rollback()

        results = _run_parallel(tmp_path, "panda_user_ban", "panda",
                                [{"user": name, "state": "banned", "create_missing": True}] * writers,
                                _panda_conn(ep), forks=writers, during=line_up)
    finally:
        blocker.close()
    failed = dict((host, r.get("msg")) for host, r in results.items() if r.get("failed"))
    rows = _rows(ep, name)
    assert len(rows) == 1, "%d rows for one user after concurrent bans: %s (failures: %s)" % (len(rows), rows, failed)
    assert rows[0][1] == "disabled"
    assert not failed, failed
