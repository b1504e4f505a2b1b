"""AuthorizationManagementService, global context only (ARGUS.md §2.4). Principal types are the
PAP's: ``x509-dn`` (slash-form DN; ANYONE is "/O=PAP/OU=Internal/CN=Any authenticated user") and
``voms-fqan``."""
from .. import config as cfg
from ..model import AUTHZ_EXCEPTION, PapError
from ..soap import Bean, NoReturn, field, string_list, text
from ..xmlutil import children, local
from . import CONF_READ, CONF_WRITE, Op


def _context(args):
    context = text(args.get("context"))
    if context not in (None, "", "global-context"):
        raise PapError("Only the context 'global-context' is currently supported!", AUTHZ_EXCEPTION)


def _principal(el):
    """PAPAuthzManagementService.checkPAPPrincipal + principalToAdmin."""
    if el is None:
        raise PapError("Null principal passed as argument!", AUTHZ_EXCEPTION)
    kind = text(field(el, "type"))
    name = text(field(el, "name")) or ""
    if kind is None:
        raise PapError(None, "java.lang.NullPointerException")
    if kind == "x509-dn":
        if not name:
            raise PapError("X509 Principal with NULL or empty DN passed as argument!", AUTHZ_EXCEPTION)
        return ("dn", cfg.ANYONE_DN if name == "ANYONE" else name)
    if kind == "voms-fqan":
        if not name.startswith("/"):  # PathNamingScheme.checkSyntax (simplified)
            raise PapError("Invalid FQAN: '%s'" % name, "org.glite.authz.pap.common.exceptions.VOMSSyntaxException")
        return ("fqan", name)
    raise PapError("Unsupported principal type '%s'." % kind, AUTHZ_EXCEPTION)


def _ace_bean(key, perms):
    kind, name = key
    principal = Bean([("type", "x509-dn" if kind == "dn" else "voms-fqan"), ("name", name)])
    return Bean([("principal", principal)] + [("permissions", p) for p in cfg.PERMISSIONS if p in perms])


def get_acl(state, args, ctx):
    """PAPAuthzManagementService.getACL: null (xsi:nil) for an empty ACL."""
    _context(args)
    entries = [_ace_bean(k, v) for k, v in state.acl.entries.items()]
    return entries or None


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
        raise PapError(str(exc), AUTHZ_EXCEPTION) from None
    if not perms:
        raise PapError("Cannot set NULL permissions for principal '%s'." % key[1], AUTHZ_EXCEPTION)
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
                    raise PapError(str(exc), AUTHZ_EXCEPTION) from None
        entries[key] = perms
    state.acl.entries = entries
    state.save_acl()
    return NoReturn()


def _pre_context(state, args):
    _context(args)


def _pre_principal(state, args):
    _principal(args["principal"])
    _context(args)


def _pre_add(state, args):
    _principal(args["principal"])
    if not string_list(args["permissions"]):
        raise PapError("Cannot set NULL permissions for principal '%s'." % text(field(args["principal"], "name")),
                       AUTHZ_EXCEPTION)
    _context(args)


OPERATIONS = {
    "getACL": Op(["context"], get_acl, {CONF_READ}, opclass="GetACLOperation", precheck=_pre_context),
    "addACE": Op(["context", "principal", "permissions"], add_ace, {CONF_READ, CONF_WRITE},
                 opclass="AddACEOperation", precheck=_pre_add),
    "removeACE": Op(["context", "principal"], remove_ace, {CONF_READ, CONF_WRITE}, opclass="RemoveACEOperation",
                    precheck=_pre_principal),
    "setACL": Op(["context", "acl"], set_acl, {CONF_READ, CONF_WRITE}, opclass="SetACLOperation",
                 precheck=_pre_context),
}
