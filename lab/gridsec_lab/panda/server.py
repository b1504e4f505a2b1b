"""The lab PanDA HTTPS server: the v1 API endpoints the collection uses, a BigPanDA-style JSON monitor
under ``/monitor/``, and the front-door ban check with a per-process ban-list cache.

Behaviour follows PANDA.md (panda-server 1.0.4): JSON envelope ``{success, message, data}``, datetimes as
``{"__datetime__": iso}``, 403 ``text/plain`` for banned users and forbidden methods, "SSL secure connection
is required" for callers without a (non-limited) certificate.
"""
import datetime
import decimal
import http.server
import json
import re
import socket
import ssl
import threading
import time
import traceback
import typing
import urllib.parse

from psycopg import sql

from ..tls import nodelay, peer_identity, server_context
from .naming import clean_user_id
from .store import TASK_FINAL_STATES, Store
from .tokens import is_production

OPTIONAL_INT = typing.Optional[int]

MONITOR_EXACT_FIELDS = ("prodsourcelabel", "jeditaskid", "jobsetid", "computingsite", "jobdefinitionid")

# JediTaskSpec attribute names used in task records (the real server's keys); other columns stay lower case.
TASK_ATTRIBUTE_BY_COLUMN = {name.lower(): name for name in (
    "jediTaskID taskName status userName creationDate modificationTime reqID oldStatus cloud site startTime "
    "endTime frozenTime prodSourceLabel workingGroup vo coreCount taskType processingType taskPriority "
    "currentPriority architecture transUses transHome transPath lockedBy lockedTime termCondition splitRule"
).split()}


class ApiError(Exception):
    def __init__(self, status, text):
        super().__init__(text)
        self.status = status
        self.text = text


class Caller:
    def __init__(self, identity, production_dns, token=None):
        self.identity = identity
        # The server sees SSL_CLIENT_S_DN, i.e. the presented certificate's subject (a proxy's own DN).
        self.dn = identity.leaf_dn if identity else None
        self.secure = bool(identity) and not identity.is_limited_proxy and "/CN=limited proxy" not in self.dn
        fqans = ()
        if token is not None and token.dn:  # decode_token sets SSL_CLIENT_S_DN: Protocol.isSecure is satisfied
            self.dn, fqans = token.dn, token.fqans
            self.secure = "/CN=limited proxy" not in self.dn
        self.name = clean_user_id(self.dn) if self.dn else None
        self.production = bool(self.dn) and (any(item and item in self.dn for item in production_dns)
                                             or is_production(fqans))


def _json_default(value):
    if isinstance(value, datetime.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(type(value).__name__)


def _monitor_default(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return _json_default(value)


# (module, method) -> (allowed verbs, secure required, {param: (type, default)})
API = {
    ("system", "is_alive"): ("GET", False, {}),
    ("metaconfig", "get_banned_users"): ("GET", True, {}),
    ("job", "submit"): ("POST", True, {"jobs": (list, None)}),
    ("job", "kill"): ("POST", True, {"job_ids": (list, None), "code": (OPTIONAL_INT, None),
                                     "use_email_as_id": (bool, False), "kill_options": (list, [])}),
    ("job", "get_description"): ("GET POST", True, {"job_ids": (list, None)}),
    ("job", "get_description_incl_archive"): ("GET POST", True, {"job_ids": (list, None)}),
    ("job", "get_status"): ("GET", True, {"job_ids": (list, None), "timeout": (int, 60)}),
    ("task", "kill"): ("POST", True, {"task_id": (int, None), "broadcast": (bool, False)}),
    ("task", "kill_unfinished_jobs"): ("POST", True, {"task_id": (int, None), "code": (OPTIONAL_INT, None),
                                                      "use_email_as_id": (bool, False)}),
    ("task", "get_status"): ("GET", True, {"task_id": (int, None)}),
    ("task", "get_job_ids"): ("GET", True, {"task_id": (int, None)}),
    ("task", "get_tasks_detailed_info_since"): ("GET", True, {"since": (str, None), "filters": (dict, None),
                                                              "n_tasks": (int, 500)}),
}


def _type_name(kind):
    return {list: "list", int: "int", bool: "bool", str: "str", dict: "dict", OPTIONAL_INT: "int"}[kind]


def _cast(name, kind, value, from_query):
    """Cast one parameter like the server does from its handlers' type hints."""
    if value is None:
        return None
    if kind is list:
        if isinstance(value, list):
            return [int(v) if isinstance(v, str) and v.isdigit() else v for v in value]
        raise ApiError(None, "Type error: '%s' must be of type list, got %s." % (name, type(value).__name__))
    if from_query and isinstance(value, list):
        value = value[-1]
    try:
        if kind in (int, OPTIONAL_INT):
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if kind is bool:
            if isinstance(value, bool):
                return value
            return str(value).lower() in ("1", "true", "yes")
        if kind is dict:
            return value if isinstance(value, dict) else json.loads(value)
        return str(value)
    except (TypeError, ValueError):
        raise ApiError(None, "Type error: '%s' must be of type %s, got %s." % (
            name, _type_name(kind), type(value).__name__)) from None


class LabPandaServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, store, host_cred, ca_dir, production_dns, ban_cache_seconds, token_auth=None):
        super().__init__(address, Handler)
        self.token_auth = token_auth  # gridsec_lab.panda.tokens.TokenAuth, or None (token_authType = None)
        self.store = store
        self.production_dns = list(production_dns)
        self.ban_cache_seconds = ban_cache_seconds
        self._ban_cache = None  # (fetched_at, names)
        self._ban_lock = threading.Lock()
        self.tls = server_context(host_cred.cert, host_cred.key, ca_dir, require_client_cert=False)

    # TLS handshakes happen in the request thread, so one slow client cannot block accept().
    def finish_request(self, request, client_address):
        nodelay(request)
        request.settimeout(30)
        try:
            tls_socket = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.RequestHandlerClass(tls_socket, client_address, self)

    def banned(self, name):
        with self._ban_lock:
            now = time.monotonic()
            if self._ban_cache is None or now - self._ban_cache[0] >= self.ban_cache_seconds:
                self._ban_cache = (now, set(self.store.banned_names()))
            return name in self._ban_cache[1]

    def refresh_ban_cache(self):
        with self._ban_lock:
            self._ban_cache = None

    def server_close(self):
        super().server_close()
        self.store.close()  # the store's pooled connections would otherwise outlive the server


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gridsec-lab-panda/1.0"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    # -- plumbing -------------------------------------------------------------------------------------
    def _send(self, status, body, content_type):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        # headers and body in ONE write (see gridsec_lab.tls.nodelay)
        self._headers_buffer.append(b"\r\n" + data)
        self.flush_headers()

    def _wants_json(self):
        return any("application/json" in (self.headers.get(h) or "") for h in ("Accept", "Content-Type"))

    def _reply(self, success, message, data):
        envelope = {"success": success, "message": message, "data": data}
        if self._wants_json():
            self._send(200, json.dumps(envelope, default=_json_default), "application/json")
        else:  # the real server returns str() of the Python result without a JSON Accept header
            self._send(200, str(envelope), "text/plain")

    def _handle(self, verb):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            if url.path.startswith("/monitor/"):
                self._monitor(url)
                return
            match = re.match(r"^/api/(v1|latest)/([a-z_]+)/([a-z_]+)$", url.path)
            if not match:
                raise ApiError(403, "ERROR : method %s is forbidden" % url.path.rsplit("/", 1)[-1])
            self._api(verb, match.group(2), match.group(3), url.query, body)
        except ApiError as err:
            if err.status is None:
                self._reply(False, err.text, None)
            else:
                self._send(err.status, err.text, "text/plain")
        except Exception as err:  # noqa: BLE001 - the real server answers 500 with the error text
            traceback.print_exc()
            self._send(500, "ERROR : %s" % err, "text/plain")

    def _api(self, verb, module, method, query, body):
        spec = API.get((module, method))
        if spec is None:
            raise ApiError(403, "ERROR : method %s is forbidden" % method)
        verbs, secure_needed, params = spec
        caller = self._caller()
        # Front door: banned users are refused before any handler runs (cached ban list).
        if caller.dn and self.server.banned(caller.name):
            raise ApiError(403, "ERROR : %s is banned" % caller.name)
        if verb not in verbs.split():
            raise ApiError(None, "expecting %s, received %s" % (verbs.split()[-1], verb))
        if secure_needed and not caller.secure:
            raise ApiError(None, "SSL secure connection is required")
        content_type = self.headers.get("Content-Type") or ""
        if verb == "GET" or not body:
            raw = urllib.parse.parse_qs(query, keep_blank_values=True)
            raw = {k: (v if params.get(k, (None,))[0] is list else v[-1]) for k, v in raw.items()}
            from_query = True
        elif "application/json" not in content_type:
            # A form-encoded body carries strings only: lists fail the type check, as on the real server.
            raw = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode(errors="replace")).items()}
            from_query = False
        else:
            try:
                raw = json.loads(body)
            except ValueError as err:
                raise ApiError(500, "ERROR : invalid JSON: %s" % err) from None
            from_query = False
        args = {}
        for name, (kind, default) in params.items():
            args[name] = _cast(name, kind, raw.get(name), from_query) if name in raw else default
        getattr(self, "api_%s_%s" % (module, method))(caller, **args)

    def _caller(self):
        """The caller as panda.py sees it after ``PandaRequest`` and ``pre_validate_request``: a bearer token
        (only with token auth configured) is decided first, and a failed decision is a 403 before the ban
        check; a decided token gives the synthesised DN unless a client certificate was presented."""
        identity = peer_identity(self.connection)
        authorization = self.headers.get("Authorization")
        if self.server.token_auth is None or authorization is None:
            return Caller(identity, self.server.production_dns)
        cert_dn = identity.leaf_dn if identity else None
        decision = self.server.token_auth.decide(authorization, self.headers.get("Origin"), cert_dn)
        if not decision.authenticated:
            raise ApiError(403, "ERROR : Token authentication failed. %s" % decision.message)
        return Caller(identity, self.server.production_dns, token=decision)

    # -- API handlers ---------------------------------------------------------------------------------
    def api_system_is_alive(self, caller):
        self._reply(True, "", None)

    def api_metaconfig_get_banned_users(self, caller):
        self._reply(True, "", {name: False for name in self.server.store.banned_names()})

    def api_job_submit(self, caller, jobs):
        try:
            ids = self.server.store.submit_jobs(caller.dn, jobs or [])
        except ValueError as err:
            self._reply(False, "Failed to submit jobs: %s" % err, None)
            return
        if ids is None:  # checkBanUser: the DB says disabled, whatever the front-door cache says
            self._reply(False, "Failed to submit jobs", None)
            return
        self._reply(True, "", [[panda_id, (job or {}).get("jobName"), {}] for panda_id, job in zip(ids, jobs)])

    def api_job_kill(self, caller, job_ids, code, use_email_as_id, kill_options):
        ids = [int(i) for i in (job_ids or [])]
        self._reply(True, "", self.server.store.kill_jobs(caller.dn, caller.production, ids, code))

    def api_job_get_description(self, caller, job_ids):
        self._reply(True, "", self.server.store.job_descriptions([int(i) for i in job_ids or []][:5500], False))

    def api_job_get_description_incl_archive(self, caller, job_ids):
        self._reply(True, "", self.server.store.job_descriptions([int(i) for i in job_ids or []][:5500], True))

    def api_job_get_status(self, caller, job_ids, timeout):
        self._reply(True, "", self.server.store.job_status([int(i) for i in job_ids or []]))

    def _task_permission(self, caller, task):
        return caller.production or task["username"] == caller.name

    def api_task_kill(self, caller, task_id, broadcast):
        task = self.server.store.task(task_id)
        if task is None:
            self._reply(False, "jediTaskID=%s not found" % task_id, 2)
        elif not self._task_permission(caller, task):
            self._reply(False, "not the task owner or no production role", None)
        elif task["status"] in TASK_FINAL_STATES:
            self._reply(False, "Command rejected: the kill command is not accepted if the task is in %s status"
                        % task["status"], 4)
        else:
            self.server.store.register_task_kill(task_id, caller.name)
            self._reply(True, "command=kill is registered for task ID %s. will be executed in a few minutes"
                        % task_id, 0)

    def api_task_kill_unfinished_jobs(self, caller, task_id, code, use_email_as_id):
        ids = self.server.store.unfinished_task_jobs(task_id)
        self._reply(True, "", self.server.store.kill_jobs(caller.dn, caller.production, ids, code))

    def api_task_get_status(self, caller, task_id):
        task = self.server.store.task(task_id)
        self._reply(task is not None, "" if task else "jediTaskID=%s not found" % task_id,
                    task["status"] if task else None)

    def api_task_get_job_ids(self, caller, task_id):
        self._reply(True, "", self.server.store.task_job_ids(task_id))

    def api_task_get_tasks_detailed_info_since(self, caller, since, filters, n_tasks):
        since_time = datetime.datetime.strptime(since, "%Y-%m-%d %H:%M:%S") if since else datetime.datetime(1970, 1, 1)
        rows = self.server.store.tasks_since(since_time, (filters or {}).get("userName"))
        self._reply(True, "", [{TASK_ATTRIBUTE_BY_COLUMN.get(k, k): v for k, v in row.items()} for row in rows[:n_tasks]])

    # -- BigPanDA-style monitor -----------------------------------------------------------------------
    def _monitor(self, url):
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        store = self.server.store
        path = url.path[len("/monitor"):]
        if path in ("/job", "/job/") or re.match(r"^/job/\d+/?$", path):
            panda_id = int(query.get("pandaid") or path.strip("/").split("/")[-1])
            rows = store.monitor_jobs(sql.SQL("pandaid = %s"), [panda_id])
            result = {"files": [], "job": rows[0] if rows else {}, "dsfiles": []}
        elif path in ("/jobs", "/jobs/"):
            if query.get("dump") == "parameters" and "pandaid" in query:
                ids = [int(x) for x in query["pandaid"].split(",") if x.strip()]
                result = store.job_parameters(ids)
            else:
                clauses, args = [], []
                if "batchid" in query:
                    value = query["batchid"]
                    if any(ch in value for ch in "*|,!"):
                        clauses.append(sql.SQL("batchid LIKE %s"))
                        args.append(value.replace("*", "%"))
                    else:
                        clauses.append(sql.SQL("batchid = %s"))
                        args.append(value)
                if "produsername" in query:  # BigPanDA: case-insensitive substring (produsername__icontains)
                    clauses.append(sql.SQL("produsername ILIKE %s"))
                    args.append("%" + query["produsername"] + "%")
                if "pandaid" in query:
                    clauses.append(sql.SQL("pandaid = %s"))
                    args.append(int(query["pandaid"]))
                if "jobstatus" in query:
                    clauses.append(sql.SQL("jobstatus = ANY(%s)"))
                    args.append(query["jobstatus"].split("|"))
                for field in MONITOR_EXACT_FIELDS:  # other job fields filter exactly, as in BigPanDA's jobList
                    if field in query:
                        clauses.append(sql.SQL("{}::text = %s").format(sql.Identifier(field)))
                        args.append(query[field])
                where = sql.SQL(" AND ").join(clauses) if clauses else sql.SQL("TRUE")
                result = {"selectionsummary": [], "jobs": store.monitor_jobs(where, args), "errsByCount": []}
        else:
            self._send(404, "not found", "text/plain")
            return
        self._send(200, json.dumps(result, default=_monitor_default), "application/json")


def serve(store, host_cred, ca_dir, production_dns, ban_cache_seconds, host="127.0.0.1", port=0, token_auth=None):
    """Start the server in a daemon thread; return it (``server.server_address`` has the port)."""
    server = LabPandaServer((host, port), store, host_cred, ca_dir, production_dns, ban_cache_seconds,
                            token_auth=token_auth)
    thread = threading.Thread(target=server.serve_forever, name="lab-panda", daemon=True)
    thread.start()
    return server


__all__ = ["serve", "LabPandaServer", "socket"]
