# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""X.500 distinguished names as grid services write them.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Two textual forms are in use on the grid:

- the OpenSSL "slash" form printed by ``openssl x509 -subject -nameopt compat`` and exported by mod_ssl
  with ``LegacyDNStringFormat``: ``/DC=ch/DC=cern/OU=Organic Units/CN=John Doe``, most significant RDN
  first, no escaping at all (a value may hold ``,`` and even ``/``, see ``parse_dn``);
- the RFC 2253 / RFC 4514 "comma" form: ``CN=John Doe,OU=Organic Units,DC=cern,DC=ch``, least
  significant RDN first, with backslash escapes, ``+`` for multi-valued RDNs; RFC 1779 quoted values and
  spaces after the separators (``CN=a, O=b``, as the Argus canary is stored) are accepted too.

``DistinguishedName`` keeps the RDNs in certificate order (as the slash form lists them) and the
attribute types as written, so that ``to_openssl()`` reproduces a parsed slash form exactly and
``to_pap_literal()`` gives exactly the string an Argus PAP stores when it is handed that slash form.
Comparisons (``dn_equal``, ``==``) are semantic.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import re
import unicodedata

from ansible_collections.gridsec.ops.plugins.module_utils._dn_types import (
    _SHORT_TYPES,
    canonical_type,
    is_known_type,
    suggest_type,
)
from ansible_collections.gridsec.ops.plugins.module_utils._errors import GridsecError


class DNError(GridsecError):
    """A distinguished name cannot be parsed (empty, no ``=``, bad escape, empty RDN, control character...)."""

    kind = "dn"

    def __init__(self, msg, server=None, operation=None, details=None, text=None):
        details = dict(details or {})
        if text is not None:
            details.setdefault("dn", text)
        super(DNError, self).__init__(msg, server=server, operation=operation, details=details)
        self.text = text


# Attribute type: a keyword (RFC 4512 descr) or a numeric OID, optionally with the RFC 1779 "OID." prefix.
_TYPE_RE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|(?:[Oo][Ii][Dd]\.)?[0-9]+(?:\.[0-9]+)*)$")
_CONTROL_RE = re.compile(u"[\x00-\x1f\x7f]")
_UNESCAPED_COMMA_RE = re.compile(r"(?<!\\),")
_LONE_BACKSLASH_RE = re.compile(r"\\(?!,)")
_PLUS_SPLIT_RE = re.compile(r"\+(?=[A-Za-z][A-Za-z0-9-]*=|[0-9]+(?:\.[0-9]+)*=)")

# Characters RFC 4514 section 3 lets a backslash escape (plus the space and '=' of RFC 2253 section 2.4).
_ESCAPABLE = set(u',+"\\<>;#= ')
_HEX = set(u"0123456789abcdefABCDEF")

# BER universal string tags accepted in RFC 4514 '#hex' values, with their decoders.
_BER_STRINGS = {
    0x0C: "utf-8",      # UTF8String
    0x12: "ascii",      # NumericString
    0x13: "ascii",      # PrintableString
    0x14: "latin-1",    # TeletexString (T61; latin-1 is what OpenSSL effectively does)
    0x16: "ascii",      # IA5String
    0x1A: "ascii",      # VisibleString
    0x1E: "utf-16-be",  # BMPString
    0x1C: "utf-32-be",  # UniversalString
}


def _text(value):
    """Text (``str``) from text or UTF-8 bytes; anything else is refused."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise DNError("DN is not valid UTF-8", text=repr(value))
    if not isinstance(value, str):
        raise DNError("DN must be a string, got %s" % type(value).__name__, text=repr(value))
    return value


def _check_type(attr_type, text):
    if not _TYPE_RE.match(attr_type):
        raise DNError("invalid attribute type %r in DN %r" % (attr_type, text), text=text)


def check_known_types(dn, text=None):
    """Raise ``DNError`` naming the first attribute type of ``dn`` that is neither a known keyword nor a numeric
    OID, with the closest keywords as a suggestion.

    A misspelt type (``CM=John Doe``) still parses as X.500 syntax, but names an attribute no certificate has:
    a ban on it never matches anyone, and PanDA would take it for a new user. Such DNs are refused wherever a
    user gives one; DNs read back from a server are not checked (``parse_stored_dn``).
    """
    text = dn.to_openssl() if text is None else text
    for rdn in dn.rdns:
        for attr_type, _value in rdn:
            if is_known_type(attr_type):
                continue
            close = suggest_type(attr_type)
            hint = "did you mean %s? " % " or ".join(close) if close else ""
            raise DNError("unknown attribute type %r in DN %r; %sname any other attribute by its numeric OID "
                          "(e.g. 2.5.4.3 or OID.2.5.4.3 for CN); known types: %s"
                          % (attr_type, text, hint, ", ".join(_SHORT_TYPES)),
                          text=text, details={"attribute_type": attr_type, "suggestions": close})


def _check_value(attr_type, value, text):
    if value == "":
        raise DNError("empty value for attribute %s in DN %r" % (attr_type, text), text=text)
    if _CONTROL_RE.search(value):
        raise DNError("control character in the value of %s in DN %r" % (attr_type, text), text=text)


class DistinguishedName(object):
    """An X.500 name: ``rdns`` is a tuple of RDNs in certificate order (most significant first, e.g. ``DC=ch``
    first); each RDN is a tuple of ``(type, value)`` AVAs, types kept as written, values unescaped."""

    __slots__ = ("rdns", "source_form")

    def __init__(self, rdns, source_form=None):
        clean = []
        for rdn in rdns:
            if isinstance(rdn, tuple) and len(rdn) == 2 and isinstance(rdn[0], str):
                rdn = (rdn,)
            avas = tuple((str(t), str(v)) for t, v in rdn)
            if not avas:
                raise DNError("empty RDN")
            for attr_type, value in avas:
                _check_type(attr_type, attr_type)
                _check_value(attr_type, value, value)
            clean.append(avas)
        if not clean:
            raise DNError("a DN needs at least one RDN")
        self.rdns = tuple(clean)
        self.source_form = source_form

    # -- output -------------------------------------------------------------------------------------
    def to_openssl(self):
        """OpenSSL slash form, ``/DC=ch/DC=cern/CN=John Doe``: no escaping, multi-valued RDNs joined by ``+``."""
        return "".join("/" + "+".join("%s=%s" % ava for ava in rdn) for rdn in self.rdns)

    def to_rfc2253(self):
        """RFC 4514 string: least significant RDN first, ``,`` separators without spaces, special characters
        escaped with a backslash (``\\,`` ``\\+`` ``\\"`` ``\\\\`` ``\\<`` ``\\>`` ``\\;``, a leading ``\\#`` or
        ``\\ `` and a trailing ``\\ ``)."""
        return ",".join("+".join("%s=%s" % (t, escape_value(v)) for t, v in rdn) for rdn in reversed(self.rdns))

    def to_pap_literal(self):
        """The string an Argus PAP stores when given ``to_openssl()`` as a subject (canl ``opensslToRfc2253``):
        RDNs in reverse order joined by ``,`` without spaces, every ``,`` in a value escaped as ``\\,`` and
        nothing else escaped; attribute types as written.

        When that literal would read back as another DN (a value holding ``/`` and ``=``, e.g. ``CN=http://h/p?a=b``,
        is split there), the RFC 2253 form instead: the PAP stores a subject that does not start with ``/`` as
        given, so the rule still names this DN."""
        literal = openssl_to_pap_literal(self.to_openssl())
        try:
            if _parse_stored_syntax(literal).canonical() == self.canonical():
                return literal
        except DNError:
            pass
        return self.to_rfc2253()

    # -- comparison ---------------------------------------------------------------------------------
    def canonical(self):
        """Comparison key: per RDN the sorted ``(canonical type, prepared value)`` AVAs, in order."""
        return tuple(tuple(sorted((canonical_type(t), prepare_value(v)) for t, v in rdn)) for rdn in self.rdns)

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = parse_dn(other, strict=False)
            except DNError:
                return False
        if not isinstance(other, DistinguishedName):
            return NotImplemented
        return self.canonical() == other.canonical()

    def __ne__(self, other):
        result = self.__eq__(other)
        if result is NotImplemented:
            return result
        return not result

    def __hash__(self):
        return hash(self.canonical())

    def __len__(self):
        return len(self.rdns)

    def __str__(self):
        return self.to_openssl()

    def __repr__(self):
        return "DistinguishedName(%r)" % self.to_openssl()

    def get(self, attr_type):
        """Values of every AVA of that type (aliases and case ignored), in certificate order."""
        wanted = canonical_type(attr_type)
        return [v for rdn in self.rdns for t, v in rdn if canonical_type(t) == wanted]


# -- helpers ----------------------------------------------------------------------------------------------
def prepare_value(value):
    """RFC 4518-lite string preparation: NFKC, case folded, runs of white space folded to one space, trimmed."""
    value = unicodedata.normalize("NFKC", value).casefold()
    return " ".join(value.split())


def escape_value(value):
    """Escape an attribute value for RFC 4514 output."""
    out = []
    last = len(value) - 1
    for index, char in enumerate(value):
        if char in u',+"\\<>;':
            out.append("\\" + char)
        elif char == "#" and index == 0:
            out.append("\\#")
        elif char == " " and (index == 0 or index == last):
            out.append("\\ ")
        elif char == "\x00":
            out.append("\\00")
        else:
            out.append(char)
    return "".join(out)


def _hex_bytes(char):
    return "".join("\\x%02X" % byte for byte in bytearray(char.encode("utf-8")))


def to_openssl_oneline(dn):
    """The DN as OpenSSL ``X509_NAME_oneline`` prints it (mod_ssl legacy format, HTCondor SSL, ARC): slash form,
    ``/`` and ``+`` in a value escaped with ``\\``, bytes below 0x20 and of non-ASCII characters as ``\\xHH``
    (UTF-8), multi-valued RDNs joined by ``+`` (OpenSSL ``X509_NAME_oneline``)."""
    def value(text):
        out = []
        for char in text:
            if char in "/+":
                out.append("\\" + char)
            elif ord(char) < 0x20 or ord(char) > 0x7e:
                out.append(_hex_bytes(char))
            else:
                out.append(char)
        return "".join(out)
    return "".join("/" + "+".join("%s=%s" % (t, value(v)) for t, v in rdn) for rdn in dn.rdns)


def to_canl_slash(dn):
    """The DN as canl's ``convertFromRfc2253(dn, true)`` builds it (dCache ``GlobusPrincipal``): slash form,
    nothing escaped except bytes below 0x20 and non-ASCII characters as ``\\xHH`` (UTF-8)."""
    def value(text):
        return "".join(_hex_bytes(c) if ord(c) < 0x20 or ord(c) > 0x7e else c for c in text)
    return "".join("/" + "+".join("%s=%s" % (t, value(v)) for t, v in rdn) for rdn in dn.rdns)


def openssl_to_pap_literal(text):
    """canl-java ``opensslToRfc2253`` as the Argus PAP applies it to a subject value starting with ``/``.

    Escape every ``,`` as ``\\,``; split on ``/``; a part without ``=`` is glued (with its ``/``) to the previous
    part; output the parts in reverse order joined by ``,``.
    """
    if len(text) < 2 or not text.startswith("/"):
        raise DNError("not an OpenSSL slash-form DN: %r" % (text,), text=text)
    parts = text.replace(",", "\\,").split("/")[1:]
    while parts and parts[-1] == "":  # Java's String.split drops trailing empty strings
        parts.pop()
    avas = []
    for part in parts:
        if avas and "=" not in part:
            avas[-1] = avas[-1] + "/" + part
        else:
            avas.append(part)
    return ",".join(reversed(avas))


def looks_like_openssl(text):
    """True when ``text`` is in OpenSSL slash form (starts with ``/`` once surrounding white space is removed)."""
    return isinstance(text, (str, bytes)) and _text(text).strip().startswith("/")


# -- parsing ----------------------------------------------------------------------------------------------
def _parse_openssl(text):
    parts = text.split("/")[1:]
    if not parts or parts[0] == "":
        raise DNError("empty RDN at the start of DN %r" % (text,), text=text)
    raw_rdns = []
    for part in parts:
        if "=" not in part:
            if part == "" and not raw_rdns:
                raise DNError("empty RDN in DN %r" % (text,), text=text)
            if not raw_rdns:
                raise DNError("RDN %r has no '=' in DN %r" % (part, text), text=text)
            raw_rdns[-1] = raw_rdns[-1] + "/" + part
        else:
            raw_rdns.append(part)
    rdns = []
    for raw in raw_rdns:
        if raw.endswith("/"):
            # "/CN=a//CN=b" or a trailing "/": an empty RDN, not a value ending with a slash
            raise DNError("empty RDN (double or trailing '/') in DN %r" % (text,), text=text)
        avas = []
        for chunk in _PLUS_SPLIT_RE.split(raw):
            if "=" not in chunk:
                raise DNError("RDN %r has no '=' in DN %r" % (chunk, text), text=text)
            attr_type, value = chunk.split("=", 1)
            _check_type(attr_type, text)
            _check_value(attr_type, value, text)
            avas.append((attr_type, value))
        rdns.append(tuple(avas))
    return DistinguishedName(rdns, source_form="openssl")


def _decode_ber_hex(hex_text, text):
    try:
        data = binascii.unhexlify(hex_text)
    except (binascii.Error, TypeError, ValueError):
        raise DNError("invalid '#' hex value in DN %r" % (text,), text=text)
    if len(data) < 2 or data[0] not in _BER_STRINGS:
        raise DNError("unsupported BER-encoded value #%s in DN %r (only string types are understood)"
                      % (hex_text, text), text=text)
    length = data[1]
    offset = 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or len(data) < 2 + count:
            raise DNError("invalid BER length in value #%s of DN %r" % (hex_text, text), text=text)
        length = int(binascii.hexlify(data[2:2 + count]), 16)
        offset = 2 + count
    if len(data) != offset + length:
        raise DNError("BER length mismatch in value #%s of DN %r" % (hex_text, text), text=text)
    try:
        return data[offset:].decode(_BER_STRINGS[data[0]])
    except UnicodeDecodeError:
        raise DNError("undecodable BER string #%s in DN %r" % (hex_text, text), text=text)


def _skip_spaces(text, index):
    while index < len(text) and text[index] == " ":
        index += 1
    return index


def _parse_rfc2253(text):
    """RFC 4514 / RFC 2253 parser, lenient like RFC 1779 readers: spaces around ``,`` ``+`` ``=``, quoted values."""
    rdns = []
    avas = []
    pos = 0
    length = len(text)
    while True:
        pos = _skip_spaces(text, pos)
        # attribute type
        start = pos
        while pos < length and text[pos] not in "=,+;\\\"":
            pos += 1
        attr_type = text[start:pos].strip()
        if pos >= length or text[pos] != "=":
            if not attr_type and (pos >= length or text[pos] in ",+"):
                raise DNError("empty RDN in DN %r" % (text,), text=text)
            raise DNError("missing '=' after %r in DN %r" % (attr_type or text[start:pos + 1], text), text=text)
        _check_type(attr_type, text)
        pos = _skip_spaces(text, pos + 1)
        # attribute value
        if pos < length and text[pos] == "#":
            pos, value = _rfc2253_hex_value(text, pos)
        elif pos < length and text[pos] == '"':
            pos, value = _rfc2253_quoted_value(text, pos)
        else:
            pos, value = _rfc2253_plain_value(text, pos)
        _check_value(attr_type, value, text)
        avas.append((attr_type, value))
        if pos >= length:
            rdns.append(tuple(avas))
            break
        sep = text[pos]
        if sep not in ",+":
            raise DNError("unexpected %r after a value in DN %r" % (sep, text), text=text)
        if sep == ",":
            rdns.append(tuple(avas))
            avas = []
        pos += 1
        if _skip_spaces(text, pos) >= length:
            raise DNError("empty RDN at the end of DN %r" % (text,), text=text)
    rdns.reverse()
    return DistinguishedName(rdns, source_form="rfc2253")


def _rfc2253_hex_value(text, pos):
    """``(position after it and its trailing spaces, value)`` of a ``#<hex BER>`` value starting at ``pos``."""
    length = len(text)
    start = pos + 1
    while pos + 1 < length and text[pos + 1] in _HEX:
        pos += 1
    hex_text = text[start:pos + 1]
    pos += 1
    if not hex_text or len(hex_text) % 2:
        raise DNError("invalid '#' hex value in DN %r" % (text,), text=text)
    value = _decode_ber_hex(hex_text, text)
    return _skip_spaces(text, pos), value


def _rfc2253_quoted_value(text, pos):
    """``(position after it and its trailing spaces, value)`` of an RFC 1779 ``"quoted"`` value at ``pos``."""
    length = len(text)
    pos += 1
    buf = []
    while True:
        if pos >= length:
            raise DNError("unterminated quoted value in DN %r" % (text,), text=text)
        char = text[pos]
        if char == '"':
            pos += 1
            break
        if char == "\\":
            if pos + 1 >= length:
                raise DNError("trailing backslash in DN %r" % (text,), text=text)
            pos, piece = _unescape(text, pos)
            buf.append(piece)
            continue
        buf.append(char.encode("utf-8"))
        pos += 1
    value = _join_bytes(buf, text)
    return _skip_spaces(text, pos), value


def _rfc2253_plain_value(text, pos):
    """``(position of the separator or the end, value)`` of an escaped value at ``pos`` (unescaped trailing spaces
    are insignificant)."""
    length = len(text)
    buf = []
    trailing_unescaped = 0  # unescaped spaces at the end of buf (insignificant)
    while pos < length and text[pos] not in ",+":
        char = text[pos]
        if char == "\\":
            pos, piece = _unescape(text, pos)
            buf.append(piece)
            trailing_unescaped = 0
            continue
        if char == '"':
            raise DNError("unescaped '\"' inside a value of DN %r" % (text,), text=text)
        buf.append(char.encode("utf-8"))
        trailing_unescaped = trailing_unescaped + 1 if char == " " else 0
        pos += 1
    if trailing_unescaped:
        buf = buf[:-trailing_unescaped]
    return pos, _join_bytes(buf, text)


def _unescape(text, pos):
    """Decode the escape at ``text[pos] == '\\'``; return ``(next position, bytes)``."""
    if pos + 1 >= len(text):
        raise DNError("trailing backslash in DN %r" % (text,), text=text)
    nxt = text[pos + 1]
    if nxt in _HEX and pos + 2 < len(text) and text[pos + 2] in _HEX:
        return pos + 3, binascii.unhexlify(text[pos + 1:pos + 3])
    if nxt in _ESCAPABLE:
        return pos + 2, nxt.encode("utf-8")
    raise DNError("invalid escape '\\%s' in DN %r" % (nxt, text), text=text)


def _join_bytes(pieces, text):
    try:
        return b"".join(pieces).decode("utf-8")
    except UnicodeDecodeError:
        raise DNError("hex escapes do not form valid UTF-8 in DN %r" % (text,), text=text)


def parse_dn(text, strict=True):
    """Parse a DN in OpenSSL slash form or RFC 2253/4514 comma form into a ``DistinguishedName``.

    ``strict`` (the default, for every DN a user gives): attribute types must be known keywords or numeric OIDs
    (``check_known_types``), so ``CM=John Doe`` is refused naming ``CM`` and suggesting ``CN``. ``strict=False``
    accepts any syntactically valid type; it is for DNs read back from a server (see ``parse_stored_dn``).

    Slash form (starts with ``/``): parts are split on ``/``; a part without ``=`` belongs to the previous
    value (``/CN=host/foo.example.org`` is one RDN), exactly as canl and the Argus PAP read it. Inside a part,
    ``+`` followed by ``<type>=`` starts another AVA of a multi-valued RDN. Values are taken literally (``,``
    and other special characters included).

    Comma form: RFC 4514 escapes (``\\,`` ``\\+`` ``\\"`` ``\\\\`` ``\\<`` ``\\>`` ``\\;`` ``\\#`` ``\\=``
    ``\\ `` and ``\\XX`` hex, UTF-8), ``+`` multi-valued RDNs, ``#`` BER string values, RFC 1779 quoted values,
    optional spaces after separators.

    Surrounding white space is ignored. Raises ``DNError`` on malformed input.
    """
    if isinstance(text, DistinguishedName):
        return text  # parsed already, as strictly as its maker chose
    dn = _parse_syntax(text)
    if strict:
        check_known_types(dn, text if isinstance(text, str) else None)
    return dn


def _parse_syntax(text):
    """``parse_dn`` without the attribute-type check."""
    if text is None:
        raise DNError("DN is missing (None)")
    raw = _text(text)
    stripped = raw.strip()
    if not stripped:
        raise DNError("DN is empty", text=raw)
    if _CONTROL_RE.search(stripped):
        raise DNError("DN %r contains a control character" % (stripped,), text=raw)
    if stripped.startswith("/"):
        return _parse_openssl(stripped)
    if "=" not in stripped:
        raise DNError("DN %r has no '=' (neither OpenSSL slash form nor RFC 2253)" % (stripped,), text=raw)
    return _parse_rfc2253(stripped)


def dn_equal(a, b, strict=True):
    """Semantic equality of two DNs given in any supported form (or as ``DistinguishedName``).

    Attribute types compare case-insensitively with their aliases (``E``/``Email``/``emailAddress``,
    ``UID``/``userid``, ``ST``/``S``, OIDs), values after RFC 4518-lite preparation (case folded, white space
    folded and trimmed); the AVAs of a multi-valued RDN compare in any order; RDN order matters.
    Raises ``DNError`` when either side is malformed (with ``strict``, also for an unknown attribute type).
    """
    return parse_dn(a, strict).canonical() == parse_dn(b, strict).canonical()


def parse_stored_dn(text, strict=False):
    """Parse a DN as an Argus PAP stores it: like ``parse_dn``, and when that fails, as the literal the PAP made
    from an OpenSSL slash-form DN (``to_pap_literal()``: only ``,`` escaped, so ``"``, ``<``, ``>``, ``;`` and
    ``+`` may appear unescaped; a literal with any other backslash is not read this way).

    The second reading is accepted only when it round-trips: the DN it gives has exactly ``text`` as its PAP
    literal. Raises ``DNError`` when neither reading works.

    Attribute types are not checked by default: what a server stores (a rule made by an older tool from a
    misspelt DN, say) must stay readable so that it can be shown and removed. ``strict=True`` checks them as
    ``parse_dn`` does, for a user's input that may be in the PAP's literal form (the DN filters).
    """
    dn = _parse_stored_syntax(text)
    if strict:
        check_known_types(dn, text if isinstance(text, str) else None)
    return dn


def _parse_stored_syntax(text):
    try:
        return _parse_syntax(text)
    except DNError as err:
        first_error = err
    raw = _text(text).strip()
    if not raw or raw.startswith("/") or _CONTROL_RE.search(raw) or _LONE_BACKSLASH_RE.search(raw):
        # a backslash other than the PAP's own "\," is an RFC 2253 escape gone wrong, not a PAP literal
        raise first_error
    parts = [part.replace("\\,", ",") for part in _UNESCAPED_COMMA_RE.split(raw)]
    try:
        dn = _parse_openssl("/" + "/".join(reversed(parts)))
    except DNError:
        raise first_error
    if openssl_to_pap_literal(dn.to_openssl()) != raw:
        raise first_error
    return dn


def dn_key(text):
    """Comparison key of a DN in any supported form (``parse_stored_dn(text).canonical()``); two DNs are
    ``dn_equal`` exactly when their keys are equal, so the key can index sets and dicts. Raises ``DNError``."""
    return parse_stored_dn(text).canonical()


def same_stored_dn(a, b):
    """``a`` and ``b`` name the same DN, each given in any form a PAP may hold (``dn_key``: the PAP literal with
    unescaped ``" < >`` as well, any attribute type); values that are not DNs compare as strings."""
    if a == b:
        return True
    try:
        return dn_key(a) == dn_key(b)
    except (DNError, ValueError):
        return False


def normalize_dn(text, form="openssl"):
    """``text`` parsed and written out in ``form``: ``openssl`` (slash), ``rfc2253`` or ``pap`` (PAP literal)."""
    dn = parse_dn(text)
    if form == "openssl":
        return dn.to_openssl()
    if form == "rfc2253":
        return dn.to_rfc2253()
    if form == "pap":
        return dn.to_pap_literal()
    raise DNError("unknown DN form %r (expected openssl, rfc2253 or pap)" % (form,))
