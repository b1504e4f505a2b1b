"""The lab PanDA: a small HTTPS server with the v1 API endpoints the collection uses and a BigPanDA-style
monitor, over the PanDA PostgreSQL tables. See docs/lab-panda.md.

``start(workdir, pki, schema_dir=None, pg_admin_dsn=None)`` creates a fresh database with the lab's own tables
(or the real DDL from ``schema_dir``), starts the server in this process and returns a :class:`LabPandaEndpoint`.
"""
import os

import requests

from .. import pg
from ..panda_endpoint import PandaDatabase, PandaEndpoint
from .naming import clean_user_id
from .schema import create_tables
from .server import serve
from .store import Store
from .tokens import TokenAuth

USERS = {
    "alice": "/DC=test/DC=gridsec-lab/OU=Users/CN=alice/CN=123456/CN=Alice Lab",
    "bob": "/DC=test/DC=gridsec-lab/OU=Users/CN=bob/CN=654321/CN=Bob Lab",
}
ADMIN_DN = "/DC=test/DC=gridsec-lab/OU=Users/CN=opsadmin/CN=1/CN=Ops Admin"


class LabPandaEndpoint(PandaEndpoint):
    def __init__(self, server, store, admin_dsn, **fields):
        super().__init__(**fields)
        self._server = server
        self._store = store
        self._admin_dsn = admin_dsn

    def submit_job(self, cred, **fields):
        """Submit through the lab's /api/v1/job/submit as ``cred`` with its proxy (if it has one), like
        panda-client does; the server records the presented certificate's subject as prodUserID."""
        reply = requests.post(self.url + "/api/v1/job/submit", json=self.submit_body(fields),
                              cert=cred.proxy or (cred.cert, cred.key), verify=self.ca_path, timeout=30,
                              headers={"Accept": "application/json"})
        if reply.status_code == 403:
            raise PermissionError(reply.text)
        body = reply.json()
        if not body.get("success"):
            raise PermissionError("job/submit as %s refused: %s" % (clean_user_id(cred.dn), body.get("message")))
        return body["data"][0][0]

    def submit_body(self, fields, submitter="token-user"):
        job = {"prodSourceLabel": "user", "computingSite": "LAB_SITE",
               "transformation": "http://pandaserver.lab:25085/trf/user/runGen-00-00-02"}
        job.update(fields)
        return {"jobs": [job]}

    def set_job_status(self, panda_id, status, **fields):
        self._store.move_job(panda_id, status, **fields)

    def create_task(self, cred, status="running", **fields):
        return self._store.create_task(clean_user_id(cred.dn), status, fields.get("taskName"))

    def refresh_ban_cache(self):
        self._server.refresh_ban_cache()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        pg.drop_database(self._admin_dsn, self.db.dbname)


def start(workdir, pki, schema_dir=None, pg_admin_dsn=None, ban_cache_seconds=2, port=0, token_config=None):
    """``schema_dir=None``: the lab's own tables (:mod:`.schema`, no panda-database DDL needed); a directory:
    load the real DDL from it instead. ``pg_admin_dsn=None``: :func:`gridsec_lab.pg.admin_dsn` (the server
    named by the environment, a local one, or a private throwaway cluster). ``token_config``: a
    :class:`gridsec_lab.panda_tokens.PandaTokenConfig` to accept bearer tokens (``token_authType = oidc``)."""
    pg_admin_dsn = pg_admin_dsn or pg.admin_dsn()
    os.makedirs(workdir, exist_ok=True)
    dbname, dsn = pg.create_database(pg_admin_dsn, prefix="gridsec_labpanda")
    try:
        if schema_dir:
            pg.load_panda_schema(dsn, schema_dir)
        else:
            create_tables(dsn)
    except BaseException:
        pg.drop_database(pg_admin_dsn, dbname)
        raise
    store = Store(dsn)
    admin = pki.user("Ops Admin", dn=ADMIN_DN)
    users = {short: pki.user(short, dn=dn) for short, dn in USERS.items()}
    host = pki.host("panda-lab")
    token_auth = TokenAuth(token_config.auth_dir, token_config.ca_file) if token_config else None
    server = serve(store, host, pki.ca_dir, production_dns=[ADMIN_DN], ban_cache_seconds=ban_cache_seconds,
                   port=port, token_auth=token_auth)
    port = server.server_address[1]
    params = pg.dsn_params(dsn)
    database = PandaDatabase(host=params.get("host", "127.0.0.1"), port=int(params.get("port", 5432)),
                             dbname=dbname, user=params.get("user", "postgres"), password=params.get("password", ""))
    return LabPandaEndpoint(
        server, store, pg_admin_dsn,
        kind="lab", url="https://localhost:%d" % port, ca_path=pki.ca_dir, admin=admin, users=users,
        db=database, ban_cache_seconds=ban_cache_seconds, monitor_url="https://localhost:%d/monitor" % port,
        token_vo=token_config.vo if token_config else None)
