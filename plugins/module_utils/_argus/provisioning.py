# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The ProvisioningService of an Argus PAP: the ``XACMLPolicyQuery`` request and its reply.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

The query is document/literal SAML (not rpc like the other services: ``_argus/soap.py``); it is what a pulling PAP
or a PDP sends (``PapClient.policy_query``). A file of its own because under AnsiballZ every imported module_util
is compiled on every run, and the modules that only read a policy tree never send it.
"""

import datetime

from ansible_collections.gridsec.ops.plugins.module_utils._errors import AuthorizationError, RemoteError
from ansible_collections.gridsec.ops.plugins.module_utils._argus.soap import (
    _AUTHZ_MARKERS,
    CONTENT_TYPE,
    PROVISIONING_SERVICE,
    WSDL_NAMESPACES,
    _envelope,
    _text,
    soap_body,
    xacml_elements,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import XACML_NS
from ansible_collections.gridsec.ops.plugins.module_utils._xml import (
    DEFAULT_MAX_XML_BYTES,
    child,
    children,
    etree,
    local_name,
)

SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP_NS = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML_MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata"
XACML_SAMLP_NS = "urn:oasis:names:tc:xacml:2.0:profile:saml2.0:v2:schema:protocol"
SAML_ENTITY_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
SAML_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"


def build_policy_query(pdp=False, issuer="gridsec.ops", policy_set_reference="-1", query_id=None, now=None):
    """``(body bytes, headers)`` of a ProvisioningService ``XACMLPolicyQuery``.

    A PAP query (``pdp=False``, what a pulling PAP sends) carries an empty ``md:Extensions`` element and gets
    the public policies of the public PAPs; a PDP query (``pdp=True``) has none and gets the merged tree of all
    enabled PAPs (needs POLICY_READ_REMOTE as well).
    """
    import uuid  # only here: the query is rare (PDP views, canary), uuid is not loaded on the common path

    envelope, body = _envelope()
    query = etree.SubElement(body, "{%s}XACMLPolicyQuery" % XACML_SAMLP_NS,
                             nsmap={"xacml-samlp": XACML_SAMLP_NS, "saml": SAML_NS, "md": SAML_MD_NS})
    instant = now or datetime.datetime.now(datetime.timezone.utc)
    query.set("ID", query_id or "_" + uuid.uuid4().hex)
    query.set("IssueInstant", instant.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (instant.microsecond // 1000))
    query.set("Version", "2.0")
    issuer_el = etree.SubElement(query, "{%s}Issuer" % SAML_NS, Format=SAML_ENTITY_FORMAT)
    issuer_el.text = issuer
    if not pdp:
        etree.SubElement(query, "{%s}Extensions" % SAML_MD_NS)
    reference = etree.SubElement(query, "{%s}PolicySetIdReference" % XACML_NS)
    reference.text = policy_set_reference
    data = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    headers = {"Content-Type": CONTENT_TYPE, "Accept": "text/xml",
               "SOAPAction": '"%s/XACMLPolicyQuery"' % WSDL_NAMESPACES[PROVISIONING_SERVICE]}
    return data, headers


def provisioning_statement_elements(data, status, server=None, max_bytes=DEFAULT_MAX_XML_BYTES):
    """Top-level XACML PolicySet/Policy elements of an ``XACMLPolicyQuery`` reply (a ``samlp:Response``)."""
    operation = "XACMLPolicyQuery"
    body = soap_body(data, status, server=server, operation=operation, max_bytes=max_bytes)
    response = child(body, "Response")
    if response is None:
        raise RemoteError("reply has no samlp:Response", server=server, operation=operation)
    status_el = child(response, "Status")
    code_el = child(status_el, "StatusCode") if status_el is not None else None
    code = code_el.get("Value") if code_el is not None else None
    if code is not None and code != SAML_SUCCESS:
        message = _text(child(status_el, "StatusMessage")).strip()
        details = {"status_code": code, "status_message": message}
        inner = child(code_el, "StatusCode")
        if inner is not None:
            details["sub_status_code"] = inner.get("Value")
        lowered = message.lower()
        cls = AuthorizationError if any(m in lowered for m in _AUTHZ_MARKERS) else RemoteError
        raise cls("SAML status %s: %s" % (code, message or "(no message)"), server=server, operation=operation,
                  details=details)
    found = []
    for assertion in children(response, "Assertion"):
        for statement in children(assertion):
            if local_name(statement) in ("Statement", "XACMLPolicyStatement"):
                found.extend(xacml_elements(statement))
    return found
