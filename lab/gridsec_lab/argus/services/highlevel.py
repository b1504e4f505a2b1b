"""HighLevelPolicyManagementService (ARGUS.md §2.2, §5)."""
from ..model import Attribute, PapError
from ..soap import Bean, NoReturn, boolean, string_list, text
from . import READ_LOCAL, WRITE, Op


def _alias(args):
    return text(args.get("alias")) or "default"


def _resource(args):
    value = text(args.get("resource"))
    return Attribute.make("resource", value if value else ".*")


def _action(args):
    value = text(args.get("action"))
    return Attribute.make("action", value if value else ".*")


def ban(state, args, ctx):
    alias = _alias(args)
    store = state.local_store(alias)
    attr = Attribute.make(text(args["id"]) or "", text(args["value"]))
    public = boolean(args["isPublic"], default=True) if args["isPublic"] is not None else True
    policy_id = store.ban(attr, _resource(args), _action(args), public)
    if policy_id is not None:
        state.changed(alias)
    return policy_id


def unban(state, args, ctx):
    alias = _alias(args)
    store = state.local_store(alias)
    attr = Attribute.make(text(args["id"]) or "", text(args["value"]))
    status = store.unban(attr, _resource(args), _action(args))
    if status == 0:
        state.changed(alias)
    return Bean([("statusCode", status), ("conflictingPolicies", Bean([]))])


def add_rule(state, args, ctx):
    alias = _alias(args)
    store = state.local_store(alias)
    attrs = []
    for item in string_list(args["attributeList"]):
        if "=" not in item:
            raise PapError("Invalid attribute (expected id=value): '%s'" % item)
        name, value = item.split("=", 1)
        attrs.append(Attribute.make(name.strip(), value.strip()))
    if not attrs:
        raise PapError("No attributes given for the rule")
    rule_id = store.add_rule(boolean(args["isPermit"]), attrs, text(args["actionValue"]),
                             text(args["resourceValue"]), text(args["actionIdentifier"]),
                             text(args["ruleIdentifier"]), text(args["obligationValue"]),
                             text(args["obligationScope"]), boolean(args["moveAfter"]))
    state.changed(alias)
    return rule_id


def erase(state, args, ctx):
    alias = _alias(args)
    state.local_store(alias).erase()
    state.changed(alias)
    return NoReturn()


def purge(state, args, ctx):
    alias = _alias(args)
    state.local_store(alias).purge(boolean(args["purgeUnreferencedPolicies"]), boolean(args["purgeEmptyPolicies"]),
                                   boolean(args["purgeUnreferencedPolicySets"]), boolean(args["purgeEmptyPolicySets"]))
    state.changed(alias)
    return NoReturn()


OPERATIONS = {
    "ban": Op(["alias", "id", "value", "resource", "action", "isPublic"], ban, {WRITE}),
    "unban": Op(["alias", "id", "value", "resource", "action"], unban, {WRITE, READ_LOCAL}),
    "addRule": Op(["alias", "isPermit", "attributeList", "actionValue", "resourceValue", "actionIdentifier",
                   "ruleIdentifier", "obligationValue", "obligationScope", "moveAfter"], add_rule, {WRITE}),
    "eraseRepository": Op(["alias"], erase, {WRITE}),
    "purge": Op(["alias", "purgeUnreferencedPolicies", "purgeEmptyPolicies", "purgeUnreferencedPolicySets",
                 "purgeEmptyPolicySets"], purge, {WRITE, READ_LOCAL}),
}
