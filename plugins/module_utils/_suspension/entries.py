# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Emergency suspension list: the entry model (kinds, identity keys, token identities) and its time helpers.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

An entry is one identity (an X.509 subject DN, a VOMS FQAN or a token identity ``(issuer, subject)``) plus optional
metadata (reason, origin, added,
expires, ticket). Its identity key is computed once, when the entry is built: for a DN the semantic
``parse_dn(...).canonical()`` tuple of ``_dn.py`` (so slash form, RFC 2253 with or without spaces, ``E``/
``emailAddress`` ... collapse), for an FQAN the FQAN without ``/Role=NULL`` / ``/Capability=NULL``, for a token
``("token", issuer without trailing "/", subject)`` (tokens carry ``iss`` exactly as the issuer is configured, its
discovery document ends with ``/``: one key for both spellings; ``issuer_spellings`` gives both). Merging,
diffs against targets and the shrink guard are dictionary operations on those keys: nothing is quadratic.

Used by the sources (``_suspension/sources.py``), the merge and safety rails (``_suspension/merge.py``),
the state and audit log (``_suspension/state.py``), ``plugins/modules/suspension_list_sync.py`` and the targets
of the ``_sync`` package (one file per target type).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import re

from ansible_collections.gridsec.ops.plugins.module_utils._dn import parse_dn, parse_stored_dn
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError

DN = "dn"
FQAN = "fqan"
TOKEN = "token"
KINDS = (DN, FQAN, TOKEN)
META_FIELDS = ("reason", "origin", "added", "expires", "ticket", "name")
MAX_VALUE_LENGTH = 4096  # longer than any real DN; bounds what a hostile list can make us store
# A token ``sub`` is ASCII, at most 255 characters, case-sensitive (WLCG common JWT profile 2.1.1; dCache's
# OidcSubjectPrincipal refuses anything else). Printable ASCII only, no leading/trailing blank: every ban
# grammar strips or splits on blanks at the ends of a field.
SUBJECT_PATTERN = "^[!-~]([ -~]{0,253}[!-~])?$"
# An issuer is a URL compared as a string by the enforcers: a scheme, a host, no blank or control character.
ISSUER_PATTERN = "^[A-Za-z][A-Za-z0-9+.-]*://[^/\\s\"]+[^\\s\"]*$"
MAX_ISSUER_LENGTH = 1024


# -- time helpers ------------------------------------------------------------------------------------------------
class _Utc(datetime.tzinfo):
    def utcoffset(self, dt):
        return datetime.timedelta(0)

    def dst(self, dt):
        return datetime.timedelta(0)

    def tzname(self, dt):
        return "UTC"


UTC = _Utc()


def parse_time(text):
    """ISO 8601 date or date-time -> aware UTC datetime (a bare date means 00:00 UTC of that day)."""
    if text is None:
        return None
    value = str(text).strip().replace(" ", "T", 1)
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    match = re.match(r"^(.*[T].*[+-])(\d{2})(\d{2})$", value)
    if match:  # +0100 -> +01:00 (Python 3.9 fromisoformat needs the colon)
        value = "%s%s:%s" % match.groups()
    if "." in value:  # fromisoformat on 3.9 wants 3 or 6 fraction digits
        head, _dot, tail = value.partition(".")
        digits = re.match(r"^\d+", tail).group(0) if re.match(r"^\d+", tail) else ""
        value = "%s.%s%s" % (head, (digits + "000000")[:6], tail[len(digits):])
    try:
        if "T" in value:
            parsed = datetime.datetime.fromisoformat(value)
        else:
            parsed = datetime.datetime.combine(datetime.date.fromisoformat(value), datetime.time())
    except ValueError:
        raise ConfigError("%r is not an ISO 8601 date or date-time" % (text,), operation="parse time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def utcnow():
    return datetime.datetime.now(UTC)


def iso(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- entries -----------------------------------------------------------------------------------------------------
def normalize_fqan(text):
    """FQAN comparison form: trimmed, ``/Role=NULL`` and ``/Capability=NULL`` dropped (case kept: FQANs are
    case-sensitive)."""
    value = str(text).strip()
    value = re.sub(r"/Capability=NULL$", "", value)
    value = re.sub(r"/Role=NULL$", "", value)
    return value


#: one object for each RDN (and each RDN's comparison form) seen in this process: the DNs of a list mostly share
#: their first RDNs (``/DC=ch/DC=cern/OU=Users/...``), which are then held once, not once per entry (a list of
#: 100,000 DNs is about 1.5 KiB less per entry). Tuples of strings: sharing them changes no value.
_SHARED_RDNS = {}


def _shared(rdns):
    """``rdns`` (a tuple of RDN tuples) with each RDN replaced by the equal one already held, if any."""
    shared = _SHARED_RDNS
    return tuple([shared.setdefault(rdn, rdn) for rdn in rdns])


def stored_key(kind, key):
    """An entry key as read back from the state file (JSON turned the DN key's tuples into lists)."""
    if kind == DN:
        return (DN, _shared([tuple(map(tuple, rdn)) for rdn in key]))
    if kind == TOKEN:
        return (TOKEN, key[0], key[1])
    return (kind, key)


def normalize_issuer(text):
    """The key form of a token issuer: trimmed, without the trailing ``/`` (``issuer_spellings`` gives both)."""
    return str(text).strip().rstrip("/")


def issuer_spellings(issuer):
    """``[without "/", with "/"]``: IAM access tokens carry ``iss`` as configured (often without the final ``/``),
    its discovery document and ID tokens end with ``/``; an enforcer that compares strings needs a ban for each."""
    bare = normalize_issuer(issuer)
    return [bare, bare + "/"]


def token_value(issuer, subject):
    """The display/sort form of a token identity: ``<issuer> <subject>`` (an issuer has no blank)."""
    return "%s %s" % (issuer, subject)


def _check_token(issuer, subject):
    """``(issuer key form, subject)`` of a token identity, or ConfigError naming what is wrong."""
    iss = normalize_issuer(issuer)
    if len(iss) > MAX_ISSUER_LENGTH or not re.match(ISSUER_PATTERN, iss) or re.search("[\x00-\x1f\x7f]", iss):
        raise ConfigError("token issuer %r must be a URL (scheme://host...) without blanks, quotes or control "
                          "characters" % (issuer,))
    sub = subject if isinstance(subject, str) else str(subject)
    if not re.match(SUBJECT_PATTERN, sub):
        raise ConfigError("token subject %r must be 1-255 printable ASCII characters without leading or trailing "
                          "blanks" % (sub[:300],))
    return iss, sub


class Entry(object):
    """One suspended identity; ``key`` (computed once) is what every comparison uses: ``("dn", canonical tuple)``
    or ``("fqan", normalised FQAN)``.

    A DN given by a user (YAML/plain list, allow-list) is parsed strictly (``parse_dn``: an unknown attribute type
    is refused); a DN read back from a PAP (``stored=True``) leniently (``parse_stored_dn``), so that whatever a
    PAP holds can be seen, propagated and removed."""

    __slots__ = ("kind", "value", "dn", "key", "meta", "sources", "rfc")

    def __init__(self, kind, value, meta=None, sources=(), stored=False):
        """``value``: the DN or FQAN text; for a token identity an ``(issuer, subject)`` pair."""
        if kind not in KINDS:
            raise ConfigError("unknown entry kind %r (dn, fqan or token)" % (kind,))
        if kind == TOKEN:
            self._init_token(value, meta, sources)
            return
        text = value if isinstance(value, str) else str(value)
        if len(text) > MAX_VALUE_LENGTH:
            raise ConfigError("%s longer than %d characters" % (kind, MAX_VALUE_LENGTH))
        self.kind = kind
        self.meta = dict((k, v) for k, v in (meta or {}).items() if k in META_FIELDS and v not in (None, ""))
        self.sources = list(sources)
        self.rfc = None
        if kind == DN:
            self.dn = parse_stored_dn(text) if stored else parse_dn(text)
            self.value = self.dn.to_openssl()
            self.key = (DN, _shared(self.dn.canonical()))
            self.rfc = self.dn.to_rfc2253()
            self.dn.rdns = _shared(self.dn.rdns)
        else:
            fqan = normalize_fqan(text)
            if not fqan.startswith("/") or len(fqan) < 2 or any(ord(c) < 32 for c in fqan):
                raise ConfigError("FQAN %r must start with '/' and contain no control character" % (text,))
            self.dn = None
            self.value = fqan
            self.key = (FQAN, fqan)

    def _init_token(self, value, meta, sources):
        issuer, subject = _check_token(*value)
        self.kind = TOKEN
        self.meta = dict((k, v) for k, v in (meta or {}).items() if k in META_FIELDS and v not in (None, ""))
        self.sources = list(sources)
        self.rfc = None
        self.dn = None
        self.value = token_value(issuer, subject)
        self.key = (TOKEN, issuer, subject)

    @property
    def issuer(self):
        """A token identity's issuer (key form, no trailing ``/``); None for a DN or FQAN."""
        return self.key[1] if self.kind == TOKEN else None

    @property
    def subject(self):
        """A token identity's ``sub``; None for a DN or FQAN."""
        return self.key[2] if self.kind == TOKEN else None

    @property
    def rfc2253(self):
        return self.rfc if self.rfc is not None else self.value

    @property
    def pap_literal(self):
        """What an Argus PAP stores for this identity (``to_pap_literal``: canl's conversion of the slash form,
        only ``,`` escaped, or the RFC 2253 form when that would name another DN), the one literal every writer
        of this collection uses; an FQAN as is."""
        if self.kind != DN:
            return self.value
        # an entry from the state file has no parsed DN: its RFC 2253 form (a slash form may be ambiguous) is
        return (self.dn if self.dn is not None else parse_dn(self.rfc2253, strict=False)).to_pap_literal()

    @classmethod
    def trusted(cls, data, sources=()):
        """An entry from the state file (written by ``cache_dict``): key and forms as stored, no re-parsing.

        Only used for data this module wrote itself (0600 state file); anything else goes through ``__init__``.
        An item written with ``compact=True`` (its key as JSON text under ``k``) gives a ``StoredEntry``.
        """
        compact = "k" in data
        if not compact and "key" not in data:
            value = (data["issuer"], data["subject"]) if data["kind"] == TOKEN else data["value"]
            return cls(data["kind"], value, dict((k, data.get(k)) for k in META_FIELDS), sources)
        entry = StoredEntry.__new__(StoredEntry) if compact else cls.__new__(cls)
        entry.kind = data["kind"]
        entry.value = data["value"]
        entry.dn = None
        entry.rfc = data.get("rfc2253")
        entry.sources = list(sources)
        if compact:
            # the key tuple and the meta dict are built when first used (StoredEntry.key, StoredEntry.meta): a
            # no-op whose merge is skipped reads kind and value alone
            entry.key_text = data["k"]
            entry.item = data
        else:
            entry.meta = dict((k, data[k]) for k in META_FIELDS if data.get(k) not in (None, ""))
            entry.key = stored_key(entry.kind, data["key"])
        return entry

    def label(self):
        return "%s %s" % (self.kind, self.value)

    def to_dict(self, with_meta=True):
        out = {"kind": self.kind, "value": self.value}
        if self.kind == DN:
            out["rfc2253"] = self.rfc2253
        elif self.kind == TOKEN:
            out["issuer"], out["subject"] = self.key[1], self.key[2]
        if with_meta:
            out.update(self.meta)
            if self.sources:
                out["sources"] = list(self.sources)
        return out

    def cache_dict(self, with_sources=False, compact=False):
        """JSON-ready dict (``json.dumps`` writes the key's tuples as lists; ``trusted`` turns them back); with the
        names of the sources that list the entry when ``with_sources``; with the key as one JSON text (``k``, read
        back only when the key is used: ``StoredEntry``) when ``compact``."""
        key = list(self.key[1:]) if self.kind == TOKEN else self.key[1]
        if compact:
            out = {"kind": self.kind, "value": self.value, "k": json.dumps(key, ensure_ascii=False, separators=(",", ":"))}
        else:
            out = {"kind": self.kind, "value": self.value, "key": key}
        if self.kind == DN:
            out["rfc2253"] = self.rfc2253
        out.update(self.meta)
        if with_sources and self.sources:
            out["sources"] = list(self.sources)
        return out

    @classmethod
    def from_cache(cls, data):
        return cls.trusted(data)

    def __repr__(self):
        return "Entry(%r, %r)" % (self.kind, self.value)


_KEY_SLOT = Entry.__dict__["key"]
_META_SLOT = Entry.__dict__["meta"]


class StoredEntry(Entry):
    """An entry of the last good list read back from the state (``Entry.trusted`` of a compact item): its key
    tuple is built from ``key_text``, its meta from ``item`` (the state's dict, never changed) when first used (a
    run that only counts or digests the list builds neither)."""

    __slots__ = ("key_text", "item")

    def _get_meta(self):
        try:
            return _META_SLOT.__get__(self, Entry)
        except AttributeError:
            item = self.item
            meta = dict((k, item[k]) for k in META_FIELDS if item.get(k) not in (None, ""))
            _META_SLOT.__set__(self, meta)
            return meta

    def _set_meta(self, value):
        _META_SLOT.__set__(self, value)

    meta = property(_get_meta, _set_meta)

    def _get_key(self):
        try:
            return _KEY_SLOT.__get__(self, Entry)
        except AttributeError:
            key = stored_key(self.kind, json.loads(self.key_text))
            _KEY_SLOT.__set__(self, key)
            return key

    def _set_key(self, value):
        _KEY_SLOT.__set__(self, value)

    key = property(_get_key, _set_key)


def stored_item_key(item):
    """The key of a state item written by ``cache_dict`` (compact or not) without building an Entry."""
    if "k" in item:
        return stored_key(item["kind"], json.loads(item["k"]))
    return stored_key(item["kind"], item["key"])


def key_id(key):
    """Short stable text id of an entry key (for rule ids and state files)."""
    return hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:24]


def sort_key(entry):
    return (entry.kind, entry.value)


# -- identities given in options (allow-list, overrides) and plain-list token lines ---------------------------
def _is_token_line(text):
    """``token <issuer> <subject>`` (no DN starts with the word ``token`` and a blank: no such attribute type)."""
    return text[:6].lower() == "token" + text[5:6] and text[5:6] in (" ", "\t")


def _token_line(text):
    """``(issuer, subject)`` of a ``token <issuer> <subject>`` line (subject: the rest of the line, trimmed)."""
    parts = text[6:].strip().split(None, 1)
    if len(parts) != 2:
        raise ConfigError("a token line is 'token <issuer> <subject>'")
    return parts[0], parts[1].strip()


def _is_fqan(text):
    """A FQAN (``/vo/group/Role=r``) starts with ``/`` and its first component has no ``=``; a slash DN's has."""
    text = str(text).strip()
    return text.startswith("/") and "=" not in text[1:].split("/", 1)[0]


def identity_entry(text, option="allow_list"):
    """An Entry for an allow-list / override item: FQAN or DN (any form), told apart by ``_is_fqan``, or a token
    identity (``token <issuer> <subject>``, or a dict with ``issuer`` and ``subject``); a DN is parsed strictly
    (an unknown attribute type is refused, naming the option and the item)."""
    try:
        if isinstance(text, dict):
            return Entry(TOKEN, (text.get("issuer", ""), text.get("subject", "")))
        if _is_token_line(str(text).strip()):
            return Entry(TOKEN, _token_line(str(text).strip()))
        return Entry(FQAN if _is_fqan(text) else DN, str(text).strip())
    except GridsecError as err:
        raise ConfigError("%s item %r: %s" % (option, text, err.msg), operation="check options")


__all__ = ["DN", "FQAN", "TOKEN", "KINDS", "META_FIELDS", "MAX_VALUE_LENGTH", "SUBJECT_PATTERN", "ISSUER_PATTERN",
           "MAX_ISSUER_LENGTH", "UTC", "parse_time", "utcnow", "iso", "normalize_fqan", "stored_key",
           "normalize_issuer", "issuer_spellings", "token_value", "Entry", "StoredEntry", "stored_item_key", "key_id", "sort_key", "identity_entry"]
