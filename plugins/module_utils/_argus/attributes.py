# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The XACML identifiers an Argus PAP uses: combining algorithms, data types, match functions, and the
attributes SPL names (``ATTRIBUTE_MAPPINGS``: SPL id -> XACML id, data type, match function, section).

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

A data table (source: argus-pap attribute-mappings.ini), shared by the XACML model (``_argus/xacml.py``)
and the SPL rendering (``_argus/spl.py``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

FIRST_APPLICABLE_POLICY = "urn:oasis:names:tc:xacml:1.0:policy-combining-algorithm:first-applicable"
FIRST_APPLICABLE_RULE = "urn:oasis:names:tc:xacml:1.0:rule-combining-algorithm:first-applicable"

STRING = "http://www.w3.org/2001/XMLSchema#string"
X500NAME = "urn:oasis:names:tc:xacml:1.0:data-type:x500Name"
FQAN = "http://glite.org/xacml/datatype/fqan"
STRING_EQUAL = "urn:oasis:names:tc:xacml:1.0:function:string-equal"
STRING_REGEXP = "urn:oasis:names:tc:xacml:1.0:function:string-regexp-match"
X500NAME_EQUAL = "urn:oasis:names:tc:xacml:1.0:function:x500Name-equal"
FQAN_MATCH = "http://glite.org/xacml/algorithm/fqan-match"
RESOURCE_ID = "urn:oasis:names:tc:xacml:1.0:resource:resource-id"
ACTION_ID = "urn:oasis:names:tc:xacml:1.0:action:action-id"

SUBJECT = "subject"
RESOURCE = "resource"
ACTION = "action"
ENVIRONMENT = "environment"

_GLITE = "http://glite.org/xacml/attribute/"
_DCISEC = "http://dci-sec.org/xacml/attribute/"

# SPL id -> (XACML AttributeId, DataType, MatchId, target element). Source: argus-pap attribute-mappings.ini.
ATTRIBUTE_MAPPINGS = {
    "subject": ("urn:oasis:names:tc:xacml:1.0:subject:subject-id", X500NAME, X500NAME_EQUAL, SUBJECT),
    "subject-issuer": (_GLITE + "subject-issuer", X500NAME, X500NAME_EQUAL, SUBJECT),
    "x509-subject-issuer": (_GLITE + "x509-subject-issuer", X500NAME, X500NAME_EQUAL, SUBJECT),
    "x509-authn-profile": (_GLITE + "x509-authn-profile", STRING, STRING_REGEXP, SUBJECT),
    "vo": (_GLITE + "virtual-organization", STRING, STRING_EQUAL, SUBJECT),
    "fqan": (_GLITE + "fqan", FQAN, FQAN_MATCH, SUBJECT),
    "pfqan": (_GLITE + "fqan/primary", FQAN, FQAN_MATCH, SUBJECT),
    "resource": (RESOURCE_ID, STRING, STRING_REGEXP, RESOURCE),
    "action": (ACTION_ID, STRING, STRING_REGEXP, ACTION),
    "pilot-classifier": (_GLITE + "pilot-job-classifier", STRING, STRING_EQUAL, ACTION),
    "emi-subject-issuer": (_DCISEC + "subject-issuer", X500NAME, X500NAME_EQUAL, SUBJECT),
    "emi-x509-subject-issuer": (_DCISEC + "x509-subject-issuer", X500NAME, X500NAME_EQUAL, SUBJECT),
    "emi-x509-authn-profile": (_DCISEC + "x509-authn-profile", STRING, STRING_REGEXP, SUBJECT),
    "emi-vo": (_DCISEC + "virtual-organization", STRING, STRING_EQUAL, SUBJECT),
    "emi-group": (_DCISEC + "group", STRING, STRING_EQUAL, SUBJECT),
    "emi-primary-group": (_DCISEC + "group/primary", STRING, STRING_EQUAL, SUBJECT),
    "emi-role": (_DCISEC + "role", STRING, STRING_EQUAL, SUBJECT),
    "emi-primary-role": (_DCISEC + "role/primary", STRING, STRING_EQUAL, SUBJECT),
    "emi-resource-owner": (_DCISEC + "resource-owner", X500NAME, STRING_EQUAL, RESOURCE),
    "oidc-issuer": (_GLITE + "oidc-issuer", STRING, STRING_EQUAL, SUBJECT),
    "oidc-organisation": (_GLITE + "oidc-organisation", STRING, STRING_EQUAL, SUBJECT),
    "oidc-subject": (_GLITE + "oidc-subject", STRING, STRING_EQUAL, SUBJECT),
    "oidc-group": (_GLITE + "oidc-group", STRING, STRING_EQUAL, SUBJECT),
    "oidc-scope": (_GLITE + "oidc-scope", STRING, STRING_EQUAL, SUBJECT),
    "oidc-user-id": (_GLITE + "oidc-user-id", STRING, STRING_EQUAL, SUBJECT),
    "oidc-client-id": (_GLITE + "oidc-client-id", STRING, STRING_EQUAL, SUBJECT),
}
SPL_BY_XACML_ID = dict((mapping[0], spl_id) for spl_id, mapping in ATTRIBUTE_MAPPINGS.items())
DN_ATTRIBUTE_IDS = frozenset(spl for spl, mapping in ATTRIBUTE_MAPPINGS.items() if mapping[1] == X500NAME)
