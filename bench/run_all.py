#!/usr/bin/env python3
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Run every benchmark in bench/ and gather their results (issue 10: one command for all of them).

    .venv/bin/python bench/run_all.py [--quick | --medium] [--only startup,fanout] [--skip kill_scale] [--list]

Every ``bench/*.py`` script other than this one runs in turn, under the same interpreter, with the arguments of
the chosen size profile (``SIZES`` below: ``full`` is each script's own defaults, the sizes of issue 10;
``medium`` for a loaded machine; ``quick`` for a smoke run of a few minutes). Each writes its
``results-<name>.md`` and ``.json``; afterwards every ``results-*.md`` is concatenated into ``results.md`` (with
the machine, the date, the size profile, which scripts ran, failed or were left out, and a table of the targets)
and every ``results-*.json`` into ``results.json``.

``full`` and ``medium`` write into bench/ (the results kept in the repository); ``quick`` writes into
``--outdir`` (default: a directory under /tmp), so that a smoke run never replaces measured results. A script
that is skipped keeps its earlier results file, if any, and the header says so. A failing script is reported and
the others still run; the exit code is 1 if any failed.
"""
import argparse
import glob
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# Arguments per script and size profile. The output option of each script is added by run_all.
SIZES = {
    "full": {},
    "medium": {
        "fanout": ["--sizes", "20,100", "--repeat", "3"],
        "canary_check": ["--paps", "50", "--repeat", "3"],
    },
    "quick": {
        "bans": ["--quick"],
        "startup": ["--quick"],
        "fanout": ["--quick"],
        "kill_scale": ["--quick"],
        "canary_check": ["--paps", "10", "--repeat", "1"],
        "suspension_sync": ["--sizes", "100,1000", "--ban-baseline", "100", "--module-at", "1000"],
        "rucio_sync": ["--n", "50"],
        "token_sync": ["--sizes", "1000,10000", "--rounds", "2", "--module-at", "1000"],
    },
}
# how each script is told where to write (canary_check predates the --output convention)
OUTPUT_NAMES = {"canary_check": "canary", "suspension_sync": "suspension-sync", "kill_scale": "kill-scale",
                "rucio_sync": "rucio-sync", "token_sync": "token-sync"}


def scripts():
    own = os.path.basename(__file__)
    return sorted(path for path in glob.glob(os.path.join(HERE, "*.py"))
                  if os.path.basename(path) not in (own, "harness.py") and not os.path.basename(path).startswith("_"))


def output_args(name, outdir):
    stem = os.path.join(outdir, "results-%s" % OUTPUT_NAMES.get(name, name))
    if name == "canary_check":
        return ["--out", stem + ".md", "--json", stem + ".json"]
    return ["--output", stem]


def _load(outdir, stem):
    path = os.path.join(outdir, "results-%s.json" % stem)
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        try:
            return json.load(handle)
        except ValueError:
            return None


def _verdict(value, target, smaller_is_better=True):
    if value is None:
        return "not measured"
    met = value <= target if smaller_is_better else value >= target
    return "met" if met else "**missed**"


def targets_table(outdir):
    """One row per issue-10 target, from the scripts' JSON files (those present)."""
    rows = []
    startup = _load(outdir, "startup")
    if startup:
        # Item 1 sets a target for argus_policy_info only; item 5 (panda_user_ban) asks for the ratio.
        for item, name, target in (("1", "argus_policy_info", 1.5), ("5", "panda_user_ban", None)):
            ratio = startup["ratios_over_ping"].get(name)
            if ratio is not None:
                rows.append(("%s startup: %s / ping (task medians, %d reps)" % (item, name, startup["repeat"]),
                             "%.2f" % ratio, "<= %g" % target if target else "(report)",
                             _verdict(ratio, target) if target else "-"))
        ratio = startup["ratios_over_ping"].get("argus_policy_info")
        if ratio is not None:  # issue 20 item 6 tightened item 1: with margin
            rows.append(("20.6 startup: argus_policy_info / ping (task medians, %d reps)" % startup["repeat"],
                         "%.2f" % ratio, "<= 1.3", _verdict(ratio, 1.3)))
    bans = _load(outdir, "bans")
    if bans:
        for step in bans["scaling"]:
            worst = max(step["first"], step["noop"])
            rows.append(("2 bans: t(%d)/t(%d) (first run / no-op)" % (step["to"], step["from"]),
                         "%.2f / %.2f" % (step["first"], step["noop"]), "<= 12", _verdict(worst, 12)))
        for row in bans["rows"]:
            if row["dns"] == 1000:
                rows.append(("2 bans: no-op re-run at 1,000 DNs, module CPU s (wall s at this load)",
                             "%.2f (%.2f)" % (row["noop"]["cpu_seconds"], row["noop"]["seconds"]), "< 1 s",
                             _verdict(row["noop"]["cpu_seconds"], 0.999)))
        big = bans["rows"][-1] if bans["rows"] else None
        if big:
            rows.append(("2 bans: write calls for %d DNs (bulk path, not one ban per DN)" % big["dns"],
                         "%d (%s)" % (big["first"]["write_calls"], ", ".join(big["first"]["write_ops"])),
                         "a few", "met" if big["first"]["write_calls"] <= 3 else "**missed**"))
    fanout = _load(outdir, "fanout")
    if fanout:
        for row in fanout["rows"]:
            label = "3 fan-out: %d PAPs, %s, forks %d" % (row["paps"], row["strategy"], row["forks"])
            default = row["strategy"] == "linear" and row["forks"] == 5
            rows.append((label + ": ours / uri", "%.2f" % row["ratio_first_over_baseline"],
                         "<= 1.2" if default else "(report)",
                         _verdict(row["ratio_first_over_baseline"], 1.2) if default else "-"))
            if default:  # issue 20 item 6: with margin, in every series
                rows.append(("20.6 " + label[2:] + ": ours / uri", "%.2f" % row["ratio_first_over_baseline"],
                             "<= 1.15", _verdict(row["ratio_first_over_baseline"], 1.15)))
            rows.append((label + ": re-run / first", "%.2f" % row["ratio_rerun_over_first"], "<= 1",
                         _verdict(row["ratio_rerun_over_first"], 1.0)))
            calls = row.get("soap_calls_per_pap")
            if calls and default:
                rows.append((label + ": SOAP POSTs per PAP, first / re-run / uri", "%g / %g / %g" % (
                    calls["first"], calls["rerun"], calls["baseline"]), "(report)", "-"))
    kill = _load(outdir, "kill-scale")
    if kill and "compact_ratio" in kill:  # issue 20: as users run it (bench/harness.py), against the floor
        calls = sorted(set(r[half]["kill_calls"] for r in kill["rounds"] for half in ("module", "compact")))
        reads = sorted(set(r[half]["description_reads"] for r in kill["rounds"] for half in ("module", "compact")))
        rows.append(("20.5 kill %d jobs: kill calls; description reads" % kill["jobs"],
                     "%s; %s" % (", ".join(map(str, calls)), ", ".join(map(str, reads))),
                     "= %d; 0" % kill["expected_kill_calls"],
                     "met" if calls == [kill["expected_kill_calls"]] and reads == [0] else "**missed**"))
        for key, label in (("compact_ratio", "list_jobs=false"), ("ratio", "per-job list")):
            value = kill[key]
            rows.append(("20.5 kill, %s: task / raw loop of the kill calls (min / median / max of %d interleaved "
                         "rounds, ansible-playbook)" % (label, kill["repeat"]),
                         "%.2f / %.2f / %.2f" % (value["min"], value["median"], value["max"]),
                         "<= %g" % kill["targets"][key], _verdict(value["median"], kill["targets"][key])))
    sync_h = _load(outdir, "suspension-sync-harness")
    if sync_h:  # issue 20: as users run it (suspension_sync.py --harness), against the floor
        n = sync_h["entries"]
        change, noop = sync_h["change"], sync_h["noop"]
        for label, value, target, ok in (
                ("20.1 sync change of 10 at %d: calls" % n, change["calls"], "<= 3", change["calls"]["max"] <= 3),
                ("20.1 sync change of 10 at %d: KB on the wire" % n, change["wire_kb"], "<= 200",
                 change["wire_kb"]["median"] <= 200),
                ("20.1 sync change of 10 at %d: task / floor" % n, change["over_floor"], "<= 2",
                 change["over_floor"]["median"] <= 2),
                ("20.2 sync no-op at %d: module CPU s (ansible-playbook)" % n, noop["cpu_s"], "< 1",
                 noop["cpu_s"]["median"] < 1),
                ("20.3 sync at %d: peak RSS MiB, change" % n, change["maxrss_mib"], "<= 80",
                 change["maxrss_mib"]["max"] <= 80)):
            rows.append((label + " (min / median / max)", "%.2f / %.2f / %.2f" % (
                value["min"], value["median"], value["max"]), target, "met" if ok else "**missed**"))
    sync = _load(outdir, "suspension-sync")
    if sync:
        ratios = sync.get("ratios") or {}
        for step, label in (("first", "first sync"), ("change", "change of 10 entries"), ("noop", "no-op")):
            value = (ratios.get("steps") or {}).get(step)
            if value:
                rows.append(("sync: t(%d)/t(%d), %s (wall / CPU)" % (ratios["big"], ratios["small"], label),
                             "%.2f / %.2f" % (value["wall"], value["cpu"]), "<= 12",
                             _verdict(max(value["wall"], value["cpu"]), 12)))
        for size in sync.get("sizes", []):
            module = size.get("module_noop")
            if module:
                rows.append(("sync: no-op module run at %d entries, CPU s of the module process (wall s)"
                             % size["entries"], "%.2f (%.2f)" % (module["cpu_seconds"], module["seconds"]), "< 1 s",
                             _verdict(module["cpu_seconds"], 0.999)))
    token = _load(outdir, "token-sync")
    if token:
        sizes = sorted(token.get("sizes", []))
        for key, value in sorted((token.get("ratios") or {}).items()):
            # "(whole)": the whole-text sync (the streamed sync's fallback) measured beside it as the before, no target
            whole = "(whole)" in key
            rows.append(("token sync %s: t(%d)/t(%d) (wall / CPU; linear baseline %s)" % (
                key, sizes[-1], sizes[0], token.get("baseline_ratio")), "%.2f / %.2f" % (value["wall"], value["cpu"]),
                "-" if whole else "<= 12",
                "reference (whole-text sync)" if whole else _verdict(max(value["wall"], value["cpu"]), 12)))
        module = token.get("module_noop")
        if module:
            rows.append(("token sync: no-op module run at %d token entries, 3 file targets, module CPU s median "
                         "(fixed cost at 100 entries)" % token["module_at"], "%.2f (%.2f)" % (
                             module["payload_cpu_seconds"]["median"], module["fixed_cpu_seconds"]["median"]),
                         "< 1 s", _verdict(module["payload_cpu_seconds"]["median"], 0.999)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    profile = parser.add_mutually_exclusive_group()
    profile.add_argument("--quick", action="store_true", help="small sizes, results into --outdir")
    profile.add_argument("--medium", action="store_true", help="medium sizes (a loaded machine)")
    parser.add_argument("--only", help="comma-separated script names (without .py)")
    parser.add_argument("--skip", default="", help="comma-separated script names to leave out")
    parser.add_argument("--list", action="store_true", help="list the scripts and exit")
    parser.add_argument("--gather-only", action="store_true",
                        help="run nothing: rebuild results.md/.json from the results files (and analysis.md), "
                             "keeping the previous run's list of scripts and size profile")
    parser.add_argument("--outdir", help="where the results go (default: bench/, or a new /tmp directory with "
                                         "--quick)")
    args = parser.parse_args()
    size = "quick" if args.quick else "medium" if args.medium else "full"
    outdir = args.outdir or (tempfile.mkdtemp(prefix="gridsec-bench-quick-") if args.quick else HERE)
    os.makedirs(outdir, exist_ok=True)
    previous = None
    if args.gather_only:
        with open(os.path.join(outdir, "results.json")) as handle:
            previous = json.load(handle)
        size = previous.get("size_profile", size)

    selected = scripts()
    names = [os.path.splitext(os.path.basename(path))[0] for path in selected]
    if args.list:
        print("\n".join(names))
        return 0
    only = set(filter(None, (args.only or "").split(",")))
    skip = set(filter(None, args.skip.split(",")))
    runs = list(previous["runs"]) if previous else []
    for path, name in zip(selected, names):
        if previous:
            break
        if (only and name not in only) or name in skip:
            runs.append({"script": name, "status": "not run"})
            continue
        command = [sys.executable, path] + SIZES[size].get(name, []) + output_args(name, outdir)
        print("== %s" % " ".join(command[1:]), flush=True)
        started = time.monotonic()
        proc = subprocess.run(command, cwd=os.path.dirname(HERE), check=False)
        runs.append({"script": name, "args": SIZES[size].get(name, []),
                     "status": "ok" if proc.returncode == 0 else "failed (exit %d)" % proc.returncode,
                     "seconds": round(time.monotonic() - started, 1)})

    own_outputs = {os.path.join(outdir, "results.md"), os.path.join(outdir, "results.json")}
    md_files = [p for p in sorted(glob.glob(os.path.join(outdir, "results-*.md"))) if p not in own_outputs]
    json_files = [p for p in sorted(glob.glob(os.path.join(outdir, "results-*.json"))) if p not in own_outputs]
    header = ["# gridsec.ops benchmarks", "",
              "Gathered by `bench/run_all.py%s` on %s: %d CPUs, load average at the end %s, Python %s, %s." % (
                  {"quick": " --quick", "medium": " --medium"}.get(size, ""),
                  time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(),
                  " ".join("%.1f" % x for x in os.getloadavg()), platform.python_version(), platform.platform()),
              "Size profile **%s** (%s). Every figure is a ratio or a count measured side by side in one run "
              "(noisy, shared machines); each section below states its own sizes and the load at its end." % (
                  size, "each script's defaults: the sizes of issue 10" if size == "full" else
                  "the arguments in the table below"), "",
              "| script | arguments | this run |", "|---|---|---|"]
    for run in runs:
        status = run["status"]
        if status == "not run":
            stem = OUTPUT_NAMES.get(run["script"], run["script"])
            earlier = os.path.join(outdir, "results-%s.md" % stem)
            if os.path.exists(earlier):
                status += " (its results below are from an earlier run, %s)" % time.strftime(
                    "%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(earlier)))
        header.append("| bench/%s.py | %s | %s%s |" % (
            run["script"], " ".join(run.get("args", [])) or "-", status,
            (", %.0f s" % run["seconds"]) if "seconds" in run else ""))
    rows = targets_table(outdir)
    if rows:
        header += ["", "## Targets of issue 10", "", "| figure | measured | target | |", "|---|---|---|---|"]
        header += ["| %s | %s | %s | %s |" % row for row in rows]
    analysis = os.path.join(outdir, "analysis.md")
    if os.path.exists(analysis):  # hand-written: why a target is missed, what was profiled, what is proposed
        with open(analysis) as handle:
            header += ["", handle.read().strip()]
    parts = ["\n".join(header) + "\n"]
    for path in md_files:
        with open(path) as handle:
            text = handle.read().strip()
        # demote the scripts' own titles one level so the file has one top title
        lines = [("#" + line) if line.startswith("#") else line for line in text.splitlines()]
        parts.append("\n".join(lines) + "\n\n_(from `%s`)_\n" % os.path.basename(path))
    with open(os.path.join(outdir, "results.md"), "w") as handle:
        handle.write("\n".join(parts))
    combined = {"size_profile": size, "runs": runs, "targets": [list(row) for row in rows], "results": {}}
    for path in json_files:
        with open(path) as handle:
            try:
                combined["results"][os.path.basename(path)] = json.load(handle)
            except ValueError as err:
                combined["results"][os.path.basename(path)] = {"error": "unreadable JSON: %s" % err}
    with open(os.path.join(outdir, "results.json"), "w") as handle:
        json.dump(combined, handle, indent=2)
    print("wrote %s and %s" % (os.path.join(outdir, "results.md"), os.path.join(outdir, "results.json")))
    return 1 if any(run["status"].startswith("failed") for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
