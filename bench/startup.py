#!/usr/bin/env python3
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Startup cost of a module task against ``ansible.builtin.ping`` (issue 10, bench items 1 and 5).

    .venv/bin/python bench/startup.py [--repeat 15] [--skip-panda]

One lab PAP and the lab PanDA are started; one playbook (connection local, gather_facts off) runs, ``--repeat``
times in turn, the tasks ``ansible.builtin.ping``, ``gridsec.ops.argus_policy_info`` (one PAP, alias default) and
``gridsec.ops.panda_user_ban`` (a user already banned: a read-only no-op). A small callback plugin records every
task's duration (task start -> result on the controller), so the figures are measured side by side in one run and
do not include ansible-playbook's own start. Reported: median and best per task, and the ratios
median(module) / median(ping) (target: argus_policy_info <= 1.3, issue 20 item 6; panda_user_ban reported).

``--cpu`` also runs every module process under ``/usr/bin/time`` (a C program: about 1 ms more per task, the
same for every task) and reports its CPU time (user + system) and peak RSS, median per task, and the ratios of
the CPU medians: on a loaded machine the wall times wait for the CPU, the CPU time much less so.

Writes bench/results-startup.md and bench/results-startup.json.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, ".tmp", "collections"))
sys.path.insert(0, os.path.join(ROOT, "lab"))

PYTHON = sys.executable
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(PYTHON), "ansible-playbook")

CALLBACK = '''
import json, os, time
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "gridsec_bench_timer"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self):
        super().__init__()
        self.records = []
        self.start = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.start = (task.get_name(), time.monotonic())

    def _done(self, result, ok):
        name, start = self.start
        self.records.append({"task": name, "seconds": time.monotonic() - start, "ok": ok})

    def v2_runner_on_ok(self, result):
        self._done(result, True)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result, False)

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["GRIDSEC_BENCH_TIMES"], "w") as handle:
            json.dump(self.records, handle)
'''


WRAPPER = """#!/bin/sh
exec /usr/bin/time -a -o %s -f "%%U %%S %%M %%C" %s "$@"
"""


def run_play(tmp, tasks, variables, repeat, collections=None, cpu=False):
    play = [{"name": "startup bench", "hosts": "localhost", "gather_facts": False, "tasks": []}]
    for index in range(repeat):
        for name, task in tasks:
            play[0]["tasks"].append(dict(task, name="%s #%d" % (name, index)))
    playbook = os.path.join(tmp, "play.yml")
    with open(playbook, "w") as handle:
        json.dump(play, handle)
    vars_file = os.path.join(tmp, "vars.json")
    with open(vars_file, "w") as handle:
        json.dump(variables, handle)
    cb_dir = os.path.join(tmp, "callbacks")
    os.makedirs(cb_dir, exist_ok=True)
    with open(os.path.join(cb_dir, "gridsec_bench_timer.py"), "w") as handle:
        handle.write(CALLBACK)
    times = os.path.join(tmp, "times.json")
    interpreter = PYTHON
    if cpu:
        interpreter = os.path.join(tmp, "python-timed")
        with open(interpreter, "w") as handle:
            handle.write(WRAPPER % (os.path.join(tmp, "rusage.txt"), PYTHON))
        os.chmod(interpreter, 0o755)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections or os.path.join(ROOT, ".tmp", "collections"),
               ANSIBLE_CALLBACK_PLUGINS=cb_dir, ANSIBLE_CALLBACKS_ENABLED="gridsec_bench_timer",
               GRIDSEC_BENCH_TIMES=times, ANSIBLE_NOCOLOR="1", ANSIBLE_HOME=os.path.join(tmp, "ansible-home"),
               ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "ansible-tmp"))
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "-e",
                           "ansible_python_interpreter=%s" % interpreter, "-e", "@%s" % vars_file, playbook],
                          env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("playbook failed:\n%s\n%s" % (proc.stdout[-5000:], proc.stderr[-3000:]))
    with open(times) as handle:
        records = json.load(handle)
    usage = []
    if cpu:
        with open(os.path.join(tmp, "rusage.txt")) as handle:
            for line in handle:
                fields = line.split()
                if len(fields) < 4 or "AnsiballZ_" not in line:
                    continue
                module = line.split("AnsiballZ_", 1)[1].split(".py", 1)[0]
                usage.append({"module": module, "cpu": float(fields[0]) + float(fields[1]),
                              "maxrss_kib": int(fields[2])})
    return records, usage


def summarize_usage(usage, names):
    """Median CPU seconds and peak RSS (MiB) per task; the first panda_user_ban (the ban itself) left out."""
    out = {}
    for name in names:
        rows = [u for u in usage if u["module"] == name]
        if name == "panda_user_ban":
            rows = rows[1:]
        if rows:
            out[name] = {"cpu_median": statistics.median(u["cpu"] for u in rows),
                         "maxrss_mib_median": statistics.median(u["maxrss_kib"] for u in rows) / 1024.0,
                         "n": len(rows)}
    return out


def summarize(records, names):
    out = {}
    for name in names:
        values = [r["seconds"] for r in records if r["task"].startswith(name + " #")]
        out[name] = {"median": statistics.median(values), "best": min(values), "n": len(values)}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--skip-panda", action="store_true")
    parser.add_argument("--quick", action="store_true", help="5 repetitions")
    parser.add_argument("--collections", help="ANSIBLE_COLLECTIONS_PATH to measure (default: this checkout, "
                        "through .tmp/collections); e.g. a patched copy, to measure a proposed change")
    parser.add_argument("--cpu", action="store_true", help="also the CPU time and peak RSS of every module process "
                        "(through /usr/bin/time)")
    parser.add_argument("--output", default=os.path.join(HERE, "results-startup"))
    args = parser.parse_args()
    if args.quick:
        args.repeat = min(args.repeat, 5)

    from gridsec_lab.argus.lab import ArgusLab
    from gridsec_lab.pki import TestPKI

    with tempfile.TemporaryDirectory(prefix="gridsec-bench-startup-") as tmp:
        pki = TestPKI(os.path.join(tmp, "pki"))
        lab = ArgusLab({"paps": [{"name": "pap"}]}, os.path.join(tmp, "argus"), pki=pki, poll_interval=300)
        lab.start()
        endpoint = None
        try:
            pap = next(iter(lab.paps.values()))
            admin = lab.creds["admin"]
            variables = {"argus_conn": {"pap_host": "localhost", "pap_port": pap.port, "client_cert": admin.cert,
                                        "client_key": admin.key, "ca_path": lab.ca_dir}}
            tasks = [("ping", {"ansible.builtin.ping": {}}),
                     ("argus_policy_info", {"gridsec.ops.argus_policy_info": {},
                                            "module_defaults": {"group/gridsec.ops.argus": "{{ argus_conn }}"}})]
            if not args.skip_panda:
                from gridsec_lab import panda, pg
                endpoint = panda.start(os.path.join(tmp, "panda"), pki, None, pg.admin_dsn())
                db = endpoint.db
                variables["panda_conn"] = {"panda_url": endpoint.url, "client_cert": endpoint.admin.cert,
                                           "client_key": endpoint.admin.key, "ca_path": endpoint.ca_path,
                                           "db_host": db.host, "db_port": db.port, "db_name": db.dbname,
                                           "db_user": db.user, "db_meta_schema": db.meta_schema,
                                           "db_panda_schema": db.panda_schema}
                if db.password:
                    variables["panda_conn"]["db_password"] = db.password
                tasks.append(("panda_user_ban", {"gridsec.ops.panda_user_ban": {
                    "user": "Bench Banned", "state": "banned", "create_missing": True},
                    "module_defaults": {"group/gridsec.ops.panda": "{{ panda_conn }}"}}))
            started = time.monotonic()
            records, usage = run_play(tmp, tasks, variables, args.repeat, args.collections, args.cpu)
            wall = time.monotonic() - started
        finally:
            if endpoint is not None:
                endpoint.stop()
            lab.stop()
    names = [name for name, _task in tasks]
    # the first panda_user_ban creates and bans the user; the rest are the no-op measured
    records = [r for r in records if r["task"] != "panda_user_ban #0"]
    summary = summarize(records, names)
    ratios = dict((name, summary[name]["median"] / summary["ping"]["median"]) for name in names if name != "ping")
    cpu = summarize_usage(usage, names)
    cpu_ratios = dict((name, cpu[name]["cpu_median"] / cpu["ping"]["cpu_median"]) for name in names
                      if name != "ping" and name in cpu and "ping" in cpu)
    results = {"bench": "startup", "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
               "machine": {"cpus": os.cpu_count(), "loadavg_at_end": list(os.getloadavg()),
                           "python": platform.python_version()},
               "repeat": args.repeat, "collections": args.collections or "this checkout", "tasks": summary,
               "ratios_over_ping": ratios, "wall_seconds": wall, "module_process": cpu,
               "cpu_ratios_over_ping": cpu_ratios,
               "targets": {"argus_policy_info": 1.3}}
    with open(args.output + ".json", "w") as handle:
        json.dump(results, handle, indent=2)
    lines = ["# Startup cost: module task vs ansible.builtin.ping", "",
             "%s; %d CPUs, load average at end %s; Python %s; %d interleaved repetitions in one playbook run "
             "(connection local), per-task time from a callback plugin (task start -> result)." % (
                 results["date"], results["machine"]["cpus"],
                 " ".join("%.1f" % x for x in results["machine"]["loadavg_at_end"]), results["machine"]["python"],
                 args.repeat), "",
             "| task | median s | best s | ratio to ping (medians) | target |", "|---|---|---|---|---|"]
    for name in names:
        target = results["targets"].get(name)
        lines.append("| %s | %.3f | %.3f | %s | %s |" % (
            name, summary[name]["median"], summary[name]["best"],
            "1" if name == "ping" else "%.2f" % ratios[name],
            ("<= %.1f: %s" % (target, "met" if ratios[name] <= target else "missed")) if target else ""))
    lines.append("")
    lines.append("panda_user_ban: a user already banned (read-only no-op after the first run, which is left out).")
    if cpu:
        lines += ["", "Module process (``--cpu``, through /usr/bin/time): CPU time (user + system) and peak RSS, "
                  "median per task.", "", "| task | CPU median s | CPU ratio to ping | peak RSS MiB |",
                  "|---|---|---|---|"]
        for name in names:
            if name in cpu:
                lines.append("| %s | %.3f | %s | %.1f |" % (
                    name, cpu[name]["cpu_median"], "1" if name == "ping" else "%.2f" % cpu_ratios[name],
                    cpu[name]["maxrss_mib_median"]))
    with open(args.output + ".md", "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
