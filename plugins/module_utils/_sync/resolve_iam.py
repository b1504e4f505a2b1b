# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""``resolve_tokens`` of ``suspension_list_sync``: expand DN entries to the token identities of the same people
through INDIGO IAM.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

A person suspended by certificate DN keeps getting tokens from the VO's IAM unless the token identity is banned
too. IAM links certificates to accounts, and every token IAM issues for an account carries ``iss`` = IAM's issuer
and ``sub`` = the account UUID (indigo-iam ``IamUserInfo.getSub()``). So, for each DN entry of the merged list:

1. ``GET /iam/account/find/bycertsubject`` with the RFC 2253 form (IAM compares strings exactly; a hit is
   confirmed by comparing the stored subject semantically); IAM's finder answers a server error when two
   accounts hold the subject;
2. DNs the finder did not find (another spelling stored: a ``subjectDn`` given without a PEM is stored verbatim,
   a login through the reverse proxy stores the proxy's header form) are looked up in ONE paged read of
   ``/scim/Users`` per run, indexed by the semantic DN key (``dn_scan``, default on): never one scan per DN;
3. each account found gives a token entry ``(issuer, account UUID)`` with the DN entry's metadata, the account's
   name (``name`` claim: the PanDA target derives the token user's PanDA name from it) and ``derived_from``.

Decisions (docs/sync-targets.md):

- a DN on no account is reported (``no_account``), not an error;
- a DN on several accounts bans ALL of them (each account holds the suspended certificate and can act as the
  person) and is reported under ``ambiguous`` with a warning;
- a derived identity that the list already names keeps the list's entry (``already_listed``);
- the allow-list applies to derived identities as to listed ones; a protected DN is never expanded;
- IAM unreachable or refusing: like a source, ``on_failure: fail`` (default) fails the run before any target is
  touched; ``use_cache`` uses the mapping of the last successful resolution (kept in the sync's state, at most
  ``cache_max_age`` old), says so in the result and the audit log, and warns.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._suspension import entries as sl_entries
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import state as sl_state
from ansible_collections.gridsec.ops.plugins.module_utils._dn import DNError, dn_key
from ansible_collections.gridsec.ops.plugins.module_utils._errors import GridsecError, RemoteError
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
from ansible_collections.gridsec.ops.plugins.module_utils._iam.client import READ_SCOPES, IamClient, user_extension
from ansible_collections.gridsec.ops.plugins.module_utils._iam.module import check_iam_url
from ansible_collections.gridsec.ops.plugins.module_utils._sync import specs

#: the suboptions of one ``resolve_tokens`` item besides the TLS options (``specs.py``, where the module takes them)
OPTIONS = specs.RESOLVE_OPTIONS

#: the ``SyncContext.memo`` key of an IAM account look-up by DN: ``(MEMO_ACCOUNTS, IAM base URL, entry key)``
MEMO_ACCOUNTS = "iam-accounts-by-dn"
#: the state key prefix of a resolver's cache (``SyncContext.target_state``)
STATE_PREFIX = "resolve_tokens:"


class ResolveFailed(GridsecError):
    """The resolution through IAM failed and no usable cache stands in: the run must not touch any target."""

    kind = "source"


# -- the IAM connection (shared with the ``iam`` target) ------------------------------------------------------------
def iam_problems(spec, what):
    """Option problems of an IAM connection (no I/O): ``what`` prefixes each message."""
    problems = []
    url_problem = check_iam_url(spec.get("iam_url"))
    if url_problem:
        problems.append(url_problem)
    if spec.get("iam_issuer"):
        issuer_problem = check_iam_url(spec["iam_issuer"], "iam_issuer")
        if issuer_problem:
            problems.append(issuer_problem)
    if not spec.get("bearer_token") and not (spec.get("client_id") and spec.get("client_secret")):
        problems.append("IAM authentication: give bearer_token, or client_id and client_secret of an admin client")
    return ["%s: %s" % (what, problem) for problem in problems]


def iam_client(spec, ctx, scopes):
    """An ``IamClient`` from an ``iam_url``/credential spec, with the spec's TLS options (else the module's). No
    grid-environment credential: IAM's admin API authenticates with the OAuth token."""
    url = spec["iam_url"].strip().rstrip("/")
    label = url.split("://", 1)[-1].split("/", 1)[0]
    transport = HttpTransport(url, server_label=label, credential_fallback=False, **ctx.tls_options(spec))
    return IamClient(transport, server_label=label, client_id=spec.get("client_id"),
                     client_secret=spec.get("client_secret"), bearer_token=spec.get("bearer_token"), scopes=scopes,
                     issuer=spec.get("iam_issuer"))


def close_client(client):
    close = getattr(client.transport, "close", None)
    if close is not None:
        close()


# -- DN -> accounts ---------------------------------------------------------------------------------------------------
def cert_keys(user):
    """The semantic keys of the certificate subjects linked to a SCIM user (unreadable subjects skipped)."""
    keys = []
    certificates = user_extension(user).get("certificates") or []
    if not isinstance(certificates, list):
        raise RemoteError("reply is not a SCIM user: certificates is %s, not a list" % type(certificates).__name__)
    for cert in certificates:
        subject = cert.get("subjectDn") if isinstance(cert, dict) else None
        if not subject:
            continue
        try:
            keys.append(dn_key(subject))
        except DNError:
            continue  # junk stored by another tool: it can name none of our (parsed) DNs
    return keys


def accounts_by_dn(client, dn_entries, scan=True, memo=None, fill=True):
    """``({entry key: [SCIM user]}, reads)`` for DN entries: the finder by certificate subject (RFC 2253, exact)
    confirmed semantically, then one paged read of ``/scim/Users`` for the DNs it did not find (``scan``). A DN on
    no account is absent from the dict.

    ``memo`` (``SyncContext.memo``): what an earlier look-up of this run found on the same IAM, so that the ``iam``
    target does not look up again every DN ``resolve_tokens`` just looked up (``fill``: record this look-up; the
    target reads it without recording, since it changes the accounts it found)."""
    memo = {} if memo is None else memo
    server = getattr(client, "base_url", "")
    found, missing = {}, []
    for entry in dn_entries:
        known = memo.get((MEMO_ACCOUNTS, server, entry.key))
        if known is not None and (known[0] or known[1] or not scan):
            if known[0]:
                found[entry.key] = known[0]
            continue  # found earlier, or looked for by the finder and the scan as this call would
        wanted = entry.key[1]
        try:
            hits = client.find_by_cert_subject(entry.rfc2253)
        except RemoteError as err:
            if int(err.details.get("status") or 0) < 500:
                raise
            hits = []  # IAM's finder fails with a server error when two accounts hold the subject: scan
        hits = [user for user in hits if wanted in cert_keys(user)]
        if hits:
            found[entry.key] = hits
        else:
            missing.append(entry)
    if missing and scan:
        index = {}
        for user in client.iter_users():
            for key in set(cert_keys(user)):
                index.setdefault(key, []).append(user)
        for entry in missing:
            if entry.key[1] in index:
                found[entry.key] = index[entry.key[1]]
    if fill:
        for entry in dn_entries:
            # (users, whether the scan looked too): a DN neither found nor scanned for may still be found by a scan
            memo[(MEMO_ACCOUNTS, server, entry.key)] = (found.get(entry.key, []),
                                                        entry.key in found or bool(scan))
    return found


def account_identity(user, issuer):
    """The cache/result form of an account as a token identity of ``issuer``."""
    name = user.get("name") if isinstance(user.get("name"), dict) else {}
    return {"issuer": issuer, "subject": user.get("id"), "username": user.get("userName"),
            "name": name.get("formatted") or None}


# -- one resolver -------------------------------------------------------------------------------------------------------
class IamResolver(object):
    """One ``resolve_tokens`` item of type ``iam``."""

    def __init__(self, spec, ctx):
        self.spec = spec
        self.ctx = ctx
        self.name = spec["name"]
        self.max_age = sl_state.parse_duration(spec.get("cache_max_age") or "24h", "cache_max_age")
        self.cache = ctx.target_state(STATE_PREFIX + self.name)
        self.client = None

    @classmethod
    def spec_problems(cls, spec):
        problems = iam_problems(spec, "resolve_tokens %s" % spec.get("name"))
        try:
            sl_state.parse_duration(spec.get("cache_max_age") or "24h", "cache_max_age")
        except GridsecError as err:
            problems.append("resolve_tokens %s: %s" % (spec.get("name"), err.msg))
        return problems

    def mapping(self, dn_entries, now, report):
        """``{DN key_id: [identity dict]}`` of the DN entries: from IAM, else (``use_cache``) from the last good
        resolution; raises ``ResolveFailed`` when neither can be used."""
        try:
            self.client = iam_client(self.spec, self.ctx, READ_SCOPES)
            found = accounts_by_dn(self.client, dn_entries, scan=self.spec.get("dn_scan", True) is not False,
                                   memo=self.ctx.memo)
            issuer = self.client.issuer
            mapping = dict((sl_entries.key_id(key), [account_identity(user, issuer) for user in users])
                           for key, users in found.items())
        except GridsecError as err:
            return self.cached(err, now, report)
        finally:
            if self.client is not None:
                report["reads"] = len(self.client.operations)
                close_client(self.client)
        stamp = self.cache.get("time")
        if stamp and self.cache.get("issuer") == issuer and self.cache.get("mapping") == mapping:
            age = (now - sl_entries.parse_time(stamp)).total_seconds()
            if 0 <= age < self.max_age / 4:
                # the same mapping, recently confirmed: leave the state's bytes alone (a run that changes nothing
                # writes nothing). The recorded time is then at most a quarter of cache_max_age older than the last
                # successful resolution: on_failure=use_cache errs on the side of refusing a cache.
                return mapping
        self.cache.update(time=sl_entries.iso(now), issuer=issuer, mapping=mapping)
        return mapping

    def cached(self, err, now, report):
        why = "resolve_tokens %s: IAM could not be read: %s" % (self.name, err)
        report.update(status="failed", error=str(err))
        if (self.spec.get("on_failure") or "fail") != "use_cache":
            raise ResolveFailed(why, server="resolve_tokens %s" % self.name, operation=err.operation)
        stamp = self.cache.get("time")
        age = (now - sl_entries.parse_time(stamp)).total_seconds() if stamp else None
        if age is None or age > self.max_age:
            raise ResolveFailed("%s (on_failure=use_cache, but %s)" % (
                why, "there is no earlier resolution" if age is None else
                "the last resolution is from %s, %s old, older than cache_max_age=%s" % (
                    stamp, sl_state.format_age(age), self.spec.get("cache_max_age") or "24h")),
                server="resolve_tokens %s" % self.name, operation=err.operation)
        report.update(status="cached", last_resolved=stamp, cache_age=sl_state.format_age(age),
                      cache_age_seconds=int(age))
        self.ctx.warn("%s; using the DN -> token mapping of the last resolution (%s, %s old)"
                      % (why, stamp, sl_state.format_age(age)))
        return self.cache.get("mapping") or {}


# -- the sync's step ------------------------------------------------------------------------------------------------------
def spec_problems(specs):
    problems = []
    seen = set()
    for spec in specs or ():
        if spec["name"] in seen:
            problems.append("resolve_tokens: name %r is used twice" % spec["name"])
        seen.add(spec["name"])
        problems.extend(IamResolver.spec_problems(spec))
    return problems


def derived_entry(dn_entry, identity, resolver):
    """The token entry of ``identity`` derived from ``dn_entry``: the DN entry's metadata, the account's name, and
    ``derived_from`` (the DN) / ``derived_by`` (the resolver) set after validation (no list may carry them)."""
    meta = dict(dn_entry.meta)
    meta.pop("name", None)
    if identity.get("name"):
        meta["name"] = identity["name"]
    entry = sl_entries.Entry(sl_entries.TOKEN, (identity["issuer"], identity["subject"]), meta, sources=list(dn_entry.sources))
    entry.meta["derived_from"] = dn_entry.value
    entry.meta["derived_by"] = "resolve_tokens:%s" % resolver
    return entry


def expand(specs, merged, ctx, now, skip=()):
    """Add to ``merged`` the token identities of its DN entries for every ``resolve_tokens`` item (``skip``: keys
    of DN entries that are no person, the daily canary).

    Returns ``(merged with the derived entries, {derived key: entry}, reports, audit records)``; raises
    ``ResolveFailed`` (nothing touched yet) when a resolver cannot read IAM and has no usable cache. Derived
    entries are returned apart so that the caller applies the allow-list to them."""
    if not specs:
        return merged, {}, [], []
    dn_entries = sorted((e for key, e in merged.items() if e.kind == sl_entries.DN and key not in skip), key=sl_entries.sort_key)
    derived, reports, audit = {}, [], []
    for spec in specs:
        resolver = IamResolver(spec, ctx)
        previous = dict(resolver.cache.get("mapping") or {})
        report = {"name": spec["name"], "type": spec.get("type") or "iam", "status": "ok", "dns": len(dn_entries),
                  "reads": 0}
        mapping = resolver.mapping(dn_entries, now, report)
        rows, no_account, ambiguous, listed = [], [], [], []
        for dn_entry in dn_entries:
            ident = sl_entries.key_id(dn_entry.key)
            identities = mapping.get(ident) or []
            if not identities:
                no_account.append(dn_entry.value)
                continue
            if len(identities) > 1:
                ambiguous.append({"dn": dn_entry.value, "accounts": [
                    "%s (%s)" % (i.get("subject"), i.get("username")) for i in identities]})
            for identity in identities:
                entry = derived_entry(dn_entry, identity, spec["name"])
                row = dict(dn=dn_entry.value, issuer=entry.issuer, subject=entry.subject,
                           username=identity.get("username"), name=identity.get("name"))
                if entry.key in merged:
                    listed.append(row)
                    continue
                rows.append(row)
                derived.setdefault(entry.key, entry)
                if ident not in previous or identity not in previous[ident]:
                    audit.append(("derive", entry, {"result": "derived", "dn": dn_entry.value,
                                                    "username": identity.get("username")}))
        if ambiguous:
            ctx.warn("resolve_tokens %s: %d DN(s) are linked to several IAM accounts; every one of them is suspended: "
                     "%s" % (spec["name"], len(ambiguous), "; ".join(
                         "%s -> %s" % (a["dn"], ", ".join(a["accounts"])) for a in ambiguous[:5])))
        report.update(derived=rows, derived_count=len(rows), no_account=no_account,
                      no_account_count=len(no_account), ambiguous=ambiguous, already_listed=listed)
        reports.append(report)
    out = dict(merged)
    for key, entry in derived.items():
        out.setdefault(key, entry)
    return out, derived, reports, audit


__all__ = ["OPTIONS", "ResolveFailed", "expand", "spec_problems", "accounts_by_dn", "iam_client", "iam_problems"]
