# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Emergency suspension list: entries, sources, merge, safety rails, state cache and audit log.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

An entry is one identity (an X.509 subject DN, a VOMS FQAN or a token identity ``(issuer, subject)``) plus optional
metadata (reason, origin, added,
expires, ticket). Its identity key is computed once, when the entry is built: for a DN the semantic
``parse_dn(...).canonical()`` tuple of ``_dn.py`` (so slash form, RFC 2253 with or without spaces, ``E``/
``emailAddress`` ... collapse), for an FQAN the FQAN without ``/Role=NULL`` / ``/Capability=NULL``, for a token
``("token", issuer without trailing "/", subject)`` (tokens carry ``iss`` exactly as the issuer is configured, its
discovery document ends with ``/``: one key for both spellings; ``issuer_spellings`` gives both). Merging,
diffs against targets and the shrink guard are dictionary operations on those keys: nothing is quadratic.

Used by ``plugins/modules/suspension_list_sync.py``; the targets live in the ``_sync`` package (one file per target type).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import getpass
import hashlib
import json
import os
import re
import tempfile
import traceback

from ansible_collections.gridsec.ops.plugins.module_utils._argus_canary import parse_canary, parse_canary_subject
from ansible_collections.gridsec.ops.plugins.module_utils._dn import (
    DNError,
    parse_dn,
    parse_stored_dn,
)
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._http import TLS_KEYS, HttpTransport, transport_options

YAML_IMPORT_ERROR = None
try:
    import yaml
except ImportError:  # pragma: no cover - depends on the managed node
    yaml = None
    YAML_IMPORT_ERROR = traceback.format_exc()

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

# The JSON Schema of a YAML/JSON suspension list. The same document is shipped for users as
# meta/suspension-list.schema.json (a unit test keeps both identical). It is embedded here because a module
# runs on the managed node, where only module_utils travel with it.
LIST_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://github.com/gridsec/gridsec.ops/meta/suspension-list.schema.json",
    "title": "gridsec.ops emergency suspension list",
    "description": "Identities (X.509 subject DNs, VOMS FQANs or token issuer + subject) to suspend everywhere, "
                   "with optional metadata.",
    "type": "object",
    "required": ["version", "entries"],
    "additionalProperties": False,
    "properties": {
        "version": {"type": "integer", "enum": [1]},
        "generated": {"type": "string", "maxLength": 64},
        "origin": {"type": "string", "maxLength": 256},
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "minProperties": 1,
                "properties": {
                    "dn": {"type": "string", "minLength": 2, "maxLength": MAX_VALUE_LENGTH},
                    "fqan": {"type": "string", "minLength": 2, "maxLength": 1024, "pattern": "^/"},
                    "issuer": {"type": "string", "minLength": 4, "maxLength": MAX_ISSUER_LENGTH,
                               "pattern": ISSUER_PATTERN},
                    "subject": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": SUBJECT_PATTERN},
                    "reason": {"type": "string", "maxLength": 1024},
                    "origin": {"type": "string", "maxLength": 256},
                    "added": {"type": "string", "maxLength": 64,
                              "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9]{2}:?[0-9]{2})?)?$"},
                    "expires": {"type": "string", "maxLength": 64,
                                "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9]{2}:?[0-9]{2})?)?$"},
                    "ticket": {"type": "string", "maxLength": 256},
                    # a token identity's ``name`` claim: PanDA names a token user after it (the sync's PanDA target
                    # bans that name besides the bare subject)
                    "name": {"type": "string", "minLength": 1, "maxLength": 256},
                },
                "dependentRequired": {"issuer": ["subject"], "subject": ["issuer"], "name": ["subject"]},
                "oneOf": [{"required": ["dn"]}, {"required": ["fqan"]}, {"required": ["issuer", "subject"]}],
            },
        },
    },
}

_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


class SourceError(GridsecError):
    """A source could not be read or is not a valid suspension list (names the source and the operation)."""

    kind = "source"


class GuardError(GridsecError):
    """A safety rail refused the run (empty source, shrink over the limit, failed source without cache)."""

    kind = "guard"


# -- schema validation (the subset of JSON Schema LIST_SCHEMA uses; no third-party library needed) -------------
def _type_ok(value, wanted):
    if wanted == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if wanted == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[wanted])


def schema_errors(value, schema=None, path="$", limit=20):
    """Problems of ``value`` against ``schema`` (default ``LIST_SCHEMA``) as ``"<json path>: <problem>"`` strings.

    Implements the keywords the shipped schema uses: type, enum, required, properties, additionalProperties,
    minProperties, items, minLength, maxLength, pattern, oneOf, dependentRequired.
    """
    schema = LIST_SCHEMA if schema is None else schema
    errors = []

    def walk(val, sch, where):
        if len(errors) >= limit:
            return
        wanted = sch.get("type")
        if wanted and not _type_ok(val, wanted):
            errors.append("%s: expected %s, got %s" % (where, wanted, type(val).__name__))
            return
        if "enum" in sch and val not in sch["enum"]:
            errors.append("%s: %r is not one of %r" % (where, val, sch["enum"]))
        if isinstance(val, str):
            if len(val) < sch.get("minLength", 0):
                errors.append("%s: shorter than %d characters" % (where, sch["minLength"]))
            if "maxLength" in sch and len(val) > sch["maxLength"]:
                errors.append("%s: longer than %d characters" % (where, sch["maxLength"]))
            if "pattern" in sch and not re.search(sch["pattern"], val):
                errors.append("%s: %r does not match %s" % (where, val[:80], sch["pattern"]))
        if isinstance(val, dict):
            for key in sch.get("required", ()):
                if key not in val:
                    errors.append("%s: missing required property %r" % (where, key))
            for key, needs in sorted(sch.get("dependentRequired", {}).items()):
                if key in val:
                    errors.extend("%s: %r needs %r" % (where, key, need) for need in needs if need not in val)
            if len(val) < sch.get("minProperties", 0):
                errors.append("%s: empty object" % where)
            props = sch.get("properties", {})
            for key in sorted(val, key=str):
                if key in props:
                    walk(val[key], props[key], "%s.%s" % (where, key))
                elif sch.get("additionalProperties") is False:
                    errors.append("%s: unknown property %r" % (where, key))
            if "oneOf" in sch:
                matching = [alt for alt in sch["oneOf"] if not all_errors(val, alt)]
                if len(matching) != 1:
                    errors.append("%s: must have exactly one of %s" % (
                        where, " / ".join(",".join(alt.get("required", ())) for alt in sch["oneOf"])))
        if isinstance(val, list) and "items" in sch:
            for index, item in enumerate(val):
                walk(item, sch["items"], "%s[%d]" % (where, index))

    def all_errors(val, sch):
        return schema_errors(val, dict(sch, type=sch.get("type", "object")), path, 1)

    walk(value, schema, path)
    return errors


# -- time helpers ------------------------------------------------------------------------------------------------
def _to_text_time(value):
    """YAML turns ``2026-01-01`` into a date: give it back as ISO text (validated by the schema afterwards)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


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


def stored_key(kind, key):
    """An entry key as read back from the state file (JSON turned the DN key's tuples into lists)."""
    if kind == DN:
        return (DN, tuple([tuple(map(tuple, rdn)) for rdn in key]))
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
            self.key = (DN, self.dn.canonical())
            self.rfc = self.dn.to_rfc2253()
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
        """
        if "key" not in data:
            value = (data["issuer"], data["subject"]) if data["kind"] == TOKEN else data["value"]
            return cls(data["kind"], value, dict((k, data.get(k)) for k in META_FIELDS), sources)
        entry = cls.__new__(cls)
        entry.kind = data["kind"]
        entry.value = data["value"]
        entry.dn = None
        entry.rfc = data.get("rfc2253")
        entry.meta = dict((k, data[k]) for k in META_FIELDS if data.get(k) not in (None, ""))
        entry.sources = list(sources)
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

    def cache_dict(self):
        """JSON-ready dict (``json.dumps`` writes the key's tuples as lists; ``trusted`` turns them back)."""
        out = {"kind": self.kind, "value": self.value, "key": list(self.key[1:]) if self.kind == TOKEN else self.key[1]}
        if self.kind == DN:
            out["rfc2253"] = self.rfc2253
        out.update(self.meta)
        return out

    @classmethod
    def from_cache(cls, data):
        return cls.trusted(data)

    def __repr__(self):
        return "Entry(%r, %r)" % (self.kind, self.value)


def key_id(key):
    """Short stable text id of an entry key (for rule ids and state files)."""
    return hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:24]


def sort_key(entry):
    return (entry.kind, entry.value)


# -- sources -----------------------------------------------------------------------------------------------------
def _read_location(spec, tls_defaults, operation):
    """Bytes of a source's ``path`` or ``url`` (HTTPS with the collection's TLS options)."""
    name = spec["name"]
    if spec.get("path"):
        try:
            with open(spec["path"], "rb") as handle:
                return handle.read(), spec["path"]
        except (IOError, OSError) as err:
            raise SourceError("cannot read %s: %s" % (spec["path"], err), server="source %s" % name,
                              operation=operation)
    url = spec.get("url")
    if not url:
        raise SourceError("give path or url", server="source %s" % name, operation=operation)
    if not url.lower().startswith("https://"):
        raise SourceError("url must be https:// (got %r)" % url, server="source %s" % name, operation=operation)
    scheme_host, _sep, path = url[len("https://"):].partition("/")
    tls = transport_options(connection_settings(spec, tls_defaults, TLS_KEYS))
    try:
        transport = HttpTransport("https://" + scheme_host, server_label=scheme_host,
                                  max_response_bytes=int(spec.get("max_bytes") or 64 * 1024 * 1024), **tls)
        reply = transport.request("GET", "/" + path, operation="GET %s" % url)
    except GridsecError as err:
        raise SourceError(str(err.msg), server="source %s (%s)" % (name, err.server or scheme_host),
                          operation=operation, details=err.details)
    if reply.status != 200:
        raise SourceError("HTTP %d from %s" % (reply.status, url), server="source %s" % name, operation=operation)
    return reply.body, url


def connection_settings(spec, defaults, keys):
    """Per-source/per-target connection settings: the item's own value, else the module-level option."""
    out = {}
    for key in keys:
        value = spec.get(key)
        out[key] = defaults.get(key) if value is None else value
    return out


def _decode(data, name, operation):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SourceError("not UTF-8 text: %s" % err, server="source %s" % name, operation=operation)


_NOT_JSON = object()


def parse_yaml_list(data, name="yaml"):
    """Entries of a YAML/JSON suspension list; the whole source is rejected on any schema error."""
    return list_entries(load_list_document(data, name), name)


def load_list_document(data, name="yaml"):
    """The YAML/JSON suspension list as a dict (times as text), validated against the list schema."""
    operation = "parse YAML list"
    text = _decode(data, name, operation) if isinstance(data, bytes) else data
    try:
        loaded = _NOT_JSON
        if text.lstrip().startswith("{"):
            # a JSON document is read as JSON: yaml.safe_load does not join JSON surrogate-pair escapes
            # ("\ud83d\ude00"), so an ASCII-escaping exporter would give another DN than the same list in UTF-8
            try:
                loaded = json.loads(text)
            except ValueError:
                loaded = _NOT_JSON  # YAML flow mapping, or broken: the YAML parser says which
        if loaded is _NOT_JSON:
            if yaml is None:
                loaded = json.loads(text)
            else:
                loaded = yaml.safe_load(text)
    except Exception as err:  # pylint: disable=broad-except
        raise SourceError("not valid YAML/JSON: %s" % (str(err).splitlines()[0] if str(err) else err,),
                          server="source %s" % name, operation=operation)
    if isinstance(loaded, dict) and isinstance(loaded.get("entries"), list):
        for item in loaded["entries"]:
            if isinstance(item, dict):
                for field in ("added", "expires"):
                    if field in item:
                        item[field] = _to_text_time(item[field])
    for field in ("generated",):
        if isinstance(loaded, dict) and field in loaded:
            loaded[field] = _to_text_time(loaded[field])
    errors = schema_errors(loaded)
    if errors:
        raise SourceError("schema validation failed (the whole source is rejected): %s" % "; ".join(errors),
                          server="source %s" % name, operation="validate against suspension-list schema",
                          details={"errors": errors})
    return loaded


def list_entries(loaded, name):
    """The ``Entry`` objects of a validated list document (``load_list_document``)."""
    default_origin = loaded.get("origin")
    entries = []
    for index, item in enumerate(loaded["entries"]):
        kind = DN if "dn" in item else FQAN if "fqan" in item else TOKEN
        value = (item["issuer"], item["subject"]) if kind == TOKEN else item[kind]
        meta = dict((k, item.get(k)) for k in META_FIELDS)
        if not meta.get("origin") and default_origin:
            meta["origin"] = default_origin
        try:
            entries.append(Entry(kind, value, meta, sources=[name]))
        except GridsecError as err:
            raise SourceError("entries[%d] (%s %r): %s (the whole source is rejected)"
                              % (index, kind, value, err.msg), server="source %s" % name,
                              operation="validate against suspension-list schema")
    return entries


def parse_plain_list(data, name="plain"):
    """One DN per line, or an FQAN (``fqan:<FQAN>``), or a token identity (``token <issuer> <subject>``: the
    subject is the rest of the line); ``#`` starts a comment line."""
    operation = "parse plain list"
    text = _decode(data, name, operation) if isinstance(data, bytes) else data
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            if stripped.lower().startswith("fqan:"):
                entries.append(Entry(FQAN, stripped[5:].strip(), sources=[name]))
            elif _is_token_line(stripped):
                entries.append(Entry(TOKEN, _token_line(stripped), sources=[name]))
            else:
                entries.append(Entry(DN, stripped, sources=[name]))
        except GridsecError as err:
            raise SourceError("line %d (%r): %s (the whole source is rejected)" % (number, stripped, err.msg),
                              server="source %s" % name, operation=operation)
    return entries


def read_argus_source(client, spec):
    """Deny rules on a single subject DN or FQAN from the aliases of a PAP (all, or the named ones).

    Returns ``(entries, report)``; compound rules (several attributes ANDed) and other attribute types are
    reported, not imported.
    """
    name = spec["name"]
    aliases = spec.get("aliases") or []
    if not aliases:
        aliases = [pap.alias for pap in client.get_all_paps()]
    entries = []
    compound = []
    for alias in aliases:
        tree = client.get_tree(alias)
        for _ps, policy, rule in tree.iter_rules():
            if not rule.deny:
                continue
            attrs = rule.attributes
            if len(attrs) != 1 or attrs[0].attribute_id_spl not in ("subject", "fqan"):
                compound.append({"alias": alias, "policy": policy.policy_id, "rule": rule.rule_id,
                                 "attributes": [a.attribute_id_spl for a in attrs]})
                continue
            kind = DN if attrs[0].attribute_id_spl == "subject" else FQAN
            try:
                # a PAP's own literal (also junk it holds) is read leniently: it is propagated as the PAP has it
                entries.append(Entry(kind, attrs[0].value, {"origin": "argus:%s#%s" % (client.server_label, alias)},
                                     sources=[name], stored=True))
            except GridsecError as err:
                compound.append({"alias": alias, "policy": policy.policy_id, "rule": rule.rule_id,
                                 "error": str(err.msg)})
    return entries, {"aliases": aliases, "not_imported": compound}


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


def newly_dropped(previous, keys):
    """Keys of ``keys`` that were not dropped the same way by the last run (``previous``: the ``key_id`` list kept
    in the state, or None): the audit log records a drop when it starts, not on every run."""
    before = set(previous or ())
    return [key for key in keys if key_id(key) not in before]


# -- the central team's daily canary -------------------------------------------------------------------------------
def canary_keys(merged):
    """Keys of the entries that are the central team's daily canary: its DN (format of
    ``_argus_canary.parse_canary``) or its token identity (``_argus_canary.parse_canary_subject``), test identities
    that prove propagation to every enforcer, no person behind them."""
    return set(key for key, entry in merged.items()
               if (entry.kind == DN and parse_canary(entry.value) is not None)
               or (entry.kind == TOKEN and parse_canary_subject(entry.subject) is not None))


# -- how old a cached source may be ----------------------------------------------------------------------------------
_DURATION_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text, option="cache_max_age"):
    """Seconds of a duration like ``90``, ``30m``, ``24h``, ``2d`` (s, m, h, d, w; no unit means seconds)."""
    match = _DURATION_RE.match(str(text))
    if match is None or float(match.group(1)) <= 0:
        raise ConfigError("%s %r is not a positive duration such as 30m, 24h or 2d" % (option, text),
                          operation="check options")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_age(seconds):
    """``"2 d 3 h"`` / ``"5 h 12 min"`` / ``"40 min"`` / ``"25 s"``."""
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return "%d d %d h" % (days, hours)
    if hours:
        return "%d h %d min" % (hours, minutes)
    if minutes:
        return "%d min" % minutes
    return "%d s" % seconds


class SourceTimes(object):
    """When each source was last read successfully (``<state_dir>/<name>.sources.json``, 0600): the age of the
    cached list that ``on_source_failure: use_cache`` falls back on. A small file of its own, rewritten by every run
    that reads a source, so that the state file (the whole list, possibly large) is still rewritten only when the
    list changes."""

    VERSION = 1

    def __init__(self, path, state_path):
        self.path = path
        self.state_path = state_path
        self.times = {}
        self.raw = None
        self.warnings = []

    def load(self):
        try:
            with open(self.path, "rb") as handle:
                self.raw = handle.read()
            data = json.loads(self.raw.decode("utf-8"))
            if isinstance(data, dict) and data.get("version") == self.VERSION and isinstance(data.get("sources"), dict):
                self.times = self._valid(data["sources"])
        except (IOError, OSError, ValueError):
            self.times = {}  # unreadable: last_ok falls back on the state file's time
        return self

    def _valid(self, sources):
        """The entries whose ``read_ok`` parses; the others are dropped with a warning (last_ok then falls back on
        the state file's time) rather than failing the run, or every later one, with a traceback."""
        kept = {}
        for name, data in sources.items():
            try:
                parse_time(data["read_ok"])
            except (GridsecError, KeyError, TypeError):
                self.warnings.append("%s: ignored the unreadable read time of source %s: %r" % (self.path, name, data))
                continue
            kept[name] = data
        return kept

    def last_ok(self, name):
        """The last successful read of ``name`` (aware datetime), or None when unknown. A state written by a version
        without this file: its modification time, which is never later than the last good read. That time is
        recorded for ``name`` at once (saved with the file): the state file's time moves whenever another source or
        the list changes, and a source already dead at the upgrade must still reach its ``cache_max_age``."""
        when = (self.times.get(name) or {}).get("read_ok")
        if when:
            return parse_time(when)
        try:
            moment = datetime.datetime.fromtimestamp(os.stat(self.state_path).st_mtime, UTC)
        except OSError:
            return None
        self.mark(name, moment)
        return parse_time(self.times[name]["read_ok"])

    def mark(self, name, moment):
        self.times[name] = {"read_ok": iso(moment)}

    def save(self):
        raw = json.dumps({"version": self.VERSION, "sources": self.times}, sort_keys=True).encode("utf-8")
        if raw != self.raw:
            write_atomic(self.path, raw, 0o600)
            self.raw = raw


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


# -- state file (last good list, per-source cache, ownership) ------------------------------------------------
class State(object):
    """JSON state of one sync (``<state_dir>/<name>.state.json``, 0600): the last good merged list, the last
    good entries of each source (for ``on_source_failure: use_cache``) and what each target owns."""

    VERSION = 1

    def __init__(self, path):
        self.path = path
        self.data = {"version": self.VERSION, "last_good": None, "sources": {}, "targets": {}}
        self.exists = False
        self.raw = None

    def load(self):
        if not os.path.exists(self.path):
            return self
        try:
            with open(self.path, "rb") as handle:
                self.raw = handle.read()
            data = json.loads(self.raw.decode("utf-8"))
        except (IOError, OSError, ValueError) as err:
            raise ConfigError("cannot read the state file %s: %s (move it away to start from scratch)"
                              % (self.path, err), operation="read state")
        if not isinstance(data, dict) or data.get("version") != self.VERSION:
            raise ConfigError("state file %s has an unknown format" % self.path, operation="read state")
        self.data = data
        self.data.setdefault("sources", {})
        self.data.setdefault("targets", {})
        self.exists = True
        return self

    def last_good_keys(self):
        """The entry keys of the last good list (a set), or None before the first good run; no Entry is built."""
        last = self.data.get("last_good")
        if last is None:
            return None
        return set(stored_key(item["kind"], item["key"]) if "key" in item else Entry.trusted(item).key
                   for item in last.get("entries", []))

    def last_good_entries(self):
        last = self.data.get("last_good")
        if last is None:
            return None
        return [Entry.from_cache(item) for item in last.get("entries", [])]

    def source_cache(self, name):
        cached = self.data["sources"].get(name)
        if cached is None:
            return None
        return [Entry.trusted(item, sources=[name]) for item in cached.get("entries", [])]

    def source_digest(self, name):
        return (self.data["sources"].get(name) or {}).get("sha256")

    def target(self, name):
        return self.data["targets"].setdefault(name, {})

    def save(self, dirty=True):
        """Write the state (0600, atomically); returns False when it is unchanged (nothing written).

        ``dirty=False`` says the caller changed nothing since ``load``: no serialisation at all.
        """
        if not dirty and self.raw is not None:
            return False
        raw = json.dumps(self.data, sort_keys=True, ensure_ascii=False).encode("utf-8")
        if raw == self.raw:
            return False
        write_atomic(self.path, raw, 0o600)
        self.raw = raw
        return True


def write_atomic(path, data, mode, owner=None, group=None):
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if owner is not None or group is not None:
            os.chown(tmp, -1 if owner is None else owner, -1 if group is None else group)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# -- audit log ---------------------------------------------------------------------------------------------------
class AuditLog(object):
    """JSON-lines audit log (created 0600): one line per change, check-mode runs marked."""

    def __init__(self, path, run_id, check_mode, sync_name):
        self.path = path
        self.run_id = run_id
        self.check_mode = bool(check_mode)
        self.sync_name = sync_name
        self.lines = []
        try:
            self.user = getpass.getuser()
        except Exception:  # pylint: disable=broad-except
            self.user = str(os.getuid())
        sudo = os.environ.get("SUDO_USER")
        if sudo and sudo != self.user:
            self.user = "%s (sudo from %s)" % (self.user, sudo)

    def record(self, target, action, entry=None, result="ok", **extra):
        line = {"time": iso(utcnow()), "run": self.run_id, "sync": self.sync_name, "user": self.user,
                "check_mode": self.check_mode, "target": target, "action": action, "result": result}
        if entry is not None:
            if isinstance(entry, Entry):
                line["entry"] = {"kind": entry.kind, "value": entry.value}
                for field in ("reason", "origin", "ticket"):
                    if field in entry.meta:
                        line[field] = entry.meta[field]
            else:
                line["entry"] = {"kind": entry.get("kind"), "value": entry.get("value")}
                for field in ("reason", "origin", "ticket"):
                    if entry.get(field):
                        line[field] = entry[field]
        line.update(extra)
        self.lines.append(line)

    def flush(self):
        if not self.path or not self.lines:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            payload = "".join(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n" for line in self.lines)
            os.write(fd, payload.encode("utf-8"))
        finally:
            os.close(fd)
        self.lines = []


__all__ = ["DN", "FQAN", "TOKEN", "issuer_spellings", "normalize_issuer", "Entry", "AllowList", "AuditLog", "State", "SourceError", "GuardError", "LIST_SCHEMA",
           "schema_errors", "parse_yaml_list", "parse_plain_list", "read_argus_source", "merge", "apply_allow_list",
           "drop_expired", "shrink_check", "write_atomic", "parse_time", "DNError", "connection_settings",
           "apply_allow_list_keyed", "newly_dropped", "canary_keys", "parse_duration", "format_age", "SourceTimes"]
