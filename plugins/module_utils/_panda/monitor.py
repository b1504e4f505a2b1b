# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Read-only client of the BigPanDA monitor JSON views.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

The monitor answers in JSON when the query has a ``json`` parameter (and ``Accept: application/json`` is
sent). Views used:

- ``/job?pandaid=<id>&json``: ``{"job": {...lower-case columns...}, "files": [...], ...}`` (no job parameters);
- ``/jobs/?pandaid=<id>[,<id>...]&dump=parameters&json``: ``[{"pandaid", "modificationtime", "jobparameters"}]``;
- ``/jobs/?batchid=<id>&json``: ``{"jobs": [...], ...}``. The monitor's own matching is trusted for nothing:
  results are filtered again, exactly and case-sensitively, on ``batchid`` (and ``computingsite``).

An optional ``Authorization: Token <key>`` / ``Bearer <token>`` header is sent; the token is never recorded.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from urllib.parse import urlencode

from ansible_collections.gridsec.ops.plugins.module_utils._errors import NotFoundError, RemoteError
from ansible_collections.gridsec.ops.plugins.module_utils._panda.jobs import normalize_job


class MonitorClient(object):
    """BigPanDA monitor JSON client on an ``HttpTransport`` whose base URL is the monitor root."""

    def __init__(self, transport, token=None, token_type="Bearer", server_label=None):
        self.transport = transport
        self.server_label = server_label or getattr(transport, "server_label", None) or "BigPanDA monitor"
        self.operations = []
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = "%s %s" % (token_type or "Bearer", token)

    def _get(self, view, params, operation):
        query = urlencode(params)
        path = "%s?%s&json" % (view, query) if query else "%s?json" % view
        record = {"method": "GET", "path": path}
        self.operations.append(record)
        status, headers, body = self.transport.request("GET", path, operation=operation, headers=dict(self._headers))
        record["status"] = status
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        if status == 404:
            raise NotFoundError("not found (HTTP 404)", server=self.server_label, operation=operation,
                                details={"status": status})
        if status < 200 or status >= 300:
            raise RemoteError("HTTP %s: %s" % (status, text.strip()[:300]), server=self.server_label,
                              operation=operation, details={"status": status})
        try:
            return json.loads(text)
        except ValueError:
            hint = " (an SSO login page? give monitor_token)" if "<html" in text[:2000].lower() else ""
            raise RemoteError("reply is not JSON%s: %s" % (hint, text.strip()[:200]), server=self.server_label,
                              operation=operation, details={"status": status})

    @staticmethod
    def _job_list(reply):
        if isinstance(reply, dict):
            reply = reply.get("jobs")
        return [item for item in (reply or []) if isinstance(item, dict)]

    def get_job(self, panda_id):
        """One job (``JobSpec`` names, ``Files`` from the monitor's ``files``), or None when the monitor has none."""
        operation = "job pandaid=%s" % panda_id
        try:
            reply = self._get("/job", {"pandaid": int(panda_id)}, operation)
        except NotFoundError:
            return None
        if not isinstance(reply, dict):
            return None
        job = reply.get("job")
        if not isinstance(job, dict) or not job:
            return None
        job = normalize_job(job)
        if str(job.get("PandaID")) != str(int(panda_id)):
            return None
        files = reply.get("files")
        if isinstance(files, list) and not job.get("Files"):
            job["Files"] = [dict(item) for item in files if isinstance(item, dict)]
        return job

    def get_job_parameters(self, panda_ids):
        """``{panda_id: jobParameters}`` for the ids the monitor still has parameters for."""
        ids = [int(i) for i in panda_ids]
        if not ids:
            return {}
        reply = self._get("/jobs/", {"pandaid": ",".join(str(i) for i in ids), "dump": "parameters"},
                          "job parameters pandaid=%s" % ",".join(str(i) for i in ids))
        if isinstance(reply, dict):
            reply = reply.get("jobs") or reply.get("data") or []
        out = {}
        for item in reply or []:
            if not isinstance(item, dict):
                continue
            item = normalize_job(item)
            try:
                panda_id = int(item.get("PandaID"))
            except (TypeError, ValueError):
                continue
            if panda_id in ids and item.get("jobParameters"):
                out[panda_id] = item["jobParameters"]
        return out

    def get_job_with_parameters(self, panda_id):
        job = self.get_job(panda_id)
        if job is not None and not job.get("jobParameters"):
            params = self.get_job_parameters([panda_id]).get(int(panda_id))
            if params:
                job["jobParameters"] = params
        return job

    def jobs_by_batch_id(self, batch_id, computing_site=None, days=None):
        """Jobs whose ``batchID`` is exactly ``batch_id`` (and ``computingSite`` exactly ``computing_site``)."""
        params = {"batchid": batch_id}
        if days:
            params["days"] = int(days)
        jobs = [normalize_job(item) for item in self._job_list(self._get("/jobs/", params, "jobs batchid=%s" % batch_id))]
        jobs = [job for job in jobs if job.get("batchID") == batch_id]
        if computing_site:
            jobs = [job for job in jobs if job.get("computingSite") == computing_site]
        return jobs

    def build_job_candidates(self, jedi_task_id=None, jobset_id=None, user_name=None, days=None):
        """Build jobs (``prodSourceLabel`` ``panda``) of a JEDI task, or of a job set of a user."""
        params = {"prodsourcelabel": "panda"}
        if jedi_task_id:
            params["jeditaskid"] = int(jedi_task_id)
            what = "jeditaskid=%s" % jedi_task_id
        elif jobset_id and user_name:
            params["jobsetid"] = int(jobset_id)
            params["produsername"] = user_name
            what = "jobsetid=%s" % jobset_id
        else:
            return []
        if days:
            params["days"] = int(days)
        jobs = [normalize_job(item) for item in self._job_list(self._get("/jobs/", params, "build jobs " + what))]
        out = []
        for job in jobs:
            if job.get("prodSourceLabel") != "panda":
                continue
            if jedi_task_id and str(job.get("jediTaskID")) != str(jedi_task_id):
                continue
            if not jedi_task_id and (str(job.get("jobsetID")) != str(jobset_id) or job.get("prodUserName") != user_name):
                continue
            out.append(job)
        return out
