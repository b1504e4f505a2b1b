"""Tests of the real panda-server 1.0.4 tier (``gridsec_lab.panda_real``) and of what the reference
(PANDA.md sections 1-3 and 12) says a real server does. Every test talks to the real server over mutual TLS.

The server is installed on first use (see docs/panda-real.md); deselect with ``-m "not panda_real"``.
"""
import json
import secrets
import socket
import ssl
import threading
import time

import psycopg
import pytest

@pytest.fixture(scope="module")
def real(panda_real_endpoint):
    return panda_real_endpoint


def _fresh_user(pki, prefix):
    """A user no other test touches (bans change server state for the whole session)."""
    return pki.user("%s%s" % (prefix, secrets.token_hex(3)))


def _set_status(endpoint, name, status):
    with psycopg.connect(endpoint.db.dsn(), autocommit=True) as conn:
        return conn.execute("UPDATE %s.users SET status = %%s WHERE name = %%s" % endpoint.db.meta_schema,
                            (status, name)).rowcount


@pytest.mark.panda_real
def test_endpoint_description(real):
    assert real.kind == "real"
    assert real.url.startswith("https://localhost:")
    assert real.ban_cache_seconds == 600
    assert set(real.users) >= {"alice", "bob"}
    assert real.admin.dn.endswith("/CN=Gridsec Panda Admin")


@pytest.mark.panda_real
def test_is_alive_over_mutual_tls(real):
    for cred in (real.users["alice"], real.admin, None):
        resp = real.call(cred, "GET", "system/is_alive")
        assert resp.status_code == 200
        assert resp.json() == {"success": True, "message": "", "data": None}


@pytest.mark.panda_real
def test_verified_client_dn_reaches_the_server(real):
    """The DN the server sees is the verified certificate's: an ordinary user is not an admin, the admin
    (DN listed in production_dns) is."""
    alice, admin = real.users["alice"], real.admin
    assert real.api(alice, "POST", "job/set_command", json_body={"job_id": 1, "command": "debug"}) == {
        "success": False, "message": "production or pilot role required", "data": None}
    reply = real.api(admin, "POST", "job/set_command", json_body={"job_id": 1, "command": "debug"})
    assert reply["message"] != "production or pilot role required"


@pytest.mark.panda_real
def test_no_client_certificate_means_not_secure(real):
    assert real.api(None, "GET", "metaconfig/get_banned_users") == {
        "success": False, "message": "SSL secure connection is required", "data": None}


@pytest.mark.panda_real
def test_limited_proxy_is_refused_as_not_secure(real, panda_pki):
    alice = real.users["alice"]
    limited = panda_pki.proxy(alice, limited=True)
    assert real.api(limited, "GET", "metaconfig/get_banned_users") == {
        "success": False, "message": "SSL secure connection is required", "data": None}
    # the full proxy of the same user is fine
    assert real.api(alice.proxy, "GET", "metaconfig/get_banned_users")["success"] is True


@pytest.mark.panda_real
def test_ban_is_cached_per_process_and_immediate_for_submission(real, panda_pki):
    carol = _fresh_user(panda_pki, "carol")
    name = carol.dn.rsplit("CN=", 1)[1]
    real.submit_job(carol)                         # creates the users row, like a first submission
    assert real.call(carol, "GET", "metaconfig/get_banned_users").status_code == 200  # cache filled
    assert _set_status(real, name, "disabled") == 1
    try:
        # the listing reads the DB; the front door still serves the cached (empty) ban list
        resp = real.call(carol, "GET", "metaconfig/get_banned_users")
        assert resp.status_code == 200
        assert resp.json()["data"][name] is False
        # job submission checks the DB directly
        assert real.submit_job_reply(carol) == {"success": False, "message": "Failed to submit jobs", "data": None}
        real.refresh_ban_cache()
        for cred in (carol, carol.proxy):
            resp = real.call(cred, "GET", "system/is_alive")
            assert resp.status_code == 403
            assert resp.headers["Content-Type"].startswith("text/plain")
            assert resp.text == "ERROR : %s is banned" % name
        assert real.call(real.users["bob"], "GET", "system/is_alive").status_code == 200
        # unban: same process, still banned until the cache is refreshed
        assert _set_status(real, name, None) == 1
        assert real.call(carol, "GET", "system/is_alive").status_code == 403
    finally:
        _set_status(real, name, None)
        real.refresh_ban_cache()
    assert real.call(carol, "GET", "system/is_alive").status_code == 200


def _kill(real, cred, ids, **extra):
    body = {"job_ids": list(ids)}
    body.update(extra)
    reply = real.api(cred, "POST", "job/kill", json_body=body)
    assert reply["success"] is True, reply
    return reply["data"]


@pytest.mark.panda_real
def test_kill_permissions_and_codes(real):
    alice, bob, admin = real.users["alice"], real.users["bob"], real.admin
    j1, j2 = real.submit_job(alice), real.submit_job(alice)
    assert _kill(real, bob, [j1]) == [False]              # not the owner
    assert _kill(real, admin, [j1]) == [False]            # production role, analysis job, no code
    assert _kill(real, admin, [j1], code=9) == [True]     # force kill
    job = real.get_job(j1)
    assert job["jobStatus"] == "cancelled"
    assert job["taskBufferErrorCode"] == 100
    assert job["taskBufferErrorDiag"].startswith("killed by %s/CN=" % admin.dn)  # the admin used a proxy
    assert _kill(real, alice, [j2]) == [True]             # owner, no code
    assert real.get_job(j2)["jobStatus"] == "cancelled"
    assert _kill(real, alice, [j2]) == [False]            # already archived


@pytest.mark.panda_real
def test_kill_of_a_running_job_only_flags_it(real):
    alice, admin = real.users["alice"], real.admin
    job_id = real.submit_job(alice)
    assert real.set_job_status(job_id, "running") == "running"
    assert _kill(real, alice, [job_id]) == [True]
    job = real.get_job(job_id)
    assert (job["jobStatus"], job["commandToPilot"]) == ("running", "tobekilled")
    assert _kill(real, alice, [job_id]) == [False]        # repeated owner kill: guarded update
    assert _kill(real, admin, [job_id], code=9) == [True]  # code 9: unguarded, still running
    assert real.get_job(job_id)["jobStatus"] == "running"
    assert _kill(real, admin, [job_id], code=99) == [True]  # code 99 + production role: archived at once
    assert real.get_job(job_id)["jobStatus"] == "cancelled"


@pytest.mark.panda_real
def test_get_description_incl_archive_has_job_parameters(real):
    alice = real.users["alice"]
    params = '-j "" --sourceURL https://localhost:25443 -r . -a jobO.%s.tar.gz' % secrets.token_hex(4)
    job_id = real.submit_job(alice, jobParameters=params, creationHost="ui01.lab.gridsec.test")
    job = real.get_job(job_id)
    assert job["PandaID"] == job_id
    assert job["jobParameters"] == params
    assert job["prodSourceLabel"] == "user"
    assert job["prodUserName"] == "alice"
    assert job["prodUserID"].startswith(alice.dn + "/CN=")  # the proxy's subject, as the server saw it
    assert job["creationHost"] == "ui01.lab.gridsec.test"
    assert job["jobStatus"] == "activated"
    # finished jobs are archived and still described
    assert real.set_job_status(job_id, "finished") == "finished"
    job = real.get_job(job_id)
    assert (job["jobStatus"], job["jobParameters"]) == ("finished", params)
    # job/get_description also finds jobsArchived4 (only the long-term archive needs the _incl_archive call)
    reply = real.api(alice, "GET", "job/get_description", params={"job_ids": [job_id, 987654321]})
    assert reply["data"][0]["jobStatus"] == "finished"
    assert reply["data"][1] is None


@pytest.mark.panda_real
def test_running_and_batch_id(real):
    alice = real.users["alice"]
    job_id = real.submit_job(alice)
    real.set_job_status(job_id, "running", batchID="schedd.lab#42.0#1700000000", node="wn07.lab")
    job = real.get_job(job_id)
    assert (job["jobStatus"], job["batchID"], job["modificationHost"]) == (
        "running", "schedd.lab#42.0#1700000000", "wn07.lab")
    assert real.set_job_status(job_id, "failed") == "failed"


@pytest.mark.panda_real
def test_task_kill(real):
    alice, bob, admin = real.users["alice"], real.users["bob"], real.admin
    task_id = real.create_task(alice)
    assert real.api(alice, "GET", "task/get_status", params={"task_id": task_id})["data"] == "running"
    assert real.api(bob, "POST", "task/kill", json_body={"task_id": task_id})["message"] == \
        "not the task owner or no production role"
    reply = real.api(admin, "POST", "task/kill", json_body={"task_id": task_id})
    assert (reply["success"], reply["data"]) == (True, 0)
    with psycopg.connect(real.db.dsn()) as conn:
        row = conn.execute("SELECT comm_owner, comm_cmd, comm_comment FROM %s.prodsys_comm WHERE comm_task = %%s"
                           % real.db.deft_schema, (task_id,)).fetchone()
    assert row[:2] == ("DEFT", "kill")
    assert row[2] == "kill by Gridsec Panda Admin"
    assert real.api(admin, "POST", "task/kill", json_body={"task_id": 999999})["data"] == 2
    tasks = real.api(bob, "GET", "task/get_tasks_modified_since",
                     params={"since": "2020-01-01 00:00:00", "dn": alice.dn})["data"]
    assert task_id in [t["jediTaskID"] for t in tasks.values()]


@pytest.mark.panda_real
def test_refresh_ban_cache_keeps_the_port_and_is_quick(real):
    started = time.monotonic()
    real.refresh_ban_cache()
    assert time.monotonic() - started < 60
    assert real.call(None, "GET", "system/is_alive").status_code == 200


@pytest.mark.panda_real
def test_request_headers_never_carry_identity(real):
    resp = real.call(None, "GET", "metaconfig/get_banned_users")
    assert resp.json()["success"] is False
    spoof = {"SSL_CLIENT_S_DN": real.admin.dn, "SSL-CLIENT-S-DN": real.admin.dn,
             "GRST_CRED_0": "VOMS 0 0 1 /atlas/Role=production"}
    with real._session(None) as session:
        reply = session.get(real.url + "/api/v1/metaconfig/get_banned_users", headers=spoof, timeout=30).json()
    assert reply["message"] == "SSL secure connection is required"


@pytest.mark.panda_real
def test_certificate_from_another_ca_is_refused(real, tmp_path):
    from gridsec_lab.pki import TestPKI

    stranger = TestPKI(str(tmp_path / "other-ca"), ca_dn="/DC=test/DC=elsewhere/CN=Other CA").user("mallory")
    import requests
    with pytest.raises(requests.exceptions.SSLError):
        real.call(stranger, "GET", "system/is_alive")


# -- the TLS front alone (no panda-server needed): what the WSGI application receives ------------------
@pytest.fixture(scope="module")
def front_echo(tmp_path_factory):
    """The front's TLS WSGI server around an application that echoes its environ."""
    from gridsec_lab.panda_real import front
    from gridsec_lab.pki import TestPKI
    from gridsec_lab.tls import server_context

    pki = TestPKI(str(tmp_path_factory.mktemp("front-pki")))
    host = pki.host("front-test")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = front._TLSWSGIServer(sock, server_context(host.cert, host.key, pki.ca_dir, require_client_cert=False))

    def app(environ, start_response):
        keep = {k: v for k, v in environ.items() if isinstance(v, str)}
        body = json.dumps(keep).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    server.set_app(app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    port = sock.getsockname()[1]

    def get(cred_file=None, key=None, path="/api/v1/job/kill?x=1", headers=None, data=None):
        ctx = ssl.create_default_context(cafile=pki.ca_cert_path)
        if cred_file:
            ctx.load_cert_chain(cred_file, key)
        import http.client
        conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=30)
        conn.request("POST" if data is not None else "GET", path, body=data, headers=headers or {})
        resp = conn.getresponse()
        env = json.loads(resp.read())
        conn.close()
        return env

    yield pki, get
    server.shutdown()
    sock.close()


def test_front_routes_on_script_name(front_echo):
    pki, get = front_echo
    env = get()
    assert (env["SCRIPT_NAME"], env["PATH_INFO"], env["QUERY_STRING"]) == ("/api/v1/job/kill", "", "x=1")
    assert env["CONTENT_LENGTH"] == "0"
    assert env["wsgi.url_scheme"] == "https" and env["HTTPS"] == "on"
    assert env["SSL_CLIENT_VERIFY"] == "NONE" and "SSL_CLIENT_S_DN" not in env
    assert "REMOTE_HOST" not in env


def test_front_certificate_and_proxy_variables(front_echo):
    pki, get = front_echo
    user = pki.user("dora")
    env = get(user.cert, user.key)
    assert env["SSL_CLIENT_S_DN"] == user.dn == "/DC=test/DC=gridsec-lab/OU=Users/CN=dora"
    assert env["SSL_CLIENT_I_DN"] == pki.ca_dn
    assert env["SSL_CLIENT_VERIFY"] == "SUCCESS"
    kind, not_before, not_after, delegation, dn = env["GRST_CRED_0"].split(" ", 4)
    assert (kind, delegation, dn) == ("X509USER", "1", user.dn) and int(not_before) < int(not_after)
    assert "GRST_CRED_1" not in env

    env = get(user.proxy)  # RFC 3820 proxy: mod_ssl shows the proxy's own subject
    assert env["SSL_CLIENT_S_DN"].startswith(user.dn + "/CN=")
    assert env["SSL_CLIENT_S_DN"][len(user.dn) + 4:].isdigit()
    assert env["SSL_CLIENT_I_DN"] == user.dn
    assert env["GRST_CRED_0"].startswith("X509USER ") and env["GRST_CRED_0"].endswith(" " + user.dn)
    assert env["GRST_CRED_1"].startswith("GSIPROXY ") and env["GRST_CRED_1"].endswith(env["SSL_CLIENT_S_DN"])

    env = get(pki.proxy(user, limited=True))
    assert env["SSL_CLIENT_S_DN"] == user.dn + "/CN=limited proxy"


def test_front_ignores_identity_headers(front_echo):
    pki, get = front_echo
    env = get(headers={"SSL_CLIENT_S_DN": "/CN=spoof", "SSL-CLIENT-S-DN": "/CN=spoof", "GRST-CRED-0": "VOMS x"})
    assert "SSL_CLIENT_S_DN" not in env
    assert not any(k.startswith("GRST_") for k in env)
    assert not any("spoof" in v for v in env.values())
