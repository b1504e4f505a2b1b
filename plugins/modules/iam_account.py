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
    (refresh tokens first). The listing is paged by the account's username (IAM's C(userId) filter) from the
    first page again after each deletion round. The id-less delete call of IAM's token API, which deletes the
    tokens of every user, is never used."
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
  description: The account after the run (predicted in check mode).
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
      the counts IAM answers when asked again after the deletions (a token issued meanwhile, for example by token
      exchange, is deleted in up to two more passes; if tokens still remain the task warns and fails with these
      counts). Non-zero when O(revoke_tokens=false), on restore, or when revocation failed.
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

import re

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    ConfigError,
    GridsecError,
    NotFoundError,
    RemoteError,
)
from ansible_collections.gridsec.ops.plugins.module_utils._iam_client import (
    REVOKE_RETRIES,
    epoch_to_iso,
    parse_expiration,
    user_summary,
)
from ansible_collections.gridsec.ops.plugins.module_utils._iam_module import (
    IamModule,
    check_selector,
    find_accounts,
    selector_text,
)

LABEL_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9\-_.]*$")
RESERVED_LABELS = ("lifecycle.status", "wlcg.optional-group")


def check_label(name, value):
    if not LABEL_NAME_RE.match(name or "") or len(name) > 64:
        return "label_name %r is not a valid IAM label name (a letter, then letters, digits, - _ .; 64 at most)" % (name,)
    if name in RESERVED_LABELS or name.startswith("lifecycle."):
        return "label_name %r is used by IAM itself: choose another (default gridsec.suspended)" % (name,)
    if value is not None:
        if len(value) > 64:
            return "incident_id is longer than the 64 characters an IAM label value holds"
        if "\n" in value or "\r" in value:
            return "incident_id must be one line"
        if not value.strip():
            return "incident_id must not be empty"
    return None


def our_label(labels, name):
    for label in labels or []:
        if isinstance(label, dict) and not label.get("prefix") and label.get("name") == name:
            return label
    return None


def _window(tokens_by_kind):
    access = tokens_by_kind.get("access", [])
    refresh = tokens_by_kind.get("refresh", [])

    def latest(items):
        values = [parse_expiration(t.get("expiration")) for t in items]
        values = [v for v in values if v is not None]
        return epoch_to_iso(max(values)) if values else None
    return {"access": len(access), "refresh": len(refresh), "latest_exp": latest(access),
            "latest_refresh_exp": latest(refresh)}


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
        ),
        mutually_exclusive=[("uuid", "username", "dn", "issuer")],
        required_one_of=[("uuid", "username", "dn", "issuer")],
        required_together=[("issuer", "subject")],
        required_if=[("state", "suspended", ("incident_id",))],
        supports_check_mode=True,
    )
    module.run_guarded(run, module)


def refuse(module, msg, operation, **extra):
    """A refusal before any write: fails the task (through the base) with ``extra`` in the result."""
    module.partial_result.update(extra)
    return ConfigError(msg, server="IAM %s" % module.server_label, operation=operation)


class Plan(object):
    """What one task does to the selected account: the writes in order, the labels after them, who suspended it,
    and the token listings read before (a dict by kind, empty when the revocation pass lists them itself)."""

    def __init__(self, labels):
        self.ops = []
        self.labels_before = labels
        self.labels_after = list(labels) if labels is not None else None
        self.suspended_by = "none"
        self.tokens_before = {}


def run(module):
    """select -> plan -> apply (writes, token revocation, read-back) -> result."""
    params = module.params
    problem = check_selector(params) or check_label(params["label_name"], params.get("incident_id"))
    if problem:
        raise ConfigError("invalid options: %s" % problem, operation="check options")
    client = module.client()
    account, how = select_account(module, client, params)
    active = account["active"] is not False
    labels = None
    if not active or params["state"] == "active" or module._diff:
        labels = client.get_labels(account["uuid"])
    plan = Plan(labels)
    if params["state"] == "suspended":
        plan_suspension(module, params, account, plan)
    else:
        plan_restore(module, params, account, plan)
    revoke = params["state"] == "suspended" and params["revoke_tokens"]
    if module.check_mode or not revoke:
        # read the listings (increasing startIndex, nothing deleted): the counts, and in check mode the deletions
        for kind in ("refresh", "access"):
            plan.tokens_before[kind] = client.list_tokens(kind, account["username"])
        if revoke:
            for kind in ("refresh", "access"):
                for item in plan.tokens_before[kind]:
                    exp = parse_expiration(item.get("expiration"))
                    plan.ops.append({"op": "delete_token", "kind": kind, "id": item.get("id"),
                                     "expiration": epoch_to_iso(exp), "existed": True})
    if module.check_mode:
        deleted = [op for op in plan.ops if op["op"] == "delete_token"]
        module.done_operations = []
        remaining = {} if revoke else plan.tokens_before
        read_back = account
    else:
        apply_writes(client, account, plan, params, module.done_operations)
        deleted, remaining = [], plan.tokens_before
        if revoke:
            deleted, remaining = revoke_tokens(module, client, account, plan)
        plan.ops = module.done_operations
        read_back, plan.labels_after = _read_back(module, client, account, plan.ops, params["label_name"],
                                                  params.get("incident_id"), plan.labels_after)
    module.exit_json(**task_result(module, account, how, plan, read_back, deleted, remaining))


def select_account(module, client, params):
    """``(account summary, how it was found)``: exactly one account, else the task fails before any write."""
    accounts, how = find_accounts(client, params)
    # a failure reports changed/operations from what was written (IamModule.prepare_failure), not from here
    module.partial_result = dict(selected_by=how)
    if not accounts:
        raise NotFoundError("no account matches %s (nothing was changed)" % selector_text(params),
                            server="IAM %s" % module.server_label, operation="find account")
    if len(accounts) > 1:
        raise refuse(module, "%s matches %d accounts (%s): refusing to choose, nothing was changed; select by uuid"
                     % (selector_text(params), len(accounts),
                        ", ".join("%s (%s)" % (a.get("id"), a.get("userName")) for a in accounts)),
                     "find account", matches=[user_summary(a) for a in accounts])
    return user_summary(accounts[0]), how


def plan_suspension(module, params, account, plan):
    name, incident, username = params["label_name"], params.get("incident_id"), account["username"]
    ours = our_label(plan.labels_before, name) if plan.labels_before is not None else None
    if account["active"] is not False:
        plan.ops.append({"op": "set_label", "uuid": account["uuid"], "name": name, "value": incident})
        plan.ops.append({"op": "suspend", "uuid": account["uuid"]})
        if plan.labels_after is not None:
            plan.labels_after = ([lb for lb in plan.labels_after if lb is not ours]
                                 + [{"name": name, "value": incident}])
        plan.suspended_by = "us"
        return
    plan.suspended_by = "us" if ours else "other"
    if ours and ours.get("value") != incident:
        module.warn("account %s is already suspended by this module for %r (label kept; the incident asked for now "
                    "is %r)" % (username, ours.get("value"), incident))
    if not ours:
        module.warn("account %s was already disabled by someone else (no %s label): not labelled, so a restore by "
                    "this module will not lift it; its tokens are still revoked" % (username, name))


def plan_restore(module, params, account, plan):
    """Lift only a suspension our label marks (for this incident when one is given), unless ``force``."""
    name, incident = params["label_name"], params.get("incident_id")
    username, uuid = account["username"], account["uuid"]
    labels = plan.labels_before
    ours = our_label(labels, name) if labels is not None else None
    mismatch = bool(ours and incident and ours.get("value") != incident and not params["force"])
    if account["active"] is False:
        if not ours and not params["force"]:
            raise refuse(module, "account %s (%s) was disabled by someone else (no %s label; labels: %s): not "
                         "re-enabling it. Set force=true to enable it anyway"
                         % (username, uuid, name, ", ".join(_label_text(lb) for lb in labels or []) or "none"),
                         "restore account", account=dict(account, labels=labels))
        if mismatch:
            raise refuse(module, "account %s was suspended by this module for %r, not for %r: not re-enabling it. "
                         "Set force=true to enable it anyway" % (username, ours.get("value"), incident),
                         "restore account", account=dict(account, labels=labels))
        plan.ops.append({"op": "restore", "uuid": uuid})
    elif mismatch:
        raise refuse(module, "account %s is active but carries this module's label for %r, not for %r: not removing "
                     "it. Set force=true to remove it anyway" % (username, ours.get("value"), incident),
                     "delete label", account=dict(account, labels=labels))
    if ours:
        plan.ops.append({"op": "delete_label", "uuid": uuid, "name": name})
        plan.labels_after = [lb for lb in plan.labels_after if lb is not ours]


def apply_writes(client, account, plan, params, done):
    """The label and account writes of ``plan``, in order; each one done is appended to ``done``."""
    uuid = account["uuid"]
    for op in plan.ops:
        if op["op"] == "set_label":
            client.set_label(uuid, params["label_name"], params.get("incident_id"))
        elif op["op"] == "suspend":
            client.set_active(uuid, False)
        elif op["op"] == "restore":
            client.set_active(uuid, True)
        elif op["op"] == "delete_label":
            client.delete_label(uuid, params["label_name"])
        done.append(op)


def revoke_tokens(module, client, account, plan):
    """Delete every access and refresh token of the account by id (never IAM's delete-all); ``(deleted ops,
    remaining tokens by kind)``. Tokens still listed after the passes fail the task, saying what was done."""
    username, done = account["username"], module.done_operations
    left = {}
    for kind in ("refresh", "access"):
        try:
            left[kind] = client.revoke_tokens(kind, username, done=done)["remaining"]
        except GridsecError as err:
            err.msg = "%s (after %d write(s): %s)" % (err.msg, len(done), _done_text(done))
            raise
    deleted = [op for op in done if op["op"] == "delete_token"]
    # the counts IAM answered after the deletion (a token issued meanwhile is counted there)
    remaining = {"access": [None] * left["access"], "refresh": [None] * left["refresh"]}
    if not (left["access"] or left["refresh"]):
        return deleted, remaining
    remaining = dict((kind, client.list_tokens(kind, username) if left[kind] else []) for kind in ("refresh", "access"))
    window = _window(remaining)
    text = ("account %s still has %d access and %d refresh token(s) after %d deletion pass(es) (tokens issued while "
            "revoking: IAM's token exchange does not check that the account is active); re-run the task to revoke "
            "them" % (username, window["access"], window["refresh"], 1 + REVOKE_RETRIES))
    module.warn("IAM %s: %s" % (module.server_label, text))
    module.partial_result.update(account=_after_account(account, module.params, done, plan.labels_after),
                                 live_tokens=window, revoked=_revoked(deleted))
    raise RemoteError("%s (after %d write(s): %s)" % (text, len(done), _done_text(done)),
                      server="IAM %s" % module.server_label,
                      operation="list and delete %s tokens" % "/".join(k for k in ("access", "refresh") if left[k]))


def task_result(module, account, how, plan, read_back, deleted, remaining):
    params = module.params
    after = _after_account(read_back, params, plan.ops, plan.labels_after)
    suspended_by = plan.suspended_by
    if params["state"] == "active":
        suspended_by = "none" if after["active"] else "other"
    result = dict(changed=bool(plan.ops), selected_by=how, account=after, suspended_by=suspended_by,
                  operations=plan.ops, revoked=_revoked(deleted), live_tokens=_window(remaining),
                  requests=module.client_operations())
    if module._diff:
        before_view = {"active": account["active"], "labels": plan.labels_before}
        after_view = {"active": after["active"], "labels": plan.labels_after}
        if plan.tokens_before:
            before_tokens = _window(plan.tokens_before)
            before_view["tokens"] = {"access": before_tokens["access"], "refresh": before_tokens["refresh"]}
            after_view["tokens"] = {"access": result["live_tokens"]["access"],
                                    "refresh": result["live_tokens"]["refresh"]}
        elif deleted:
            before_view["tokens"] = {"access": result["revoked"]["access"], "refresh": result["revoked"]["refresh"]}
            after_view["tokens"] = {"access": 0, "refresh": 0}
        result["diff"] = {"before": before_view, "after": after_view}
    return result


def _read_back(module, client, account, plan, name, incident, after_labels):
    """``(account, labels)`` as IAM holds them after the writes: a 204 is not taken as proof that anything changed.
    Fails (naming server and operation) when the account's ``active`` or our label is not what was asked."""
    uuid = account["uuid"]
    patches = [op for op in plan if op["op"] in ("suspend", "restore")]
    if patches:
        wanted = patches[-1]["op"] == "restore"
        user = client.get_user(uuid)
        if user is None or user_summary(user)["active"] is not wanted:
            raise RemoteError(
                "IAM answered the %s of account %s (%s) with success, but reading it back shows %s: the account was "
                "not %s (writes done: %s)" % (
                    patches[-1]["op"], account["username"], uuid,
                    "no such account" if user is None else "active=%s" % user_summary(user)["active"],
                    "suspended" if not wanted else "restored", _done_text(plan)),
                server=client.server_label,
                operation="PATCH /scim/Users/%s (%s account)" % (uuid, patches[-1]["op"]))
        account = user_summary(user)
    label_ops = [op for op in plan if op["op"] in ("set_label", "delete_label")]
    if label_ops:
        labels = client.get_labels(uuid)
        ours = our_label(labels, name)
        if label_ops[-1]["op"] == "set_label" and (ours is None or ours.get("value") != incident):
            state = "missing" if ours is None else "there with value %r" % (ours.get("value"),)
            problem = "label %s=%s is %s" % (name, incident, state)
        elif label_ops[-1]["op"] == "delete_label" and ours is not None:
            problem = "label %s is still there (value %r)" % (name, ours.get("value"))
        else:
            problem = None
        if problem:
            raise RemoteError("IAM answered the %s on account %s (%s) with success, but reading the labels back "
                              "shows: %s (writes done: %s)"
                              % (label_ops[-1]["op"], account["username"], uuid, problem, _done_text(plan)),
                              server=client.server_label, operation="%s /iam/account/%s/labels" % (
                                  "PUT" if label_ops[-1]["op"] == "set_label" else "DELETE", uuid))
        if after_labels is not None:
            after_labels = labels
    return account, after_labels


def _after_account(account, params, plan, after_labels):
    after = dict(account)
    if params["state"] == "suspended":
        after["active"] = False
    elif any(op["op"] == "restore" for op in plan):
        after["active"] = True
    if after_labels is not None:
        after["labels"] = after_labels
    return after


def _revoked(deleted):
    values = [parse_expiration(op.get("expiration")) for op in deleted if op.get("kind") == "access"]
    values = [v for v in values if v is not None]
    return {"access": len([op for op in deleted if op["kind"] == "access"]),
            "refresh": len([op for op in deleted if op["kind"] == "refresh"]),
            "valid_offline_until": epoch_to_iso(max(values)) if values else None}


def _label_text(label):
    if not isinstance(label, dict):
        raise RemoteError("reply is not a list of labels (an item is %s)" % type(label).__name__)
    text = label.get("name", "")
    if label.get("prefix"):
        text = "%s/%s" % (label["prefix"], text)
    if label.get("value") is not None:
        text += "=%s" % label["value"]
    return text


def _done_text(ops):
    if not ops:
        return "none"
    return ", ".join(op["op"] + ("(%s %s)" % (op["kind"], op["id"]) if op["op"] == "delete_token" else "")
                     for op in ops[:10]) + (" ..." if len(ops) > 10 else "")


if __name__ == "__main__":
    main()
