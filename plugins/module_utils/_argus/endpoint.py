# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The one builder of a PAP endpoint: validation, label, URL and ``PapClient``.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Every caller that talks to a PAP (``ArgusModule``, the several PAPs of ``argus_canary``, the Argus source and
target of ``suspension_list_sync``) builds it here, so a PAP named by host, port and path is checked with the
same rules, labelled the same way in messages and reached with the same URL.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
from ansible_collections.gridsec.ops.plugins.module_utils._argus.specs import DEFAULT_PATH, DEFAULT_PORT

# the names of the three values in the task (messages name the option the user wrote)
PAP_OPTIONS = ("pap_host", "pap_port", "pap_path")

_HOST_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")


def _host_problem(host, options):
    option, port_option, path_option = options
    text = "" if host is None else str(host)
    if "://" in text or text.lower().startswith(("https:", "http:")):
        return ("%s must be a host name, not a URL (got %r): write it as %s: <host name>, with %s and %s for "
                "the rest (the module builds https://<%s>:<%s><%s>)"
                % (option, text, option, port_option, path_option, option, port_option, path_option))
    stripped = text.strip()
    if not stripped:
        return "%s must be a host name (got an empty value)" % option
    bracketed = stripped.startswith("[") and stripped.endswith("]") and len(stripped) > 2
    inner = stripped[1:-1] if bracketed else stripped
    allowed = _HOST_CHARS | (set(":") if bracketed else set())
    if stripped != text or any(c not in allowed for c in inner):
        hint = ""
        if ":" in inner and not bracketed:
            hint = (" (give the port in %s; an IPv6 address goes in brackets, e.g. [2001:db8::1])"
                    % port_option)
        elif "/" in inner:
            hint = " (give the service path in %s)" % path_option
        return "%s must be a host name, got %r%s" % (option, text, hint)
    return None


def _port_problem(port, option):
    if port is None:
        return None
    try:
        value = int(port)
    except (TypeError, ValueError):
        return "%s must be a port number (got %r)" % (option, port)
    if not 1 <= value <= 65535:
        return "%s must be between 1 and 65535 (got %s)" % (option, port)
    return None


def _path_problem(path, option):
    if path is not None and (any(c in str(path) for c in "?#") or "://" in str(path)):
        return "%s must be a URL path such as %s (got %r)" % (option, DEFAULT_PATH, path)
    return None


class PapEndpoint(object):
    """A PAP named by ``host``, ``port`` and ``path`` (the values of the task, not yet trusted).

    ``problem``: why they cannot form a PAP URL, or None. ``options``: the option names the messages use
    (``pap_host``/``pap_port``/``pap_path`` by default; ``argus_canary`` endpoints say ``host``/``port``/``path``).
    ``name``: how messages name this PAP (default: its label).
    """

    def __init__(self, host, port=DEFAULT_PORT, path=DEFAULT_PATH, name=None, options=PAP_OPTIONS):
        self.host = host
        self.port = DEFAULT_PORT if port is None else port
        self.path = DEFAULT_PATH if path is None else path
        self.options = options
        self._name = name

    @classmethod
    def from_params(cls, params, name=None):
        """The endpoint of a module's (or a sync source's/target's) ``pap_host``/``pap_port``/``pap_path``."""
        return cls(params.get("pap_host"), params.get("pap_port"), params.get("pap_path"), name=name)

    @property
    def problem(self):
        """Why host, port and path cannot form a PAP URL, or None. The host is a host name (or an IP address,
        IPv6 in brackets), never a URL: the URL is built here."""
        host_opt, port_opt, path_opt = self.options
        return (_host_problem(self.host, self.options) or _port_problem(self.port, port_opt)
                or _path_problem(self.path, path_opt))

    @property
    def label(self):
        """``host:port``: how messages and results name the PAP."""
        return "%s:%s" % (self.host, self.port)

    @property
    def name(self):
        return self._name or self.label

    @property
    def base_url(self):
        path = self.path or ""
        if path and not path.startswith("/"):
            path = "/" + path
        return "https://%s:%d%s" % (self.host, int(self.port), path.rstrip("/"))

    def check(self, role=None):
        """Raise ``ConfigError`` naming the PAP (``role``: e.g. ``"target pap1"``, else the endpoint's name) as
        its ``server`` when ``problem`` is set."""
        problem = self.problem
        if not problem:
            return
        # str() of the error is "<role or name>: <problem>": the server is what names the PAP
        raise ConfigError(problem, server=role or self.name)

    def client(self, tls_options, role=None, read_only=False, **transport_kwargs):
        """A ``PapClient`` for this PAP over an ``HttpTransport`` with the TLS keyword arguments
        ``tls_options`` (``_http_options.transport_options``); ``transport_kwargs`` override them and the transport's
        defaults (``timeout``, ``max_response_bytes``...). Raises ``ConfigError`` (naming ``role`` or the
        endpoint) when the values are invalid, before anything is sent. ``read_only``: a ``PapReader`` instead
        (``pap_client``)."""
        self.check(role)
        options = dict(tls_options or {})
        options.update(transport_kwargs)
        transport = HttpTransport(self.base_url, server_label=self.label, **options)
        return pap_client(transport, self.label, read_only)


def pap_client(transport, server_label, read_only=False):
    """A ``PapClient`` over ``transport``; with ``read_only`` a ``PapReader`` (``_argus.reader``: the policy tree and
    the PAP list, the same calls and results). Imported here, not with this file: under AnsiballZ every imported
    module_util is compiled on every run, and a module that only reads (``argus_policy_info``) then compiles
    neither the writes nor the other operations of ``_argus.client``."""
    if read_only:
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.reader import PapReader

        return PapReader(transport, server_label=server_label)
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import PapClient

    return PapClient(transport, server_label=server_label)


def connection_problem(params):
    """Why ``pap_host``/``pap_port``/``pap_path`` of ``params`` cannot form a PAP URL, or None."""
    return PapEndpoint.from_params(params).problem
