# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Base class of the Argus modules.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

``ArgusModule`` adds to the shared ``GridsecModule`` (``_module_base.py``: argument spec with ``TLS_SPEC``, the
``GridsecError`` to ``fail_json`` path) the PAP connection options ``ARGUS_SPEC`` (this file, documented by the
``_argus`` doc fragment), their validation, one ``PapClient`` per run and the PAP-specific keys of a failure
(``operations``: the writes done before it), so each failure names the PAP, the operation and what had already
been done.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    ConfigError,
    GridsecError,
    RemoteError,
    WriteRefusedError,
)
from ansible_collections.gridsec.ops.plugins.module_utils._http_options import transport_options
from ansible_collections.gridsec.ops.plugins.module_utils import _xml
from ansible_collections.gridsec.ops.plugins.module_utils._argus.endpoint import (
    DEFAULT_PATH,
    DEFAULT_PORT,
    PapEndpoint,
)
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import (
    GridsecModule,
    failure_error,
    jsonable,
)

ARGUS_SPEC = dict(
    pap_host=dict(type="str", default="localhost"),
    pap_port=dict(type="int", default=DEFAULT_PORT),
    pap_path=dict(type="str", default=DEFAULT_PATH),
)


UNKNOWN_DN = ("the DN of the credential is unknown (no readable client certificate, or the Python library "
              "cryptography is missing)")


def predicted_refusal(client, caller, operations, acl=None):
    """What the PAP's global ACL says about sending ``operations`` (wire names, in order) with the credential
    whose DN is ``caller``, before any of them is sent.

    Returns ``(error, None)`` with the ``AuthorizationError`` the PAP would answer the first refused operation
    with (``_argus.pap_plan.refusal_error``: its own text), ``(None, None)`` when it allows them all and
    ``(None, why)`` when it cannot be told: the DN is unknown, or ``getACL`` is refused (it needs
    CONFIGURATION_READ). ``acl``: the ACL when the caller has read it already.
    """
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.pap_plan import refusal_error

    if not operations:
        return None, None
    if not caller:
        return None, UNKNOWN_DN
    if acl is None:
        try:
            acl = client.get_acl()
        except (AuthorizationError, RemoteError) as err:
            return None, "the PAP's ACL cannot be read with it (getACL: %s)" % err.msg
    for operation in operations:
        error = refusal_error(acl, caller, operation, client.server_label)
        if error is not None:
            return error, None
    return None, None


class ArgusModule(GridsecModule):
    """``GridsecModule`` with the PAP connection options and a lazily built ``PapClient``."""

    def __init__(self, argument_spec=None, **kwargs):
        super(ArgusModule, self).__init__(connection_specs=(ARGUS_SPEC,), argument_spec=argument_spec, **kwargs)
        self.done_operations = None
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

    def client(self):
        """The ``PapClient`` of this run's ``pap_host``/``pap_port``/``pap_path`` (built once)."""
        if self._client is None:
            try:
                self._client = self.endpoint_client(self.endpoint)
            except GridsecError as err:
                self.fail_from(err)
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
        details = err.details
        self.warn("%s: predicted from the PAP's ACL before anything was written: %s lacks %s, so %s would be "
                  "refused; nothing was changed" % (self.server_label, details["identity"],
                                                    " and ".join(details["missing"]), err.operation))
        self.fail_from(err, operations=[], changed=False)

    def check_write_permission(self, operations):
        """Check mode: fail as the PAP will when its global ACL refuses one of the planned ``operations`` to
        this credential (a read-only one), so that check mode never predicts a write the real run cannot do;
        warn when that cannot be told. Real runs leave the decision to the PAP."""
        if not self.check_mode or not operations:
            return
        err, why = predicted_refusal(self.client(), self.caller_dn(), operations)
        if err is not None:
            self.fail_predicted(err)
        if why is not None:
            self.warn("check mode could not verify that the credential may write on %s: %s; the operations "
                      "listed assume it may" % (self.server_label, why))

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
                                      server=self.server_label)  # a check of the task, not a failed getAllPaps
                return pap
        close = [p.alias for p in paps if str(p.alias).lower() == str(alias).lower()]
        raise ConfigError("alias %r does not exist on %s (known aliases: %s)%s"
                          % (alias, self.server_label, ", ".join(sorted(p.alias for p in paps)) or "none",
                             "; aliases are case-sensitive, did you mean %r?" % close[0] if close else ""),
                          server=self.server_label)


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


def execute_plan(module, alias, ops, strict_ban=False):
    """Send the planned write operations in order; each one that succeeds is appended to
    ``module.done_operations`` (its description, with the ids the PAP assigned to new objects).

    Returns the policy ids the ``ban`` calls answered, in order. With ``strict_ban`` a ``ban`` answered with
    ``null`` raises ``WriteRefusedError``: the PAP wrote nothing because it found a deny rule with that value in
    the policy it picks, which the plan's read had not (the policy changed meanwhile).
    Raises ``GridsecError`` on the first failure (``module.done_operations`` then lists what succeeded).
    """
    executor = PlanExecutor(module, alias, strict_ban)
    if module.done_operations is None:
        module.done_operations = []
    for op in ops:
        handler = PlanExecutor.HANDLERS.get(op.operation)
        if handler is None:  # pragma: no cover - planner and executor are written together
            raise ConfigError("internal error: unknown planned operation %s" % op.operation,
                              server=module.server_label, operation=op.operation)
        desc = op.describe()
        getattr(executor, handler)(op, op.args, desc)
        module.done_operations.append(desc)
    return executor.ban_replies


class PlanExecutor(object):
    """The planned operations of ``_argus.policy_plan`` sent to the PAP: one handler per operation name
    (``HANDLERS``). A handler sends its call and writes the ids the PAP assigned into the description ``desc``;
    objects an earlier operation of the same plan created are named by placeholders until then (``real``)."""

    HANDLERS = {
        "ban": "ban",
        "unban": "unban",
        "updatePolicy": "update_policy",
        "removeObjectByIdAndReferences": "remove_object",
        "addPolicySet": "add_policy_set",
        "addPolicies": "add_policies",
        "addPolicy": "add_policy",
    }

    def __init__(self, module, alias, strict_ban):
        self.module = module
        self.alias = alias
        self.strict_ban = strict_ban
        self.client = module.client()
        self.new_ids = {}
        self.ban_replies = []

    def real(self, object_id):
        return self.new_ids.get(object_id, object_id)

    def ban(self, op, args, desc):
        policy_id = self.client.ban(self.alias, args["id"], args["value"], resource=args["resource"],
                                    action=args["action"], public=args["public"])
        if policy_id is None and self.strict_ban:
            raise WriteRefusedError(
                "ban of %s %s answered null: nothing was written, the PAP says a deny rule with this value "
                "already exists in the first policy of resource %s, action %s of alias %s, which was not "
                "there when this task read the policy (it was changed by someone else while this task ran); "
                "run again" % (args["id"], args["value"], args["resource"], args["action"], self.alias),
                server=self.module.server_label, operation="ban", details={"reply": "null"})
        self.ban_replies.append(policy_id)
        if op.payload and op.payload.get("creates_policy") and policy_id:
            self.new_ids[op.payload["creates_policy"]] = policy_id

    def unban(self, op, args, desc):
        status = self.client.unban(self.alias, args["id"], args["value"], resource=args["resource"],
                                   action=args["action"])
        if status not in (0, "0", None):
            self.module.warn("unban of %s on %s alias %s found nothing to remove (statusCode %s); the policy "
                             "changed while this task ran"
                             % (args["value"], self.module.server_label, self.alias, status))

    def update_policy(self, op, args, desc):
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_view import to_model_policy

        # false/nil or a version-conflict fault: WriteRefusedError (callers may re-read and retry).
        refused = None
        try:
            model = to_model_policy(op.payload["policy"])
            if args["id"] in self.new_ids:
                # a policy an earlier ``ban`` of this plan created: its real id, and the version after
                # the locked one (to_model_policy cannot know either)
                model.policy_id = self.new_ids[args["id"]]
                model.version = str(int(args["version"]) + 1)
                desc["args"]["id"] = model.policy_id
            ok = self.client.update_policy(self.alias, args["version"], model)
        except WriteRefusedError as err:
            ok, refused = False, err
        if ok is False:
            raise WriteRefusedError(
                "updatePolicy of %s refused: version %s is no longer current or the policy is gone (it was "
                "changed by someone else while this task ran); nothing else was sent, run again%s"
                % (args["id"], args["version"], " (%s)" % refused.msg if refused is not None else ""),
                server=self.module.server_label, operation="updatePolicy",
                details=refused.details if refused is not None else {"reply": repr(ok)})

    def remove_object(self, op, args, desc):
        self.client.remove_object_by_id_and_references(self.alias, self.real(args["id"]))
        desc["args"]["id"] = self.real(args["id"])

    def add_policy_set(self, op, args, desc):
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_view import to_model_policy_set

        placeholder = args["policy_set_id"]
        self.new_ids[placeholder] = self.client.add_policy_set(self.alias, args["index"],
                                                               to_model_policy_set(op.payload["policy_set"]))
        desc["args"]["policy_set_id"] = self.new_ids[placeholder]

    def add_policies(self, op, args, desc):
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_view import to_model_policy

        ps_id = self.real(args["policy_set_id"])
        self.client.add_policies(self.alias, args["index"], ps_id, args["policy_id_prefixes"],
                                 [to_model_policy(p) for p in op.payload["policies"]])
        desc["args"]["policy_set_id"] = ps_id

    def add_policy(self, op, args, desc):
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_view import to_model_policy

        ps_id = self.real(args["policy_set_id"])
        self.client.add_policy(self.alias, args["index"], ps_id, args["policy_id_prefix"],
                               to_model_policy(op.payload["policy"]))
        desc["args"]["policy_set_id"] = ps_id
