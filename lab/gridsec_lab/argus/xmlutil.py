"""XML helpers of the lab PAP: namespaces, the hardened parser, small element utilities."""
from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
XACML = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
XACML_SAMLP = "urn:oasis:names:tc:xacml:2.0:profile:saml2.0:v2:schema:protocol"
XACML_SAML = "urn:oasis:names:tc:xacml:2.0:profile:saml2.0:v2:schema:assertion"
SAML_MD = "urn:oasis:names:tc:SAML:2.0:metadata"
AXIS_NS = "http://services.pap.authz.glite.org"
ENTITY_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"

MAX_XML_BYTES = 8 * 1024 * 1024


class XMLRefused(ValueError):
    """Input that the hardened parser refuses (DOCTYPE, entities, too large, malformed)."""


def _parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_blank_text=False)


def parse_xml(data, max_bytes=MAX_XML_BYTES):
    """Parse untrusted bytes: size bounded, DOCTYPE refused, no entity expansion, no network."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > max_bytes:
        raise XMLRefused("XML document larger than %d bytes" % max_bytes)
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise XMLRefused("DOCTYPE/ENTITY declarations are not allowed")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise XMLRefused("malformed XML: %s" % exc) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise XMLRefused("DOCTYPE declarations are not allowed")
    return root


def local(el):
    return etree.QName(el).localname if isinstance(el.tag, str) else None


def ns_of(el):
    return etree.QName(el).namespace


def children(el):
    return [c for c in el if isinstance(c.tag, str)]


def child(el, name):
    for c in children(el):
        if local(c) == name:
            return c
    return None


def xacml(tag):
    return "{%s}%s" % (XACML, tag)


def is_nil(el):
    return el is not None and el.get("{%s}nil" % XSI, "").strip().lower() in ("true", "1")
