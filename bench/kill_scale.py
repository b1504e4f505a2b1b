#!/usr/bin/env python3
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Kill at scale: ``panda_job_kill`` of a user with N active jobs on the lab PanDA vs the same API calls made
directly with ``requests`` (issue 10, bench item 4).

    .venv/bin/python bench/kill_scale.py [--jobs 10000]

Two users get N active jobs each (inserted through the lab store). User A: ``panda_job_kill user=A`` through
ansible-playbook; the task's own duration comes from a callback plugin (task start -> result), beside the whole
playbook's wall time; the calls it made come from its result (``requests``). User B: the baseline, the same work
done directly: the active job ids read from the database (timed separately as "discovery"), then the same API
calls (``job/kill`` in batches of 1000, and as many ``job/get_description_incl_archive`` reads as the module
made) with a ``requests`` session. Target: task time / baseline <= 1.1; kill calls = ceil(N / 1000).

Writes bench/results-kill-scale.md and bench/results-kill-scale.json.
"""
import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, ".tmp", "collections"))
sys.path.insert(0, os.path.join(ROOT, "lab"))

from startup import run_play  # noqa: E402

JOB = {"prodSourceLabel": "user", "computingSite": "LAB_SITE",
       "transformation": "http://pandaserver.lab:25085/trf/user/runGen-00-00-02"}
LAB_USERS = "/DC=test/DC=gridsec-lab/OU=Users"


def populate(store, dn, count, task_ids=None):
    """``count`` active jobs of ``dn``; with ``task_ids``, spread over those JEDI tasks (so that the tasks API
    finds them as well as the database)."""
    ids = []
    for start in range(0, count, 2000):
        batch = []
        for index in range(start, min(start + 2000, count)):
            job = dict(JOB)
            if task_ids:
                job["jediTaskID"] = task_ids[index * len(task_ids) // count]
            batch.append(job)
        ids.extend(store.submit_jobs(dn, batch))
    return [entry[0] if isinstance(entry, (list, tuple)) else entry for entry in ids]


def discover(endpoint, user):
    import psycopg
    from psycopg import sql
    db = endpoint.db
    tables = ("jobsdefined4", "jobsactive4", "jobswaiting4")
    with psycopg.connect(db.dsn()) as conn:
        ids = []
        for table in tables:
            try:
                ids.extend(row[0] for row in conn.execute(
                    sql.SQL("SELECT pandaid FROM {}.{} WHERE produsername = %s").format(
                        sql.Identifier(db.panda_schema), sql.Identifier(table)), (user,)))
            except psycopg.errors.UndefinedTable:
                conn.rollback()
    return sorted(ids)


def discover_tasks_api(endpoint, user):
    """The same discovery through the API, with the collection's own client (what panda_job_kill does without
    database options): the user's tasks, then the job ids of each task."""
    from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
    from ansible_collections.gridsec.ops.plugins.module_utils._panda_client import PandaClient
    client = PandaClient(HttpTransport(endpoint.url, client_cert=endpoint.admin.cert, client_key=endpoint.admin.key,
                                       ca_path=endpoint.ca_path, timeout=600))
    ids = set()
    tasks = client.get_tasks_detailed_info_since(user_name=user, n_tasks=1000)
    for task in tasks:
        ids.update(client.get_task_job_ids(int(task["jediTaskID"])))
    return sorted(ids), len(tasks), len(client.operations)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--tasks", type=int, default=10, help="JEDI tasks the baseline user's jobs belong to")
    parser.add_argument("--quick", action="store_true", help="1,000 jobs")
    parser.add_argument("--output", default=os.path.join(HERE, "results-kill-scale"))
    args = parser.parse_args()
    if args.quick:
        args.jobs = min(args.jobs, 1000)

    import requests
    from gridsec_lab import panda, pg
    from gridsec_lab.panda.naming import clean_user_id
    from gridsec_lab.pki import TestPKI

    with tempfile.TemporaryDirectory(prefix="gridsec-bench-kill-") as tmp:
        pki = TestPKI(os.path.join(tmp, "pki"))
        endpoint = panda.start(os.path.join(tmp, "panda"), pki, None, pg.admin_dsn())
        try:
            store = endpoint._store  # pylint: disable=protected-access
            dn_a = LAB_USERS + "/CN=killbencha/CN=Kill Bench Alpha"
            dn_b = LAB_USERS + "/CN=killbenchb/CN=Kill Bench Beta"
            started = time.monotonic()
            user_a, user_b = clean_user_id(dn_a), clean_user_id(dn_b)
            populate(store, dn_a, args.jobs)
            store.submit_jobs(dn_b, [])  # the user row first, then the tasks
            task_ids = [store.create_task(user_b) for _ in range(args.tasks)]
            populate(store, dn_b, args.jobs, task_ids)
            populate_seconds = time.monotonic() - started
            db = endpoint.db
            conn = {"panda_url": endpoint.url, "client_cert": endpoint.admin.cert,
                    "client_key": endpoint.admin.key, "ca_path": endpoint.ca_path, "db_host": db.host,
                    "db_port": db.port, "db_name": db.dbname, "db_user": db.user,
                    "db_meta_schema": db.meta_schema, "db_panda_schema": db.panda_schema,
                    "db_deft_schema": db.deft_schema, "timeout": 1800}
            if db.password:
                conn["db_password"] = db.password
            result_file = os.path.join(tmp, "kill-result.json")
            tasks = [("kill", {"gridsec.ops.panda_job_kill": {"user": user_a},
                               "module_defaults": {"group/gridsec.ops.panda": "{{ conn }}"}, "register": "killed"}),
                     ("keep", {"ansible.builtin.copy": {"content": "{{ killed | to_json }}", "dest": result_file,
                                                        "mode": "0600"}})]
            started = time.monotonic()
            records = run_play(tmp, tasks, {"conn": conn}, 1)
            playbook_seconds = time.monotonic() - started
            task_seconds = [r["seconds"] for r in records if r["task"].startswith("kill #")][0]
            with open(result_file) as handle:
                module_result = json.load(handle)
            module_requests = module_result.get("requests") or []
            paths = [item.get("path", "") for item in module_requests if isinstance(item, dict)]
            kill_calls = sum(1 for p in paths if p.endswith("/job/kill"))
            read_calls = sum(1 for p in paths if "get_description" in p)

            # discovery of user B's jobs, timed apart: the tasks API (read-only), then the database
            started = time.monotonic()
            api_ids, api_tasks, api_calls = discover_tasks_api(endpoint, user_b)
            api_discovery_seconds = time.monotonic() - started
            # baseline: the same calls with requests
            ca_file = os.path.join(os.path.dirname(endpoint.ca_path), "ca", "ca.pem")
            started = time.monotonic()
            ids = discover(endpoint, user_b)
            discovery_seconds = time.monotonic() - started
            session = requests.Session()
            session.cert = (endpoint.admin.cert, endpoint.admin.key)
            session.trust_env = False
            batches = [ids[index:index + 1000] for index in range(0, len(ids), 1000)]

            def read_all():
                for batch in batches:
                    session.post(endpoint.url + "/api/v1/job/get_description_incl_archive", json={"job_ids": batch},
                                 verify=ca_file, headers={"Accept": "application/json"}, timeout=1800)

            # the module's own pattern (from its requests): descriptions read in batches of 1000 before the
            # kill and again after it (read_calls = 2 x ceil(n/1000)); the baseline makes the same calls
            reads_before = read_calls // 2
            started = time.monotonic()
            for _ in range(max(1, reads_before // max(len(batches), 1)) if reads_before else 0):
                read_all()
            for batch in batches:
                reply = session.post(endpoint.url + "/api/v1/job/kill", json={"job_ids": batch, "code": 9},
                                     verify=ca_file, headers={"Accept": "application/json"}, timeout=1800)
                assert reply.json().get("success"), reply.text[:300]
            kill_seconds = time.monotonic() - started
            for _ in range(max(1, (read_calls - reads_before) // max(len(batches), 1)) if read_calls else 0):
                read_all()
            raw_seconds = time.monotonic() - started
        finally:
            endpoint.stop()
    results = {"bench": "kill_scale", "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
               "machine": {"cpus": os.cpu_count(), "loadavg_at_end": list(os.getloadavg()),
                           "python": platform.python_version()},
               "jobs": args.jobs, "populate_seconds": populate_seconds, "module": {
                   "task_seconds": task_seconds, "playbook_seconds": playbook_seconds, "kill_calls": kill_calls,
                   "description_reads": read_calls, "failed": bool(module_result.get("failed")),
                   "msg": module_result.get("msg"), "summary": module_result.get("summary")},
               "module_requests": [dict((k, v) for k, v in item.items() if k in ("path", "ids", "status"))
                                   for item in module_requests if isinstance(item, dict)],
               "baseline": {"discovery_seconds": discovery_seconds, "api_seconds": raw_seconds,
                            "reads_and_kill_seconds": kill_seconds,
                            "jobs_found": len(ids)},
               "discovery_tasks_api": {"seconds": api_discovery_seconds, "tasks": api_tasks, "calls": api_calls,
                                       "jobs_found": len(api_ids), "same_jobs_as_db": api_ids == ids},
               "expected_kill_calls": math.ceil(args.jobs / 1000)}
    results["ratio_task_over_baseline"] = task_seconds / (discovery_seconds + raw_seconds)
    results["ratio_playbook_over_baseline"] = playbook_seconds / (discovery_seconds + raw_seconds)
    with open(args.output + ".json", "w") as handle:
        json.dump(results, handle, indent=2)
    lines = ["# Kill at scale: panda_job_kill of %d jobs vs raw requests" % args.jobs, "",
             "%s; %d CPUs, load average at end %s; Python %s." % (
                 results["date"], results["machine"]["cpus"],
                 " ".join("%.1f" % x for x in results["machine"]["loadavg_at_end"]), results["machine"]["python"]),
             "", "| figure | value |", "|---|---|",
             "| module kill calls (expected ceil(n/1000) = %d) | %d |" % (results["expected_kill_calls"], kill_calls),
             "| module job-description reads | %d |" % read_calls,
             "| module task time s | %.2f |" % task_seconds,
             "| playbook wall time s | %.2f |" % playbook_seconds,
             "| baseline discovery (DB) s | %.2f |" % discovery_seconds,
             "| baseline API calls s | %.2f |" % raw_seconds,
             "| discovery through the tasks API s (%d tasks, %d calls, %d jobs, same as DB: %s) | %.2f |" % (
                 api_tasks, api_calls, len(api_ids), api_ids == ids, api_discovery_seconds),
             "| tasks API discovery / DB discovery | %.2f |" % (api_discovery_seconds / max(discovery_seconds, 1e-6)),
             "| task / baseline (target <= 1.1) | %.2f |" % results["ratio_task_over_baseline"],
             "| playbook / baseline | %.2f |" % results["ratio_playbook_over_baseline"]]
    if module_result.get("failed"):
        lines += ["", "The module task FAILED: %s" % module_result.get("msg")]
    with open(args.output + ".md", "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
