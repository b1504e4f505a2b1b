# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""``rucio`` target of ``suspension_list_sync``: suspend the Rucio accounts behind the list's identities.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Rucio has no ban list: a person is kept out by suspending the ACCOUNT(S) their identity maps to (every later login
of a suspended account is refused, whatever the identity type). The planning and the writes are
``_rucio.account``'s, as for the ``rucio_account`` module; ownership is recorded in the sync's target state
(``owned``: account -> since, identities), so only accounts this sync suspended are ever re-activated, and an
account suspended by someone else is left alone.

Cost. Rucio lists no identities in bulk (only ``GET /identities/accounts`` per identity spelling), but it does
list the ACTIVE accounts in one read (``GET /accounts/``; suspended accounts vanish from it). So:

- identity -> accounts look-ups are kept in the target state (``lookups``) and repeated only when older than
  ``rucio_lookup_max_age`` (an identity mapped to a new account later is found within that age);
- one listing tells which accounts behind the list are ACTIVE (to suspend) and which are not (kept);
- a no-op is: one login, one listing, no write; after writes, one more listing reads every change back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.gridsec.ops.plugins.module_utils._rucio import account as ra
from ansible_collections.gridsec.ops.plugins.module_utils._errors import GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
from ansible_collections.gridsec.ops.plugins.module_utils._http_options import check_base_url
from ansible_collections.gridsec.ops.plugins.module_utils._rucio.client import RucioClient
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import DN, TOKEN, key_id, sort_key
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.state import parse_duration
from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import SyncTarget, TargetResult
from ansible_collections.gridsec.ops.plugins.module_utils._sync.freshness import (
    applied_of,
    canary_presence,
    record_applied,
    status_result,
)
from ansible_collections.gridsec.ops.plugins.module_utils._sync import specs


class RucioTarget(SyncTarget):
    TYPE = "rucio"
    KINDS = frozenset([DN, TOKEN])
    CANARY_DEFAULT = "skip"  # the daily canary is no person and has no account
    OPTIONS = specs.RUCIO_OPTIONS

    @classmethod
    def spec_problems(cls, spec):
        name = spec.get("name")
        problems = []
        url_problem = check_base_url(spec.get("rucio_url"), "rucio_url", example="https://rucio-server.example.org",
                                     hint="the password and the auth token travel in request headers")
        if url_problem:
            problems.append(url_problem)
        if (spec.get("rucio_auth_type") or "userpass") == "userpass" and not (
                spec.get("rucio_username") and spec.get("rucio_password")):
            problems.append("rucio_auth_type=userpass needs rucio_username and rucio_password")
        try:
            parse_duration(spec.get("rucio_lookup_max_age") or "24h", "rucio_lookup_max_age")
        except GridsecError as err:
            problems.append(err.msg)
        return ["target %s: %s" % (name, problem) for problem in problems]

    def __init__(self, spec, ctx):
        self.spec = spec
        self.ctx = ctx
        self.name = spec["name"]
        self.result = TargetResult(self.name, self.TYPE)
        self.max_age = parse_duration(spec.get("rucio_lookup_max_age") or "24h", "rucio_lookup_max_age")
        url = spec["rucio_url"].strip().rstrip("/")
        label = url.split("://", 1)[-1].split("/", 1)[0]
        tls = dict(ctx.tls_options(spec))
        auth = spec.get("rucio_auth_type") or "userpass"
        fallback = auth == "x509" or bool(tls.get("client_cert") or tls.get("proxy_file"))
        transport = HttpTransport(url, server_label=label, credential_fallback=fallback, **tls)
        self.client = RucioClient(transport, server_label=label, account=spec.get("rucio_account") or "root",
                                  auth=auth, username=spec.get("rucio_username"),
                                  password=spec.get("rucio_password"))
        self.state = ctx.target_state(self.name)

    @property
    def label(self):
        return "rucio target %s (%s)" % (self.name, self.client.server_label)

    # -- reading ------------------------------------------------------------------------------------------------
    @staticmethod
    def lookups_of(entry):
        if entry.kind == TOKEN:
            return ra.identity_lookups(oidc_subject=entry.subject, oidc_issuer=entry.issuer)
        return ra.identity_lookups(dn=entry.value)

    def resolve(self, wanted, now):
        """``(identity id -> accounts, fresh look-up records, look-ups made)``: cached look-ups younger than
        ``rucio_lookup_max_age`` are reused; the others are asked again. Times are compared as the fixed-width
        UTC strings the records hold (no date parsing per identity)."""
        cached = self.state.get("lookups") or {}
        cutoff = _stamp(now - datetime.timedelta(seconds=self.max_age))
        mapping, records, asked = {}, {}, 0
        for ident, entry in wanted:
            record = cached.get(ident)
            if record is not None and str(record.get("at") or "") > cutoff:
                mapping[ident] = list(record.get("accounts") or [])
                records[ident] = record
                continue
            lookups = self.lookups_of(entry)
            asked += len(lookups)
            mapping[ident] = ra.accounts_of(self.client, lookups)
            records[ident] = {"value": entry.value, "accounts": mapping[ident], "at": _stamp(now)}
        return mapping, records, asked

    # -- sync ---------------------------------------------------------------------------------------------------
    def sync(self, wanted, check_mode):
        data = self.result.data
        now = ra.utcnow()
        wanted = [(key_id(e.key), e) for e in sorted(wanted.values(), key=sort_key) if e.kind in self.KINDS]
        active = self.client.active_accounts()
        mapping, records, asked = self.resolve(wanted, now)
        data["lookups"] = asked
        owned_before = self.state.get("owned") or {}
        owned = dict(owned_before) if check_mode else self.state.setdefault("owned", {})
        store = ra.StateOwnership(owned)
        behind = {}  # account -> identities (values) that map to it
        no_account = []
        for ident, entry in wanted:
            accounts = mapping[ident]
            if not accounts:
                no_account.append(entry.value)
            for account in accounts:
                behind.setdefault(account, []).append(entry.value)
        admin = self.client.account
        if admin in behind:  # suspending it would lock this sync (and the VO's admins) out of Rucio
            data["problems"] = ["%s: %s maps to the account %r this target logs in as: not suspended (suspend it by "
                                "hand, or remove the identity from that account)" % (
                                    self.client.server_label, ", ".join(behind.pop(admin)), admin)]
        to_suspend = sorted(a for a in behind if a in active)
        release = sorted(a for a in owned if a not in behind)
        kept = [a for a in behind if a not in active]
        data.update(no_account=no_account, no_account_count=len(no_account), owned_before=len(owned_before),
                    foreign_kept=sorted(a for a in kept if a not in owned))
        to_activate = self.to_reactivate(release, active, store, check_mode, data)
        data["added"] = [{"account": a, "identities": behind[a]} for a in to_suspend]
        data["removed"] = [{"account": a, "identities": owned[a].get("identities", [])} for a in to_activate]
        self.result.counts(len(kept) + len(to_activate), data["added"], data["removed"])
        data["operations"] = ["PUT /accounts/%s status=SUSPENDED" % a for a in to_suspend]
        data["operations"].extend("PUT /accounts/%s status=ACTIVE" % a for a in to_activate)
        data["changed"] = bool(to_suspend or to_activate)
        if check_mode:
            data["done"] = []
        else:
            self.write(to_suspend, to_activate, behind, store, data, now)
            self.state["lookups"] = records
            record_applied(self.state, self.ctx, data["changed"])
        data["owned_after"] = len(owned)
        if to_suspend:
            data["stale_token_window"] = ra.stale_token_window(not check_mode, now)
        self._count(data)
        return data

    def to_reactivate(self, release, active, store, check_mode, data):
        """Owned accounts no identity of the list maps to any more: re-activated when still SUSPENDED (one read
        each, only on a change: ``DELETED`` or gone accounts are not brought back); records of accounts that are
        ACTIVE again (by someone else) or gone are dropped."""
        out, dropped = [], []
        for account in release:
            status = None
            if account not in active:
                found = self.client.get_account(account)
                status = found.get("status") if found else None
            if status == ra.SUSPENDED:
                out.append(account)
            else:
                dropped.append({"account": account, "status": "ACTIVE" if account in active else status or "gone"})
                if not check_mode:
                    store.unrecord(account)
        data["released_without_write"] = dropped
        return out

    def write(self, to_suspend, to_activate, behind, store, data, now):
        done = data.setdefault("done", [])
        try:
            for account in to_suspend:
                steps = ra.plan(account, ra.ACTIVE, ra.SUSPENDED, store.owned(account), store)
                ra.apply(self.client, account, ra.SUSPENDED, steps, store, done, now=now,
                         note={"identities": behind[account]})
                store.records[account]["identities"] = behind[account]
            for account in to_activate:
                ra.apply(self.client, account, ra.ACTIVE, ra.plan(account, ra.SUSPENDED, ra.ACTIVE, True, store),
                         store, done, now=now)
        except GridsecError as err:
            if done:
                err.msg = "%s (already done before the failure: %s)" % (err.msg, "; ".join(done))
            self._count(data)
            raise
        if to_suspend or to_activate:
            self.read_back(to_suspend, to_activate, data)

    def read_back(self, suspended, activated, data):
        """One listing after the writes: a suspended account must be gone from it, a re-activated one in it
        (Rucio answers 200 to a PUT it did not apply)."""
        active = self.client.active_accounts()
        wrong = ["%s is still ACTIVE" % a for a in suspended if a in active]
        wrong.extend("%s is not ACTIVE" % a for a in activated if a not in active)
        if wrong:
            data.setdefault("problems", []).append(
                "%s: the server accepted the status change but the accounts read back say otherwise: %s"
                % (self.client.server_label, ", ".join(wrong)))

    def _count(self, data):
        data["writes"] = len([op for op in self.client.operations if op["method"] != "GET"])
        data["reads"] = len(self.client.operations) - data["writes"]

    def audit_records(self, data, check_mode):
        result = "planned" if check_mode else "done"
        records = [("suspend", {"kind": "rucio_account", "value": item["account"]},
                    {"result": result, "identities": item["identities"]}) for item in data.get("added", [])]
        records.extend(("reactivate", {"kind": "rucio_account", "value": item["account"]},
                        {"result": result, "identities": item["identities"]}) for item in data.get("removed", []))
        records.extend(("release", {"kind": "rucio_account", "value": item["account"]},
                        {"result": result, "status": item["status"]})
                       for item in data.get("released_without_write", []))
        return records

    def status(self, canary):
        """The accounts this sync suspended, read back from the server's listing of ACTIVE accounts (one read);
        one that is ACTIVE again is a problem. The daily canary has no Rucio account: never applicable here."""
        active = self.client.active_accounts()
        owned = sorted(self.state.get("owned") or {})
        again = [account for account in owned if account in active]
        problems = ["%s: %d account(s) this sync suspended are ACTIVE again: %s" % (
            self.client.server_label, len(again), ", ".join(again[:10]))] if again else []
        present, missing = canary_presence(canary, frozenset(), None)
        serial, applied = applied_of(self.state)
        return status_result(serial, applied, len(owned) - len(again), present, problems, canary_missing=missing)

    def close(self):
        close = getattr(self.client.transport, "close", None)
        if close is not None:
            close()


def _stamp(moment):
    """A naive UTC datetime as the fixed-width text kept in the state (sorts as the time does)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
