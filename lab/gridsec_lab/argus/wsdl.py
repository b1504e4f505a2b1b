"""Runtime ``?wsdl`` of the lab PAP: Axis-1-style rpc/literal WSDLs whose operation namespace is
``http://services.pap.authz.glite.org`` (the namespace the real runtime WSDL serves, ARGUS.md §3),
written so that WSDL-driven clients (the EGI probe uses suds) build requests the lab accepts and can
read its replies: return parts are named ``<op>Return``, arrays nest items named like the return
element, bean fields are qualified in the operation namespace, XACML comes from an imported schema
(a lax description of Policy/PolicySet served at ``?xsd=xacml``)."""
from xml.sax.saxutils import quoteattr

from .xmlutil import AXIS_NS, XACML

S, B, I, F = "xsd:string", "xsd:boolean", "xsd:int", "xsd:float"
POLICY, POLICYSET = "xacml:PolicyType", "xacml:PolicySetType"

# service -> {operation: ([(param, type)], return type | None)}; "array:<type>" for arrays,
# "xacmllist:<Policy|PolicySet>" for XACML lists.
SPEC = {
    "XACMLPolicyManagementService": {
        "listPolicies": ([("alias", S)], "xacmllist:Policy"),
        "listPolicySets": ([("alias", S)], "xacmllist:PolicySet"),
        "getRootPolicySet": ([("alias", S)], "xacml:PolicySet"),
        "getPolicy": ([("alias", S), ("policyId", S)], "xacml:Policy"),
        "getPolicySet": ([("alias", S), ("policySetId", S)], "xacml:PolicySet"),
        "hasPolicy": ([("alias", S), ("policyId", S)], B),
        "hasPolicySet": ([("alias", S), ("policySetId", S)], B),
        "addPolicy": ([("alias", S), ("index", I), ("policySetId", S), ("policyIdPrefix", S),
                       ("policy", "tns1:PolicyHolder")], S),
        "addPolicies": ([("alias", S), ("index", I), ("policySetId", S), ("policyIdPrefixArray", "tns1:ArrayOf_string"),
                         ("policyArray", "tns1:ArrayOfPolicy")], "array:" + S),
        "addPolicySet": ([("alias", S), ("index", I), ("policySet", "tns1:PolicySetHolder")], S),
        "storePolicy": ([("alias", S), ("idPrefix", S), ("policy", "tns1:PolicyHolder")], S),
        "storePolicySet": ([("alias", S), ("idPrefix", S), ("policySet", "tns1:PolicySetHolder")], S),
        "updatePolicy": ([("alias", S), ("version", S), ("policy", "tns1:PolicyHolder")], B),
        "updatePolicySet": ([("alias", S), ("version", S), ("policySet", "tns1:PolicySetHolder")], B),
        "removePolicy": ([("alias", S), ("policyId", S)], B),
        "removePolicySet": ([("alias", S), ("policySetId", S)], B),
        "removeObjectByIdAndReferences": ([("alias", S), ("id", S)], B),
        "move": ([("alias", S), ("id", S), ("pivotId", S), ("moveAfter", B)], None),
    },
    "HighLevelPolicyManagementService": {
        "ban": ([("alias", S), ("id", S), ("value", S), ("resource", S), ("action", S), ("isPublic", B)], S),
        "unban": ([("alias", S), ("id", S), ("value", S), ("resource", S), ("action", S)], "tns1:UnbanResult"),
        "addRule": ([("alias", S), ("isPermit", B), ("attributeList", "tns1:ArrayOf_string"), ("actionValue", S),
                     ("resourceValue", S), ("actionIdentifier", S), ("ruleIdentifier", S), ("obligationValue", S),
                     ("obligationScope", S), ("moveAfter", B)], S),
        "eraseRepository": ([("alias", S)], None),
        "purge": ([("alias", S), ("purgeUnreferencedPolicies", B), ("purgeEmptyPolicies", B),
                   ("purgeUnreferencedPolicySets", B), ("purgeEmptyPolicySets", B)], None),
    },
    "PAPManagementService": {
        "ping": ([], S),
        "getAllPaps": ([], "array:tns1:Pap"),
        "getPap": ([("papAlias", S)], "tns1:Pap"),
        "exists": ([("papAlias", S)], B),
        "addPap": ([("pap", "tns1:Pap")], B),
        "updatePap": ([("pap", "tns1:Pap")], B),
        "removePap": ([("papAlias", S)], B),
        "setEnabled": ([("alias", S), ("enabled", B)], None),
        "getOrder": ([], "array:" + S),
        "setOrder": ([("aliasArray", "tns1:ArrayOf_string")], B),
        "getPollingInterval": ([], F),
        "setPollingInterval": ([("seconds", F)], None),
        "refreshCache": ([("papAlias", S)], B),
    },
    "AuthorizationManagementService": {
        "getACL": ([("context", S)], "array:tns1:PAPACE"),
        "addACE": ([("context", S), ("principal", "tns1:PAPPrincipal"), ("permissions", "tns1:ArrayOf_string")],
                   None),
        "removeACE": ([("context", S), ("principal", "tns1:PAPPrincipal")], None),
        "setACL": ([("context", S), ("acl", "tns1:ArrayOfPAPACE")], None),
    },
}

_BEANS = """
   <complexType name="Pap"><sequence>
    <element name="alias" nillable="true" type="xsd:string"/>
    <element name="id" nillable="true" type="xsd:string" minOccurs="0"/>
    <element name="dn" nillable="true" type="xsd:string" minOccurs="0"/>
    <element name="hostname" nillable="true" type="xsd:string" minOccurs="0"/>
    <element name="port" nillable="true" type="xsd:string" minOccurs="0"/>
    <element name="path" nillable="true" type="xsd:string" minOccurs="0"/>
    <element name="protocol" nillable="true" type="xsd:string" minOccurs="0"/>
    <element name="visibilityPublic" type="xsd:boolean"/>
    <element name="local" type="xsd:boolean"/>
    <element name="enabled" type="xsd:boolean"/>
   </sequence></complexType>
   <complexType name="ArrayOf_string"><sequence>
    <element name="item" type="xsd:string" minOccurs="0" maxOccurs="unbounded"/>
   </sequence></complexType>
   <complexType name="UnbanResult"><sequence>
    <element name="statusCode" type="xsd:int"/>
    <element name="conflictingPolicies" nillable="true" type="tns1:ArrayOf_string"/>
   </sequence></complexType>
   <complexType name="PAPPrincipal"><sequence>
    <element name="type" nillable="true" type="xsd:string"/>
    <element name="name" nillable="true" type="xsd:string"/>
   </sequence></complexType>
   <complexType name="PAPACE"><sequence>
    <element name="principal" nillable="true" type="tns1:PAPPrincipal"/>
    <element name="permissions" type="xsd:string" minOccurs="0" maxOccurs="unbounded"/>
   </sequence></complexType>
   <complexType name="ArrayOfPAPACE"><sequence>
    <element name="item" type="tns1:PAPACE" minOccurs="0" maxOccurs="unbounded"/>
   </sequence></complexType>
"""

_XACML_HOLDERS = """
   <complexType name="PolicyHolder"><sequence><element ref="xacml:Policy"/></sequence></complexType>
   <complexType name="PolicySetHolder"><sequence><element ref="xacml:PolicySet"/></sequence></complexType>
   <complexType name="ArrayOfPolicy"><sequence>
    <element ref="xacml:Policy" minOccurs="0" maxOccurs="unbounded"/>
   </sequence></complexType>
"""


def _return_type(op, rtype, extra):
    if rtype is None:
        return None
    if rtype.startswith("array:"):
        name = "ArrayOf_%sReturn" % op
        extra.append('   <complexType name="%s"><sequence><element name="%sReturn" type="%s" nillable="true" '
                     'minOccurs="0" maxOccurs="unbounded"/></sequence></complexType>' % (name, op, rtype[6:]))
        return "tns1:" + name
    if rtype.startswith("xacmllist:"):
        name = "%sList" % rtype[10:]
        if not any('name="%s"' % name in e for e in extra):
            extra.append('   <complexType name="%s"><sequence><element ref="xacml:%s" minOccurs="0" '
                         'maxOccurs="unbounded"/></sequence></complexType>' % (name, rtype[10:]))
        return "tns1:" + name
    if rtype.startswith("xacml:"):
        name = "%sHolder" % rtype[6:]
        return "tns1:" + name
    return rtype


def runtime_wsdl(service, url):
    if service not in SPEC:
        return _provisioning_wsdl(url)
    ops = SPEC[service]
    is_xacml = service == "XACMLPolicyManagementService"
    extra = []
    returns = {op: _return_type(op, r, extra) for op, (params, r) in ops.items()}
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<wsdl:definitions targetNamespace=%s xmlns:apachesoap="http://xml.apache.org/xml-soap" '
           'xmlns:impl=%s xmlns:intf=%s xmlns:tns1="%s" xmlns:xacml="%s" '
           'xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:wsdlsoap="http://schemas.xmlsoap.org/wsdl/soap/" '
           'xmlns:xsd="http://www.w3.org/2001/XMLSchema">' % (quoteattr(url), quoteattr(url), quoteattr(url),
                                                                AXIS_NS, XACML),
           '<!--WSDL created by the gridsec lab PAP (Axis 1 runtime style)-->',
           ' <wsdl:types>',
           '  <schema elementFormDefault="qualified" targetNamespace="%s" xmlns="http://www.w3.org/2001/XMLSchema">'
           % AXIS_NS]
    if is_xacml:
        out.append('   <import namespace="%s" schemaLocation=%s/>' % (XACML, quoteattr(url + "?xsd=xacml")))
    out.append(_BEANS)
    if is_xacml:
        out.append(_XACML_HOLDERS)
    out.extend(extra)
    out += ['  </schema>', ' </wsdl:types>']
    for op, (params, _r) in ops.items():
        out.append(' <wsdl:message name="%sRequest">' % op)
        for name, ptype in params:
            out.append('  <wsdl:part name="%s" type="%s"/>' % (name, ptype))
        out.append(' </wsdl:message>')
        out.append(' <wsdl:message name="%sResponse">' % op)
        if returns[op]:
            out.append('  <wsdl:part name="%sReturn" type="%s"/>' % (op, returns[op]))
        out.append(' </wsdl:message>')
    port_type = service.replace("Service", "") or service
    out.append(' <wsdl:portType name="%s">' % port_type)
    for op, (params, _r) in ops.items():
        order = " ".join(name for name, _ in params)
        out.append('  <wsdl:operation name="%s"%s>' % (op, ' parameterOrder="%s"' % order if order else ""))
        out.append('   <wsdl:input message="impl:%sRequest" name="%sRequest"/>' % (op, op))
        out.append('   <wsdl:output message="impl:%sResponse" name="%sResponse"/>' % (op, op))
        out.append('  </wsdl:operation>')
    out.append(' </wsdl:portType>')
    out.append(' <wsdl:binding name="%sSoapBinding" type="impl:%s">' % (service, port_type))
    out.append('  <wsdlsoap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>')
    for op in ops:
        out += ['  <wsdl:operation name="%s">' % op,
                '   <wsdlsoap:operation soapAction=""/>',
                '   <wsdl:input name="%sRequest"><wsdlsoap:body namespace="%s" use="literal"/></wsdl:input>'
                % (op, AXIS_NS),
                '   <wsdl:output name="%sResponse"><wsdlsoap:body namespace="%s" use="literal"/></wsdl:output>'
                % (op, AXIS_NS),
                '  </wsdl:operation>']
    out.append(' </wsdl:binding>')
    out += [' <wsdl:service name="%sService">' % port_type,
            '  <wsdl:port binding="impl:%sSoapBinding" name="%s">' % (service, service),
            '   <wsdlsoap:address location=%s/>' % quoteattr(url),
            '  </wsdl:port>', ' </wsdl:service>', '</wsdl:definitions>']
    return "\n".join(out).encode("utf-8")


def xacml_xsd():
    """A lax schema for the XACML objects the PAP returns (the lab's own description, not the OASIS
    schema): Policy and PolicySet with their attributes and any XACML content."""
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xacml="%(ns)s" targetNamespace="%(ns)s"
    elementFormDefault="qualified">
 <xsd:element name="Policy" type="xacml:PolicyType"/>
 <xsd:element name="PolicySet" type="xacml:PolicySetType"/>
 <xsd:complexType name="PolicyType">
  <xsd:sequence><xsd:any namespace="##targetNamespace" processContents="skip" minOccurs="0" maxOccurs="unbounded"/>
  </xsd:sequence>
  <xsd:attribute name="PolicyId" type="xsd:string" use="required"/>
  <xsd:attribute name="Version" type="xsd:string"/>
  <xsd:attribute name="RuleCombiningAlgId" type="xsd:string" use="required"/>
 </xsd:complexType>
 <xsd:complexType name="PolicySetType">
  <xsd:sequence><xsd:any namespace="##targetNamespace" processContents="skip" minOccurs="0" maxOccurs="unbounded"/>
  </xsd:sequence>
  <xsd:attribute name="PolicySetId" type="xsd:string" use="required"/>
  <xsd:attribute name="Version" type="xsd:string"/>
  <xsd:attribute name="PolicyCombiningAlgId" type="xsd:string" use="required"/>
 </xsd:complexType>
</xsd:schema>
""" % {"ns": XACML}).encode("utf-8")


def _provisioning_wsdl(url):
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions targetNamespace="http://org.glite.authz/wsdl/pap/services/provisioning"
  xmlns:tns="http://org.glite.authz/wsdl/pap/services/provisioning" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
  xmlns:wsdlsoap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
  xmlns:samlxacml="urn:oasis:names:tc:xacml:2.0:profile:saml2.0:v2:schema:protocol"
  xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">
 <!--document/literal; the lab serves no schema for the SAML/XACML profile types-->
 <wsdl:message name="XACMLPolicyQueryRequest"><wsdl:part name="query" element="samlxacml:XACMLPolicyQuery"/></wsdl:message>
 <wsdl:message name="XACMLPolicyQueryResponse"><wsdl:part name="response" element="samlp:Response"/></wsdl:message>
 <wsdl:portType name="Provisioning"><wsdl:operation name="XACMLPolicyQuery">
  <wsdl:input message="tns:XACMLPolicyQueryRequest"/><wsdl:output message="tns:XACMLPolicyQueryResponse"/>
 </wsdl:operation></wsdl:portType>
 <wsdl:binding name="ProvisioningServiceSoapBinding" type="tns:Provisioning">
  <wsdlsoap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
  <wsdl:operation name="XACMLPolicyQuery"><wsdlsoap:operation soapAction=""/>
   <wsdl:input><wsdlsoap:body use="literal"/></wsdl:input><wsdl:output><wsdlsoap:body use="literal"/></wsdl:output>
  </wsdl:operation>
 </wsdl:binding>
 <wsdl:service name="ProvisioningService"><wsdl:port binding="tns:ProvisioningServiceSoapBinding"
   name="ProvisioningService"><wsdlsoap:address location=%s/></wsdl:port></wsdl:service>
</wsdl:definitions>
""" % quoteattr(url)).encode("utf-8")
