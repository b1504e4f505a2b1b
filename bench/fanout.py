#!/usr/bin/env python3
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Fan-out of one ban over N lab PAPs: ``argus_policy`` vs the same SOAP call made with ``ansible.builtin.uri``
(issue 10, bench item 3).

    .venv/bin/python bench/fanout.py [--sizes 20,50,100] [--repeat 3] [--settings linear:5,free:5,linear:20] [--quick]

N lab PAPs are started in one process; an inventory of N hosts (connection local) points each host at its PAP.
For each setting (strategy:forks) and repetition, three playbook runs are made back to back:
``argus_policy`` banning a new DN (first run), the same again (idempotent re-run, nothing to write), and the
baseline: one ``ansible.builtin.uri`` POST of the HighLevelPolicyManagementService ``ban`` envelope per host (a new
DN), after the two in even repetitions and before them in odd ones. Reported: medians of the playbook wall times, the ratios ours / baseline (target <= 1.2 at default forks) and
re-run / first run (target <= 1), and the SOAP calls per PAP counted by the lab servers.

Writes bench/results-fanout.md and bench/results-fanout.json.
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
ENVELOPE = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            '<hl:ban xmlns:hl="http://org.glite.authz/wsdl/pap/services/highlevel_policy_management">'
            '<alias>default</alias><id>subject</id><value>{{ ban_value }}</value><resource>.*</resource>'
            '<action>.*</action><isPublic>true</isPublic></hl:ban></soapenv:Body></soapenv:Envelope>')


def playbooks(tmp):
    ours = [{"name": "ban (argus_policy)", "hosts": "paps", "gather_facts": False, "strategy": "{{ strategy }}",
             "tasks": [{"name": "ban", "gridsec.ops.argus_policy": {"subjects": ["{{ ban_dn }}"]},
                        "module_defaults": {"group/gridsec.ops.argus": {
                            "pap_host": "localhost", "pap_port": "{{ pap_port }}", "client_cert": "{{ cert }}",
                            "client_key": "{{ key }}", "ca_path": "{{ ca_dir }}"}}}]}]
    base = [{"name": "ban (uri)", "hosts": "paps", "gather_facts": False, "strategy": "{{ strategy }}",
             "tasks": [{"name": "ban", "ansible.builtin.uri": {
                 "url": "https://localhost:{{ pap_port }}/pap/services/HighLevelPolicyManagementService",
                 "method": "POST", "body": ENVELOPE, "client_cert": "{{ cert }}", "client_key": "{{ key }}",
                 "ca_path": "{{ ca_file }}", "headers": {"Content-Type": "text/xml; charset=utf-8",
                                                         "SOAPAction": '""'}}}]}]
    paths = {}
    for name, play in (("ours", ours), ("baseline", base)):
        paths[name] = os.path.join(tmp, "%s.yml" % name)
        with open(paths[name], "w") as handle:
            json.dump(play, handle)
    return paths


def run(tmp, playbook, inventory, forks, extravars):
    vars_file = os.path.join(tmp, "vars.json")
    with open(vars_file, "w") as handle:
        json.dump(extravars, handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".tmp", "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOME=os.path.join(tmp, "ansible-home"), ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "ansible-tmp"),
               ANSIBLE_HOST_KEY_CHECKING="False")
    started = time.monotonic()
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", inventory, "-f", str(forks), "-e", "@%s" % vars_file, playbook],
                          env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (playbook, proc.stdout[-5000:], proc.stderr[-3000:]))
    return seconds


class CallCounter(object):
    """Counts the SOAP POSTs every lab PAP of the run answers (wraps each PapServer's ``dispatch``)."""

    def __init__(self, lab):
        import threading
        self.lock = threading.Lock()
        self.count = 0
        for server in lab.servers.values():
            server.dispatch = self._wrap(server.dispatch)

    def _wrap(self, dispatch):
        def counted(*args, **kwargs):
            with self.lock:
                self.count += 1
            return dispatch(*args, **kwargs)
        return counted

    def take(self):
        with self.lock:
            count, self.count = self.count, 0
        return count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,50,100")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--settings", default="linear:5,free:5,linear:20")
    parser.add_argument("--quick", action="store_true", help="5 PAPs, one repetition")
    parser.add_argument("--output", default=os.path.join(HERE, "results-fanout"))
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeat = "5", 1
    from gridsec_lab.argus.lab import ArgusLab
    from gridsec_lab.pki import TestPKI

    sizes = [int(x) for x in args.sizes.split(",")]
    settings = [(item.split(":")[0], int(item.split(":")[1])) for item in args.settings.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="gridsec-bench-fanout-") as tmp:
        pki = TestPKI(os.path.join(tmp, "pki"))
        paths = playbooks(tmp)
        for size in sizes:
            lab = ArgusLab({"paps": [{"name": "pap%03d" % i} for i in range(size)]}, os.path.join(tmp, "lab%d" % size),
                           poll_interval=3600, pki=pki).start()
            try:
                counter = CallCounter(lab)
                admin = lab.creds["admin"]
                inventory = os.path.join(tmp, "inventory-%d.json" % size)
                with open(inventory, "w") as handle:
                    json.dump({"paps": {"hosts": dict((name, {"ansible_connection": "local",
                                                              "ansible_python_interpreter": PYTHON,
                                                              "pap_port": info.port})
                                                      for name, info in lab.paps.items())}}, handle)
                common = {"cert": admin.cert, "key": admin.key, "ca_dir": lab.ca_dir, "ca_file": pki.ca_cert_path}
                for strategy, forks in settings:
                    first, rerun, base = [], [], []
                    calls = {}
                    for rep in range(args.repeat):
                        dn = "/DC=org/DC=bench/CN=Fanout %d %s %d %d" % (size, strategy, forks, rep)
                        extravars = dict(common, strategy=strategy, ban_dn=dn)
                        counter.take()

                        def baseline():
                            base.append(run(tmp, paths["baseline"], inventory, forks, dict(
                                common, strategy=strategy, ban_value="CN=Baseline %d %s %d %d,DC=bench,DC=org" % (
                                    size, strategy, forks, rep))))
                            calls["baseline"] = counter.take() / float(size)

                        # the baseline goes last in even repetitions and first in odd ones, so that a load
                        # trend does not favour one side; the re-run always follows its first run
                        if rep % 2:
                            baseline()
                        first.append(run(tmp, paths["ours"], inventory, forks, extravars))
                        calls["first"] = counter.take() / float(size)
                        rerun.append(run(tmp, paths["ours"], inventory, forks, extravars))
                        calls["rerun"] = counter.take() / float(size)
                        if not rep % 2:
                            baseline()
                    row = {"paps": size, "strategy": strategy, "forks": forks, "soap_calls_per_pap": calls,
                           "first_median": statistics.median(first), "rerun_median": statistics.median(rerun),
                           "baseline_median": statistics.median(base),
                           "runs_seconds": {"first": first, "rerun": rerun, "baseline": base}}
                    row["ratio_first_over_baseline"] = row["first_median"] / row["baseline_median"]
                    row["ratio_rerun_over_baseline"] = row["rerun_median"] / row["baseline_median"]
                    row["ratio_rerun_over_first"] = row["rerun_median"] / row["first_median"]
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            finally:
                lab.stop()
    results = {"bench": "fanout", "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
               "machine": {"cpus": os.cpu_count(), "loadavg_at_end": list(os.getloadavg()),
                           "python": platform.python_version()},
               "repeat": args.repeat, "rows": rows,
               "targets": {"ours_over_baseline_default_forks": 1.2, "rerun_over_first": 1.0}}
    with open(args.output + ".json", "w") as handle:
        json.dump(results, handle, indent=2)
    lines = ["# Fan-out: one ban on N lab PAPs, argus_policy vs ansible.builtin.uri", "",
             "%s; %d CPUs, load average at end %s; Python %s; medians of %d paired runs (playbook wall time)." % (
                 results["date"], results["machine"]["cpus"],
                 " ".join("%.1f" % x for x in results["machine"]["loadavg_at_end"]), results["machine"]["python"],
                 args.repeat), "",
             "| PAPs | strategy | forks | ours first s | ours re-run s | uri s | first / uri | re-run / uri | "
             "re-run / first | POSTs per PAP (first / re-run / uri) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        calls = row["soap_calls_per_pap"]
        lines.append("| %d | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %g / %g / %g |" % (
            row["paps"], row["strategy"], row["forks"], row["first_median"], row["rerun_median"],
            row["baseline_median"], row["ratio_first_over_baseline"], row["ratio_rerun_over_baseline"],
            row["ratio_rerun_over_first"], calls["first"], calls["rerun"], calls["baseline"]))
    lines += ["", "Targets: first / uri <= 1.2 at the default forks (5), re-run / first <= 1."]
    with open(args.output + ".md", "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
