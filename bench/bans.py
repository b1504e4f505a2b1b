#!/usr/bin/env python3
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Bans in one task: ``argus_policy`` with N subject DNs on one lab PAP (issue 10, bench item 2).

    .venv/bin/python bench/bans.py [--sizes 10,100,1000,10000] [--repeat 1]

For each size N, on a fresh lab PAP: the module runs as a subprocess (the module file with an args file, no
ansible-playbook overhead, the same way ``ansible`` runs it on the target) banning N new DNs in alias ``default``
(first run), then again with the same N DNs (no-op re-run, nothing to write). Reported per run: the SOAP calls the
module made (from its ``requests`` result: all calls, write calls, ``ban`` calls), the wall time of the module
process and its CPU time, and the ratios t(10N)/t(N) of consecutive sizes (target <= 12: no quadratic step).
Targets (issue 10): t(10N)/t(N) <= 12; no-op at 1,000 DNs under 1 s of module time; a bulk write path (a few
write calls, not one ``ban`` per DN).

Writes bench/results-bans.md and bench/results-bans.json.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, ".tmp", "collections"))
sys.path.insert(0, os.path.join(ROOT, "lab"))

MODULE = os.path.join(ROOT, "plugins", "modules", "argus_policy.py")
BASE = "/DC=org/DC=example/DC=bench/OU=Bans"
# the PAP operations that change something (every other operation is a read)
WRITE_OPS = {"ban", "unban", "addPolicies", "addPolicy", "addPolicySet", "updatePolicy", "updatePolicySet",
             "removePolicy", "removePolicySet", "removeObjectByIdAndReferences", "storePolicy", "storePolicySet",
             "moveBefore", "moveAfter", "eraseRepository", "setPolicySetsOrder", "addPap", "updatePap",
             "removePap", "setOrder", "setPollingInterval", "setEnabled", "setPapOrder", "refreshCache",
             "purge", "insertPolicySetReference", "insertPolicyReference"}


def generated(n, tag):
    return ["%s/CN=%s%06d/CN=Bench Ban %s %06d" % (BASE, tag, i, tag, i) for i in range(n)]


def run_module(args, workdir):
    args_file = os.path.join(workdir, "args-%d.json" % time.monotonic_ns())
    with open(args_file, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".tmp", "collections"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, MODULE, args_file], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env, timeout=7200, check=False)
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit("argus_policy failed: %s %s" % (proc.stdout[-3000:], proc.stderr[-3000:]))
    if result.get("failed"):
        raise SystemExit("argus_policy failed: %s" % result.get("msg"))
    ops = [op.get("operation") if isinstance(op, dict) else str(op)
           for op in result.get("requests", result.get("operations", []))]
    writes = [op for op in ops if op in WRITE_OPS]
    return {"seconds": round(elapsed, 3), "cpu_seconds": round(cpu, 3), "changed": bool(result.get("changed")),
            "calls": len(ops), "write_calls": len(writes), "ban_calls": ops.count("ban"),
            "write_ops": sorted(set(writes))}


def bench_size(n, repeat, pki, workdir):
    from gridsec_lab.argus.lab import ArgusLab
    first, noop = [], []
    for rep in range(repeat):
        lab = ArgusLab({"paps": [{"name": "pap"}]}, os.path.join(workdir, "pap-%d-%d" % (n, rep)), pki=pki,
                       poll_interval=3600)
        lab.start()
        try:
            admin = lab.creds["admin"]
            pap = next(iter(lab.paps.values()))
            args = {"pap_host": "localhost", "pap_port": pap.port, "client_cert": admin.cert,
                    "client_key": admin.key, "ca_path": lab.ca_dir, "timeout": 3600,
                    "subjects": generated(n, "r%d" % rep)}
            first.append(run_module(args, workdir))
            noop.append(run_module(args, workdir))
        finally:
            lab.stop()
    row = {"dns": n, "repeat": repeat, "first_runs": first, "noop_runs": noop}
    for key, runs in (("first", first), ("noop", noop)):
        row[key] = {"seconds": statistics.median(r["seconds"] for r in runs),
                    "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
                    "calls": runs[0]["calls"], "write_calls": runs[0]["write_calls"],
                    "ban_calls": runs[0]["ban_calls"], "write_ops": runs[0]["write_ops"],
                    "changed": runs[0]["changed"]}
    print(json.dumps({"dns": n, "first": row["first"], "noop": row["noop"]}), flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--repeat", type=int, default=1, help="fresh-PAP repetitions per size (medians)")
    parser.add_argument("--quick", action="store_true", help="sizes 10,100 only")
    parser.add_argument("--output", default=os.path.join(HERE, "results-bans"))
    parser.add_argument("--render", action="store_true", help="only re-render the .md from the existing .json")
    args = parser.parse_args()
    if args.render:
        with open(args.output + ".json") as handle:
            render(json.load(handle), args.output)
        return
    from gridsec_lab.pki import TestPKI

    sizes = [10, 100] if args.quick else [int(x) for x in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="gridsec-bench-bans-") as tmp:
        pki = TestPKI(os.path.join(tmp, "pki"))
        for n in sizes:
            rows.append(bench_size(n, args.repeat, pki, tmp))
    scaling = []
    for small, big in zip(rows, rows[1:]):
        factor = big["dns"] / small["dns"]
        scaling.append({"from": small["dns"], "to": big["dns"], "factor": factor,
                        "first": big["first"]["seconds"] / small["first"]["seconds"],
                        "first_cpu": big["first"]["cpu_seconds"] / max(small["first"]["cpu_seconds"], 1e-6),
                        "noop": big["noop"]["seconds"] / small["noop"]["seconds"]})
    results = {"bench": "bans", "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
               "machine": {"cpus": os.cpu_count(), "loadavg_at_end": list(os.getloadavg()),
                           "python": platform.python_version(), "platform": platform.platform()},
               "sizes": sizes, "rows": rows, "scaling": scaling,
               "targets": {"t_10n_over_t_n": 12, "noop_1000_seconds": 1.0}}
    with open(args.output + ".json", "w") as handle:
        json.dump(results, handle, indent=2)
    render(results, args.output)


def render(results, output):
    rows, scaling = results["rows"], results["scaling"]
    machine = results["machine"]
    noop_1000 = [r for r in rows if r["dns"] == 1000]
    lines = ["# Bans in one task: argus_policy with N DNs on one lab PAP", "",
             "%s; %d CPUs, load average at end %s; Python %s. Module run as a subprocess with an args file "
             "(no ansible-playbook overhead); a fresh PAP per size; median of %d run(s). Calls are the module's own "
             "`requests` result. CPU s is the module process's own user+system time (Python start included); "
             "wall s also counts waiting for a CPU, which on a loaded machine (load average above the CPU count) "
             "is most of it." % (results["date"], machine["cpus"],
                                 " ".join("%.1f" % x for x in machine["loadavg_at_end"]), machine["python"],
                                 rows[0]["repeat"] if rows else 0), "",
             "| DNs | run | SOAP calls | write calls (ops) | ban calls | wall s | CPU s (module) | changed |",
             "|---:|---|---:|---|---:|---:|---:|---|"]
    for row in rows:
        for key, label in (("first", "first"), ("noop", "no-op re-run")):
            r = row[key]
            lines.append("| %d | %s | %d | %d (%s) | %d | %.2f | %.2f | %s |" % (
                row["dns"], label, r["calls"], r["write_calls"], ", ".join(r["write_ops"]) or "-", r["ban_calls"],
                r["seconds"], r["cpu_seconds"], r["changed"]))
    lines.append("")
    for step in scaling:
        lines.append("- t(%d)/t(%d): first run **%.2f** (CPU %.2f), no-op **%.2f** (target <= 12: %s)" % (
            step["to"], step["from"], step["first"], step["first_cpu"], step["noop"],
            "met" if max(step["first"], step["noop"]) <= 12 else "missed"))
    if noop_1000:
        noop = noop_1000[0]["noop"]
        lines.append("- no-op re-run at 1,000 DNs: **%.2f s of module CPU time** (Python start included; target "
                     "< 1 s: %s); wall %.2f s at this load" % (
                         noop["cpu_seconds"], "met" if noop["cpu_seconds"] < 1 else "missed", noop["seconds"]))
    if rows:
        biggest = rows[-1]
        lines.append("- write path at %d DNs: %d write call(s) (%s) for %d DNs" % (
            biggest["dns"], biggest["first"]["write_calls"], ", ".join(biggest["first"]["write_ops"]),
            biggest["dns"]))
    with open(output + ".md", "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
