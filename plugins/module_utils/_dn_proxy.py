# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The RDNs a proxy certificate appends to the subject of the credential it was made from, and their removal.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Used where a DN a user gives may be a proxy subject (the Argus modules' ``strip_proxy_rdns`` option) and by the
PanDA user-name rule (``_panda.names.clean_user_id``), on the DN model of ``_dn.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gridsec.ops.plugins.module_utils._dn_types import canonical_type

# A proxy certificate's subject is the issuing end-entity DN plus one more CN RDN: "proxy" (legacy Globus full
# proxy), "limited proxy" (legacy limited proxy) or a number (RFC 3820 proxies, e.g. "/CN=1234567890", as in
# PanDA's prodUserID). PanDA's clean_user_id drops the same markers (step 4 of ``_panda.names.clean_user_id``).
PROXY_CN_VALUES = ("proxy", "limited proxy")
_NUMERIC_RE = re.compile(r"^[0-9]+$")
# What strip_proxy_rdns removes: "legacy" only the legacy markers (their text says "proxy"), "all" also numeric
# CNs (only for a DN known to be a proxy subject: an end-entity DN may end with a number), "none" nothing.
STRIP_MODES = ("legacy", "all", "none")


def is_proxy_rdn(rdn, numeric=True):
    """True when ``rdn`` (a tuple of ``(type, value)`` AVAs) is a single CN that a proxy certificate appends:
    ``proxy``, ``limited proxy``, or (with ``numeric``) an RFC 3820 number."""
    if len(rdn) != 1:
        return False
    attr_type, value = rdn[0]
    if canonical_type(attr_type) != "cn":
        return False
    return value in PROXY_CN_VALUES or (numeric and bool(_NUMERIC_RE.match(value)))


def strip_mode(value):
    """The stripping mode of an option value: ``legacy``/``all``/``none``; the booleans of the old option (and
    their YAML spellings) read as ``all`` (true) and ``none`` (false). Raises ``ValueError`` otherwise."""
    if isinstance(value, bool):
        return "all" if value else "none"
    text = str(value).strip().lower()
    if text in STRIP_MODES:
        return text
    if text in ("true", "yes", "on", "1"):
        return "all"
    if text in ("false", "no", "off", "0"):
        return "none"
    raise ValueError("%r is not a proxy RDN stripping mode (%s; true/false mean all/none)"
                     % (value, ", ".join(STRIP_MODES)))


def strip_proxy_rdns(dn, mode="legacy"):
    """``(end-entity DN, [stripped RDNs as text])``: trailing proxy CNs removed, in certificate order, as far as
    at least one RDN that is not a proxy CN remains.

    ``mode`` (``STRIP_MODES``): ``legacy`` removes ``CN=proxy`` and ``CN=limited proxy`` only; ``all`` also
    ``CN=<digits>`` (RFC 3820), which is right only for a DN known to be a proxy subject, since an end-entity
    DN may itself end with a numeric CN (``.../CN=Eve Mallory/CN=777``) and its text cannot tell; ``none``
    removes nothing.
    """
    # the DN parser is imported here, not with this file: the PanDA modules read PROXY_CN_VALUES, and a run that
    # names the user directly then does not compile the parser
    from ansible_collections.gridsec.ops.plugins.module_utils._dn import DistinguishedName, parse_dn

    mode = strip_mode(mode)
    dn = parse_dn(dn)
    rdns = list(dn.rdns)
    stripped = []
    while mode != "none" and len(rdns) > 1 and is_proxy_rdn(rdns[-1], numeric=mode == "all"):
        stripped.insert(0, "+".join("%s=%s" % ava for ava in rdns.pop()))
    if not stripped:
        return dn, []
    return DistinguishedName(rdns, source_form=dn.source_form), stripped
