#!/usr/bin/env python3
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Benchmark: ``gridsec.ops.argus_canary state=checked`` over N lab PAP endpoints in ONE task, against one task
per host over the same endpoints (Ansible forks), on this machine.

    .venv/bin/python bench/canary_check.py                 # 200 PAPs, writes bench/results-canary.{md,json}
    .venv/bin/python bench/canary_check.py --paps 50 --forks 5 --workers 16

The lab PAPs run in this process (one HTTPS server thread each, no polling); today's canary is banned on every one
of them, so each check does the full work (getAllPaps, getOrder, getPollingInterval, the PDP view, evaluation).
Wall times include ansible-playbook's own start-up, which is what an operator or a cron job waits for.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
for path in (COLLECTIONS, os.path.join(ROOT, "lab")):
    if path not in sys.path:
        sys.path.insert(0, path)

from gridsec_lab.argus.lab import ArgusLab  # noqa: E402
from gridsec_lab.pki import TestPKI  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import canary_dn, utc_date  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import PapClient  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport  # noqa: E402

SALT = "bench-salt"
ONE_TASK = """---
- name: One task
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Check every endpoint
      gridsec.ops.argus_canary:
        state: checked
        salt: "{{ salt }}"
        endpoints: "{{ endpoints }}"
        max_workers: "{{ workers }}"
        fail_on: never
        client_cert: "{{ cert }}"
        client_key: "{{ key }}"
        ca_path: "{{ ca }}"
      register: check
    - name: Report
      ansible.builtin.debug:
        msg: "BENCH {{ {'elapsed': check.elapsed, 'summary': check.summary} | to_json }}"
"""
PER_HOST = """---
- name: One task per host
  hosts: paps
  gather_facts: false
  tasks:
    - name: Check this host's PAP
      gridsec.ops.argus_canary:
        state: checked
        salt: "{{ salt }}"
        pap_host: localhost
        pap_port: "{{ pap_port }}"
        fail_on: never
        client_cert: "{{ cert }}"
        client_key: "{{ key }}"
        ca_path: "{{ ca }}"
      register: check
    - name: Every host OK
      ansible.builtin.assert:
        that: check.summary.OK == 1
        quiet: true
"""


def env_for(tmp):
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "local"),
               ANSIBLE_HOME=os.path.join(tmp, "home"), PATH=os.path.dirname(sys.executable) + os.pathsep +
               env.get("PATH", ""))
    return env


def run(cmd, env):
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-5000:])
        raise SystemExit("%s failed (%d)" % (cmd[-1], proc.returncode))
    return wall, proc.stdout


def bench_line(output):
    """The module's own figures from the debug line ``BENCH {...}``."""
    for line in output.splitlines():
        if '"msg": "BENCH ' in line:
            return json.loads(json.loads(line.split('"msg": ', 1)[1])[len("BENCH "):])
    raise SystemExit("no BENCH line in the output:\n" + output[-3000:])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paps", type=int, default=200)
    parser.add_argument("--workers", type=int, default=32, help="max_workers of the one-task check")
    parser.add_argument("--forks", type=int, default=10, help="Ansible forks of the one-task-per-host run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the one-task check (best and median kept)")
    parser.add_argument("--skip-per-host", action="store_true")
    parser.add_argument("--out", default=os.path.join(HERE, "results-canary.md"))
    parser.add_argument("--json", default=os.path.join(HERE, "results-canary.json"))
    args = parser.parse_args()

    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    tmp = tempfile.mkdtemp(prefix="bench-canary-")
    # host credentials are reused between runs (making 200 of them takes a while)
    pki = TestPKI(os.path.join(ROOT, ".tmp", "bench-canary-pki"))
    config = {"paps": [{"name": "pap%03d" % i} for i in range(args.paps)]}
    started = time.monotonic()
    lab = ArgusLab(config, os.path.join(tmp, "lab"), poll_interval=3600, pki=pki).start()
    lab_start = time.monotonic() - started
    try:
        admin = lab.creds["admin"]
        reader = lab.creds["reader"]
        value = canary_dn(SALT, utc_date())
        for info in lab.paps.values():
            transport = HttpTransport(info.url, client_cert=admin.cert, client_key=admin.key, ca_path=lab.ca_dir,
                                      timeout=30, retries=0)
            PapClient(transport, server_label="localhost:%d" % info.port).ban("default", "subject", value)
        common = {"salt": SALT, "cert": reader.cert, "key": reader.key, "ca": lab.ca_dir}
        env = env_for(tmp)

        one_task_book = os.path.join(tmp, "one_task.yml")
        with open(one_task_book, "w") as handle:
            handle.write(ONE_TASK)
        endpoints = [{"name": name, "host": "localhost", "port": info.port} for name, info in lab.paps.items()]
        vars_file = os.path.join(tmp, "one_task_vars.json")
        with open(vars_file, "w") as handle:
            json.dump(dict(common, endpoints=endpoints, workers=args.workers), handle)
        one_task = []
        for _ in range(args.repeat):
            wall, output = run([ansible_playbook, "-i", "localhost,", "-c", "local", "-e",
                                "ansible_python_interpreter=%s" % sys.executable, "-e", "@" + vars_file,
                                one_task_book], env)
            module = bench_line(output)
            if module["summary"]["OK"] != args.paps:
                raise SystemExit("not every node OK: %r" % module["summary"])
            one_task.append({"wall": round(wall, 2), "module_elapsed": module["elapsed"]})

        per_host = None
        if not args.skip_per_host:
            inventory = os.path.join(tmp, "inventory.ini")
            with open(inventory, "w") as handle:
                handle.write("[paps]\n")
                for name, info in lab.paps.items():
                    handle.write("%s ansible_connection=local pap_port=%d ansible_python_interpreter=%s\n"
                                 % (name, info.port, sys.executable))
            per_host_book = os.path.join(tmp, "per_host.yml")
            with open(per_host_book, "w") as handle:
                handle.write(PER_HOST)
            vars_file = os.path.join(tmp, "per_host_vars.json")
            with open(vars_file, "w") as handle:
                json.dump(common, handle)
            wall, _output = run([ansible_playbook, "-i", inventory, "-f", str(args.forks), "-e", "@" + vars_file,
                                 per_host_book], env)
            per_host = {"wall": round(wall, 2), "forks": args.forks}
    finally:
        lab.stop()

    walls = sorted(r["wall"] for r in one_task)
    median = walls[len(walls) // 2]
    elapsed = sorted(r["module_elapsed"] for r in one_task)
    task_median = elapsed[len(elapsed) // 2]
    results = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
                    "python": platform.python_version()},
        "paps": args.paps, "lab_start_seconds": round(lab_start, 1), "workers": args.workers,
        "one_task": {"runs": one_task, "best_wall": walls[0], "median_wall": median,
                     "median_task_seconds": task_median},
        "per_host": per_host,
        "ratio_per_host_over_one_task": round(per_host["wall"] / median, 1) if per_host else None,
        "target_seconds": 5.0, "target_met_by_task": task_median < 5.0, "target_met_by_playbook": median < 5.0,
    }
    with open(args.json, "w") as handle:
        json.dump(results, handle, indent=2)
        handle.write("\n")
    lines = [
        "# argus_canary checked: one task vs one task per host",
        "",
        "Generated by `bench/canary_check.py` on %s (%d CPUs, load average at the end %s, Python %s). "
        "The machine is shared with other work, so the figures vary between runs." % (
            results["date"], results["machine"]["cpus"], " ".join(str(x) for x in results["machine"]["loadavg_at_end"]),
            results["machine"]["python"]),
        "",
        "%d lab PAPs in one process (started in %.1f s), today's canary banned on each; the check reads each PAP "
        "(getAllPaps, getOrder, getPollingInterval, ProvisioningService PDP view) and evaluates the canary." % (
            args.paps, lab_start),
        "",
        "| run | wall (s) | detail |",
        "|---|---|---|",
    ]
    for i, r in enumerate(one_task, 1):
        lines.append("| one task, %d endpoints, max_workers %d (run %d) | %.2f | module elapsed %.2f s |"
                     % (args.paps, args.workers, i, r["wall"], r["module_elapsed"]))
    if per_host:
        lines.append("| one task per host, %d hosts, forks %d | %.2f | |" % (args.paps, per_host["forks"],
                                                                          per_host["wall"]))
    lines += ["", "- one task, median time of the check itself (module elapsed): **%.2f s** (target < 5 s: %s)"
              % (task_median, "met" if task_median < 5 else "NOT met"),
              "- one task, median wall of the whole ansible-playbook run (start-up included): **%.2f s** (%s)"
              % (median, "under 5 s" if median < 5 else "over 5 s")]
    if per_host:
        lines.append("- one task per host / one task: **%.1f x**" % results["ratio_per_host_over_one_task"])
    with open(args.out, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
