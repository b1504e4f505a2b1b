"""Arranging test situations on the real server (dev-venv side of :mod:`.server_child`).

Paths, most honest first:

- job submission: ``POST /api/v1/job/submit`` as the user (launcher ``submit_job``);
- ``activated``: reached by the server itself right after submission (the Setupper, dummy plug-in); we
  only wait for it;
- ``sent``/``starting``/``running``/``holding``/``transferring``: ``POST /api/v1/pilot/update_job`` as the
  lab admin, exactly what a pilot sends (the admin's production role is what the pilot role check asks
  for); the job stays in ``jobsActive4``;
- ``finished``/``failed``: the same pilot call (the job goes to ``holding`` and a job output report is
  recorded), then one Adder cycle for that job through the server's own ``AdderGen``
  (:func:`server_child.add`), which archives it in ``jobsArchived4``;
- tasks: ``POST /api/v1/task/submit`` as the user (T_TASK + JEDI_TaskParams, the real path), then the
  ``JEDI_Tasks`` row JEDI's refiner would create, stored with the server's ``insertTask_JEDI``
  (:func:`server_child.task`): state arranged through server code, not hand-written SQL.
"""
import json
import os
import subprocess
import time

from . import installer

PILOT_STATES = ("sent", "starting", "running", "holding", "transferring")
FINAL_STATES = ("finished", "failed")
WAIT_SECONDS = 60


class ServerOpError(RuntimeError):
    pass


def run_child(endpoint, *args, timeout=120):
    """Run :mod:`.server_child` in the panda-server venv with the endpoint's configuration."""
    from .launcher import _panda_env, log_tails

    env = _panda_env(endpoint.workdir, os.path.join(endpoint.workdir, "panda_home"))
    cmd = [installer.venv_python(), "-m", "gridsec_lab.panda_real.server_child"] + [str(a) for a in args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=endpoint.workdir)
    except subprocess.TimeoutExpired:
        raise ServerOpError("server_child %s timed out after %ds\n%s" % (args[0], timeout, log_tails(endpoint.workdir)))
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
    if not result or not result.get("ok"):
        raise ServerOpError("server_child %s failed (exit %s): %s\n--- stderr tail ---\n%s"
                            % (args[0], proc.returncode, result, proc.stderr[-3000:]))
    return result


def job_status(endpoint, panda_id):
    job = endpoint.get_job(panda_id)
    return None if job is None else job.get("jobStatus")


def wait_status(endpoint, panda_id, accept, timeout=WAIT_SECONDS):
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = job_status(endpoint, panda_id)
        if status in accept:
            return status
        time.sleep(0.2)
    raise ServerOpError("PandaID=%s: status %r after %ds, expected one of %s" % (panda_id, status, timeout, accept))


def pilot_update(endpoint, panda_id, status, **fields):
    body = {"job_id": int(panda_id), "job_status": status, "node": fields.pop("node", "wn01.lab.gridsec.test"),
            "site_name": fields.pop("site_name", endpoint.default_site)}
    if "batchID" in fields:
        body["batch_id"] = fields.pop("batchID")
    if status == "finished":
        body.setdefault("trans_exit_code", 0)
    if status == "failed":
        body.update({"trans_exit_code": 1, "pilot_error_code": 1305, "pilot_error_diag": "failed in the gridsec lab"})
    body.update(fields)
    reply = endpoint.api(endpoint.admin, "POST", "pilot/update_job", json_body=body)
    if not reply.get("success") or (reply.get("data") or {}).get("StatusCode") not in (0, "0"):
        raise ServerOpError("pilot/update_job %s -> %s refused: %r" % (panda_id, status, reply))
    return reply


def set_job_status(endpoint, panda_id, status, **fields):
    current = job_status(endpoint, panda_id)
    if current is None:
        raise ServerOpError("PandaID=%s not found" % panda_id)
    if status == "activated":
        if current in ("defined", "assigned", "pending"):
            return wait_status(endpoint, panda_id, ("activated",))
        if current != "activated":
            raise ServerOpError("PandaID=%s is %s: the server does not move it back to activated" % (panda_id, current))
        return current
    if current in ("defined", "assigned", "pending"):
        wait_status(endpoint, panda_id, ("activated",))
    if status in PILOT_STATES:
        pilot_update(endpoint, panda_id, status, **fields)
        return wait_status(endpoint, panda_id, (status,), timeout=10)
    if status in FINAL_STATES:
        if job_status(endpoint, panda_id) == "activated":
            pilot_update(endpoint, panda_id, "running", node=fields.get("node", "wn01.lab.gridsec.test"))
        pilot_update(endpoint, panda_id, status, **fields)
        run_child(endpoint, "add", panda_id)
        return wait_status(endpoint, panda_id, (status,), timeout=10)
    raise ServerOpError("set_job_status: unsupported target status %r (supported: activated, %s, %s)"
                        % (status, ", ".join(PILOT_STATES), ", ".join(FINAL_STATES)))


def create_task(endpoint, cred, status="running", **fields):
    """Submit a task as ``cred`` (``/api/v1/task/submit``) and store its JEDI_Tasks row; return jediTaskID."""
    stamp = "%d.%06d" % (time.time(), os.getpid())
    slug = (cred.dn.rsplit("CN=", 1)[-1] if cred.dn else "user").replace(" ", "")
    task_name = fields.pop("taskName", "user.%s.gridsec-lab.%s/" % (slug, stamp))
    params = {"taskName": task_name, "vo": "wlcg", "prodSourceLabel": "user", "taskType": "anal",
              "processingType": "gridsec-lab", "taskPriority": 1000,
              "architecture": "", "transUses": "", "transHome": "", "transPath": "runGen-00-00-02",
              "site": endpoint.default_site, "noInput": True, "nEvents": 1, "nEventsPerJob": 1,
              "log": {"type": "template", "param_type": "log", "value": task_name.rstrip("/") + ".log.tgz",
                      "dataset": task_name.rstrip("/") + ".log/"},
              "jobParameters": [{"type": "constant", "value": "-p echo+hello"}]}
    params.update(fields.pop("task_parameters", {}))
    reply = endpoint.api(cred, "POST", "task/submit", json_body={"task_parameters": params})
    task_id = reply.get("data") if isinstance(reply.get("data"), int) else None
    if not reply.get("success") or not task_id:
        raise ServerOpError("task/submit as %s: %r" % (cred.dn, reply))
    # userName: the server's clean_user_id of the submitter's DN (computed in server_child)
    spec = {"jediTaskID": task_id, "taskName": task_name, "status": status, "_dn": cred.dn,
            "vo": "wlcg", "prodSourceLabel": "user", "taskType": "anal", "processingType": "gridsec-lab",
            "taskPriority": 1000, "currentPriority": 1000, "architecture": "", "transUses": "", "transHome": "",
            "transPath": "runGen-00-00-02", "workQueue_ID": 3, "site": endpoint.default_site,
            "reqID": task_id}
    spec.update(fields)
    run_child(endpoint, "task", json.dumps(spec, default=str))
    return task_id
