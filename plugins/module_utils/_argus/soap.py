# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""SOAP 1.1 envelopes of the five Argus PAP services and parsing of their replies.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Wire facts (argus-pap ``src/main/webapp/WEB-INF/server-config.wsdd`` and ``src/main/wsdl/*.wsdl``, Apache Axis 1
``RPCProvider``):

* the PAP runs Apache Axis 1; four services are rpc/literal, ``ProvisioningService`` is document/literal;
* the operation element goes in ``http://services.pap.authz.glite.org`` for the XACML, PAP-management and
  authorization services (what production clients send) and in the HighLevel WSDL namespace for
  ``ban``/``unban``/``addRule`` (what pap-admin sends); parameters are unqualified, in WSDL order, with the
  WSDL part names (Axis falls back to positional binding, so the order is what really matters);
* replies are ``<op>Response/<op>Return`` in whatever namespace/prefix the server picks, arrays nested as
  ``<op>Return/<op>Return``; they are read by local name only;
* faults (``faultcode``/``faultstring``, usually with HTTP 500) become ``RemoteError``. Axis writes the
  faultstring of a server exception as ``<java exception class>: <message>``; the class decides the type
  (``PAPAuthzException`` -> ``AuthorizationError``, ``NotFoundException`` -> ``NotFoundError``,
  ``InvalidVersionException`` -> ``WriteRefusedError``), then the argus-pap source's own texts
  ("Insufficient privileges to perform operation '...'.", "Not found: papAlias=...", "Id not found: ...").

The ProvisioningService query (``XACMLPolicyQuery``, a SAML request) is built and read in ``_argus/provisioning.py``.
"""

import copy

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    NotFoundError,
    RemoteError,
    WriteRefusedError,
)
from ansible_collections.gridsec.ops.plugins.module_utils._xml import (
    DEFAULT_MAX_XML_BYTES,
    child,
    children,
    etree,
    has_doctype,
    hardened_iterparse,
    local_name,
    namespace_of,
    parse_xml,
    require_lxml,
    streamable,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import XACML_NS, XACML_PREFIX

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
PAP_SERVICES_NS = "http://services.pap.authz.glite.org"

XACML_SERVICE = "XACMLPolicyManagementService"
HIGHLEVEL_SERVICE = "HighLevelPolicyManagementService"
PAP_MANAGEMENT_SERVICE = "PAPManagementService"
AUTHZ_SERVICE = "AuthorizationManagementService"
PROVISIONING_SERVICE = "ProvisioningService"

_WSDL_BASE = "http://org.glite.authz/wsdl/pap/services/"
WSDL_NAMESPACES = {
    XACML_SERVICE: _WSDL_BASE + "xacml_policy_management",
    HIGHLEVEL_SERVICE: _WSDL_BASE + "highlevel_policy_management",
    PAP_MANAGEMENT_SERVICE: _WSDL_BASE + "pap_management",
    AUTHZ_SERVICE: _WSDL_BASE + "authz_management",
    PROVISIONING_SERVICE: _WSDL_BASE + "provisioning",
}
# Namespace of the operation element, per service (see module docstring).
OPERATION_NAMESPACES = {
    XACML_SERVICE: PAP_SERVICES_NS,
    HIGHLEVEL_SERVICE: WSDL_NAMESPACES[HIGHLEVEL_SERVICE],
    PAP_MANAGEMENT_SERVICE: PAP_SERVICES_NS,
    AUTHZ_SERVICE: PAP_SERVICES_NS,
}
# WSDL part names of every rpc operation, in WSDL order.
OPERATION_PARTS = {
    XACML_SERVICE: {
        "listPolicies": ("alias",),
        "listPolicySets": ("alias",),
        "getRootPolicySet": ("alias",),
        "getPolicy": ("alias", "policyId"),
        "getPolicySet": ("alias", "policySetId"),
        "hasPolicy": ("alias", "policyId"),
        "hasPolicySet": ("alias", "policySetId"),
        "addPolicy": ("alias", "index", "policySetId", "policyIdPrefix", "policy"),
        "addPolicies": ("alias", "index", "policySetId", "policyIdPrefixArray", "policyArray"),
        "addPolicySet": ("alias", "index", "policySet"),
        "storePolicy": ("alias", "idPrefix", "policy"),
        "storePolicySet": ("alias", "idPrefix", "policySet"),
        "updatePolicy": ("alias", "version", "policy"),
        "updatePolicySet": ("alias", "version", "policySet"),
        "removePolicy": ("alias", "policyId"),
        "removePolicySet": ("alias", "policySetId"),
        "removeObjectByIdAndReferences": ("alias", "id"),
        "move": ("alias", "id", "pivotId", "moveAfter"),
    },
    HIGHLEVEL_SERVICE: {
        "ban": ("alias", "id", "value", "resource", "action", "isPublic"),
        "unban": ("alias", "id", "value", "resource", "action"),
        "addRule": ("alias", "isPermit", "attributeList", "actionValue", "resourceValue", "actionIdentifier",
                    "ruleIdentifier", "obligationValue", "obligationScope", "moveAfter"),
        "eraseRepository": ("alias",),
        "purge": ("alias", "purgeUnreferencedPolicies", "purgeEmptyPolicies", "purgeUnreferencedPolicySets",
                  "purgeEmptyPolicySets"),
    },
    PAP_MANAGEMENT_SERVICE: {
        "ping": (),
        "getAllPaps": (),
        "getPap": ("papAlias",),
        "exists": ("papAlias",),
        "addPap": ("pap",),
        "updatePap": ("pap",),
        "removePap": ("papAlias",),
        "setEnabled": ("alias", "enabled"),
        "getOrder": (),
        "setOrder": ("aliasArray",),
        "getPollingInterval": (),
        "setPollingInterval": ("seconds",),
        "refreshCache": ("papAlias",),
    },
    AUTHZ_SERVICE: {
        "getACL": ("context",),
        "setACL": ("context", "acl"),
        "addACE": ("context", "principal", "permissions"),
        "removeACE": ("context", "principal"),
    },
}
# SOAPAction values that are not simply "<wsdl namespace>/<operation>".
_SPECIAL_SOAP_ACTIONS = {("HighLevelPolicyManagementService", "ban"): "banDN",
                         ("HighLevelPolicyManagementService", "unban"): "unbanDN"}

CONTENT_TYPE = "text/xml; charset=utf-8"

# Java exception classes of argus-pap (simple names) and the error type their faults become.
_FAULT_CLASSES = {
    "PAPAuthzException": AuthorizationError,  # BasePAPOperation.execute: "Insufficient privileges to ..."
    "PAPAuthzConfigurationException": RemoteError,
    "NotFoundException": NotFoundError,  # FileSystemPapDAO "Not found: papAlias=...", "Id not found: ..."
    "InvalidVersionException": WriteRefusedError,  # FileSystemPolicyDAO.update: stale version
}
# Message texts of the argus-pap source, for faults whose class is not one of the above (or missing).
_AUTHZ_TEXTS = ("insufficient privileges to perform operation",)
_NOT_FOUND_TEXTS = ("not found: papalias=", "id not found: ")
# Generic wording used by other SOAP stacks and front ends, only when the faultstring names no Java class.
# ("Forbidden operation for a remote PAP" is argus-pap's refusal to write a cached alias: not an authz error.)
_AUTHZ_MARKERS = ("not authorized", "unauthorized", "authorization failed", "authorization error",
                  "permission denied", "access denied")
_NOT_FOUND_MARKERS = ("not found", "does not exist")


def soap_action(service, operation):
    """The SOAPAction of ``operation`` as declared in the service's WSDL."""
    suffix = _SPECIAL_SOAP_ACTIONS.get((service, operation), operation)
    return "%s/%s" % (WSDL_NAMESPACES[service], suffix)


def request_headers(service, operation):
    # SOAP 1.1: the SOAPAction header value is a quoted URI.
    return {"Content-Type": CONTENT_TYPE, "SOAPAction": '"%s"' % soap_action(service, operation),
            "Accept": "text/xml"}


class Bean(object):
    """An Axis bean parameter: ordered ``(field name, value)`` pairs (values rendered like parameters)."""

    def __init__(self, fields):
        self.fields = list(fields)


class Array(object):
    """An array parameter: each item becomes an element named ``item_name`` (XACML elements go in as they are)."""

    def __init__(self, item_name, items):
        self.item_name = item_name
        self.items = list(items)


def _render_value(element, value):
    """Fill ``element`` with ``value``: None -> xsi:nil, bool/number/str -> text, lxml element -> child."""
    if value is None:
        element.set("{%s}nil" % XSI_NS, "true")
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        element.text = repr(value) if isinstance(value, float) else str(value)
    elif isinstance(value, str):
        element.text = value
    elif isinstance(value, Bean):
        for name, field_value in value.fields:
            _render_value(etree.SubElement(element, name), field_value)
    elif isinstance(value, Array):
        for item in value.items:
            if _is_element(item):
                element.append(_detached(item))
            else:
                _render_value(etree.SubElement(element, value.item_name), item)
    elif _is_element(value):
        element.append(_detached(value))
    else:
        raise TypeError("cannot put %r in a SOAP request" % (value,))


def _detached(element):
    """``element`` itself if it has no parent, else a copy (appending would move it out of the caller's tree)."""
    return copy.deepcopy(element) if element.getparent() is not None else element


def _is_element(value):
    return etree is not None and etree.iselement(value)


def _envelope():
    require_lxml()  # every request starts here
    envelope = etree.Element("{%s}Envelope" % SOAP_ENV_NS,
                             nsmap={"soapenv": SOAP_ENV_NS, "xsi": XSI_NS, "xsd": XSD_NS,
                                    XACML_PREFIX: XACML_NS})
    body = etree.SubElement(envelope, "{%s}Body" % SOAP_ENV_NS)
    return envelope, body


def build_request(service, operation, args):
    """``(body bytes, headers)`` of an rpc/literal call; ``args`` are the values in WSDL part order."""
    parts = OPERATION_PARTS[service][operation]
    if len(args) != len(parts):
        raise TypeError("%s.%s takes %d parameters (%s), got %d"
                        % (service, operation, len(parts), ", ".join(parts), len(args)))
    envelope, body = _envelope()
    namespace = OPERATION_NAMESPACES[service]
    op_element = etree.SubElement(body, "{%s}%s" % (namespace, operation), nsmap={"pap": namespace})
    for name, value in zip(parts, args):
        _render_value(etree.SubElement(op_element, name), value)
    data = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return data, request_headers(service, operation)


# -- replies -------------------------------------------------------------------------------------------------

def soap_body(data, status, server=None, operation=None, max_bytes=DEFAULT_MAX_XML_BYTES):
    """The ``Body`` element of a reply; a fault raises ``RemoteError``/``AuthorizationError``/``NotFoundError``."""
    try:
        root = parse_xml(data, max_bytes=max_bytes, server=server, operation=operation)
    except RemoteError as err:
        if status is not None and not 200 <= status < 300:
            err.msg = "HTTP %s with a reply that is not SOAP (%s)" % (status, err.msg)
            err.details.setdefault("status", status)
        raise
    if local_name(root) != "Envelope" or namespace_of(root) != SOAP_ENV_NS:
        prefix = "HTTP %s: " % status if status is not None and not 200 <= status < 300 else ""
        raise RemoteError("%sreply is not a SOAP 1.1 envelope (root element %s)" % (prefix, root.tag), server=server,
                          operation=operation, details={"status": status})
    body = child(root, "Body")
    if body is None:
        raise RemoteError("SOAP envelope without Body", server=server, operation=operation,
                          details={"status": status})
    fault = child(body, "Fault")
    if fault is not None:
        raise fault_error(fault, status, server, operation)
    if status is not None and not 200 <= status < 300:
        raise RemoteError("HTTP %s without a SOAP fault" % status, server=server, operation=operation,
                          details={"status": status})
    return body


def fault_error(fault, status=None, server=None, operation=None):
    """The exception for a ``<Fault>`` element."""
    code = _text(child(fault, "faultcode")).strip()
    message = _text(child(fault, "faultstring")).strip() or "(no faultstring)"
    details = {"faultcode": code, "faultstring": message}
    if status is not None:
        details["status"] = status
    exception, text = split_faultstring(message)
    if exception:
        details["exception"] = exception
    cls = _fault_class(exception, text, code)
    shown = message
    if exception:
        shown = "%s: %s" % (exception.rsplit(".", 1)[-1], text) if text else exception.rsplit(".", 1)[-1]
    return cls("SOAP fault: %s" % shown, server=server, operation=operation, details=details)


def split_faultstring(message):
    """``("org.x.FooException", "text")`` for an Axis ``<java class>: <message>`` faultstring, else ``(None, message)``.

    A bare class name (an exception without a message) gives ``(class, "")``.
    """
    head, sep, tail = message.partition(":")
    head = head.strip()
    parts = head.split(".")
    looks_java = (len(parts) > 1 and all(p and (p[0].isalpha() or p[0] == "_") and p.replace("_", "").replace("$", "")
                                         .isalnum() for p in parts)
                  and parts[-1][0].isupper() and (parts[-1].endswith(("Exception", "Error", "Fault"))))
    if not looks_java:
        return None, message
    return head, tail.strip() if sep else ""


def _fault_class(exception, text, code):
    lowered = text.lower()
    simple = exception.rsplit(".", 1)[-1] if exception else None
    if simple in _FAULT_CLASSES:
        return _FAULT_CLASSES[simple]
    if any(marker in lowered for marker in _AUTHZ_TEXTS):
        return AuthorizationError
    if any(lowered.startswith(marker) for marker in _NOT_FOUND_TEXTS):
        return NotFoundError
    if exception:
        # A known Java class decides: PapManagerException, PAPException, RepositoryException... are plain errors
        # even when their text says "not found" ("Id not found or not a resource-id", "ruleId not found").
        return RemoteError
    generic = (lowered + " " + (code or "").lower())
    if any(marker in generic for marker in _AUTHZ_MARKERS):
        return AuthorizationError
    if any(marker in generic for marker in _NOT_FOUND_MARKERS):
        return NotFoundError
    return RemoteError


def rpc_response(data, status, operation, server=None, max_bytes=DEFAULT_MAX_XML_BYTES):
    """The ``<operation>Response`` element of an rpc reply (faults raised)."""
    body = soap_body(data, status, server=server, operation=operation, max_bytes=max_bytes)
    response = child(body, operation + "Response")
    if response is None:
        found = [local_name(c) for c in children(body)]
        raise RemoteError("reply has no %sResponse element (found: %s)" % (operation, ", ".join(found) or "nothing"),
                          server=server, operation=operation)
    return response


def return_elements(response, operation):
    """The ``<operation>Return`` children of a response element (Axis may repeat them for arrays)."""
    returns = children(response, operation + "Return")
    if not returns:
        # Some SOAP stacks name the accessor after the WSDL part instead: take any element child.
        returns = children(response)
    return returns


def return_element(response, operation):
    """The single ``<operation>Return`` element, or None when absent or ``xsi:nil``."""
    returns = return_elements(response, operation)
    if not returns or is_nil(returns[0]):
        return None
    return returns[0]


def is_nil(element):
    return element is not None and (element.get("{%s}nil" % XSI_NS) or "").strip().lower() in ("true", "1")


def _text(element):
    return "" if element is None or element.text is None else element.text


def text_value(element):
    """Text of a simple value element; None when the element is missing or nil."""
    if element is None or is_nil(element):
        return None
    return _text(element)


def bool_value(element, default=None):
    text = text_value(element)
    if text is None:
        return default
    text = text.strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError("not a boolean: %r" % text)


def array_items(response, operation):
    """Items of an array reply, whatever the nesting Axis used.

    ``<op>Return`` repeated directly under the response -> each is an item; one ``<op>Return`` whose children are
    the items (``<op>Return/<op>Return``, ``.../item``...) -> its children. Nil/empty -> [].
    """
    returns = list(return_elements(response, operation))
    if len(returns) > 1:
        return [r for r in returns if not is_nil(r)]
    if not returns or is_nil(returns[0]):
        return []
    kids = children(returns[0])
    if kids:
        return [k for k in kids if not is_nil(k)]
    text = _text(returns[0]).strip()
    return [returns[0]] if text else []


def bean_items(response, operation, field_names):
    """Bean items of an array reply; a lone ``<op>Return`` that is itself a bean counts as one item."""
    returns = return_elements(response, operation)
    if len(returns) == 1 and not is_nil(returns[0]) and any(
            local_name(c) in field_names for c in children(returns[0])):
        return [returns[0]]
    return array_items(response, operation)


def xacml_elements(element, names=("Policy", "PolicySet")):
    """Outermost XACML elements named in ``names`` below ``element`` (document order; nested ones skipped)."""
    found = []
    for item in children(element):
        if namespace_of(item) == XACML_NS and local_name(item) in names:
            found.append(item)
        else:
            found.extend(xacml_elements(item, names))
    return found


class _NotStreamed(Exception):
    """The reply is not a plain rpc reply (a fault, another shape, malformed...): read it whole instead."""


def xacml_objects(data, status, operation, names, convert, server=None, max_bytes=DEFAULT_MAX_XML_BYTES):
    """``[convert(e) for e in xacml_elements(rpc_response(data, ...), names)]``, read element by element.

    A ``listPolicies`` reply holds every rule of the alias (100,000 rules: ~60 MB of XML, several times that as
    an lxml tree): each outermost XACML element is converted when its end tag is read, then cleared with the
    siblings before it, so the tree never holds more than one of them. Anything that is not a plain 2xx rpc reply
    of ``operation`` (a fault, a DOCTYPE, malformed XML, a conversion error...) is read again with the whole-tree
    path, so errors and results are exactly those of ``rpc_response`` + ``xacml_elements``."""
    if (status is not None and not 200 <= status < 300) or not streamable(data, max_bytes):
        return _whole(data, status, operation, names, convert, server, max_bytes)
    try:
        return _streamed(data, operation, names, convert)
    except Exception:  # pylint: disable=broad-except
        # _NotStreamed, XMLSyntaxError, a conversion error...: raised again, with its proper message (or the
        # result the whole tree gives), by the whole-tree read
        return _whole(data, status, operation, names, convert, server, max_bytes)


def _whole(data, status, operation, names, convert, server, max_bytes):
    response = rpc_response(data, status, operation, server=server, max_bytes=max_bytes)
    return [convert(element) for element in xacml_elements(response, names)]


def _streamed(data, operation, names, convert):
    """The converted elements of a reply that ``_whole`` would accept, or ``_NotStreamed``."""
    found = []
    depth = 0
    body = response = None  # the first Body under the Envelope, the first <operation>Response in it
    capture = None  # the outermost XACML element being read
    wanted = set("{%s}%s" % (XACML_NS, name) for name in names)
    events = hardened_iterparse(data)
    for event, element in events:
        if event == "start":
            depth += 1
            if depth == 1:
                if local_name(element) != "Envelope" or namespace_of(element) != SOAP_ENV_NS:
                    raise _NotStreamed()
            elif depth == 2:
                if body is None and local_name(element) == "Body":
                    body = element
            elif depth == 3 and element.getparent() is body:
                name = local_name(element)
                if name == "Fault":
                    raise _NotStreamed()
                if response is None and name == operation + "Response":
                    response = element
            elif capture is None and response is not None and element.tag in wanted and _below(element, response):
                capture = element
            continue
        depth -= 1
        if element is capture:
            found.append(convert(element))
            capture = None
            # free what was converted: this element's content and the siblings read before it
            element.clear()
            parent = element.getparent()
            while element.getprevious() is not None:
                del parent[0]
    root = events.root
    if root is None or body is None or response is None or has_doctype(root):
        raise _NotStreamed()
    return found


def _below(element, ancestor):
    parent = element.getparent()
    while parent is not None:
        if parent is ancestor:
            return True
        parent = parent.getparent()
    return False
