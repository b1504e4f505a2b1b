"""XACMLPolicyManagementService (ARGUS.md §2.1)."""
from ..model import (ALREADY_EXISTS, INVALID_VERSION, REPOSITORY_EXCEPTION, XACML_SERVICE_EXCEPTION, PapError,
                     add_reference, bump_version, generate_id, insert_child, ref_ids, rules, to_xacml_element)
from ..xmlutil import children, local
from ..soap import NoReturn, XacmlList, boolean, integer, string_list, text
from . import READ_LOCAL, WRITE, Op, alias_read, arg_alias, precheck_pap, read_opclass


def _alias(args):
    return arg_alias(args)


def list_policies(state, args, ctx):
    store = state.store(_alias(args))
    return XacmlList(store.policies.values())


def list_policy_sets(state, args, ctx):
    store = state.store(_alias(args))
    return XacmlList(store.all_policysets())


def get_root(state, args, ctx):
    return state.store(_alias(args)).root


def get_policy(state, args, ctx):
    return state.store(_alias(args)).get_policy(text(args["policyId"]))


def get_policy_set(state, args, ctx):
    return state.store(_alias(args)).get_policyset(text(args["policySetId"]))


def has_policy(state, args, ctx):
    return text(args["policyId"]) in state.store(_alias(args)).policies


def has_policy_set(state, args, ctx):
    return text(args["policySetId"]) in state.store(_alias(args)).policysets


def _write_store(state, alias, message="Forbidden operation for a remote PAP"):
    """PapManager.getPap(alias) (NotFoundException) + the remote check of the write operations."""
    pap = state.pap(alias)
    if not pap.local:
        raise PapError(message, XACML_SERVICE_EXCEPTION)
    return state.stores[pap.alias]


def _policy_args(container):
    policies = []
    if container is not None:
        for c in children(container):
            if local(c) == "Policy" or c.get("PolicyId") is not None or any(local(x) == "Policy" for x in children(c)):
                policies.append(c)
    return policies


def _add_policy(store, index, ps_id, policy, pid):
    """PapContainer.addPolicy: store, reference at index (append when < 0), bump the PolicySet."""
    ps = store.policysets[ps_id]
    if pid in store.policies:
        raise PapError("Already exists: policyId=%s" % pid, ALREADY_EXISTS)
    if pid in ref_ids(ps, "PolicyIdReference") or pid in ref_ids(ps, "PolicySetIdReference"):
        raise PapError('Reference id "%s" alredy exists' % pid, ALREADY_EXISTS)
    policy.set("PolicyId", pid)
    store.policies[pid] = policy
    add_reference(ps, index if index >= 0 else -1, "PolicyIdReference", pid)
    bump_version(ps)
    return pid


def add_policy(state, args, ctx):
    """AddPolicyOperation: null (no fault) when the PolicySet does not exist; id = generateId(prefix)."""
    alias = _alias(args)
    store = _write_store(state, alias)
    ps_id = text(args["policySetId"])
    if ps_id not in store.policysets:
        return None
    policy = to_xacml_element(args["policy"], "Policy")
    pid = _add_policy(store, integer(args["index"], -1), ps_id, policy, generate_id(text(args["policyIdPrefix"])))
    state.changed(alias)
    return pid


def add_policies(state, args, ctx):
    """AddPoliciesOperation: null when the PolicySet does not exist; ids generateId(prefix[i]); index + i."""
    alias = _alias(args)
    store = _write_store(state, alias)
    ps_id = text(args["policySetId"])
    if ps_id not in store.policysets:
        return None
    prefixes = string_list(args["policyIdPrefixArray"])
    policies = _policy_args(args["policyArray"])
    index = integer(args["index"], -1)
    ids = []
    for n, policy in enumerate(policies):
        if n >= len(prefixes):  # policyIdPrefix[i] on a shorter array
            raise PapError("%d" % n, "java.lang.ArrayIndexOutOfBoundsException")
        pid = _add_policy(store, -1 if index == -1 else index + n, ps_id, to_xacml_element(policy, "Policy"),
                          generate_id(prefixes[n]))
        ids.append(pid)
    state.changed(alias)
    return ids


def add_policy_set(state, args, ctx):
    """AddPolicySetOperation: a NEW id (generateId(null), a bare uuid) whatever the client sent."""
    alias = _alias(args)
    store = _write_store(state, alias)
    ps = to_xacml_element(args["policySet"], "PolicySet")
    psid = generate_id(None)
    ps.set("PolicySetId", psid)
    store.policysets[psid] = ps
    add_reference(store.root, integer(args["index"], -1), "PolicySetIdReference", psid)
    bump_version(store.root)
    state.changed(alias)
    return psid


def store_policy(state, args, ctx):
    """StorePolicyOperation: id = generateId(idPrefix), not referenced from any PolicySet."""
    alias = _alias(args)
    store = _write_store(state, alias)
    policy = to_xacml_element(args["policy"], "Policy")
    pid = generate_id(text(args["idPrefix"]))
    policy.set("PolicyId", pid)
    store.policies[pid] = policy
    state.changed(alias)
    return pid


def store_policy_set(state, args, ctx):
    alias = _alias(args)
    store = _write_store(state, alias)
    ps = to_xacml_element(args["policySet"], "PolicySet")
    psid = generate_id(text(args["idPrefix"]))
    ps.set("PolicySetId", psid)
    store.policysets[psid] = ps
    state.changed(alias)
    return psid


def _update(state, args, kind):
    """Update{Policy,PolicySet}Operation: false (no fault) for an unknown id; the DAO refuses a version
    different from the stored one (InvalidVersionException); the object is stored as sent."""
    alias = _alias(args)
    store = _write_store(state, alias)
    el = to_xacml_element(args[kind[0].lower() + kind[1:]], kind)
    id_attr = "PolicyId" if kind == "Policy" else "PolicySetId"
    oid = el.get(id_attr)
    table = store.policies if kind == "Policy" else store.policysets
    if oid not in table:
        return False
    version = text(args["version"])
    current = table[oid].get("Version")
    if version != current:
        raise PapError('Attempting to update the wrong version of %s="%s" (requestedVersion="%s", '
                       'repositoryVersion="%s")' % (id_attr, oid, version, current), INVALID_VERSION)
    table[oid] = el
    state.changed(alias)
    return True


def update_policy(state, args, ctx):
    return _update(state, args, "Policy")


def update_policy_set(state, args, ctx):
    return _update(state, args, "PolicySet")


def remove_policy(state, args, ctx):
    """RemovePolicyOperation -> PapContainer.deletePolicy: false when unknown; references are NOT removed."""
    alias = _alias(args)
    store = _write_store(state, alias)
    pid = text(args["policyId"])
    if pid not in store.policies:
        return False
    del store.policies[pid]
    state.changed(alias)
    return True


def remove_policy_set(state, args, ctx):
    """RemovePolicySetOperation -> PapContainer.deletePolicySet: false when unknown; references stay."""
    alias = _alias(args)
    store = _write_store(state, alias)
    psid = text(args["policySetId"])
    if psid not in store.policysets or psid == store.root_id:  # lab: the root is never deleted
        return False
    del store.policysets[psid]
    state.changed(alias)
    return True


def remove_object(state, args, ctx):
    """RemoveObjectByIdAndReferencesOperation: a policy, a PolicySet or a rule (the rule's policy is
    bumped, or removed with its references when it becomes empty)."""
    alias = _alias(args)
    oid = text(args["id"])
    if oid is None:
        raise PapError("id is null", XACML_SERVICE_EXCEPTION)
    store = _write_store(state, alias)
    store.remove_object_and_references(oid)
    state.changed(alias)
    return True


def move(state, args, ctx):
    """MoveOperation: a PolicySet among the root's references, a Policy within the PolicySet that
    references the pivot, or a rule within the policy holding the pivot rule; the container is bumped."""
    alias = _alias(args)
    oid, pivot = text(args["id"]), text(args["pivotId"])
    after = boolean(args["moveAfter"])
    if oid is None or pivot is None or oid == pivot:
        return NoReturn()
    store = _write_store(state, alias, "Forbidden operation for a remote pap")

    def _move_ref(parent, kind, missing_pivot):
        if pivot not in ref_ids(parent, kind):
            raise PapError(missing_pivot + pivot, REPOSITORY_EXCEPTION)
        if not _drop_ref(parent, kind, oid):
            raise PapError('Id "%s" not found into resource "%s"' % (oid, parent.get("PolicySetId")),
                           REPOSITORY_EXCEPTION)
        index = ref_ids(parent, kind).index(pivot) + (1 if after else 0)
        add_reference(parent, index, kind, oid)
        bump_version(parent)

    if oid in store.policysets:
        _move_ref(store.root, "PolicySetIdReference", "Id not found or not a resource-id: ")
    elif oid in store.policies:
        parent = next((ps for ps in store.all_policysets() if pivot in ref_ids(ps, "PolicyIdReference")), None)
        if parent is None:
            raise PapError("Id not found or not an action-id: " + pivot, REPOSITORY_EXCEPTION)
        _move_ref(parent, "PolicyIdReference", "Id not found or not an action-id: ")
    else:
        target = next((p for p in store.policies.values() if pivot in [r.get("RuleId") for r in rules(p)]), None)
        if target is None:
            raise PapError("Id not found or not a rule-id: " + pivot, REPOSITORY_EXCEPTION)
        rule = next((r for r in rules(target) if r.get("RuleId") == oid), None)
        if rule is None:
            raise PapError('Id "%s" not found into action "%s"' % (oid, target.get("PolicyId")),
                           REPOSITORY_EXCEPTION)
        target.remove(rule)
        ids = [r.get("RuleId") for r in rules(target)]
        insert_child(target, ids.index(pivot) + (1 if after else 0), rule, ("Rule",))
        bump_version(target)
    state.changed(alias)
    return NoReturn()


def _drop_ref(parent, kind, ref_id):
    for c in children(parent):
        if local(c) == kind and (c.text or "").strip() == ref_id:
            parent.remove(c)
            return True
    return False


def _read(params, handler, name):
    return Op(params, handler, alias_read, opclass=read_opclass("%sLocal%sOperation" % name,
                                                                "%sRemote%sOperation" % name),
              precheck=precheck_pap)


OPERATIONS = {
    "listPolicies": _read(["alias"], list_policies, ("List", "Policies")),
    "listPolicySets": _read(["alias"], list_policy_sets, ("List", "PolicySet")),
    "getRootPolicySet": _read(["alias"], get_root, ("Get", "RootPolicySet")),
    "getPolicy": _read(["alias", "policyId"], get_policy, ("Get", "Policy")),
    "getPolicySet": _read(["alias", "policySetId"], get_policy_set, ("Get", "PolicySet")),
    "hasPolicy": _read(["alias", "policyId"], has_policy, ("Has", "Policy")),
    "hasPolicySet": _read(["alias", "policySetId"], has_policy_set, ("Has", "PolicySet")),
    "addPolicy": Op(["alias", "index", "policySetId", "policyIdPrefix", "policy"], add_policy, {WRITE},
                    opclass="AddPolicyOperation"),
    "addPolicies": Op(["alias", "index", "policySetId", "policyIdPrefixArray", "policyArray"], add_policies,
                      {WRITE}, opclass="AddPoliciesOperation"),
    "addPolicySet": Op(["alias", "index", "policySet"], add_policy_set, {WRITE}, opclass="AddPolicySetOperation"),
    "storePolicy": Op(["alias", "idPrefix", "policy"], store_policy, {WRITE}, opclass="StorePolicyOperation"),
    "storePolicySet": Op(["alias", "idPrefix", "policySet"], store_policy_set, {WRITE},
                         opclass="StorePolicySetOperation"),
    "updatePolicy": Op(["alias", "version", "policy"], update_policy, {WRITE, READ_LOCAL},
                       opclass="UpdatePolicyOperation"),
    "updatePolicySet": Op(["alias", "version", "policySet"], update_policy_set, {WRITE, READ_LOCAL},
                          opclass="UpdatePolicySetOperation"),
    "removePolicy": Op(["alias", "policyId"], remove_policy, {WRITE}, opclass="RemovePolicyOperation"),
    "removePolicySet": Op(["alias", "policySetId"], remove_policy_set, {WRITE}, opclass="RemovePolicySetOperation"),
    "removeObjectByIdAndReferences": Op(["alias", "id"], remove_object, {WRITE},
                                        opclass="RemoveObjectByIdAndReferencesOperation"),
    "move": Op(["alias", "id", "pivotId", "moveAfter"], move, {WRITE}, opclass="MoveOperation"),
}
