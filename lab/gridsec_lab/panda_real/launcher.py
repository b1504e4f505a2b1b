"""Start a real panda-server 1.0.4 behind the lab TLS front: :func:`start` -> :class:`RealPandaEndpoint`.

What happens (all idempotent, see ``docs/panda-real.md``):

1. :func:`installer.install` - panda-server in its own virtualenv (cached, stamped);
2. lab credentials: host ``panda-real``, users ``admin`` (listed in ``production_dns``), ``alice``, ``bob``;
3. a uniquely named PostgreSQL database with the PanDA schema (:func:`gridsec_lab.pg.load_panda_schema`);
4. the server configuration under ``<workdir>/panda_home`` (:mod:`.config`);
5. a listening socket on 127.0.0.1 (ephemeral port) handed to the front supervisor (:mod:`.front`), which
   runs detached from the caller (so the CLI can exit) and is stopped through :meth:`RealPandaEndpoint.stop`
   or ``python -m gridsec_lab panda-real --workdir DIR --stop``.
"""
import dataclasses
import json
import os
import signal
import socket
import ssl
import subprocess
import time

import requests
import requests.adapters

from .. import pg
from ..panda_endpoint import PandaDatabase, PandaEndpoint
from ..pki import Credential, TestPKI
from . import installer
from .config import write_config

HERE = os.path.dirname(os.path.abspath(__file__))
LAB_DIR = os.path.dirname(os.path.dirname(HERE))
STATE_FILE = "front-state.json"
ENDPOINT_FILE = "panda.json"
BAN_CACHE_SECONDS = 600  # CachedObject("ban_list", 600, ...) in pandaserver/server/panda.py
DEFAULT_SITE = "GRIDSEC_LAB"
START_TIMEOUT = float(os.environ.get("GRIDSEC_PANDA_REAL_START_TIMEOUT", "240"))


class PandaRealError(RuntimeError):
    pass


def _tail(path, lines=40):
    try:
        with open(path, errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return "(no %s)" % path


def log_tails(workdir, lines=40):
    logs = os.path.join(workdir, "logs")
    parts = []
    for name in ("front.log", "worker.log", os.path.join("panda", "panda-Entry.log"),
                 os.path.join("panda", "panda-TaskBuffer.log")):
        path = os.path.join(logs, name)
        if os.path.exists(path):
            parts.append("--- %s (last %d lines) ---\n%s" % (path, lines, _tail(path, lines)))
    return "\n".join(parts) or "(no logs under %s)" % logs


def _read_state(workdir):
    try:
        with open(os.path.join(workdir, STATE_FILE)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def _pid_alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours is not alive
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def _wait_state(workdir, predicate, timeout, what, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _read_state(workdir)
        if predicate(state):
            return state
        if state.get("error") and not state.get("ready"):
            raise PandaRealError("%s failed: %s\n%s" % (what, state["error"], log_tails(workdir)))
        if proc is not None and proc.poll() is not None:
            raise PandaRealError("%s failed: front supervisor exited with code %s\n%s"
                                 % (what, proc.returncode, log_tails(workdir)))
        time.sleep(0.2)
    raise PandaRealError("%s: timed out after %.0fs\n%s" % (what, timeout, log_tails(workdir)))


def _panda_env(workdir, panda_home):
    env = dict(os.environ)
    for key in ("PYTHONHOME", "VIRTUAL_ENV", "X509_USER_PROXY", "X509_USER_CERT", "X509_USER_KEY"):
        env.pop(key, None)
    env.update({
        "PANDA_HOME": panda_home,
        "PANDA_BEHIND_REAL_LB": "1",   # else pandaclient resolves pandacache.cern.ch at import
        "PYTHONPATH": LAB_DIR,        # gridsec_lab.panda_real.front and gridsec_lab.tls
        "PYTHONUNBUFFERED": "1",
        "HOME": os.path.join(workdir, "home"),  # no ~/etc/panda of the caller
    })
    os.makedirs(env["HOME"], exist_ok=True)
    return env


def _job_spec_layout(python, env):
    """JobSpec/FileSpec attribute order of the installed server (the JSON job format is positional)."""
    code = ("import json; from pandaserver.taskbuffer.JobSpec import JobSpec;"
            "from pandaserver.taskbuffer.FileSpec import FileSpec;"
            "print(json.dumps({'job': list(JobSpec._attributes), 'file': list(FileSpec._attributes),"
            " 'job_zero': list(JobSpec._zeroAttrs)}))")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    if out.returncode != 0:
        raise PandaRealError("cannot read the JobSpec layout from the installed server:\n%s" % out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


@dataclasses.dataclass
class RealPandaEndpoint(PandaEndpoint):
    workdir: str = ""
    supervisor_pid: int = 0
    pg_admin_dsn: str = ""
    job_layout: dict = dataclasses.field(default_factory=dict, repr=False)
    default_site: str = DEFAULT_SITE

    # -- HTTP ---------------------------------------------------------------------------------------
    def _session(self, cred):
        """A requests session doing mutual TLS with an explicit SSLContext (hashed CA dir for the server,
        the credential's proxy file - cert + key + chain - or cert/key for the client)."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if os.path.isdir(self.ca_path):
            ctx.load_verify_locations(capath=self.ca_path)
        else:
            ctx.load_verify_locations(cafile=self.ca_path)
        if cred is not None:
            if getattr(cred, "proxy", None):
                ctx.load_cert_chain(cred.proxy)
            else:
                ctx.load_cert_chain(cred.cert, cred.key)
        session = requests.Session()
        session.mount("https://", _ContextAdapter(ctx))
        session.headers.update({"Accept": "application/json"})
        return session

    def call(self, cred, method, module_method, params=None, json_body=None, timeout=120):
        """``/api/v1/<module_method>`` as ``cred`` (a Credential, a proxy file path, or None for no client
        certificate). Returns the ``requests.Response``."""
        if isinstance(cred, str):
            cred = Credential(cert=cred, key=cred, dn="", proxy=cred)
        url = "%s/api/v1/%s" % (self.url, module_method)
        with self._session(cred) as session:
            if method == "GET":
                return session.get(url, params=params, timeout=timeout)
            return session.post(url, json=json_body if json_body is not None else (params or {}), timeout=timeout)

    def api(self, cred, method, module_method, params=None, json_body=None, timeout=120):
        """Like :meth:`call` but returns the decoded JSON envelope; raises on a non-JSON reply."""
        resp = self.call(cred, method, module_method, params=params, json_body=json_body, timeout=timeout)
        try:
            return resp.json()
        except ValueError:
            raise PandaRealError("%s %s: HTTP %d %r" % (method, module_method, resp.status_code, resp.text[:500]))

    # -- jobs ---------------------------------------------------------------------------------------
    def _job_state(self, fields):
        attrs = self.job_layout["job"]
        unknown = set(fields) - set(attrs)
        if unknown:
            raise ValueError("unknown JobSpec attributes: %s" % ", ".join(sorted(unknown)))
        values = {a: (0 if a in self.job_layout["job_zero"] else None) for a in attrs}
        values.update(fields)
        return [values[a] for a in attrs] + [[]]  # no files

    def default_job_fields(self, submitter):
        """Fields of a plausible user job; ``submitter`` (a Credential or a DN/name) only names it."""
        stamp = "%d.%06d" % (time.time(), os.getpid())
        dn = getattr(submitter, "dn", submitter) or "user"
        name = dn.rsplit("CN=", 1)[-1].split("/")[0].replace(" ", "")
        return {
            "jobDefinitionID": 1, "jobName": "user.%s.gridsec-lab.%s" % (name, stamp),
            "prodSourceLabel": "user", "VO": "wlcg",
            "computingSite": self.default_site, "destinationSE": self.default_site,
            "transformation": "https://localhost/trf/user/runGen-00-00-02",
            "jobParameters": '-j "" --sourceURL https://localhost:25443 -r . -p "echo+hello" '
                             "-a jobO.gridsec-lab-%s.tar.gz" % stamp,
            "prodDBlock": "NULL", "destinationDBlock": "user.%s.gridsec-lab.%s/" % (name, stamp),
            "currentPriority": 1000, "assignedPriority": 1000, "attemptNr": 0, "maxAttempt": 1,
            "cmtConfig": "x86_64-el9-gcc13-opt", "processingType": "gridsec-lab",
            "creationHost": "lab-client.gridsec.test", "jobsetID": 1,
            "coreCount": 1, "minRamCount": 0, "maxDiskCount": 0, "maxCpuCount": 0,
        }

    def submit_job(self, cred, **fields):
        """Submit one job through ``POST /api/v1/job/submit`` as ``cred`` (its proxy if it has one, like
        panda-client); return the PandaID. The JSON job is JobSpec's positional state (what panda-client's
        ``dump_jobs_json`` sends) built from the installed server's JobSpec attribute order."""
        wait = fields.pop("wait_activated", True)
        reply = self.submit_job_reply(cred, **fields)
        if not reply.get("success") or not reply.get("data"):
            raise PandaRealError("job/submit as %s refused: %r" % (cred.dn, reply))
        panda_id = reply["data"][0][0]
        if panda_id in (None, "NULL"):
            raise PandaRealError("job/submit as %s stored nothing: %r" % (cred.dn, reply))
        if wait:  # the Setupper runs in a server thread after the reply: wait until it activated the job
            from . import server_ops
            server_ops.wait_status(self, int(panda_id), ("activated", "failed", "cancelled"))
        return int(panda_id)

    def submit_job_reply(self, cred, **fields):
        """The raw ``job/submit`` envelope (for tests that expect a refusal)."""
        return self.api(cred, "POST", "job/submit", json_body=self.submit_body(fields, cred.dn))

    def submit_body(self, fields, submitter="token-user"):
        job = self.default_job_fields(submitter)
        job.update(fields)
        return {"jobs": json.dumps([self._job_state(job)])}

    def get_job(self, panda_id, cred=None):
        reply = self.api(cred or self.admin, "GET", "job/get_description_incl_archive",
                         params={"job_ids": [panda_id]})
        if not reply.get("success"):
            raise PandaRealError("get_description_incl_archive: %r" % reply)
        return (reply.get("data") or [None])[0]

    def set_job_status(self, panda_id, status, **fields):
        """Move a job the way the server does it (see docs/panda-real.md): ``activated`` through the server's
        own ``TaskBuffer.activateJobs`` (what the Setupper does), ``running``/``finished``/``failed``…
        through the pilot API (``/api/v1/pilot/update_job`` as the admin, who has the production role)."""
        from . import server_ops
        return server_ops.set_job_status(self, panda_id, status, **fields)

    def create_task(self, cred, **fields):
        """Create a JEDI task row owned by ``cred``'s user; return the jediTaskID (see server_ops)."""
        from . import server_ops
        return server_ops.create_task(self, cred, **fields)

    # -- lifecycle ----------------------------------------------------------------------------------
    def refresh_ban_cache(self, timeout=START_TIMEOUT):
        """Restart the worker process (SIGHUP to the supervisor; a new worker is started and must be ready
        before the old one stops): the ban list cache (600 s, per process) starts empty."""
        before = _read_state(self.workdir).get("generation", 0)
        os.kill(self.supervisor_pid, signal.SIGHUP)
        _wait_state(self.workdir, lambda s: s.get("generation", 0) > before and s.get("ready"), timeout,
                    "panda-server worker restart")

    def stop(self):
        stop_workdir(self.workdir)

    def to_json(self):
        data = dataclasses.asdict(self)
        data.pop("job_layout", None)
        return data


class _ContextAdapter(requests.adapters.HTTPAdapter):
    def __init__(self, ctx):
        self._ctx = ctx
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["ssl_context"] = self._ctx
        return super().init_poolmanager(*args, **kwargs)

    def cert_verify(self, conn, url, verify, cert):  # the context already holds CA and client credentials
        conn.cert_reqs = "CERT_REQUIRED"


def _free_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def start(workdir, pki=None, schema_dir=None, pg_admin_dsn=None, log_progress=None, detach=False, token_config=None):
    """Install (first use), configure and start panda-server 1.0.4; return a :class:`RealPandaEndpoint`.

    ``token_config`` (:class:`gridsec_lab.panda_tokens.PandaTokenConfig`): accept bearer tokens from its
    issuer (``token_authType = oidc``, its auth files, its CA as ``REQUESTS_CA_BUNDLE`` of the server).

    The server runs in its own session. Unless ``detach`` is true (the CLI), it stops by itself and drops
    its database when the calling process disappears without calling :meth:`RealPandaEndpoint.stop`."""
    say = log_progress or (lambda msg: None)
    workdir = os.path.abspath(workdir)
    os.makedirs(os.path.join(workdir, "logs"), exist_ok=True)
    pki = pki or TestPKI(os.path.join(workdir, "pki"))
    schema_dir = os.path.abspath(schema_dir or pg.default_schema_dir())
    pg_admin_dsn = pg_admin_dsn or pg.default_admin_dsn()
    if not pg.schema_dir_available(schema_dir):
        raise PandaRealError("PanDA schema directory %s not found (set GRIDSEC_PANDA_SCHEMA_DIR)" % schema_dir)
    prior = _read_state(workdir)
    if _pid_alive(prior.get("supervisor_pid")) and not prior.get("stopped"):
        raise PandaRealError("a panda-real server is already running for %s (pid %s): stop it first"
                             % (workdir, prior.get("supervisor_pid")))

    home = installer.install(log_progress=say)
    venv = os.path.join(home, "venv")
    python = installer.venv_python(home)

    host = pki.host("panda-real")
    admin = pki.user("Gridsec Panda Admin")
    users = {"alice": pki.user("alice"), "bob": pki.user("bob")}

    dbname, dsn = pg.create_database(pg_admin_dsn, prefix="gridsec_panda_real")
    sock = None
    try:
        say("loading the PanDA schema into %s" % dbname)
        pg.load_panda_schema(dsn, schema_dir)
        params = pg.dsn_params(dsn)
        db = PandaDatabase(host=params.get("host") or "127.0.0.1", port=int(params.get("port") or 5432),
                           dbname=dbname, user=params.get("user") or "postgres",
                           password=params.get("password") or "")
        sock = _free_socket()
        port = sock.getsockname()[1]
        panda_home = write_config(workdir, venv=venv, db=db, production_dns=[admin.dn], port=port,
                                  token_config=token_config)
        env = _panda_env(workdir, panda_home)
        if token_config is not None:
            # oidc_utils.TokenDecoder fetches discovery and JWKS with a bare requests.get: trust the issuer's CA
            env["REQUESTS_CA_BUNDLE"] = os.path.abspath(token_config.ca_file)
        env["GRIDSEC_PANDA_REAL_ADMIN_DSN"] = pg_admin_dsn  # for the orphan clean-up only
        layout = _job_spec_layout(python, env)
        state_path = os.path.join(workdir, STATE_FILE)
        if os.path.exists(state_path):
            os.unlink(state_path)
        say("starting panda-server on https://localhost:%d" % port)
        with open(os.path.join(workdir, "logs", "front.log"), "a") as log:
            proc = subprocess.Popen(
                [python, "-m", "gridsec_lab.panda_real.front", "supervisor", "--fd", str(sock.fileno()),
                 "--cert", host.cert, "--key", host.key, "--ca-dir", pki.ca_dir, "--workdir", workdir,
                 "--worker-timeout", str(int(START_TIMEOUT))]
                + ([] if detach else ["--watch-parent", "--drop-db", dbname]),
                pass_fds=(sock.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd=workdir,
                start_new_session=True)
        sock.close()
        sock = None
        _wait_state(workdir, lambda s: s.get("ready") and s.get("generation", 0) >= 1, START_TIMEOUT + 15,
                    "panda-server start", proc=proc)
        endpoint = RealPandaEndpoint(
            kind="real", url="https://localhost:%d" % port, ca_path=pki.ca_dir, admin=admin, users=users, db=db,
            ban_cache_seconds=BAN_CACHE_SECONDS, workdir=workdir, supervisor_pid=proc.pid,
            pg_admin_dsn=pg_admin_dsn, job_layout=layout, token_vo=token_config.vo if token_config else None)
        _write_json(os.path.join(workdir, ENDPOINT_FILE), endpoint.to_json())
        _write_json(os.path.join(workdir, "job-layout.json"), layout)
        # reap the supervisor when it exits if we are still around (no zombie in long pytest sessions)
        _reaper(proc)
        return endpoint
    except BaseException:
        if sock is not None:
            sock.close()
        _kill_supervisor(workdir)
        try:
            pg.drop_database(pg_admin_dsn, dbname)
        except Exception:
            pass
        raise


def _reaper(proc):
    import threading
    threading.Thread(target=proc.wait, daemon=True).start()


def _write_json(path, data):
    with open(path + ".tmp", "w") as handle:
        json.dump(data, handle, indent=2, default=str)
    os.replace(path + ".tmp", path)


def _kill_supervisor(workdir, timeout=20):
    state = _read_state(workdir)
    pid = state.get("supervisor_pid")
    if not _pid_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(pid):
        time.sleep(0.1)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    worker = state.get("worker_pid")
    if _pid_alive(worker):
        os.kill(worker, signal.SIGKILL)


def load_endpoint(workdir):
    """The endpoint described by ``<workdir>/panda.json`` (written by :func:`start`)."""
    with open(os.path.join(workdir, ENDPOINT_FILE)) as handle:
        data = json.load(handle)
    layout_path = os.path.join(workdir, "job-layout.json")
    layout = json.load(open(layout_path)) if os.path.exists(layout_path) else {}
    data["admin"] = Credential(**data["admin"])
    data["users"] = {k: Credential(**v) for k, v in data["users"].items()}
    data["db"] = PandaDatabase(**data["db"])
    data["job_layout"] = layout
    names = {f.name for f in dataclasses.fields(RealPandaEndpoint)}
    return RealPandaEndpoint(**{k: v for k, v in data.items() if k in names})


def stop_workdir(workdir):
    """Stop the server of ``workdir`` and drop its database (idempotent)."""
    workdir = os.path.abspath(workdir)
    _kill_supervisor(workdir)
    path = os.path.join(workdir, ENDPOINT_FILE)
    if os.path.exists(path):
        with open(path) as handle:
            data = json.load(handle)
        if not data.get("dropped"):
            pg.drop_database(data.get("pg_admin_dsn") or pg.default_admin_dsn(), data["db"]["dbname"])
            data["dropped"] = True
            _write_json(path, data)
