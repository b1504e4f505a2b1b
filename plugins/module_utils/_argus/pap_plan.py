# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Planning logic of the ``argus_pap`` module (remote PAPs, order, ACL).

The ACL and order model itself (permissions, ``Ace``, ``effective_order``...) lives in ``_argus/acl.py``, shared
with the hierarchy lint.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Pure functions: they compare what the PAP reports with what is requested and return the write operations to
issue, each as ``(description, function(client))``, plus the predicted state after them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import Pap
from ansible_collections.gridsec.ops.plugins.module_utils._argus.acl import (
    Ace,
    AclPlanError,
    ace_from_key,
    acl_to_dict,
    effective_order,
    expand_permissions,
    infer_type,
    ordering_after_remove,
    slash_dn,
)
from ansible_collections.gridsec.ops.plugins.module_utils._dn import DNError, parse_dn, same_stored_dn
from ansible_collections.gridsec.ops.plugins.module_utils._errors import AuthorizationError

MGMT = "PAPManagementService"
AUTHZ = "AuthorizationManagementService"


class PapPlanError(Exception):
    pass


# --------------------------------------------------------------------------------------------------
# Remote PAPs
# --------------------------------------------------------------------------------------------------

def _norm_path(path):
    path = path or ""
    return "/" + path.strip("/") + "/" if path.strip("/") else "/"


def _pap_desc(operation, pap, **extra):
    args = {"alias": pap.alias, "hostname": pap.hostname, "port": pap.port, "path": pap.path,
            "protocol": pap.protocol, "dn": pap.dn, "enabled": pap.enabled, "public": pap.public}
    args.update(extra)
    return {"service": MGMT, "operation": operation, "args": args}


# Values a new remote PAP gets for the fields its ``paps`` entry leaves out (addPap only).
ADD_DEFAULTS = {"port": 8150, "path": "/pap/services/", "protocol": "https", "enabled": True, "public": False}
_FIELDS = ("hostname", "port", "path", "protocol", "dn", "enabled", "public")


def _given(item, key):
    return item.get(key) is not None and item.get(key) != ""


def _new_pap(item):
    """The PAP ``addPap`` sends: the entry's fields, ``ADD_DEFAULTS`` for those left out."""
    values = dict((k, item[k] if _given(item, k) else ADD_DEFAULTS.get(k)) for k in _FIELDS)
    return Pap(alias=item["alias"], dn=values["dn"], hostname=values["hostname"], port=values["port"],
               path=values["path"], protocol=values["protocol"], public=bool(values["public"]), local=False,
               enabled=bool(values["enabled"]))


def _updated_pap(item, existing):
    """The PAP ``updatePap`` sends: the current values, with only the fields the entry gives replaced."""
    pap = copy.copy(existing)
    for key in _FIELDS:
        if _given(item, key):
            value = item[key]
            setattr(pap, key, bool(value) if key in ("enabled", "public") else value)
    return pap


def plan_paps(current, desired, refresh=True):
    """-> (ops, paps_after, aliases_to_refresh). Raises PapPlanError on invalid input (before any write)."""
    after = [copy.copy(p) for p in current]
    by_alias = dict((p.alias, p) for p in after)
    ops = []
    refreshes = []
    seen = set()
    errors = []
    for item in desired or []:
        alias = item["alias"]
        if not alias:
            errors.append("paps: empty alias")
            continue
        if alias in seen:
            errors.append("paps: alias %s listed twice" % alias)
            continue
        seen.add(alias)
        existing = by_alias.get(alias)
        if existing is not None and existing.local:
            errors.append("paps: alias %s is a local PAP; only remote PAPs are managed here" % alias)
            continue
        if item.get("state", "present") == "absent":
            if existing is not None:
                ops.append((_pap_desc("removePap", existing), lambda c, a=alias: c.remove_pap(a)))
                after.remove(existing)
                del by_alias[alias]
            continue
        if item.get("dn"):
            try:
                parse_dn(item["dn"])
            except DNError as err:
                errors.append("paps: dn of %s is not a valid DN: %s" % (alias, getattr(err, "msg", err)))
                continue
        if existing is None:
            missing = [k for k in ("hostname", "dn") if not item.get(k)]
            if missing:
                errors.append("paps: %s is new and needs %s" % (alias, " and ".join(missing)))
                continue
            pap = _new_pap(item)
            ops.append((_pap_desc("addPap", pap), lambda c, x=pap: c.add_pap(x)))
            after.append(pap)
            by_alias[alias] = pap
            if refresh:
                refreshes.append(alias)
            continue
        wanted = _updated_pap(item, existing)
        endpoint_changed = (
            (wanted.hostname or "").lower() != (existing.hostname or "").lower()
            or str(wanted.port) != str(existing.port)
            or _norm_path(wanted.path) != _norm_path(existing.path)
            or (wanted.protocol or "").lower() != (existing.protocol or "").lower()
            or not same_stored_dn(wanted.dn, existing.dn)
        )
        if endpoint_changed or bool(wanted.public) != bool(existing.public):
            ops.append((_pap_desc("updatePap", wanted), lambda c, x=wanted: c.update_pap(x)))
            after[after.index(existing)] = wanted
            by_alias[alias] = wanted
            if endpoint_changed and refresh:
                refreshes.append(alias)
            if bool(wanted.enabled) != bool(existing.enabled):
                # updatePap carries the flag, but set it explicitly too: the PAP's updatePap may keep it
                ops.append(({"service": MGMT, "operation": "setEnabled",
                             "args": {"alias": alias, "enabled": wanted.enabled}},
                            lambda c, a=alias, e=wanted.enabled: c.set_enabled(a, e)))
        elif bool(wanted.enabled) != bool(existing.enabled):
            ops.append(({"service": MGMT, "operation": "setEnabled", "args": {"alias": alias, "enabled": wanted.enabled}},
                        lambda c, a=alias, e=wanted.enabled: c.set_enabled(a, e)))
            changed = copy.copy(existing)
            changed.enabled = wanted.enabled
            after[after.index(existing)] = changed
            by_alias[alias] = changed
    if errors:
        raise PapPlanError("; ".join(errors))
    return ops, after, refreshes


# --------------------------------------------------------------------------------------------------
# Order
# --------------------------------------------------------------------------------------------------

def plan_order(configured, aliases_before, aliases_after, removed, requested, complete_missing):
    """Plan the PAP order; pure.

    ``configured``: ``getOrder`` (the configured ordering, possibly partial or empty); ``aliases_before``:
    aliases in ``getAllPaps`` order; ``aliases_after``: aliases once the planned ``paps`` changes are done
    (new ones last); ``removed``: aliases the plan removes, in order; ``requested``: the ``order`` option or
    None; ``complete_missing``: append the aliases ``requested`` leaves out instead of refusing.

    -> ``(op, before, after, notes)``: ``op`` is None or ``(description, aliases)`` for a ``setOrder`` (its
    description has ``restore: true`` when it only undoes the removePap ordering bug), ``before``/``after``
    the effective orders, ``notes`` warnings for the user. Orders are compared by their effect
    (``effective_order``). Raises ``PapPlanError``.
    """
    configured = [a for a in configured if a]
    before = effective_order(configured, aliases_before)
    simulated = list(configured)
    for alias in removed:
        simulated = ordering_after_remove(simulated, alias)
    intended = [a for a in configured if a not in removed]
    notes = []
    # Compared by effect: a configured ordering that differs but gives the same evaluation order is no change.
    if requested is None:
        after = effective_order(intended, aliases_after)
        if effective_order(simulated, aliases_after) != after:
            desc = {"service": MGMT, "operation": "setOrder", "args": {"aliases": list(intended), "restore": True}}
            return (desc, list(intended)), before, after, notes
        return None, before, after, notes
    requested = [str(a) for a in requested]
    errors = []
    gone = [a for a in requested if a in removed]
    if gone:
        errors.append("order names %s, which this task removes" % ", ".join(gone))
    unknown = [a for a in requested if a not in aliases_after and a not in removed]
    if unknown:
        close = [k for k in aliases_after if k.lower() in [u.lower() for u in unknown]]
        errors.append("order names unknown aliases: %s (known: %s)%s"
                      % (", ".join(unknown), ", ".join(aliases_after),
                         "; aliases are case-sensitive, did you mean %s?" % ", ".join(close) if close else ""))
    twice = sorted(set(a for a in requested if requested.count(a) > 1))
    if twice:
        errors.append("order lists %s more than once" % ", ".join(twice))
    if errors:
        raise PapPlanError("; ".join(errors))
    current = effective_order(intended, aliases_after)
    missing = [a for a in current if a not in requested]
    wanted = list(requested)
    if missing:
        if not complete_missing:
            raise PapPlanError(
                "order leaves out existing aliases: %s. The PAP would place them itself (an unlisted 'default' goes "
                "FIRST, other unlisted aliases after the listed ones), so the order would not be the one given. "
                "List every alias, e.g. order: [%s], or set order_complete=true to append the missing ones"
                % (", ".join(missing), ", ".join(requested + missing)))
        wanted = requested + missing
        notes.append("order leaves out %s: appended (order_complete=true), the order set is %s"
                     % (", ".join(missing), ", ".join(wanted)))
    if effective_order(simulated, aliases_after) != wanted:
        desc = {"service": MGMT, "operation": "setOrder", "args": {"aliases": list(wanted)}}
        return (desc, wanted), before, wanted, notes
    return None, before, wanted, notes


# --------------------------------------------------------------------------------------------------
# Permissions (argus-pap *Operation.setupPermissions, global context)
# --------------------------------------------------------------------------------------------------

# operation -> (argus-pap operation class, permissions it needs): the classes under
# org.glite.authz.pap.authz.operations (their setupPermissions()), global context
REQUIRED_PERMISSIONS = {
    # policy writes (xacmlpolicymanagement.*, highlevelpolicymanagement.*)
    "addPolicy": ("AddPolicyOperation", ("POLICY_WRITE",)),
    "addPolicies": ("AddPoliciesOperation", ("POLICY_WRITE",)),
    "addPolicySet": ("AddPolicySetOperation", ("POLICY_WRITE",)),
    "storePolicy": ("StorePolicyOperation", ("POLICY_WRITE",)),
    "storePolicySet": ("StorePolicySetOperation", ("POLICY_WRITE",)),
    "updatePolicy": ("UpdatePolicyOperation", ("POLICY_WRITE", "POLICY_READ_LOCAL")),
    "updatePolicySet": ("UpdatePolicySetOperation", ("POLICY_WRITE", "POLICY_READ_LOCAL")),
    "removePolicy": ("RemovePolicyOperation", ("POLICY_WRITE",)),
    "removePolicySet": ("RemovePolicySetOperation", ("POLICY_WRITE",)),
    "removeObjectByIdAndReferences": ("RemoveObjectByIdAndReferencesOperation", ("POLICY_WRITE",)),
    "move": ("MoveOperation", ("POLICY_WRITE",)),
    "ban": ("BanOperation", ("POLICY_WRITE",)),
    "unban": ("UnbanOperation", ("POLICY_WRITE", "POLICY_READ_LOCAL")),
    "addRule": ("AddRuleOperation", ("POLICY_WRITE",)),
    "eraseRepository": ("EraseRepositoryOperation", ("POLICY_WRITE",)),
    "purge": ("PurgeOperation", ("POLICY_WRITE", "POLICY_READ_LOCAL")),
    # configuration writes (papmanagement.*, authz_management.*)
    "addPap": ("AddPapOperation", ("CONFIGURATION_WRITE",)),
    "updatePap": ("UpdatePapOperation", ("CONFIGURATION_READ", "CONFIGURATION_WRITE")),
    "removePap": ("RemovePapOperation", ("CONFIGURATION_READ", "CONFIGURATION_WRITE")),
    "setEnabled": ("SetEnabledOperation", ("CONFIGURATION_WRITE",)),
    "setOrder": ("SetOrderOperation", ("CONFIGURATION_WRITE",)),
    "setPollingInterval": ("SetPollingIntervalOperation", ("CONFIGURATION_WRITE",)),
    "refreshCache": ("RefreshPolicyCacheOperation", ("POLICY_READ_REMOTE", "POLICY_WRITE")),
    "addACE": ("AddACEOperation", ("CONFIGURATION_WRITE", "CONFIGURATION_READ")),
    "removeACE": ("RemoveACEOperation", ("CONFIGURATION_WRITE", "CONFIGURATION_READ")),
}


def predict_refusal(acl, caller, operation):
    """``(operation class, missing permissions)`` when the PAP will refuse ``operation`` to ``caller``, else None.

    ``acl`` is ``getACL`` of the global context (as ``PapClient.get_acl`` returns it), ``caller`` the slash-form
    DN of the credential. The PAP grants the union of the caller's DN entry, the ANYONE entry and the entries
    of the caller's VOMS FQANs (CurrentAdmin.hasPermissions). FQANs of a proxy are not known here, so when an
    FQAN entry could supply what is missing, no refusal is predicted. None also when nothing can be predicted
    (unknown caller or operation).
    """
    if not caller or operation not in REQUIRED_PERMISSIONS or acl is None:
        return None
    name, needed = REQUIRED_PERMISSIONS[operation]
    granted = set()
    fqan_granted = set()
    for key, permissions in acl.items():
        try:
            ace = ace_from_key(key, permissions)
        except AclPlanError:
            return None
        if ace.kind == "anyone" or (ace.kind == "dn" and same_stored_dn(ace.name, caller)):
            granted |= ace.permissions
        elif ace.kind == "fqan":
            fqan_granted |= ace.permissions
    missing = [p for p in needed if p not in granted]
    if not missing or all(p in fqan_granted for p in missing):
        return None
    return name, missing


def refusal_error(acl, caller, operation, server_label):
    """The ``AuthorizationError`` the PAP ``server_label`` will answer ``operation`` with (``predict_refusal``),
    carrying the PAP's own refusal text, or None."""
    refusal = predict_refusal(acl, caller, operation)
    if refusal is None:
        return None
    name, missing = refusal
    return AuthorizationError("SOAP fault: PAPAuthzException: Insufficient privileges to perform operation '%s'."
                              % name, server="PAP %s" % server_label, operation=operation,
                              details={"predicted": True, "identity": caller, "missing": missing,
                                       "operation_class": name})


# --------------------------------------------------------------------------------------------------
# ACL
# --------------------------------------------------------------------------------------------------

def _has_config_write(aces, caller):
    for ace in aces:
        if "CONFIGURATION_WRITE" not in ace.permissions:
            continue
        if ace.kind == "anyone":
            return True
        if ace.kind == "dn" and caller is not None and same_stored_dn(ace.name, caller):
            return True
    return False


def plan_acl(current, desired, exclusive, caller, force):
    """-> (ops [(description, principal, permissions or None for remove)], before dict, after dict)."""
    before = [ace_from_key(k, v) for k, v in (current or {}).items()]
    after = [Ace(a.kind, a.name, a.permissions) for a in before]
    ops = []
    wanted = []
    for item in desired or []:
        principal = (item.get("principal") or "").strip()
        if not principal:
            raise AclPlanError("acl: empty principal")
        kind = item.get("type") or infer_type(principal)
        name = principal
        if kind == "dn":
            name = slash_dn(principal)
        elif kind == "fqan":
            if not principal.startswith("/"):
                raise AclPlanError("acl: FQAN %r must start with '/'" % principal)
        else:
            name = "ANYONE"
        state = item.get("state") or "present"
        perms = expand_permissions(item.get("permissions"))
        if state == "present" and not perms:
            raise AclPlanError("acl: %s needs permissions" % principal)
        ace = Ace(kind, name, perms)
        if any(w.same_principal(ace) for w, _s in wanted):
            raise AclPlanError("acl: principal %s listed twice" % principal)
        wanted.append((ace, state))

    for ace, state in wanted:
        match = next((a for a in after if a.same_principal(ace)), None)
        if state == "absent":
            if match is not None:
                ops.append(({"service": AUTHZ, "operation": "removeACE", "args": {"principal": match.label()}},
                            match.principal(), None))
                after.remove(match)
            continue
        if match is None or match.permissions != ace.permissions:
            target = match or ace
            ops.append(({"service": AUTHZ, "operation": "addACE",
                         "args": {"principal": target.label(), "permissions": sorted(ace.permissions)}},
                        target.principal(), sorted(ace.permissions)))
            if match is None:
                after.append(ace)
            else:
                match.permissions = set(ace.permissions)
    if exclusive:
        for ace in list(after):
            if not any(w.same_principal(ace) for w, s in wanted if s == "present"):
                ops.append(({"service": AUTHZ, "operation": "removeACE", "args": {"principal": ace.label()}},
                            ace.principal(), None))
                after.remove(ace)
    if ops and not force and _has_config_write(before, caller) and not _has_config_write(after, caller):
        raise AclPlanError("this ACL change would take CONFIGURATION_WRITE away from the identity used (%s); "
                           "set force=true if that is intended" % (caller or "unknown"))
    if ops and not force and caller is None and \
            any("CONFIGURATION_WRITE" in a.permissions for a in before) and \
            not any("CONFIGURATION_WRITE" in a.permissions for a in after):
        raise AclPlanError("this ACL change removes every CONFIGURATION_WRITE entry; set force=true if intended")
    return ops, acl_to_dict(before), acl_to_dict(after)
