# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""HTTPS transport with grid-style mutual TLS, shared by the Argus and PanDA clients.

Built on the standard library (``http.client``, ``ssl``) rather than ``requests``: importing ``requests`` (urllib3,
idna, charset_normalizer, cookiejar) cost about 0.3 s of every module run, more than the module's own work
(issue 10), and a module needs one kept-alive connection to one server, not a connection pool.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

What it guarantees to its callers:

* the client authenticates with an X.509 certificate + key, or with an RFC 3820 proxy file (proxy certificate,
  its key and the chain in one PEM file, the ``X509_USER_PROXY`` convention);
* the server is verified against a CA file or a hashed CA directory (``/etc/grid-security/certificates``), and
  nothing from the environment (``REQUESTS_CA_BUNDLE``, ``.netrc``, ``https_proxy``) changes that silently:
  ``http.client`` reads none of them;
* one connection per transport is kept alive and reused, since a module sends several calls to one server;
* a request is retried only when it certainly did not reach the server (connection refused, DNS failure,
  connect timeout); once the request may have been delivered it is never sent again by the transport, so a ban
  or a job kill is not issued twice behind the caller's back;
* the reply body is read with a size cap;
* every failure is a ``_errors`` exception that names the server and the operation.
"""

import collections
import http.client
import json as _json
import os
import re
import select
import socket
import ssl
import time
from collections.abc import Mapping
from urllib.parse import quote, urlencode, urlsplit

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    ConfigError,
    TransportError,
)
from ansible_collections.gridsec.ops.plugins.module_utils._http_options import (
    _pem_key_is_encrypted,
    default_proxy_path,
    resolve_client_credential,
    validate_tls_options,
)

DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_READ_CHUNK = 64 * 1024
# Sent unless the caller gives its own (some front ends refuse a request without a User-Agent).
USER_AGENT = "gridsec.ops"
# Characters left as they are when a path or query is quoted: the reserved ones and "%" (already escaped
# input stays as it is), the set ``requests`` used, so the paths on the wire do not change.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
# what urlsplit removes (tab, CR, LF: bpo-43882) or cuts at (a fragment): such a URL is never split the fast way
_URL_ODD = re.compile(r"[\t\r\n#\x00-\x1f\x7f]")


class HttpReply(collections.namedtuple("HttpReply", ["status", "headers", "body"])):
    """What came back: HTTP status (int), headers (case-insensitive mapping) and the raw body (bytes).

    A tuple, so ``status, headers, body = transport.request(...)`` works as well.
    """

    __slots__ = ()

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()


def _split_host_port(base_url):
    """``"https://host:8150/pap/services"`` -> ``"host:8150"`` (the label used in error messages)."""
    rest = base_url.split("://", 1)[-1]
    return rest.split("/", 1)[0] or base_url


class ReplyHeaders(Mapping):
    """Reply headers, looked up case-insensitively (``headers.get("content-type")``).

    A header sent several times is joined with ", " (RFC 9110, 5.3), as ``requests`` did.
    """

    def __init__(self, pairs):
        # ``pairs``: a list of (name, value), or a callable returning one, called on the first look-up: most
        # replies are read by status and body alone, and building the mapping is a cost on every call
        self._pairs = pairs
        self._built = None

    @property
    def _items(self):
        if self._built is None:
            pairs = self._pairs() if callable(self._pairs) else self._pairs
            items = {}
            for name, value in pairs:
                key = name.lower()
                if key in items:
                    name, value = items[key][0], "%s, %s" % (items[key][1], value)
                items[key] = (name, value)
            self._built, self._pairs = items, None
        return self._built

    def __getitem__(self, name):
        if not isinstance(name, str):
            raise KeyError(name)
        return self._items[name.lower()][1]

    def __iter__(self):
        return (name for name, _value in self._items.values())

    def __len__(self):
        return len(self._items)

    def __repr__(self):
        return "ReplyHeaders(%r)" % dict(self.items())


def _query_pairs(params):
    """``(key, value)`` pairs of a dict or pair list; a list value repeats the key and None drops it (the rules
    ``requests`` applied to ``params=`` and form ``data=``, kept so that the wire does not change)."""
    pairs = []
    for key, values in (params.items() if hasattr(params, "items") else params):
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            values = [values]
        pairs.extend((key, value) for value in values if value is not None)
    return pairs


def _request_body(data, json_body, headers):
    """The body (bytes or None) and the headers to send: ours first, the caller's replace them by name."""
    send = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    body = None
    if json_body is not None and not data:
        body = _json.dumps(json_body, allow_nan=False).encode("utf-8")
        send["Content-Type"] = "application/json"
    elif isinstance(data, (dict, list, tuple)):
        body = urlencode(_query_pairs(data)).encode("ascii")
        send["Content-Type"] = "application/x-www-form-urlencoded"
    elif isinstance(data, str):
        body = data.encode("utf-8")  # http.client would encode a str as ISO-8859-1
    elif data is not None:
        body = bytes(data)
    for name, value in (headers or {}).items():
        for ours in [key for key in send if key.lower() == name.lower()]:
            del send[ours]
        send[name] = value
    return body, send


def _closed_by_peer(sock):
    """True when an idle kept-alive connection must not be reused.

    Nothing is pending on a healthy idle connection, so anything readable is the server's close (EOF, a TLS
    close_notify) or junk: either way the connection is replaced before sending, which is safe as nothing of
    the next request has been sent yet.
    """
    try:
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        if hasattr(select, "poll"):  # no FD_SETSIZE limit, unlike select()
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class HttpTransport(object):
    """One HTTPS (or plain HTTP) endpoint (``base_url``) with its TLS credentials, on one kept-alive connection.

    ``client_cert``/``client_key``: PEM certificate and key (``client_key_passphrase`` when the key is
    encrypted). ``proxy_file``: RFC 3820 proxy (one PEM with proxy certificate, key and chain), exclusive with the
    pair. Without any of them and with ``credential_fallback`` (default), the grid environment is used
    (``resolve_client_credential``: X509_USER_PROXY, X509_USER_CERT/X509_USER_KEY, /tmp/x509up_u<uid>).
    ``ca_path``: CA file or hashed CA directory; ``validate_certs=False`` switches server verification off (tests
    only). ``timeout`` in seconds (> 0) for connect and for each read. ``retries`` (>= 0): extra attempts after a
    connection that failed before the request was sent. ``max_response_bytes``: replies longer than this raise
    ``TransportError``. ``server_label`` names the server in errors (default ``host:port`` of ``base_url``).
    ``backoff``: first pause between retries, doubled each time.

    Every problem found here is a ``ConfigError`` with no operation: nothing was sent.
    """

    def __init__(self, base_url, *, client_cert=None, client_key=None, proxy_file=None, ca_path=None,
                 validate_certs=True, timeout=30, retries=2, max_response_bytes=DEFAULT_MAX_RESPONSE_BYTES,
                 server_label=None, backoff=0.5, client_key_passphrase=None, credential_fallback=True,
                 environ=None, uid=None):
        self.base_url = (base_url or "").rstrip("/")
        self.server_label = server_label or _split_host_port(self.base_url)
        if "://" not in self.base_url or not self.base_url.split("://", 1)[1].split("/", 1)[0]:
            raise ConfigError("URL %r is not an absolute URL: it needs a scheme and a host, such as "
                              "https://host.example.org:25443" % (base_url,), server=self.server_label)
        self._split_url(self.base_url)  # a wrong scheme or port is a ConfigError now, before anything is sent
        problems = validate_tls_options(timeout=timeout, retries=retries)
        if problems:
            raise ConfigError("; ".join(problems), server=self.server_label)
        self.timeout = float(timeout if timeout is not None else 30)
        self.retries = int(retries if retries is not None else 0)
        self.max_response_bytes = int(max_response_bytes)
        self.backoff = float(backoff)
        self.ca_path = ca_path
        self.validate_certs = True if validate_certs is None else bool(validate_certs)
        self.default_proxy = default_proxy_path(uid)
        # One TLS context for the transport's life: the credential is loaded (and checked) once, and every
        # reconnection uses the same trust settings.
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self._connection = None  # the kept-alive http.client connection
        self._origin = None  # (scheme, host, port) it is connected to

        try:
            credential = resolve_client_credential(client_cert, client_key, proxy_file, environ=environ, uid=uid,
                                                   fallback=credential_fallback)
        except ConfigError as err:
            raise err.with_context(server=self.server_label)
        self.credential = credential
        if credential.kind == "proxy":
            self._check_readable(credential.cert, self._option_text("proxy_file", credential))
            self._check_key(credential.cert, None, client_key_passphrase, credential)
            self.client_credential = credential.cert
        elif credential.kind == "pair":
            self._check_readable(credential.cert, self._option_text("client_cert", credential))
            self._check_readable(credential.key, self._option_text("client_key", credential))
            self._check_key(credential.cert, credential.key, client_key_passphrase, credential)
            self.client_credential = (credential.cert, credential.key)
        else:
            self.client_credential = None

        if not self.validate_certs:
            self._context.check_hostname = False  # must be switched off before CERT_NONE is accepted
            self._context.verify_mode = ssl.CERT_NONE
        elif ca_path:
            if not os.path.exists(ca_path):
                raise ConfigError("CA path %s does not exist (set ca_path or X509_CERT_DIR)" % ca_path,
                                  server=self.server_label)
            try:
                if os.path.isdir(ca_path):
                    # a hashed directory (c_rehash): OpenSSL reads only the CA files it needs, when it needs them
                    self._context.load_verify_locations(capath=ca_path)
                else:
                    self._context.load_verify_locations(cafile=ca_path)
            except (ssl.SSLError, OSError) as exc:
                raise ConfigError("cannot load the CAs of CA path %s: %s" % (ca_path, exc), server=self.server_label)
        else:
            self._context.load_default_certs(ssl.Purpose.SERVER_AUTH)  # the system trust store

    @staticmethod
    def _option_text(option, credential):
        if credential.source in (None, "proxy_file", "client_cert/client_key"):
            return option
        return "%s (from %s)" % (option, credential.source)

    def _check_key(self, cert, key, passphrase, credential):
        """Load the credential once, locally, so that a bad key is reported as such (not as a handshake error)."""
        key_file = key or cert
        what = "client_key %s" % key_file if key else "the key in proxy_file %s" % key_file
        if _pem_key_is_encrypted(key_file) and not passphrase:
            raise ConfigError("%s is encrypted: give its passphrase with client_key_passphrase (or use an unencrypted "
                              "key or a proxy, for example from voms-proxy-init)" % what, server=self.server_label,
                              details={"credential_source": credential.source})
        context = self._context  # the transport's own context: loaded once, used for every connection
        asked = []

        def password():
            asked.append(True)
            return (passphrase or "").encode("utf-8")

        try:
            context.load_cert_chain(cert, key, password=password)
        except (ssl.SSLError, OSError, ValueError) as exc:
            if asked and passphrase:
                msg = "cannot decrypt %s with client_key_passphrase (wrong passphrase?)" % what
            elif asked:
                msg = "%s is encrypted: give its passphrase with client_key_passphrase" % what
            else:
                msg = ("cannot load the client certificate and key (%s): %s (the certificate and key must be PEM "
                       "files that belong together)" % (credential.source, exc))
            raise ConfigError(msg, server=self.server_label, details={"credential_source": credential.source})

    def _check_readable(self, path, option):
        if not os.path.isfile(path):
            raise ConfigError("%s %s does not exist or is not a file" % (option, path), server=self.server_label)
        if not os.access(path, os.R_OK):
            raise ConfigError("%s %s is not readable by this user" % (option, path), server=self.server_label)

    def url_for(self, path):
        if not path:
            return self.base_url
        if "://" in path:
            return path
        return "%s/%s" % (self.base_url, path.lstrip("/"))

    def close(self):
        """Close the kept-alive connection (the transport stays usable: the next request reconnects)."""
        connection, self._connection, self._origin = self._connection, None, None
        if connection is not None:
            connection.close()

    # -- the one public call ------------------------------------------------------------------------------

    def request(self, method, path, *, operation, data=None, json=None, params=None, headers=None):
        """Send one request and return an ``HttpReply(status, headers, body)``.

        ``data``: bytes, str (sent UTF-8 encoded) or a dict (form-encoded); ``json``: sent as JSON;
        ``params``: added to the query string. 401/403 raise ``AuthorizationError``; any other status is
        returned to the caller (a SOAP fault comes with HTTP 500 and only the caller can read it). Failures
        raise ``TransportError``/``TLSError``. Redirects are not followed.
        """
        origin, target = self._split_url(self.url_for(path), params)
        body, send_headers = _request_body(data, json, headers)
        connection, reused = self._connected(origin, operation)
        # From here on the request may reach the server: nothing is sent twice.
        try:
            connection.request(method, target, body=body, headers=send_headers)
            response = connection.getresponse()
        except ssl.SSLError as exc:
            self.close()
            if reused:  # the server accepted this connection's handshake before: not a TLS set-up problem
                raise self._sent_error(exc, operation) from exc
            # TLS 1.3: a server that refuses the client certificate says so after the handshake, with its first
            # reply, so the refusal surfaces here; the request was not processed.
            raise self._tls_error(exc, operation) from exc
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise self._sent_error(exc, operation) from exc
        try:
            reply_body = self._read_body(response, operation)
        except BaseException:
            self.close()  # the rest of the reply is still on the connection: it cannot be reused
            raise
        response.close()
        if response.will_close:  # "Connection: close" or HTTP/1.0 (http.client has closed the socket too)
            self.close()
        if response.status in (401, 403):
            raise AuthorizationError(
                "HTTP %d %s: the server refused this credential" % (response.status, response.reason or ""),
                server=self.server_label, operation=operation,
                details={"status": response.status, "body": reply_body[:500].decode("utf-8", "replace")})
        return HttpReply(response.status, ReplyHeaders(response.getheaders), reply_body)

    # -- helpers ------------------------------------------------------------------------------------------

    def _split_url(self, url, params=None):
        """``((scheme, host, port), "/path?query")`` of ``url`` plus ``params``; ConfigError for a bad URL."""
        origins = self.__dict__.setdefault("_origins", {})
        head, sep, rest = url.partition("://")
        cut = min([i for i in (rest.find("/"), rest.find("?")) if i >= 0] or [len(rest)])
        prefix = url[:len(head) + len(sep) + cut]
        # every call of a run goes to the same origin: parse it once (a URL with characters urlsplit would
        # remove or cut at, or with surrounding blanks, takes the full path below)
        origin = origins.get(prefix) if sep and url == url.strip() and not _URL_ODD.search(url) else None
        if origin is not None:
            path, _q, query = rest[cut:].partition("?")
            return origin, self._target(path, query, params)
        try:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise ConfigError("URL %s is not valid: %s" % (url, exc), server=self.server_label)
        if scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError("URL %s: only https:// (or http://) URLs with a host are supported" % url,
                              server=self.server_label)
        origin = (scheme, parts.hostname, port)
        if sep and not _URL_ODD.search(url):
            origins[prefix] = origin
        return origin, self._target(parts.path, parts.query, params)

    @staticmethod
    def _target(path, query, params):
        """``"/path?query"`` as sent: ``query`` plus ``params``, both quoted."""
        if params:
            extra = params if isinstance(params, str) else urlencode(_query_pairs(params))
            query = "%s&%s" % (query, extra) if query and extra else (query or extra)
        target = quote(path or "/", safe=_URL_SAFE)
        if query:
            target += "?" + quote(query, safe=_URL_SAFE)
        return target

    def _connected(self, origin, operation):
        """``(connection, reused)``: the kept-alive connection when it is still usable, else a new one (the
        connect is retried: see the module doc)."""
        connection = self._connection
        if connection is not None:
            if self._origin == origin and connection.sock is not None and not _closed_by_peer(connection.sock):
                return connection, True
            self.close()
        scheme, host, port = origin
        attempt = 0
        while True:
            try:
                # connect explicitly, apart from sending: a failure here proves the request never left
                sock = socket.create_connection((host, port), timeout=self.timeout)
                break
            except OSError as exc:  # refused, unreachable, DNS failure (gaierror), connect timeout
                if attempt >= self.retries:
                    raise self._connect_error(exc, operation, attempt) from exc
                time.sleep(min(self.backoff * (2 ** attempt), 5.0))
                attempt += 1
        # http.client writes the headers and the body in two sends: with Nagle's algorithm the body would wait
        # for the server's delayed ACK of the headers, 40 ms per call on a reused connection (urllib3 sets it too)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "https":
            try:
                sock = self._context.wrap_socket(sock, server_hostname=host)
            except ssl.SSLError as exc:  # includes CertificateError (verification, host name)
                sock.close()
                raise self._tls_error(exc, operation, origin) from exc
            except socket.timeout as exc:
                sock.close()
                raise TransportError("no TLS handshake from %s within %ss (timed out); nothing was sent"
                                     % (self.base_url, self.timeout), server=self.server_label,
                                     operation=operation, details={"url": self.base_url}) from exc
            except OSError as exc:
                # a reset in mid-handshake: often how a server refuses the client certificate (see _tls_error)
                sock.close()
                raise self._tls_error(exc, operation, origin) from exc
            connection = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._context)
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
        # http.client must never open a connection itself: that would bypass the retry rules above
        connection.auto_open = 0
        connection.sock = sock
        self._connection, self._origin = connection, origin
        return connection, False

    def _read_body(self, response, operation):
        limit = self.max_response_bytes
        declared = response.getheader("Content-Length")
        if declared and declared.strip().isdigit() and int(declared) > limit:
            raise TransportError("reply of %s bytes exceeds the limit of %d bytes" % (declared.strip(), limit),
                                 server=self.server_label, operation=operation,
                                 details={"status": response.status, "limit": limit})
        chunks = []
        size = 0
        try:
            if response.length is not None and response.length <= limit and not response.chunked:
                # the usual reply: its length is known and allowed, one read (http.client raises IncompleteRead
                # when fewer bytes come)
                return response.read()
            while size <= limit:
                # never more than limit + 1 bytes in all (chunked replies included): one byte over is enough
                chunk = response.read(min(_READ_CHUNK, limit + 1 - size))
                if not chunk:
                    break
                size += len(chunk)
                chunks.append(chunk)
            if size <= limit and response.length:
                # read(amt) ends quietly at EOF even when Content-Length promised more: the rest never came
                raise http.client.IncompleteRead(b"", response.length)
        except (OSError, http.client.HTTPException) as exc:  # IncompleteRead, reset, read timeout, TLS error
            raise TransportError("reply broken off while reading (%s); the request may have been processed "
                                 "by the server" % (_describe(exc),), server=self.server_label,
                                 operation=operation, details={"status": response.status}) from exc
        if size > limit:
            raise TransportError("reply exceeds the limit of %d bytes" % limit, server=self.server_label,
                                 operation=operation, details={"status": response.status, "limit": limit})
        return b"".join(chunks)

    def _tls_error(self, exc, operation, origin=None):
        """``TLSError`` saying why the handshake with ``origin`` failed (``_http_tls.tls_error``)."""
        # imported here: the diagnosis is only needed when a handshake fails, and every module run would
        # otherwise compile it (AnsiballZ loads module_utils from a zip, without cached bytecode)
        from ansible_collections.gridsec.ops.plugins.module_utils._http_tls import tls_error

        return tls_error(self, exc, operation, origin)

    def _connect_error(self, exc, operation, attempts_retried):
        tries = " after %d attempts" % (attempts_retried + 1) if attempts_retried else ""
        if isinstance(exc, socket.timeout):
            what = "cannot connect to %s: connect timeout (%ss)%s" % (self.base_url, self.timeout, tries)
        else:
            what = "cannot connect to %s%s (%s)" % (self.base_url, tries, _describe(exc))
        return TransportError(what, server=self.server_label, operation=operation,
                              details={"url": self.base_url, "attempts": attempts_retried + 1})

    def _sent_error(self, exc, operation):
        """The request may have been delivered: say so, so that the caller checks before doing it again."""
        if isinstance(exc, socket.timeout):
            what = ("no reply from %s within %ss; the request may have been processed by the server"
                    % (self.base_url, self.timeout))
        else:
            what = ("connection to %s broken (%s); the request may have been processed by the server"
                    % (self.base_url, _describe(exc)))
        return TransportError(what, server=self.server_label, operation=operation,
                              details={"url": self.base_url, "attempts": 1})


def _describe(exc):
    """``exc`` as text that is never empty (``str(RemoteDisconnected())`` can be)."""
    return str(exc) or exc.__class__.__name__
