# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Sending a planned list of PAP write operations (``_argus.policy_plan``), for the modules that write.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Kept apart from ``_argus.module`` so that the read-only modules (``argus_policy_info``) do not compile it on every
run (AnsiballZ imports module_utils from a zip, without cached bytecode).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, WriteRefusedError


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
