# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The ansible-runner entry point documented in docs/awx.md: run an FQCN playbook of the collection with
``ansible_runner.run`` and turn the per-host events into a pass/fail table.

Run against a lab PAP (good) and a PAP address where nothing listens (dead) in one inventory: the table must say
which PAP failed even though the playbook keeps going on the others (``ignore_errors`` in the ban task), and the
run as a whole must fail. A second run against the good PAP only reports it ``ok`` (nothing left to change).
"""
import os
import sys
from urllib.parse import urlsplit

import pytest

ansible_runner = pytest.importorskip("ansible_runner")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
BIN = os.path.dirname(sys.executable)

DN = "/DC=test/DC=gridsec/OU=Users/CN=Runner Suspect"


def per_host_outcome(events):
    """The parser shown in docs/awx.md: {host: "failed" | "changed" | "ok"} from ansible-runner events.

    A host is failed when any task failed on it (also a failure the play ignored to carry on with the other
    hosts) or it was unreachable; changed when a task changed something; ok otherwise.
    """
    outcome = {}
    rank = {"ok": 0, "changed": 1, "failed": 2}
    for event in events:
        kind = event.get("event")
        data = event.get("event_data", {})
        host = data.get("host")
        if not host or kind not in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable"):
            continue
        if kind == "runner_on_ok":
            state = "changed" if data.get("res", {}).get("changed") else "ok"
        else:
            state = "failed"
        if rank[state] >= rank[outcome.get(host, "ok")]:
            outcome[host] = state
    return outcome


def task_results(events, task):
    """{host: module result} of one task (runner_on_ok / runner_on_failed events)."""
    return {e["event_data"]["host"]: e["event_data"].get("res", {})
            for e in events
            if e.get("event") in ("runner_on_ok", "runner_on_failed") and e["event_data"].get("task") == task}


def run_ban(tmp_path, name, hosts, lab):
    credential = lab.creds["admin"]
    inventory = {
        "all": {
            "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}},
            "children": {"argus_paps": {"hosts": hosts}},
            "vars": {"argus_client_cert": credential.cert, "argus_client_key": credential.key,
                     "argus_ca_path": lab.ca_dir, "argus_pap_path": "/pap/services"},
        }
    }
    private = tmp_path / name
    (private / "env").mkdir(parents=True)
    envvars = {
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
    }
    return ansible_runner.run(private_data_dir=str(private), playbook="gridsec.ops.argus_ban", inventory=inventory,
                              extravars={"argus_subjects": [DN]}, envvars=envvars, quiet=True)


@pytest.mark.slow
def test_runner_per_host_pass_fail(argus_pap, argus_dead_url, tmp_path):
    dead = urlsplit(argus_dead_url)
    hosts = {
        "pap-good": {"argus_pap_host": "localhost", "argus_pap_port": argus_pap.pap.port},
        "pap-dead": {"argus_pap_host": "localhost", "argus_pap_port": dead.port},
    }
    run = run_ban(tmp_path, "first", hosts, argus_pap)
    events = list(run.events)
    outcome = per_host_outcome(events)
    # one PAP down: the run fails (the summary play's final task), and the table says which PAP it was
    assert run.status == "failed" and run.rc != 0, run.stdout.read()
    assert outcome["pap-good"] == "changed", outcome
    assert outcome["pap-dead"] == "failed", outcome
    bans = task_results(events, "Ban")
    assert "localhost:%d" % dead.port in bans["pap-dead"].get("msg", ""), bans["pap-dead"]
    assert [s["normalized"] for s in bans["pap-good"]["banned_subjects"]] == [DN], bans["pap-good"]
    assert "ban" in [op["operation"] for op in bans["pap-good"]["operations"]], bans["pap-good"]
    # runner's own per-host counters agree
    assert run.stats["failures"].get("pap-dead") or run.stats["ignored"].get("pap-dead"), run.stats

    # the same ban again on the good PAP only: everything passes, nothing changes
    again = run_ban(tmp_path, "second", {"pap-good": hosts["pap-good"]}, argus_pap)
    events = list(again.events)
    assert again.status == "successful" and again.rc == 0, again.stdout.read()
    assert per_host_outcome(events) == {"pap-good": "ok", "localhost": "ok"}
    ban = task_results(events, "Ban")["pap-good"]
    assert ban["changed"] is False and "ban" not in [op["operation"] for op in ban["operations"]], ban
