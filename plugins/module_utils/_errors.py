# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Error types shared by every gridsec.ops client.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Every error names the server and the operation it happened in, so that a failed task says at a glance
*where* (which PAP / PanDA server) and *what* (ban, listPolicies, ...) went wrong. The base modules turn
these exceptions into ``fail_json`` in one place, using ``to_dict()`` for the structured part.
"""


class GridsecError(Exception):
    """Base class of every error raised by the collection's clients.

    ``msg`` is the human explanation, ``server`` a label such as ``"pap.example.org:8150"``,
    ``operation`` the remote operation (``"ban"``, ``"listPolicies"``, ``"GET /api/v1/..."``) and
    ``details`` a dict of extra facts (fault code, HTTP status, ...) that is safe to show to the user.
    ``result``: keys a module returns with the failure, besides the standard ones (what it had computed
    before failing, e.g. the nodes a check read); the base module's failure boundary adds them.
    """

    #: What kind of server ``server`` names, used in ``str()`` ("PAP pap.example.org:8150").
    #: Clients set ``server`` to a full label when they know better (see ``_server_text``).
    kind = "error"

    def __init__(self, msg, server=None, operation=None, details=None, result=None):
        super(GridsecError, self).__init__(msg)
        self.msg = msg
        self.server = server
        self.operation = operation
        self.details = dict(details or {})
        self.result = dict(result or {})

    def __str__(self):
        where = []
        if self.server:
            where.append(str(self.server))
        if self.operation:
            where.append("operation %s" % self.operation)
        if where:
            return "%s: %s" % (", ".join(where), self.msg)
        return str(self.msg)

    def to_dict(self):
        """Plain dict for module results (JSON-serialisable as long as ``details`` is)."""
        return {
            "type": type(self).__name__,
            "kind": self.kind,
            "msg": str(self.msg),
            "server": self.server,
            "operation": self.operation,
            "details": dict(self.details),
        }

    def with_context(self, server=None, operation=None):
        """Fill in server/operation if they are still unknown; returns ``self`` (for ``raise err.with_context()``)."""
        if self.server is None and server is not None:
            self.server = server
        if self.operation is None and operation is not None:
            self.operation = operation
        return self


class TransportError(GridsecError):
    """The server could not be reached or the exchange broke (refused, timeout, oversized reply...)."""

    kind = "transport"


class TLSError(TransportError):
    """The TLS handshake failed: server certificate not trusted, client certificate rejected, bad key..."""

    kind = "tls"


class RemoteError(GridsecError):
    """The server answered with an error: SOAP fault, API ``success: false``, unexpected HTTP status."""

    kind = "remote"


class AuthorizationError(RemoteError):
    """The server refused the operation for this credential (HTTP 401/403, PAP authorization fault)."""

    kind = "authorization"


class NotFoundError(RemoteError):
    """The object asked for does not exist on the server (policy id, PAP alias, job...)."""

    kind = "not_found"


class ConfigError(GridsecError):
    """The local configuration or the task arguments cannot work (missing file, bad combination...)."""

    kind = "config"


class CheckFailed(GridsecError):
    """A check module ran to the end and its own verdict fails the task (a ``fail_on`` threshold was reached);
    ``result`` holds the full result, returned with the failure."""


class WriteRefusedError(RemoteError):
    """The PAP answered ``false``/``null`` to a write, or refused it as a stale version.

    The real argus-pap signals these failures without a fault: ``updatePolicy``/``updatePolicySet`` return
    ``false`` for an id that is gone (and fault ``InvalidVersionException`` on a version conflict, also mapped
    here), ``addPap`` ``false`` for an alias that exists, ``updatePap``/``removePap``/``refreshCache`` ``false``
    for an unknown alias, ``addPolicy``/``addPolicies`` ``null`` for an unknown PolicySet. Nothing was written by
    that call; callers that can (policy updates) re-read the current state and retry.
    """

    kind = "write_refused"
