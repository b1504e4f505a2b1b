# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Selecting, suspending and re-activating Rucio accounts: the one home of that logic, used by the
``rucio_account`` module and by the ``rucio`` target of ``suspension_list_sync``.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Everything here takes a ``RucioClient`` (never a module) and an ownership store:

- ``AttributeOwnership`` (the module): the record is the account attribute ``gs.<account>`` on an always-active
  owner account (Rucio keeps no attribute of a suspended account readable); recording is a server write;
- ``StateOwnership`` (the sync): the record is an entry of the sync's state file; recording is local.

Only an account with a record is ever re-activated (the module's ``force`` aside): a suspension made by
someone else stays.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.gridsec.ops.plugins.module_utils._dn import parse_dn
from ansible_collections.gridsec.ops.plugins.module_utils._errors import RemoteError, TransportError
from ansible_collections.gridsec.ops.plugins.module_utils._rucio.client import TOKEN_CACHE_S, TOKEN_LIFETIME_S

ACTIVE = "ACTIVE"
SUSPENDED = "SUSPENDED"
RECORD_PREFIX = "gs."  # Rucio limits attribute keys and values to ^[a-zA-Z0-9-_\/.]{1,30}$
LOOKUP_OPERATION = "GET /identities/accounts"


def utcnow():
    return datetime.datetime.utcnow().replace(microsecond=0)


def dn_spellings(text):
    """The DN as given, its RFC 2253 form and its OpenSSL slash form (distinct, in that order): Rucio compares
    identities as exact strings and has no call listing every X.509 identity."""
    dn = parse_dn(text)
    out = []
    for form in (text.strip(), dn.to_rfc2253(), dn.to_openssl()):
        if form not in out:
            out.append(form)
    return out


def issuer_spellings(issuer):
    """The issuer as given and with its trailing ``/`` added or removed: IAM's tokens carry ``iss`` as configured,
    while its discovery document's issuer ends with ``/``, so an identity may be stored in either spelling."""
    text = issuer.strip()
    bare = text.rstrip("/")
    return [text] + [form for form in (bare, bare + "/") if form != text]


def oidc_identity(subject, issuer):
    """The identity key Rucio stores for an OIDC identity (``AccountsByIdentity``'s documented format)."""
    return "SUB=%s, ISS=%s" % (subject, issuer)


def identity_lookups(dn=None, oidc_subject=None, oidc_issuer=None):
    """``[(identity key, type)]`` to ask ``GET /identities/accounts`` for one identity."""
    if dn is not None:
        return [(spelling, "X509") for spelling in dn_spellings(dn)]
    return [(oidc_identity(oidc_subject, issuer), "OIDC") for issuer in issuer_spellings(oidc_issuer)]


def accounts_of(client, lookups):
    """Distinct account names mapped to any of ``lookups`` (order of first appearance)."""
    names = []
    for identity, id_type in lookups:
        for name in client.accounts_for_identity(identity, id_type):
            if name not in names:
                names.append(name)
    return names


def select_account(client, account=None, dn=None, oidc_subject=None, oidc_issuer=None):
    """The one account named or mapped to the identity; RemoteError when none or several (nothing written)."""
    if account:
        return account
    names = accounts_of(client, identity_lookups(dn, oidc_subject, oidc_issuer))
    what = ("X.509 identity %s" % dn) if dn is not None else (
        "OIDC identity %s" % oidc_identity(oidc_subject, oidc_issuer))
    if not names:
        raise RemoteError("no Rucio account has the %s; nothing was changed" % what, server=client.server_label,
                          operation=LOOKUP_OPERATION)
    if len(names) > 1:
        raise RemoteError("the %s is mapped to several accounts (%s); nothing was changed: name the account with "
                          "the account option" % (what, ", ".join(sorted(names))), server=client.server_label,
                          operation=LOOKUP_OPERATION, details={"accounts": sorted(names)})
    return names[0]


# -- ownership stores ------------------------------------------------------------------------------------------
class AttributeOwnership(object):
    """Records as attributes ``gs.<account>`` of ``owner`` (one read of its attribute list, on first use)."""

    remote = True

    def __init__(self, client, owner):
        self.client = client
        self.owner = owner
        self._keys = None

    def owned(self, name):
        if self._keys is None:
            self._keys = set(self.client.attributes(self.owner))
        return RECORD_PREFIX + name in self._keys

    def record_text(self, name):
        return "POST /accounts/%s/attr/%s%s" % (self.owner, RECORD_PREFIX, name)

    def unrecord_text(self, name):
        return "DELETE /accounts/%s/attr/%s%s" % (self.owner, RECORD_PREFIX, name)

    def record(self, name, now, note=None):
        self.client.add_attribute(self.owner, RECORD_PREFIX + name, "gridsec.ops-%sZ" % now.strftime("%Y%m%dT%H%M%S"))

    def unrecord(self, name):
        self.client.delete_attribute(self.owner, RECORD_PREFIX + name)


class StateOwnership(object):
    """Records in a dict persisted by the caller (the sync's target state): ``account -> {since, identities}``."""

    remote = False

    def __init__(self, records):
        self.records = records

    def owned(self, name):
        return name in self.records

    def record_text(self, name):
        return "state: own %s" % name

    def unrecord_text(self, name):
        return "state: release %s" % name

    def record(self, name, now, note=None):
        self.records[name] = dict(note or {}, since=now.isoformat() + "Z")

    def unrecord(self, name):
        self.records.pop(name, None)


# -- plan and apply ---------------------------------------------------------------------------------------------
def plan(name, before, want, owned, store):
    """Steps ``(step, text)`` that bring account ``name`` from status ``before`` to ``want``: the ownership record
    goes BEFORE the suspension (a run that dies after the PUT still owns what it suspended) and is removed AFTER
    the re-activation. The caller decides whether an un-owned re-activation is allowed."""
    steps = []
    if want == SUSPENDED and before == ACTIVE:
        if not owned:
            steps.append(("record", store.record_text(name)))
        steps.append(("status", "PUT /accounts/%s status=%s" % (name, SUSPENDED)))
    elif want == ACTIVE and before == SUSPENDED:
        steps.append(("status", "PUT /accounts/%s status=%s" % (name, ACTIVE)))
        if owned:
            steps.append(("unrecord", store.unrecord_text(name)))
    elif want == ACTIVE and owned:  # a record left by a suspension that did not complete, or re-activated by hand
        steps.append(("unrecord", store.unrecord_text(name)))
    return steps


def apply(client, name, want, steps, store, done, now=None, note=None):
    """Run ``steps`` in order, appending the text of each server write made to ``done``. A failure that may have
    reached the server says so; a local record made for a status change that certainly failed is undone."""
    now = now or utcnow()
    recorded_locally = False
    for step, text in steps:
        try:
            if step == "record":
                store.record(name, now, note)
                recorded_locally = not store.remote
            elif step == "status":
                client.set_status(name, want)
            else:
                store.unrecord(name)
        except TransportError as err:
            if step == "status" and err.details.get("attempts") == 1:
                err.msg = ("%s; the status change of account %r may have been applied: run again to read the "
                           "account back" % (err.msg, name))
            raise
        except RemoteError as err:
            if step == "status" and 200 <= (err.details.get("status") or 0) < 300:
                err.msg = ("%s; the server answered a success code, so the status change of account %r may have "
                           "been applied: run again to read the account back" % (err.msg, name))
            elif step == "status" and recorded_locally:
                store.unrecord(name)  # the server refused the PUT: nothing was suspended
            raise
        if store.remote or step == "status":
            done.append(text)


def check_read_back(client, name, want, status):
    """RemoteError when the status read back after a write is not ``want`` (Rucio answers 200 to a PUT it did
    not apply, e.g. ``DELETED`` or an unknown key)."""
    if status != want:
        raise RemoteError("the server accepted PUT /accounts/%s status=%s but account %r is %s"
                          % (name, want, name, status or "gone"), server=client.server_label,
                          operation="read back account %s" % name)


def stale_token_window(suspended_now, now=None):
    """How long tokens issued before a suspension may still be accepted (Rucio checks no account status for a
    token already issued; each server process caches validated tokens)."""
    window = {"token_lifetime_seconds": TOKEN_LIFETIME_S, "server_cache_seconds": TOKEN_CACHE_S}
    if suspended_now:
        now = now or utcnow()
        window["until"] = (now + datetime.timedelta(seconds=TOKEN_LIFETIME_S + TOKEN_CACHE_S)).isoformat() + "Z"
    return window
