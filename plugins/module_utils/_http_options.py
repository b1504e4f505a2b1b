# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The connection options every backend shares: the TLS argument spec, the client credential the grid way, and
the checks of the option values (base URLs, timeout, retries).

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

What a task configures, checked and resolved without any I/O beyond looking at files; the transport that uses it
is ``HttpTransport`` in ``_http.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import math
import os
import re

from ansible.module_utils.basic import env_fallback

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError

DEFAULT_CA_PATH = "/etc/grid-security/certificates"

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


_BASE_URL = re.compile(r"^https?://[^/\s?#]+", re.I)
_HTTPS_BASE_URL = re.compile(r"^https://[^/\s?#]+", re.I)


def check_base_url(url, option, https_only=True, example="https://server.example.org", hint=None):
    """Message when ``url`` cannot be a server's base URL (no scheme, no host, or ``http://`` with
    ``https_only``), else None. ``option`` names the option in the message, ``example`` shows a good value and
    ``hint`` (optional) is appended in parentheses. The one URL check of the modules' connection options.

    ``https_only`` (default) for every API that takes a password, a token or a client secret in its requests:
    over ``http://`` they would travel in clear text.
    """
    text = (url or "").strip()
    tail = " (%s)" % hint if hint else ""
    if not text:
        return "%s is required, such as %s%s" % (option, example, tail)
    if (_HTTPS_BASE_URL if https_only else _BASE_URL).match(text):
        return None
    if "://" not in text:
        return "%s %r has no scheme: write it as https://%s%s" % (option, url, text.lstrip("/"), tail)
    if https_only:
        return "%s %r must be an https:// URL with a host, such as %s%s" % (option, url, example, tail)
    return "%s %r is not an http(s) URL with a host, such as %s%s" % (option, url, example, tail)


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
