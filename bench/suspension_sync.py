#!/usr/bin/env python3
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Benchmark of suspension_list_sync's Argus target against the lab PAP (one command, ratios and counts).

    .venv/bin/python bench/suspension_sync.py [--sizes 1000,10000,100000] [--ban-baseline 1000]

For each size N (a fresh lab PAP each time): N generated DNs are synced into alias ``default`` (first sync), synced
again unchanged (no-op), then with k=10 entries changed (5 added, 5 removed). Reported per step: write calls, read
calls, wall time. Then, at 10,000 entries, the module itself (a subprocess running the module file with an args
file, no ansible-playbook overhead) for a no-op re-sync with a plain-list file source: reads, writes, time. Beside
them: the one-``ban``-per-DN way (``argus_policy`` with N subjects) for the baseline size.

Writes bench/results-suspension-sync.md and bench/results-suspension-sync.json. Wall times depend on the machine
(2 shared cores here); the counts and the ratio t(100k)/t(10k) are the figures to compare.

``--harness`` measures instead as users run it (issue 20 item 7, ``bench/harness.py``), at ``--harness-entries``
(10,000): the lab PAP in its own process counting calls and bytes on the server side; after a first sync (not
timed), ``--repeat`` rounds (at least 5) of three halves in rotated order: the no-op re-sync and a 10-entry change
(5 added, 5 removed; the list file alternates between two versions), each as a one-task playbook through
ansible-playbook (task time, module process peak RSS and CPU), and the physical floor: a stdlib-only client
process making one small SOAP call (``getPap``, about 1 KB each way). Writes results-suspension-sync-harness.md
and .json (next to ``--output``).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, ".tmp", "collections"))
sys.path.insert(0, os.path.join(ROOT, "lab"))

from gridsec_lab.argus.lab import ArgusLab  # noqa: E402
from gridsec_lab.pki import TestPKI  # noqa: E402

from ansible_collections.gridsec.ops.plugins.module_utils._suspension import merge as sl_merge  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import Entry  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._sync import argus as sync_argus  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import PapClient  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport  # noqa: E402

MODULES = os.path.join(ROOT, "plugins", "modules")
PER_DN_SAMPLE = 5  # argus_policy runs with one subject each, timed and extrapolated to the baseline size
BASE = "/DC=org/DC=example/DC=bench/OU=Users"


def generated(n, start=0):
    return ["%s/CN=user%07d/CN=Bench User %07d" % (BASE, i, i) for i in range(start, start + n)]


def client_for(lab):
    admin = lab.creds["admin"]
    pap = next(iter(lab.paps.values()))
    transport = HttpTransport(pap.url, client_cert=admin.cert, client_key=admin.key, ca_path=lab.ca_dir,
                              timeout=1800, max_response_bytes=1 << 30)
    return PapClient(transport, server_label="localhost:%d" % pap.port), pap


def step(client, wanted, label):
    # the target as the sync builds it (cls(spec, ctx)), with the lab client in place of ctx.pap_client
    ctx = types.SimpleNamespace(params={"max_retries": 3}, sync_name="bench", check_mode=False)
    target = sync_argus.ArgusTarget({"name": "bench", "alias": "default", "public": True}, ctx, client=client)
    start, cpu = time.monotonic(), time.process_time()
    data = target.sync(wanted, check_mode=False)
    elapsed, cpu = time.monotonic() - start, time.process_time() - cpu
    return {"step": label, "writes": data["writes"], "reads": data["reads"], "seconds": round(elapsed, 3),
            "cpu_seconds": round(cpu, 3),
            "write_ops": [op["operation"] for op in data["operations"] if op["operation"] in sync_argus.WRITE_OPS],
            "added": data["added_count"], "removed": data["removed_count"]}


def run_module(module_file, args, workdir):
    args_file = os.path.join(workdir, "args-%d.json" % time.monotonic_ns())
    with open(args_file, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".tmp", "collections"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, module_file, args_file], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env, timeout=7200, check=False)
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        result = json.loads(proc.stdout)
    except ValueError as exc:
        raise SystemExit("module %s failed: %s %s" % (module_file, proc.stdout[-3000:], proc.stderr[-3000:])) from exc
    if result.get("failed"):
        raise SystemExit("module %s failed: %s" % (module_file, result.get("msg")))
    return result, elapsed, cpu


def conn_args(lab, pap):
    admin = lab.creds["admin"]
    return {"pap_host": "localhost", "pap_port": pap.port, "client_cert": admin.cert, "client_key": admin.key,
            "ca_path": lab.ca_dir, "timeout": 1800}


def bench_size(n, pki, workdir, module_at):
    lab = ArgusLab({"paps": [{"name": "pap"}]}, os.path.join(workdir, "pap-%d" % n), pki=pki, poll_interval=3600)
    lab.start()
    try:
        client, pap = client_for(lab)
        start = time.monotonic()
        wanted = sl_merge.merge([("bench", [Entry("dn", dn) for dn in generated(n)])])
        prepare = time.monotonic() - start
        row = {"entries": n, "prepare_seconds": round(prepare, 3)}
        row["first"] = step(client, wanted, "first sync")
        row["noop"] = step(client, wanted, "no-op re-sync")
        changed = dict(wanted)
        for key in list(changed)[:5]:
            del changed[key]
        changed.update(sl_merge.merge([("bench", [Entry("dn", dn) for dn in generated(5, start=n)])]))
        row["change"] = step(client, changed, "change of k=10 (5 added, 5 removed)")
        if n == module_at:
            listfile = os.path.join(workdir, "list-%d.txt" % n)
            with open(listfile, "w", encoding="utf-8") as handle:
                handle.write("\n".join(e.value for e in changed.values()) + "\n")
            args = dict(conn_args(lab, pap), name="bench", state_dir=os.path.join(workdir, "state-%d" % n),
                        sources=[{"name": "list", "type": "plain", "path": listfile}],
                        targets=[{"name": "pap", "type": "argus"}], max_shrink_fraction=1)
            # first module run: fills the state file (last good list, parsed source cache); the second is the
            # no-op re-sync that cron runs over and over
            run_module(os.path.join(MODULES, "suspension_list_sync.py"), args, workdir)
            result, elapsed, cpu = run_module(os.path.join(MODULES, "suspension_list_sync.py"), args, workdir)
            target = result["targets"][0]
            row["module_noop"] = {"seconds": round(elapsed, 3), "cpu_seconds": round(cpu, 3),
                                  "changed": result["changed"],
                                  "source_reads": [s["reads"] for s in result["sources"]],
                                  "target_reads": target["reads"], "target_writes": target["writes"]}
        return row
    finally:
        lab.stop()


def bench_ban_baseline(n, pki, workdir):
    """The one-``ban``-per-DN way (what argus_policy did when the issue was filed: one HighLevel ``ban`` per DN),
    timed with the same client, and ``argus_policy`` itself as it is in this checkout, both on fresh PAPs."""
    out = {"entries": n}
    lab = ArgusLab({"paps": [{"name": "pap"}]}, os.path.join(workdir, "ban-%d" % n), pki=pki, poll_interval=3600)
    lab.start()
    try:
        client, _pap = client_for(lab)
        start = time.monotonic()
        for dn in generated(n):
            client.ban("default", "subject", dn)
        out["per_dn"] = {"seconds": round(time.monotonic() - start, 3), "ban_calls": len(client.operations)}
    finally:
        lab.stop()
    lab = ArgusLab({"paps": [{"name": "pap"}]}, os.path.join(workdir, "policy-%d" % n), pki=pki, poll_interval=3600)
    lab.start()
    try:
        pap = next(iter(lab.paps.values()))
        args = dict(conn_args(lab, pap), subjects=generated(n))
        result, elapsed, _cpu = run_module(os.path.join(MODULES, "argus_policy.py"), args, workdir)
        ops = [op["operation"] for op in result.get("requests", result.get("operations", []))]
        out["argus_policy"] = {"seconds": round(elapsed, 3), "ban_calls": ops.count("ban"),
                               "write_calls": sum(1 for op in ops if op in sync_argus.WRITE_OPS), "calls": len(ops),
                               "writes": sorted(set(op for op in ops if op in sync_argus.WRITE_OPS))}
        # argus_policy run once per DN (an operator looping over the list): measured on a sample, extrapolated
        sample = generated(PER_DN_SAMPLE, start=n)
        start = time.monotonic()
        writes = 0
        cpu = 0.0
        for dn in sample:
            one_args = dict(conn_args(lab, pap), subjects=[dn])
            result, _elapsed, one_cpu = run_module(os.path.join(MODULES, "argus_policy.py"), one_args, workdir)
            ops = [op["operation"] for op in result.get("requests", result.get("operations", []))]
            writes += sum(1 for op in ops if op in sync_argus.WRITE_OPS)
            cpu += one_cpu
        per_call = (time.monotonic() - start) / len(sample)
        out["argus_policy_per_dn"] = {"sample": len(sample), "seconds_per_dn": round(per_call, 3),
                                      "module_cpu_seconds_per_dn": round(cpu / len(sample), 3),
                                      "write_calls_per_dn": round(float(writes) / len(sample), 2),
                                      "extrapolated_seconds": round(per_call * n, 1)}
    finally:
        lab.stop()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--ban-baseline", type=int, default=1000)
    parser.add_argument("--module-at", type=int, default=10000)
    parser.add_argument("--output", default=os.path.join(HERE, "results-suspension-sync"))
    parser.add_argument("--render", help="only re-render the .md from an existing results .json")
    parser.add_argument("--harness", action="store_true", help="measure as users run it (see the docstring)")
    parser.add_argument("--harness-entries", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5, help="--harness: interleaved rounds")
    options = parser.parse_args()
    if options.harness:
        harness_mode(options)
        return
    if options.render:
        with open(options.render, encoding="utf-8") as handle:
            out = ratios(json.load(handle))
        with open(options.render, "w", encoding="utf-8") as handle:
            json.dump(out, handle, indent=2)
        with open(options.render[:-len(".json")] + ".md", "w", encoding="utf-8") as handle:
            handle.write(render(out))
        return
    sizes = [int(s) for s in options.sizes.split(",") if s]
    out = {"sizes": [], "ban_baseline": None, "python": sys.version.split()[0], "cpus": os.cpu_count(),
           "load_average_at_start": [round(x, 1) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as workdir:
        pki = TestPKI(os.path.join(workdir, "pki"))
        for n in sizes:
            print("syncing %d entries ..." % n, flush=True)
            try:
                out["sizes"].append(bench_size(n, pki, workdir, options.module_at))
            except Exception as err:  # pylint: disable=broad-exception-caught  # report it, do not stop
                out["sizes"].append({"entries": n, "error": "%s: %s" % (type(err).__name__, err)})
            print(json.dumps(out["sizes"][-1]), flush=True)
        if options.ban_baseline:
            print("one ban per DN for %d entries ..." % options.ban_baseline, flush=True)
            out["ban_baseline"] = bench_ban_baseline(options.ban_baseline, pki, workdir)
            print(json.dumps(out["ban_baseline"]), flush=True)
    ratios(out)
    with open(options.output + ".json", "w", encoding="utf-8") as handle:
        json.dump(out, handle, indent=2)
    with open(options.output + ".md", "w", encoding="utf-8") as handle:
        handle.write(render(out))
    print("wrote %s.md and .json" % options.output)


GET_PAP = ("<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv="
           "\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><ns1:getPap xmlns:ns1="
           "\"http://services.pap.authz.glite.org\"><papAlias>default</papAlias></ns1:getPap></soapenv:Body>"
           "</soapenv:Envelope>")


def harness_mode(options):
    """The sync's no-op and 10-entry change at ``--harness-entries`` as users run them, beside the floor."""
    sys.path.insert(0, HERE)
    import harness  # pylint: disable=import-outside-toplevel

    n = options.harness_entries
    lists = {"a": generated(n)}
    lists["b"] = lists["a"][5:] + generated(5, start=n)
    current = {"list": "a"}
    with tempfile.TemporaryDirectory(prefix="bench-sync-harness-") as workdir:
        listfile = os.path.join(workdir, "list.txt")

        def write_list(name):
            with open(listfile + ".tmp", "w", encoding="utf-8") as handle:
                handle.write("\n".join(lists[name]) + "\n")
            os.replace(listfile + ".tmp", listfile)
            current["list"] = name

        with harness.LabArgusProcess(os.path.join(workdir, "server")) as server:
            task = {"gridsec.ops.suspension_list_sync": dict(
                server.conn(), name="bench", state_dir=os.path.join(workdir, "state"),
                sources=[{"name": "list", "type": "plain", "path": listfile}],
                targets=[{"name": "pap", "type": "argus"}], max_shrink_fraction=1)}
            write_list("a")
            first = harness.run_task(os.path.join(workdir, "first"), task)
            if not first["ok"]:
                raise SystemExit("first sync failed: %s" % first["result"].get("msg"))

            def module_half(label, change):
                def run(index):
                    if change:
                        write_list("b" if current["list"] == "a" else "a")
                    server.reset()
                    out = harness.run_task(os.path.join(workdir, "r%d-%s" % (index, label)), task)
                    result = out.pop("result")
                    out["server"] = server.counters()
                    out["failed"] = not out["ok"]
                    out["msg"] = result.get("msg")
                    out["changed"] = result.get("changed")
                    target = (result.get("targets") or [{}])[0]
                    out["target"] = dict((k, target.get(k)) for k in ("reads", "writes", "added_count",
                                                                      "removed_count", "read"))
                    out["merge"] = result.get("merge")
                    if not change:
                        # the no-op right after: proven by the PolicySet versions (the run before read in full)
                        server.reset()
                        again = harness.run_task(os.path.join(workdir, "r%d-%s-versions" % (index, label)), task)
                        result = again.pop("result")
                        again["server"] = server.counters()
                        again["failed"] = not again["ok"]
                        again["read"] = ((result.get("targets") or [{}])[0]).get("read")
                        again["merge"] = result.get("merge")
                        out["versions"] = again
                    return out
                return run

            def floor(index):
                server.reset()
                out = harness.run_floor(os.path.join(workdir, "r%d-floor" % index), server, [
                    ("POST", "/pap/services/PAPManagementService", GET_PAP, "text/xml; charset=utf-8",
                     "getPap")])
                out["server"] = server.counters()
                return out

            rounds = harness.interleave({"noop": module_half("noop", False), "change": module_half("change", True),
                                         "floor": floor}, options.repeat)
    spread, fmt = harness.spread, harness.fmt
    out = {"bench": "suspension_sync_harness", "entries": n, "repeat": options.repeat,
           "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
           "machine": dict(harness.machine(), loadavg_at_end=list(os.getloadavg())), "rounds": rounds}
    for half in ("noop", "change"):
        out[half] = {key: spread([r[half][key] for r in rounds]) for key in ("task_s", "cpu_s", "maxrss_mib")}
        out[half]["calls"] = spread([r[half]["server"]["calls"] for r in rounds])
        out[half]["wire_kb"] = spread([(r[half]["server"]["bytes_in"] + r[half]["server"]["bytes_out"]) / 1000.0
                                       for r in rounds])
        out[half]["over_floor"] = spread([r[half]["task_s"] / r["floor"]["wall_s"] for r in rounds])
    out["noop_versions"] = {key: spread([r["noop"]["versions"][key] for r in rounds])
                            for key in ("task_s", "cpu_s", "maxrss_mib")}
    out["noop_versions"]["calls"] = spread([r["noop"]["versions"]["server"]["calls"] for r in rounds])
    out["noop_versions"]["wire_kb"] = spread([(r["noop"]["versions"]["server"]["bytes_in"]
                                               + r["noop"]["versions"]["server"]["bytes_out"]) / 1000.0
                                              for r in rounds])
    out["noop_versions"]["over_floor"] = spread([r["noop"]["versions"]["task_s"] / r["floor"]["wall_s"]
                                                 for r in rounds])
    out["floor"] = {"wall_s": spread([r["floor"]["wall_s"] for r in rounds]),
                    "wire_kb": spread([(r["floor"]["server"]["bytes_in"] + r["floor"]["server"]["bytes_out"]) / 1000.0
                                       for r in rounds]),
                    "maxrss_mib": spread([r["floor"]["maxrss_mib"] for r in rounds]),
                    "cpu_s": spread([r["floor"]["cpu_s"] for r in rounds])}
    stem = options.output + "-harness"
    with open(stem + ".json", "w", encoding="utf-8") as handle:
        json.dump(out, handle, indent=2, default=str)
    loads = spread([r[h]["load1"] for r in rounds for h in ("noop", "change", "floor")])
    failed = [r["round"] for r in rounds if r["noop"]["failed"] or r["change"]["failed"] or
              r["noop"]["versions"]["failed"]]

    def verdict(ok):
        return "met" if ok else "**missed**"

    noop, change, proven = out["noop"], out["change"], out["noop_versions"]
    lines = ["# suspension_list_sync (Argus target) at %d entries, as users run it, vs the physical floor" % n, "",
             "%s, commit %s; %d CPUs, Python %s; load average (1 min) at the start of each measurement "
             "min / median / max %s. "
             "%d rounds, the halves in an order rotated every round. The lab PAP runs in its own process (its usual "
             "8 MiB request cap) and counts calls and bytes itself. The module runs as a one-task playbook "
             "(ansible-playbook, AnsiballZ, connection local), a plain-list file source, state kept between runs. "
             "The floor is a stdlib-only client process making one small SOAP call (getPap)." % (
                 out["date"], out["machine"]["commit"], out["machine"]["cpus"], out["machine"]["python"], fmt(loads, 1),
                 options.repeat),
             "", "min / median / max over the rounds:", "",
             "The no-op runs twice in its half: first after whatever ran before it (the change, whose write replies "
             "bring the Argus target's record of the PAP forward, or the previous round's no-op), then at once again. "
             "Both are proven by the PolicySet versions (one listPolicySets) when the record holds; a forced full "
             "read (full_read_interval: 0) is measured by bench/argus_sync_rounds.py.",
             "",
             "| figure | no-op (first of its half) | no-op (again) | change of 10 entries | floor (one small call) |",
             "|---|---|---|---|---|",
             "| time s (task; floor process wall) | %s | %s | %s | %s |" % (
                 fmt(noop["task_s"]), fmt(proven["task_s"]), fmt(change["task_s"]), fmt(out["floor"]["wall_s"])),
             "| CPU s of the client process | %s | %s | %s | %s |" % (
                 fmt(noop["cpu_s"]), fmt(proven["cpu_s"]), fmt(change["cpu_s"]), fmt(out["floor"]["cpu_s"])),
             "| peak RSS MiB of the client process | %s | %s | %s | %s |" % (
                 fmt(noop["maxrss_mib"], 1), fmt(proven["maxrss_mib"], 1), fmt(change["maxrss_mib"], 1),
                 fmt(out["floor"]["maxrss_mib"], 1)),
             "| server-side calls | %s | %s | %s | 1 |" % (
                 fmt(noop["calls"], 0), fmt(proven["calls"], 0), fmt(change["calls"], 0)),
             "| server-side bytes in + out (KB) | %s | %s | %s | %s |" % (
                 fmt(noop["wire_kb"], 0), fmt(proven["wire_kb"], 0), fmt(change["wire_kb"], 0),
                 fmt(out["floor"]["wire_kb"], 1)),
             "| task / floor | %s | %s | %s | - |" % (
                 fmt(noop["over_floor"]), fmt(proven["over_floor"]), fmt(change["over_floor"])),
             "", "| #20 target (at %d entries) | measured (min / median / max) | target | verdict |" % n,
             "|---|---|---|---|",
             "| 1 change of 10 entries: calls | %s | <= 3 | %s |" % (fmt(change["calls"], 0),
                                                                   verdict(change["calls"]["max"] <= 3)),
             "| 1 change of 10 entries: bytes on the wire (KB) | %s | <= 200 | %s |" % (
                 fmt(change["wire_kb"], 0), verdict(change["wire_kb"]["median"] <= 200)),
             "| 1 change of 10 entries: task / floor process wall | %s | <= 2 | %s |" % (
                 fmt(change["over_floor"]), verdict(change["over_floor"]["median"] <= 2)),
             "| 2 no-op (first of its half): module CPU s as Ansible runs it | %s | < 1 | %s |" % (
                 fmt(noop["cpu_s"]), verdict(noop["cpu_s"]["median"] < 1)),
             "| 2 no-op again (proven by versions): module CPU s as Ansible runs it | %s | < 0.3 | %s |" % (
                 fmt(proven["cpu_s"]), verdict(proven["cpu_s"]["median"] < 0.3)),
             "| 3 peak RSS MiB at 10,000 entries (no-op first / again / change) | %s / %s / %s | <= 80 | %s |" % (
                 fmt(noop["maxrss_mib"], 1), fmt(proven["maxrss_mib"], 1), fmt(change["maxrss_mib"], 1),
                 verdict(max(noop["maxrss_mib"]["max"], proven["maxrss_mib"]["max"],
                             change["maxrss_mib"]["max"]) <= 80))]
    if failed:
        lines += ["", "The module task FAILED in rounds %s: %s" % (
            failed, [r for r in rounds if r["round"] == failed[0]][0]["noop"]["msg"])]
    with open(stem + ".md", "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def ratios(out):
    """t(10 N)/t(N) per step for the largest measured pair of sizes 10x apart (100k/10k when both were run), on
    wall-clock and on CPU seconds (the machine is shared: CPU is steadier)."""
    by_n = dict((row["entries"], row) for row in out["sizes"] if "first" in row)
    for old in ("ratio_first_100k_10k", "ratio_change_100k_10k", "ratio_noop_100k_10k", "ratios_100k_10k"):
        out.pop(old, None)
    out["ratios"] = {}
    pairs = sorted((n, 10 * n) for n in by_n if 10 * n in by_n)
    if pairs:
        small_n, big_n = pairs[-1]
        out["ratios"] = {"small": small_n, "big": big_n, "steps": {}}
        for step_name in ("first", "noop", "change"):
            small, big = by_n[small_n][step_name], by_n[big_n][step_name]
            out["ratios"]["steps"][step_name] = {
                "wall": round(big["seconds"] / max(small["seconds"], 1e-3), 2),
                "cpu": round(big["cpu_seconds"] / max(small["cpu_seconds"], 1e-3), 2)}
    return out


def _short(n):
    return "%dk" % (n // 1000) if n % 1000 == 0 else str(n)


def render(out):
    lines = ["# suspension_list_sync benchmark (lab PAP)", "",
             "Generated by `bench/suspension_sync.py` (Python %s, %s CPUs). Times are wall-clock on a shared machine; "
             "the counts and ratios are the figures to compare. Sizes measured: %s; load average at start: %s."
             % (out["python"], out["cpus"], ", ".join(str(r["entries"]) for r in out["sizes"]),
                out.get("load_average_at_start", "not recorded")), "",
             "CPU seconds of the in-process steps include the lab PAP's own threads (same process). Like the real "
             "argus-pap, the lab PAP caps no request body; the target writes in requests of at most "
             "`max_request_bytes` (1 MiB by default). The in-process steps keep no state, so their "
             "no-op re-sync reads the target alias in full with 2 SOAP calls (listPolicySets, listPolicies); the module "
             "run below keeps its state file, and its no-op is proven by the PolicySet versions. "
             "A target sync pauses Python's cyclic garbage collector (`gc_paused` in _module_base.py); the lab "
             "PAP shares this process, so its request handling runs with the collector paused too (the module run "
             "below is a separate process and measures the module alone).", "",
             "| entries | step | write calls | read calls | seconds | CPU seconds |", "|---:|---|---:|---:|---:|---:|"]
    for row in out["sizes"]:
        if "error" in row:
            lines.append("| %d | not measured: %s | | | | |" % (row["entries"], row["error"]))
            continue
        for key in ("first", "noop", "change"):
            s = row[key]
            lines.append("| %d | %s (%s) | %d | %d | %.2f | %.2f |" % (
                row["entries"], s["step"], ", ".join(s["write_ops"]) or "no write", s["writes"], s["reads"],
                s["seconds"], s["cpu_seconds"]))
    lines.append("")
    if out.get("note"):
        lines.append("- run note: %s" % out["note"])
    measured = out.get("ratios") or {}
    if measured and (measured["small"], measured["big"]) != (10000, 100000):
        lines.append("- 100,000 entries were not measured in this run (see the sizes above); the ratio below is "
                     "t(%d)/t(%d), the same 10x step one size down" % (measured["big"], measured["small"]))
    for key, label in (("first", "first sync"), ("change", "change of k=10 entries"), ("noop", "no-op re-sync")):
        ratio = measured.get("steps", {}).get(key)
        if ratio:
            lines.append("- t(%s)/t(%s), %s: **%s** wall-clock, **%s** CPU (10x the entries; target <= 12, i.e. "
                         "no quadratic step)" % (_short(measured["big"]), _short(measured["small"]), label,
                                                 ratio["wall"], ratio["cpu"]))
    for row in out["sizes"]:
        if "prepare_seconds" in row:
            lines.append("- parsing and merging %d generated entries (semantic DN keys, once per entry): %.2f s"
                         % (row["entries"], row["prepare_seconds"]))
    for row in out["sizes"]:
        if "module_noop" in row:
            m = row["module_noop"]
            lines.append("- module run (subprocess, args file) for a no-op re-sync at %d entries: %.2f s wall, %.2f s "
                         "CPU of the module process, changed=%s, source reads %s, target read calls %d "
                         "(%s), writes %d"
                         % (row["entries"], m["seconds"], m["cpu_seconds"], m["changed"], m["source_reads"],
                            m["target_reads"], "listPolicySets: the no-op proven by the PolicySet versions"
                            if m["target_reads"] == 1 else "listPolicySets + listPolicies", m["target_writes"]))
    if out.get("ban_baseline"):
        b = out["ban_baseline"]
        per_dn, module = b["per_dn"], b["argus_policy"]
        lines.append("- one `ban` per DN for %d DNs (the HighLevel `ban` call per DN, as `argus_policy` worked when "
                     "the issue was filed): %d ban calls, %.2f s"
                     % (b["entries"], per_dn["ban_calls"], per_dn["seconds"]))
        lines.append("- `argus_policy` in this checkout with %d subjects (module subprocess): %d write calls (%s), "
                     "%d calls in all, %.2f s" % (b["entries"], module["write_calls"], ", ".join(module["writes"]),
                                                  module["calls"], module["seconds"]))
        if b.get("argus_policy_per_dn"):
            p = b["argus_policy_per_dn"]
            lines.append("- `argus_policy` run once per DN (one task per list entry): %.2f s wall (%.2f s CPU of the "
                         "module process) and %.1f write calls per DN (mean of %d runs), i.e. about %.0f s and %d "
                         "write calls for %d DNs (extrapolated, not run)"
                         % (p["seconds_per_dn"], p.get("module_cpu_seconds_per_dn", 0), p["write_calls_per_dn"],
                            p["sample"], p["extrapolated_seconds"], round(p["write_calls_per_dn"] * b["entries"]),
                            b["entries"]))
        for row in out["sizes"]:
            if row.get("entries") == b["entries"] and "first" in row:
                lines.append("  - `suspension_list_sync` first sync of the same %d entries: %d write calls, %.2f s "
                             "(%.0fx faster than one ban per DN)"
                             % (b["entries"], row["first"]["writes"], row["first"]["seconds"],
                                per_dn["seconds"] / max(row["first"]["seconds"], 1e-3)))
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
