"""The five PAP SOAP services. Each module exposes ``OPERATIONS``: {name: Op}."""
import dataclasses
from typing import Callable

from ..model import PapError


@dataclasses.dataclass
class Op:
    """One SOAP operation. ``opclass``: the argus-pap operation class (named in the authorization fault),
    a string or callable(state, args). ``precheck(state, args)``: what the service method does BEFORE
    the operation checks permissions (argument conversion, getPap of read operations...)."""
    params: list
    handler: Callable  # handler(state, args, ctx) -> reply value
    perms: object  # set of permissions, or callable(state, args) -> set
    lock: bool = True
    opclass: object = None
    precheck: Callable = None


READ_LOCAL = "POLICY_READ_LOCAL"
READ_REMOTE = "POLICY_READ_REMOTE"
WRITE = "POLICY_WRITE"
CONF_READ = "CONFIGURATION_READ"
CONF_WRITE = "CONFIGURATION_WRITE"


def arg_alias(args, param=None):
    """The alias argument; null means "default" (the operations' ``if (alias == null)``)."""
    from ..soap import text
    if param is None:
        param = next(iter(args), "alias")
    value = text(args.get(param))
    return "default" if value is None else value


def alias_read(state, args):
    """POLICY_READ_LOCAL for a local alias, POLICY_READ_REMOTE for a remote (cached) alias."""
    pap = state.paps.get(arg_alias(args))
    if pap is not None and not pap.local:
        return {READ_REMOTE}
    return {READ_LOCAL}


def read_opclass(local_name, remote_name):
    def name(state, args):
        pap = state.paps.get(arg_alias(args))
        return remote_name if pap is not None and not pap.local else local_name
    return name


def precheck_pap(state, args):
    """The service method's PapManager.getPap(alias) before the (local|remote) read operation."""
    state.pap(arg_alias(args))


def first_arg_text(args):
    from ..soap import text
    return text(next(iter(args.values()), None))


__all__ = ["Op", "PapError", "READ_LOCAL", "READ_REMOTE", "WRITE", "CONF_READ", "CONF_WRITE", "alias_read", "arg_alias",
           "read_opclass", "precheck_pap"]
