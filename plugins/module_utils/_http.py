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
import math
import os
import ssl
import time

from ansible.module_utils.basic import env_fallback

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    ConfigError,
    TLSError,
    TransportError,
)

# ``requests`` is imported on first use (``_load_requests``), so that a module that makes no HTTP call (a
# database-only ban) neither needs it nor pays for importing it.
requests = None
CaseInsensitiveDict = None
NewConnectionError = None
HAS_REQUESTS = None  # unknown until the first HttpTransport (or has_requests()) call
REQUESTS_IMPORT_ERROR = None


def _load_requests():
    """Import ``requests`` (once); return True when it is available."""
    global requests, CaseInsensitiveDict, NewConnectionError, HAS_REQUESTS, REQUESTS_IMPORT_ERROR  # pylint: disable=global-statement
    if HAS_REQUESTS is not None:
        return HAS_REQUESTS
    try:
        import requests as _requests
        import requests.adapters  # noqa: F401 pylint: disable=unused-import
        import requests.exceptions  # noqa: F401 pylint: disable=unused-import
        from requests.structures import CaseInsensitiveDict as _cid
    except ImportError as import_error:  # pragma: no cover - depends on the managed node
        HAS_REQUESTS = False
        REQUESTS_IMPORT_ERROR = import_error
        return False
    try:
        from urllib3.exceptions import NewConnectionError as _nce
    except ImportError:  # pragma: no cover - urllib3 comes with requests
        _nce = None
    requests, CaseInsensitiveDict, NewConnectionError = _requests, _cid, _nce
    HAS_REQUESTS = True
    return True


def has_requests():
    """Whether ``requests`` can be imported (imports it)."""
    return _load_requests()


DEFAULT_CA_PATH = "/etc/grid-security/certificates"
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_READ_CHUNK = 64 * 1024

# Argument spec shared by every backend; documented by the ``_tls`` doc fragment.
# The credential options have no env_fallback: the grid environment (X509_USER_PROXY, X509_USER_CERT/KEY, then
# /tmp/x509up_u<uid>) is applied by ``resolve_client_credential`` with the grid clients' precedence (a proxy
# first), which an argument-spec fallback cannot express (both variables set would be "mutually exclusive").
TLS_SPEC = dict(
    client_cert=dict(type="path"),
    client_key=dict(type="path"),
    client_key_passphrase=dict(type="str", no_log=True),
    proxy_file=dict(type="path"),
    ca_path=dict(type="path", fallback=(env_fallback, ["X509_CERT_DIR"]), default=DEFAULT_CA_PATH),
    validate_certs=dict(type="bool", default=True),
    timeout=dict(type="float", default=30),
    retries=dict(type="int", default=2),
)
TLS_MUTUALLY_EXCLUSIVE = [("proxy_file", "client_cert"), ("proxy_file", "client_key")]
# client_cert without client_key may take the key from X509_USER_KEY: checked by resolve_client_credential.
TLS_REQUIRED_TOGETHER = []
#: The TLS_SPEC keys HttpTransport takes as keyword arguments (``transport_options(params)``).
TLS_KEYS = ("client_cert", "client_key", "client_key_passphrase", "proxy_file", "ca_path", "validate_certs",
            "timeout", "retries")

ENV_PROXY = "X509_USER_PROXY"
ENV_CERT = "X509_USER_CERT"
ENV_KEY = "X509_USER_KEY"
NO_CREDENTIAL_HINT = ("no client credential was configured: set proxy_file (or X509_USER_PROXY), or client_cert and "
                      "client_key (or X509_USER_CERT and X509_USER_KEY), or create a proxy at %s")


def default_proxy_path(uid=None):
    """``/tmp/x509up_u<uid>``, where grid clients look for a proxy when X509_USER_PROXY is not set."""
    if uid is None:
        uid = os.getuid() if hasattr(os, "getuid") else 0
    return "/tmp/x509up_u%d" % uid


def transport_options(params):
    """The HttpTransport keyword arguments from a module's ``params`` (the TLS_SPEC options)."""
    return dict((key, params.get(key)) for key in TLS_KEYS)


def validate_tls_options(timeout=None, retries=None):
    """Messages (list of str) for option values HttpTransport cannot work with; empty when all is fine.

    A local validation: the messages name no server operation, since none was attempted.
    """
    problems = []
    if timeout is not None:
        try:
            value = float(timeout)
        except (TypeError, ValueError):
            value = None
        if value is None or math.isnan(value) or value <= 0 or math.isinf(value):
            problems.append("timeout must be a number of seconds greater than 0 (got %r)" % (timeout,))
    if retries is not None:
        try:
            count = int(retries)
        except (TypeError, ValueError):
            count = None
        if count is None or isinstance(retries, bool) or count < 0:
            problems.append("retries must be an integer >= 0 (got %r)" % (retries,))
    return problems


class ClientCredential(collections.namedtuple("ClientCredential", ["kind", "cert", "key", "source"])):
    """What the client authenticates with: ``kind`` ``proxy``/``pair``/``None``; ``source`` says where it came
    from (``proxy_file``, ``X509_USER_PROXY``, ``/tmp/x509up_u1000 (default proxy location)``...)."""

    __slots__ = ()


def resolve_client_credential(client_cert=None, client_key=None, proxy_file=None, environ=None, uid=None,
                              fallback=True):
    """The client credential to use, with the grid clients' precedence.

    1. task options: ``proxy_file``; or ``client_cert`` + ``client_key`` (a missing key is taken from
       ``X509_USER_KEY``); both a proxy and a cert/key given as options is an error;
    2. with ``fallback``: ``X509_USER_PROXY`` (even when ``X509_USER_CERT`` is set as well: proxy first),
       then ``X509_USER_CERT`` + ``X509_USER_KEY``, then ``/tmp/x509up_u<uid>`` when that file exists.

    Returns a ``ClientCredential`` (``kind=None`` when there is none); raises ``ConfigError`` for an incomplete
    or contradictory combination. Files are not opened here.
    """
    env = os.environ if environ is None else environ
    if proxy_file and (client_cert or client_key):
        raise ConfigError("proxy_file cannot be combined with client_cert/client_key (give one credential)")
    if proxy_file:
        return ClientCredential("proxy", proxy_file, None, "proxy_file")
    if client_cert or client_key:
        cert = client_cert or env.get(ENV_CERT)
        key = client_key or env.get(ENV_KEY)
        if not (cert and key):
            raise ConfigError("client_cert and client_key must be given together (client_%s is missing, and %s is "
                              "not set)" % (("key", ENV_KEY) if cert else ("cert", ENV_CERT)))
        return ClientCredential("pair", cert, key, "client_cert/client_key")
    if not fallback:
        return ClientCredential(None, None, None, None)
    if env.get(ENV_PROXY):
        return ClientCredential("proxy", env[ENV_PROXY], None, ENV_PROXY)
    if env.get(ENV_CERT) or env.get(ENV_KEY):
        if not (env.get(ENV_CERT) and env.get(ENV_KEY)):
            raise ConfigError("%s and %s must be set together (only %s is set)"
                              % (ENV_CERT, ENV_KEY, ENV_CERT if env.get(ENV_CERT) else ENV_KEY))
        return ClientCredential("pair", env[ENV_CERT], env[ENV_KEY], "%s/%s" % (ENV_CERT, ENV_KEY))
    default = default_proxy_path(uid)
    if os.path.isfile(default):
        return ClientCredential("proxy", default, None, "%s (default proxy location)" % default)
    return ClientCredential(None, None, None, None)


def _pem_key_is_encrypted(path):
    """True when the PEM file holds an encrypted private key (PKCS#8 or legacy OpenSSL ``Proc-Type``)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(1024 * 1024)
    except (IOError, OSError):
        return False
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data or b"Proc-Type: 4,ENCRYPTED" in data


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


class _KeyPasswordAdapter(object):
    """Factory of a ``requests`` HTTPAdapter that hands the key passphrase to urllib3 (``key_password``)."""

    @staticmethod
    def build(passphrase):
        class KeyPasswordAdapter(requests.adapters.HTTPAdapter):
            def init_poolmanager(self, *args, **kwargs):
                kwargs["key_password"] = passphrase
                return super(KeyPasswordAdapter, self).init_poolmanager(*args, **kwargs)

        return KeyPasswordAdapter()


class HttpTransport(object):
    """One HTTPS endpoint (``base_url``) with its TLS credentials, on a ``requests.Session``.

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
        if not _load_requests():
            raise ConfigError("the Python library 'requests' is required (%s)" % REQUESTS_IMPORT_ERROR,
                              server=self.server_label)
        if "://" not in self.base_url or not self.base_url.split("://", 1)[1].split("/", 1)[0]:
            raise ConfigError("URL %r is not an absolute URL: it needs a scheme and a host, such as "
                              "https://host.example.org:25443" % (base_url,), server=self.server_label)
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
        if client_key_passphrase and self.client_credential is not None:
            self.session.mount("https://", _KeyPasswordAdapter.build(client_key_passphrase))

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
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
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
        no_credential = self.client_credential is None
        if "certificate_verify_failed" in lowered or "certificate verify failed" in lowered:
            hint = "server certificate not trusted by CA path %s" % (self.ca_path or "(system default)")
            if "hostname" in lowered or "ip address mismatch" in lowered:
                hint = "server certificate does not match the host name in %s" % self.base_url
        elif "bad decrypt" in lowered or "bad password" in lowered:
            hint = "cannot decrypt the client key: check client_key_passphrase"
        elif any(word in lowered for word in ("key values mismatch", "pem lib", "no such file", "no start line")):
            hint = "cannot load the client certificate/key"
        elif no_credential and any(word in lowered for word in (
                "alert", "certificate required", "eof occurred", "unexpected eof", "connection reset",
                "handshake failure")):
            hint = ("the server requires a client certificate, but " + NO_CREDENTIAL_HINT % self.default_proxy)
        elif any(word in lowered for word in ("alert", "certificate required", "unknown ca", "bad certificate",
                                              "certificate unknown", "expired")):
            hint = "client certificate rejected by the server (%s)" % self._credential_text()
        elif "eof occurred" in lowered or "unexpected eof" in lowered or "connection reset" in lowered:
            # Servers that refuse the client certificate often just close the connection mid-handshake.
            hint = ("server closed the TLS connection: client certificate rejected (%s; check that the server "
                    "trusts its CA)" % self._credential_text())
        else:
            hint = "TLS handshake failed"
        return TLSError("%s (%s)" % (hint, text), server=self.server_label, operation=operation,
                        details={"url": self.base_url, "ca_path": self.ca_path,
                                 "credential_source": self.credential.source})

    def _credential_text(self):
        cred = self.credential
        if cred.kind == "proxy":
            return "proxy %s from %s" % (cred.cert, cred.source)
        if cred.kind == "pair":
            return "certificate %s from %s" % (cred.cert, cred.source)
        return "no client credential"

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
