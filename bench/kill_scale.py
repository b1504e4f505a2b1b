#!/usr/bin/env python3
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Kill at scale, as users run it: ``panda_job_kill`` of a user with N active jobs against the physical floor
(issue 20 items 5 and 7; issue 10 bench item 4).

    .venv/bin/python bench/kill_scale.py [--jobs 10000] [--repeat 5]

The lab PanDA runs in its own process and counts, on the server side, every call and the bytes in and out
(``harness.LabPandaProcess``). Each round, three fresh users get N active jobs each (inserted straight into the
lab database, not timed), and three halves run in an order rotated every round:

- ``module``: ``panda_job_kill user=<A>`` with the database options (the jobs found as pandaserver's killUser.py
  finds them), as a one-task playbook through ansible-playbook (AnsiballZ, connection local): the task's time
  from a callback, the module process's peak RSS and CPU (``harness.run_task``);
- ``compact``: the same for user C with ``list_jobs: false``;
- ``floor``: the raw loop of the kill calls alone for user B (``POST job/kill``, 1000 ids each, code 9) from a
  stdlib-only client process on one connection (``harness.run_floor``), the ids given.

Targets (issue 20 item 5): compact task / floor <= 1.2, module task / floor <= 1.5 (median of the rounds'
ratios; min and max shown); kill calls = ceil(N / 1000). Writes bench/results-kill-scale.md and .json.
"""
import argparse
import json
import math
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "lab"))

import harness  # noqa: E402

JOB = {"prodSourceLabel": "user", "computingSite": "LAB_SITE",
       "transformation": "http://pandaserver.lab:25085/trf/user/runGen-00-00-02"}
LAB_USERS = "/DC=test/DC=gridsec-lab/OU=Users"
KILL_BATCH = 1000


def _store(server):
    from gridsec_lab.panda.store import Store
    db = server.info["db"]
    return Store(db["dsn"], db["meta_schema"], db["panda_schema"], db["deft_schema"])


def _module_half(tmp, server, user, list_jobs, collections):
    def run(index):
        server.reset()
        out = harness.run_task(os.path.join(tmp, "r%d-%s" % (index, "list" if list_jobs else "compact")),
                               {"gridsec.ops.panda_job_kill": {"user": user(index), "list_jobs": list_jobs},
                                "module_defaults": {"group/gridsec.ops.panda": "{{ conn }}"}},
                               {"conn": server.conn()}, collections=collections)
        result = out.pop("result")
        out["server"] = server.counters()
        out["failed"] = bool(result.get("failed")) or not out["ok"]
        out["msg"] = result.get("msg")
        out["summary"] = result.get("summary")
        out["result_bytes"] = len(json.dumps(result))
        paths = [item.get("path", "") for item in result.get("requests") or [] if isinstance(item, dict)]
        out["kill_calls"] = sum(1 for p in paths if p.endswith("/job/kill"))
        out["status_reads"] = sum(1 for p in paths if p.endswith("/job/get_status"))
        out["description_reads"] = sum(1 for p in paths if "get_description" in p)
        return out
    return run


def _floor_half(tmp, server, ids_of):
    def run(index):
        ids = ids_of(index)
        calls = [("POST", "/api/v1/job/kill", {"job_ids": ids[start:start + KILL_BATCH], "code": 9})
                 for start in range(0, len(ids), KILL_BATCH)]
        server.reset()
        out = harness.run_floor(os.path.join(tmp, "r%d-floor" % index), server, calls)
        out["server"] = server.counters()
        return out
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds (at least 5 for the targets)")
    parser.add_argument("--quick", action="store_true", help="1,000 jobs")
    parser.add_argument("--collections", help="ANSIBLE_COLLECTIONS_PATH to measure (default: this checkout, "
                        "through .tmp/collections)")
    parser.add_argument("--output", default=os.path.join(HERE, "results-kill-scale"))
    parser.add_argument("--render", help="only write the .md again from this results .json")
    args = parser.parse_args()
    if args.render:
        with open(args.render) as handle:
            write_report(json.load(handle), args.render[:-len(".json")])
        return
    if args.quick:
        args.jobs = min(args.jobs, 1000)

    from gridsec_lab.panda.naming import clean_user_id

    dns = {}
    ids = {}
    with tempfile.TemporaryDirectory(prefix="gridsec-bench-kill-") as tmp:
        with harness.LabPandaProcess(os.path.join(tmp, "server")) as server:
            store = _store(server)

            def setup(index):
                for half, word in (("module", "Alpha"), ("compact", "Gamma"), ("floor", "Beta")):
                    dn = LAB_USERS + "/CN=killbench%s%d/CN=Kill Bench %s %d" % (word.lower(), index, word, index)
                    dns[(half, index)] = dn
                    ids[(half, index)] = store.submit_jobs(dn, [dict(JOB) for _ in range(args.jobs)])

            halves = {
                "module": _module_half(tmp, server, lambda i: clean_user_id(dns[("module", i)]), True,
                                       args.collections),
                "compact": _module_half(tmp, server, lambda i: clean_user_id(dns[("compact", i)]), False,
                                        args.collections),
                "floor": _floor_half(tmp, server, lambda i: ids[("floor", i)]),
            }
            rounds = harness.interleave(halves, args.repeat, setup=setup)
            store.close()
    for entry in rounds:
        entry["ratio"] = entry["module"]["task_s"] / entry["floor"]["wall_s"]
        entry["compact_ratio"] = entry["compact"]["task_s"] / entry["floor"]["wall_s"]
        print("round %d (%s): task %.2f s, list_jobs=false %.2f s, floor %.2f s; ratios %.2f / %.2f" % (
            entry["round"], ", ".join(entry["order"]), entry["module"]["task_s"], entry["compact"]["task_s"],
            entry["floor"]["wall_s"], entry["ratio"], entry["compact_ratio"]), flush=True)
    spread = harness.spread
    results = {"bench": "kill_scale", "harness": "ansible-playbook one-task playbook, server in its own process",
               "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
               "machine": dict(harness.machine(), loadavg_at_end=list(os.getloadavg())),
               "jobs": args.jobs, "repeat": args.repeat, "rounds": rounds,
               "expected_kill_calls": math.ceil(args.jobs / KILL_BATCH),
               "ratio": spread([r["ratio"] for r in rounds]),
               "compact_ratio": spread([r["compact_ratio"] for r in rounds]),
               "targets": {"ratio": 1.5, "compact_ratio": 1.2}}
    with open(args.output + ".json", "w") as handle:
        json.dump(results, handle, indent=2, default=str)
    write_report(results, args.output)


def write_report(results, output):
    """``output``.md from the results (also ``--render``: again from a results .json, without running)."""
    rounds, spread = results["rounds"], harness.spread
    jobs, repeat = results["jobs"], results["repeat"]

    def figure(half, key):
        return spread([r[half][key] for r in rounds])

    def server_figure(half, key):
        return spread([r[half]["server"][key] for r in rounds])

    def over(key, target):
        return sum(1 for r in rounds if r[key] > target)

    failed = [r["round"] for r in rounds if r["module"]["failed"] or r["compact"]["failed"]]
    kill_calls = sorted(set(r[h]["kill_calls"] for r in rounds for h in ("module", "compact")))
    status_reads = sorted(set(r[h]["status_reads"] for r in rounds for h in ("module", "compact")))
    desc_reads = sorted(set(r[h]["description_reads"] for r in rounds for h in ("module", "compact")))
    loads = spread([r[h]["load1"] for r in rounds for h in ("module", "compact", "floor")])

    def verdict(value, target):
        return "met" if value <= target else "**missed**"

    lines = ["# Kill at scale: panda_job_kill of %d jobs, as users run it, vs the physical floor" % jobs, "",
             "%s, commit %s; %d CPUs, Python %s; load average (1 min) at the start of each measurement "
             "min / median / max "
             "%s, at the end %s. %d rounds, the three halves in an order rotated every round. The lab PanDA runs in "
             "its own process and counts calls and bytes itself. The module runs as a one-task playbook "
             "(ansible-playbook, AnsiballZ, connection local); its time is the task's (callback: task start -> "
             "result), its RSS and CPU those of the module process (os.wait4 in a wrapper interpreter). The floor "
             "is a stdlib-only client process making the kill calls alone (1000 ids each, one connection), the ids "
             "given." % (results["date"], results["machine"].get("commit", "not recorded"), results["machine"]["cpus"],
                         results["machine"]["python"],
                         harness.fmt(loads, 1), " ".join("%.1f" % x for x in results["machine"]["loadavg_at_end"]),
                         repeat),
             "", "| round | order | task s (list) | task s (list_jobs=false) | floor s | list / floor "
             "| list_jobs=false / floor |", "|---|---|---|---|---|---|---|"]
    for r in rounds:
        lines.append("| %d | %s | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
            r["round"], ", ".join(r["order"]), r["module"]["task_s"], r["compact"]["task_s"], r["floor"]["wall_s"],
            r["ratio"], r["compact_ratio"]))
    lines += ["", "min / median / max over the rounds:", "",
              "| figure | module (per-job list) | module (list_jobs=false) | floor (kill calls alone) |",
              "|---|---|---|---|",
              "| time s (task; floor process wall) | %s | %s | %s |" % (
                  harness.fmt(figure("module", "task_s")), harness.fmt(figure("compact", "task_s")),
                  harness.fmt(figure("floor", "wall_s"))),
              "| whole ansible-playbook wall s | %s | %s | - |" % (
                  harness.fmt(figure("module", "playbook_s")), harness.fmt(figure("compact", "playbook_s"))),
              "| CPU s of the client process | %s | %s | %s |" % (
                  harness.fmt(figure("module", "cpu_s")), harness.fmt(figure("compact", "cpu_s")),
                  harness.fmt(figure("floor", "cpu_s"))),
              "| peak RSS MiB of the client process | %s | %s | %s |" % (
                  harness.fmt(figure("module", "maxrss_mib"), 1), harness.fmt(figure("compact", "maxrss_mib"), 1),
                  harness.fmt(figure("floor", "maxrss_mib"), 1)),
              "| server-side calls | %s | %s | %s |" % (
                  harness.fmt(server_figure("module", "calls"), 0), harness.fmt(server_figure("compact", "calls"), 0),
                  harness.fmt(server_figure("floor", "calls"), 0)),
              "| server-side bytes in (KB) | %s | %s | %s |" % tuple(
                  harness.fmt(spread([r[h]["server"]["bytes_in"] / 1000.0 for r in rounds]), 0)
                  for h in ("module", "compact", "floor")),
              "| server-side bytes out (KB) | %s | %s | %s |" % tuple(
                  harness.fmt(spread([r[h]["server"]["bytes_out"] / 1000.0 for r in rounds]), 0)
                  for h in ("module", "compact", "floor")),
              "| module result size (KB, JSON) | %s | %s | - |" % (
                  harness.fmt(spread([r["module"]["result_bytes"] / 1000.0 for r in rounds]), 0),
                  harness.fmt(spread([r["compact"]["result_bytes"] / 1000.0 for r in rounds]), 0)),
              "", "Server-side calls by path (last round): module %s; list_jobs=false %s; floor %s." % (
                  json.dumps(rounds[-1]["module"]["server"]["by_path"], sort_keys=True),
                  json.dumps(rounds[-1]["compact"]["server"]["by_path"], sort_keys=True),
                  json.dumps(rounds[-1]["floor"]["server"]["by_path"], sort_keys=True)),
              "Module summary (last round): %s." % json.dumps(rounds[-1]["module"]["summary"], sort_keys=True),
              "", "| #20 target | measured (min / median / max) | target | verdict |", "|---|---|---|---|",
              "| 5 kill %d jobs, `list_jobs: false`: task / raw loop of the kill calls | %s (%d of %d rounds above) "
              "| <= 1.2 (median) | %s |" % (
                  jobs, harness.fmt(results["compact_ratio"]), over("compact_ratio", 1.2), len(rounds),
                  verdict(results["compact_ratio"]["median"], 1.2)),
              "| 5 kill %d jobs, per-job list: task / raw loop of the kill calls | %s (%d of %d rounds above) "
              "| <= 1.5 (median) | %s |" % (
                  jobs, harness.fmt(results["ratio"]), over("ratio", 1.5), len(rounds),
                  verdict(results["ratio"]["median"], 1.5)),
              "| 5 kill calls (ceil(n/1000) = %d); status reads; description reads | %s; %s; %s | = %d; 0 "
              "descriptions | %s |" % (
                  results["expected_kill_calls"], ", ".join(map(str, kill_calls)), ", ".join(map(str, status_reads)),
                  ", ".join(map(str, desc_reads)), results["expected_kill_calls"],
                  "met" if kill_calls == [results["expected_kill_calls"]] and desc_reads == [0] else "**missed**")]
    if failed:
        lines += ["", "The module task FAILED in rounds %s: %s" % (failed, rounds[failed[0]]["module"]["msg"])]
    spread_note = max(results["ratio"]["max"] / results["ratio"]["min"],
                      results["compact_ratio"]["max"] / results["compact_ratio"]["min"])
    if spread_note > 1.5:
        lines += ["", "The rounds disagree by up to %.1fx (load average %s on 2 shared cores; a ratio below 1 only "
                  "means the floor's round was slowed more than the module's): read the medians, and repeat on a "
                  "quieter machine before relying on a single round." % (spread_note, harness.fmt(loads, 1))]
    with open(output + ".md", "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
