# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The ACL and PAP-order model of argus-pap: one home for ``argus_pap``'s planner and the hierarchy lint.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

- order: the order the PDP evaluates the PAPs in (``effective_order``), what ``removePap`` does to the configured
  ordering, and which remote PAPs come after ``default``;
- ACL: permissions, ACL entries (``Ace``) in a comparable form, from what ``PapClient.get_acl`` returns or what a
  task asks for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import AcePrincipal
from ansible_collections.gridsec.ops.plugins.module_utils._dn import DNError, parse_dn, same_stored_dn

PERMISSIONS = ("POLICY_READ_LOCAL", "POLICY_READ_REMOTE", "POLICY_WRITE", "CONFIGURATION_READ", "CONFIGURATION_WRITE")
WRITE_PERMISSIONS = frozenset(["POLICY_WRITE", "CONFIGURATION_WRITE"])
ANYONE_NAMES = ("ANYONE", "/O=PAP/OU=Internal/CN=Any authenticated user")


class AclPlanError(Exception):
    pass


# --------------------------------------------------------------------------------------------------
# Order
# --------------------------------------------------------------------------------------------------

def remote_after_default(order, remote):
    """Remote aliases placed after ``default`` in ``order``: the PDP evaluates the PAPs first-applicable in that order
    (argus-pap ``pap_configuration.ini`` ``ordering``, ``pap-admin set-paps-order``), so a local permit wins."""
    if "default" not in order:
        return []
    index = order.index("default")
    return [a for a in order[index + 1:] if remote.get(a)]


def effective_order(configured, aliases):
    """The order the PAP evaluates: argus-pap ``PapManager.buildOrderedAliasList``.

    ``default`` first when the configured ordering leaves it out, then the configured ordering, then the other
    aliases (``aliases`` gives their order: the ``getAllPaps`` order, new PAPs last).
    """
    out = [] if "default" in configured or "default" not in aliases else ["default"]
    out.extend(a for a in configured if a in aliases and a not in out)
    out.extend(a for a in aliases if a not in out)
    return out


def ordering_after_remove(configured, alias):
    """The configured ordering after ``removePap(alias)``: argus-pap ``DistributionConfiguration.removePap``.

    It copies the old ordering minus ``alias`` into an array one shorter, so when ``alias`` is not in the
    ordering the LAST entry is dropped instead (an empty ordering stays empty).
    """
    configured = list(configured)
    if not configured:
        return []
    if alias in configured:
        return [a for a in configured if a != alias]
    return configured[:-1]


# --------------------------------------------------------------------------------------------------
# ACL
# --------------------------------------------------------------------------------------------------

def infer_type(principal):
    text = principal.strip()
    if text.upper() == "ANYONE" or text == ANYONE_NAMES[1]:
        return "anyone"
    if text.startswith("/"):
        first = text[1:].split("/", 1)[0]
        return "dn" if "=" in first else "fqan"
    return "dn"


def expand_permissions(perms, strict=True):
    """The set of permission names of ``perms`` (``ALL`` expanded).

    ``strict`` (what a task asks for): each item is one permission name or ``ALL``, an unknown one raises
    ``AclPlanError``. Not strict (what a PAP reports, read by the lint): items may also be joined with ``|``,
    commas or spaces as ``pap-admin`` prints them, and an unknown name is kept (a newer PAP's permission is
    reported, not dropped).
    """
    out = set()
    for value in perms or []:
        parts = [value] if strict else re.split(r"[|,\s]+", str(value))
        for perm in parts:
            perm = str(perm).strip().upper()
            if perm == "ALL":
                out.update(PERMISSIONS)
            elif perm in PERMISSIONS or (perm and not strict):
                out.add(perm)
            elif strict:
                raise AclPlanError("unknown permission %r" % perm)
    return out


class Ace:
    """One ACL entry in a comparable form: kind (dn|fqan|anyone), name (slash form for DNs), permissions."""

    def __init__(self, kind, name, permissions):
        self.kind = kind
        self.name = name
        self.permissions = set(permissions)

    def same_principal(self, other):
        if self.kind != other.kind:
            return False
        if self.kind == "anyone":
            return True
        if self.kind == "dn":
            return same_stored_dn(self.name, other.name)
        return self.name == other.name

    def label(self):
        return "ANYONE" if self.kind == "anyone" else self.name

    def principal(self):
        if self.kind == "fqan":
            return AcePrincipal(type="voms-fqan", name=self.name)
        if self.kind == "anyone":
            return AcePrincipal(type="anyone", name="ANYONE")
        return AcePrincipal(type="x509", name=self.name)


def ace_from_key(key, permissions, strict=True):
    """Normalise one entry of ``PapClient.get_acl()`` (AcePrincipal, (type, name) tuple or string key);
    ``strict``: see ``expand_permissions``."""
    kind = name = None
    if hasattr(key, "type") and hasattr(key, "name"):
        kind, name = key.type, key.name
    elif isinstance(key, (tuple, list)) and len(key) == 2:
        kind, name = key
    else:
        text = str(key)
        for prefix in ("x509-dn:", "x509:", "dn:", "voms-fqan:", "fqan:", "anyone:"):
            if text.startswith(prefix):
                kind, name = prefix[:-1], text[len(prefix):]
                break
        else:
            kind, name = infer_type(text), text
    kind = {"x509": "dn", "x509-dn": "dn", "voms-fqan": "fqan"}.get(kind, kind)
    if kind == "dn" and name in ANYONE_NAMES:
        kind = "anyone"
    if kind == "anyone":
        name = "ANYONE"
    return Ace(kind, name, expand_permissions(permissions, strict=strict))


def slash_dn(name):
    """``name`` (a DN in any form) in slash form; ``AclPlanError`` when it is no DN."""
    try:
        return parse_dn(name).to_openssl()
    except DNError as err:
        raise AclPlanError("principal %r is not a valid DN: %s" % (name, getattr(err, "msg", err)))


def acl_to_dict(aces):
    return dict((a.label(), sorted(a.permissions)) for a in aces)
