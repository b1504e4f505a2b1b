"""One-shot operations that run *inside the panda-server virtualenv*, through the server's own code.

Used by :mod:`.server_ops` for the few states the HTTP API alone cannot reach without the PanDA daemons
(which the lab does not run):

``add <PandaID>``
    What one cycle of the ``add_main`` daemon does for one job: lock its job output report
    (``TaskBuffer.lockJobOutputReport``) and run ``AdderGen`` (dummy adder plug-in), which archives a job
    the pilot reported ``finished``/``failed`` (it sits in ``holding`` until then).

``task <json>``
    Materialise the ``JEDI_Tasks`` row of a task submitted through ``/api/v1/task/submit``, as JEDI's task
    refiner would: a ``JediTaskSpec`` stored with the server's ``insertTask_JEDI`` (no hand-written SQL).

Prints one JSON line on stdout; exits with ``os._exit`` (the TaskBuffer leaves non-daemon threads).
"""
import json
import os
import sys
import traceback


def _task_buffer():
    from pandacommon.pandautils.thread_utils import GenericThread
    from pandaserver.config import panda_config
    from pandaserver.taskbuffer.TaskBuffer import taskBuffer

    requester = GenericThread().get_full_id(__name__, __file__)
    taskBuffer.init(panda_config.dbhost, panda_config.dbpasswd, nDBConnection=1, useTimeout=True,
                    requester=requester)
    return taskBuffer


def add(panda_id):
    from pandaserver.brokerage.SiteMapper import SiteMapper
    from pandaserver.dataservice.adder_gen import AdderGen

    tb = _task_buffer()
    reports = tb.listJobOutputReport(only_unlocked=True, time_limit=10, limit=1000, grace_period=0)
    mine = [r for r in (reports or []) if int(r[0]) == int(panda_id)]
    if not mine:
        return {"ok": False, "error": "no job output report for PandaID=%s (did the pilot report a final "
                                      "state?) reports=%r" % (panda_id, reports)}
    _, job_status, attempt_nr, _ = mine[0]
    pid = "gridsec-lab-%d" % os.getpid()
    if not tb.lockJobOutputReport(panda_id=panda_id, attempt_nr=attempt_nr, pid=pid, time_limit=10):
        return {"ok": False, "error": "could not lock the job output report of PandaID=%s" % panda_id}
    adder = AdderGen(tb, panda_id, job_status, attempt_nr, ignore_tmp_error=True, siteMapper=SiteMapper(tb),
                     pid=pid, prelock_pid=pid, lock_offset=9)
    adder.run()
    return {"ok": True, "job_status": job_status, "attempt_nr": attempt_nr}


def task(spec):
    from pandaserver.taskbuffer.JediTaskSpec import JediTaskSpec

    from pandaserver.srvcore.CoreUtils import clean_user_id, get_bare_dn

    tb = _task_buffer()
    dn = spec.pop("_dn", None)
    if dn and "userName" not in spec:
        spec["userName"] = clean_user_id(get_bare_dn(dn, keep_proxy=True))
    ts = JediTaskSpec()
    for key, value in spec.items():
        if key not in JediTaskSpec.attributes:
            raise ValueError("unknown JediTaskSpec attribute %r" % key)
        setattr(ts, key, value)
    with tb.proxyPool.get() as proxy:
        ok = proxy.insertTask_JEDI(ts)
    return {"ok": bool(ok), "jediTaskID": ts.jediTaskID}


def main(argv):
    try:
        if argv[0] == "add":
            result = add(int(argv[1]))
        elif argv[0] == "task":
            result = task(json.loads(argv[1]))
        else:
            result = {"ok": False, "error": "unknown operation %r" % argv[0]}
    except Exception as exc:
        result = {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc), "traceback": traceback.format_exc()}
    sys.stdout.write("\nRESULT " + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if result.get("ok") else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
