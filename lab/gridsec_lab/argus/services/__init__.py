"""The five PAP SOAP services. Each module exposes ``OPERATIONS``: {name: Op}."""
import dataclasses
from typing import Callable

from ..model import PapError


@dataclasses.dataclass
class Op:
    params: list
    handler: Callable  # handler(state, args, ctx) -> reply value
    perms: object  # set of permissions, or callable(state, args) -> set
    lock: bool = True


READ_LOCAL = "POLICY_READ_LOCAL"
READ_REMOTE = "POLICY_READ_REMOTE"
WRITE = "POLICY_WRITE"
CONF_READ = "CONFIGURATION_READ"
CONF_WRITE = "CONFIGURATION_WRITE"


def alias_read(state, args, param="alias"):
    """POLICY_READ_LOCAL for a local alias, POLICY_READ_REMOTE for a remote (cached) alias."""
    from ..soap import text
    alias = text(args.get(param)) or "default"
    pap = state.paps.get(alias)
    if pap is not None and not pap.local:
        return {READ_REMOTE}
    return {READ_LOCAL}


def first_arg_text(args):
    from ..soap import text
    return text(next(iter(args.values()), None))


__all__ = ["Op", "PapError", "READ_LOCAL", "READ_REMOTE", "WRITE", "CONF_READ", "CONF_WRITE", "alias_read"]
