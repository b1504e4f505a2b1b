"""SOAP 1.1 handling of the lab PAP, modelled on what Apache Axis 1 does for rpc/literal services.

* Envelope: any prefix; the operation is the first element child of Body, matched by LOCAL name
  whatever its namespace.
* Parameters: bound by element name first, then by position (Axis RPCHandler).
* Replies: ``<op>Response`` wrapping ``<op>Return`` in the namespace and with the prefix of the request
  element; arrays nest items with the same name; beans render their fields in that namespace; XACML
  objects go inside the return element with the ``xacml:`` prefix; nil is ``xsi:nil="true"``.
"""
import copy
import dataclasses

from lxml import etree

from .xmlutil import MAX_XML_BYTES, SOAP_ENV, XACML, XSI, children, is_nil, local, parse_xml, XMLRefused


class SoapFault(Exception):
    def __init__(self, message, code="soapenv:Server.userException", status=500):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclasses.dataclass
class Request:
    op_element: etree._Element
    operation: str
    args: dict  # name -> element or None (nil / missing)


def parse_request(data):
    try:
        # the whole body, whatever its size (see server.py: the real PAP does not cap it)
        root = parse_xml(data, max_bytes=max(len(data), MAX_XML_BYTES))
    except XMLRefused as exc:
        raise SoapFault("Unable to parse the SOAP request: %s" % exc, code="soapenv:Client") from None
    if local(root) != "Envelope":
        raise SoapFault("Not a SOAP envelope", code="soapenv:Client")
    body = None
    for c in children(root):
        if local(c) == "Body":
            body = c
    if body is None or not children(body):
        raise SoapFault("SOAP Body without an operation element", code="soapenv:Client")
    return children(body)[0]


# part names of the runtime WSDL (the Java parameter names) -> the build-time WSDL names the lab uses
SYNONYMS = {"papAlias": "alias", "actionId": "actionIdentifier", "ruleId": "ruleIdentifier",
            "obligationId": "obligationValue"}


def bind(op_element, params):
    """Axis-style binding: by local name, then the remaining elements by position."""
    items = children(op_element)
    args = {name: None for name in params}
    bound = set()
    leftovers = []
    for index, item in enumerate(items):
        name = local(item)
        if name not in args and SYNONYMS.get(name) in args:
            name = SYNONYMS[name]
        if name in args and name not in bound:
            args[name] = None if is_nil(item) else item
            bound.add(name)
        else:
            leftovers.append((index, item))
    for index, item in leftovers:
        if index < len(params) and params[index] not in bound:
            args[params[index]] = None if is_nil(item) else item
            bound.add(params[index])
    return args


# -- value accessors -------------------------------------------------------------------------------
def text(el, default=None):
    if el is None:
        return default
    return (el.text or "") if not children(el) else "".join(el.itertext())


def boolean(el, default=False):
    value = text(el)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("true", "1")


def integer(el, default=0):
    value = text(el)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value.strip())
    except ValueError:
        raise SoapFault("Invalid integer: '%s'" % value) from None


def number(el, default=0.0):
    value = text(el)
    if value is None or value.strip() == "":
        return default
    try:
        return float(value.strip())
    except ValueError:
        raise SoapFault("Invalid number: '%s'" % value) from None


def string_list(el):
    """Items of an array parameter, whatever the item element names."""
    if el is None:
        return []
    items = children(el)
    if not items:
        value = (el.text or "").strip()
        return [value] if value else []
    return [text(i, "") for i in items if not is_nil(i)]


def field(el, name, default=None):
    if el is None:
        return default
    for c in children(el):
        if local(c) == name:
            return None if is_nil(c) else c
    return default


# -- replies ---------------------------------------------------------------------------------------
class Bean(list):
    """Ordered (name, value) fields of an Axis bean."""


class XacmlList(list):
    """XACML elements put directly inside one return element."""


class NoReturn:
    """Operation returning void: empty <op>Response."""


def _envelope():
    env = etree.Element("{%s}Envelope" % SOAP_ENV,
                        nsmap={"soapenv": SOAP_ENV, "xsd": "http://www.w3.org/2001/XMLSchema", "xsi": XSI})
    body = etree.SubElement(env, "{%s}Body" % SOAP_ENV)
    return env, body


def _qname(ns, name):
    return "{%s}%s" % (ns, name) if ns else name


def render_value(parent, ns, name, value):
    el = etree.SubElement(parent, _qname(ns, name))
    if value is None:
        el.set("{%s}nil" % XSI, "true")
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        el.text = str(value)
    elif isinstance(value, str):
        el.text = value
    elif isinstance(value, Bean):
        for fname, fvalue in value:
            render_value(el, ns, fname, fvalue)
    elif isinstance(value, XacmlList):
        for item in value:
            el.append(copy.deepcopy(item))
    elif isinstance(value, list):
        for item in value:
            render_value(el, ns, name, item)
    elif isinstance(value, etree._Element):
        el.append(copy.deepcopy(value))
    else:
        raise TypeError("cannot render %r" % (value,))
    return el


def rpc_response(op_element, operation, value):
    env, body = _envelope()
    qname = etree.QName(op_element)
    ns = qname.namespace
    nsmap = {op_element.prefix: ns} if ns else None
    resp = etree.SubElement(body, _qname(ns, operation + "Response"), nsmap=nsmap)
    if not isinstance(value, NoReturn):
        render_value(resp, ns, operation + "Return", value)
    return serialize(env)


def document_response(element):
    env, body = _envelope()
    body.append(element)
    return serialize(env)


def fault_response(message, code="soapenv:Server.userException"):
    env, body = _envelope()
    fault = etree.SubElement(body, "{%s}Fault" % SOAP_ENV)
    etree.SubElement(fault, "faultcode").text = code
    etree.SubElement(fault, "faultstring").text = message
    detail = etree.SubElement(fault, "detail")
    etree.SubElement(detail, "{http://xml.apache.org/axis/}hostname", nsmap={"ns1": "http://xml.apache.org/axis/"}
                     ).text = "gridsec-lab"
    return serialize(env)


def serialize(env):
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


__all__ = ["SoapFault", "parse_request", "bind", "text", "boolean", "integer", "number", "string_list", "field",
           "Bean", "XacmlList", "NoReturn", "rpc_response", "document_response", "fault_response", "XACML"]
