#!/usr/bin/env python3
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Benchmark of suspension_list_sync's file targets with token entries: htcondor_ce, dcache, arc (issue 17).

    .venv/bin/python bench/token_sync.py [--sizes 10000,100000] [--rounds 5] [--module-at 10000]
        [--targets htcondor_ce,dcache,arc] [--whole]

Entries: N token identities (one issuer, UUID subjects) plus N/100 DNs. For each target type and size, three
steps, each with a freshly built target (``cls(spec, ctx)``, as the module builds one per run): the first sync
(empty directory), a no-op re-sync, and a change of 10 entries (5 leave, 5 join). Sizes and targets are
interleaved in every round (the order of the sizes alternates between rounds); min/median/max of wall and CPU
seconds over the rounds, the load average per round. t(100k)/t(10k) uses the medians.

The no-op module run: ``ansible-playbook`` runs suspension_list_sync once with the three targets and a plain-list
source of N entries (the first sync), then once more with ``ANSIBLE_KEEP_REMOTE_FILES=1``, which leaves the
AnsiballZ payload Ansible built (module + module_utils zipped, arguments embedded). Each round then runs that
payload as Ansible does (``python AnsiballZ_suspension_list_sync.py``) and measures the CPU time of that process
and its children (the module's own CPU, Python start and unzip included), and the wall time of the whole
``ansible-playbook`` no-op run beside it.

``--whole``: each target type is measured a second time in the same rounds through ``sync_whole`` (the sync on the
whole old and new text, as every run synced before the streamed sync; it still runs where a file is not as the
sync writes it), shown as ``<type>(whole)``: the before/after of the streamed sync under the same load.

Writes bench/results-token-sync.md and .json. Wall times depend on the machine (2 shared cores here); the CPU
seconds and ratios are the figures to compare.
"""
import argparse
import glob
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
sys.path.insert(0, COLLECTIONS)

from ansible_collections.gridsec.ops.plugins.module_utils._suspension import entries as sl_entries  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import gc_paused  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._sync.arc_ce import ArcCeTarget  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._sync.dcache import DcacheTarget  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._sync.htcondor_ce import HtcondorCeTarget  # noqa: E402

ISS = "https://iam.bench.example"
BASE = "/DC=org/DC=example/DC=bench/OU=Users"
CHANGE = 10
TARGETS = [
    (HtcondorCeTarget, "00-gridsec-ban.conf", {}),
    (DcacheTarget, "ban.conf", {"dcache_op_aliases": {ISS: "BENCH"}, "dcache_version": "11.2.0"}),
    (ArcCeTarget, "arc.conf", {}),
]


def whole_variant(cls):
    """The same target type synced on the whole text (``sync_whole``), named ``<type>(whole)``."""
    return type(cls.__name__ + "Whole", (cls,), {"sync": cls.sync_whole, "TYPE": cls.TYPE + "(whole)"})


def subject(i):
    return "%08x-b73c-4761-bfff-%012x" % (i, i)


def raw_entries(n, start=0):
    """``n`` token identities and ``n // 100`` DNs, numbered from ``start`` (as list lines and as entries)."""
    tokens = [(ISS, subject(i)) for i in range(start, start + n)]
    dns = ["%s/CN=user%07d/CN=Bench User %07d" % (BASE, i, i) for i in range(start, start + n // 100)]
    return tokens, dns


def wanted_of(tokens, dns):
    entries = [sl_entries.Entry(sl_entries.TOKEN, t) for t in tokens] + [sl_entries.Entry(sl_entries.DN, dn) for dn in dns]
    return dict((e.key, e) for e in entries)


def ctx():
    return types.SimpleNamespace(sync_name="bench", check_mode=False, params={}, warn=lambda msg: None,
                                 run_command=None)


def timed_sync(cls, spec, wanted):
    re.purge()  # a module run is a fresh process: no regex compiled by an earlier step is cached
    start, cpu = time.monotonic(), time.process_time()
    with gc_paused():  # as the module runs every target (suspension_list_sync.py main)
        data = cls(spec, ctx()).sync(wanted, check_mode=False)
    return {"seconds": time.monotonic() - start, "cpu_seconds": time.process_time() - cpu,
            "writes": data.get("writes", 0), "added": data["added_count"], "removed": data["removed_count"],
            "changed": data["changed"]}


def steps_for(cls, filename, extra, wanted, changed, workdir):
    directory = tempfile.mkdtemp(dir=workdir)
    spec = dict(extra, name="bench", path=os.path.join(directory, filename), mode="0644")
    try:
        out = {"first": timed_sync(cls, spec, wanted), "noop": timed_sync(cls, spec, wanted),
               "change": timed_sync(cls, spec, changed)}
        out["bytes"] = os.path.getsize(spec["path"])
    finally:
        shutil.rmtree(directory)
    assert out["noop"]["writes"] == 0 and not out["noop"]["changed"], out
    assert (out["change"]["added"], out["change"]["removed"]) == (CHANGE // 2, CHANGE // 2), out
    return out


def linear_baseline(n):
    """Plainly linear work of the same shape (format 3n lines, join, split, index them), to show what this machine
    makes of a 10x step at these sizes: caches and memory bandwidth shared with other work make even linear work
    grow a little faster than 10x."""
    re.purge()
    cpu = time.process_time()
    with gc_paused():
        lines = ["authtokens = %s %s * * *" % (subject(i), ISS) for i in range(3 * n)]
        back = ("\n".join(lines) + "\n").splitlines()
        index = dict((line, i) for i, line in enumerate(back))
    assert len(index) == 3 * n
    return time.process_time() - cpu


def prepare(n):
    tokens, dns = raw_entries(n)
    start = time.monotonic()
    wanted = wanted_of(tokens, dns)
    seconds = time.monotonic() - start
    changed = dict(wanted)
    for key in sorted(k for k in changed if k[0] == sl_entries.TOKEN)[:CHANGE // 2]:
        del changed[key]
    changed.update(wanted_of(raw_entries(CHANGE // 2, start=10 * n)[0], []))
    return wanted, changed, tokens, dns, seconds


# -- the module as Ansible runs it -----------------------------------------------------------------------------------
PLAYBOOK = """- hosts: localhost
  gather_facts: false
  tasks:
    - gridsec.ops.suspension_list_sync:
        name: bench
        state_dir: "{workdir}/state"
        max_shrink_fraction: 1
        sources: [{{name: list, type: plain, path: "{workdir}/list.txt"}}]
        targets:
          - {{name: ce, type: htcondor_ce, path: "{workdir}/ce/00-gridsec-ban.conf", mode: "0644"}}
          - {{name: se, type: dcache, path: "{workdir}/se/ban.conf", mode: "0644",
              dcache_op_aliases: {{"{iss}": BENCH}}, dcache_version: "11.2.0"}}
          - {{name: arc, type: arc, path: "{workdir}/arc/arc.conf", mode: "0644"}}
      register: r
    - ansible.builtin.copy: {{content: "{{{{ r | to_json }}}}", dest: "{workdir}/result.json", mode: "0600"}}
"""


def playbook_env(workdir, keep=False):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_HOME=os.path.join(workdir, "home"),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_REMOTE_TMP=os.path.join(workdir, "remote-tmp"))
    if keep:
        env["ANSIBLE_KEEP_REMOTE_FILES"] = "1"
    return env


def run_playbook(workdir, keep=False):
    start = time.monotonic()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           "-c", "local", os.path.join(workdir, "bench.yml")], env=playbook_env(workdir, keep),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit("ansible-playbook failed:\n%s" % proc.stdout[-5000:])
    with open(os.path.join(workdir, "result.json"), encoding="utf-8") as handle:
        return json.load(handle), elapsed


def run_payload(payload):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, payload], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          cwd=os.path.dirname(payload), check=False)
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(proc.stdout)
    if result.get("failed"):
        raise SystemExit("module failed: %s" % result.get("msg"))
    return result, elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def module_setup(n, workdir):
    tokens, dns = raw_entries(n)
    with open(os.path.join(workdir, "list.txt"), "w", encoding="utf-8") as handle:
        handle.write("".join("token %s %s\n" % t for t in tokens) + "".join("%s\n" % dn for dn in dns))
    with open(os.path.join(workdir, "bench.yml"), "w", encoding="utf-8") as handle:
        handle.write(PLAYBOOK.format(workdir=workdir, iss=ISS))
    first, first_wall = run_playbook(workdir)
    _noop, _wall = run_playbook(workdir, keep=True)
    [payload] = glob.glob(os.path.join(workdir, "remote-tmp", "ansible-tmp-*", "AnsiballZ_suspension_list_sync.py"))
    return payload, {"first_playbook_seconds": first_wall,
                     "first_writes": [t["writes"] for t in first["targets"]],
                     "file_bytes": dict((t["name"], os.path.getsize(t["path"])) for t in first["targets"])}


# -- the run ---------------------------------------------------------------------------------------------------------
def spread(values):
    return {"min": min(values), "median": statistics.median(values), "max": max(values), "n": len(values)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--module-at", type=int, default=10000)
    parser.add_argument("--output", default=os.path.join(HERE, "results-token-sync"))
    parser.add_argument("--targets", default=",".join(cls.TYPE for cls, _f, _e in TARGETS),
                        help="the target types to measure (a shorter inner loop; the default: all three)")
    parser.add_argument("--whole", action="store_true",
                        help="measure each type through sync_whole too, in the same rounds (before/after)")
    options = parser.parse_args()
    chosen = options.targets.split(",")
    TARGETS[:] = [t for t in TARGETS if t[0].TYPE in chosen]
    if options.whole:
        TARGETS[:] = [v for cls, f, e in TARGETS for v in ((cls, f, e), (whole_variant(cls), f, e))]
    sizes = [int(s) for s in options.sizes.split(",") if s]
    out = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "sizes": sizes, "rounds": [],
           "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "module_at": options.module_at}
    with tempfile.TemporaryDirectory(prefix="bench-token-sync-") as workdir:
        prepared = {}
        for n in sizes:
            wanted, changed, _tokens, _dns, seconds = prepare(n)
            prepared[n] = (wanted, changed)
            out.setdefault("prepare_seconds", {})[n] = round(seconds, 3)
        module_dir = os.path.join(workdir, "module")
        os.makedirs(module_dir)
        payload = fixed_payload = None
        if options.module_at:
            payload, out["module_setup"] = module_setup(options.module_at, module_dir)
            # the same task with 100 entries: the module's fixed cost (Python, Ansible, the collection's imports)
            fixed_dir = os.path.join(workdir, "module-fixed")
            os.makedirs(fixed_dir)
            fixed_payload, _setup = module_setup(100, fixed_dir)
        for rnd in range(options.rounds):
            order = sizes if rnd % 2 == 0 else list(reversed(sizes))
            row = {"round": rnd, "order": order, "steps": {}}
            for n in order:
                row.setdefault("baseline_cpu_seconds", {})[n] = linear_baseline(n)
                wanted, changed = prepared[n]
                for cls, filename, extra in TARGETS:
                    row["steps"]["%s/%d" % (cls.TYPE, n)] = steps_for(cls, filename, extra, wanted, changed, workdir)
            if payload:
                result, wall, cpu = run_payload(payload)
                _pb_result, pb_wall = run_playbook(module_dir)
                _fixed_result, _fixed_wall, fixed_cpu = run_payload(fixed_payload)
                row["module_noop"] = {"payload_seconds": wall, "payload_cpu_seconds": cpu,
                                      "fixed_cpu_seconds": fixed_cpu,
                                      "playbook_seconds": pb_wall, "changed": result["changed"],
                                      "writes": [t["writes"] for t in result["targets"]],
                                      "reads": [t["reads"] for t in result["targets"]]}
            row["load_average"] = [round(x, 2) for x in os.getloadavg()]
            out["rounds"].append(row)
            print(json.dumps({"round": rnd, "load": row["load_average"], "module_noop": row.get("module_noop")}),
                  flush=True)
    summarise(out)
    with open(options.output + ".json", "w", encoding="utf-8") as handle:
        json.dump(out, handle, indent=1)
    with open(options.output + ".md", "w", encoding="utf-8") as handle:
        handle.write(render(out))
    print("wrote %s.md and .json" % options.output)


def summarise(out):
    summary = {}
    for key in out["rounds"][0]["steps"]:
        for step in ("first", "noop", "change"):
            for measure in ("seconds", "cpu_seconds"):
                summary.setdefault(key, {}).setdefault(step, {})[measure] = spread(
                    [r["steps"][key][step][measure] for r in out["rounds"]])
        summary[key]["bytes"] = out["rounds"][0]["steps"][key]["bytes"]
    out["summary"] = summary
    if all("module_noop" in r for r in out["rounds"]):
        out["module_noop"] = dict((measure, spread([r["module_noop"][measure] for r in out["rounds"]]))
                                  for measure in ("payload_cpu_seconds", "payload_seconds", "playbook_seconds",
                                                  "fixed_cpu_seconds"))
    sizes = sorted(out["sizes"])
    out["ratios"] = {}
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        base = dict((n, statistics.median([r["baseline_cpu_seconds"][n] for r in out["rounds"]])) for n in sizes)
        out["baseline_ratio"] = round(base[big] / max(base[small], 1e-4), 2)
        for cls, _f, _e in TARGETS:
            for step in ("first", "noop", "change"):
                a, b = summary["%s/%d" % (cls.TYPE, small)][step], summary["%s/%d" % (cls.TYPE, big)][step]
                out["ratios"]["%s/%s" % (cls.TYPE, step)] = {
                    "wall": round(b["seconds"]["median"] / max(a["seconds"]["median"], 1e-4), 2),
                    "cpu": round(b["cpu_seconds"]["median"] / max(a["cpu_seconds"]["median"], 1e-4), 2)}


def _fmt(s):
    return "%.3f / %.3f / %.3f" % (s["min"], s["median"], s["max"])


def render(out):
    sizes = sorted(out["sizes"])
    loads = [r["load_average"][0] for r in out["rounds"]]
    lines = ["# Token entries: the file targets of suspension_list_sync (bench/token_sync.py)", "",
             "%s; %s CPUs; Python %s; %d interleaved rounds (sizes alternate order each round); load average "
             "(1 min) after each round: %s." % (out["started"], out["cpus"], out["python"], len(out["rounds"]),
                                                ", ".join("%.1f" % x for x in loads)), "",
             "Entries: N token identities (one issuer, UUID subjects) + N/100 DNs. Each step builds the target "
             "afresh (`cls(spec, ctx)`) and calls `sync`, in process; min / median / max over the rounds. The "
             "change step: 5 entries leave, 5 join.", "",
             "| target | entries | file bytes | first sync s (wall) | first CPU s | no-op s (wall) | no-op CPU s | "
             "change s (wall) | change CPU s |", "|---|---:|---:|---|---|---|---|---|---|"]
    for cls, _f, _e in TARGETS:
        for n in sizes:
            s = out["summary"]["%s/%d" % (cls.TYPE, n)]
            lines.append("| %s | %d | %d | %s | %s | %s | %s | %s | %s |" % (
                cls.TYPE, n + n // 100, s["bytes"], _fmt(s["first"]["seconds"]), _fmt(s["first"]["cpu_seconds"]),
                _fmt(s["noop"]["seconds"]), _fmt(s["noop"]["cpu_seconds"]), _fmt(s["change"]["seconds"]),
                _fmt(s["change"]["cpu_seconds"])))
    base = out.get("baseline_ratio")
    lines += ["", "Ratios of the medians (target t(100k)/t(10k) <= 12, i.e. no quadratic step). Beside them, in the "
              "same rounds, plainly linear work of the same shape (`linear_baseline`: format, join, split and index "
              "3N lines): on this machine at this load its CPU ratio is **%s**, the floor that caches and memory "
              "bandwidth shared with the other sessions set for any code at these sizes." % base, "",
              "| target | step | t(%dk)/t(%dk) wall | CPU | CPU / linear baseline | target <= 12 |"
              % (sizes[-1] // 1000, sizes[0] // 1000), "|---|---|---:|---:|---:|---|"]
    for key, ratio in sorted(out["ratios"].items()):
        worst = max(ratio["wall"], ratio["cpu"])
        lines.append("| %s | %s | %.2f | %.2f | %.2f | %s |" % (tuple(key.split("/")) + (
            ratio["wall"], ratio["cpu"], ratio["cpu"] / base if base else 0,
            "met" if worst <= 12 else "**missed**")))
    if out.get("module_noop"):
        m, setup = out["module_noop"], out["module_setup"]
        cpu = m["payload_cpu_seconds"]
        lines += ["", "No-op module run at %d token entries + %d DNs, three targets (htcondor_ce, dcache, arc), "
                  "plain-list source: the AnsiballZ payload ansible-playbook built (kept with "
                  "`ANSIBLE_KEEP_REMOTE_FILES=1`), run as Ansible runs it (`python AnsiballZ_suspension_list_sync.py`)."
                  % (out["module_at"], out["module_at"] // 100), "",
                  "| figure | min / median / max |", "|---|---|",
                  "| module CPU s (payload process + children: Python start, unzip, module) | %s |" % _fmt(cpu),
                  "| module wall s | %s |" % _fmt(m["payload_seconds"]),
                  "| whole `ansible-playbook` no-op run, wall s (controller start included) | %s |"
                  % _fmt(m["playbook_seconds"]),
                  "| the same payload built for 100 entries: module CPU s (the fixed cost) | %s |"
                  % _fmt(m["fixed_cpu_seconds"]), "",
                  "- no-op module CPU at this size: **%.2f s** median (target < 1 s: %s); every round: changed=%s, "
                  "writes %s" % (cpu["median"], "met" if cpu["max"] < 1 else ("met on the median" if cpu["median"] < 1
                                                                              else "**missed**"),
                                 sorted(set(r["module_noop"]["changed"] for r in out["rounds"])),
                                 out["rounds"][0]["module_noop"]["writes"]),
                  "- first sync through ansible-playbook: %.1f s wall, writes %s, file sizes %s"
                  % (setup["first_playbook_seconds"], setup["first_writes"], setup["file_bytes"])]
    lines.append("- building the entries (parse + key, not in the steps): %s" % ", ".join(
        "%s: %.2f s" % (n, s) for n, s in sorted(out["prepare_seconds"].items(), key=lambda kv: int(kv[0]))))
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
