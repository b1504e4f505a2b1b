"""What a running PanDA server (lab or real) offers to the integration suite.

The same suite runs against the lab PanDA and a real panda-server 1.0.4, so both launchers return an
object of this shape. Anything the tests need to *arrange* (submit a job as a user, make a job run,
make the ban cache fresh) is a method here, implemented by each backend in the way that is true for it.
"""
import dataclasses
from typing import Optional

from .panda_tokens import bearer_headers
from .pki import Credential

USE_TOKEN_VO = object()


@dataclasses.dataclass
class PandaDatabase:
    """PostgreSQL holding the PanDA schema (the tables the modules and the server share)."""

    host: str
    port: int
    dbname: str
    user: str
    password: str = ""
    meta_schema: str = "doma_pandameta"   # users table (ban flag)
    panda_schema: str = "doma_panda"      # jobsDefined4, jobsActive4, jobsArchived4, jobParamsTable
    jedi_schema: str = "doma_panda"       # JEDI_Tasks
    deft_schema: str = "doma_deft"        # PRODSYS_COMM (task commands)

    def dsn(self):
        return "host=%s port=%d dbname=%s user=%s%s" % (
            self.host, self.port, self.dbname, self.user, (" password=" + self.password) if self.password else "")


@dataclasses.dataclass
class PandaEndpoint:
    kind: str                        # "lab" or "real"
    url: str                         # https://localhost:PORT (API under /api/v1)
    ca_path: str                     # hashed CA directory that verifies the server certificate
    admin: Credential                # production role (configured through production_dns)
    users: dict                      # short name -> Credential of ordinary users (e.g. "alice", "bob")
    db: PandaDatabase
    ban_cache_seconds: int           # how long the front door may keep serving a stale ban list
    monitor_url: Optional[str] = None  # BigPanDA-style JSON monitor over the same database, if any
    token_vo: Optional[str] = None     # bearer tokens accepted with "Origin: <token_vo>" (None: token auth off)

    # -- token users (same on both backends: plain HTTPS, no client certificate) --------------------
    def token_call(self, token, method, module_method, origin=USE_TOKEN_VO, params=None, json_body=None, timeout=60):
        """``/api/v1/<module_method>`` as a token user: ``Authorization: Bearer <token>`` and ``Origin``
        (the endpoint's VO unless given; None sends no Origin), no client certificate, like panda-client with
        ``PANDA_AUTH=oidc``. Returns the ``requests.Response``."""
        import requests

        headers = bearer_headers(token, self.token_vo if origin is USE_TOKEN_VO else origin)
        url = "%s/api/v1/%s" % (self.url, module_method)
        if method == "GET":
            return requests.get(url, params=params, headers=headers, verify=self.ca_path, timeout=timeout)
        return requests.post(url, json=json_body if json_body is not None else (params or {}), headers=headers,
                             verify=self.ca_path, timeout=timeout)

    def token_submit(self, token, origin=USE_TOKEN_VO, **fields):
        """``POST job/submit`` of one job as a token user; returns the ``requests.Response``."""
        return self.token_call(token, "POST", "job/submit", origin=origin, json_body=self.submit_body(fields))

    def submit_body(self, fields, submitter="token-user"):
        """The ``job/submit`` JSON body for one job (each backend's wire format)."""
        raise NotImplementedError

    # -- arranging test situations: implemented by each backend -----------------------------------
    def submit_job(self, cred, **fields):
        """Submit one job as ``cred`` through the server's own submission path; return its PandaID.
        ``fields`` override JobSpec attributes (prodSourceLabel, jobParameters, jobsetID, batchID, …)."""
        raise NotImplementedError

    def set_job_status(self, panda_id, status, **fields):
        """Move a job to ``status`` ("activated", "running", "finished", …) the way the pilot or the
        server would, in the table where the server keeps jobs in that state."""
        raise NotImplementedError

    def refresh_ban_cache(self):
        """Make the front door's ban list fresh now (restart workers, or wait the lab's short TTL)."""
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError
