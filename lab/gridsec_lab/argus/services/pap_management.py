"""PAPManagementService (ARGUS.md §2.3)."""
from ..model import Pap, PapError
from ..node import PAP_VERSION
from ..soap import Bean, NoReturn, boolean, field, number, string_list, text
from . import CONF_READ, CONF_WRITE, READ_REMOTE, WRITE, Op


def pap_bean(pap):
    return Bean([("alias", pap.alias), ("id", pap.id), ("dn", pap.dn), ("hostname", pap.hostname),
                 ("port", pap.port), ("path", pap.path), ("protocol", pap.protocol),
                 ("visibilityPublic", bool(pap.public)), ("local", bool(pap.local)), ("enabled", bool(pap.enabled))])


def pap_from_element(el):
    if el is None:
        raise PapError("Null PAP passed as argument")
    alias = text(field(el, "alias"))
    if not alias:
        raise PapError("PAP alias is required")
    local = boolean(field(el, "local"), default=False)
    pap = Pap(alias, dn=text(field(el, "dn")) or None, hostname=text(field(el, "hostname")) or None,
              port=text(field(el, "port")) or None, path=text(field(el, "path")) or None,
              protocol=text(field(el, "protocol")) or None,
              public=boolean(field(el, "visibilityPublic")), local=local,
              enabled=boolean(field(el, "enabled")))
    if not local:
        if not pap.hostname or not pap.dn:
            raise PapError("A remote PAP needs hostname and dn")
        pap.port = pap.port or "8150"
        pap.path = pap.path or "/pap/services/"
        pap.protocol = pap.protocol or "https"
    return pap


def ping(state, args, ctx):
    return "PAP version: %s" % PAP_VERSION


def get_all_paps(state, args, ctx):
    return [pap_bean(state.paps[a]) for a in state.effective_order()]


def get_pap(state, args, ctx):
    return pap_bean(state.pap(text(args["papAlias"])))


def exists(state, args, ctx):
    return (text(args["papAlias"]) or "default") in state.paps


def add_pap(state, args, ctx):
    state.add_pap(pap_from_element(args["pap"]))
    ctx.wake()
    return True


def update_pap(state, args, ctx):
    state.update_pap(pap_from_element(args["pap"]))
    ctx.wake()
    return True


def remove_pap(state, args, ctx):
    state.remove_pap(text(args["papAlias"]))
    return True


def set_enabled(state, args, ctx):
    pap = state.pap(text(args["alias"]))
    pap.enabled = boolean(args["enabled"])
    state.config_changed()
    return NoReturn()


def get_order(state, args, ctx):
    return state.effective_order()


def set_order(state, args, ctx):
    state.set_order(string_list(args["aliasArray"]))
    return True


def get_polling_interval(state, args, ctx):
    return float(state.poll_interval)


def set_polling_interval(state, args, ctx):
    seconds = number(args["seconds"])
    if seconds <= 0:
        raise PapError("Polling interval must be positive")
    state.poll_interval = seconds
    state.config_changed()
    ctx.wake()
    return NoReturn()


def refresh_cache(state, args, ctx):
    return ctx.refresh(text(args["papAlias"]))


OPERATIONS = {
    "ping": Op([], ping, set()),
    "getAllPaps": Op([], get_all_paps, {CONF_READ}),
    "getPap": Op(["papAlias"], get_pap, {CONF_READ}),
    "exists": Op(["papAlias"], exists, {CONF_READ}),
    "addPap": Op(["pap"], add_pap, {CONF_WRITE}),
    "updatePap": Op(["pap"], update_pap, {CONF_READ, CONF_WRITE}),
    "removePap": Op(["papAlias"], remove_pap, {CONF_READ, CONF_WRITE}),
    "setEnabled": Op(["alias", "enabled"], set_enabled, {CONF_WRITE}),
    "getOrder": Op([], get_order, {CONF_READ}),
    "setOrder": Op(["aliasArray"], set_order, {CONF_WRITE}),
    "getPollingInterval": Op([], get_polling_interval, {CONF_READ}),
    "setPollingInterval": Op(["seconds"], set_polling_interval, {CONF_WRITE}),
    "refreshCache": Op(["papAlias"], refresh_cache, {READ_REMOTE, WRITE}, lock=False),
}
