# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Selecting, suspending and restoring INDIGO IAM accounts and revoking their tokens: the one home of that logic,
used by the ``iam_account`` module and by the ``iam`` target of ``suspension_list_sync``.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Everything here takes an ``IamClient`` and plain values (never a module) and raises ``GridsecError`` subclasses;
an error's ``result`` holds the keys a module returns with the failure (what was computed before it). Writes are
appended to a caller's ``done`` list as each one completes, so a failure half-way still says what was done.

A suspension is marked by an unprefixed label (``name=value``, e.g. ``gridsec.suspended=<incident>``): only a
suspension carrying it is ever lifted (unless forced), so one made by an administrator or by IAM's own lifecycle
job stays.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    ConfigError,
    GridsecError,
    NotFoundError,
    RemoteError,
)
from ansible_collections.gridsec.ops.plugins.module_utils._iam.client import (
    REVOKE_RETRIES,
    epoch_to_iso,
    parse_expiration,
    user_summary,
)
from ansible_collections.gridsec.ops.plugins.module_utils._iam.module import (
    check_selector,
    find_accounts,
    selector_text,
)

DEFAULT_LABEL = "gridsec.suspended"
LABEL_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9\-_.]*$")
RESERVED_LABELS = ("lifecycle.status", "wlcg.optional-group")
# Access tokens are revoked first. Once the account is disabled, IAM issues a token for it only by exchanging one
# of its stored access tokens (TokenExchangeTokenGranter reads the subject token from the database and does not
# check isActive; IamRefreshTokenGranter refuses an inactive account; logins are refused). So a count read after
# the access pass that finds none proves no token can be minted any more, and the refresh listing read after it
# (with IAM's DELETE replies) proves the refresh tokens gone without reading the count again.
REVOKE_ORDER = ("access", "refresh")


def check_label(name, value=None):
    """Problem text when ``name=value`` cannot be our suspension label, else None (IAM's ``LabelDTO`` rules)."""
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


def select_account(client, selector):
    """``(account summary, how it was found)`` for the one account ``selector`` (a dict with one of ``uuid``,
    ``username``, ``dn``, ``issuer`` + ``subject``) designates; reads only. None or several: a typed error, before
    any write (``NotFoundError``; ``ConfigError`` with ``result["matches"]``)."""
    problem = check_selector(selector)
    if problem:
        raise ConfigError("invalid options: %s" % problem, operation="check options")
    accounts, how = find_accounts(client, selector)
    if not accounts:
        raise NotFoundError("no account matches %s (nothing was changed)" % selector_text(selector),
                            server=client.server_label, operation="find account", result={"selected_by": how})
    if len(accounts) > 1:
        raise ConfigError("%s matches %d accounts (%s): refusing to choose, nothing was changed; select by uuid"
                          % (selector_text(selector), len(accounts),
                             ", ".join("%s (%s)" % (a.get("id"), a.get("userName")) for a in accounts)),
                          server=client.server_label, operation="find account",
                          result={"selected_by": how, "matches": [user_summary(a) for a in accounts]})
    return user_summary(accounts[0]), how


def find_labelled(client, label_name, label_value):
    """Summaries of every account carrying the unprefixed label ``label_name=label_value`` (IAM's finder needs the
    value)."""
    return [user_summary(user) for user in client.find_by_label(label_name, label_value)]


def token_window(client, username):
    """The live-token window of ``username`` as IAM lists it now (reads only)."""
    return _window(dict((kind, client.list_tokens(kind, username)) for kind in REVOKE_ORDER))


class Outcome(object):
    """What one suspension or restore did (or would do, in check mode) to one account.

    ``account`` (after the run), ``ops`` (the writes in order), ``suspended_by`` (``us``/``other``/``none``),
    ``labels_before``/``labels_after`` (None when not read), ``revoked``, ``live_tokens``, ``tokens_before``
    (window, or None when not read), ``warnings``; ``diff()`` the before/after view."""

    def __init__(self, account, labels, warn=None):
        self.before = account
        self.account = dict(account)
        self.labels_before = labels
        self.labels_after = list(labels) if labels is not None else None
        self.suspended_by = "none"
        self.ops = []
        self.deleted = []
        self.listed = {}  # token lists read before any deletion, by kind (check mode, no revocation)
        self.remaining = {}
        self.warnings = []
        self._warn = warn

    def warn(self, text):
        self.warnings.append(text)
        if self._warn:
            self._warn(text)

    @property
    def changed(self):
        return bool(self.ops)

    @property
    def revoked(self):
        return _revoked(self.deleted)

    @property
    def live_tokens(self):
        return _window(self.remaining)

    @property
    def tokens_before(self):
        return _window(self.listed) if self.listed else None

    def diff(self):
        before = {"active": self.before["active"], "labels": self.labels_before}
        after = {"active": self.account["active"], "labels": self.labels_after}
        if self.listed:
            before["tokens"] = _counts(self.tokens_before)
            after["tokens"] = _counts(self.live_tokens)
        elif self.deleted:
            before["tokens"] = _counts(self.revoked)
            after["tokens"] = {"access": 0, "refresh": 0}
        return {"before": before, "after": after}


def suspend_account(client, account, label_name, label_value, revoke=True, check_mode=False, want_labels=False,
                    verify=False, done=None, warn=None):
    """Suspend ``account`` (a ``user_summary``): label it ``label_name=label_value`` and disable it (unless it is
    already disabled), then delete its tokens by id (``revoke``). Returns an ``Outcome`` (the calls: docs/iam.md,
    Cost). ``want_labels``: read the labels of an active account too (for a diff). ``verify``: read the account
    and labels back after the writes. ``check_mode``: read only; ``Outcome.ops`` are the writes a real run makes."""
    problem = check_label(label_name, label_value)
    if label_value is None:
        problem = "a suspension needs a label value (incident_id)"
    if problem:
        raise ConfigError("invalid options: %s" % problem, operation="check options")
    labels = None
    if account["active"] is False or want_labels:
        labels = client.get_labels(account["uuid"])
    out = Outcome(account, labels, warn)
    _plan_suspension(out, label_name, label_value)
    out.account["active"] = False
    _run(client, out, label_name, label_value, revoke, check_mode, verify, done)
    return out


def restore_account(client, account, label_name, label_value=None, force=False, check_mode=False, verify=False,
                    done=None, warn=None):
    """Lift a suspension of ``account`` that our label ``label_name`` marks (the one of ``label_value`` when given):
    enable it and delete the label. Someone else's suspension, or one for another value, raises ``ConfigError``
    before any write unless ``force``. Revoked tokens are not restored. Returns an ``Outcome``."""
    problem = check_label(label_name, label_value)
    if problem:
        raise ConfigError("invalid options: %s" % problem, operation="check options")
    out = Outcome(account, client.get_labels(account["uuid"]), warn)
    _plan_restore(client, out, label_name, label_value, force)
    if any(op["op"] == "restore" for op in out.ops):
        out.account["active"] = True
    _run(client, out, label_name, label_value, False, check_mode, verify, done)
    out.suspended_by = "none" if out.account["active"] else "other"
    return out


def _run(client, out, label_name, label_value, revoke, check_mode, verify, done):
    """List the tokens when nothing deletes them (or in check mode), then write, revoke and verify."""
    username = out.before["username"]
    if check_mode or not revoke:
        # increasing startIndex, nothing deleted: the counts, and in check mode the deletions to come
        for kind in REVOKE_ORDER:
            out.listed[kind] = client.list_tokens(kind, username)
        if revoke:
            for kind in REVOKE_ORDER:
                for item in out.listed[kind]:
                    exp = parse_expiration(item.get("expiration"))
                    out.ops.append({"op": "delete_token", "kind": kind, "id": item.get("id"),
                                    "expiration": epoch_to_iso(exp), "existed": True})
    if check_mode:
        out.deleted = [op for op in out.ops if op["op"] == "delete_token"]
        out.remaining = {} if revoke else out.listed
        if out.labels_after is not None:
            out.account["labels"] = out.labels_after
        return
    done = [] if done is None else done
    _apply_writes(client, out, label_name, label_value, done)
    out.remaining = out.listed
    if revoke:
        _revoke(client, out, done)
    out.ops = done
    if verify:
        _verify(client, out, label_name, label_value)
    if out.labels_after is not None:
        out.account["labels"] = out.labels_after


def _plan_suspension(out, name, incident):
    account = out.before
    ours = our_label(out.labels_before, name) if out.labels_before is not None else None
    if account["active"] is not False:
        out.ops.append({"op": "set_label", "uuid": account["uuid"], "name": name, "value": incident})
        out.ops.append({"op": "suspend", "uuid": account["uuid"]})
        if out.labels_after is not None:
            out.labels_after = [lb for lb in out.labels_after if lb is not ours] + [{"name": name, "value": incident}]
        out.suspended_by = "us"
        return
    out.suspended_by = "us" if ours else "other"
    if ours and ours.get("value") != incident:
        out.warn("account %s is already suspended by this module for %r (label kept; the incident asked for now "
                 "is %r)" % (account["username"], ours.get("value"), incident))
    if not ours:
        out.warn("account %s was already disabled by someone else (no %s label): not labelled, so a restore by "
                 "this module will not lift it; its tokens are still revoked" % (account["username"], name))


def _plan_restore(client, out, name, incident, force):
    """Lift only a suspension our label marks (for this incident when one is given), unless ``force``."""
    account, labels = out.before, out.labels_before
    username, uuid = account["username"], account["uuid"]
    ours = our_label(labels, name)
    mismatch = bool(ours and incident and ours.get("value") != incident and not force)
    shown = {"account": dict(account, labels=labels)}
    if account["active"] is False:
        if not ours and not force:
            raise ConfigError("account %s (%s) was disabled by someone else (no %s label; labels: %s): not "
                              "re-enabling it. Set force=true to enable it anyway"
                              % (username, uuid, name, ", ".join(_label_text(lb) for lb in labels or []) or "none"),
                              server=client.server_label, operation="restore account", result=shown)
        if mismatch:
            raise ConfigError("account %s was suspended by this module for %r, not for %r: not re-enabling it. "
                              "Set force=true to enable it anyway" % (username, ours.get("value"), incident),
                              server=client.server_label, operation="restore account", result=shown)
        out.ops.append({"op": "restore", "uuid": uuid})
    elif mismatch:
        raise ConfigError("account %s is active but carries this module's label for %r, not for %r: not removing "
                          "it. Set force=true to remove it anyway" % (username, ours.get("value"), incident),
                          server=client.server_label, operation="delete label", result=shown)
    if ours:
        out.ops.append({"op": "delete_label", "uuid": uuid, "name": name})
        out.labels_after = [lb for lb in out.labels_after if lb is not ours]


def _apply_writes(client, out, label_name, label_value, done):
    """The label and account writes planned, in order; each one done is appended to ``done``."""
    uuid = out.before["uuid"]
    for op in out.ops:
        if op["op"] == "set_label":
            client.set_label(uuid, label_name, label_value)
        elif op["op"] == "suspend":
            client.set_active(uuid, False)
        elif op["op"] == "restore":
            client.set_active(uuid, True)
        elif op["op"] == "delete_label":
            client.delete_label(uuid, label_name)
        done.append(op)


def _revoke(client, out, done):
    """Delete every access and refresh token of the account by id (never IAM's delete-all). Tokens still listed
    after the passes raise ``RemoteError`` saying what was done (nothing is undone)."""
    username = out.before["username"]
    left = {}
    for kind in REVOKE_ORDER:
        try:
            # the count read after the access pass proves no token was exchanged meanwhile; the refresh listing
            # that follows it is final (see REVOKE_ORDER)
            left[kind] = client.revoke_tokens(kind, username, done=done, confirm=kind == "access")["remaining"]
        except GridsecError as err:
            err.msg = "%s (after %d write(s): %s)" % (err.msg, len(done), _done_text(done))
            raise
    out.deleted = [op for op in done if op["op"] == "delete_token"]
    # the counts IAM answered after the deletion (a token issued meanwhile is counted there)
    out.remaining = {"access": [None] * left["access"], "refresh": [None] * left["refresh"]}
    if not (left["access"] or left["refresh"]):
        return
    out.remaining = dict((kind, client.list_tokens(kind, username) if left[kind] else []) for kind in REVOKE_ORDER)
    window = _window(out.remaining)
    text = ("account %s still has %d access and %d refresh token(s) after %d deletion pass(es) (tokens issued while "
            "revoking: IAM's token exchange does not check that the account is active); re-run to revoke them"
            % (username, window["access"], window["refresh"], 1 + REVOKE_RETRIES))
    out.warn("%s: %s" % (client.server_label, text))
    after = dict(out.account)
    if out.labels_after is not None:
        after["labels"] = out.labels_after
    raise RemoteError("%s (after %d write(s): %s)" % (text, len(done), _done_text(done)),
                      server=client.server_label,
                      operation="list and delete %s tokens" % "/".join(k for k in ("access", "refresh") if left[k]),
                      result={"account": after, "live_tokens": window, "revoked": out.revoked})


def _verify(client, out, name, incident):
    """Read the account and its labels back after the writes; ``RemoteError`` (naming server and operation) when
    IAM does not hold the ``active`` flag or our label it answered success for."""
    account, ops = out.before, out.ops
    uuid = account["uuid"]
    patches = [op for op in ops if op["op"] in ("suspend", "restore")]
    if patches:
        wanted = patches[-1]["op"] == "restore"
        user = client.get_user(uuid)
        if user is None or user_summary(user)["active"] is not wanted:
            raise RemoteError(
                "IAM answered the %s of account %s (%s) with success, but reading it back shows %s: the account was "
                "not %s (writes done: %s)" % (
                    patches[-1]["op"], account["username"], uuid,
                    "no such account" if user is None else "active=%s" % user_summary(user)["active"],
                    "suspended" if not wanted else "restored", _done_text(ops)),
                server=client.server_label,
                operation="PATCH /scim/Users/%s (%s account)" % (uuid, patches[-1]["op"]))
        out.account = user_summary(user)
    label_ops = [op for op in ops if op["op"] in ("set_label", "delete_label")]
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
                              % (label_ops[-1]["op"], account["username"], uuid, problem, _done_text(ops)),
                              server=client.server_label, operation="%s /iam/account/%s/labels" % (
                                  "PUT" if label_ops[-1]["op"] == "set_label" else "DELETE", uuid))
        if out.labels_after is not None:
            out.labels_after = labels


def _window(tokens_by_kind):
    access = tokens_by_kind.get("access", [])
    refresh = tokens_by_kind.get("refresh", [])

    def latest(items):
        values = [parse_expiration(t.get("expiration")) for t in items if t is not None]
        values = [v for v in values if v is not None]
        return epoch_to_iso(max(values)) if values else None
    return {"access": len(access), "refresh": len(refresh), "latest_exp": latest(access),
            "latest_refresh_exp": latest(refresh)}


def _counts(window):
    return {"access": window["access"], "refresh": window["refresh"]}


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
