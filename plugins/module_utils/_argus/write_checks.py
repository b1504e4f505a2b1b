# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The checks an Argus module makes before it writes (``ArgusModule.require_alias``, ``check_write_permission``,
``fail_predicted`` and ``_argus.module.predicted_refusal`` call these).

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

A file of its own because under AnsiballZ every imported module_util is compiled on every run, and a module that
only reads (``argus_policy_info``) never makes them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._errors import AuthorizationError, ConfigError, RemoteError

UNKNOWN_DN = ("the DN of the credential is unknown (no readable client certificate, or the Python library "
              "cryptography is missing)")


def predicted_refusal(client, caller, operations, acl=None):
    """``_argus.module.predicted_refusal``: what the PAP's global ACL says about sending ``operations`` with the
    credential whose DN is ``caller``."""
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.pap_plan import refusal_error

    if not operations:
        return None, None
    if not caller:
        return None, UNKNOWN_DN
    if acl is None:
        try:
            acl = client.get_acl()
        except (AuthorizationError, RemoteError) as err:
            return None, "the PAP's ACL cannot be read with it (getACL: %s)" % err.msg
    for operation in operations:
        error = refusal_error(acl, caller, operation, client.server_label)
        if error is not None:
            return error, None
    return None, None


def fail_predicted(module, err):
    """Fail, before anything was written, with the refusal ``err`` that the PAP's ACL predicts."""
    details = err.details
    module.warn("%s: predicted from the PAP's ACL before anything was written: %s lacks %s, so %s would be "
                "refused; nothing was changed" % (module.server_label, details["identity"],
                                                  " and ".join(details["missing"]), err.operation))
    module.fail_from(err, operations=[], changed=False)


def check_write_permission(module, operations):
    """Check mode: fail as the PAP will when its global ACL refuses one of the planned ``operations`` to
    this credential (a read-only one), so that check mode never predicts a write the real run cannot do;
    warn when that cannot be told. Real runs leave the decision to the PAP."""
    if not module.check_mode or not operations:
        return
    err, why = predicted_refusal(module.client(), module.caller_dn(), operations)
    if err is not None:
        module.fail_predicted(err)
    if why is not None:
        module.warn("check mode could not verify that the credential may write on %s: %s; the operations "
                    "listed assume it may" % (module.server_label, why))


def require_alias(module, alias, local=True):
    """Check that ``alias`` exists (and is local when ``local``) before anything is written.

    Uses ``getAllPaps`` (CONFIGURATION_READ). Returns the ``Pap`` or None when the credential may not
    read the configuration and the alias is ``default`` (always local on a PAP).
    """
    client = module.client()
    try:
        paps = client.get_all_paps()
    except AuthorizationError:
        if alias == "default":
            module.warn("cannot read the PAP list of %s (CONFIGURATION_READ missing); assuming alias "
                        "'default' is the local PAP" % module.server_label)
            return None
        raise
    for pap in paps:
        if pap.alias == alias:
            if local and not pap.local:
                raise ConfigError("alias %r on %s is a remote (cached) PAP: its policies are read-only "
                                  "here; change them on %s" % (alias, module.server_label,
                                                               pap.hostname or "the remote PAP"),
                                  server=module.server_label)  # a check of the task, not a failed getAllPaps
            return pap
    close = [p.alias for p in paps if str(p.alias).lower() == str(alias).lower()]
    raise ConfigError("alias %r does not exist on %s (known aliases: %s)%s"
                      % (alias, module.server_label, ", ".join(sorted(p.alias for p in paps)) or "none",
                         "; aliases are case-sensitive, did you mean %r?" % close[0] if close else ""),
                      server=module.server_label)
