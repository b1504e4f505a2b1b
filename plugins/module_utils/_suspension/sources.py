# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Emergency suspension list: the sources (YAML/JSON list validated against the list schema, plain list, Argus PAP).

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

A source is read from a ``path`` or an HTTPS ``url`` (the collection's TLS options) and parsed whole: any
schema or entry error rejects the whole source (``SourceError`` naming the source and the operation). The
entry model is ``_suspension/entries.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re
import traceback

from ansible_collections.gridsec.ops.plugins.module_utils._errors import GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._http_options import TLS_KEYS, transport_options
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import (
    DN,
    FQAN,
    ISSUER_PATTERN,
    MAX_ISSUER_LENGTH,
    MAX_VALUE_LENGTH,
    META_FIELDS,
    SUBJECT_PATTERN,
    TOKEN,
    UTC,
    Entry,
    _is_token_line,
    _token_line,
)

_YAML = []


def yaml_library():
    """``(the yaml module or None, its import traceback or None)``. Imported at the first YAML document, not with
    this file: a plain or cached list needs no YAML parser, and PyYAML's import is a visible share of a no-op run
    (under AnsiballZ the module's whole import graph is paid on every run)."""
    if not _YAML:
        try:
            import yaml  # pylint: disable=import-outside-toplevel
        except ImportError:  # pragma: no cover - depends on the managed node
            _YAML.append((None, traceback.format_exc()))
        else:
            _YAML.append((yaml, None))
    return _YAML[0]


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


# -- YAML dates --------------------------------------------------------------------------------------------------
def _to_text_time(value):
    """YAML turns ``2026-01-01`` into a date: give it back as ISO text (validated by the schema afterwards)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


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
    from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport  # a URL source only
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
            yaml = yaml_library()[0]
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


__all__ = ["LIST_SCHEMA", "SourceError", "schema_errors", "connection_settings", "parse_yaml_list",
           "load_list_document", "list_entries", "parse_plain_list", "read_argus_source", "yaml_library"]
