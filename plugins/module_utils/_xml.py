# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Hardened XML parsing for everything that comes from a server.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

A PAP (or anything pretending to be one) must not be able to make the managed node read local files (XXE),
open network connections (external DTDs / entities) or burn memory (entity expansion, "billion laughs",
huge documents). So:

* the raw bytes are size-checked before lxml sees them;
* documents with a DOCTYPE are refused outright (neither SOAP nor XACML ever needs one): checked on the raw
  bytes before parsing and, for encodings the byte scan cannot see (UTF-16...), on the parsed document;
* the lxml parser never resolves entities, never loads a DTD, never touches the network and keeps lxml's
  libxml2 limits on (``huge_tree=False``).
"""

import re
import traceback

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, RemoteError

try:
    from lxml import etree
except ImportError:  # pragma: no cover - depends on the managed node
    HAS_LXML = False
    #: the import traceback (text), as ``missing_required_lib``/``GridsecModule.require_library`` take it
    LXML_IMPORT_ERROR = traceback.format_exc()
    etree = None
else:
    HAS_LXML = True
    LXML_IMPORT_ERROR = None

DEFAULT_MAX_XML_BYTES = 16 * 1024 * 1024

# "<!DOCTYPE" in any ASCII-compatible encoding, case-insensitive, whitespace allowed after "<!".
_DOCTYPE_BYTES = re.compile(br"<!\s*doctype", re.IGNORECASE)
_ENTITY_BYTES = re.compile(br"<!\s*entity", re.IGNORECASE)


def require_lxml():
    """Raise ``ConfigError`` when lxml cannot be imported (modules check it first, with ``require_library``:
    this guards library callers, so that none ends in ``'NoneType' object has no attribute ...``)."""
    if not HAS_LXML:
        raise ConfigError("the Python library lxml is required to build and read the XML of SOAP/XACML messages "
                          "but it cannot be imported on this host: %s"
                          % LXML_IMPORT_ERROR.strip().splitlines()[-1], details={"library": "lxml"})


def hardened_parser():
    """A new lxml parser that cannot resolve entities, load DTDs or reach the network."""
    require_lxml()
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=True,
        remove_pis=True,
    )


def hardened_iterparse(data, events=("start", "end")):
    """An ``lxml.etree.iterparse`` over ``data`` (bytes) with the settings of ``hardened_parser``: no entity
    resolved, no DTD loaded, no network, libxml2's limits on. For large replies read element by element (the caller
    clears what it has converted, so the whole document is never held as a tree); the caller first checks
    ``streamable`` and, after the loop, refuses a document whose ``docinfo`` shows a DOCTYPE, as ``parse_xml`` does."""
    import io  # only here: the common (small) replies never stream

    require_lxml()
    return etree.iterparse(io.BytesIO(data), events=events, resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_blank_text=True, remove_pis=True)


def streamable(data, max_bytes=DEFAULT_MAX_XML_BYTES):
    """True when ``parse_xml`` would not refuse ``data`` before parsing (bytes, within ``max_bytes``, not blank, no
    DOCTYPE/ENTITY declaration): only then may it be read with ``hardened_iterparse``; else the caller calls
    ``parse_xml``, which raises the error."""
    return (isinstance(data, bytes) and len(data) <= max_bytes and bool(data.strip())
            and not _DOCTYPE_BYTES.search(data) and not _ENTITY_BYTES.search(data))


def has_doctype(root):
    """True when the document of ``root`` declares a DOCTYPE or a DTD (refused, see the module docstring)."""
    docinfo = root.getroottree().docinfo
    return bool(docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None)


def parse_xml(data, *, max_bytes=DEFAULT_MAX_XML_BYTES, server=None, operation=None):
    """Parse ``data`` (bytes) and return the root element, or raise ``RemoteError``.

    ``server`` and ``operation`` only label the error. ``max_bytes`` bounds the input size.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("parse_xml() needs bytes, not %s" % type(data).__name__)
    if len(data) > max_bytes:
        raise RemoteError("XML reply of %d bytes exceeds the limit of %d bytes" % (len(data), max_bytes),
                          server=server, operation=operation, details={"size": len(data), "limit": max_bytes})
    if not data.strip():
        raise RemoteError("empty reply where XML was expected", server=server, operation=operation)
    if _DOCTYPE_BYTES.search(data) or _ENTITY_BYTES.search(data):
        raise RemoteError("XML reply refused: it contains a DOCTYPE/ENTITY declaration (never used by SOAP or "
                          "XACML; possible XXE or entity-expansion attack)", server=server, operation=operation)
    parser = hardened_parser()
    try:
        root = etree.fromstring(bytes(data), parser=parser)
    except etree.XMLSyntaxError as exc:
        raise RemoteError("malformed XML reply: %s" % exc, server=server, operation=operation,
                          details={"start": bytes(data[:200]).decode("utf-8", "replace")}) from exc
    if root is None:
        raise RemoteError("empty XML document", server=server, operation=operation)
    if has_doctype(root):
        raise RemoteError("XML reply refused: it contains a DOCTYPE declaration", server=server, operation=operation)
    return root


def local_name(element):
    """Tag of ``element`` without its namespace (``"{ns}Policy"`` -> ``"Policy"``); '' for comments/PIs."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def namespace_of(element):
    tag = element.tag
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].split("}", 1)[0]
    return None


def children(element, name=None):
    """Element children of ``element`` (comments skipped), optionally only those with local name ``name``."""
    return [child for child in element if isinstance(child.tag, str) and (name is None or local_name(child) == name)]


def child(element, name):
    """First element child with local name ``name``, or None."""
    for candidate in element:
        if isinstance(candidate.tag, str) and local_name(candidate) == name:
            return candidate
    return None
