# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""PandaClient against a tiny HTTPS server started in the test (real sockets and TLS, no mock library).

The server answers each path with a canned reply (status, content type, body) and records what it received,
so the tests check both the wire format the client sends and how it maps PanDA's replies to results and
errors.
"""

import datetime
import http.server
import json
import os
import ssl
import threading

import pytest

cryptography = pytest.importorskip("cryptography")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (  # noqa: E402
    AuthorizationError,
    GridsecError,
    RemoteError,
)
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._panda.client import PandaClient, decode_json  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# The reference folder next to the PanDA schema (GRIDSEC_PANDA_SCHEMA_DIR points into it), else ../shared/...
_REFERENCE = (os.path.dirname(os.path.abspath(os.environ["GRIDSEC_PANDA_SCHEMA_DIR"]))
              if os.environ.get("GRIDSEC_PANDA_SCHEMA_DIR")
              else os.path.join(HERE, "..", "..", "..", "..", "..", "shared", "reference", "panda"))
EXAMPLE = os.path.join(_REFERENCE, "example_v1_job_get_description_1001.json")


def _make_tls(directory):
    """A CA and a server certificate for localhost/127.0.0.1 (PEM files in ``directory``)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "panda client test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {name: os.path.join(directory, name) for name in ("ca.pem", "server.pem", "server.key")}
    with open(paths["ca.pem"], "wb") as handle:
        handle.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["server.pem"], "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["server.key"], "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return paths


class CannedServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls):
        super().__init__(("127.0.0.1", 0), CannedHandler)
        self.routes = {}
        self.received = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls["server.pem"], tls["server.key"])
        self.socket = ctx.wrap_socket(self.socket, server_side=True)

    def route(self, path, status=200, body=None, content_type="application/json", handler=None):
        self.routes[path] = (status, body, content_type, handler)

    def envelope(self, path, data=None, success=True, message=""):
        self.route(path, body=json.dumps({"success": success, "message": message, "data": data}))


class CannedHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _serve(self):
        path, _sep, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = {"verb": self.command, "path": path, "query": query, "headers": dict(self.headers.items()),
                   "body": json.loads(body) if body else None}
        self.server.received.append(request)
        status, reply, content_type, handler = self.server.routes.get(
            path, (404, "ERROR : no route", "text/plain", None))
        if handler is not None:
            reply = json.dumps(handler(request))
        data = reply.encode() if isinstance(reply, str) else reply
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _serve
    do_POST = _serve


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return _make_tls(str(tmp_path_factory.mktemp("panda-client-tls")))


@pytest.fixture
def server(tls):
    srv = CannedServer(tls)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def make_client(server, tls, **kwargs):
    url = "https://localhost:%d" % server.server_address[1]
    transport = HttpTransport(url, client_cert=None, client_key=None, proxy_file=None, ca_path=tls["ca.pem"],
                              validate_certs=True, timeout=10, retries=0)
    return PandaClient(transport, server_label="localhost:%d" % server.server_address[1], **kwargs)


def test_is_alive_sends_json_accept_header(server, tls):
    server.envelope("/api/v1/system/is_alive")
    client = make_client(server, tls)
    assert client.is_alive() is True
    request = server.received[-1]
    assert request["verb"] == "GET"
    assert request["headers"]["Accept"] == "application/json"
    assert "Authorization" not in request["headers"]
    assert client.operations == [{"method": "GET", "path": "/api/v1/system/is_alive", "status": 200,
                                  "success": True}]


def test_job_descriptions_decode_datetimes_and_keep_order(server, tls):
    if not os.path.isfile(EXAMPLE):
        pytest.skip("reference reply %s not found" % EXAMPLE)
    with open(EXAMPLE) as handle:
        example = json.load(handle)
    job = example["data"][0]

    def reply(request):
        return {"success": True, "message": "",
                "data": [job if i == 1001 else None for i in request["body"]["job_ids"]]}

    server.route("/api/v1/job/get_description_incl_archive", handler=reply)
    client = make_client(server, tls)
    result = client.get_job_descriptions([4242, 1001])
    assert result[0] is None
    assert result[1]["PandaID"] == 1001
    assert result[1]["creationTime"] == job["creationTime"]["__datetime__"]  # decoded to the ISO string
    assert result[1]["commandToPilot"] == "tobekilled"
    assert server.received[-1]["verb"] == "POST"
    assert server.received[-1]["body"] == {"job_ids": [4242, 1001]}
    assert server.received[-1]["headers"]["Content-Type"] == "application/json"


def test_get_description_without_archive_uses_other_endpoint(server, tls):
    server.route("/api/v1/job/get_description",
                 handler=lambda r: {"success": True, "message": "", "data": [None] * len(r["body"]["job_ids"])})
    assert make_client(server, tls).get_job_descriptions([1], include_archive=False) == [None]


def test_success_false_is_remote_error_with_message(server, tls):
    server.envelope("/api/v1/metaconfig/get_banned_users", success=False, message="SSL secure connection is required")
    with pytest.raises(RemoteError) as info:
        make_client(server, tls).get_banned_users()
    assert "SSL secure connection is required" in str(info.value)
    assert "metaconfig/get_banned_users" in str(info.value)


def test_banned_front_door_403_is_authorization_error(server, tls):
    server.route("/api/v1/job/kill", status=403, body="ERROR : John Doe is banned", content_type="text/plain")
    with pytest.raises(AuthorizationError) as info:
        make_client(server, tls).kill_jobs([1])
    assert "ERROR : John Doe is banned" in str(info.value)


def test_forbidden_method_403_is_authorization_error(server, tls):
    server.route("/api/v1/task/get_status", status=403, body="ERROR : method get_status is forbidden",
                 content_type="text/plain")
    with pytest.raises(AuthorizationError) as info:
        make_client(server, tls).get_task_status(5)
    assert "method get_status is forbidden" in str(info.value)


def test_http_500_and_non_json_replies_are_remote_errors(server, tls):
    server.route("/api/v1/task/get_job_ids", status=500, body="ERROR : boom", content_type="text/plain")
    server.route("/api/v1/task/get_status", body="{'success': True, 'data': 'running'}", content_type="text/plain")
    client = make_client(server, tls)
    with pytest.raises(RemoteError) as info:
        client.get_task_job_ids(1)
    assert "500" in str(info.value) and "boom" in str(info.value)
    with pytest.raises(RemoteError) as info:
        client.get_task_status(1)
    assert "not JSON" in str(info.value)


def test_kill_jobs_batches_of_1000_and_keeps_order(server, tls):
    def reply(request):
        return {"success": True, "message": "", "data": [i % 2 == 0 for i in request["body"]["job_ids"]]}

    server.route("/api/v1/job/kill", handler=reply)
    client = make_client(server, tls)
    ids = list(range(1, 2501))
    result = client.kill_jobs(ids, code=9, kill_options=["keepUnmerged"])
    assert result == [i % 2 == 0 for i in ids]
    kills = [r for r in server.received if r["path"] == "/api/v1/job/kill"]
    assert [len(r["body"]["job_ids"]) for r in kills] == [1000, 1000, 500]
    assert all(r["body"]["code"] == 9 and r["body"]["kill_options"] == ["keepUnmerged"] for r in kills)
    assert [op["ids"] for op in client.operations] == [1000, 1000, 500]


def test_kill_without_code_sends_no_code(server, tls):
    server.route("/api/v1/job/kill", handler=lambda r: {"success": True, "message": "", "data": [False]})
    assert make_client(server, tls).kill_jobs([7]) == [False]
    assert server.received[-1]["body"] == {"job_ids": [7]}


def test_kill_reply_of_wrong_length_is_an_error(server, tls):
    server.envelope("/api/v1/job/kill", data=[True])
    with pytest.raises(RemoteError):
        make_client(server, tls).kill_jobs([1, 2])


def test_oidc_headers_and_token_never_recorded(server, tls):
    server.envelope("/api/v1/metaconfig/get_banned_users", data={"John Doe": False, "Eve": False})
    client = make_client(server, tls, oidc_token="secret-token-value", oidc_vo="atlas", oidc_role="production")
    assert client.get_banned_users() == ["Eve", "John Doe"]
    headers = server.received[-1]["headers"]
    assert headers["Authorization"] == "Bearer secret-token-value"
    assert headers["Origin"] == "atlas:production"
    assert "secret-token-value" not in json.dumps(client.operations)


def test_kill_task_returns_codes_without_raising(server, tls):
    server.envelope("/api/v1/task/kill", success=False, data=2, message="jediTaskID=9999 not found")
    assert make_client(server, tls).kill_task(9999) == {"task_id": 9999, "success": False, "code": 2,
                                                        "message": "jediTaskID=9999 not found"}
    server.envelope("/api/v1/task/kill", success=False, data=None, message="not the task owner or no production role")
    refused = make_client(server, tls).kill_task(5001)
    assert refused["code"] is None and "not the task owner" in refused["message"]


def test_tasks_since_sends_user_filter_as_json(server, tls):
    server.envelope("/api/v1/task/get_tasks_detailed_info_since",
                    data=[{"jediTaskID": 5001, "userName": "John Doe", "status": "running"}])
    client = make_client(server, tls)
    tasks = client.get_tasks_detailed_info_since(since=datetime.datetime(2026, 1, 2, 3, 4, 5), user_name="John Doe")
    assert tasks == [{"jediTaskID": 5001, "userName": "John Doe", "status": "running"}]
    query = server.received[-1]["query"]
    from urllib.parse import parse_qs
    params = parse_qs(query)
    assert params["since"] == ["2026-01-02 03:04:05"]
    assert json.loads(params["filters"][0]) == {"userName": "John Doe"}


def test_task_job_ids_are_sorted_ints(server, tls):
    server.envelope("/api/v1/task/get_job_ids", data=[3, 1, 2])
    assert make_client(server, tls).get_task_job_ids(5001) == [1, 2, 3]
    assert server.received[-1]["query"] == "task_id=5001"


def test_unreachable_server_is_a_gridsec_error_naming_it(tls):
    transport = HttpTransport("https://127.0.0.1:1", client_cert=None, client_key=None, proxy_file=None,
                              ca_path=tls["ca.pem"], validate_certs=True, timeout=5, retries=0)
    client = PandaClient(transport, server_label="127.0.0.1:1")
    with pytest.raises(GridsecError) as info:
        client.is_alive()
    assert "127.0.0.1:1" in str(info.value)


def test_decode_json_nested_datetimes():
    text = '{"a": [{"__datetime__": "2026-01-01T00:00:00"}], "b": {"__datetime__": "x", "y": 1}, "c": {"d": ' \
           '{"__datetime__": "2026-02-02T00:00:00"}}}'
    assert decode_json(text) == {"a": ["2026-01-01T00:00:00"], "b": {"__datetime__": "x", "y": 1},
                                 "c": {"d": "2026-02-02T00:00:00"}}
