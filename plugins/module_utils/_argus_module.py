# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Base class of the Argus modules.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

``ArgusModule`` builds its argument spec from ``ARGUS_SPEC`` (this file, documented by the ``_argus`` doc
fragment), ``TLS_SPEC`` (``_http.py``, documented by ``_tls``) and the module's own options, builds one
``PapClient`` and turns every ``GridsecError`` into ``fail_json`` in one place, so each failure names the PAP,
the operation and what had already been done.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    ConfigError,
    GridsecError,
)
from ansible_collections.gridsec.ops.plugins.module_utils._http import (
    TLS_MUTUALLY_EXCLUSIVE,
    TLS_REQUIRED_TOGETHER,
    TLS_SPEC,
    HttpTransport,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus_client import PapClient

ARGUS_SPEC = dict(
    pap_host=dict(type="str", default="localhost"),
    pap_port=dict(type="int", default=8150),
    pap_path=dict(type="str", default="/pap/services"),
)

_TLS_KEYS = ("client_cert", "client_key", "proxy_file", "ca_path", "validate_certs", "timeout", "retries")


def jsonable(value):
    """A JSON-serialisable copy of ``value`` (objects become their ``str()``)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return dict((str(k), jsonable(v)) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return str(value)


def _error_dict(err):
    to_dict = getattr(err, "to_dict", None)
    if callable(to_dict):
        return jsonable(to_dict())
    return {"type": type(err).__name__, "msg": str(err)}


class ArgusModule(AnsibleModule):
    """AnsibleModule with the PAP connection options and a lazily built ``PapClient``."""

    def __init__(self, argument_spec=None, mutually_exclusive=None, required_together=None, **kwargs):
        spec = copy.deepcopy(ARGUS_SPEC)
        spec.update(copy.deepcopy(TLS_SPEC))
        spec.update(argument_spec or {})
        mutually_exclusive = list(TLS_MUTUALLY_EXCLUSIVE) + list(mutually_exclusive or [])
        required_together = list(TLS_REQUIRED_TOGETHER) + list(required_together or [])
        super(ArgusModule, self).__init__(argument_spec=spec, mutually_exclusive=mutually_exclusive,
                                          required_together=required_together, **kwargs)
        self._client = None
        self.done_operations = None

    @property
    def server_label(self):
        return "%s:%s" % (self.params["pap_host"], self.params["pap_port"])

    @property
    def base_url(self):
        path = self.params["pap_path"] or ""
        if path and not path.startswith("/"):
            path = "/" + path
        return "https://%s:%d%s" % (self.params["pap_host"], self.params["pap_port"], path.rstrip("/"))

    def client(self):
        """The ``PapClient`` of this run (built once)."""
        if self._client is None:
            tls = dict((key, self.params.get(key)) for key in _TLS_KEYS)
            try:
                transport = HttpTransport(self.base_url, server_label=self.server_label, **tls)
            except GridsecError as err:
                self.fail_from(err)
            self._client = PapClient(transport, server_label=self.server_label)
        return self._client

    def client_operations(self):
        return jsonable(list(self._client.operations)) if self._client is not None else []

    def fail_from(self, err, **result):
        """Fail the task from a ``GridsecError``: message naming PAP + operation, the error, the operations.

        ``operations`` lists the write operations that completed before the failure when the module tracks
        them (``self.done_operations``), else every operation sent to the PAP; ``requests`` is always the
        full list of operations sent (reads included, the failing one last).
        """
        result.setdefault("changed", bool(self.done_operations))
        if "operations" not in result:
            result["operations"] = jsonable(list(self.done_operations)) if self.done_operations is not None \
                else self.client_operations()
        result.setdefault("requests", self.client_operations())
        self.fail_json(msg=str(err), error=_error_dict(err), **result)

    def run_guarded(self, func, *args, **kwargs):
        """Call ``func``; any ``GridsecError`` becomes a failed task."""
        try:
            return func(*args, **kwargs)
        except GridsecError as err:
            self.fail_from(err)

    def require_alias(self, alias, local=True):
        """Check that ``alias`` exists (and is local when ``local``) before anything is written.

        Uses ``getAllPaps`` (CONFIGURATION_READ). Returns the ``Pap`` or None when the credential may not
        read the configuration and the alias is ``default`` (always local on a PAP).
        """
        client = self.client()
        try:
            paps = client.get_all_paps()
        except AuthorizationError:
            if alias == "default":
                self.warn("cannot read the PAP list of %s (CONFIGURATION_READ missing); assuming alias "
                          "'default' is the local PAP" % self.server_label)
                return None
            raise
        for pap in paps:
            if pap.alias == alias:
                if local and not pap.local:
                    raise ConfigError("alias %r on %s is a remote (cached) PAP: its policies are read-only "
                                      "here; change them on %s" % (alias, self.server_label,
                                                                   pap.hostname or "the remote PAP"),
                                      server=self.server_label, operation="getAllPaps")
                return pap
        raise ConfigError("alias %r does not exist on %s (known aliases: %s)"
                          % (alias, self.server_label, ", ".join(sorted(p.alias for p in paps)) or "none"),
                          server=self.server_label, operation="getAllPaps")


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


_PROXY_CERT_INFO_OID = "1.3.6.1.5.5.7.1.14"


def caller_dn(module):
    """Slash-form DN of the identity the module connects with (end-entity certificate of the client cert or of
    the proxy chain), or None when it cannot be determined (no credential, no ``cryptography``)."""
    path = module.params.get("proxy_file") or module.params.get("client_cert")
    if not path:
        return None
    try:
        from cryptography import x509
    except ImportError:
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError):
        return None
    certs = []
    marker = b"-----BEGIN CERTIFICATE-----"
    for chunk in data.split(marker)[1:]:
        try:
            certs.append(x509.load_pem_x509_certificate(marker + chunk.split(b"-----END CERTIFICATE-----")[0] +
                                                        b"-----END CERTIFICATE-----\n"))
        except ValueError:
            continue
    for cert in certs:
        is_proxy = any(ext.oid.dotted_string == _PROXY_CERT_INFO_OID for ext in cert.extensions)
        if not is_proxy:
            parts = []
            for rdn in cert.subject.rdns:
                parts.append("+".join("%s=%s" % (_short_name(a), a.value) for a in rdn))
            return "/" + "/".join(parts)
    return None


_SHORT_NAMES = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
    "0.9.2342.19200300.100.1.25": "DC", "1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.1": "UID",
}


def _short_name(attribute):
    return _SHORT_NAMES.get(attribute.oid.dotted_string, attribute.oid.dotted_string)


def execute_plan(module, alias, ops):
    """Send the planned write operations in order; each one that succeeds is appended to
    ``module.done_operations`` (its description, with the ids the PAP assigned to new objects).

    Raises ``GridsecError`` on the first failure (``module.done_operations`` then lists what succeeded).
    """
    from ansible_collections.gridsec.ops.plugins.module_utils._argus_policy_plan import (
        to_model_policy,
        to_model_policy_set,
    )

    client = module.client()
    new_ids = {}
    if module.done_operations is None:
        module.done_operations = []

    def real(object_id):
        return new_ids.get(object_id, object_id)

    for op in ops:
        desc = op.describe()
        args = op.args
        if op.operation == "ban":
            client.ban(alias, args["id"], args["value"], resource=args["resource"], action=args["action"],
                       public=args["public"])
        elif op.operation == "unban":
            status = client.unban(alias, args["id"], args["value"], resource=args["resource"], action=args["action"])
            if status not in (0, "0", None):
                module.warn("unban of %s on %s alias %s found nothing to remove (statusCode %s); the policy "
                            "changed while this task ran" % (args["value"], module.server_label, alias, status))
        elif op.operation == "updatePolicy":
            ok = client.update_policy(alias, args["version"], to_model_policy(op.payload["policy"]))
            if ok is False:
                raise ConfigError("updatePolicy of %s refused: version %s is no longer current (the policy was "
                                  "changed by someone else while this task ran); nothing else was sent, run again"
                                  % (args["id"], args["version"]), server=module.server_label,
                                  operation="updatePolicy")
        elif op.operation == "removeObjectByIdAndReferences":
            client.remove_object_by_id_and_references(alias, real(args["id"]))
            desc["args"]["id"] = real(args["id"])
        elif op.operation == "addPolicySet":
            placeholder = args["policy_set_id"]
            new_ids[placeholder] = client.add_policy_set(alias, args["index"],
                                                         to_model_policy_set(op.payload["policy_set"]))
            desc["args"]["policy_set_id"] = new_ids[placeholder]
        elif op.operation == "addPolicies":
            ps_id = real(args["policy_set_id"])
            client.add_policies(alias, args["index"], ps_id, args["policy_id_prefixes"],
                                [to_model_policy(p) for p in op.payload["policies"]])
            desc["args"]["policy_set_id"] = ps_id
        elif op.operation == "addPolicy":
            ps_id = real(args["policy_set_id"])
            client.add_policy(alias, args["index"], ps_id, args["policy_id_prefix"],
                              to_model_policy(op.payload["policy"]))
            desc["args"]["policy_set_id"] = ps_id
        else:  # pragma: no cover - planner and executor are written together
            raise ConfigError("internal error: unknown planned operation %s" % op.operation,
                              server=module.server_label, operation=op.operation)
        module.done_operations.append(desc)
