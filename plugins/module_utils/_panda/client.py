# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Client of the PanDA server HTTP API v1 (``/api/v1/<module>/<method>``).

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Every call sends ``Accept: application/json`` (the server otherwise answers with ``str()`` of a Python
object), POST bodies as JSON, GET parameters as a query string with repeated keys for lists. Replies are
the envelope ``{"success": bool, "message": str, "data": ...}``; datetimes ``{"__datetime__": iso}`` are
decoded to their ISO 8601 string, so results stay JSON-serialisable.

Error mapping:

- ``success: false`` -> ``RemoteError`` carrying the server's message (except calls whose failure codes are
  meaningful, such as ``task/kill``, which return them);
- HTTP 403 with a ``text/plain`` body (``ERROR : <name> is banned``, token authentication failure,
  ``method <m> is forbidden``) -> ``AuthorizationError`` carrying that text;
- any other non-2xx reply or a reply that is not the JSON envelope -> ``RemoteError``.

OIDC: with a token, ``Authorization: Bearer <token>`` and ``Origin: <vo>[:<role>]`` are sent. The token is
never recorded: ``.operations`` holds only the method, path and the number of ids of each call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    RemoteError,
)
from ansible_collections.gridsec.ops.plugins.module_utils._http_options import NO_CREDENTIAL_HINT

API_PREFIX = "/api/v1"
KILL_BATCH = 1000  # ids per job/kill call, as pandaserver/test/killUser.py does
DESCRIPTION_BATCH = 1000  # ids per get_description call (the server truncates at 5500)
# job/get_status is GET only, its ids go in the URL: keep each request line well under Apache's LimitRequestLine
# (8190 bytes by default) in front of the real server.
STATUS_QUERY_BYTES = 7000
SINCE_FORMAT = "%Y-%m-%d %H:%M:%S"


def _decode_object(value):
    """``json.loads`` object hook: ``{"__datetime__": iso}`` -> ``iso`` (a string), every other object unchanged.

    Done by the parser as it builds each object, instead of a second recursive walk over the decoded reply: a
    walk in Python cost about 1 s for the 20 description replies of a 10,000-job kill.
    """
    if len(value) == 1 and "__datetime__" in value:
        return value["__datetime__"]
    return value


def decode_json(text):
    """The server's JSON text with its conventions decoded (see ``_decode_object``)."""
    return json.loads(text, object_hook=_decode_object)


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _to_text(data):
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""


def _header(headers, name):
    if not headers:
        return ""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value or ""
    return ""


class PandaClient(object):
    """One method per PanDA API call the collection uses.

    ``transport`` is an ``HttpTransport`` (``_http.py``) whose base URL is the server root
    (``https://host:25443``); ``server_label`` names the server in errors.
    """

    def __init__(self, transport, server_label=None, oidc_token=None, oidc_vo=None, oidc_role=None,
                 api_prefix=API_PREFIX):
        self.transport = transport
        self.server_label = server_label or getattr(transport, "base_url", None) or "PanDA server"
        self.api_prefix = api_prefix.rstrip("/")
        self.operations = []
        self._headers = {"Accept": "application/json"}
        if oidc_token:
            self._headers["Authorization"] = "Bearer %s" % oidc_token
            if oidc_vo:
                self._headers["Origin"] = "%s:%s" % (oidc_vo, oidc_role) if oidc_role else oidc_vo

    # -- plumbing -----------------------------------------------------------------------------------
    def _error(self, cls, msg, operation, details=None):
        return cls(msg, server=self.server_label, operation=operation, details=details)

    def call(self, verb, module_method, params=None, body=None, ids=None, allow_failure=False):
        """Send one API call; return the decoded envelope ``{"success", "message", "data"}``.

        ``ids`` is only the number recorded in ``.operations``. With ``allow_failure`` a ``success: false``
        envelope is returned instead of raised.
        """
        path = "%s/%s" % (self.api_prefix, module_method)
        operation = module_method
        record = {"method": verb, "path": path}
        if ids is not None:
            record["ids"] = ids
        self.operations.append(record)
        headers = dict(self._headers)
        kwargs = {"operation": operation, "headers": headers}
        if verb == "GET":
            kwargs["params"] = params or {}
        else:
            headers["Content-Type"] = "application/json"
            kwargs["data"] = json.dumps(body if body is not None else {}).encode("utf-8")
        try:
            status, reply_headers, payload = self.transport.request(verb, path, **kwargs)
        except AuthorizationError as err:
            # The transport raises on 401/403; PanDA's reason is the text/plain body ("ERROR : <name> is
            # banned", token failure, "method <m> is forbidden"): put it in the message.
            details = getattr(err, "details", None) or {}
            record["status"] = details.get("status")
            body = _to_text(details.get("body")).strip()
            status = details.get("status") or 403
            raise self._error(AuthorizationError, "refused (HTTP %s): %s" % (status, body or "forbidden"),
                              operation, details=details)
        record["status"] = status
        text = _to_text(payload).strip()
        content_type = _header(reply_headers, "Content-Type")
        if status == 403:
            raise self._error(AuthorizationError, "refused (HTTP 403): %s" % (text[:500] or "forbidden"), operation,
                              details={"status": status, "body": text[:2000]})
        if status < 200 or status >= 300:
            raise self._error(RemoteError, "HTTP %s: %s" % (status, text[:500]), operation,
                              details={"status": status, "body": text[:2000]})
        try:
            envelope = decode_json(text)
        except ValueError:
            raise self._error(RemoteError, "reply is not JSON (Content-Type %r): %s" % (content_type, text[:300]),
                              operation,
                              details={"status": status, "body": text[:2000]})
        if not isinstance(envelope, dict) or "success" not in envelope:
            raise self._error(RemoteError, "reply without the API envelope: %s" % text[:300], operation,
                              details={"status": status})
        envelope.setdefault("message", "")
        envelope.setdefault("data", None)
        record["success"] = bool(envelope["success"])
        if not envelope["success"] and not allow_failure:
            message = envelope.get("message") or "no message"
            hint = ""
            if ("secure connection is required" in message and not self._headers.get("Authorization")
                    and getattr(self.transport, "client_credential", "unknown") is None):
                # The server saw no client certificate because none was configured (not a rejected one).
                hint = " (%s)" % (NO_CREDENTIAL_HINT % getattr(self.transport, "default_proxy", "/tmp/x509up_u<uid>"))
            raise self._error(RemoteError, "failed: %s%s" % (message, hint), operation,
                              details={"message": envelope.get("message"), "data": envelope.get("data")})
        return envelope

    def _data(self, verb, module_method, params=None, body=None, ids=None):
        return self.call(verb, module_method, params=params, body=body, ids=ids)["data"]

    # -- system -------------------------------------------------------------------------------------
    def is_alive(self):
        """``GET system/is_alive`` (no authentication needed); True when the server answers success."""
        return bool(self.call("GET", "system/is_alive")["success"])

    # -- jobs ---------------------------------------------------------------------------------------
    def kill_jobs(self, job_ids, code=None, kill_options=None):
        """``POST job/kill`` in batches of at most 1000 ids; one boolean per id, in order.

        ``True`` means the kill flag was written (the job may still be running), ``False`` that nothing was
        done (unknown or finished job, not allowed, already flagged).
        """
        ids = [int(i) for i in job_ids]
        results = []
        for batch in _chunks(ids, KILL_BATCH):
            body = {"job_ids": batch}
            if code is not None:
                body["code"] = int(code)
            if kill_options:
                body["kill_options"] = list(kill_options)
            data = self._data("POST", "job/kill", body=body, ids=len(batch))
            if not isinstance(data, list) or len(data) != len(batch):
                raise self._error(RemoteError, "returned %r for %d ids (expected one boolean per id)"
                                  % (data, len(batch)), "job/kill")
            results.extend(bool(item) for item in data)
        return results

    def get_job_descriptions(self, job_ids, include_archive=True):
        """``job/get_description[_incl_archive]``: one dict (JobSpec attributes) or None per id, in order."""
        method = "job/get_description_incl_archive" if include_archive else "job/get_description"
        ids = [int(i) for i in job_ids]
        results = []
        for batch in _chunks(ids, DESCRIPTION_BATCH):
            data = self._data("POST", method, body={"job_ids": batch}, ids=len(batch))
            if not isinstance(data, list) or len(data) != len(batch):
                raise self._error(RemoteError, "returned %d entries for %d ids"
                                  % (len(data) if isinstance(data, list) else -1, len(batch)), method)
            results.extend(item if isinstance(item, dict) else None for item in data)
        return results

    def get_job_statuses(self, job_ids):
        """``GET job/get_status``: ``{"status", "command"}`` per id, in order (a few SQL rows per id on the server,
        against whole job descriptions for ``get_description``).

        The server reads jobsActive4 and the last hour of jobsArchived4 only (``DBProxy.checkJobStatus``): any
        other job, including one still in jobsDefined4, comes back as ``unknown`` with command ``tobekilled``.
        The ids are sent in as few requests as the URL budget (``STATUS_QUERY_BYTES``) allows.
        """
        ids = [int(i) for i in job_ids]
        results = []
        start = 0
        while start < len(ids):
            end, length = start, 0
            while end < len(ids) and (end == start or length + len(str(ids[end])) + 9 <= STATUS_QUERY_BYTES):
                length += len(str(ids[end])) + 9  # "job_ids=<id>&"
                end += 1
            batch = ids[start:end]
            data = self._data("GET", "job/get_status", params={"job_ids": batch}, ids=len(batch))
            if not isinstance(data, list) or len(data) != len(batch):
                raise self._error(RemoteError, "returned %d entries for %d ids"
                                  % (len(data) if isinstance(data, list) else -1, len(batch)), "job/get_status")
            results.extend(item if isinstance(item, dict) else {"status": None, "command": None} for item in data)
            start = end
        return results

    # -- users --------------------------------------------------------------------------------------
    def get_banned_users(self):
        """``GET metaconfig/get_banned_users``: sorted list of banned PanDA user names (read from the DB)."""
        data = self._data("GET", "metaconfig/get_banned_users")
        if isinstance(data, dict):
            return sorted(data)
        if isinstance(data, list):
            return sorted(str(item) for item in data)
        return []

    # -- tasks --------------------------------------------------------------------------------------
    def kill_task(self, task_id):
        """``POST task/kill``; returns ``{"task_id", "success", "code", "message"}`` without raising on a refusal.

        ``code``: 0 registered, 2 unknown task, 4 task in a state that cannot be killed, None when refused
        (not the owner, no production role) or on another error.
        """
        env = self.call("POST", "task/kill", body={"task_id": int(task_id)}, allow_failure=True)
        code = env.get("data")
        return {"task_id": int(task_id), "success": bool(env["success"]),
                "code": code if isinstance(code, int) and not isinstance(code, bool) else None,
                "message": env.get("message") or ""}

    def kill_unfinished_jobs(self, task_id, code=None):
        """``POST task/kill_unfinished_jobs``: one boolean per unfinished job of the task."""
        body = {"task_id": int(task_id)}
        if code is not None:
            body["code"] = int(code)
        data = self._data("POST", "task/kill_unfinished_jobs", body=body)
        return [bool(item) for item in (data or [])]

    def get_tasks_detailed_info_since(self, since=None, user_name=None, n_tasks=None, filters=None):
        """``GET task/get_tasks_detailed_info_since``: list of task dicts.

        ``since`` is a ``datetime`` or a ``%Y-%m-%d %H:%M:%S`` string (the server caps the window at 90 days;
        omit it for no cap). ``user_name`` selects the tasks of that PanDA user (otherwise the server uses the
        caller's own name).
        """
        params = {}
        if since is not None:
            if isinstance(since, (datetime.datetime, datetime.date)):
                since = since.strftime(SINCE_FORMAT)
            params["since"] = since
        criteria = dict(filters or {})
        if user_name is not None:
            criteria["userName"] = user_name
        if criteria:
            params["filters"] = json.dumps(criteria, sort_keys=True)
        if n_tasks is not None:
            params["n_tasks"] = int(n_tasks)
        data = self._data("GET", "task/get_tasks_detailed_info_since", params=params)
        if isinstance(data, dict):  # defensive: some servers key results by task id
            data = list(data.values())
        return [item for item in (data or []) if isinstance(item, dict)]

    def get_task_job_ids(self, task_id):
        """``GET task/get_job_ids``: every PandaID of the task (any status), sorted."""
        data = self._data("GET", "task/get_job_ids", params={"task_id": int(task_id)})
        return sorted(int(item) for item in (data or []))

    def get_task_status(self, task_id):
        """``GET task/get_status``: the task status string."""
        return self._data("GET", "task/get_status", params={"task_id": int(task_id)})
