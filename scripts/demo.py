"""Driver of `make demo`: start the embedded lab, stage an incident, run playbooks/demo.yml, stop the lab.

1. an Argus PAP hierarchy (central -> relay -> site, lab/gridsec_lab/argus/hierarchy.example.yml);
2. the lab PanDA (API + BigPanDA-style monitor over the PanDA PostgreSQL schema);
3. a suspicious prun job submitted by "Alice Lab", a second queued job, and the pilot work directory a site
   would find on its worker node;
4. ansible-playbook playbooks/demo.yml with the endpoints and credentials as extra vars.
"""
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lab"))

from gridsec_lab import pg  # noqa: E402
from gridsec_lab.argus.lab import ArgusLab  # noqa: E402
from gridsec_lab.pki import TestPKI  # noqa: E402

WORK = os.path.join(ROOT, ".tmp", "demo")
SUSPECT_PARAMS = ('-j "" --sourceURL https://pandacache.lab.gridsec.test:25443 -r . -p "python3 miner.py" '
                  '-a jobO.5f0c2a1e-demo.tar.gz --inDS user.alice.input')


def banner(text):
    print("\n\033[1m== %s ==\033[0m" % text, flush=True)


def stage_panda(pki):
    if not pg.schema_dir_available():
        print("PanDA schema not found at %s (set GRIDSEC_PANDA_SCHEMA_DIR): the PanDA part is skipped"
              % pg.default_schema_dir())
        return None, {}
    from gridsec_lab import panda
    endpoint = panda.start(os.path.join(WORK, "panda"), pki, ban_cache_seconds=5)
    alice = endpoint.users["alice"]
    suspect = endpoint.submit_job(alice, jobParameters=SUSPECT_PARAMS, creationHost="ui04.lab.gridsec.test",
                                  computingSite="LAB_SITE", batchID="ce01.lab#4711.0#1700000000")
    endpoint.set_job_status(suspect, "running")
    queued = endpoint.submit_job(alice, jobParameters=SUSPECT_PARAMS, computingSite="LAB_SITE")
    # What the site finds on the worker node: the pilot3 main dir, the job dir, and the pilot log.
    workdir = os.path.join(WORK, "worker", "PanDA_Pilot3_31337_1700000000", "PanDA_Pilot-%d" % suspect)
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(os.path.dirname(workdir), "pilotlog.txt"), "w") as handle:
        handle.write("2026-11-22 03:00:01,000 | INFO | pilot.control.job | retrieve | received job: %d\n" % suspect)
        handle.write("2026-11-22 03:00:02,000 | INFO | pilot.control.job | run | processing PanDA job %d from "
                     "task 0\n" % suspect)
    return endpoint, {
        "panda_url": endpoint.url, "panda_monitor_url": endpoint.monitor_url, "panda_ca_path": endpoint.ca_path,
        "panda_admin_cert": endpoint.admin.cert, "panda_admin_key": endpoint.admin.key,
        "panda_db": {"host": endpoint.db.host, "port": endpoint.db.port, "name": endpoint.db.dbname,
                     "user": endpoint.db.user},
        "suspect_workdir": workdir, "suspect_panda_id": suspect, "queued_panda_id": queued,
        "suspect_user_dn": alice.dn,
    }


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    pki = TestPKI(os.path.join(WORK, "pki"))
    banner("Starting the embedded lab")
    argus = ArgusLab(os.path.join(ROOT, "lab", "gridsec_lab", "argus", "hierarchy.example.yml"),
                     os.path.join(WORK, "argus"), poll_interval=1, pki=pki).start()
    panda_endpoint = None
    try:
        for name, info in argus.paps.items():
            print("Argus PAP %-8s %s" % (name, info.url))
        panda_endpoint, panda_vars = stage_panda(pki)
        if panda_endpoint:
            print("PanDA      %s  (monitor %s)" % (panda_endpoint.url, panda_endpoint.monitor_url))
        admin = argus.creds["admin"]
        demo_vars = {
            "argus_paps": {name: {"host": "localhost", "port": info.port} for name, info in argus.paps.items()},
            "argus_ca_path": argus.ca_dir, "argus_admin_cert": admin.cert, "argus_admin_key": admin.key,
            "suspect_dn": "/DC=test/DC=gridsec-lab/OU=Users/CN=alice/CN=123456/CN=Alice Lab",
            "with_panda": panda_endpoint is not None,
        }
        demo_vars.update(panda_vars)
        vars_file = os.path.join(WORK, "vars.json")
        with open(vars_file, "w") as handle:
            json.dump(demo_vars, handle, indent=2)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".tmp", "collections"),
                   ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_CALLBACK_RESULT_FORMAT="yaml",
                   ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable)
        banner("Running playbooks/demo.yml")
        started = time.monotonic()
        rc = subprocess.call([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                              "localhost,", "-c", "local", "--diff", os.path.join(ROOT, "playbooks", "demo.yml"),
                              "-e", "@" + vars_file], env=env, cwd=ROOT)
        banner("Demo %s in %.0f s" % ("finished" if rc == 0 else "FAILED", time.monotonic() - started))
        return rc
    finally:
        if panda_endpoint:
            panda_endpoint.stop()
        argus.stop()


if __name__ == "__main__":
    sys.exit(main())
