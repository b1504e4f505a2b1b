# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The attribute types of X.500 names: the keywords a user may write, their aliases and OIDs, and suggestions
for a misspelt one.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

A data table and the lookups on it, apart from the DN syntax of ``_dn.py`` (which parses, renders, compares and
refuses unknown types with ``check_known_types``, built on ``is_known_type`` and ``suggest_type`` here).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Canonical names of attribute types for comparisons: every alias (lower case) and OID maps to one key.
_TYPE_ALIASES = {
    "cn": ("commonname", "2.5.4.3"),
    "sn": ("surname", "2.5.4.4"),
    "serialnumber": ("2.5.4.5",),
    "c": ("countryname", "2.5.4.6"),
    "l": ("localityname", "2.5.4.7"),
    "st": ("s", "stateorprovincename", "2.5.4.8"),
    "street": ("streetaddress", "2.5.4.9"),
    "o": ("organizationname", "2.5.4.10"),
    "ou": ("organizationalunitname", "2.5.4.11"),
    "title": ("t", "2.5.4.12"),
    "givenname": ("gn", "2.5.4.42"),
    "initials": ("2.5.4.43",),
    "generationqualifier": ("2.5.4.44",),
    "dnqualifier": ("2.5.4.46",),
    "pseudonym": ("2.5.4.65",),
    "dc": ("domaincomponent", "0.9.2342.19200300.100.1.25"),
    "uid": ("userid", "0.9.2342.19200300.100.1.1"),
    "emailaddress": ("e", "email", "1.2.840.113549.1.9.1"),
    "postalcode": ("2.5.4.17",),
    "businesscategory": ("2.5.4.15",),
    "name": ("2.5.4.41",),
    "x500uniqueidentifier": ("2.5.4.45",),
    "organizationidentifier": ("2.5.4.97",),
    "unstructuredname": ("1.2.840.113549.1.9.2",),
}
_CANONICAL_TYPE = {}
for _canon, _aliases in _TYPE_ALIASES.items():
    _CANONICAL_TYPE[_canon] = _canon
    for _alias in _aliases:
        _CANONICAL_TYPE[_alias] = _canon

# The attribute-type keywords a user may write (RFC 4514 section 3, RFC 4519, OpenSSL's short and long names),
# spelt as they are usually written; any other attribute is named by its numeric OID (``2.5.4.3``,
# ``OID.2.5.4.3``). Every keyword here is a key of _CANONICAL_TYPE (a unit test checks it).
KNOWN_TYPES = (
    "CN", "commonName", "SN", "surname", "serialNumber", "C", "countryName", "L", "localityName", "ST", "S",
    "stateOrProvinceName", "street", "streetAddress", "O", "organizationName", "OU", "organizationalUnitName",
    "title", "T", "givenName", "GN", "initials", "generationQualifier", "dnQualifier", "pseudonym", "DC",
    "domainComponent", "UID", "userid", "emailAddress", "E", "Email", "postalCode", "businessCategory", "name",
    "x500UniqueIdentifier", "organizationIdentifier", "unstructuredName",
)
_KNOWN_SPELLING = dict((keyword.lower(), keyword) for keyword in KNOWN_TYPES)
_NUMERIC_OID_RE = re.compile(r"^(?:[Oo][Ii][Dd]\.)?[0-9]+(?:\.[0-9]+)+$")

# Short list shown in the error message (the full list is KNOWN_TYPES).
_SHORT_TYPES = ("CN", "O", "OU", "DC", "C", "L", "ST", "UID", "emailAddress/E", "serialNumber", "SN", "GN", "T")


def _edit_distance(a, b):
    """Levenshtein distance (insert, delete, substitute), with a swap of two neighbours counting as one edit."""
    previous2 = None
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def suggest_type(attr_type):
    """The known keywords closest to a misspelt attribute type (best first, at most three; none when nothing is
    close): one edit away for short types (``CM`` -> ``CN``, ``C``), two for longer ones (``emailAdress``)."""
    typed = attr_type.lower()
    limit = 1 if len(typed) <= 4 else 2
    ranked = []
    for key, spelling in _KNOWN_SPELLING.items():
        distance = _edit_distance(typed, key)
        if distance <= limit:
            ranked.append((distance, abs(len(key) - len(typed)), len(key), spelling))
    return [spelling for _d, _l, _n, spelling in sorted(ranked)[:3]]


def is_known_type(attr_type):
    """True for a keyword of ``KNOWN_TYPES`` (any case) or a numeric OID (``2.5.4.3``, ``OID.2.5.4.3``)."""
    return attr_type.lower() in _KNOWN_SPELLING or bool(_NUMERIC_OID_RE.match(attr_type))


def canonical_type(attr_type):
    """Canonical lower-case name of an attribute type (``E``/``Email``/``emailAddress`` -> ``emailaddress``)."""
    key = attr_type.strip().lower()
    if key.startswith("oid."):
        key = key[4:]
    return _CANONICAL_TYPE.get(key, key)


__all__ = ["KNOWN_TYPES", "canonical_type", "is_known_type", "suggest_type"]
