#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rucio_account
short_description: Suspend or re-activate a Rucio account, chosen by name or by identity
version_added: 0.1.0
description:
  - Suspends (V(SUSPENDED)) or re-activates (V(ACTIVE)) a Rucio account with C(PUT /accounts/{account}). A suspended
    account cannot log in any more, whatever the identity type (X.509, userpass, OIDC, ...), because every Rucio
    login checks that the account is ACTIVE.
  - The account is named with O(account), or found from an identity with C(GET /identities/accounts), either an
    X.509 O(dn) (in RFC 2253 or OpenSSL slash form; three exact spellings are looked up, see O(dn)) or an OIDC
    O(oidc_subject) with O(oidc_issuer). An identity mapped to several
    accounts fails before anything is written; name the account instead.
  - Ownership. Before suspending, the module records that it did so as the account attribute
    C(gs.<account>) (value C(gridsec.ops-<UTC time>)) on O(owner_account) (Rucio keeps no attribute of a suspended account readable, so
    the record lives on an always-active account). O(state=active) re-activates only accounts with that record,
    unless O(force=true); then it removes the record.
  - Stale tokens. Rucio does not check the account status of tokens already issued. Tokens issued before the
    suspension stay valid until they expire (1 hour) and each server process caches validated tokens for 15
    minutes; see RV(stale_token_window). Restart the servers or delete the account's token rows in the Rucio
    database for an immediate cut.
  - The account is read back after every write; a reply of 200 that did not change the status fails the task.
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - only the Python standard library on the host that runs the module (HTTPS to the Rucio REST API)
extends_documentation_fragment:
  - gridsec.ops._rucio
  - gridsec.ops._tls
  - gridsec.ops._attributes
  - gridsec.ops._rucio.ACTIONGROUP
attributes:
  check_mode:
    support: full
    details:
      - The account, its identity mapping and the ownership record are read; nothing is written.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  account:
    description:
      - Rucio account name. Exactly one of O(account), O(dn) and O(oidc_subject) is required.
    type: str
  dn:
    description:
      - X.509 subject DN of an identity of the account, RFC 2253 (V(CN=Jane Doe,OU=Users,O=Example,C=CH)) or slash
        form (V(/C=CH/O=Example/OU=Users/CN=Jane Doe)).
      - Not compared semantically. Rucio matches identities as exact strings, and it has no call that lists every
        X.509 identity, so the module asks C(GET /identities/accounts) for three spellings (fewer when two
        coincide), the DN as given, its RFC 2253 form and its OpenSSL slash form, both as the module writes them
        (attribute types in the case given, no space after C(,)).
      - An identity that Rucio stores in any other spelling is not found (for example other spacing, attribute types
        in another case than given, or RFC 2253 order written with C(/)). In that case the module fails with "no Rucio
        account has the X.509 identity"; name the account with O(account) instead.
    type: str
  oidc_subject:
    description:
      - OIDC subject (C(sub)) of an identity of the account; needs O(oidc_issuer).
    type: str
  oidc_issuer:
    description:
      - OIDC issuer URL that goes with O(oidc_subject).
      - Looked up both with and without a trailing C(/) (IAM's tokens carry C(iss) as configured, its discovery
        document ends the issuer with C(/)); if the two spellings map to different accounts the module fails
        before anything is written.
    type: str
  state:
    description:
      - V(suspended) suspends the account; V(active) re-activates it (only when this module suspended it, or with
        O(force)).
    type: str
    choices: [suspended, active]
    default: suspended
  force:
    description:
      - With O(state=active), re-activate an account that was suspended by someone else (no ownership record).
    type: bool
    default: false
  owner_account:
    description:
      - Account that holds the ownership records. Defaults to O(rucio_account). It must stay ACTIVE.
    type: str
"""

EXAMPLES = r"""
- name: Suspend the Rucio account of a compromised certificate
  gridsec.ops.rucio_account:
    rucio_url: https://rucio-server.example.org
    rucio_username: ddmadmin
    rucio_password: "{{ vault_rucio_password }}"
    dn: /DC=ch/DC=cern/OU=Users/CN=jdoe
    state: suspended
  register: rucio

- name: Re-activate it after the incident (only if the suspension above made it)
  gridsec.ops.rucio_account:
    rucio_url: https://rucio-server.example.org
    rucio_auth_type: x509
    client_cert: /etc/grid-security/ops/cert.pem
    client_key: /etc/grid-security/ops/key.pem
    account: jdoe
    state: active
"""

RETURN = r"""
account:
  description: The account acted on.
  returned: when found
  type: str
  sample: jdoe
status_before:
  description: Account status read before any write.
  returned: when found
  type: str
  sample: ACTIVE
status:
  description: Account status after the run (read back from the server; predicted in check mode).
  returned: when found
  type: str
  sample: SUSPENDED
owned:
  description: Whether the ownership record of this module exists for the account (before the run).
  returned: when found
  type: bool
operations:
  description: Writes issued (or that would be issued in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["POST /accounts/root/attr/gs.jdoe", "PUT /accounts/jdoe status=SUSPENDED"]
requests:
  description: Every HTTP request sent (method, path, status), reads included. No token or password.
  returned: always
  type: list
  elements: dict
stale_token_window:
  description: How long tokens issued before the suspension may still be accepted.
  returned: when the account is suspended at the end of the run
  type: dict
  contains:
    token_lifetime_seconds: {description: Lifetime of a Rucio token., type: int, returned: always, sample: 3600}
    server_cache_seconds: {description: Per-process cache of validated tokens., type: int, returned: always,
                           sample: 900}
    until:
      description: UTC time after which no token issued before the suspension works (worst case), for a
        suspension made by this run.
      type: str
      returned: when this run suspended the account
diff:
  description: Account status and ownership record before and after.
  returned: when diff mode is on
  type: dict
error:
  description:
    - Why the task failed, in the same shape for every failure (also one found before any server was contacted).
    - C(type) (the error class, for example V(TLSError), V(AuthorizationError), V(ConfigError), V(MissingLibrary),
      V(ModuleFailure)), C(kind) (V(transport), V(tls), V(remote), V(authorization), V(not_found),
      V(write_refused), V(config), V(missing_library) or V(error)), C(msg), C(server) and C(operation) (null
      when no server operation failed), C(details) (dict of extra facts, never a secret).
  returned: failed
  type: dict
  sample: {"type": "AuthorizationError", "kind": "authorization", "msg": "HTTP 403 Forbidden: the server refused
    this credential", "server": "server.example.org:8443", "operation": "ban", "details": {"status": 403}}
"""

from ansible_collections.gridsec.ops.plugins.module_utils._rucio import account as ra
from ansible_collections.gridsec.ops.plugins.module_utils._dn import DNError, parse_dn
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError, RemoteError
from ansible_collections.gridsec.ops.plugins.module_utils._rucio.client import TOKEN_CACHE_S, TOKEN_LIFETIME_S
from ansible_collections.gridsec.ops.plugins.module_utils._rucio.module import RucioModule

# the selection, planning and writes live in _rucio.account (shared with the sync's rucio target)
dn_spellings = ra.dn_spellings
issuer_spellings = ra.issuer_spellings


def find_accounts(client, params):
    """``(account names, what was looked up)`` for the module's selection options."""
    if params.get("account"):
        return [params["account"]], None
    if params.get("dn"):
        lookups = ra.identity_lookups(dn=params["dn"])
        return ra.accounts_of(client, lookups), "X.509 identity %s" % params["dn"]
    lookups = ra.identity_lookups(oidc_subject=params["oidc_subject"], oidc_issuer=params["oidc_issuer"])
    what = "OIDC identity %s" % ra.oidc_identity(params["oidc_subject"], params["oidc_issuer"])
    return ra.accounts_of(client, lookups), what


def check_dn(dn):
    """A DN given to select the account is parsed (strictly) before anything is sent."""
    if dn:
        try:
            parse_dn(dn)
        except (DNError, GridsecError) as err:
            raise ConfigError("dn %r is not a valid DN: %s" % (dn, err))


def run(module):
    params = module.params
    check_dn(params.get("dn"))
    client = module.client()
    result = {"changed": False, "operations": []}
    module.result = result
    name = ra.select_account(client, account=params.get("account"), dn=params.get("dn"),
                             oidc_subject=params.get("oidc_subject"), oidc_issuer=params.get("oidc_issuer"))
    account = client.get_account(name)
    if account is None:
        raise RemoteError("account %r does not exist; nothing was changed" % name, server=client.server_label,
                          operation="GET /accounts/%s" % name)
    before = account.get("status")
    result.update(account=name, status_before=before, status=before)
    if before not in (ra.ACTIVE, ra.SUSPENDED):
        raise RemoteError("account %r is %s: only ACTIVE and SUSPENDED accounts are handled; nothing was changed"
                          % (name, before), server=client.server_label, operation="GET /accounts/%s" % name)
    store = ra.AttributeOwnership(client, params.get("owner_account") or params["rucio_account"])
    owned = store.owned(name)
    result["owned"] = owned
    want = ra.SUSPENDED if params["state"] == "suspended" else ra.ACTIVE
    if want == ra.ACTIVE and before == ra.SUSPENDED and not owned and not params["force"]:
        record = ra.RECORD_PREFIX + name
        raise RemoteError("account %r was suspended by someone else (no %s record on account %s); it is left "
                          "suspended: use force=true to re-activate it anyway" % (name, record, store.owner),
                          server=client.server_label, operation="GET /accounts/%s/attr/" % store.owner)
    steps = ra.plan(name, before, want, owned, store)
    result["changed"] = bool(steps)
    if module._diff:
        result["diff"] = {"before": {"account": name, "status": before, "gridsec_record": owned},
                          "after": {"account": name, "status": want, "gridsec_record": want == ra.SUSPENDED
                                    and (owned or before == ra.ACTIVE)}}
    now = ra.utcnow()
    if module.check_mode:
        result["operations"] = [text for _step, text in steps]
        result["status"] = want
    else:
        ra.apply(client, name, want, steps, store, result["operations"], now=now)
        if steps:
            after = client.get_account(name)
            result["status"] = after.get("status") if after else None
            ra.check_read_back(client, name, want, result["status"])
    if want == ra.SUSPENDED:
        window = ra.stale_token_window(before == ra.ACTIVE, now)
        if before == ra.ACTIVE:
            module.warn("Rucio tokens issued to account %s before this suspension stay valid until they expire "
                        "(up to %d s) plus the servers' token cache (%d s): until %s at worst"
                        % (name, TOKEN_LIFETIME_S, TOKEN_CACHE_S, window["until"]))
        result["stale_token_window"] = window
    return result


class RucioAccountModule(RucioModule):
    result = None

    def prepare_failure(self, result):
        done = list((self.result or {}).get("operations") or [])
        result.setdefault("changed", bool(done) and not self.check_mode)
        result.setdefault("operations", done)
        for key in ("account", "status_before"):
            if self.result and key in self.result:
                result.setdefault(key, self.result[key])
        if done and not self.check_mode:
            result["msg_detail"] = "already done before the failure: %s" % "; ".join(done)
        return result

    def fail_from(self, err, **result):
        done = list((self.result or {}).get("operations") or [])
        if done and not self.check_mode and "already done" not in err.msg:
            err.msg = "%s (already done before the failure: %s)" % (err.msg, "; ".join(done))
        super(RucioAccountModule, self).fail_from(err, **result)


def main():
    module = RucioAccountModule(
        argument_spec=dict(
            account=dict(type="str"),
            dn=dict(type="str"),
            oidc_subject=dict(type="str"),
            oidc_issuer=dict(type="str"),
            state=dict(type="str", default="suspended", choices=["suspended", "active"]),
            force=dict(type="bool", default=False),
            owner_account=dict(type="str"),
        ),
        required_one_of=[("account", "dn", "oidc_subject")],
        mutually_exclusive=[("account", "dn", "oidc_subject")],
        required_together=[("oidc_subject", "oidc_issuer")],
        supports_check_mode=True,
    )
    result = module.run_guarded(run, module)
    result["requests"] = module.client_operations()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
