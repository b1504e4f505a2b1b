"""XACMLPolicyManagementService (ARGUS.md §2.1)."""
from ..model import PapError, add_reference, bump_version, new_uuid, ref_ids, to_xacml_element
from ..xmlutil import children, local
from ..soap import NoReturn, XacmlList, boolean, integer, string_list, text
from . import READ_LOCAL, WRITE, Op, alias_read  # noqa: F401


def _alias(args):
    return text(args.get("alias")) or "default"


def list_policies(state, args, ctx):
    store = state.store(_alias(args))
    return XacmlList(store.policies.values())


def list_policy_sets(state, args, ctx):
    store = state.store(_alias(args))
    return XacmlList(store.policysets.values())


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


def _new_policy_id(prefix, policy):
    if prefix:
        return "%s_%s" % (prefix, new_uuid())
    return policy.get("PolicyId") or "public_" + new_uuid()


def _add_policy(store, index, ps_id, prefix, policy_el):
    policy = to_xacml_element(policy_el, "Policy")
    ps = store.get_policyset(ps_id)
    pid = _new_policy_id(prefix, policy)
    if pid in store.policies:
        raise PapError("Policy already exists: '%s'" % pid)
    policy.set("PolicyId", pid)
    store.policies[pid] = policy
    add_reference(ps, index, "PolicyIdReference", pid)
    bump_version(ps)
    return pid


def add_policy(state, args, ctx):
    alias = _alias(args)
    store = state.local_store(alias)
    pid = _add_policy(store, integer(args["index"], -1), text(args["policySetId"]), text(args["policyIdPrefix"]),
                      args["policy"])
    state.changed(alias)
    return pid


def add_policies(state, args, ctx):
    alias = _alias(args)
    store = state.local_store(alias)
    prefixes = string_list(args["policyIdPrefixArray"])
    container = args["policyArray"]
    policies = []
    if container is not None:
        for c in children(container):
            if local(c) == "Policy" or c.get("PolicyId") is not None or any(local(x) == "Policy" for x in children(c)):
                policies.append(c)
    index = integer(args["index"], -1)
    ids = []
    for n, policy in enumerate(policies):
        prefix = prefixes[n] if n < len(prefixes) else None
        ids.append(_add_policy(store, index + n if index >= 0 else -1, text(args["policySetId"]), prefix, policy))
    state.changed(alias)
    return ids


def add_policy_set(state, args, ctx):
    alias = _alias(args)
    store = state.local_store(alias)
    ps = to_xacml_element(args["policySet"], "PolicySet")
    psid = ps.get("PolicySetId") or new_uuid()
    if psid in store.policysets:
        raise PapError("PolicySet already exists: '%s'" % psid)
    store.policysets[psid] = ps
    add_reference(store.root, integer(args["index"], -1), "PolicySetIdReference", psid)
    bump_version(store.root)
    state.changed(alias)
    return psid


def store_policy(state, args, ctx):
    alias = _alias(args)
    store = state.local_store(alias)
    policy = to_xacml_element(args["policy"], "Policy")
    pid = _new_policy_id(text(args["idPrefix"]), policy)
    policy.set("PolicyId", pid)
    store.policies[pid] = policy
    state.changed(alias)
    return pid


def store_policy_set(state, args, ctx):
    alias = _alias(args)
    store = state.local_store(alias)
    ps = to_xacml_element(args["policySet"], "PolicySet")
    prefix = text(args["idPrefix"])
    psid = ("%s_%s" % (prefix, new_uuid())) if prefix else (ps.get("PolicySetId") or new_uuid())
    ps.set("PolicySetId", psid)
    store.policysets[psid] = ps
    state.changed(alias)
    return psid


def _update(state, args, kind):
    alias = _alias(args)
    store = state.local_store(alias)
    el = to_xacml_element(args[kind[0].lower() + kind[1:]], kind)
    id_attr = "PolicyId" if kind == "Policy" else "PolicySetId"
    oid = el.get(id_attr)
    table = store.policies if kind == "Policy" else store.policysets
    if oid not in table:
        raise PapError("%s not found: '%s'" % (kind, oid))
    version = text(args["version"])
    current = table[oid].get("Version")
    if version is None or version != current:
        raise PapError("Attempting to update the wrong version of %s \"%s\" (requested version is \"%s\" but the "
                       "repository version is \"%s\")" % (kind, oid, version, current))
    table[oid] = el
    state.changed(alias)
    return True


def update_policy(state, args, ctx):
    return _update(state, args, "Policy")


def update_policy_set(state, args, ctx):
    return _update(state, args, "PolicySet")


def remove_policy(state, args, ctx):
    alias = _alias(args)
    store = state.local_store(alias)
    pid = text(args["policyId"])
    if pid not in store.policies:
        raise PapError("Policy not found: '%s'" % pid)
    del store.policies[pid]
    state.changed(alias)
    return True


def remove_policy_set(state, args, ctx):
    alias = _alias(args)
    store = state.local_store(alias)
    psid = text(args["policySetId"])
    if psid not in store.policysets or psid == store.root_id:
        raise PapError("PolicySet not found: '%s'" % psid)
    del store.policysets[psid]
    state.changed(alias)
    return True


def remove_object(state, args, ctx):
    alias = _alias(args)
    store = state.local_store(alias)
    oid = text(args["id"])
    if not store.remove_object_and_references(oid):
        raise PapError("Object not found: '%s'" % oid)
    state.changed(alias)
    return True


def move(state, args, ctx):
    alias = _alias(args)
    store = state.local_store(alias)
    oid, pivot = text(args["id"]), text(args["pivotId"])
    after = boolean(args["moveAfter"])
    if oid in store.policies or oid in store.policysets:
        parent = store.parent_of(oid)
        if parent is None or pivot not in ref_ids(parent, "PolicyIdReference") + ref_ids(parent,
                                                                                           "PolicySetIdReference"):
            raise PapError("Id and pivot id must be siblings: '%s', '%s'" % (oid, pivot))
        kind = "PolicyIdReference" if oid in store.policies else "PolicySetIdReference"
        ref = [c for c in children(parent) if local(c) == kind and (c.text or "").strip() == oid][0]
        pivot_ref = [c for c in children(parent) if local(c) in ("PolicyIdReference", "PolicySetIdReference")
                     and (c.text or "").strip() == pivot][0]
        parent.remove(ref)
        (pivot_ref.addnext if after else pivot_ref.addprevious)(ref)
        bump_version(parent)
    else:  # a rule
        for policy in store.policies.values():
            rule_list = [c for c in children(policy) if local(c) == "Rule"]
            ids = [r.get("RuleId") for r in rule_list]
            if oid in ids:
                if pivot not in ids:
                    raise PapError("Id and pivot id must be siblings: '%s', '%s'" % (oid, pivot))
                rule = rule_list[ids.index(oid)]
                pivot_rule = rule_list[ids.index(pivot)]
                policy.remove(rule)
                (pivot_rule.addnext if after else pivot_rule.addprevious)(rule)
                bump_version(policy)
                break
        else:
            raise PapError("Object not found: '%s'" % oid)
    state.changed(alias)
    return NoReturn()


_R = alias_read
OPERATIONS = {
    "listPolicies": Op(["alias"], list_policies, _R),
    "listPolicySets": Op(["alias"], list_policy_sets, _R),
    "getRootPolicySet": Op(["alias"], get_root, _R),
    "getPolicy": Op(["alias", "policyId"], get_policy, _R),
    "getPolicySet": Op(["alias", "policySetId"], get_policy_set, _R),
    "hasPolicy": Op(["alias", "policyId"], has_policy, _R),
    "hasPolicySet": Op(["alias", "policySetId"], has_policy_set, _R),
    "addPolicy": Op(["alias", "index", "policySetId", "policyIdPrefix", "policy"], add_policy, {WRITE}),
    "addPolicies": Op(["alias", "index", "policySetId", "policyIdPrefixArray", "policyArray"], add_policies,
                      {WRITE}),
    "addPolicySet": Op(["alias", "index", "policySet"], add_policy_set, {WRITE}),
    "storePolicy": Op(["alias", "idPrefix", "policy"], store_policy, {WRITE}),
    "storePolicySet": Op(["alias", "idPrefix", "policySet"], store_policy_set, {WRITE}),
    "updatePolicy": Op(["alias", "version", "policy"], update_policy, {WRITE, READ_LOCAL}),
    "updatePolicySet": Op(["alias", "version", "policySet"], update_policy_set, {WRITE, READ_LOCAL}),
    "removePolicy": Op(["alias", "policyId"], remove_policy, {WRITE}),
    "removePolicySet": Op(["alias", "policySetId"], remove_policy_set, {WRITE}),
    "removeObjectByIdAndReferences": Op(["alias", "id"], remove_object, {WRITE}),
    "move": Op(["alias", "id", "pivotId", "moveAfter"], move, {WRITE}),
}
