#!/usr/bin/env python3
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""One ``suspension_status`` task over many mixed file targets (issue 19 item 3: 200 mixed targets in under 5 s).

    .venv/bin/python bench/status_targets.py [--targets 20,200] [--entries 1000] [--rounds 5]

For each count T: T targets, a mix of ``file`` (lcas, gplazma, plain), ``htcondor_ce``, ``dcache`` and ``arc`` in
turn, each written by the sync's own target classes with ``--entries`` DNs, today's canary DN and token identity
and serial 7. Then the module runs once as a subprocess (the module file with an args file, no ansible-playbook
overhead) with today's canary and the expected serial, ``--rounds`` times (a fresh latency history each round);
reported: min/median/max of its wall and CPU time, the load average before and after, the verdict, and the
ratio of the median t(10T)/t(T) of consecutive counts (target <= 12: no quadratic step). Every target must come back OK with the
canary present (a bench that measures a failing check measures nothing).

Writes bench/results-status.md and bench/results-status.json.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, ".tmp", "collections"))

from ansible_collections.gridsec.ops.plugins.module_utils._suspension import entries as sl_entries  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import daily_canary  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._sync.registry import target_class  # noqa: E402

MODULE = os.path.join(ROOT, "plugins", "modules", "suspension_status.py")
ISSUER = "https://iam.bench.example"
SALT = "bench"
MIX = [("file", {"format": "lcas"}), ("file", {"format": "gplazma"}), ("file", {"format": "plain"}),
       ("htcondor_ce", {}), ("dcache", {"dcache_op_aliases": {ISSUER: "bench"}}), ("arc", {})]
ARC_CONF = "[authtokens]\n[arex/ws/jobs]\ndenyaccess = gridsec-banned\n"


class Ctx(object):
    """What a target needs from the sync to write its file (no module)."""
    sync_name = "bench"
    check_mode = False
    params = {}
    list_serial = 7
    applied_at = sl_entries.iso(sl_entries.utcnow())

    def warn(self, msg):
        pass

    def run_command(self, argv):
        return 0, "", ""


def write_targets(workdir, count, entries):
    _date, canary = daily_canary(SALT, None, ISSUER)
    wanted = [sl_entries.Entry(sl_entries.DN, "/DC=org/DC=example/OU=Bench/CN=user %06d" % i) for i in range(entries)]
    wanted += [sl_entries.Entry(sl_entries.DN, c["dn"]) if "dn" in c else sl_entries.Entry(sl_entries.TOKEN, (c["issuer"], c["subject"]))
               for c in canary]
    specs = []
    for index in range(count):
        kind, extra = MIX[index % len(MIX)]
        spec = dict(name="t%03d" % index, type=kind, path=os.path.join(workdir, "t%03d.conf" % index),
                    mode="0644", canary="keep", **extra)
        if kind == "arc":
            with open(spec["path"], "w") as handle:
                handle.write(ARC_CONF)
        cls = target_class({"type": kind})
        full = dict((key, None) for key in cls.OPTIONS)
        full.update(spec)
        target = cls(full, Ctx())
        target.sync(dict((e.key, e) for e in wanted if e.kind in cls.KINDS), False)
        specs.append(spec)
    return specs


def run_module(args, workdir):
    args_file = os.path.join(workdir, "args-%d.json" % time.monotonic_ns())
    with open(args_file, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".tmp", "collections"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, MODULE, args_file], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env, timeout=600, check=False)
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(proc.stdout)
    return result, elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", default="20,200")
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for count in [int(x) for x in args.targets.split(",")]:
        walls, cpus, load_before = [], [], os.getloadavg()
        with tempfile.TemporaryDirectory() as workdir:
            specs = write_targets(workdir, count, args.entries)
            for round_ in range(args.rounds):
                result, wall, cpu = run_module({"name": "bench", "targets": specs, "state_dir": workdir,
                                                "history_file": os.path.join(workdir, "history-%d.json" % round_),
                                                "canary_salt": SALT, "canary_issuer": ISSUER, "serial": 7,
                                                "fail_on": "never"}, workdir)
                bad = [t["name"] for t in result["targets"] if t["state"] != "ok" or not t.get("canary_present")]
                if bad:
                    sys.exit("not every target is OK with the canary: %s\n%s" % (bad, result["nagios"]["text"][:2000]))
                walls.append(wall)
                cpus.append(cpu)
        load_after = os.getloadavg()
        walls.sort()
        cpus.sort()
        rows.append({"targets": count, "entries": args.entries, "rounds": args.rounds,
                     "wall_s": [round(walls[0], 3), round(walls[len(walls) // 2], 3), round(walls[-1], 3)],
                     "cpu_s": [round(cpus[0], 3), round(cpus[len(cpus) // 2], 3), round(cpus[-1], 3)],
                     "load": [round(load_before[0], 2), round(load_after[0], 2)], "status": result["status"]})
        figures = ((count, args.entries, args.rounds) + tuple(rows[-1]["wall_s"]) + tuple(rows[-1]["cpu_s"]) +
                   tuple(rows[-1]["load"]) + (result["status"],))
        print("%4d targets x %d entries, %d rounds: wall min/median/max %.2f/%.2f/%.2f s, CPU %.2f/%.2f/%.2f s, "
              "load %.2f -> %.2f, %s" % figures)
    for small, big in zip(rows, rows[1:]):
        big["ratio_to_previous"] = round(big["wall_s"][1] / small["wall_s"][1], 2)
    meta = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "date": sl_entries.iso(sl_entries.utcnow())}
    with open(os.path.join(HERE, "results-status.json"), "w") as handle:
        json.dump({"meta": meta, "rows": rows}, handle, indent=2)
    lines = ["# suspension_status over mixed file targets", "", "%(date)s, Python %(python)s, %(cpus)s CPUs" % meta,
             "", "| targets | entries each | rounds | wall s min/median/max | CPU s min/median/max | load avg (1 min) "
             "before -> after | median t/t(previous) |", "|---|---|---|---|---|---|---|"]
    lines.extend("| %d | %d | %d | %.2f / %.2f / %.2f | %.2f / %.2f / %.2f | %.2f -> %.2f | %s |" % (
        (r["targets"], r["entries"], r["rounds"]) + tuple(r["wall_s"]) + tuple(r["cpu_s"]) + tuple(r["load"]) +
        (r.get("ratio_to_previous", ""),)) for r in rows)
    with open(os.path.join(HERE, "results-status.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
