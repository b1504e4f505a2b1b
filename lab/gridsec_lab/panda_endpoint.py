"""What a running PanDA server (lab or real) offers to the integration suite.

The same suite runs against the lab PanDA and a real panda-server 1.0.4, so both launchers return an
object of this shape. Anything the tests need to *arrange* (submit a job as a user, make a job run,
make the ban cache fresh) is a method here, implemented by each backend in the way that is true for it.
"""
import dataclasses
from typing import Optional

from .pki import Credential


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
