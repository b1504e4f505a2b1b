# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Base class of the Argus modules.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

``ArgusModule`` adds to the shared ``GridsecModule`` (``_module_base.py``: argument spec with ``TLS_SPEC``, the
``GridsecError`` to ``fail_json`` path) the PAP connection options ``ARGUS_SPEC`` (``_argus/specs.py``, documented by the
``_argus`` doc fragment), their validation, one ``PapClient`` per run and the PAP-specific keys of a failure
(``operations``: the writes done before it), so each failure names the PAP, the operation and what had already
been done. The checks made before a write (``require_alias``, ``check_write_permission``) are in
``_argus/write_checks.py``, loaded when used.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._errors import GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._http_options import transport_options
from ansible_collections.gridsec.ops.plugins.module_utils import _xml
from ansible_collections.gridsec.ops.plugins.module_utils._argus.endpoint import PapEndpoint, pap_client
from ansible_collections.gridsec.ops.plugins.module_utils._argus.specs import ARGUS_SPEC
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import (
    GridsecModule,
    failure_error,
    jsonable,
)


def predicted_refusal(client, caller, operations, acl=None):
    """What the PAP's global ACL says about sending ``operations`` (wire names, in order) with the credential
    whose DN is ``caller``, before any of them is sent.

    Returns ``(error, None)`` with the ``AuthorizationError`` the PAP would answer the first refused operation
    with (``_argus.pap_plan.refusal_error``: its own text), ``(None, None)`` when it allows them all and
    ``(None, why)`` when it cannot be told: the DN is unknown, or ``getACL`` is refused (it needs
    CONFIGURATION_READ). ``acl``: the ACL when the caller has read it already.
    """
    # the ACL check is loaded when a write is checked: a module that only reads does not compile it
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.write_checks import predicted_refusal as predict

    return predict(client, caller, operations, acl)


class ArgusModule(GridsecModule):
    """``GridsecModule`` with the PAP connection options and a lazily built ``PapClient``."""

    def __init__(self, argument_spec=None, **kwargs):
        super(ArgusModule, self).__init__(connection_specs=(ARGUS_SPEC,), argument_spec=argument_spec, **kwargs)
        self.done_operations = None
        self._client_read_only = False
        self.endpoint = PapEndpoint.from_params(self.params)
        problem = self.endpoint.problem
        if problem:
            # argument validation: nothing was sent, so no server operation is named
            self.fail_json(msg=problem, changed=False, operations=[], requests=[],
                           error=failure_error(problem, kind="config", error_type="ConfigError"))
        # every PAP call is a SOAP message: without lxml nothing can be sent or read
        self.require_library("lxml", _xml.LXML_IMPORT_ERROR)

    @property
    def server_label(self):
        return self.endpoint.label

    @property
    def base_url(self):
        return self.endpoint.base_url

    def endpoint_client(self, endpoint, **transport_kwargs):
        """A ``PapClient`` for ``endpoint`` (a ``PapEndpoint``) with this task's TLS options, overridden by
        ``transport_kwargs``; an invalid endpoint raises ``ConfigError`` naming it."""
        return endpoint.client(transport_options(self.params), **transport_kwargs)

    def client(self, read_only=False):
        """The ``PapClient`` of this run's ``pap_host``/``pap_port``/``pap_path`` (built once).

        ``read_only``: a ``PapReader`` is enough (``_argus.reader``: the policy tree and the PAP list), so the
        rest of ``_argus.client`` is not compiled. A later call without it gets a ``PapClient`` over the same
        connection, keeping the operations sent so far."""
        if self._client is None:
            try:
                self._client = self.endpoint_client(self.endpoint, read_only=read_only)
            except GridsecError as err:
                self.fail_from(err)
            self._client_read_only = read_only
        elif self._client_read_only and not read_only:
            reader = self._client
            self._client = pap_client(reader.transport, reader.server_label)
            self._client.operations = reader.operations
            self._client_read_only = False
        return self._client

    def prepare_failure(self, result):
        """The PAP keys of a failure: ``operations`` lists the write operations that completed before the
        failure when the module tracks them (``self.done_operations``), else every operation sent to the PAP;
        ``changed`` is whether any write completed."""
        result.setdefault("changed", bool(self.done_operations))
        if "operations" not in result:
            result["operations"] = jsonable(list(self.done_operations)) if self.done_operations is not None \
                else self.client_operations()
        return result

    def fail_predicted(self, err):
        """Fail, before anything was written, with the refusal ``err`` that the PAP's ACL predicts."""
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.write_checks import fail_predicted

        fail_predicted(self, err)

    def check_write_permission(self, operations):
        """Check mode: fail as the PAP will when its global ACL refuses one of the planned ``operations`` to
        this credential (a read-only one), so that check mode never predicts a write the real run cannot do;
        warn when that cannot be told. Real runs leave the decision to the PAP."""
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.write_checks import check_write_permission

        check_write_permission(self, operations)

    def require_alias(self, alias, local=True):
        """Check that ``alias`` exists (and is local when ``local``) before anything is written.

        Uses ``getAllPaps`` (CONFIGURATION_READ). Returns the ``Pap`` or None when the credential may not
        read the configuration and the alias is ``default`` (always local on a PAP).
        """
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.write_checks import require_alias

        return require_alias(self, alias, local)


def pap_to_dict(pap):
    """Plain dict of a ``Pap`` for module results."""
    port = getattr(pap, "port", None)
    try:
        port = int(port) if port not in (None, "") else None
    except (TypeError, ValueError):
        pass
    return dict(
        alias=pap.alias,
        local=bool(getattr(pap, "local", False)),
        enabled=bool(getattr(pap, "enabled", False)),
        public=bool(getattr(pap, "public", False)),
        hostname=getattr(pap, "hostname", None),
        port=port,
        path=getattr(pap, "path", None),
        protocol=getattr(pap, "protocol", None),
        dn=getattr(pap, "dn", None),
    )
