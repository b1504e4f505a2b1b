"""HighLevelPolicyManagementService (ARGUS.md §2.2, §5; argus-pap HighLevelPolicyManagementService and
the Ban/Unban/AddRule/EraseRepository/Purge operations)."""
from ..model import (HIGHLEVEL_SERVICE_EXCEPTION, ILLEGAL_ARGUMENT, NULL_POINTER, UNSUPPORTED_ATTRIBUTE,
                     XACML_SERVICE_EXCEPTION, Attribute, PapError)
from ..soap import Bean, NoReturn, boolean, string_list, text
from . import READ_LOCAL, WRITE, Op, arg_alias

SCOPE_ENUM = "org.glite.authz.pap.authz.operations.highlevelpolicymanagement.AddRuleOperation.ObligationScopeType"


def _attribute(name, value):
    """new AttributeWizard(id, value): unknown ids -> UnsupportedAttributeException "id=<id>"."""
    return Attribute.make(name if name is not None else "null", value)


def _write_store(state, alias, message="Forbidden operation for a remote PAP", java=XACML_SERVICE_EXCEPTION):
    pap = state.pap(alias)
    if not pap.local:
        raise PapError(message, java)
    return state.stores[pap.alias]


def _ban_args(args):
    """The service method builds the three AttributeWizards before the operation runs."""
    # lab: a missing resource/action means ".*" (what every client sends)
    return (_attribute(text(args["id"]), text(args["value"])),
            Attribute.make("resource", text(args["resource"]) or ".*"),
            Attribute.make("action", text(args["action"]) or ".*"))


def _precheck_ban(state, args):
    _ban_args(args)


def ban(state, args, ctx):
    alias = arg_alias(args)
    attr, resource, action = _ban_args(args)
    store = _write_store(state, alias)
    public = boolean(args["isPublic"], default=True)  # lab: a missing isPublic means public
    policy_id = store.ban(attr, resource, action, public)
    if policy_id is not None:
        state.changed(alias)
    return policy_id


def unban(state, args, ctx):
    alias = arg_alias(args)
    attr, resource, action = _ban_args(args)
    store = _write_store(state, alias)
    status = store.unban(attr, resource, action)
    if status == 0:
        state.changed(alias)
    return Bean([("statusCode", status), ("conflictingPolicies", Bean([]))])


def _rule_attributes(args):
    """new AttributeWizard("id=value") for every item (NullPointerException on a null array)."""
    el = args["attributeList"]
    if el is None:
        raise PapError(None, NULL_POINTER)
    attrs = []
    for item in string_list(el):
        if "=" not in item:
            raise PapError('invalid "id=value" string: %s' % item, UNSUPPORTED_ATTRIBUTE)
        name, value = item.split("=", 1)
        attrs.append(Attribute.make(name, value))
    return attrs


def _scope(args):
    """ObligationScopeType.valueOf(obligationScope) in the AddRuleOperation constructor: a null scope
    is a NullPointerException ("Name is null") even when no obligation is given."""
    scope = text(args["obligationScope"])
    if scope is None:
        raise PapError("Name is null", NULL_POINTER)
    if scope not in ("action", "resource"):
        raise PapError("No enum constant %s.%s" % (SCOPE_ENUM, scope), ILLEGAL_ARGUMENT)
    return scope


def _precheck_add_rule(state, args):
    _rule_attributes(args)
    _scope(args)


def add_rule(state, args, ctx):
    alias = arg_alias(args)
    attrs = _rule_attributes(args)
    scope = _scope(args)
    store = _write_store(state, alias, "You cannot add rules to a remote PAP!")
    rule_id = store.add_rule(boolean(args["isPermit"]), attrs, text(args["actionValue"]),
                             text(args["resourceValue"]), text(args["actionIdentifier"]),
                             text(args["ruleIdentifier"]), text(args["obligationValue"]), scope,
                             boolean(args["moveAfter"]))
    state.changed(alias)
    return rule_id


def erase(state, args, ctx):
    """EraseRepositoryOperation: no remote check (a remote alias' cache is erased too)."""
    alias = arg_alias(args)
    state.store(alias).erase()
    state.changed(alias)
    return NoReturn()


def purge(state, args, ctx):
    alias = arg_alias(args)
    store = _write_store(state, alias, java=HIGHLEVEL_SERVICE_EXCEPTION)
    store.purge(boolean(args["purgeUnreferencedPolicies"]), boolean(args["purgeEmptyPolicies"]),
                boolean(args["purgeUnreferencedPolicySets"]), boolean(args["purgeEmptyPolicySets"]))
    state.changed(alias)
    return NoReturn()


OPERATIONS = {
    "ban": Op(["alias", "id", "value", "resource", "action", "isPublic"], ban, {WRITE}, opclass="BanOperation",
              precheck=_precheck_ban),
    "unban": Op(["alias", "id", "value", "resource", "action"], unban, {WRITE, READ_LOCAL},
                opclass="UnbanOperation", precheck=_precheck_ban),
    "addRule": Op(["alias", "isPermit", "attributeList", "actionValue", "resourceValue", "actionIdentifier",
                   "ruleIdentifier", "obligationValue", "obligationScope", "moveAfter"], add_rule, {WRITE},
                  opclass="AddRuleOperation", precheck=_precheck_add_rule),
    "eraseRepository": Op(["alias"], erase, {WRITE}, opclass="EraseRepositoryOperation"),
    "purge": Op(["alias", "purgeUnreferencedPolicies", "purgeEmptyPolicies", "purgeUnreferencedPolicySets",
                 "purgeEmptyPolicySets"], purge, {WRITE, READ_LOCAL}, opclass="PurgeOperation"),
}
