#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: iam_account
short_description: Suspend or restore an INDIGO IAM account and revoke its tokens
version_added: 0.2.0
description:
  - Suspends (O(state=suspended)) or restores (O(state=active)) one account of an INDIGO IAM instance, the
    identity provider that issues WLCG tokens.
  - "Suspension: the label O(label_name) (default V(gridsec.suspended), no prefix) is set with the value
    O(incident_id), the account is disabled (SCIM C(PATCH) C(active: false)), and, unless
    O(revoke_tokens=false), every access and refresh token IAM holds for the account is deleted, one by one
    (access tokens first). The listing is paged by the account's username (IAM's C(userId) filter) from the
    first page again after each deletion round. The id-less delete call of IAM's token API, which deletes the
    tokens of every user, is never used."
  - "After the access tokens are deleted, their count is read once more: IAM's token exchange
    (C(TokenExchangeTokenGranter)) does not check that the account is active, so a stored access token can be
    exchanged for new tokens while they are deleted; a token found there is deleted in up to two more passes.
    Once no access token is left, IAM issues no token for the disabled account (its refresh grant,
    C(IamRefreshTokenGranter), and every login refuse it), so the refresh-token listing and IAM's replies to
    the deletions prove the refresh tokens gone without another read."
  - "Calls for a suspension of an active account with A access and R refresh tokens: one finder, one label
    C(PUT), one C(PATCH), ceil(A/20) + ceil(R/20) listing pages (at least one each), one C(DELETE) per token and
    one access-token count (only when access tokens were deleted); O(verify_writes) adds two reads."
  - Disabling an account in IAM blocks logins and the refresh grant but does not invalidate access tokens already
    issued, and deleting them only stops IAM itself (introspection, userinfo). Services that check the JWT
    signature offline accept them until their C(exp); RV(live_tokens) and RV(revoked) give that window, so the
    C((issuer, subject)) ban at the services can last as long.
  - An account already disabled by someone else (no O(label_name) label) is not labelled as ours, so a later
    restore by this module does not lift that suspension; its tokens are still revoked.
  - "Restore: only a suspension marked by O(label_name) is lifted (and only the one of O(incident_id) when that is
    given): the account is enabled and the label deleted. An account disabled without the label (by an
    administrator, or by IAM's lifecycle job) is left alone and the task fails, unless O(force=true).
    Revoked tokens are not restored; the user logs in again."
  - The account is selected by exactly one of O(uuid), O(username), O(dn) or O(issuer) with O(subject). A
    selector that matches no account, or several, fails before anything is written.
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - only the Python standard library on the host that runs the module (HTTPS to IAM's REST and SCIM APIs)
extends_documentation_fragment:
  - gridsec.ops._iam
  - gridsec.ops._tls
  - gridsec.ops._attributes
  - gridsec.ops._iam.ACTIONGROUP_IAM
attributes:
  check_mode:
    support: full
    details:
      - The account, its labels and token listings are read; nothing is written. RV(operations) lists exactly the
        writes the real run would make (every token id that would be deleted).
  diff_mode:
    support: full
  idempotent:
    support: full
    details:
      - A second suspension finds the account disabled, labelled and without tokens and changes nothing (tokens
        issued since, for example by a token exchange, are revoked).
options:
  uuid:
    description:
      - The account UUID (SCIM C(id), also the C(sub) of every token IAM issues for the account).
    type: str
  username:
    description:
      - The account's username (exact).
    type: str
  dn:
    description:
      - Subject DN of a certificate linked to the account, in OpenSSL slash form or RFC 2253. IAM's finder is asked
        with the RFC 2253 form; when it finds nothing, the accounts are scanned and their certificate subjects
        compared semantically (the same DN written differently matches).
      - The finder's exact match is used first, and alone (one call instead of a scan of every account). When it
        finds an account, another account that stores the same DN spelled differently (other spacing, case or
        escaping) is not looked for, so that case is not reported as ambiguous. Select by O(uuid) when in doubt.
      - The scan reads C(/scim/Users) page by page; when the list changes while it is read (an account added,
        removed or reordered), the task fails and asks to be re-run rather than risk missing an account.
    type: str
  issuer:
    description:
      - Token issuer (C(iss)), an https URL. When it is this IAM (O(iam_url) or O(iam_issuer), with or without
        the trailing C(/)), O(subject) is the account UUID; otherwise the account whose linked OIDC identity has
        this issuer and subject is selected (compared literally).
    type: str
  subject:
    description:
      - Token subject (C(sub)), with O(issuer). Compared literally, never as a pattern.
    type: str
  state:
    description:
      - V(suspended) disables the account, labels it and revokes its tokens; V(active) lifts a suspension made by
        this module.
    type: str
    choices: [suspended, active]
    default: suspended
  incident_id:
    description:
      - The value of the suspension label (an incident id or a short reason), at most 64 characters on one line.
      - Required with O(state=suspended). With O(state=active), when given, only a suspension labelled with this
        value is lifted, not one made for another incident.
    type: str
  label_name:
    description:
      - Name of the label marking this module's suspensions (no prefix, so IAM's C(find/bylabel) finds it).
      - Never C(lifecycle.status) or another label IAM itself uses.
    type: str
    default: gridsec.suspended
  revoke_tokens:
    description:
      - With O(state=suspended), delete every access and refresh token of the account.
    type: bool
    default: true
  verify_writes:
    description:
      - Read the account (C(GET /scim/Users/{id})) and its labels back after the writes, and fail when IAM does
        not hold what it answered success for.
      - Not needed against IAM itself, whose replies already prove the writes (C(ScimUserController) answers the
        C(PATCH) with 204 only after C(ScimUserProvisioning) set C(active) or found it already so;
        C(AccountLabelsController) answers the label C(PUT) with 200 only after C(addLabel) stored it or found it
        there with that value, and the C(DELETE) with 204 after C(deleteLabel)). Set it when a proxy or another
        implementation of the API may answer success without doing the write.
    type: bool
    default: false
  force:
    description:
      - With O(state=active), enable the account even when it was not suspended by this module (no
        O(label_name) label) or was suspended for another O(incident_id); on an account that is already enabled,
        remove this module's label even when it names another O(incident_id) (without O(force), that fails).
    type: bool
    default: false
seealso:
  - module: gridsec.ops.iam_account_info
"""

EXAMPLES = r"""
- name: Suspend a compromised token user and revoke its tokens
  gridsec.ops.iam_account:
    iam_url: https://iam.example.org
    client_id: gridsec-admin
    client_secret: "{{ vault_iam_client_secret }}"
    issuer: https://iam.example.org/
    subject: e1eb758b-b73c-4761-bfff-adc793da409c
    state: suspended
    incident_id: GRIDSEC-2026-001
  register: suspension

- name: The window in which services validating offline still accept the revoked access tokens
  ansible.builtin.debug:
    msg: "ban (iss, sub) at the services until {{ suspension.revoked.valid_offline_until }}"

- name: Suspend by certificate DN (slash form or RFC 2253)
  gridsec.ops.iam_account:
    dn: /DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdoe/CN=123456/CN=John Doe
    incident_id: GRIDSEC-2026-001

- name: False positive, lift our suspension
  gridsec.ops.iam_account:
    username: jdoe
    state: active
    incident_id: GRIDSEC-2026-001
"""

RETURN = r"""
account:
  description:
    - The account after the run (predicted in check mode), as the finder read it, with C(active) as IAM's replies
      to the writes prove it (read back with O(verify_writes=true)).
  returned: when one account was selected
  type: dict
  contains:
    uuid:
      description: "Account UUID (the C(sub) of its tokens)."
      type: str
    username:
      description: "Username."
      type: str
    active:
      description: "Whether the account is enabled."
      type: bool
    certificate_subjects:
      description: "Subject DNs of the linked certificates, as IAM stores them."
      type: list
      elements: str
    oidc_ids:
      description: "Linked external OIDC identities (issuer and subject)."
      type: list
      elements: dict
    labels:
      description: "The account's labels (prefix, name, value) when they were read."
      type: list
      elements: dict
  sample: {uuid: e1eb758b-b73c-4761-bfff-adc793da409c, username: jdoe, active: false}
selected_by:
  description: How the account was found (finder, scan, UUID).
  returned: always
  type: str
suspended_by:
  description: V(us) when the account carries our label, V(other) when it is disabled without it, V(none) when active
    (state after the run).
  returned: when one account was selected
  type: str
operations:
  description:
    - The writes issued (or that would be issued in check mode), in order; on a failure, those that completed.
    - Each is a dict with C(op) (V(set_label), V(suspend), V(restore), V(delete_label), V(delete_token)) and its
      arguments (C(uuid), C(name), C(value), C(kind), C(id), C(expiration)).
  returned: always
  type: list
  elements: dict
revoked:
  description: Tokens deleted (or that would be) in this run.
  returned: when one account was selected
  type: dict
  contains:
    access:
      description: "Access tokens deleted."
      type: int
    refresh:
      description: "Refresh tokens deleted."
      type: int
    valid_offline_until:
      description: "Latest C(exp) of the deleted access tokens (ISO 8601 UTC); services that validate JWTs offline accept them until then."
      type: str
live_tokens:
  description:
    - The live-token window after the run, as IAM lists it (unexpired tokens only). After a revocation these are
      the access tokens IAM counts when asked again after the deletions (a token issued meanwhile, for example by
      token exchange, is deleted in up to two more passes; if tokens still remain the task warns and fails with
      these counts) and the refresh tokens its last listing held beyond those deleted. Non-zero when
      O(revoke_tokens=false), on restore, or when revocation failed.
  returned: when one account was selected
  type: dict
  contains:
    access:
      description: "Access tokens remaining."
      type: int
    refresh:
      description: "Refresh tokens remaining."
      type: int
    latest_exp:
      description: "Latest C(exp) among the remaining access tokens (ISO 8601 UTC), or null."
      type: str
    latest_refresh_exp:
      description: "Latest expiration among the remaining refresh tokens, or null."
      type: str
requests:
  description: Every call sent to IAM (method, path, operation, status), reads included; never a secret.
  returned: always
  type: list
  elements: dict
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

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
from ansible_collections.gridsec.ops.plugins.module_utils._iam.account import (
    check_label,
    restore_account,
    select_account,
    suspend_account,
)
from ansible_collections.gridsec.ops.plugins.module_utils._iam.module import IamModule, check_selector


def main():
    module = IamModule(
        argument_spec=dict(
            uuid=dict(type="str"),
            username=dict(type="str"),
            dn=dict(type="str"),
            issuer=dict(type="str"),
            subject=dict(type="str"),
            state=dict(type="str", default="suspended", choices=["suspended", "active"]),
            incident_id=dict(type="str"),
            label_name=dict(type="str", default="gridsec.suspended"),
            revoke_tokens=dict(type="bool", default=True),
            force=dict(type="bool", default=False),
            verify_writes=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("uuid", "username", "dn", "issuer")],
        required_one_of=[("uuid", "username", "dn", "issuer")],
        required_together=[("issuer", "subject")],
        required_if=[("state", "suspended", ("incident_id",))],
        supports_check_mode=True,
    )
    module.run_guarded(run, module)


def run(module):
    """check the options -> select -> suspend or restore (``_iam.account``) -> result."""
    params = module.params
    problem = check_selector(params) or check_label(params["label_name"], params.get("incident_id"))
    if problem:
        raise ConfigError("invalid options: %s" % problem, operation="check options")
    client = module.client()
    account, how = select_account(client, params)
    # a failure reports changed/operations from what was written (IamModule.prepare_failure), not from here
    module.partial_result = dict(selected_by=how)
    common = dict(check_mode=module.check_mode, verify=params["verify_writes"], done=module.done_operations, warn=module.warn)
    if params["state"] == "suspended":
        outcome = suspend_account(client, account, params["label_name"], params["incident_id"],
                                  revoke=params["revoke_tokens"], want_labels=module._diff, **common)
    else:
        outcome = restore_account(client, account, params["label_name"], params.get("incident_id"),
                                  force=params["force"], **common)
    result = dict(changed=outcome.changed, selected_by=how, account=outcome.account,
                  suspended_by=outcome.suspended_by, operations=outcome.ops, revoked=outcome.revoked,
                  live_tokens=outcome.live_tokens, requests=module.client_operations())
    if module._diff:
        result["diff"] = outcome.diff()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
