#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: panda_job_info
short_description: Identify a PanDA job from what a site sees, and tell who submitted which payload
version_added: 0.1.0
description:
  - Finds the PanDA job(s) behind a PandaID, a pilot work directory, a pilot log or a batch-system job id, and
    returns what a site security contact asks for, such as the owner's DN and user name, the submitting
    host, the times, the queue, the state and the kill command, the job parameters and the URL from which
    the user's code (payload) can be downloaded.
  - "Job ids: O(panda_id) as given; O(workdir), from the directory name (pilot1 C(PandaJob_<id>_<epoch>), pilot2/3
    C(PanDA_Pilot-<id>), log tarball C(tarball_PandaJob_<id>_<queue>); every path component is searched from the
    deepest; a pilot3 main directory C(PanDA_Pilot3_<pid>_<epoch>) holds an OS pid, not a PandaID), or else from a
    C(pilotlog.txt) inside it; O(pilotlog), from the C(PandaID=<id>), C(PanDA job <id>), C(PanDA job id: <id>)
    and C(received job: <id>) lines of a pilot log; O(batch_id), through the BigPanDA monitor (exact match)."
  - When a log mentions several PandaIDs (a pilot that ran several jobs), all are looked up and reported, with a
    warning; the module does not choose one.
  - "Job records come from the PanDA API (C(job/get_description_incl_archive), also finds archived jobs) when
    O(panda_url) is set, and/or from the BigPanDA monitor JSON (O(monitor_url))."
  - "Payload URL: C(<sourceURL>/cache/<file>) with the C(-a) archive of a prun/pathena C(--noBuild) run job, the
    C(-i) sandbox of a build job, or, for a run job that gets its code from a build job (C(-l) / C(lib.tgz) input,
    no C(-a)), the C(-i) sandbox of that build job, which is looked up in the same JEDI task (API) or job set
    (monitor). When the URL cannot be determined for sure, none is returned and RV(payload_url_reason) says why."
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - only the Python standard library (the database options are accepted and ignored)
extends_documentation_fragment:
  - gridsec.ops._panda
  - gridsec.ops._tls
  - gridsec.ops._panda_db
  - gridsec.ops._attributes
  - gridsec.ops._attributes.INFO_MODULE
  - gridsec.ops._attributes.ACTIONGROUP_PANDA
options:
  panda_id:
    description:
      - PanDA job id.
      - Exactly one of O(panda_id), O(workdir), O(pilotlog) and O(batch_id) is required.
    type: int
  workdir:
    description:
      - Path of a pilot job directory on the managed node, or of anything below one (a payload file).
      - The PandaID is read from the directory names; when none has one, the directory must exist and contain
        C(pilotlog.txt), which is read like O(pilotlog).
    type: path
  pilotlog:
    description:
      - Path of a pilot log (C(pilotlog.txt)) on the managed node.
    type: path
  batch_id:
    description:
      - Batch-system job id the pilot ran as (PanDA C(batchID)), for example an HTCondor
        V(schedd.example.org#1234.0#1700000000) or a Slurm job number.
      - Needs O(monitor_url); only exact, case-sensitive matches are kept.
    type: str
  computing_site:
    description:
      - With O(batch_id), keep only jobs of this PanDA queue (C(computingSite), exact match). Batch ids are
        only unique within one batch system.
    type: str
  resolve_only:
    description:
      - Only find the PandaIDs (from O(panda_id), O(workdir) or O(pilotlog)); read no job record. Needs no
        server.
    type: bool
    default: false
  use_server:
    description:
      - Read the job records from the PanDA API at O(panda_url).
      - When not set, the API is used when O(panda_url) is set.
      - At least one source (the API or O(monitor_url)) is needed unless O(resolve_only=true).
    type: bool
  monitor_url:
    description:
      - Base URL of a BigPanDA monitor, for example V(https://bigpanda.cern.ch).
      - Used for O(batch_id), for jobs the API does not return, and to find build jobs outside JEDI tasks.
      - The monitor is queried without a client certificate; see O(monitor_token).
    type: str
  monitor_token:
    description:
      - "Token sent to the monitor as C(Authorization: <monitor_token_type> <monitor_token>)."
    type: str
  monitor_token_type:
    description:
      - Scheme of O(monitor_token), V(Bearer) (IAM token) or V(Token) (monitor API key).
    type: str
    choices: [Bearer, Token]
    default: Bearer
  monitor_ca_path:
    description:
      - CA file or hashed CA directory that verifies the monitor's certificate; defaults to O(ca_path).
    type: path
  follow_build_job:
    description:
      - Look up the build job of a run job that gets its code from one, to report the build job's sandbox.
    type: bool
    default: true
  max_task_jobs:
    description:
      - At most this many jobs of a JEDI task are read through the API when looking for a build job (nearest
        lower PandaIDs first).
    type: int
    default: 2000
notes:
  - This module reads nothing from the PanDA database. It accepts the C(db_*) options only so that they can be
    set for the whole C(gridsec.ops.panda) action group (C(module_defaults)), and ignores them.
  - The monitor keeps job parameters for a few days only; without O(panda_url) the payload of older jobs may be
    unknown (RV(payload_url_reason) says so).
seealso:
  - module: gridsec.ops.panda_job_kill
  - module: gridsec.ops.panda_user_ban
"""

EXAMPLES = r"""
- name: Who ran the process in this pilot directory, and what did it run?
  gridsec.ops.panda_job_info:
    workdir: /home/condor/execute/dir_12345/PanDA_Pilot3_4242_1767000000/PanDA_Pilot-6543210987
    panda_url: https://pandaserver.cern.ch:25443
    proxy_file: /tmp/x509up_u1000
  register: job

- name: Show the owner and where to download the payload
  ansible.builtin.debug:
    # payload_urls is always returned, as an empty list when undetermined: test its length, default() would
    # never apply
    msg: "{{ job.jobs[0].prodUserID }} ran {{ job.payload_urls if job.payload_urls | length > 0
      else 'unknown: ' ~ job.payload_url_reason }}"

- name: From a batch job id, through the BigPanDA monitor
  gridsec.ops.panda_job_info:
    batch_id: "schedd01.example.org#1234567.0#1767000000"
    computing_site: EXAMPLE_SITE
    monitor_url: https://bigpanda.cern.ch
    monitor_token: "{{ bigpanda_api_key }}"
    monitor_token_type: Token

- name: Only read the PandaIDs out of a pilot log
  gridsec.ops.panda_job_info:
    pilotlog: /var/tmp/pilot/pilotlog.txt
    resolve_only: true
  register: ids
"""

RETURN = r"""
panda_ids:
  description: PandaIDs found, in order (several when a pilot log or a batch id names several jobs).
  returned: always
  type: list
  elements: int
  sample: [1001]
id_source:
  description:
    - How the ids were found. RV(id_source.from) is V(panda_id), V(workdir), V(pilotlog) or V(batch_id).
    - With V(workdir), RV(id_source.component) is the directory name and RV(id_source.pilot) the naming scheme
      (V(pilot1), V(pilot3), V(log tarball)); with a pilot log, RV(id_source.pilotlog) is its path and
      RV(id_source.matches) the ids with example lines.
  returned: always
  type: dict
  contains:
    from:
      description: Input the ids came from.
      type: str
    component:
      description: Directory name holding the id (O(workdir)).
      type: str
      returned: when the id came from a directory name
    pilot:
      description: Naming scheme recognised in the directory name.
      type: str
      returned: when the id came from a directory name
    pilotlog:
      description: Path of the pilot log read.
      type: str
      returned: when the ids came from a pilot log
    matches:
      description: Each id with its number of matching lines and up to 5 of them (C(line), C(text)).
      type: list
      elements: dict
      returned: when the ids came from a pilot log
jobs:
  description: One summary per job found, in the order of RV(panda_ids).
  returned: unless O(resolve_only=true)
  type: list
  elements: dict
  contains:
    PandaID:
      description: Job id.
      type: int
    prodUserID:
      description: DN (or name) of the submitter.
      type: str
    prodUserName:
      description: PanDA user name (the ban key).
      type: str
    creationHost:
      description: Host the job was submitted from (often empty for JEDI jobs).
      type: str
    creationTime:
      description: Creation time, UTC, ISO 8601 with C(Z).
      type: str
    modificationTime:
      description: Last modification time, UTC, ISO 8601 with C(Z).
      type: str
    computingSite:
      description: PanDA queue.
      type: str
    jobStatus:
      description: Job state.
      type: str
    commandToPilot:
      description: Pending command for the pilot, such as V(tobekilled).
      type: str
    jediTaskID:
      description: JEDI task id.
      type: int
    jobsetID:
      description: Job set id (one per user submission).
      type: int
    jobDefinitionID:
      description: Job definition id.
      type: int
    prodSourceLabel:
      description: V(user) (analysis run job), V(panda) (build job), V(managed) (production)...
      type: str
    batchID:
      description: Batch-system id reported by the pilot.
      type: str
    jobParameters:
      description: Arguments of the payload.
      type: str
    transformation:
      description: The script the pilot executed (URL of the transformation).
      type: str
    payload_exec:
      description: The user's command (prun C(-p) value, URL-encoded as prun sends it), when present.
      type: str
    is_build_job:
      description: Whether this is a build job.
      type: bool
    taskBufferErrorDiag:
      description: Server diagnostic, for example C(killed by <DN>).
      type: str
    payload_urls:
      description: URLs of the user's code for this job (empty when undetermined).
      type: list
      elements: str
    payload_url_reason:
      description: How the URLs were found, or why none could be.
      type: str
    build_job_id:
      description: PandaID of the build job followed for this job.
      type: int
      returned: when a build job was followed
    source:
      description: Where the record came from, V(panda_server) or V(monitor).
      type: str
payload_urls:
  description: Every payload URL of RV(jobs), without duplicates.
  returned: unless O(resolve_only=true)
  type: list
  elements: str
  sample: ["https://aipanda059.cern.ch:25443/cache/jobO.0f1e2d3c-test.tar.gz"]
payload_url_reason:
  description: "The reason of the single job, or C(<PandaID>: <reason>) for each job joined with C(; )."
  returned: unless O(resolve_only=true)
  type: str
build_job:
  description: Summary (same keys as RV(jobs)) of the build job followed for the first job that needed one.
  returned: when a build job was followed
  type: dict
not_found:
  description: PandaIDs that no source knows.
  returned: unless O(resolve_only=true)
  type: list
  elements: int
sources_used:
  description: Sources of job records queried, V(panda_server) and/or V(monitor).
  returned: always
  type: list
  elements: str
requests:
  description: Calls made to the PanDA API and the monitor (method, path, status); never credentials.
  returned: always
  type: list
  elements: dict
error:
  description:
    - Why the task failed, in the same shape for every failure (also one found before any server was contacted).
    - C(type) (the error class, for example V(TLSError), V(AuthorizationError), V(ConfigError), V(MissingLibrary),
      V(ModuleFailure)), C(kind) (V(transport), V(tls), V(remote), V(authorization), V(not_found),
      V(write_refused), V(config), V(missing_library) or V(error)), C(msg), C(server) and C(operation) (null
      when no server operation failed), C(details) (dict of extra facts, never a secret).
  returned: failed
  type: dict
  sample: {"type": "AuthorizationError", "kind": "authorization", "msg": "HTTP 403 Forbidden: the server refused
    this credential", "server": "server.example.org:8443", "operation": "ban", "details": {"status": 403}}
"""

import os

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, NotFoundError
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
from ansible_collections.gridsec.ops.plugins.module_utils._panda.jobs import (
    build_job_matches,
    job_summary,
    needs_build_job,
    normalize_job,
    panda_ids_from_pilotlog,
    panda_ids_in_path,
    payload_urls,
)
from ansible_collections.gridsec.ops.plugins.module_utils._panda.module import PandaModule
from ansible_collections.gridsec.ops.plugins.module_utils._panda.monitor import MonitorClient

MAX_PILOTLOG_BYTES = 512 * 1024 * 1024


def read_pilotlog(path):
    """``(matches, error)`` for a pilot log on this node."""
    if not os.path.isfile(path):
        return None, "pilot log %s does not exist or is not a file" % path
    try:
        with open(path, "rb") as handle:
            lines = []
            size = 0
            for line in handle:
                size += len(line)
                if size > MAX_PILOTLOG_BYTES:
                    break
                lines.append(line)
    except (IOError, OSError) as err:
        return None, "cannot read pilot log %s: %s" % (path, err)
    return panda_ids_from_pilotlog(lines), None


class JobInfo(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.monitor = None
        self.sources = []
        self.prefetched = {}
        self.warnings = []

    # -- plumbing ---------------------------------------------------------------------------------------------
    def requests(self):
        ops = list(self.module.client_operations())
        if self.monitor is not None:
            ops.extend(dict(op, server="monitor") for op in self.monitor.operations)
        return ops

    def fail(self, msg, **result):
        """Refuse what the job cannot be looked up by: a ``ConfigError`` through the module's failure boundary
        (``JobInfoModule.prepare_failure`` adds the requests and the sources used)."""
        raise ConfigError(msg, result=result)

    def failure_keys(self, result):
        """The keys of every failure: what was asked of which source."""
        result.setdefault("requests", self.requests())
        result.setdefault("sources_used", list(self.sources))
        return result

    def monitor_client(self):
        if self.monitor is None:
            url = self.params.get("monitor_url")
            plain_http = url.lower().startswith("http://")
            transport = HttpTransport(
                url, ca_path=self.params.get("monitor_ca_path") or self.params.get("ca_path"),
                validate_certs=False if plain_http else self.params.get("validate_certs"),
                timeout=self.params.get("timeout"),
                retries=self.params.get("retries"), credential_fallback=False)
            self.monitor = MonitorClient(transport, token=self.params.get("monitor_token"),
                                         token_type=self.params.get("monitor_token_type"),
                                         server_label=transport.server_label)
        return self.monitor

    @property
    def use_api(self):
        use = self.params.get("use_server")
        if use is None:
            return self.module.api_configured
        return bool(use)

    # -- ids --------------------------------------------------------------------------------------------------
    def resolve_ids(self):
        p = self.params
        if p.get("panda_id") is not None:
            return [p["panda_id"]], {"from": "panda_id"}
        if p.get("workdir"):
            found = panda_ids_in_path(p["workdir"])
            if found:
                panda_id, component, kind = found[0]
                return [panda_id], {"from": "workdir", "component": component, "pilot": kind}
            if not os.path.isdir(p["workdir"]):
                self.fail("no PandaID in the directory names of %s (expected PandaJob_<id>_<epoch>, PanDA_Pilot-<id> or "
                          "tarball_PandaJob_<id>_<queue>), and it is not a directory on this node to look for a "
                          "pilotlog.txt in" % p["workdir"])
            log = os.path.join(p["workdir"], "pilotlog.txt")
            if not os.path.isfile(log):
                self.fail("no PandaID in the directory names of %s and no pilotlog.txt in it" % p["workdir"])
            return self._ids_from_log(log, "workdir")
        if p.get("pilotlog"):
            return self._ids_from_log(p["pilotlog"], "pilotlog")
        return self._ids_from_batch(p["batch_id"], p.get("computing_site"))

    def _ids_from_log(self, path, origin):
        matches, error = read_pilotlog(path)
        if error:
            self.fail(error)
        if not matches:
            self.fail("no PandaID found in pilot log %s (looked for 'PandaID=<id>', 'PanDA job <id>', "
                      "'PanDA job id: <id>', 'received job: <id>')" % path)
        ids = [match["panda_id"] for match in matches]
        if len(ids) > 1:
            self.warnings.append("pilot log %s mentions %d different PandaIDs (%s); all of them are reported"
                                 % (path, len(ids), ", ".join(str(i) for i in ids)))
        return ids, {"from": origin, "pilotlog": path, "matches": matches}

    def _ids_from_batch(self, batch_id, site):
        if not self.params.get("monitor_url"):
            self.fail("batch_id needs monitor_url: the PanDA API cannot search jobs by batch id")
        jobs = self.monitor_client().jobs_by_batch_id(batch_id, computing_site=site)
        self._add_source("monitor")
        ids = []
        for job in jobs:
            try:
                panda_id = int(job.get("PandaID"))
            except (TypeError, ValueError):
                continue
            if panda_id not in ids:
                ids.append(panda_id)
                self.prefetched[panda_id] = job
        if not ids:
            where = " at computing site %s" % site if site else ""
            self.fail("no PanDA job with batch id %r%s found in the monitor (exact match)" % (batch_id, where),
                      panda_ids=[])
        if len(ids) > 1:
            self.warnings.append("batch id %r matches %d PanDA jobs (%s)%s; all of them are reported" % (
                batch_id, len(ids), ", ".join(str(i) for i in ids),
                "" if site else " - set computing_site to narrow it down"))
        return ids, {"from": "batch_id"}

    # -- job records ------------------------------------------------------------------------------------------
    def _add_source(self, name):
        if name not in self.sources:
            self.sources.append(name)

    def fetch_jobs(self, ids):
        records = {}
        if self.use_api:
            client = self.module.client("panda_job_info with use_server=true")
            self._add_source("panda_server")
            for panda_id, record in zip(ids, client.get_job_descriptions(ids, include_archive=True)):
                if record:
                    records[panda_id] = (normalize_job(record), "panda_server")
        if self.params.get("monitor_url"):
            monitor = self.monitor_client()
            self._add_source("monitor")
            for panda_id in ids:
                if panda_id in records and records[panda_id][0].get("jobParameters"):
                    continue
                job = monitor.get_job_with_parameters(panda_id)
                if job is None:
                    continue
                if panda_id in records:  # the API record lacks parameters: take the monitor's
                    records[panda_id][0]["jobParameters"] = job.get("jobParameters")
                else:
                    records[panda_id] = (job, "monitor")
        return records

    def find_build_job(self, job):
        """``(build_job or None, searched text)``: the build job of a run job, never a guess."""
        searched = []
        candidates = []
        task_id = job.get("jediTaskID")
        if self.use_api and task_id:
            client = self.module.client()
            ids = [i for i in client.get_task_job_ids(task_id) if i != job.get("PandaID")]
            own = int(job.get("PandaID") or 0)
            ids = sorted([i for i in ids if i < own], reverse=True) + sorted(i for i in ids if i > own)
            ids = ids[:max(0, self.params["max_task_jobs"])]
            searched.append("%d jobs of JEDI task %s (PanDA API)" % (len(ids), task_id))
            if ids:
                records = client.get_job_descriptions(ids, include_archive=True)
                candidates.extend(normalize_job(r) for r in records if r)
        matching = [c for c in candidates if build_job_matches(job, c)]
        if not matching and self.params.get("monitor_url"):
            monitor = self.monitor_client()
            found = monitor.build_job_candidates(jedi_task_id=task_id, jobset_id=job.get("jobsetID"),
                                                 user_name=job.get("prodUserName"))
            searched.append("build jobs of %s in the monitor" % (
                "JEDI task %s" % task_id if task_id else "job set %s" % job.get("jobsetID")))
            for cand in found:
                full = monitor.get_job_with_parameters(cand.get("PandaID")) or cand
                if build_job_matches(job, full):
                    matching.append(full)
        unique = {}
        for cand in matching:
            unique.setdefault(cand.get("PandaID"), cand)
        if len(unique) == 1:
            return list(unique.values())[0], "; ".join(searched)
        if len(unique) > 1:
            urls = set(tuple(payload_urls(c)[0]) for c in unique.values())
            if len(urls) == 1:
                return sorted(unique.values(), key=lambda c: c.get("PandaID"))[0], "; ".join(searched)
            searched.append("several different build jobs match (%s)" % ", ".join(str(i) for i in sorted(unique)))
            return None, "; ".join(searched)
        if not searched:
            searched.append("nothing to search (no JEDI task id via the API, no monitor_url)")
        return None, "; ".join(searched)

    # -- main -------------------------------------------------------------------------------------------------
    def run(self):
        p = self.params
        if p.get("batch_id") is not None and p.get("resolve_only") and not p.get("monitor_url"):
            self.fail("batch_id needs monitor_url even with resolve_only=true")
        if p.get("use_server") and not self.module.api_configured:
            self.fail("use_server=true needs panda_url")
        if not p.get("resolve_only") and not self.use_api and not p.get("monitor_url"):
            self.fail("no source of job records: set panda_url (PanDA API) and/or monitor_url (BigPanDA), "
                      "or resolve_only=true to only find the PandaIDs")
        ids, id_source = self.resolve_ids()
        result = {"changed": False, "panda_ids": ids, "id_source": id_source}
        if p.get("resolve_only"):
            result.update(sources_used=list(self.sources), requests=self.requests())
            return self.exit(result)

        records = self.fetch_jobs(ids)
        for panda_id, job in self.prefetched.items():
            records.setdefault(panda_id, (job, "monitor"))
        not_found = [i for i in ids if i not in records]
        if not records:
            raise NotFoundError("PanDA job%s %s not found (asked: %s)" % (
                "s" if len(ids) > 1 else "", ", ".join(str(i) for i in ids), ", ".join(self.sources)),
                operation="job lookup")
        if not_found:
            self.warnings.append("PanDA jobs not found: %s" % ", ".join(str(i) for i in not_found))

        jobs = []
        build_summary = None
        for panda_id in ids:
            if panda_id not in records:
                continue
            job, source = records[panda_id]
            build = None
            searched = None
            if p["follow_build_job"] and needs_build_job(job):
                build, searched = self.find_build_job(job)
            summary = job_summary(job, build)
            summary["source"] = source
            if build is not None:
                summary["build_job_id"] = build.get("PandaID")
                if build_summary is None:
                    build_summary = job_summary(build)
                    build_summary["source"] = "panda_server" if "panda_server" in self.sources else "monitor"
            elif searched:
                summary["payload_url_reason"] += " (searched: %s)" % searched
            jobs.append(summary)

        urls = []
        for summary in jobs:
            for url in summary["payload_urls"]:
                if url not in urls:
                    urls.append(url)
        if len(jobs) == 1:
            reason = jobs[0]["payload_url_reason"]
        else:
            reason = "; ".join("%s: %s" % (s["PandaID"], s["payload_url_reason"]) for s in jobs)
        result.update(jobs=jobs, payload_urls=urls, payload_url_reason=reason, not_found=not_found,
                      sources_used=list(self.sources), requests=self.requests())
        if build_summary is not None:
            result["build_job"] = build_summary
        return self.exit(result)

    def exit(self, result):
        for warning in self.warnings:
            self.module.warn(warning)
        self.module.exit_json(**result)


class JobInfoModule(PandaModule):
    """``PandaModule`` whose failures also say what was asked of the PanDA API and of the monitor."""

    info = None

    def prepare_failure(self, result):
        if self.info is not None:
            result = self.info.failure_keys(result)
        return super(JobInfoModule, self).prepare_failure(result)


def main():
    module = JobInfoModule(
        argument_spec=dict(
            panda_id=dict(type="int"),
            workdir=dict(type="path"),
            pilotlog=dict(type="path"),
            batch_id=dict(type="str"),
            computing_site=dict(type="str"),
            resolve_only=dict(type="bool", default=False),
            use_server=dict(type="bool"),
            monitor_url=dict(type="str"),
            monitor_token=dict(type="str", no_log=True),
            monitor_token_type=dict(type="str", default="Bearer", choices=["Bearer", "Token"]),
            monitor_ca_path=dict(type="path"),
            follow_build_job=dict(type="bool", default=True),
            max_task_jobs=dict(type="int", default=2000),
        ),
        use_db=True,  # accepted (and ignored) so that the whole action group can share the db_* options
        mutually_exclusive=[("panda_id", "workdir", "pilotlog", "batch_id")],
        required_one_of=[("panda_id", "workdir", "pilotlog", "batch_id")],
        supports_check_mode=True,
    )
    module.info = JobInfo(module)
    module.run_guarded(module.info.run)


if __name__ == "__main__":
    main()
