#!/usr/bin/env python3
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Bench as users run it (issue 20 item 7): the shared harness of the bench scripts. Not a benchmark itself.

- ``LabPandaProcess``, ``LabArgusProcess``: the lab PanDA / one lab Argus PAP in its own process (``python
  bench/harness.py serve-panda|serve-argus``), counting on the server side every call and the bytes in (request
  line, headers, body) and out (status line, headers, body).
- ``run_task``: one module task as Ansible runs it: a one-task playbook through ``ansible-playbook`` (connection
  local, AnsiballZ as on any host), its duration from a callback (task start -> result), its result from the
  same callback, and the module process's peak RSS and CPU from a wrapper interpreter that waits for it
  (``os.wait4``: the module's own rusage, not the controller's).
- ``run_floor``: the physical floor, a stdlib-only client process (``http.client`` + ``ssl``) making the minimal
  calls, with its wall time, peak RSS and CPU measured the same way.
- ``interleave`` and ``spread``: rounds in rotating order (each half runs first, middle and last in turn) and
  min / median / max of each figure, with the load average at the start of each measurement.
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON = sys.executable
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(PYTHON), "ansible-playbook")

# The interpreter Ansible is told to use: runs the real one as a child, waits for it with os.wait4 and records
# its rusage (peak RSS, CPU), then exits with its status. -SE: the wrapper's own start costs ~10 ms.
WRAPPER = '''#!%(python)s -SE
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(%(python)r, [%(python)r] + sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
out = os.environ.get("GRIDSEC_BENCH_RUSAGE")
if out:
    with open(out, "a") as handle:
        handle.write(json.dumps({"maxrss_kib": usage.ru_maxrss, "user_s": usage.ru_utime,
                                 "sys_s": usage.ru_stime}) + "\\n")
sys.exit(os.waitstatus_to_exitcode(status))
'''

CALLBACK = '''
import json, os, time
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "gridsec_bench_harness"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self):
        super().__init__()
        self.records = []
        self.start = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.start = (task.get_name(), time.monotonic())

    def _done(self, result, ok):
        name, start = self.start
        self.records.append({"task": name, "seconds": time.monotonic() - start, "ok": ok,
                             "result": result._result})

    def v2_runner_on_ok(self, result):
        self._done(result, True)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result, False)

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["GRIDSEC_BENCH_TIMES"], "w") as handle:
            json.dump(self.records, handle, default=str)
'''


def machine():
    """CPU count, Python version and the commit measured (with `+dirty` when the worktree has changes)."""
    def git(*args):
        return subprocess.run(["git", "-C", ROOT] + list(args), capture_output=True, text=True,
                              check=False).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += "+dirty"
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0], "commit": commit}


def load1():
    return os.getloadavg()[0]


# -- the server in its own process ------------------------------------------------------------------------
def _serve_panda(workdir, counters):
    """Child process: the lab PanDA with per-request counting, until SIGTERM."""
    sys.path.insert(0, os.path.join(ROOT, "lab"))
    from gridsec_lab import panda, pg
    from gridsec_lab.panda import server as panda_server
    from gridsec_lab.pki import TestPKI

    handler = panda_server.Handler
    original_handle, original_send = handler._handle, handler._send
    log = open(counters, "a", buffering=1)

    def _handle(self, verb):
        self._bench_out = 0
        original_handle(self, verb)
        _count_requests(log, self.path.split("?", 1)[0], verb, _request_head_bytes(self),
                        int(self.headers.get("Content-Length") or 0), self._bench_out)

    def _send(self, status, body, content_type):
        data = body.encode() if isinstance(body, str) else body
        # the status line and the four headers the lab sends, as on the wire
        self._bench_out = len(data) + 120 + len(content_type)
        original_send(self, status, body, content_type)

    handler._handle, handler._send = _handle, _send
    pki = TestPKI(os.path.join(workdir, "pki"))
    endpoint = panda.start(os.path.join(workdir, "panda"), pki, None, pg.admin_dsn(), ban_cache_seconds=600)
    db = endpoint.db
    info = {"url": endpoint.url, "ca_path": endpoint.ca_path, "ca_file": pki.ca_cert_path,
            "admin": {"cert": endpoint.admin.cert, "key": endpoint.admin.key, "dn": endpoint.admin.dn},
            "db": {"host": db.host, "port": db.port, "dbname": db.dbname, "user": db.user, "password": db.password,
                   "meta_schema": db.meta_schema, "panda_schema": db.panda_schema, "deft_schema": db.deft_schema,
                   "dsn": db.dsn()}}
    _serve_until_term(workdir, info)
    endpoint.stop()


def _count_requests(log, path, verb, head_bytes, body_bytes, out_bytes):
    log.write(json.dumps({"path": path, "verb": verb, "in": head_bytes + body_bytes, "out": out_bytes}) + "\n")


def _request_head_bytes(handler):
    return len(handler.requestline) + 2 + sum(len(k) + len(v) + 4 for k, v in handler.headers.items()) + 2


def _serve_argus(workdir, counters):
    """Child process: one lab PAP (its usual request cap) with per-request counting, until SIGTERM."""
    sys.path.insert(0, os.path.join(ROOT, "lab"))
    from gridsec_lab.argus import server as argus_server
    from gridsec_lab.argus.lab import ArgusLab

    handler = argus_server._Handler  # pylint: disable=protected-access
    original_post, original_write = handler.do_POST, handler.end_headers_and_body
    log = open(counters, "a", buffering=1)

    def do_post(self):
        self._bench_out = 0
        original_post(self)
        _count_requests(log, self.path.split("?", 1)[0], "POST", _request_head_bytes(self),
                        int(self.headers.get("Content-Length") or 0), self._bench_out)

    def end_headers_and_body(self, body):
        self._bench_out = sum(len(part) for part in self._headers_buffer) + 2 + len(body)
        original_write(self, body)

    handler.do_POST, handler.end_headers_and_body = do_post, end_headers_and_body
    lab = ArgusLab({"paps": [{"name": "pap"}]}, os.path.join(workdir, "argus"), poll_interval=3600)
    lab.start()
    pap = next(iter(lab.paps.values()))
    admin = lab.creds["admin"]
    info = {"url": pap.url, "port": pap.port, "ca_path": lab.ca_dir, "ca_file": lab.pki.ca_cert_path,
            "admin": {"cert": admin.cert, "key": admin.key, "dn": admin.dn}}
    _serve_until_term(workdir, info)
    lab.stop()


def _serve_until_term(workdir, info):
    done = []
    signal.signal(signal.SIGTERM, lambda *_: done.append(1))
    with open(os.path.join(workdir, "info.json.tmp"), "w") as handle:
        json.dump(info, handle)
    os.rename(os.path.join(workdir, "info.json.tmp"), os.path.join(workdir, "info.json"))
    while not done and os.getppid() != 1:  # stop with the bench that started it, however it ended
        time.sleep(0.2)


class ServerProcess(object):
    """A lab server in a child process (``python bench/harness.py serve-<kind>``); ``info`` (its URL, CA and the
    admin credential) and the server-side counters (``reset()``, ``counters()``)."""

    kind = None

    def __init__(self, workdir):
        self.workdir = workdir
        self.counter_file = os.path.join(workdir, "counters.jsonl")
        self.proc = None
        self.info = None

    def __enter__(self):
        os.makedirs(self.workdir, exist_ok=True)
        self.proc = subprocess.Popen([PYTHON, os.path.abspath(__file__), "serve-" + self.kind, self.workdir,
                                      self.counter_file])
        info = os.path.join(self.workdir, "info.json")
        deadline = time.monotonic() + 300
        while not os.path.exists(info):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the lab %s did not start" % self.kind)
            time.sleep(0.2)
        with open(info) as handle:
            self.info = json.load(handle)
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)

    def reset(self):
        open(self.counter_file, "w").close()

    def counters(self):
        """``{"calls", "bytes_in", "bytes_out", "by_path": {path: calls}}`` since the last ``reset()``."""
        with open(self.counter_file) as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        by_path = {}
        for row in rows:
            by_path[row["path"]] = by_path.get(row["path"], 0) + 1
        return {"calls": len(rows), "bytes_in": sum(r["in"] for r in rows), "bytes_out": sum(r["out"] for r in rows),
                "by_path": by_path}


class LabArgusProcess(ServerProcess):
    """One lab Argus PAP in its own process; ``conn()`` gives the module options of the admin credential."""

    kind = "argus"

    def conn(self):
        info = self.info
        return {"pap_host": "localhost", "pap_port": info["port"], "client_cert": info["admin"]["cert"],
                "client_key": info["admin"]["key"], "ca_path": info["ca_path"], "timeout": 1800}


class LabPandaProcess(ServerProcess):
    """The lab PanDA in its own process; ``conn()`` gives the ``group/gridsec.ops.panda`` options."""

    kind = "panda"

    def conn(self, with_db=True):
        """The module options of the admin credential (``group/gridsec.ops.panda`` defaults)."""
        info = self.info
        conn = {"panda_url": info["url"], "client_cert": info["admin"]["cert"], "client_key": info["admin"]["key"],
                "ca_path": info["ca_path"], "timeout": 1800}
        if with_db:
            db = info["db"]
            conn.update(db_host=db["host"], db_port=db["port"], db_name=db["dbname"], db_user=db["user"],
                        db_meta_schema=db["meta_schema"], db_panda_schema=db["panda_schema"],
                        db_deft_schema=db["deft_schema"])
            if db["password"]:
                conn["db_password"] = db["password"]
        return conn


# -- the module as Ansible runs it ------------------------------------------------------------------------
def _wrapper(tmp):
    path = os.path.join(tmp, "python-rusage")
    if not os.path.exists(path):
        with open(path, "w") as handle:
            handle.write(WRAPPER % {"python": PYTHON})
        os.chmod(path, 0o755)
    return path


def run_task(tmp, task, variables=None, collections=None, check_mode=False):
    """One task (``{"gridsec.ops.x": {...}, "module_defaults": ...}``) in a one-task playbook.

    Returns ``{"task_s", "playbook_s", "maxrss_mib", "cpu_s", "result", "load1"}``: the task's duration from the
    callback, the whole ansible-playbook wall, the module process's peak RSS and CPU (user + system)."""
    os.makedirs(tmp, exist_ok=True)
    play = [{"name": "bench", "hosts": "localhost", "gather_facts": False,
             "tasks": [dict(task, name="measured", check_mode=check_mode)]}]
    playbook = os.path.join(tmp, "play.json")
    with open(playbook, "w") as handle:
        json.dump(play, handle)
    vars_file = os.path.join(tmp, "vars.json")
    with open(vars_file, "w") as handle:
        json.dump(variables or {}, handle)
    cb_dir = os.path.join(tmp, "callbacks")
    os.makedirs(cb_dir, exist_ok=True)
    with open(os.path.join(cb_dir, "gridsec_bench_harness.py"), "w") as handle:
        handle.write(CALLBACK)
    times, usage = os.path.join(tmp, "times.json"), os.path.join(tmp, "rusage.jsonl")
    for path in (times, usage):
        if os.path.exists(path):
            os.unlink(path)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections or os.path.join(ROOT, ".tmp", "collections"),
               ANSIBLE_CALLBACK_PLUGINS=cb_dir, ANSIBLE_CALLBACKS_ENABLED="gridsec_bench_harness",
               GRIDSEC_BENCH_TIMES=times, GRIDSEC_BENCH_RUSAGE=usage, ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOME=os.path.join(tmp, "ansible-home"), ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "ansible-tmp"))
    load = load1()
    started = time.monotonic()
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "-e",
                           "ansible_python_interpreter=%s" % _wrapper(tmp), "-e", "@%s" % vars_file, playbook],
                          env=env, capture_output=True, text=True, check=False)
    playbook_s = time.monotonic() - started
    if not os.path.exists(times):
        raise SystemExit("playbook failed:\n%s\n%s" % (proc.stdout[-5000:], proc.stderr[-3000:]))
    with open(times) as handle:
        record = json.load(handle)[0]
    with open(usage) as handle:
        rusage = [json.loads(line) for line in handle if line.strip()][-1]
    return {"task_s": record["seconds"], "playbook_s": playbook_s, "maxrss_mib": rusage["maxrss_kib"] / 1024.0,
            "cpu_s": rusage["user_s"] + rusage["sys_s"], "result": record["result"], "ok": record["ok"],
            "load1": load}


# -- the physical floor -----------------------------------------------------------------------------------
FLOOR_CLIENT = r'''
import http.client, json, ssl, sys
spec = json.load(open(sys.argv[1]))
context = ssl.create_default_context(cafile=spec["ca_file"])
context.load_cert_chain(spec["cert"], spec["key"])
conn = http.client.HTTPSConnection(spec["host"], spec["port"], context=context, timeout=1800)
for verb, path, body, content_type, expect in spec["calls"]:
    conn.request(verb, path, body=body.encode() if body is not None else None,
                 headers={"Accept": "application/json", "Content-Type": content_type})
    reply = conn.getresponse()
    data = reply.read()
    assert reply.status == 200 and expect.encode() in data, data[:300]
'''


def run_floor(tmp, server, calls):
    """A stdlib-only client process making ``calls`` on one connection with the admin credential: PanDA calls
    ``(verb, path, json_body)``, or raw ones ``(verb, path, text_body, content_type, expected_text)``. Returns
    ``{"wall_s", "maxrss_mib", "cpu_s", "load1"}`` (the process's wall time, peak RSS and CPU)."""
    os.makedirs(tmp, exist_ok=True)
    info = server.info
    host_port = info["url"].split("//", 1)[1].split("/", 1)[0]
    raw = [call if len(call) == 5 else (call[0], call[1], json.dumps(call[2]), "application/json", '"success": true')
           for call in calls]
    spec = {"ca_file": info["ca_file"], "cert": info["admin"]["cert"], "key": info["admin"]["key"],
            "host": host_port.rsplit(":", 1)[0], "port": int(host_port.rsplit(":", 1)[1]), "calls": raw}
    spec_file, script = os.path.join(tmp, "floor.json"), os.path.join(tmp, "floor.py")
    with open(spec_file, "w") as handle:
        json.dump(spec, handle)
    with open(script, "w") as handle:
        handle.write(FLOOR_CLIENT)
    usage_file = os.path.join(tmp, "rusage.jsonl")
    if os.path.exists(usage_file):
        os.unlink(usage_file)
    load = load1()
    started = time.monotonic()
    # through the same wrapper as the module: Linux keeps the RSS high-water mark across exec, so a process
    # spawned straight from this (big) one would report this one's RSS
    proc = subprocess.run([_wrapper(tmp), "-S", script, spec_file],
                          env=dict(os.environ, GRIDSEC_BENCH_RUSAGE=usage_file),
                          capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("the floor client failed: %s" % proc.stderr[-2000:])
    with open(usage_file) as handle:
        usage = json.loads(handle.read().splitlines()[-1])
    return {"wall_s": wall, "maxrss_mib": usage["maxrss_kib"] / 1024.0, "cpu_s": usage["user_s"] + usage["sys_s"],
            "load1": load}


# -- rounds ---------------------------------------------------------------------------------------------
def interleave(halves, rounds, setup=None):
    """``halves``: ``{name: fn(round) -> dict}``; each round runs them all, the order rotated by one each round
    (so each runs first, in the middle and last). ``setup(round)`` runs first, untimed. Returns
    ``[{"round", "order", name: dict}]``."""
    names = list(halves)
    out = []
    for index in range(rounds):
        if setup:
            setup(index)
        shift = index % len(names)
        order = names[shift:] + names[:shift]
        entry = {"round": index, "order": order}
        for name in order:
            entry[name] = halves[name](index)
        out.append(entry)
    return out


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values), "n": len(values)}


def fmt(spread_value, digits=2):
    if not spread_value:
        return "n/a"
    pattern = "%%.%df / %%.%df / %%.%df" % (digits, digits, digits)
    return pattern % (spread_value["min"], spread_value["median"], spread_value["max"])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] in ("serve-panda", "serve-argus"):
        (_serve_panda if sys.argv[1] == "serve-panda" else _serve_argus)(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit("usage: harness.py serve-panda|serve-argus WORKDIR COUNTERS (the bench scripts start it)")
