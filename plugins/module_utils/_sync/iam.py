# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Sync target ``iam``: suspend the INDIGO IAM accounts behind the list's identities and revoke their tokens.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

IAM issues the tokens: suspending the account (and deleting its tokens) is the only step that ends new token
issuance. The suspend / restore / revoke logic is ``_iam.account``'s, the same code as the ``iam_account`` module.

Protocol:

- **Options**: ``iam_url``, ``iam_issuer``, ``client_id`` + ``client_secret`` or ``bearer_token`` (an admin client:
  ``scim:read scim:write iam:admin.read iam:admin.write``), ``iam_label_name`` (default ``gridsec.suspended``),
  ``iam_revoke_tokens`` (default true), ``iam_dn_scan`` (default true), the TLS options.
- **Identities -> accounts**: a DN through the finder by certificate subject (RFC 2253, confirmed semantically;
  the DNs it misses in one paged read of ``/scim/Users``: ``resolve_iam.accounts_by_dn``); a token identity
  whose issuer is this IAM (``iam_issuer``, else ``iam_url``; with or without the trailing ``/``) by its ``sub``,
  the account UUID (``GET /scim/Users/{sub}``). A token of another issuer is reported (``other_issuer``), an
  identity on no account too (``no_account``): neither fails the run. A DN on several accounts suspends all.
- **Read**: those look-ups (they carry ``active``) and one paged ``find/bylabel`` of our label: a no-op is that,
  and no write.
- **Owns**: the suspensions it made: the account carries the unprefixed label ``<iam_label_name>=sync:<sync
  name>`` AND the sync's state records it (``owned``). Only such a suspension is ever lifted (account enabled,
  label deleted), when no identity of the list maps to the account any more. An account disabled by someone
  else (no such label) is never labelled and never re-enabled; its tokens are revoked once, when the list first
  names it (``foreign`` in the state). An owned account whose label was removed is dropped from the state, not
  re-enabled (``released_without_write``); a labelled account the state does not know is reported, left alone.
- **Apply**: per account to suspend: label, ``PATCH active=false``, every access and refresh token deleted by id
  (never the id-less delete-all). Check mode reads the token listings and returns exactly these writes.
- **Audit**: ``suspend``, ``revoke`` (tokens of an account suspended by someone else), ``restore`` and ``release``
  per account (``kind: iam_account``, the username).
- **Freshness** (contract C2): the list serial and time of the last run that wrote are kept in the state.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._iam import account as ia
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._iam.client import ADMIN_SCOPES, user_summary
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import (
    DN,
    TOKEN,
    normalize_issuer,
    sort_key,
)
from ansible_collections.gridsec.ops.plugins.module_utils._sync import resolve_iam
from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import SyncTarget, TargetResult
from ansible_collections.gridsec.ops.plugins.module_utils._sync import specs

LABEL_VALUE = "sync:%s"


class IamTarget(SyncTarget):
    TYPE = "iam"
    KINDS = frozenset([DN, TOKEN])
    CANARY_DEFAULT = "skip"  # the daily canary is no person and has no account
    OPTIONS = specs.IAM_OPTIONS

    @classmethod
    def spec_problems(cls, spec):
        name = spec.get("name")
        problems = resolve_iam.iam_problems(spec, "target %s" % name)
        label_problem = ia.check_label(spec.get("iam_label_name") or ia.DEFAULT_LABEL)
        if label_problem:
            problems.append("target %s: iam_%s" % (name, label_problem))
        return problems

    def __init__(self, spec, ctx):
        self.spec = spec
        self.ctx = ctx
        self.name = spec["name"]
        self.result = TargetResult(self.name, self.TYPE)
        self.label_name = spec.get("iam_label_name") or ia.DEFAULT_LABEL
        self.label_value = LABEL_VALUE % ctx.sync_name
        if ia.check_label(self.label_name, self.label_value):
            raise ConfigError("the sync name %r is too long for an IAM label value (%s, at most 64 characters)"
                              % (ctx.sync_name, self.label_value), server=self.name, operation="check options")
        self.client = resolve_iam.iam_client(spec, ctx, ADMIN_SCOPES)
        self.state = ctx.target_state(self.name)

    @property
    def label(self):
        return "iam target %s (%s)" % (self.name, self.client.server_label)

    # -- identities -> accounts ----------------------------------------------------------------------------------
    def is_ours(self, issuer):
        return normalize_issuer(issuer) == normalize_issuer(self.client.issuer)

    def accounts(self, wanted, data):
        """``{uuid: {"account": summary, "identities": [values]}}`` behind ``wanted``; fills ``no_account`` and
        ``other_issuer`` in ``data``."""
        dns = [e for e in wanted if e.kind == DN]
        tokens = [e for e in wanted if e.kind == TOKEN]
        behind, no_account = {}, []

        def add(user, entry):
            item = behind.setdefault(user["id"], {"account": user_summary(user), "identities": []})
            if entry.value not in item["identities"]:
                item["identities"].append(entry.value)
        found = resolve_iam.accounts_by_dn(self.client, dns, scan=self.spec.get("iam_dn_scan") is not False,
                                           memo=self.ctx.memo, fill=False)
        for entry in dns:
            for user in found.get(entry.key, []):
                add(user, entry)
            if entry.key not in found:
                no_account.append(entry.value)
        other = [e.value for e in tokens if not self.is_ours(e.issuer)]
        for entry in tokens:
            if not self.is_ours(entry.issuer):
                continue
            user = None
            if "/" not in entry.subject and entry.subject.strip() not in (".", ".."):  # never a UUID: no look-up
                user = self.client.get_user(entry.subject)
            if user is None:
                no_account.append(entry.value)
            else:
                add(user, entry)
        data.update(no_account=no_account, no_account_count=len(no_account), other_issuer=other,
                    other_issuer_count=len(other))
        return behind

    # -- sync ---------------------------------------------------------------------------------------------------
    def sync(self, wanted, check_mode):
        data = self.result.data
        wanted = sorted((e for e in wanted.values() if e.kind in self.KINDS), key=sort_key)
        behind = self.accounts(wanted, data)
        labelled = dict((a["uuid"], a) for a in ia.find_labelled(self.client, self.label_name, self.label_value))
        owned = self.state.setdefault("owned", {})
        foreign = self.state.setdefault("foreign", {})
        owned_before = len([u for u in owned if u in labelled])
        plan = self.plan(behind, labelled, owned, foreign, data)
        data["done"] = []
        try:
            for action, uuid, account in plan:
                self.apply(action, uuid, account, behind, owned, foreign, check_mode, data)
        except GridsecError as err:
            if data["done"]:
                err.msg = "%s (already done before the failure: %s)" % (err.msg, "; ".join(data["done"]))
            self._count(data)
            raise
        data["added"] = [self.row(u, a, behind) for act, u, a in plan if act == "suspend"]
        data["removed"] = [self.row(u, a, behind, owned) for act, u, a in plan if act == "restore"]
        self.result.counts(owned_before, data["added"], data["removed"])
        data["changed"] = bool(data["operations"])
        data["owned_after"] = len(owned)
        if data["operations"] and not check_mode:
            self.state.update(serial=getattr(self.ctx, "list_serial", None),
                              applied=getattr(self.ctx, "applied_at", None))
        self._count(data)
        return data

    def plan(self, behind, labelled, owned, foreign, data):
        """``[(action, uuid, account)]``: ``suspend`` (active, listed), ``finish`` (ours by the label, not recorded or
        left half done: the token revocation again), ``revoke`` (disabled by someone else, listed for the first
        time), ``restore`` (ours, no longer listed), ``release`` (recorded as ours, label gone), ``forget``."""
        steps, kept_foreign = [], []
        for uuid in sorted(behind):
            account = behind[uuid]["account"]
            if account["active"] is not False:
                steps.append(("suspend", uuid, account))
            elif uuid in labelled:
                if uuid not in owned or owned[uuid].get("pending"):
                    # ours by the label, but the state lost it or an earlier run failed before the tokens were gone
                    steps.append(("finish", uuid, account))
            elif uuid not in foreign:
                steps.append(("revoke", uuid, account))
            else:
                kept_foreign.append(account["username"])
        for uuid in sorted(owned):
            if uuid in behind:
                continue
            steps.append(("restore", uuid, labelled[uuid]) if uuid in labelled else ("release", uuid, None))
        for uuid in sorted(u for u in foreign if u not in behind):
            steps.append(("forget", uuid, None))
        data["foreign_kept"] = kept_foreign
        data["unrecorded_labelled"] = sorted(a["username"] for u, a in labelled.items()
                                             if u not in owned and u not in behind)
        if data["unrecorded_labelled"]:
            self.ctx.warn("%s: accounts carry this sync's label %s=%s but its state does not record them: left "
                          "alone (%s)" % (self.label, self.label_name, self.label_value,
                                          ", ".join(data["unrecorded_labelled"])))
        data["operations"], data["released_without_write"], data["revoked"] = [], [], {}
        return steps

    def apply(self, action, uuid, account, behind, owned, foreign, check_mode, data):
        if action in ("suspend", "finish", "revoke"):
            record = {"username": account["username"], "identities": behind[uuid]["identities"]}
            done = []
            try:
                out = ia.suspend_account(self.client, account, self.label_name, self.label_value,
                                         revoke=self.spec.get("iam_revoke_tokens") is not False,
                                         check_mode=check_mode, done=done,
                                         warn=None if action != "revoke" else (lambda _text: None))
            except GridsecError:
                if done and action != "revoke":
                    # labelled or disabled already: ours, and the next run finishes the revocation
                    owned[uuid] = dict(record, pending=True)
                    data["done"].append("%s: %s" % (account["username"], ", ".join(op["op"] for op in done[:4])))
                raise
            self.record(out, account, data)
            if action == "revoke":
                foreign[uuid] = record
            else:
                owned[uuid] = record
        elif action == "restore":
            try:
                out = ia.restore_account(self.client, account, self.label_name, self.label_value,
                                         check_mode=check_mode)
            except ConfigError as err:  # labelled for another value meanwhile: not ours to lift
                data["released_without_write"].append({"account": account["username"], "why": err.msg})
            else:
                self.record(out, account, data)
            owned.pop(uuid, None)
        elif action == "release":
            record = owned.pop(uuid, {})
            data["released_without_write"].append({"account": record.get("username"), "uuid": uuid,
                                                   "why": "our label is gone: not re-enabled"})
        else:  # forget: someone else's suspension, no longer listed; it was never ours to lift
            foreign.pop(uuid, None)

    def record(self, out, account, data):
        """The writes of one account's outcome (done, or planned in check mode) in ``data``."""
        for op in out.ops:
            data["operations"].append(_op_text(op, account))
        if out.ops:
            data["done"].append("%s: %s" % (account["username"], ", ".join(op["op"] for op in out.ops[:4])))
        revoked = out.revoked
        if revoked["access"] or revoked["refresh"]:
            data["revoked"][account["username"]] = revoked

    @staticmethod
    def row(uuid, account, behind, owned=None):
        if uuid in behind:
            return {"account": account["username"], "uuid": uuid, "identities": behind[uuid]["identities"]}
        return {"account": account["username"], "uuid": uuid,
                "identities": list(((owned or {}).get(uuid) or {}).get("identities") or [])}

    def _count(self, data):
        calls = [op for op in self.client.operations if op.get("path") != "/token"]
        data["writes"] = len([op for op in calls if op["method"] != "GET"])
        data["reads"] = len(calls) - data["writes"]

    def audit_records(self, data, check_mode):
        result = "planned" if check_mode else "done"

        def item(row):
            return {"kind": "iam_account", "value": row["account"]}
        records = [("suspend", item(r), {"result": result, "uuid": r["uuid"], "identities": r["identities"]})
                   for r in data.get("added", [])]
        records.extend(("restore", item(r), {"result": result, "uuid": r["uuid"], "identities": r["identities"]})
                       for r in data.get("removed", []))
        records.extend(("revoke", {"kind": "iam_account", "value": user}, {"result": result, "tokens": counts})
                       for user, counts in sorted(data.get("revoked", {}).items()))
        records.extend(("release", {"kind": "iam_account", "value": r.get("account")},
                        {"result": result, "why": r["why"]}) for r in data.get("released_without_write", []))
        return records

    # -- status (contract C2) -----------------------------------------------------------------------------------
    def status(self, canary):
        """What IAM enforces now for this sync: the accounts carrying our label that are disabled (``entries``);
        ``canary_present`` when every canary identity maps to a disabled account; ``problems`` for labelled
        accounts that are active again and recorded ones whose label is gone."""
        labelled = dict((a["uuid"], a) for a in ia.find_labelled(self.client, self.label_name, self.label_value))
        owned = self.state.get("owned") or {}
        problems = ["%s: account %s carries this sync's label but is active (someone re-enabled it)"
                    % (self.label, a["username"]) for a in labelled.values() if a["active"] is not False]
        problems.extend("%s: account %s is recorded as suspended by this sync but its label is gone"
                        % (self.label, record.get("username") or uuid)
                        for uuid, record in sorted(owned.items()) if uuid not in labelled)
        present = None
        if canary:
            data = {}
            behind = self.accounts(sorted(canary, key=sort_key), data)
            present = bool(behind) and not data["no_account"] and all(
                item["account"]["active"] is False for item in behind.values())
        return {"serial": self.state.get("serial"), "applied": self.state.get("applied"),
                "entries": len([a for a in labelled.values() if a["active"] is False]),
                "canary_present": present, "problems": problems}

    def close(self):
        resolve_iam.close_client(self.client)


def _op_text(op, account):
    """One write as the result lists it (no secret: ids, names, the label)."""
    uuid = account["uuid"]
    if op["op"] == "set_label":
        return "PUT /iam/account/%s/labels %s=%s (%s)" % (uuid, op["name"], op["value"], account["username"])
    if op["op"] in ("suspend", "restore"):
        return "PATCH /scim/Users/%s active=%s (%s)" % (uuid, "false" if op["op"] == "suspend" else "true",
                                                        account["username"])
    if op["op"] == "delete_label":
        return "DELETE /iam/account/%s/labels name=%s (%s)" % (uuid, op["name"], account["username"])
    return "DELETE /iam/api/%s-tokens/%s (%s)" % (op["kind"], op["id"], account["username"])
