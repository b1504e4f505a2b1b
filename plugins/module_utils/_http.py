# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""HTTPS transport with grid-style mutual TLS, shared by the Argus and PanDA clients.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

What it guarantees to its callers:

* the client authenticates with an X.509 certificate + key, or with an RFC 3820 proxy file (proxy certificate,
  its key and the chain in one PEM file, the ``X509_USER_PROXY`` convention);
* the server is verified against a CA file or a hashed CA directory (``/etc/grid-security/certificates``), and
  nothing from the environment (``REQUESTS_CA_BUNDLE``, ``.netrc``, proxies) changes that silently;
* a request is retried only when it certainly did not reach the server (connection refused, DNS failure,
  connect timeout); once the request may have been delivered it is never sent again by the transport, so a ban
  or a job kill is not issued twice behind the caller's back;
* the reply body is read with a size cap;
* every failure is a ``_errors`` exception that names the server and the operation.
"""

import collections
import os
import time

from ansible.module_utils.basic import env_fallback

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    ConfigError,
    TLSError,
    TransportError,
)

try:
    import requests
    import requests.exceptions
    from requests.structures import CaseInsensitiveDict
except ImportError as import_error:  # pragma: no cover - depends on the managed node
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = import_error
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

try:
    from urllib3.exceptions import NewConnectionError
except ImportError:  # pragma: no cover - urllib3 comes with requests
    NewConnectionError = None


DEFAULT_CA_PATH = "/etc/grid-security/certificates"
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_READ_CHUNK = 64 * 1024

# Argument spec shared by every backend; documented by the ``_tls`` doc fragment.
TLS_SPEC = dict(
    client_cert=dict(type="path", fallback=(env_fallback, ["X509_USER_CERT"])),
    client_key=dict(type="path", fallback=(env_fallback, ["X509_USER_KEY"])),
    proxy_file=dict(type="path", fallback=(env_fallback, ["X509_USER_PROXY"])),
    ca_path=dict(type="path", fallback=(env_fallback, ["X509_CERT_DIR"]), default=DEFAULT_CA_PATH),
    validate_certs=dict(type="bool", default=True),
    timeout=dict(type="float", default=30),
    retries=dict(type="int", default=2),
)
TLS_MUTUALLY_EXCLUSIVE = [("proxy_file", "client_cert"), ("proxy_file", "client_key")]
TLS_REQUIRED_TOGETHER = [("client_cert", "client_key")]


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


def _exception_chain(exc):
    """``exc`` and every exception it wraps (``args``, ``reason``, ``__cause__``, ``__context__``)."""
    seen = []
    todo = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen) or len(seen) > 20:
            continue
        seen.append(current)
        todo.append(getattr(current, "reason", None))
        todo.append(getattr(current, "__cause__", None))
        todo.append(getattr(current, "__context__", None))
        for arg in getattr(current, "args", ()):
            if isinstance(arg, BaseException):
                todo.append(arg)
    return seen


def _failed_before_sending(exc):
    """True if ``exc`` proves the request never left this host (safe to retry any method)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    for inner in _exception_chain(exc):
        if NewConnectionError is not None and isinstance(inner, NewConnectionError):
            # Covers "connection refused" and, with urllib3 2, NameResolutionError (a subclass).
            return True
        if isinstance(inner, (ConnectionRefusedError,)):
            return True
    return False


class HttpTransport(object):
    """One HTTPS endpoint (``base_url``) with its TLS credentials, on a ``requests.Session``.

    ``client_cert``/``client_key``: PEM certificate and unencrypted key. ``proxy_file``: RFC 3820 proxy (one PEM
    with proxy certificate, key and chain), exclusive with the pair. ``ca_path``: CA file or hashed CA directory;
    ``validate_certs=False`` switches server verification off (tests only). ``timeout`` in seconds for connect
    and for each read. ``retries``: extra attempts after a connection that failed before the request was sent.
    ``max_response_bytes``: replies longer than this raise ``TransportError``. ``server_label`` names the server
    in errors (default ``host:port`` of ``base_url``). ``backoff``: first pause between retries, doubled each time.
    """

    def __init__(self, base_url, *, client_cert=None, client_key=None, proxy_file=None, ca_path=None,
                 validate_certs=True, timeout=30, retries=2, max_response_bytes=DEFAULT_MAX_RESPONSE_BYTES,
                 server_label=None, backoff=0.5):
        if not HAS_REQUESTS:
            raise ConfigError("the Python library 'requests' is required (%s)" % REQUESTS_IMPORT_ERROR,
                              server=server_label)
        self.base_url = base_url.rstrip("/")
        self.server_label = server_label or _split_host_port(self.base_url)
        self.timeout = float(timeout if timeout is not None else 30)
        self.retries = max(0, int(retries if retries is not None else 0))
        self.max_response_bytes = int(max_response_bytes)
        self.backoff = float(backoff)
        self.ca_path = ca_path
        self.validate_certs = True if validate_certs is None else bool(validate_certs)

        if proxy_file and (client_cert or client_key):
            raise ConfigError("proxy_file cannot be combined with client_cert/client_key", server=self.server_label)
        if bool(client_cert) != bool(client_key):
            raise ConfigError("client_cert and client_key must be given together", server=self.server_label)
        if proxy_file:
            self._check_readable(proxy_file, "proxy_file")
            self.client_credential = proxy_file
        elif client_cert:
            self._check_readable(client_cert, "client_cert")
            self._check_readable(client_key, "client_key")
            self.client_credential = (client_cert, client_key)
        else:
            self.client_credential = None

        if not self.validate_certs:
            self.verify = False
        elif ca_path:
            if not os.path.exists(ca_path):
                raise ConfigError("CA path %s does not exist (set ca_path or X509_CERT_DIR)" % ca_path,
                                  server=self.server_label)
            self.verify = ca_path
        else:
            self.verify = True  # the system trust store of requests/certifi

        self.session = requests.Session()
        # The environment must not override our TLS choice (REQUESTS_CA_BUNDLE would replace the grid CA
        # directory) nor add credentials from ~/.netrc. We pass verify/cert on every request as well.
        self.session.trust_env = False
        self.session.verify = self.verify
        self.session.cert = self.client_credential

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
        self.session.close()

    # -- the one public call ------------------------------------------------------------------------------

    def request(self, method, path, *, operation, data=None, json=None, params=None, headers=None):
        """Send one request and return an ``HttpReply(status, headers, body)``.

        401/403 raise ``AuthorizationError``; any other status is returned to the caller (a SOAP fault comes
        with HTTP 500 and only the caller can read it). Failures raise ``TransportError``/``TLSError``.
        """
        url = self.url_for(path)
        attempt = 0
        while True:
            try:
                response = self.session.request(
                    method, url, data=data, json=json, params=params, headers=headers,
                    timeout=(self.timeout, self.timeout), verify=self.verify, cert=self.client_credential,
                    stream=True, allow_redirects=False,
                )
            except requests.exceptions.SSLError as exc:
                raise self._tls_error(exc, operation) from exc
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if _failed_before_sending(exc) and attempt < self.retries:
                    time.sleep(min(self.backoff * (2 ** attempt), 5.0))
                    attempt += 1
                    continue
                raise self._connection_error(exc, operation, attempt) from exc
            except requests.exceptions.RequestException as exc:
                raise TransportError("request to %s failed: %s" % (url, exc), server=self.server_label,
                                     operation=operation) from exc
            # A reply arrived: from here on nothing is retried.
            try:
                body = self._read_body(response, operation)
            finally:
                response.close()
            if response.status_code in (401, 403):
                raise AuthorizationError(
                    "HTTP %d %s: the server refused this credential" % (response.status_code, response.reason or ""),
                    server=self.server_label, operation=operation,
                    details={"status": response.status_code, "body": body[:500].decode("utf-8", "replace")})
            return HttpReply(response.status_code, CaseInsensitiveDict(response.headers), body)

    # -- helpers ------------------------------------------------------------------------------------------

    def _read_body(self, response, operation):
        limit = self.max_response_bytes
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise TransportError("reply of %s bytes exceeds the limit of %d bytes" % (declared, limit),
                                 server=self.server_label, operation=operation,
                                 details={"status": response.status_code, "limit": limit})
        chunks = []
        size = 0
        try:
            for chunk in response.iter_content(_READ_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TransportError("reply exceeds the limit of %d bytes" % limit, server=self.server_label,
                                         operation=operation, details={"status": response.status_code, "limit": limit})
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise TransportError("reply broken off while reading (%s); the request may have been processed "
                                 "by the server" % exc, server=self.server_label, operation=operation,
                                 details={"status": response.status_code}) from exc
        return b"".join(chunks)

    def _tls_error(self, exc, operation):
        text = str(exc)
        lowered = text.lower()
        if "certificate_verify_failed" in lowered or "certificate verify failed" in lowered:
            hint = "server certificate not trusted by CA path %s" % (self.ca_path or "(system default)")
            if "hostname" in lowered or "ip address mismatch" in lowered:
                hint = "server certificate does not match the host name in %s" % self.base_url
        elif any(word in lowered for word in ("key values mismatch", "pem lib", "no such file", "bad decrypt",
                                              "no start line")):
            hint = "cannot load the client certificate/key (unencrypted PEM key expected)"
        elif any(word in lowered for word in ("alert", "certificate required", "unknown ca", "bad certificate",
                                              "certificate unknown", "expired")):
            hint = "client certificate rejected by the server"
        elif "eof occurred" in lowered or "unexpected eof" in lowered or "connection reset" in lowered:
            # Servers that refuse the client certificate often just close the connection mid-handshake.
            hint = ("server closed the TLS connection: client certificate missing or rejected (check client_cert/"
                    "proxy_file and that the server trusts its CA)")
        else:
            hint = "TLS handshake failed"
        return TLSError("%s (%s)" % (hint, text), server=self.server_label, operation=operation,
                        details={"url": self.base_url, "ca_path": self.ca_path})

    def _connection_error(self, exc, operation, attempts_retried):
        tries = " after %d attempts" % (attempts_retried + 1) if attempts_retried else ""
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            what = "cannot connect to %s: connect timeout (%ss)%s" % (self.base_url, self.timeout, tries)
        elif isinstance(exc, requests.exceptions.Timeout):
            what = ("no reply from %s within %ss; the request may have been processed by the server"
                    % (self.base_url, self.timeout))
        elif _failed_before_sending(exc):
            what = "cannot connect to %s%s (%s)" % (self.base_url, tries, exc)
        else:
            what = ("connection to %s broken (%s); the request may have been processed by the server"
                    % (self.base_url, exc))
        return TransportError(what, server=self.server_label, operation=operation,
                              details={"url": self.base_url, "attempts": attempts_retried + 1})
