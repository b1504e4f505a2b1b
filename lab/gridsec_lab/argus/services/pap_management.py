"""PAPManagementService (ARGUS.md §2.3; argus-pap PAPManagementService, the papmanagement operations,
PapManager, DistributionConfiguration, FileSystemPapDAO)."""
from ..model import DISTRIBUTION_CONFIG_EXCEPTION, PAP_MANAGER_EXCEPTION, Pap, PapError
from ..node import DEFAULT_ALIAS, PAP_VERSION, new_pap_id
from ..soap import Bean, NoReturn, boolean, field, number, string_list, text
from . import CONF_READ, CONF_WRITE, READ_REMOTE, WRITE, Op

# new Pap(...) (what FileSystemPapDAO returns) fills these when the stored value is undefined
PAP_DEFAULTS = {"hostname": "localhost", "port": "8150", "path": "/pap/services/", "protocol": "https"}


def pap_bean(pap):
    shown = {k: getattr(pap, k) or PAP_DEFAULTS[k] for k in PAP_DEFAULTS}
    return Bean([("alias", pap.alias), ("id", pap.id), ("dn", pap.dn), ("hostname", shown["hostname"]),
                 ("port", shown["port"]), ("path", shown["path"]), ("protocol", shown["protocol"]),
                 ("visibilityPublic", bool(pap.public)), ("local", bool(pap.local)), ("enabled", bool(pap.enabled))])


def pap_from_element(el):
    """The Pap bean as Axis deserialises it (no-arg constructor + setters: absent fields stay null,
    ``local`` defaults to true, ``visibilityPublic``/``enabled`` to false). Nothing is validated."""
    if el is None or not text(field(el, "alias")):  # lab: a PAP without alias is refused
        raise PapError(None, "java.lang.NullPointerException")
    return Pap(text(field(el, "alias")), id=text(field(el, "id")) or None, dn=text(field(el, "dn")) or None,
               hostname=text(field(el, "hostname")) or None, port=text(field(el, "port")) or None,
               path=text(field(el, "path")) or None, protocol=text(field(el, "protocol")) or None,
               public=boolean(field(el, "visibilityPublic")), local=boolean(field(el, "local"), default=True),
               enabled=boolean(field(el, "enabled")))


def ping(state, args, ctx):
    return "PAP version: %s" % PAP_VERSION


def get_all_paps(state, args, ctx):
    return [pap_bean(state.paps[a]) for a in state.effective_order()]


def get_pap(state, args, ctx):
    return pap_bean(state.pap(text(args["papAlias"])))


def exists(state, args, ctx):
    return text(args["papAlias"]) in state.paps


def add_pap(state, args, ctx):
    """AddPapOperation -> PapManager.addPap: "Forbidden alias: default"; an existing alias answers
    false (AlreadyExistsException caught). Not added to the ordering."""
    pap = pap_from_element(args["pap"])
    if pap.alias == DEFAULT_ALIAS:
        raise PapError("Forbidden alias: %s" % pap.alias, PAP_MANAGER_EXCEPTION)
    if pap.alias in state.paps:
        return False
    pap.id = pap.id or new_pap_id(pap.alias)  # pap-admin sends the id it generated; lab: one if missing
    state.add_pap(pap)
    ctx.wake()
    return True


def _precheck_update_pap(state, args):
    el = args["pap"]
    if el is not None and text(field(el, "alias")) == DEFAULT_ALIAS:  # PAPManagementService.updatePap
        raise PapError('Invalid request. "%s" cannot be updated' % DEFAULT_ALIAS, PAP_MANAGER_EXCEPTION)


def update_pap(state, args, ctx):
    """UpdatePapOperation: false for an unknown alias; the id is kept, the cache too."""
    pap = pap_from_element(args["pap"])
    if pap.alias not in state.paps:
        return False
    state.update_pap(pap)
    ctx.wake()
    return True


def remove_pap(state, args, ctx):
    """RemovePapOperation -> PapManager.deletePap: DistributionConfiguration.removePap runs first (with
    its ordering bug), then the DAO answers NotFound -> false for an unknown alias."""
    alias = text(args["papAlias"])
    if alias == DEFAULT_ALIAS:
        raise PapError("Deleting the default pap is not allowed", PAP_MANAGER_EXCEPTION)
    return state.remove_pap(alias)


def set_enabled(state, args, ctx):
    pap = state.pap(text(args["alias"]))
    pap.enabled = boolean(args["enabled"])
    state.config_changed()
    ctx.wake()
    return NoReturn()


def get_order(state, args, ctx):
    """GetOrderOperation: the ordering of pap_configuration.ini as configured (possibly empty)."""
    return list(state.order)


def set_order(state, args, ctx):
    el = args["aliasArray"]
    state.set_order(None if el is None else string_list(el))
    return True


def get_polling_interval(state, args, ctx):
    return float(state.poll_interval)


def set_polling_interval(state, args, ctx):
    """SetPollingIntervalOperation.instance((long) seconds): truncated to whole seconds, not checked."""
    state.poll_interval = float(int(number(args["seconds"])))
    state.config_changed()
    ctx.wake()
    return NoReturn()


def refresh_cache(state, args, ctx):
    """RefreshPolicyCacheOperation: false for an unknown alias, PAPException for a local one."""
    return ctx.refresh(text(args["papAlias"]))


OPERATIONS = {
    "ping": Op([], ping, set()),
    "getAllPaps": Op([], get_all_paps, {CONF_READ}, opclass="ListPapsOperation"),
    "getPap": Op(["papAlias"], get_pap, {CONF_READ}, opclass="GetPapOperation"),
    "exists": Op(["papAlias"], exists, {CONF_READ}, opclass="PapExistsOperation"),
    "addPap": Op(["pap"], add_pap, {CONF_WRITE}, opclass="AddPapOperation"),
    "updatePap": Op(["pap"], update_pap, {CONF_READ, CONF_WRITE}, opclass="UpdatePapOperation",
                    precheck=_precheck_update_pap),
    "removePap": Op(["papAlias"], remove_pap, {CONF_READ, CONF_WRITE}, opclass="RemovePapOperation"),
    "setEnabled": Op(["alias", "enabled"], set_enabled, {CONF_WRITE}, opclass="SetEnabledOperation"),
    "getOrder": Op([], get_order, {CONF_READ}, opclass="GetOrderOperation"),
    "setOrder": Op(["aliasArray"], set_order, {CONF_WRITE}, opclass="SetOrderOperation"),
    "getPollingInterval": Op([], get_polling_interval, {CONF_READ}, opclass="GetPollingIntervalOperation"),
    "setPollingInterval": Op(["seconds"], set_polling_interval, {CONF_WRITE}, opclass="SetPollingIntervalOperation"),
    "refreshCache": Op(["papAlias"], refresh_cache, {READ_REMOTE, WRITE}, lock=False,
                       opclass="RefreshPolicyCacheOperation"),
}

__all__ = ["OPERATIONS", "pap_bean", "DISTRIBUTION_CONFIG_EXCEPTION"]
