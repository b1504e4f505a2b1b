"""AuthorizationManagementService, global context only (ARGUS.md §2.4). Principal types are the
PAP's: ``x509-dn`` (slash-form DN; ANYONE is "/O=PAP/OU=Internal/CN=Any authenticated user") and
``voms-fqan``."""
from .. import config as cfg
from ..model import PapError
from ..soap import Bean, NoReturn, field, string_list, text
from ..xmlutil import children, local
from . import CONF_READ, CONF_WRITE, Op


def _context(args):
    context = text(args.get("context"))
    if context not in (None, "", "global-context"):
        raise PapError("Only the context 'global-context' is currently supported!")


def _principal(el):
    if el is None:
        raise PapError("Null principal passed as argument!")
    kind = text(field(el, "type")) or ""
    name = text(field(el, "name")) or ""
    if kind == "x509-dn":
        if not name:
            raise PapError("X509 Principal with NULL or empty DN passed as argument!")
        return ("dn", cfg.ANYONE_DN if name == "ANYONE" else name)
    if kind == "voms-fqan":
        if not name.startswith("/"):
            raise PapError("Invalid FQAN: '%s'" % name)
        return ("fqan", name)
    raise PapError("Unsupported principal type '%s'." % kind)


def _ace_bean(key, perms):
    kind, name = key
    principal = Bean([("type", "x509-dn" if kind == "dn" else "voms-fqan"), ("name", name)])
    return Bean([("principal", principal)] + [("permissions", p) for p in cfg.PERMISSIONS if p in perms])


def get_acl(state, args, ctx):
    _context(args)
    return [_ace_bean(k, v) for k, v in state.acl.entries.items()]


def _perms(el):
    perms = set()
    for item in string_list(el):
        perms |= cfg.parse_permissions(item) if item.strip() else set()
    return perms


def add_ace(state, args, ctx):
    _context(args)
    key = _principal(args["principal"])
    try:
        perms = _perms(args["permissions"])
    except ValueError as exc:
        raise PapError(str(exc)) from None
    if not perms:
        raise PapError("Cannot set NULL permissions for principal '%s'." % key[1])
    state.acl.entries[key] = perms
    state.save_acl()
    return NoReturn()


def remove_ace(state, args, ctx):
    _context(args)
    key = _principal(args["principal"])
    state.acl.entries.pop(key, None)
    state.save_acl()
    return NoReturn()


def set_acl(state, args, ctx):
    _context(args)
    entries = {}
    container = args["acl"]
    for item in children(container) if container is not None else []:
        key = _principal(field(item, "principal"))
        perms = set()
        for c in children(item):
            if local(c) == "permissions":
                try:
                    perms |= cfg.parse_permissions(text(c, ""))
                except ValueError as exc:
                    raise PapError(str(exc)) from None
        entries[key] = perms
    state.acl.entries = entries
    state.save_acl()
    return NoReturn()


OPERATIONS = {
    "getACL": Op(["context"], get_acl, {CONF_READ}),
    "addACE": Op(["context", "principal", "permissions"], add_ace, {CONF_READ, CONF_WRITE}),
    "removeACE": Op(["context", "principal"], remove_ace, {CONF_READ, CONF_WRITE}),
    "setACL": Op(["context", "acl"], set_acl, {CONF_READ, CONF_WRITE}),
}
