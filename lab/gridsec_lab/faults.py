"""A fault-injecting proxy on 127.0.0.1 for the hardening tests (tests/integration/test_faults.py).

``FaultProxy(upstream_host, upstream_port, ...)`` listens on an ephemeral port of 127.0.0.1 and sits between a
module and a lab server (Argus PAP, lab PanDA, PostgreSQL). The test points the module at ``proxy.port`` and
chooses the fault with ``proxy.set(fault, **params)`` (thread-safe, applies to the next connection):

TCP level (bytes are not interpreted; TLS passes through, the client's certificate reaches the server):

``pass``            forward both ways (the default)
``refuse``          nothing listens on the port any more (connection refused); ``set("pass")`` listens again
``reset``           accept, then reset the connection at once (RST, before any byte)
``hang``            accept and never answer (the client's read timeout fires)
``sql_hook``        PostgreSQL pass-through; when the client sends a message containing ``pattern`` (bytes), call
                    ``hook(upstream_local_port)`` first (e.g. ``pg_terminate_backend`` of that backend), then forward

HTTPS level (the proxy terminates TLS with ``server_cred``, reads each HTTP request, and forwards it to the
upstream over its own TLS connection with ``upstream_cred``; the operation is the SOAP body element's local name
or, for JSON APIs, the URL path after ``/api/v1/``):

``http``            per request: ``rules`` = list of ``(match, action)``; ``match`` is an operation name, ``"*"``
                    or a callable(operation, path, body); the first matching rule whose ``times`` is not used up
                    applies. Actions (dicts): ``{"respond": (status, content_type, body)}``,
                    ``{"reset_after": nbytes}`` (forward, then send only the first nbytes of the reply and reset),
                    ``{"echo": status}`` (answer with the request line, headers and body: a server that quotes
                    the request, credentials included, in its error page),
                    ``{"hang": True}`` (read the request, never answer), ``{"before": callable}`` (call it, then
                    forward), optional ``"times": n`` (apply n times, then forward).
``tls_cert``        terminate TLS with another certificate (``server_cred``: untrusted CA, expired, wrong host name;
                    see :func:`bad_certificates`) and forward as ``http`` without rules

``proxy.events`` records what happened (``(operation, action)``), so a test can assert that a fault really fired.
Only 127.0.0.1 is ever bound or contacted.
"""
import datetime
import http.client
import ipaddress
import os
import re
import select
import socket
import ssl
import struct
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from .pki import Credential, TestPKI, slash_to_name

_SOAP_OP = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Body\b[^>]*>\s*<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)", re.S)


def operation_of(path, body):
    """The operation a request stands for: the SOAP body element, else the API path after /api/v1/."""
    found = _SOAP_OP.search(body or b"")
    if found:
        return found.group(1).decode("ascii", "replace")
    path = path.split("?", 1)[0]
    if "/api/v1/" in path:
        return path.split("/api/v1/", 1)[1]
    return path


def _rst(sock):
    """Close with an RST instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _issue(pki, dn, names, not_before, not_after, directory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sans = []
    for item in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(item)))
        except ValueError:
            sans.append(x509.DNSName(item))
    cert = (
        x509.CertificateBuilder()
        .subject_name(slash_to_name(dn)).issuer_name(pki._ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .sign(pki._ca_key, hashes.SHA256())
    )
    os.makedirs(directory, exist_ok=True)
    cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    with open(key_path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    return Credential(cert=cert_path, key=key_path, dn=dn)


def bad_certificates(pki, directory):
    """Server credentials a client verifying against ``pki.ca_dir`` must refuse, for ``set("tls_cert", ...)``:
    ``untrusted`` (valid for localhost, issued by another CA), ``expired`` (lab CA, expired yesterday) and
    ``wrong_host`` (lab CA, valid only for wrong-host.invalid)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    other = TestPKI(os.path.join(directory, "other-ca"), ca_dn="/DC=test/DC=untrusted/CN=Untrusted Fault CA")
    return {
        "untrusted": other.host("fault-untrusted"),
        "expired": _issue(pki, "/DC=test/DC=gridsec-lab/OU=hosts/CN=expired.lab.gridsec.test",
                          ("localhost", "127.0.0.1"), now - datetime.timedelta(days=30),
                          now - datetime.timedelta(days=1), os.path.join(directory, "expired")),
        "wrong_host": _issue(pki, "/DC=test/DC=gridsec-lab/OU=hosts/CN=wrong-host.invalid",
                             ("wrong-host.invalid",), now - datetime.timedelta(hours=1),
                             now + datetime.timedelta(days=30), os.path.join(directory, "wrong-host")),
    }


class FaultProxy:
    """See the module docstring. ``server_cred``: the certificate presented when terminating TLS (normally a lab
    host credential valid for localhost); ``upstream_cred``/``upstream_ca``: what the proxy uses towards the
    upstream when it terminates TLS; ``upstream_tls=False`` for a plain-TCP upstream (PostgreSQL)."""

    def __init__(self, upstream_host, upstream_port, *, server_cred=None, upstream_cred=None, upstream_ca=None,
                 upstream_tls=True, client_ca=None):
        self.upstream = (upstream_host, int(upstream_port))
        self.server_cred = server_cred
        self.upstream_cred = upstream_cred
        self.upstream_ca = upstream_ca
        self.upstream_tls = upstream_tls
        self.client_ca = client_ca
        self.events = []
        self._lock = threading.Lock()
        self._fault = ("pass", {})
        self._listener = None
        self._stopping = False
        self._sockets = set()
        self.port = None
        self._thread = None

    # -- control -----------------------------------------------------------------------------------
    @property
    def host(self):
        return "127.0.0.1"

    def set(self, fault, **params):
        with self._lock:
            self._fault = (fault, dict(params))
            self.events.append(("*", "set %s" % fault))
        if fault == "refuse":
            self._close_listener()
        elif self._listener is None and not self._stopping:
            self._listen()

    def start(self):
        if self._listener is None:
            self._listen()
        return self

    def stop(self):
        self._stopping = True
        self._close_listener()
        with self._lock:
            socks = list(self._sockets)
        for sock in socks:
            _rst(sock)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def fired(self, action=None):
        """Events other than ``set`` (optionally only those whose action starts with ``action``)."""
        return [e for e in self.events if not e[1].startswith("set ") and (action is None or e[1].startswith(action))]

    # -- listener ------------------------------------------------------------------------------------
    def _listen(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port or 0))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        self._listener = sock
        self._thread = threading.Thread(target=self._accept_loop, args=(sock,), daemon=True)
        self._thread.start()

    def _close_listener(self):
        sock, self._listener = self._listener, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept_loop(self, listener):
        while True:
            try:
                conn, _addr = listener.accept()
            except OSError:
                return
            with self._lock:
                fault, params = self._fault
                self._sockets.add(conn)
            threading.Thread(target=self._handle, args=(conn, fault, params), daemon=True).start()

    def _forget(self, *socks):
        with self._lock:
            for sock in socks:
                self._sockets.discard(sock)

    def _record(self, operation, action):
        with self._lock:
            self.events.append((operation, action))

    # -- connection handlers ---------------------------------------------------------------------------
    def _handle(self, conn, fault, params):
        try:
            if fault == "reset":
                self._record("connect", "reset")
                _rst(conn)
            elif fault == "hang":
                self._record("connect", "hang")
                conn.settimeout(params.get("seconds", 120))
                try:
                    while conn.recv(65536):
                        pass
                except OSError:
                    pass
                conn.close()
            elif fault in ("pass", "refuse", "sql_hook"):
                self._pipe(conn, params if fault == "sql_hook" else {})
            elif fault in ("http", "tls_cert"):
                self._http(conn, params)
            else:
                raise ValueError("unknown fault %r" % fault)
        except Exception as err:  # pylint: disable=broad-except
            self._record("error", "proxy error %s: %s" % (type(err).__name__, err))
            _rst(conn)
        finally:
            self._forget(conn)

    def _pipe(self, conn, params):
        upstream = socket.create_connection(self.upstream, timeout=30)
        with self._lock:
            self._sockets.add(upstream)
        pattern, hook = params.get("pattern"), params.get("hook")
        fired = False
        try:
            peers = {conn: upstream, upstream: conn}
            while True:
                readable, _w, _x = select.select(list(peers), [], [], 120)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is conn and pattern and not fired and pattern in data:
                        fired = True
                        self._record(pattern.decode("ascii", "replace"), "sql_hook")
                        hook(upstream.getsockname()[1])
                    peers[sock].sendall(data)
        except OSError:
            return
        finally:
            self._forget(upstream)
            for sock in (conn, upstream):
                try:
                    sock.close()
                except OSError:
                    pass

    def _server_context(self, params):
        cred = params.get("server_cred") or self.server_cred
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cred.cert, cred.key)
        if self.client_ca:
            ctx.load_verify_locations(capath=self.client_ca)
            ctx.verify_mode = ssl.CERT_OPTIONAL
        return ctx

    def _upstream_connection(self):
        if not self.upstream_tls:
            return http.client.HTTPConnection(*self.upstream, timeout=60)
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if os.path.isdir(self.upstream_ca or ""):
            ctx.load_verify_locations(capath=self.upstream_ca)
        else:
            ctx.load_verify_locations(cafile=self.upstream_ca)
        if self.upstream_cred is not None:
            ctx.load_cert_chain(self.upstream_cred.cert, self.upstream_cred.key)
        return http.client.HTTPSConnection("localhost", self.upstream[1], context=ctx, timeout=60)

    @staticmethod
    def _read_request(tls):
        reader = tls.makefile("rb")
        line = reader.readline(65537)
        if not line:
            return None
        method, path, _version = line.decode("latin-1").split(" ", 2)
        headers = []
        while True:
            header = reader.readline(65537)
            if header in (b"\r\n", b"\n", b""):
                break
            name, value = header.decode("latin-1").split(":", 1)
            headers.append((name.strip(), value.strip()))
        length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0") or 0)
        body = reader.read(length) if length else b""
        return method, path, headers, body

    def _pick(self, params, operation, path, body):
        with self._lock:
            for rule in params.get("rules", ()):
                match, action = rule
                hit = match == "*" or match == operation or (callable(match) and match(operation, path, body))
                if not hit:
                    continue
                if "times" in action:
                    used = action.setdefault("_used", 0)
                    if used >= action["times"]:
                        continue
                    action["_used"] = used + 1
                return action
        return None

    def _http(self, conn, params):
        try:
            tls = self._server_context(params).wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as err:
            self._record("handshake", "client refused the certificate: %s" % err)
            conn.close()
            return
        with self._lock:
            self._sockets.add(tls)
        upstream = None
        try:
            while True:
                request = self._read_request(tls)
                if request is None:
                    return
                method, path, headers, body = request
                operation = operation_of(path, body)
                action = self._pick(params, operation, path, body) or {}
                if "respond" in action:
                    status, ctype, payload = action["respond"]
                    self._record(operation, "respond %d" % status)
                    tls.sendall(("HTTP/1.1 %d Fault\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                                 % (status, ctype, len(payload))).encode("latin-1") + payload)
                    continue
                if "echo" in action:
                    status = action["echo"]
                    payload = ("%s %s\n%s\n\n" % (method, path, "\n".join("%s: %s" % h for h in headers))).encode(
                        "latin-1", "replace") + body
                    self._record(operation, "echo %d" % status)
                    tls.sendall(("HTTP/1.1 %d Echo\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
                                 % (status, len(payload))).encode("latin-1") + payload)
                    continue
                if action.get("hang"):
                    self._record(operation, "hang")
                    tls.settimeout(action.get("seconds", 120))
                    try:
                        tls.recv(1)
                    except OSError:
                        pass
                    return
                if "before" in action:
                    self._record(operation, "before")
                    action["before"]()
                if upstream is None:
                    upstream = self._upstream_connection()
                send_headers = dict((k, v) for k, v in headers
                                    if k.lower() not in ("host", "content-length", "connection"))
                upstream.request(method, path, body=body, headers=send_headers)
                reply = upstream.getresponse()
                payload = reply.read()
                raw = ("HTTP/1.1 %d %s\r\n" % (reply.status, reply.reason)).encode("latin-1")
                for name, value in reply.getheaders():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        raw += ("%s: %s\r\n" % (name, value)).encode("latin-1")
                raw += ("Content-Length: %d\r\n\r\n" % len(payload)).encode("latin-1") + payload
                if "reset_after" in action:
                    self._record(operation, "reset_after %d" % action["reset_after"])
                    tls.sendall(raw[:action["reset_after"]])
                    time.sleep(0.05)
                    _rst(tls)
                    return
                self._record(operation, "forward %d" % reply.status)
                tls.sendall(raw)
        except (OSError, ValueError):
            return
        finally:
            self._forget(tls)
            if upstream is not None:
                upstream.close()
            try:
                tls.close()
            except OSError:
                pass


# -- canned payloads ------------------------------------------------------------------------------------
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def soap_fault(text="java.lang.RuntimeException: injected fault"):
    return ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="%s"><soapenv:Body>'
            '<soapenv:Fault><faultcode>soapenv:Server.userException</faultcode><faultstring>%s</faultstring>'
            '</soapenv:Fault></soapenv:Body></soapenv:Envelope>' % (SOAP_ENV, text)).encode("utf-8")


TRUNCATED_XML = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="%s"><soapenv:Body>'
                 '<ns1:listPoliciesResponse xmlns:ns1="http://services.pap.authz.glite.org"><listPoliciesReturn>'
                 % SOAP_ENV).encode("utf-8")
MALFORMED_XML = b"<?xml version='1.0'?><soapenv:Envelope xmlns:soapenv='x'><Body><<not xml &&& </Envelope>"
XML_BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
            b'<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>'
            b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            b'<x>&lol4;</x></soapenv:Body></soapenv:Envelope>')
XXE = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
       b'<x>&xxe;</x></soapenv:Body></soapenv:Envelope>')
HTML_ERROR = (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>"
              b"<p>The proxy server received an invalid response from an upstream server.</p></body></html>")
