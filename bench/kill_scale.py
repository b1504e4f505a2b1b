#!/usr/bin/env python3
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Kill at scale: ``panda_job_kill`` of a user with N active jobs on the lab PanDA vs the same API calls made
directly with ``requests`` (issue 10, bench item 4).

    .venv/bin/python bench/kill_scale.py [--jobs 10000] [--repeat 3]

Each round, three fresh users get N active jobs each (inserted through the lab store, not timed). User A:
``panda_job_kill user=A`` through ansible-playbook; the task's own duration comes from a callback plugin (task
start -> result), beside the whole playbook's wall time; the calls it made come from its result (``requests``).
User B: the baseline, the same work done directly: the active job ids read from the database (timed as
"discovery"), then the module's own call sequence (from its ``requests``: the same paths, in the same order, with
the same number of ids each) replayed with a ``requests`` session. The two halves are interleaved and alternate
order (module first in even rounds, baseline first in odd ones), so a load change hits both; the figure is the
median of the rounds' ratios. User C: the module again with ``list_jobs: false`` (no per-job list in the result),
run right after user A's. Discovery through the tasks API is timed once, apart.
Target: task time / baseline <= 1.1; kill calls = ceil(N / 1000).

Writes bench/results-kill-scale.md and bench/results-kill-scale.json.
"""
import argparse
import json
import math
import os
import platform
import statistics
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
    jobs = []
    for index in range(count):
        job = dict(JOB)
        if task_ids:
            job["jediTaskID"] = task_ids[index * len(task_ids) // count]
        jobs.append(job)
    return store.submit_jobs(dn, jobs)  # set-based: one connection, a few statements


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


def replay(session, url, ca_file, operations, ids):
    """The module's call sequence on other job ids: each recorded call (path, number of ids) again, the ids
    taken in order per path, from the start again when a path has gone through them all (read, kill, read)."""
    cursors = {}
    for op in operations:
        path, count = op["path"], op.get("ids")
        if count is None:
            reply = session.request(op.get("method", "GET"), url + path, verify=ca_file,
                                    headers={"Accept": "application/json"}, timeout=1800)
        else:
            start = cursors.get(path, 0)
            if start + count > len(ids):
                start = 0
            cursors[path] = start + count
            body = {"job_ids": ids[start:start + count]}
            if path.endswith("/job/kill"):
                body["code"] = 9
            reply = session.request(op.get("method", "POST"), url + path, json=body, verify=ca_file,
                                    headers={"Accept": "application/json"}, timeout=1800)
        assert reply.json().get("success"), (path, reply.text[:300])


def run_module(tmp, conn, user, collections=None, list_jobs=True):
    os.makedirs(tmp, exist_ok=True)
    result_file = os.path.join(tmp, "kill-result.json")
    tasks = [("kill", {"gridsec.ops.panda_job_kill": {"user": user, "list_jobs": list_jobs},
                       "module_defaults": {"group/gridsec.ops.panda": "{{ conn }}"}, "register": "killed"}),
             ("keep", {"ansible.builtin.copy": {"content": "{{ killed | to_json }}", "dest": result_file,
                                                "mode": "0600"}})]
    load = os.getloadavg()[0]
    started = time.monotonic()
    records = run_play(tmp, tasks, {"conn": conn}, 1, collections=collections)
    playbook_seconds = time.monotonic() - started
    task_seconds = [r["seconds"] for r in records if r["task"].startswith("kill #")][0]
    with open(result_file) as handle:
        result = json.load(handle)
    operations = [item for item in result.get("requests") or [] if isinstance(item, dict)]
    paths = [item.get("path", "") for item in operations]
    return {"task_seconds": task_seconds, "playbook_seconds": playbook_seconds, "load1_at_start": load,
            "kill_calls": sum(1 for p in paths if p.endswith("/job/kill")),
            "description_reads": sum(1 for p in paths if "get_description" in p),
            "failed": bool(result.get("failed")), "msg": result.get("msg"), "summary": result.get("summary"),
            "operations": operations}


def run_baseline(endpoint, user, operations):
    import requests
    ca_file = os.path.join(os.path.dirname(endpoint.ca_path), "ca", "ca.pem")
    load = os.getloadavg()[0]
    started = time.monotonic()
    ids = discover(endpoint, user)
    discovery_seconds = time.monotonic() - started
    started = time.monotonic()
    with requests.Session() as session:
        session.cert = (endpoint.admin.cert, endpoint.admin.key)
        session.trust_env = False
        replay(session, endpoint.url, ca_file, operations, ids)
    api_seconds = time.monotonic() - started
    return {"discovery_seconds": discovery_seconds, "api_seconds": api_seconds, "jobs_found": len(ids),
            "seconds": discovery_seconds + api_seconds, "load1_at_start": load}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds (module + baseline, alternating order)")
    parser.add_argument("--tasks", type=int, default=10, help="JEDI tasks the baseline user's jobs belong to")
    parser.add_argument("--quick", action="store_true", help="1,000 jobs")
    parser.add_argument("--collections", help="ANSIBLE_COLLECTIONS_PATH to measure (default: this checkout, "
                        "through .tmp/collections); e.g. a patched copy, to measure a proposed change")
    parser.add_argument("--output", default=os.path.join(HERE, "results-kill-scale"))
    args = parser.parse_args()
    if args.quick:
        args.jobs = min(args.jobs, 1000)

    from gridsec_lab import panda, pg
    from gridsec_lab.panda.naming import clean_user_id
    from gridsec_lab.pki import TestPKI

    rounds = []
    with tempfile.TemporaryDirectory(prefix="gridsec-bench-kill-") as tmp:
        pki = TestPKI(os.path.join(tmp, "pki"))
        endpoint = panda.start(os.path.join(tmp, "panda"), pki, None, pg.admin_dsn())
        try:
            store = endpoint._store  # pylint: disable=protected-access
            db = endpoint.db
            conn = {"panda_url": endpoint.url, "client_cert": endpoint.admin.cert,
                    "client_key": endpoint.admin.key, "ca_path": endpoint.ca_path, "db_host": db.host,
                    "db_port": db.port, "db_name": db.dbname, "db_user": db.user,
                    "db_meta_schema": db.meta_schema, "db_panda_schema": db.panda_schema,
                    "db_deft_schema": db.deft_schema, "timeout": 1800}
            if db.password:
                conn["db_password"] = db.password
            operations = None
            api_discovery = None
            for index in range(args.repeat):
                dn_a = LAB_USERS + "/CN=killbencha%d/CN=Kill Bench Alpha %d" % (index, index)
                dn_b = LAB_USERS + "/CN=killbenchb%d/CN=Kill Bench Beta %d" % (index, index)
                dn_c = LAB_USERS + "/CN=killbenchc%d/CN=Kill Bench Gamma %d" % (index, index)
                user_a, user_b, user_c = clean_user_id(dn_a), clean_user_id(dn_b), clean_user_id(dn_c)
                started = time.monotonic()
                populate(store, dn_a, args.jobs)
                populate(store, dn_c, args.jobs)
                store.submit_jobs(dn_b, [])  # the user row first, then the tasks
                task_ids = [store.create_task(user_b) for _ in range(args.tasks)]
                populate(store, dn_b, args.jobs, task_ids)
                entry = {"round": index, "populate_seconds": time.monotonic() - started}
                if api_discovery is None:
                    # discovery of user B's jobs through the tasks API (read-only), timed apart, once
                    started = time.monotonic()
                    api_ids, api_tasks, api_calls = discover_tasks_api(endpoint, user_b)
                    api_discovery = {"seconds": time.monotonic() - started, "tasks": api_tasks, "calls": api_calls,
                                     "jobs_found": len(api_ids),
                                     "same_jobs_as_db": discover(endpoint, user_b) == api_ids}
                # Three halves per round: the module with its default per-job list (user A), the module with
                # list_jobs=false (user C), the baseline (user B). The baseline replays the module's calls, so the
                # first round starts with the module; then the order flips every round.
                workdir = os.path.join(tmp, "round%d" % index)
                module_first = index % 2 == 0

                def module_halves():
                    entry["module"] = run_module(workdir, conn, user_a, args.collections)
                    entry["compact"] = run_module(workdir + "c", conn, user_c, args.collections, list_jobs=False)
                    return entry["module"]["operations"]

                if module_first:
                    operations = module_halves()
                    entry["baseline"] = run_baseline(endpoint, user_b, operations)
                else:
                    entry["baseline"] = run_baseline(endpoint, user_b, operations)
                    operations = module_halves()
                entry["order"] = "module, compact, baseline" if module_first else "baseline, module, compact"
                entry["ratio"] = entry["module"]["task_seconds"] / entry["baseline"]["seconds"]
                entry["compact_ratio"] = entry["compact"]["task_seconds"] / entry["baseline"]["seconds"]
                entry["playbook_ratio"] = entry["module"]["playbook_seconds"] / entry["baseline"]["seconds"]
                print("round %d (%s): module %.2f s (load %.1f), list_jobs=false %.2f s, baseline %.2f s (load %.1f), "
                      "ratios %.2f / %.2f" % (
                          index, entry["order"], entry["module"]["task_seconds"], entry["module"]["load1_at_start"],
                          entry["compact"]["task_seconds"], entry["baseline"]["seconds"],
                          entry["baseline"]["load1_at_start"], entry["ratio"], entry["compact_ratio"]), flush=True)
                rounds.append(entry)
        finally:
            endpoint.stop()
    last = rounds[-1]
    module_ops = last["module"].pop("operations")
    for entry in rounds[:-1]:
        entry["module"].pop("operations")
    for entry in rounds:
        entry["compact"].pop("operations")
    compact_ratio = statistics.median(r["compact_ratio"] for r in rounds)
    ratio = statistics.median(r["ratio"] for r in rounds)
    playbook_ratio = statistics.median(r["playbook_ratio"] for r in rounds)
    discovery = statistics.median(r["baseline"]["discovery_seconds"] for r in rounds)
    results = {"bench": "kill_scale", "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
               "machine": {"cpus": os.cpu_count(), "loadavg_at_end": list(os.getloadavg()),
                           "python": platform.python_version()},
               "jobs": args.jobs, "repeat": args.repeat, "rounds": rounds,
               "module_requests": [dict((k, v) for k, v in item.items() if k in ("method", "path", "ids", "status"))
                                   for item in module_ops],
               "discovery_tasks_api": api_discovery,
               "expected_kill_calls": math.ceil(args.jobs / 1000),
               "ratio_task_over_baseline_median": ratio, "ratio_playbook_over_baseline_median": playbook_ratio,
               "ratio_compact_task_over_baseline_median": compact_ratio,
               "discovery_db_seconds_median": discovery}
    kill_calls = sorted(set(r["module"]["kill_calls"] for r in rounds))
    reads = sorted(set(r["module"]["description_reads"] for r in rounds))
    failed = [r["round"] for r in rounds if r["module"]["failed"] or r["compact"]["failed"]]
    with open(args.output + ".json", "w") as handle:
        json.dump(results, handle, indent=2)
    lines = ["# Kill at scale: panda_job_kill of %d jobs vs raw requests" % args.jobs, "",
             "%s; %d CPUs, load average at end %s; Python %s. %d rounds, module and baseline interleaved in "
             "alternating order; ratios are medians of the rounds." % (
                 results["date"], results["machine"]["cpus"],
                 " ".join("%.1f" % x for x in results["machine"]["loadavg_at_end"]), results["machine"]["python"],
                 args.repeat),
             "The module runs twice per round: with its default per-job list in the result (`jobs`, one entry of 9 "
             "fields per job), and with `list_jobs: false` (`job_ids_by_outcome` and `summary` only).",
             "", "| round | order | module task s (load) | playbook s | list_jobs=false task s | baseline s (load) "
             "| of which DB discovery s | task / baseline | list_jobs=false / baseline |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rounds:
        lines.append("| %d | %s | %.2f (%.1f) | %.2f | %.2f | %.2f (%.1f) | %.2f | %.2f | %.2f |" % (
            r["round"], r["order"], r["module"]["task_seconds"], r["module"]["load1_at_start"],
            r["module"]["playbook_seconds"], r["compact"]["task_seconds"], r["baseline"]["seconds"],
            r["baseline"]["load1_at_start"], r["baseline"]["discovery_seconds"], r["ratio"], r["compact_ratio"]))
    lines += ["", "| figure | value |", "|---|---|",
              "| module kill calls (expected ceil(n/1000) = %d) | %s |" % (
                  results["expected_kill_calls"], ", ".join(map(str, kill_calls))),
              "| module job-description reads | %s |" % ", ".join(map(str, reads)),
              "| module summary (last round) | %s |" % json.dumps(last["module"]["summary"], sort_keys=True),
              "| baseline discovery (DB), median s | %.2f |" % discovery,
              "| discovery through the tasks API s (%d tasks, %d calls, %d jobs, same as DB: %s) | %.2f |" % (
                  api_discovery["tasks"], api_discovery["calls"], api_discovery["jobs_found"],
                  api_discovery["same_jobs_as_db"], api_discovery["seconds"]),
              "| tasks API discovery / DB discovery | %.2f |" % (api_discovery["seconds"] / max(discovery, 1e-6)),
              "| task / baseline, median (target <= 1.1) | %.2f |" % ratio,
              "| list_jobs=false task / baseline, median | %.2f |" % compact_ratio,
              "| playbook / baseline, median | %.2f |" % playbook_ratio]
    if failed:
        lines += ["", "The module task FAILED in rounds %s: %s" % (failed, rounds[failed[0]]["module"]["msg"])]
    with open(args.output + ".md", "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
