#!/usr/bin/env python3
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""suspension_list_sync's Argus target in rounds: the module in its own process against a lab PAP, server-side
call and byte counts (issue #20 items 1, 2, 4).

    .venv/bin/python bench/argus_sync_rounds.py [--entries 10000] [--rounds 5] [--max-request-bytes 1048576]

One lab PAP (in this process; the module runs as a subprocess with an args file, as AnsiballZ would run it after
unpacking). A first sync of N generated DNs, then ``--rounds`` interleaved rounds of: a change of k=10 entries
(5 removed spread over the list, 5 added; undone by the next round; planned from the target's state record when
the PolicySet versions prove it), the no-op right after it (proven by the versions the write's replies predict), a
no-op read in full (``full_read_interval: 0`` for that run). Per step: SOAP calls and bytes
(request + reply bodies) counted by the PAP's dispatcher, wall time and module CPU (the child's rusage), the
write operations. Reports min / median / max over the rounds and the load average. Writes
bench/results-argus-sync-rounds.{md,json}.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, ".tmp", "collections"))
sys.path.insert(0, os.path.join(ROOT, "lab"))

from gridsec_lab.argus.lab import ArgusLab  # noqa: E402
from gridsec_lab.pki import TestPKI  # noqa: E402
from suspension_sync import run_module  # noqa: E402  # the module file with an args file, CPU from rusage

MODULE = os.path.join(ROOT, "plugins", "modules", "suspension_list_sync.py")
BASE = "/DC=org/DC=example/DC=bench/OU=Users"
STEPS = ("change", "noop_after_change", "noop_full")
WRITES = ("addPolicy", "addPolicies", "addPolicySet", "storePolicy", "updatePolicy", "updatePolicySet",
          "removePolicy", "removeObjectByIdAndReferences", "move")


def generated(n, start=0):
    return ["%s/CN=user%07d/CN=Bench User %07d" % (BASE, i, i) for i in range(start, start + n)]


class Counter(object):
    """Wraps the lab PAP's dispatcher: calls, request and reply bytes, operation names."""

    def __init__(self, server):
        self.server = server
        self.original = server.dispatch
        server.dispatch = self.dispatch
        self.reset()

    def reset(self):
        self.calls, self.bytes_in, self.bytes_out, self.ops = 0, 0, 0, []

    def dispatch(self, service, body, identity):
        reply = self.original(service, body, identity)
        self.calls += 1
        self.bytes_in += len(body)
        self.bytes_out += len(reply)
        op = body.split(b"Body", 1)[-1].split(b"<", 2)[1].split(b" ", 1)[0].split(b">", 1)[0]
        self.ops.append(op.split(b":")[-1].decode("ascii", "replace"))
        return reply


def measure(counter, args, listfile, dns, workdir, **target_options):
    args = dict(args, targets=[dict(t, **target_options) for t in args["targets"]])
    with open(listfile, "w", encoding="utf-8") as handle:
        handle.write("\n".join(dns) + "\n")
    counter.reset()
    result, elapsed, cpu = run_module(MODULE, args, workdir)
    target = result["targets"][0]
    return {"calls": counter.calls, "bytes": counter.bytes_in + counter.bytes_out, "bytes_in": counter.bytes_in,
            "bytes_out": counter.bytes_out, "seconds": round(elapsed, 3), "cpu_seconds": round(cpu, 3),
            "changed": result["changed"], "ops": counter.ops, "chunks": target.get("chunks"),
            "read": target.get("read"),
            "write_ops": [op for op in counter.ops if op in WRITES]}


def summary(values):
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-request-bytes", type=int, default=None)
    parser.add_argument("--output", default=os.path.join(HERE, "results-argus-sync-rounds"))
    options = parser.parse_args()
    n = options.entries
    out = {"entries": n, "rounds": options.rounds, "python": sys.version.split()[0], "cpus": os.cpu_count(),
           "load_average_at_start": [round(x, 2) for x in os.getloadavg()], "steps": {}}
    with tempfile.TemporaryDirectory(prefix="bench-rounds-") as workdir:
        pki = TestPKI(os.path.join(workdir, "pki"))
        lab = ArgusLab({"paps": [{"name": "pap"}]}, os.path.join(workdir, "pap"), pki=pki, poll_interval=3600)
        lab.start()
        try:
            pap = next(iter(lab.paps.values()))
            counter = Counter(next(iter(lab.servers.values())))
            admin = lab.creds["admin"]
            listfile = os.path.join(workdir, "list.txt")
            target = {"name": "pap", "type": "argus"}
            if options.max_request_bytes:
                target["max_request_bytes"] = options.max_request_bytes
            args = {"pap_host": "localhost", "pap_port": pap.port, "client_cert": admin.cert,
                    "client_key": admin.key, "ca_path": lab.ca_dir, "timeout": 1800, "name": "bench",
                    "state_dir": os.path.join(workdir, "state"), "max_shrink_fraction": 1,
                    "sources": [{"name": "list", "type": "plain", "path": listfile}], "targets": [target]}
            base = generated(n)
            # 5 removed spread over the list (they fall in different chunks), 5 added
            removed = set(base[i] for i in range(0, n, n // 5))
            changed = [dn for dn in base if dn not in removed] + generated(5, start=n)
            out["first"] = measure(counter, args, listfile, base, workdir)
            # round: the change (then undone in the next round), the no-op right after it, a no-op read in full
            out["noop_after_first"] = measure(counter, args, listfile, base, workdir)
            rows = dict((name, []) for name in STEPS)
            for number in range(options.rounds):
                dns = changed if number % 2 == 0 else base
                for name in STEPS:
                    extra = {"full_read_interval": 0} if name == "noop_full" else {}
                    rows[name].append(measure(counter, args, listfile, dns, workdir, **extra))
            for name, samples in rows.items():
                out["steps"][name] = {
                    "samples": len(samples),
                    "calls": summary([s["calls"] for s in samples]),
                    "bytes": summary([s["bytes"] for s in samples]),
                    "seconds": summary([s["seconds"] for s in samples]),
                    "cpu_seconds": summary([s["cpu_seconds"] for s in samples]),
                    "changed": sorted(set(s["changed"] for s in samples)),
                    "reads": sorted(set(str(s["read"]) for s in samples)),
                    "ops": sorted(set(" ".join(s["ops"]) for s in samples))}
        finally:
            lab.stop()
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    with open(options.output + ".json", "w", encoding="utf-8") as handle:
        json.dump(out, handle, indent=2)
    with open(options.output + ".md", "w", encoding="utf-8") as handle:
        handle.write(render(out))
    print(render(out))


def render(out):
    first = out["first"]
    lines = ["## Argus target in rounds: %d entries, %d interleaved rounds" % (out["entries"], out["rounds"]), "",
             "Generated by `bench/argus_sync_rounds.py` (Python %s, %s CPUs, load average %s at start, %s at end). "
             "The module runs in its own process (module file + args file); calls and bytes (SOAP request + reply "
             "bodies) are counted by the lab PAP's dispatcher. Each round: a change of k=10 (5 removed spread over the "
             "list, 5 added; undone by the next round), the no-op right after it, a no-op read in full "
             "(`full_read_interval: 0`). Column read: how the target knew the PAP's state (`state`: the change planned "
             "from the target's state record after one listPolicySets; `versions`: a no-op proven by one "
             "listPolicySets; `full`: listPolicySets + listPolicies)." % (
                 out["python"], out["cpus"], out["load_average_at_start"], out["load_average_at_end"]), "",
             "First sync: %d calls (%s), %.1f MB, %.2f s wall, %.2f s module CPU, %s owned policies." % (
                 first["calls"], ", ".join(sorted(set(first["ops"]))), first["bytes"] / 1e6, first["seconds"],
                 first["cpu_seconds"], first["chunks"]), "",
             "| step | samples | read | calls min/med/max | KB on the wire min/med/max | wall s min/med/max | "
             "module CPU s min/med/max | operations |", "|---|---:|---|---|---|---|---|---|"]
    for name in STEPS:
        s = out["steps"][name]
        lines.append("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
            name, s["samples"], ", ".join(s["reads"]), "/".join("%d" % s["calls"][k] for k in ("min", "median", "max")),
            "/".join("%.0f" % (s["bytes"][k] / 1e3) for k in ("min", "median", "max")),
            "/".join("%.2f" % s["seconds"][k] for k in ("min", "median", "max")),
            "/".join("%.2f" % s["cpu_seconds"][k] for k in ("min", "median", "max")),
            "; ".join(s["ops"])))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
