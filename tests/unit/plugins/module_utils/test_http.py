"""HttpTransport against a real local HTTPS server that requires a client certificate.

The server binds 127.0.0.1 on an ephemeral port; credentials come from the lab's TestPKI (a throwaway CA in
tmp). A second CA plays the "untrusted server" role. The server records every request it received, with the
client port (one port = one TCP connection), so that the tests can tell a reused connection from a new one and
count how often a request really arrived.
"""
import http.server
import json
import os
import shutil
import socket
import ssl
import struct
import threading
import time

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    ConfigError,
    TLSError,
    TransportError,
)
from ansible_collections.gridsec.ops.plugins.module_utils import _http
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
from ansible_collections.gridsec.ops.plugins.module_utils._http_options import (
    TLS_MUTUALLY_EXCLUSIVE,
    TLS_REQUIRED_TOGETHER,
    TLS_SPEC,
    resolve_client_credential,
    validate_tls_options,
)
# The lab PKI lives in the repository, not in the collection artifact that ansible-test units runs on.
TestPKI = pytest.importorskip("gridsec_lab.pki", reason="the lab (lab/gridsec_lab) is not installed here").TestPKI


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # like Apache or Jetty: the reply's header and body writes go out at once (see the kept-alive test)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _reply(self, status, body, chunked=False):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 4096):
                piece = body[start:start + 4096]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server API
        self.do_POST()

    def do_POST(self):  # noqa: N802 - http.server API
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length)
        self.server.posts.append((self.path, payload))
        self.server.ports.append(self.client_address[1])
        if self.path.endswith("/slow"):
            time.sleep(1.5)
        if self.path.endswith("/forbidden"):
            return self._reply(403, b"no")
        if self.path.endswith("/fault"):
            return self._reply(500, b"<fault/>")
        if self.path.endswith("/big"):
            return self._reply(200, b"x" * 300000)
        if self.path.endswith("/bigchunked"):
            return self._reply(200, b"x" * 300000, chunked=True)
        if self.path.endswith("/reset"):
            # RST after the request was read: what a crashing front end does
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return self.connection.close()
        if self.path.endswith("/cut"):
            # a reply that announces 1000 bytes and stops after 10
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.close_connection = True
            return None
        if self.path.endswith("/close-when-idle"):
            # a keep-alive reply, then the server drops the idle connection (as Apache does after KeepAliveTimeout)
            self._reply(200, b"bye")
            self.close_connection = True
            return None
        if self.path.endswith("/connection-close"):
            self.send_response(200)
            self.send_header("Connection", "close")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            return None
        if "/wire" in self.path:
            seen = {"path": self.path, "body": payload.decode(),
                    "headers": dict((k.lower(), v) for k, v in self.headers.items())}
            return self._reply(200, json.dumps(seen).encode())
        # the verified peer: first CN of the end-entity certificate (a proxy adds a numeric CN after it)
        names = [value for rdn in self.connection.getpeercert()["subject"] for key, value in rdn if key == "commonName"]
        return self._reply(200, ("hello %s: %s" % (names[0], payload.decode())).encode())


def _quiet_server(server):
    server.daemon_threads = True
    server.posts = []
    server.ports = []
    server.handle_error = lambda request, address: None  # the /reset and /cut handlers end in errors on purpose
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def start_server(pki, host_name, client_ca_dir):
    host = pki.host(host_name)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(host.cert, host.key)
    context.load_verify_locations(capath=client_ca_dir)
    context.verify_mode = ssl.CERT_REQUIRED
    context.verify_flags |= ssl.VERIFY_ALLOW_PROXY_CERTS  # RFC 3820 proxies, like a grid service
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return _quiet_server(server)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return TestPKI(str(tmp_path_factory.mktemp("http-pki")))


@pytest.fixture(scope="module")
def user(pki):
    return pki.user("transport-tester")


@pytest.fixture
def server(pki):
    srv = start_server(pki, "transport", pki.ca_dir)
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def untrusted_server(pki, tmp_path):
    other = TestPKI(str(tmp_path / "other-pki"), ca_dn="/DC=test/DC=untrusted/CN=Other CA")
    srv = start_server(other, "untrusted", pki.ca_dir)
    yield srv
    srv.shutdown()
    srv.server_close()


def url_of(srv):
    return "https://localhost:%d/base" % srv.server_address[1]


def test_trusted_server_with_cert_and_key(server, user, pki):
    transport = HttpTransport(url_of(server), client_cert=user.cert, client_key=user.key, ca_path=pki.ca_dir)
    reply = transport.request("POST", "echo", operation="ping", data=b"hi")
    assert reply.status == 200
    assert reply.body == b"hello transport-tester: hi"
    status, headers, body = reply  # also a plain tuple
    assert headers["content-type"] == "text/plain"
    assert server.posts == [("/base/echo", b"hi")]


def test_trusted_server_with_rfc3820_proxy_file(server, user, pki):
    transport = HttpTransport(url_of(server), proxy_file=user.proxy, ca_path=pki.ca_cert_path)
    assert transport.request("POST", "echo", operation="ping", data=b"p").body == b"hello transport-tester: p"


def test_untrusted_server_certificate_is_a_tls_error(untrusted_server, user, pki):
    transport = HttpTransport(url_of(untrusted_server), client_cert=user.cert, client_key=user.key,
                              ca_path=pki.ca_dir, retries=3, backoff=0)
    with pytest.raises(TLSError) as info:
        transport.request("POST", "echo", operation="ban", data=b"x")
    assert "server certificate not trusted by CA path %s" % pki.ca_dir in str(info.value)
    assert "operation ban" in str(info.value)
    assert untrusted_server.posts == []


def test_environment_ca_bundle_does_not_override_ca_path(server, user, pki, monkeypatch, tmp_path):
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bogus))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(bogus))
    transport = HttpTransport(url_of(server), client_cert=user.cert, client_key=user.key, ca_path=pki.ca_dir)
    assert transport.request("POST", "echo", operation="ping", data=b"").status == 200


def test_foreign_client_certificate_is_a_tls_error(server, pki, tmp_path):
    stranger = TestPKI(str(tmp_path / "foreign-pki"), ca_dn="/DC=test/DC=foreign/CN=Foreign CA").user("x")
    transport = HttpTransport(url_of(server), ca_path=pki.ca_dir, retries=2, backoff=0,
                              client_cert=stranger.cert, client_key=stranger.key)
    with pytest.raises(TLSError) as info:
        transport.request("POST", "echo", operation="ping", data=b"")
    assert "client certificate rejected" in str(info.value) and "operation ping" in str(info.value)
    assert stranger.cert in str(info.value)
    assert server.posts == []


def test_no_credential_configured_says_so(server, pki, tmp_path, monkeypatch):
    for name in ("X509_USER_PROXY", "X509_USER_CERT", "X509_USER_KEY"):
        monkeypatch.delenv(name, raising=False)
    # a uid whose default proxy cannot exist, so that a real /tmp/x509up_u<uid> of this machine is not picked up
    transport = HttpTransport(url_of(server), ca_path=pki.ca_dir, retries=2, backoff=0, uid=987654321)
    assert transport.client_credential is None
    with pytest.raises(TLSError) as info:
        transport.request("POST", "echo", operation="ping", data=b"")
    text = str(info.value)
    assert "no client credential was configured" in text and "operation ping" in text
    assert "X509_USER_PROXY" in text and "/tmp/x509up_u987654321" in text
    assert "missing or rejected" not in text
    assert server.posts == []


def test_http_403_is_authorization_error_and_500_is_returned(server, user, pki):
    transport = HttpTransport(url_of(server), client_cert=user.cert, client_key=user.key, ca_path=pki.ca_dir)
    with pytest.raises(AuthorizationError) as info:
        transport.request("POST", "forbidden", operation="ban", data=b"")
    assert info.value.details["status"] == 403
    reply = transport.request("POST", "fault", operation="ban", data=b"")
    assert (reply.status, reply.body) == (500, b"<fault/>")


def test_no_retry_once_the_request_was_sent(server, user, pki):
    transport = HttpTransport(url_of(server), client_cert=user.cert, client_key=user.key, ca_path=pki.ca_dir,
                              timeout=0.5, retries=3, backoff=0)
    with pytest.raises(TransportError) as info:
        transport.request("POST", "slow", operation="ban", data=b"ban-me")
    assert "may have been processed" in str(info.value)
    time.sleep(1.2)  # let the slow handler finish recording
    assert server.posts == [("/base/slow", b"ban-me")]  # sent exactly once


def test_connection_refused_is_retried_a_bounded_number_of_times(user, pki, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = HttpTransport("https://127.0.0.1:%d/base" % port, client_cert=user.cert, client_key=user.key,
                              ca_path=pki.ca_dir, retries=2, backoff=0)
    calls = []
    real = socket.create_connection

    def spy(address, *args, **kwargs):
        calls.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(_http.socket, "create_connection", spy)
    with pytest.raises(TransportError) as info:
        transport.request("POST", "echo", operation="ping", data=b"")
    assert calls == [("127.0.0.1", port)] * 3  # first attempt + 2 retries
    assert "cannot connect to https://127.0.0.1:%d/base" % port in str(info.value)
    assert "refused" in str(info.value) and "operation ping" in str(info.value)
    assert info.value.details["attempts"] == 3


def test_unknown_host_is_a_connect_error(user, pki):
    transport = HttpTransport("https://no-such-host.invalid:8150/base", client_cert=user.cert, client_key=user.key,
                              ca_path=pki.ca_dir, retries=1, backoff=0)
    with pytest.raises(TransportError) as info:
        transport.request("POST", "echo", operation="ping", data=b"")
    assert "cannot connect to https://no-such-host.invalid:8150/base after 2 attempts" in str(info.value)


def test_kept_alive_connection_is_reused(server, user, pki):
    transport = HttpTransport(url_of(server), client_cert=user.cert, client_key=user.key, ca_path=pki.ca_dir)
    for word in ("one", "two", "three"):
        assert transport.request("POST", "echo", operation="ping", data=word.encode()).status == 200
    assert [payload for _path, payload in server.posts] == [b"one", b"two", b"three"]
    assert len(set(server.ports)) == 1  # one TLS connection, one handshake
    # a reused connection answers at once: no 40 ms stall per call (Nagle + delayed ACK, headers and body being
    # two writes); 20 calls would take 0.8 s with the stall, a few ms without
    started = time.monotonic()
    for _call in range(20):
        transport.request("POST", "echo", operation="ping", data=b"x")
    assert time.monotonic() - started < 0.6
    transport.close()
    assert transport.request("POST", "echo", operation="ping", data=b"four").status == 200
    assert len(set(server.ports)) == 2  # a closed transport reconnects


def test_connection_closed_by_the_server_while_idle_is_replaced(server, user, pki):
    transport = HttpTransport(url_of(server), client_cert=user.cert, client_key=user.key, ca_path=pki.ca_dir,
                              retries=0)
    assert transport.request("POST", "close-when-idle", operation="ping", data=b"1").body == b"bye"
    time.sleep(0.3)  # the server's close reaches this host
    assert transport.request("POST", "echo", operation="ban", data=b"2").body == b"hello transport-tester: 2"
    assert [payload for _path, payload in server.posts] == [b"1", b"2"]  # the ban arrived once
    assert len(set(server.ports)) == 2


def test_connection_close_reply_is_not_reused(server, user, pki):
    transport = HttpTransport(url_of(server), client_cert=user.cert, client_key=user.key, ca_path=pki.ca_dir,
                              retries=0)
    assert transport.request("POST", "connection-close", operation="ping", data=b"").body == b"ok"
    assert transport.request("POST", "echo", operation="ping", data=b"x").status == 200
    assert len(server.posts) == 2 and len(set(server.ports)) == 2


@pytest.mark.parametrize("first", [None, "echo"], ids=["new connection", "reused connection"])
def test_reset_after_the_request_was_sent_is_not_retried(server, user, pki, first):
    transport = HttpTransport(url_of(server), client_cert=user.cert, client_key=user.key, ca_path=pki.ca_dir,
                              retries=3, backoff=0)
    if first:
        transport.request("POST", first, operation="ping", data=b"")
    with pytest.raises(TransportError) as info:
        transport.request("POST", "reset", operation="ban", data=b"ban-me")
    text = str(info.value)
    assert "may have been processed by the server" in text and "operation ban" in text
    assert [payload for _path, payload in server.posts].count(b"ban-me") == 1  # received exactly once
    # the transport is still usable afterwards
    assert transport.request("POST", "echo", operation="ping", data=b"again").status == 200


def test_reply_broken_off_while_reading(server, user, pki):
    transport = HttpTransport(url_of(server), client_cert=user.cert, client_key=user.key, ca_path=pki.ca_dir,
                              retries=3, backoff=0)
    with pytest.raises(TransportError) as info:
        transport.request("POST", "cut", operation="ban", data=b"b")
    assert "reply broken off while reading" in str(info.value)
    assert "may have been processed by the server" in str(info.value)
    assert len(server.posts) == 1


def test_wire_of_json_form_and_query_parameters(server, user, pki):
    transport = HttpTransport(url_of(server), client_cert=user.cert, client_key=user.key, ca_path=pki.ca_dir)

    def wire(**kwargs):
        reply = transport.request(kwargs.pop("method", "POST"), "wire", operation="ping", **kwargs)
        return json.loads(reply.body)

    sent = wire(json={"names": ["a b", "é"]})
    assert sent["headers"]["content-type"] == "application/json"
    assert json.loads(sent["body"]) == {"names": ["a b", "é"]}
    sent = wire(data={"user": "/DC=org/CN=A B", "id": [1, 2], "skip": None})
    assert sent["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert sent["body"] == "user=%2FDC%3Dorg%2FCN%3DA+B&id=1&id=2"
    sent = wire(method="GET", params={"dn": "/CN=A B", "limit": 5, "none": None},
                headers={"Accept": "application/json"})
    assert sent["path"] == "/base/wire?dn=%2FCN%3DA+B&limit=5"
    assert sent["headers"]["accept"] == "application/json"  # the caller's header replaces the default
    assert sent["headers"]["user-agent"] == "gridsec.ops"
    assert sent["body"] == "" and "content-type" not in sent["headers"]
    sent = wire(data="<x>é</x>", headers={"content-type": "text/xml; charset=utf-8"})
    assert sent["body"] == "<x>é</x>" and sent["headers"]["content-type"] == "text/xml; charset=utf-8"
    assert len(set(server.ports)) == 1


def test_plain_http_url_works(pki):
    server = _quiet_server(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler))
    try:
        transport = HttpTransport("http://127.0.0.1:%d/lab" % server.server_address[1], ca_path=pki.ca_dir,
                                  credential_fallback=False)
        reply = transport.request("GET", "wire", operation="ping", params={"q": "1"})
        assert reply.status == 200 and json.loads(reply.body)["path"] == "/lab/wire?q=1"
        assert reply.headers.get("CONTENT-TYPE") == "text/plain" and "content-length" in reply.headers
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("path", ["big", "bigchunked"])
def test_reply_size_is_capped(server, user, pki, path):
    transport = HttpTransport(url_of(server), client_cert=user.cert, client_key=user.key, ca_path=pki.ca_dir,
                              max_response_bytes=100000)
    with pytest.raises(TransportError) as info:
        transport.request("POST", path, operation="listPolicies", data=b"")
    assert "limit of 100000 bytes" in str(info.value)
    # the rest of that reply is never read: the next request goes on a new connection
    assert transport.request("POST", "echo", operation="ping", data=b"").status == 200
    roomy = HttpTransport(url_of(server), client_cert=user.cert, client_key=user.key, ca_path=pki.ca_dir,
                          max_response_bytes=400000)
    assert len(roomy.request("POST", path, operation="listPolicies", data=b"").body) == 300000


def test_configuration_errors_are_reported_before_connecting(tmp_path, user):
    with pytest.raises(ConfigError, match="CA path .* does not exist"):
        HttpTransport("https://localhost:1", ca_path=str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="client_cert .* does not exist"):
        HttpTransport("https://localhost:1", client_cert=str(tmp_path / "c.pem"), client_key=user.key,
                      validate_certs=False)
    with pytest.raises(ConfigError, match="together"):
        HttpTransport("https://localhost:1", client_cert=user.cert, validate_certs=False)
    with pytest.raises(ConfigError, match="proxy_file cannot be combined"):
        HttpTransport("https://localhost:1", proxy_file=user.proxy, client_cert=user.cert, client_key=user.key,
                      validate_certs=False)


def test_tls_spec_takes_grid_environment_variables(monkeypatch, user):
    monkeypatch.setenv("X509_USER_PROXY", user.proxy)
    monkeypatch.setenv("X509_CERT_DIR", "/srv/grid/certificates")
    monkeypatch.delenv("X509_USER_CERT", raising=False)
    monkeypatch.delenv("X509_USER_KEY", raising=False)
    validator = ArgumentSpecValidator(TLS_SPEC, mutually_exclusive=TLS_MUTUALLY_EXCLUSIVE,
                                      required_together=TLS_REQUIRED_TOGETHER)
    result = validator.validate({})
    assert result.error_messages == []
    params = result.validated_parameters
    assert params["ca_path"] == "/srv/grid/certificates"
    assert (params["validate_certs"], params["timeout"], params["retries"]) == (True, 30.0, 2)
    # the credential variables are applied by the transport, with the grid clients' precedence
    assert params["proxy_file"] is None
    transport = HttpTransport("https://localhost:1", validate_certs=False, **{
        k: params[k] for k in ("client_cert", "client_key", "proxy_file", "timeout", "retries")})
    assert transport.client_credential == user.proxy and transport.credential.source == "X509_USER_PROXY"
    monkeypatch.delenv("X509_CERT_DIR")
    assert validator.validate({}).validated_parameters["ca_path"] == "/etc/grid-security/certificates"


# -- option validation (local: no operation in the message, nothing sent) ---------------------------------------
@pytest.mark.parametrize("timeout", [0, -1, -0.5, float("nan")])
def test_timeout_must_be_positive(user, timeout):
    with pytest.raises(ConfigError) as info:
        HttpTransport("https://localhost:1", client_cert=user.cert, client_key=user.key, validate_certs=False,
                      timeout=timeout)
    assert "timeout must be a number of seconds greater than 0" in str(info.value)
    assert info.value.operation is None and "operation" not in str(info.value)


def test_negative_retries_are_refused(user):
    with pytest.raises(ConfigError, match=r"retries must be an integer >= 0 \(got -1\)") as info:
        HttpTransport("https://localhost:1", client_cert=user.cert, client_key=user.key, validate_certs=False,
                      retries=-1)
    assert info.value.operation is None
    assert validate_tls_options(timeout=30, retries=0) == []
    assert len(validate_tls_options(timeout=0, retries=-2)) == 2


@pytest.mark.parametrize("url", ["pandaserver.example.org:25443", "pandaserver.example.org", "https://", ""])
def test_url_without_scheme_or_host_is_refused(url):
    with pytest.raises(ConfigError, match="needs a scheme and a host") as info:
        HttpTransport(url, validate_certs=False, credential_fallback=False)
    assert info.value.operation is None


# -- encrypted keys -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def encrypted_key(user, tmp_path_factory):
    from cryptography.hazmat.primitives import serialization
    with open(user.key, "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    path = tmp_path_factory.mktemp("enc") / "userkey-encrypted.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"s3cret pass")))
    return str(path)


def test_encrypted_key_with_passphrase_works_over_real_tls(server, user, pki, encrypted_key):
    transport = HttpTransport(url_of(server), client_cert=user.cert, client_key=encrypted_key,
                              client_key_passphrase="s3cret pass", ca_path=pki.ca_dir)
    assert transport.request("POST", "echo", operation="ping", data=b"enc").body == b"hello transport-tester: enc"


def test_encrypted_key_without_passphrase_says_so_before_connecting(server, user, pki, encrypted_key):
    with pytest.raises(ConfigError) as info:
        HttpTransport(url_of(server), client_cert=user.cert, client_key=encrypted_key, ca_path=pki.ca_dir)
    text = str(info.value)
    assert "is encrypted" in text and "client_key_passphrase" in text
    assert "TLS handshake failed" not in text and info.value.operation is None
    assert server.posts == []


def test_encrypted_key_with_wrong_passphrase(server, user, pki, encrypted_key):
    with pytest.raises(ConfigError, match="wrong passphrase"):
        HttpTransport(url_of(server), client_cert=user.cert, client_key=encrypted_key,
                      client_key_passphrase="nope", ca_path=pki.ca_dir)


def test_tls_spec_has_a_no_log_passphrase():
    assert TLS_SPEC["client_key_passphrase"] == {"type": "str", "no_log": True}


# -- where the credential comes from ------------------------------------------------------------------------------
def test_proxy_first_when_both_proxy_and_cert_are_in_the_environment(server, user, pki, monkeypatch):
    other = pki.user("cert-from-env")
    monkeypatch.setenv("X509_USER_PROXY", user.proxy)
    monkeypatch.setenv("X509_USER_CERT", other.cert)
    monkeypatch.setenv("X509_USER_KEY", other.key)
    transport = HttpTransport(url_of(server), ca_path=pki.ca_dir)
    assert transport.credential.source == "X509_USER_PROXY"
    assert transport.request("POST", "echo", operation="ping", data=b"").body == b"hello transport-tester: "
    # the argument spec no longer turns the two variables into "mutually exclusive" options
    validator = ArgumentSpecValidator(TLS_SPEC, mutually_exclusive=TLS_MUTUALLY_EXCLUSIVE,
                                      required_together=TLS_REQUIRED_TOGETHER)
    assert validator.validate({}).error_messages == []
    # options given in the task win over the environment
    explicit = HttpTransport(url_of(server), client_cert=other.cert, client_key=other.key, ca_path=pki.ca_dir)
    assert explicit.request("POST", "echo", operation="ping", data=b"").body == b"hello cert-from-env: "


def test_default_proxy_location_is_used_when_nothing_else_is_set(server, user, pki, monkeypatch, tmp_path):
    for name in ("X509_USER_PROXY", "X509_USER_CERT", "X509_USER_KEY"):
        monkeypatch.delenv(name, raising=False)
    uid = 900000 + os.getpid() % 10000
    default = "/tmp/x509up_u%d" % uid
    if os.path.exists(default):
        pytest.skip("%s exists on this machine" % default)
    shutil.copy(user.proxy, default)
    try:
        transport = HttpTransport(url_of(server), ca_path=pki.ca_dir, uid=uid)
        assert transport.credential.source == "%s (default proxy location)" % default
        assert transport.request("POST", "echo", operation="ping", data=b"d").body == b"hello transport-tester: d"
        # a credential given in the environment comes first
        monkeypatch.setenv("X509_USER_CERT", user.cert)
        monkeypatch.setenv("X509_USER_KEY", user.key)
        assert HttpTransport(url_of(server), ca_path=pki.ca_dir, uid=uid).credential.kind == "pair"
        # and no fallback at all for transports that must not authenticate (the BigPanDA monitor)
        monkeypatch.delenv("X509_USER_CERT")
        monkeypatch.delenv("X509_USER_KEY")
        assert HttpTransport(url_of(server), ca_path=pki.ca_dir, uid=uid,
                             credential_fallback=False).client_credential is None
    finally:
        os.unlink(default)


def test_credential_resolution_edge_cases():
    env = {"X509_USER_KEY": "/k.pem"}
    assert resolve_client_credential("/c.pem", None, None, environ=env).key == "/k.pem"
    with pytest.raises(ConfigError, match="client_key is missing"):
        resolve_client_credential("/c.pem", None, None, environ={})
    with pytest.raises(ConfigError, match="X509_USER_CERT and X509_USER_KEY must be set together"):
        resolve_client_credential(environ={"X509_USER_CERT": "/c.pem"}, uid=987654321)
    with pytest.raises(ConfigError, match="proxy_file cannot be combined"):
        resolve_client_credential("/c.pem", "/k.pem", "/p.pem", environ={})
    none = resolve_client_credential(environ={}, uid=987654321)
    assert none.kind is None


def test_proxy_from_environment_that_does_not_exist_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("X509_USER_PROXY", str(tmp_path / "gone"))
    with pytest.raises(ConfigError, match=r"proxy_file \(from X509_USER_PROXY\) .*gone does not exist"):
        HttpTransport("https://localhost:1", validate_certs=False)


# ---- issue 14, item 20: a port that does not speak TLS -----------------------------------------------------

def _raw_server(answer):
    """A TCP server on 127.0.0.1 that reads what the client sends, writes ``answer`` (bytes, may be empty)
    and closes: a plain HTTP service that drops garbage, an SSH daemon, ..."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    seen = []

    def serve():
        while True:
            try:
                conn, _addr = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    data = conn.recv(4096)
                    seen.append(data)
                    if data.startswith(b"HEAD ") or data.startswith(b"GET "):
                        conn.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    elif answer:
                        conn.sendall(answer)
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    return listener, seen


@pytest.mark.parametrize("kind", ["http.server", "closes-on-garbage", "ssh-banner"])
def test_port_that_does_not_speak_tls_says_so(kind, user, pki):
    """A TLS handshake answered by plain HTTP (or another protocol) is not a rejected client certificate."""
    server = listener = None
    if kind == "http.server":
        server = _quiet_server(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler))
        port = server.server_address[1]
    else:
        listener, _seen = _raw_server(b"SSH-2.0-OpenSSH_9.6\r\n" if kind == "ssh-banner" else b"")
        port = listener.getsockname()[1]
    try:
        transport = HttpTransport("https://127.0.0.1:%d/pap/services" % port, client_cert=user.cert,
                                  client_key=user.key, ca_path=pki.ca_dir, retries=0, timeout=5)
        with pytest.raises(TLSError) as info:
            transport.request("POST", "echo", operation="ping", data=b"")
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if listener is not None:
            listener.close()
    text = str(info.value)
    assert "127.0.0.1:%d does not speak TLS (plain HTTP?)" % port in text, text
    assert "client certificate rejected" not in text
    assert "operation ping" in text and "nothing was sent" in text
    assert info.value.details["not_tls"] is True


def test_rejected_client_certificate_is_not_reported_as_plain_http(server, pki, tmp_path):
    """The plain-HTTP diagnosis never hides a real refusal: a TLS server that drops a foreign certificate."""
    stranger = TestPKI(str(tmp_path / "foreign-pki2"), ca_dn="/DC=test/DC=foreign/CN=Foreign CA").user("y")
    transport = HttpTransport(url_of(server), ca_path=pki.ca_dir, retries=0, client_cert=stranger.cert,
                              client_key=stranger.key)
    with pytest.raises(TLSError) as info:
        transport.request("POST", "echo", operation="ping", data=b"")
    assert "client certificate rejected" in str(info.value)
    assert "does not speak TLS" not in str(info.value)
