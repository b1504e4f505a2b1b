# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Emergency suspension list: the deterministic merge of the sources and the safety rails on the merged list.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Merge (duplicates collapse on the entry key, metadata combined), allow-list and overrides, expiry, the shrink
guard against the last good list, drops recorded once, the central PAP's daily canary. Dictionary operations
on the keys of ``_suspension/entries.py``: nothing is quadratic.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import parse_canary, parse_canary_subject
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import (
    DN,
    TOKEN,
    Entry,
    identity_entry,
    key_id,
    parse_time,
    sort_key,
)


class GuardError(GridsecError):
    """A safety rail refused the run (empty source, shrink over the limit, failed source without cache)."""

    kind = "guard"


# -- merge -------------------------------------------------------------------------------------------------------
def merge(source_lists):
    """Merge ``[(source name, [Entry])]`` in order: duplicates (same key) collapse, metadata is combined.

    Deterministic: the first value seen is kept, reason/ticket/origin from the first source that has them,
    ``added`` the earliest, ``expires`` the latest (an entry without ``expires`` in any source never expires).
    Returns a dict key -> Entry.
    """
    merged = {}
    for _name, entries in source_lists:
        for entry in entries:
            have = merged.get(entry.key)
            if have is None:
                merged[entry.key] = Entry.__new__(Entry)
                copy_entry(entry, merged[entry.key])
                continue
            for source in entry.sources:
                if source not in have.sources:
                    have.sources.append(source)
            for field in ("reason", "ticket", "origin"):
                if field not in have.meta and field in entry.meta:
                    have.meta[field] = entry.meta[field]
            if "added" in entry.meta:
                if "added" not in have.meta or parse_time(entry.meta["added"]) < parse_time(have.meta["added"]):
                    have.meta["added"] = entry.meta["added"]
            if "expires" not in entry.meta:
                have.meta.pop("expires", None)
                have.meta["_permanent"] = True
            elif not have.meta.get("_permanent") and "expires" in have.meta and \
                    parse_time(entry.meta["expires"]) > parse_time(have.meta["expires"]):
                have.meta["expires"] = entry.meta["expires"]
    for entry in merged.values():
        entry.meta.pop("_permanent", None)
    return merged


def copy_entry(src, dst):
    # every slot of Entry, spelled out (once per entry per run); meta and sources are the mutable ones
    dst.kind, dst.value, dst.dn, dst.key, dst.rfc = src.kind, src.value, src.dn, src.key, src.rfc
    dst.meta = dict(src.meta)
    dst.sources = list(src.sources)
    if "expires" not in dst.meta:
        dst.meta["_permanent"] = True


# -- safety ------------------------------------------------------------------------------------------------------
class AllowList(object):
    """Protected identities: exact DNs/FQANs (semantic) and regular expressions (matched, with ``re.search``,
    against the OpenSSL form and the RFC 2253 form of a DN, or against an FQAN)."""

    def __init__(self, identities=(), patterns=()):
        self.keys = set()
        for text in identities or ():
            self.keys.add(identity_entry(text, "allow_list").key)
        self.patterns = []
        for pattern in patterns or ():
            try:
                self.patterns.append(re.compile(pattern))
            except re.error as err:
                raise ConfigError("allow_patterns: %r is not a valid regular expression: %s" % (pattern, err),
                                  operation="allow-list")

    def match(self, entry):
        """The reason an entry is protected (``"identity"`` or ``"pattern <re>"``), else None."""
        if entry.key in self.keys:
            return "allow_list identity"
        forms = (entry.value, entry.rfc2253) if entry.kind == DN else (entry.value,)
        for pattern in self.patterns:
            if any(pattern.search(form) for form in forms):
                return "allow_patterns %s" % pattern.pattern
        return None


def apply_allow_list(merged, allow, overrides):
    """Drop protected entries unless overridden; returns ``(kept dict, protected [dict], overridden [dict])``."""
    kept, protected, overridden = apply_allow_list_keyed(merged, allow, overrides)
    return kept, [item for _key, item in protected], [item for _key, item in overridden]


def apply_allow_list_keyed(merged, allow, overrides):
    """``apply_allow_list`` with each protected/overridden dict paired with its entry key: ``(kept dict,
    [(key, dict)], [(key, dict)])`` (entries read leniently from a PAP are never re-parsed)."""
    override_keys = set(identity_entry(o, "allow_override").key for o in overrides or ())
    kept, protected, overridden = {}, [], []
    for key, entry in merged.items():
        why = allow.match(entry)
        if why is None:
            kept[key] = entry
        elif key in override_keys:
            kept[key] = entry
            overridden.append((key, dict(entry.to_dict(), protected_by=why)))
        else:
            protected.append((key, dict(entry.to_dict(), protected_by=why)))
    protected.sort(key=lambda pair: (pair[1]["kind"], pair[1]["value"]))
    overridden.sort(key=lambda pair: (pair[1]["kind"], pair[1]["value"]))
    return kept, protected, overridden


def newly_dropped(previous, keys):
    """Keys of ``keys`` that were not dropped the same way by the last run (``previous``: the ``key_id`` list kept
    in the state, or None): the audit log records a drop when it starts, not on every run."""
    before = set(previous or ())
    return [key for key in keys if key_id(key) not in before]


# -- the central team's daily canary -------------------------------------------------------------------------------
def canary_keys(merged):
    """Keys of the entries that are the central team's daily canary: its DN (format of
    ``_argus.canary_format.parse_canary``) or its token identity (``_argus.canary_format.parse_canary_subject``), test identities
    that prove propagation to every enforcer, no person behind them."""
    return set(entry.key for entry in merged.values()
               if (entry.kind == DN and parse_canary(entry.value) is not None)
               or (entry.kind == TOKEN and parse_canary_subject(entry.subject) is not None))


# -- expiry and the shrink guard ---------------------------------------------------------------------------------
def drop_expired(merged, now):
    """Remove entries whose ``expires`` is in the past; returns ``(kept dict, expired [Entry])``."""
    kept, expired = {}, []
    for key, entry in merged.items():
        expires = entry.meta.get("expires")
        if expires is not None and parse_time(expires) <= now:
            expired.append(entry)
        else:
            kept[key] = entry
    expired.sort(key=sort_key)
    return kept, expired


def shrink_check(new_keys, last_keys, max_count, max_fraction):
    """Problem text when the list shrank more than allowed relative to the last good list, else None."""
    if last_keys is None:
        return None
    removed = len(set(last_keys) - set(new_keys))
    if max_count is not None and removed > max_count:
        return ("the merged list would remove %d entries of the last good list (%d entries), more than "
                "max_shrink_count=%d" % (removed, len(last_keys), max_count))
    if max_fraction is not None and last_keys and float(removed) / len(last_keys) > max_fraction:
        return ("the merged list would remove %d of the %d entries of the last good list (%.1f%%), more than "
                "max_shrink_fraction=%s" % (removed, len(last_keys), 100.0 * removed / len(last_keys), max_fraction))
    return None


__all__ = ["GuardError", "merge", "copy_entry", "AllowList", "apply_allow_list", "apply_allow_list_keyed",
           "newly_dropped", "canary_keys", "drop_expired", "shrink_check"]
